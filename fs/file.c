/*
 * file.c: open files: a record's text held per open, and the handlers that
 * read and write it.
 *
 * A record is read whole at open and served from that snapshot, through
 * the kernel's page cache when that is safe (record_cache); a writer's
 * bytes gather in the handle's buffer and are checked as they arrive, so
 * the write(2) that completes a bad body fails.  The commit at close,
 * fsync and release is commit.c's; a scratch file's bytes are scratch.c's;
 * the texts of .next, stats and the schemas are made elsewhere and only
 * held here.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

struct fs_file *fs_file_new(struct fs_node *n)
{
	struct fs_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->node = n;
	n->opens++;
	f->next = fs.files;
	if (fs.files)
		fs.files->prev = f;
	fs.files = f;
	return f;
}

void fs_file_free(struct fs_file *f)
{
	struct fs_node *n = f->node;
	if (f->prev)
		f->prev->next = f->next;
	else
		fs.files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	if (n->pending == f)
		n->pending = NULL;
	if (f->pc) {
		assert(n->pc_opens > 0);
		if (--n->pc_opens == 0 && n->waiting)
			fs_open_waits_run(n);
	}
	if (f->writable) {
		assert(n->writers > 0);
		n->writers--;
	}
	schema_check_free(f->check);
	fs_stream_end(f);
	free(f->buf);
	free(f);
	assert(n->opens > 0);
	if (--n->opens == 0 && n->orphan)
		fs_scratch_orphan_drop(n);
	fs_node_maybe_free(n);
}

/* Whether f writes; a node's writers keep its readers off the page cache
 * (record_cache). */
void fs_file_set_writable(struct fs_file *f, int writable)
{
	if (writable && !f->writable)
		f->node->writers++;
	f->writable = writable;
}

int fs_file_reserve(struct fs_file *f, size_t need)
{
	char *nb;
	size_t cap;
	if (need <= f->cap)
		return 0;
	cap = f->cap ? f->cap : 4096;
	while (cap < need)
		cap *= 2;
	nb = realloc(f->buf, cap);
	if (!nb)
		return ENOMEM;
	f->buf = nb;
	f->cap = cap;
	return 0;
}

/* Load a record's shown text into f->buf. */
static int file_load(struct fs_file *f)
{
	struct fs_node *n = f->node;
	struct store_txn *t;
	struct store_obj o;
	int rc = store_read_begin(n->db->env, &t);
	if (rc)
		return rc;
	rc = store_obj_get(t, n->tid, STORE_RECORD, n->key, n->keylen, &o);
	if (rc == ENOENT && n->pending && !n->unlinked) {
		rc = 0;
		f->len = 0;
		f->snap_mtime_ns = f->snap_btime_ns = n->pending_btime_ns;
		goto out;
	}
	if (rc)
		goto out;
	/*
	 * The kernel opens the inode a path led to, and a rename may have
	 * given the name to another record since: the open reads what the
	 * name holds now, outside this inode's page cache and size.
	 */
	f->other = n->unlinked || !fs_obj_is(n, &o);
	f->snap_mtime_ns = o.mtime_ns;
	f->snap_btime_ns = o.btime_ns;
	f->snap_attrs = o.attrs;
	if (fs.opts.compact) {
		size_t cl = schema_compact(o.data, o.len, NULL);
		rc = fs_file_reserve(f, cl + 1);
		if (!rc)
			f->len = schema_compact(o.data, o.len, f->buf);
	} else {
		rc = fs_file_reserve(f, o.len + 1);
		if (!rc) {
			memcpy(f->buf, o.data, o.len);
			f->len = o.len;
		}
	}
out:
	store_txn_abort(t);
	return rc;
}

static int special_load(struct fs_file *f)
{
	size_t len = 0;
	char *s = fs_stats_text(&len);
	if (!s)
		return ENOMEM;
	f->buf = s;
	f->len = len;
	f->cap = len + 1;
	return 0;
}

/* Start a record handle that replaces the whole text. */
int fs_file_truncated(struct fs_file *f)
{
	f->len = 0;
	f->merged = 0;
	f->dirty = 1;
	f->holes = 0;
	f->checked = 0;
	f->plain = 0;
	f->fresh = 1;
	/* made at the first write that needs it (file_check) */
	schema_check_free(f->check);
	f->check = NULL;
	return 0;
}

