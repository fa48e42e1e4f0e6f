/*
 * index.c: keeping a table's indexes in step with its records.
 *
 * Every change of a record runs inside the transaction that changes it:
 * the entries of the old text go, the entries of the new text come, so
 * after any sequence of operations (and after a crash, which loses whole
 * transactions only) the index says exactly what the records say.
 * schema_table_store_entries_quick() decides which entries a text has (every
 * attribute of a dynamic table, the @indexed ones of a declared table:
 * the caller passes the table's schema, NULL for dynamic, so this file
 * reads no schema and knows no database),
 * reading the canonical text without json-c; the checker
 * (store_check_indexes) reads it with json-c under the same rules, so every
 * check proves the two readings agree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

struct ix_walk {
	struct store_txn *t;
	uint32_t tid;
	const uint8_t *key;
	size_t kl;
	int del;
};

static int ix_one(const void *attr, size_t alen, const void *val, size_t vlen,
		  void *arg)
{
	struct ix_walk *w = arg;
	int rc;
	if (!w->del)
		return store_index_put(w->t, w->tid, attr, alen, val, vlen,
				       w->key, w->kl);
	rc =
	    store_index_del(w->t, w->tid, attr, alen, val, vlen, w->key, w->kl);
	return rc == ENOENT ? 0 : rc;
}

int fs_index_record(struct store_txn *t, uint32_t tid,
		    const struct schema_table *ts, const uint8_t *key,
		    size_t kl, const char *text, size_t len, int del)
{
	struct ix_walk w = {t, tid, key, kl, del};
	int rc = schema_table_store_entries_quick(ts, text, len, ix_one, &w);
	/* A stored record is always an object; EINVAL means damage. */
	return rc == EINVAL ? EIO : rc;
}

static int ix_count(const void *attr, size_t alen, const void *val, size_t vlen,
		    void *arg)
{
	(void)attr, (void)alen, (void)val, (void)vlen;
	++*(size_t *)arg;
	return 0;
}

int fs_index_count(const struct schema_table *ts, const char *text, size_t len,
		   size_t *n)
{
	int rc = schema_table_store_entries_quick(ts, text, len, ix_count, n);
	return rc == EINVAL ? EIO : rc;
}

/*
 * A record rewritten in place: only the entries that differ between the
 * old text and the new one change.  A rewrite that changes one attribute
 * of a record with seven indexed ones then deletes and puts one entry
 * each, not seven (measured: the deletes and puts were a fifth of a
 * rewrite's time).  Both texts' entries are gathered, sorted and merged.
 */
struct ix_ent {
	size_t off; /* into ix_set.buf: attr bytes, then value bytes */
	uint32_t alen, vlen;
};

struct ix_set {
	uint8_t *buf;
	size_t len, cap;
	struct ix_ent *e;
	size_t n, ecap;
};

static int ix_gather(const void *attr, size_t alen, const void *val,
		     size_t vlen, void *arg)
{
	struct ix_set *s = arg;
	if (s->n == s->ecap) {
		size_t c = s->ecap ? s->ecap * 2 : 16;
		struct ix_ent *e = realloc(s->e, c * sizeof(*e));
		if (!e)
			return ENOMEM;
		s->e = e;
		s->ecap = c;
	}
	if (s->cap - s->len < alen + vlen) {
		size_t c = s->cap ? s->cap : 256;
		uint8_t *b;
		while (c - s->len < alen + vlen)
			c *= 2;
		b = realloc(s->buf, c);
		if (!b)
			return ENOMEM;
		s->buf = b;
		s->cap = c;
	}
	s->e[s->n].off = s->len;
	s->e[s->n].alen = (uint32_t)alen;
	s->e[s->n].vlen = (uint32_t)vlen;
	memcpy(s->buf + s->len, attr, alen);
	memcpy(s->buf + s->len + alen, val, vlen);
	s->len += alen + vlen;
	s->n++;
	return 0;
}

static int ent_cmp(const struct ix_set *s, const struct ix_ent *a,
		   const struct ix_set *t, const struct ix_ent *b)
{
	int c =
	    fs_bytes_cmp(s->buf + a->off, a->alen, t->buf + b->off, b->alen);
	return c ? c
		 : fs_bytes_cmp(s->buf + a->off + a->alen, a->vlen,
				t->buf + b->off + b->alen, b->vlen);
}

static int ent_qcmp(const void *a, const void *b, void *s)
{
	return ent_cmp(s, a, s, b);
}

static int ix_apply(struct ix_walk *w, const struct ix_set *s,
		    const struct ix_ent *e)
{
	return ix_one(s->buf + e->off, e->alen, s->buf + e->off + e->alen,
		      e->vlen, w);
}

int fs_index_update(struct store_txn *t, uint32_t tid,
		    const struct schema_table *ts, const uint8_t *key,
		    size_t kl, const char *oldtext, size_t oldlen,
		    const char *text, size_t len)
{
	struct ix_set o = {0}, n = {0};
	struct ix_walk del = {t, tid, key, kl, 1}, put = {t, tid, key, kl, 0};
	size_t i = 0, j = 0;
	int rc = schema_table_store_entries_quick(ts, oldtext, oldlen,
						  ix_gather, &o);

	if (!rc)
		rc = schema_table_store_entries_quick(ts, text, len, ix_gather,
						      &n);
	if (rc) {
		rc = rc == EINVAL ? EIO : rc;
		goto out;
	}
	/* a text without entries has no array: qsort may not be given NULL */
	if (o.n > 1)
		qsort_r(o.e, o.n, sizeof(*o.e), ent_qcmp, &o);
	if (n.n > 1)
		qsort_r(n.e, n.n, sizeof(*n.e), ent_qcmp, &n);
	/* deletes first: an entry in both lists stays as it is */
	while (!rc && (i < o.n || j < n.n)) {
		int c = i == o.n   ? 1
			: j == n.n ? -1
				   : ent_cmp(&o, &o.e[i], &n, &n.e[j]);
		if (c < 0)
			rc = ix_apply(&del, &o, &o.e[i++]);
		else if (c > 0)
			j++;
		else
			i++, j++;
	}
	for (i = j = 0; !rc && j < n.n;) {
		int c = i == o.n ? 1 : ent_cmp(&o, &o.e[i], &n, &n.e[j]);
		if (c < 0)
			i++;
		else if (c > 0)
			rc = ix_apply(&put, &n, &n.e[j++]);
		else
			i++, j++;
	}
out:
	free(o.buf);
	free(o.e);
	free(n.buf);
	free(n.e);
	return rc;
}
