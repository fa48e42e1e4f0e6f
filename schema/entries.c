/*
 * entries.c: the index entries of a record, in the form storage checks.
 *
 * It owns reading a record's entries with json-c (schema_index_entries:
 * each top-level scalar, each list's distinct scalars) and the rule below
 * for which of them storage keeps (the schema_*store_entries functions).
 * It only reads a record, never changes one.  It leaves the values'
 * ordered bytes to value.c, the quicker reading without json-c to scan.c
 * (json-c here stays its fallback, and the checker's only reader), and
 * keeping the entries to storage/.
 *
 * One rule for the daemon, which keeps indexes, and for the checker, which
 * proves them: attributes whose names storage cannot hold in an index key
 * are not indexed, and the primary key is not indexed (the record's own
 * key finds it).  A dynamic table indexes every top-level attribute; a
 * declared one only those its schema marks @indexed.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_i.h"
#include "store.h"

/*
 * A JSON scalar as a value: returns 0, or 1 for what is not indexed
 * (objects, arrays, a double json-c read as infinite), or EINVAL.
 */
int schema_val_of_json(struct json_object *j, struct schema_val *v)
{
	int64_t i;
	uint64_t u;
	double d;

	memset(v, 0, sizeof(*v));
	switch (json_object_get_type(j)) {
	case json_type_null:
		v->kind = SCHEMA_V_NULL;
		return 0;
	case json_type_boolean:
		v->kind =
		    json_object_get_boolean(j) ? SCHEMA_V_TRUE : SCHEMA_V_FALSE;
		return 0;
	case json_type_int:
		/*
		 * json-c keeps integers past INT64_MAX as uint64 and clamps
		 * json_object_get_int64() to INT64_MAX for them.
		 */
		i = json_object_get_int64(j);
		u = json_object_get_uint64(j);
		if (i == INT64_MAX && u > INT64_MAX) {
			schema_num_of_u64(u, v);
		} else {
			v->kind = SCHEMA_V_INT;
			v->i = i;
		}
		return 0;
	case json_type_double:
		d = json_object_get_double(j);
		if (!isfinite(d))
			return 1;
		schema_num_of_double(d, v);
		return 0;
	case json_type_string:
		v->kind = SCHEMA_V_STR;
		v->s = (const uint8_t *)json_object_get_string(j);
		v->len = (size_t)json_object_get_string_len(j);
		return schema_utf8_valid(v->s, v->len) ? 0 : EINVAL;
	default:
		return 1;
	}
}

/* One call per distinct scalar element of a json-c array. */
static int
array_entries(const char *attr, size_t attrlen, struct json_object *arr,
	      int (*fn)(const char *, size_t, const uint8_t *, size_t, void *),
	      void *arg)
{
	size_t n = json_object_array_length(arr), i;
	struct schema_elems e = {0};
	struct schema_val v;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		rc = schema_val_of_json(json_object_array_get_idx(arr, i), &v);
		if (rc == 1)
			rc = 0;
		else if (!rc)
			rc = schema_elems_add(&e, &v);
	}
	if (!rc)
		rc = schema_elems_each(&e, attr, attrlen, fn, arg);
	schema_elems_free(&e);
	return rc;
}

int schema_index_entries(const char *text, size_t len, const char *pk,
			 int (*fn)(const char *attr, size_t attrlen,
				   const uint8_t *val, size_t vallen,
				   void *arg),
			 void *arg)
{
	uint8_t enc[SCHEMA_VALUE_MAX];
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	struct schema_val v;
	size_t end;
	int rc = 0;

	if (len > INT_MAX)
		return EINVAL;
	tok = json_tokener_new();
	if (!tok)
		return ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		rc = EINVAL;
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (!strchr(" \t\r\n", text[end]) || text[end] == '\0') {
			rc = EINVAL;
			goto out;
		}

	json_object_object_foreach(obj, attr, m)
	{
		if (pk && strcmp(attr, pk) == 0)
			continue;
		if (json_object_is_type(m, json_type_array)) {
			rc = array_entries(attr, strlen(attr), m, fn, arg);
		} else {
			rc = schema_val_of_json(m, &v);
			if (rc == 1) {
				rc = 0;
				continue;
			}
			if (!rc)
				rc = fn(attr, strlen(attr), enc,
					schema_encode_val(&v, enc), arg);
		}
		if (rc)
			break;
	}
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

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
