/*
 * rename.c: unlink and rename.
 *
 * rm of a record deletes it with its index entries (answered before it is
 * stored where commit.c can); rm of a scratch file drops its bytes.  A
 * rename moves a record to a new key or another table of the database,
 * makes a finished scratch file the record (editors, rsync, mv tmp
 * 2.json), or a record a scratch file (an editor's backup), all in one
 * transaction.  Renames through .by are by.c's, onto and away from
 * schema.graphql schemafile.c's; across databases it is EXDEV.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

struct unlink_op {
	struct fs_node *tn;
	const char *name;
	struct schema_err err;
	struct fs_resolved r;
	uint64_t ino;
	int orphaned; /* an open scratch file, kept as an orphan */
};

static int unlink_fn(struct store_txn *t, void *arg)
{
	struct unlink_op *u = arg;
	struct store_obj o;
	int rc = fs_resolve(t, u->tn, u->name, &u->r, &u->err);
	if (rc)
		return rc;
	rc = store_obj_get(t, u->tn->tid, u->r.kind, u->r.key, u->r.keylen, &o);
	if (rc)
		return rc;
	u->ino = o.ino;
	if (u->r.kind == STORE_RECORD)
		return fs_record_delete(u->tn->db, t, u->tn->tid, u->r.key,
					u->r.keylen, &o);
	rc = fs_scratch_orphan(u->tn->db, t, u->tn->tid, u->r.key, u->r.keylen,
			       &o, &u->orphaned);
	if (rc || u->orphaned)
		return rc;
	return store_obj_del(t, u->tn->tid, u->r.kind, u->r.key, u->r.keylen);
}

static int is_table(const struct fs_node *dn, const char *name)
{
	struct store_txn *t;
	struct store_table tb;
	int found;
	if (dn->db->dropped || store_read_begin(dn->db->env, &t))
		return 0;
	found = store_table_get(t, name, strlen(name), &tb) == 0;
	store_txn_abort(t);
	return found;
}

/* Whether name in database directory dn is an existing table's stream. */
static int is_stream(const struct fs_node *dn, const char *name)
{
	char stem[256];
	size_t sl;
	if (dn->kind != FS_DB || fs_stream_form(name, &sl) < 0 ||
	    sl >= sizeof(stem))
		return 0;
	memcpy(stem, name, sl);
	stem[sl] = '\0';
	return is_table(dn, stem);
}

void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_node *p = fs_node_get(parent), *n;
	struct unlink_op u;
	int rc;

	fs.n_ops++;
	if (!p) {
		rc = ESTALE;
		goto out;
	}
	rc = fs_refuse_long(p, name);
	if (rc)
		goto out;
	if (p->kind == FS_DB && strcmp(name, SCHEMA_FILE) == 0) {
		/*
		 * The schema is the tables, which only rmdir drops: removing
		 * the file removes nothing, and it comes back while tables
		 * exist.  So rm -rf of a database and tar x over one (which
		 * unlinks before it creates) go on.
		 */
		rc = p->db->dropped || !fs_schema_exists(p->db) ? ENOENT : 0;
		if (!rc)
			p->db->schema_hidden = 1;
		goto out;
	}
	if (p->kind == FS_DB && fs_jschema_stem(name)) {
		rc = fs_refuse_node(
		    EPERM, p, name, NULL,
		    "a table's JSON Schema follows its schema; it is "
		    "not removed");
		goto out;
	}
	if (is_stream(p, name)) {
		rc = fs_refuse_node(EPERM, p, name, NULL,
				    "a table's stream is not removed: "
				    "': > TABLE.ndjson' empties the table, "
				    "rmdir drops it");
		goto out;
	}
	if (p->kind != FS_TABLE && p->kind != FS_DB) {
		rc = p->kind == FS_ROOT ? EISDIR : EPERM;
		if (fs_is_by(p->kind))
			fs_refuse_node(EPERM, p, name, NULL, FS_BY_READONLY);
		goto out;
	}
	if (strcmp(name, ".by") == 0) {
		rc = fs_refuse_node(EPERM, p, name, NULL, FS_BY_READONLY);
		goto out;
	}
	memset(&u, 0, sizeof(u));
	u.tn = p;
	u.name = name;
	if (fs_unlink_answer(req, p, name))
		return;
	rc = store_write(p->db->env, unlink_fn, &u);
	if (rc == EINVAL || rc == EPERM)
		rc = ENOENT;
	if (rc == ENOENT && u.r.kind == STORE_RECORD) {
		/* Created and not committed yet: its handle never will. */
		n = fs_find_pending(p, u.r.key, u.r.keylen);
		if (n) {
			n->unlinked = 1;
			rc = 0;
		}
		goto out;
	}
	if (rc)
		goto out;
	fs_committed(p->db);
	fs_dir_changed(p->db, p->kind == FS_TABLE ? p->tid : 0, p->tname);
	n = fs_node_get(fs_db_ino(p->db, u.ino));
	if (n && u.orphaned)
		rc = fs_scratch_orphaned(n);
	else if (n)
		n->unlinked = 1;
