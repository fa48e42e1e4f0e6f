/*
 * scratch.c: scratch files, written through to storage.
 *
 * Any name in a table that is not a record's, and any file beside the
 * tables, is a scratch file: bytes kept like a file on a disk (in 64 KiB
 * chunks, storage's STORE_CHUNK), never indexed or exported.  Each write
 * and truncation commits at once, so a crash loses none.  This file reads
 * and writes their bytes; what a name is (names.c) and what a rename makes
 * of a scratch file (rename.c, schemafile.c) are for the callers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

struct scratch_io {
	struct fs_node *n;
	const char *data;
	size_t size;
	off_t off;
	uint64_t newsize;
	int64_t now;
};

static int scratch_write_fn(struct store_txn *t, void *arg)
{
	struct scratch_io *w = arg;
	struct fs_node *n = w->n;
	struct store_obj o;
	static uint8_t chunk[STORE_CHUNK];
	size_t done = 0;
	int rc = store_obj_get(t, n->tid, STORE_SCRATCH, n->key, n->keylen, &o);
	if (rc)
		return rc;
	while (done < w->size) {
		uint64_t pos = (uint64_t)w->off + done;
		uint32_t idx = (uint32_t)(pos / STORE_CHUNK);
		size_t in = pos % STORE_CHUNK, n2 = STORE_CHUNK - in, have = 0;
		const void *cd;
		size_t cl;
		if (n2 > w->size - done)
			n2 = w->size - done;
		memset(chunk, 0, sizeof(chunk));
		if (store_chunk_get(t, n->tid, n->key, n->keylen, idx, &cd,
				    &cl) == 0) {
			memcpy(chunk, cd, cl);
			have = cl;
		}
		memcpy(chunk + in, w->data + done, n2);
		if (in + n2 > have)
			have = in + n2;
		rc = store_chunk_put(t, n->tid, n->key, n->keylen, idx, chunk,
				     have);
		if (rc)
			return rc;
		done += n2;
	}
	if ((uint64_t)w->off + w->size > o.size)
		o.size = (uint64_t)w->off + w->size;
	o.mtime_ns = o.attrs.ctime_ns = w->now;
	o.data = NULL;
	o.len = 0;
	return store_obj_put(t, n->tid, STORE_SCRATCH, n->key, n->keylen, &o);
}

/* Write size bytes at off into scratch file n, committed. */
int fs_scratch_write(struct fs_node *n, const char *buf, size_t size, off_t off)
{
	struct scratch_io w = {
	    .n = n, .data = buf, .size = size, .off = off, .now = fs_now_ns()};
	int rc;
	if (n->unlinked || n->db->dropped)
		return ESTALE;
	rc = store_write(n->db->env, scratch_write_fn, &w);
	if (!rc)
		rc = fs_committed(n->db);
	return rc;
}

static int scratch_truncate_fn(struct store_txn *t, void *arg)
{
	struct scratch_io *w = arg;
	struct fs_node *n = w->n;
	struct store_obj o;
	uint32_t keep =
	    (uint32_t)((w->newsize + STORE_CHUNK - 1) / STORE_CHUNK);
	int rc = store_obj_get(t, n->tid, STORE_SCRATCH, n->key, n->keylen, &o);
	if (rc)
		return rc;
	rc = store_chunk_trim(t, n->tid, n->key, n->keylen, keep);
	if (rc)
		return rc;
	if (w->newsize % STORE_CHUNK) {
		/* Cut the last chunk so growing again reads zeros. */
		const void *cd;
		size_t cl, want = w->newsize % STORE_CHUNK;
		if (store_chunk_get(t, n->tid, n->key, n->keylen, keep - 1, &cd,
				    &cl) == 0 &&
		    cl > want) {
			static uint8_t chunk[STORE_CHUNK];
			memcpy(chunk, cd, want);
			rc = store_chunk_put(t, n->tid, n->key, n->keylen,
					     keep - 1, chunk, want);
			if (rc)
				return rc;
		}
	}
	o.size = w->newsize;
	o.mtime_ns = o.attrs.ctime_ns = w->now;
	o.data = NULL;
	o.len = 0;
	return store_obj_put(t, n->tid, STORE_SCRATCH, n->key, n->keylen, &o);
}

