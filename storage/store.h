/*
 * store.h: storage, one LMDB environment per database.
 *
 * An environment holds every table of one database, so a change that touches
 * several tables commits atomically.  Storage knows tables by name and number,
 * and objects by opaque key bytes inside a table; it knows nothing of JSON,
 * file names or FUSE.
 *
 * Named LMDB databases inside an environment:
 *   meta     "dbid" -> u32, "next_ino" -> u64 (above every number handed
 *            out and committed), "next_tid" -> u32, "envid" -> u64 (random,
 *            made with the environment: the intent slot's owner)
 *   tables   table name -> struct store_table (fixed little-endian layout)
 *   objects  [tid u32 BE][kind u8][key bytes] -> header + data
 *   chunks   [tid u32 BE][u16 BE key length][key][index u32 BE] -> bytes
 *   aliases  [tid u32 BE][alias bytes] -> key bytes
 *   index    [tid u32 BE][u16 BE attr length][attr][value] -> record keys
 *            (MDB_DUPSORT: one sorted duplicate per record)
 *   attrs    [tid u32 BE][attr] -> nothing: the attributes that have had
 *            index entries (a reader asks the index whether any is left)
 *   schemas  [tid u32 BE] -> the table's declared schema (opaque bytes;
 *            a table without one is dynamic)
 *   feed     [seq u64 BE] -> a change's line, where it starts in the feed,
 *            and the records it is about (feed.c)
 *   history  [tid u32 BE][key bytes] -> seq u64 BE (MDB_DUPSORT): the
 *            lines about each record
 *
 * Every function returns 0 or a positive errno.  LMDB's own codes are read
 * in one place (errno.c: store_errno); MDB_MAP_FULL grows the map and retries
 * the whole write inside store_write().
 *
 * Threads: an environment's transactions are used from one thread at a
 * time.  store_env_sync() may be called from any thread at any time.
 */
#ifndef RECORDFS_STORE_H
#define RECORDFS_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store_env;
struct store_txn;

/* Kinds of object inside a table. */
enum store_kind {
	STORE_RECORD = 'r',  /* a record: data is its canonical text */
	STORE_SCRATCH = 's', /* a scratch file: data lives in chunks */
};

/* Size of one scratch file chunk. */
#define STORE_CHUNK 65536u

/* store_env_open() flags */
#define STORE_OPEN_CREATE 1 /* make the environment if there is none */
#define STORE_OPEN_SHARED                                                      \
	2 /* another process (the daemon) may have it open                     \
	   */

/*
 * Open the environment in directory dir (with STORE_OPEN_CREATE, create it
 * if it does not exist; the directory must exist).  initial_map is the map
 * size to start with (0: a default); the map grows on its own.  Errors:
 * ENOENT (no environment and STORE_OPEN_CREATE not set), EIO, ENOMEM, and
 * the errno LMDB reports.
 */
int store_env_open(const char *dir, unsigned flags, size_t initial_map,
		   struct store_env **out);

/* Commit the open batch, sync and close.  No other transaction may be
 * open.  NULL is a no-op. */
void store_env_close(struct store_env *env);

/*
 * Copy the environment into directory dir (which must exist and hold no
 * data.mdb), compacted: without free pages, from one read transaction,
 * so the copy is what was committed when it began, while other
 * processes go on writing (LMDB's mdb_env_copy2 with MDB_CP_COMPACT).
 */
int store_env_copy(struct store_env *env, const char *dir);

/* Flush committed transactions to disk (fdatasync).  Thread-safe. */
int store_env_sync(struct store_env *env);

/* The environment's number, set at creation and stable (0 if never set). */
uint32_t store_env_id(struct store_env *env);
int store_env_set_id(struct store_env *env, uint32_t id);

/* How many commits (store_write's, the batch's) this process has made:
 * unchanged, no change has been stored through this handle. */
uint64_t store_env_commits(struct store_env *env);

/* How many changes this process has stored (a store_write commit, each
 * store_batch_apply): unchanged, the state readers see has not changed
 * through this handle. */
uint64_t store_env_changes(struct store_env *env);

/* Map size and bytes in use, for status reporting. */
void store_env_usage(struct store_env *env, uint64_t *mapsize, uint64_t *used);

