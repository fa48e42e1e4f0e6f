/*
 * Unit tests of storage/: tables, objects, cursors, chunks, aliases, inode
 * numbers, map growth and persistence across reopen.  No FUSE needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <endian.h>
#include <lmdb.h>

#include "store.h"

static int passed, failed;

#define CHECK(c)                                                               \
	do {                                                                   \
		if (c) {                                                       \
			passed++;                                              \
		} else {                                                       \
			failed++;                                              \
			printf("%s:%d: CHECK(%s) failed\n", __FILE__,          \
			       __LINE__, #c);                                  \
		}                                                              \
	} while (0)

static char dir[] = "/tmp/recordfs-test-store-XXXXXX";

struct put_args {
	uint32_t tid;
	const char *key;
	const char *data;
	size_t size;
};

static int mk_table(struct store_txn *t, void *arg)
{
	struct store_table *tb = arg;
	return store_table_create(t, "dog", 3, 42, NULL, tb);
}

static int put(struct store_txn *t, void *arg)
{
	struct put_args *a = arg;
	struct store_obj o = {.ino = 100,
			      .btime_ns = 1,
			      .mtime_ns = 2,
			      .size = a->size,
			      .data = a->data,
			      .len = a->size};
	return store_obj_put(t, a->tid, STORE_RECORD, a->key, strlen(a->key),
			     &o);
}

static int del(struct store_txn *t, void *arg)
{
	struct put_args *a = arg;
	return store_obj_del(t, a->tid, STORE_RECORD, a->key, strlen(a->key));
}

static int drop_noforce(struct store_txn *t, void *arg)
{
	return store_table_drop(t, "dog", 3, 0);
}

static int drop_force(struct store_txn *t, void *arg)
{
	return store_table_drop(t, "dog", 3, 1);
}

static int chunks(struct store_txn *t, void *arg)
{
	uint32_t tid = *(uint32_t *)arg;
	int rc = 0, i;
	for (i = 0; i < 5 && !rc; i++)
		rc = store_chunk_put(t, tid, "f", 1, (uint32_t)i, "abcd", 4);
	if (!rc)
		rc = store_chunk_trim(t, tid, "f", 1, 3);
	if (!rc)
		rc = store_chunk_move(t, tid, "f", 1, tid, "g", 1);
	if (!rc)
		rc = store_alias_put(t, tid, "digest", 6, "key", 3);
	return rc;
}

static int fail_fn(struct store_txn *t, void *arg)
{
	struct put_args *a = arg;
	put(t, a);
	return EINVAL; /* the put must not land */
}

struct ientry {
	const char *attr, *val, *key;
};

static const struct ientry ientries[] = {
    {"breed", "Lab", "1"}, {"breed", "Lab", "2"}, {"breed", "Pug", "3"},
    {"age", "03", "1"},	   {"age", "07", "2"},	  {"age", "07", "3"},
};

static int iput(struct store_txn *t, void *arg)
{
	uint32_t tid = *(uint32_t *)arg;
	size_t i;
	int rc = 0;
	for (i = 0; i < sizeof(ientries) / sizeof(ientries[0]) && !rc; i++)
		rc = store_index_put(t, tid, ientries[i].attr,
				     strlen(ientries[i].attr), ientries[i].val,
				     strlen(ientries[i].val), ientries[i].key,
				     strlen(ientries[i].key));
	/* a second put of the same entry changes nothing */
	if (!rc)
		rc = store_index_put(t, tid, "breed", 5, "Lab", 3, "1", 1);
	return rc;
}

/* The longest attribute name and values: one value of STORE_VALUE_MAX 'v'
 * bytes, then the same followed by 'w' cut to the limit. */
static int iput_long(struct store_txn *t, void *arg)
{
	uint32_t tid = *(uint32_t *)arg;
	char attr[STORE_ATTR_MAX], val[STORE_VALUE_MAX];
	int rc;
	memset(attr, 'a', sizeof(attr));
	memset(val, 'v', sizeof(val));
	rc = store_index_put(t, tid, attr, sizeof(attr), val, sizeof(val), "1",
			     1);
	if (!rc)
		rc = store_index_put(t, tid, attr, sizeof(attr), val,
				     sizeof(val), "2", 1);
	val[sizeof(val) - 1] = 'w';
	if (!rc)
		rc = store_index_put(t, tid, attr, sizeof(attr), val,
				     sizeof(val), "3", 1);
	return rc;
}

static int idel(struct store_txn *t, void *arg)
{
	uint32_t tid = *(uint32_t *)arg;
	int rc = store_index_del(t, tid, "breed", 5, "Pug", 3, "3", 1);
	if (!rc)
		rc = store_index_del(t, tid, "breed", 5, "Pug", 3, "3", 1) ==
			     ENOENT
			 ? 0
			 : EIO;
	return rc;
}

static int idel_lab(struct store_txn *t, void *arg)
{
	uint32_t tid = *(uint32_t *)arg;
	int rc = store_index_del(t, tid, "breed", 5, "Lab", 3, "1", 1);
	if (!rc)
		rc = store_index_del(t, tid, "breed", 5, "Lab", 3, "2", 1);
	return rc;
}

