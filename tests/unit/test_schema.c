/*
 * test_schema: unit tests for schema/ (names, ordered keys, the JSON check,
 * the canonical text).  A plain program: each failing check prints its
 * file:line, the last line says "N passed, N failed", and the exit status
 * is non-zero when anything failed.
 *
 * Expected bytes are written out literally, and SHA-256 values come from
 * Python's hashlib, so the tests do not check the code against itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#include "check.h"

#define CHECK_STR(a, alen, b) CHECK_MEM(a, alen, b, strlen(b))

static struct schema_key str_key(const char *s, size_t len)
{
	struct schema_key k = {.type = SCHEMA_KEY_STR, .s = s, .len = len};

	return k;
}

static struct schema_key int_key(int64_t i)
{
	struct schema_key k = {.type = SCHEMA_KEY_INT, .i = i};

	return k;
}

static int keys_equal(const struct schema_key *a, const struct schema_key *b)
{
	if (a->type != b->type)
		return 0;
	if (a->type == SCHEMA_KEY_INT)
		return a->i == b->i;
	return a->len == b->len && (a->len == 0 || !memcmp(a->s, b->s, a->len));
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* ---- names ----------------------------------------------------------- */

struct name_case {
	const char *key;
	size_t len; /* 0: strlen */
	const char *name;
};

static const struct name_case string_names[] = {
    {"a/b", 0, "a%2Fb.json"},
    {"50%", 0, "50%25.json"},
    {"..", 0, "%2E..json"},
    {".", 0, "%2E.json"},
    {".hidden", 0, "%2Ehidden.json"},
    {"a.b.", 0, "a.b..json"},
    {"h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93", 0,
     "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93.json"},
    {"tab\there", 0, "tab%09here.json"},
    {"\x01\x7f", 0, "%01%7F.json"},
    {"a\0b", 3, "a%00b.json"},
    {"\0", 1, "%00.json"},
    {"line\nbreak", 0, "line%0Abreak.json"},
    {"2", 0, "%32.json"},
    {"0", 0, "%30.json"},
    {"-7", 0, "%2D7.json"},
    {"-9223372036854775808", 0, "%2D9223372036854775808.json"},
    {"9223372036854775807", 0, "%39223372036854775807.json"},
    /* not canonical integers, so plain strings */
    {"9223372036854775808", 0, "9223372036854775808.json"},
    {"-9223372036854775809", 0, "-9223372036854775809.json"},
    {"007", 0, "007.json"},
    {"01", 0, "01.json"},
    {"-0", 0, "-0.json"},
    {"+1", 0, "+1.json"},
    {"1.5", 0, "1.5.json"},
    {"1e3", 0, "1e3.json"},
    {"-", 0, "-.json"},
    {" 2", 0, " 2.json"},
    {"x.json", 0, "x.json.json"},
    {"%~", 0, "%25~.json"},
    {"~", 0, "~.json"},
    {"Zelda", 0, "Zelda.json"},
};

static void test_string_names(void)
{
	char name[SCHEMA_NAME_MAX + 1], buf[SCHEMA_KEYBUF_MAX];
	struct schema_err err;
	struct schema_key k, got;
	size_t i, nl;

	for (i = 0; i < sizeof(string_names) / sizeof(string_names[0]); i++) {
		const struct name_case *c = &string_names[i];

		k = str_key(c->key, c->len ? c->len : strlen(c->key));
		nl = schema_key_to_name(&k, name);
		CHECK_STR(name, nl, c->name);
		CHECK_INT(strlen(name), nl);
		CHECK_INT(schema_name_to_key(c->name, strlen(c->name), &got,
					     buf, sizeof(buf), &err),
			  0);
		CHECK(keys_equal(&got, &k));
	}
}

static void test_int_names(void)
{
	static const struct {
		int64_t i;
		const char *name;
	} cases[] = {
	    {0, "0.json"},
	    {2, "2.json"},
	    {-7, "-7.json"},
	    {INT64_MAX, "9223372036854775807.json"},
	    {INT64_MIN, "-9223372036854775808.json"},
	};
	char name[SCHEMA_NAME_MAX + 1], buf[SCHEMA_KEYBUF_MAX];
	struct schema_key k, got;
	size_t i, nl;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = int_key(cases[i].i);
		nl = schema_key_to_name(&k, name);
		CHECK_STR(name, nl, cases[i].name);
		memset(&got, 0, sizeof(got));
		CHECK_INT(
		    schema_name_to_key(name, nl, &got, buf, sizeof(buf), NULL),
		    0);
		CHECK_INT(got.type, SCHEMA_KEY_INT);
		CHECK_INT(got.i, cases[i].i);
	}
	/* a name that is a string however it looks */
	CHECK_INT(
	    schema_name_to_key("007.json", 8, &got, buf, sizeof(buf), NULL), 0);
	CHECK_INT(got.type, SCHEMA_KEY_STR);
	CHECK_STR(got.s, got.len, "007");
}

static void test_bad_names(void)
{
	static const struct {
		const char *name;
		size_t len;
		int rc;
		const char *msg; /* part of the message, or NULL */
	} cases[] = {
	    {"%41.json", 0, EINVAL, "\"A.json\""},
	    {"%zz.json", 0, EINVAL, "%zz"},
	    {".json", 0, EINVAL, NULL},
	    {"%2f.json", 0, EINVAL, "\"%2F.json\""},
	    {"%.json", 0, EINVAL, "percent"},
	    {"a%2.json", 0, EINVAL, "percent"},
	    {"a%2Eb.json", 0, EINVAL, "\"a.b.json\""},
	    {"%32%33.json", 0, EINVAL, "\"%323.json\""},
	    {"%2D0.json", 0, EINVAL, "\"-0.json\""},
	    {"%C3%A9.json", 0, EINVAL, "\"\xc3\xa9.json\""},
	    {"a b%20.json", 0, EINVAL, NULL},
	    {"a/b.json", 0, EINVAL, "\"a%2Fb.json\""},
	    {"a\tb.json", 0, EINVAL, "\"a%09b.json\""},
	    {"a\0b.json", 8, EINVAL, NULL},
	    {"%~abc.json", 0, EINVAL, "percent"},
	    /* invalid UTF-8: bad byte, overlong, surrogate, cut short */
	    {"\xff\xfe bin.json", 0, EINVAL, "UTF-8"},
	    {"\xc0\x80.json", 0, EINVAL, "UTF-8"},
	    {"\xed\xa0\x80.json", 0, EINVAL, "UTF-8"},
	    {"\xf4\x90\x80\x80.json", 0, EINVAL, "UTF-8"},
	    {"\xe2\x9c.json", 0, EINVAL, "UTF-8"},
	    /* not record names: scratch files */
	    {"", 0, ENOENT, NULL},
	    {"json", 0, ENOENT, NULL},
	    {"notes.txt", 0, ENOENT, NULL},
	    {"2.json~", 0, ENOENT, NULL},
	    {"2.JSON", 0, ENOENT, NULL},
	    {".2.json.swp", 0, ENOENT, NULL},
	    {".hidden.json", 0, ENOENT, NULL},
	    {"..json", 0, ENOENT, NULL},
	    {"2.json\0", 7, ENOENT, NULL},
	};
	char buf[SCHEMA_KEYBUF_MAX];
	struct schema_err err;
	struct schema_key k;
	size_t i, len;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len ? cases[i].len : strlen(cases[i].name);
		strcpy(err.msg, "(none)");
		rc = schema_name_to_key(cases[i].name, len, &k, buf,
					sizeof(buf), &err);
		check(rc == cases[i].rc, __FILE__, __LINE__,
		      "name \"%s\": rc %d, expected %d", cases[i].name, rc,
		      cases[i].rc);
		if (cases[i].msg)
			check(strstr(err.msg, cases[i].msg) != NULL, __FILE__,
			      __LINE__,
			      "name \"%s\": message \"%s\" lacks \"%s\"",
			      cases[i].name, err.msg, cases[i].msg);
	}
}

