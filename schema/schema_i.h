/*
 * schema_i.h: what the files of schema/ share and nobody else needs.
 *
 * Only schema/'s own files include it; fs/ and the tests keep to schema.h.
 * It holds the UTF-8 and percent-encoding rules that key and value names
 * share, the canonical printer that check.c prints with, and value.c's
 * value type and coders for the files that find or set values in a
 * record's text.  It must not grow into a second public header: what fs/
 * or the tests need goes in schema.h.
 *
 * The files, lowest first: each calls only files before it here, so that
 * no two call each other in a circle.
 *   schema.c   keys, their file names and ordered bytes; errors
 *   value.c    index values, their ordered bytes and directory names
 *   scan.c     canonical text read without json-c
 *   record.c   checking what is written; the canonical text
 *   sdl.c      the GraphQL schema subset
 *   check.c    the records of declared tables; JSON Schema
 *   entries.c  a record's index entries, as storage checks them
 *   edit.c     a stored record under a new key, table or value
 *   stream.c   many records as one text (NDJSON, CSV, JSON) and back
 */
#ifndef RECORDFS_SCHEMA_I_H
#define RECORDFS_SCHEMA_I_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Strict UTF-8 (Unicode table 3-7: no overlong forms, no surrogates, nothing
 * past U+10FFFF), checked a byte at a time so that a character may straddle
 * two writes.  json-c's own check only looks at the bit patterns, and Python
 * or jq refuse what it lets through, so we do not rely on it.
 */
struct schema_utf8 {
	unsigned need;	/* continuation bytes still expected */
	uint8_t lo, hi; /* range of the next continuation byte */
};

/* Feed one byte; returns 0 if it may stand here, EINVAL if not. */
static inline int schema_utf8_byte(struct schema_utf8 *u, uint8_t c)
{
	if (u->need) {
		if (c < u->lo || c > u->hi)
			return EINVAL;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return 0;
	}
	if (c < 0x80)
		return 0;
	u->lo = 0x80;
	u->hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		u->need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		u->need = 2;
		if (c == 0xe0)
			u->lo = 0xa0; /* shorter forms exist */
		else if (c == 0xed)
			u->hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		u->need = 3;
		if (c == 0xf0)
			u->lo = 0x90;
		else if (c == 0xf4)
			u->hi = 0x8f; /* past U+10FFFF */
	} else {
		return EINVAL;
	}
	return 0;
}

/* Whether buf[0..len) is complete, valid UTF-8. */
static inline int schema_utf8_valid(const void *buf, size_t len)
{
	struct schema_utf8 u = {0, 0x80, 0xbf};
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (schema_utf8_byte(&u, p[i]))
			return 0;
	return u.need == 0;
}

/* The value of one hex digit, either case, or -1. */
static inline int schema_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Four hex digits at p, either case, into *v: 1, or 0 if they are not. */
static inline int schema_hex4(const char *p, uint32_t *v)
{
	uint32_t r = 0;
	int i, d;

	for (i = 0; i < 4; i++) {
		if ((d = schema_hex_value(p[i])) < 0)
			return 0;
		r = r << 4 | (uint32_t)d;
	}
	*v = r;
	return 1;
}

/* Code point cp (at most 0x10FFFF) as UTF-8 into out (4 bytes of room);
 * returns its length. */
static inline size_t schema_utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Percent-decode name[0..namelen) into raw (room for namelen bytes):
 * *rawlen gets the length.  EINVAL with a message at a '%' not followed by
 * two hex digits.  Shared by key names (schema.c) and value names
 * (value.c).
 */
struct schema_err;
int schema_unescape(const char *name, size_t namelen, uint8_t *raw,
		    size_t *rawlen, struct schema_err *err);

/*
 * Bytes a name cannot hold ('/', NUL), would confuse (control characters,
 * a leading '.' that hides the file or makes "." and ".."), or that the
 * encoding itself uses ('%').  Shared by key names (schema.c) and value
 * names (value.c), so the two percent-encode alike.
 */
static inline int schema_must_escape(uint8_t c, size_t at)
{
	return c == '/' || c == '%' || c < 0x20 || c == 0x7f ||
	       (at == 0 && c == '.');
}

/*
 * The canonical printer (record.c), which check.c also prints with, so a
 * record of a declared table is laid out exactly as any other.
 *
 * A growing text: buf is malloc'd (NULL until the first byte), always
 * NUL-terminated once non-empty; the caller frees it.  Every function
 * returns 0, EFBIG once the text would pass SCHEMA_RECORD_MAX, or ENOMEM;
 * after an error the text is incomplete but still freed by free(buf).
 */
struct schema_text {
	char *buf;
	size_t len, cap; /* cap leaves room for a NUL after len */
};

struct json_object;

/*
 * Append v as canonical text indented for depth (0 at the top level):
 * scalars as json-c prints them (a parsed number keeps its spelling),
 * containers one member per line, "{}" and "[]" when empty.  No newline at
 * the end.
 */