/*
 * Grow the map ahead of a large write so that it has room for about
 * bytes more (store_write would otherwise run a write that fills the map
 * again from its start after each doubling).  Commits the open batch; no
 * write transaction may be open.  Growing stops where the disk has no
 * more room, and that is no error: the write itself then says ENOSPC.
 * 0, or the batch's commit error.
 */
int store_env_reserve(struct store_env *env, uint64_t bytes);

/*
 * Let go of the map pages this process has read (they stay in the page
 * cache): a walk over millions of records would otherwise count the whole
 * file in the daemon's resident size.  Safe at any time on the thread that
 * uses the environment; data pointers from open transactions stay valid.
 */
void store_env_unmap_pages(struct store_env *env);

/*
 * A walk has just read ptr (a pointer into the map, such as a record's
 * data): have the kernel read the file's next few MiB after it into the
 * page cache, as readahead would (the map itself is MADV_RANDOM, so that
 * faults map one page each).  Same thread rules as above.
 */
void store_env_prefetch(struct store_env *env, const void *ptr);

/*
 * Reserve an inode number, unique within the environment and never handed
 * out again (it is persisted with the next write that commits).  Never 0;
 * numbers below 64 are left for fixed names.
 */
uint64_t store_ino_alloc(struct store_env *env);

/* A number handed out before a crash is in use: never hand it out again. */
void store_ino_seen(struct store_env *env, uint64_t ino);

/*
 * Remove an environment's files from dir (the environment closed): the
 * directory itself stays.  0 or the first unlink's errno other than ENOENT.
 */
int store_env_remove(const char *dir);

/*
 * Whether a record of len bytes may fit at all: room in the map, on the
 * disk it grows into, and on LMDB's free list together.  0 when it may
 * (its commit can still fail with ENOSPC), ENOSPC when it cannot, so a
 * write can be refused before its close.  Cheap while the map has room
 * past its last page; else a statvfs and, at most once a commit, a walk
 * of the free list.  While a batch is open it cannot tell, and says 0.
 */
int store_env_fits(struct store_env *env, size_t len);

/* ---- the intent slot ------------------------------------------------- */

/*
 * Changes a caller has told its client about before committing them (the
 * daemon answers a close, then commits the record).  The slot is the file
 * "intent" beside data.mdb, written in place with pwritev(2): it is in the
 * page cache when the call returns, so it survives the process being
 * killed, as a commit does (neither reaches the disk before the next
 * store_env_sync()).  A slot is pending while its environment has
 * committed nothing since its first change was written: the commit that
 * applies its changes ends it, and so does any other.  It also carries
 * the environment's random number (meta "envid"), so a slot beside a
 * data.mdb made anew or put back from a copy is none.
 *
 * store_intent_safe() says whether a commit of len bytes and entries
 * index entries, with the changes granted before it since the last
 * commit, cannot fail for want of room (the map's blocks are reserved
 * and it has room for every page the commit may copy): only such a
 * change may be told before it commits.  A yes holds the room for it
 * until the next commit.  With may_grow it may commit the open batch
 * and double the map once, so no transaction may be open.
 * store_intent_write() adds a change to the slot (ENOSPC: the slot is
 * full; store the change before telling it); the caller's next change
 * must be the one that applies it (store_batch_apply).
 * store_intent_pending() gives the changes of a pending slot, to apply at
 * open before anything else (ENOENT: none; a change cut short by a crash
 * fails its checksum and was never answered, so the slot ends before it):
 * each is a u32 length (little-endian) and its bytes, and
 * store_intent_next() steps from one to the next (ENOENT past the last).
 * store_intent_drop() voids a slot whose changes are stored or can never
 * be (their table is gone).  store_intent_keep() is for a slot whose
 * changes could not be applied now: the environment takes no other change
 * (store_write and store_intent_write return EROFS) until it is opened
 * again and the slot applied then, so the slot never lands on newer
 * changes.  store_env_sync() syncs the slot too.  The environment must not
 * be STORE_OPEN_SHARED for any of them.
 */
int store_intent_safe(struct store_env *env, size_t len, size_t entries,
		      int may_grow);
int store_intent_write(struct store_env *env, const void *data, size_t len);
void store_intent_drop(struct store_env *env);
void store_intent_keep(struct store_env *env);
int store_intent_pending(struct store_env *env, void **data, size_t *len);
int store_intent_next(const void **pos, const void *end, const void **data,
		      size_t *len);

/* ---- transactions --------------------------------------------------- */