static void test_long_names(void)
{
	static const char k300_sha[] =
	    "17b16d8ef494060fefa36a6a41567b8c32d213a17e02b7eeae86158cc4495461";
	static const char check300_sha[] =
	    "4bdbc6623d9b03171ae5f25f9731284694a278f57b55f4f2e4a0807a2d65c7ee";
	char name[SCHEMA_NAME_MAX + 1], buf[SCHEMA_KEYBUF_MAX], s[1024];
	char want[SCHEMA_NAME_MAX + 64], dhex[65];
	uint8_t digest[32], kdigest[32];
	struct schema_key k, got;
	size_t nl, i;

	/* 250 bytes of stem still fit: a 255-byte name */
	memset(s, 'x', 251);
	k = str_key(s, 250);
	nl = schema_key_to_name(&k, name);
	CHECK_INT(nl, 255);
	memcpy(want, s, 250);
	strcpy(want + 250, ".json");
	CHECK_STR(name, nl, want);
	CHECK_INT(schema_name_to_key(name, nl, &got, buf, sizeof(buf), NULL),
		  0);
	CHECK(keys_equal(&got, &k));
	CHECK_INT(schema_name_digest(name, nl, digest), ENOENT);

	/* 251 is hashed, and the name written out in full is refused */
	k = str_key(s, 251);
	nl = schema_key_to_name(&k, name);
	CHECK(nl <= SCHEMA_NAME_MAX);
	CHECK(strstr(name, "%~") != NULL);
	memcpy(want, s, 251);
	strcpy(want + 251, ".json");
	CHECK_INT(schema_name_to_key(want, 256, &got, buf, sizeof(buf), NULL),
		  EINVAL);

	/* "k" * 300: the digest is the key's SHA-256, as sha256sum says */
	memset(s, 'k', 300);
	k = str_key(s, 300);
	nl = schema_key_to_name(&k, name);
	CHECK_INT(nl, 255);
	memset(want, 'k', 184);
	sprintf(want + 184, "%%~%s.json", k300_sha);
	CHECK_STR(name, nl, want);
	CHECK_INT(schema_name_to_key(name, nl, &got, buf, sizeof(buf), NULL),
		  EAGAIN);
	CHECK_INT(schema_name_digest(name, nl, digest), 0);
	hex(digest, 32, dhex);
	CHECK_STR(dhex, 64, k300_sha);
	schema_key_digest(&k, kdigest);
	CHECK(memcmp(digest, kdigest, 32) == 0);

	/* the prefix never splits an escape... */
	memset(s, '/', 84);
	k = str_key(s, 84);
	nl = schema_key_to_name(&k, name);
	CHECK(nl <= SCHEMA_NAME_MAX);
	for (i = 0; i < 61; i++)
		memcpy(want + 3 * i, "%2F", 3);
	want[183] = '\0';
	CHECK(strncmp(name, want, 183) == 0);
	CHECK(strncmp(name + 183, "%~", 2) == 0);
	CHECK_INT(schema_name_to_key(name, nl, &got, buf, sizeof(buf), NULL),
		  EAGAIN);
	/* ...nor a UTF-8 character */
	for (i = 0; i < 100; i++)
		memcpy(s + 3 * i, "\xe2\x9c\x93", 3);
	k = str_key(s, 300);
	nl = schema_key_to_name(&k, name);
	memcpy(want, s, 183);
	sprintf(want + 183, "%%~%s.json", check300_sha);
	CHECK_STR(name, nl, want);

	/* the hashed tail is lower-case hex; anything else is no such name */
	for (i = 0; name[i]; i++)
		if (name[i] >= 'a' && name[i] <= 'f')
			name[i] = (char)(name[i] - 'a' + 'A');
	CHECK_INT(schema_name_digest(name, nl, digest), ENOENT);
	CHECK_INT(schema_name_to_key(name, nl, &got, buf, sizeof(buf), NULL),
		  EINVAL);
	CHECK_INT(schema_name_digest("2.json", 6, digest), ENOENT);
	CHECK_INT(schema_name_digest("x%~abc.json", 11, digest), ENOENT);

	/* an integer's digest is over its 8 big-endian bytes */
	k = int_key(2);
	schema_key_digest(&k, kdigest);
	hex(kdigest, 32, dhex);
	CHECK_STR(
	    dhex, 64,
	    "cd04a4754498e06db5a13c5f371f1f04ff6d2470f24aa9bd886540e5dce77f70");
	k = int_key(-1);
	schema_key_digest(&k, kdigest);
	hex(kdigest, 32, dhex);
	CHECK_STR(
	    dhex, 64,
	    "12a3ae445661ce5dee78d0650d33362dec29c4f82af05e7e57fb595bbbacf0ca");

	/* the empty string has no name (".json" is refused) */
	k = str_key("", 0);
	nl = schema_key_to_name(&k, name);
	CHECK_STR(name, nl, ".json");
	CHECK_INT(schema_name_to_key(name, nl, &got, buf, sizeof(buf), NULL),
		  EINVAL);
}

