/*
 * stream.c: a table, or every match of a query, as one file.
 *
 *   data/dog.ndjson (.csv, .json)          the table dog
 *   dog/.by/breed/Lab.ndjson               every record whose breed is Lab
 *
 * Read, a stream is made from a snapshot (store_snapshot_begin) held by
 * the open file, a step per READ: the bytes past what was read are made
 * from a cursor that resumes after the last key it gave, so the daemon
 * holds one step's text, never the table.  Written (only a table's), the
 * text is cut into records as it arrives (schema/stream.c), each checked
 * at once, so the write(2) that brings a bad line fails; the records go
 * to a spool, an unnamed file (O_TMPFILE) in the database's directory,
 * and at close one transaction makes the table hold them: with O_TRUNC
 * exactly them, with O_APPEND them besides the others.  A refusal stores
 * nothing; a crash loses the spool with its name.
 *
 * The kernel's pages.  Reading an unchanged table again comes from the
 * kernel's page cache, through a node of its own.  fs_streams_changed()
 * counts the changes to each table's records (fs_stream_gen), from
 * wherever the feed hears of one, the feed on or off.  A table's stream
 * node reads with direct_io, as above; a reader that reads it to its end
 * with the table unchanged since its open makes that gen's text known,
 * and its size (a slot of the database's stexts).  From then on, until
 * the table changes, a lookup of the name gives a pages node: a new inode
 * number, whose text is that gen's
 * alone and whose size is that text's, read through the page cache
 * (keep_cache): a page the kernel lacks comes as a READ answered from the
 * reader's own snapshot, which is of that gen, so the pages hold nothing
 * else.  The kernel keeps one size per inode, which an O_TRUNC open sets
 * to 0 and writes move; none of that may happen to a pages node while it
 * is read, so no writer opens one: its open is ESTALE, on which the
 * kernel looks the name up again (LOOKUP_REVAL) and opens what that
 * gives, the stream node, which lookups give until the table changes
 * (or SEND_BACK_NS passed).  A reader whose snapshot is of another
 * gen than the pages node it found (the table changed between its lookup
 * and its open) is sent back the same way, unless it reopens a file open
 * on that node (/dev/fd/N): it then reads that file's snapshot, the
 * node's text.  So readers of the pages keep reading them, whole, while
 * the table is written, and imports go on as before.  A pages node's
 * modification time is when its text was read whole.
 *
 * What each format looks like is schema/stream.c's; the .by tree's
 * queries are by.c's; records are stored through record.c.  The open,
 * read, write and close handlers (file.c) hand stream files here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "fs_i.h"

/* Bytes made ahead of a read, at most, per step. */
#define STEP_BYTES (256u * 1024)
/* The spool is written in pieces of this size. */
#define SPOOL_BUF (1u << 20)
/* How long lookups give a table's stream node, not its pages node, after
 * a writer was sent back from the pages (ns). */
#define SEND_BACK_NS   (10 * 1000000000LL) /* at most, for writers */
#define READER_BACK_NS (1000 * 1000000LL)
/* Progress in the daemon's log, at most this often (ns). */
#define PROGRESS_NS (5 * 1000000000LL)

enum { SM_READ, SM_REPLACE, SM_APPEND };

struct in_ctx {
	struct fs_file *f;
	struct schema_err *err; /* the feed's, set before each */
};

/*
 * The keys of a stream, a slot each in an open-addressing table: the top
 * SEEN_TAG_BITS of the key's hash (the slot's place comes from them, so
 * the table grows without the keys) and where its record is in the spool,
 * plus one (0: an empty slot).  8 bytes a key: 1,000,000 keys take 16 MiB.
 */
#define SEEN_TAG_BITS 28
#define SEEN_OFF_BITS (64 - SEEN_TAG_BITS)
#define SEEN_OFF_MASK ((1ull << SEEN_OFF_BITS) - 1)

struct fs_stream {
	int fmt;
	int mode; /* SM_* */
	/* reading */
	struct store_txn *snap;
	struct schema_buf out; /* bytes [out_off, out_off + out.len) */
	uint64_t out_off;
	int begun, ended; /* the head and the tail are made */
	uint8_t last[SCHEMA_KEYBUF_MAX];
	size_t lastlen;
	int started;
	uint8_t **keys; /* a query's records, in key order */
	size_t nkeys, ki;
	char **cols; /* CSV's columns */
	size_t ncols;
	/* writing */
	const struct schema_table *ts; /* valid while schema_gen holds */
	uint64_t schema_gen;
	int dynamic;
	struct schema_in *in;
	int fd;			/* the spool, -1: none */
	struct schema_buf sbuf; /* spool bytes not yet written */
	uint64_t spooled;	/* bytes of the spool written to fd */
	struct schema_buf win;	/* spool bytes from win_off, read ahead */
	uint64_t win_off;
	uint64_t received;
	uint64_t *seen;
	size_t nseen, seen_cap;
	unsigned seen_bits; /* seen_cap is 1 << seen_bits */
	int64_t max_int;    /* the largest integer key given, for new keys */
	int has_int;
	int bad; /* a refusal's errno: later writes and close say it */
	/* Stored in parts: each close (of any descriptor of the open file)
	 * that finds the text at a place it may end stores the records
	 * spooled since the last part, from spool offset done; the first
	 * part of an O_TRUNC stream replaces the table, later ones add. */
	uint64_t done;
	unsigned parts;
	uint64_t unstored;     /* bytes written since the last part */
	uint64_t records_done; /* records stored by the parts */
	struct in_ctx x;       /* what in_record is called with */
	uint64_t open_gen;     /* reading: fs_stream_gen at open */
	/* reading: snap, shared with the other open files of a pages node
	 * that reopens (/dev/fd/N) have (refs of them) */
	struct shared_snap {
		struct store_txn *t;
		unsigned refs;
	} * share;
	/* both */
	uint64_t records;
	int64_t progress_ns;
};