/* The largest text an open hands to the kernel's page cache itself. */
#define STORE_MAX (1u << 20)

/* Make the kernel's pages this reader's text, or say it must read with
 * direct_io. */
static void record_cache_fill(struct fs_node *n, struct fs_file *f,
			      struct fuse_file_info *fi, unsigned others)
{
	if (others == 0 && f->len <= STORE_MAX && fs.live) {
		int rc = 0;
		if (n->kcache == FS_KC_STALE) {
			rc = fuse_lowlevel_notify_inval_inode(fs.se, n->ino, 0,
							      0);
			n->kattr = 0;
		}
		if (!rc && f->len) {
			struct fuse_bufvec bv = FUSE_BUFVEC_INIT(f->len);
			bv.buf[0].mem = f->buf;
			rc = fuse_lowlevel_notify_store(fs.se, n->ino, 0, &bv,
							0);
		}
		if (!rc) {
			fi->keep_cache = 1;
			n->kcache = FS_KC_CLEAN;
			return;
		}
	}
	if (others == 0) {
		/* the kernel drops its pages; this handle fills them */
		fi->keep_cache = 0;
		n->kcache = FS_KC_CLEAN;
		return;
	}
	fi->direct_io = 1;
}

/*
 * Each handle reads the snapshot of the record it opened, whole; the page
 * cache is shared by every handle of the inode, so it serves a handle only
 * when its pages are that snapshot:
 *
 * - A writer's raw bytes are not the record: writers use direct_io and
 *   never touch the pages.
 * - A reader keeps the pages (keep_cache) when they are the stored text
 *   (FS_KC_CLEAN: no commit since they were filled).
 * - A reader alone on the record makes them so: no read or write of the
 *   record can be waiting on this thread then, so it drops stale pages and
 *   stores the text itself (notifications, no round trip), and even the
 *   first read of a record needs no READ request.
 * - Otherwise other handles may hold an older snapshot in the pages: the
 *   reader reads its own with direct_io.
 * - While readers of an older text read it from the pages, the size the
 *   kernel knows stays theirs (pinned()).
 *
 * others: handles open on n before this one.
 */
static void record_cache(struct fs_node *n, struct fs_file *f,
			 struct fuse_file_info *fi, unsigned others)
{
	f->gen = n->gen;
	fi->keep_cache = 1;
	if (f->writable) {
		fi->direct_io = 1;
		return;
	}
	if (n->writers || n->waiting || f->other) {
		/* a writer's writes move the size the kernel knows, which
		 * clamps what the page cache gives; another record's text is
		 * not this inode's */
		fi->direct_io = 1;
		return;
	}
	if (n->kcache != FS_KC_CLEAN)
		record_cache_fill(n, f, fi, others);
	if (fi->direct_io)
		return;
	f->pc = 1;
	n->pc_opens++;
	n->pc_gen = n->gen;
	n->pc_len = f->len;
}

/*
 * Open node n as fi->flags say: the handle in *out, and fi's handle and
 * caching fields set for the reply.  0 or an errno; nothing is left made
 * on an error.
 */
int fs_file_open(struct fs_node *n, struct fuse_file_info *fi,
		 struct fs_file **out)
{
	struct fs_file *f = NULL;
	int acc = fi->flags & O_ACCMODE, rc = 0;
	unsigned others;

