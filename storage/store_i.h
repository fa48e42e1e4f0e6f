/*
 * store_i.h: storage's private header.  The structs behind store.h's
 * handles, the on-disk layouts, and the helpers that storage's .c files
 * share.  Only storage's own .c files include it; everything else uses
 * store.h, the one public header.
 *
 * Design: each database is one environment opened with MDB_NOSYNC and
 * MDB_WRITEMAP.  A transaction writes its pages straight into the shared
 * map (the page cache), and a commit writes no file at all: it costs
 * neither an fsync nor a write(2) of the dirty pages (that pwrite was a
 * third of a delete), and a committed change still survives the daemon
 * being killed (the kernel holds the pages).  It reaches the disk at the
 * next store_env_sync(), which the daemon calls on fsync, on a timer and
 * at unmount.
 *
 * A store into a page of the map that the file system has no block for
 * would be a SIGBUS when the disk is full, so the file's blocks are
 * reserved (posix_fallocate) before the map is made larger, and the map
 * starts small (DEFAULT_MAP) and doubles.  That holds where a block, once
 * allocated, is overwritten in place: ext2/3/4, XFS (a file not sharing
 * extents) and tmpfs.  Elsewhere (btrfs, ZFS and other copy-on-write file
 * systems need new blocks for every overwrite), if the blocks of an
 * existing map cannot be had, or when another process may have the
 * environment open (STORE_OPEN_SHARED: LMDB sets the file's length to its
 * map's when it opens one with MDB_WRITEMAP), the environment is opened
 * without MDB_WRITEMAP, where a full disk is a failed write(2): ENOSPC,
 * not a crash.
 *
 * Keys carry a 4-byte big-endian table number first, so one table's objects
 * are one contiguous range and dropping a table is a range delete.
 *
 * The files, lowest first: each calls only files before it here, so that
 * no two call each other in a circle.
 *   errno.c   LMDB's return codes, read in one place
 *   meta.c    the meta database's named numbers; inode numbers
 *   map.c     the map: its size and blocks, a commit's room, its pages
 *   table.c   tables and their schemas
 *   obj.c     objects and their cursors, scratch file chunks, aliases
 *   txn.c     read and write transactions, commits, the batch
 *   intent.c  the intent slot
 *   env.c     opening, closing, syncing and removing an environment;
 *             whether a record may still fit
 *   index.c   index entries, attributes, index cursors, the index check
 *   feed.c    the change feed and the history index
 */
#ifndef RECORDFS_STORE_I_H
#define RECORDFS_STORE_I_H

#include "store.h"

#include <endian.h>
#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <string.h>

struct store_env {
	MDB_env *env;
	char *dir;
	MDB_dbi meta, tables, objects, chunks, aliases, index, attrs, schemas;
	MDB_dbi feed, history; /* feed.c */
	uint64_t feed_limit;   /* bytes the feed keeps; 0: no new line */
	int feed_near;	       /* it held near its limit at the last add: an add
				  may drop old lines (store_intent_safe) */
	int feed_over;	       /* it may hold more than its limit */
	uint64_t feed_bytes;   /* what it held at the last add or trim */
	/* store_check_set_progress's */
	void (*check_progress)(void *arg, uint64_t done, uint64_t total);
	void *check_arg;
	uint32_t id;
	uint64_t next_ino;	/* next number to hand out */
	uint64_t persisted_ino; /* meta "next_ino" on disk: above all handed
				   out and committed */
	uint64_t commits; /* commits since open (store_write's, batches') */
	uint64_t changes; /* changes since open: store_write's commits and
			     store_batch_apply's changes */
	size_t mapsize;
	int writemap; /* opened with MDB_WRITEMAP: the file's blocks reserved */
	/* the map's address range, once found, and how far a walk has asked
	 * the kernel to read ahead (store_env_prefetch) */
	uintptr_t map_lo, map_hi;
	size_t map_found_size; /* mapsize when the range was found */
	uint64_t pf_lo, pf_hi;
	/* the intent slot: its file (-1: none), and the environment's own
	 * random number (meta "envid"), which a slot must carry to count;
	 * stuck: a slot could not be applied, so nothing else may be
	 * written before it is (at the next open) */
	int intent_fd;
	uint64_t envid;
	int stuck;
	unsigned psize;
	/* the last read transaction ended, reset for mdb_txn_renew(): a read
	 * then needs no allocation (or NULL) */
	MDB_txn *spare;
	/* the open batch (store_batch_apply): a write transaction kept
	 * across calls, batch_n changes in it; borrows counts the
	 * store_read_begin views of it not yet ended, which must be none
	 * when it commits */
	MDB_txn *batch;
	unsigned batch_n;
	int borrows;
	/* what store_intent_safe has granted since the last commit, and
	 * the last change it granted */
	size_t room_len, room_entries, room_changes;
	/* pages on the free list (store_env_fits), known while commits is
	 * free_commits - 1 */
	size_t free_known;
	uint64_t free_commits;
	/* store_disk_free's last answer, and when it was asked (ns) */
	uint64_t disk_free, disk_at;
	size_t last_len, last_entries;
	/* the slot as this process writes it: the commit it follows
	 * (txnid), its number, where its next change goes, how many */
	uint64_t slot_txnid, slot_seq;
	size_t slot_end;
	unsigned slot_n;
	int slot_unsynced; /* written since store_env_sync (any thread) */
	int (*redo)(void *arg, int why);
	void *redo_arg;
};

