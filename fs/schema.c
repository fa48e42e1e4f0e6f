/*
 * schema.c: a database's schema.graphql, and what a table's schema decides.
 *
 * A table is dynamic (made by mkdir: any attribute, every top-level one
 * indexed, __createdtime__/__updatedtime__ kept) or declared (a "type"
 * block written into schema.graphql).  Storage keeps a declared table's
 * block as text (the parser's own printed form, one table) next to the
 * table; a dynamic table has none.  The parsed blocks are cached per
 * database and dropped whenever a schema is applied or a table dropped.
 *
 * Reading schema.graphql prints every table: declared ones as stored,
 * dynamic ones as the block that describes them (their attributes as Any,
 * indexed).  Writing it applies the text in one transaction: a table the
 * text leaves out is left alone, a block equal to what the table is now
 * changes nothing, and anything else replaces the table's schema after
 * every stored record has been checked against it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_i.h"

struct fs_tschema {
	uint32_t tid;
	int declared;
	struct schema_doc doc; /* one table, when declared */
	struct fs_tschema *next;
};

/*
 * Parse table tid's stored schema into ts.  ENOENT: none (dynamic).  A
 * stored schema that does not parse is damage (storage holds only what the
 * parser printed): EIO, as the index checker says too.
 */
static int cache_load(struct fs_db *db, struct store_txn *t, uint32_t tid,
		      struct fs_tschema *ts)
{
	const void *blob;
	size_t len;
	struct schema_err err;
	int rc = store_table_schema_get(t, tid, &blob, &len);

	if (rc)
		return rc;
	rc = schema_sdl_parse(blob, len, &ts->doc, &err);
	if (rc == ENOMEM)
		return rc;
	if (rc || ts->doc.ntables != 1) {
		fs_log("%s: the stored schema of table %u does not parse (%s)",
		       db->name, tid, rc ? err.msg : "not one table");
		schema_doc_free(&ts->doc);
		return EIO;
	}
	ts->declared = 1;
	return 0;
}

int fs_schema_get(struct fs_db *db, struct store_txn *t, uint32_t tid,
		  const struct schema_table **out)
{
	struct fs_tschema *ts;
	struct store_txn *own = NULL;
	int rc;

	*out = NULL;
	for (ts = db->schemas; ts; ts = ts->next)
		if (ts->tid == tid) {
			*out = ts->declared ? &ts->doc.tables[0] : NULL;
			return 0;
		}
	ts = calloc(1, sizeof(*ts));
	if (!ts)
		return ENOMEM;
	ts->tid = tid;
	rc = t ? 0 : store_read_begin(db->env, &own);
	if (!rc)
		rc = cache_load(db, t ? t : own, tid, ts);
	store_txn_abort(own);
	if (rc && rc != ENOENT) {
		/* not cached: the next request tries again */
		free(ts);
		return rc;
	}
	ts->next = db->schemas;
	db->schemas = ts;
	*out = ts->declared ? &ts->doc.tables[0] : NULL;
	return 0;
}

void fs_schema_reset(struct fs_db *db)
{
	db->schema_hidden = 0;
	db->schema_gen++; /* pointers from fs_schema_get are gone */
	while (db->schemas) {
		struct fs_tschema *ts = db->schemas;
		db->schemas = ts->next;
		schema_doc_free(&ts->doc);
		free(ts);
	}
}

/* ---- the block of a dynamic table ---------------------------------------- */

/* Free what a table made here holds (schema_doc_free frees the array). */
static void table_free(struct schema_table *t)
{
	size_t i;
	for (i = 0; i < t->nattrs; i++)
		free(t->attrs[i].name);
	free(t->attrs);
	free(t->type_name);
	free(t->table);
	free(t->database);
	memset(t, 0, sizeof(*t));
}

static int add_attr(struct schema_table *t, size_t *cap, const char *name,
		    size_t len, enum schema_type type)
{
	struct schema_attr *a;
	if (t->nattrs == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		a = realloc(t->attrs, nc * sizeof(*a));
		if (!a)
			return ENOMEM;
		t->attrs = a;
		*cap = nc;
	}
	a = &t->attrs[t->nattrs];
	memset(a, 0, sizeof(*a));
	a->name = strndup(name, len);
	if (!a->name)
		return ENOMEM;
	a->type = type;
	t->nattrs++;
	return 0;
}