/*
 * A read-only snapshot.  Abort it when done (commit is not needed).  While
 * a batch is open it is a view of the batch instead, which sees the
 * batch's changes; then no commit may come before it ends (the batch's
 * transaction, which it reads, ends there), and its data lives until the
 * view ends.
 */
int store_read_begin(struct store_env *env, struct store_txn **out);
void store_txn_abort(struct store_txn *txn);

/*
 * A read-only snapshot of the committed state that may be held across
 * calls, beside other transactions of the same thread, for as long as
 * its reader wants (a stream being read).  The open batch is committed
 * first, so the snapshot holds every change told to a client.  Never a
 * view of a later batch.  Pointers it hands out (store_obj_get's data)
 * live until the next write transaction of this process may grow the
 * map: copy them before returning to the caller's loop.  A cursor is
 * opened and closed within one step.  End it with store_txn_abort().
 */
int store_snapshot_begin(struct store_env *env, struct store_txn **out);

/*
 * Run fn(txn, arg) in one write transaction and commit it (EROFS after
 * store_intent_keep()).  An open batch commits first.  When fn returns
 * non-zero the transaction is aborted and that value returned.  When the
 * map fills (inside fn or at commit) the transaction is aborted, the map
 * doubled and fn run again from scratch, so fn must only change state
 * through txn, or be safe to repeat.  ENOSPC means the disk is full.
 */
int store_write(struct store_env *env,
		int (*fn)(struct store_txn *txn, void *arg), void *arg);

/* ---- the batch: changes told before they commit, committed together ---- */

/*
 * store_batch_apply() runs fn(txn, arg) in the batch's write transaction,
 * begun if none is open, and leaves it open: the changes of a batch
 * commit together, at the STORE_BATCH_MAXth, or at store_batch_commit(),
 * store_write(), store_intent_safe() with may_grow, or
 * store_env_close(), whichever comes first.  A commit of many changes
 * copies each B-tree page they share once, not once per change.  Only a
 * change already in the slot (store_intent_write) may be applied so: if
 * fn fails, or the batch's commit does, the batch's transaction is
 * aborted with every change in it, and the slot, still pending, holds
 * them all.  Then the redo function set with store_env_set_redo() is
 * called (with the error) to store them again, which it does with
 * store_write() (the batch is closed by then); when there is none, or it
 * fails, the environment takes no other change, as after
 * store_intent_keep(), and the error is returned.  0 otherwise.
 * store_batch_size() is the number of changes in the open batch (0: none
 * is open).  The batch is used from the thread that uses the
 * environment.
 */
#define STORE_BATCH_MAX 64
int store_batch_apply(struct store_env *env,
		      int (*fn)(struct store_txn *txn, void *arg), void *arg);
int store_batch_commit(struct store_env *env);
unsigned store_batch_size(struct store_env *env);
void store_env_set_redo(struct store_env *env, int (*redo)(void *arg, int why),
			void *arg);

/* ---- tables ---------------------------------------------------------- */

/*
 * What a table or an object keeps for the layer above beside its bytes:
 * mode, owner and group (storage reads none of them), and the times of
 * the last access and the last change of anything about it.  All 0 where
 * it was stored before they were kept: the layer above decides what that
 * shows.
 */
struct store_attrs {
	uint32_t mode, uid, gid;
	int64_t atime_ns, ctime_ns;
};

struct store_table {
	uint32_t tid;	  /* number used in object keys; never reused */
	uint32_t flags;	  /* reserved, 0 */
	uint64_t ino;	  /* the table directory's inode number */
	int64_t btime_ns; /* creation */
	int64_t mtime_ns; /* last change of the names in it */
	struct store_attrs attrs;
};

/* Look a table up by name.  ENOENT if there is none. */
int store_table_get(struct store_txn *txn, const char *name, size_t len,
		    struct store_table *out);

/* Create a table (write txn), with attrs (NULL: none).  EEXIST if the
 * name is taken. */
int store_table_create(struct store_txn *txn, const char *name, size_t len,
		       int64_t now_ns, const struct store_attrs *attrs,
		       struct store_table *out);

/* Store tb's times and attrs as table name's (write txn); its number and
 * inode number stay.  ENOENT if there is no such table. */
int store_table_set(struct store_txn *txn, const char *name, size_t len,
		    const struct store_table *tb);

