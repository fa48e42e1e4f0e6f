/*
 * commit.c: the commit path of a record file, and changes answered before
 * they are stored.
 *
 * A record's buffer commits at close (fs_file_commit_answer), fsync and
 * release (fs_file_commit).  A close that commits and an unlink of a record
 * are answered first and stored right after, through the intent slot and
 * the database's batch (see "answered before stored" below); this file
 * also replays a slot a crash left and commits batches when the daemon is
 * idle.  It stores records only through record.c, and takes no request
 * but the close and unlink it is handed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

/* The write-time check's object, when it has seen the whole body. */
static struct schema_check *file_pre(struct fs_file *f)
{
	return !f->holes && f->check && f->checked == f->len &&
		       schema_check_done(f->check)
		   ? f->check
		   : NULL;
}

/* A refused commit of f: say why, and return rc. */
static int file_refused(struct fs_file *f, int rc, const struct schema_err *err)
{
	struct schema_err pieces;

	/* a full map with the room on its free list, but not in one run */
	if (rc == ENOSPC && !(err && err->msg[0]) &&
	    store_env_fits(f->node->db->env, f->len) == 0) {
		schema_fail(&pieces, ENOSPC, "%s", FS_DISK_PIECES);
		err = &pieces;
	}
	f->bad = rc;
	/* the kernel may hold this writer's size and pages: the stored
	 * record stays, so they end */
	fs_node_changed(f->node);
	return fs_refuse_node(rc, f->node, NULL, err, NULL);
}

/* f's buffer is the record now (or will be, in a moment). */
static void file_stored(struct fs_file *f)
{
	f->dirty = 0;
	f->written = 0;
	f->mtime_ns = 0;
	f->node->has_cattrs = 0; /* stored: a chmod now changes the record */
	if (f->node->pending == f)
		f->node->pending = NULL;
}

/*
 * The whole record a patch written with >> (f->merge) makes: merged into
 * the record as stored now (the loop is single-threaded, so nothing
 * changes it before a commit that follows at once).  *body is malloc'd.
 */
int fs_merge_text(struct fs_file *f, char **body, size_t *len,
		  struct schema_err *err)
{
	struct fs_node *n = f->node;
	struct store_txn *t;
	struct store_obj o;
	int rc = store_read_begin(n->db->env, &t);
	if (rc)
		return rc;
	rc = store_obj_get(t, n->tid, STORE_RECORD, n->key, n->keylen, &o);
	if (rc == 0 && !fs_obj_is(n, &o))
		rc = ENOENT; /* the name is another record's now */
	if (rc == 0 || rc == ENOENT)
		rc = schema_merge_patch(rc ? NULL : o.data, rc ? 0 : o.len,
					f->buf, f->len, body, len, err);
	store_txn_abort(t);
	return rc;
}

/* At commit, f's patch becomes the whole record, checked as a write. */
static int file_merge(struct fs_file *f)
{
	struct schema_err err = {{0}};
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (!f->merge || f->merged || !f->dirty || f->bad)
		return 0;
	if (f->holes || (f->check && !schema_check_done(f->check))) {
		schema_fail(&err, EINVAL,
			    "a merge patch (>>) is one JSON object, written "
			    "whole");
		return file_refused(f, EINVAL, &err);
	}
	rc = fs_merge_text(f, &body, &len, &err);
	if (rc)
		return file_refused(f, rc, &err);
	/* the record's text takes the patch's place (body has room for
	 * a NUL after it, as buffers of record files do) */
	free(f->buf);
	f->buf = body;
	f->len = len;
	f->cap = len + 1;
	/* the check saw the patch, not this: the commit reads it whole */
	schema_check_free(f->check);
	f->check = NULL;
	f->checked = f->plain = 0;
	f->holes = 1;
	f->merged = 1;
	return 0;
}

