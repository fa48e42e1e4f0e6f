/*
 * attr.c: attributes and times, and how long the kernel may keep them.
 *
 * What stat shows for each kind of node (sizes as cat would read them,
 * creation and modification times from storage), the timeouts of every
 * reply that carries attributes or names (see "Caching" below), and the
 * getattr and setattr handlers.  A truncation or utimens is carried out
 * where it belongs (an open record's buffer, scratch.c, record.c); this
 * file decides which.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_i.h"

/*
 * Caching.  A FUSE round trip costs more than the work behind most
 * requests, so the kernel keeps what it learns for as long as it stays true:
 *
 * - Names and attributes of databases, tables, records and scratch files
 *   are kept for TTL_LONG, and so is the absence of a name (a negative
 *   entry).  Names there change only through the kernel's own create,
 *   unlink, rename, mkdir and rmdir, which update its cache themselves.
 *   Whatever changes a record's text other than through the kernel's write
 *   path (a commit, a rename that rewrites the key, mv through .by) calls
 *   fs_node_changed(), which ends the kernel's attributes of that inode at
 *   once (a notification that takes no lock a request could hold, so it is
 *   sent from inside the handler).
 * - A record created and not yet committed is given with no timeout: if its
 *   text is refused it never exists, and the kernel asks again.
 * - The .by tree's links and its negative entries change with every record:
 *   never kept.  Its directories are kept for TTL_BY, as before.
 * - Nor are negative entries in a database directory kept: writing
 *   schema.graphql makes tables there without the kernel.  Records that a
 *   schema change rewrites (dates, times moved) get fs_node_changed().
 *   schema.graphql and <table>.schema.json are made at each open, like
 *   errors and stats: no timeouts, direct_io.
 * - .next, errors and stats change size on every read: their names are kept,
 *   their attributes are not, and they are read with direct_io.
 * - Record contents go through the page cache.  fs_node.kcache tracks
 *   whether the kernel's pages are the stored text; an open keeps them
 *   (keep_cache) only then.  See record_cache() in file.c.
 * - A table stream's name is never kept: it gives the stream's pages node
 *   once its text is known, the stream node otherwise.  A pages node's
 *   attributes are kept for TTL_LONG: its text is one and never moves.
 *   See "The kernel's pages" in stream.c.
 */

static void dir_attr(struct stat *st, uint64_t ino, int64_t mt, int64_t bt)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
	st->st_uid = fs.uid;
	st->st_gid = fs.gid;
	st->st_blksize = 4096;
	fs_set_time(&st->st_mtim, mt);
	fs_set_time(&st->st_ctim, mt);
	fs_set_time(&st->st_atim, mt);
	(void)bt;
}

static void file_attr(struct stat *st, uint64_t ino, uint64_t size, int64_t mt,
		      mode_t mode)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFREG | mode;
	st->st_nlink = 1;
	st->st_uid = fs.uid;
	st->st_gid = fs.gid;
	st->st_size = (off_t)size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	fs_set_time(&st->st_mtim, mt);
	fs_set_time(&st->st_ctim, mt);
	fs_set_time(&st->st_atim, mt);
}

/*
 * st's mode, owner and times as kept (a), over what dir_attr or file_attr
 * filled in: without a kept mode the mount owner's and dflt; without kept
 * times, the modification time.
 */
static void kept_attrs(struct stat *st, const struct store_attrs *a,
		       mode_t dflt)
{
	mode_t type = st->st_mode & S_IFMT;

	if (a->mode) {
		st->st_mode = type | (a->mode & 07777);
		st->st_uid = a->uid;
		st->st_gid = a->gid;
	} else {
		st->st_mode = type | dflt;
	}
	if (a->atime_ns)
		fs_set_time(&st->st_atim, a->atime_ns);
	if (a->ctime_ns)
		fs_set_time(&st->st_ctim, a->ctime_ns);
}

/*
 * The kept attrs of the table n belongs to (n: a table's .next, .by tree
 * or anything named by the table), as a table's would show: 0 where none.
 */
