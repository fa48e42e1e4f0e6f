/*
 * feed.c: the change feed's lines, and the files that show them.
 *
 * Each change to a database's records and tables makes one NDJSON line,
 * added (storage/feed.c) in the write transaction of the change itself:
 *   {"seq":N,"time":MS,"table":T,"op":"put","key":K,"record":{...}}
 *   {"seq":N,"time":MS,"table":T,"op":"delete","key":K}
 *   {"seq":N,"time":MS,"table":T,"op":"rename","key":K2,
 *    "from":{"table":T1,"key":K1},"record":{...}}
 *   {"seq":N,"time":MS,"table":T,"op":"create"}      a table made
 *   {"seq":N,"time":MS,"table":T,"op":"drop"}        a table removed
 *   {"seq":N,"time":MS,"table":T,"op":"schema","schema":"type ..."}
 * Record changes go in the history of the record they name (a rename in
 * both records').  The callers that store and remove records (record.c,
 * rename.c, schema.c, dir.c) call the fs_feed_* functions; nothing here
 * decides whether a change is made.
 *
 * The files:
 *   DB/.changes     the kept lines, then each new one as it commits
 *   DB/.changes@N   the lines after seq N (a consumer's resume)
 *   TABLE/.history/KEY.ndjson   the kept lines about one record
 * The feed read as one text only grows: each line has a fixed offset in
 * it (storage keeps where each starts), and a .changes node starts at
 * one of them, its base, so that a reader's positions stay valid while
 * lines come and the oldest go.  A lookup of .changes gives a node based
 * at the oldest kept line; once that line is gone, the next lookup gives
 * a new node (a new inode number), while readers that hold the old one
 * keep their positions.  A read at a position whose line is gone fails
 * with ENODATA and a line that says so: never a silent gap.
 * .recordfs/errors follows the same rules over log.c's ring.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

int fs_feed_on(const struct fs_db *db)
{
	return db->env && !db->dropped && store_feed_limit(db->env) > 0;
}

/* A change while the feed is off: its next mount with the feed says so. */
static int feed_off(struct fs_db *db, struct store_txn *t)
{
	int rc;
	if (!db->env || db->dropped || fs.opts.ro)
		return 0;
	rc = store_feed_gap(t, 1);
	return rc < 0 ? -rc : 0;
}

static int gap_fn(struct store_txn *t, void *arg)
{
	char line[96];
	uint64_t seq;
	int n, rc = store_feed_gap(t, 0);
	if (rc <= 0)
		return rc < 0 ? -rc : ENOENT; /* nothing to tell */
	rc = store_feed_next(t, &seq);
	if (rc)
		return rc;
	n = snprintf(
	    line, sizeof(line), "{\"seq\":%llu,\"time\":%lld,\"op\":\"gap\"}\n",
	    (unsigned long long)seq, (long long)(fs_now_ns() / 1000000));
	return store_feed_add(t, seq, line, (size_t)n, NULL, 0);
}

int fs_feed_gap_line(struct fs_db *db)
{
	int rc;
	if (!fs_feed_on(db) || fs.opts.ro)
		return 0;
	rc = store_write(db->env, gap_fn, NULL);
	return rc == ENOENT ? 0 : rc;
}

int fs_feeds_over(void)
{
	struct fs_db *db;
	if (fs.opts.ro)
		return 0; /* a read-only mount writes nothing */
	for (db = fs.dbs; db; db = db->next)
		if (fs_feed_on(db) && store_feed_over(db->env))
			return 1;
	return 0;
}

/* Lines one trim between requests drops at most (some milliseconds). */
#define FEED_TRIM_STEP 16384

void fs_feeds_trim(void)
{
	struct fs_db *db;
	for (db = fs.dbs; db; db = db->next)
		if (fs_feed_on(db) && store_feed_over(db->env))
			store_feed_trim(db->env, FEED_TRIM_STEP);
}

