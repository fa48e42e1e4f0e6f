/*
 * schema.c: keys, their file names, and their ordered byte form.
 *
 * A file name has to carry a key both ways, so every key has exactly one
 * name and every name at most one key.  Rather than keep a second set of
 * rules for reading names, schema_name_to_key() decodes leniently and then
 * asks schema_key_to_name() for the canonical name of what it found: the
 * name is accepted only if the two agree byte for byte.  The encoder is the
 * single definition of the mapping; the decoder cannot drift from it.
 *
 * It also keeps schema_fail() and the percent-decoding that value names
 * share.  Every other file of schema/ may call it, so it must call none of
 * them; index values and their names are value.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "schema.h"
#include "schema_i.h"

#define SUFFIX	     ".json"
#define SUFFIX_LEN   (sizeof(SUFFIX) - 1)
#define HASH_TAG     "%~"
#define HASH_TAG_LEN 2
#define HASH_HEX_LEN 64
/*
 * Longest prefix of the stem a hashed name keeps, so that the name with its
 * tag, digest and suffix still fits in NAME_MAX.
 */
#define HASH_PREFIX_MAX                                                        \
	(SCHEMA_NAME_MAX - SUFFIX_LEN - HASH_TAG_LEN - HASH_HEX_LEN)

/* The first byte of an ordered key says which type follows. */
#define ORD_INT 0x01
#define ORD_STR 0x02

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

int schema_fail(struct schema_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/*
 * Whether s[0..len) is exactly how "%" PRId64 spells some int64_t: no sign
 * but '-', no leading zero, no "-0", in range.  Such a stem is a number;
 * any other stem is a string, so this is also the test for which strings
 * need their first byte escaped.
 */
static int canonical_int(const char *s, size_t len, int64_t *v)
{
	uint64_t mag = 0, limit = INT64_MAX;
	size_t i = 0;

	if (len && s[0] == '-') {
		limit = (uint64_t)INT64_MAX + 1;
		i = 1;
	}
	if (i == len || len - i > 19)
		return 0;
	if (s[i] == '0') {
		if (len != 1)
			return 0;
		*v = 0;
		return 1;
	}
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned)(s[i] - '0');
		if (mag > (limit - d) / 10)
			return 0;
		mag = mag * 10 + d;
	}
	/* Negate in two steps: -(2^63) does not fit before the cast. */
	*v = s[0] == '-' ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
	return 1;
}

/* Whether stem ends in "%~<64 lower-case hex>"; *hex gets the digits. */
static int hashed_tail(const char *name, size_t namelen, const char **hex)
{
	const char *t;
	size_t i;

	if (namelen > SCHEMA_NAME_MAX ||
	    namelen < SUFFIX_LEN + HASH_TAG_LEN + HASH_HEX_LEN ||
	    memcmp(name + namelen - SUFFIX_LEN, SUFFIX, SUFFIX_LEN))
		return 0;
	t = name + namelen - SUFFIX_LEN - HASH_HEX_LEN - HASH_TAG_LEN;
	if (memcmp(t, HASH_TAG, HASH_TAG_LEN))
		return 0;
	t += HASH_TAG_LEN;
	for (i = 0; i < HASH_HEX_LEN; i++)
		if (!((t[i] >= '0' && t[i] <= '9') ||
		      (t[i] >= 'a' && t[i] <= 'f')))
			return 0;
	*hex = t;
	return 1;
}

void schema_key_digest(const struct schema_key *key, uint8_t digest[32])
{
	SHA2_CTX ctx;
	uint8_t be[8];
	int i;

	SHA256Init(&ctx);
	if (key->type == SCHEMA_KEY_INT) {
		for (i = 0; i < 8; i++)
			be[i] = (uint8_t)((uint64_t)key->i >> (56 - 8 * i));
		SHA256Update(&ctx, be, sizeof(be));
	} else if (key->len) {
		SHA256Update(&ctx, (const uint8_t *)key->s, key->len);
	}
	SHA256Final(digest, &ctx);
}

