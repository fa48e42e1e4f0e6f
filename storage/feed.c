/*
 * feed.c: the change feed and the history index.
 *
 * The feed is a database's changes, one line each, numbered in commit
 * order (seq, from 1) and kept in the write transaction of the change
 * itself, so a line is there exactly when its change is.  Storage does not
 * read a line: the layer above makes it (JSON) and names the records it is
 * about (refs), and storage keeps, beside each line, where it starts in the
 * feed as one text that only grows (its offset), and indexes it under each
 * record it names (history).  Retention: lines go, oldest first, while the
 * feed holds more than its limit in bytes; a limit of 0 keeps no new line.
 *
 * Layouts (named databases of the environment):
 *   feed     [seq u64 BE] -> [offset u64 LE][nrefs u16 LE]
 *                            nrefs x ([tid u32 LE][key length u16 LE][key])
 *                            [the line]
 *   history  [tid u32 BE][key] -> [seq u64 BE] (MDB_DUPSORT, MDB_DUPFIXED)
 *   meta "feed" -> [next seq u64 LE][end offset u64 LE][bytes u64 LE]
 *
 * It begins and commits no transaction (its callers' are used), and knows
 * nothing of JSON or of files.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Lines dropped by one add at most: a change's room stays bounded
 * (store_intent_safe counts them), and retention catches up over the
 * next changes when one line is much longer than those before it. */
#define TRIM_MAX STORE_FEED_TRIM_MAX

#define FEED_META "feed"

struct feed_meta {
	uint64_t next_seq, end_off, bytes;
};

uint64_t store_feed_limit(struct store_env *env)
{
	return env->feed_limit;
}

static int meta_get(struct store_txn *t, struct feed_meta *m)
{
	MDB_val k = {sizeof(FEED_META) - 1, (void *)FEED_META}, d;
	uint64_t v[3];
	int rc = mdb_get(t->txn, t->env->meta, &k, &d);
	m->next_seq = 1;
	m->end_off = m->bytes = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_errno(t, rc);
	if (d.mv_size != sizeof(v))
		return EIO;
	memcpy(v, d.mv_data, sizeof(v));
	m->next_seq = le64toh(v[0]);
	m->end_off = le64toh(v[1]);
	m->bytes = le64toh(v[2]);
	return 0;
}

static int meta_put(struct store_txn *t, const struct feed_meta *m)
{
	uint64_t v[3] = {htole64(m->next_seq), htole64(m->end_off),
			 htole64(m->bytes)};
	MDB_val k = {sizeof(FEED_META) - 1, (void *)FEED_META},
		d = {sizeof(v), v};
	return store_errno(t, mdb_put(t->txn, t->env->meta, &k, &d, 0));
}

/* What the feed holds against its limit, for the next change. */
static void note_fill(struct store_env *env, uint64_t bytes)
{
	env->feed_bytes = bytes;
	env->feed_over = bytes > env->feed_limit;
	/* within a sixteenth of the slack's end, a change may drop lines */
	env->feed_near = bytes + (env->feed_limit >> 4) >=
			 env->feed_limit + FEED_SLACK(env->feed_limit);
}

void store_feed_set_limit(struct store_env *env, uint64_t bytes)
{
	struct store_txn *t;
	struct feed_meta m = {1, 0, 0};
	env->feed_limit = bytes;
	/* unknown: as full as may be */
	env->feed_over = env->feed_near = 1;
	if (store_read_begin(env, &t) == 0) {
		if (meta_get(t, &m) == 0)
			note_fill(env, m.bytes);
		store_txn_abort(t);
	}
}

static void put_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return be64toh(v);
}

/* A stored line's parts: its offset, refs (raw) and text. */
struct feed_val {
	uint64_t off;
	unsigned nrefs;
	const uint8_t *refs, *refs_end;
	const void *line;
	size_t len;
};

static int val_parse(const MDB_val *d, struct feed_val *v)
{
	const uint8_t *p = d->mv_data, *end = p + d->mv_size;
	uint16_t n;
	unsigned i;
	if (d->mv_size < 10)
		return EIO;
	memcpy(&v->off, p, 8);
	v->off = le64toh(v->off);
	memcpy(&n, p + 8, 2);
	v->nrefs = le16toh(n);
	p += 10;
	v->refs = p;
	for (i = 0; i < v->nrefs; i++) {
		uint16_t kl;
		if (end - p < 6)
			return EIO;
		memcpy(&kl, p + 4, 2);
		p += 6 + le16toh(kl);
		if (p > end)
			return EIO;
	}
	v->refs_end = p;
	v->line = p;
	v->len = (size_t)(end - p);
	return 0;
}