/* Commit a record file's buffer.  0 when nothing needed doing. */
int fs_file_commit(struct fs_file *f)
{
	struct fs_node *n = f->node;
	struct fs_commit c;
	int rc;

	if (!f->dirty || f->bad || n->unlinked || n->db->dropped)
		return 0;
	rc = file_merge(f);
	if (rc)
		return rc;
	memset(&c, 0, sizeof(c));
	c.n = n;
	c.body = f->buf;
	c.len = f->len;
	c.pre = file_pre(f);
	c.now = fs_now_ns();
	c.mtime = f->mtime_ns;
	rc = store_write(n->db->env, fs_commit_fn, &c);
	if (rc == ENOSPC && !c.err.msg[0] &&
	    store_feed_yield(n->db->env, 2 * (uint64_t)c.len + 65536) == 0) {
		/* the disk is full: the change feed's oldest lines give way */
		rc = store_write(n->db->env, fs_commit_fn, &c);
	}
	if (rc)
		return file_refused(f, rc, &c.err);
	file_stored(f);
	fs_node_changed(n);
	return fs_committed(n->db);
}

/*
 * ---- answered before stored: the intent slot ----------------------------
 *
 * A close that commits a record, and an unlink of a record, are answered
 * before their B-tree work (the record, its index entries: most of a
 * commit's time) is done, so the client runs on while the daemon stores:
 * the daemon reads no request before it has finished.  Everything that
 * can refuse the change runs first, in a read transaction (fs_record_make
 * for a body), and the change as it will be stored is added to the
 * environment's intent slot (store_intent_write: a pwritev into the page
 * cache), which survives the daemon being killed as a commit does.  Then
 * it goes into the environment's batch (store_batch_apply), a write
 * transaction that every later request reads through, and commits with
 * the changes after it; that commit ends the slot.  An open that finds
 * the slot still pending stores its changes before anything else: a close
 * or an rm that returned 0 survives kill -9 either way.  Only changes
 * whose commit cannot fail for want of room go this way
 * (store_intent_safe), and only with sync on a timer: with -o sync=0
 * they wait for the disk.
 *
 * A change's bytes: 'R' (a record stored) or 'd' (a record removed), u32
 * table number, u16 + table name, u16 + key; after 'R', u64 inode number,
 * i64 creation and modification times (ns), u32 mode, uid and gid, i64
 * access and change times, then the text.  Numbers are little-endian.
 * ('r', the same without mode to change times, is a slot an older daemon
 * left: it is stored with none kept.)
 */
struct intent {
	char op; /* 'r' or 'd' */
	uint32_t tid;
	const char *tname;
	size_t tnlen;
	const uint8_t *key;
	size_t kl;
	struct fs_record_new r; /* r.text, r.oldtext are the caller's */
	int old_known;		/* r.had and r.oldtext say what is stored */
};

#define INTENT_HEAD (1 + 4 + 2 + 2)

#define INTENT_OBJ   (8 + 8 + 8)
#define INTENT_ATTRS (4 + 4 + 4 + 8 + 8)

static uint8_t *put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint8_t *intent_encode(const struct intent *in, size_t *len)
{
	size_t n =
	    INTENT_HEAD + in->tnlen + in->kl +
	    (in->op == 'r' ? INTENT_OBJ + INTENT_ATTRS + in->r.o.len : 0);
	uint8_t *buf = malloc(n), *p = buf;
	if (!buf || in->tnlen > 0xffff || in->kl > 0xffff) {
		free(buf);
		return NULL;
	}
	*p++ = in->op == 'r' ? 'R' : (uint8_t)in->op; /* 'R': with attrs */
	p = put_le(p, in->tid, 4);
	p = put_le(p, in->tnlen, 2);
	memcpy(p, in->tname, in->tnlen);
	p += in->tnlen;
	p = put_le(p, in->kl, 2);
	memcpy(p, in->key, in->kl);
	p += in->kl;
	if (in->op == 'd') {
		*len = n;
		return buf;
	}
	p = put_le(p, in->r.o.ino, 8);
	p = put_le(p, (uint64_t)in->r.o.btime_ns, 8);
	p = put_le(p, (uint64_t)in->r.o.mtime_ns, 8);
	p = put_le(p, in->r.o.attrs.mode, 4);
	p = put_le(p, in->r.o.attrs.uid, 4);
	p = put_le(p, in->r.o.attrs.gid, 4);
	p = put_le(p, (uint64_t)in->r.o.attrs.atime_ns, 8);
	p = put_le(p, (uint64_t)in->r.o.attrs.ctime_ns, 8);
	memcpy(p, in->r.o.data, in->r.o.len);
	*len = n;
	return buf;
}

