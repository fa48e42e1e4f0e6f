/*
 * schema_i.h: what the files of schema/ share and nobody else needs.
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

#endif
