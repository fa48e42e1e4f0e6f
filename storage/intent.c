/*
 * intent.c: the intent slot: the file "intent" beside data.mdb, which
 * holds the changes a caller has answered before they commit.
 *
 * It writes, reads and voids the slot, and says whether a change may be
 * told before it commits (store_intent_safe).  Committing the batch, which
 * ends a slot, is txn.c's; the room a commit needs is map.c's; opening the
 * file is env.c's.  The slot's layout is in store_i.h.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static uint64_t last_txnid(struct store_env *env)
{
	MDB_envinfo info;
	mdb_env_info(env->env, &info);
	return (uint64_t)info.me_last_txnid;
}

int store_intent_safe(struct store_env *env, size_t len, size_t entries,
		      int may_grow)
{
	int grown = 0;
	if (env->feed_limit) {
		/* its feed line (the text again, and a header), the line's
		 * history entry, and the oldest lines it may drop (each a
		 * row and up to two history entries) when this line or one
		 * before it in the batch may take the feed past its slack */
		uint64_t l = env->feed_limit;
		int near = env->feed_near || env->feed_bytes + env->room_len +
						     2 * len + 2048 +
						     (l >> 4) >=
						 l + FEED_SLACK(l);
		len += len + 1024;
		entries += 2 + (near ? 3 * STORE_FEED_TRIM_MAX : 0);
	}
	if (!env->writemap || env->intent_fd < 0 || env->stuck ||
	    len > INTENT_MAX - 4096 || entries > INTENT_ENTRIES_MAX)
		return 0;
	for (;;) {
		if (store_room_for(env, len, entries)) {
			env->room_len += len;
			env->room_entries += entries;
			env->room_changes++;
			env->last_len = len;
			env->last_entries = entries;
			return 1;
		}
		if (!may_grow)
			return 0;
		if (env->batch || env->room_changes) {
			/* the batch first: then the change alone */
			if (store_batch_commit(env) != 0)
				return 0;
			store_room_reset(env);
			continue;
		}
		/* A map short of room doubles once (its blocks reserved);
		 * if that is not enough, the change is stored before it is
		 * answered, where the map grows as it must. */
		if (grown++ || store_map_grow(env) != 0)
			return 0;
	}
}

static uint64_t intent_sum(uint64_t txnid, uint64_t seq, const void *data,
			   size_t len)
{
	/* FNV-1a, 64 bits, over the slot's txnid and seq, then the bytes */
	uint64_t h64 = 0xcbf29ce484222325ull, v[2] = {txnid, seq};
	const uint8_t *p = data;
	for (int j = 0; j < 2; j++)
		for (int i = 0; i < 8; i++) {
			h64 ^= (uint8_t)(v[j] >> (8 * i));
			h64 *= 0x100000001b3ull;
		}
	for (size_t i = 0; i < len; i++) {
		h64 ^= p[i];
		h64 *= 0x100000001b3ull;
	}
	return h64;
}

int store_intent_write(struct store_env *env, const void *data, size_t len)
{
	struct intent_head h;
	struct intent_change c;
	struct iovec iov[3];
	uint64_t txnid = last_txnid(env), seq;
	int add, n = 0;
	ssize_t w;
	size_t want = 0;
	if (env->stuck)
		return EROFS;
	if (env->intent_fd < 0)
		return EINVAL;
	/* pending: nothing committed since its first change */
	add = env->slot_n > 0 && env->slot_txnid == txnid;
	if ((add ? env->slot_end : sizeof(h)) + sizeof(c) + len > INTENT_MAX)
		return ENOSPC; /* full: the caller stores it before answering */
	h.magic = htole32(INTENT_MAGIC);
	h.zero = 0;
	h.envid = htole64(env->envid);
	h.txnid = htole64(txnid);
	seq = add ? env->slot_seq : env->slot_seq + 1;
	h.seq = htole64(seq);
	c.len = htole32((uint32_t)len);
	c.zero = 0;
	c.sum = htole64(intent_sum(txnid, seq, data, len));
	if (!add) {
		iov[n].iov_base = &h;
		iov[n++].iov_len = sizeof(h);
	}
	iov[n].iov_base = &c;
	iov[n++].iov_len = sizeof(c);
	iov[n].iov_base = (void *)data;
	iov[n++].iov_len = len;
	for (int i = 0; i < n; i++)
		want += iov[i].iov_len;
	w = pwritev(env->intent_fd, iov, n, add ? (off_t)env->slot_end : 0);
	if (w < 0)
		return errno;
	if ((size_t)w != want) {
		/* the slot ends before this change: it was never written */
		if (!add)
			store_intent_drop(env);
		return ENOSPC;
	}
	if (!add) {
		env->slot_seq++;
		env->slot_txnid = txnid;
		env->slot_end = sizeof(h);
		env->slot_n = 0;
	}
	env->slot_end += sizeof(c) + len;
	env->slot_n++;
	__atomic_store_n(&env->slot_unsynced, 1, __ATOMIC_RELEASE);
	return 0;
}