/* Index entries: put, list attributes, walk in order, seek, delete. */
static void test_index(struct store_env *env, uint32_t tid)
{
	struct store_txn *t;
	struct store_icursor *c;
	const void *a, *e;
	size_t al, el;
	int rc;

	CHECK(store_write(env, iput, &tid) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_attr_next(t, tid, NULL, 0, &a, &al) == 0);
	CHECK(al == 3 && memcmp(a, "age", 3) == 0);
	CHECK(store_attr_next(t, tid, "age", 3, &a, &al) == 0);
	CHECK(al == 5 && memcmp(a, "breed", 5) == 0);
	CHECK(store_attr_next(t, tid, "breed", 5, &a, &al) == ENOENT);
	CHECK(store_attr_get(t, tid, "breed", 5) == 0);
	CHECK(store_attr_get(t, tid, "bree", 4) == ENOENT);
	CHECK(store_attr_get(t, tid, "breeds", 6) == ENOENT);
	CHECK(store_index_has(t, tid, "breed", 5, "Lab", 3, "2", 1) == 1);
	CHECK(store_index_has(t, tid, "breed", 5, "Lab", 3, "3", 1) == 0);
	CHECK(store_icursor_open(t, tid, "age", 3, &c) == 0);
	CHECK(store_icursor_next(c, &e, &el) == 0 && el == 3 &&
	      memcmp(e, "031", 3) == 0);
	CHECK(store_icursor_next(c, &e, &el) == 0 && memcmp(e, "072", 3) == 0);
	/* seek to the first entry at or after a value */
	CHECK(store_icursor_seek(c, "07", 2) == 0);
	CHECK(store_icursor_next(c, &e, &el) == 0 && memcmp(e, "072", 3) == 0);
	CHECK(store_icursor_next(c, &e, &el) == 0 && memcmp(e, "073", 3) == 0);
	rc = store_icursor_next(c, &e, &el);
	CHECK(rc == ENOENT); /* the walk stays inside the attribute */
	store_icursor_close(c);
	store_txn_abort(t);

	CHECK(store_write(env, idel, &tid) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_attr_next(t, tid, "age", 3, &a, &al) == 0 && al == 5);
	store_txn_abort(t);

	/* an attribute whose last entry went is listed no more, nor found,
	 * until an entry comes again */
	CHECK(store_write(env, idel_lab, &tid) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_attr_next(t, tid, NULL, 0, &a, &al) == 0 && al == 3);
	CHECK(store_attr_next(t, tid, "age", 3, &a, &al) == ENOENT);
	CHECK(store_attr_get(t, tid, "breed", 5) == ENOENT);
	CHECK(store_attr_get(t, tid, "age", 3) == 0);
	store_txn_abort(t);
	CHECK(store_write(env, iput, &tid) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_attr_next(t, tid, "age", 3, &a, &al) == 0 && al == 5);
	CHECK(store_attr_get(t, tid, "breed", 5) == 0);
	store_txn_abort(t);

	/* a longest value and 0xff seeks past its entries to the next one */
	CHECK(store_write(env, iput_long, &tid) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	{
		char attr[STORE_ATTR_MAX];
		uint8_t pos[STORE_VALUE_MAX + 1];
		memset(attr, 'a', sizeof(attr));
		memset(pos, 'v', sizeof(pos));
		pos[STORE_VALUE_MAX] = 0xff;
		CHECK(store_icursor_open(t, tid, attr, sizeof(attr), &c) == 0);
		CHECK(store_icursor_next(c, &e, &el) == 0 &&
		      el == STORE_VALUE_MAX + 1 &&
		      ((const char *)e)[STORE_VALUE_MAX] == '1');
		CHECK(store_icursor_seek(c, pos, sizeof(pos)) == 0);
		CHECK(store_icursor_next(c, &e, &el) == 0 &&
		      ((const char *)e)[STORE_VALUE_MAX - 1] == 'w' &&
		      ((const char *)e)[STORE_VALUE_MAX] == '3');
		CHECK(store_icursor_next(c, &e, &el) == ENOENT);
		store_icursor_close(c);
	}
	store_txn_abort(t);
}

/* A commit that changes something (the one that applies a slot). */
static int touch(struct store_txn *t, void *arg)
{
	(void)arg;
	return store_alias_put(t, 99, "touch", 5, "k", 1);
}

static int copy_file(const char *from, const char *to)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
	return system(cmd);
}

/*
 * What store_intent_pending gives after a reopen: 1 if exactly the
 * changes in want, separated by '|' (NULL: none pending).
 */
static int pending_is(const char *d, const char *want)
{
	struct store_env *env;
	void *data = NULL;
	const void *pos, *one;
	size_t len = 0, l;
	int rc, ok;
	if (store_env_open(d, 0, 0, &env) != 0)
		return 0;
	rc = store_intent_pending(env, &data, &len);
	ok = want ? rc == 0 : rc == ENOENT;
	pos = data;
	while (ok && want &&
	       store_intent_next(&pos, (char *)data + len, &one, &l) == 0) {
		size_t n = strcspn(want, "|");
		ok = n == l && !memcmp(one, want, l);
		want = want[n] ? want + n + 1 : NULL;
	}
	if (want)
		ok = 0; /* fewer changes than wanted */
	else if (ok && rc == 0)
		ok = pos == (char *)data + len; /* none more */
	free(data);
	store_env_close(env);
	return ok;
}

/* Open the environment in d, add each change in want ('|' between
 * them) to the slot, and close it: 1 if all went well. */