out:
	fuse_reply_err(req, rc);
}

struct rename_op {
	struct fs_node *sp, *dp;
	const char *sname, *dname;
	unsigned flags;
	struct fs_resolved s, d;
	struct schema_err err;
	uint64_t ino, replaced_ino;
	int orphaned; /* the replaced file, open, kept as an orphan */
	int64_t now;
};

/* Drop a record that a rename replaces: its index entries and alias. */
static int drop_replaced(struct fs_db *db, struct store_txn *t, uint32_t tid,
			 const struct fs_resolved *d)
{
	const struct schema_table *ts;
	struct store_obj o;
	char *copy;
	int rc = store_obj_get(t, tid, STORE_RECORD, d->key, d->keylen, &o);
	if (rc)
		return rc == ENOENT ? 0 : rc;
	copy = malloc(o.len ? o.len : 1);
	if (!copy)
		return ENOMEM;
	memcpy(copy, o.data, o.len);
	rc = fs_schema_get(db, t, tid, &ts);
	if (!rc)
		rc = fs_index_record(t, tid, ts, d->key, d->keylen, copy, o.len,
				     1);
	free(copy);
	if (!rc)
		rc = store_obj_del(t, tid, STORE_RECORD, d->key, d->keylen);
	if (!rc)
		rc = fs_alias_sync(t, tid, d->key, d->keylen, 0);
	return rc;
}