static void table_attrs(const struct fs_node *n, struct store_attrs *a)
{
	struct store_txn *t;
	struct store_table tb;

	memset(a, 0, sizeof(*a));
	if (!n->tname || n->db->dropped || store_read_begin(n->db->env, &t))
		return;
	if (store_table_get(t, n->tname, strlen(n->tname), &tb) == 0 &&
	    tb.tid == n->tid)
		*a = tb.attrs;
	store_txn_abort(t);
}

/*
 * A name that is made, not stored, takes its owner from the directory
 * whose writers it serves, and the mode bits of its directory's (dir,
 * defaulting to 0755) that keep (its read bits) and make it (its write
 * bits shifted to read: .next is read by those who may write the table).
 */
static void derived_attrs(struct stat *st, const struct store_attrs *dir,
			  mode_t keep, int write_reads)
{
	mode_t dm = dir->mode ? dir->mode & 07777 : 0755, m = dm & keep;

	if (write_reads)
		m |= (dm & 0222) << 1;
	st->st_mode = (st->st_mode & S_IFMT) | m;
	if (dir->mode) {
		st->st_uid = dir->uid;
		st->st_gid = dir->gid;
	}
}

static uint64_t shown_size(const void *text, size_t len)
{
	if (fs.opts.compact)
		return schema_compact(text, len, NULL);
	return len;
}

/*
 * Readers of an older text still read it through the page cache, which the
 * kernel clamps to the size it knows: until they close, that size stays
 * theirs (and is given with no timeout).  New readers read the new text
 * with direct_io, which the size does not clamp.
 */
static int pinned(const struct fs_node *n)
{
	return n->pc_opens && n->pc_gen != n->gen;
}

/*
 * The attributes of a record whose name stands for another record now, or
 * for nothing (rm, or a rename onto it), while handles are still open on
 * it: theirs, with no link.  Its page cache readers' text sets the size
 * (the kernel clamps their reads to it); a handle that opened the name
 * after it changed hands reads another record's text, with direct_io, so
 * its size is nobody's.  ENOENT when no handle is open.
 */
static int gone_attr(struct fs_node *n, struct stat *st, int64_t *btime)
{
	struct fs_file *f, *any = NULL;

	for (f = fs.files; f; f = f->next)
		if (f->node == n &&
		    (!any || (any->other && !f->other) || (f->pc && !any->pc)))
			any = f;
	if (!(f = any))
		return ENOENT;
	file_attr(st, n->ino, n->pc_opens ? n->pc_len : f->len,
		  f->snap_mtime_ns, 0644);
	/* one removed before its first commit had no stored attrs to take */
	kept_attrs(st,
		   f->snap_attrs.mode || !n->has_cattrs ? &f->snap_attrs
							: &n->cattrs,
		   0644);
	st->st_nlink = 0;
	*btime = f->snap_btime_ns;
	return 0;
}

/*
 * Fill st for node n, and *btime (if not NULL) with its creation time.
 * ENOENT when what it names is gone.
 */
