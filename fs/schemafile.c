/*
 * schemafile.c: DB/schema.graphql as a file.
 *
 * schema.c decides what a schema text does; this file is the file around
 * it: a text written whole is applied at its first close (or fsync), a
 * refusal is reported at the text's line and column, and a rename onto
 * schema.graphql (sed -i, rsync, an editor's temp file) applies the
 * renamed file's text, while a rename away from it (an editor's backup)
 * leaves a scratch file with the printed schema.  The open, read and write
 * of the file are file.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

/*
 * Report a refused schema: "db/schema.graphql:12:9: unknown type", the
 * position joined to the path, when the message carries one.
 */
int fs_schema_refuse(int rc, const struct fs_node *n,
		     const struct schema_err *err)
{
	static const char pre[] = "schema.graphql:";
	const char *m = err->msg, *why;
	char where[512];
	if (strncmp(m, pre, sizeof(pre) - 1) == 0 &&
	    (why = strstr(m + sizeof(pre) - 1, ": ")) != NULL) {
		snprintf(where, sizeof(where), "%s/%.*s", n->db->name,
			 (int)(why - m), m);
		fs_refuse(where, "%s", why + 2);
		return rc;
	}
	return fs_refuse_node(rc, n, NULL, err, NULL);
}

/*
 * Apply a written schema.graphql: the whole text at once, at the first
 * close after a write (cp, tee and editors close once).  A refused text
 * changes nothing; the handle then stays refused, and the error log says
 * where the text is wrong.
 */
int fs_schema_commit(struct fs_file *f)
{
	struct fs_node *n = f->node;
	struct schema_err err = {{0}};
	int rc;

	if (!f->dirty || f->bad || n->db->dropped)
		return 0;
	rc = fs_schema_apply(n->db, f->buf ? f->buf : "", f->len, &err);
	f->dirty = 0;
	f->written = 0;
	if (rc) {
		f->bad = rc;
		return fs_schema_refuse(rc, n, &err);
	}
	return fs_committed(n->db);
}

struct scratch_take {
	uint32_t tid;
	uint8_t key[SCHEMA_KEYBUF_MAX];
	size_t keylen;
	char *text; /* read */
	size_t len;
	const char *put; /* write: the text for a new scratch file */
	size_t putlen;
	uint64_t ino;
	uint64_t replaced; /* the inode of a file the new one replaces */
	int64_t now;
};

/* Read a scratch file whole (t: a read or write txn). */
static int scratch_take_read(struct store_txn *t, struct scratch_take *s)
{
	struct store_obj o;
	int rc = store_obj_get(t, s->tid, STORE_SCRATCH, s->key, s->keylen, &o);
	if (rc)
		return rc;
	if (o.size > SCHEMA_SDL_MAX)
		return EFBIG;
	s->ino = o.ino;
	rc = fs_scratch_text(t, s->tid, s->key, s->keylen, o.size, &s->text);
	if (!rc)
		s->len = o.size;
	return rc;
}

static int scratch_take_del(struct store_txn *t, void *arg)
{
	struct scratch_take *s = arg;
	return store_obj_del(t, s->tid, STORE_SCRATCH, s->key, s->keylen);
}

static int scratch_take_put(struct store_txn *t, void *arg)
{
	struct scratch_take *s = arg;
	struct store_obj o = {.ino = s->ino,
			      .btime_ns = s->now,
			      .mtime_ns = s->now,
			      .size = s->putlen};
	int rc =
	    fs_scratch_fill(t, s->tid, s->key, s->keylen, s->put, s->putlen);
	if (!rc)
		rc = store_obj_put(t, s->tid, STORE_SCRATCH, s->key, s->keylen,
				   &o);
	return rc;
}

/*
 * mv onto or away from schema.graphql.  Onto it (sed -i, rsync, an
 * editor's temp file): the file's text is applied as the schema, and the
 * file goes only when the schema is taken.  Away from it (an editor's
 * backup): a scratch file with the printed schema, and schema.graphql is
 * gone until written again, as after rm.
 */
