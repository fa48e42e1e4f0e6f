/*
 * obj.c: objects (records and scratch files) inside a table, the cursor
 * over them, scratch files' chunks, and aliases.
 *
 * Everything here works inside the caller's transaction.  Tables are
 * table.c's and indexes index.c's: deleting a record here leaves its
 * index entries to the caller.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>

/* ---- objects --------------------------------------------------------- */

static int obj_key(uint8_t *buf, uint32_t tid, enum store_kind kind,
		   const void *key, size_t keylen, MDB_val *k)
{
	if (keylen > STORE_KEY_MAX)
		return EINVAL;
	put_be32(buf, tid);
	buf[4] = (uint8_t)kind;
	memcpy(buf + 5, key, keylen);
	k->mv_size = 5 + keylen;
	k->mv_data = buf;
	return 0;
}

static int obj_decode(const MDB_val *d, struct store_obj *out)
{
	struct obj_hdr h;
	if (d->mv_size < sizeof(h))
		return EIO;
	size_t at = sizeof(h);
	memcpy(&h, d->mv_data, sizeof(h));
	out->ino = le64toh(h.ino);
	out->btime_ns = (int64_t)le64toh((uint64_t)h.btime_ns);
	out->mtime_ns = (int64_t)le64toh((uint64_t)h.mtime_ns);
	out->size = le64toh(h.size);
	memset(&out->attrs, 0, sizeof(out->attrs));
	if (out->size & OBJ_HAS_ATTRS) {
		struct attrs_disk ad;
		if (d->mv_size < at + sizeof(ad))
			return EIO;
		memcpy(&ad, (const uint8_t *)d->mv_data + at, sizeof(ad));
		store_attrs_dec(&out->attrs, &ad);
		out->size &= ~OBJ_HAS_ATTRS;
		at += sizeof(ad);
	}
	out->data = (const uint8_t *)d->mv_data + at;
	out->len = d->mv_size - at;
	return 0;
}

int store_obj_get(struct store_txn *t, uint32_t tid, enum store_kind kind,
		  const void *key, size_t keylen, struct store_obj *out)
{
	uint8_t buf[5 + STORE_KEY_MAX];
	MDB_val k, d;
	int rc = obj_key(buf, tid, kind, key, keylen, &k);
	if (rc)
		return rc == EINVAL ? ENOENT : rc;
	rc = mdb_get(t->txn, t->env->objects, &k, &d);
	if (rc)
		return store_errno(t, rc);
	return obj_decode(&d, out);
}

int store_obj_put(struct store_txn *t, uint32_t tid, enum store_kind kind,
		  const void *key, size_t keylen, const struct store_obj *obj)
{
	uint8_t buf[5 + STORE_KEY_MAX];
	struct obj_hdr h;
	struct attrs_disk ad;
	MDB_val k, d;
	int rc = obj_key(buf, tid, kind, key, keylen, &k);
	if (rc)
		return rc;
	if (obj->size & OBJ_HAS_ATTRS)
		return EFBIG;
	h.ino = htole64(obj->ino);
	h.btime_ns = (int64_t)htole64((uint64_t)obj->btime_ns);
	h.mtime_ns = (int64_t)htole64((uint64_t)obj->mtime_ns);
	h.size = htole64(obj->size | OBJ_HAS_ATTRS);
	store_attrs_enc(&ad, &obj->attrs);
	d.mv_size = sizeof(h) + sizeof(ad) + obj->len;
	/* Reserve, then copy: one copy instead of building a buffer. */
	rc = mdb_put(t->txn, t->env->objects, &k, &d, MDB_RESERVE);
	if (rc)
		return store_errno(t, rc);
	memcpy(d.mv_data, &h, sizeof(h));
	memcpy((uint8_t *)d.mv_data + sizeof(h), &ad, sizeof(ad));
	if (obj->len)
		memcpy((uint8_t *)d.mv_data + sizeof(h) + sizeof(ad), obj->data,
		       obj->len);
	return 0;
}

static size_t chunk_prefix(uint8_t *buf, uint32_t tid, const void *key,
			   size_t keylen)
{
	put_be32(buf, tid);
	buf[4] = (uint8_t)(keylen >> 8);
	buf[5] = (uint8_t)keylen;
	memcpy(buf + 6, key, keylen);
	return 6 + keylen;
}

/* The key of chunk idx of scratch file (tid, key), in buf; its prefix's
 * length (the key less the index) in *prefix if not NULL. */
