/*
 * record.c: a record into storage, with its index entries.
 *
 * Everything that stores or removes a record goes through here, inside the
 * caller's write transaction: the canonical text made from a body
 * (schema/), creation time kept from the record it replaces, the index
 * entries following the text (index.c), the alias of a long key.  It
 * answers no request and holds no file: the commit path (commit.c), the
 * renames and the .by moves call it, and fs_committed() ends each commit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

/* Keep or drop the alias that finds a long key from its hashed name. */
int fs_alias_sync(struct store_txn *t, uint32_t tid, const uint8_t *kb,
		  size_t kl, int add)
{
	struct schema_key k;
	uint8_t digest[32];
	char name[SCHEMA_NAME_MAX + 1];
	size_t nl;
	if (schema_key_decode(kb, kl, &k))
		return EIO;
	nl = schema_key_to_name(&k, name);
	if (schema_name_digest(name, nl, digest))
		return 0;
	if (add)
		return store_alias_put(t, tid, digest, 32, kb, kl);
	store_alias_del(t, tid, digest, 32);
	return 0;
}

/*
 * A declared table's record: check *text against ts and replace it with
 * the completed text (times kept, dates normalized).  old: the record it
 * replaces, or NULL; now_ms < 0 checks without touching the times.
 */
int fs_declared_record(const struct schema_table *ts, char **text, size_t *len,
		       const char *old, size_t oldlen, int64_t now_ms,
		       struct schema_err *err)
{
	char *out = NULL;
	size_t ol = 0;
	int rc = schema_table_record(ts, *text, *len, old, oldlen, now_ms, &out,
				     &ol, err);
	if (rc)
		return rc;
	free(*text);
	*text = out;
	*len = ol;
	return 0;
}

void fs_record_new_free(struct fs_record_new *r)
{
	free(r->text);
	free(r->oldtext);
	r->text = r->oldtext = NULL;
}

/* Copy the stored record kb, if any, into r->oldtext. */
int fs_record_old(struct store_txn *t, uint32_t tid, const uint8_t *kb,
		  size_t kl, struct fs_record_new *r)
{
	struct store_obj old;
	int rc = store_obj_get(t, tid, STORE_RECORD, kb, kl, &old);
	if (rc)
		return rc == ENOENT ? 0 : rc;
	/* old.data may move with the first write: keep a copy */
	r->oldtext = malloc(old.len ? old.len : 1);
	if (!r->oldtext)
		return ENOMEM;
	memcpy(r->oldtext, old.data, old.len);
	r->oldlen = old.len;
	r->had = 1;
	r->old_ino = old.ino;
	r->old_btime_ns = old.btime_ns;
	r->old_attrs = old.attrs;
	return 0;
}

/*
 * Make a record's canonical text for body, keeping what the old record
 * (if any) says about creation.  Everything that can refuse a body
 * happens here, before anything is stored.
 */
int fs_record_make(struct fs_db *db, struct store_txn *t, uint32_t tid,
		   const uint8_t *kb, size_t kl, uint64_t ino,
		   int64_t btime_if_new, const struct store_attrs *attrs,
		   const char *body, size_t len, struct schema_check *pre,
		   int64_t now, int64_t mtime, struct fs_record_new *r,
		   struct schema_err *err)
{
	const struct schema_table *ts;
	struct schema_key k;
	size_t tlen = 0;
	int rc = fs_schema_get(db, t, tid, &ts);

	memset(r, 0, sizeof(*r));
	if (rc)
		return rc;
	if (schema_key_decode(kb, kl, &k))
		return EIO;
	rc = fs_record_old(t, tid, kb, kl, r);
	if (rc)
		return rc;
	/* the object the write-time check kept saves parsing body again */
	rc = pre ? schema_record_prepare_checked(
		       pre, &k, schema_table_pk_name(ts), r->oldtext, r->oldlen,
		       now / 1000000, !ts, &r->text, &tlen, err)
		 : EAGAIN;
	if (rc == EAGAIN)
		rc = schema_record_prepare(
		    body, len, &k, schema_table_pk_name(ts), r->oldtext,
		    r->oldlen, now / 1000000, !ts, &r->text, &tlen, err);
	if (!rc && ts)
		rc = fs_declared_record(ts, &r->text, &tlen, r->oldtext,
					r->oldlen, now / 1000000, err);
	if (rc) {
		fs_record_new_free(r);
		return rc;
	}
	/* ino 0: the record's own number, or a new one for a new record */
	r->o.ino = ino ? ino : r->had ? r->old_ino : store_ino_alloc(db->env);
	r->o.btime_ns = r->had ? r->old_btime_ns : btime_if_new;
	r->o.mtime_ns = mtime ? mtime : now;
	if (attrs)
		r->o.attrs = *attrs;
	else if (r->had)
		r->o.attrs = r->old_attrs;
	r->o.attrs.ctime_ns = now;
	r->o.size = tlen;
	r->o.data = r->text;
	r->o.len = tlen;
	return 0;
}