int fs_node_attr(struct fs_node *n, struct stat *st, int64_t *btime)
{
	int64_t bt_unused;
	struct store_txn *t;
	struct store_obj o;
	struct store_table tb;
	int rc = 0;

	if (!btime)
		btime = &bt_unused;
	*btime = fs.start_ns;
	switch (n->kind) {
	case FS_ROOT: {
		/* the data directory's own: chmod of the root is its chmod */
		struct stat dst;
		dir_attr(st, n->ino, fs.start_ns, fs.start_ns);
		if (stat(fs.datadir, &dst) == 0) {
			st->st_mode = S_IFDIR | (dst.st_mode & 07777);
			st->st_uid = dst.st_uid;
			st->st_gid = dst.st_gid;
			st->st_atim = dst.st_atim;
			st->st_mtim = dst.st_mtim;
			st->st_ctim = dst.st_ctim;
		}
		return 0;
	}
	case FS_STATUS:
		dir_attr(st, n->ino, fs.start_ns, fs.start_ns);
		st->st_mode = S_IFDIR | (fs.opts.status_public ? 0755 : 0700);
		return 0;
	case FS_NEXT: {
		struct store_attrs ta;
		/* like /proc: the size is unknown until read */
		if (n->db->dropped)
			return ENOENT;
		file_attr(st, n->ino, 0, fs_now_ns(), 0444);
		table_attrs(n, &ta);
		derived_attrs(st, &ta, 0, 1);
		return 0;
	}
	case FS_ERRORS:
		/* the ring's text from this node's start: it only grows */
		file_attr(st, n->ino, fs_errors_end() - n->base, fs_now_ns(),
			  fs.opts.status_public ? 0444 : 0400);
		return 0;
	case FS_STATS: {
		size_t len = 0;
		char *s = fs_stats_text(&len);
		free(s);
		file_attr(st, n->ino, len, fs_now_ns(),
			  fs.opts.status_public ? 0444 : 0400);
		return 0;
	}
	case FS_CHANGES:
	case FS_HISTORY: {
		/* the feed's text from this node's start, which only grows;
		 * a record's history, read as the database or table is */
		struct store_attrs ta;
		uint64_t size = 0;
		rc = fs_feed_size(n, &size);
		if (rc)
			return rc;
		file_attr(st, n->ino, size, n->db->feed_mtime_ns, 0444);
		if (n->kind == FS_CHANGES) {
			derived_attrs(st, &n->db->attrs, 0444, 0);
		} else {
			table_attrs(n, &ta);
			derived_attrs(st, &ta, 0444, 0);
		}
		return 0;
	}
	case FS_SCHEMA:
	case FS_JSCHEMA: {
		size_t len = 0;
		char *s;
		int64_t mt;
		if (n->db->dropped)
			return ENOENT;
		rc = n->kind == FS_SCHEMA
			 ? fs_schema_text(n->db, &s, &len)
			 : fs_schema_json(n->db, n->tname, &s, &len);
		if (rc)
			return rc;
		free(s);
		mt = fs_schema_mtime(n->db);
		file_attr(st, n->ino, len, mt ? mt : fs.start_ns, 0444);
		/* schema.graphql is written by who may write the database */
		derived_attrs(st, &n->db->attrs, 0444, 0);
		if (n->kind == FS_SCHEMA)
			st->st_mode |=
			    (n->db->attrs.mode ? n->db->attrs.mode : 0755) &
			    0222;
		return 0;
	}
	case FS_DB:
		if (n->db->dropped)
			return ENOENT;
		dir_attr(st, n->ino,
			 n->db->mtime_ns ? n->db->mtime_ns : fs.start_ns,
			 fs.start_ns);
		kept_attrs(st, &n->db->attrs, 0755);
		return 0;
	case FS_BY:
	case FS_BYATTR:
	case FS_BYVAL:
	case FS_HISTDIR: {
		struct store_attrs ta;
		if (n->db->dropped)
			return ENOENT;
		dir_attr(st, n->ino, fs.start_ns, fs.start_ns);
		/* read as the table is; written by nobody */
		table_attrs(n, &ta);
		derived_attrs(st, &ta, 0555, 0);
		return 0;
	}
	case FS_STREAM:
	case FS_BYSTREAM: {
		struct store_attrs ta;
		/* like /proc: the size is known only at the end of a read */
		if (n->db->dropped)
			return ENOENT;
		/* a pages node's text is one, kept (stream.c) */
		if (n->spages)
			file_attr(st, n->ino, n->slen, n->smtime_ns, 0644);
		else
			file_attr(st, n->ino, 0, fs_now_ns(), 0644);
		table_attrs(n, &ta);
		/* read as the table is; a table's written by its writers */
		derived_attrs(st, &ta, n->kind == FS_STREAM ? 0666 : 0444, 0);
		return 0;
	}
	case FS_BYLINK: {
		char target[4096];
		size_t tl = fs_by_readlink(n, target, sizeof(target));
		file_attr(st, n->ino, tl, fs.start_ns, 0777);
		st->st_mode = S_IFLNK | 0777;
		return 0;
	}
	default:
		break;
	}
	if (n->db->dropped)
		return ENOENT;
	rc = store_read_begin(n->db->env, &t);
	if (rc)
		return rc;
	if (n->kind == FS_TABLE) {
		rc = store_table_get(t, n->tname, strlen(n->tname), &tb);
		if (!rc && tb.tid != n->tid)
			rc = ENOENT;
		if (!rc) {
			int64_t moved = fs_dir_mtime(n->db, n->tid);
			dir_attr(st, n->ino, tb.mtime_ns, tb.btime_ns);
			kept_attrs(st, &tb.attrs, 0755);
			if (moved > tb.mtime_ns) {
				fs_set_time(&st->st_mtim, moved);
				fs_set_time(&st->st_ctim, moved);
			}
			*btime = tb.btime_ns;
		}
		goto out;
	}
	rc = store_obj_get(t, n->tid,
			   n->kind == FS_RECORD ? STORE_RECORD : STORE_SCRATCH,
			   n->key, n->keylen, &o);
	if (rc == 0 && !fs_obj_is(n, &o))
		rc = ENOENT; /* the name stands for another file now */
	if (n->kind == FS_RECORD &&
	    (n->unlinked || (rc == ENOENT && !n->pending))) {
		rc = gone_attr(n, st, btime);
		goto out;
	}
	if (rc == ENOENT && n->pending) {
		file_attr(st, n->ino, n->pending->len, n->pending_btime_ns,
			  0644);
		if (n->has_cattrs)
			kept_attrs(st, &n->cattrs, 0644);
		*btime = n->pending_btime_ns;
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	*btime = o.btime_ns;
	if (n->kind == FS_RECORD && pinned(n))
		file_attr(st, n->ino, n->pc_len, o.mtime_ns, 0644);
	else if (n->kind == FS_RECORD)
		file_attr(st, n->ino, shown_size(o.data, o.len), o.mtime_ns,
			  0644);
	else
		file_attr(st, n->ino, o.size, o.mtime_ns, 0644);
	kept_attrs(st, &o.attrs, 0644);
	if (n->orphan)
		st->st_nlink = 0; /* removed, kept while open */
out:
	store_txn_abort(t);
	return rc;
}

/* How long the kernel may keep a node's attributes (see "Caching"). */
static double node_ttl(const struct fs_node *n)
{
	switch (n->kind) {
	case FS_RECORD:
		return n->pending || pinned(n) ? 0 : TTL_LONG;
	case FS_ROOT:
	case FS_STATUS:
	case FS_DB:
	case FS_TABLE:
	case FS_SCRATCH:
		return TTL_LONG;
	case FS_BY:
	case FS_BYATTR:
	case FS_BYVAL:
		return TTL_BY;
	case FS_STREAM:
		return n->spages ? TTL_LONG : 0; /* a pages node's never move */
	default:
		return 0; /* .by links, .next, errors, stats */
	}
}

/* The attribute timeout of a reply about n; notes that the kernel now
 * holds attributes a change must end. */
double fs_attr_ttl(struct fs_node *n)
{
	double t = node_ttl(n);
	if (t > 0)
		n->kattr = 1;
	return t;
}

double fs_entry_ttl(const struct fs_node *n)
{
	if (n->kind == FS_NEXT || n->kind == FS_STATS || n->kind == FS_HISTDIR)
		return TTL_LONG; /* fixed names */
	if (n->kind == FS_STREAM)
		return 0; /* the node a stream's name gives changes */
	return node_ttl(n);
}

/*
 * Reply to a lookup-like request with node n, taking one lookup.  When its
 * attributes cannot be had, n is freed if nothing else holds it and the
 * errno is returned, for the caller to reply with.
 */
int fs_reply_entry(fuse_req_t req, struct fs_node *n)
{
	struct fuse_entry_param e;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = fs_node_attr(n, &e.attr, NULL);
	if (rc) {
		fs_node_maybe_free(n);
		return rc;
	}
	e.ino = n->ino;
	e.attr_timeout = fs_attr_ttl(n);
	e.entry_timeout = fs_entry_ttl(n);
	n->nlookup++;
	fuse_reply_entry(req, &e);
	return 0;
}

void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_get(ino);
	struct stat st;
	int rc;
	fs.n_ops++;
	if (!n) {
		rc = ESTALE;
		goto out;
	}
	rc = fs_node_attr(n, &st, NULL);
	if (rc)
		goto out;
	fuse_reply_attr(req, &st, fs_attr_ttl(n));
	return;
out:
	fuse_reply_err(req, rc);
}