/* The format of stream node n. */
static int node_fmt(const struct fs_node *n)
{
	return n->kind == FS_STREAM ? fs_stream_node_fmt(n)
				    : fs_by_stream_fmt(n);
}

/* The slot of table tid's stream of format fmt among db's known texts. */
static struct fs_stext *stext(struct fs_db *db, uint32_t tid, int fmt)
{
	return &db->stexts[((uint64_t)tid * 3 + (uint64_t)fmt) %
			   (sizeof(db->stexts) / sizeof(db->stexts[0]))];
}

/* That slot if it holds that stream's text (another may have taken it). */
static struct fs_stext *own_stext(struct fs_db *db, uint32_t tid, int fmt)
{
	struct fs_stext *x = stext(db, tid, fmt);
	return x->tid == tid && x->fmt == fmt ? x : NULL;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether lookups give the stream node, not the pages node, for x with
 * the table at gen: an open was sent back from the pages at gen, and its
 * time is not up.  A change ends it (the pages node is of the old text). */
static int held(struct fs_stext *x, uint64_t gen)
{
	if (!x->hold_ns)
		return 0;
	if (x->hold_gen == gen && mono_ns() < x->hold_ns)
		return 1;
	x->hold_ns = 0;
	return 0;
}

/* Send an open on pages node n back to the name (ESTALE: the kernel looks
 * it up again, once, and opens what that gives): lookups give the stream
 * node until the table changes (a writer's import does) or SEND_BACK_NS
 * passed (READER_BACK_NS for a reader).  No count of the opens sent back
 * and come: a writer that opened the stream node without being sent back
 * would end another's hold between its two lookups. */
static int send_back(struct fs_node *n, int writer)
{
	struct fs_stext *x = own_stext(n->db, n->tid, n->sfmt);
	if (x) {
		uint64_t gen = fs_stream_gen(n->db, n->tid);
		int64_t until =
		    mono_ns() + (writer ? SEND_BACK_NS : READER_BACK_NS);
		if (x->hold_gen != gen || until > x->hold_ns)
			x->hold_ns = until;
		x->hold_gen = gen;
	}
	return ESTALE;
}

struct fs_node *fs_stream_node(struct fs_db *db, const char *name, size_t nl,
			       const struct store_table *tb, int fmt)
{
	struct fs_stext *x = own_stext(db, tb->tid, fmt);
	struct fs_node *p;

	if (x && x->known && x->gen == fs_stream_gen(db, tb->tid) &&
	    !held(x, x->gen)) {
		/* its text is known: the pages node of that text */
		p = x->pino ? fs_node_get(x->pino) : NULL;
		if (p && p->spages && p->sgen == x->gen)
			return p;
		p = fs_special_node(db, 0, name, nl,
				    FS_LOCAL_SPAGES | ++db->spages_next,
				    FS_STREAM);
		if (p) {
			p->tid = tb->tid;
			p->spages = 1;
			p->sfmt = (uint8_t)fmt;
			p->sgen = x->gen;
			p->slen = x->len;
			p->smtime_ns = x->mtime_ns;
			x->pino = p->ino;
			return p;
		}
	}
	return fs_special_node(db, tb->tid, name, nl,
			       FS_LOCAL_STREAM | (uint64_t)fmt << 32,
			       FS_STREAM);
}

static const char *fs_stream_path(const struct fs_node *n, char *buf,
				  size_t size)
{
	if (n->kind == FS_BYSTREAM)
		return fs_by_path(n, buf, size);
	snprintf(buf, size, "%s", fs_node_path(n, NULL));
	return buf;
}

static int refuse(int rc, struct fs_node *n, const char *why)
{
	char path[1200];
	fs_refuse(fs_stream_path(n, path, sizeof(path)), "%s", why);
	return rc;
}

/* ---- reading --------------------------------------------------------- */

struct names {
	char **cols;
	size_t n, cap;
};

static int names_add(const char *name, size_t nl, void *arg)
{
	struct names *a = arg;
	size_t i;
	for (i = 0; i < a->n; i++)
		if (strlen(a->cols[i]) == nl && !memcmp(a->cols[i], name, nl))
			return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		char **nc = realloc(a->cols, cap * sizeof(*nc));
		if (!nc)
			return ENOMEM;
		a->cols = nc;
		a->cap = cap;
	}
	if (!(a->cols[a->n] = strndup(name, nl)))
		return ENOMEM;
	a->n++;
	return 0;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * CSV's columns: the key attribute, a declared table's attributes in
 * their order, then every other name a record of the snapshot holds,
 * sorted.  One walk over the records (or the query's matches).
 */
static int csv_columns(struct fs_node *n, struct fs_stream *s)
{
	const struct schema_table *ts = NULL;
	struct names a = {0};
	size_t fixed, i;
	int rc = fs_schema_get(n->db, s->snap, n->tid, &ts);
	if (rc)
		return rc;
	rc = names_add(ts ? schema_table_pk_name(ts) : SCHEMA_PK,
		       strlen(ts ? schema_table_pk_name(ts) : SCHEMA_PK), &a);
	for (i = 0; !rc && ts && i < ts->nattrs; i++)
		rc =
		    names_add(ts->attrs[i].name, strlen(ts->attrs[i].name), &a);
	fixed = a.n;
	if (!rc && s->keys) {
		for (i = 0; !rc && i < s->nkeys; i++) {
			struct store_obj o;
			const uint8_t *k = s->keys[i];
			size_t kl = (size_t)k[0] << 8 | k[1];
			rc = store_obj_get(s->snap, n->tid, STORE_RECORD, k + 2,
					   kl, &o);
			if (rc == ENOENT) {
				rc = 0;
				continue;
			}
			if (!rc)
				rc = schema_text_names(o.data, o.len, names_add,
						       &a);
		}
	} else if (!rc) {
		struct store_cursor *c;
		const void *key;
		size_t kl;
		struct store_obj o;
		uint64_t seen = 0;
		rc = store_cursor_open(s->snap, n->tid, STORE_RECORD, NULL, 0,
				       &c);
		while (!rc && (rc = store_cursor_next(c, &key, &kl, &o)) == 0) {
			rc = schema_text_names(o.data, o.len, names_add, &a);
			if (++seen % 4096 == 0)
				store_env_unmap_pages(n->db->env);
		}
		if (rc == ENOENT)
			rc = 0;
		if (c)
			store_cursor_close(c);
	}
	if (!rc && a.n > fixed)
		qsort(a.cols + fixed, a.n - fixed, sizeof(*a.cols), names_cmp);
	s->cols = a.cols;
	s->ncols = a.n;
	return rc;
}

/* One record's text, in the stream's format, onto s->out. */
static int put_record(struct fs_stream *s, const char *text, size_t len)
{
	size_t cl, at;
	int rc;
	if (s->fmt == SCHEMA_FMT_CSV)
		return schema_csv_row(&s->out, text, len, s->cols, s->ncols);
	if (s->fmt == SCHEMA_FMT_JSON) {
		rc = schema_buf_add(&s->out, s->records ? ",\n" : "[\n", 2);
		if (rc)
			return rc;
	}
	/* the compact text is never longer than the text and its newline:
	 * made in place, in one pass */
	if (schema_buf_reserve(&s->out, len + 1))
		return ENOMEM;
	at = s->out.len;
	cl = schema_compact(text, len, s->out.p + at);
	if (s->fmt == SCHEMA_FMT_JSON)
		while (cl && s->out.p[at + cl - 1] == '\n')
			cl--;
	else if (!cl || s->out.p[at + cl - 1] != '\n')
		s->out.p[at + cl++] = '\n';
	s->out.len = at + cl;
	s->out.p[s->out.len] = '\0';
	return 0;
}

static void progress(struct fs_file *f, struct fs_stream *s)
{
	struct fs_node *n = f->node;
	char path[600];
	int64_t now = fs_now_ns();
	f->stream_records = s->records;
	if (!s->progress_ns) {
		s->progress_ns = now;
		return;
	}
	if (now - s->progress_ns < PROGRESS_NS)
		return;
	s->progress_ns = now;
	fs_log("%s: %s: %llu records", fs_stream_path(n, path, sizeof(path)),
	       s->mode == SM_READ ? "export" : "import",
	       (unsigned long long)s->records);
}

/* Make the stream's next bytes: at least one record, or its end. */
static int step(struct fs_node *n, struct fs_stream *s)
{
	size_t goal = s->out.len + STEP_BYTES;
	int rc = 0;

	if (!s->begun) {
		s->begun = 1;
		if (s->fmt == SCHEMA_FMT_CSV)
			return schema_csv_header(&s->out, s->cols, s->ncols);
		return 0;
	}
	if (s->keys) {
		while (s->ki < s->nkeys && s->out.len < goal) {
			const uint8_t *k = s->keys[s->ki++];
			size_t kl = (size_t)k[0] << 8 | k[1];
			struct store_obj o;
			rc = store_obj_get(s->snap, n->tid, STORE_RECORD, k + 2,
					   kl, &o);
			if (rc == ENOENT)
				continue;
			if (!rc)
				rc = put_record(s, o.data, o.len);
			if (rc)
				return rc;
			s->records++;
		}
		if (s->ki < s->nkeys)
			return 0;
	} else {
		struct store_cursor *c;
		const void *key;
		size_t kl;
		struct store_obj o;
		rc = store_cursor_open(s->snap, n->tid, STORE_RECORD,
				       s->started ? s->last : NULL, s->lastlen,
				       &c);
		if (rc)
			return rc;
		while (s->out.len < goal &&
		       (rc = store_cursor_next(c, &key, &kl, &o)) == 0) {
			rc = put_record(s, o.data, o.len);
			if (rc)
				break;
			memcpy(s->last, key, kl);
			s->lastlen = kl;
			s->started = 1;
			/* only the map's pages, which are the page
			 * cache's: the daemon's own memory stays flat */
			if (++s->records % 65536 == 0)
				store_env_unmap_pages(n->db->env);
			if (s->records % 8192 == 0)
				store_env_prefetch(n->db->env, o.data);
		}
		store_cursor_close(c);
		if (rc != ENOENT)
			return rc;
	}
	/* the end */
	s->ended = 1;
	if (s->fmt == SCHEMA_FMT_JSON)
		return s->records ? schema_buf_add(&s->out, "\n]\n", 3)
				  : schema_buf_add(&s->out, "[]\n", 3);
	return 0;
}

/* Back to the start of the same snapshot (a read before what is held). */
static void rewind_stream(struct fs_stream *s)
{
	s->out.len = 0;
	s->out_off = 0;
	s->begun = s->ended = s->started = 0;
	s->lastlen = 0;
	s->ki = 0;
	s->records = 0;
}

void fs_stream_cache(struct fs_file *f, struct fuse_file_info *fi)
{
	/* a stream node's reader reads its own snapshot, never pages */
	fi->direct_io = !f->node->spages;
	fi->keep_cache = f->node->spages;
}

/* A reader of a table's stream node came to its end: with the table as
 * at its open, the text of this gen is known, and its size. */
static void read_whole(struct fs_node *n, struct fs_stream *s)
{
	int fmt = node_fmt(n);
	struct fs_stext *x;

	if (n->kind != FS_STREAM || n->spages ||
	    fs_stream_gen(n->db, n->tid) != s->open_gen)
		return;
	if (!(x = own_stext(n->db, n->tid, fmt))) {
		x = stext(n->db, n->tid, fmt); /* taken from another */
		memset(x, 0, sizeof(*x));
		x->tid = n->tid;
		x->fmt = (uint8_t)fmt;
	}
	x->known = 1;
	x->gen = s->open_gen;
	x->len = s->out_off + s->out.len;
	x->mtime_ns = fs_now_ns();
}

int fs_stream_read(struct fs_file *f, size_t size, off_t off, const char **buf,
		   size_t *len)
{
	struct fs_stream *s = f->stream;
	struct fs_node *n = f->node;
	uint64_t want = (uint64_t)off + size;
	int rc;

	*len = 0;
	if (s->mode != SM_READ)
		return EBADF;
	if (!s->snap)
		return ENOENT; /* its database was dropped */
	if ((uint64_t)off < s->out_off)
		rewind_stream(s);
	while (s->out_off + s->out.len < want && !s->ended) {
		/* let go of what was read before off */
		if ((uint64_t)off > s->out_off && s->out.len) {
			size_t drop = (size_t)((uint64_t)off - s->out_off);
			if (drop > s->out.len)
				drop = s->out.len;
			memmove(s->out.p, s->out.p + drop, s->out.len - drop);
			s->out.len -= drop;
			s->out_off += drop;
		}
		rc = step(n, s);
		if (rc)
			return rc;
		progress(f, s);
		if (s->ended)
			read_whole(n, s);
	}
	if ((uint64_t)off >= s->out_off + s->out.len)
		return 0;
	*buf = s->out.p + ((uint64_t)off - s->out_off);
	*len = (size_t)(s->out_off + s->out.len - (uint64_t)off);
	if (*len > size)
		*len = size;
	return 0;
}

/* ---- writing: the spool ------------------------------------------------ */

static uint64_t key_hash(const uint8_t *k, size_t kl)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;
	for (i = 0; i < kl; i++)
		h = (h ^ k[i]) * 0x100000001b3ull;
	/* FNV's top bits vary little between similar keys, and the table
	 * places a key by them: mix (splitmix64's finalizer) */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static int spool_flush(struct fs_stream *s)
{
	size_t at = 0;
	while (at < s->sbuf.len) {
		ssize_t w = write(s->fd, s->sbuf.p + at, s->sbuf.len - at);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		at += (size_t)w;
	}
	s->spooled += s->sbuf.len;
	s->sbuf.len = 0;
	return 0;
}

/* Read n bytes of the spool at off, from its file or its buffer. */
static int spool_read(struct fs_stream *s, uint64_t off, void *out, size_t n)
{
	if (off >= s->spooled) {
		memcpy(out, s->sbuf.p + (off - s->spooled), n);
		return 0;
	}
	while (n) {
		ssize_t r = pread(s->fd, out, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? errno : EIO;
		out = (char *)out + r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/*
 * The same for a walk from the spool's start to its end: through a window
 * of SPOOL_BUF bytes read at once, not a pread per field.
 */
static int spool_walk(struct fs_stream *s, uint64_t off, void *out, size_t n)
{
	int rc;
	if (off >= s->spooled || n > SPOOL_BUF)
		return spool_read(s, off, out, n);
	if (off < s->win_off || off + n > s->win_off + s->win.len) {
		size_t want = SPOOL_BUF;
		if (s->spooled - off < want)
			want = (size_t)(s->spooled - off);
		s->win.len = 0;
		if (schema_buf_reserve(&s->win, want))
			return ENOMEM;
		rc = spool_read(s, off, s->win.p, want);
		if (rc)
			return rc;
		s->win.len = want;
		s->win_off = off;
	}
	memcpy(out, s->win.p + (off - s->win_off), n);
	return 0;
}

/* A spooled record: [u32 line][u16 key length, 0xffff none][key][u32
 * body length][body]. */
struct spooled {
	uint32_t line;
	uint8_t key[SCHEMA_KEYBUF_MAX];
	size_t kl;
	int has_key;
};

static int spooled_key(struct fs_stream *s, uint64_t off, struct spooled *r,
		       int walk)
{
	uint8_t h[6];
	int (*rd)(struct fs_stream *, uint64_t, void *, size_t) =
	    walk ? spool_walk : spool_read;
	int rc = rd(s, off, h, 6);
	if (rc)
		return rc;
	r->line = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
		  (uint32_t)h[3] << 24;
	r->kl = (size_t)h[4] << 8 | h[5];
	r->has_key = r->kl != 0xffff;
	if (!r->has_key) {
		r->kl = 0;
		return 0;
	}
	if (r->kl > sizeof(r->key))
		return EIO;
	return rd(s, off + 6, r->key, r->kl);
}

/*
 * The spool offset of the record holding key k, 0 for none (offsets are
 * stored +1).  With add, k at off is added unless it is there.
 */
static int seen_find(struct fs_stream *s, const uint8_t *k, size_t kl,
		     uint64_t add_off, int add, uint64_t *found)
{
	uint64_t tag = key_hash(k, kl) >> SEEN_OFF_BITS;
	size_t mask, i;
	int rc;

	*found = 0;
	if (add && add_off + 1 > SEEN_OFF_MASK)
		return EFBIG;
	if (add && (s->nseen + 1) * 4 > s->seen_cap * 3) {
		unsigned bits = s->seen_cap ? s->seen_bits + 1 : 10;
		size_t cap = (size_t)1 << bits, j;
		uint64_t *ns;
		if (bits > SEEN_TAG_BITS)
			return EFBIG;
		ns = calloc(cap, sizeof(*ns));
		if (!ns)
			return ENOMEM;
		for (j = 0; j < s->seen_cap; j++) {
			uint64_t e = s->seen[j];
			if (!e)
				continue;
			for (i = (e >> SEEN_OFF_BITS) >> (SEEN_TAG_BITS - bits);
			     ns[i]; i = (i + 1) & (cap - 1))
				;
			ns[i] = e;
		}
		free(s->seen);
		s->seen = ns;
		s->seen_cap = cap;
		s->seen_bits = bits;
	}
	if (!s->seen_cap)
		return 0;
	mask = s->seen_cap - 1;
	for (i = tag >> (SEEN_TAG_BITS - s->seen_bits); s->seen[i];
	     i = (i + 1) & mask) {
		struct spooled r;
		uint64_t e = s->seen[i];
		if (e >> SEEN_OFF_BITS != tag)
			continue;
		rc = spooled_key(s, (e & SEEN_OFF_MASK) - 1, &r, 0);
		if (rc)
			return rc;
		if (r.kl == kl && memcmp(r.key, k, kl) == 0) {
			*found = e & SEEN_OFF_MASK;
			return 0;
		}
	}
	if (add) {
		s->seen[i] = tag << SEEN_OFF_BITS | (add_off + 1);
		s->nseen++;
	}
	return 0;
}

/* A record of the stream, checked: to the spool. */
static int in_record(void *arg, const char *body, size_t len,
		     const struct schema_key *key, size_t line)
{
	struct in_ctx *x = arg;
	struct fs_stream *s = x->f->stream;
	const char *pk = s->ts ? schema_table_pk_name(s->ts) : SCHEMA_PK;
	uint8_t kb[SCHEMA_KEYBUF_MAX], h[6], bl[4];
	struct schema_key probe;
	struct schema_err e = {{0}};
	char *text = NULL;
	size_t kl = 0, tl;
	uint64_t at = s->spooled + s->sbuf.len, found;
	int rc;

	if (key) {
		kl = schema_key_encode(key, kb);
		if (!kl)
			return schema_fail(x->err, EINVAL,
					   "line %zu: the key is longer than "
					   "%d bytes",
					   line, SCHEMA_KEY_MAX);
		probe = *key;
	} else if (s->ts && (schema_table_pk(s->ts)->type == SCHEMA_T_ID ||
			     schema_table_pk(s->ts)->type == SCHEMA_T_STRING)) {
		probe.type = SCHEMA_KEY_STR;
		probe.s = "k";
		probe.len = 1;
	} else {
		probe.type = SCHEMA_KEY_INT;
		probe.i = 1;
	}
	/* what the commit will make of it, refused now if it cannot */
	rc = schema_record_prepare(body, len, &probe, pk, NULL, 0, 0,
				   s->dynamic, &text, &tl, &e);
	if (!rc && s->ts)
		rc = fs_declared_record(s->ts, &text, &tl, NULL, 0, -1, &e);
	free(text);
	if (rc)
		return schema_fail(x->err, rc, "line %zu: %s", line,
				   e.msg[0] ? e.msg : strerror(rc));
	if (key) {
		rc = seen_find(s, kb, kl, at, 1, &found);
		if (rc)
			return rc;
		if (found) {
			struct spooled r;
			char name[SCHEMA_NAME_MAX + 1];
			rc = spooled_key(s, found - 1, &r, 0);
			if (rc)
				return rc;
			schema_key_to_name(key, name);
			name[strlen(name) - 5] = '\0'; /* no ".json" */
			return schema_fail(
			    x->err, EINVAL,
			    "line %zu: key %s given twice (first "
			    "on line %u)",
			    line, name, r.line);
		}
		if (key->type == SCHEMA_KEY_INT &&
		    (!s->has_int || key->i > s->max_int)) {
			s->max_int = key->i;
			s->has_int = 1;
		}
	}
	h[0] = (uint8_t)line;
	h[1] = (uint8_t)(line >> 8);
	h[2] = (uint8_t)(line >> 16);
	h[3] = (uint8_t)(line >> 24);
	h[4] = key ? (uint8_t)(kl >> 8) : 0xff;
	h[5] = key ? (uint8_t)kl : 0xff;
	bl[0] = (uint8_t)len;
	bl[1] = (uint8_t)(len >> 8);
	bl[2] = (uint8_t)(len >> 16);
	bl[3] = (uint8_t)(len >> 24);
	rc = schema_buf_add(&s->sbuf, h, 6);
	if (!rc)
		rc = schema_buf_add(&s->sbuf, kb, kl);
	if (!rc)
		rc = schema_buf_add(&s->sbuf, bl, 4);
	if (!rc)
		rc = schema_buf_add(&s->sbuf, body, len);
	if (!rc && s->sbuf.len >= SPOOL_BUF)
		rc = spool_flush(s);
	if (rc == ENOSPC || rc == EDQUOT)
		return schema_fail(x->err, ENOSPC, "%s", FS_DISK_FULL);
	if (rc)
		return rc;
	s->records++;
	progress(x->f, s);
	return 0;
}

static int stream_refuse(struct fs_file *f, int rc, struct schema_err *err)
{
	struct fs_stream *s = f->stream;
	char path[600];
	fs_refuse(fs_stream_path(f->node, path, sizeof(path)), "%s",
		  err->msg[0] ? err->msg : strerror(rc));
	s->bad = rc;
	return rc;
}

/* The table's schema changed since the open (s->ts is gone with it). */
static int schema_moved(struct fs_file *f, struct schema_err *err)
{
	struct fs_stream *s = f->stream;
	if (f->node->db->schema_gen == s->schema_gen)
		return 0;
	schema_fail(err, EINVAL,
		    "the table's schema changed while the stream was written");
	return stream_refuse(f, EINVAL, err);
}

/*
 * The records a close would store, and the room they take: a full disk
 * is told at the write, which bash's >> reports, not only at the close
 * it ignores.  About a record's text (its canonical text; store_env_fits
 * counts the feed's line), and ROOM_PER_RECORD (its key, index entries,
 * history); a stream whose records take more is refused at its close, as
 * before.
 */
#define ROOM_PER_RECORD 512

static int room_check(struct fs_file *f, struct schema_err *err)
{
	struct fs_stream *s = f->stream;
	uint64_t need =
	    s->unstored + (s->records - s->records_done) * ROOM_PER_RECORD;
	if (store_env_fits(f->node->db->env, (size_t)need) != ENOSPC)
		return 0;
	schema_fail(err, ENOSPC, "%s", FS_DISK_FULL);
	return stream_refuse(f, ENOSPC, err);
}

int fs_stream_write(struct fs_file *f, const char *buf, size_t size, off_t off)
{
	struct fs_stream *s = f->stream;
	struct schema_err err = {{0}};
	int rc;

	if (s->mode == SM_READ)
		return EBADF;
	if (s->bad)
		return s->bad;
	if (s->mode == SM_REPLACE && (uint64_t)off != s->received)
		return refuse(EINVAL, f->node,
			      "a stream is written in order, from its start");
	rc = schema_moved(f, &err);
	if (rc)
		return rc;
	s->received += size;
	s->unstored += size;
	s->x.err = &err;
	rc = schema_in_feed(s->in, buf, size, &err);
	if (rc)
		return stream_refuse(f, rc, &err);
	return room_check(f, &err);
}

/* ---- writing: the commit ------------------------------------------------ */

struct import {
	struct fs_file *f;
	int64_t now;
	struct schema_err err;
	uint64_t deleted, stored;
};

/* Delete the records of the table that the stream does not hold. */
static int import_prune(struct store_txn *t, struct import *im)
{
	struct fs_stream *s = im->f->stream;
	struct fs_node *n = im->f->node;
	uint8_t last[SCHEMA_KEYBUF_MAX], (*gone)[SCHEMA_KEYBUF_MAX] = NULL;
	size_t lastlen = 0, *gonelen = NULL, ngone, i;
	int started = 0, rc = 0;

	gone = malloc(1024 * sizeof(*gone));
	gonelen = malloc(1024 * sizeof(*gonelen));
	if (!gone || !gonelen) {
		rc = ENOMEM;
		goto out;
	}
	for (;;) {
		struct store_cursor *c;
		const void *key;
		size_t kl;
		struct store_obj o;
		uint64_t found;
		int more = 0;
		ngone = 0;
		rc = store_cursor_open(t, n->tid, STORE_RECORD,
				       started ? last : NULL, lastlen, &c);
		if (rc)
			break;
		while ((rc = store_cursor_next(c, &key, &kl, &o)) == 0) {
			memcpy(last, key, kl);
			lastlen = kl;
			started = 1;
			rc = seen_find(s, key, kl, 0, 0, &found);
			if (rc)
				break;
			if (!found) {
				memcpy(gone[ngone], key, kl);
				gonelen[ngone++] = kl;
				if (ngone == 1024) {
					more = 1;
					break;
				}
			}
		}
		store_cursor_close(c);
		if (rc && rc != ENOENT)
			break;
		rc = 0;
		for (i = 0; !rc && i < ngone; i++) {
			rc = store_obj_get(t, n->tid, STORE_RECORD, gone[i],
					   gonelen[i], &o);
			if (!rc)
				rc = fs_record_delete(n->db, t, n->tid, gone[i],
						      gonelen[i], &o);
			im->deleted++;
		}
		if (rc || !more)
			break;
	}
out:
	free(gone);
	free(gonelen);
	return rc;
}

/* A key for a record the stream gave none. */
static int new_key(struct store_txn *t, struct import *im, struct spooled *r)
{
	struct fs_stream *s = im->f->stream;
	struct fs_node *n = im->f->node;
	struct schema_key k;
	int64_t floor = s->has_int ? s->max_int + (s->max_int < INT64_MAX) : 1;
	int rc;

	if (s->ts && (schema_table_pk(s->ts)->type == SCHEMA_T_ID ||
		      schema_table_pk(s->ts)->type == SCHEMA_T_STRING)) {
		char u[UUID_STR_LEN];
		uuid_t id;
		uuid_generate_random(id);
		uuid_unparse_lower(id, u);
		k.type = SCHEMA_KEY_STR;
		k.s = u;
		k.len = strlen(u);
		r->kl = schema_key_encode(&k, r->key);
		return 0;
	}
	k.type = SCHEMA_KEY_INT;
	if (s->has_int && s->max_int == INT64_MAX)
		return schema_fail(&im->err, EINVAL,
				   "line %u: no integer key is left above the "
				   "largest the stream gives, for a record "
				   "without one",
				   r->line);
	/* as .next makes them (from 1), above every key the stream gives */
	rc = fs_next_int(t, n->tid, floor < 1 ? 1 : floor, &k.i);
	if (rc)
		return rc;
	r->kl = schema_key_encode(&k, r->key);
	return 0;
}

static int import_fn(struct store_txn *t, void *arg)
{
	struct import *im = arg;
	struct fs_stream *s = im->f->stream;
	struct fs_node *n = im->f->node;
	uint64_t off = s->done, total = s->spooled + s->sbuf.len;
	struct schema_buf body = {0};
	int rc = fs_table_same(t, n->tname, strlen(n->tname), n->tid, &im->err);

	/* run again from its start when the map grows */
	im->deleted = im->stored = 0;
	im->err.msg[0] = '\0';
	if (!rc && s->mode == SM_REPLACE && s->parts == 0)
		rc = import_prune(t, im);
	while (!rc && off < total) {
		struct spooled r;
		uint8_t bl[4];
		size_t len;
		rc = spooled_key(s, off, &r, 1);
		if (rc)
			break;
		off += 6 + r.kl;
		rc = spool_walk(s, off, bl, 4);
		if (rc)
			break;
		len = (size_t)bl[0] | (size_t)bl[1] << 8 | (size_t)bl[2] << 16 |
		      (size_t)bl[3] << 24;
		off += 4;
		if (schema_buf_reserve(&body, len)) {
			rc = ENOMEM;
			break;
		}
		rc = spool_walk(s, off, body.p, len);
		if (rc)
			break;
		off += len;
		if (!r.has_key && (rc = new_key(t, im, &r)) != 0)
			break;
		rc = fs_record_put(n->db, t, n->tid, r.key, r.kl, 0, im->now,
				   NULL, body.p, len, NULL, im->now, 0,
				   &im->err);
		if (rc == ENOSPC) {
			schema_fail(&im->err, rc, "%s", FS_DISK_FULL);
			break;
		}
		if (rc) {
			char why[sizeof(im->err.msg)];
			snprintf(why, sizeof(why), "%s",
				 im->err.msg[0] ? im->err.msg : strerror(rc));
			schema_fail(&im->err, rc, "line %u: %s", r.line, why);
			break;
		}
		im->stored++;
	}
	schema_buf_free(&body);
	return rc;
}

/*
 * After an import: what the kernel holds of the table's records ends, and
 * the names of those the import removed are forgotten.
 */
static void import_done(struct fs_node *sn)
{
	struct store_txn *t = NULL;
	struct store_table tb;
	uint64_t tino = 0;
	size_t i;
	if (store_read_begin(sn->db->env, &t) == 0 &&
	    store_table_get(t, sn->tname, strlen(sn->tname), &tb) == 0)
		tino = fs_db_ino(sn->db, tb.ino);
	for (i = 0; i < fs.hsize; i++) {
		struct fs_node *n;
		for (n = fs.htab[i]; n; n = n->hnext) {
			struct store_obj o;
			if (n->kind != FS_RECORD || n->db != sn->db ||
			    n->tid != sn->tid)
				continue;
			fs_node_changed(n);
			if (tino && t && !n->pending &&
			    (store_obj_get(t, n->tid, STORE_RECORD, n->key,
					   n->keylen, &o) != 0 ||
			     !fs_obj_is(n, &o))) {
				char name[SCHEMA_NAME_MAX + 1];
				fs_record_name(n->key, n->keylen, name);
				fs_notify_entry(tino, name);
			}
		}
	}
	store_txn_abort(t);
}

/*
 * Store what was written since the last part.  At a close (last = 0) only
 * where the text may end, so that the writers of one open file (a shell
 * loop's commands, each closing its copy of the descriptor) store whole
 * records; at the last close (last = 1) the text must end there.
 */
static int stream_commit(struct fs_file *f, int last)
{
	struct fs_stream *s = f->stream;
	struct fs_node *n = f->node;
	struct import im = {.f = f};
	struct schema_err err = {{0}};
	int rc;

	if (s->mode == SM_READ)
		return 0;
	if (s->bad)
		return s->bad;
	if (!last && s->unstored) {
		s->x.err = &err;
		rc = schema_in_cut(s->in, &err);
		if (rc)
			return stream_refuse(f, rc, &err);
	}
	if (!last && (!s->unstored || !schema_in_at_end(s->in)))
		return 0;
	if (n->db->dropped)
		return ENOENT;
	rc = schema_moved(f, &err);
	if (rc)
		return rc;
	if (last) {
		s->x.err = &err;
		rc = schema_in_end(s->in, &err);
		if (rc)
			return stream_refuse(f, rc, &err);
	}
	if (s->spooled + s->sbuf.len == s->done &&
	    !(s->mode == SM_REPLACE && s->parts == 0))
		return 0; /* nothing new to store */
	im.now = fs_now_ns();
	/* a record's pages with its index entries take about six times
	 * its spooled bytes: room made once, not by doublings that each
	 * run the import again */
	rc = store_env_reserve(n->db->env,
			       (s->spooled + s->sbuf.len - s->done) * 6);
	if (!rc)
		rc = store_write(n->db->env, import_fn, &im);
	if (rc) {
		if (!im.err.msg[0] && rc == ENOSPC)
			schema_fail(&im.err, rc, "%s", FS_DISK_FULL);
		return stream_refuse(f, rc, &im.err);
	}
	s->done = s->spooled + s->sbuf.len;
	s->records_done = s->records;
	s->parts++;
	s->unstored = 0;
	fs_committed(n->db);
	import_done(n);
	fs_dir_changed(n->db, n->tid, n->tname);
	if (im.stored >= 100000 || im.deleted >= 100000) {
		char path[600];
		fs_log("%s: imported %llu records, removed %llu",
		       fs_stream_path(n, path, sizeof(path)),
		       (unsigned long long)im.stored,
		       (unsigned long long)im.deleted);
	}
	return 0;
}

/* ---- open and close ------------------------------------------------------ */

int fs_stream_open(struct fs_file *f, int flags)
{
	struct fs_node *n = f->node;
	struct fs_stream *s;
	int acc = flags & O_ACCMODE, rc;

	if (n->db->dropped)
		return ENOENT;
	/* a writer, or an O_TRUNC (the kernel cuts the size it knows at
	 * once), would move a pages node's size: the stream node's */
	if (n->spages && (acc != O_RDONLY || (flags & O_TRUNC)))
		return send_back(n, 1);
	if (acc != O_RDONLY && n->kind == FS_BYSTREAM)
		return refuse(EPERM, n,
			      "a query's stream is read-only: write the "
			      "table's stream (DB/TABLE.ndjson) instead");
	if (acc != O_RDONLY && !(flags & (O_TRUNC | O_APPEND)))
		return refuse(EINVAL, n,
			      "open a stream with O_TRUNC (>) to replace the "
			      "table's records or O_APPEND (>>) to add to "
			      "them");
	if (acc == O_RDWR)
		return refuse(EINVAL, n,
			      "a stream is opened to read or to write, not "
			      "both");
	s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	s->fd = -1;
	s->fmt = node_fmt(n);
	f->stream = s;
	if (acc == O_RDONLY) {
		s->mode = SM_READ;
		rc = store_snapshot_begin(n->db->env, &s->snap);
		if (rc == EAGAIN)
			return refuse(EAGAIN, n,
				      "every reader slot of the database is "
				      "taken by an open stream (512 at once); "
				      "close one");
		if (rc)
			return rc;
		s->open_gen = fs_stream_gen(n->db, n->tid);
		if (n->spages && s->open_gen != n->sgen) {
			/* the table changed since the lookup that gave this
			 * node: a reopen of an open file (/dev/fd/N) reads
			 * what that file reads, another open is sent back */
			struct fs_file *o;
			for (o = fs.files; o; o = o->next)
				if (o != f && o->node == n && o->stream &&
				    o->stream->snap && o->stream->share)
					break;
			if (!o)
				return send_back(n, 0);
			store_txn_abort(s->snap);
			s->share = o->stream->share;
			s->share->refs++;
			s->snap = s->share->t;
			s->open_gen = n->sgen;
		} else if ((s->share = malloc(sizeof(*s->share))) != NULL) {
			s->share->t = s->snap;
			s->share->refs = 1;
		} else {
			return ENOMEM;
		}
		rc = fs_table_same(s->snap, n->tname, strlen(n->tname), n->tid,
				   NULL);
		if (!rc && n->kind == FS_BYSTREAM)
			rc = fs_by_match_keys_in(s->snap, n, &s->keys,
						 &s->nkeys);
		if (!rc && s->fmt == SCHEMA_FMT_CSV)
			rc = csv_columns(n, s);
		return rc;
	}
	s->mode = flags & O_TRUNC ? SM_REPLACE : SM_APPEND;
	f->stream_import = 1;
	rc = fs_schema_get(n->db, NULL, n->tid, &s->ts);
	if (rc)
		return rc;
	s->schema_gen = n->db->schema_gen;
	s->dynamic = s->ts == NULL;
	s->x.f = f;
	rc = schema_in_new(s->fmt, s->ts, in_record, &s->x, &s->in);
	if (rc)
		return rc;
	s->fd = open(n->db->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd < 0)
		return errno == ENOSPC ? refuse(ENOSPC, n, FS_DISK_FULL)
				       : errno;
	return 0;
}

/*
 * The signal that is ending thread pid, or 0: a close the kernel makes
 * for a process being killed (its exit code, /proc/PID/stat field 52,
 * holds the signal while the exiting flag, PF_EXITING in field 9, is
 * set).  Such a writer did not finish what it wrote.
 */
static int killed_by(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long v, flags = 0, code = 0;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold anything but this */
	if (!p)
		return 0;
	p += 2; /* field 3, the state: one character */
	for (field = 3; *p && field <= 52; field++) {
		char *end;
		v = strtoull(p, &end, 10);
		if (field == 9)
			flags = v;
		if (field == 52)
			code = v;
		p = end;
		while (*p == ' ')
			p++;
		if (field == 3) {
			while (*p && *p != ' ')
				p++;
			while (*p == ' ')
				p++;
		}
	}
	return (flags & 0x4) ? (int)(code & 0x7f) : 0;
}

/*
 * A close of a descriptor of the stream (several processes may share one:
 * the commands of a shell loop whose output it is, a shell's saved
 * descriptor and its copies).  It stores the whole records written since
 * the last part when the text is at a place it may end; the text itself
 * ends at the last close (fs_stream_release).  A close made for a writer
 * being killed stores nothing, now or later: what it wrote is cut.  An
 * fsync (pid 0) is a close too.
 */
int fs_stream_flush(struct fs_file *f, pid_t pid)
{
	struct fs_stream *s = f->stream;
	int sig;
	if (!s || s->mode == SM_READ)
		return 0;
	if (s->bad)
		return s->bad;
	sig = s->unstored ? killed_by(pid) : 0;
	if (sig) {
		struct schema_err err = {{0}};
		schema_fail(&err, EINTR,
			    "its writer was killed (signal %d) before it "
			    "closed the stream: what it wrote since the last "
			    "close is not stored",
			    sig);
		return stream_refuse(f, EINTR, &err);
	}
	return stream_commit(f, 0);
}

int fs_stream_release(struct fs_file *f)
{
	struct fs_stream *s = f->stream;
	int rc = 0;
	if (!s)
		return 0;
	if (s->mode != SM_READ && !s->bad)
		rc = stream_commit(f, 1);
	fs_stream_end(f);
	return rc;
}

/* At unmount: an import not closed yet is not stored. */
void fs_stream_abandon(struct fs_file *f)
{
	struct fs_stream *s = f->stream;
	if (s && s->mode != SM_READ && !s->bad && s->unstored) {
		struct schema_err err = {{0}};
		schema_fail(&err, EINTR,
			    "unmounted before the stream was closed: what was "
			    "written since its last close is not stored");
		stream_refuse(f, EINTR, &err);
	}
	fs_stream_end(f);
}

/* s's snapshot ends, if no other open file reads it. */
static void end_snap(struct fs_stream *s)
{
	if (!s->share) {
		store_txn_abort(s->snap);
	} else if (--s->share->refs == 0) {
		store_txn_abort(s->share->t);
		free(s->share);
	}
	s->share = NULL;
	s->snap = NULL;
}

void fs_stream_end(struct fs_file *f)
{
	struct fs_stream *s = f->stream;
	size_t i;
	if (!s)
		return;
	end_snap(s);
	schema_buf_free(&s->out);
	free(s->keys);
	for (i = 0; i < s->ncols; i++)
		free(s->cols[i]);
	free(s->cols);
	schema_in_free(s->in);
	if (s->fd >= 0)
		close(s->fd);
	schema_buf_free(&s->sbuf);
	schema_buf_free(&s->win);
	free(s->seen);
	free(s);
	f->stream = NULL;
}

void fs_streams_end_db(struct fs_db *db)
{
	struct fs_file *f;
	for (f = fs.files; f; f = f->next)
		if (f->stream && f->node->db == db) {
			struct fs_stream *s = f->stream;
			if (s->share) {
				store_txn_abort(s->share->t);
				s->share->t = NULL;
			} else {
				store_txn_abort(s->snap);
			}
			s->snap = NULL;
			s->ended = 1;
			s->begun = 1;
			if (s->mode != SM_READ && !s->bad)
				s->bad = ENOENT;
		}
}