/* Random valid UTF-8 keys: the name holds them, and gives them back. */
static void fuzz_key_names(void)
{
	static const char *const pieces[] = {
	    "a",
	    "Z",
	    "0",
	    "1",
	    "9",
	    "-",
	    ".",
	    "/",
	    "%",
	    "~",
	    " ",
	    "\t",
	    "\x7f",
	    "\x01",
	    "\x1f",
	    "\xc3\xa9",
	    "\xe2\x9c\x93",
	    "\xf0\x9f\x98\x80",
	    "json",
	    ".json",
	    "%2F",
	    "%~",
	};
	char s[1024], name[SCHEMA_NAME_MAX + 1], buf[SCHEMA_KEYBUF_MAX];
	uint8_t d1[32], d2[32];
	struct schema_key k, got;
	int bad = 0, hashed = 0, rc, n;
	size_t len, nl, i, shift;
	int64_t v;

	for (n = 0; n < 20000; n++) {
		size_t parts = rnd_below(n % 10 == 0 ? 200 : 12) + 1;

		len = 0;
		for (i = 0; i < parts; i++) {
			const char *p = pieces[rnd_below(sizeof(pieces) /
							 sizeof(pieces[0]))];

			memcpy(s + len, p, strlen(p));
			len += strlen(p);
		}
		/* a NUL in place of an ASCII byte keeps the key valid UTF-8 */
		i = rnd_below(len);
		if (rnd_below(8) == 0 && (uint8_t)s[i] < 0x80)
			s[i] = '\0';
		k = str_key(s, len);
		nl = schema_key_to_name(&k, name);
		rc = schema_name_to_key(name, nl, &got, buf, sizeof(buf), NULL);
		if (rc == EAGAIN) {
			hashed++;
			schema_key_digest(&k, d1);
			if (nl > SCHEMA_NAME_MAX ||
			    schema_name_digest(name, nl, d2) ||
			    memcmp(d1, d2, 32))
				rc = -1;
		} else if (rc == 0 && !keys_equal(&k, &got)) {
			rc = -1;
		}
		if (rc != 0 && rc != EAGAIN && bad++ < 3) {
			fprintf(stderr, "key ");
			quote(stderr, s, len);
			fprintf(stderr, " -> name ");
			quote(stderr, name, nl);
			fprintf(stderr, ": rc %d\n", rc);
		}
		/* integers too */
		v = (int64_t)rnd();
		shift = rnd_below(64);
		k = int_key(v >> shift);
		nl = schema_key_to_name(&k, name);
		if (schema_name_to_key(name, nl, &got, buf, sizeof(buf),
				       NULL) ||
		    !keys_equal(&k, &got))
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK(hashed > 100); /* the long form was exercised */
}

/* Random names: never a crash, and an accepted name is canonical. */
static void fuzz_names(void)
{
	static const char alphabet[] = "%%%2F0123456789ABCDEFabcdef-.~/ \t\x01"
				       "xyz\xc3\xa9\xe2\x9c\x93\xff\x80";
	char name[300], again[SCHEMA_NAME_MAX + 1], buf[SCHEMA_KEYBUF_MAX];
	struct schema_err err;
	struct schema_key k;
	uint8_t d[32];
	int bad = 0, accepted = 0, rc, n;
	size_t len, i, al;

	for (n = 0; n < 50000; n++) {
		len = rnd_below(n % 50 == 0 ? 280 : 24);
		for (i = 0; i < len; i++)
			name[i] =
			    rnd_below(16) == 0
				? (char)rnd()
				: alphabet[rnd_below(sizeof(alphabet) - 1)];
		if (rnd_below(4))
			memcpy(name + len, ".json", 5), len += 5;
		rc = schema_name_to_key(name, len, &k, buf, sizeof(buf), &err);
		if (rc == 0) {
			accepted++;
			al = schema_key_to_name(&k, again);
			if (al != len || memcmp(again, name, len))
				bad++;
		} else if (rc == EAGAIN) {
			if (schema_name_digest(name, len, d))
				bad++;
		} else if (rc != EINVAL && rc != ENOENT) {
			bad++;
		}
	}
	CHECK_INT(bad, 0);
	CHECK(accepted > 1000);
}

/* ---- ordered keys ---------------------------------------------------- */

static void test_encode(void)
{
	uint8_t out[SCHEMA_KEYBUF_MAX], big[SCHEMA_KEYBUF_MAX + 1];
	static const uint8_t two[] = {1, 0x80, 0, 0, 0, 0, 0, 0, 2};
	static const uint8_t minus1[] = {1,    0x7f, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff};
	char s[SCHEMA_KEY_MAX + 1];
	struct schema_key k, got;
	size_t n;

	k = int_key(2);
	n = schema_key_encode(&k, out);
	CHECK_MEM(out, n, two, sizeof(two));
	k = int_key(-1);
	n = schema_key_encode(&k, out);
	CHECK_MEM(out, n, minus1, sizeof(minus1));
	k = str_key("ab", 2);
	n = schema_key_encode(&k, out);
	CHECK_MEM(out, n,
		  "\x02"
		  "ab",
		  3);
	CHECK_INT(schema_key_decode(out, n, &got), 0);
	CHECK(keys_equal(&got, &k));
	CHECK(got.s == (const char *)out + 1);

	k = str_key("", 0);
	n = schema_key_encode(&k, out);
	CHECK_MEM(out, n, "\x02", 1);
	CHECK_INT(schema_key_decode(out, n, &got), 0);
	CHECK(keys_equal(&got, &k));

	/* the longest key fits the buffer; one more byte is refused */
	memset(s, 'q', sizeof(s));
	k = str_key(s, SCHEMA_KEY_MAX);
	CHECK_INT(schema_key_encode(&k, out), SCHEMA_KEYBUF_MAX);
	k = str_key(s, SCHEMA_KEY_MAX + 1);
	CHECK_INT(schema_key_encode(&k, out), 0);

	/* malformed */
	CHECK_INT(schema_key_decode(out, 0, &got), EINVAL);
	CHECK_INT(schema_key_decode(two, 8, &got), EINVAL);
	CHECK_INT(schema_key_decode((const uint8_t *)"\x01", 1, &got), EINVAL);
	CHECK_INT(schema_key_decode((const uint8_t *)"\x03"
						     "a",
				    2, &got),
		  EINVAL);
	memset(big, 'q', sizeof(big));
	big[0] = 2;
	CHECK_INT(schema_key_decode(big, sizeof(big), &got), EINVAL);
	CHECK_INT(schema_key_decode(big, sizeof(big) - 1, &got), 0);
}

static int natural_cmp(const struct schema_key *a, const struct schema_key *b)
{
	size_t n;
	int c;

	if (a->type != b->type)
		return a->type == SCHEMA_KEY_INT ? -1 : 1;
	if (a->type == SCHEMA_KEY_INT)
		return (a->i > b->i) - (a->i < b->i);
	n = a->len < b->len ? a->len : b->len;
	c = n ? memcmp(a->s, b->s, n) : 0;
	if (c)
		return c < 0 ? -1 : 1;
	return (a->len > b->len) - (a->len < b->len);
}

/* LMDB's default order: memcmp, then the shorter first. */
static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int c = memcmp(a, b, n);

	if (c)
		return c < 0 ? -1 : 1;
	return (al > bl) - (al < bl);
}

static struct schema_key random_key(char *s)
{
	static const int64_t edges[] = {
	    0,	 1,  -1, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1,
	    255, 256};
	static const char chars[] = {'\0',   '\x01', 'a', 'b', '\x7f',
				     '\x80', '\xff', '0', '-'};
	size_t len, i, shift;
	int64_t v;

	switch (rnd_below(4)) {
	case 0:
		return int_key(
		    edges[rnd_below(sizeof(edges) / sizeof(edges[0]))]);
	case 1:
		v = (int64_t)rnd();
		shift = rnd_below(64);
		return int_key(v >> shift);
	default:
		len = rnd_below(6);
		for (i = 0; i < len; i++)
			s[i] = chars[rnd_below(sizeof(chars))];
		return str_key(s, len);
	}
}

static void fuzz_order(void)
{
	uint8_t ea[SCHEMA_KEYBUF_MAX], eb[SCHEMA_KEYBUF_MAX];
	char sa[8], sb[8];
	struct schema_key a, b, da;
	size_t al, bl;
	int bad = 0, n;

	for (n = 0; n < 20000; n++) {
		a = random_key(sa);
		b = random_key(sb);
		al = schema_key_encode(&a, ea);
		bl = schema_key_encode(&b, eb);
		if (natural_cmp(&a, &b) != bytes_cmp(ea, al, eb, bl)) {
			if (bad++ < 3)
				fprintf(stderr, "order differs: types %d %d\n",
					a.type, b.type);
		}
		if (schema_key_decode(ea, al, &da) || !keys_equal(&a, &da))
			bad++;
	}
	CHECK_INT(bad, 0);
}

