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
	o.mtime_ns = w->now;
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
	o.mtime_ns = w->now;
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
	/* Scratch data is found by name: once the name is gone or names
	 * another file, this handle has nothing left to read. */
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