/* The next ref of a parsed value: its table and key; p moves on. */
static const uint8_t *ref_next(const uint8_t *p, uint32_t *tid,
			       const uint8_t **key, size_t *kl)
{
	uint32_t t;
	uint16_t l;
	memcpy(&t, p, 4);
	memcpy(&l, p + 4, 2);
	*tid = le32toh(t);
	*kl = le16toh(l);
	*key = p + 6;
	return p + 6 + *kl;
}

/* What a stored line counts against retention: its row and its history
 * entries. */
static uint64_t line_cost(const MDB_val *d, unsigned nrefs, size_t refkeys)
{
	return 8 + d->mv_size + (uint64_t)nrefs * 12 + refkeys;
}

static int hist_key(uint8_t *hk, uint32_t tid, const void *key, size_t kl,
		    MDB_val *k)
{
	return store_tid_key(hk, tid, key, kl, STORE_KEY_MAX, k);
}

/*
 * Drop the oldest lines and their history entries, one cursor walking
 * from the first: at most max lines, until want bytes went, and never
 * more than limit bytes (the lines older than one just added).  *freed
 * is what went.
 */
static int trim_lines(struct store_txn *t, unsigned max, uint64_t want,
		      uint64_t limit, uint64_t keep_from, uint64_t *freed)
{
	MDB_cursor *c, *h;
	MDB_val k, d;
	unsigned n = 0;
	int rc = mdb_cursor_open(t->txn, t->env->feed, &c), lr;
	*freed = 0;
	if (rc)
		return store_errno(t, rc);
	rc = mdb_cursor_open(t->txn, t->env->history, &h);
	if (rc) {
		mdb_cursor_close(c);
		return store_errno(t, rc);
	}
	/* the first line again after each delete (LMDB leaves a cursor
	 * unset once its database is empty) */
	for (lr = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	     lr == 0 && n < max && *freed < want;
	     lr = mdb_cursor_get(c, &k, &d, MDB_FIRST), n++) {
		struct feed_val v;
		const uint8_t *p, *key;
		uint8_t refs[2 * (6 + STORE_KEY_MAX)], *copy = refs;
		size_t refkeys = 0, kl;
		uint64_t cost;
		uint32_t tid;
		uint8_t sk[8];
		unsigned i;
		if (k.mv_size != 8 || val_parse(&d, &v)) {
			rc = EIO;
			break;
		}
		if (get_be64(k.mv_data) >= keep_from)
			break;
		for (i = 0, p = v.refs; i < v.nrefs; i++) {
			p = ref_next(p, &tid, &key, &kl);
			refkeys += 4 + kl;
		}
		cost = line_cost(&d, v.nrefs, refkeys);
		if (*freed + cost > limit)
			break;
		memcpy(sk, k.mv_data, 8);
		/* the refs, out of the page before the deletes may move it */
		if ((size_t)(v.refs_end - v.refs) > sizeof(refs) &&
		    !(copy = malloc((size_t)(v.refs_end - v.refs)))) {
			rc = ENOMEM;
			break;
		}
		memcpy(copy, v.refs, (size_t)(v.refs_end - v.refs));
		for (i = 0, p = copy; i < v.nrefs && !rc; i++) {
			uint8_t hk[4 + STORE_KEY_MAX];
			MDB_val hkv, hd = {8, sk};
			p = ref_next(p, &tid, &key, &kl);
			rc = hist_key(hk, tid, key, kl, &hkv);
			if (rc)
				break;
			lr = mdb_cursor_get(h, &hkv, &hd, MDB_GET_BOTH);
			if (lr == 0)
				lr = mdb_cursor_del(h, 0);
			if (lr && lr != MDB_NOTFOUND)
				rc = store_errno(t, lr);
		}
		if (copy != refs)
			free(copy);
		if (!rc && (lr = mdb_cursor_del(c, 0)) != 0)
			rc = store_errno(t, lr);
		if (rc)
			break;
		*freed += cost;
	}
	if (!rc && lr && lr != MDB_NOTFOUND)
		rc = store_errno(t, lr);
	mdb_cursor_close(h);
	mdb_cursor_close(c);
	return rc;
}

