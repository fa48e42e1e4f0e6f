/*
 * mkdb: fill a database offline, for tests that need many records or
 * records no file name can create (keys longer than a name).
 *
 *   mkdb DATADIR DB TABLE N [KEY]
 *
 * Adds records 0..N-1 shaped like the benchmark's
 * ({"id":i,"name":"dog<i%1000>","breed":...,"age":i%15,"owner":...,
 * "chip":i%20000} -- chip has 50 records per value in a million),
 * and with KEY one more record whose key is that string, with their index
 * entries.  Commits every 50,000 records, or every MKDB_BATCH (an
 * environment variable; tests/bench/commit-cost sets it to show what a
 * record costs in a transaction of its own and in larger ones).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "schema.h"
#include "store.h"

static const char *breeds[] = {"Lab", "Pug", "Poodle", "Beagle", "Boxer"};

struct batch {
	struct store_env *env;
	const char *table;
	long from, to;
	const char *key;
	int64_t now_ns;
};

struct ix {
	struct store_txn *t;
	uint32_t tid;
	const uint8_t *key;
	size_t kl;
};

static int ix_put(const void *attr, size_t alen, const void *val, size_t vlen,
		  void *arg)
{
	struct ix *x = arg;
	return store_index_put(x->t, x->tid, attr, alen, val, vlen, x->key,
			       x->kl);
}

static int put_one(struct batch *b, struct store_txn *t, uint32_t tid,
		   const struct schema_key *k, const char *body)
{
	uint8_t kb[SCHEMA_KEYBUF_MAX], digest[32];
	char name[SCHEMA_NAME_MAX + 1];
	size_t kl = schema_key_encode(k, kb), nl;
	struct schema_err err;
	struct store_obj o;
	char *text;
	size_t len;
	int rc =
	    schema_record_prepare(body, strlen(body), k, "id", NULL, 0,
				  b->now_ns / 1000000, 1, &text, &len, &err);
	if (rc) {
		fprintf(stderr, "mkdb: %s\n", err.msg);
		return rc;
	}
	o.ino = store_ino_alloc(b->env);
	o.btime_ns = o.mtime_ns = b->now_ns;
	o.size = len;
	o.data = text;
	o.len = len;
	rc = store_obj_put(t, tid, STORE_RECORD, kb, kl, &o);
	if (!rc) {
		/* the same entries the daemon keeps */
		struct ix x = {t, tid, kb, kl};
		rc = schema_store_entries(text, len, ix_put, &x);
	}
	free(text);
	nl = schema_key_to_name(k, name);
	if (!rc && schema_name_digest(name, nl, digest) == 0)
		rc = store_alias_put(t, tid, digest, 32, kb, kl);
	return rc;
}

static int fill(struct store_txn *t, void *arg)
{
	struct batch *b = arg;
	struct store_table tb;
	char body[256];
	long i;
	int rc = store_table_get(t, b->table, strlen(b->table), &tb);
	if (rc == ENOENT)
		rc = store_table_create(t, b->table, strlen(b->table),
					b->now_ns, NULL, &tb);
	if (rc)
		return rc;
	for (i = b->from; i < b->to; i++) {
		struct schema_key k = {.type = SCHEMA_KEY_INT, .i = i};
		snprintf(body, sizeof(body),
			 "{\"name\":\"dog%ld\",\"breed\":\"%s\",\"age\":%ld,"
			 "\"owner\":\"owner%ld\",\"chip\":%ld}",
			 i % 1000, breeds[i % 5], i % 15, i % 5000, i % 20000);
		rc = put_one(b, t, tb.tid, &k, body);
		if (rc)
			return rc;
	}
	if (b->key) {
		struct schema_key k = {
		    .type = SCHEMA_KEY_STR, .s = b->key, .len = strlen(b->key)};
		rc = put_one(b, t, tb.tid, &k, "{}");
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct store_env *env;
	struct batch b;
	struct timespec ts;
	char dir[4096];
	long n, at, batch = 50000;
	const char *bs = getenv("MKDB_BATCH");
	int rc;

	if (argc < 5) {
		fprintf(stderr, "usage: mkdb DATADIR DB TABLE N [KEY]\n");
		return 2;
	}
	n = atol(argv[4]);
	if (bs && atol(bs) > 0)
		batch = atol(bs);
	mkdir(argv[1], 0755);
	snprintf(dir, sizeof(dir), "%s/%s", argv[1], argv[2]);
	mkdir(dir, 0755);
	rc = store_env_open(dir, STORE_OPEN_CREATE, 0, &env);
	if (rc) {
		fprintf(stderr, "mkdb: %s: %s\n", dir, strerror(rc));
		return 1;
	}
	{
		/* a change the daemon answered and has not stored goes
		 * first: the daemon stores it when it mounts */
		void *slot;
		size_t len;
		if (store_intent_pending(env, &slot, &len) == 0) {
			free(slot);
			store_env_close(env);
			fprintf(stderr,
				"mkdb: %s: mount it once first: its intent "
				"slot holds a change not stored yet\n",
				dir);
			return 1;
		}
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&b, 0, sizeof(b));
	b.env = env;
	b.table = argv[3];
	b.now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	for (at = 0; at < n || (at == 0 && argc > 5); at += batch) {
		b.from = at;
		b.to = at + batch < n ? at + batch : n;
		b.key = at + batch >= n ? (argc > 5 ? argv[5] : NULL) : NULL;
		rc = store_write(env, fill, &b);
		if (rc) {
			fprintf(stderr, "mkdb: %s\n", strerror(rc));
			break;
		}
		if (n == 0)
			break;
	}
	store_env_close(env);
	return rc ? 1 : 0;
}