/* Store r as record kb, its index entries following its text. */
int fs_record_store(struct fs_db *db, struct store_txn *t, uint32_t tid,
		    const uint8_t *kb, size_t kl, const struct fs_record_new *r)
{
	const struct schema_table *ts;
	int rc = fs_schema_get(db, t, tid, &ts);
	if (!rc)
		rc = store_obj_put(t, tid, STORE_RECORD, kb, kl, &r->o);
	if (!rc && r->had)
		rc = fs_index_update(t, tid, ts, kb, kl, r->oldtext, r->oldlen,
				     r->o.data, r->o.len);
	else if (!rc)
		rc =
		    fs_index_record(t, tid, ts, kb, kl, r->o.data, r->o.len, 0);
	if (!rc && !r->had)
		rc = fs_alias_sync(t, tid, kb, kl, 1);
	if (!rc)
		rc = fs_feed_put(db, t, tid, kb, kl, r->o.data, r->o.len);
	return rc;
}

/*
 * Write a record's canonical text for body, keeping what the old record
 * (if any) says about creation.  Runs inside store_write.
 */
int fs_record_put(struct fs_db *db, struct store_txn *t, uint32_t tid,
		  const uint8_t *kb, size_t kl, uint64_t ino,
		  int64_t btime_if_new, const struct store_attrs *attrs,
		  const char *body, size_t len, struct schema_check *pre,
		  int64_t now, int64_t mtime, struct schema_err *err)
{
	struct fs_record_new r;
	int rc = fs_record_make(db, t, tid, kb, kl, ino, btime_if_new, attrs,
				body, len, pre, now, mtime, &r, err);
	if (rc)
		return rc;
	rc = fs_record_store(db, t, tid, kb, kl, &r);
	fs_record_new_free(&r);
	return rc;
}

/* Remove record kb (stored as o) and its index entries. */
int fs_record_delete(struct fs_db *db, struct store_txn *t, uint32_t tid,
		     const uint8_t *kb, size_t kl, const struct store_obj *o)
{
	const struct schema_table *ts;
	/* The entries first: o->data is read before anything moves. */
	int rc = fs_schema_get(db, t, tid, &ts);
	if (!rc)
		rc = fs_index_record(t, tid, ts, kb, kl, o->data, o->len, 1);
	if (!rc)
		rc = store_obj_del(t, tid, STORE_RECORD, kb, kl);
	if (!rc)
		rc = fs_alias_sync(t, tid, kb, kl, 0);
	if (!rc)
		rc = fs_feed_delete(db, t, tid, kb, kl);
	return rc;
}

/* Table tname is still there, under number tid (err may be NULL). */
int fs_table_same(struct store_txn *t, const char *tname, size_t tnlen,
		  uint32_t tid, struct schema_err *err)
{
	struct store_table tb;
	if (store_table_get(t, tname, tnlen, &tb) != 0 || tb.tid != tid)
		return schema_fail(err, ENOENT, "its table is gone");
	return 0;
}

/* Store c's body as record c->n, in store_write. */
int fs_commit_fn(struct store_txn *t, void *arg)
{
	struct fs_commit *c = arg;
	struct fs_node *n = c->n;
	/* The table may have gone (or come back new) since the open. */
	int rc = fs_table_same(t, n->tname, strlen(n->tname), n->tid, &c->err);
	if (rc)
		return rc;
	return fs_record_put(n->db, t, n->tid, n->key, n->keylen,
			     n->ino & ((1ull << FS_DB_SHIFT) - 1),
			     n->pending ? n->pending_btime_ns : c->now,
			     fs_node_new_attrs(n), c->body, c->len, c->pre,
			     c->now, c->mtime, &c->err);
}

/* A commit of db's ended: count it, and with -o sync=0 make it durable. */
int fs_committed(struct fs_db *db)
{
	fs.n_commits++;
	if (fs.opts.sync_secs == 0)
		return store_env_sync(db->env);
	return 0;
}
