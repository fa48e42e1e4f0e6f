/*
 * test_check: unit tests for schema/check.c, the records of declared
 * tables.  A plain program: each failing check prints its file:line, the
 * last line says "N passed, N failed", and the exit status is non-zero when
 * anything failed.
 *
 * Tables come from schema text through schema_sdl_parse() and records from
 * bodies through schema_record_prepare(), as the daemon makes them.
 * Expected texts and messages are written out literally; dates are also
 * held to the C library's gmtime_r(), and the JSON Schema to a small
 * validator written here, so neither is only checked against itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schema.h"

#include "check.h"

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		check(a_ &&strcmp(a_, b_) == 0, __FILE__, __LINE__,            \
		      "%s is\n  \"%s\"\nexpected\n  \"%s\"", #a,               \
		      a_ ? a_ : "(null)", b_);                                 \
	} while (0)

#define DATE_MIN_MS (-INT64_C(62167219200000))
#define DATE_MAX_MS INT64_C(253402300799999)
#define NOW	    INT64_C(1771150830123) /* 2026-02-15T10:20:30.123Z */

/* ---- tables ------------------------------------------------------------ */

/* Every type once, and in lists; not sealed, no '!'. */
static const char every_sdl[] = "type Every @table(table: \"every\") {\n"
				"  id: ID @primaryKey\n"
				"  a: Any\n"
				"  i: ID\n"
				"  s: String\n"
				"  n: Int\n"
				"  l: Long\n"
				"  f: Float\n"
				"  b: Boolean\n"
				"  d: Date\n"
				"  g: BigInt\n"
				"  tags: [String]\n"
				"  nums: [Int!]\n"
				"  anys: [Any]\n"
				"  dates: [Date]\n"
				"  bigs: [BigInt!]\n"
				"  c: Long @createdTime\n"
				"  u: Date @updatedTime\n"
				"}\n";

static const char dog_sdl[] = "type Dog @table(table: \"dog\") @sealed {\n"
			      "  id: ID @primaryKey\n"
			      "  name: String! @indexed\n"
			      "  tags: [String]\n"
			      "  age: Int\n"
			      "  born: Date\n"
			      "}\n";

static const char req_sdl[] = "type R @table(table: \"r\") {\n"
			      "  id: Int @primaryKey\n"
			      "  a: String!\n"
			      "  b: [Int]!\n"
			      "  c: [Int!]!\n"
			      "}\n";

static const char stamp_sdl[] = "type Stamp @table(table: \"stamp\") {\n"
				"  id: Int @primaryKey\n"
				"  name: String\n"
				"  created: Long @createdTime\n"
				"  updated: Date @updatedTime\n"
				"}\n";

static const char stamp2_sdl[] = "type Stamp2 @table(table: \"stamp2\") {\n"
				 "  id: String @primaryKey\n"
				 "  made: Int! @createdTime\n"
				 "  seen: Float @updatedTime\n"
				 "}\n";

static const char stamp3_sdl[] = "type Stamp3 @table(table: \"stamp3\") {\n"
				 "  id: Long @primaryKey\n"
				 "  created: Date! @createdTime\n"
				 "  updated: Int @updatedTime\n"
				 "}\n";

/* Sealed, with '!' everywhere it may go, for the fuzz loop. */
static const char strict_sdl[] =
    "type Strict @table(table: \"strict\") @sealed {\n"
    "  id: Any @primaryKey\n"
    "  s: String!\n"
    "  n: Int\n"
    "  d: Date!\n"
    "  g: BigInt\n"
    "  nums: [Int!]!\n"
    "  dates: [Date!]\n"
    "  any: Any!\n"
    "  made: Int! @createdTime\n"
    "}\n";

static struct schema_doc every_doc, dog_doc, req_doc, stamp_doc, stamp2_doc,
    stamp3_doc, strict_doc;
static const struct schema_table *every, *dog, *req, *stamp, *stamp2, *stamp3,
    *strict;

static const struct schema_table *load(const char *sdl, struct schema_doc *doc)
{
	struct schema_err err;

	if (schema_sdl_parse(sdl, strlen(sdl), doc, &err) ||
	    doc->ntables != 1) {
		fprintf(stderr, "cannot parse test schema: %s\n", err.msg);
		exit(1);
	}
	return &doc->tables[0];
}

/* ---- writing records --------------------------------------------------- */

static struct schema_err last; /* the last message, for failing checks */

/*
 * Write body as record key (a string key when skey is set, else ikey) of
 * t: the canonical text as the daemon makes it, then
 * schema_table_record().  Returns its result, or -1 if
 * schema_record_prepare() refused the body (the tests only write bodies it
 * takes).  *out is the text, or NULL.
 */
static int write_key(const struct schema_table *t, const char *body,
		     int64_t ikey, const char *skey, const char *old,
		     int64_t now, char **out)
{
	struct schema_key key = {SCHEMA_KEY_INT, ikey, NULL, 0};
	char *canon = NULL;
	size_t clen, olen = 12345;
	int rc;

	*out = NULL;
	last.msg[0] = '\0';
	if (skey) {
		key.type = SCHEMA_KEY_STR;
		key.s = skey;
		key.len = strlen(skey);
	}
	if (schema_record_prepare(body, strlen(body), &key,
				  schema_table_pk(t)->name, NULL, 0, 0, 0,
				  &canon, &clen, &last)) {
		fprintf(stderr, "prepare refused %s: %s\n", body, last.msg);
		return -1;
	}
	rc = schema_table_record(t, canon, clen, old, old ? strlen(old) : 0,
				 now, out, &olen, &last);
	if (rc == 0 && (!*out || strlen(*out) != olen))
		rc = -2;
	if (rc && rc != -2 && (*out || olen != 0))
		rc = -3;
	free(canon);
	return rc;
}

static int write_rec(const struct schema_table *t, const char *body,
		     const char *old, int64_t now, char **out)
{
	return write_key(t, body, 1, NULL, old, now, out);
}

/* Key 1 of t with {"attr": val}, checked only (no times set). */
static int one(const struct schema_table *t, const char *attr, const char *val,
	       char **out)
{
	char body[4096], *o;
	int rc;

	snprintf(body, sizeof(body), "{\"%s\": %s}", attr, val);
	rc = write_rec(t, body, NULL, -1, &o);
	if (out)
		*out = o;
	else
		free(o);
	return rc;
}

#define OK(t, attr, val)                                                       \
	check(one(t, attr, val, NULL) == 0, __FILE__, __LINE__,                \
	      "%s = %s refused: %s", attr, val, last.msg)
#define NO(t, attr, val)                                                       \
	check(one(t, attr, val, NULL) == EINVAL, __FILE__, __LINE__,           \
	      "%s = %s not refused", attr, val)

/* The text stored for body, or the message of its refusal. */
#define CHECK_WRITE(t, body, old, now, expect)                                 \
	do {                                                                   \
		char *o_;                                                      \
		int rc_ = write_rec(t, body, old, now, &o_);                   \
		check(rc_ == 0, __FILE__, __LINE__, "%s refused (%d): %s",     \
		      body, rc_, last.msg);                                    \
		if (o_)                                                        \
			CHECK_STR(o_, expect);                                 \
		free(o_);                                                      \
	} while (0)
#define CHECK_REFUSED(t, body, old, now, expect)                               \
	do {                                                                   \
		char *o_;                                                      \
		int rc_ = write_rec(t, body, old, now, &o_);                   \
		check(rc_ == EINVAL, __FILE__, __LINE__, "%s: %d, not EINVAL", \
		      body, rc_);                                              \
		CHECK_STR(last.msg, expect);                                   \
		free(o_);                                                      \
	} while (0)

/* The compact JSON of attribute name in text, malloc'd, or NULL. */
static char *value_of(const char *text, const char *name)
{
	struct json_object *o = json_tokener_parse(text), *v;
	char *s = NULL;

	if (o && json_object_object_get_ex(o, name, &v))
		s = strdup(v ? json_object_to_json_string_ext(
				   v, JSON_C_TO_STRING_PLAIN |
					  JSON_C_TO_STRING_NOSLASHESCAPE)
			     : "null");
	json_object_put(o);
	return s;
}

/* What Date attribute "d" of table every stores for val, or NULL. */
static char *date_of(const char *val)
{
	char *out, *s = NULL;

	if (one(every, "d", val, &out) == 0)
		s = value_of(out, "d");
	free(out);
	return s;
}

#define CHECK_DATE(val, stored)                                                \
	do {                                                                   \
		char *s_ = date_of(val);                                       \
		check(s_ &&strcmp(s_, "\"" stored "\"") == 0, __FILE__,        \
		      __LINE__, "Date %s stored as %s, expected %s (%s)", val, \
		      s_ ? s_ : "(refused)", stored, last.msg);                \
		free(s_);                                                      \
	} while (0)

/* ---- lookups ----------------------------------------------------------- */

