/*
 * fs_i.h: the daemon's private structures, and what its files share.
 *
 * The session loop is single-threaded: every structure here is touched only
 * by the thread that runs FUSE requests, except the database list, which the
 * sync thread also walks (see fs_db_lock).
 *
 * Inode numbers.  The number the kernel uses for a node (its nodeid) is also
 * the st_ino users see, and it is stable across mounts: fixed names get small
 * numbers, and everything inside a database gets (database id << 40 | number
 * stored in that database).  A node exists while the kernel holds a lookup
 * reference on it (nlookup > 0) or a file handle is open on it.
 *
 * The files, lowest first: each calls only files before it here, so that
 * no two call each other in a circle (tests/layout holds this).  Their
 * declarations below follow the same order.
 *   node.c        the inode table; the node of each kind of name
 *   names.c       what a name stands for; paths for messages
 *   log.c         the daemon's log and the refusals of .recordfs/errors
 *   notify.c      entry invalidations, from a thread of their own
 *   index.c       a record's index entries, kept in step with its text
 *   feed.c        the change feed's lines; .changes and .history
 *   schema.c      a database's schema: what each table is, applying a text
 *   record.c      a record into storage, with its index entries
 *   by.c          the .by tree; mv through it
 *   scratch.c     scratch files' bytes
 *   special.c     the texts of .next and .recordfs/stats
 *   dirs.c        directories' own attributes and times
 *   commit.c      a record file's commit; changes answered before stored
 *   schemafile.c  schema.graphql as a file: commit, refusal, rename
 *   stream.c      a table or a query's matches as one file
 *   db.c          the databases of the data directory
 *   file.c        open files: open, read, write, flush, release, fsync
 *   attr.c        attributes and their timeouts: getattr, setattr
 *   lookup.c      lookup, forget
 *   dir.c         create, mknod, mkdir, rmdir; symlink, link refused
 *   rename.c      unlink, rename
 *   readdir.c     opendir, readdir, releasedir
 *   statx.c       the session loop, and FUSE_STATX below libfuse
 *   ops.c         the table of handlers; init, destroy, statfs, fsyncdir
 *   main.c        options, mount, the sync thread
 */
#ifndef RECORDFS_FS_I_H
#define RECORDFS_FS_I_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs.h"
#include "schema.h"
#include "store.h"

#define FS_INO_ROOT   1
#define FS_INO_STATUS 2 /* .recordfs */
#define FS_INO_ERRORS 3 /* .recordfs/errors */
#define FS_INO_STATS  4 /* .recordfs/stats */
#define FS_DB_SHIFT   40
#define FS_INO_DBDIR  1 /* local number of a database's own directory */

enum fs_kind {
	FS_ROOT,
	FS_STATUS,
	FS_ERRORS,
	FS_STATS,
	FS_DB,
	FS_TABLE,
	FS_RECORD,
	FS_SCRATCH,
	FS_BY,	     /* .by: attributes */
	FS_BYATTR,   /* .by/attr: values */
	FS_BYVAL,    /* .by/attr/value: records, and .by for AND */
	FS_BYLINK,   /* .by/attr/value/2.json -> ../../../2.json */
	FS_NEXT,     /* table/.next: each open reserves a fresh key */
	FS_SCHEMA,   /* db/schema.graphql */
	FS_JSCHEMA,  /* db/<table>.schema.json */
	FS_STREAM,   /* db/<table>.ndjson, .csv, .json */
	FS_BYSTREAM, /* .by/attr/value.ndjson: a query's stream */
	FS_CHANGES,  /* db/.changes, db/.changes@N: the change feed */
	FS_HISTDIR,  /* table/.history */
	FS_HISTORY,  /* table/.history/KEY.ndjson: a record's changes */
};

/* Local numbers (under a database's id) of the names that are not stored. */
#define FS_LOCAL_SCHEMA	 2ull	      /* schema.graphql */
#define FS_LOCAL_SPAGES	 (1ull << 39) /* | u32: a stream's pages node */
#define FS_LOCAL_NEXT	 (1ull << 38) /* | tid: table/.next */
#define FS_LOCAL_JSCHEMA (1ull << 37) /* | tid: <table>.schema.json */
#define FS_LOCAL_STREAM	 (1ull << 36) /* | fmt << 32 | tid: streams */
#define FS_LOCAL_CHANGES (1ull << 35) /* | u32: a .changes node */
#define FS_LOCAL_HISTDIR (1ull << 34) /* | tid: table/.history */
#define FS_LOCAL_HISTORY (1ull << 33) /* | u32: a record's history */
/* Numbers of .recordfs/errors nodes after the first (FS_INO_ERRORS). */
#define FS_INO_ERRORS_NEXT (1ull << 35) /* | u32 */
#define FS_CHANGES_NAME	   ".changes"
#define FS_HISTORY_NAME	   ".history"