/* The name of table tid, in t's memory. */
static int table_name(struct fs_db *db, struct store_txn *t, uint32_t tid,
		      const char **name, size_t *len)
{
	struct fs_tname *c =
	    &db->feed_tnames[tid % (sizeof(db->feed_tnames) /
				    sizeof(db->feed_tnames[0]))];
	const char *nm, *after = NULL;
	size_t nl, al = 0;
	struct store_table tb;
	int rc;
	/* the name it had last time, if it still names tid (tables are
	 * renamed and dropped; a tid is never given again) */
	if (c->tid == tid && c->len &&
	    store_table_get(t, c->name, c->len, &tb) == 0 && tb.tid == tid) {
		*name = c->name;
		*len = c->len;
		return 0;
	}
	/* else a walk over the tables */
	while ((rc = store_table_next(t, after, al, &nm, &nl, &tb)) == 0) {
		if (tb.tid == tid) {
			*name = nm;
			*len = nl;
			if (nl < sizeof(c->name)) {
				memcpy(c->name, nm, nl);
				c->len = (uint16_t)nl;
				c->tid = tid;
			}
			return 0;
		}
		after = nm;
		al = nl;
	}
	return rc;
}

/* {"seq":N,"time":MS,"table":T,"op":OP into b; *seq the line's number. */
static int line_begin(struct schema_buf *b, struct store_txn *t, uint64_t *seq,
		      const char *tname, size_t tl, const char *op)
{
	char head[80];
	int n, rc = store_feed_next(t, seq);
	if (rc)
		return rc;
	n = snprintf(head, sizeof(head), "{\"seq\":%llu,\"time\":%lld,",
		     (unsigned long long)*seq,
		     (long long)(fs_now_ns() / 1000000));
	if (schema_buf_add(b, head, (size_t)n) ||
	    schema_buf_add(b, "\"table\":", 8) ||
	    schema_buf_json_str(b, tname, tl) ||
	    schema_buf_add(b, ",\"op\":\"", 7) ||
	    schema_buf_add(b, op, strlen(op)) || schema_buf_add(b, "\"", 1))
		return ENOMEM;
	return 0;
}

static int add_key(struct schema_buf *b, const uint8_t *kb, size_t kl)
{
	struct schema_key k;
	if (schema_key_decode(kb, kl, &k))
		return EIO;
	if (schema_buf_add(b, ",\"key\":", 7) || schema_buf_key(b, &k))
		return ENOMEM;
	return 0;
}

/* ,"record":{...} from a canonical text. */
static int add_record(struct schema_buf *b, const char *text, size_t len)
{
	size_t cl;
	if (schema_buf_add(b, ",\"record\":", 10) ||
	    schema_buf_reserve(b, len + 1))
		return ENOMEM;
	cl = schema_compact(text, len, b->p + b->len);
	while (cl && (b->p[b->len + cl - 1] == '\n'))
		cl--; /* the line's own end comes last */
	b->len += cl;
	b->p[b->len] = 0;
	return 0;
}

static int line_end(struct fs_db *db, struct store_txn *t, struct schema_buf *b,
		    uint64_t seq, const struct store_feed_ref *refs,
		    size_t nrefs)
{
	int rc = schema_buf_add(b, "}\n", 2) ? ENOMEM : 0;
	if (!rc)
		rc = store_feed_add(t, seq, b->p, b->len, refs, nrefs);
	if (!rc)
		db->feed_mtime_ns = fs_now_ns();
	schema_buf_free(b);
	return rc;
}

/*
 * A record's line: a put (text, the record as it became), a delete (text
 * NULL), or, with from (the table and key it had before), a rename.
 */
struct from {
	uint32_t tid;
	const uint8_t *key;
	size_t kl;
};

