/*
 * env.c: environments: opening one (its named databases, its map's first
 * size, its intent slot's file), closing, syncing and removing it, its
 * number, and whether a record may still fit (map, disk and free list).
 *
 * It sits above storage's other files and calls them: it commits the
 * batch (txn.c) before it closes, and voids a stale slot (intent.c) when
 * it opens.  Tables, objects and indexes it leaves to their files.
 */
#include "store_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAP	 (1ull << 20)
#define IGNORE_INO_BELOW 64

/* Whether a block of dir's file system, once allocated, is overwritten in
 * place (so store_map_reserve() makes writes through the map safe). */
static int overwrites_in_place(const char *dir)
{
	struct statfs sf;
	if (statfs(dir, &sf) != 0)
		return 0;
	switch ((unsigned long)sf.f_type) {
	case 0xEF53UL:	   /* ext2, ext3, ext4 */
	case 0x58465342UL: /* XFS */
	case 0x01021994UL: /* tmpfs */
		return 1;
	default:
		return 0;
	}
}

int store_env_open(const char *dir, unsigned flags, size_t initial_map,
		   struct store_env **out)
{
	int create = flags & STORE_OPEN_CREATE;
	char path[4096];
	struct stat st;
	struct store_env *e = calloc(1, sizeof(*e));
	struct store_txn t;
	/* data.mdb's presence is checked below; the named databases inside
	 * are made when missing, so an older file gains new ones. */
	unsigned dbflags = MDB_CREATE;
	uint64_t v;
	MDB_envinfo info;
	int rc;

	if (!e)
		return ENOMEM;
	e->dir = strdup(dir);
	if (!e->dir) {
		free(e);
		return ENOMEM;
	}
	e->intent_fd = -1;
	e->writemap = !(flags & STORE_OPEN_SHARED) && overwrites_in_place(dir);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
again:
	rc = mdb_env_create(&e->env);
	if (rc) {
		free(e->dir);
		free(e);
		return store_errno(NULL, rc);
	}
	e->mapsize = initial_map ? initial_map : DEFAULT_MAP;
	/* Never a map shorter than the file: with MDB_WRITEMAP, LMDB would
	 * cut the file (and the blocks reserved at its end) to it. */
	if (stat(path, &st) == 0 && (uint64_t)st.st_size > e->mapsize)
		e->mapsize = (size_t)st.st_size;
	mdb_env_set_maxdbs(e->env, 16);
	mdb_env_set_maxreaders(e->env, 512);
	mdb_env_set_mapsize(e->env, e->mapsize);
	if (!create) {
		/* Refuse to create data.mdb in a directory that has none. */
		if (access(path, F_OK) != 0) {
			rc = ENOENT;
			goto fail;
		}
	}
	/*
	 * MDB_NORDAHEAD (MADV_RANDOM on the map): with the kernel's
	 * readahead on, a fault maps its neighbours too, and a listing of
	 * 1M records peaked at 226-286 MiB resident even when it gave the
	 * pages back every 4,096 entries.  A walk asks for what it will read
	 * next itself (store_env_prefetch), into the page cache only.
	 */
	/*
	 * MDB_NOTLS: a reader slot belongs to its transaction, not to the
	 * thread, so the session loop can hold a stream's snapshot
	 * (store_snapshot_begin) across requests beside its other reads.
	 */
	rc = mdb_env_open(e->env, dir,
			  MDB_NOSYNC | MDB_NORDAHEAD | MDB_NOTLS |
			      (e->writemap ? MDB_WRITEMAP : 0),
			  0644);
	if (rc) {
		rc = store_errno(NULL, rc);
		goto fail;
	}
	/* A file larger than the map we asked for sets the map size. */
	mdb_env_info(e->env, &info);
	e->mapsize = info.me_mapsize;
	if (e->writemap && store_map_reserve(e, e->mapsize) != 0) {
		/* no room for the blocks of the map: write(2) instead */
		mdb_env_close(e->env);
		e->writemap = 0;
		goto again;
	}