static void test_lookup(void)
{
	const struct schema_attr *a;

	a = schema_table_pk(every);
	CHECK(a && strcmp(a->name, "id") == 0 && a->pk);
	CHECK(schema_table_pk(NULL) == NULL);
	a = schema_table_attr(every, "tagsXX", 4);
	CHECK(a && strcmp(a->name, "tags") == 0);
	CHECK(schema_table_attr(every, "tag", 3) == NULL);
	CHECK(schema_table_attr(every, "tags", 5) == NULL);
	CHECK(schema_table_attr(every, "s\0x", 3) == NULL);
	CHECK(schema_table_attr(every, "", 0) == NULL);
	a = schema_table_attr(every, "u", 1);
	CHECK(a && a->updated && a->type == SCHEMA_T_DATE);
}

/* ---- each type --------------------------------------------------------- */

static void test_scalars(void)
{
	static const char *const any_ok[] = {
	    "1",    "\"x\"",	     "{\"a\": {\"b\": [1, [2]]}}",
	    "[]",   "[1, [2, [3]]]", "true",
	    "null", "1.5e300",	     "18446744073709551615",
	    "{}",
	};
	size_t i;

	for (i = 0; i < sizeof(any_ok) / sizeof(any_ok[0]); i++)
		OK(every, "a", any_ok[i]);

	OK(every, "i", "\"x\"");
	OK(every, "i", "\"\"");
	OK(every, "i", "5");
	OK(every, "i", "-5");
	OK(every, "i", "9223372036854775807");
	OK(every, "i", "-9223372036854775808");
	OK(every, "i", "null");
	NO(every, "i", "9223372036854775808");
	NO(every, "i", "18446744073709551615");
	NO(every, "i", "1.5");
	NO(every, "i", "5.0");
	NO(every, "i", "true");
	NO(every, "i", "{}");
	NO(every, "i", "[1]");

	OK(every, "s", "\"x\"");
	OK(every, "s", "\"\"");
	OK(every, "s", "\"\\u00e9\\n\"");
	NO(every, "s", "1");
	NO(every, "s", "false");
	NO(every, "s", "[\"x\"]");
	NO(every, "s", "{\"x\": 1}");

	OK(every, "n", "0");
	OK(every, "n", "-0");
	OK(every, "n", "2147483647");
	OK(every, "n", "-2147483648");
	NO(every, "n", "2147483648");
	NO(every, "n", "-2147483649");
	NO(every, "n", "9223372036854775807");
	NO(every, "n", "18446744073709551615");
	NO(every, "n", "3.0");
	NO(every, "n", "3.5");
	NO(every, "n", "1e2");
	NO(every, "n", "\"5\"");
	NO(every, "n", "true");

	OK(every, "l", "9223372036854775807");
	OK(every, "l", "-9223372036854775808");
	OK(every, "l", "0");
	NO(every, "l", "9223372036854775808");
	NO(every, "l", "18446744073709551615");
	NO(every, "l", "1.0");
	NO(every, "l", "\"1\"");

	OK(every, "f", "1");
	OK(every, "f", "1.5");
	OK(every, "f", "-1e300");
	OK(every, "f", "0.0");
	OK(every, "f", "18446744073709551615");
	OK(every, "f", "-9223372036854775808");
	NO(every, "f", "\"1\"");
	NO(every, "f", "true");
	NO(every, "f", "[1]");

	OK(every, "b", "true");
	OK(every, "b", "false");
	NO(every, "b", "0");
	NO(every, "b", "\"true\"");

	OK(every, "g", "1");
	OK(every, "g", "-9223372036854775808");
	OK(every, "g", "18446744073709551615");
	OK(every, "g", "\"123456789012345678901234567890\"");
	OK(every, "g", "\"-123456789012345678901234567890\"");
	OK(every, "g", "\"-5\"");
	OK(every, "g", "\"007\"");
	OK(every, "g", "\"-0\"");
	NO(every, "g", "\"\"");
	NO(every, "g", "\"-\"");
	NO(every, "g", "\"1.5\"");
	NO(every, "g", "\"1e3\"");
	NO(every, "g", "\" 1\"");
	NO(every, "g", "\"1 \"");
	NO(every, "g", "\"+1\"");
	NO(every, "g", "\"0x10\"");
	NO(every, "g", "1.5");
	NO(every, "g", "1e3");
	NO(every, "g", "true");
	NO(every, "g", "[1]");
	/* kept as written */
	CHECK_WRITE(every, "{\"g\": \"-00123456789012345678901234567890\"}",
		    NULL, -1,
		    "{\n  \"id\": 1,\n  \"g\": "
		    "\"-00123456789012345678901234567890\"\n}\n");
	CHECK_WRITE(every, "{\"g\": 18446744073709551615}", NULL, -1,
		    "{\n  \"id\": 1,\n  \"g\": 18446744073709551615\n}\n");

	/* null is as good as absent for every type */
	CHECK_WRITE(every,
		    "{\"i\": null, \"s\": null, \"n\": null, \"l\": null, "
		    "\"f\": null, \"b\": null, \"d\": null, \"g\": null, "
		    "\"tags\": null, \"nums\": null, \"dates\": null}",
		    NULL, -1,
		    "{\n  \"id\": 1,\n  \"i\": null,\n  \"s\": null,\n  \"n\": "
		    "null,\n  \"l\": null,\n  \"f\": null,\n  \"b\": null,\n  "
		    "\"d\": null,\n  \"g\": null,\n  \"tags\": null,\n  "
		    "\"nums\": null,\n  \"dates\": null\n}\n");
}

static void test_dates(void)
{
	static const char *const bad[] = {
	    "\"2026-02-30\"",
	    "\"2023-02-29\"",
	    "\"1900-02-29\"",
	    "\"2026-04-31\"",
	    "\"2026-13-01\"",
	    "\"2026-00-10\"",
	    "\"2026-01-00\"",
	    "\"2026-01-32\"",
	    "\"2026-02-15T25:00\"",
	    "\"2026-02-15T24:00\"",
	    "\"2026-02-15T10:60\"",
	    "\"2026-02-15T10:20:60\"",
	    "\"2026-02-15T23:59:60Z\"",
	    "\"2026-02-15T10\"",
	    "\"2026-02-15T10:2\"",
	    "\"2026-02-15T1:20\"",
	    "\"2026-02-15T10:20:3\"",
	    "\"2026-02-15T10:20:30.\"",
	    "\"2026-02-15T10:20:30.5.\"",
	    "\"2026-02-15T10:20:30+2\"",
	    "\"2026-02-15T10:20:30+02\"",
	    "\"2026-02-15T10:20:30+02:0\"",
	    "\"2026-02-15T10:20:30+02:000\"",
	    "\"2026-02-15T10:20:30+24:00\"",
	    "\"2026-02-15T10:20:30+01:60\"",
	    "\"2026-02-15T10:20:30ZZ\"",
	    "\"2026-02-15T10:20:30 Z\"",
	    "\"2026-02-15T10:20:30UTC\"",
	    "\"2026-02-15Z\"",
	    "\"2026-02-15T\"",
	    "\"2026-02-15X10:20\"",
	    "\"2026-02-15 \"",
	    "\"26-02-15\"",
	    "\"+2026-02-15\"",
	    "\"-2026-02-15\"",
	    "\"12026-02-15\"",
	    "\"2026/02/15\"",
	    "\"2026-2-15\"",
	    "\"20260215\"",
	    "\"\"",
	    "\"now\"",
	    "\"2026-02-15\\u0000\"",
	    "\"0000-01-01T00:00+00:01\"",
	    "\"9999-12-31T23:59:59.999-00:01\"",
	    "-62167219200001",
	    "253402300800000",
	    "9223372036854775807",
	    "18446744073709551615",
	    "1.5",
	    "1e3",
	    "1771150830123.0",
	    "true",
	    "{}",
	    "[0]",
	};
	size_t i;

	CHECK_DATE("\"2026-02-15\"", "2026-02-15T00:00:00.000Z");
	CHECK_DATE("\"2026-02-15T10:20\"", "2026-02-15T10:20:00.000Z");
	CHECK_DATE("\"2026-02-15T10:20:30\"", "2026-02-15T10:20:30.000Z");
	CHECK_DATE("\"2026-02-15T10:20:30.5\"", "2026-02-15T10:20:30.500Z");
	CHECK_DATE("\"2026-02-15T10:20:30.12\"", "2026-02-15T10:20:30.120Z");
	CHECK_DATE("\"2026-02-15T10:20:30.123456\"",
		   "2026-02-15T10:20:30.123Z");
	/* cut, not rounded: never into the next second, day or year */
	CHECK_DATE("\"9999-12-31T23:59:59.9999999\"",
		   "9999-12-31T23:59:59.999Z");
	CHECK_DATE("\"2026-02-15 10:20:30Z\"", "2026-02-15T10:20:30.000Z");
	CHECK_DATE("\"2026-02-15t10:20:30z\"", "2026-02-15T10:20:30.000Z");
	CHECK_DATE("\"2026-02-15T10:20:30+02:00\"", "2026-02-15T08:20:30.000Z");
	CHECK_DATE("\"2026-02-15T01:20:30+0200\"", "2026-02-14T23:20:30.000Z");
	CHECK_DATE("\"2026-02-15T23:20-05:30\"", "2026-02-16T04:50:00.000Z");
	CHECK_DATE("\"2026-02-15T10:20:30.5-00:00\"",
		   "2026-02-15T10:20:30.500Z");
	CHECK_DATE("\"2026-12-31T23:30-01:00\"", "2027-01-01T00:30:00.000Z");
	CHECK_DATE("\"2024-02-29\"", "2024-02-29T00:00:00.000Z");
	CHECK_DATE("\"2000-02-29T12:00\"", "2000-02-29T12:00:00.000Z");
	CHECK_DATE("\"0000-01-01\"", "0000-01-01T00:00:00.000Z");
	CHECK_DATE("\"0000-02-29\"", "0000-02-29T00:00:00.000Z");
	CHECK_DATE("\"0000-01-01T00:30+00:30\"", "0000-01-01T00:00:00.000Z");
	CHECK_DATE("\"9999-12-31T23:59:59.999\"", "9999-12-31T23:59:59.999Z");
	CHECK_DATE("\"9999-12-31T23:59-00:00\"", "9999-12-31T23:59:00.000Z");
	CHECK_DATE("0", "1970-01-01T00:00:00.000Z");
	CHECK_DATE("-1", "1969-12-31T23:59:59.999Z");
	CHECK_DATE("1771150830123", "2026-02-15T10:20:30.123Z");
	CHECK_DATE("-62167219200000", "0000-01-01T00:00:00.000Z");
	CHECK_DATE("253402300799999", "9999-12-31T23:59:59.999Z");
	CHECK_DATE("951782400000", "2000-02-29T00:00:00.000Z");
	/* the stored form is already stored: no change */
	CHECK_WRITE(every, "{\"d\": \"2026-02-15T10:20:30.123Z\"}", NULL, -1,
		    "{\n  \"id\": 1,\n  \"d\": \"2026-02-15T10:20:30.123Z\"\n}"
		    "\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		NO(every, "d", bad[i]);
}

/* The stored form of ms by the C library, an independent reckoning. */
static void date_oracle(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	time_t tt = (time_t)s;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ms - s * 1000));
}