static int record_line(struct fs_db *db, struct store_txn *t, uint32_t tid,
		       const uint8_t *kb, size_t kl, const struct from *from,
		       const char *text, size_t len)
{
	struct schema_buf b = {0};
	struct store_feed_ref refs[2] = {{tid, kb, kl}};
	size_t nrefs = 1;
	const char *tn;
	size_t tl;
	uint64_t seq;
	int rc;
	if (!fs_feed_on(db))
		return feed_off(db, t);
	rc = table_name(db, t, tid, &tn, &tl);
	if (!rc)
		rc = line_begin(&b, t, &seq, tn, tl,
				from   ? "rename"
				: text ? "put"
				       : "delete");
	if (!rc)
		rc = add_key(&b, kb, kl);
	if (!rc && from)
		rc = table_name(db, t, from->tid, &tn, &tl);
	if (!rc && from &&
	    (schema_buf_add(&b, ",\"from\":{\"table\":", 17) ||
	     schema_buf_json_str(&b, tn, tl)))
		rc = ENOMEM;
	if (!rc && from)
		rc = add_key(&b, from->key, from->kl);
	if (!rc && from && schema_buf_add(&b, "}", 1))
		rc = ENOMEM;
	if (!rc && text)
		rc = add_record(&b, text, len);
	if (rc) {
		schema_buf_free(&b);
		return rc;
	}
	/* a rename names the record it was too, unless the same key */
	if (from && !(from->tid == tid && from->kl == kl &&
		      !memcmp(from->key, kb, kl))) {
		refs[1] =
		    (struct store_feed_ref){from->tid, from->key, from->kl};
		nrefs = 2;
	}
	return line_end(db, t, &b, seq, refs, nrefs);
}

int fs_feed_put(struct fs_db *db, struct store_txn *t, uint32_t tid,
		const uint8_t *kb, size_t kl, const char *text, size_t len)
{
	fs_streams_changed(db, tid);
	return record_line(db, t, tid, kb, kl, NULL, text ? text : "", len);
}

int fs_feed_delete(struct fs_db *db, struct store_txn *t, uint32_t tid,
		   const uint8_t *kb, size_t kl)
{
	fs_streams_changed(db, tid);
	return record_line(db, t, tid, kb, kl, NULL, NULL, 0);
}

int fs_feed_rename(struct fs_db *db, struct store_txn *t, uint32_t stid,
		   const uint8_t *skb, size_t skl, uint32_t dtid,
		   const uint8_t *dkb, size_t dkl, const char *text, size_t len)
{
	struct from from = {stid, skb, skl};
	fs_streams_changed(db, stid);
	fs_streams_changed(db, dtid);
	return record_line(db, t, dtid, dkb, dkl, &from, text ? text : "", len);
}

int fs_feed_table(struct fs_db *db, struct store_txn *t, const char *tname,
		  const char *op, const char *schema, size_t slen)
{
	struct schema_buf b = {0};
	uint64_t seq;
	int rc;
	fs_streams_changed(db, 0);
	if (!fs_feed_on(db))
		return feed_off(db, t);
	rc = line_begin(&b, t, &seq, tname, strlen(tname), op);
	if (!rc && schema &&
	    (schema_buf_add(&b, ",\"schema\":", 10) ||
	     schema_buf_json_str(&b, schema, slen)))
		rc = ENOMEM;
	if (rc) {
		schema_buf_free(&b);
		return rc;
	}
	return line_end(db, t, &b, seq, NULL, 0);
}

/* ---- the files ------------------------------------------------------ */

/* "seq N" of name ".changes@N": 0 and *n, or EINVAL. */
static int at_seq(const char *name, uint64_t *n)
{
	const char *s = name + sizeof(FS_CHANGES_NAME);
	char *end;
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return EINVAL;
	errno = 0;
	*n = strtoull(s, &end, 10);
	return errno || *end ? EINVAL : 0;
}