	rc = store_txn_begin(e, 0, &t);
	if (rc)
		goto fail;
	if ((rc = mdb_dbi_open(t.txn, "meta", dbflags, &e->meta)) ||
	    (rc = mdb_dbi_open(t.txn, "tables", dbflags, &e->tables)) ||
	    (rc = mdb_dbi_open(t.txn, "objects", dbflags, &e->objects)) ||
	    (rc = mdb_dbi_open(t.txn, "chunks", dbflags, &e->chunks)) ||
	    (rc = mdb_dbi_open(t.txn, "aliases", dbflags, &e->aliases)) ||
	    (rc = mdb_dbi_open(t.txn, "index", dbflags | MDB_DUPSORT,
			       &e->index)) ||
	    (rc = mdb_dbi_open(t.txn, "attrs", dbflags, &e->attrs)) ||
	    (rc = mdb_dbi_open(t.txn, "schemas", dbflags, &e->schemas)) ||
	    (rc = mdb_dbi_open(t.txn, "feed", dbflags, &e->feed)) ||
	    (rc = mdb_dbi_open(t.txn, "history",
			       dbflags | MDB_DUPSORT | MDB_DUPFIXED,
			       &e->history))) {
		mdb_txn_abort(t.txn);
		rc = store_errno(NULL, rc);
		goto fail;
	}
	rc = store_meta_get(&t, "next_ino", &v);
	if (rc == ENOENT) {
		v = IGNORE_INO_BELOW;
		rc = store_meta_put(&t, "next_ino", v);
	}
	if (rc) {
		mdb_txn_abort(t.txn);
		goto fail;
	}
	e->next_ino = e->persisted_ino = v;
	if (store_meta_get(&t, "dbid", &v) == 0)
		e->id = (uint32_t)v;
	rc = store_meta_get(&t, "envid", &e->envid);
	if (rc == ENOENT && !(flags & STORE_OPEN_SHARED)) {
		/* a new environment (or one from before the slot): no slot
		 * beside it is its own */
		if (getrandom(&e->envid, sizeof(e->envid), 0) !=
		    sizeof(e->envid))
			e->envid = (uint64_t)time(NULL) ^ (uint64_t)getpid()
							      << 32;
		e->envid |= 1;
		rc = store_meta_put(&t, "envid", e->envid);
	} else if (rc == ENOENT) {
		rc = 0;
	}
	if (rc) {
		mdb_txn_abort(t.txn);
		goto fail;
	}
	rc = store_errno(NULL, mdb_txn_commit(t.txn));
	if (rc)
		goto fail;
	{
		MDB_stat ms;
		mdb_env_stat(e->env, &ms);
		e->psize = ms.ms_psize;
	}
	if (!(flags & STORE_OPEN_SHARED)) {
		snprintf(path, sizeof(path), "%s/intent", dir);
		e->intent_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (e->intent_fd < 0) {
			rc = errno;
			goto fail;
		}
		store_intent_forget_stale(e);
		/* the slots this process writes are numbered from a random
		 * start: an earlier process's changes never pass for theirs */
		if (getrandom(&e->slot_seq, sizeof(e->slot_seq), 0) !=
		    sizeof(e->slot_seq))
			e->slot_seq = e->envid ^ (uint64_t)time(NULL);
	}
	*out = e;
	return 0;
fail:
	if (e->intent_fd >= 0)
		close(e->intent_fd);
	mdb_env_close(e->env);
	free(e->dir);
	free(e);
	return rc;
}

int store_env_copy(struct store_env *env, const char *dir)
{
	return store_errno(NULL, mdb_env_copy2(env->env, dir, MDB_CP_COMPACT));
}

void store_env_close(struct store_env *env)
{
	if (!env)
		return;
	store_batch_commit(env);
	store_spare_end(env);
	mdb_env_sync(env->env, 1);
	mdb_env_close(env->env);
	if (env->intent_fd >= 0)
		close(env->intent_fd);
	free(env->dir);
	free(env);
}

