/*
 * test_stream: schema/stream.c, many records as one text and back.
 *
 * The CSV cells of every kind of value, the header, a text cut into
 * records at every byte boundary for each format, the line a refusal
 * names, the declared types a CSV cell takes, and value directory names
 * that end like a stream's.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "schema.h"

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		CHECK_MEM(a_, strlen(a_), b_, strlen(b_));                     \
	} while (0)

/* The canonical text of a body for key k (an integer). */
static char *canon(const char *body, int64_t k)
{
	struct schema_key key = {.type = SCHEMA_KEY_INT, .i = k};
	struct schema_err err;
	char *out = NULL;
	size_t len;
	if (schema_record_prepare(body, strlen(body), &key, "id", NULL, 0, 0, 0,
				  &out, &len, &err) != 0) {
		fprintf(stderr, "prepare %s: %s\n", body, err.msg);
		return NULL;
	}
	return out;
}

/* What a decoder handed back: one line per record, "LINE KEY BODY". */
struct got {
	struct schema_buf b;
	size_t n;
	const char *refuse_body; /* fn refuses this body */
};

static int got_fn(void *arg, const char *body, size_t len,
		  const struct schema_key *key, size_t line)
{
	struct got *g = arg;
	char head[64];
	if (g->refuse_body && len == strlen(g->refuse_body) &&
	    !memcmp(body, g->refuse_body, len))
		return EPERM;
	if (!key)
		snprintf(head, sizeof(head), "%zu - ", line);
	else if (key->type == SCHEMA_KEY_INT)
		snprintf(head, sizeof(head), "%zu %lld ", line,
			 (long long)key->i);
	else
		snprintf(head, sizeof(head), "%zu '%.*s' ", line, (int)key->len,
			 key->s);
	g->n++;
	if (schema_buf_add(&g->b, head, strlen(head)) ||
	    schema_buf_add(&g->b, body, len) || schema_buf_add(&g->b, "\n", 1))
		return ENOMEM;
	return 0;
}

/* Feed text in pieces of step bytes; the decoder's result and *g. */
static int decode(int fmt, const struct schema_table *ts, const char *text,
		  size_t step, struct got *g, struct schema_err *err)
{
	struct schema_in *d;
	size_t len = strlen(text), at;
	int rc = schema_in_new(fmt, ts, got_fn, g, &d);
	if (rc)
		return rc;
	memset(err, 0, sizeof(*err));
	for (at = 0; !rc && at < len; at += step)
		rc = schema_in_feed(d, text + at,
				    len - at < step ? len - at : step, err);
	if (!rc)
		rc = schema_in_end(d, err);
	if (!rc)
		CHECK_INT(schema_in_records(d), g->n);
	schema_in_free(d);
	return rc;
}

static void test_fmt(void)
{
	size_t stem = 0;
	CHECK_INT(schema_stream_fmt("dog.ndjson", 10, &stem),
		  SCHEMA_FMT_NDJSON);
	CHECK_INT(stem, 3);
	CHECK_INT(schema_stream_fmt("dog.csv", 7, &stem), SCHEMA_FMT_CSV);
	CHECK_INT(schema_stream_fmt("a.b.json", 8, &stem), SCHEMA_FMT_JSON);
	CHECK_INT(stem, 3);
	CHECK_INT(schema_stream_fmt(".json", 5, &stem), -1);
	CHECK_INT(schema_stream_fmt("dog", 3, &stem), -1);
	CHECK_INT(schema_stream_fmt("dogjson", 7, &stem), -1);
}

struct val_ctx {
	uint8_t *v;
	size_t *l;
};

static int val_fn(const void *attr, size_t alen, const void *v, size_t l,
		  void *arg)
{
	struct val_ctx *x = arg;
	(void)attr;
	(void)alen;
	memcpy(x->v, v, l);
	*x->l = l;
	return 0;
}