struct fs_db {
	char *name;
	char *dir; /* DATADIR/name */
	struct store_env *env;
	uint32_t id;
	/* rmdir'd: env is closed, the struct stays until unmount because
	 * nodes the kernel still holds may point here */
	int dropped;
	struct fs_tschema *schemas; /* parsed table schemas (schema.c) */
	uint64_t schema_gen;	    /* counts fs_schema_reset()s */
	/* schema.graphql was removed: hidden until written or the tables
	 * change (tar x unlinks a file before it creates it again) */
	int schema_hidden;
	/* the local inode number of a file renamed onto schema.graphql,
	 * which the kernel may still hold for that name (0: none) */
	uint64_t schema_alias;
	/* its directory's mode, owner and times (db.c; mode 0: none kept) */
	struct store_attrs attrs;
	int64_t mtime_ns;
	/* directory times changed, not yet stored (dirs.c) */
	struct fs_dirtime *dirtimes;
	size_t ndirtimes;
	/* stream.c: counts of the changes to the records of the tables
	 * whose tid is i modulo 64, and of those to any table; numbers for
	 * the nodes of streams' pages */
	uint64_t sgen[64], sgen_all;
	uint32_t spages_next;
	/* stream.c: the texts of tables' streams known (read whole at gen,
	 * len bytes, at mtime_ns), each at slot (tid * 3 + format) % 64;
	 * pino the pages node a lookup gives for it.  Lookups give the
	 * stream node instead after an open was sent back from the pages,
	 * while the table is at hold_gen, until hold_ns (CLOCK_MONOTONIC) */
	struct fs_stext {
		uint32_t tid; /* 0: none */
		uint8_t fmt, known;
		uint64_t gen, len, pino, hold_gen;
		int64_t mtime_ns, hold_ns;
	} stexts[64];
	/* feed.c: numbers for .changes and .history nodes, the node a
	 * lookup of .changes gives while its first line is kept, and when
	 * the last line was added */
	uint64_t feed_gen, changes_ino;
	int64_t feed_mtime_ns;
	/* feed.c: the names its lines last gave tables, by tid (checked
	 * against storage at each use) */
	struct fs_tname {
		uint32_t tid;
		uint16_t len;
		char name[256];
	} feed_tnames[16];
	struct fs_db *next;
};

struct fs_file;

/* A directory time not yet stored (dirs.c). */
struct fs_dirtime {
	uint32_t tid; /* 0: the database directory itself */
	char *tname;
	int64_t ns;
};

/* The kernel's page cache of a record, as far as the daemon knows. */
enum {
	FS_KC_NONE,  /* no pages: the kernel has not read the inode */
	FS_KC_CLEAN, /* its pages are the stored text */
	FS_KC_STALE, /* its pages may differ from the stored text */
};