/* A chmod, chown or utimens of a file or a table. */
struct attrs_op {
	struct fs_node *n;
	int to_set;	/* FUSE_SET_ATTR_* */
	int keep_mtime; /* a commit to come takes the mtime */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int64_t atime, mtime, now;
};

/* Apply op to a, making what was kept by default explicit first. */
static void attrs_apply(const struct attrs_op *op, struct store_attrs *a,
			mode_t type, mode_t dflt)
{
	if (!a->mode) {
		a->mode = type | dflt;
		a->uid = fs.uid;
		a->gid = fs.gid;
	}
	if (op->to_set & FUSE_SET_ATTR_MODE)
		a->mode = type | (op->mode & 07777);
	if (op->to_set & FUSE_SET_ATTR_UID)
		a->uid = op->uid;
	if (op->to_set & FUSE_SET_ATTR_GID)
		a->gid = op->gid;
	if (op->to_set & FUSE_SET_ATTR_ATIME_NOW)
		a->atime_ns = op->now;
	else if (op->to_set & FUSE_SET_ATTR_ATIME)
		a->atime_ns = op->atime;
	/* the time of this change: never set back by utimens */
	a->ctime_ns = op->now;
}

static int obj_attrs_fn(struct store_txn *t, void *arg)
{
	struct attrs_op *op = arg;
	struct fs_node *n = op->n;
	enum store_kind k = n->kind == FS_RECORD ? STORE_RECORD : STORE_SCRATCH;
	struct store_obj o;
	int rc = store_obj_get(t, n->tid, k, n->key, n->keylen, &o);
	if (!rc && !fs_obj_is(n, &o))
		rc = ENOENT; /* the name went to another file: not this one's */
	if (rc)
		return rc;
	attrs_apply(op, &o.attrs, S_IFREG, 0644);
	if ((op->to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) &&
	    !op->keep_mtime)
		o.mtime_ns = op->mtime;
	/* o.data points into the page being replaced: copy it first. */
	if (o.len) {
		char *copy = malloc(o.len);
		if (!copy)
			return ENOMEM;
		memcpy(copy, o.data, o.len);
		o.data = copy;
		rc = store_obj_put(t, n->tid, k, n->key, n->keylen, &o);
		free(copy);
		return rc;
	}
	return store_obj_put(t, n->tid, k, n->key, n->keylen, &o);
}

