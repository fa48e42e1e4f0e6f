/*
 * dir.c: new names: create and mknod of files, mkdir and rmdir; symlink
 * and link, refused.
 *
 * A new record is a pending node until its first commit (commit.c), a new
 * scratch file is stored at once, empty (scratch.c); mkdir makes a
 * database (db.c) in the root and a dynamic table in a database, and rmdir
 * drops an empty one.  The .by tree and the fixed names refuse all of
 * these.  Removing and renaming files are rename.c's; listings are
 * readdir.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fs_i.h"

/* What a new file or directory keeps: mode (type bits included, so that
 * a mode of 0 still counts as kept), and its creator as owner. */
static struct store_attrs creation_attrs(fuse_req_t req, mode_t type,
					 mode_t mode)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct store_attrs a = {
	    .mode = type | (mode & 07777), .uid = c->uid, .gid = c->gid};
	a.atime_ns = a.ctime_ns = fs_now_ns();
	return a;
}

/*
 * With -o allow_other, whether the requester may open n as flags say: its
 * mode against the requester's user, group and groups, as the kernel's
 * default_permissions checks (root passes).  0 or EACCES.
 */
static int may_open(fuse_req_t req, struct fs_node *n, int flags)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	int acc = flags & O_ACCMODE, want = 0, bits, i, ng;
	gid_t groups[64];
	struct stat st;

	if (!fs.opts.allow_other || c->uid == 0)
		return 0;
	if (fs_node_attr(n, &st, NULL) != 0)
		return EACCES;
	if (acc != O_WRONLY)
		want |= 4;
	if (acc != O_RDONLY || (flags & O_TRUNC))
		want |= 2;
	if (st.st_uid == c->uid) {
		bits = (st.st_mode >> 6) & 7;
	} else {
		int in = st.st_gid == c->gid;
		ng = fuse_req_getgroups(req, 64, groups);
		for (i = 0; !in && i < ng && i < 64; i++)
			in = groups[i] == st.st_gid;
		bits = in ? (st.st_mode >> 3) & 7 : st.st_mode & 7;
	}
	return (bits & want) == want ? 0 : EACCES;
}

/*
 * Make the node for a new file called name in table tn.  Records are not
 * stored until their first commit (a pending node); scratch files are stored
 * at once, empty.  With commit_now a record is stored at once too (mknod).
 */
static int new_file(struct fs_node *tn, const char *name, int commit_now,
		    const struct store_attrs *attrs, struct fs_node **out)
{
	struct schema_err err = {{0}};
	struct fs_resolved r;
	struct fs_node *n;
	struct store_txn *t;
	struct store_obj o;
	int rc;

	if (fs_is_by(tn->kind))
		return fs_refuse_node(EPERM, tn, name, NULL, FS_BY_READONLY);
	if (tn->kind != FS_TABLE && tn->kind != FS_DB)
		return fs_refuse_node(EPERM, tn, name, NULL,
				      "files cannot be created here");
	if (tn->db->dropped)
		return ENOENT;
	if (fs_refuse_long(tn, name))
		return ENAMETOOLONG;
	if (tn->kind == FS_DB && strcmp(name, SCHEMA_FILE) == 0)
		return EEXIST;
	if (fs_miss_take(tn, name, &r)) {
		/* the lookup just before found no such record */
		rc = fs_find_pending(tn, r.key, r.keylen) ? EEXIST : 0;
		if (rc)
			return rc;
		goto make;
	}
	rc = store_read_begin(tn->db->env, &t);
	if (rc)
		return rc;
	if (tn->kind == FS_DB) {
		/* a database directory's scratch file: not a table's name,
		 * nor a table's stream (dog.ndjson; fs_resolve refuses the
		 * stream names of tables that do not exist) */
		struct store_table tb;
		size_t sl;
		int fmt = fs_stream_form(name, &sl);
		if (store_table_get(t, name, strlen(name), &tb) == 0 ||
		    (fmt >= 0 && store_table_get(t, name, sl, &tb) == 0)) {
			store_txn_abort(t);
			return EEXIST;
		}
	}
	rc = fs_resolve(t, tn, name, &r, &err);
	if (rc == 0)
		rc = store_obj_get(t, tn->tid, r.kind, r.key, r.keylen, &o) == 0
			 ? EEXIST
			 : 0;
	if (rc == 0 && r.kind == STORE_RECORD &&
	    fs_find_pending(tn, r.key, r.keylen))
		rc = EEXIST;
	else if (rc == ENOENT && r.long_form)
		rc = fs_refuse_node(
		    EINVAL, tn, name, NULL,
		    "a hashed long name can only be written through an "
		    "existing record; write the record under a shorter key");
	store_txn_abort(t);
	if (rc == EINVAL || rc == EPERM)
		return fs_refuse_node(rc, tn, name, &err, NULL);
	if (rc)
		return rc;
make:
	n = fs_obj_node(tn, r.kind, r.key, r.keylen,
			store_ino_alloc(tn->db->env));
	if (!n)
		return ENOMEM;
	if (r.kind == STORE_RECORD) {
		/* stored by the first commit (fs_node_new_attrs) */
		n->cattrs = *attrs;
		n->has_cattrs = 1;
	}
	if (r.kind == STORE_SCRATCH || commit_now) {
		int64_t now = fs_now_ns();
		if (r.kind == STORE_SCRATCH) {
			struct store_obj so = {
			    .ino = n->ino & ((1ull << FS_DB_SHIFT) - 1),
			    .btime_ns = now,
			    .mtime_ns = now,
			    .attrs = *attrs};
			rc = fs_scratch_put(n, &so);
		} else {
			struct fs_commit c = {
			    .n = n, .body = "", .len = 0, .now = now};
			rc = store_write(tn->db->env, fs_commit_fn, &c);
			if (rc)
				fs_refuse_node(rc, tn, name, &c.err, NULL);
			n->has_cattrs = 0;
		}
		if (!rc)
			rc = fs_committed(tn->db);
		if (rc) {
			fs_node_maybe_free(n);
			return rc;
		}
	} else {
		n->pending_btime_ns = fs_now_ns();
	}
	fs_dir_changed(tn->db, tn->kind == FS_TABLE ? tn->tid : 0, tn->tname);
	*out = n;
	return 0;
}