/*
 * Random instants, as integers and as local times with random offsets,
 * must come out as gmtime_r() says; the stored form read back is itself.
 */
static void test_dates_random(void)
{
	int n, bad = 0;

	for (n = 0; n < 3000; n++) {
		int64_t ms, local;
		int off, sign;
		char num[32], expect[64], lbuf[64], val[96], *s;

		switch (n % 4) {
		case 0: /* anywhere in the range */
			ms = DATE_MIN_MS +
			     (int64_t)(rnd() % (uint64_t)(DATE_MAX_MS -
							  DATE_MIN_MS + 1));
			break;
		case 1: /* near the ends */
			ms = (n & 4 ? DATE_MIN_MS : DATE_MAX_MS - 200000000) +
			     (int64_t)rnd_below(200000000);
			break;
		default: /* around now */
			ms = NOW - 4000000000000 +
			     (int64_t)(rnd() % 8000000000000);
		}
		date_oracle(ms, expect, sizeof(expect));
		snprintf(num, sizeof(num), "%" PRId64, ms);
		s = date_of(num);
		if (!s || strncmp(s + 1, expect, strlen(expect)) != 0) {
			fprintf(stderr, "%s: %s, expected %s\n", num,
				s ? s : last.msg, expect);
			bad++;
		}
		free(s);
		snprintf(val, sizeof(val), "\"%s\"", expect);
		s = date_of(val);
		if (!s || strcmp(s, val) != 0)
			bad++;
		free(s);

		/* the same instant, written in a zone off UTC */
		off = (int)rnd_below(24 * 60);
		sign = rnd() & 1 ? 1 : -1;
		local = ms + sign * (int64_t)off * 60000;
		if (local < DATE_MIN_MS || local > DATE_MAX_MS)
			continue;
		date_oracle(local, lbuf, sizeof(lbuf));
		lbuf[23] = '\0'; /* drop the Z */
		if (rnd() & 1)
			snprintf(val, sizeof(val), "\"%s%c%02d:%02d\"", lbuf,
				 sign > 0 ? '+' : '-', off / 60, off % 60);
		else
			snprintf(val, sizeof(val), "\"%s%c%02d%02d\"", lbuf,
				 sign > 0 ? '+' : '-', off / 60, off % 60);
		s = date_of(val);
		if (!s || strncmp(s + 1, expect, strlen(expect)) != 0) {
			fprintf(stderr, "%s: %s, expected %s\n", val,
				s ? s : last.msg, expect);
			bad++;
		}
		free(s);
	}
	CHECK_INT(bad, 0);
}

/* ---- lists, required, sealed, keys ------------------------------------- */

static void test_lists(void)
{
	OK(every, "tags", "[]");
	OK(every, "tags", "[\"a\", null, \"b\"]");
	OK(every, "tags", "null");
	NO(every, "tags", "\"x\"");
	NO(every, "tags", "{}");
	NO(every, "tags", "[\"a\", 7]");
	NO(every, "tags", "[[\"a\"]]");
	NO(every, "tags", "[{}]");
	OK(every, "nums", "[1, 2147483647, -2147483648]");
	NO(every, "nums", "[1, null]");
	NO(every, "nums", "[1, 2.5]");
	NO(every, "nums", "[2147483648]");
	NO(every, "nums", "1");
	OK(every, "anys", "[[1, [2]], {\"a\": 1}, null, \"x\"]");
	OK(every, "bigs", "[1, \"2\", 18446744073709551615]");
	NO(every, "bigs", "[1, null]");
	NO(every, "bigs", "[\"x\"]");
	NO(every, "dates", "[\"2026-02-30\"]");
	NO(every, "dates", "[[0]]");
	CHECK_WRITE(every, "{\"dates\": [\"2026-02-15\", 0, null]}", NULL, -1,
		    "{\n  \"id\": 1,\n  \"dates\": [\n"
		    "    \"2026-02-15T00:00:00.000Z\",\n"
		    "    \"1970-01-01T00:00:00.000Z\",\n"
		    "    null\n  ]\n}\n");
	CHECK_REFUSED(every, "{\"tags\": [\"a\", \"b\", 7]}", NULL, -1,
		      "\"tags\"[2]: expected String, got 7");
	CHECK_REFUSED(every, "{\"tags\": [[\"a\"]]}", NULL, -1,
		      "\"tags\"[0]: expected String, got [\"a\"]");
	CHECK_REFUSED(every, "{\"nums\": [1, null]}", NULL, -1,
		      "\"nums\"[1]: expected Int!, got null");
	CHECK_REFUSED(every, "{\"nums\": 1}", NULL, -1,
		      "\"nums\": expected [Int!], got 1");
	CHECK_REFUSED(every, "{\"dates\": [0, \"x\"]}", NULL, -1,
		      "\"dates\"[1]: expected Date (ISO 8601 text or epoch "
		      "milliseconds), got \"x\"");
}

static void test_required(void)
{
	CHECK_REFUSED(req, "{}", NULL, -1,
		      "\"a\" is required (String!) and missing");
	CHECK_REFUSED(req, "{\"a\": \"x\"}", NULL, -1,
		      "\"b\" is required ([Int]!) and missing");
	CHECK_REFUSED(req, "{\"a\": \"x\", \"b\": []}", NULL, NOW,
		      "\"c\" is required ([Int!]!) and missing");
	CHECK_REFUSED(req, "{\"a\": null, \"b\": [], \"c\": []}", NULL, -1,
		      "\"a\" is required (String!), got null");
	CHECK_REFUSED(req, "{\"c\": [], \"b\": null, \"a\": \"x\"}", NULL, -1,
		      "\"b\" is required ([Int]!), got null");
	CHECK_WRITE(req, "{\"a\": \"x\", \"b\": [null], \"c\": []}", NULL, -1,
		    "{\n  \"id\": 1,\n  \"a\": \"x\",\n  \"b\": [\n    null\n"
		    "  ],\n  \"c\": []\n}\n");
	/* a wrong value early in the text comes before a missing one */
	CHECK_REFUSED(req, "{\"c\": [\"x\"]}", NULL, -1,
		      "\"c\"[0]: expected Int, got \"x\"");
	CHECK_REFUSED(dog, "{\"age\": \"five\"}", NULL, -1,
		      "\"age\": expected Int, got \"five\"");
	CHECK_REFUSED(dog, "{}", NULL, -1,
		      "\"name\" is required (String!) and missing");
}