static int rename_fn(struct store_txn *t, void *arg)
{
	struct rename_op *r = arg;
	uint32_t stid = r->sp->tid, dtid = r->dp->tid;
	struct store_obj so, dobj;
	char *stext = NULL;
	int rc, dexists;

	r->replaced_ino = 0;
	rc = fs_resolve(t, r->sp, r->sname, &r->s, &r->err);
	if (rc)
		return rc == EINVAL || rc == EPERM ? ENOENT : rc;
	rc = fs_resolve(t, r->dp, r->dname, &r->d, &r->err);
	if (rc == ENOENT && r->d.long_form)
		return schema_fail(
		    &r->err, EINVAL,
		    "a hashed long name cannot be chosen as a new name");
	if (rc)
		return rc;
	rc = store_obj_get(t, stid, r->s.kind, r->s.key, r->s.keylen, &so);
	if (rc)
		return rc;
	r->ino = so.ino;
	if (stid == dtid && r->s.kind == r->d.kind &&
	    r->s.keylen == r->d.keylen &&
	    memcmp(r->s.key, r->d.key, r->s.keylen) == 0)
		return 0; /* the same object: nothing to do */
	rc = store_obj_get(t, dtid, r->d.kind, r->d.key, r->d.keylen, &dobj);
	if (rc && rc != ENOENT)
		return rc;
	dexists = rc == 0;
	if (dexists && (r->flags & RENAME_NOREPLACE))
		return EEXIST;
	if (dexists)
		r->replaced_ino = dobj.ino;
	if (dexists && r->d.kind == STORE_SCRATCH) {
		/* an open scratch file it replaces keeps its bytes */
		rc = fs_scratch_orphan(r->dp->db, t, dtid, r->d.key,
				       r->d.keylen, &dobj, &r->orphaned);
		if (rc)
			return rc;
	}
	if (r->s.kind != r->d.kind) {
		/* An open handle keeps a record's text or a scratch file's
		 * name; it cannot follow the file into the other kind. */
		struct fs_node *sn = fs_node_get(fs_db_ino(r->sp->db, so.ino));
		if (sn && sn->opens)
			return schema_fail(&r->err, EBUSY,
					   "the file is open; close it before "
					   "renaming it %s",
					   r->d.kind == STORE_RECORD
					       ? "onto a record name"
					       : "away from a record name");
	}
	if (r->s.kind == STORE_RECORD) {
		/* Its text is read again after writes that may move it. */
		stext = malloc(so.len ? so.len : 1);
		if (!stext)
			return ENOMEM;
		memcpy(stext, so.data, so.len);
		so.data = stext;
	}

	if (r->s.kind == STORE_RECORD && r->d.kind == STORE_RECORD) {
		/* A key change, or a move between tables: rewrite the key. */
		struct schema_key nk;
		char *text = NULL;
		size_t tl;
		struct store_obj o;
		if (schema_key_decode(r->d.key, r->d.keylen, &nk)) {
			rc = EIO;
			goto out;
		}
		const struct schema_table *sts, *dts;
		rc = fs_schema_get(r->sp->db, t, stid, &sts);
		if (!rc)
			rc = fs_schema_get(r->dp->db, t, dtid, &dts);
		if (rc)
			goto out;
		if (stid != dtid && schema_record_retable_needed(sts, dts)) {
			/* into a table that names its key or times otherwise:
			 * they move to its names, creation kept */
			char *body = NULL;
			size_t bl;
			rc = schema_record_retable(so.data, so.len, sts, dts,
						   &body, &bl);
			if (!rc)
				rc = schema_record_prepare(
				    body, bl, &nk, schema_table_pk_name(dts),
				    NULL, 0, r->now / 1000000, !dts, &text, &tl,
				    &r->err);
			free(body);
			if (!rc && dts)
				rc = fs_declared_record(dts, &text, &tl, NULL,
							0, r->now / 1000000,
							&r->err);
		} else {
			rc = schema_record_rekey(
			    so.data, so.len, &nk, schema_table_pk_name(dts),
			    r->now / 1000000, !dts, &text, &tl, &r->err);
			if (!rc && dts)
				rc = fs_declared_record(
				    dts, &text, &tl, so.data, so.len,
				    r->now / 1000000, &r->err);
		}
		if (rc) {
			free(text);
			goto out;
		}
		o.ino = so.ino;
		o.btime_ns = so.btime_ns;
		o.mtime_ns = r->now;
		o.size = tl;
		o.data = text;
		o.len = tl;
		o.attrs = so.attrs; /* its mode and owner go with it */
		o.attrs.ctime_ns = r->now;
		rc = fs_index_record(t, stid, sts, r->s.key, r->s.keylen,
				     so.data, so.len, 1);
		if (!rc)
			rc = store_obj_del(t, stid, STORE_RECORD, r->s.key,
					   r->s.keylen);
		if (!rc)
			rc = fs_alias_sync(t, stid, r->s.key, r->s.keylen, 0);
		if (!rc && dexists)
			rc = drop_replaced(r->dp->db, t, dtid, &r->d);
		if (!rc)
			rc = store_obj_put(t, dtid, STORE_RECORD, r->d.key,
					   r->d.keylen, &o);
		if (!rc)
			rc = fs_index_record(t, dtid, dts, r->d.key,
					     r->d.keylen, text, tl, 0);
		if (!rc)
			rc = fs_alias_sync(t, dtid, r->d.key, r->d.keylen, 1);
		if (!rc)
			rc = fs_feed_rename(r->dp->db, t, stid, r->s.key,
					    r->s.keylen, dtid, r->d.key,
					    r->d.keylen, text, tl);
		free(text);
		goto out;
	}
	if (r->s.kind == STORE_SCRATCH && r->d.kind == STORE_RECORD) {
		/* Editors and rsync: a finished temp file becomes the record
		 * (fs_record_put replaces an existing one, indexes included).
		 */
		char *body = NULL;
		if (so.size > SCHEMA_RECORD_MAX)
			return EFBIG;
		rc = fs_scratch_text(t, stid, r->s.key, r->s.keylen, so.size,
				     &body);
		if (rc)
			return rc;
		/* the file keeps its own mode and owner (an editor set
		 * them as the record's), if it has any kept */
		rc = fs_record_put(r->dp->db, t, dtid, r->d.key, r->d.keylen,
				   so.ino, so.btime_ns,
				   so.attrs.mode ? &so.attrs : NULL, body,
				   so.size, NULL, r->now, so.mtime_ns, &r->err);
		free(body);
		if (!rc)
			rc = store_obj_del(t, stid, STORE_SCRATCH, r->s.key,
					   r->s.keylen);
		return rc;
	}
	if (r->s.kind == STORE_RECORD && r->d.kind == STORE_SCRATCH) {
		/* vim's backup by rename: the record becomes a plain file. */
		struct store_obj o = so;
		o.size = so.len;
		o.data = NULL;
		o.len = 0;
		o.attrs.ctime_ns = r->now;
		const struct schema_table *sts;
		rc = fs_schema_get(r->sp->db, t, stid, &sts);
		if (!rc)
			rc = fs_index_record(t, stid, sts, r->s.key,
					     r->s.keylen, so.data, so.len, 1);
		if (!rc)
			rc = fs_scratch_fill(t, dtid, r->d.key, r->d.keylen,
					     so.data, so.len);
		if (!rc)
			rc = store_obj_put(t, dtid, STORE_SCRATCH, r->d.key,
					   r->d.keylen, &o);
		if (!rc)
			rc = store_obj_del(t, stid, STORE_RECORD, r->s.key,
					   r->s.keylen);
		if (!rc)
			rc = fs_alias_sync(t, stid, r->s.key, r->s.keylen, 0);
		if (!rc) /* the record is gone from its table */
			rc = fs_feed_delete(r->sp->db, t, stid, r->s.key,
					    r->s.keylen);
		goto out;
	}
	/* scratch to scratch */
	so.data = NULL;
	so.len = 0;
	so.attrs.ctime_ns = r->now;
	rc = store_chunk_move(t, stid, r->s.key, r->s.keylen, dtid, r->d.key,
			      r->d.keylen);
	if (!rc)
		rc = store_obj_put(t, dtid, STORE_SCRATCH, r->d.key,
				   r->d.keylen, &so);
	if (!rc) {
		/* delete the header only: the chunks moved */
		rc = store_obj_del(t, stid, STORE_SCRATCH, r->s.key,
				   r->s.keylen);
	}
out:
	free(stext);
	return rc;
}