void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	struct fs_node *p = fs_node_get(parent), *n = NULL;
	struct fs_file *f = NULL;
	struct fuse_entry_param e;
	int rc;

	fs.n_ops++;
	if (!p) {
		rc = ESTALE;
		goto out;
	}
	if (p->kind == FS_DB && strcmp(name, SCHEMA_FILE) == 0 &&
	    !p->db->dropped) {
		/* cp -r, tar x: a schema written whole, applied at close */
		p->db->schema_hidden = 0;
		n = fs_schema_node(p->db);
		rc = n ? 0 : ENOMEM;
	} else {
		struct store_attrs a = creation_attrs(req, S_IFREG, mode);
		rc = new_file(p, name, 0, &a, &n);
		if (rc == EEXIST && !(fi->flags & O_EXCL) &&
		    (p->kind == FS_TABLE || p->kind == FS_DB)) {
			/* taken since the kernel's lookup (another process
			 * made it): open it, as open(2) does without O_EXCL,
			 * and as it checks the file's mode, which the kernel
			 * does not for a file it thinks it creates */
			rc = fs_lookup_file(p, name, &n);
			if (!rc)
				rc = may_open(req, n, fi->flags);
			if (!rc)
				rc = fs_file_open(n, fi, &f);
			if (rc)
				goto out;
			goto reply;
		}
	}
	if (rc)
		goto out;
	f = fs_file_new(n);
	if (!f) {
		rc = ENOMEM;
		goto out;
	}
	fs_file_set_writable(f, (fi->flags & O_ACCMODE) != O_RDONLY);
	if (n->kind == FS_SCHEMA)
		f->dirty = 1;
	if (n->kind == FS_RECORD) {
		rc = fs_file_truncated(f);
		if (rc)
			goto out;
		/* >> of a new record: a patch of nothing (commit.c) */
		f->merge = (fi->flags & O_APPEND) && !(fi->flags & O_TRUNC);
		n->pending = f;
		n->pending_pid = fuse_req_ctx(req)->pid;
		f->snap_mtime_ns = f->snap_btime_ns = n->pending_btime_ns;
	}
	fi->noflush = n->kind != FS_RECORD && n->kind != FS_SCHEMA;
	/* a writer's raw bytes stay out of the page cache (record_cache) */
	fi->direct_io = n->kind == FS_RECORD || n->kind == FS_SCHEMA;