static void test_sealed(void)
{
	char *out;

	CHECK_REFUSED(
	    dog, "{\"name\": \"Rex\", \"color\": \"red\"}", NULL, -1,
	    "\"color\" is not declared, and table \"dog\" is @sealed");
	/* the text's order decides which error is first */
	CHECK_REFUSED(
	    dog, "{\"color\": 1, \"age\": \"x\"}", NULL, -1,
	    "\"color\" is not declared, and table \"dog\" is @sealed");
	CHECK_REFUSED(dog, "{\"name\": \"Rex\", \"Age\": 3}", NULL, -1,
		      "\"Age\" is not declared, and table \"dog\" is @sealed");
	/* the time attributes of dynamic tables are not declared either */
	CHECK_REFUSED(dog, "{\"name\": \"Rex\", \"__createdtime__\": 3}", NULL,
		      NOW,
		      "\"__createdtime__\" is not declared, and table \"dog\" "
		      "is @sealed");
	/* names are shown as JSON strings */
	CHECK_REFUSED(dog, "{\"name\": \"Rex\", \"a\\\"b\\n\": 3}", NULL, -1,
		      "\"a\\\"b\\n\" is not declared, and table \"dog\" is "
		      "@sealed");
	CHECK_WRITE(dog, "{\"name\": \"Rex\", \"tags\": [\"a\"], \"age\": 3}",
		    NULL, NOW,
		    "{\n  \"id\": 1,\n  \"name\": \"Rex\",\n  \"tags\": [\n"
		    "    \"a\"\n  ],\n  \"age\": 3\n}\n");
	/* not sealed: anything undeclared, kept as written */
	CHECK_WRITE(every,
		    "{\"zz\": {\"deep\": [1, {\"x\": null}]}, \"s\": \"a\", "
		    "\"__createdtime__\": \"x\"}",
		    NULL, -1,
		    "{\n  \"id\": 1,\n  \"zz\": {\n    \"deep\": [\n      1,\n"
		    "      {\n        \"x\": null\n      }\n    ]\n  },\n"
		    "  \"s\": \"a\",\n  \"__createdtime__\": \"x\"\n}\n");
	CHECK_INT(write_rec(every, "{\"Zz\": 1.5e-300, \"ID\": [[]]}", NULL, -1,
			    &out),
		  0);
	free(out);
}

static void test_keys(void)
{
	static const char str_sdl[] =
	    "type S @table { id: String @primaryKey }\n";
	static const char int_sdl[] = "type I @table { id: Int @primaryKey }\n";
	static const char any_sdl[] = "type A @table { k: Any @primaryKey }\n";
	struct schema_doc sd = {0}, id = {0}, ad = {0};
	const struct schema_table *st = load(str_sdl, &sd),
				  *it = load(int_sdl, &id),
				  *at = load(any_sdl, &ad);
	char *out;

	CHECK_INT(write_key(st, "", 2, NULL, NULL, -1, &out), EINVAL);
	CHECK_STR(last.msg, "\"id\": expected String, got 2");
	CHECK_INT(write_key(st, "{\"x\": 1}", 0, "2", NULL, -1, &out), 0);
	CHECK_STR(out, "{\n  \"id\": \"2\",\n  \"x\": 1\n}\n");
	free(out);
	CHECK_INT(write_key(it, "", 2147483647, NULL, NULL, NOW, &out), 0);
	free(out);
	CHECK_INT(write_key(it, "", 2147483648, NULL, NULL, NOW, &out), EINVAL);
	CHECK_STR(last.msg, "\"id\": expected Int, got 2147483648");
	CHECK_INT(write_key(it, "{}", 0, "x", NULL, NOW, &out), EINVAL);
	CHECK_STR(last.msg, "\"id\": expected Int, got \"x\"");
	CHECK_INT(write_key(at, "{}", 0, "x", NULL, NOW, &out), 0);
	CHECK_STR(out, "{\n  \"k\": \"x\"\n}\n");
	free(out);
	CHECK_INT(write_key(every, "{\"id\": -9223372036854775808}", INT64_MIN,
			    NULL, NULL, NOW, &out),
		  0);
	free(out);

	/* text that is no record of the table: the caller's mistake */
	{
		size_t len;

		CHECK_INT(schema_table_record(st, "{\"x\": 1}", 8, NULL, 0, -1,
					      &out, &len, &last),
			  EINVAL);
		CHECK(out == NULL && len == 0);
		CHECK_STR(last.msg,
			  "the primary key \"id\" is missing from the text");
		CHECK_INT(schema_table_record(st, "[1]", 3, NULL, 0, -1, &out,
					      &len, &last),
			  EINVAL);
		CHECK_INT(schema_table_record(st, "{\"id\": \"a\"} x", 13, NULL,
					      0, -1, &out, &len, &last),
			  EINVAL);
		CHECK_INT(schema_table_record(st, "{\"id\": \"a\"", 10, NULL, 0,
					      -1, &out, &len, &last),
			  EINVAL);
		CHECK_INT(schema_table_record(st, "", 0, NULL, 0, -1, &out,
					      &len, &last),
			  EINVAL);
		CHECK_INT(schema_table_record(st, "{\"id\": \"a\"}  \n", 14,
					      NULL, 0, -1, &out, &len, &last),
			  0);
		CHECK_STR(out, "{\n  \"id\": \"a\"\n}\n");
		free(out);
		CHECK_INT(schema_table_record(st, "{}", SCHEMA_RECORD_MAX + 1,
					      NULL, 0, -1, &out, &len, &last),
			  EFBIG);
		CHECK_INT(schema_table_record(NULL, "{}", 2, NULL, 0, -1, &out,
					      &len, &last),
			  EINVAL);
	}
	schema_doc_free(&sd);
	schema_doc_free(&id);
	schema_doc_free(&ad);
}

/* ---- times ------------------------------------------------------------- */