void store_intent_keep(struct store_env *env)
{
	env->stuck = 1;
}

void store_intent_drop(struct store_env *env)
{
	static const struct intent_head zero;
	env->slot_n = 0;
	if (env->intent_fd >= 0 &&
	    pwrite(env->intent_fd, &zero, sizeof(zero), 0) != sizeof(zero)) {
		int rc = ftruncate(env->intent_fd, 0);
		(void)rc; /* nothing else to try */
	}
}

/* 1 if h (as read from the file) heads a pending slot of env's. */
static int head_pending(struct store_env *env, const struct intent_head *h)
{
	return le32toh(h->magic) == INTENT_MAGIC &&
	       le64toh(h->envid) == env->envid &&
	       le64toh(h->txnid) == last_txnid(env);
}

/*
 * At open: a slot that is not pending now never will be, but data.mdb's
 * last transaction id can come back to its number (a data.mdb put back
 * from an older copy, or one that lost commits not yet synced, commits
 * its way up through the same ids), so it is voided now, and for good.
 */
void store_intent_forget_stale(struct store_env *env)
{
	struct intent_head h;
	if (pread(env->intent_fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    le32toh(h.magic) == 0 || head_pending(env, &h))
		return;
	store_intent_drop(env);
	{
		int rc = fdatasync(env->intent_fd);
		(void)rc; /* voided in the page cache at least */
	}
}

int store_intent_pending(struct store_env *env, void **data, size_t *len)
{
	struct intent_head h;
	struct intent_change c;
	uint8_t *buf, *out;
	size_t at = sizeof(h), o = 0, n;
	struct stat st;
	ssize_t got;
	if (env->intent_fd < 0 || fstat(env->intent_fd, &st) != 0 ||
	    pread(env->intent_fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    !head_pending(env, &h))
		return ENOENT;
	h.txnid = le64toh(h.txnid);
	h.seq = le64toh(h.seq);
	n = st.st_size > (off_t)INTENT_MAX ? INTENT_MAX : (size_t)st.st_size;
	buf = malloc(n + 1);
	if (!buf)
		return ENOMEM;
	got = pread(env->intent_fd, buf, n, 0);
	n = got > 0 ? (size_t)got : 0;
	/* each change's bytes move up over its head: a u32 length and
	 * the bytes, as store_intent_next reads them */
	out = buf;
	while (at + sizeof(c) <= n) {
		uint32_t l;
		memcpy(&c, buf + at, sizeof(c));
		l = le32toh(c.len);
		if (l > n - at - sizeof(c) ||
		    le64toh(c.sum) !=
			intent_sum(h.txnid, h.seq, buf + at + sizeof(c), l))
			break;
		memcpy(out + o, &c.len, 4);
		memmove(out + o + 4, buf + at + sizeof(c), l);
		o += 4 + l;
		at += sizeof(c) + l;
	}
	if (o == 0) {
		free(buf);
		return ENOENT;
	}
	*data = buf;
	*len = o;
	return 0;
}

int store_intent_next(const void **pos, const void *end, const void **data,
		      size_t *len)
{
	const uint8_t *p = *pos;
	uint32_t l;
	if ((size_t)((const uint8_t *)end - p) < 4)
		return ENOENT;
	memcpy(&l, p, 4);
	l = le32toh(l);
	if (l > (size_t)((const uint8_t *)end - p) - 4)
		return EIO;
	*data = p + 4;
	*len = l;
	*pos = p + 4 + l;
	return 0;
}