reply:
	memset(&e, 0, sizeof(e));
	rc = fs_node_attr(n, &e.attr, NULL);
	if (rc)
		goto out;
	e.ino = n->ino;
	e.attr_timeout = fs_attr_ttl(n);
	e.entry_timeout = fs_entry_ttl(n);
	fi->fh = (uintptr_t)f;
	n->nlookup++;
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		n->nlookup--;
		fs_file_free(f);
	}
	return;
out:
	if (f)
		fs_file_free(f);
	else if (n)
		fs_node_maybe_free(n);
	fuse_reply_err(req, rc);
}

void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	      dev_t rdev)
{
	struct fs_node *p = fs_node_get(parent), *n = NULL;
	int rc;
	fs.n_ops++;
	if (!p) {
		rc = ESTALE;
		goto out;
	}
	if (!S_ISREG(mode)) {
		rc = fs_refuse_node(
		    EPERM, p, name, NULL,
		    "only regular files and directories can be made here");
		goto out;
	}
	{
		struct store_attrs a = creation_attrs(req, S_IFREG, mode);
		rc = new_file(p, name, 1, &a, &n);
	}
	if (rc)
		goto out;
	rc = fs_reply_entry(req, n);
	if (rc)
		goto out;
	return;
out:
	fuse_reply_err(req, rc);
}

struct table_op {
	struct fs_db *db;
	const char *name;
	struct store_table tb;
	int64_t now;
	int force;
	struct store_attrs attrs; /* mkdir: its mode and owner */
};

static int mktable_fn(struct store_txn *t, void *arg)
{
	struct table_op *op = arg;
	struct store_obj o;
	/* a file beside the tables holds the name */
	if (store_obj_get(t, 0, STORE_SCRATCH, op->name, strlen(op->name),
			  &o) == 0)
		return EEXIST;
	int rc = store_table_create(t, op->name, strlen(op->name), op->now,
				    &op->attrs, &op->tb);
	return rc ? rc : fs_feed_table(op->db, t, op->name, "create", NULL, 0);
}

static int rmtable_fn(struct store_txn *t, void *arg)
{
	struct table_op *op = arg;
	int rc = store_table_drop(t, op->name, strlen(op->name), op->force);
	return rc ? rc : fs_feed_table(op->db, t, op->name, "drop", NULL, 0);
}

/* Refuse name for a database (p the root) or a table (p a database). */
static int bad_name(const struct fs_node *p, const char *name)
{
	struct schema_err err;
	schema_fail(&err, EINVAL,
		    "a %s name must not hold '.', '%%', '/' or control "
		    "characters, and be 1 to 200 bytes",
		    p->kind == FS_ROOT ? "database" : "table");
	return fs_refuse_node(EINVAL, p, name, &err, NULL);
}

void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs_node *p = fs_node_get(parent), *n = NULL;
	int rc;

	fs.n_ops++;
	if (!p) {
		rc = ESTALE;
		goto out;
	}
	rc = fs_refuse_long(p, name);
	if (rc)
		goto out;
	if ((p->kind == FS_ROOT || p->kind == FS_DB) && strlen(name) > 200) {
		rc = fs_refuse_node(
		    ENAMETOOLONG, p, name, NULL,
		    "names of databases and tables hold at most 200 "
		    "bytes");
		goto out;
	}
	if (p->kind == FS_ROOT) {
		struct fs_db *db;
		if (strcmp(name, ".recordfs") == 0 || fs_db_find(name)) {
			rc = EEXIST;
			goto out;
		}
		if (!fs_name_ok(name)) {
			rc = bad_name(p, name);
			goto out;
		}
		struct store_attrs a = creation_attrs(req, S_IFDIR, mode);
		rc = fs_db_create(name, &a, &db);
		if (rc) {
			fs_refuse_node(rc, p, name, NULL, NULL);
			goto out;
		}
		n = fs_node_new(fs_db_ino(db, FS_INO_DBDIR), FS_DB);
		if (!n) {
			rc = ENOMEM;
			goto out;
		}
		n->db = db;
	} else if (p->kind == FS_DB) {
		struct table_op op = {.db = p->db,
				      .name = name,
				      .now = fs_now_ns(),
				      .attrs =
					  creation_attrs(req, S_IFDIR, mode)};
		if (p->db->dropped) {
			rc = ENOENT;
			goto out;
		}
		if (!fs_name_ok(name)) {
			rc = bad_name(p, name);
			goto out;
		}
		rc = store_write(p->db->env, mktable_fn, &op);
		if (rc) {
			if (rc != EEXIST)
				fs_refuse_node(rc, p, name, NULL, NULL);
			goto out;
		}
		fs_committed(p->db);
		fs_dir_changed(p->db, 0, NULL);
		p->db->schema_hidden = 0; /* it describes the new table */
		n = fs_table_node(p->db, name, &op.tb);
		if (!n) {
			rc = ENOMEM;
			goto out;
		}
	} else if (fs_is_by(p->kind)) {
		rc = fs_refuse_node(EPERM, p, name, NULL, FS_BY_READONLY);
		goto out;
	} else if (p->kind == FS_TABLE) {
		rc = fs_refuse_node(
		    EPERM, p, name, NULL,
		    "a table holds records and files, not directories");
		goto out;
	} else {
		rc = EPERM;
		goto out;
	}
	rc = fs_reply_entry(req, n);
	if (rc)
		goto out;
	return;