int fs_scratch_truncate(struct fs_node *n, uint64_t size)
{
	struct scratch_io w = {.n = n, .newsize = size, .now = fs_now_ns()};
	int rc;
	if (n->unlinked || n->db->dropped)
		return ESTALE;
	if (size > SCHEMA_RECORD_MAX)
		return EFBIG;
	rc = store_write(n->db->env, scratch_truncate_fn, &w);
	if (!rc)
		rc = fs_committed(n->db);
	return rc;
}

/* Read a scratch file's bytes [off, off+size) into out; returns count. */
int fs_scratch_read(struct fs_node *n, char *out, size_t size, off_t off,
		    size_t *got)
{
	struct store_txn *t;
	struct store_obj o;
	size_t done = 0;
	int rc;
	/* Scratch data is found by name, or by its orphan name once
	 * removed while open; a handle whose file is gone reads ESTALE. */
	if (n->unlinked || n->db->dropped)
		return ESTALE;
	rc = store_read_begin(n->db->env, &t);
	if (rc)
		return rc;
	rc = store_obj_get(t, n->tid, STORE_SCRATCH, n->key, n->keylen, &o);
	if (rc)
		goto out;
	if ((uint64_t)off >= o.size) {
		*got = 0;
		goto out;
	}
	if (size > o.size - (uint64_t)off)
		size = o.size - (uint64_t)off;
	while (done < size) {
		uint64_t pos = (uint64_t)off + done;
		uint32_t idx = (uint32_t)(pos / STORE_CHUNK);
		size_t in = pos % STORE_CHUNK, n2 = STORE_CHUNK - in;
		const void *cd;
		size_t cl;
		if (n2 > size - done)
			n2 = size - done;
		memset(out + done, 0, n2);
		if (store_chunk_get(t, n->tid, n->key, n->keylen, idx, &cd,
				    &cl) == 0 &&
		    cl > in) {
			size_t c = cl - in < n2 ? cl - in : n2;
			memcpy(out + done, (const char *)cd + in, c);
		}
		done += n2;
	}
	*got = done;
out:
	store_txn_abort(t);
	return rc;
}

struct scratch_put {
	struct fs_node *n;
	const struct store_obj *o;
};

static int scratch_put_fn(struct store_txn *t, void *arg)
{
	struct scratch_put *p = arg;
	return store_obj_put(t, p->n->tid, STORE_SCRATCH, p->n->key,
			     p->n->keylen, p->o);
}

int fs_scratch_put(struct fs_node *n, const struct store_obj *o)
{
	struct scratch_put p = {n, o};
	return store_write(n->db->env, scratch_put_fn, &p);
}

/* Read a scratch file whole (for a rename onto a record name). */
int fs_scratch_text(struct store_txn *t, uint32_t tid, const void *key,
		    size_t kl, uint64_t size, char **out)
{
	char *buf = malloc(size + 1);
	uint32_t idx;
	if (!buf)
		return ENOMEM;
	memset(buf, 0, size + 1);
	for (idx = 0; (uint64_t)idx * STORE_CHUNK < size; idx++) {
		const void *cd;
		size_t cl, at = (size_t)idx * STORE_CHUNK;
		if (store_chunk_get(t, tid, key, kl, idx, &cd, &cl) == 0) {
			if (cl > size - at)
				cl = size - at;
			memcpy(buf + at, cd, cl);
		}
	}
	*out = buf;
	return 0;
}

/* Write text as the chunks of scratch file (tid, key). */
int fs_scratch_fill(struct store_txn *t, uint32_t tid, const void *key,
		    size_t kl, const char *text, size_t len)
{
	size_t at;
	int rc = store_chunk_trim(t, tid, key, kl, 0);
	for (at = 0; !rc && at < len; at += STORE_CHUNK)
		rc = store_chunk_put(
		    t, tid, key, kl, (uint32_t)(at / STORE_CHUNK), text + at,
		    len - at < STORE_CHUNK ? len - at : STORE_CHUNK);
	return rc;
}