/* ---- the JSON check -------------------------------------------------- */

/*
 * Feed doc in chunks of chunk bytes (0: all at once).  Returns the first
 * error, or 0; *done gets schema_check_done() at the end.
 */
static int feed(const char *doc, size_t len, size_t chunk, int *done,
		struct schema_err *err)
{
	struct schema_check *c = schema_check_new();
	size_t at = 0, n;
	int rc = 0;

	if (!c)
		return ENOMEM;
	if (!chunk)
		chunk = len ? len : 1;
	while (at < len && !rc) {
		n = len - at < chunk ? len - at : chunk;
		rc = schema_check_feed(c, doc + at, n, err);
		at += n;
	}
	/* a refusal sticks */
	if (rc && schema_check_feed(c, " ", 1, NULL) != EINVAL)
		rc = -1;
	*done = schema_check_done(c);
	schema_check_free(c);
	return rc;
}

static const char *const good_docs[] = {
    "{}",
    "  {}\n",
    "\r\n\t{ }\n\n",
    "{\"a\":1}",
    "{\"name\":\"Zelda\",\"age\":3,\"tags\":[\"a\",\"b\"],\"o\":{}}\n",
    "{\"a\":{\"b\":[1,[2,[3,{}]],[]],\"c\":null},\"d\":true,\"e\":false}",
    "{\"n\":[0,-0,1.5,-1.5e-3,2E+10,1e400,18446744073709551615,"
    "-9223372036854775808,9223372036854775808]}",
    "{\"s\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\"}",
    "{\"h\\u00e9\":\"h\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \x7f\"}",
    "{\"a\":\"}\",\"b\":\"{[\"}",
    "{\"\":\"\"}",
    "{\"a\" : [ 1 , 2 ] , \"b\" : { } }",
};

static const char *const bad_docs[] = {
    "[1,2]",
    "\"text\"",
    "1",
    "-1",
    "true",
    "null",
    "garbage",
    "\xef\xbb\xbf{}",
    "{\"a\":1,}",
    "{,}",
    "{\"a\" 1}",
    "{\"a\":1 \"b\":2}",
    "{a:1}",
    "{\"a\":'x'}",
    "{]",
    "{\"a\":[1,2}}",
    "{} x",
    "{}{}",
    "{\"a\":1} {\"b\":2}",
    "{}\n[]",
    "{}\f",
    "{\"a\":01}",
    "{\"a\":1.}",
    "{\"a\":.5}",
    "{\"a\":+1}",
    "{\"a\":-}",
    "{\"a\":1e}",
    "{\"a\":1e+}",
    "{\"a\":NaN}",
    "{\"a\":-Infinity}",
    "{\"a\":0x10}",
    "{\"a\":6-0}",
    "{\"a\":[1-2]}",
    "{\"a\":1.5-3}",
    "{\"a\":-1-1}",
    "{\"a\":99999999999999999999}",
    "{\"a\":18446744073709551616}",
    "{\"a\":-9223372036854775809}",
    "{\"a\":tru}",
    "{\"a\":truex}",
    "{\"a\":nul}",
    "{\"a\":\"\\x\"}",
    "{\"a\":\"\\u12G4\"}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\udc00\"}",
    "{\"a\":\"\\ud800\\u0041\"}",
    "{\"a\":\"\\ud800x\"}",
    "{\"a\":\"\\ud800\\n\\udc00\"}",
    "{\"a\\u0000b\":1}",
    "{\"a\":\"x\ty\"}",
    "{\"a\":\"x\ny\"}",
    "{\"a\":\"\xc0\x80\"}",
    "{\"a\":\"\xed\xa0\x80\"}",
    "{\"a\":\"\xf4\x90\x80\x80\"}",
    "{\"a\":\"\xe2\x9c\"}",
    "{\"a\":\"\xff\"}",
    "{\"\xe9\":1}",
};

static void test_check(void)
{
	static const size_t chunks[] = {1, 2, 3, 7, 0};
	struct schema_err err;
	char deep[256];
	size_t i, j;
	int done, rc;

	for (i = 0; i < sizeof(good_docs) / sizeof(good_docs[0]); i++)
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			err.msg[0] = '\0';
			rc = feed(good_docs[i], strlen(good_docs[i]), chunks[j],
				  &done, &err);
			check(rc == 0 && done, __FILE__, __LINE__,
			      "good doc %zu, chunk %zu: rc %d done %d: %s", i,
			      chunks[j], rc, done, err.msg);
		}
	for (i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++)
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			rc = feed(bad_docs[i], strlen(bad_docs[i]), chunks[j],
				  &done, &err);
			check(rc == EINVAL && !done, __FILE__, __LINE__,
			      "bad doc \"%s\", chunk %zu: rc %d done %d",
			      bad_docs[i], chunks[j], rc, done);
		}

	/* incomplete is not an error, only not done */
	CHECK_INT(feed("{\"a\": [1, {", 11, 1, &done, &err), 0);
	CHECK(!done);
	CHECK_INT(feed("", 0, 1, &done, &err), 0);
	CHECK(!done);
	CHECK_INT(feed("  \n", 3, 1, &done, &err), 0);
	CHECK(!done);

	/* messages say what is wrong */
	feed("[1,2]", 5, 1, &done, &err);
	CHECK(strstr(err.msg, "not an array") != NULL);
	feed("{} x", 4, 1, &done, &err);
	CHECK(strstr(err.msg, "byte 4") && strstr(err.msg, "whitespace"));
	feed("{\"a\":1,}", 8, 0, &done, &err);
	CHECK(strstr(err.msg, "bad JSON at byte") != NULL);
	feed("{\"a\":99999999999999999999}", 26, 0, &done, &err);
	CHECK(strstr(err.msg, "64-bit") != NULL);
	/* a NUL byte is named, wherever it stands */
	feed("\0{}", 3, 1, &done, &err);
	CHECK_STR(err.msg, strlen(err.msg),
		  "bad JSON at byte 1: a record is a JSON object; found 0x00");
	feed("{\"a\":\"x\0\"}", 10, 1, &done, &err);
	CHECK(strstr(err.msg, "byte 8: a control character") &&
	      strstr(err.msg, "0x00"));
	feed("{\"a\":\"\\\0\"}", 10, 1, &done, &err);
	CHECK(strstr(err.msg, "unknown escape") && strstr(err.msg, "0x00"));
	feed("{\"a\":\"\\u0\0\"}", 11, 1, &done, &err);
	CHECK(strstr(err.msg, "four hex digits; found 0x00") != NULL);
	feed("{}\0", 3, 1, &done, &err);
	CHECK(strstr(err.msg, "byte 3") && strstr(err.msg, "found 0x00"));
	/*
	 * A number and a '-' in two writes: json-c 0.16, fed "6" and then
	 * "-0}", reads on into "6-0", keeps 6 and stored {"a": 6}.  Found by
	 * tests/fuzz/fuzz_json.
	 */
	CHECK_INT(feed("{\"a\": 6-0}", 10, 7, &done, &err), EINVAL);
	CHECK(!done && strstr(err.msg, "byte 8: unexpected '-'"));
	CHECK_INT(feed("{\"a\": 6-0}", 10, 0, &done, &err), EINVAL);
	CHECK(strstr(err.msg, "byte 8: unexpected '-'") != NULL);

	/* nesting: json-c's limit of 32 */
	strcpy(deep, "{\"a\":");
	for (i = 0; i < 31; i++)
		deep[5 + i] = '[';
	for (i = 0; i < 31; i++)
		deep[36 + i] = ']';
	strcpy(deep + 67, "}");
	CHECK_INT(feed(deep, strlen(deep), 1, &done, &err), 0);
	CHECK(done);
	strcpy(deep, "{\"a\":");
	for (i = 0; i < 40; i++)
		deep[5 + i] = '[';
	for (i = 0; i < 40; i++)
		deep[45 + i] = ']';
	strcpy(deep + 85, "}");
	CHECK_INT(feed(deep, strlen(deep), 1, &done, &err), EINVAL);
}