struct store_txn {
	struct store_env *env;
	MDB_txn *txn;
	int map_full; /* set when an operation met MDB_MAP_FULL */
	int borrowed; /* a view of the open batch: ending it ends nothing */
	int snapshot; /* store_snapshot_begin's: never kept as the spare */
	/* attributes whose row in attrs this write transaction has seen or
	 * made (index.c): a record's entries do not ask again */
	unsigned noted_n;
	struct {
		uint32_t tid;
		uint8_t len;
		uint8_t attr[STORE_ATTR_MAX];
	} noted[8];
};

struct store_cursor {
	struct store_txn *txn;
	MDB_cursor *cur;
	uint8_t prefix[5];
	int started;
	uint8_t start[5 + STORE_KEY_MAX];
	size_t startlen;
	int skip_equal;
};

/* On-disk object header; little-endian, fixed size. */
struct obj_hdr {
	uint64_t ino;
	int64_t btime_ns;
	int64_t mtime_ns;
	uint64_t size; /* its top bit: an attrs_disk follows */
};

/*
 * struct store_attrs on disk, after an object's obj_hdr (marked by the top
 * bit of its size) or a table's table_disk (a longer value).  Objects and
 * tables stored before it was kept have none.
 */
struct attrs_disk {
	uint32_t mode, uid, gid, flags;
	int64_t atime_ns, ctime_ns;
};
#define OBJ_HAS_ATTRS (1ull << 63)

static inline void store_attrs_enc(struct attrs_disk *d,
				   const struct store_attrs *a)
{
	d->mode = htole32(a->mode);
	d->uid = htole32(a->uid);
	d->gid = htole32(a->gid);
	d->flags = 0;
	d->atime_ns = (int64_t)htole64((uint64_t)a->atime_ns);
	d->ctime_ns = (int64_t)htole64((uint64_t)a->ctime_ns);
}

static inline void store_attrs_dec(struct store_attrs *a,
				   const struct attrs_disk *d)
{
	a->mode = le32toh(d->mode);
	a->uid = le32toh(d->uid);
	a->gid = le32toh(d->gid);
	a->atime_ns = (int64_t)le64toh((uint64_t)d->atime_ns);
	a->ctime_ns = (int64_t)le64toh((uint64_t)d->ctime_ns);
}

/*
 * The file "intent": a header, then the changes, each a head and its
 * bytes.  A slot is pending while the data.mdb it was written for
 * (envid) has committed nothing since (txnid, LMDB's last transaction
 * then): the commit that applies its changes ends it, and so does any
 * other, so a slot never lands on a newer state, nor on a data.mdb made
 * anew or put back from a copy.  A change written while the slot is
 * pending is added after the others (the batch holds them all).  Each
 * change's checksum covers the slot's txnid and number (seq, new for
 * each slot) and the bytes, so a change cut short by a crash (it was
 * never answered) ends the slot there, and the changes of an older slot
 * further on in the file never count.
 */