/*
 * Drop a table (write txn).  With force, its objects, chunks and aliases go
 * too; without, ENOTEMPTY if it has any object.  ENOENT if no such table.
 */
int store_table_drop(struct store_txn *txn, const char *name, size_t len,
		     int force);

/* 1 if the table holds no object of any kind, else 0. */
int store_table_is_empty(struct store_txn *txn, uint32_t tid);

/* Number of tables in the environment. */
int store_table_count(struct store_txn *txn, uint64_t *count);

/*
 * A table's declared schema: bytes storage keeps for the layer above
 * (schema/ keeps the table's GraphQL text).  get: ENOENT when the table
 * has none (it is dynamic); *data lives until the transaction ends.  put
 * (write txn) with len 0 removes it.  Dropping a table removes it too.
 */
int store_table_schema_get(struct store_txn *txn, uint32_t tid,
			   const void **data, size_t *len);
int store_table_schema_put(struct store_txn *txn, uint32_t tid,
			   const void *data, size_t len);

/* A named number in the environment's meta database (ENOENT if unset). */
int store_meta_get(struct store_txn *txn, const char *name, uint64_t *v);
int store_meta_put(struct store_txn *txn, const char *name, uint64_t v);

/*
 * The first table whose name sorts after (after, afterlen) -- or the first
 * table, when after is NULL.  *name points into the transaction's memory,
 * valid until the transaction ends.  ENOENT past the last.
 */
int store_table_next(struct store_txn *txn, const char *after, size_t afterlen,
		     const char **name, size_t *namelen,
		     struct store_table *out);

/* ---- objects --------------------------------------------------------- */

struct store_obj {
	uint64_t ino;
	int64_t btime_ns; /* creation */
	int64_t mtime_ns; /* last update */
	uint64_t size;	  /* scratch files: their size; records: len */
	const void *data; /* records: the text; valid until the txn ends */
	size_t len;
	struct store_attrs attrs;
};

/* Longest object key accepted, in bytes (EINVAL past it): LMDB keys hold
 * at most 511 bytes, table number and kind included. */
#define STORE_KEY_MAX 500

/* Read one object.  ENOENT if absent.  out->data lives as long as txn. */
int store_obj_get(struct store_txn *txn, uint32_t tid, enum store_kind kind,
		  const void *key, size_t keylen, struct store_obj *out);

/* Insert or replace one object with header and data from *obj. */
int store_obj_put(struct store_txn *txn, uint32_t tid, enum store_kind kind,
		  const void *key, size_t keylen, const struct store_obj *obj);

/* Delete one object (and its chunks).  ENOENT if absent. */
int store_obj_del(struct store_txn *txn, uint32_t tid, enum store_kind kind,
		  const void *key, size_t keylen);

/*
 * Iterate a table's objects of one kind in key order, from the first key
 * after (after, afterlen) -- or from the start when after is NULL.
 */
struct store_cursor;
int store_cursor_open(struct store_txn *txn, uint32_t tid, enum store_kind kind,
		      const void *after, size_t afterlen,
		      struct store_cursor **out);
/* The next object: key and data valid until the next call.  ENOENT at end. */
int store_cursor_next(struct store_cursor *cur, const void **key,
		      size_t *keylen, struct store_obj *out);
void store_cursor_close(struct store_cursor *cur);

/*
 * Reserve the next integer key of table tid (write txn): one more than
 * both the last one reserved and the given floor, never handed out twice,
 * also after deletes and restarts.
 */
int store_table_next_int(struct store_txn *txn, uint32_t tid, int64_t floor,
			 int64_t *out);

/*
 * The last key of kind in table tid that sorts before (below, belowlen);
 * *key into txn memory.  ENOENT if none.
 */
int store_obj_last_before(struct store_txn *txn, uint32_t tid,
			  enum store_kind kind, const void *below,
			  size_t belowlen, const void **key, size_t *keylen);

/* ---- scratch file chunks ---------------------------------------------- */

/*
 * Chunk idx of the object (tid, key): *data and *len into txn memory, or
 * ENOENT for a hole (read as zeros).
 */
int store_chunk_get(struct store_txn *txn, uint32_t tid, const void *key,
		    size_t keylen, uint32_t idx, const void **data,
		    size_t *len);
int store_chunk_put(struct store_txn *txn, uint32_t tid, const void *key,
		    size_t keylen, uint32_t idx, const void *data, size_t len);