struct fs_node {
	uint64_t ino;
	uint64_t nlookup;
	unsigned opens;	  /* file handles open on this node */
	unsigned writers; /* of them, record handles open for writing */
	unsigned waiting; /* writers' opens waiting for page cache readers */
	enum fs_kind kind;
	struct fs_db *db; /* FS_DB, FS_TABLE, FS_RECORD, FS_SCRATCH */
	uint32_t tid;	  /* FS_TABLE, FS_RECORD, FS_SCRATCH */
	char *tname;	  /* table name (FS_TABLE and what is inside) */
	uint8_t *key;	  /* FS_RECORD: ordered key bytes; FS_SCRATCH: name */
	size_t keylen;
	int unlinked; /* removed while open: handles do not commit */
	int orphan;   /* FS_SCRATCH: removed while open, its bytes kept under
			 its orphan name until the last handle closes */
	struct fs_file *pending; /* record created, not yet committed */
	int64_t pending_btime_ns;
	pid_t pending_pid; /* the thread that created it: only its process
			      finds the name before the first commit */
	/* a file being created: the mode and owner it is created with (a
	 * chmod or chown before its first commit changes them), which that
	 * commit stores */
	struct store_attrs cattrs;
	int has_cattrs;
	/* What the kernel may hold for this inode (see "Caching" in attr.c):
	 * kcache for its pages, kattr whether it holds attributes with a
	 * timeout that a change must end. */
	uint8_t kcache; /* FS_KC_* */
	uint8_t kattr;
	uint32_t gen; /* FS_RECORD: counts changes to the stored text */
	/* Handles reading through the page cache, all of text gen pc_gen,
	 * pc_len bytes: while they are open the kernel's size stays theirs. */
	unsigned pc_opens;
	uint32_t pc_gen;
	size_t pc_len;
	/* FS_STREAM: a pages node (see "The kernel's pages" in stream.c):
	 * the text of gen sgen alone, slen bytes, of format sfmt, last
	 * changed at smtime_ns */
	uint8_t spages, sfmt;
	uint64_t sgen, slen;
	int64_t smtime_ns;
	/* FS_CHANGES, FS_ERRORS: where in the text that only grows (the
	 * feed's, the refusals') this node's byte 0 is */
	uint64_t base;
	struct fs_node *hnext; /* hash chain */
};

/* An open file. */
struct fs_file {
	struct fs_node *node;
	int writable;
	uint32_t gen; /* node->gen when buf was read */
	int pc;	      /* reads through the page cache (record_cache) */
	/* Records: the whole text, read at open or being written. */
	char *buf;
	size_t len, cap;
	int dirty;	  /* buf differs from what is stored */
	int written;	  /* a write arrived since the last commit */
	int64_t mtime_ns; /* set by utimens before the commit; 0: none */
	int64_t snap_mtime_ns, snap_btime_ns; /* of the text read at open */
	struct store_attrs snap_attrs;
	int other;  /* the text is another record's, which has the name now */
	int bad;    /* a write was refused (its errno, which its close says
		       too): this handle never commits */
	int holes;  /* written out of order: check at commit only */
	int fresh;  /* the text was cut to nothing at open: writes are
		       checked as they come, by check */
	int merge;  /* opened with O_APPEND: each text written is a JSON
		       Merge Patch of the record, merged at commit */
	int merged; /* buf holds the patch merged: the whole record */
	struct schema_check *check; /* NULL until a write needs it */
	struct fs_stream *stream;   /* FS_STREAM, FS_BYSTREAM (stream.c) */
	int stream_import;	    /* it imports (else it exports) */
	uint64_t stream_records;    /* records done: .recordfs/stats */
	/* FS_CHANGES, FS_HISTORY (feed.c): the line at position feed_pos
	 * of the text, and how far into it, when feed_valid */
	int feed_valid;
	uint64_t feed_pos, feed_seq;
	size_t feed_skip;
	size_t checked; /* bytes of buf fed to check */
	size_t plain;	/* bytes a first write gave whole, in plain JSON
			   (file_plain), that check has not seen */
	struct fs_file *next, *prev; /* all open files, for unmount */
};

struct fs_opts {
	int compact;	    /* -o json=compact */
	int sync_secs;	    /* -o sync=N; 0: every commit is durable */
	size_t initial_map; /* -o initial_map=BYTES */
	int listall;	    /* -o listall: list reachable-only names */
	int status_public;  /* -o status=public: all read .recordfs */
	int ro;		    /* -o ro: the daemon writes nothing either */
	int allow_other;    /* -o allow_other: modes are enforced */
	uint64_t changes;   /* -o changes=SIZE: bytes each feed keeps */
#define FS_CHANGES_DEFAULT (64u << 20)
};

struct fs {
	char *datadir;
	struct fs_opts opts;
	struct fuse_session *se;
	int live; /* between init and destroy: notifications may be sent */
	int64_t start_ns; /* the mount's start: the time of names that have
			     none of their own */
	uid_t uid;
	gid_t gid;
	struct fs_db *dbs; /* protected by db_lock for the sync thread */
	pthread_mutex_t db_lock;
	struct fs_node **htab;
	size_t hsize, hcount;
	struct fs_file *files; /* open files */
	/* status */
	uint64_t n_ops, n_commits, n_refused;
	uint64_t n_exported; /* bytes streams made for their readers */
	uint64_t n_listed; /* table entries listed, for store_env_unmap_pages */
	pthread_t sync_thread;
	int sync_stop;
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;
	int lockfd;
	/* tests only, from the environment: after answering the Nth close
	 * or unlink it has not stored, the daemon kills itself
	 * (RECORDFS_CRASH_AFTER_ANSWER=N, and it commits no batch for want
	 * of requests before), or after answering one it takes its batch
	 * and the batch's redo for failed (RECORDFS_FAIL_AFTER_ANSWER=1) */
	int crash_after_answer, fail_after_answer;
};