/*
 * Open files outlive their name.  A scratch file removed or replaced while
 * handles are open on it (rm, or a rename onto its name) moves its bytes
 * to an orphan name, its inode number under table FS_ORPHAN_TID, which no
 * listing and no path reaches; its handles read and write them there until
 * the last one closes (fs_scratch_orphan_drop).  Orphans a crash left are
 * removed when the database opens (fs_scratch_orphans_clear).
 */
static size_t orphan_key(uint64_t ino, uint8_t key[8])
{
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(ino >> (56 - 8 * i));
	return 8;
}

/*
 * Inside the caller's transaction: scratch file (tid, key), stored as o,
 * is about to be removed or replaced.  If a handle is open on it, its
 * header and bytes move to its orphan name and *moved is 1; else nothing
 * is done.  After the commit the caller hands the node to
 * fs_scratch_orphaned().
 */
int fs_scratch_orphan(struct fs_db *db, struct store_txn *t, uint32_t tid,
		      const void *key, size_t kl, const struct store_obj *o,
		      int *moved)
{
	struct fs_node *n = fs_node_get(fs_db_ino(db, o->ino));
	struct store_obj h = *o;
	uint8_t ok[8];
	size_t okl = orphan_key(o->ino, ok);
	int rc;

	*moved = 0;
	if (!n || !n->opens || n->kind != FS_SCRATCH)
		return 0;
	h.data = NULL;
	h.len = 0;
	rc = store_chunk_move(t, tid, key, kl, FS_ORPHAN_TID, ok, okl);
	if (!rc)
		rc =
		    store_obj_put(t, FS_ORPHAN_TID, STORE_SCRATCH, ok, okl, &h);
	if (!rc)
		rc = store_obj_del(t, tid, STORE_SCRATCH, key, kl);
	*moved = !rc;
	return rc;
}

/* The node of a scratch file moved to its orphan name: it follows. */
int fs_scratch_orphaned(struct fs_node *n)
{
	uint8_t ok[8];
	size_t okl = orphan_key(n->ino & ((1ull << FS_DB_SHIFT) - 1), ok);

	n->tid = FS_ORPHAN_TID;
	n->orphan = 1;
	fs_node_changed(n); /* no name, no link */
	return fs_node_set_key(n, ok, okl);
}

static int orphan_drop_fn(struct store_txn *t, void *arg)
{
	struct fs_node *n = arg;
	int rc =
	    store_obj_del(t, FS_ORPHAN_TID, STORE_SCRATCH, n->key, n->keylen);
	return rc == ENOENT ? 0 : rc;
}

/* The last handle of orphan n closed: its bytes go. */
void fs_scratch_orphan_drop(struct fs_node *n)
{
	n->orphan = 0;
	n->unlinked = 1;
	if (n->db->dropped)
		return;
	if (store_write(n->db->env, orphan_drop_fn, n) == 0)
		fs_committed(n->db);
}

static int orphans_clear_fn(struct store_txn *t, void *arg)
{
	struct store_cursor *c;
	struct store_obj o;
	const void *key;
	uint8_t keys[64][8];
	size_t kl, n, i;
	int rc;

	(void)arg;
	do {
		/* a few at a time: a cursor does not outlive the deletes */
		rc = store_cursor_open(t, FS_ORPHAN_TID, STORE_SCRATCH, NULL, 0,
				       &c);
		if (rc)
			return rc == ENOENT ? 0 : rc;
		for (n = 0;
		     n < 64 && (rc = store_cursor_next(c, &key, &kl, &o)) == 0;)
			if (kl == 8)
				memcpy(keys[n++], key, 8);
		store_cursor_close(c);
		if (rc && rc != ENOENT)
			return rc;
		rc = 0;
		for (i = 0;
		     i < n && !(rc = store_obj_del(t, FS_ORPHAN_TID,
						   STORE_SCRATCH, keys[i], 8));
		     i++)
			;
		if (rc)
			return rc;
	} while (n == 64);
	return 0;
}

/* At a database's open: the orphans a crash left behind go. */
int fs_scratch_orphans_clear(struct fs_db *db)
{
	return store_write(db->env, orphans_clear_fn, NULL);
}