/* Delete the chunks with index >= from. */
int store_chunk_trim(struct store_txn *txn, uint32_t tid, const void *key,
		     size_t keylen, uint32_t from);
/* Give the chunks of (tid, key) to (ntid, nkey): a rename. */
int store_chunk_move(struct store_txn *txn, uint32_t tid, const void *key,
		     size_t keylen, uint32_t ntid, const void *nkey,
		     size_t nkeylen);

/* ---- aliases: a second name for a key (e.g. a digest of a long key) -- */

int store_alias_put(struct store_txn *txn, uint32_t tid, const void *alias,
		    size_t alen, const void *key, size_t keylen);
/* *key into txn memory.  ENOENT if absent. */
int store_alias_get(struct store_txn *txn, uint32_t tid, const void *alias,
		    size_t alen, const void **key, size_t *keylen);
int store_alias_del(struct store_txn *txn, uint32_t tid, const void *alias,
		    size_t alen);

/* ---- indexes ---------------------------------------------------------- */

/*
 * An index entry says that the record with key bytes key, in table tid,
 * holds value bytes val in attribute attr.  Storage does not read values:
 * the caller gives them in an ordered, self-delimiting form, so one
 * attribute's entries sort by value, then by record key.
 */
/* An index key ([tid][length][attr][value]) must fit LMDB's 511 bytes. */
#define STORE_ATTR_MAX	120
#define STORE_VALUE_MAX 384

/* Remove every index entry and attribute count of a table (write txn),
 * before its indexes are built again. */
int store_index_clear(struct store_txn *txn, uint32_t tid);

/* Add an entry (no-op if present); counts it for its attribute. */
int store_index_put(struct store_txn *txn, uint32_t tid, const void *attr,
		    size_t alen, const void *val, size_t vlen, const void *key,
		    size_t klen);
/* Remove an entry.  ENOENT if absent. */
int store_index_del(struct store_txn *txn, uint32_t tid, const void *attr,
		    size_t alen, const void *val, size_t vlen, const void *key,
		    size_t klen);
/* 1 if the entry exists, else 0. */
int store_index_has(struct store_txn *txn, uint32_t tid, const void *attr,
		    size_t alen, const void *val, size_t vlen, const void *key,
		    size_t klen);

/* 0 when attribute attr of table tid has index entries; ENOENT if none. */
int store_attr_get(struct store_txn *txn, uint32_t tid, const void *attr,
		   size_t alen);

/*
 * The first attribute with index entries in table tid whose name sorts
 * after (after, afterlen), or the first one when after is NULL; *attr into
 * txn memory.  ENOENT past the last.
 */
int store_attr_next(struct store_txn *txn, uint32_t tid, const void *after,
		    size_t afterlen, const void **attr, size_t *alen);

/*
 * Walk one attribute's entries in order.  Each entry is the value bytes
 * followed by the key bytes, in a buffer of the cursor's valid until the
 * next call.  seek moves to the first entry whose value bytes sort at or
 * after pos; pos may be up to STORE_VALUE_MAX + 1 bytes (a value and 0xff
 * seeks past every entry of that value).
 */
struct store_icursor;
int store_icursor_open(struct store_txn *txn, uint32_t tid, const void *attr,
		       size_t alen, struct store_icursor **out);
int store_icursor_seek(struct store_icursor *c, const void *pos, size_t len);
int store_icursor_next(struct store_icursor *c, const void **entry,
		       size_t *len);
void store_icursor_close(struct store_icursor *c);

/* ---- the change feed ------------------------------------------------ */

/*
 * A database's changes, one line each, numbered from 1 in commit order
 * (seq) and added in the write transaction of the change they tell, so
 * that a line is there exactly when its change is.  Storage keeps the
 * line's bytes as given (the layer above makes them) and where each
 * starts in the feed read as one text that only grows (its offset: the
 * bytes of every line before it, kept ones or not), and indexes the line
 * under each record it names (refs): a record's history.  Lines go,
 * oldest first, while the feed holds more than its limit in bytes (a
 * line's bytes, its offset and refs, and its history entries; see
 * store_feed_add), the newest staying whatever its size.  With a limit
 * of 0 no line is added.
 */
#define STORE_FEED_TRIM_MAX 8 /* oldest lines one add drops at most */

struct store_feed_ref {
	uint32_t tid;
	const void *key;
	size_t keylen;
};