extern struct fs fs;

/* What changed table tid's records last (stream.c): more, each time. */
static inline uint64_t fs_stream_gen(const struct fs_db *db, uint32_t tid)
{
	return db->sgen[tid % 64] + db->sgen_all;
}

/* The inode number of a database's local number (see "Inode numbers"). */
static inline uint64_t fs_db_ino(const struct fs_db *db, uint64_t local)
{
	return ((uint64_t)db->id << FS_DB_SHIFT) | local;
}

/* Whether stored object o is node n's own: a name can come to stand for
 * another file (a rename onto it) while the kernel still holds n. */
static inline int fs_obj_is(const struct fs_node *n, const struct store_obj *o)
{
	return o->ino == (n->ino & ((1ull << FS_DB_SHIFT) - 1));
}

/* Byte order of (a, al) against (b, bl), shorter first on a tie: the
 * order of keys, index values and names in storage. */
static inline int fs_bytes_cmp(const void *a, size_t al, const void *b,
			       size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

/* Now, in nanoseconds since the epoch. */
static inline int64_t fs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void fs_set_time(struct timespec *ts, int64_t ns)
{
	/* floor division: -1.5 s is -2 s and 500000000 ns */
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += 1000000000;
	}
}

/* node.c */
struct fs_node *fs_node_get(uint64_t ino);
struct fs_node *fs_node_new(uint64_t ino, enum fs_kind kind);
void fs_node_forget(struct fs_node *n, uint64_t nlookup);
void fs_node_maybe_free(struct fs_node *n);
int fs_node_set_key(struct fs_node *n, const void *key, size_t len);
void fs_nodes_free_all(void);
/* n's text or size changed behind the kernel: its pages and attributes
 * end (see "Caching" in attr.c) */
void fs_node_changed(struct fs_node *n);
/* The records of table tid (0: of every table) of db changed: its
 * streams' texts are others (see "The kernel's pages" in stream.c). */
void fs_streams_changed(struct fs_db *db, uint32_t tid);
/* A stream node's format (SCHEMA_FMT_*). */
int fs_stream_node_fmt(const struct fs_node *n);
struct fs_node *fs_table_node(struct fs_db *db, const char *name,
			      const struct store_table *tb);
struct fs_node *fs_obj_node(struct fs_node *tn, enum store_kind kind,
			    const void *key, size_t keylen, uint64_t ino);
const char *fs_tname_of(const struct fs_node *tn);
struct fs_node *fs_find_pending(const struct fs_node *tn, const uint8_t *key,
				size_t keylen);
struct fs_node *fs_special_node(struct fs_db *db, uint32_t tid,
				const char *tname, size_t tlen, uint64_t local,
				enum fs_kind kind);
struct fs_node *fs_schema_node(struct fs_db *db);
/* The attrs a commit of n stores as new: its creation's, until its first
 * commit; NULL after (the stored ones stay). */
static inline const struct store_attrs *fs_node_new_attrs(struct fs_node *n)
{
	return n->has_cattrs ? &n->cattrs : NULL;
}

/* names.c */
#define SCHEMA_FILE    "schema.graphql"
#define SCHEMA_SDL_MAX (1u << 20) /* bytes of schema.graphql */
#define JSCHEMA_SUFFIX ".schema.json"
#define FS_DISK_FULL                                                           \
	"No space left on device: the disk that holds the data directory is "  \
	"full; remove records or files, or free space on it"
#define FS_DISK_PIECES                                                         \
	"the data file has room for this record only in pieces smaller than "  \
	"it: compact the database (README, Full disk)"
#define FS_BY_READONLY                                                         \
	"the .by tree shows the indexes and follows the records; change the "  \
	"record itself (edit, mv or rm it in its table) instead"