static MDB_val chunk_key(uint8_t *buf, uint32_t tid, const void *key,
			 size_t keylen, uint32_t idx, size_t *prefix)
{
	size_t n = chunk_prefix(buf, tid, key, keylen);
	MDB_val k = {n + 4, buf};
	put_be32(buf + n, idx);
	if (prefix)
		*prefix = n;
	return k;
}

int store_obj_del(struct store_txn *t, uint32_t tid, enum store_kind kind,
		  const void *key, size_t keylen)
{
	uint8_t buf[5 + STORE_KEY_MAX];
	MDB_val k;
	int rc = obj_key(buf, tid, kind, key, keylen, &k);
	if (rc)
		return rc == EINVAL ? ENOENT : rc;
	rc = mdb_del(t->txn, t->env->objects, &k, NULL);
	if (rc)
		return store_errno(t, rc);
	if (kind == STORE_SCRATCH)
		return store_chunk_trim(t, tid, key, keylen, 0);
	return 0;
}

int store_cursor_open(struct store_txn *t, uint32_t tid, enum store_kind kind,
		      const void *after, size_t afterlen,
		      struct store_cursor **out)
{
	struct store_cursor *c;
	MDB_val k;
	int rc;
	if (after && afterlen > STORE_KEY_MAX)
		return EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	rc = mdb_cursor_open(t->txn, t->env->objects, &c->cur);
	if (rc) {
		free(c);
		return store_errno(t, rc);
	}
	c->txn = t;
	obj_key(c->start, tid, kind, after ? after : "", after ? afterlen : 0,
		&k);
	memcpy(c->prefix, c->start, 5);
	c->startlen = k.mv_size;
	c->skip_equal = after != NULL;
	*out = c;
	return 0;
}

int store_cursor_next(struct store_cursor *c, const void **key, size_t *keylen,
		      struct store_obj *out)
{
	MDB_val k, d;
	int rc;
	if (!c->started) {
		c->started = 1;
		k.mv_size = c->startlen;
		k.mv_data = c->start;
		rc = mdb_cursor_get(c->cur, &k, &d, MDB_SET_RANGE);
		if (rc == 0 && c->skip_equal && k.mv_size == c->startlen &&
		    memcmp(k.mv_data, c->start, c->startlen) == 0)
			rc = mdb_cursor_get(c->cur, &k, &d, MDB_NEXT);
	} else {
		rc = mdb_cursor_get(c->cur, &k, &d, MDB_NEXT);
	}
	if (rc)
		return store_errno(c->txn, rc);
	if (k.mv_size < 5 || memcmp(k.mv_data, c->prefix, 5) != 0)
		return ENOENT;
	*key = (const uint8_t *)k.mv_data + 5;
	*keylen = k.mv_size - 5;
	return obj_decode(&d, out);
}

void store_cursor_close(struct store_cursor *c)
{
	if (!c)
		return;
	mdb_cursor_close(c->cur);
	free(c);
}

