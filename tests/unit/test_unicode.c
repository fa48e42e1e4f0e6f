/*
 * test_unicode: every Unicode scalar value, written raw or escaped, reads
 * back as itself through every reader schema/ has.
 *
 * The 1,112,064 scalar values (U+0000..U+10FFFF less the surrogates) go in
 * batches of BATCH through:
 *   - schema_record_prepare(), the reader of a whole body (the plain path
 *     for raw bodies, the lexer and json-c for escaped ones), as a value
 *     and as an attribute name, escapes in lower and upper case;
 *   - a schema_check fed the escaped body a few bytes at a time, so that
 *     every surrogate pair is cut at every place between two writes, then
 *     schema_record_prepare_checked();
 *   - the scanner of canonical text (schema_index_entries_quick) on the
 *     escaped body, against json-c's entries of the canonical text;
 *   - a declared table's check (schema_table_record) and a rename
 *     (schema_record_rekey), which read the canonical text again;
 *   - the schema language's strings (schema_sdl_parse);
 * and one at a time through the file names of string keys and of index
 * values, there and back.  json-c 0.16 turns the 32,768 pairs of
 * U+xD800..U+xDFFF in planes 1-16 into U+FFFD; the lexer decodes pairs
 * itself, and this test holds it to that.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#include "check.h"

#define BATCH 1024
#define LAST  0x10FFFF

static int scalar(uint32_t cp)
{
	return cp <= LAST && (cp < 0xD800 || cp > 0xDFFF);
}

/* The next n scalar values from *next (fewer at the end); count. */
static size_t next_batch(uint32_t *next, uint32_t *cps, size_t n)
{
	size_t k = 0;

	while (k < n && *next <= LAST) {
		if (scalar(*next))
			cps[k++] = *next;
		(*next)++;
	}
	return k;
}

static size_t utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* cp as a JSON escape: \uXXXX, or a surrogate pair past U+FFFF. */
static size_t escaped(uint32_t cp, int upper, char *out)
{
	const char *f = upper ? "\\u%04X" : "\\u%04x";

	if (cp < 0x10000)
		return (size_t)sprintf(out, f, (unsigned)cp);
	cp -= 0x10000;
	sprintf(out, f, 0xD800 + (unsigned)(cp >> 10));
	sprintf(out + 6, f, 0xDC00 + (unsigned)(cp & 0x3FF));
	return 12;
}

/* cp as the canonical text writes it in a string: UTF-8 but for the
 * quote, the backslash and control characters. */
static size_t canonical(uint32_t cp, char *out)
{
	static const char *const named[0x20] = {['\b'] = "\\b",
						['\f'] = "\\f",
						['\n'] = "\\n",
						['\r'] = "\\r",
						['\t'] = "\\t"};

	if (cp == '"' || cp == '\\') {
		out[0] = '\\';
		out[1] = (char)cp;
		return 2;
	}
	if (cp < 0x20 && named[cp])
		return (size_t)sprintf(out, "%s", named[cp]);
	if (cp < 0x20)
		return (size_t)sprintf(out, "\\u%04x", (unsigned)cp);
	return utf8(cp, out);
}

/* What a batch becomes, as a JSON string's inside. */
struct forms {
	char *esc, *canon, *raw; /* escaped, canonical, decoded bytes */
	size_t esclen, canonlen, rawlen;
};

static void forms_make(struct forms *f, const uint32_t *cps, size_t n,
		       int upper, const char *avoid)
{
	size_t i;

	f->esclen = f->canonlen = f->rawlen = 0;
	for (i = 0; i < n; i++) {
		uint32_t cp = cps[i];

		/* what a name may not hold becomes an 'x' */
		if (avoid && cp < 0x80 && memchr(avoid, (int)cp, 2))
			cp = 'x';

		f->esclen += escaped(cp, upper, f->esc + f->esclen);
		f->canonlen += canonical(cp, f->canon + f->canonlen);
		f->rawlen += utf8(cp, f->raw + f->rawlen);
	}
}

static char *body_of(const char *fmt, const char *s, size_t n, size_t *len)
{
	char *b = malloc(n + 64);

	*len = (size_t)sprintf(b, fmt, (int)n, s);
	return b;
}

/* The collected index entries of a text. */
struct entries {
	char buf[BATCH * 64 + 4096];
	size_t len, n;
};

static int collect(const char *attr, size_t alen, const uint8_t *val,
		   size_t vlen, void *arg)
{
	struct entries *e = arg;

	if (e->len + alen + vlen + 2 * sizeof(size_t) > sizeof(e->buf))
		return ENOMEM;
	memcpy(e->buf + e->len, &alen, sizeof(alen));
	e->len += sizeof(alen);
	memcpy(e->buf + e->len, &vlen, sizeof(vlen));
	e->len += sizeof(vlen);
	memcpy(e->buf + e->len, attr, alen);
	e->len += alen;
	memcpy(e->buf + e->len, val, vlen);
	e->len += vlen;
	e->n++;
	return 0;
}

