/*
 * rekey.c: a record under a new key.
 *
 * A rename changes the primary key the body carries.  Rather than a second
 * printer, the old body loses its key attribute and goes through
 * schema_record_prepare() again, with the old text as the record it
 * replaces, so creation time and canonical form follow the same rules as a
 * write.
 */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "schema.h"

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
