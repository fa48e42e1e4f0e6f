/*
 * fuzz_names.c: libFuzzer target for the name and value codecs of
 * schema/schema.c (record names, ordered keys) and schema/value.c (value
 * directory names, ranges, ordered values).
 *
 * The input is read every way at once: as a record name, a value name and
 * a range name, each of which must be refused or read back to itself; as
 * the bytes of a string key and, from its first 8 bytes, an integer key,
 * whose names must read back as the key; and as ordered value and key
 * bytes, which must read back through their names and encodings.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#include "fuzz.h"

#define SUFFIX ".json"

/* Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF),
 * written out here rather than taken from schema/. */
static int utf8_ok(const uint8_t *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		uint8_t c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int same_key(const struct schema_key *a, const struct schema_key *b)
{
	if (a->type != b->type)
		return 0;
	if (a->type == SCHEMA_KEY_INT)
		return a->i == b->i;
	return same(a->s, a->len, b->s, b->len);
}

static int ends_with_suffix(const char *name, size_t len)
{
	return len >= strlen(SUFFIX) &&
	       memcmp(name + len - strlen(SUFFIX), SUFFIX, strlen(SUFFIX)) == 0;
}

/* A key: its ordered bytes decode to it, its name reads back as it. */
static void check_key(const struct schema_key *key)
{
	char name[SCHEMA_NAME_MAX + 1], buf[SCHEMA_KEYBUF_MAX];
	uint8_t enc[SCHEMA_KEYBUF_MAX], d1[32], d2[32];
	struct schema_key back;
	size_t nl, el;
	int rc;

	el = schema_key_encode(key, enc);
	if (key->type == SCHEMA_KEY_STR && key->len > SCHEMA_KEY_MAX) {
		REQUIRE(el == 0);
	} else {
		REQUIRE(el > 0 && el <= SCHEMA_KEYBUF_MAX);
		REQUIRE(schema_key_decode(enc, el, &back) == 0);
		REQUIRE(same_key(&back, key));
	}

	nl = schema_key_to_name(key, name);
	REQUIRE(nl > strlen(SUFFIX) && nl <= SCHEMA_NAME_MAX);
	REQUIRE(strlen(name) == nl && ends_with_suffix(name, nl));
	REQUIRE(name[0] != '.' && !strchr(name, '/'));
	rc = schema_name_to_key(name, nl, &back, buf, sizeof(buf), NULL);
	if (rc == EAGAIN) {
		REQUIRE(schema_name_digest(name, nl, d1) == 0);
		schema_key_digest(key, d2);
		REQUIRE(memcmp(d1, d2, sizeof(d1)) == 0);
	} else if (key->type == SCHEMA_KEY_INT ||
		   utf8_ok((const uint8_t *)key->s, key->len)) {
		REQUIRE(rc == 0);
		REQUIRE(same_key(&back, key));
		REQUIRE(schema_name_digest(name, nl, d1) == ENOENT);
	} else {
		REQUIRE(rc == EINVAL);
	}
}

/* The input as a record name: refused, or read back to itself. */
static void record_name(const char *name, size_t len)
{
	char buf[SCHEMA_KEYBUF_MAX], again[SCHEMA_NAME_MAX + 1];
	struct schema_err err = {{0}};
	struct schema_key key;
	uint8_t digest[32];
	int rc;

	rc = schema_name_to_key(name, len, &key, buf, sizeof(buf), &err);
	switch (rc) {
	case 0:
		REQUIRE(
		    key.type == SCHEMA_KEY_INT ||
		    (key.s == buf && key.len > 0 && key.len <= SCHEMA_KEY_MAX));
		REQUIRE(schema_key_to_name(&key, again) == len);
		REQUIRE(memcmp(again, name, len) == 0);
		check_key(&key);
		break;
	case ENOENT:
		REQUIRE(!ends_with_suffix(name, len) || name[0] == '.');
		break;
	case EAGAIN:
		REQUIRE(schema_name_digest(name, len, digest) == 0);
		break;
	default:
		REQUIRE(rc == EINVAL && err.msg[0]);
	}
}

/* The input as a value name: refused, or read back to itself. */
static void value_name(const char *name, size_t len)
{
	char again[SCHEMA_NAME_MAX + 1];
	struct schema_err err = {{0}};
	uint8_t val[SCHEMA_VALUE_MAX];
	size_t vl = 0;
	int rc;

	rc = schema_name_to_value(name, len, val, &vl, &err);
	if (rc == 0) {
		REQUIRE(schema_value_to_name(val, vl, again) == len);
		REQUIRE(memcmp(again, name, len) == 0);
		check_value(val, vl);
	} else if (rc == EAGAIN) {
		REQUIRE(len >= 66 && memmem(name, len, "%~", 2));
		REQUIRE(vl > 0 && vl <= SCHEMA_VALUE_MAX);
	} else {
		REQUIRE(rc == EINVAL && err.msg[0]);
	}
}

/* The input as a range name: its ends split at the last "..". */
static void range_name(const char *name, size_t len)
{
	uint8_t lo[SCHEMA_VALUE_MAX], hi[SCHEMA_VALUE_MAX];
	uint8_t v[SCHEMA_VALUE_MAX];
	struct schema_err err = {{0}};
	size_t lol = 0, hil = 0, vl = 0, at;
	int rc, has = 0;

	for (at = len; at >= 2; at--)
		if (name[at - 2] == '.' && name[at - 1] == '.') {
			has = 1;
			break;
		}
	rc = schema_name_to_range(name, len, lo, &lol, hi, &hil, &err);
	if (!has) {
		REQUIRE(rc == ENOENT);
		return;
	}
	REQUIRE(rc == 0 || (rc == EINVAL && err.msg[0]));
	if (rc)
		return;
	at -= 2;
	if (at == 0) {
		REQUIRE(lol == 0);
	} else {
		REQUIRE(schema_name_to_value(name, at, v, &vl, NULL) == 0);
		REQUIRE(same(lo, lol, v, vl));
	}
	if (at + 2 == len) {
		REQUIRE(hil == 0);
	} else {
		REQUIRE(schema_name_to_value(name + at + 2, len - at - 2, v,
					     &vl, NULL) == 0);
		REQUIRE(same(hi, hil, v, vl));
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *name = (const char *)data;
	struct schema_key key = {.type = SCHEMA_KEY_STR};
	uint8_t enc[SCHEMA_KEYBUF_MAX];
	size_t n;

	record_name(name, size);
	value_name(name, size);
	range_name(name, size);

	/* the bytes as a string key, and as an integer key */
	if (size > 0 && size <= SCHEMA_KEY_MAX) {
		key.s = name;
		key.len = size;
		check_key(&key);
	}
	if (size >= 8) {
		key.type = SCHEMA_KEY_INT;
		memcpy(&key.i, data, sizeof(key.i));
		check_key(&key);
	}

	/* the bytes as an ordered value, and as an ordered key */
	n = schema_value_len(data, size);
	if (n)
		check_value(data, n);
	if (schema_key_decode(data, size, &key) == 0) {
		n = schema_key_encode(&key, enc);
		REQUIRE(same(enc, n, data, size));
	}
	return 0;
}