int store_feed_gap(struct store_txn *t, int set)
{
	uint64_t v = 0;
	int rc = store_meta_get(t, "feed_gap", &v);
	if (rc && rc != ENOENT)
		return -rc;
	if (set == 1 && !v)
		rc = store_meta_put(t, "feed_gap", 1);
	else if (set == 0 && v)
		rc = store_meta_put(t, "feed_gap", 0);
	else
		rc = 0;
	return rc ? -rc : (int)v;
}

int store_feed_next(struct store_txn *t, uint64_t *seq)
{
	struct feed_meta m;
	int rc = meta_get(t, &m);
	if (!rc)
		*seq = m.next_seq;
	return rc;
}

int store_feed_add(struct store_txn *t, uint64_t seq, const void *line,
		   size_t len, const struct store_feed_ref *refs, size_t nrefs)
{
	struct feed_meta m;
	uint8_t sk[8], *p;
	size_t vlen = 10 + len, refkeys = 0, i;
	uint64_t older;
	MDB_val k = {8, sk}, d;
	int rc;

	if (!t->env->feed_limit)
		return 0;
	if (nrefs > 0xffff)
		return EINVAL;
	for (i = 0; i < nrefs; i++) {
		if (refs[i].keylen > STORE_KEY_MAX)
			return EINVAL;
		vlen += 6 + refs[i].keylen;
		refkeys += 4 + refs[i].keylen;
	}
	rc = meta_get(t, &m);
	if (rc)
		return rc;
	if (seq != m.next_seq)
		return EINVAL;
	put_be64(sk, seq);
	d.mv_size = vlen;
	rc = mdb_put(t->txn, t->env->feed, &k, &d, MDB_RESERVE | MDB_APPEND);
	if (rc)
		return store_errno(t, rc);
	p = d.mv_data;
	{
		uint64_t off = htole64(m.end_off);
		uint16_t n = htole16((uint16_t)nrefs);
		memcpy(p, &off, 8);
		memcpy(p + 8, &n, 2);
		p += 10;
	}
	/* the whole value now: the space MDB_RESERVE gave is the value's
	 * only until the next write */
	for (i = 0; i < nrefs; i++) {
		uint32_t tid = htole32(refs[i].tid);
		uint16_t kl = htole16((uint16_t)refs[i].keylen);
		memcpy(p, &tid, 4);
		memcpy(p + 4, &kl, 2);
		memcpy(p + 6, refs[i].key, refs[i].keylen);
		p += 6 + refs[i].keylen;
	}
	memcpy(p, line, len);
	for (i = 0; i < nrefs; i++) {
		uint8_t hk[4 + STORE_KEY_MAX];
		MDB_val hkv, hd = {8, sk};
		rc = hist_key(hk, refs[i].tid, refs[i].key, refs[i].keylen,
			      &hkv);
		if (!rc)
			rc = store_errno(
			    t, mdb_put(t->txn, t->env->history, &hkv, &hd, 0));
		if (rc)
			return rc;
	}
	older = m.bytes;
	m.next_seq++;
	m.end_off += len;
	m.bytes += line_cost(&d, (unsigned)nrefs, refkeys);
	/* the oldest go first (the newest line stays, whatever its size):
	 * here only past the limit and its slack, at most TRIM_MAX of them;
	 * store_feed_trim() takes the feed to its limit between changes */
	if (m.bytes > t->env->feed_limit + FEED_SLACK(t->env->feed_limit)) {
		uint64_t freed = 0;
		rc = trim_lines(t, TRIM_MAX, m.bytes - t->env->feed_limit,
				older, UINT64_MAX, &freed);
		if (rc)
			return rc;
		m.bytes -= freed;
	}
	note_fill(t->env, m.bytes);
	return meta_put(t, &m);
}