static int slot_written(const char *d, const char *want)
{
	struct store_env *env;
	int ok = 1;
	if (store_env_open(d, 0, 0, &env) != 0)
		return 0;
	while (ok && *want) {
		size_t n = strcspn(want, "|");
		ok = store_intent_write(env, want, n) == 0;
		want += n + (want[n] == '|');
	}
	store_env_close(env);
	return ok;
}

/* Cut the last byte off the file at path: 1 if done. */
static int cut_last_byte(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size > 0 &&
	       truncate(path, st.st_size - 1) == 0;
}

static void test_intent(void)
{
	char d[] = "/tmp/recordfs-test-intent-XXXXXX", path[128];
	struct store_env *env;
	int fd;

	if (!mkdtemp(d)) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/intent", d);
	CHECK(store_env_open(d, STORE_OPEN_CREATE, 0, &env) == 0);
	CHECK(store_intent_safe(env, 64u << 20, 1, 1) == 0);  /* too big */
	CHECK(store_intent_safe(env, 100, 1u << 20, 1) == 0); /* too many */
	store_env_close(env);
	CHECK(slot_written(d, "one|two!"));
	CHECK(pending_is(d, "one|two!")); /* all, in order */

	/* a commit after it (the one that applies it) ends it */
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_write(env, touch, NULL) == 0);
	store_env_close(env);
	CHECK(pending_is(d, NULL));
	/* (the file's end is the slot's: an older, longer one is gone) */
	CHECK(truncate(path, 0) == 0);
	CHECK(slot_written(d, "three"));
	CHECK(pending_is(d, "three"));

	/* a slot cut short, or with a byte changed, ends before the
	 * change it cuts or changes */
	CHECK(cut_last_byte(path));
	CHECK(pending_is(d, NULL));
	CHECK(slot_written(d, "four|five!"));
	CHECK(cut_last_byte(path));
	CHECK(pending_is(d, "four"));
	/* a slot written after a commit is new: the older slot's changes
	 * past its end (same place, same txnid) never count */
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_write(env, touch, NULL) == 0);
	store_env_close(env);
	CHECK(slot_written(d, "abc|def|ghi"));
	CHECK(pending_is(d, "abc|def|ghi"));
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	store_intent_drop(env);
	CHECK(store_intent_write(env, "xyz", 3) == 0);
	store_env_close(env);
	CHECK(pending_is(d, "xyz"));
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_write(env, touch, NULL) == 0);
	store_env_close(env);
	CHECK(truncate(path, 0) == 0);
	CHECK(slot_written(d, "four"));
	CHECK(pending_is(d, "four"));
	{
		struct stat st;
		CHECK(stat(path, &st) == 0);
		fd = open(path, O_WRONLY);
		CHECK(fd >= 0 && pwrite(fd, "F", 1, st.st_size - 4) == 1);
		close(fd);
	}
	CHECK(pending_is(d, NULL));

	/* kept: no other change until the next open, which finds it */
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_intent_write(env, "six", 3) == 0);
	store_intent_keep(env);
	CHECK(store_write(env, touch, NULL) == EROFS);
	CHECK(store_intent_write(env, "seven", 5) == EROFS);
	CHECK(store_intent_safe(env, 10, 1, 1) == 0);
	store_env_close(env);
	CHECK(pending_is(d, "six"));
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_write(env, touch, NULL) == 0);
	store_env_close(env);
	CHECK(pending_is(d, NULL));

	/* a data.mdb put back from a copy made before the slot: none */
	{
		char data[128], copy[128];
		snprintf(data, sizeof(data), "%s/data.mdb", d);
		snprintf(copy, sizeof(copy), "%s/copy.mdb", d);
		CHECK(copy_file(data, copy) == 0);
		CHECK(store_env_open(d, 0, 0, &env) == 0);
		CHECK(store_write(env, touch, NULL) == 0);
		CHECK(store_intent_write(env, "late", 4) == 0);
		store_env_close(env);
		CHECK(pending_is(d, "late"));
		CHECK(rename(copy, data) == 0);
		CHECK(pending_is(d, NULL));
		/* and when its commits climb back to the slot's number, the
		 * slot (voided at that open) stays none */
		CHECK(store_env_open(d, 0, 0, &env) == 0);
		CHECK(store_write(env, touch, NULL) == 0);
		store_env_close(env);
		CHECK(pending_is(d, NULL));
	}

	/* a slot is its environment's: beside a data.mdb made anew, none */
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_intent_write(env, "eight", 5) == 0);
	store_env_close(env);
	CHECK(pending_is(d, "eight"));
	snprintf(path, sizeof(path), "%s/data.mdb", d);
	CHECK(unlink(path) == 0);
	CHECK(store_env_open(d, STORE_OPEN_CREATE, 0, &env) == 0);
	store_env_close(env);
	CHECK(pending_is(d, NULL));
	snprintf(path, sizeof(path), "%s/intent", d);

	/* dropped: none */
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_intent_write(env, "five", 4) == 0);
	store_intent_drop(env);
	store_env_close(env);
	CHECK(pending_is(d, NULL));

	/* the environment's files go, the directory stays */
	CHECK(store_env_remove(d) == 0);
	CHECK(access(path, F_OK) != 0);
	CHECK(rmdir(d) == 0);
}

/* ---- the batch ---- */

struct redo_log {
	struct store_env *env;
	int calls, why, fail;
	char seen[64]; /* the slot's changes, joined by '|' */
};