	others = n->opens;
	/* Refusals first: nothing is made before them. */
	switch (n->kind) {
	case FS_NEXT:
		if (acc != O_RDONLY)
			rc = fs_refuse_node(EACCES, n, NULL, NULL,
					    ".next is read to reserve a key");
		break;
	case FS_ERRORS:
	case FS_STATS:
		if (acc != O_RDONLY)
			rc = EACCES;
		break;
	case FS_CHANGES:
	case FS_HISTORY:
		if (n->db->dropped)
			rc = ENOENT;
		else if (acc != O_RDONLY)
			rc = fs_refuse_node(EACCES, n, NULL, NULL,
					    "the change feed is read-only: it "
					    "tells the changes made to the "
					    "records");
		break;
	case FS_JSCHEMA:
	case FS_SCHEMA:
		if (n->db->dropped)
			rc = ENOENT;
		else if (n->kind == FS_JSCHEMA && acc != O_RDONLY)
			rc = fs_refuse_node(
			    EACCES, n, NULL, NULL,
			    "a table's JSON Schema follows its "
			    "schema: change schema.graphql instead");
		break;
	case FS_RECORD:
	case FS_SCRATCH:
	case FS_STREAM:
	case FS_BYSTREAM:
		break;
	default:
		rc = EISDIR;
	}
	if (rc)
		goto out;
	f = fs_file_new(n);
	if (!f) {
		rc = ENOMEM;
		goto out;
	}
	fs_file_set_writable(f, acc != O_RDONLY);
	switch (n->kind) {
	case FS_NEXT:
		rc = fs_next_text(n, &f->buf, &f->len);
		f->cap = f->len + 1;
		break;
	case FS_STATS:
		rc = special_load(f);
		break;
	case FS_ERRORS:
	case FS_CHANGES:
	case FS_HISTORY:
		break; /* read where they are at each read */
	case FS_JSCHEMA:
	case FS_SCHEMA:
		if (f->writable && (fi->flags & O_TRUNC)) {
			f->dirty = 1;
			break;
		}
		rc = n->kind == FS_SCHEMA
			 ? fs_schema_text(n->db, &f->buf, &f->len)
			 : fs_schema_json(n->db, n->tname, &f->buf, &f->len);
		f->cap = f->len + 1;
		break;
	case FS_STREAM:
	case FS_BYSTREAM:
		rc = fs_stream_open(f, fi->flags);
		break;
	case FS_RECORD:
		if (f->writable && (fi->flags & O_TRUNC)) {
			rc = fs_file_truncated(f);
		} else if (f->writable && (fi->flags & O_APPEND)) {
			/* >>: what is written is a patch, merged at commit */
			rc = file_load(f);
			if (!rc)
				rc = fs_file_truncated(f);
			f->dirty = 0;
			f->merge = 1;
		} else {
			rc = file_load(f);
		}
		if (!rc && f->writable && !f->fresh) {
			/* Writes into an existing text: check it at commit. */
			f->holes = 1;
		}
		break;
	default: /* FS_SCRATCH */
		if (f->writable && (fi->flags & O_TRUNC))
			rc = fs_scratch_truncate(n, 0);
		break;
	}
	if (rc)
		goto out;
	fi->fh = (uintptr_t)f;
	/* Only a writer of a record or of the schema has anything to say
	 * at close. */
	fi->noflush = (n->kind != FS_RECORD && n->kind != FS_SCHEMA &&
		       n->kind != FS_STREAM) ||
		      !f->writable;
	/* the schema texts are made at each open, like errors and stats;
	 * a stream's size is known only at its end */
	fi->direct_io = n->kind == FS_ERRORS || n->kind == FS_STATS ||
			n->kind == FS_NEXT || n->kind == FS_SCHEMA ||
			n->kind == FS_JSCHEMA || fs_is_stream(n->kind) ||
			n->kind == FS_CHANGES || n->kind == FS_HISTORY;
	if (n->kind == FS_RECORD)
		record_cache(n, f, fi, others);
	else if (n->kind == FS_STREAM && !f->writable)
		fs_stream_cache(f, fi);
	*out = f;
	return 0;
out:
	if (f)
		fs_file_free(f);
	return rc;
}

/* Open n and answer req. */
static void open_reply(fuse_req_t req, struct fs_node *n,
		       struct fuse_file_info *fi)
{
	struct fs_file *f;
	int rc = fs_file_open(n, fi, &f);

	if (rc)
		fuse_reply_err(req, rc);
	else if (fuse_reply_open(req, fi) == -ENOENT)
		fs_file_free(f); /* the opener was interrupted */
}

/*
 * A writer's open of a record waits while readers read it through the
 * page cache.  The kernel keeps one size for an inode, whoever opened it,
 * and a writer moves it: an O_TRUNC open sets it to 0, each write past it
 * grows it.  A reader through the page cache reads up to that size, so it
 * would read its text cut short, or padded with zeros.  The writer's open
 * is answered when the last such reader closes, or after OPEN_WAIT_NS (a
 * reader that stays open, such as less, holds no writer longer); readers
 * that open meanwhile read with direct_io.
 */