out:
	fuse_reply_err(req, rc);
}

/*
 * Is a file open (or a record being created) in database db -- in table
 * tname, when given?  Dropping either under an open file would leave the
 * file pointing at nothing, so rmdir waits for the close.
 */
static int busy_in(const struct fs_db *db, const char *tname)
{
	const struct fs_file *f;
	for (f = fs.files; f; f = f->next)
		if (f->node->db == db && !f->node->orphan &&
		    (!tname ||
		     (f->node->tname && strcmp(f->node->tname, tname) == 0)))
			return 1;
	return 0;
}

void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_node *p = fs_node_get(parent);
	int rc;

	fs.n_ops++;
	if (!p) {
		rc = ESTALE;
		goto out;
	}
	rc = fs_refuse_long(p, name);
	if (rc)
		goto out;
	if (p->kind == FS_ROOT) {
		struct fs_db *db = fs_db_find(name);
		if (!db) {
			rc = strcmp(name, ".recordfs") ? ENOENT : EPERM;
			goto out;
		}
		if (busy_in(db, NULL)) {
			rc = fs_refuse_node(
			    EBUSY, p, name, NULL,
			    "files in the database are still open");
			goto out;
		}
		rc = fs_db_drop(db);
		if (rc == ENOTEMPTY)
			fs_refuse_node(
			    rc, p, name, NULL,
			    "the database still has tables or files; remove "
			    "them first (rm -rf removes them with their "
			    "records)");
		goto out;
	}
	if (p->kind == FS_DB) {
		struct table_op op = {.db = p->db, .name = name};
		if (p->db->dropped) {
			rc = ENOENT;
			goto out;
		}
		if (busy_in(p->db, name)) {
			rc =
			    fs_refuse_node(EBUSY, p, name, NULL,
					   "files in the table are still open");
			goto out;
		}
		rc = store_write(p->db->env, rmtable_fn, &op);
		if (rc == ENOTEMPTY)
			fs_refuse_node(
			    rc, p, name, NULL,
			    "the table still holds records or files; rm -rf "
			    "removes them with the table");
		if (!rc) {
			fs_schema_reset(p->db); /* its schema went with it */
			fs_committed(p->db);
			fs_dir_changed(p->db, 0, NULL);
		}
		goto out;
	}
	if (fs_is_by(p->kind)) {
		rc = fs_refuse_node(EPERM, p, name, NULL, FS_BY_READONLY);
		goto out;
	}
	rc = p->kind == FS_TABLE ? ENOTDIR : ENOENT;
out:
	fuse_reply_err(req, rc);
}

/* Records, tables and files have one name each and hold no links: the
 * .by tree's links are the index's.  Refuse a link made as name in parent. */
static void refuse_link(fuse_req_t req, fuse_ino_t parent, const char *name,
			const char *why)
{
	struct fs_node *p = fs_node_get(parent);
	int rc;

	fs.n_ops++;
	if (!p)
		rc = ESTALE;
	else if (!(rc = fs_refuse_long(p, name)))
		rc = fs_refuse_node(EPERM, p, name, NULL, why);
	fuse_reply_err(req, rc);
}

void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		const char *name)
{
	refuse_link(req, parent, name,
		    "symbolic links cannot be made here; a table's .by tree "
		    "has one per record");
}

void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	     const char *newname)
{
	refuse_link(req, newparent, newname,
		    "hard links cannot be made: a record or file has one name "
		    "(cp copies it)");
}