static inline int fs_is_by(enum fs_kind k)
{
	return k == FS_BY || k == FS_BYATTR || k == FS_BYVAL ||
	       k == FS_BYLINK || k == FS_BYSTREAM;
}

static inline int fs_is_stream(enum fs_kind k)
{
	return k == FS_STREAM || k == FS_BYSTREAM;
}

/* What a name in a table (or beside the tables) stands for. */
struct fs_resolved {
	enum store_kind kind;
	uint8_t key[SCHEMA_KEYBUF_MAX]; /* ordered key, or the scratch name */
	size_t keylen;
	int long_form; /* record name in the hashed form */
	uint8_t digest[32];
};

int fs_name_ok(const char *name);
/* Whether name, in a database directory, is the form of a table's
 * stream ("dog.ndjson": a table name and a stream's ending): its format,
 * with the table name's length in *stemlen; -1 when not. */
int fs_stream_form(const char *name, size_t *stemlen);
/* A stream format's file name ending, without the dot. */
const char *fs_fmt_ext(int fmt);
size_t fs_jschema_stem(const char *name);
size_t fs_record_name(const uint8_t *kb, size_t kl, char *name);
const char *fs_node_path(const struct fs_node *n, const char *name);
int fs_resolve(struct store_txn *t, const struct fs_node *tn, const char *name,
	       struct fs_resolved *r, struct schema_err *err);