/* Put an object named by each change of the pending slot (a redo). */
static int put_pending(struct store_txn *t, void *arg)
{
	struct redo_log *r = arg;
	void *data;
	const void *pos, *one;
	size_t len, l;
	int rc = store_intent_pending(r->env, &data, &len);
	if (rc)
		return rc;
	r->seen[0] = 0;
	pos = data;
	while (!rc &&
	       store_intent_next(&pos, (char *)data + len, &one, &l) == 0) {
		struct put_args a = {1, NULL, "v", 1};
		char key[16];
		snprintf(key, sizeof(key), "%.*s", (int)l, (const char *)one);
		a.key = key;
		rc = put(t, &a);
		snprintf(r->seen + strlen(r->seen),
			 sizeof(r->seen) - strlen(r->seen), "%s%s",
			 r->seen[0] ? "|" : "", key);
	}
	free(data);
	return rc;
}

static int redo(void *arg, int why)
{
	struct redo_log *r = arg;
	r->calls++;
	r->why = why;
	return r->fail ? EIO : store_write(r->env, put_pending, r);
}

static int failing(struct store_txn *t, void *arg)
{
	(void)t;
	(void)arg;
	return EIO;
}

/* 1 if object key is there, 0 if not, -1 on another error. */
static int has(struct store_env *env, const char *key)
{
	struct store_txn *t;
	struct store_obj o;
	int rc;
	if (store_read_begin(env, &t) != 0)
		return -1;
	rc = store_obj_get(t, 1, STORE_RECORD, key, strlen(key), &o);
	store_txn_abort(t);
	return rc == 0 ? 1 : rc == ENOENT ? 0 : -1;
}

/* Write key to the slot and put it in the batch, as the daemon does. */
static int told(struct store_env *env, const char *key)
{
	struct put_args a = {1, key, "v", 1};
	int rc = store_intent_write(env, key, strlen(key));
	return rc ? rc : store_batch_apply(env, put, &a);
}

static void test_batch(void)
{
	char d[] = "/tmp/recordfs-test-batch-XXXXXX";
	struct store_env *env;
	struct redo_log r;
	uint64_t commits, changes;
	pid_t pid;
	int i, status;

	if (!mkdtemp(d)) {
		CHECK(0);
		return;
	}
	CHECK(store_env_open(d, STORE_OPEN_CREATE, 0, &env) == 0);

	/* changes wait in the open batch; a read sees them; nothing is
	 * committed until store_batch_commit, then all at once */
	commits = store_env_commits(env);
	changes = store_env_changes(env);
	CHECK(told(env, "a") == 0 && told(env, "b") == 0);
	CHECK(store_batch_size(env) == 2);
	/* each is a change readers see, before any commit */
	CHECK(store_env_changes(env) == changes + 2);
	CHECK(has(env, "a") == 1 && has(env, "b") == 1);
	CHECK(store_env_commits(env) == commits);
	CHECK(store_batch_commit(env) == 0);
	CHECK(store_batch_size(env) == 0);
	CHECK(store_env_commits(env) == commits + 1);
	CHECK(store_batch_commit(env) == 0); /* none open: nothing */
	CHECK(store_env_commits(env) == commits + 1);

	/* the STORE_BATCH_MAXth change commits the batch */
	for (i = 0; i < STORE_BATCH_MAX; i++) {
		char key[16];
		snprintf(key, sizeof(key), "m%d", i);
		CHECK(told(env, key) == 0);
	}
	CHECK(store_batch_size(env) == 0);
	CHECK(store_env_commits(env) == commits + 2);

	/* store_write commits the batch first */
	CHECK(told(env, "c") == 0);
	CHECK(store_write(env, touch, NULL) == 0);
	CHECK(store_batch_size(env) == 0);
	CHECK(store_env_commits(env) == commits + 4);
	store_env_close(env);
	CHECK(pending_is(d, NULL));

	/* killed with a batch open: the slot holds every change of it,
	 * and data.mdb none */
	pid = fork();
	if (pid == 0) {
		if (store_env_open(d, 0, 0, &env) != 0 || told(env, "k1") ||
		    told(env, "k2") || told(env, "k3"))
			_exit(1);
		_exit(0); /* no close: the batch never commits */
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	CHECK(pending_is(d, "k1|k2|k3"));
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(has(env, "k1") == 0 && has(env, "k3") == 0);
	memset(&r, 0, sizeof(r));
	r.env = env;
	CHECK(store_write(env, put_pending, &r) == 0);
	CHECK(strcmp(r.seen, "k1|k2|k3") == 0);
	CHECK(has(env, "k1") == 1 && has(env, "k3") == 1);
	store_env_close(env);
	CHECK(pending_is(d, NULL));

	/* a change that fails in the batch takes the batch with it; the
	 * redo stores them all again from the slot */
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	memset(&r, 0, sizeof(r));
	r.env = env;
	store_env_set_redo(env, redo, &r);
	CHECK(told(env, "r1") == 0);
	CHECK(store_intent_write(env, "r2", 2) == 0);
	CHECK(store_batch_apply(env, failing, NULL) == 0);
	CHECK(r.calls == 1 && r.why == EIO && strcmp(r.seen, "r1|r2") == 0);
	CHECK(store_batch_size(env) == 0);
	CHECK(has(env, "r1") == 1 && has(env, "r2") == 1);
	CHECK(store_write(env, touch, NULL) == 0); /* not stuck */

	/* a redo that fails: the environment takes no other change, and
	 * the slot waits for the next open */
	r.fail = 1;
	CHECK(told(env, "s1") == 0);
	CHECK(store_intent_write(env, "s2", 2) == 0);
	CHECK(store_batch_apply(env, failing, NULL) == EIO);
	CHECK(r.calls == 2);
	CHECK(store_write(env, touch, NULL) == EROFS);
	CHECK(store_intent_write(env, "s3", 2) == EROFS);
	CHECK(store_batch_apply(env, touch, NULL) == EROFS);
	CHECK(has(env, "s1") == 0);
	store_env_close(env);
	CHECK(pending_is(d, "s1|s2"));

	/* without a redo: the same */
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_write(env, touch, NULL) == 0);
	CHECK(told(env, "t1") == 0);
	CHECK(store_intent_write(env, "t2", 2) == 0);
	CHECK(store_batch_apply(env, failing, NULL) == EIO);
	CHECK(store_write(env, touch, NULL) == EROFS);
	store_env_close(env);
	CHECK(pending_is(d, "t1|t2"));

	/* the room granted adds up over the batch: a small map grants a
	 * few changes; a batch with no room for another change like its
	 * last commits at once; and may_grow commits the batch before it
	 * grows the map */
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_write(env, touch, NULL) == 0);
	{
		int granted = 1;
		CHECK(store_intent_safe(env, 100, 1, 1) == 1); /* may grow */
		while (granted < 1000 && store_intent_safe(env, 100, 1, 0))
			granted++;
		CHECK(granted > 1 && granted < 1000);
		CHECK(told(env, "u1") == 0);
		CHECK(store_batch_size(env) == 0); /* committed at once */
		CHECK(has(env, "u1") == 1);

		CHECK(store_intent_safe(env, 100, 1, 0) == 1);
		CHECK(told(env, "u2") == 0);
		CHECK(store_batch_size(env) == 1); /* room for more */
		CHECK(store_intent_safe(env, 100, 4096, 0) == 0);
		CHECK(store_batch_size(env) == 1);
		CHECK(store_intent_safe(env, 100, 4096, 1) == 0); /* too big */
		CHECK(store_batch_size(env) == 0); /* but committed first */
		CHECK(has(env, "u2") == 1);
	}
	store_env_close(env);

	CHECK(store_env_remove(d) == 0);
	CHECK(rmdir(d) == 0);
}