/*
 * What a dynamic table is, as one block: "id: Any @primaryKey", every
 * attribute some record holds as "Any @indexed", and the two times as Long.
 * Attributes whose names GraphQL cannot spell are counted in *unnamed.
 */
static int dynamic_table(struct store_txn *t, const char *tname, uint32_t tid,
			 const char *type_name, struct schema_table *out,
			 size_t *unnamed)
{
	static const char *const times[] = {SCHEMA_CREATED, SCHEMA_UPDATED};
	const void *a = NULL;
	size_t al = 0, cap = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	*unnamed = 0;
	out->type_name = strdup(type_name);
	out->table = strdup(tname);
	if (!out->type_name || !out->table)
		return ENOMEM;
	rc = add_attr(out, &cap, SCHEMA_PK, strlen(SCHEMA_PK), SCHEMA_T_ANY);
	if (rc)
		return rc;
	out->attrs[0].pk = 1;
	while (store_attr_next(t, tid, a, al, &a, &al) == 0) {
		if ((al == strlen(SCHEMA_CREATED) &&
		     memcmp(a, SCHEMA_CREATED, al) == 0) ||
		    (al == strlen(SCHEMA_UPDATED) &&
		     memcmp(a, SCHEMA_UPDATED, al) == 0))
			continue;
		if (!schema_sdl_name_ok(a, al)) {
			(*unnamed)++;
			continue;
		}
		rc = add_attr(out, &cap, a, al, SCHEMA_T_ANY);
		if (rc)
			return rc;
		out->attrs[out->nattrs - 1].indexed = 1;
	}
	for (i = 0; i < 2; i++) {
		rc = add_attr(out, &cap, times[i], strlen(times[i]),
			      SCHEMA_T_LONG);
		if (rc)
			return rc;
		out->attrs[out->nattrs - 1].indexed = 1;
		out->attrs[out->nattrs - 1].created = i == 0;
		out->attrs[out->nattrs - 1].updated = i == 1;
	}
	return 0;
}

/*
 * Does block b leave a dynamic table as it is?  It does when it says only
 * what a dynamic table does: key "id: Any", every other attribute "Any
 * @indexed", the two times (if given) as printed, not @sealed.  Which
 * attributes it names does not matter: a dynamic table indexes whatever
 * its records hold, so an older copy of the file written back (one that
 * misses an attribute a record has added since) changes nothing.
 */
static int keeps_dynamic(const struct schema_table *b)
{
	size_t i;

	if (b->sealed)
		return 0;
	for (i = 0; i < b->nattrs; i++) {
		const struct schema_attr *x = &b->attrs[i];
		if (x->list || x->required)
			return 0;
		if (x->pk) {
			if (strcmp(x->name, SCHEMA_PK) ||
			    x->type != SCHEMA_T_ANY || x->indexed ||
			    x->created || x->updated)
				return 0;
		} else if (strcmp(x->name, SCHEMA_CREATED) == 0) {
			if (x->type != SCHEMA_T_LONG || !x->indexed ||
			    !x->created || x->updated)
				return 0;
		} else if (strcmp(x->name, SCHEMA_UPDATED) == 0) {
			if (x->type != SCHEMA_T_LONG || !x->indexed ||
			    x->created || !x->updated)
				return 0;
		} else if (x->type != SCHEMA_T_ANY || !x->indexed ||
			   x->created || x->updated) {
			return 0;
		}
	}
	return 1;
}