/*
 * What name in database directory dn is: 1 a table (*empty: it holds no
 * record or file), -1 a file (schema.graphql, a scratch file), 0 nothing.
 */
static int table_state(const struct fs_node *dn, const char *name, int *empty)
{
	struct store_txn *t;
	struct store_table tb;
	struct store_obj o;
	int what = 0;

	*empty = 1;
	if (strcmp(name, SCHEMA_FILE) == 0 && fs_schema_exists(dn->db))
		return -1;
	if (dn->db->dropped || store_read_begin(dn->db->env, &t))
		return 0;
	if (store_table_get(t, name, strlen(name), &tb) == 0) {
		what = 1;
		*empty = store_table_is_empty(t, tb.tid);
	} else if (store_obj_get(t, 0, STORE_SCRATCH, name, strlen(name), &o) ==
		   0) {
		what = -1;
	}
	store_txn_abort(t);
	return what;
}

/* Whether name in database directory dn is a table. */

void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
	       fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs_node *sp = fs_node_get(parent), *dp = fs_node_get(newparent);
	struct rename_op r;
	struct fs_node *moved;
	int rc;

	fs.n_ops++;
	if (!sp || !dp) {
		rc = ESTALE;
		goto out;
	}
	if (flags & RENAME_EXCHANGE) {
		rc = fs_refuse_node(EINVAL, sp, name, NULL,
				    "exchanging two names is not supported");
		goto out;
	}
	if (flags & RENAME_WHITEOUT) {
		rc = fs_refuse_node(EINVAL, sp, name, NULL,
				    "whiteouts (overlayfs) are not supported");
		goto out;
	}
	rc = fs_refuse_long(sp, name);
	if (!rc)
		rc = fs_refuse_long(dp, newname);
	if (rc)
		goto out;
	if (sp->kind == FS_DB && dp->kind == FS_DB && is_table(sp, name)) {
		/* what a rename onto the new name would meet */
		int empty, target = table_state(dp, newname, &empty);
		if (target < 0) {
			rc = fs_refuse_node(ENOTDIR, dp, newname, NULL,
					    "a table cannot replace a file");
			goto out;
		}
		if (target && !empty) {
			rc = fs_refuse_node(ENOTEMPTY, dp, newname, NULL,
					    "the table it would replace is not "
					    "empty");
			goto out;
		}
	}
	if (sp->kind == FS_DB && is_table(sp, name)) {
		rc = fs_refuse_node(
		    EPERM, sp, name, NULL,
		    "tables cannot be renamed; make the new table and "
		    "mv the records into it");
		goto out;
	}
	if (sp->kind == FS_DB && fs_jschema_stem(name)) {
		rc = fs_refuse_node(
		    EPERM, sp, name, NULL,
		    "a table's JSON Schema follows its schema; copy "
		    "it instead");
		goto out;
	}
	if (is_stream(sp, name) ||
	    (dp->kind == FS_DB && fs_stream_form(newname, &(size_t){0}) >= 0)) {
		rc = fs_refuse_node(EPERM, dp, newname, NULL,
				    "a table's stream is written, not renamed "
				    "onto or away: cp FILE DB/TABLE.ndjson "
				    "loads a table, cp DB/TABLE.ndjson FILE "
				    "saves one");
		goto out;
	}
	if ((sp->kind == FS_DB && strcmp(name, SCHEMA_FILE) == 0) ||
	    (dp->kind == FS_DB && strcmp(newname, SCHEMA_FILE) == 0)) {
		rc = sp->db != dp->db
			 ? EXDEV
			 : fs_schema_rename(sp, name, dp, newname, flags);
		goto out;
	}
	if ((sp->kind != FS_TABLE && sp->kind != FS_DB) ||
	    (dp->kind != FS_TABLE && dp->kind != FS_DB)) {
		if (sp->kind == FS_BYVAL && dp->kind == FS_BYVAL &&
		    sp->db == dp->db && sp->tid == dp->tid) {
			rc = fs_by_move(sp, name, dp, newname);
			goto out;
		}
		if (fs_is_by(sp->kind) || fs_is_by(dp->kind)) {
			rc = fs_refuse_node(EPERM, sp, name, NULL,
					    FS_BY_READONLY);
			goto out;
		}
		rc = fs_refuse_node(EPERM, sp, name, NULL,
				    "this cannot be renamed");
		goto out;
	}
	if (sp->db != dp->db) {
		rc = EXDEV; /* mv copies and removes instead */
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.sp = sp;
	r.dp = dp;
	r.sname = name;
	r.dname = newname;
	r.flags = flags;
	r.now = fs_now_ns();
	rc = store_write(sp->db->env, rename_fn, &r);
	if (rc) {
		if (rc != ENOENT && rc != EEXIST)
			fs_refuse_node(rc, dp, newname, &r.err, NULL);
		goto out;
	}
	fs_committed(sp->db);
	fs_dir_changed(sp->db, sp->kind == FS_TABLE ? sp->tid : 0, sp->tname);
	fs_dir_changed(dp->db, dp->kind == FS_TABLE ? dp->tid : 0, dp->tname);
	if (r.d.kind == STORE_RECORD) {
		/* A record being created under the new name lost it, as a
		 * file does on any POSIX file system: its close stores
		 * nothing over the record that has the name now. */
		struct fs_node *lost = fs_find_pending(dp, r.d.key, r.d.keylen);
		if (lost)
			lost->unlinked = 1;
	}
	if (r.replaced_ino && r.replaced_ino != r.ino) {
		struct fs_node *old =
		    fs_node_get(fs_db_ino(sp->db, r.replaced_ino));
		if (old && r.orphaned)
			rc = fs_scratch_orphaned(old);
		else if (old)
			old->unlinked = 1;
	}
	moved = fs_node_get(fs_db_ino(sp->db, r.ino));
	if (moved) {
		enum store_kind k = r.d.kind;
		/* The key is rewritten in the text, or the text made a
		 * record's or a plain file's: the size may change, and a
		 * scratch file's pages are not the record. */
		moved->kcache = FS_KC_STALE;
		fs_node_changed(moved);
		free(moved->tname);
		moved->tname = strdup(fs_tname_of(dp));
		moved->tid = dp->tid;
		moved->kind = k == STORE_RECORD ? FS_RECORD : FS_SCRATCH;
		if (!moved->tname ||
		    fs_node_set_key(moved, r.d.key, r.d.keylen))
			rc = ENOMEM;
	}
out:
	fuse_reply_err(req, rc);
}