int fs_changes_lookup(struct fs_db *db, const char *name, struct fs_node **out)
{
	struct store_feed_state s;
	struct store_txn *t;
	struct fs_node *n;
	uint64_t base, after = 0;
	int at = name[sizeof(FS_CHANGES_NAME) - 1] == '@', rc;

	*out = NULL;
	if (!fs_feed_on(db))
		return ENOENT;
	if (at && at_seq(name, &after) != 0)
		return ENOENT;
	rc = store_snapshot_begin(db->env, &t);
	if (rc)
		return rc;
	rc = store_feed_state(t, &s);
	base = s.first_off;
	if (!rc && at) {
		char path[600];
		snprintf(path, sizeof(path), "%s/%s", db->name, name);
		if (after >= s.next_seq) {
			rc = EINVAL;
			fs_refuse(path,
				  "no change has seq %llu: the last is %llu",
				  (unsigned long long)after,
				  (unsigned long long)s.next_seq - 1);
		} else if (after + 1 < s.first_seq) {
			rc = ENODATA;
			fs_refuse(path,
				  "the changes after seq %llu are no longer "
				  "kept: the oldest kept is seq %llu "
				  "(-o changes=SIZE keeps more)",
				  (unsigned long long)after,
				  (unsigned long long)s.first_seq);
		} else if (after + 1 == s.next_seq) {
			base = s.end_off;
		} else {
			const void *line;
			size_t len;
			rc = store_feed_get(t, after + 1, &base, &line, &len);
		}
	}
	store_txn_abort(t);
	if (rc)
		return rc;
	if (!at) {
		/* the current node, while its first line is kept */
		n = db->changes_ino ? fs_node_get(db->changes_ino) : NULL;
		if (n && n->base >= s.first_off) {
			*out = n;
			return 0;
		}
	}
	n = fs_node_new(
	    fs_db_ino(db, FS_LOCAL_CHANGES | (++db->feed_gen & 0xffffffffu)),
	    FS_CHANGES);
	if (!n)
		return ENOMEM;
	n->db = db;
	n->base = base;
	if (!at)
		db->changes_ino = n->ino;
	*out = n;
	return 0;
}

int fs_history_lookup(struct fs_node *hd, const char *name,
		      struct fs_node **out)
{
	char rname[SCHEMA_NAME_MAX + 8];
	struct fs_resolved r;
	struct schema_err err;
	struct store_txn *t;
	struct fs_node *n;
	size_t nl = strlen(name);
	int rc;

	*out = NULL;
	if (nl <= 7 || strcmp(name + nl - 7, ".ndjson") != 0 ||
	    nl - 7 + 5 > SCHEMA_NAME_MAX)
		return ENOENT;
	/* KEY.ndjson names what KEY.json names */
	memcpy(rname, name, nl - 7);
	memcpy(rname + nl - 7, ".json", 6);
	rc = store_read_begin(hd->db->env, &t);
	if (rc)
		return rc;
	rc = fs_resolve(t, hd, rname, &r, &err);
	store_txn_abort(t);
	if (rc == 0 && r.kind != STORE_RECORD)
		rc = ENOENT;
	if (rc)
		return rc == EINVAL || rc == EPERM ? ENOENT : rc;
	n = fs_node_new(
	    fs_db_ino(hd->db,
		      FS_LOCAL_HISTORY | (++hd->db->feed_gen & 0xffffffffu)),
	    FS_HISTORY);
	if (!n)
		return ENOMEM;
	n->db = hd->db;
	n->tid = hd->tid;
	n->tname = strdup(hd->tname);
	if (!n->tname || fs_node_set_key(n, r.key, r.keylen)) {
		fs_node_maybe_free(n);
		return ENOMEM;
	}
	*out = n;
	return 0;
}

/* The next line of node n's text after seq (0: its first). */
static int next_seq(struct fs_node *n, struct store_txn *t, uint64_t seq,
		    const struct store_feed_state *s, uint64_t *out)
{
	if (n->kind == FS_HISTORY)
		return store_history_next(t, n->tid, n->key, n->keylen, seq,
					  out);
	if (seq + 1 >= s->next_seq)
		return ENOENT;
	*out = seq + 1;
	return 0;
}

int fs_feed_size(struct fs_node *n, uint64_t *size)
{
	struct store_feed_state s;
	struct store_txn *t;
	uint64_t seq = 0, total = 0;
	int rc;
	if (n->db->dropped)
		return ENOENT;
	rc = store_snapshot_begin(n->db->env, &t);
	if (rc)
		return rc;
	rc = store_feed_state(t, &s);
	if (!rc && n->kind == FS_CHANGES) {
		total = s.end_off > n->base ? s.end_off - n->base : 0;
	} else {
		while (!rc && (rc = next_seq(n, t, seq, &s, &seq)) == 0) {
			const void *line;
			size_t len;
			rc = store_feed_get(t, seq, NULL, &line, &len);
			total += len;
		}
		if (rc == ENOENT)
			rc = 0;
	}
	store_txn_abort(t);
	*size = total;
	return rc;
}

