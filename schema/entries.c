/*
 * entries.c: the index entries of a record, in the form storage checks.
 *
 * One rule for the daemon, which keeps indexes, and for the checker, which
 * proves them: attributes whose names storage cannot hold in an index key
 * are not indexed, and the primary key is not indexed (the record's own
 * key finds it).  A dynamic table indexes every top-level attribute; a
 * declared one only those its schema marks @indexed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "store.h"

struct walk {
	const struct schema_table *t;
	int (*fn)(const void *attr, size_t alen, const void *val, size_t vlen,
		  void *arg);
	void *arg;
};

static int indexed(const struct schema_table *t, const char *attr, size_t alen)
{
	size_t i;
	for (i = 0; i < t->nattrs; i++) {
		const struct schema_attr *a = &t->attrs[i];
		if (a->indexed && !a->pk && strlen(a->name) == alen &&
		    memcmp(a->name, attr, alen) == 0)
			return 1;
	}
	return 0;
}

static int one(const char *attr, size_t alen, const uint8_t *val, size_t vlen,
	       void *arg)
{
	struct walk *w = arg;
	if (alen == 0 || alen > STORE_ATTR_MAX || vlen > STORE_VALUE_MAX)
		return 0;
	if (w->t && !indexed(w->t, attr, alen))
		return 0;
	return w->fn(attr, alen, val, vlen, w->arg);
}

int schema_store_entries(const void *text, size_t len,
			 int (*fn)(const void *attr, size_t alen,
				   const void *val, size_t vlen, void *arg),
			 void *arg)
{
	return schema_table_store_entries(NULL, text, len, fn, arg);
}

int schema_table_store_entries(const struct schema_table *t, const void *text,
			       size_t len,
			       int (*fn)(const void *attr, size_t alen,
					 const void *val, size_t vlen,
					 void *arg),
			       void *arg)
{
	struct walk w = {t, fn, arg};
	return schema_index_entries(text, len, schema_table_pk_name(t), one,
				    &w);
}

int schema_table_store_entries_quick(const struct schema_table *t,
				     const void *text, size_t len,
				     int (*fn)(const void *attr, size_t alen,
					       const void *val, size_t vlen,
					       void *arg),
				     void *arg)
{
	struct walk w = {t, fn, arg};
	const char *pk = schema_table_pk_name(t);
	int rc = schema_index_entries_quick(text, len, pk, one, &w);
	if (rc == SCHEMA_QUICK_NO)
		rc = schema_index_entries(text, len, pk, one, &w);
	return rc;
}

int schema_check_entries(void *ctx, const void *schema, size_t schemalen,
			 const void *text, size_t len,
			 int (*fn)(const void *attr, size_t alen,
				   const void *val, size_t vlen, void *arg),
			 void *arg)
{
	struct schema_cache *c = ctx;
	struct schema_err err;
	if (!schema)
		return schema_table_store_entries(NULL, text, len, fn, arg);
	if (!c->blob || c->len != schemalen ||
	    memcmp(c->blob, schema, schemalen) != 0) {
		schema_cache_free(c);
		c->blob = malloc(schemalen);
		if (!c->blob)
			return ENOMEM;
		memcpy(c->blob, schema, schemalen);
		c->len = schemalen;
		c->bad = schema_sdl_parse(schema, schemalen, &c->doc, &err) ||
			 c->doc.ntables != 1;
	}
	/* A stored schema that does not parse is damage, like a record
	 * that is not an object. */
	if (c->bad)
		return EINVAL;
	return schema_table_store_entries(&c->doc.tables[0], text, len, fn,
					  arg);
}

void schema_cache_free(struct schema_cache *c)
{
	schema_doc_free(&c->doc);
	free(c->blob);
	memset(c, 0, sizeof(*c));
}