int fs_schema_rename(struct fs_node *sp, const char *name, struct fs_node *dp,
		     const char *newname, unsigned flags)
{
	struct scratch_take s;
	struct schema_err err = {{0}};
	struct store_txn *t;
	struct fs_resolved r;
	struct fs_node *moved, *alias;
	int rc;

	memset(&s, 0, sizeof(s));
	if (sp->db->dropped)
		return ENOENT;
	if (sp->kind == FS_DB && strcmp(name, SCHEMA_FILE) == 0) {
		if (dp->kind == FS_DB && strcmp(newname, SCHEMA_FILE) == 0)
			return 0;
		if (dp->kind != FS_DB && dp->kind != FS_TABLE)
			return fs_refuse_node(
			    EPERM, dp, newname, NULL,
			    "files live in tables and beside them");
		if (!fs_schema_exists(sp->db))
			return ENOENT;
		rc = store_read_begin(dp->db->env, &t);
		if (rc)
			return rc;
		rc = fs_resolve(t, dp, newname, &r, &err);
		store_txn_abort(t);
		if (!rc && r.kind != STORE_SCRATCH)
			rc = schema_fail(&err, EPERM,
					 "the schema is no record; copy it "
					 "to a name that is not <key>.json");
		if (rc)
			return fs_refuse_node(rc, dp, newname, &err, NULL);
		s.tid = dp->tid;
		memcpy(s.key, r.key, r.keylen);
		s.keylen = r.keylen;
		rc = store_read_begin(dp->db->env, &t);
		if (rc)
			return rc;
		{
			/* a file it replaces: its open handles see it gone */
			struct store_obj o;
			if (store_obj_get(t, s.tid, STORE_SCRATCH, s.key,
					  s.keylen, &o) == 0)
				s.replaced = o.ino;
		}
		store_txn_abort(t);
		if (s.replaced && (flags & RENAME_NOREPLACE))
			return EEXIST;
		rc = fs_schema_text(sp->db, (char **)&s.put, &s.putlen);
		if (rc)
			return rc;
		/*
		 * The kernel moves the inode it holds for schema.graphql to
		 * the new name.  If that is a file's that was renamed onto
		 * it, the new file takes that inode number and its node
		 * becomes the file again; otherwise the node answers as the
		 * schema with no timeout, and the kernel asks again.
		 */
		alias =
		    sp->db->schema_alias
			? fs_node_get(fs_db_ino(sp->db, sp->db->schema_alias))
			: NULL;
		if (alias && (alias->opens || alias->kind != FS_SCHEMA))
			alias = NULL;
		s.ino =
		    alias ? sp->db->schema_alias : store_ino_alloc(dp->db->env);
		s.now = fs_now_ns();
		rc = store_write(dp->db->env, scratch_take_put, &s);
		free((char *)s.put);
		if (rc)
			return rc;
		fs_committed(dp->db);
		sp->db->schema_hidden = 1;
		sp->db->schema_alias = 0;
		if (alias) {
			free(alias->tname);
			alias->tname = strdup(fs_tname_of(dp));
			alias->tid = dp->tid;
			alias->kind = FS_SCRATCH;
			if (!alias->tname ||
			    fs_node_set_key(alias, s.key, s.keylen))
				return ENOMEM;
			fs_node_changed(alias);
		}
		if (s.replaced) {
			struct fs_node *old =
			    fs_node_get(fs_db_ino(dp->db, s.replaced));
			if (old)
				old->unlinked = 1;
		}
		fs_notify_entry(dp->ino, newname);
		return 0;
	}
	/* onto schema.graphql: the source must be a scratch file */
	rc = store_read_begin(sp->db->env, &t);
	if (rc)
		return rc;
	rc = fs_resolve(t, sp, name, &r, &err);
	if (!rc && r.kind != STORE_SCRATCH)
		rc = schema_fail(&err, EPERM,
				 "a record cannot become the schema; copy "
				 "its text instead");
	if (!rc) {
		s.tid = sp->tid;
		memcpy(s.key, r.key, r.keylen);
		s.keylen = r.keylen;
		rc = scratch_take_read(t, &s);
	}
	store_txn_abort(t);
	if (rc == EPERM)
		return fs_refuse_node(rc, sp, name, &err, NULL);
	if (rc)
		return rc;
	moved = fs_node_get(fs_db_ino(sp->db, s.ino));
	if (moved && moved->opens) {
		free(s.text);
		return fs_refuse_node(
		    EBUSY, sp, name, NULL,
		    "the file is open; close it before renaming it "
		    "onto schema.graphql");
	}
	rc = fs_schema_apply(dp->db, s.text, s.len, &err);
	free(s.text);
	if (rc) {
		struct fs_node sn = {.kind = FS_SCHEMA, .db = dp->db};
		return fs_schema_refuse(rc, &sn, &err);
	}
	rc = store_write(sp->db->env, scratch_take_del, &s);
	if (rc)
		return rc;
	fs_committed(sp->db);
	/* The kernel now takes the file's inode for schema.graphql: that
	 * node answers as it until the kernel looks the name up again. */
	moved = fs_node_get(fs_db_ino(sp->db, s.ino));
	if (moved) {
		moved->kind = FS_SCHEMA;
		moved->tid = 0;
		fs_node_changed(moved);
		sp->db->schema_alias = s.ino;
	}
	fs_notify_entry(dp->ino, SCHEMA_FILE);
	return 0;
}