/* ---- records --------------------------------------------------------- */

/*
 * The body written to a file in two pieces, as the daemon sees it: when its
 * check has seen a whole object, schema_check_key() and
 * schema_record_prepare_checked() (which use the object the check kept)
 * must say what schema_record_prepare() said of the text: rc, text, err.
 */
static void prep_checked(const char *body, const struct schema_key *k,
			 const char *old, int64_t now, int dynamic, int rc,
			 const char *text, size_t len,
			 const struct schema_err *err)
{
	struct schema_check *c = schema_check_new();
	struct schema_err e1, e2;
	size_t bl = strlen(body);
	char *t2 = NULL;
	size_t l2 = 0;
	int krc, rc2;

	CHECK(c != NULL);
	if (!c)
		return;
	if (schema_check_feed(c, body, bl / 2, &e1) != 0 ||
	    schema_check_feed(c, body + bl / 2, bl - bl / 2, &e1) != 0 ||
	    !schema_check_done(c)) {
		schema_check_free(c);
		return;
	}
	krc = schema_check_key(c, k, "id", &e1);
	rc2 = schema_record_prepare_checked(c, k, "id", old,
					    old ? strlen(old) : 0, now, dynamic,
					    &t2, &l2, &e2);
	CHECK_INT(rc2, rc);
	if (rc == 0) {
		CHECK_INT(krc, 0);
		CHECK_STR(t2 ? t2 : "", l2, text);
	} else {
		CHECK(t2 == NULL && l2 == 0);
		CHECK_STR(e2.msg, strlen(e2.msg), err->msg);
		/* a whole body is refused only for its key */
		CHECK_INT(krc, rc);
		CHECK_STR(e1.msg, strlen(e1.msg), err->msg);
	}
	free(t2);
	/* the object was taken: a retried transaction parses the text */
	CHECK_INT(schema_record_prepare_checked(c, k, "id", old,
						old ? strlen(old) : 0, now,
						dynamic, &t2, &l2, &e2),
		  EAGAIN);
	CHECK_INT(schema_check_key(c, k, "id", &e1), EAGAIN);
	schema_check_free(c);
}

/* prepare() with a C-string body; returns rc, the text in out (or ""). */
static int prep(const char *body, const struct schema_key *k, const char *old,
		int64_t now, int dynamic, char *out, size_t outsize,
		struct schema_err *err)
{
	char *text = (char *)"x";
	size_t len = 99;
	int rc;

	rc = schema_record_prepare(body, strlen(body), k, "id", old,
				   old ? strlen(old) : 0, now, dynamic, &text,
				   &len, err);
	prep_checked(body, k, old, now, dynamic, rc, rc ? NULL : text, len,
		     err);
	out[0] = '\0';
	if (rc) {
		if (text || len)
			return -1; /* outputs must be cleared on error */
		return rc;
	}
	if (len + 1 > outsize || strlen(text) != len) {
		free(text);
		return -2;
	}
	memcpy(out, text, len + 1);
	free(text);
	return 0;
}