/* A value's directory name never ends like a stream's. */
static void test_value_names(void)
{
	static const char *const cases[][2] = {
	    {"x.json", "x%2Ejson"}, {"x.ndjson", "x%2Endjson"},
	    {"x.csv", "x%2Ecsv"},   {"a.b.csv", "a.b%2Ecsv"},
	    {"json", "json"},	    {"x.jsonx", "x.jsonx"},
	    {"x.JSON", "x.JSON"},   {"3.json", "3%2Ejson"},
	};
	size_t i;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[100], name[SCHEMA_NAME_MAX + 1];
		uint8_t val[SCHEMA_VALUE_MAX], back[SCHEMA_VALUE_MAX];
		size_t vl = 0, bl = 0;
		struct schema_err err;
		struct val_ctx c = {val, &vl};
		char *t;
		snprintf(body, sizeof(body), "{\"a\":\"%s\"}", cases[i][0]);
		t = canon(body, 1);
		CHECK(t != NULL);
		if (!t)
			continue;
		CHECK_INT(schema_store_entries(t, strlen(t), val_fn, &c), 0);
		free(t);
		schema_value_to_name(val, vl, name);
		CHECK_STR(name, cases[i][1]);
		CHECK_INT(
		    schema_name_to_value(name, strlen(name), back, &bl, &err),
		    0);
		CHECK_MEM(back, bl, val, vl);
	}
}

static void test_csv_out(void)
{
	char *cols[] = {"id", "a", "b", "c"};
	struct schema_buf b = {0};
	char *t;

	CHECK_INT(schema_csv_header(&b, cols, 4), 0);
	CHECK_STR(b.p, "id,a,b,c\r\n");
	b.len = 0;
	t = canon("{\"a\":\"3\",\"b\":\"\",\"c\":\"x,\\\"y\\\"\\nz\"}", 7);
	CHECK_INT(schema_csv_row(&b, t, strlen(t), cols, 4), 0);
	CHECK_STR(b.p, "7,\"\"\"3\"\"\",\"\"\"\"\"\",\"x,\"\"y\"\"\nz\"\r\n");
	free(t);
	b.len = 0;
	t = canon("{\"a\":null,\"c\":[1,\"t\",{\"k\":true}]}", 8);
	CHECK_INT(schema_csv_row(&b, t, strlen(t), cols, 4), 0);
	CHECK_STR(b.p, "8,null,,\"[1,\"\"t\"\",{\"\"k\"\":true}]\"\r\n");
	free(t);
	b.len = 0;
	t = canon("{\"a\":1.5,\"b\":true,\"c\":\"plain text\"}", 9);
	CHECK_INT(schema_csv_row(&b, t, strlen(t), cols, 4), 0);
	CHECK_STR(b.p, "9,1.5,true,plain text\r\n");
	free(t);
	schema_buf_free(&b);
}

/* Every kind of value through CSV and back, the text cut everywhere. */
static void test_csv_round_trip(void)
{
	/* attributes in the header's order, so the texts compare whole */
	static const char *const bodies[] = {
	    "{\"e\":\"\",\"n\":-2,\"q\":\"say \\\"hi\\\"\",\"s\":\"3\"}",
	    "{\"b\":false,\"f\":1e-7,\"s\":\"true\",\"z\":null}",
	    "{\"arr\":[1,[2],{\"x\":\"y\"}],\"nl\":\"a\\nb\\r\",\"o\":{}}",
	    "{\"s\":\"[not json\",\"t\":\"{\",\"u\":\"\\u00e9\\ud83d\\ude00\"}",
	    "{\"s\":\"0.50\",\"t\":\"-\",\"u\":\"1e5\",\"v\":\"x,y\"}",
	};
	/* the line each row begins on: the third holds an LF and a CR */
	static const size_t lines[] = {2, 3, 4, 7, 8};
	char *cols[] = {"id", "arr", "b", "e", "f", "n", "nl",
			"o",  "q",   "s", "t", "u", "v", "z"};
	size_t ncols = sizeof(cols) / sizeof(cols[0]), i, step;
	struct schema_buf text = {0};
	char *canons[5];

	CHECK_INT(schema_csv_header(&text, cols, ncols), 0);
	for (i = 0; i < 5; i++) {
		canons[i] = canon(bodies[i], (int64_t)i + 1);
		CHECK(canons[i] != NULL);
		CHECK_INT(schema_csv_row(&text, canons[i], strlen(canons[i]),
					 cols, ncols),
			  0);
	}
	for (step = 1; step <= 17; step += 4) {
		struct got g = {.n = 0};
		struct schema_err err;
		int rc = decode(SCHEMA_FMT_CSV, NULL, text.p, step, &g, &err);
		CHECK_INT(rc, 0);
		CHECK_INT(g.n, 5);
		/* each record decoded is the same record */
		{
			char *p = g.b.p;
			for (i = 0; p && i < 5; i++) {
				char *nl = strchr(p, '\n'), *body, *c;
				size_t line;
				long long k;
				int off = 0;
				*nl = '\0';
				sscanf(p, "%zu %lld %n", &line, &k, &off);
				CHECK_INT(k, (long long)i + 1);
				CHECK_INT(line, lines[i]);
				body = p + off;
				c = canon(body, (int64_t)i + 1);
				CHECK(c && !strcmp(c, canons[i]));
				if (c && strcmp(c, canons[i]))
					fprintf(stderr, "%s\nvs\n%s\n", c,
						canons[i]);
				free(c);
				p = nl + 1;
			}
		}
		schema_buf_free(&g.b);
	}
	for (i = 0; i < 5; i++)
		free(canons[i]);
	schema_buf_free(&text);
}

