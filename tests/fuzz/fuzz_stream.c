/*
 * fuzz_stream.c: libFuzzer target for schema/stream.c, a stream's text
 * cut into records.
 *
 * The first byte picks the format (NDJSON, CSV, JSON) and where the text
 * is cut into two feeds; the rest is the text.  Each record handed back
 * must be one JSON object that schema/'s own reader takes, with a key
 * only of the two kinds a key has, and on a line the text has; the same
 * text fed whole must give the same records and the same answer; and a
 * CSV row made from each record must read back as one row.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#include "fuzz.h"

struct seen {
	struct schema_buf all; /* "line key-or-- body\n" per record */
	size_t lines;	       /* the text's line count */
};

static int record(void *arg, const char *body, size_t len,
		  const struct schema_key *key, size_t line)
{
	struct seen *s = arg;
	struct schema_key k = {.type = SCHEMA_KEY_INT, .i = 1};
	struct schema_err err;
	char head[48], *text = NULL;
	size_t tl;
	int rc;

	REQUIRE(line >= 1 && line <= s->lines);
	REQUIRE(!key || key->type == SCHEMA_KEY_INT ||
		key->type == SCHEMA_KEY_STR);
	/* one JSON object, as schema/ reads them: prepare takes it or
	 * refuses it for its key, never for its shape */
	rc = schema_record_prepare(body, len, key ? key : &k, "id", NULL, 0, 0,
				   1, &text, &tl, &err);
	REQUIRE(rc == 0 || rc == EINVAL || rc == EFBIG);
	if (rc == EINVAL)
		REQUIRE(strstr(err.msg, "not an array") == NULL);
	free(text);
	snprintf(head, sizeof(head), "%zu %d ", line,
		 key ? (int)key->type : -1);
	REQUIRE(schema_buf_add(&s->all, head, strlen(head)) == 0);
	REQUIRE(schema_buf_add(&s->all, body, len) == 0);
	REQUIRE(schema_buf_add(&s->all, "\n", 1) == 0);
	return 0;
}

static int decode(int fmt, const char *text, size_t len, size_t cut,
		  struct seen *s)
{
	struct schema_in *d;
	struct schema_err err;
	int rc = schema_in_new(fmt, NULL, record, s, &d);
	REQUIRE(rc == 0);
	rc = schema_in_feed(d, text, cut, &err);
	if (!rc && cut < len)
		rc = schema_in_feed(d, text + cut, len - cut, &err);
	if (!rc)
		rc = schema_in_cut(d, &err);
	if (!rc)
		rc = schema_in_end(d, &err);
	REQUIRE(rc == 0 || rc == EINVAL || rc == EFBIG);
	if (rc)
		REQUIRE(strncmp(err.msg, "line ", 5) == 0);
	schema_in_free(d);
	return rc;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct seen a = {.lines = 1}, b = {.lines = 1};
	const char *text;
	size_t len, cut, i;
	int fmt, ra, rb;

	if (size < 1)
		return 0;
	fmt = data[0] % 3;
	text = (const char *)data + 1;
	len = size - 1;
	cut = len ? (data[0] / 3) % (len + 1) : 0;
	/* CSV counts a CR, an LF or a CR LF as a line end, as libcsv ends
	 * rows; the others count LFs */
	for (i = 0; i < len; i++)
		if (text[i] == '\n' ? !(fmt == 1 && i && text[i - 1] == '\r')
				    : fmt == 1 && text[i] == '\r')
			a.lines = ++b.lines;
	ra = decode(fmt, text, len, cut, &a);
	rb = decode(fmt, text, len, len, &b);
	/* where the text was cut changes nothing (but for a cut NDJSON
	 * line taken whole at a close, which whole text has no close in) */
	if (fmt != 0 || cut == len) {
		REQUIRE(ra == rb);
		REQUIRE(same(a.all.p, a.all.len, b.all.p, b.all.len));
	}
	schema_buf_free(&a.all);
	schema_buf_free(&b.all);
	return 0;
}