static void test_times(void)
{
	char *out, *again;
	size_t len;

	/* a new record: created and updated go at the end, in order */
	CHECK_WRITE(stamp, "{\"name\": \"a\"}", NULL, NOW,
		    "{\n  \"id\": 1,\n  \"name\": \"a\",\n  \"created\": "
		    "1771150830123,\n  \"updated\": "
		    "\"2026-02-15T10:20:30.123Z\"\n}\n");
	/* where the body has them they stay in place */
	CHECK_WRITE(stamp,
		    "{\"updated\": \"junk\", \"created\": 5, \"name\": \"a\"}",
		    NULL, NOW,
		    "{\n  \"id\": 1,\n  \"updated\": "
		    "\"2026-02-15T10:20:30.123Z\",\n  \"created\": 5,\n  "
		    "\"name\": \"a\"\n}\n");
	/* a body's creation time of the wrong type is replaced, not refused */
	CHECK_WRITE(stamp, "{\"created\": \"junk\"}", NULL, NOW,
		    "{\n  \"id\": 1,\n  \"created\": 1771150830123,\n  "
		    "\"updated\": \"2026-02-15T10:20:30.123Z\"\n}\n");
	CHECK_WRITE(stamp, "{\"created\": null}", NULL, NOW,
		    "{\n  \"id\": 1,\n  \"created\": 1771150830123,\n  "
		    "\"updated\": \"2026-02-15T10:20:30.123Z\"\n}\n");
	CHECK_WRITE(stamp, "{\"created\": 1.5}", NULL, 0,
		    "{\n  \"id\": 1,\n  \"created\": 0,\n  "
		    "\"updated\": \"1970-01-01T00:00:00.000Z\"\n}\n");
	/* a replaced record's time wins over the body's */
	CHECK_WRITE(stamp, "{\"created\": 5}",
		    "{\n  \"id\": 1,\n  \"created\": 7\n}\n", NOW,
		    "{\n  \"id\": 1,\n  \"created\": 7,\n  "
		    "\"updated\": \"2026-02-15T10:20:30.123Z\"\n}\n");
	CHECK_WRITE(stamp, "{}", "{\"id\": 1, \"created\": 7}", NOW,
		    "{\n  \"id\": 1,\n  \"created\": 7,\n  "
		    "\"updated\": \"2026-02-15T10:20:30.123Z\"\n}\n");
	/* ... unless it is not valid, or the old text does not parse */
	CHECK_WRITE(stamp, "{\"created\": 5}", "{\"id\": 1, \"created\": 7.5}",
		    NOW,
		    "{\n  \"id\": 1,\n  \"created\": 5,\n  "
		    "\"updated\": \"2026-02-15T10:20:30.123Z\"\n}\n");
	CHECK_WRITE(stamp, "{\"created\": 5}",
		    "{\"id\": 1, \"created\": 9223372036854775808}", NOW,
		    "{\n  \"id\": 1,\n  \"created\": 5,\n  "
		    "\"updated\": \"2026-02-15T10:20:30.123Z\"\n}\n");
	CHECK_WRITE(stamp, "{\"created\": 5}", "not json {", NOW,
		    "{\n  \"id\": 1,\n  \"created\": 5,\n  "
		    "\"updated\": \"2026-02-15T10:20:30.123Z\"\n}\n");
	CHECK_WRITE(stamp, "{}", "[7]", NOW,
		    "{\n  \"id\": 1,\n  \"created\": 1771150830123,\n  "
		    "\"updated\": \"2026-02-15T10:20:30.123Z\"\n}\n");
	CHECK_WRITE(stamp, "{}", "{\"id\": 1, \"name\": \"x\"}", NOW,
		    "{\n  \"id\": 1,\n  \"created\": 1771150830123,\n  "
		    "\"updated\": \"2026-02-15T10:20:30.123Z\"\n}\n");

	/* now < 0: check only; times are attributes like the others */
	CHECK_WRITE(stamp, "{\"name\": \"a\"}", NULL, -1,
		    "{\n  \"id\": 1,\n  \"name\": \"a\"\n}\n");
	CHECK_WRITE(stamp, "{\"created\": 5, \"updated\": 0}", NULL, -1,
		    "{\n  \"id\": 1,\n  \"created\": 5,\n  \"updated\": "
		    "\"1970-01-01T00:00:00.000Z\"\n}\n");
	CHECK_REFUSED(stamp, "{\"created\": \"x\"}", NULL, -1,
		      "\"created\": expected Long, got \"x\"");
	CHECK_REFUSED(stamp, "{\"updated\": \"2026-02-30\"}", NULL, -1,
		      "\"updated\": expected Date (ISO 8601 text or epoch "
		      "milliseconds), got \"2026-02-30\"");
	/* ... but an error elsewhere is an error on a write too */
	CHECK_REFUSED(stamp, "{\"created\": \"x\", \"name\": 1}", NULL, NOW,
		      "\"name\": expected String, got 1");

	/* Int and Float times hold milliseconds; Int takes a Long's range */
	CHECK_INT(write_key(stamp2, "{}", 0, "k", NULL, NOW, &out), 0);
	CHECK_STR(out, "{\n  \"id\": \"k\",\n  \"made\": 1771150830123,\n  "
		       "\"seen\": 1771150830123\n}\n");
	if (out) {
		CHECK_INT(schema_table_record(stamp2, out, strlen(out), NULL, 0,
					      -1, &again, &len, &last),
			  0);
		CHECK(again && len == strlen(out) &&
		      memcmp(again, out, len) == 0);
		free(again);
		/* a rewrite keeps made */
		CHECK_INT(schema_table_record(stamp2, "{\"id\": \"k\"}", 11,
					      out, strlen(out), NOW + 5, &again,
					      &len, &last),
			  0);
		CHECK_STR(again,
			  "{\n  \"id\": \"k\",\n  \"made\": 1771150830123,\n  "
			  "\"seen\": 1771150830128\n}\n");
		free(again);
	}
	free(out);
	CHECK_INT(write_key(stamp2, "{\"made\": 3.5}", 0, "k", NULL, -1, &out),
		  EINVAL);
	CHECK_STR(last.msg,
		  "\"made\": expected Int (epoch milliseconds), got 3.5");
	CHECK_INT(write_key(stamp2, "{\"made\": 9223372036854775808}", 0, "k",
			    NULL, -1, &out),
		  EINVAL);
	/* a '!' time may be missing or null when only checking */
	CHECK_INT(write_key(stamp2, "{\"made\": null}", 0, "k", NULL, -1, &out),
		  0);
	free(out);
	CHECK_INT(write_key(stamp2, "{\"seen\": 2.5}", 0, "k", NULL, -1, &out),
		  0);
	CHECK_STR(out, "{\n  \"id\": \"k\",\n  \"seen\": 2.5\n}\n");
	free(out);
	/* a Float time in the body is kept as written when valid */
	CHECK_INT(write_key(stamp2, "{\"made\": 12, \"seen\": \"x\"}", 0, "k",
			    NULL, 1000, &out),
		  0);
	CHECK_STR(
	    out, "{\n  \"id\": \"k\",\n  \"made\": 12,\n  \"seen\": 1000\n}\n");
	free(out);

	/* Date creation times are normalized, the old one kept */
	CHECK_INT(write_key(stamp3, "{}", 3, NULL,
			    "{\"id\": 3, \"created\": \"2020-01-01\"}", NOW,
			    &out),
		  0);
	CHECK_STR(out, "{\n  \"id\": 3,\n  \"created\": "
		       "\"2020-01-01T00:00:00.000Z\",\n  \"updated\": "
		       "1771150830123\n}\n");
	free(out);
	CHECK_INT(write_key(stamp3, "{\"created\": 86400000}", 3, NULL,
			    "{\"id\": 3, \"created\": \"yesterday\"}", NOW,
			    &out),
		  0);
	CHECK_STR(out, "{\n  \"id\": 3,\n  \"created\": "
		       "\"1970-01-02T00:00:00.000Z\",\n  \"updated\": "
		       "1771150830123\n}\n");
	free(out);
	CHECK_INT(write_key(stamp3, "{}", 3, NULL, NULL, 0, &out), 0);
	CHECK_STR(out, "{\n  \"id\": 3,\n  \"created\": "
		       "\"1970-01-01T00:00:00.000Z\",\n  \"updated\": 0\n}\n");
	free(out);
	CHECK_INT(write_key(stamp3, "{}", 3, NULL, NULL, DATE_MAX_MS + 1, &out),
		  EINVAL);
	CHECK_INT(write_key(stamp3, "{}", 3, NULL, NULL, -1, &out), 0);
	CHECK_STR(out, "{\n  \"id\": 3\n}\n");
	free(out);
}

/*
 * Dates grow when written out (0 becomes "1970-01-01T00:00:00.000Z"), so
 * a record within the limit may come out past it.
 */
static void test_too_big(void)
{
	size_t n = 600000, i, len;
	char *body = malloc(2 * n + 16), *p, *out = (char *)"x";
	struct schema_key key = {SCHEMA_KEY_INT, 1, NULL, 0};
	char *canon = NULL;
	size_t clen;

	if (!body)
		return;
	p = body + sprintf(body, "{\"dates\": [");
	for (i = 0; i < n; i++) {
		*p++ = '0';
		*p++ = i + 1 < n ? ',' : ']';
	}
	strcpy(p, "}");
	CHECK_INT(schema_record_prepare(body, strlen(body), &key, "id", NULL, 0,
					0, 0, &canon, &clen, &last),
		  0);
	CHECK(clen < SCHEMA_RECORD_MAX);
	CHECK_INT(schema_table_record(every, canon, clen, NULL, 0, -1, &out,
				      &len, &last),
		  EFBIG);
	CHECK(out == NULL && len == 0);
	CHECK_STR(last.msg,
		  "the record's canonical text would pass 16777216 bytes");
	free(canon);
	free(body);
}

/* ---- canonical output and messages ------------------------------------- */

static void test_canonical(void)
{
	static const char *const bodies[] = {
	    "{\"s\": \"a/b\", \"f\": 1.50, \"n\": -0, \"zz\": [], \"z2\": {}, "
	    "\"g\": \"0012\", \"tags\": [\"\\u00e9\", null], \"a\": 1E+2}",
	    "{\"d\": \"2026-02-15 10:20\", \"f\": 1e-7, \"b\": false}",
	    "{\"c\": 1, \"u\": \"junk\", \"l\": 5}",
	    "",
	    "{\"id\": 1}",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct schema_key key = {SCHEMA_KEY_INT, 1, NULL, 0};
		char *canon = NULL, *out = NULL, *again = NULL, *prep = NULL;
		size_t clen = 0, olen = 0, alen = 0, plen = 0;
		int64_t now = i == 1 || i == 2 ? NOW : -1;

		CHECK_INT(schema_record_prepare(bodies[i], strlen(bodies[i]),
						&key, "id", NULL, 0, 0, 0,
						&canon, &clen, &last),
			  0);
		CHECK_INT(schema_table_record(every, canon, clen, NULL, 0, now,
					      &out, &olen, &last),
			  0);
		if (!out) {
			free(canon);
			continue;
		}
		/* no Date and no write: the very same bytes */
		if (i == 0 || i == 4)
			CHECK(olen == clen && memcmp(out, canon, clen) == 0);
		/* fed back: the same bytes, and prepare agrees it is canonical
		 */
		CHECK_INT(schema_table_record(every, out, olen, NULL, 0, -1,
					      &again, &alen, &last),
			  0);
		CHECK(again && alen == olen && memcmp(again, out, olen) == 0);
		CHECK_INT(schema_record_prepare(out, olen, &key, "id", NULL, 0,
						0, 0, &prep, &plen, &last),
			  0);
		CHECK(prep && plen == olen && memcmp(prep, out, olen) == 0);
		free(canon);
		free(out);
		free(again);
		free(prep);
	}
	CHECK_WRITE(every,
		    "{\"s\": \"a/b\", \"f\": 1.50, \"d\": \"2026-02-15\", "
		    "\"a\": 1E+2}",
		    NULL, -1,
		    "{\n  \"id\": 1,\n  \"s\": \"a/b\",\n  \"f\": 1.50,\n  "
		    "\"d\": \"2026-02-15T00:00:00.000Z\",\n  \"a\": 1E+2\n}\n");
}