static int put_attrs(struct store_txn *t, void *arg)
{
	struct store_obj o = {.ino = 9,
			      .btime_ns = 1,
			      .mtime_ns = 2,
			      .size = 3,
			      .data = "abc",
			      .len = 3,
			      .attrs = {0100640, 1000, 100, 5, 6}};
	struct store_table tb = {
	    .btime_ns = 7, .mtime_ns = 8, .attrs = {040750, 1001, 101, 9, 10}};
	(void)arg;
	int rc = store_obj_put(t, 1, STORE_RECORD, "attrs", 5, &o);
	return rc ? rc : store_table_set(t, "dog", 3, &tb);
}

/*
 * Modes, owners and times round trip, and what an older daemon stored (no
 * attrs: a 32-byte object header, a 32-byte table value), written here
 * with LMDB itself, still reads, with attrs 0.
 */
static void test_attrs(struct store_env **envp, uint32_t tid)
{
	struct store_txn *t;
	struct store_obj o;
	struct store_table tb;
	MDB_env *me;
	MDB_txn *mt;
	MDB_dbi objs, tabs;
	uint8_t okey[5 + 3] = {0, 0, 0, (uint8_t)tid, 'r', 'o', 'l', 'd'};
	uint64_t oval[4 + 1] = {htole64(77), htole64(11), htole64(12),
				htole64(3), 0};
	uint64_t tval[4] = {htole64(55), htole64(88), htole64(13), htole64(14)};
	MDB_val k, v;

	CHECK(store_write(*envp, put_attrs, NULL) == 0);
	CHECK(store_read_begin(*envp, &t) == 0);
	CHECK(store_obj_get(t, 1, STORE_RECORD, "attrs", 5, &o) == 0);
	CHECK(o.ino == 9 && o.size == 3 && o.len == 3 &&
	      memcmp(o.data, "abc", 3) == 0);
	CHECK(o.attrs.mode == 0100640 && o.attrs.uid == 1000 &&
	      o.attrs.gid == 100 && o.attrs.atime_ns == 5 &&
	      o.attrs.ctime_ns == 6);
	CHECK(store_table_get(t, "dog", 3, &tb) == 0);
	CHECK(tb.tid == tid && tb.btime_ns == 7 && tb.mtime_ns == 8);
	CHECK(tb.attrs.mode == 040750 && tb.attrs.uid == 1001 &&
	      tb.attrs.gid == 101 && tb.attrs.atime_ns == 9 &&
	      tb.attrs.ctime_ns == 10);
	store_txn_abort(t);

	/* the older form, straight into LMDB */
	store_env_close(*envp);
	memcpy((char *)oval + 32, "xyz", 3);
	CHECK(mdb_env_create(&me) == 0);
	mdb_env_set_maxdbs(me, 16);
	CHECK(mdb_env_open(me, dir, 0, 0644) == 0);
	CHECK(mdb_txn_begin(me, NULL, 0, &mt) == 0);
	CHECK(mdb_dbi_open(mt, "objects", 0, &objs) == 0);
	CHECK(mdb_dbi_open(mt, "tables", 0, &tabs) == 0);
	k.mv_data = okey;
	k.mv_size = sizeof(okey);
	v.mv_data = oval;
	v.mv_size = 32 + 3;
	CHECK(mdb_put(mt, objs, &k, &v, 0) == 0);
	k.mv_data = "old";
	k.mv_size = 3;
	v.mv_data = tval;
	v.mv_size = sizeof(tval);
	CHECK(mdb_put(mt, tabs, &k, &v, 0) == 0);
	CHECK(mdb_txn_commit(mt) == 0);
	mdb_env_close(me);
	CHECK(store_env_open(dir, 0, 0, envp) == 0);
	CHECK(store_read_begin(*envp, &t) == 0);
	CHECK(store_obj_get(t, tid, STORE_RECORD, "old", 3, &o) == 0);
	CHECK(o.ino == 77 && o.btime_ns == 11 && o.mtime_ns == 12 &&
	      o.size == 3 && o.len == 3 && memcmp(o.data, "xyz", 3) == 0);
	CHECK(o.attrs.mode == 0 && o.attrs.uid == 0 && o.attrs.ctime_ns == 0);
	CHECK(store_table_get(t, "old", 3, &tb) == 0);
	CHECK(tb.tid == 55 && tb.ino == 88 && tb.btime_ns == 13 &&
	      tb.mtime_ns == 14 && tb.attrs.mode == 0);
	store_txn_abort(t);
}