/* log.c: the error ring behind .recordfs/errors and the daemon's log */
void fs_refuse(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Report a refusal about node n (and name in it, or NULL) and return rc:
 * err's message, else fallback, else strerror(rc). */
int fs_refuse_node(int rc, const struct fs_node *n, const char *name,
		   const struct schema_err *err, const char *fallback);
/* ENAMETOOLONG, with a line about name in p, for a name past NAME_MAX;
 * 0 for one that fits. */
int fs_refuse_long(const struct fs_node *p, const char *name);
/* .recordfs/errors: the node a lookup gives, where the ring's text ends,
 * and its bytes from offset at (ENODATA: no longer kept). */
struct fs_node *fs_errors_node(void);
uint64_t fs_errors_ino(void);
uint64_t fs_errors_end(void);
int fs_errors_read(uint64_t at, char *out, size_t size, size_t *got);
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Send the log to file path (-o log=), or, with none, to syslog unless
 * the daemon stays in the foreground (standard error).  0 or errno. */
int fs_log_open(const char *path, int foreground);
void fs_log_free(void);

/* notify.c: entry invalidations, sent from a thread of their own */
int fs_notify_start(void);
void fs_notify_stop(void);
void fs_notify_entry(uint64_t parent, const char *name);

/* index.c: ts is the table's schema (fs_schema_get), NULL for dynamic */
int fs_index_record(struct store_txn *t, uint32_t tid,
		    const struct schema_table *ts, const uint8_t *key,
		    size_t kl, const char *text, size_t len, int del);
/* A record rewritten in place: delete the entries only the old text has,
 * put those only the new one has. */
int fs_index_update(struct store_txn *t, uint32_t tid,
		    const struct schema_table *ts, const uint8_t *key,
		    size_t kl, const char *oldtext, size_t oldlen,
		    const char *text, size_t len);
/* Add the number of index entries text has to *n. */
int fs_index_count(const struct schema_table *ts, const char *text, size_t len,
		   size_t *n);

/* feed.c: the change feed (see there for its lines) */
int fs_feed_on(const struct fs_db *db);
/* Whether a feed may hold more than its limit; take each back to it,
 * some lines at a time, in commits of their own (between requests). */
int fs_feeds_over(void);
void fs_feeds_trim(void);
/* At a mount: a line {"op":"gap"} when changes were made while the feed
 * was off (-o changes=0), which no line tells. */
int fs_feed_gap_line(struct fs_db *db);
/* A line about a change, in the change's write transaction t; text is a
 * record's canonical text.  No lines while the feed is off; the streams
 * hear of the change either way (fs_streams_changed). */
int fs_feed_put(struct fs_db *db, struct store_txn *t, uint32_t tid,
		const uint8_t *kb, size_t kl, const char *text, size_t len);
int fs_feed_delete(struct fs_db *db, struct store_txn *t, uint32_t tid,
		   const uint8_t *kb, size_t kl);
int fs_feed_rename(struct fs_db *db, struct store_txn *t, uint32_t stid,
		   const uint8_t *skb, size_t skl, uint32_t dtid,
		   const uint8_t *dkb, size_t dkl, const char *text,
		   size_t len);
/* op "create", "drop" or "schema" (with the table's schema text). */
int fs_feed_table(struct fs_db *db, struct store_txn *t, const char *tname,
		  const char *op, const char *schema, size_t slen);
/* The node of DB/.changes or DB/.changes@N (ENOENT: the feed is off or
 * no such name; ENODATA, EINVAL with a line for an N out of reach). */
int fs_changes_lookup(struct fs_db *db, const char *name, struct fs_node **out);
/* The node of KEY.ndjson in a table's .history, hd. */
int fs_history_lookup(struct fs_node *hd, const char *name,
		      struct fs_node **out);
int fs_feed_size(struct fs_node *n, uint64_t *size);
int fs_feed_read(struct fs_file *f, size_t size, off_t off, char **out,
		 size_t *got);

/* schema.c */
int fs_schema_get(struct fs_db *db, struct store_txn *t, uint32_t tid,
		  const struct schema_table **out);
void fs_schema_reset(struct fs_db *db);
int fs_schema_text(struct fs_db *db, char **out, size_t *len);
int fs_schema_json(struct fs_db *db, const char *tname, char **out,
		   size_t *len);
int fs_schema_apply(struct fs_db *db, const char *text, size_t len,
		    struct schema_err *err);
int fs_schema_exists(struct fs_db *db);
int64_t fs_schema_mtime(struct fs_db *db);

/* record.c: a record into storage, inside the caller's write transaction */
/* A commit of one record node's text (fs_commit_fn, in store_write). */
struct fs_commit {
	struct fs_node *n; /* the record */
	const char *body;
	size_t len;
	struct schema_check *pre; /* has seen body whole, or NULL */
	int64_t now;		  /* ns */
	int64_t mtime;		  /* ns, if set by utimens; else 0 */
	struct schema_err err;
};

/*
 * A record about to be stored: its new object (o.data is text), and the
 * text it replaces (had: there was one).
 */
struct fs_record_new {
	struct store_obj o;
	char *text, *oldtext;
	size_t oldlen;
	uint64_t old_ino;
	int64_t old_btime_ns;
	struct store_attrs old_attrs;
	int had;
};

int fs_alias_sync(struct store_txn *t, uint32_t tid, const uint8_t *kb,
		  size_t kl, int add);
int fs_declared_record(const struct schema_table *ts, char **text, size_t *len,
		       const char *old, size_t oldlen, int64_t now_ms,
		       struct schema_err *err);
void fs_record_new_free(struct fs_record_new *r);
int fs_record_old(struct store_txn *t, uint32_t tid, const uint8_t *kb,
		  size_t kl, struct fs_record_new *r);
/* attrs: what the record keeps beside its text (mode, owner...); NULL
 * keeps those of the record it replaces.  Its change time is now.  ino 0
 * keeps the replaced record's inode number (a new one for a new record). */
int fs_record_make(struct fs_db *db, struct store_txn *t, uint32_t tid,
		   const uint8_t *kb, size_t kl, uint64_t ino,
		   int64_t btime_if_new, const struct store_attrs *attrs,
		   const char *body, size_t len, struct schema_check *pre,
		   int64_t now, int64_t mtime, struct fs_record_new *r,
		   struct schema_err *err);
int fs_record_store(struct fs_db *db, struct store_txn *t, uint32_t tid,
		    const uint8_t *kb, size_t kl,
		    const struct fs_record_new *r);
int fs_record_put(struct fs_db *db, struct store_txn *t, uint32_t tid,
		  const uint8_t *kb, size_t kl, uint64_t ino,
		  int64_t btime_if_new, const struct store_attrs *attrs,
		  const char *body, size_t len, struct schema_check *pre,
		  int64_t now, int64_t mtime, struct schema_err *err);
int fs_record_delete(struct fs_db *db, struct store_txn *t, uint32_t tid,
		     const uint8_t *kb, size_t kl, const struct store_obj *o);
int fs_table_same(struct store_txn *t, const char *tname, size_t tnlen,
		  uint32_t tid, struct schema_err *err);
int fs_commit_fn(struct store_txn *t, void *arg);
int fs_committed(struct fs_db *db);

/* by.c */
typedef int (*fs_by_emit_fn)(void *ctx, const char *name, uint64_t ino,
			     mode_t mode, const void *key, size_t keylen);
int fs_by_child(struct fs_node *p, const char *name, struct fs_node **out,
		struct schema_err *err);
size_t fs_by_readlink(const struct fs_node *n, char *buf, size_t size);
int fs_by_list_attrs(struct fs_node *n, const uint8_t *after, size_t afterlen,
		     fs_by_emit_fn emit, void *ctx);
int fs_by_list_values(struct fs_node *n, const uint8_t *after, size_t afterlen,
		      fs_by_emit_fn emit, void *ctx);
int fs_by_match_keys(struct fs_node *n, uint8_t ***keys, size_t *count);
/* The same inside t (a FS_BYSTREAM node too). */
int fs_by_match_keys_in(struct store_txn *t, struct fs_node *n, uint8_t ***keys,
			size_t *count);
/* A .by node's path for messages, into buf: "db/dog/.by/breed/Lab.csv". */
const char *fs_by_path(const struct fs_node *n, char *buf, size_t size);
/* A FS_BYSTREAM node's format (SCHEMA_FMT_*). */
int fs_by_stream_fmt(const struct fs_node *n);
uint64_t fs_by_link_ino(const struct fs_node *n, const uint8_t *key, size_t kl);
/* mv .by/breed/Lab/2.json .by/breed/Pug/: record 2's breed becomes Pug. */
int fs_by_move(struct fs_node *sp, const char *name, struct fs_node *dp,
	       const char *newname);

/* scratch.c: scratch files' bytes, each change committed */
int fs_scratch_write(struct fs_node *n, const char *buf, size_t size,
		     off_t off);
int fs_scratch_truncate(struct fs_node *n, uint64_t size);
int fs_scratch_read(struct fs_node *n, char *out, size_t size, off_t off,
		    size_t *got);
/* Read scratch file (tid, key) whole into a new *out (inside t). */
int fs_scratch_text(struct store_txn *t, uint32_t tid, const void *key,
		    size_t kl, uint64_t size, char **out);
int fs_scratch_fill(struct store_txn *t, uint32_t tid, const void *key,
		    size_t kl, const char *text, size_t len);
int fs_scratch_put(struct fs_node *n, const struct store_obj *o);
/* Open scratch files outlive their name, as orphans under this table. */
#define FS_ORPHAN_TID UINT32_MAX
int fs_scratch_orphan(struct fs_db *db, struct store_txn *t, uint32_t tid,
		      const void *key, size_t kl, const struct store_obj *o,
		      int *moved);
int fs_scratch_orphaned(struct fs_node *n);
void fs_scratch_orphan_drop(struct fs_node *n);
int fs_scratch_orphans_clear(struct fs_db *db);

/* special.c: texts made at each open */
/* The next integer key of table tid, as .next gives it: above floor, the
 * largest integer key stored and every one given before (write txn). */
int fs_next_int(struct store_txn *t, uint32_t tid, int64_t floor, int64_t *out);
int fs_next_text(struct fs_node *n, char **out, size_t *len);
char *fs_stats_text(size_t *len);

/* dirs.c: directories' own attributes and times */
int fs_db_attrs_load(struct fs_db *db);
int fs_db_attrs_store(struct fs_db *db);
void fs_dir_changed(struct fs_db *db, uint32_t tid, const char *tname);
int64_t fs_dir_mtime(const struct fs_db *db, uint32_t tid);
void fs_dir_time_forget(struct fs_db *db, uint32_t tid);
void fs_dir_times_free(struct fs_db *db);
void fs_dir_times_store(int all);
int fs_dir_times_pending(void);

/* commit.c: a record file's commit, and changes answered before stored */
int fs_file_commit(struct fs_file *f);
/* The whole record f's merge patch (>>) makes of the stored one. */
int fs_merge_text(struct fs_file *f, char **body, size_t *len,
		  struct schema_err *err);
/* fs_flush's commit of f: answers req, before or after the commit. */
void fs_file_commit_answer(fuse_req_t req, struct fs_file *f);
/* Unlink record name of table p answered before stored: 1 when done so
 * (req answered), 0 when the caller is to unlink it the usual way. */
int fs_unlink_answer(fuse_req_t req, struct fs_node *p, const char *name);
int fs_intent_replay(struct fs_db *db);
void fs_batches_commit(void);
int fs_batches_open(void);

/* schemafile.c: schema.graphql as a file */
int fs_schema_refuse(int rc, const struct fs_node *n,
		     const struct schema_err *err);
int fs_schema_commit(struct fs_file *f);
int fs_schema_rename(struct fs_node *sp, const char *name, struct fs_node *dp,
		     const char *newname, unsigned flags);

/* stream.c: a table or a query's matches as one file */
struct fs_node *fs_stream_node(struct fs_db *db, const char *name, size_t nl,
			       const struct store_table *tb, int fmt);
/* Start f's stream as open(2) flags say (file.c's open). */
int fs_stream_open(struct fs_file *f, int flags);
/* After a stream's open for reading: a pages node's reader reads through
 * the kernel's page cache, any other with direct_io. */
void fs_stream_cache(struct fs_file *f, struct fuse_file_info *fi);
/* The bytes at off: *buf (up to size, *len of them; 0 at the end) lives
 * until the next call on f. */
int fs_stream_read(struct fs_file *f, size_t size, off_t off, const char **buf,
		   size_t *len);
int fs_stream_write(struct fs_file *f, const char *buf, size_t size, off_t off);
/* A close by thread pid (0: an fsync): stores what is whole. */
int fs_stream_flush(struct fs_file *f, pid_t pid);
/* The last close: stores what no close stored, and ends the stream. */
int fs_stream_release(struct fs_file *f);
/* At unmount: what was written since the last close is not stored. */
void fs_stream_abandon(struct fs_file *f);
void fs_stream_end(struct fs_file *f);
/* Database db goes: its streams' snapshots end. */
void fs_streams_end_db(struct fs_db *db);

/* db.c */
int fs_dbs_open(void);
void fs_dbs_close(void);
struct fs_db *fs_db_find(const char *name);
/* attrs: its mode and owner (NULL: none kept) */
int fs_db_create(const char *name, const struct store_attrs *attrs,
		 struct fs_db **out);

int fs_db_drop(struct fs_db *db);
void fs_sync_all(void);
/* Make db durable on disk: its batch committed, then synced. */
int fs_db_sync(struct fs_db *db);

/* file.c: open files */
void fs_files_commit_all(void);
int fs_open_waits_run(struct fs_node *n);
int fs_open_waits(void);
void fs_open_waits_drop(void);
struct fs_file *fs_file_new(struct fs_node *n);
void fs_file_free(struct fs_file *f);
void fs_file_set_writable(struct fs_file *f, int writable);
int fs_file_reserve(struct fs_file *f, size_t need);
/* Start a record handle that replaces the whole text. */
int fs_file_truncated(struct fs_file *f);
/* Open node n as fi->flags say (fs_open without the reply). */
int fs_file_open(struct fs_node *n, struct fuse_file_info *fi,
		 struct fs_file **out);
void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	      off_t off, struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi);