int store_feed_state(struct store_txn *t, struct store_feed_state *out)
{
	struct feed_meta m;
	MDB_cursor *c;
	MDB_val k, d;
	struct feed_val v;
	int rc = meta_get(t, &m);
	if (rc)
		return rc;
	out->next_seq = m.next_seq;
	out->end_off = m.end_off;
	out->bytes = m.bytes;
	out->first_seq = m.next_seq;
	out->first_off = m.end_off;
	rc = mdb_cursor_open(t->txn, t->env->feed, &c);
	if (rc)
		return store_errno(t, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	if (rc == 0 && k.mv_size == 8 && val_parse(&d, &v) == 0) {
		out->first_seq = get_be64(k.mv_data);
		out->first_off = v.off;
	} else if (rc != MDB_NOTFOUND) {
		rc = rc ? store_errno(t, rc) : EIO;
		mdb_cursor_close(c);
		return rc;
	}
	mdb_cursor_close(c);
	return 0;
}

int store_feed_get(struct store_txn *t, uint64_t seq, uint64_t *off,
		   const void **line, size_t *len)
{
	uint8_t sk[8];
	MDB_val k = {8, sk}, d;
	struct feed_val v;
	int rc;
	put_be64(sk, seq);
	rc = mdb_get(t->txn, t->env->feed, &k, &d);
	if (rc)
		return store_errno(t, rc);
	if (val_parse(&d, &v))
		return EIO;
	if (off)
		*off = v.off;
	*line = v.line;
	*len = v.len;
	return 0;
}

int store_feed_find(struct store_txn *t, uint64_t off, uint64_t *seq)
{
	struct store_feed_state s;
	uint64_t lo, hi;
	int rc = store_feed_state(t, &s);
	if (rc)
		return rc;
	if (off < s.first_off || off >= s.end_off)
		return ENOENT;
	/* the last line that starts at or before off */
	lo = s.first_seq;
	hi = s.next_seq - 1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2, moff;
		const void *line;
		size_t len;
		rc = store_feed_get(t, mid, &moff, &line, &len);
		if (rc)
			return rc == ENOENT ? EIO : rc;
		if (moff <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	*seq = lo;
	return 0;
}

int store_history_next(struct store_txn *t, uint32_t tid, const void *key,
		       size_t kl, uint64_t after, uint64_t *seq)
{
	uint8_t hk[4 + STORE_KEY_MAX], sk[8];
	MDB_val k, d = {8, sk};
	MDB_cursor *c;
	int rc = hist_key(hk, tid, key, kl, &k);
	if (rc)
		return rc;
	/* the first duplicate above after */
	put_be64(sk, after == UINT64_MAX ? after : after + 1);
	rc = mdb_cursor_open(t->txn, t->env->history, &c);
	if (rc)
		return store_errno(t, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_GET_BOTH_RANGE);
	if (rc == 0 && d.mv_size == 8 && get_be64(d.mv_data) > after)
		*seq = get_be64(d.mv_data);
	else if (rc == 0)
		rc = d.mv_size == 8 ? MDB_NOTFOUND : EIO;
	mdb_cursor_close(c);
	return rc == EIO ? EIO : store_errno(t, rc);
}

int store_feed_check(struct store_txn *t, char *msg, size_t msglen)
{
	MDB_cursor *c, *hc;
	MDB_val k, d;
	struct feed_val v;
	uint64_t lines = 0, refs = 0, entries = 0, prev = 0, bytes = 0;
	struct feed_meta m;
	int rc = meta_get(t, &m);
	if (rc)
		return rc;
	rc = mdb_cursor_open(t->txn, t->env->history, &hc);
	if (rc)
		return store_errno(t, rc);
	rc = mdb_cursor_open(t->txn, t->env->feed, &c);
	if (rc) {
		mdb_cursor_close(hc);
		return store_errno(t, rc);
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *p;
		size_t refkeys = 0;
		unsigned i;
		uint64_t seq;
		if (k.mv_size != 8 || val_parse(&d, &v)) {
			snprintf(msg, msglen,
				 "feed: a line that cannot be read");
			mdb_cursor_close(c);
			mdb_cursor_close(hc);
			return EIO;
		}
		seq = get_be64(k.mv_data);
		if (lines && v.off != prev) {
			snprintf(msg, msglen,
				 "feed: line %llu starts at %llu, not %llu",
				 (unsigned long long)seq,
				 (unsigned long long)v.off,
				 (unsigned long long)prev);
			mdb_cursor_close(c);
			mdb_cursor_close(hc);
			return EIO;
		}
		prev = v.off + v.len;
		for (i = 0, p = v.refs; i < v.nrefs; i++) {
			uint8_t hk[4 + STORE_KEY_MAX], sk[8];
			const uint8_t *key;
			uint32_t tid;
			size_t kl;
			MDB_val hkv, hd = {8, sk};
			p = ref_next(p, &tid, &key, &kl);
			refkeys += 4 + kl;
			put_be64(sk, seq);
			if (hist_key(hk, tid, key, kl, &hkv) ||
			    mdb_cursor_get(hc, &hkv, &hd, MDB_GET_BOTH) != 0) {
				snprintf(msg, msglen,
					 "feed: line %llu is missing from "
					 "its record's history",
					 (unsigned long long)seq);
				mdb_cursor_close(c);
				mdb_cursor_close(hc);
				return EIO;
			}
			refs++;
		}
		bytes += line_cost(&d, v.nrefs, refkeys);
		lines++;
		if (seq >= m.next_seq) {
			snprintf(msg, msglen,
				 "feed: line %llu past the next number %llu",
				 (unsigned long long)seq,
				 (unsigned long long)m.next_seq);
			mdb_cursor_close(c);
			mdb_cursor_close(hc);
			return EIO;
		}
	}
	mdb_cursor_close(c);
	mdb_cursor_close(hc);
	if (rc != MDB_NOTFOUND)
		return store_errno(t, rc);
	if (lines && prev != m.end_off) {
		snprintf(msg, msglen, "feed: ends at %llu, not %llu",
			 (unsigned long long)prev,
			 (unsigned long long)m.end_off);
		return EIO;
	}
	if (bytes != m.bytes) {
		snprintf(
		    msg, msglen, "feed: holds %llu bytes, its count says %llu",
		    (unsigned long long)bytes, (unsigned long long)m.bytes);
		return EIO;
	}
	/* every history entry is a line's */
	rc = mdb_cursor_open(t->txn, t->env->history, &c);
	if (rc)
		return store_errno(t, rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT))
		entries++;
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return store_errno(t, rc);
	if (entries != refs) {
		snprintf(msg, msglen,
			 "feed: the history holds %llu entries, the lines "
			 "name %llu",
			 (unsigned long long)entries, (unsigned long long)refs);
		return EIO;
	}
	return 0;
}

struct yield_arg {
	uint64_t want, freed;
};

static int yield_fn(struct store_txn *t, void *arg)
{
	struct yield_arg *y = arg;
	struct feed_meta m;
	int rc = meta_get(t, &m);
	if (!rc)
		rc = trim_lines(t, UINT32_MAX, y->want, UINT64_MAX, UINT64_MAX,
				&y->freed);
	if (rc)
		return rc;
	m.bytes = y->freed < m.bytes ? m.bytes - y->freed : 0;
	note_fill(t->env, m.bytes);
	return y->freed ? meta_put(t, &m) : ENOENT;
}

static int trim_fn(struct store_txn *t, void *arg)
{
	struct yield_arg *y = arg;
	struct feed_meta m;
	int rc = meta_get(t, &m);
	y->freed = 0;
	if (!rc && m.bytes > t->env->feed_limit)
		rc = trim_lines(t, (unsigned)y->want,
				m.bytes - t->env->feed_limit, UINT64_MAX,
				m.next_seq - 1,
				&y->freed); /* the newest stays */
	if (rc)
		return rc;
	m.bytes = y->freed < m.bytes ? m.bytes - y->freed : 0;
	note_fill(t->env, m.bytes);
	return y->freed ? meta_put(t, &m) : 0;
}

int store_feed_trim(struct store_env *env, unsigned max)
{
	struct yield_arg y = {max, 0};
	if (!env->feed_over)
		return 0;
	return store_write(env, trim_fn, &y);
}

int store_feed_over(struct store_env *env)
{
	return env->feed_over;
}

static int touch_fn(struct store_txn *t, void *arg)
{
	struct feed_meta m;
	int rc = meta_get(t, &m);
	return rc ? rc : meta_put(t, &m);
}

int store_feed_yield(struct store_env *env, uint64_t bytes)
{
	struct yield_arg y = {bytes, 0};
	int rc = store_write(env, yield_fn, &y);
	/* LMDB takes pages a commit frees only two commits on (the one
	 * after keeps the meta page of the one before): a commit that
	 * changes nothing but the feed's own numbers comes between */
	return rc ? rc : store_write(env, touch_fn, NULL);
}