/* ---- the change feed ---- */

struct line_args {
	uint32_t tid;
	const char *key; /* NULL: a line about no record */
	const char *key2;
	size_t len;   /* of the line made */
	uint64_t seq; /* the line's number */
};

static int add_line(struct store_txn *t, void *arg)
{
	struct line_args *a = arg;
	struct store_feed_ref refs[2] = {
	    {a->tid, a->key, a->key ? strlen(a->key) : 0},
	    {a->tid, a->key2, a->key2 ? strlen(a->key2) : 0}};
	char line[4096];
	int rc = store_feed_next(t, &a->seq);
	size_t n;
	if (rc)
		return rc;
	n = (size_t)snprintf(line, sizeof(line), "{\"seq\":%llu,\"k\":\"%s\"",
			     (unsigned long long)a->seq, a->key ? a->key : "");
	while (n < a->len - 2)
		line[n++] = ' ';
	line[n++] = '}';
	line[n++] = '\n';
	return store_feed_add(t, a->seq, line, n, refs,
			      !a->key	? 0
			      : a->key2 ? 2
					: 1);
}

static int add_wrong_seq(struct store_txn *t, void *arg)
{
	uint64_t seq;
	int rc = store_feed_next(t, &seq);
	return rc ? rc : store_feed_add(t, seq + 1, "x\n", 2, NULL, 0);
}

static int line_check(struct store_env *env, char *msg)
{
	struct store_txn *t;
	int rc = store_read_begin(env, &t);
	if (!rc) {
		rc = store_feed_check(t, msg, 256);
		store_txn_abort(t);
	}
	return rc;
}

