/*
 * lmdb-floor: what LMDB alone costs for W6's delete, with no FUSE, no
 * JSON and none of recordfs's code.  It fills a fresh environment with N
 * records shaped like the benchmark's (the same six indexed values: name,
 * breed, age, owner, and creation and update times in key order; the
 * record's text under its key), opened as recordfs opens it (MDB_WRITEMAP,
 * MDB_NOSYNC, MDB_NORDAHEAD), then deletes a tenth of them in random
 * order, each record and its six index entries in a transaction of its
 * own, and prints the microseconds per delete.  It does so for two index
 * layouts:
 *
 *   dupsort  key = attribute + value, data = record key (MDB_DUPSORT),
 *            as recordfs keeps its index
 *   plain    key = attribute + value + record key, empty data
 *
 * and, for each, with a per-attribute count of entries kept on every
 * change (a get and a put per entry, as recordfs did before its attribute
 * list only noted which attributes have had entries) and without, as
 * recordfs deletes now; then recordfs's way with 10 and 100 deletes per
 * transaction, what grouping commits would give.
 *
 *   lmdb-floor DIR [N]     (DIR is created; N defaults to 100000)
 */
#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "lmdb-floor: %s: %s\n", what, mdb_strerror(rc));
	exit(1);
}

static const char *const breeds[20] = {
    "Lab",	"Pug",	   "Poodle",	"Beagle",    "Boxer",
    "Collie",	"Corgi",   "Dachshund", "Husky",     "Akita",
    "Basset",	"Bulldog", "Chow",	"Dalmatian", "Greyhound",
    "Malamute", "Mastiff", "Pointer",	"Shiba",     "Whippet",
};

/* The six index entries of record i: attribute name, value bytes. */
static int entries(long i, char attr[6][16], char val[6][32], size_t vl[6])
{
	uint64_t t = 1763740800000ull + (uint64_t)i;
	strcpy(attr[0], "name");
	vl[0] = (size_t)sprintf(val[0], "Sdog%ld", i % 1000);
	strcpy(attr[1], "breed");
	vl[1] = (size_t)sprintf(val[1], "S%s", breeds[i % 20]);
	strcpy(attr[2], "age");
	vl[2] = (size_t)sprintf(val[2], "N%02ld", i % 15);
	strcpy(attr[3], "owner");
	vl[3] = (size_t)sprintf(val[3], "Sowner%ld", i % 5000);
	strcpy(attr[4], "__createdtime__");
	vl[4] = (size_t)sprintf(val[4], "N%016llx", (unsigned long long)t);
	strcpy(attr[5], "__updatedtime__");
	vl[5] = (size_t)sprintf(val[5], "N%016llx", (unsigned long long)t);
	return 6;
}

struct env {
	MDB_env *env;
	MDB_dbi rec, ix, counts;
	int dup, count;
};

static void open_env(struct env *e, const char *dir, int dup, int count)
{
	MDB_txn *t;
	int rc;
	mkdir(dir, 0755);
	e->dup = dup;
	e->count = count;
	if ((rc = mdb_env_create(&e->env)) ||
	    (rc = mdb_env_set_maxdbs(e->env, 4)) ||
	    (rc = mdb_env_set_mapsize(e->env, 1ull << 30)) ||
	    (rc = mdb_env_open(
		 e->env, dir, MDB_WRITEMAP | MDB_NOSYNC | MDB_NORDAHEAD, 0644)))
		die("open", rc);
	if ((rc = mdb_txn_begin(e->env, NULL, 0, &t)) ||
	    (rc = mdb_dbi_open(t, "rec", MDB_CREATE, &e->rec)) ||
	    (rc = mdb_dbi_open(t, "ix", MDB_CREATE | (dup ? MDB_DUPSORT : 0),
			       &e->ix)) ||
	    (rc = mdb_dbi_open(t, "counts", MDB_CREATE, &e->counts)) ||
	    (rc = mdb_txn_commit(t)))
		die("dbi", rc);
}

static void count(struct env *e, MDB_txn *t, const char *attr, int delta)
{
	MDB_val k = {strlen(attr), (void *)attr}, d;
	uint64_t n = 0;
	int rc = mdb_get(t, e->counts, &k, &d);
	if (rc == 0 && d.mv_size == 8)
		memcpy(&n, d.mv_data, 8);
	n += (uint64_t)(int64_t)delta;
	d.mv_size = 8;
	d.mv_data = &n;
	if ((rc = mdb_put(t, e->counts, &k, &d, 0)))
		die("count", rc);
}