struct intent_head {
	uint32_t magic; /* INTENT_MAGIC; all little-endian */
	uint32_t zero;
	uint64_t envid;
	uint64_t txnid;
	uint64_t seq;
};

struct intent_change {
	uint32_t len;
	uint32_t zero;
	uint64_t sum;
};

#define INTENT_MAGIC	   0x34494652u /* "RFI4" */
#define INTENT_MAX	   (1u << 20)
#define INTENT_ENTRIES_MAX 4096
#define INTENT_PATH_PAGES  10

/* On-disk table row: struct store_table's fields, little-endian. */
struct table_disk {
	uint32_t tid;
	uint32_t flags;
	uint64_t ino;
	int64_t btime_ns;
	int64_t mtime_ns;
};

/* Longest index key: [tid][u16 attr length][attr][value]. */
#define IKEY_MAX (6 + STORE_ATTR_MAX + STORE_VALUE_MAX)

struct store_icursor {
	struct store_txn *txn;
	MDB_cursor *cur;
	uint8_t prefix[6 + STORE_ATTR_MAX];
	size_t plen;
	uint8_t seek[IKEY_MAX + 1]; /* a position may pass the longest value */
	size_t seeklen;
	int pending; /* seek before the next read */
	uint8_t entry[STORE_VALUE_MAX + STORE_KEY_MAX];
};

static inline void put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

/* A key [tid u32 BE][bytes] in buf, at most max bytes after the tid
 * (EINVAL past it): aliases, the history index. */
static inline int store_tid_key(uint8_t *buf, uint32_t tid, const void *b,
				size_t len, size_t max, MDB_val *k)
{
	if (len > max)
		return EINVAL;
	put_be32(buf, tid);
	memcpy(buf + 4, b, len);
	k->mv_size = 4 + len;
	k->mv_data = buf;
	return 0;
}

/* Drop the read transaction kept for renewal (mdb_txn_abort takes NULL). */
static inline void store_spare_end(struct store_env *env)
{
	mdb_txn_abort(env->spare);
	env->spare = NULL;
}

/* What a change feed may hold past its limit before a change drops its
 * oldest lines (feed.c; store_intent_safe counts them). */
#define FEED_SLACK(limit) ((limit) >> 3)

/* ---- shared within storage, by the file that defines them ---------- */

/* errno.c: LMDB's code rc as an errno; MDB_MAP_FULL also marks t (which
 * may be NULL) for store_write()'s retry. */
int store_errno(struct store_txn *t, int rc);

/* meta.c: put meta "next_ino" ahead of the numbers handed out, if it
 * must be (write txn); *ahead is the value put, 0 for none. */
int store_ino_persist(struct store_txn *t, uint64_t *ahead);

/* map.c: blocks on disk for the file's first size bytes (0 or
 * posix_fallocate's error). */
int store_map_reserve(struct store_env *e, size_t size);
/* map.c: grow the map (double it, or take what the disk has left).  No
 * transaction of env may be open. */
int store_map_grow(struct store_env *env);
/* map.c: bytes the data file's disk has free for it, less some slack (asked of
 * statvfs at most every 50 ms); what of them a map whose blocks are
 * reserved can grow by (whole steps). */
uint64_t store_disk_free(struct store_env *env);
uint64_t store_map_growable(struct store_env *env);
/* map.c: 1 if a change of len bytes and entries index entries fits in the
 * map beside those granted since the last commit; store_room_reset()
 * forgets those, at a commit. */
int store_room_for(struct store_env *env, size_t len, size_t entries);
void store_room_reset(struct store_env *env);

/* table.c: delete every key of dbi that starts with prefix. */
int store_delete_prefix(struct store_txn *t, MDB_dbi dbi, const void *prefix,
			size_t plen);

/* txn.c: begin a transaction of env (flags as mdb_txn_begin's) in *t. */
int store_txn_begin(struct store_env *env, unsigned flags, struct store_txn *t);

/* intent.c: at open, void a slot that is not pending (see there). */
void store_intent_forget_stale(struct store_env *env);

#endif