static void test_messages(void)
{
	char body[400], expect[200];
	size_t i;

	CHECK_REFUSED(every, "{\"n\": \"five\"}", NULL, -1,
		      "\"n\": expected Int, got \"five\"");
	CHECK_REFUSED(every, "{\"n\": 3.5}", NULL, -1,
		      "\"n\": expected Int, got 3.5");
	CHECK_REFUSED(every, "{\"n\": 3.0}", NULL, -1,
		      "\"n\": expected Int, got 3.0");
	CHECK_REFUSED(every, "{\"l\": 18446744073709551615}", NULL, -1,
		      "\"l\": expected Long, got 18446744073709551615");
	CHECK_REFUSED(every, "{\"tags\": \"x\"}", NULL, -1,
		      "\"tags\": expected [String], got \"x\"");
	CHECK_REFUSED(every, "{\"s\": {\"a\": [1, 2]}}", NULL, -1,
		      "\"s\": expected String, got {\"a\":[1,2]}");
	CHECK_REFUSED(every, "{\"i\": true}", NULL, -1,
		      "\"i\": expected ID, got true");
	CHECK_REFUSED(every, "{\"b\": \"a/b\"}", NULL, -1,
		      "\"b\": expected Boolean, got \"a/b\"");
	CHECK_REFUSED(every, "{\"f\": \"1\"}", NULL, -1,
		      "\"f\": expected Float, got \"1\"");
	CHECK_REFUSED(every, "{\"g\": \"1e3\"}", NULL, -1,
		      "\"g\": expected BigInt (an integer, or a string of "
		      "digits), got \"1e3\"");
	CHECK_REFUSED(dog, "{\"name\": \"a\", \"born\": \"2026-02-30\"}", NULL,
		      -1,
		      "\"born\": expected Date (ISO 8601 text or epoch "
		      "milliseconds), got \"2026-02-30\"");
	CHECK_REFUSED(every, "{\"s\": 1, \"n\": \"x\"}", NULL, -1,
		      "\"s\": expected String, got 1");
	CHECK_REFUSED(every, "{\"n\": \"x\", \"s\": 1}", NULL, -1,
		      "\"n\": expected Int, got \"x\"");

	/* long values are cut at 60 bytes, and "..." says so */
	strcpy(body, "{\"n\": \"");
	for (i = 0; i < 100; i++)
		strcat(body, "x");
	strcat(body, "\"}");
	strcpy(expect, "\"n\": expected Int, got \"");
	for (i = 0; i < 59; i++)
		strcat(expect, "x");
	strcat(expect, "...");
	CHECK_REFUSED(every, body, NULL, -1, expect);
	/* ... never inside a character */
	strcpy(body, "{\"n\": \"");
	for (i = 0; i < 50; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\"}");
	strcpy(expect, "\"n\": expected Int, got \"");
	for (i = 0; i < 29; i++)
		strcat(expect, "\xc3\xa9");
	strcat(expect, "...");
	CHECK_REFUSED(every, body, NULL, -1, expect);
	/* exactly 60 bytes is not cut */
	strcpy(body, "{\"n\": \"");
	strcpy(expect, "\"n\": expected Int, got \"");
	for (i = 0; i < 58; i++) {
		strcat(body, "y");
		strcat(expect, "y");
	}
	strcat(body, "\"}");
	strcat(expect, "\"");
	CHECK_REFUSED(every, body, NULL, -1, expect);
	/* one line, whatever the value holds */
	CHECK_REFUSED(every, "{\"n\": \"a\\nb\\u0001\"}", NULL, -1,
		      "\"n\": expected Int, got \"a\\nb\\u0001\"");
}

/* ---- the JSON Schema --------------------------------------------------- */

/*
 * A small validator for the keywords schema_table_json_schema() writes, by
 * the letter of draft 2020-12 ("integer" takes 3.0; "format" only
 * annotates).  v NULL is JSON null.  Returns 1 valid, 0 not, -1 for a
 * keyword it does not know (which fails the test: the validator must grow
 * with the schema).
 */
static int js_valid(struct json_object *s, struct json_object *v);

static int js_type(const char *t, struct json_object *v)
{
	enum json_type jt = json_object_get_type(v);
	double d;

	if (strcmp(t, "null") == 0)
		return jt == json_type_null;
	if (strcmp(t, "boolean") == 0)
		return jt == json_type_boolean;
	if (strcmp(t, "string") == 0)
		return jt == json_type_string;
	if (strcmp(t, "array") == 0)
		return jt == json_type_array;
	if (strcmp(t, "object") == 0)
		return jt == json_type_object;
	if (strcmp(t, "number") == 0)
		return jt == json_type_int || jt == json_type_double;
	if (strcmp(t, "integer") == 0) {
		if (jt == json_type_int)
			return 1;
		d = json_object_get_double(v);
		return jt == json_type_double && isfinite(d) && floor(d) == d;
	}
	return -1;
}

/* Compare number v with bound b (an integer): <0, 0, >0. */
static int js_cmp(struct json_object *v, struct json_object *b)
{
	int64_t bi = json_object_get_int64(b), vi;

	if (json_object_is_type(v, json_type_int)) {
		vi = json_object_get_int64(v);
		if (vi == INT64_MAX && json_object_get_uint64(v) > INT64_MAX)
			return 1;
		return vi < bi ? -1 : vi > bi;
	}
	return json_object_get_double(v) < (double)bi	? -1
	       : json_object_get_double(v) > (double)bi ? 1
							: 0;
}

static int js_valid(struct json_object *s, struct json_object *v)
{
	enum json_type jt = json_object_get_type(v);
	struct json_object *props = NULL, *x;
	size_t i, n;
	int r;

	json_object_object_get_ex(s, "properties", &props);
	json_object_object_foreach(s, kw, arg)
	{
		if (!strcmp(kw, "$schema") || !strcmp(kw, "title") ||
		    !strcmp(kw, "description") || !strcmp(kw, "$comment") ||
		    !strcmp(kw, "readOnly") || !strcmp(kw, "format"))
			continue;
		if (!strcmp(kw, "type")) {
			if (json_object_is_type(arg, json_type_string)) {
				r = js_type(json_object_get_string(arg), v);
			} else {
				n = json_object_array_length(arg);
				for (r = 0, i = 0; i < n && r == 0; i++)
					r = js_type(
					    json_object_get_string(
						json_object_array_get_idx(arg,
									  i)),
					    v);
			}
			if (r != 1)
				return r;
		} else if (!strcmp(kw, "minimum") || !strcmp(kw, "maximum")) {
			if (jt != json_type_int && jt != json_type_double)
				continue;
			r = js_cmp(v, arg);
			if (kw[1] == 'i' ? r < 0 : r > 0)
				return 0;
		} else if (!strcmp(kw, "pattern")) {
			const char *p;

			if (strcmp(json_object_get_string(arg), "^-?[0-9]+$"))
				return -1;
			if (jt != json_type_string)
				continue;
			p = json_object_get_string(v);
			n = (size_t)json_object_get_string_len(v);
			i = n && p[0] == '-';
			if (i == n)
				return 0;
			for (; i < n; i++)
				if (p[i] < '0' || p[i] > '9')
					return 0;
		} else if (!strcmp(kw, "anyOf")) {
			n = json_object_array_length(arg);
			for (r = 0, i = 0; i < n && r == 0; i++)
				r = js_valid(json_object_array_get_idx(arg, i),
					     v);
			if (r != 1)
				return r;
		} else if (!strcmp(kw, "items")) {
			if (jt != json_type_array)
				continue;
			n = json_object_array_length(v);
			for (i = 0; i < n; i++) {
				r = js_valid(arg,
					     json_object_array_get_idx(v, i));
				if (r != 1)
					return r;
			}
		} else if (!strcmp(kw, "properties")) {
			if (jt != json_type_object)
				continue;
			json_object_object_foreach(arg, name, sub)
			{
				if (!json_object_object_get_ex(v, name, &x))
					continue;
				r = js_valid(sub, x);
				if (r != 1)
					return r;
			}
		} else if (!strcmp(kw, "required")) {
			if (jt != json_type_object)
				continue;
			n = json_object_array_length(arg);
			for (i = 0; i < n; i++)
				if (!json_object_object_get_ex(
					v,
					json_object_get_string(
					    json_object_array_get_idx(arg, i)),
					NULL))
					return 0;
		} else if (!strcmp(kw, "additionalProperties")) {
			if (json_object_get_boolean(arg))
				return -1;
			if (jt != json_type_object)
				continue;
			json_object_object_foreach(v, name, val)
			{
				(void)val;
				if (!props || !json_object_object_get_ex(
						  props, name, NULL))
					return 0;
			}
		} else {
			fprintf(stderr, "unknown keyword %s\n", kw);
			return -1;
		}
	}
	return 1;
}

/* The JSON Schema of t, parsed; NULL if it does not parse. */
static struct json_object *schema_of(const struct schema_table *t)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL;
	size_t len = 0;
	char *s = schema_table_json_schema(t, &len);

	if (s && tok && strlen(s) == len && len && s[len - 1] == '\n') {
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		o = json_tokener_parse_ex(tok, s, (int)len);
		/* json-c takes the whitespace after the object too */
		if (o && json_tokener_get_parse_end(tok) != len) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	free(s);
	return o;
}

/* Whether record text validates against schema. */
static int valid_text(struct json_object *schema, const char *text)
{
	struct json_object *v = json_tokener_parse(text);
	int r = v ? js_valid(schema, v) : -1;

	json_object_put(v);
	return r;
}

#define CHECK_PROP(schema, name, expect)                                       \
	do {                                                                   \
		struct json_object *p_ = NULL, *q_ = NULL;                     \
		json_object_object_get_ex(schema, "properties", &p_);          \
		json_object_object_get_ex(p_, name, &q_);                      \
		CHECK_STR(q_ ? json_object_to_json_string_ext(                 \
				   q_, JSON_C_TO_STRING_PLAIN |                \
					   JSON_C_TO_STRING_NOSLASHESCAPE)     \
			     : NULL,                                           \
			  expect);                                             \
	} while (0)

