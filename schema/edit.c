/*
 * edit.c: the record edits the daemon makes of a stored record.
 *
 * It owns the changes that start from a record's stored text rather than
 * from a user's write: a new key (schema_record_rekey), a body for another
 * table (schema_record_retable) and an attribute set to an index value, a
 * link moved through .by (schema_record_set_value).  It prints no canonical
 * text of its own: an edited body goes through schema_record_prepare() in
 * record.c like any write (rekey calls it, fs/ does for the others), and
 * storing the record is fs/'s.
 *
 * A rename changes the primary key the body carries.  Rather than a second
 * printer, the old body loses its key attribute and goes through
 * schema_record_prepare() again, with the old text as the record it
 * replaces, so creation time and canonical form follow the same rules as a
 * write.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_i.h"

int schema_record_rekey(const char *text, size_t len,
			const struct schema_key *key, const char *pk,
			int64_t now_ms, int dynamic, char **out, size_t *outlen,
			struct schema_err *err)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = NULL;
	const char *body;
	size_t blen;
	int rc;

	if (!tok)
		return ENOMEM;
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		rc =
		    schema_fail(err, EIO, "stored record is not a JSON object");
		goto out;
	}
	json_object_object_del(obj, pk);
	body = json_object_to_json_string_length(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	    &blen);
	if (!body) {
		rc = ENOMEM;
		goto out;
	}
	rc = schema_record_prepare(body, blen, key, pk, text, len, now_ms,
				   dynamic, out, outlen, err);
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

int schema_json_body(struct json_object *obj, char **body, size_t *bodylen)
{
	size_t sl;
	const char *s = json_object_to_json_string_length(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &sl);

	if (!s || !(*body = malloc(sl + 1)))
		return ENOMEM;
	memcpy(*body, s, sl + 1);
	*bodylen = sl;
	return 0;
}

/* The names of a table's key and time attributes (NULL: dynamic). */
static void names_of(const struct schema_table *t, const char **pk,
		     const char **created, const char **updated)
{
	size_t i;
	*pk = SCHEMA_PK;
	*created = t ? NULL : SCHEMA_CREATED;
	*updated = t ? NULL : SCHEMA_UPDATED;
	for (i = 0; t && i < t->nattrs; i++) {
		if (t->attrs[i].pk)
			*pk = t->attrs[i].name;
		else if (t->attrs[i].created)
			*created = t->attrs[i].name;
		else if (t->attrs[i].updated)
			*updated = t->attrs[i].name;
	}
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int schema_record_retable_needed(const struct schema_table *from,
				 const struct schema_table *to)
{
	const char *fp, *fc, *fu, *tp, *tc, *tu;
	names_of(from, &fp, &fc, &fu);
	names_of(to, &tp, &tc, &tu);
	return !same(fp, tp) || !same(fc, tc) || !same(fu, tu);
}

int schema_record_retable(const char *text, size_t len,
			  const struct schema_table *from,
			  const struct schema_table *to, char **body,
			  size_t *bodylen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = NULL, *v, *times[2] = {NULL, NULL};
	const char *fp, *fc, *fu, *tp, *tc, *tu;
	const char *from_names[2], *to_names[2];
	size_t i;
	int rc = 0;

	*body = NULL;
	*bodylen = 0;
	if (!tok)
		return ENOMEM;
	names_of(from, &fp, &fc, &fu);
	names_of(to, &tp, &tc, &tu);
	from_names[0] = fc;
	from_names[1] = fu;
	to_names[0] = tc;
	to_names[1] = tu;
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		rc = EIO;
		goto out;
	}
	/* the times leave their old names, and come back under the new */
	for (i = 0; i < 2; i++) {
		if (!from_names[i] ||
		    !json_object_object_get_ex(obj, from_names[i], &v) || !v)
			continue;
		times[i] = json_object_get(v);
		json_object_object_del(obj, from_names[i]);
	}
	if (strcmp(fp, tp) != 0)
		json_object_object_del(obj, fp);
	for (i = 0; i < 2; i++) {
		if (!times[i] || !to_names[i] || strcmp(to_names[i], tp) == 0)
			continue;
		/* a value already there wins: a restored copy's own times */
		if (json_object_object_get_ex(obj, to_names[i], &v) && v)
			continue;
		if (json_object_object_add(obj, to_names[i], times[i])) {
			rc = ENOMEM;
			goto out;
		}
		times[i] = NULL;
	}
	rc = schema_json_body(obj, body, bodylen);
out:
	json_object_put(times[0]);
	json_object_put(times[1]);
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

/* A json-c object for a decoded value; NULL with *err for null... */
static int json_of_val(const struct schema_val *v, struct json_object **out)
{
	*out = NULL;
	switch (v->kind) {
	case SCHEMA_V_NULL:
		return 0; /* json-c's null is the NULL object */
	case SCHEMA_V_FALSE:
	case SCHEMA_V_TRUE:
		*out = json_object_new_boolean(v->kind == SCHEMA_V_TRUE);
		break;
	case SCHEMA_V_INT:
		*out = json_object_new_int64(v->i);
		break;
	case SCHEMA_V_UINT:
		*out = json_object_new_uint64(v->u);
		break;
	case SCHEMA_V_DBL:
		*out = json_object_new_double(v->d);
		break;
	case SCHEMA_V_STR:
		if (v->digest)
			return EINVAL; /* only a prefix is known */
		*out =
		    json_object_new_string_len((const char *)v->s, (int)v->len);
		break;
	}
	return *out ? 0 : ENOMEM;
}

int schema_record_set_value(const char *text, size_t len, const char *attr,
			    const uint8_t *old, size_t oldlen,
			    const uint8_t *val, size_t vallen, char **body,
			    size_t *bodylen, struct schema_err *err)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = NULL, *cur, *nv = NULL;
	uint8_t raw[SCHEMA_VALUE_MAX];
	struct schema_val v;
	int rc = 0;

	*body = NULL;
	if (!tok)
		return ENOMEM;
	if (schema_decode_val(val, vallen, &v, raw) != vallen) {
		rc = schema_fail(err, EINVAL, "malformed value");
		goto out;
	}
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		rc =
		    schema_fail(err, EIO, "stored record is not a JSON object");
		goto out;
	}
	if (json_of_val(&v, &nv)) {
		rc = schema_fail(err, EINVAL,
				 "the value is too long to be set through .by; "
				 "edit the record instead");
		goto out;
	}
	if (json_object_object_get_ex(obj, attr, &cur) &&
	    json_object_is_type(cur, json_type_array)) {
		/* an array: the element that held the old value changes */
		size_t i, n = json_object_array_length(cur), hits = 0;
		if (!old) {
			rc = schema_fail(err, EPERM,
					 "\"%s\" is a list: move the link out "
					 "of the directory of the element to "
					 "change",
					 attr);
			goto out;
		}
		for (i = 0; i < n; i++) {
			struct json_object *e =
			    json_object_array_get_idx(cur, i);
			uint8_t enc[SCHEMA_VALUE_MAX];
			struct schema_val ev;
			if (schema_val_of_json(e, &ev) ||
			    schema_encode_val(&ev, enc) != oldlen ||
			    memcmp(enc, old, oldlen) != 0)
				continue;
			json_object_array_put_idx(
			    cur, i, nv ? json_object_get(nv) : NULL);
			hits++;
		}
		if (!hits) {
			rc = schema_fail(err, EPERM,
					 "no element of \"%s\" holds the value "
					 "the link was moved from",
					 attr);
			goto out;
		}
		json_object_put(nv);
		nv = NULL;
	} else {
		json_object_object_add(obj, attr, nv);
		nv = NULL;
	}
	rc = schema_json_body(obj, body, bodylen);