static void test_ndjson(void)
{
	const char *text = "{\"id\":1,\"a\":\"x\"}\n"
			   "\n"
			   "  \r\n"
			   "{\"a\":\"no key\"}\n"
			   "{\"id\":\"s\",\"v\":[1,2]}";
	size_t step;
	for (step = 1; step <= strlen(text); step++) {
		struct got g = {.n = 0};
		struct schema_err err;
		CHECK_INT(decode(SCHEMA_FMT_NDJSON, NULL, text, step, &g, &err),
			  0);
		CHECK_STR(g.b.p ? g.b.p : "",
			  "1 1 {\"id\":1,\"a\":\"x\"}\n"
			  "4 - {\"a\":\"no key\"}\n"
			  "5 's' {\"id\":\"s\",\"v\":[1,2]}\n");
		schema_buf_free(&g.b);
	}
	/* a bad line: refused at the feed that completes it, by number */
	{
		struct got g = {.n = 0};
		struct schema_err err;
		int rc =
		    decode(SCHEMA_FMT_NDJSON, NULL,
			   "{\"id\":1}\n{\"id\":2}\n{\"id\":3,}\n{\"id\":4}\n",
			   1, &g, &err);
		CHECK_INT(rc, EINVAL);
		CHECK(strncmp(err.msg, "line 3: ", 8) == 0);
		CHECK_INT(g.n, 2);
		schema_buf_free(&g.b);
	}
	{
		struct got g = {.n = 0};
		struct schema_err err;
		CHECK_INT(
		    decode(SCHEMA_FMT_NDJSON, NULL, "[1,2]\n", 3, &g, &err),
		    EINVAL);
		CHECK(strncmp(err.msg, "line 1: ", 8) == 0);
		CHECK_INT(decode(SCHEMA_FMT_NDJSON, NULL, "{\"id\":true}\n", 3,
				 &g, &err),
			  EINVAL);
		CHECK(strstr(err.msg, "integer or a string") != NULL);
		CHECK_INT(decode(SCHEMA_FMT_NDJSON, NULL, "{\"id\":null}\n", 3,
				 &g, &err),
			  EINVAL);
		schema_buf_free(&g.b);
	}
	/* the caller's refusal stops the feed with its own error */
	{
		struct got g = {.refuse_body = "{\"id\":2}"};
		struct schema_err err;
		CHECK_INT(decode(SCHEMA_FMT_NDJSON, NULL,
				 "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n", 2, &g,
				 &err),
			  EPERM);
		CHECK_INT(g.n, 1);
		schema_buf_free(&g.b);
	}
}