int store_env_remove(const char *dir)
{
	/* the slot first: without data.mdb it is no environment's */
	static const char *const files[] = {"intent", "data.mdb", "lock.mdb"};
	char path[4096];
	int rc = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) != 0 && errno != ENOENT && !rc)
			rc = errno;
	}
	return rc;
}

int store_env_sync(struct store_env *env)
{
	int fd;
	/* the slot holds the changes of a batch not yet committed, and one
	 * that waits for the next open: they must outlast a power cut */
	if (env->intent_fd >= 0 &&
	    (env->stuck ||
	     __atomic_exchange_n(&env->slot_unsynced, 0, __ATOMIC_ACQ_REL)) &&
	    fdatasync(env->intent_fd)) {
		__atomic_store_n(&env->slot_unsynced, 1, __ATOMIC_RELEASE);
		return errno;
	}
	/* With MDB_WRITEMAP LMDB would msync() its map, which the session
	 * loop may be moving (store_map_grow) while the sync thread runs; the
	 * pages written through the map are the file's pages in the page cache,
	 * so fdatasync() of the file writes them all without touching the map.
	 */
	if (env->writemap && mdb_env_get_fd(env->env, &fd) == 0)
		return fdatasync(fd) == 0 ? 0 : errno;
	return store_errno(NULL, mdb_env_sync(env->env, 1));
}

uint32_t store_env_id(struct store_env *env)
{
	return env->id;
}

static int set_id_fn(struct store_txn *t, void *arg)
{
	return store_meta_put(t, "dbid", *(uint32_t *)arg);
}

int store_env_set_id(struct store_env *env, uint32_t id)
{
	int rc = store_write(env, set_id_fn, &id);
	if (!rc)
		env->id = id;
	return rc;
}

/*
 * Pages on LMDB's free list, to be used again (the sum of the counts that
 * open each of its records), read through t; kept until the next commit.
 */
static size_t free_pages(struct store_env *env, MDB_txn *txn)
{
	MDB_cursor *c;
	MDB_val k, d;
	MDB_cursor_op op = MDB_FIRST;
	size_t n = 0, count;

	if (env->free_commits == env->commits + 1)
		return env->free_known;
	if (mdb_cursor_open(txn, 0 /* FREE_DBI */, &c) != 0)
		return 0;
	for (; mdb_cursor_get(c, &k, &d, op) == 0; op = MDB_NEXT)
		if (d.mv_size >= sizeof(count)) {
			/* each record opens with its count; not aligned */
			memcpy(&count, d.mv_data, sizeof(count));
			n += count;
		}
	mdb_cursor_close(c);
	env->free_known = n;
	env->free_commits = env->commits + 1;
	return n;
}

int store_env_fits(struct store_env *env, size_t len)
{
	MDB_envinfo info;
	size_t need = len + 16 * (size_t)env->psize, used, room;
	struct store_txn *t;

	if (env->feed_limit)
		need += len + 1024; /* the change's line in the feed */
	mdb_env_info(env->env, &info);
	used = ((size_t)info.me_last_pgno + 1) * env->psize;
	room = used < env->mapsize ? env->mapsize - used : 0;
	if (env->writemap) {
		/* the map's blocks are the disk's already; it grows by
		 * what the disk has left */
		if (room >= need)
			return 0;
		room += store_map_growable(env);
	} else {
		/* the map grows freely, and its pages past the file's end
		 * take the disk's blocks at write(2) */
		room = (size_t)store_disk_free(env);
	}
	if (room >= need)
		return 0;
	/* the free list is read only in a read transaction: with a batch
	 * open (a write transaction), the commit will tell */
	if (env->batch || store_read_begin(env, &t) != 0)
		return 0;
	room += free_pages(env, t->txn) * env->psize;
	store_txn_abort(t);
	return room >= need ? 0 : ENOSPC;
}