static const struct schema_key key1 = {.type = SCHEMA_KEY_INT, .i = 1};
static const struct schema_key key2 = {.type = SCHEMA_KEY_INT, .i = 2};

/* Feed body to a fresh check in pieces of 1..13 bytes from shift on. */
static char *prepare_in_pieces(const char *body, size_t len, size_t shift,
			       size_t *outlen)
{
	struct schema_check *c = schema_check_new();
	struct schema_err err;
	size_t at = 0, k = shift;
	char *out = NULL;

	while (at < len) {
		size_t n = k++ % 13 + 1;

		if (n > len - at)
			n = len - at;
		if (schema_check_feed(c, body + at, n, &err)) {
			fprintf(stderr, "feed: %s\n", err.msg);
			break;
		}
		at += n;
	}
	if (at == len && schema_check_done(c) &&
	    schema_record_prepare_checked(c, &key1, "id", NULL, 0, 0, 0, &out,
					  outlen, &err) != 0)
		fprintf(stderr, "prepare_checked: %s\n", err.msg);
	schema_check_free(c);
	return out;
}

static struct schema_doc declared;

static void values(const uint32_t *cps, size_t n, struct forms *f, size_t round)
{
	size_t blen, wlen, olen, elen;
	char *body, *want, *out = NULL, *ebody;
	struct schema_err err;
	struct entries *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	int upper = round % 2, rc;

	forms_make(f, cps, n, upper, NULL);
	want = body_of("{\n  \"id\": 1,\n  \"s\": \"%.*s\"\n}\n", f->canon,
		       f->canonlen, &wlen);
	/* raw: the canonical form is what a raw body holds */
	body = body_of("{\"s\":\"%.*s\"}", f->canon, f->canonlen, &blen);
	rc = schema_record_prepare(body, blen, &key1, "id", NULL, 0, 0, 0, &out,
				   &olen, &err);
	CHECK_INT(rc, 0);
	if (!rc)
		CHECK_MEM(out, olen, want, wlen);
	free(out);
	free(body);
	/* escaped */
	ebody = body_of("{\"s\":\"%.*s\"}", f->esc, f->esclen, &elen);
	rc = schema_record_prepare(ebody, elen, &key1, "id", NULL, 0, 0, 0,
				   &out, &olen, &err);
	CHECK_INT(rc, 0);
	if (!rc)
		CHECK_MEM(out, olen, want, wlen);
	free(out);
	/* escaped, a few bytes at a time */
	out = prepare_in_pieces(ebody, elen, round, &olen);
	CHECK(out != NULL);
	if (out)
		CHECK_MEM(out, olen, want, wlen);
	free(out);
	/* the scanner on the escaped body, json-c on the canonical text */
	rc = schema_index_entries_quick(ebody, elen, "id", collect, a);
	CHECK_INT(rc, 0);
	rc = schema_index_entries(want, wlen, "id", collect, b);
	CHECK_INT(rc, 0);
	CHECK_MEM(a->buf, a->len, b->buf, b->len);
	free(ebody);
	/* what reads the canonical text again: a declared table, a rename */
	rc = schema_table_record(&declared.tables[0], want, wlen, NULL, 0, 0,
				 &out, &olen, &err);
	CHECK_INT(rc, 0);
	if (!rc)
		CHECK_MEM(out, olen, want, wlen);
	free(out);
	rc = schema_record_rekey(want, wlen, &key2, "id", 0, 0, &out, &olen,
				 &err);
	CHECK_INT(rc, 0);
	if (!rc) {
		want[10] = '2'; /* "id": 2 */
		CHECK_MEM(out, olen, want, wlen);
	}
	free(out);
	free(want);
	free(a);
	free(b);
}

/* The same characters in an attribute's name (which may not hold NUL). */
static void names(const uint32_t *cps, size_t n, struct forms *f, size_t round)
{
	size_t blen, wlen, olen;
	char *body, *want, *out = NULL;
	struct schema_err err;
	int rc;

	forms_make(f, cps, n, round % 2, "\0\0");
	want = body_of("{\n  \"id\": 1,\n  \"%.*s\": 1\n}\n", f->canon,
		       f->canonlen, &wlen);
	body = body_of("{\"%.*s\":1}", f->esc, f->esclen, &blen);
	rc = schema_record_prepare(body, blen, &key1, "id", NULL, 0, 0, 0, &out,
				   &olen, &err);
	CHECK_INT(rc, 0);
	if (!rc)
		CHECK_MEM(out, olen, want, wlen);
	free(out);
	out = prepare_in_pieces(body, blen, round + 5, &olen);
	CHECK(out != NULL);
	if (out)
		CHECK_MEM(out, olen, want, wlen);
	free(out);
	free(body);
	free(want);
}