static void test_prepare(void)
{
	static const char nested_body[] =
	    "{\"b\":{\"c\":[1,{\"d\":null,\"e\":[]},true],\"f\":\"x/y\"},"
	    "\"a\":1.50,\"z\":-0.0e+1,\"big\":18446744073709551615,"
	    "\"s\":\"tab\\there \\u00e9 \\\"q\\\" \\\\ \\/\","
	    "\"u\":\"\\ud83d\\ude00\",\"id\":\"k\"}";
	static const char nested_text[] =
	    "{\n"
	    "  \"id\": \"k\",\n"
	    "  \"b\": {\n"
	    "    \"c\": [\n"
	    "      1,\n"
	    "      {\n"
	    "        \"d\": null,\n"
	    "        \"e\": []\n"
	    "      },\n"
	    "      true\n"
	    "    ],\n"
	    "    \"f\": \"x/y\"\n"
	    "  },\n"
	    "  \"a\": 1.50,\n"
	    "  \"z\": -0.0e+1,\n"
	    "  \"big\": 18446744073709551615,\n"
	    "  \"s\": \"tab\\there \xc3\xa9 \\\"q\\\" \\\\ /\",\n"
	    "  \"u\": \"\xf0\x9f\x98\x80\"\n"
	    "}\n";
	char out[4096];
	struct schema_err err;
	struct schema_key k2 = int_key(2), kk = str_key("k", 1);
	struct schema_key ks2 = str_key("2", 1), kmax = int_key(INT64_MAX);
	struct schema_key kempty = str_key("", 0);

	/* what `echo ... > 2.json; cat 2.json` shows */
	CHECK_INT(prep("{\"name\":\"Zelda\",\"age\":3,\"tags\":[\"a\",\"b\"],"
		       "\"o\":{}}\n",
		       &k2, NULL, 1700000000123, 1, out, sizeof(out), &err),
		  0);
	CHECK_STR(out, strlen(out),
		  "{\n  \"id\": 2,\n  \"name\": \"Zelda\",\n  \"age\": 3,\n"
		  "  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"o\": {},\n"
		  "  \"__createdtime__\": 1700000000123,\n"
		  "  \"__updatedtime__\": 1700000000123\n}\n");

	/* nested, key written last goes first, numbers keep their text */
	CHECK_INT(prep(nested_body, &kk, NULL, 5, 0, out, sizeof(out), &err),
		  0);
	CHECK_STR(out, strlen(out), nested_text);
	/* the canonical text is a fixed point */
	CHECK_INT(prep(nested_text, &kk, NULL, 5, 0, out, sizeof(out), &err),
		  0);
	CHECK_STR(out, strlen(out), nested_text);

	/* the key agrees with the name, or the write is refused */
	CHECK_INT(
	    prep("{\"id\":2,\"n\":1}", &k2, NULL, 5, 0, out, sizeof(out), &err),
	    0);
	CHECK_STR(out, strlen(out), "{\n  \"id\": 2,\n  \"n\": 1\n}\n");
	CHECK_INT(prep("{\"id\":3}", &k2, NULL, 5, 0, out, sizeof(out), &err),
		  EINVAL);
	CHECK(strstr(err.msg, "\"id\"") && strstr(err.msg, "3") &&
	      strstr(err.msg, "2"));
	CHECK_INT(
	    prep("{\"id\":\"2\"}", &k2, NULL, 5, 0, out, sizeof(out), &err),
	    EINVAL);
	CHECK(strstr(err.msg, "\"2\"") != NULL);
	CHECK_INT(prep("{\"id\":2}", &ks2, NULL, 5, 0, out, sizeof(out), &err),
		  EINVAL);
	CHECK_INT(
	    prep("{\"id\":\"2\"}", &ks2, NULL, 5, 0, out, sizeof(out), &err),
	    0);
	CHECK_INT(prep("{\"id\":2.0}", &k2, NULL, 5, 0, out, sizeof(out), &err),
		  EINVAL);
	CHECK_INT(
	    prep("{\"id\":null}", &k2, NULL, 5, 0, out, sizeof(out), &err),
	    EINVAL);
	CHECK_INT(prep("{\"id\":[2]}", &k2, NULL, 5, 0, out, sizeof(out), &err),
		  EINVAL);
	CHECK_INT(prep("{\"id\":9223372036854775808}", &kmax, NULL, 5, 0, out,
		       sizeof(out), &err),
		  EINVAL);
	CHECK_INT(prep("{\"id\":9223372036854775807}", &kmax, NULL, 5, 0, out,
		       sizeof(out), &err),
		  0);

	/* an empty body is a record holding its key */
	CHECK_INT(prep("", &k2, NULL, 5, 0, out, sizeof(out), &err), 0);
	CHECK_STR(out, strlen(out), "{\n  \"id\": 2\n}\n");
	CHECK_INT(prep(" \n", &kk, NULL, 7, 1, out, sizeof(out), &err), 0);
	CHECK_STR(out, strlen(out),
		  "{\n  \"id\": \"k\",\n  \"__createdtime__\": 7,\n"
		  "  \"__updatedtime__\": 7\n}\n");

	/* creation time: the old record's wins; updated is always now */
	CHECK_INT(prep("{\"n\":1,\"__createdtime__\":5,\"__updatedtime__\":6}",
		       &k2,
		       "{\n  \"id\": 2,\n  \"__createdtime__\": 111,\n"
		       "  \"__updatedtime__\": 112\n}\n",
		       200, 1, out, sizeof(out), &err),
		  0);
	CHECK_STR(out, strlen(out),
		  "{\n  \"id\": 2,\n  \"n\": 1,\n  \"__createdtime__\": 111,\n"
		  "  \"__updatedtime__\": 200\n}\n");
	/* a new record keeps the creation time it brings */
	CHECK_INT(prep("{\"__createdtime__\":42,\"n\":1}", &k2, NULL, 200, 1,
		       out, sizeof(out), &err),
		  0);
	CHECK_STR(out, strlen(out),
		  "{\n  \"id\": 2,\n  \"n\": 1,\n  \"__createdtime__\": 42,\n"
		  "  \"__updatedtime__\": 200\n}\n");
	/* ...if it is a number */
	CHECK_INT(prep("{\"__createdtime__\":\"yesterday\"}", &k2, NULL, 200, 1,
		       out, sizeof(out), &err),
		  0);
	CHECK(strstr(out, "\"__createdtime__\": 200,") != NULL);
	/* an old record without one, or unreadable, counts as none */
	CHECK_INT(prep("{\"__createdtime__\":42}", &k2, "{\"id\":2}", 200, 1,
		       out, sizeof(out), &err),
		  0);
	CHECK(strstr(out, "\"__createdtime__\": 42,") != NULL);
	CHECK_INT(prep("{}", &k2, "not json", 200, 1, out, sizeof(out), &err),
		  0);
	CHECK(strstr(out, "\"__createdtime__\": 200,") != NULL);
	/* not dynamic: the time attributes are ordinary ones */
	CHECK_INT(prep("{\"__updatedtime__\":1,\"a\":1}", &k2,
		       "{\"id\":2,\"__createdtime__\":9}", 200, 0, out,
		       sizeof(out), &err),
		  0);
	CHECK_STR(
	    out, strlen(out),
	    "{\n  \"id\": 2,\n  \"__updatedtime__\": 1,\n  \"a\": 1\n}\n");

	/* duplicates: the last value, in the first place */
	CHECK_INT(prep("{\"a\":1,\"b\":2,\"a\":3}", &k2, NULL, 5, 0, out,
		       sizeof(out), &err),
		  0);
	CHECK_STR(out, strlen(out),
		  "{\n  \"id\": 2,\n  \"a\": 3,\n  \"b\": 2\n}\n");

	/* refusals */
	CHECK_INT(prep("[1]", &k2, NULL, 5, 0, out, sizeof(out), &err), EINVAL);
	CHECK_INT(prep("{\"a\":1", &k2, NULL, 5, 0, out, sizeof(out), &err),
		  EINVAL);
	CHECK_INT(prep("{} {}", &k2, NULL, 5, 0, out, sizeof(out), &err),
		  EINVAL);
	CHECK_INT(prep("{\"a\":NaN}", &k2, NULL, 5, 0, out, sizeof(out), &err),
		  EINVAL);
	CHECK_INT(prep("{}", &kempty, NULL, 5, 0, out, sizeof(out), &err),
		  EINVAL);
}

/* Attribute names are escaped exactly as json-c escapes string values. */
static void test_name_escaping(void)
{
	char body[64], out[256], want[64];
	struct schema_key k = int_key(1);
	struct schema_err err;
	struct json_object *s;
	int c, bad = 0;

	for (c = 1; c < 0x80; c++) {
		const char *esc;
		char ch = (char)c;

		s = json_object_new_string_len(&ch, 1);
		esc = json_object_to_json_string_ext(
		    s, JSON_C_TO_STRING_NOSLASHESCAPE);
		snprintf(body, sizeof(body), "{\"\\u%04x\":\"\\u%04x\"}", c, c);
		snprintf(want, sizeof(want), "\n  %s: %s\n}\n", esc, esc);
		if (prep(body, &k, NULL, 0, 0, out, sizeof(out), &err) ||
		    !strstr(out, want)) {
			if (bad++ < 3)
				fprintf(stderr, "char 0x%02x: %s\n", c, out);
		}
		json_object_put(s);
	}
	CHECK_INT(bad, 0);
}

static void test_prepare_limits(void)
{
	const size_t n = 3u * 1024 * 1024;
	struct schema_key k = int_key(1);
	struct schema_err err;
	char *body, *text = NULL;
	size_t len, i;

	/* over the limit as written */
	body = malloc(SCHEMA_RECORD_MAX + 2);
	if (!body)
		abort();
	memset(body, ' ', SCHEMA_RECORD_MAX + 1);
	memcpy(body, "{}", 2);
	CHECK_INT(schema_record_prepare(body, SCHEMA_RECORD_MAX + 1, &k, "id",
					NULL, 0, 0, 0, &text, &len, &err),
		  EFBIG);
	CHECK(text == NULL);
	/* exactly at the limit is fine */
	CHECK_INT(schema_record_prepare(body, SCHEMA_RECORD_MAX, &k, "id", NULL,
					0, 0, 0, &text, &len, &err),
		  0);
	CHECK_STR(text, len, "{\n  \"id\": 1\n}\n");
	free(text);
	text = NULL;

	/* under the limit as written, over it once indented */
	len = 0;
	memcpy(body, "{\"a\":[", 6);
	len = 6;
	for (i = 0; i < n; i++) {
		body[len++] = '1';
		body[len++] = ',';
	}
	memcpy(body + len, "1]}", 3);
	len += 3;
	CHECK(len < SCHEMA_RECORD_MAX);
	CHECK_INT(schema_record_prepare(body, len, &k, "id", NULL, 0, 0, 0,
					&text, &len, &err),
		  EFBIG);
	CHECK(text == NULL);
	CHECK(strstr(err.msg, "16777216") != NULL);
	free(body);
}

