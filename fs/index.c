/*
 * index.c: keeping a table's indexes in step with its records.
 *
 * Every change of a record runs inside the transaction that changes it:
 * the entries of the old text go, the entries of the new text come, so
 * after any sequence of operations (and after a crash, which loses whole
 * transactions only) the index says exactly what the records say.
 * schema_table_store_entries() decides which entries a text has (every
 * attribute of a dynamic table, the @indexed ones of a declared table);
 * the checker (store_check_indexes) uses the same function.
 */
#include <errno.h>

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

int fs_index_record(struct fs_db *db, struct store_txn *t, uint32_t tid,
		    const uint8_t *key, size_t kl, const char *text, size_t len,
		    int del)
{
	const struct schema_table *ts;
	int rc = fs_schema_get(db, t, tid, &ts);
	if (rc)
		return rc;
	return fs_index_record_as(t, tid, ts, key, kl, text, len, del);
}

int fs_index_record_as(struct store_txn *t, uint32_t tid,
		       const struct schema_table *ts, const uint8_t *key,
		       size_t kl, const char *text, size_t len, int del)
{
	struct ix_walk w = {t, tid, key, kl, del};
	int rc = schema_table_store_entries(ts, text, len, ix_one, &w);
	/* A stored record is always an object; EINVAL means damage. */
	return rc == EINVAL ? EIO : rc;
}