static void test_feed(void)
{
	char fdir[] = "/tmp/recordfs-test-feed-XXXXXX", msg[256] = "";
	struct store_env *env;
	struct store_txn *t;
	struct store_feed_state s;
	struct line_args a = {.tid = 3, .len = 100};
	const void *line;
	size_t len;
	uint64_t off, seq, prev, n;
	int i;

	CHECK(mkdtemp(fdir) != NULL);
	CHECK(store_env_open(fdir, STORE_OPEN_CREATE, 1 << 20, &env) == 0);
	/* off: nothing is kept */
	store_feed_set_limit(env, 0);
	a.key = "a";
	CHECK(store_write(env, add_line, &a) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_feed_state(t, &s) == 0);
	CHECK(s.next_seq == 1 && s.first_seq == 1 && s.end_off == 0);
	store_txn_abort(t);
	/* on: lines numbered from 1, at offsets that add up */
	store_feed_set_limit(env, 10000);
	for (i = 0; i < 20; i++) {
		a.key = i % 2 ? "odd" : "even";
		a.key2 = i == 5 ? "five" : NULL;
		CHECK(store_write(env, add_line, &a) == 0);
		CHECK(a.seq == (uint64_t)i + 1);
	}
	CHECK(store_write(env, add_wrong_seq, NULL) == EINVAL);
	CHECK(line_check(env, msg) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_feed_state(t, &s) == 0);
	CHECK(s.first_seq == 1 && s.next_seq == 21);
	CHECK(s.first_off == 0 && s.end_off == 2000);
	CHECK(store_feed_get(t, 7, &off, &line, &len) == 0);
	CHECK(off == 600 && len == 100 && memcmp(line, "{\"seq\":7,", 9) == 0);
	CHECK(store_feed_get(t, 21, &off, &line, &len) == ENOENT);
	CHECK(store_feed_find(t, 0, &seq) == 0 && seq == 1);
	CHECK(store_feed_find(t, 699, &seq) == 0 && seq == 7);
	CHECK(store_feed_find(t, 700, &seq) == 0 && seq == 8);
	CHECK(store_feed_find(t, 1999, &seq) == 0 && seq == 20);
	CHECK(store_feed_find(t, 2000, &seq) == ENOENT);
	/* a record's history: its lines only, in order */
	n = 0;
	prev = 0;
	while (store_history_next(t, 3, "odd", 3, prev, &seq) == 0) {
		CHECK(seq % 2 == 0 && seq > prev);
		prev = seq;
		n++;
	}
	CHECK(n == 10);
	CHECK(store_history_next(t, 3, "five", 4, 0, &seq) == 0 && seq == 6);
	CHECK(store_history_next(t, 3, "five", 4, 6, &seq) == ENOENT);
	CHECK(store_history_next(t, 4, "odd", 3, 0, &seq) == ENOENT);
	CHECK(store_history_next(t, 3, "od", 2, 0, &seq) == ENOENT);
	store_txn_abort(t);
	/* past the limit the oldest go, with their history entries */
	for (i = 0; i < 200; i++) {
		a.key = "many";
		a.key2 = NULL;
		CHECK(store_write(env, add_line, &a) == 0);
	}
	CHECK(line_check(env, msg) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_feed_state(t, &s) == 0);
	CHECK(s.next_seq == 221 && s.end_off == 22000);
	/* a change drops lines only past the limit and an eighth */
	CHECK(s.bytes <= 11250 && s.bytes > 10000);
	store_txn_abort(t);
	CHECK(store_feed_over(env) == 1);
	CHECK(store_feed_trim(env, 1000) == 0);
	CHECK(store_feed_over(env) == 0);
	CHECK(store_feed_trim(env, 1000) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_feed_state(t, &s) == 0);
	CHECK(s.bytes <= 10000 && s.bytes > 9000);
	CHECK(s.first_off == (s.first_seq - 1) * 100);
	CHECK(store_feed_get(t, s.first_seq - 1, &off, &line, &len) == ENOENT);
	CHECK(store_feed_find(t, s.first_off - 1, &seq) == ENOENT);
	CHECK(store_history_next(t, 3, "odd", 3, 0, &seq) == ENOENT);
	CHECK(store_history_next(t, 3, "many", 4, 0, &seq) == 0 &&
	      seq == s.first_seq);
	store_txn_abort(t);
	/* one line longer than the limit stays, alone, and the next ones
	 * push it out */
	a.len = 3000;
	store_feed_set_limit(env, 2000);
	for (i = 0; i < 40; i++)
		CHECK(store_write(env, add_line, &a) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_feed_state(t, &s) == 0);
	CHECK(s.first_seq == s.next_seq - 1 && s.next_seq == 261);
	store_txn_abort(t);
	/* the trim between changes keeps it too */
	CHECK(store_feed_trim(env, 1000) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_feed_state(t, &s) == 0);
	CHECK(s.first_seq == 260 && s.next_seq == 261);
	store_txn_abort(t);
	CHECK(line_check(env, msg) == 0);
	/* a full disk: the feed gives way, all of it if need be */
	CHECK(store_feed_yield(env, UINT64_MAX) == 0);
	CHECK(store_feed_yield(env, 1) == ENOENT);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_feed_state(t, &s) == 0);
	CHECK(s.first_seq == 261 && s.next_seq == 261 && s.bytes == 0);
	CHECK(s.first_off == s.end_off);
	store_txn_abort(t);
	CHECK(line_check(env, msg) == 0);
	/* numbers go on across a reopen */
	store_env_close(env);
	CHECK(store_env_open(fdir, 0, 0, &env) == 0);
	store_feed_set_limit(env, 1 << 20);
	a.len = 100;
	CHECK(store_write(env, add_line, &a) == 0 && a.seq == 261);
	CHECK(line_check(env, msg) == 0);
	if (msg[0])
		printf("feed check: %s\n", msg);
	store_env_close(env);
	CHECK(store_env_remove(fdir) == 0);
	rmdir(fdir);
}