/* The line that holds position pos of f's text, and how far into it. */
static int feed_seek(struct fs_file *f, struct store_txn *t,
		     const struct store_feed_state *s, uint64_t pos,
		     uint64_t *seq, size_t *skip)
{
	struct fs_node *n = f->node;
	uint64_t at = 0, q = 0;
	int rc;
	if (f->feed_valid && f->feed_pos == pos) {
		*seq = f->feed_seq;
		*skip = f->feed_skip;
		return 0;
	}
	if (n->kind == FS_CHANGES) {
		uint64_t off;
		const void *line;
		size_t len;
		uint64_t abs = n->base + pos;
		if (abs >= s->end_off)
			return ENOENT;
		rc = store_feed_find(t, abs, seq);
		if (!rc)
			rc = store_feed_get(t, *seq, &off, &line, &len);
		if (!rc)
			*skip = (size_t)(abs - off);
		return rc;
	}
	/* a record's history: walk it from its first line */
	while ((rc = next_seq(n, t, q, s, &q)) == 0) {
		const void *line;
		size_t len;
		rc = store_feed_get(t, q, NULL, &line, &len);
		if (rc)
			return rc;
		if (pos < at + len) {
			*seq = q;
			*skip = (size_t)(pos - at);
			return 0;
		}
		at += len;
	}
	return rc;
}

int fs_feed_read(struct fs_file *f, size_t size, off_t off, char **out,
		 size_t *got)
{
	struct fs_node *n = f->node;
	struct store_feed_state s;
	struct store_txn *t;
	uint64_t seq = 0;
	size_t skip = 0, done = 0;
	int changes = n->kind == FS_CHANGES, at_end = 0;
	char *buf;
	int rc;

	*out = NULL;
	*got = 0;
	if (n->db->dropped)
		return ENOENT;
	buf = malloc(size ? size : 1);
	if (!buf)
		return ENOMEM;
	rc = store_snapshot_begin(n->db->env, &t);
	if (rc) {
		free(buf);
		return rc;
	}
	rc = store_feed_state(t, &s);
	if (!rc && changes && n->base + (uint64_t)off < s.first_off)
		rc = ENODATA; /* its line went */
	if (!rc)
		rc = feed_seek(f, t, &s, (uint64_t)off, &seq, &skip);
	while (!rc && done < size) {
		const void *line;
		size_t len, take;
		if (changes && seq >= s.next_seq)
			break; /* the end, for now */
		rc = store_feed_get(t, seq, NULL, &line, &len);
		if (rc == ENOENT)
			rc = ENODATA; /* gone while this reader was at it */
		if (rc)
			break;
		take = len - skip < size - done ? len - skip : size - done;
		memcpy(buf + done, (const char *)line + skip, take);
		done += take;
		skip += take;
		if (skip < len)
			break;
		skip = 0;
		if (changes) {
			seq++;
		} else if ((rc = next_seq(n, t, seq, &s, &seq)) == ENOENT) {
			at_end = 1;
			rc = 0;
			break;
		}
	}
	store_txn_abort(t);
	if (rc == ENOENT) {
		rc = 0; /* past the end */
		at_end = 1;
	}
	if (rc == ENODATA) {
		free(buf);
		f->feed_valid = 0;
		fs_refuse(fs_node_path(n, NULL),
			  "read too late: the changes there are no longer "
			  "kept (the oldest kept is seq %llu; -o changes=SIZE "
			  "keeps more); read %s/.changes@SEQ from the last "
			  "seq processed, or %s/.changes from the oldest kept",
			  (unsigned long long)s.first_seq, n->db->name,
			  n->db->name);
		return ENODATA;
	}
	if (rc) {
		free(buf);
		return rc;
	}
	/* where the next read most likely starts */
	f->feed_valid = !at_end;
	f->feed_pos = (uint64_t)off + done;
	f->feed_seq = seq;
	f->feed_skip = skip;
	*out = buf;
	*got = done;
	return 0;
}