static void test_json_schema(void)
{
	static const char small_sdl[] =
	    "type Dog @table(table: \"dog\") @sealed {\n"
	    "  id: ID @primaryKey\n"
	    "  name: String!\n"
	    "  tags: [Int!]\n"
	    "  any: Any\n"
	    "}\n";
	struct schema_doc sd = {0};
	const struct schema_table *st = load(small_sdl, &sd);
	struct json_object *s, *x;
	size_t len;
	char *p;

	p = schema_table_json_schema(st, &len);
	CHECK_STR(p, "{\n"
		     "  \"$schema\": "
		     "\"https://json-schema.org/draft/2020-12/schema\",\n"
		     "  \"title\": \"dog\",\n"
		     "  \"type\": \"object\",\n"
		     "  \"properties\": {\n"
		     "    \"id\": {\n"
		     "      \"type\": [\n"
		     "        \"string\",\n"
		     "        \"integer\"\n"
		     "      ],\n"
		     "      \"minimum\": -9223372036854775808,\n"
		     "      \"maximum\": 9223372036854775807\n"
		     "    },\n"
		     "    \"name\": {\n"
		     "      \"type\": \"string\"\n"
		     "    },\n"
		     "    \"tags\": {\n"
		     "      \"type\": [\n"
		     "        \"array\",\n"
		     "        \"null\"\n"
		     "      ],\n"
		     "      \"items\": {\n"
		     "        \"type\": \"integer\",\n"
		     "        \"minimum\": -2147483648,\n"
		     "        \"maximum\": 2147483647\n"
		     "      }\n"
		     "    },\n"
		     "    \"any\": {}\n"
		     "  },\n"
		     "  \"required\": [\n"
		     "    \"name\"\n"
		     "  ],\n"
		     "  \"additionalProperties\": false\n"
		     "}\n");
	CHECK(p && len == strlen(p));
	free(p);
	schema_doc_free(&sd);

	s = schema_of(every);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(!json_object_object_get_ex(s, "additionalProperties", NULL));
	CHECK(json_object_object_get_ex(s, "required", &x) &&
	      json_object_array_length(x) == 0);
	CHECK_PROP(s, "id",
		   "{\"type\":[\"string\",\"integer\"],\"minimum\":"
		   "-9223372036854775808,\"maximum\":9223372036854775807}");
	CHECK_PROP(s, "a", "{}");
	CHECK_PROP(s, "i",
		   "{\"type\":[\"string\",\"integer\",\"null\"],\"minimum\":"
		   "-9223372036854775808,\"maximum\":9223372036854775807}");
	CHECK_PROP(s, "s", "{\"type\":[\"string\",\"null\"]}");
	CHECK_PROP(s, "n",
		   "{\"type\":[\"integer\",\"null\"],\"minimum\":-2147483648,"
		   "\"maximum\":2147483647}");
	CHECK_PROP(s, "l",
		   "{\"type\":[\"integer\",\"null\"],\"minimum\":"
		   "-9223372036854775808,\"maximum\":9223372036854775807}");
	CHECK_PROP(s, "f", "{\"type\":[\"number\",\"null\"]}");
	CHECK_PROP(s, "b", "{\"type\":[\"boolean\",\"null\"]}");
	CHECK_PROP(s, "g",
		   "{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\","
		   "\"pattern\":\"^-?[0-9]+$\"},{\"type\":\"null\"}]}");
	CHECK_PROP(s, "tags",
		   "{\"type\":[\"array\",\"null\"],\"items\":{\"type\":["
		   "\"string\",\"null\"]}}");
	CHECK_PROP(s, "nums",
		   "{\"type\":[\"array\",\"null\"],\"items\":{\"type\":"
		   "\"integer\",\"minimum\":-2147483648,\"maximum\":"
		   "2147483647}}");
	CHECK_PROP(s, "anys", "{\"type\":[\"array\",\"null\"],\"items\":{}}");
	CHECK_PROP(s, "c",
		   "{\"type\":[\"integer\",\"null\"],\"minimum\":"
		   "-9223372036854775808,\"maximum\":9223372036854775807,"
		   "\"readOnly\":true,\"$comment\":\"@createdTime: set by "
		   "recordfs when the record is first written\"}");
	{
		struct json_object *p_ = NULL, *d = NULL, *any = NULL;
		const char *desc;

		json_object_object_get_ex(s, "properties", &p_);
		json_object_object_get_ex(p_, "d", &d);
		CHECK(json_object_object_get_ex(d, "anyOf", &any));
		CHECK_STR(json_object_to_json_string_ext(
			      any, JSON_C_TO_STRING_PLAIN |
				       JSON_C_TO_STRING_NOSLASHESCAPE),
			  "[{\"type\":\"string\",\"format\":\"date-time\"},{"
			  "\"type\":\"string\",\"format\":\"date\"},{\"type\":"
			  "\"integer\",\"minimum\":-62167219200000,\"maximum\":"
			  "253402300799999},{\"type\":\"null\"}]");
		desc = json_object_get_string(
		    json_object_object_get(d, "description"));
		CHECK(desc && strstr(desc, "ISO 8601") &&
		      strstr(desc, "milliseconds"));
	}

	/* some records by hand against the rules */
	CHECK_INT(valid_text(s,
			     "{\"id\": 1, \"n\": 5, \"tags\": [\"a\", null], "
			     "\"zz\": {}}"),
		  1);
	CHECK_INT(valid_text(s, "{\"id\": \"x\", \"n\": null, \"g\": \"-12\", "
				"\"d\": 0, \"nums\": [1]}"),
		  1);
	CHECK_INT(valid_text(s, "{\"id\": 1, \"n\": 2147483648}"), 0);
	CHECK_INT(valid_text(s, "{\"id\": 1, \"n\": \"5\"}"), 0);
	CHECK_INT(valid_text(s, "{\"id\": 1, \"nums\": [null]}"), 0);
	CHECK_INT(valid_text(s, "{\"id\": null}"), 0);
	CHECK_INT(valid_text(s, "{\"id\": 1, \"g\": \"1.5\"}"), 0);
	CHECK_INT(valid_text(s, "{\"id\": 1, \"l\": 9223372036854775808}"), 0);
	CHECK_INT(valid_text(s, "{\"id\": 1, \"d\": -62167219200001}"), 0);
	json_object_put(s);

	s = schema_of(dog);
	CHECK(s != NULL);
	CHECK_INT(
	    valid_text(s, "{\"name\": \"Rex\", \"born\": \"2026-02-15\"}"), 1);
	CHECK_INT(valid_text(s, "{\"name\": \"Rex\", \"color\": \"red\"}"), 0);
	CHECK_INT(valid_text(s, "{\"born\": \"2026-02-15\"}"), 0);
	CHECK_INT(valid_text(s, "{\"name\": null}"), 0);
	json_object_put(s);

	/* required lists the '!' attributes but the key and the times */
	s = schema_of(strict);
	CHECK(s && json_object_object_get_ex(s, "required", &x) &&
	      strcmp(json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN),
		     "[\"s\",\"d\",\"nums\",\"any\"]") == 0);
	CHECK_PROP(s, "id", "{}");
	CHECK_PROP(s, "made",
		   "{\"type\":[\"integer\",\"null\"],\"minimum\":"
		   "-9223372036854775808,\"maximum\":9223372036854775807,"
		   "\"readOnly\":true,\"$comment\":\"@createdTime: set by "
		   "recordfs when the record is first written\"}");
	CHECK_PROP(s, "nums",
		   "{\"type\":\"array\",\"items\":{\"type\":\"integer\","
		   "\"minimum\":-2147483648,\"maximum\":2147483647}}");
	json_object_put(s);

	s = schema_of(stamp);
	CHECK(s != NULL);
	CHECK(strstr(json_object_to_json_string(s), "@updatedTime") != NULL);
	json_object_put(s);
}

/* ---- fuzz -------------------------------------------------------------- */

static const char *const scalars[] = {
    "0",
    "1",
    "-1",
    "-0",
    "3.0",
    "3.5",
    "1e2",
    "-1.5E-7",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551615",
    "1771150830123",
    "253402300799999",
    "253402300800000",
    "-62167219200000",
    "-62167219200001",
    "true",
    "false",
    "null",
    "null",
    "\"\"",
    "\"x\"",
    "\"007\"",
    "\"-5\"",
    "\"-\"",
    "\"12345678901234567890123\"",
    "\"2026-02-15\"",
    "\"2026-02-30\"",
    "\"2026-02-15T10:20:30.5+02:00\"",
    "\"2026-02-15 10:20\"",
    "\"9999-12-31T23:59:59.999Z\"",
    "\"0000-01-01T00:00-00:01\"",
    "\"2026-02-15T10:20:30.123Z\"",
    "\"\\u00e9\\u0000\"",
    "\"a\\\"b/c\"",
    "{}",
    "[]",
};