/* attr.c: attributes, times, and how long the kernel keeps them */
#define TTL_LONG 86400.0
#define TTL_BY	 1.0
/* Fill st for node n, and *btime (if not NULL) with its creation time.
 * ENOENT when what it names is gone. */
int fs_node_attr(struct fs_node *n, struct stat *st, int64_t *btime);
double fs_attr_ttl(struct fs_node *n);
double fs_entry_ttl(const struct fs_node *n);
/* Reply to a lookup-like request with node n, taking one lookup. */
int fs_reply_entry(fuse_req_t req, struct fs_node *n);
void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi);

/* lookup.c */
/* Whether name in table tn is the last record name a lookup found missing,
 * still true (its parts in *r); it is used once. */
int fs_miss_take(const struct fs_node *tn, const char *name,
		 struct fs_resolved *r);
void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
int fs_lookup_file(struct fs_node *p, const char *name, struct fs_node **out);
void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fs_forget_multi(fuse_req_t req, size_t count,
		     struct fuse_forget_data *forgets);

/* dir.c: new names */
void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi);
void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	      dev_t rdev);
void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		const char *name);
void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	     const char *newname);

/* rename.c */
void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
	       fuse_ino_t newparent, const char *newname, unsigned int flags);

/* readdir.c */
void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* statx.c */
int fs_session_loop(struct fuse_session *se);

/* ops.c */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