size_t schema_key_to_name(const struct schema_key *key, char *name)
{
	/* Room for one more escape past the limit: that is how we notice. */
	char stem[SCHEMA_STEM_MAX + 4];
	uint8_t digest[32];
	size_t o = 0, cut = 0, i;
	int64_t unused;
	int numeric;

	if (key->type == SCHEMA_KEY_INT) {
		/* by hand: snprintf was a fifth of a listing's time */
		char digits[24];
		uint64_t u = key->i < 0 ? -(uint64_t)key->i : (uint64_t)key->i;
		size_t n = 0;
		do {
			digits[n++] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (key->i < 0)
			name[o++] = '-';
		while (n)
			name[o++] = digits[--n];
		memcpy(name + o, SUFFIX, sizeof(SUFFIX));
		return o + sizeof(SUFFIX) - 1;
	}

	numeric = canonical_int(key->s, key->len, &unused);
	for (i = 0; i < key->len && o <= SCHEMA_STEM_MAX; i++) {
		uint8_t c = (uint8_t)key->s[i];

		/*
		 * Where a hashed name may end its prefix: before an escape or
		 * a character, never inside one, so the prefix stays valid
		 * UTF-8 and decodes the way the full name would.
		 */
		if (o <= HASH_PREFIX_MAX && (c & 0xc0) != 0x80)
			cut = o;
		if (schema_must_escape(c, i) || (i == 0 && numeric)) {
			stem[o++] = '%';
			stem[o++] = hex_upper[c >> 4];
			stem[o++] = hex_upper[c & 0xf];
		} else {
			stem[o++] = (char)c;
		}
	}
	if (o <= SCHEMA_STEM_MAX) {
		memcpy(name, stem, o);
		memcpy(name + o, SUFFIX, SUFFIX_LEN + 1);
		return o + SUFFIX_LEN;
	}

	schema_key_digest(key, digest);
	memcpy(name, stem, cut);
	o = cut;
	memcpy(name + o, HASH_TAG, HASH_TAG_LEN);
	o += HASH_TAG_LEN;
	for (i = 0; i < sizeof(digest); i++) {
		name[o++] = hex_lower[digest[i] >> 4];
		name[o++] = hex_lower[digest[i] & 0xf];
	}
	memcpy(name + o, SUFFIX, SUFFIX_LEN + 1);
	return o + SUFFIX_LEN;
}

int schema_unescape(const char *name, size_t namelen, uint8_t *raw,
		    size_t *rawlen, struct schema_err *err)
{
	size_t i, o = 0;

	for (i = 0; i < namelen; i++) {
		char c = name[i];

		if (c == '%') {
			int hi = i + 1 < namelen ? schema_hex_value(name[i + 1])
						 : -1;
			int lo = i + 2 < namelen ? schema_hex_value(name[i + 2])
						 : -1;

			if (hi < 0 || lo < 0)
				return schema_fail(
				    err, EINVAL,
				    "bad percent escape \"%.*s\" (a '%%' is "
				    "written %%25)",
				    (int)(namelen - i < 3 ? namelen - i : 3),
				    name + i);
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		raw[o++] = (uint8_t)c;
	}
	*rawlen = o;
	return 0;
}

int schema_name_to_key(const char *name, size_t namelen, struct schema_key *key,
		       char *buf, size_t bufsize, struct schema_err *err)
{
	char canon[SCHEMA_NAME_MAX + 1];
	uint8_t raw[SCHEMA_NAME_MAX];
	struct schema_key k = {.type = SCHEMA_KEY_STR};
	const char *hex;
	size_t stemlen, o = 0, cl;
	int rc;

	if (namelen < SUFFIX_LEN ||
	    memcmp(name + namelen - SUFFIX_LEN, SUFFIX, SUFFIX_LEN))
		return ENOENT;
	stemlen = namelen - SUFFIX_LEN;
	if (stemlen == 0)
		return schema_fail(err, EINVAL,
				   "\".json\" is the name of no key");
	/* Dot files are the editors' and tools' own (".2.json.swp" aside). */
	if (name[0] == '.')
		return ENOENT;
	if (namelen > SCHEMA_NAME_MAX)
		return schema_fail(err, EINVAL,
				   "a record name is at most %d bytes",
				   SCHEMA_NAME_MAX);
	if (hashed_tail(name, namelen, &hex))
		return EAGAIN;
	if (canonical_int(name, stemlen, &k.i)) {
		k.type = SCHEMA_KEY_INT;
		*key = k;
		return 0;
	}

	rc = schema_unescape(name, stemlen, raw, &o, err);
	if (rc)
		return rc;
	if (o > bufsize)
		return schema_fail(err, EINVAL, "key too long");
	memcpy(buf, raw, o);
	if (!schema_utf8_valid(buf, o))
		return schema_fail(err, EINVAL,
				   "a record name must be valid UTF-8");

	k.s = buf;
	k.len = o;
	cl = schema_key_to_name(&k, canon);
	if (cl != namelen || memcmp(canon, name, namelen))
		return schema_fail(
		    err, EINVAL,
		    "not the canonical name of its key, which is \"%s\"",
		    canon);
	*key = k;
	return 0;
}

int schema_name_digest(const char *name, size_t namelen, uint8_t digest[32])
{
	const char *hex;
	int i;

	if (!hashed_tail(name, namelen, &hex))
		return ENOENT;
	for (i = 0; i < 32; i++)
		digest[i] = (uint8_t)(schema_hex_value(hex[2 * i]) << 4 |
				      schema_hex_value(hex[2 * i + 1]));
	return 0;
}

size_t schema_key_encode(const struct schema_key *key, uint8_t *out)
{
	uint64_t u;
	int i;

	switch (key->type) {
	case SCHEMA_KEY_INT:
		/*
		 * Big-endian with the sign bit flipped: memcmp order is then
		 * numeric order, negatives first.
		 */
		u = (uint64_t)key->i ^ (UINT64_C(1) << 63);
		out[0] = ORD_INT;
		for (i = 0; i < 8; i++)
			out[1 + i] = (uint8_t)(u >> (56 - 8 * i));
		return 9;
	case SCHEMA_KEY_STR:
		if (key->len > SCHEMA_KEY_MAX)
			return 0;
		out[0] = ORD_STR;
		if (key->len)
			memcpy(out + 1, key->s, key->len);
		return key->len + 1;
	}
	return 0;
}

int schema_key_decode(const uint8_t *in, size_t len, struct schema_key *key)
{
	uint64_t u = 0;
	int i;

	if (len == 9 && in[0] == ORD_INT) {
		for (i = 0; i < 8; i++)
			u = u << 8 | in[1 + i];
		u ^= UINT64_C(1) << 63;
		key->type = SCHEMA_KEY_INT;
		/* Two's complement by hand: a cast of u >= 2^63 is not
		 * portable. */
		key->i = u > INT64_MAX ? -(int64_t)(~u) - 1 : (int64_t)u;
		key->s = NULL;
		key->len = 0;
		return 0;
	}
	if (len >= 1 && len - 1 <= SCHEMA_KEY_MAX && in[0] == ORD_STR) {
		key->type = SCHEMA_KEY_STR;
		key->i = 0;
		key->s = (const char *)in + 1;
		key->len = len - 1;
		return 0;
	}
	return EINVAL;
}