struct store_feed_state {
	uint64_t first_seq, next_seq; /* first kept; the next to add (first
					 == next: none kept) */
	uint64_t first_off, end_off;  /* where they start: the first kept
					 line, and past the last line */
	uint64_t bytes;		      /* what the kept lines hold */
};

/* The limit, set at each open (not stored). */
void store_feed_set_limit(struct store_env *env, uint64_t bytes);
uint64_t store_feed_limit(struct store_env *env);

/*
 * Whether changes were made while the feed was off (limit 0), which no
 * line tells: set 1 marks it (write txn), 0 clears it, -1 only asks.
 * 1 or 0 for what it was, or a negative errno.
 */
int store_feed_gap(struct store_txn *txn, int set);

/* The number the next line gets (for a line that shows its own). */
int store_feed_next(struct store_txn *txn, uint64_t *seq);

/*
 * Add a line numbered seq, which must be store_feed_next's (EINVAL if
 * not), about the records refs names (write txn).  Past the limit and
 * an eighth more, it drops the oldest lines (at most
 * STORE_FEED_TRIM_MAX); store_feed_trim() takes the feed back to its
 * limit in a commit of its own, at most max lines at a time, when
 * store_feed_over() says it may be past it (the daemon, when it has
 * nothing else to do), so a burst of changes drops nothing as it goes.
 * A no-op when the limit is 0.
 */
int store_feed_add(struct store_txn *txn, uint64_t seq, const void *line,
		   size_t len, const struct store_feed_ref *refs, size_t nrefs);

int store_feed_trim(struct store_env *env, unsigned max);
int store_feed_over(struct store_env *env);

int store_feed_state(struct store_txn *txn, struct store_feed_state *out);

/* Line seq: its offset, and its bytes in txn memory.  ENOENT if not
 * kept. */
int store_feed_get(struct store_txn *txn, uint64_t seq, uint64_t *off,
		   const void **line, size_t *len);

/* The kept line that holds the byte at offset off.  ENOENT when off is
 * before the first kept line or past the last. */
int store_feed_find(struct store_txn *txn, uint64_t off, uint64_t *seq);

/* The first line after seq after in the history of record key of table
 * tid.  ENOENT past its last. */
int store_history_next(struct store_txn *txn, uint32_t tid, const void *key,
		       size_t keylen, uint64_t after, uint64_t *seq);

/* Prove that the lines follow one another without a gap, that each is in
 * the history of each record it names and the history holds nothing
 * else, and that the bytes counted are the bytes kept.  0, or EIO with a
 * message in msg. */
int store_feed_check(struct store_txn *txn, char *msg, size_t msglen);

/*
 * The disk is full: drop the oldest lines, about bytes of them (all there
 * are, if fewer), in a commit of their own, so that a change that did not
 * fit may (the feed gives way to the records).  0 when any went, ENOENT
 * when the feed keeps none, else store_write's error.
 */
int store_feed_yield(struct store_env *env, uint64_t bytes);

/* ---- checking ---------------------------------------------------------- */

/*
 * Calls fn once per index entry a record's text should have.  schema is
 * what store_table_schema_get() holds for the record's table (NULL, 0 for
 * none); ctx is the caller's, passed through.
 */
typedef int (*store_entries_fn)(void *ctx, const void *schema, size_t schemalen,
				const void *text, size_t len,
				int (*fn)(const void *attr, size_t alen,
					  const void *val, size_t vlen,
					  void *arg),
				void *arg);

/*
 * Prove that every table's indexes say exactly what its records say: each
 * entry that entries() derives from a record exists, the index holds no
 * other entry, and the per-attribute counts add up.  0 when they agree;
 * EIO with a message in msg when not; other errors from reading.
 */
int store_check_indexes(struct store_env *env, store_entries_fn entries,
			void *ctx, char *msg, size_t msglen);

/* While store_check_indexes() walks env's records, call fn(arg, done,
 * total) now and then (total: the objects stored, records and scratch
 * files).  NULL for none. */
void store_check_set_progress(struct store_env *env,
			      void (*fn)(void *arg, uint64_t done,
					 uint64_t total),
			      void *arg);

/* The number of objects (records and scratch files) in the environment
 * and the number of index entries (write or read txn). */
int store_env_counts(struct store_txn *txn, uint64_t *objects,
		     uint64_t *entries);

#endif