int store_obj_last_before(struct store_txn *t, uint32_t tid,
			  enum store_kind kind, const void *below,
			  size_t belowlen, const void **key, size_t *keylen)
{
	uint8_t buf[5 + STORE_KEY_MAX];
	MDB_cursor *c;
	MDB_val k, d;
	int rc = obj_key(buf, tid, kind, below, belowlen, &k);
	if (rc)
		return rc;
	rc = mdb_cursor_open(t->txn, t->env->objects, &c);
	if (rc)
		return store_errno(t, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(c, &k, &d, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	mdb_cursor_close(c);
	if (rc)
		return store_errno(t, rc);
	if (k.mv_size < 5 || memcmp(k.mv_data, buf, 5) != 0)
		return ENOENT;
	*key = (const uint8_t *)k.mv_data + 5;
	*keylen = k.mv_size - 5;
	return 0;
}

/* ---- chunks ---------------------------------------------------------- */

int store_chunk_get(struct store_txn *t, uint32_t tid, const void *key,
		    size_t keylen, uint32_t idx, const void **data, size_t *len)
{
	uint8_t buf[10 + STORE_KEY_MAX];
	MDB_val k, d;
	int rc;
	if (keylen > STORE_KEY_MAX)
		return ENOENT;
	k = chunk_key(buf, tid, key, keylen, idx, NULL);
	rc = mdb_get(t->txn, t->env->chunks, &k, &d);
	if (rc)
		return store_errno(t, rc);
	*data = d.mv_data;
	*len = d.mv_size;
	return 0;
}

int store_chunk_put(struct store_txn *t, uint32_t tid, const void *key,
		    size_t keylen, uint32_t idx, const void *data, size_t len)
{
	uint8_t buf[10 + STORE_KEY_MAX];
	MDB_val k, d = {len, (void *)data};
	if (keylen > STORE_KEY_MAX)
		return EINVAL;
	k = chunk_key(buf, tid, key, keylen, idx, NULL);
	return store_errno(t, mdb_put(t->txn, t->env->chunks, &k, &d, 0));
}

int store_chunk_trim(struct store_txn *t, uint32_t tid, const void *key,
		     size_t keylen, uint32_t from)
{
	uint8_t buf[10 + STORE_KEY_MAX];
	MDB_cursor *c;
	MDB_val k, d;
	size_t n;
	int rc;
	if (keylen > STORE_KEY_MAX)
		return EINVAL;
	k = chunk_key(buf, tid, key, keylen, from, &n);
	rc = mdb_cursor_open(t->txn, t->env->chunks, &c);
	if (rc)
		return store_errno(t, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == n + 4 &&
	       memcmp(k.mv_data, buf, n) == 0) {
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		k.mv_size = n + 4;
		k.mv_data = buf;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	return store_errno(t, rc);
}

int store_chunk_move(struct store_txn *t, uint32_t tid, const void *key,
		     size_t keylen, uint32_t ntid, const void *nkey,
		     size_t nkeylen)
{
	uint8_t buf[10 + STORE_KEY_MAX], nbuf[10 + STORE_KEY_MAX];
	uint8_t copy[STORE_CHUNK];
	MDB_cursor *c;
	MDB_val k, d, nk, nd;
	size_t n, nn;
	int rc;
	if (keylen > STORE_KEY_MAX || nkeylen > STORE_KEY_MAX)
		return EINVAL;
	if (tid == ntid && keylen == nkeylen && memcmp(key, nkey, keylen) == 0)
		return 0; /* trimming the target would erase the source */
	rc = store_chunk_trim(t, ntid, nkey, nkeylen, 0);
	if (rc)
		return rc;
	n = chunk_prefix(buf, tid, key, keylen);
	nn = chunk_prefix(nbuf, ntid, nkey, nkeylen);
	put_be32(buf + n, 0);
	rc = mdb_cursor_open(t->txn, t->env->chunks, &c);
	if (rc)
		return store_errno(t, rc);
	for (;;) {
		k.mv_size = n + 4;
		k.mv_data = buf;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		if (rc || k.mv_size != n + 4 || memcmp(k.mv_data, buf, n) != 0)
			break;
		if (d.mv_size > sizeof(copy)) {
			rc = EIO;
			break;
		}
		/* Copy before the put: d points into a page the put may move.
		 */
		memcpy(copy, d.mv_data, d.mv_size);
		nd.mv_size = d.mv_size;
		nd.mv_data = copy;
		memcpy(nbuf + nn, (uint8_t *)k.mv_data + n, 4);
		memcpy(buf + n, (uint8_t *)k.mv_data + n, 4);
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		nk.mv_size = nn + 4;
		nk.mv_data = nbuf;
		rc = mdb_put(t->txn, t->env->chunks, &nk, &nd, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	return rc == EIO ? EIO : store_errno(t, rc);
}

/* ---- aliases --------------------------------------------------------- */

static int alias_key(uint8_t *buf, uint32_t tid, const void *alias, size_t alen,
		     MDB_val *k)
{
	return store_tid_key(buf, tid, alias, alen, 256, k);
}

int store_alias_put(struct store_txn *t, uint32_t tid, const void *alias,
		    size_t alen, const void *key, size_t keylen)
{
	uint8_t buf[4 + 256];
	MDB_val k, d = {keylen, (void *)key};
	int rc = alias_key(buf, tid, alias, alen, &k);
	if (rc)
		return rc;
	return store_errno(t, mdb_put(t->txn, t->env->aliases, &k, &d, 0));
}

int store_alias_get(struct store_txn *t, uint32_t tid, const void *alias,
		    size_t alen, const void **key, size_t *keylen)
{
	uint8_t buf[4 + 256];
	MDB_val k, d;
	int rc = alias_key(buf, tid, alias, alen, &k);
	if (rc)
		return ENOENT;
	rc = mdb_get(t->txn, t->env->aliases, &k, &d);
	if (rc)
		return store_errno(t, rc);
	*key = d.mv_data;
	*keylen = d.mv_size;
	return 0;
}

int store_alias_del(struct store_txn *t, uint32_t tid, const void *alias,
		    size_t alen)
{
	uint8_t buf[4 + 256];
	MDB_val k;
	int rc = alias_key(buf, tid, alias, alen, &k);
	if (rc)
		return ENOENT;
	return store_errno(t, mdb_del(t->txn, t->env->aliases, &k, NULL));
}