static void test_json(void)
{
	const char *text = " [\n{\"id\":1,\"s\":\"],\\\"{\"},\n"
			   "  {\"id\":2,\"a\":[{\"b\":[]}]}\n"
			   ", {\"n\":\"k\"} ]\n";
	size_t step;
	for (step = 1; step <= strlen(text); step++) {
		struct got g = {.n = 0};
		struct schema_err err;
		CHECK_INT(decode(SCHEMA_FMT_JSON, NULL, text, step, &g, &err),
			  0);
		CHECK_INT(g.n, 3);
		CHECK(g.b.p && strncmp(g.b.p, "2 1 ", 4) == 0);
		CHECK(g.b.p && strstr(g.b.p, "\n3 2 ") != NULL);
		CHECK(g.b.p && strstr(g.b.p, "\n4 - ") != NULL);
		schema_buf_free(&g.b);
	}
	{
		struct got g = {.n = 0};
		struct schema_err err;
		CHECK_INT(decode(SCHEMA_FMT_JSON, NULL, "[]", 1, &g, &err), 0);
		CHECK_INT(decode(SCHEMA_FMT_JSON, NULL, " \n", 1, &g, &err), 0);
		CHECK_INT(g.n, 0);
		CHECK_INT(
		    decode(SCHEMA_FMT_JSON, NULL, "[{\"id\":1}", 1, &g, &err),
		    EINVAL);
		CHECK(strstr(err.msg, "closed") != NULL);
		CHECK_INT(
		    decode(SCHEMA_FMT_JSON, NULL, "{\"id\":1}", 1, &g, &err),
		    EINVAL);
		CHECK_INT(decode(SCHEMA_FMT_JSON, NULL, "[1]", 1, &g, &err),
			  EINVAL);
		CHECK_INT(decode(SCHEMA_FMT_JSON, NULL, "[{}] x", 1, &g, &err),
			  EINVAL);
		CHECK_INT(decode(SCHEMA_FMT_JSON, NULL, "[\n{},\n{\"a\":}]", 1,
				 &g, &err),
			  EINVAL);
		CHECK(strncmp(err.msg, "line 3: ", 8) == 0);
		schema_buf_free(&g.b);
	}
}

static void test_csv_in(void)
{
	struct got g = {.n = 0};
	struct schema_err err;
	struct schema_doc doc = {0};
	const char *sdl = "type Dog @table(table: \"dog\") {\n"
			  "  id: ID @primaryKey\n"
			  "  name: String\n"
			  "  age: Int\n"
			  "  tags: [String]\n"
			  "}\n";

	CHECK_INT(decode(SCHEMA_FMT_CSV, NULL, "id,a\n1,2\n3\n", 1, &g, &err),
		  EINVAL);
	CHECK(strncmp(err.msg, "line 3: ", 8) == 0);
	CHECK_INT(decode(SCHEMA_FMT_CSV, NULL, "id,a\n1,2,3\n", 1, &g, &err),
		  EINVAL);
	CHECK(strncmp(err.msg, "line 2: ", 8) == 0);
	CHECK_INT(decode(SCHEMA_FMT_CSV, NULL, "id,id\n1,2\n", 1, &g, &err),
		  EINVAL);
	CHECK(strstr(err.msg, "twice") != NULL);
	CHECK_INT(decode(SCHEMA_FMT_CSV, NULL, "id,\n1,2\n", 1, &g, &err),
		  EINVAL);
	CHECK_INT(decode(SCHEMA_FMT_CSV, NULL, "id,a\n1,\"x\n", 1, &g, &err),
		  EINVAL);
	schema_buf_free(&g.b);
	memset(&g, 0, sizeof(g));
	/* the last row needs no line end; an empty cell is no attribute */
	CHECK_INT(
	    decode(SCHEMA_FMT_CSV, NULL, "id,a,b\r\n1,,x\r\n2,5,", 3, &g, &err),
	    0);
	CHECK_STR(g.b.p ? g.b.p : "",
		  "2 1 {\"id\":1,\"b\":\"x\"}\n3 2 {\"id\":2,\"a\":5}\n");
	schema_buf_free(&g.b);
	memset(&g, 0, sizeof(g));
	/* a declared table: a String takes the text, an Int reads it */
	CHECK_INT(schema_sdl_parse(sdl, strlen(sdl), &doc, &err), 0);
	CHECK_INT(decode(SCHEMA_FMT_CSV, &doc.tables[0],
			 "id,name,age,tags\n7,3,4,\"[\"\"a\"\"]\"\n"
			 "8,\"\"\"q\"\"\",,\n",
			 2, &g, &err),
		  0);
	CHECK_STR(
	    g.b.p ? g.b.p : "",
	    "2 '7' {\"id\":\"7\",\"name\":\"3\",\"age\":4,\"tags\":[\"a\"]}\n"
	    "3 '8' {\"id\":\"8\",\"name\":\"q\"}\n");
	schema_buf_free(&g.b);
	memset(&g, 0, sizeof(g));
	CHECK_INT(decode(SCHEMA_FMT_CSV, &doc.tables[0],
			 "id,name,age\n7,x,four\n", 2, &g, &err),
		  EINVAL);
	CHECK(strstr(err.msg, "line 2: column \"age\"") != NULL);
	schema_doc_free(&doc);
	schema_buf_free(&g.b);
}