#define OPEN_WAIT_NS (50 * 1000000LL)

struct open_wait {
	fuse_req_t req;
	struct fuse_file_info fi;
	struct fs_node *n;
	int64_t deadline;
	struct open_wait *next;
};

static struct open_wait *waits; /* in arrival order */

/*
 * Answer the opens that wait on n (on any node, n NULL) and may go on:
 * its page cache readers closed, or their time ran out.  Returns whether
 * any open still waits.
 */
int fs_open_waits_run(struct fs_node *n)
{
	struct open_wait **pp = &waits, *w;
	int64_t now;

	if (!waits)
		return 0;
	now = fs_now_ns();
	while ((w = *pp)) {
		if ((n && w->n != n) || (w->n->pc_opens && now < w->deadline)) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		assert(w->n->waiting > 0);
		w->n->waiting--;
		open_reply(w->req, w->n, &w->fi);
		free(w);
	}
	return waits != NULL;
}

/* Whether an open waits (the session loop then wakes on time). */
int fs_open_waits(void)
{
	return waits != NULL;
}

/* At unmount: the waiting opens end with an error. */
void fs_open_waits_drop(void)
{
	struct open_wait *w;

	while ((w = waits)) {
		waits = w->next;
		w->n->waiting--;
		fuse_reply_err(w->req, EIO);
		free(w);
	}
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_get(ino);
	struct open_wait *w, **pp;

	fs.n_ops++;
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind == FS_RECORD && (fi->flags & O_ACCMODE) != O_RDONLY &&
	    n->pc_opens && (w = calloc(1, sizeof(*w))) != NULL) {
		w->req = req;
		w->fi = *fi;
		w->n = n;
		w->deadline = fs_now_ns() + OPEN_WAIT_NS;
		for (pp = &waits; *pp; pp = &(*pp)->next)
			;
		*pp = w;
		n->waiting++;
		return;
	}
	open_reply(req, n, fi);
}

void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
	char *out = NULL;
	size_t got = 0;
	int rc;

	fs.n_ops++;
	if (fs_is_stream(f->node->kind)) {
		const char *sb = NULL;
		rc = fs_stream_read(f, size, off, &sb, &got);
		if (rc)
			goto out;
		fs.n_exported += got;
		fuse_reply_buf(req, sb, got);
		return;
	}
	if (f->node->kind == FS_CHANGES || f->node->kind == FS_HISTORY) {
		rc = fs_feed_read(f, size, off, &out, &got);
		if (rc)
			goto out;
		fuse_reply_buf(req, out, got);
		free(out);
		return;
	}
	if (f->node->kind == FS_ERRORS) {
		out = malloc(size ? size : 1);
		if (!out) {
			rc = ENOMEM;
			goto out;
		}
		rc = fs_errors_read(f->node->base + (uint64_t)off, out, size,
				    &got);
		if (rc == ENODATA)
			fs_refuse(".recordfs/errors",
				  "read too late: the lines there are no "
				  "longer kept (the last 256 are)");
		if (rc)
			goto out;
		fuse_reply_buf(req, out, got);
		free(out);
		return;
	}
	if (f->node->kind == FS_SCRATCH) {
		out = malloc(size ? size : 1);
		if (!out) {
			rc = ENOMEM;
			goto out;
		}
		rc = fs_scratch_read(f->node, out, size, off, &got);
		if (rc)
			goto out;
		fuse_reply_buf(req, out, got);
		free(out);
		return;
	}
	/*
	 * A handle outside the page cache (a writer, a late reader) reads
	 * here; if it was an mmap fault, its bytes are now in the kernel's
	 * pages, which no longer hold the stored text for certain.
	 */
	if (f->node->kind == FS_RECORD && !f->pc)
		f->node->kcache = FS_KC_STALE;
	if ((uint64_t)off >= f->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > f->len - (size_t)off)
		size = f->len - (size_t)off;
	fuse_reply_buf(req, f->buf + off, size);
	return;
out:
	free(out);
	fuse_reply_err(req, rc);
}