static int intent_decode(const uint8_t *p, size_t len, struct intent *in)
{
	const uint8_t *end = p + len;
	memset(in, 0, sizeof(*in));
	int attrs;
	if (len < INTENT_HEAD || (*p != 'r' && *p != 'R' && *p != 'd'))
		return EIO;
	attrs = *p == 'R'; /* 'r': a slot of a daemon that kept none */
	in->op = attrs ? 'r' : (char)*p;
	p++;
	in->tid = (uint32_t)get_le(p, 4);
	in->tnlen = get_le(p + 4, 2);
	p += 6;
	if ((size_t)(end - p) < in->tnlen + 2)
		return EIO;
	in->tname = (const char *)p;
	p += in->tnlen;
	in->kl = get_le(p, 2);
	p += 2;
	if ((size_t)(end - p) < in->kl)
		return EIO;
	in->key = p;
	p += in->kl;
	if (in->op == 'd')
		return end == p ? 0 : EIO;
	if ((size_t)(end - p) < INTENT_OBJ)
		return EIO;
	in->r.o.ino = get_le(p, 8);
	in->r.o.btime_ns = (int64_t)get_le(p + 8, 8);
	in->r.o.mtime_ns = (int64_t)get_le(p + 16, 8);
	p += 24;
	if (attrs) {
		if ((size_t)(end - p) < INTENT_ATTRS)
			return EIO;
		in->r.o.attrs.mode = (uint32_t)get_le(p, 4);
		in->r.o.attrs.uid = (uint32_t)get_le(p + 4, 4);
		in->r.o.attrs.gid = (uint32_t)get_le(p + 8, 4);
		in->r.o.attrs.atime_ns = (int64_t)get_le(p + 12, 8);
		in->r.o.attrs.ctime_ns = (int64_t)get_le(p + 20, 8);
		p += INTENT_ATTRS;
	}
	in->r.o.data = p;
	in->r.o.len = in->r.o.size = (size_t)(end - p);
	return 0;
}

struct intent_apply {
	struct fs_db *db;
	struct intent *in;
};

/*
 * Store an intent's change (in the batch, or in a replay's commit).
 * Unless the caller knows it (old_known), the record it replaces is read
 * here.
 */
static int intent_apply_fn(struct store_txn *t, void *arg)
{
	struct intent_apply *a = arg;
	struct intent *in = a->in;
	struct fs_record_new r = {.o = in->r.o};
	int rc;
	if (fs_table_same(t, in->tname, in->tnlen, in->tid, NULL))
		return ENOENT;
	if (in->op == 'd') {
		struct store_obj o;
		rc = store_obj_get(t, in->tid, STORE_RECORD, in->key, in->kl,
				   &o);
		if (!rc)
			rc = fs_record_delete(a->db, t, in->tid, in->key,
					      in->kl, &o);
		else if (rc == ENOENT)
			rc = 0; /* gone already: nothing left to do */
		return rc;
	}
	if (in->old_known) {
		r.oldtext = in->r.oldtext;
		r.oldlen = in->r.oldlen;
		r.had = in->r.had;
		rc = 0;
	} else {
		rc = fs_record_old(t, in->tid, in->key, in->kl, &r);
	}
	if (!rc)
		rc = fs_record_store(a->db, t, in->tid, in->key, in->kl, &r);
	if (!in->old_known)
		free(r.oldtext);
	return rc;
}

/* The change RECORDFS_FAIL_AFTER_ANSWER puts in the batch: it fails. */
static int fail_fn(struct store_txn *t, void *arg)
{
	(void)t;
	(void)arg;
	return EIO;
}