static int table_attrs_fn(struct store_txn *t, void *arg)
{
	struct attrs_op *op = arg;
	struct fs_node *n = op->n;
	struct store_table tb;
	int rc = store_table_get(t, n->tname, strlen(n->tname), &tb);
	if (!rc && tb.tid != n->tid)
		rc = ENOENT;
	if (rc)
		return rc;
	attrs_apply(op, &tb.attrs, S_IFDIR, 0755);
	if (op->to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		/* tar x and rsync -a set it after filling the table */
		tb.mtime_ns = op->mtime;
		fs_dir_time_forget(n->db, n->tid);
	}
	return store_table_set(t, n->tname, strlen(n->tname), &tb);
}

/*
 * A name that is made (schema.graphql, .next, .recordfs, .by) shows the
 * mode and owner of what it follows: a chmod or chown to what it shows
 * changes nothing (tar x and cp -a of a database restore them so), any
 * other is EPERM.
 */
static int same_attrs(struct fs_node *n, const struct stat *attr, int to_set)
{
	struct stat now;
	int rc = fs_node_attr(n, &now, NULL);
	if (rc)
		return rc;
	if (((to_set & FUSE_SET_ATTR_MODE) &&
	     (attr->st_mode & 07777) != (now.st_mode & 07777)) ||
	    ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != now.st_uid) ||
	    ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != now.st_gid))
		return fs_refuse_node(EPERM, n, NULL, NULL,
				      "its mode and owner follow its table's "
				      "or database's (or the mount's): change "
				      "those instead");
	return 0;
}