/* Feed the newly contiguous bytes of a record buffer to its checker. */
static int file_check(struct fs_file *f, struct schema_err *err)
{
	int rc;
	if (f->holes || !f->fresh || f->checked >= f->len)
		return 0;
	if (!f->check && !(f->check = schema_check_new())) {
		f->holes = 1; /* then the commit checks the whole */
		return 0;
	}
	rc = schema_check_feed(f->check, f->buf + f->checked,
			       f->len - f->checked, err);
	f->checked = f->len;
	return rc;
}

/*
 * The object is complete: check what only a whole record shows (the key it
 * carries), so the write itself fails rather than a close nobody reads.
 */
static int file_validate(struct fs_file *f, struct schema_err *err)
{
	struct schema_key k;
	char *text = NULL, *merged = NULL;
	const char *body = f->buf;
	size_t tl, len = f->len;
	int rc;
	const struct schema_table *ts;
	if (schema_key_decode(f->node->key, f->node->keylen, &k))
		return EIO;
	rc = fs_schema_get(f->node->db, NULL, f->node->tid, &ts);
	if (rc)
		return rc;
	if (f->merge) {
		/* a patch: what it makes of the record now is checked */
		rc = fs_merge_text(f, &merged, &len, err);
		if (rc)
			return rc;
		body = merged;
		goto whole;
	}
	/*
	 * A dynamic table refuses a whole small body only for its key, which
	 * the object the check kept shows without another parse (its
	 * canonical text cannot pass SCHEMA_RECORD_MAX: nesting is at most 32
	 * deep, so indentation grows a text some 34 times at most).  A larger
	 * body, whose object the check does not keep, is made into that text
	 * to know.
	 */
	if (!ts && f->len <= SCHEMA_CHECK_KEEP_MAX) {
		rc = schema_check_key(f->check, &k, SCHEMA_PK, err);
		if (rc != EAGAIN)
			return rc;
	}
whole:
	rc = schema_record_prepare(body, len, &k, schema_table_pk_name(ts),
				   NULL, 0, 0, !ts, &text, &tl, err);
	if (!rc && ts)
		rc = fs_declared_record(ts, &text, &tl, NULL, 0, 0, err);
	free(text);
	free(merged);
	return rc;
}

/*
 * A first write that gives a whole body in plain JSON
 * (schema_record_plain()) to a dynamic table: nothing in it can be
 * refused, so the write needs neither the check nor its object, and the
 * commit reads it in one pass.  A later write over those bytes defers the
 * check to the commit, as one over checked bytes does; one after them
 * feeds the check from the first byte.
 */