/*
 * Answer req, then store the change whose slot is written: into the
 * database's batch, which commits with the changes after it (see
 * store_batch_apply) or at most 1 ms after it began (fs_session_loop).
 * If the batch cannot be stored, fs_intent_redo stores it again from the
 * slot.
 */
static void answer_then_store(fuse_req_t req, struct fs_db *db,
			      struct intent *in)
{
	struct intent_apply a = {db, in};
	fuse_reply_err(req, 0);
	if (fs.crash_after_answer && --fs.crash_after_answer == 0)
		raise(SIGKILL);
	if (store_batch_apply(db->env,
			      fs.fail_after_answer ? fail_fn : intent_apply_fn,
			      &a) == 0)
		fs_committed(db);
}

/*
 * The most index entries a record's text can have.  Each is a top-level
 * member or an element of a top-level array, and each but the first of a
 * container follows a comma, so there are at most one more than the
 * commas (those in strings and deeper only add to the bound; test_value
 * holds the entries of its random texts to it).  A text that is not a
 * JSON object has none.
 */
static size_t entries_bound(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t n = 1;
	while (p < end && (p = memchr(p, ',', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * The index entries a change that stores text (replacing oldtext, or
 * NULL), or removes it, makes, for store_intent_safe.  *room is 1 when
 * the map has room for their bound (entries_bound) as things stand.
 * Else they are counted (SIZE_MAX when they cannot be: the change is
 * then not told before it is stored), for the caller to ask again with
 * may_grow once t has ended.
 */
static size_t answer_entries(struct fs_db *db, struct store_txn *t,
			     uint32_t tid, const char *text, size_t len,
			     const char *oldtext, size_t oldlen, int *room)
{
	const struct schema_table *ts;
	size_t entries = entries_bound(text, len) +
			 (oldtext ? entries_bound(oldtext, oldlen) : 0);
	*room = store_intent_safe(db->env, len + oldlen, entries, 0);
	if (*room)
		return entries;
	entries = 0;
	if (fs_schema_get(db, t, tid, &ts) != 0 ||
	    fs_index_count(ts, text, len, &entries) != 0 ||
	    (oldtext && fs_index_count(ts, oldtext, oldlen, &entries) != 0))
		return SIZE_MAX;
	return entries;
}

/* Add in to the slot: 0, or why it cannot be told before it is stored. */
static int intent_tell(struct store_env *env, const struct intent *in)
{
	size_t len;
	uint8_t *slot = intent_encode(in, &len);
	int rc = slot ? store_intent_write(env, slot, len) : ENOMEM;
	free(slot);
	return rc;
}

/* Longest record answered before it is stored; longer ones wait. */
#define INTENT_RECORD_MAX (256u << 10)

/*
 * fs_flush's commit of a record: answer req, with the commit stored first
 * or (see above) after.
 */
void fs_file_commit_answer(fuse_req_t req, struct fs_file *f)
{
	struct fs_node *n = f->node;
	struct store_env *env = n->db->env;
	struct schema_err err = {{0}};
	struct intent in;
	struct store_txn *t;
	size_t entries = 0;
	int64_t now = fs_now_ns();
	int rc, room = 0;

	if (f->dirty && !f->bad && !n->unlinked && !n->db->dropped &&
	    (rc = file_merge(f)) != 0) {
		fuse_reply_err(req, rc);
		return;
	}
	if (!f->dirty || f->bad || n->unlinked || n->db->dropped ||
	    fs.opts.sync_secs == 0 || f->len > INTENT_RECORD_MAX ||
	    store_read_begin(env, &t) != 0) {
		fuse_reply_err(req, fs_file_commit(f));
		return;
	}
	memset(&in, 0, sizeof(in));
	in.op = 'r';
	in.tid = n->tid;
	in.tname = n->tname;
	in.tnlen = strlen(n->tname);
	in.key = n->key;
	in.kl = n->keylen;
	rc = fs_table_same(t, in.tname, in.tnlen, in.tid, &err);
	if (!rc)
		rc = fs_record_make(n->db, t, n->tid, n->key, n->keylen,
				    n->ino & ((1ull << FS_DB_SHIFT) - 1),
				    n->pending ? n->pending_btime_ns : now,
				    fs_node_new_attrs(n), f->buf, f->len,
				    file_pre(f), now, f->mtime_ns, &in.r, &err);
	/* what the commit changes: the new text's entries, the old one's
	 * (a text they cannot be read from is for the usual way to refuse) */
	if (!rc)
		entries = answer_entries(
		    n->db, t, n->tid, in.r.text, in.r.o.len,
		    in.r.had ? in.r.oldtext : NULL, in.r.oldlen, &room);
	store_txn_abort(t);
	if (rc) {
		fuse_reply_err(req, file_refused(f, rc, &err));
		return;
	}
	in.old_known = 1;
	if ((!room &&
	     !store_intent_safe(env, in.r.o.len + in.r.oldlen, entries, 1)) ||
	    intent_tell(env, &in) != 0) {
		/* not told before it is stored: the usual way */
		fuse_reply_err(req, fs_file_commit(f));
	} else {
		file_stored(f);
		/* before the answer: the kernel must not serve the written
		 * size from its cache once close has returned */
		fs_node_changed(n);
		answer_then_store(req, n->db, &in);
	}
	fs_record_new_free(&in.r);
}

/* The changes of a pending slot, stored in order in one commit. */
struct intent_all {
	struct fs_db *db;
	const void *data;
	size_t len;
	size_t stored; /* counted by the last run of fn */
	int at_open;   /* log each change (intent_log) */
};

static int intent_all_fn(struct store_txn *t, void *arg)
{
	struct intent_all *all = arg;
	const void *pos = all->data, *end = (const char *)all->data + all->len;
	const void *one;
	size_t len;
	struct intent in;
	struct intent_apply a = {all->db, &in};
	int rc;
	all->stored = 0;
	while ((rc = store_intent_next(&pos, end, &one, &len)) == 0) {
		if (intent_decode(one, len, &in) != 0)
			return EIO;
		if (in.op == 'r')
			store_ino_seen(all->db->env, in.r.o.ino);
		rc = intent_apply_fn(t, &a);
		if (rc == ENOENT &&
		    fs_table_same(t, in.tname, in.tnlen, in.tid, NULL) != 0)
			continue; /* its table is gone: never stored */
		if (rc)
			return rc;
		all->stored++;
	}
	return rc == ENOENT ? 0 : rc;
}

/* Say what became of each change of a slot stored at start-up. */
static void intent_log(struct fs_db *db, const struct intent_all *all)
{
	const void *pos = all->data, *end = (const char *)all->data + all->len;
	const void *one;
	size_t len;
	struct intent in;
	struct schema_key k;
	struct store_txn *t;
	char name[SCHEMA_NAME_MAX + 1];
	if (store_read_begin(db->env, &t) != 0)
		return;
	while (store_intent_next(&pos, end, &one, &len) == 0 &&
	       intent_decode(one, len, &in) == 0) {
		if (fs_table_same(t, in.tname, in.tnlen, in.tid, NULL) != 0)
			fs_log("%s/%.*s: a change answered before the daemon "
			       "stopped is not stored: its table is gone",
			       db->name, (int)in.tnlen, in.tname);
		else if (!schema_key_decode(in.key, in.kl, &k)) {
			schema_key_to_name(&k, name);
			fs_log("%s/%.*s/%s: %s, answered before the daemon "
			       "stopped, is stored now",
			       db->name, (int)in.tnlen, in.tname, name,
			       in.op == 'd' ? "its unlink" : "its close");
		}
	}
	store_txn_abort(t);
}

/* Store the changes of db's pending slot: 0, or why they could not be. */
static int intent_store_all(struct fs_db *db, struct intent_all *all)
{
	void *buf;
	int rc = store_intent_pending(db->env, &buf, &all->len);
	all->db = db;
	all->stored = 0;
	if (rc == ENOENT)
		return 0;
	if (rc)
		return rc;
	all->data = buf;
	rc = fs.fail_after_answer ? EIO
				  : store_write(db->env, intent_all_fn, all);
	if (!rc && all->at_open)
		intent_log(db, all);
	if (!rc)
		store_intent_drop(db->env);
	free(buf);
	return rc;
}

/*
 * The batch could not be stored (why): store its changes again from the
 * slot, or say why not.  Called by storage, with the batch closed.
 */
static int fs_intent_redo(void *arg, int why)
{
	struct fs_db *db = arg;
	struct intent_all all = {.at_open = 0};
	int rc = intent_store_all(db, &all);
	if (!rc) {
		fs_log("%s: a batch of changes could not be committed (%s); "
		       "its %zu changes are stored again from the intent slot",
		       db->name, strerror(why), all.stored);
		return 0;
	}
	fs_refuse(db->name,
		  "changes answered before they were stored could not be "
		  "stored (%s); they stay in the intent slot, and the "
		  "database takes no other change until recordfs is mounted "
		  "again",
		  strerror(rc));
	return rc;
}

/*
 * At start-up, before anything else: store the changes of an intent slot
 * that a crash left unapplied (their close or unlink had been answered).
 * Then set the redo for the batches to come.
 */
int fs_intent_replay(struct fs_db *db)
{
	struct intent_all all = {.at_open = 1};
	int rc = intent_store_all(db, &all);
	store_env_set_redo(db->env, fs_intent_redo, db);
	if (rc) {
		/* kept for the next mount; the other databases go on */
		store_intent_keep(db->env);
		fs_refuse(
		    db->name,
		    "changes answered before the daemon stopped could "
		    "not be stored (%s); they stay in the intent slot, and "
		    "the database takes no change until they are stored at a "
		    "later mount",
		    strerror(rc));
	}
	return 0;
}

/* Commit every database's open batch: the daemon has nothing to do. */
void fs_batches_commit(void)
{
	struct fs_db *db;
	for (db = fs.dbs; db; db = db->next)
		if (!db->dropped && store_batch_size(db->env))
			store_batch_commit(db->env);
}

/* 1 when a database has a batch open. */
int fs_batches_open(void)
{
	struct fs_db *db;
	for (db = fs.dbs; db; db = db->next)
		if (!db->dropped && store_batch_size(db->env))
			return 1;
	return 0;
}

/*
 * Unlink a record answered before it is stored (see "answered before
 * stored"): 1 when done so and req answered, 0 when the caller is to
 * unlink it the usual way.
 */
int fs_unlink_answer(fuse_req_t req, struct fs_node *p, const char *name)
{
	struct schema_err err;
	struct fs_resolved r;
	struct fs_node *n;
	struct store_env *env = p->db->env;
	struct intent in = {.op = 'd'};
	struct store_txn *t;
	struct store_obj o;
	uint64_t ino = 0;
	size_t entries = 0, len = 0;
	int rc, room = 0;

	if (p->kind != FS_TABLE || p->db->dropped || fs.opts.sync_secs == 0 ||
	    store_read_begin(env, &t) != 0)
		return 0;
	rc = fs_resolve(t, p, name, &r, &err);
	if (!rc && r.kind == STORE_RECORD)
		rc =
		    store_obj_get(t, p->tid, STORE_RECORD, r.key, r.keylen, &o);
	if (!rc && r.kind == STORE_RECORD) {
		ino = o.ino;
		len = o.len;
		entries = answer_entries(p->db, t, p->tid, o.data, len, NULL, 0,
					 &room);
	}
	store_txn_abort(t);
	if (rc || r.kind != STORE_RECORD ||
	    (!room && !store_intent_safe(env, len, entries, 1)))
		return 0; /* refusals and misses: the usual way says why */
	in.tid = p->tid;
	in.tname = p->tname;
	in.tnlen = strlen(p->tname);
	in.key = r.key;
	in.kl = r.keylen;
	if (intent_tell(env, &in) != 0)
		return 0;
	n = fs_node_get(fs_db_ino(p->db, ino));
	if (n)
		n->unlinked = 1;
	fs_dir_changed(p->db, p->tid, p->tname);
	answer_then_store(req, p->db, &in);
	return 1;
}