static const char *const names[] = {
    "a",     "i",
    "s",     "n",
    "l",     "f",
    "b",     "d",
    "g",     "tags",
    "nums",  "anys",
    "dates", "bigs",
    "c",     "u",
    "any",   "made",
    "zz",    "Id",
    "x y",   "__createdtime__",
};

static void gen_value(struct buf *b, int depth)
{
	char tmp[96];
	size_t i, n;
	int r0, r1, y, mo, d, h, mi, s, fw, f;
	char sep;
	const char *tz;
	int64_t num;
	size_t den;

	switch (rnd_below(depth > 2 ? 6 : 9)) {
	case 0: /* an integer near a boundary or anywhere */
		switch (rnd_below(3)) {
		case 0:
			r0 = (int)rnd();
			r1 = (int)rnd_below(3);
			snprintf(tmp, sizeof(tmp), "%d", r0 + r1 - 1);
			break;
		case 1:
			snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)rnd());
			break;
		default:
			snprintf(tmp, sizeof(tmp), "%" PRIu64, rnd());
		}
		add(b, tmp);
		break;
	case 1: /* a date-like string, often broken */
		y = (int)rnd_below(10000);
		mo = (int)rnd_below(14);
		d = (int)rnd_below(33);
		sep = " Tt-"[rnd_below(4)];
		h = (int)rnd_below(26);
		mi = (int)rnd_below(61);
		s = (int)rnd_below(61);
		fw = (int)rnd_below(4) + 1;
		f = (int)rnd_below(10000);
		tz = rnd_below(2) ? "Z" : rnd_below(2) ? "+05:30" : "";
		snprintf(tmp, sizeof(tmp),
			 "\"%04d-%02d-%02d%c%02d:%02d:%02d.%0*d%s\"", y, mo, d,
			 sep, h, mi, s, fw, f, tz);
		if (rnd_below(4) == 0) { /* cut short */
			i = 11 + rnd_below(strlen(tmp) - 12);
			tmp[i] = '"';
			tmp[i + 1] = '\0';
		}
		add(b, tmp);
		break;
	case 2: /* a digit string */
		add(b, "\"");
		if (rnd_below(3) == 0)
			add(b, "-");
		for (n = rnd_below(30), i = 0; i < n; i++) {
			tmp[0] = (char)('0' + rnd_below(10));
			tmp[1] = '\0';
			add(b, tmp);
		}
		add(b, "\"");
		break;
	case 3: /* a double */
		num = (int64_t)rnd();
		den = rnd_below(1000) + 1;
		snprintf(tmp, sizeof(tmp), "%.17g", (double)num / (double)den);
		if (!strpbrk(tmp, ".e"))
			strcat(tmp, ".5");
		add(b, tmp);
		break;
	case 4:
	case 5:
		add(b,
		    scalars[rnd_below(sizeof(scalars) / sizeof(scalars[0]))]);
		break;
	case 6:
	case 7: /* an array */
		add(b, "[");
		for (n = rnd_below(5), i = 0; i < n; i++) {
			if (i)
				add(b, ", ");
			gen_value(b, depth + 1);
		}
		add(b, "]");
		break;
	default: /* an object */
		add(b, "{");
		for (n = rnd_below(4), i = 0; i < n; i++) {
			snprintf(tmp, sizeof(tmp), "%s\"k%d\": ", i ? ", " : "",
				 (int)i);
			add(b, tmp);
			gen_value(b, depth + 1);
		}
		add(b, "}");
	}
}

/* A body: a few attributes, declared or not, with random values. */
static void gen_body(struct buf *b, const struct schema_table *t)
{
	size_t i, n = rnd_below(8);
	char tmp[64];

	b->len = 0;
	b->s[0] = '\0';
	add(b, "{");
	for (i = 0; i < n; i++) {
		const char *name;

		if (rnd_below(3) == 0)
			name = t->attrs[rnd_below(t->nattrs)].name;
		else
			name =
			    names[rnd_below(sizeof(names) / sizeof(names[0]))];
		if (schema_table_pk(t) &&
		    strcmp(name, schema_table_pk(t)->name) == 0)
			continue; /* the file name's to say */
		snprintf(tmp, sizeof(tmp), "%s\"%s\": ", i ? ", " : "", name);
		add(b, tmp);
		/* the attribute's own kind of value half of the time */
		gen_value(b, rnd_below(2) ? 0 : 3);
	}
	add(b, "}");
}

/*
 * Random bodies against every type, sealed and not: the result is 0 or
 * EINVAL, a refusal has a one-line message, a record stored is canonical
 * and stays the same when checked again, and it satisfies the table's JSON
 * Schema; when only checking, a record the JSON Schema refuses is refused.
 */
static void fuzz(void)
{
	const struct schema_table *tables[] = {every, strict, dog, stamp3};
	struct json_object *schemas[4];
	static struct buf b;
	char *prev[4] = {NULL, NULL, NULL, NULL};
	int n, bad = 0, accepted = 0, refused = 0, skipped = 0;
	size_t k;

	for (k = 0; k < 4; k++)
		schemas[k] = schema_of(tables[k]);
	for (n = 0; n < 20000; n++) {
		const struct schema_table *t = tables[n % 4];
		struct schema_key key = {SCHEMA_KEY_INT, (int64_t)rnd_below(5),
					 NULL, 0};
		char *canon = NULL, *out = NULL, *again = NULL;
		size_t clen, olen = 0, alen;
		struct schema_err err = {{0}};
		int64_t now =
		    rnd_below(2) ? -1 : (int64_t)(rnd() % 4000000000000);
		const char *old = NULL;
		int rc, v;

		k = (size_t)n % 4;
		if (t->attrs[0].type == SCHEMA_T_ANY && rnd_below(2)) {
			key.type = SCHEMA_KEY_STR;
			key.s = "k";
			key.len = 1;
		}
		gen_body(&b, t);
		if (schema_record_prepare(b.s, b.len, &key,
					  schema_table_pk(t)->name, NULL, 0, 0,
					  0, &canon, &clen, &err)) {
			skipped++;
			continue;
		}
		switch (rnd_below(3)) {
		case 0:
			old = prev[k];
			break;
		case 1:
			old = rnd_below(2) ? "{\"c\": \"x\", \"made\": 5}"
					   : "{not json";
		}
		rc = schema_table_record(t, canon, clen, old,
					 old ? strlen(old) : 0, now, &out,
					 &olen, &err);
		v = schemas[k] ? valid_text(schemas[k], canon) : -1;
		if (rc != 0 && rc != EINVAL) {
			fprintf(stderr, "rc %d for %s\n", rc, b.s);
			bad++;
		} else if (rc == EINVAL) {
			refused++;
			if (out || !err.msg[0] || strchr(err.msg, '\n')) {
				fprintf(stderr, "bad refusal for %s: %s\n", b.s,
					err.msg);
				bad++;
			}
		} else {
			accepted++;
			if (valid_text(schemas[k], out) != 1) {
				fprintf(stderr, "schema refuses %s", out);
				bad++;
			}
			rc = schema_table_record(t, out, olen, NULL, 0, -1,
						 &again, &alen, &err);
			if (rc || alen != olen || memcmp(again, out, olen)) {
				fprintf(stderr, "not stable: %s\n", out);
				bad++;
			}
			free(again);
			free(prev[k]);
			prev[k] = out;
			out = NULL;
		}
		/* when only checking, the JSON Schema refuses no less */
		if (now < 0 && v == 0 && rc == 0) {
			fprintf(stderr,
				"accepted what the schema refuses: %s\n",
				canon);
			bad++;
		}
		if (v < 0) {
			fprintf(stderr, "validator failed on %s\n", canon);
			bad++;
		}
		free(out);
		free(canon);
	}
	for (k = 0; k < 4; k++) {
		free(prev[k]);
		json_object_put(schemas[k]);
	}
	CHECK_INT(bad, 0);
	/* both outcomes must be common, or the loop tests little */
	check(accepted > 2000 && refused > 2000 && skipped < 2000, __FILE__,
	      __LINE__, "accepted %d, refused %d, skipped %d", accepted,
	      refused, skipped);
}

int main(void)
{
	rng_state = 0x2545f4914f6cdd1dull; /* this file's sequence */
	every = load(every_sdl, &every_doc);
	dog = load(dog_sdl, &dog_doc);
	req = load(req_sdl, &req_doc);
	stamp = load(stamp_sdl, &stamp_doc);
	stamp2 = load(stamp2_sdl, &stamp2_doc);
	stamp3 = load(stamp3_sdl, &stamp3_doc);
	strict = load(strict_sdl, &strict_doc);

	test_lookup();
	test_scalars();
	test_dates();
	test_dates_random();
	test_lists();
	test_required();
	test_sealed();
	test_keys();
	test_times();
	test_too_big();
	test_canonical();
	test_messages();
	test_json_schema();
	fuzz();

	schema_doc_free(&every_doc);
	schema_doc_free(&dog_doc);
	schema_doc_free(&req_doc);
	schema_doc_free(&stamp_doc);
	schema_doc_free(&stamp2_doc);
	schema_doc_free(&stamp3_doc);
	schema_doc_free(&strict_doc);
	return checks_done();
}
