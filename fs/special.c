/*
 * special.c: the texts of files made at each open rather than stored.
 *
 * TABLE/.next reserves a fresh key and prints it (a committed reservation,
 * durable like any commit); .recordfs/stats prints the daemon's counters.
 * (.recordfs/errors is log.c's ring; schema.graphql and the tables' JSON
 * Schemas are schema.c's.)  Each function hands back a new text; holding
 * it for an open file, and how the kernel caches it, is file.c's business.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "fs_i.h"

struct next_op {
	struct fs_node *n;
	int64_t key;
	int64_t max; /* an Int key stays within 32 bits */
	int full;    /* no key left below max */
};

int fs_next_int(struct store_txn *t, uint32_t tid, int64_t floor, int64_t *out)
{
	static const uint8_t str_tag = 0x02; /* strings sort after integers */
	const void *k;
	size_t kl;
	/* past the largest integer key written by name, too */
	int rc =
	    store_obj_last_before(t, tid, STORE_RECORD, &str_tag, 1, &k, &kl);
	if (rc == 0) {
		struct schema_key sk;
		if (schema_key_decode(k, kl, &sk) == 0 &&
		    sk.type == SCHEMA_KEY_INT && sk.i >= floor)
			floor = sk.i == INT64_MAX ? INT64_MAX : sk.i + 1;
	} else if (rc != ENOENT) {
		return rc;
	}
	return store_table_next_int(t, tid, floor, out);
}

static int next_fn(struct store_txn *t, void *arg)
{
	struct next_op *op = arg;
	struct store_table tb;
	int rc;
	if (store_table_get(t, op->n->tname, strlen(op->n->tname), &tb) ||
	    tb.tid != op->n->tid)
		return ENOENT;
	rc = fs_next_int(t, tb.tid, 1, &op->key);
	if (!rc && op->key > op->max) {
		op->full = 1;
		rc = ENOSPC;
	}
	return rc;
}

/*
 * .next: reserve a key for the open of n (a committed, durable-as-any-commit
 * reservation) and make the text that shows it.
 */
int fs_next_text(struct fs_node *n, char **out, size_t *len)
{
	struct next_op op = {.n = n, .max = INT64_MAX};
	const struct schema_table *ts;
	const struct schema_attr *pk;
	char *s;
	int rc;
	if (n->db->dropped)
		return ENOENT;
	rc = fs_schema_get(n->db, NULL, n->tid, &ts);
	if (rc)
		return rc;
	if (fs.opts.ro)
		return fs_refuse_node(EROFS, n, NULL, NULL,
				      "the mount is read-only (-o ro): .next "
				      "hands out no key");
	pk = ts ? schema_table_pk(ts) : NULL;
	if (pk && (pk->type == SCHEMA_T_ID || pk->type == SCHEMA_T_STRING)) {
		/* 122 random bits: no reservation needed to never repeat */
		uuid_t u;
		s = malloc(UUID_STR_LEN + 1);
		if (!s)
			return ENOMEM;
		uuid_generate_random(u);
		uuid_unparse_lower(u, s);
		*len = UUID_STR_LEN - 1;
		s[(*len)++] = '\n';
		*out = s;
		return 0;
	}
	if (pk && pk->type == SCHEMA_T_INT)
		op.max = INT32_MAX;
	rc = store_write(n->db->env, next_fn, &op);
	if (rc == ENOSPC && op.full)
		return fs_refuse_node(ENOSPC, n, NULL, NULL,
				      "every key an Int primary key can hold "
				      "is taken");
	if (rc)
		return rc;
	fs_committed(n->db);
	s = malloc(32);
	if (!s)
		return ENOMEM;
	*len = (size_t)snprintf(s, 32, "%lld\n", (long long)op.key);
	*out = s;
	return 0;
}

/* .recordfs/stats: the counters, and each database's map size and use. */
char *fs_stats_text(size_t *len)
{
	char *out = NULL;
	size_t cap = 0;
	FILE *f = open_memstream(&out, &cap);
	struct fs_file *of;
	struct fs_db *db;
	if (!f)
		return NULL;
	fprintf(f,
		"operations %llu\ncommits %llu\nrefused %llu\nnodes %zu\n"
		"exported_bytes %llu\n",
		(unsigned long long)fs.n_ops, (unsigned long long)fs.n_commits,
		(unsigned long long)fs.n_refused, fs.hcount,
		(unsigned long long)fs.n_exported);
	pthread_mutex_lock(&fs.db_lock);
	for (db = fs.dbs; db; db = db->next) {
		uint64_t map, used;
		if (db->dropped)
			continue;
		struct store_feed_state fst;
		struct store_txn *t;
		store_env_usage(db->env, &map, &used);
		fprintf(f, "db %s map_bytes %llu used_bytes %llu\n", db->name,
			(unsigned long long)map, (unsigned long long)used);
		/* the change feed: what it keeps, against its limit */
		if (store_read_begin(db->env, &t) == 0) {
			if (store_feed_state(t, &fst) == 0)
				fprintf(f,
					"db %s changes_bytes %llu "
					"changes_limit %llu changes_lines "
					"%llu first_seq %llu last_seq %llu\n",
					db->name, (unsigned long long)fst.bytes,
					(unsigned long long)store_feed_limit(
					    db->env),
					(unsigned long long)(fst.next_seq -
							     fst.first_seq),
					(unsigned long long)fst.first_seq,
					(unsigned long long)fst.next_seq - 1);
			store_txn_abort(t);
		}
	}
	pthread_mutex_unlock(&fs.db_lock);
	/* long imports and exports show how far they are */
	for (of = fs.files; of; of = of->next) {
		char path[1200];
		if (!of->stream)
			continue;
		fprintf(f, "stream %s: %s, %llu records\n",
			of->node->kind == FS_BYSTREAM
			    ? fs_by_path(of->node, path, sizeof(path))
			    : fs_node_path(of->node, NULL),
			of->stream_import ? "import" : "export",
			(unsigned long long)of->stream_records);
	}
	fclose(f);
	*len = strlen(out);
	return out;
}