static void test_rekey(void)
{
	static const char text[] = "{\n  \"id\": 2,\n  \"n\": [],\n"
				   "  \"__createdtime__\": 111,\n"
				   "  \"__updatedtime__\": 112\n}\n";
	struct schema_key k = str_key("Rex", 3);
	struct schema_err err;
	char *out = NULL;
	size_t len;

	CHECK_INT(schema_record_rekey(text, strlen(text), &k, "id", 300, 1,
				      &out, &len, &err),
		  0);
	CHECK_STR(
	    out, len,
	    "{\n  \"id\": \"Rex\",\n  \"n\": [],\n"
	    "  \"__createdtime__\": 111,\n  \"__updatedtime__\": 300\n}\n");
	free(out);
}

/* ---- compact --------------------------------------------------------- */

static void test_compact(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"{\n  \"id\": 1,\n  \"name\": \"a b\",\n  \"l\": [\n    1,\n"
	     "    2\n  ],\n  \"__createdtime__\": 5,\n"
	     "  \"__updatedtime__\": 6\n}\n",
	     "{\"id\":1,\"name\":\"a b\",\"l\":[1,2],\"__createdtime__\":5,"
	     "\"__updatedtime__\":6}\n"},
	    /* whitespace inside strings stays, escaped quotes too */
	    {"{\n  \"a  b\": \"x  y \\\" z \\t \",\n  \"c\": \" \"\n}\n",
	     "{\"a  b\":\"x  y \\\" z \\t \",\"c\":\" \"}\n"},
	    /* a string ending in a backslash ends there */
	    {"{\n  \"a\": \"b\\\\\",\n  \"c\": {},\n  \"d\": []\n}\n",
	     "{\"a\":\"b\\\\\",\"c\":{},\"d\":[]}\n"},
	    {"{}\n", "{}\n"},
	    {"", "\n"},
	};
	char out[256];
	size_t i, n, m;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = schema_compact(cases[i].in, strlen(cases[i].in), NULL);
		CHECK_INT(n, strlen(cases[i].out));
		memset(out, '#', sizeof(out));
		m = schema_compact(cases[i].in, strlen(cases[i].in), out);
		CHECK_INT(m, n);
		CHECK_STR(out, m, cases[i].out);
		CHECK(out[m] == '#'); /* writes exactly what it says */
	}
}

/* What compaction is: every byte but whitespace outside strings. */
static size_t compact_ref(const char *in, size_t len, char *out)
{
	size_t i, o = 0;
	int str = 0;
	for (i = 0; i < len; i++) {
		char ch = in[i];
		if (str) {
			out[o++] = ch;
			if (ch == '\\' && i + 1 < len)
				out[o++] = in[++i];
			else if (ch == '"')
				str = 0;
		} else if (ch == '"') {
			out[o++] = ch;
			str = 1;
		} else if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
			out[o++] = ch;
		}
	}
	out[o] = '\n';
	out[o + 1] = '\0';
	return o + 1;
}

/* The line-at-a-time path for canonical text and the general walk for
 * anything else give the same bytes, and the length walk agrees. */
static void test_compact_shapes(void)
{
	static const char *texts[] = {
	    "{\n  \"k\" : 1\n}\n",	   /* a space before the colon */
	    "{\n  \"k\":1\n}\n",	   /* none after it */
	    "{\n  \"k\":  1\n}\n",	   /* two after it */
	    "{\n  \"l\": [1, 2]\n}\n", /* a line not broken */
	    "{\n\t\"k\": 1\n}\n",	   /* a tab */
	    "{\r\n  \"k\": 1\r\n}\r\n",
	    "{\n  \"k\": \"a\nb\"\n}\n", /* a raw newline in a string */
	    "{\n  \"k\": \"a\\\"\n  , \"b\"\n}\n",
	    "{\n  \"a\\\\\": \"x\\\\\\\"y\",\n  \"b\": \"\"\n}\n",
	    "{\n  \"k\": \"v\" ,\n  \"m\": 2\n}\n",
	    "{\n  \"k\": 1 \n}\n",
	    "  \n\n{}\n\n",
	    "\"x\"",
	    "\"unterminated",
	    "{\n  \"k\": [\n    \"a: b\",\n    {\n      \"c\": []\n    }\n  ]\n}\n",
	};
	char ref[512], out[512];
	unsigned seed = 1;
	size_t i, j, n, m;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = strlen(texts[i]);
		n = compact_ref(texts[i], len, ref);
		CHECK_INT(schema_compact(texts[i], len, NULL), n);
		m = schema_compact(texts[i], len, out);
		CHECK_INT(m, n);
		CHECK_STR(out, m, ref);
	}
	/* and any mix of those bytes */
	for (i = 0; i < 200000; i++) {
		static const char alpha[] = " \n\t\"\\:,1a{}[]";
		char in[24];
		size_t len = (seed = seed * 1103515245 + 12345) >> 16 & 15;
		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			in[j] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		n = compact_ref(in, len, ref);
		m = schema_compact(in, len, out);
		if (m != n || memcmp(out, ref, n) != 0 ||
		    schema_compact(in, len, NULL) != n) {
			CHECK_STR(out, m, ref);
			break;
		}
	}
}

/* prepare then compact: what -o json=compact shows */
static void test_prepare_compact(void)
{
	struct schema_key k = int_key(1);
	struct schema_err err;
	char out[512], small[512];
	size_t n;

	CHECK_INT(prep("{\"name\": \"a b\", \"l\": [1, 2]}", &k, NULL, 9, 1,
		       out, sizeof(out), &err),
		  0);
	n = schema_compact(out, strlen(out), small);
	CHECK_STR(
	    small, n,
	    "{\"id\":1,\"name\":\"a b\",\"l\":[1,2],\"__createdtime__\":9,"
	    "\"__updatedtime__\":9}\n");
}

/* ---- plain bodies ---------------------------------------------------- */

/* Whitespace, now and then, and now and then what is not whitespace. */
static void body_ws(struct buf *b)
{
	static const char *const ws[] = {" ",  "\n", "\t", "\r",
					 "  ", "\v", "\f"};
	unsigned r = rnd_below(20);

	if (r < 7)
		add(b, ws[r < 5 ? r : rnd_below(7)]);
}