out:
	json_object_put(nv);
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

/* RFC 7386: patch merged into target (taken; NULL is JSON's null), which
 * is returned. */
static struct json_object *merge(struct json_object *target,
				 struct json_object *patch)
{
	if (!json_object_is_type(patch, json_type_object)) {
		json_object_put(target);
		return json_object_get(patch);
	}
	if (!json_object_is_type(target, json_type_object)) {
		json_object_put(target);
		target = json_object_new_object();
		if (!target)
			return NULL;
	}
	{
		json_object_object_foreach(patch, name, v)
		{
			struct json_object *old = NULL, *m;
			if (!v) {
				json_object_object_del(target, name);
				continue;
			}
			json_object_object_get_ex(target, name, &old);
			m = merge(json_object_get(old), v);
			if (!m && v) {
				json_object_put(target);
				return NULL;
			}
			json_object_object_add(target, name, m);
		}
	}
	return target;
}

int schema_merge_patch(const char *old, size_t oldlen, const char *patch,
		       size_t plen, char **body, size_t *bodylen,
		       struct schema_err *err)
{
	struct json_object *t = NULL, *p = NULL, *r;
	int rc = schema_parse_object(patch, plen, &p, err);
	if (rc)
		return rc;
	if (old && (rc = schema_parse_object(old, oldlen, &t, err)) != 0) {
		json_object_put(p);
		return rc == EINVAL ? EIO : rc;
	}
	r = merge(t, p);
	json_object_put(p);
	if (!r)
		return ENOMEM;
	rc = schema_json_body(r, body, bodylen);
	json_object_put(r);
	return rc;
}