/* Put (del 0) or delete record i and its entries, in txn t. */
static void record(struct env *e, MDB_txn *t, long i, int del)
{
	char attr[6][16], val[6][32], body[160], kbuf[160];
	size_t vl[6];
	uint64_t key = __builtin_bswap64((uint64_t)i);
	MDB_val k = {8, &key}, d;
	int n = entries(i, attr, val, vl), j, rc;

	if (del) {
		rc = mdb_del(t, e->rec, &k, NULL);
	} else {
		d.mv_size = (size_t)snprintf(
		    body, sizeof(body),
		    "{\n  \"id\": %ld,\n  \"name\": \"dog%ld\",\n  \"breed\": "
		    "\"%s\",\n  \"age\": %ld,\n  \"owner\": \"owner%ld\"\n}\n",
		    i, i % 1000, breeds[i % 20], i % 15, i % 5000);
		d.mv_data = body;
		rc = mdb_put(t, e->rec, &k, &d, 0);
	}
	if (rc)
		die("record", rc);
	for (j = 0; j < n; j++) {
		size_t al = strlen(attr[j]);
		memcpy(kbuf, attr[j], al + 1);
		memcpy(kbuf + al + 1, val[j], vl[j]);
		if (e->dup) {
			k.mv_size = al + 1 + vl[j];
			k.mv_data = kbuf;
			d.mv_size = 8;
			d.mv_data = &key;
		} else {
			memcpy(kbuf + al + 1 + vl[j], &key, 8);
			k.mv_size = al + 1 + vl[j] + 8;
			k.mv_data = kbuf;
			d.mv_size = 0;
			d.mv_data = "";
		}
		rc = del ? mdb_del(t, e->ix, &k, e->dup ? &d : NULL)
			 : mdb_put(t, e->ix, &k, &d, 0);
		if (rc)
			die("index", rc);
		if (e->count)
			count(e, t, attr[j], del ? -1 : 1);
	}
}

static double run(const char *dir, long n, int dup, int cnt, long per)
{
	struct env e;
	MDB_txn *t;
	long i, m = n / 10, *order = malloc(n * sizeof(*order));
	uint64_t s = 42;
	double t0;
	int rc;

	open_env(&e, dir, dup, cnt);
	for (i = 0; i < n; i++) {
		if (i % 10000 == 0 && (rc = mdb_txn_begin(e.env, NULL, 0, &t)))
			die("begin", rc);
		record(&e, t, i, 0);
		if ((i % 10000 == 9999 || i == n - 1) &&
		    (rc = mdb_txn_commit(t)))
			die("commit", rc);
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		long j, x;
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		j = (long)((s >> 33) % (uint64_t)(i + 1));
		x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	t0 = now();
	for (i = 0; i < m; i++) {
		if (i % per == 0 && (rc = mdb_txn_begin(e.env, NULL, 0, &t)))
			die("begin", rc);
		record(&e, t, order[i], 1);
		if ((i % per == per - 1 || i == m - 1) &&
		    (rc = mdb_txn_commit(t)))
			die("commit", rc);
	}
	t0 = (now() - t0) / (double)m * 1e6;
	mdb_env_close(e.env);
	free(order);
	return t0;
}

int main(int argc, char **argv)
{
	char dir[4096];
	long n = argc > 2 ? atol(argv[2]) : 100000;
	static const struct {
		const char *name;
		int dup, count;
		long per;
	} kinds[] = {
	    {"dupsort, no counts (as recordfs)", 1, 0, 1},
	    {"dupsort, with counts", 1, 1, 1},
	    {"plain keys, with counts", 0, 1, 1},
	    {"plain keys, no counts", 0, 0, 1},
	    {"as recordfs, 10 deletes per commit", 1, 0, 10},
	    {"as recordfs, 100 deletes per commit", 1, 0, 100},
	};
	if (argc < 2 || n < 10) {
		fprintf(stderr, "usage: lmdb-floor DIR [N]\n");
		return 2;
	}
	mkdir(argv[1], 0755);
	printf("LMDB alone, W6: delete a record and its 6 index entries, one "
	       "transaction each, %ld of %ld records\n",
	       n / 10, n);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		snprintf(dir, sizeof(dir), "%s/%zu", argv[1], k);
		printf("  %-40s %8.2f us/delete\n", kinds[k].name,
		       run(dir, n, kinds[k].dup, kinds[k].count, kinds[k].per));
		fflush(stdout);
	}
	return 0;
}