/* A GraphQL type name for a table, not yet in used[0..n). */
static void type_name_for(const char *tname, char **used, size_t n, char *out,
			  size_t size)
{
	size_t i, j, len;
	unsigned suffix = 1;
	char base[200];

	for (i = j = 0; tname[i] && j < sizeof(base) - 1; i++) {
		char c = tname[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			 (c >= '0' && c <= '9') || c == '_';
		if (j == 0 && c >= '0' && c <= '9')
			base[j++] = '_';
		if (j < sizeof(base) - 1)
			base[j++] = ok ? c : '_';
	}
	base[j] = 0;
	if (!j)
		strcpy(base, "_");
	for (;;) {
		int clash = 0;
		if (suffix == 1)
			snprintf(out, size, "%s", base);
		else
			snprintf(out, size, "%s_%u", base, suffix);
		len = strlen(out);
		for (i = 0; i < n && !clash; i++)
			clash = strlen(used[i]) == len &&
				memcmp(used[i], out, len) == 0;
		if (!clash)
			return;
		suffix++;
	}
}

/* ---- reading schema.graphql -----------------------------------------------
 */

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	char *np;
	size_t nc;
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		nc = b->cap ? b->cap : 1024;
		while (nc < b->len + n + 1)
			nc *= 2;
		np = realloc(b->p, nc);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

int fs_schema_text(struct fs_db *db, char **out, size_t *len)
{
	struct store_txn *t;
	struct store_table tb;
	const char *name = NULL;
	size_t nl = 0, nused = 0, capused = 0, i;
	char **used = NULL, tname[256];
	struct sbuf b = {0};
	int rc;

	*out = NULL;
	rc = store_read_begin(db->env, &t);
	if (rc)
		return rc;
	/* Declared tables keep their type names; dynamic ones get one
	 * that none of those holds. */
	while (store_table_next(t, name, nl, &name, &nl, &tb) == 0) {
		const struct schema_table *st;
		rc = fs_schema_get(db, t, tb.tid, &st);
		if (rc)
			goto fail;
		if (!st)
			continue;
		if (nused == capused) {
			char **nu;
			capused = capused ? capused * 2 : 16;
			nu = realloc(used, capused * sizeof(*used));
			if (!nu)
				goto oom;
			used = nu;
		}
		used[nused] = strdup(st->type_name);
		if (!used[nused])
			goto oom;
		nused++;
	}
	name = NULL;
	nl = 0;
	while (store_table_next(t, name, nl, &name, &nl, &tb) == 0) {
		const struct schema_table *st;
		struct schema_doc one = {0};
		struct schema_table dt;
		char *text, type_name[256];
		size_t tl, unnamed;

		rc = fs_schema_get(db, t, tb.tid, &st);
		if (rc)
			goto fail;
		if (b.len)
			sb_str(&b, "\n");
		snprintf(tname, sizeof(tname), "%.*s", (int)nl, name);
		if (st) {
			one.tables = (struct schema_table *)st;
			one.ntables = 1;
			text = schema_sdl_print(&one, &tl);
			if (!text)
				goto oom;
			sb_put(&b, text, tl);
			free(text);
			continue;
		}
		type_name_for(tname, used, nused, type_name, sizeof(type_name));
		rc = dynamic_table(t, tname, tb.tid, type_name, &dt, &unnamed);
		one.tables = &dt;
		one.ntables = 1;
		text = rc ? NULL : schema_sdl_print(&one, &tl);
		table_free(&dt);
		if (!text)
			goto oom;
		if (nused == capused) {
			char **nu;
			capused = capused ? capused * 2 : 16;
			nu = realloc(used, capused * sizeof(*used));
			if (!nu) {
				free(text);
				goto oom;
			}
			used = nu;
		}
		used[nused] = strdup(type_name);
		if (used[nused])
			nused++;
		sb_str(&b, "# dynamic (made by mkdir): records may add "
			   "attributes, and each is indexed\n");
		if (unnamed) {
			char line[160];
			snprintf(line, sizeof(line),
				 "# %zu indexed attribute%s not shown: %s no "
				 "GraphQL name\n",
				 unnamed, unnamed == 1 ? " is" : "s are",
				 unnamed == 1 ? "it has" : "they have");
			sb_str(&b, line);
		}
		sb_put(&b, text, tl);
		free(text);
	}
	store_txn_abort(t);
	for (i = 0; i < nused; i++)
		free(used[i]);
	free(used);
	if (b.oom) {
		free(b.p);
		return ENOMEM;
	}
	if (!b.p) {
		b.p = strdup("");
		if (!b.p)
			return ENOMEM;
	}
	*len = b.len;
	*out = b.p;
	return 0;
oom:
	rc = ENOMEM;
fail:
	store_txn_abort(t);
	for (i = 0; i < nused; i++)
		free(used[i]);
	free(used);
	free(b.p);
	return rc;
}

int fs_schema_json(struct fs_db *db, const char *tname, char **out, size_t *len)
{
	struct store_txn *t;
	struct store_table tb;
	const struct schema_table *st;
	struct schema_table dt;
	size_t unnamed;
	int rc;

	*out = NULL;
	rc = store_read_begin(db->env, &t);
	if (rc)
		return rc;
	rc = store_table_get(t, tname, strlen(tname), &tb);
	if (!rc)
		rc = fs_schema_get(db, t, tb.tid, &st);
	if (!rc && st) {
		*out = schema_table_json_schema(st, len);
	} else if (!rc) {
		rc = dynamic_table(t, tname, tb.tid, "T", &dt, &unnamed);
		if (!rc)
			*out = schema_table_json_schema(&dt, len);
		table_free(&dt);
	}
	store_txn_abort(t);
	if (!rc && !*out)
		rc = ENOMEM;
	return rc;
}

/* ---- writing schema.graphql -----------------------------------------------
 */

struct apply {
	struct fs_db *db;
	const struct schema_doc *doc;
	int64_t now;
	struct schema_err *err;
	unsigned created, changed;
	uint64_t rewritten;
	/* inode numbers of the records rewritten, to tell the kernel */
	uint64_t *inos;
	size_t ninos, capinos;
};

/* Whether a stored key fits the primary key's type. */
static int key_fits(const struct schema_key *k, enum schema_type type)
{
	switch (type) {
	case SCHEMA_T_STRING:
		return k->type == SCHEMA_KEY_STR;
	case SCHEMA_T_INT:
		return k->type == SCHEMA_KEY_INT && k->i >= INT32_MIN &&
		       k->i <= INT32_MAX;
	case SCHEMA_T_LONG:
		return k->type == SCHEMA_KEY_INT;
	default: /* ID, Any */
		return 1;
	}
}

struct rewrite {
	uint8_t *key;
	size_t keylen;
	struct rewrite *next;
};

/*
 * A stored record as table b holds it: its times moved to b's names when
 * the table was dynamic or named them otherwise (from: its schema until
 * now), checked against b, dates normalized.  The times stay as they were
 * (now_ms < 0): declaring a table is no write of its records.
 */
static int as_declared(const struct schema_table *from,
		       const struct schema_table *b, const struct schema_key *k,
		       const char *text, size_t len, char **out, size_t *outlen,
		       struct schema_err *why)
{
	char *body = NULL, *canon = NULL;
	size_t bl, cl;
	int rc;

	if (!schema_record_retable_needed(from, b))
		return schema_table_record(b, text, len, NULL, 0, -1, out,
					   outlen, why);
	rc = schema_record_retable(text, len, from, b, &body, &bl);
	if (!rc)
		rc = schema_record_prepare(body, bl, k, schema_table_pk_name(b),
					   NULL, 0, 0, 0, &canon, &cl, why);
	if (!rc)
		rc = schema_table_record(b, canon, cl, NULL, 0, -1, out, outlen,
					 why);
	free(body);
	free(canon);
	return rc;
}

/*
 * Declare table tb (already stored, maybe holding records; from: its
 * schema until now, NULL if dynamic) as b, whose stored form is blob:
 * every record must fit; records b changes (dates normalized, times under
 * new names) are rewritten; the indexes are built again for b's @indexed
 * attributes.  Only the keys of records to rewrite are kept in memory.
 */
static int declare(struct apply *ap, struct store_txn *t,
		   const struct store_table *tb,
		   const struct schema_table *from,
		   const struct schema_table *b, const char *blob,
		   size_t bloblen)
{
	const struct schema_attr *pk = schema_table_pk(b);
	const char *oldpk = schema_table_pk_name(from);
	struct store_cursor *c;
	struct store_obj o;
	struct rewrite *rw = NULL;
	const void *k;
	size_t kl;
	uint64_t n = 0;
	int rc;

	rc = store_cursor_open(t, tb->tid, STORE_RECORD, NULL, 0, &c);
	if (rc)
		return rc;
	while ((rc = store_cursor_next(c, &k, &kl, &o)) == 0) {
		struct schema_key sk;
		struct schema_err why = {{0}};
		char name[SCHEMA_NAME_MAX + 1], *out = NULL;
		size_t ol;

		if (schema_key_decode(k, kl, &sk)) {
			rc = EIO;
			break;
		}
		if (strcmp(pk->name, oldpk) != 0) {
			rc = schema_fail(
			    ap->err, EINVAL,
			    "schema.graphql:%d:%d: table \"%s\" holds records "
			    "keyed by \"%s\"; its @primaryKey stays \"%s\" "
			    "while it has records",
			    pk->line, pk->col, b->table, oldpk, oldpk);
			break;
		}
		schema_key_to_name(&sk, name);
		if (!key_fits(&sk, pk->type)) {
			rc = schema_fail(
			    ap->err, EINVAL,
			    "schema.graphql:%d:%d: record %s/%s breaks type "
			    "%s: its key does not fit %s: %s",
			    pk->line, pk->col, b->table, name, b->type_name,
			    pk->name, schema_type_name(pk->type));
			break;
		}
		rc = as_declared(from, b, &sk, o.data, o.len, &out, &ol, &why);
		if (rc) {
			rc = schema_fail(ap->err, rc,
					 "schema.graphql:%d:%d: record %s/%s "
					 "breaks type %s: %s",
					 b->line, b->col, b->table, name,
					 b->type_name,
					 why.msg[0] ? why.msg : strerror(rc));
			break;
		}
		if (ol != o.len || memcmp(out, o.data, ol) != 0) {
			struct rewrite *r = calloc(1, sizeof(*r));
			if (!r || !(r->key = malloc(kl))) {
				free(r);
				free(out);
				rc = ENOMEM;
				break;
			}
			memcpy(r->key, k, kl);
			r->keylen = kl;
			r->next = rw;
			rw = r;
		}
		free(out);
		if (++n % 100000 == 0)
			fs_log("%s/schema.graphql: checking table %s: %llu "
			       "records",
			       ap->db->name, b->table, (unsigned long long)n);
	}
	store_cursor_close(c);
	if (rc == ENOENT)
		rc = 0;
	/* The records b changes, made again one at a time. */
	while (rw) {
		struct rewrite *r = rw;
		struct schema_key sk;
		struct schema_err why = {{0}};
		char *out = NULL, *copy = NULL;
		size_t ol;
		rw = r->next;
		if (!rc)
			rc = store_obj_get(t, tb->tid, STORE_RECORD, r->key,
					   r->keylen, &o);
		if (!rc)
			rc =
			    schema_key_decode(r->key, r->keylen, &sk) ? EIO : 0;
		if (!rc && !(copy = malloc(o.len ? o.len : 1)))
			rc = ENOMEM;
		if (!rc) {
			/* o.data lives in a page the put may move */
			memcpy(copy, o.data, o.len);
			rc = as_declared(from, b, &sk, copy, o.len, &out, &ol,
					 &why);
		}
		if (!rc) {
			o.data = out;
			o.len = ol;
			o.size = ol;
			rc = store_obj_put(t, tb->tid, STORE_RECORD, r->key,
					   r->keylen, &o);
			if (!rc)
				rc = fs_feed_put(ap->db, t, tb->tid, r->key,
						 r->keylen, out, ol);
			if (!rc)
				ap->rewritten++;
			if (!rc && ap->ninos == ap->capinos) {
				size_t nc = ap->capinos ? ap->capinos * 2 : 64;
				uint64_t *ni =
				    realloc(ap->inos, nc * sizeof(*ni));
				if (ni) {
					ap->inos = ni;
					ap->capinos = nc;
				}
			}
			if (!rc && ap->ninos < ap->capinos)
				ap->inos[ap->ninos++] = o.ino;
		}
		free(copy);
		free(out);
		free(r->key);
		free(r);
	}
	if (rc)
		return rc;
	/* The indexes again, for the attributes b indexes. */
	rc = store_index_clear(t, tb->tid);
	if (rc)
		return rc;
	rc = store_cursor_open(t, tb->tid, STORE_RECORD, NULL, 0, &c);
	if (rc)
		return rc;
	n = 0;
	while ((rc = store_cursor_next(c, &k, &kl, &o)) == 0) {
		rc = fs_index_record(t, tb->tid, b, k, kl, o.data, o.len, 0);
		if (rc)
			break;
		if (++n % 100000 == 0)
			fs_log("%s/schema.graphql: indexing table %s: %llu "
			       "records",
			       ap->db->name, b->table, (unsigned long long)n);
	}
	store_cursor_close(c);
	if (rc == ENOENT)
		rc = 0;
	if (!rc)
		rc = store_table_schema_put(t, tb->tid, blob, bloblen);
	if (!rc && n >= 100000)
		fs_log("%s/schema.graphql: table %s: %llu records indexed",
		       ap->db->name, b->table, (unsigned long long)n);
	return rc;
}

/*
 * A type name must stay unique among all tables, also those the text
 * leaves out, or the printed schema would not read back.
 */
static int type_clash(struct apply *ap, struct store_txn *t,
		      const struct schema_table *b)
{
	struct store_table tb;
	const char *name = NULL;
	size_t nl = 0, i;
	int rc;

	while (store_table_next(t, name, nl, &name, &nl, &tb) == 0) {
		const struct schema_table *st;
		int named = 0;
		for (i = 0; i < ap->doc->ntables && !named; i++)
			named = strlen(ap->doc->tables[i].table) == nl &&
				memcmp(ap->doc->tables[i].table, name, nl) == 0;
		if (named)
			continue; /* its own block replaces it */
		rc = fs_schema_get(ap->db, t, tb.tid, &st);
		if (rc)
			return rc;
		if (st && strcmp(st->type_name, b->type_name) == 0)
			return schema_fail(
			    ap->err, EINVAL,
			    "schema.graphql:%d:%d: type %s is already table "
			    "\"%s\"; give this one another name",
			    b->line, b->col, b->type_name, st->table);
	}
	return 0;
}

static int apply_fn(struct store_txn *t, void *arg)
{
	struct apply *ap = arg;
	size_t i;
	int rc = 0;

	ap->created = ap->changed = ap->rewritten = 0;
	ap->ninos = 0; /* a retry starts again */
	for (i = 0; i < ap->doc->ntables && !rc; i++) {
		const struct schema_table *b = &ap->doc->tables[i];
		struct schema_doc one = {(struct schema_table *)b, 1};
		struct store_table tb;
		const struct schema_table *from = NULL;
		const void *old;
		size_t oldlen, bl;
		char *blob;

		rc = type_clash(ap, t, b);
		if (rc)
			break;
		blob = schema_sdl_print(&one, &bl);
		if (!blob)
			return ENOMEM;
		rc = store_table_get(t, b->table, strlen(b->table), &tb);
		if (rc == ENOENT) {
			struct store_obj o;
			/* a file beside the tables holds the name */
			if (store_obj_get(t, 0, STORE_SCRATCH, b->table,
					  strlen(b->table), &o) == 0) {
				free(blob);
				return schema_fail(
				    ap->err, EINVAL,
				    "schema.graphql:%d:%d: a file named \"%s\" "
				    "is beside the tables; rename or remove it "
				    "first",
				    b->line, b->col, b->table);
			}
			rc = store_table_create(t, b->table, strlen(b->table),
						ap->now, NULL, &tb);
			/* a block that says only what a dynamic table does
			 * (a copy of the printed schema restored: tar x, cp -r)
			 * makes a dynamic table, as mkdir does */
			if (!rc && keeps_dynamic(b))
				rc = fs_feed_table(ap->db, t, b->table,
						   "create", NULL, 0);
			else if (!rc)
				rc =
				    store_table_schema_put(t, tb.tid, blob, bl);
			if (!rc && !keeps_dynamic(b))
				rc = fs_feed_table(ap->db, t, b->table,
						   "schema", blob, bl);
			ap->created++;
		} else if (!rc) {
			rc = store_table_schema_get(t, tb.tid, &old, &oldlen);
			if (rc == 0 && oldlen == bl &&
			    memcmp(old, blob, bl) == 0) {
				/* declared as it is now */
			} else if (rc == ENOENT && keeps_dynamic(b)) {
				rc = 0; /* dynamic, and stays so */
			} else if (rc == 0 || rc == ENOENT) {
				rc = fs_schema_get(ap->db, t, tb.tid, &from);
				if (!rc)
					rc = fs_feed_table(ap->db, t, b->table,
							   "schema", blob, bl);
				if (!rc)
					rc = declare(ap, t, &tb, from, b, blob,
						     bl);
				ap->changed++;
			}
		}
		free(blob);
	}
	if (!rc && (ap->created || ap->changed))
		rc = store_meta_put(t, "schema_mtime", (uint64_t)ap->now);
	return rc;
}

int fs_schema_apply(struct fs_db *db, const char *text, size_t len,
		    struct schema_err *err)
{
	struct schema_doc doc = {0};
	struct apply ap = {.db = db, .doc = &doc, .err = err};
	struct timespec ts;
	size_t i, j;
	int rc;

	err->msg[0] = 0;
	rc = schema_sdl_parse(text, len, &doc, err);
	if (rc)
		return rc;
	for (i = 0; i < doc.ntables; i++) {
		const struct schema_table *b = &doc.tables[i];
		if (b->database && strcmp(b->database, db->name) != 0) {
			rc = schema_fail(err, EINVAL,
					 "schema.graphql:%d:%d: type %s "
					 "belongs to database \"%s\": write "
					 "it into %s/schema.graphql",
					 b->line, b->col, b->type_name,
					 b->database, b->database);
			goto out;
		}
		if (!fs_name_ok(b->table)) {
			rc = schema_fail(
			    err, EINVAL,
			    "schema.graphql:%d:%d: table name \"%s\": a table "
			    "name must not hold '.', '%%', '/' or control "
			    "characters, and be 1 to 200 bytes",
			    b->line, b->col, b->table);
			goto out;
		}
		/* with or without database: the same table */
		for (j = 0; j < i; j++)
			if (strcmp(doc.tables[j].table, b->table) == 0) {
				rc = schema_fail(
				    err, EINVAL,
				    "schema.graphql:%d:%d: table \"%s\" has "
				    "a block already (type %s)",
				    b->line, b->col, b->table,
				    doc.tables[j].type_name);
				goto out;
			}
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ap.now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	rc = store_write(db->env, apply_fn, &ap);
	fs_schema_reset(db);
	/* the kernel may hold the old texts of the records rewritten */
	for (i = 0; !rc && i < ap.ninos; i++) {
		struct fs_node *n = fs_node_get(fs_db_ino(db, ap.inos[i]));
		if (n)
			fs_node_changed(n);
	}
	free(ap.inos);
	if (!rc && (ap.created || ap.changed))
		fs_log("%s/schema.graphql: applied: %u table%s created, %u "
		       "changed, %llu record%s rewritten",
		       db->name, ap.created, ap.created == 1 ? "" : "s",
		       ap.changed, (unsigned long long)ap.rewritten,
		       ap.rewritten == 1 ? "" : "s");
out:
	schema_doc_free(&doc);
	return rc;
}

/* Whether schema.graphql exists: once the database has a table. */
int fs_schema_exists(struct fs_db *db)
{
	/* in a new, empty database too: where to write it shows */
	return !db->dropped && !db->schema_hidden;
}

int64_t fs_schema_mtime(struct fs_db *db)
{
	struct store_txn *t;
	uint64_t v = 0;
	if (store_read_begin(db->env, &t))
		return 0;
	if (store_meta_get(t, "schema_mtime", &v))
		v = 0;
	store_txn_abort(t);
	return (int64_t)v;
}