/*
 * The schema language's strings, escaped, as tables' names: a name holds at
 * most 255 bytes, so SDL_CHUNK characters a table, one schema a batch;
 * NUL and '/' cannot stand in a table's name.
 */
#define SDL_CHUNK 48
static void sdl(const uint32_t *cps, size_t n, struct forms *f, size_t round)
{
	struct schema_doc doc;
	struct schema_err err;
	size_t len = 0, j, t;
	char *text = malloc((n / SDL_CHUNK + 1) * (SDL_CHUNK * 12 + 128));
	int rc;

	for (j = 0, t = 0; j < n; j += SDL_CHUNK, t++) {
		size_t k = n - j < SDL_CHUNK ? n - j : SDL_CHUNK;

		forms_make(f, cps + j, k, round % 2, "\0/");
		len += (size_t)sprintf(text + len,
				       "type T%zu @table(table: \"%.*s\") "
				       "{ id: ID @primaryKey }\n",
				       t, (int)f->esclen, f->esc);
	}
	rc = schema_sdl_parse(text, len, &doc, &err);
	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "%s\n", err.msg);
	for (j = 0, t = 0; !rc && j < n; j += SDL_CHUNK, t++) {
		size_t k = n - j < SDL_CHUNK ? n - j : SDL_CHUNK;

		forms_make(f, cps + j, k, round % 2, "\0/");
		CHECK_MEM(doc.tables[t].table, strlen(doc.tables[t].table),
			  f->raw, f->rawlen);
	}
	if (!rc)
		schema_doc_free(&doc);
	free(text);
}

/* One character as a string key's file name, and as an index value's
 * directory name, there and back. */
static void one_name(uint32_t cp)
{
	char s[8], name[SCHEMA_NAME_MAX + 1], buf[SCHEMA_KEYBUF_MAX];
	struct schema_key k = {.type = SCHEMA_KEY_STR, .s = s}, back;
	struct schema_err err;
	size_t nl;

	k.len = utf8(cp, s);
	nl = schema_key_to_name(&k, name);
	if (schema_name_to_key(name, nl, &back, buf, sizeof(buf), &err) != 0 ||
	    back.type != SCHEMA_KEY_STR || back.len != k.len ||
	    memcmp(back.s, s, k.len) != 0)
		check(0, __FILE__, __LINE__, "key U+%04" PRIX32 " as %s", cp,
		      name);
	else
		n_pass++;
}

static void value_names(const uint32_t *cps, size_t n)
{
	struct entries *e = calloc(1, sizeof(*e));
	char *text = malloc(n * 24 + 64), name[SCHEMA_NAME_MAX + 1];
	size_t len = (size_t)sprintf(text, "{\"id\": 1"), i, at;
	uint8_t val[SCHEMA_VALUE_MAX];
	struct schema_err err;

	for (i = 0; i < n; i++) {
		len += (size_t)sprintf(text + len, ", \"a%zu\": \"", i);
		len += canonical(cps[i], text + len);
		text[len++] = '"';
	}
	text[len++] = '}';
	CHECK_INT(schema_index_entries(text, len, "id", collect, e), 0);
	CHECK_INT(e->n, n);
	for (at = 0; at < e->len;) {
		size_t alen, vlen, nl, vl2;
		const uint8_t *v;

		memcpy(&alen, e->buf + at, sizeof(alen));
		memcpy(&vlen, e->buf + at + sizeof(alen), sizeof(vlen));
		at += 2 * sizeof(size_t) + alen;
		v = (const uint8_t *)e->buf + at;
		at += vlen;
		nl = schema_value_to_name(v, vlen, name);
		if (schema_name_to_value(name, nl, val, &vl2, &err) != 0 ||
		    vl2 != vlen || memcmp(val, v, vlen) != 0)
			check(0, __FILE__, __LINE__, "value named %s", name);
		else
			n_pass++;
	}
	free(text);
	free(e);
}

int main(void)
{
	static uint32_t cps[BATCH];
	static char esc[BATCH * 12 + 1], canon[BATCH * 6 + 1], raw[BATCH * 4];
	struct forms f = {.esc = esc, .canon = canon, .raw = raw};
	static const char decl[] = "type T @table(table: \"t\") "
				   "{ id: Int @primaryKey s: String }";
	struct schema_err err;
	uint32_t next = 0, cp;
	size_t n, round = 0, total = 0;

	if (schema_sdl_parse(decl, sizeof(decl) - 1, &declared, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	while ((n = next_batch(&next, cps, BATCH)) > 0) {
		values(cps, n, &f, round);
		names(cps, n, &f, round);
		sdl(cps, n, &f, round);
		value_names(cps, n);
		total += n;
		round++;
	}
	CHECK_INT(total, 1112064);
	for (cp = 0; cp <= LAST; cp++)
		if (scalar(cp))
			one_name(cp);
	schema_doc_free(&declared);
	return checks_done();
}
