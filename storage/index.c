/*
 * index.c: index entries, the attributes that have them, the cursor over
 * one attribute's entries, and store_check_indexes(), which proves that
 * the indexes say what the records say.
 *
 * Storage does not read values: the caller derives the entries from a
 * record's text and hands them here (to the check, through its entries
 * function), and keeps them in step with its records on every change.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- indexes --------------------------------------------------------- */

/* [tid][u16 attr length][attr]: the start of every key of one index. */
static int index_prefix(uint8_t *buf, uint32_t tid, const void *attr,
			size_t alen)
{
	if (alen == 0 || alen > STORE_ATTR_MAX)
		return EINVAL;
	put_be32(buf, tid);
	buf[4] = (uint8_t)(alen >> 8);
	buf[5] = (uint8_t)alen;
	memcpy(buf + 6, attr, alen);
	return 0;
}

int store_index_clear(struct store_txn *t, uint32_t tid)
{
	uint8_t p[4];
	int rc;
	put_be32(p, tid);
	rc = store_delete_prefix(t, t->env->index, p, 4);
	if (!rc)
		rc = store_delete_prefix(t, t->env->attrs, p, 4);
	t->noted_n = 0; /* the rows seen are gone */
	return rc;
}

/*
 * The attrs database lists the attributes that may have index entries: a
 * put notes its attribute there (a read, and a write only the first
 * time), a delete leaves it, and a reader asks the index itself whether
 * any entry is left (attr_used).  Keeping a count of entries cost a read
 * and a write per entry on every change.
 */
static int attr_note(struct store_txn *t, uint32_t tid, const void *attr,
		     size_t alen)
{
	uint8_t buf[4 + STORE_ATTR_MAX];
	MDB_val k = {4 + alen, buf}, d = {0, NULL};
	unsigned i, n = t->noted_n < 8 ? t->noted_n : 8;
	int rc;
	for (i = 0; i < n; i++)
		if (t->noted[i].tid == tid && t->noted[i].len == alen &&
		    memcmp(t->noted[i].attr, attr, alen) == 0)
			return 0;
	put_be32(buf, tid);
	memcpy(buf + 4, attr, alen);
	rc = mdb_get(t->txn, t->env->attrs, &k, &d);
	if (rc == MDB_NOTFOUND) {
		d.mv_size = 0;
		d.mv_data = NULL;
		rc = mdb_put(t->txn, t->env->attrs, &k, &d, 0);
	}
	if (rc)
		return store_errno(t, rc);
	/* the eight last, oldest out first */
	i = t->noted_n++ % 8;
	t->noted[i].tid = tid;
	t->noted[i].len = (uint8_t)alen;
	memcpy(t->noted[i].attr, attr, alen);
	return 0;
}