/* What the review of the first version found. */
static void test_review_cases(void)
{
	struct got g = {.n = 0};
	struct schema_err err;
	size_t step;
	/* a byte order mark is no part of the text, cut anywhere */
	for (step = 1; step <= 4; step++) {
		memset(&g, 0, sizeof(g));
		CHECK_INT(decode(SCHEMA_FMT_CSV, NULL,
				 "\xef\xbb\xbfid,a\r\n1,2\r\n", step, &g, &err),
			  0);
		CHECK_STR(g.b.p ? g.b.p : "", "2 1 {\"id\":1,\"a\":2}\n");
		schema_buf_free(&g.b);
	}
	memset(&g, 0, sizeof(g));
	CHECK_INT(decode(SCHEMA_FMT_NDJSON, NULL, "\xef\xbb\xbf{\"id\":4}\n", 2,
			 &g, &err),
		  0);
	CHECK_INT(g.n, 1);
	CHECK_INT(decode(SCHEMA_FMT_NDJSON, NULL, "\xef\xbb{\"id\":4}\n", 2, &g,
			 &err),
		  EINVAL);
	schema_buf_free(&g.b);
	/* a cell that is JSON followed by more is text */
	memset(&g, 0, sizeof(g));
	CHECK_INT(decode(SCHEMA_FMT_CSV, NULL,
			 "id,a,b\n1,\"[1],\"\"x\"\":2\",\"\"\"a\"\",\"\"v\"\":"
			 "\"\"b\"\"\"\n",
			 3, &g, &err),
		  0);
	CHECK_STR(g.b.p ? g.b.p : "",
		  "2 1 {\"id\":1,\"a\":\"[1],\\\"x\\\":2\","
		  "\"b\":\"\\\"a\\\",\\\"v\\\":\\\"b\\\"\"}\n");
	schema_buf_free(&g.b);
	/* a row is numbered by the line it begins on */
	memset(&g, 0, sizeof(g));
	CHECK_INT(decode(SCHEMA_FMT_CSV, NULL,
			 "id,a\r\n1,2\r\n\"3\r\n\",4,5\r\n", 1, &g, &err),
		  EINVAL);
	CHECK(strncmp(err.msg, "line 3: ", 8) == 0);
	schema_buf_free(&g.b);
	/* a whole last line without its newline, taken at a close */
	{
		struct schema_in *d;
		memset(&g, 0, sizeof(g));
		CHECK_INT(
		    schema_in_new(SCHEMA_FMT_NDJSON, NULL, got_fn, &g, &d), 0);
		CHECK_INT(schema_in_feed(d, "{\"id\":1}\n{\"id\":2}", 17, &err),
			  0);
		CHECK_INT(schema_in_at_end(d), 0);
		CHECK_INT(schema_in_cut(d, &err), 0);
		CHECK_INT(schema_in_at_end(d), 1);
		CHECK_INT(g.n, 2);
		CHECK_INT(schema_in_feed(d, "  \n{\"id\":3}\n", 12, &err), 0);
		CHECK_INT(g.n, 3);
		CHECK_INT(schema_in_feed(d, "{\"id\":4}", 8, &err), 0);
		CHECK_INT(schema_in_cut(d, &err), 0);
		CHECK_INT(schema_in_feed(d, "x\n", 2, &err), EINVAL);
		schema_in_free(d);
		schema_buf_free(&g.b);
	}
}

int main(void)
{
	test_review_cases();
	test_fmt();
	test_value_names();
	test_csv_out();
	test_csv_round_trip();
	test_ndjson();
	test_json();
	test_csv_in();
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail != 0;
}