int schema_put_value(struct schema_text *t, struct json_object *v,
		     size_t depth);

/*
 * Append obj as a record's canonical text: attribute pk first, then the
 * others in their order in obj; when dynamic, SCHEMA_CREATED and
 * SCHEMA_UPDATED last.  Ends in a newline.
 */
int schema_put_record(struct schema_text *t, struct json_object *obj,
		      const char *pk, int dynamic);

/*
 * The same as a malloc'd text in *out (*outlen its length): EFBIG with a
 * message past SCHEMA_RECORD_MAX, ENOMEM.
 */
int schema_record_text(struct json_object *obj, const char *pk, int dynamic,
		       char **out, size_t *outlen, struct schema_err *err);

/*
 * obj as compact JSON in a malloc'd *body (*bodylen its length): a body
 * to go through schema_record_prepare().  ENOMEM.
 */
int schema_json_body(struct json_object *obj, char **body, size_t *bodylen);

/*
 * Parse text, which must be one JSON object (whitespace around it), with
 * the record lexer's checks and its decoding of surrogate pairs (json-c
 * 0.16 alone gets some wrong): *out is a new object the caller puts.
 * EINVAL with a message otherwise.  (record.c)
 */
int schema_parse_object(const char *text, size_t len, struct json_object **out,
			struct schema_err *err);

/*
 * The key attribute pk of a plain body (schema_record_plain's kind: no
 * escapes, small integers, each name once), read without json-c: 0 with
 * *has_key and key (a string's bytes point into body); EAGAIN when the
 * body is not plain or pk holds no integer or string.  (record.c)
 */
struct schema_key;
int schema_plain_key(const char *body, size_t len, const char *pk,
		     struct schema_key *key, int *has_key);

/*
 * Index values taken apart, and the coders of their ordered bytes
 * (value.c).  The files that find values in a record's text and edit.c,
 * which writes one back, fill in a struct schema_val and leave its bytes
 * to these, so every path gives the same bytes for the same value.
 */
enum schema_val_kind {
	SCHEMA_V_NULL,
	SCHEMA_V_FALSE,
	SCHEMA_V_TRUE,
	SCHEMA_V_INT,
	SCHEMA_V_UINT,
	SCHEMA_V_DBL,
	SCHEMA_V_STR
};

/* A value taken apart; strings point into memory the caller owns. */
struct schema_val {
	enum schema_val_kind kind;
	int64_t i;	  /* SCHEMA_V_INT */
	uint64_t u;	  /* SCHEMA_V_UINT: only above INT64_MAX */
	double d;	  /* SCHEMA_V_DBL: finite, and no SCHEMA_V_INT/UINT */
	const uint8_t *s; /* SCHEMA_V_STR: the string, or a cut one's prefix */
	size_t len;	  /* bytes at s */
	const uint8_t *digest; /* a cut string's SHA-256, else NULL */
};

/* A finite double as a value: whole numbers that fit become integers. */
void schema_num_of_double(double d, struct schema_val *v);

/* An unsigned integer as a value: SCHEMA_V_INT up to INT64_MAX. */
void schema_num_of_u64(uint64_t u, struct schema_val *v);

/* v's ordered bytes into out (SCHEMA_VALUE_MAX bytes); returns the length. */
size_t schema_encode_val(const struct schema_val *v, uint8_t *out);

/*
 * Take apart the value at the start of in; a string is unescaped into raw
 * (SCHEMA_VALUE_MAX bytes), which v->s then points into.  Returns the
 * value's length, or 0 if the bytes are not what the encoder writes.
 */
size_t schema_decode_val(const uint8_t *in, size_t len, struct schema_val *v,
			 uint8_t *raw);

/*
 * A JSON scalar as a value (entries.c): returns 0, or 1 for what is not
 * indexed (objects, arrays, a double json-c read as infinite), or EINVAL.
 */
int schema_val_of_json(struct json_object *j, struct schema_val *v);

/*
 * A list's scalar elements in ordered byte form, one buffer for all
 * (value.c): schema_elems_add() each element, then schema_elems_each()
 * calls fn once per distinct one, in value order, and empties the list for
 * the next; schema_elems_free() at the end.  Zeroed to start.
 */
struct schema_elem {
	size_t off, len;
	const uint8_t *p; /* buf + off, once buf has stopped moving */
};

struct schema_elems {
	struct schema_elem *el;
	size_t n, cap;
	uint8_t *buf;
	size_t used, size;
};

int schema_elems_add(struct schema_elems *e, const struct schema_val *v);
int schema_elems_each(struct schema_elems *e, const char *attr, size_t attrlen,
		      int (*fn)(const char *, size_t, const uint8_t *, size_t,
				void *),
		      void *arg);
void schema_elems_free(struct schema_elems *e);

#endif