/* 0 when attribute attr of table tid has an index entry, else ENOENT. */
static int attr_used(struct store_txn *t, uint32_t tid, const void *attr,
		     size_t alen)
{
	uint8_t buf[6 + STORE_ATTR_MAX];
	MDB_cursor *c;
	MDB_val k, d;
	int rc;
	if (index_prefix(buf, tid, attr, alen))
		return ENOENT;
	k.mv_size = 6 + alen;
	k.mv_data = buf;
	rc = mdb_cursor_open(t->txn, t->env->index, &c);
	if (rc)
		return store_errno(t, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	if (rc == 0 &&
	    (k.mv_size < 6 + alen || memcmp(k.mv_data, buf, 6 + alen)))
		rc = MDB_NOTFOUND;
	mdb_cursor_close(c);
	return store_errno(t, rc);
}

/* The index key [tid][attr][val] in buf, and the record key as data. */
static int index_kd(uint8_t *buf, uint32_t tid, const void *attr, size_t alen,
		    const void *val, size_t vlen, const void *key, size_t klen,
		    MDB_val *k, MDB_val *d)
{
	int rc = index_prefix(buf, tid, attr, alen);
	if (rc)
		return rc;
	if (vlen == 0 || vlen > STORE_VALUE_MAX || klen == 0 ||
	    klen > STORE_KEY_MAX)
		return EINVAL;
	memcpy(buf + 6 + alen, val, vlen);
	k->mv_size = 6 + alen + vlen;
	k->mv_data = buf;
	d->mv_size = klen;
	d->mv_data = (void *)key;
	return 0;
}

int store_index_put(struct store_txn *t, uint32_t tid, const void *attr,
		    size_t alen, const void *val, size_t vlen, const void *key,
		    size_t klen)
{
	uint8_t buf[IKEY_MAX];
	MDB_val k, d;
	int rc = index_kd(buf, tid, attr, alen, val, vlen, key, klen, &k, &d);
	if (rc)
		return rc;
	rc = mdb_put(t->txn, t->env->index, &k, &d, MDB_NODUPDATA);
	if (rc == MDB_KEYEXIST)
		return 0;
	if (rc)
		return store_errno(t, rc);
	return attr_note(t, tid, attr, alen);
}

int store_index_del(struct store_txn *t, uint32_t tid, const void *attr,
		    size_t alen, const void *val, size_t vlen, const void *key,
		    size_t klen)
{
	uint8_t buf[IKEY_MAX];
	MDB_val k, d;
	int rc = index_kd(buf, tid, attr, alen, val, vlen, key, klen, &k, &d);
	if (rc)
		return rc;
	return store_errno(t, mdb_del(t->txn, t->env->index, &k, &d));
}

int store_index_has(struct store_txn *t, uint32_t tid, const void *attr,
		    size_t alen, const void *val, size_t vlen, const void *key,
		    size_t klen)
{
	uint8_t buf[IKEY_MAX];
	MDB_cursor *c;
	MDB_val k, d;
	int rc;
	if (index_kd(buf, tid, attr, alen, val, vlen, key, klen, &k, &d))
		return 0;
	if (mdb_cursor_open(t->txn, t->env->index, &c))
		return 0;
	rc = mdb_cursor_get(c, &k, &d, MDB_GET_BOTH);
	mdb_cursor_close(c);
	return rc == 0;
}

int store_attr_get(struct store_txn *t, uint32_t tid, const void *attr,
		   size_t alen)
{
	if (alen == 0 || alen > STORE_ATTR_MAX)
		return ENOENT;
	return attr_used(t, tid, attr, alen);
}

int store_attr_next(struct store_txn *t, uint32_t tid, const void *after,
		    size_t afterlen, const void **attr, size_t *alen)
{
	uint8_t buf[4 + STORE_ATTR_MAX];
	MDB_cursor *c;
	MDB_val k, d;
	int rc, used = 0;
	if (afterlen > STORE_ATTR_MAX)
		return EINVAL;
	put_be32(buf, tid);
	if (after)
		memcpy(buf + 4, after, afterlen);
	k.mv_size = 4 + (after ? afterlen : 0);
	k.mv_data = buf;
	rc = mdb_cursor_open(t->txn, t->env->attrs, &c);
	if (rc)
		return store_errno(t, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	if (rc == 0 && after && k.mv_size == 4 + afterlen &&
	    memcmp(k.mv_data, buf, 4 + afterlen) == 0)
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	/* noted once, maybe without entries now: those are skipped */
	while (rc == 0 && k.mv_size >= 4 && memcmp(k.mv_data, buf, 4) == 0) {
		used = attr_used(t, tid, (const uint8_t *)k.mv_data + 4,
				 k.mv_size - 4);
		if (used != ENOENT)
			break;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (rc)
		return store_errno(t, rc);
	if (used && used != ENOENT)
		return used;
	if (k.mv_size < 4 || memcmp(k.mv_data, buf, 4) != 0)
		return ENOENT;
	*attr = (const uint8_t *)k.mv_data + 4;
	*alen = k.mv_size - 4;
	return 0;
}

int store_icursor_open(struct store_txn *t, uint32_t tid, const void *attr,
		       size_t alen, struct store_icursor **out)
{
	struct store_icursor *c = calloc(1, sizeof(*c));
	int rc;
	if (!c)
		return ENOMEM;
	rc = index_prefix(c->prefix, tid, attr, alen);
	if (!rc)
		rc = store_errno(
		    t, mdb_cursor_open(t->txn, t->env->index, &c->cur));
	if (rc) {
		free(c);
		return rc;
	}
	c->txn = t;
	c->plen = 6 + alen;
	memcpy(c->seek, c->prefix, c->plen);
	c->seeklen = c->plen;
	c->pending = 1;
	*out = c;
	return 0;
}

int store_icursor_seek(struct store_icursor *c, const void *pos, size_t len)
{
	/*
	 * A position may be one byte longer than any value (a value and
	 * 0xff: past every entry of it).  Longer is cut, which still sorts
	 * past every value that begins with those bytes.
	 */
	if (len > STORE_VALUE_MAX + 1)
		len = STORE_VALUE_MAX + 1;
	memcpy(c->seek + c->plen, pos, len);
	c->seeklen = c->plen + len;
	c->pending = 1;
	return 0;
}

int store_icursor_next(struct store_icursor *c, const void **entry, size_t *len)
{
	MDB_val k, d;
	int rc;
	if (c->pending) {
		c->pending = 0;
		k.mv_size = c->seeklen;
		k.mv_data = c->seek;
		rc = mdb_cursor_get(c->cur, &k, &d, MDB_SET_RANGE);
	} else {
		rc = mdb_cursor_get(c->cur, &k, &d, MDB_NEXT);
	}
	if (rc)
		return store_errno(c->txn, rc);
	if (k.mv_size < c->plen || memcmp(k.mv_data, c->prefix, c->plen) != 0)
		return ENOENT;
	if (k.mv_size - c->plen > STORE_VALUE_MAX || d.mv_size > STORE_KEY_MAX)
		return EIO;
	memcpy(c->entry, (const uint8_t *)k.mv_data + c->plen,
	       k.mv_size - c->plen);
	memcpy(c->entry + k.mv_size - c->plen, d.mv_data, d.mv_size);
	*entry = c->entry;
	*len = k.mv_size - c->plen + d.mv_size;
	return 0;
}

void store_icursor_close(struct store_icursor *c)
{
	if (!c)
		return;
	mdb_cursor_close(c->cur);
	free(c);
}

/* ---- checking -------------------------------------------------------- */

struct check_walk {
	struct store_txn *t;
	uint32_t tid;
	const void *key;
	size_t keylen;
	uint64_t expected;
	uint64_t missing;
	char *msg;
	size_t msglen;
};

static int check_one(const void *attr, size_t alen, const void *val,
		     size_t vlen, void *arg)
{
	struct check_walk *w = arg;
	w->expected++;
	if (!store_index_has(w->t, w->tid, attr, alen, val, vlen, w->key,
			     w->keylen)) {
		if (!w->missing)
			snprintf(w->msg, w->msglen,
				 "table %u: a record lacks its entry for "
				 "attribute \"%.*s\"",
				 w->tid, (int)(alen > 200 ? 200 : alen),
				 (const char *)attr);
		w->missing++;
	}
	return 0;
}

void store_check_set_progress(struct store_env *env,
			      void (*fn)(void *arg, uint64_t done,
					 uint64_t total),
			      void *arg)
{
	env->check_progress = fn;
	env->check_arg = arg;
}

int store_env_counts(struct store_txn *t, uint64_t *objects, uint64_t *entries)
{
	MDB_stat st;
	int rc = mdb_stat(t->txn, t->env->objects, &st);
	if (rc)
		return store_errno(t, rc);
	*objects = st.ms_entries;
	rc = mdb_stat(t->txn, t->env->index, &st);
	if (rc)
		return store_errno(t, rc);
	*entries = st.ms_entries;
	return 0;
}

int store_check_indexes(struct store_env *env, store_entries_fn entries,
			void *ctx, char *msg, size_t msglen)
{
	struct store_txn *t;
	struct store_table tb;
	const char *name = NULL;
	size_t namelen = 0;
	uint64_t done = 0, total = 0, unused;
	int rc, bad = 0;

	msg[0] = 0;
	rc = store_read_begin(env, &t);
	if (rc)
		return rc;
	if (env->check_progress && store_env_counts(t, &total, &unused) == 0)
		env->check_progress(env->check_arg, 0, total);
	while ((rc = store_table_next(t, name, namelen, &name, &namelen,
				      &tb)) == 0) {
		struct check_walk w = {
		    .t = t, .tid = tb.tid, .msg = msg, .msglen = msglen};
		struct store_cursor *c;
		struct store_obj o;
		MDB_cursor *mc;
		MDB_val k, d;
		uint8_t p[4];
		uint64_t actual = 0;
		const uint8_t *prev = NULL;
		size_t prevlen = 0;
		int unlisted = 0;

		const void *sch = NULL;
		size_t schlen = 0;

		rc = store_table_schema_get(t, tb.tid, &sch, &schlen);
		if (rc && rc != ENOENT)
			break;
		rc = store_cursor_open(t, tb.tid, STORE_RECORD, NULL, 0, &c);
		if (rc)
			break;
		while ((rc = store_cursor_next(c, &w.key, &w.keylen, &o)) ==
		       0) {
			if (env->check_progress && ++done % 4096 == 0)
				env->check_progress(env->check_arg, done,
						    total);
			rc = entries(ctx, sch, schlen, o.data, o.len, check_one,
				     &w);
			if (rc) {
				snprintf(msg, msglen,
					 "table %u: a record is not a JSON "
					 "object",
					 tb.tid);
				bad = 1;
			}
		}
		store_cursor_close(c);
		if (rc != ENOENT)
			break;
		rc = 0;
		/* Every entry a record should have is there; now no more
		 * than those may be. */
		put_be32(p, tb.tid);
		k.mv_size = 4;
		k.mv_data = p;
		if (mdb_cursor_open(t->txn, env->index, &mc)) {
			rc = EIO;
			break;
		}
		/* and every attribute with entries is in attrs */
		for (rc = mdb_cursor_get(mc, &k, &d, MDB_SET_RANGE);
		     rc == 0 && k.mv_size >= 4 && memcmp(k.mv_data, p, 4) == 0;
		     rc = mdb_cursor_get(mc, &k, &d, MDB_NEXT)) {
			const uint8_t *kb = k.mv_data;
			size_t al = k.mv_size >= 6 ? (size_t)kb[4] << 8 | kb[5]
						   : SIZE_MAX;
			actual++;
			if (al > k.mv_size - 6 || al > STORE_ATTR_MAX) {
				unlisted = 1;
				continue;
			}
			if (prev && al == prevlen && !memcmp(kb + 6, prev, al))
				continue;
			prev = kb + 6;
			prevlen = al;
			{
				uint8_t ab[4 + STORE_ATTR_MAX];
				MDB_val ak = {4 + al, ab}, ad;
				memcpy(ab, p, 4);
				memcpy(ab + 4, prev, al);
				if (mdb_get(t->txn, env->attrs, &ak, &ad) != 0)
					unlisted = 1;
			}
		}
		mdb_cursor_close(mc);
		rc = 0;
		if (w.missing)
			bad = 1;
		if (actual != w.expected) {
			snprintf(msg, msglen,
				 "table %.*s: %llu index entries, but its "
				 "records hold %llu",
				 (int)namelen, name, (unsigned long long)actual,
				 (unsigned long long)w.expected);
			bad = 1;
		} else if (unlisted) {
			snprintf(msg, msglen,
				 "table %.*s: an attribute with index entries "
				 "is missing from the attribute list",
				 (int)namelen, name);
			bad = 1;
		}
	}
	store_txn_abort(t);
	if (env->check_progress)
		env->check_progress(env->check_arg, total, total);
	if (rc == ENOENT)
		rc = 0;
	if (!rc && bad)
		rc = EIO;
	return rc;
}
