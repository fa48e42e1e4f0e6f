/*
 * table.c: tables: their names and numbers, their declared schemas, and
 * the integer keys they hand out (store_table_next_int).
 *
 * A table is a row of the tables database; its objects, chunks, aliases
 * and index entries are the keys that start with its number, which
 * dropping it deletes (store_delete_prefix).  What those keys hold is
 * obj.c's and index.c's.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>

static int table_decode(const MDB_val *d, struct store_table *out)
{
	struct table_disk td;
	if (d->mv_size < sizeof(td))
		return EIO;
	memcpy(&td, d->mv_data, sizeof(td));
	out->tid = le32toh(td.tid);
	out->flags = le32toh(td.flags);
	out->ino = le64toh(td.ino);
	out->btime_ns = (int64_t)le64toh((uint64_t)td.btime_ns);
	out->mtime_ns = (int64_t)le64toh((uint64_t)td.mtime_ns);
	memset(&out->attrs, 0, sizeof(out->attrs));
	if (d->mv_size >= sizeof(td) + sizeof(struct attrs_disk)) {
		struct attrs_disk ad;
		memcpy(&ad, (const uint8_t *)d->mv_data + sizeof(td),
		       sizeof(ad));
		store_attrs_dec(&out->attrs, &ad);
	}
	return 0;
}

int store_table_get(struct store_txn *t, const char *name, size_t len,
		    struct store_table *out)
{
	MDB_val k = {len, (void *)name}, d;
	int rc;
	if (len == 0 || len > 511)
		return ENOENT;
	rc = mdb_get(t->txn, t->env->tables, &k, &d);
	if (rc)
		return store_errno(t, rc);
	return table_decode(&d, out);
}

/* A table's value: its table_disk, then its attrs. */
struct table_val {
	struct table_disk td;
	struct attrs_disk ad;
};

static void table_encode(struct table_val *v, const struct store_table *tb)
{
	memset(v, 0, sizeof(*v));
	v->td.tid = htole32(tb->tid);
	v->td.flags = htole32(tb->flags);
	v->td.ino = htole64(tb->ino);
	v->td.btime_ns = (int64_t)htole64((uint64_t)tb->btime_ns);
	v->td.mtime_ns = (int64_t)htole64((uint64_t)tb->mtime_ns);
	store_attrs_enc(&v->ad, &tb->attrs);
}

int store_table_set(struct store_txn *t, const char *name, size_t len,
		    const struct store_table *tb)
{
	struct store_table now;
	struct table_val v;
	MDB_val k = {len, (void *)name}, d = {sizeof(v), &v};
	int rc = store_table_get(t, name, len, &now);
	if (rc)
		return rc;
	now.btime_ns = tb->btime_ns;
	now.mtime_ns = tb->mtime_ns;
	now.attrs = tb->attrs;
	table_encode(&v, &now);
	return store_errno(t, mdb_put(t->txn, t->env->tables, &k, &d, 0));
}

int store_table_create(struct store_txn *t, const char *name, size_t len,
		       int64_t now_ns, const struct store_attrs *attrs,
		       struct store_table *out)
{
	struct store_table tb;
	struct table_val v;
	uint64_t next_tid = 1;
	MDB_val k = {len, (void *)name}, d = {sizeof(v), &v};
	int rc;

	if (len == 0 || len > 511)
		return EINVAL;
	rc = store_meta_get(t, "next_tid", &next_tid);
	if (rc && rc != ENOENT)
		return rc;
	if (next_tid == 0)
		next_tid = 1;
	memset(&tb, 0, sizeof(tb));
	tb.tid = (uint32_t)next_tid;
	tb.ino = store_ino_alloc(t->env);
	tb.btime_ns = tb.mtime_ns = now_ns;
	if (attrs)
		tb.attrs = *attrs;
	table_encode(&v, &tb);
	rc = mdb_put(t->txn, t->env->tables, &k, &d, MDB_NOOVERWRITE);
	if (rc)
		return store_errno(t, rc);
	rc = store_meta_put(t, "next_tid", next_tid + 1);
	if (rc)
		return rc;
	return table_decode(&d, out);
}