/* A string's inside: mostly plain, with what plain bodies must not hold. */
static void body_chars(struct buf *b)
{
	static const char *const bits[] = {"a",
					   "Zelda",
					   " ",
					   "/",
					   "\xc3\xa9",
					   "\xe2\x9c\x93",
					   "\x7f",
					   "\xf0\x9f\x98\x80",
					   "0",
					   "-",
					   "\xff",
					   "\xc0\xaf",
					   "\xed\xa0\x80",
					   "\\n",
					   "\\\"",
					   "\\u0041",
					   "\\/",
					   "\x01",
					   "\t",
					   "\xc3"};
	unsigned i, n = rnd_below(5);

	for (i = 0; i < n; i++)
		add(b, bits[rnd_below(12) ? rnd_below(10) : rnd_below(20)]);
}

static void body_value(struct buf *b, const struct schema_key *k)
{
	static const char *const odd[] = {"1.5",
					  "1e3",
					  "-0",
					  "01",
					  "00",
					  "-",
					  "1.",
					  "tru",
					  "nul",
					  "[]",
					  "{}",
					  "[1]",
					  "{\"a\":1}",
					  "\"x",
					  "NaN",
					  "+1",
					  "-0.0",
					  "1E2",
					  "truex",
					  "9223372036854775807",
					  "-9223372036854775808",
					  "123456789012345678",
					  "1234567890123456789",
					  "-123456789012345678"};
	char num[32];
	unsigned r = rnd_below(100);

	if (r < 30) {
		add(b, "\"");
		body_chars(b);
		add(b, "\"");
	} else if (r < 55) {
		int digits = 1 + (int)rnd_below(19), i;

		if (rnd_below(3) == 0)
			add(b, "-");
		for (i = 0; i < digits; i++) {
			num[i] = (char)('0' + rnd_below(10));
			if (i == 0 && num[0] == '0' && digits > 1 &&
			    rnd_below(4))
				num[0] = '7';
		}
		num[digits] = '\0';
		add(b, num);
	} else if (r < 62) {
		add(b, (const char *[]){"true", "false", "null"}[rnd_below(3)]);
	} else if (r < 72) {
		add(b, odd[rnd_below(sizeof(odd) / sizeof(odd[0]))]);
	} else if (k->type == SCHEMA_KEY_INT) {
		snprintf(num, sizeof(num), "%" PRId64,
			 k->i + (rnd_below(4) == 0));
		add(b, num);
	} else {
		add(b, "\"");
		add(b, rnd_below(4) ? k->s : "other");
		add(b, "\"");
	}
}

static void body_make(struct buf *b, const struct schema_key *k)
{
	static const char *const names[] = {"id",
					    "name",
					    "breed",
					    "age",
					    "owner",
					    "a/b",
					    "\xc3\xa9",
					    "",
					    "id",
					    "a",
					    "__createdtime__",
					    "__updatedtime__",
					    "x\\\"y",
					    "c\\u0041",
					    "\xff",
					    "tab\\t"};
	unsigned i, n = rnd_below(7);

	b->len = 0;
	b->s[0] = '\0';
	body_ws(b);
	add(b, rnd_below(50) ? "{" : "[");
	for (i = 0; i < n; i++) {
		if (i)
			add(b, rnd_below(60) ? "," : "");
		body_ws(b);
		add(b, "\"");
		add(b, names[rnd_below(40) ? rnd_below(6) + 0 * i
					   : rnd_below(16)]);
		if (rnd_below(8) == 0)
			add(b, names[rnd_below(16)]);
		add(b, "\"");
		body_ws(b);
		add(b, rnd_below(80) ? ":" : "");
		body_ws(b);
		body_value(b, k);
		body_ws(b);
	}
	if (rnd_below(30))
		add(b, rnd_below(40) ? "}" : ",}");
	body_ws(b);
	if (rnd_below(40) == 0)
		add(b, rnd_below(2) ? "x" : "{}");
}

/*
 * The plain path (schema_record_prepare() without json-c) against json-c's:
 * random bodies near the edge of what is plain, every one through both.
 * A body the plain path takes must get json-c's text to the byte; any
 * other must get json-c's answer, refusal and message included.
 */
static void fuzz_plain(void)
{
	static const char old_text[] =
	    "{\n  \"id\": 3,\n  \"__createdtime__\": 111,\n"
	    "  \"__updatedtime__\": 112\n}\n";
	struct schema_key keys[5] = {
	    int_key(3), int_key(-1234567), str_key("Zelda", 5),
	    str_key("h\xc3\xa9", 3), str_key("a\"b\\c\x01/", 7)};
	int taken = 0, refused = 0, bad = 0, i;

	for (i = 0; i < 40000; i++) {
		const struct schema_key *k = &keys[rnd_below(5)];
		/* the key attribute of a declared table may be any other */
		const char *pk = rnd_below(4) ? "id" : "name";
		const char *old = rnd_below(3) == 0 ? old_text : NULL;
		int dynamic = (int)rnd_below(4) != 0, plain, rc1, rc2, wrong;
		struct schema_check *c = schema_check_new();
		struct schema_err e1 = {{0}}, e2 = {{0}};
		char *t1 = NULL, *t2 = NULL;
		size_t l1 = 0, l2 = 0, ol = old ? strlen(old) : 0;
		struct buf b;

		body_make(&b, k);
		plain = schema_record_plain(b.s, b.len, k, pk, dynamic);
		rc1 = schema_record_prepare(b.s, b.len, k, pk, old, ol, 77,
					    dynamic, &t1, &l1, &e1);
		/* json-c's way: the object the check kept */
		rc2 = schema_check_feed(c, b.s, b.len, &e2);
		if (!rc2)
			rc2 = schema_check_done(c)
				  ? schema_record_prepare_checked(
					c, k, pk, old, ol, 77, dynamic, &t2,
					&l2, &e2)
				  : EAGAIN;
		if (plain == 0)
			taken++;
		if (rc1)
			refused++;
		if (rc2 == EAGAIN)
			/* json-c saw no whole object: a refusal */
			wrong = plain == 0 || rc1 != EINVAL;
		else
			wrong = (plain != 0 && plain != EAGAIN) ||
				(plain == 0 && rc1) || rc1 != rc2 ||
				(!rc1 && (l1 != l2 || memcmp(t1, t2, l1))) ||
				(rc1 && strcmp(e1.msg, e2.msg));
		if (wrong && bad++ < 3)
			fprintf(stderr,
				"body %s: plain %d, prepare %d (%s), json-c "
				"%d (%s)\n%.*s---\n%.*s\n",
				b.s, plain, rc1, e1.msg, rc2, e2.msg, (int)l1,
				t1 ? t1 : "", (int)l2, t2 ? t2 : "");
		free(t1);
		free(t2);
		schema_check_free(c);
	}
	CHECK_INT(bad, 0);
	/* both ways are walked, often */
	CHECK(taken > 4000);
	CHECK(refused > 4000);
	printf("plain bodies: %d of 40000 taken without json-c, %d refused\n",
	       taken, refused);
}

int main(void)
{
	test_string_names();
	test_int_names();
	test_bad_names();
	test_long_names();
	fuzz_key_names();
	fuzz_names();
	test_encode();
	fuzz_order();
	test_check();
	test_prepare();
	test_name_escaping();
	test_prepare_limits();
	fuzz_plain();
	test_rekey();
	test_compact();
	test_compact_shapes();
	test_prepare_compact();
	return checks_done();
}