static int file_plain(struct fs_file *f, off_t off)
{
	const struct schema_table *ts;
	struct schema_key k;
	if (off != 0 || f->holes || !f->fresh || f->checked || f->plain ||
	    f->merge || f->node->kind != FS_RECORD)
		return 0;
	if (schema_key_decode(f->node->key, f->node->keylen, &k) ||
	    fs_schema_get(f->node->db, NULL, f->node->tid, &ts) || ts ||
	    schema_record_plain(f->buf, f->len, &k, SCHEMA_PK, 1) != 0)
		return 0;
	f->plain = f->len;
	return 1;
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	      off_t off, struct fuse_file_info *fi)
{
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
	struct fs_node *n = f->node;
	struct schema_err err = {{0}};
	int rc;

	fs.n_ops++;
	if (fs_is_stream(n->kind)) {
		rc = fs_stream_write(f, buf, size, off);
		if (rc)
			goto out;
		fuse_reply_write(req, size);
		return;
	}
	if (n->kind == FS_RECORD && f->merge) {
		/* a patch goes after what this open wrote, wherever the
		 * kernel says the file ends; one stored, the next begins */
		if (!f->dirty && !f->bad)
			fs_file_truncated(f);
		off = (off_t)f->len;
	}
	if (off < 0 || (uint64_t)off + size > SCHEMA_RECORD_MAX) {
		rc = fs_refuse_node(
		    EFBIG, n, NULL, NULL,
		    "larger than the 16 MiB a record or scratch file may hold");
		goto out;
	}
	if (n->kind == FS_SCRATCH) {
		rc = fs_scratch_write(n, buf, size, off);
		if (rc)
			goto out;
		fuse_reply_write(req, size);
		return;
	}
	if (n->kind == FS_SCHEMA) {
		if ((uint64_t)off + size > SCHEMA_SDL_MAX) {
			rc = fs_refuse_node(EFBIG, n, NULL, NULL,
					    "a schema is at most 1 MiB");
			goto out;
		}
	} else if (n->kind != FS_RECORD) {
		rc = EBADF;
		goto out;
	}
	if (f->bad) {
		rc = f->bad;
		goto out;
	}
	rc = fs_file_reserve(f, (size_t)off + size + 1);
	if (rc)
		goto out;
	if ((size_t)off > f->len) {
		memset(f->buf + f->len, 0, (size_t)off - f->len);
		f->holes = 1;
	}
	if ((size_t)off < f->checked || (size_t)off < f->plain) {
		/* Bytes already checked (or taken plain) change: check
		 * the whole at commit. */
		f->holes = 1;
	}
	memcpy(f->buf + off, buf, size);
	if ((size_t)off + size > f->len)
		f->len = (size_t)off + size;
	f->dirty = 1;
	f->written = 1;
	/* a full disk is told at the write, which bash's > reports, not
	 * only at a close it ignores */
	if (n->kind == FS_RECORD &&
	    store_env_fits(n->db->env, f->len) == ENOSPC &&
	    (store_feed_yield(n->db->env, 2 * (uint64_t)f->len + 65536) != 0 ||
	     store_env_fits(n->db->env, f->len) == ENOSPC)) {
		f->bad = ENOSPC;
		rc = fs_refuse_node(ENOSPC, n, NULL, NULL, FS_DISK_FULL);
		goto out;
	}
	if (file_plain(f, off)) {
		fuse_reply_write(req, size);
		return;
	}
	rc = file_check(f, &err);
	if (!rc && !f->holes && f->check && schema_check_done(f->check))
		rc = file_validate(f, &err);
	if (rc) {
		f->bad = rc;
		rc = fs_refuse_node(rc, n, NULL, &err, NULL);
		goto out;
	}
	fuse_reply_write(req, size);
	return;
out:
	fuse_reply_err(req, rc);
}

void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
	int rc = 0;
	fs.n_ops++;
	if (f->stream) {
		rc = fs_stream_flush(f, fuse_req_ctx(req)->pid);
	} else if (f->node->kind == FS_SCHEMA && f->written) {
		rc = fs_schema_commit(f);
	} else if (f->node->kind == FS_RECORD) {
		if (f->bad && f->dirty) {
			/* The refused write was reported; say it at close too.
			 */
			f->dirty = 0;
			fs_node_changed(f->node); /* see fs_file_commit */
			rc = f->bad;
		} else if (f->written) {
			/*
			 * Only after a write: shells open, dup2 and close the
			 * first descriptor (a flush) before writing anything,
			 * and a truncation alone must not replace the record
			 * before the body arrives.  An open that wrote nothing
			 * commits at release.
			 */
			fs_file_commit_answer(req, f);
			return;
		}
	}
	fuse_reply_err(req, rc);
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
	fs.n_ops++;
	if (f->node->kind == FS_RECORD && f->bad && f->dirty)
		fs_node_changed(f->node); /* refused, never flushed: see
					  fs_file_commit */
	if (f->node->kind == FS_RECORD)
		fs_file_commit(f);
	else if (f->node->kind == FS_SCHEMA)
		fs_schema_commit(f);
	else if (f->stream)
		fs_stream_release(f);
	fs_file_free(f);
	fuse_reply_err(req, 0);
}

void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi)
{
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
	int rc = 0;
	fs.n_ops++;
	if (f->node->kind == FS_RECORD)
		rc = fs_file_commit(f);
	else if (f->node->kind == FS_SCHEMA)
		rc = fs_schema_commit(f);
	else if (f->stream)
		rc = fs_stream_flush(f, 0);
	if (!rc && f->node->db && !f->node->db->dropped)
		rc = fs_db_sync(f->node->db);
	fuse_reply_err(req, rc);
}

void fs_files_commit_all(void)
{
	struct fs_file *f;
	for (f = fs.files; f; f = f->next)
		if (f->node->kind == FS_RECORD)
			fs_file_commit(f);
		else if (f->node->kind == FS_SCHEMA)
			fs_schema_commit(f);
		else if (f->stream)
			fs_stream_abandon(f); /* ends its snapshot too */
}