/* Delete every key of dbi that starts with prefix. */
int store_delete_prefix(struct store_txn *t, MDB_dbi dbi, const void *prefix,
			size_t plen)
{
	MDB_cursor *c;
	MDB_val k = {plen, (void *)prefix}, d;
	int rc = mdb_cursor_open(t->txn, dbi, &c);
	if (rc)
		return store_errno(t, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= plen &&
	       memcmp(k.mv_data, prefix, plen) == 0) {
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		/* Seek again rather than trust the cursor after a delete. */
		k.mv_size = plen;
		k.mv_data = (void *)prefix;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	return store_errno(t, rc);
}

/* Does any key of dbi start with prefix? */
static int has_prefix(struct store_txn *t, MDB_dbi dbi, const void *prefix,
		      size_t plen)
{
	MDB_cursor *c;
	MDB_val k = {plen, (void *)prefix}, d;
	int rc, found = 0;
	if (mdb_cursor_open(t->txn, dbi, &c))
		return 1;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size >= plen &&
	    memcmp(k.mv_data, prefix, plen) == 0)
		found = 1;
	mdb_cursor_close(c);
	return found;
}

int store_table_is_empty(struct store_txn *t, uint32_t tid)
{
	uint8_t p[4];
	put_be32(p, tid);
	return !has_prefix(t, t->env->objects, p, 4);
}

int store_table_drop(struct store_txn *t, const char *name, size_t len,
		     int force)
{
	struct store_table tb;
	MDB_val k = {len, (void *)name};
	uint8_t p[4];
	int rc = store_table_get(t, name, len, &tb);
	if (rc)
		return rc;
	put_be32(p, tb.tid);
	if (!force && !store_table_is_empty(t, tb.tid))
		return ENOTEMPTY;
	if ((rc = store_delete_prefix(t, t->env->objects, p, 4)) ||
	    (rc = store_delete_prefix(t, t->env->chunks, p, 4)) ||
	    (rc = store_delete_prefix(t, t->env->aliases, p, 4)) ||
	    (rc = store_delete_prefix(t, t->env->index, p, 4)) ||
	    (rc = store_delete_prefix(t, t->env->attrs, p, 4)) ||
	    (rc = store_table_schema_put(t, tb.tid, NULL, 0)))
		return rc;
	t->noted_n = 0; /* its attrs rows are gone (index.c) */
	return store_errno(t, mdb_del(t->txn, t->env->tables, &k, NULL));
}

int store_table_count(struct store_txn *t, uint64_t *count)
{
	MDB_stat st;
	int rc = mdb_stat(t->txn, t->env->tables, &st);
	if (rc)
		return store_errno(t, rc);
	*count = st.ms_entries;
	return 0;
}

int store_table_schema_get(struct store_txn *t, uint32_t tid, const void **data,
			   size_t *len)
{
	uint8_t p[4];
	MDB_val k = {4, p}, d;
	int rc;
	put_be32(p, tid);
	rc = mdb_get(t->txn, t->env->schemas, &k, &d);
	if (rc)
		return store_errno(t, rc);
	*data = d.mv_data;
	*len = d.mv_size;
	return 0;
}

int store_table_schema_put(struct store_txn *t, uint32_t tid, const void *data,
			   size_t len)
{
	uint8_t p[4];
	MDB_val k = {4, p}, d = {len, (void *)data};
	int rc;
	put_be32(p, tid);
	if (!len) {
		rc = mdb_del(t->txn, t->env->schemas, &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : store_errno(t, rc);
	}
	return store_errno(t, mdb_put(t->txn, t->env->schemas, &k, &d, 0));
}

int store_table_next(struct store_txn *t, const char *after, size_t afterlen,
		     const char **name, size_t *namelen,
		     struct store_table *out)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc = mdb_cursor_open(t->txn, t->env->tables, &c);
	if (rc)
		return store_errno(t, rc);
	if (after) {
		k.mv_size = afterlen;
		k.mv_data = (void *)after;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		if (rc == 0 && k.mv_size == afterlen &&
		    memcmp(k.mv_data, after, afterlen) == 0)
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	} else {
		rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	}
	mdb_cursor_close(c);
	if (rc)
		return store_errno(t, rc);
	*name = k.mv_data;
	*namelen = k.mv_size;
	return table_decode(&d, out);
}

int store_table_next_int(struct store_txn *t, uint32_t tid, int64_t floor,
			 int64_t *out)
{
	char name[32];
	uint64_t v = 0;
	int rc;
	snprintf(name, sizeof(name), "next:%u", tid);
	rc = store_meta_get(t, name, &v);
	if (rc && rc != ENOENT)
		return rc;
	if ((int64_t)v < floor)
		v = (uint64_t)floor;
	if ((int64_t)v == INT64_MAX)
		return EOVERFLOW;
	*out = (int64_t)v;
	return store_meta_put(t, name, v + 1);
}