int main(void)
{
	struct store_env *env;
	struct store_txn *t;
	struct store_table tb, tb2;
	struct store_obj o;
	struct store_cursor *c;
	const void *k, *d;
	size_t kl, dl;
	struct put_args a;
	uint64_t ino1, ino2, map, used;
	char key[32];
	int i, n, rc;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK(store_env_open(dir, 0, 0, &env) == ENOENT);
	CHECK(store_env_open(dir, STORE_OPEN_CREATE, 1 << 20, &env) == 0);
	CHECK(store_env_id(env) == 0);
	CHECK(store_env_set_id(env, 7) == 0);
	ino1 = store_ino_alloc(env);
	ino2 = store_ino_alloc(env);
	CHECK(ino1 >= 64 && ino2 == ino1 + 1);

	CHECK(store_write(env, mk_table, &tb) == 0);
	CHECK(tb.tid == 1 && tb.btime_ns == 42);
	CHECK(store_write(env, mk_table, &tb2) == EEXIST);

	/* objects: put, get, replace, order, delete */
	a.tid = tb.tid;
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%03d", 99 - i);
		a.key = key;
		a.data = "hello";
		a.size = 5;
		CHECK(store_write(env, put, &a) == 0);
	}
	a.key = "k050";
	a.data = "fail";
	a.size = 4;
	CHECK(store_write(env, fail_fn, &a) == EINVAL);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_obj_get(t, tb.tid, STORE_RECORD, "k050", 4, &o) == 0);
	CHECK(o.len == 5 && memcmp(o.data, "hello", 5) == 0 && o.ino == 100);
	CHECK(o.btime_ns == 1 && o.mtime_ns == 2);
	CHECK(store_obj_get(t, tb.tid, STORE_SCRATCH, "k050", 4, &o) == ENOENT);
	CHECK(store_table_is_empty(t, tb.tid) == 0);
	/* a cursor walks in key order, from after a key */
	CHECK(store_cursor_open(t, tb.tid, STORE_RECORD, "k010", 4, &c) == 0);
	n = 0;
	while (store_cursor_next(c, &k, &kl, &o) == 0) {
		snprintf(key, sizeof(key), "k%03d", 11 + n);
		CHECK(kl == 4 && memcmp(k, key, 4) == 0);
		n++;
	}
	CHECK(n == 89);
	store_cursor_close(c);
	CHECK(store_cursor_open(t, tb.tid, STORE_SCRATCH, NULL, 0, &c) == 0);
	CHECK(store_cursor_next(c, &k, &kl, &o) == ENOENT);
	store_cursor_close(c);
	store_txn_abort(t);

	CHECK(store_write(env, drop_noforce, NULL) == ENOTEMPTY);
	a.key = "k000";
	CHECK(store_write(env, del, &a) == 0);
	CHECK(store_write(env, del, &a) == ENOENT);

	/* chunks and aliases */
	CHECK(store_write(env, chunks, &tb.tid) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_chunk_get(t, tb.tid, "f", 1, 0, &d, &dl) == ENOENT);
	CHECK(store_chunk_get(t, tb.tid, "g", 1, 2, &d, &dl) == 0 && dl == 4);
	CHECK(store_chunk_get(t, tb.tid, "g", 1, 3, &d, &dl) == ENOENT);
	CHECK(store_alias_get(t, tb.tid, "digest", 6, &d, &dl) == 0 &&
	      dl == 3 && memcmp(d, "key", 3) == 0);
	store_txn_abort(t);

	/* a read renews the transaction the last one ended: it sees every
	 * commit made since, and the map growing below leaves one kept */
	a.key = "fresh";
	for (i = 0; i < 3; i++) {
		a.data = i == 0 ? "v1" : i == 1 ? "v22" : "v333";
		a.size = strlen(a.data);
		CHECK(store_write(env, put, &a) == 0);
		CHECK(store_read_begin(env, &t) == 0);
		CHECK(store_obj_get(t, tb.tid, STORE_RECORD, "fresh", 5, &o) ==
			  0 &&
		      o.len == a.size && memcmp(o.data, a.data, a.size) == 0);
		store_txn_abort(t);
	}

	/* the map grows: write ~8 MiB into a 1 MiB map */
	{
		static char big[200000];
		memset(big, 'x', sizeof(big));
		for (i = 0; i < 40; i++) {
			snprintf(key, sizeof(key), "big%02d", i);
			a.key = key;
			a.data = big;
			a.size = sizeof(big);
			rc = store_write(env, put, &a);
			CHECK(rc == 0);
		}
		store_env_usage(env, &map, &used);
		CHECK(map >= 8u << 20 && used >= 7u << 20);
		CHECK(store_read_begin(env, &t) == 0);
		CHECK(store_obj_get(t, tb.tid, STORE_RECORD, "big39", 5, &o) ==
			  0 &&
		      o.len == sizeof(big) && memcmp(o.data, big, o.len) == 0);
		store_txn_abort(t);
	}

	test_index(env, tb.tid);
	test_intent();
	test_batch();

	/* numbers handed out and committed, across many commits: none is
	 * handed out again after a reopen */
	{
		uint64_t top = 0;
		for (i = 0; i < 10000; i++) {
			top = store_ino_alloc(env);
			if (i % 97 == 0)
				CHECK(store_write(env, touch, NULL) == 0);
		}
		CHECK(store_write(env, touch, NULL) == 0);
		store_env_close(env);
		CHECK(store_env_open(dir, 0, 0, &env) == 0);
		CHECK(store_ino_alloc(env) > top);
	}

	/* modes, owners, times; and the older form still reads */
	test_attrs(&env, tb.tid);
	test_feed();

	/* reopen: ids, tables, inode numbers persist */
	store_env_close(env);
	CHECK(store_env_open(dir, 0, 0, &env) == 0);
	CHECK(store_env_id(env) == 7);
	CHECK(store_ino_alloc(env) > ino2);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_table_get(t, "dog", 3, &tb2) == 0 && tb2.tid == tb.tid);
	CHECK(store_obj_get(t, tb.tid, STORE_RECORD, "big39", 5, &o) == 0 &&
	      o.len == 200000);
	store_txn_abort(t);

	/* dropping a table removes its objects, chunks and aliases */
	CHECK(store_write(env, drop_force, NULL) == 0);
	CHECK(store_read_begin(env, &t) == 0);
	CHECK(store_table_get(t, "dog", 3, &tb2) == ENOENT);
	CHECK(store_table_is_empty(t, tb.tid) == 1);
	CHECK(store_chunk_get(t, tb.tid, "g", 1, 0, &d, &dl) == ENOENT);
	CHECK(store_alias_get(t, tb.tid, "digest", 6, &d, &dl) == ENOENT);
	{
		const void *a;
		size_t al;
		CHECK(store_attr_next(t, tb.tid, NULL, 0, &a, &al) == ENOENT);
		CHECK(store_index_has(t, tb.tid, "age", 3, "07", 2, "2", 1) ==
		      0);
	}
	store_txn_abort(t);
	/* a new table never reuses the number */
	CHECK(store_write(env, mk_table, &tb2) == 0 && tb2.tid == tb.tid + 1);
	store_env_close(env);

	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("cleanup of %s failed\n", dir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
