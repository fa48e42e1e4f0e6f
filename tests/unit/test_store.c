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
#include <unistd.h>

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
	return store_table_create(t, "dog", 3, 42, tb);
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

/* What store_intent_pending gives after a reopen: 1 if exactly want. */
static int pending_is(const char *d, const char *want)
{
	struct store_env *env;
	void *data = NULL;
	size_t len = 0;
	int rc, ok;
	if (store_env_open(d, 0, 0, &env) != 0)
		return 0;
	rc = store_intent_pending(env, &data, &len);
	ok = want ? rc == 0 && len == strlen(want) && !memcmp(data, want, len)
		  : rc == ENOENT;
	free(data);
	store_env_close(env);
	return ok;
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
	CHECK(store_intent_write(env, "one", 3) == 0);
	CHECK(store_intent_write(env, "two!", 4) == 0);
	store_env_close(env);
	CHECK(pending_is(d, "two!")); /* the last one written */

	/* a commit after it (the one that applies it) ends it */
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_write(env, touch, NULL) == 0);
	store_env_close(env);
	CHECK(pending_is(d, NULL));
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_intent_write(env, "three", 5) == 0);
	store_env_close(env);
	CHECK(pending_is(d, "three"));

	/* a slot cut short, or with a byte changed, is none */
	{
		struct stat st;
		CHECK(stat(path, &st) == 0 && st.st_size > 5);
		CHECK(truncate(path, st.st_size - 1) == 0);
	}
	CHECK(pending_is(d, NULL));
	CHECK(store_env_open(d, 0, 0, &env) == 0);
	CHECK(store_intent_write(env, "four", 4) == 0);
	store_env_close(env);
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