/* chmod, chown and touch of the mount's root are the data directory's. */
static int root_attrs(const struct stat *attr, int to_set)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
				 {.tv_nsec = UTIME_OMIT}};

	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    chmod(fs.datadir, attr->st_mode & 07777) != 0)
		return errno;
	if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    chown(fs.datadir,
		  to_set & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1,
		  to_set & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1) != 0)
		return errno;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		ts[0] = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		ts[1] = attr->st_mtim;
	if ((ts[0].tv_nsec != UTIME_OMIT || ts[1].tv_nsec != UTIME_OMIT) &&
	    utimensat(AT_FDCWD, fs.datadir, ts, 0) != 0)
		return errno;
	return 0;
}

/* A time as a chmod or touch gives it, in ns; EOVERFLOW past int64_t. */
static int time_ns(const struct timespec *ts, int64_t *ns)
{
	if (ts->tv_sec > INT64_MAX / 1000000000 - 1 ||
	    ts->tv_sec < INT64_MIN / 1000000000 + 1)
		return EOVERFLOW;
	*ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
	return 0;
}

void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_get(ino);
	struct fs_file *f = fi ? (struct fs_file *)(uintptr_t)fi->fh : NULL;
	struct stat st;
	int rc = 0;

	fs.n_ops++;
	if (!n) {
		rc = ESTALE;
		goto out;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (n->kind == FS_SCRATCH) {
			rc = fs_scratch_truncate(n, (uint64_t)attr->st_size);
			if (rc)
				goto out;
		} else if (n->kind == FS_RECORD) {
			if ((uint64_t)attr->st_size > SCHEMA_RECORD_MAX) {
				rc = EFBIG;
				goto out;
			}
			if (f && f->writable) {
				if (attr->st_size == 0) {
					rc = fs_file_truncated(f);
				} else {
					rc = fs_file_reserve(
					    f, (size_t)attr->st_size + 1);
					if (rc)
						goto out;
					if ((size_t)attr->st_size > f->len)
						memset(f->buf + f->len, 0,
						       (size_t)attr->st_size -
							   f->len);
					f->len = (size_t)attr->st_size;
					f->dirty = 1;
					f->holes = 1;
					f->written = 1;
				}
				if (rc)
					goto out;
			} else if (attr->st_size == 0) {
				/* truncate(1) to 0: a record holding its key */
				struct fs_commit c = {.n = n,
						      .body = "",
						      .len = 0,
						      .now = fs_now_ns()};
				rc = store_write(n->db->env, fs_commit_fn, &c);
				if (rc) {
					fs_refuse_node(rc, n, NULL, &c.err,
						       NULL);
					goto out;
				}
				fs_node_changed(n);
				fs_committed(n->db);
			} else {
				rc = fs_refuse_node(
				    EINVAL, n, NULL, NULL,
				    "cutting a record's text short "
				    "would leave it incomplete; write "
				    "the whole record instead");
				goto out;
			}
		} else if (n->kind == FS_SCHEMA) {
			/* a text applied whole at close; an empty one changes
			 * nothing, as tables are dropped by rmdir only */
			if ((uint64_t)attr->st_size > SCHEMA_SDL_MAX) {
				rc = EFBIG;
				goto out;
			}
			if (f && f->writable) {
				rc = fs_file_reserve(f,
						     (size_t)attr->st_size + 1);
				if (rc)
					goto out;
				if ((size_t)attr->st_size > f->len)
					memset(f->buf + f->len, 0,
					       (size_t)attr->st_size - f->len);
				f->len = (size_t)attr->st_size;
				f->dirty = 1;
			} else if (attr->st_size != 0) {
				rc = fs_refuse_node(
				    EINVAL, n, NULL, NULL,
				    "cutting the schema short would "
				    "leave it incomplete; write the "
				    "whole text instead");
				goto out;
			}
		} else if (fs_is_stream(n->kind)) {
			/* an open with O_TRUNC already replaces the table */
			if (!(f && f->stream && f->writable &&
			      attr->st_size == 0)) {
				rc = fs_refuse_node(
				    EPERM, n, NULL, NULL,
				    n->kind == FS_STREAM
					? "a table's stream is not cut: "
					  "write it with > (: > T.ndjson "
					  "empties the table)"
					: "a query's stream is read-only");
				goto out;
			}
		} else if (n->kind == FS_ERRORS || n->kind == FS_STATS ||
			   n->kind == FS_JSCHEMA || n->kind == FS_CHANGES ||
			   n->kind == FS_HISTORY) {
			rc = EACCES;
			goto out;
		} else {
			rc = EISDIR;
			goto out;
		}
	}
	if ((to_set &
	     (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    n->kind != FS_RECORD && n->kind != FS_SCRATCH &&
	    n->kind != FS_TABLE && n->kind != FS_DB && n->kind != FS_ROOT &&
	    (rc = same_attrs(n, attr, to_set)) != 0)
		goto out;
	if (n->kind == FS_ROOT) {
		rc = root_attrs(attr, to_set);
		if (rc)
			goto out;
	}
	if ((to_set &
	     (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
	      FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW |
	      FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) &&
	    (n->kind == FS_RECORD || n->kind == FS_SCRATCH ||
	     n->kind == FS_TABLE || n->kind == FS_DB)) {
		struct attrs_op op = {.n = n,
				      .to_set = to_set,
				      .mode = attr->st_mode,
				      .uid = attr->st_uid,
				      .gid = attr->st_gid,
				      .now = fs_now_ns()};
		struct fs_file *of;
		if (n->db->dropped) {
			/* an open directory of a database rmdir'd since */
			rc = ENOENT;
			goto out;
		}
		op.atime = op.mtime = op.now;
		if (((to_set & FUSE_SET_ATTR_ATIME) &&
		     !(to_set & FUSE_SET_ATTR_ATIME_NOW) &&
		     time_ns(&attr->st_atim, &op.atime)) ||
		    ((to_set & FUSE_SET_ATTR_MTIME) &&
		     !(to_set & FUSE_SET_ATTR_MTIME_NOW) &&
		     time_ns(&attr->st_mtim, &op.mtime))) {
			rc = fs_refuse_node(
			    EOVERFLOW, n, NULL, NULL,
			    "times are kept in nanoseconds since 1970 "
			    "and must lie within 292 years of it");
			goto out;
		}
		/* cp -a and tar set times before they close: the commit
		 * still to come takes the mtime (and a refused one drops it,
		 * as it drops the text). */
		if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
			for (of = fs.files; of; of = of->next)
				if (of->node == n && of->dirty) {
					of->mtime_ns = op.mtime;
					op.keep_mtime = 1;
				}
		if (n->kind == FS_RECORD && n->has_cattrs) {
			/* not stored yet: its first commit takes them */
			attrs_apply(&op, &n->cattrs, S_IFREG, 0644);
		} else if (n->kind == FS_DB) {
			attrs_apply(&op, &n->db->attrs, S_IFDIR, 0755);
			if (to_set &
			    (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
				n->db->mtime_ns = op.mtime;
			rc = fs_db_attrs_store(n->db);
			if (rc)
				goto out;
		} else if (!n->pending) {
			rc = store_write(n->db->env,
					 n->kind == FS_TABLE ? table_attrs_fn
							     : obj_attrs_fn,
					 &op);
			if (rc)
				goto out;
			fs_committed(n->db);
		}
	}
	rc = fs_node_attr(n, &st, NULL);
	if (rc)
		goto out;
	if (f && (n->kind == FS_RECORD || n->kind == FS_SCHEMA) && f->dirty) {
		/* the writer's size, not yet the record's: not kept */
		st.st_size = (off_t)f->len;
		fuse_reply_attr(req, &st, 0);
		return;
	}
	fuse_reply_attr(req, &st, fs_attr_ttl(n));
	return;
out:
	fuse_reply_err(req, rc);
}
