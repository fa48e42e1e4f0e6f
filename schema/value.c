/*
 * value.c: index values, their ordered bytes and their directory names.
 *
 * An index key is [value bytes][record key bytes] with nothing between, so
 * the value bytes must end by themselves and memcmp() over them must be the
 * order `ls .by/age/` shows.  Every value starts with a tag byte that puts
 * the types in order (null, false, true, numbers, strings).
 *
 * A number is the tag, 8 bytes of its nearest double in an order-preserving
 * form, and 8 bytes of the exact difference between the number and that
 * double.  The double alone orders integers and floats together; integers
 * past 2^53 that round to the same double are then told apart by the
 * difference, which is exact for every int64_t and uint64_t (it is at most
 * 1024 either way), so no integer JSON can hold loses a digit.  A float
 * that is a whole number within those types is the integer: 3.0 and 3 are
 * one value, and -0.0 is 0.
 *
 * A string is the tag, its bytes with each NUL written 00 FF, and 00 01 at
 * the end: a shorter string sorts before its extensions and a NUL inside
 * still sorts below every other byte.  A string too long for
 * SCHEMA_VALUE_MAX keeps a prefix, then 00 02 and the SHA-256 of the whole
 * string, so that equal strings give equal bytes and it sorts near its
 * prefix.
 *
 * Names follow the rule of schema.c: schema_name_to_value() decodes
 * leniently and accepts a name only if schema_value_to_name() gives back
 * the same bytes, so the encoder alone defines the mapping.
 *
 * Numbers are written and read with snprintf() and strtod(), which follow
 * LC_NUMERIC; the daemon never calls setlocale(), so that is "C".
 *
 * Only this file makes or takes apart those bytes; the other files of
 * schema/ call it through schema_i.h.  It uses no json-c: finding the
 * values in a record's text is left to entries.c (with json-c) and scan.c
 * (without), and setting one through .by to edit.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_i.h"

#define TAG_NULL  0x01
#define TAG_FALSE 0x02
#define TAG_TRUE  0x03
#define TAG_NUM	  0x04
#define TAG_STR	  0x05

/* What may follow a 0x00 inside a string's bytes. */
#define STR_END	 0x01 /* the string ends */
#define STR_LONG 0x02 /* the string was cut; its digest follows */
#define STR_NUL	 0xff /* an escaped NUL */

#define NUM_LEN	   17
#define DIGEST_LEN 32
/* Longest escaped prefix a cut string keeps, with tag, marker and digest. */
#define LONG_PREFIX_MAX (SCHEMA_VALUE_MAX - 1 - 2 - DIGEST_LEN)

#define HASH_TAG     "%~"
#define HASH_TAG_LEN 2
#define HASH_HEX_LEN 64
/* Longest prefix a hashed value name keeps. */
#define NAME_PREFIX_MAX (SCHEMA_NAME_MAX - HASH_TAG_LEN - HASH_HEX_LEN)

#define SIGN_BIT (UINT64_C(1) << 63)

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

/* ---- ordered bytes --------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t u)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(u >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t u = 0;
	int i;

	for (i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return u;
}

/* Two's complement by hand: a cast of u >= 2^63 is not portable. */
static int64_t u64_to_i64(uint64_t u)
{
	return u > INT64_MAX ? -(int64_t)(~u) - 1 : (int64_t)u;
}

/*
 * IEEE bits made memcmp-ordered: a positive double gets its sign bit set so
 * it sorts above every negative, a negative one has all bits flipped so a
 * larger magnitude sorts lower.
 */
static uint64_t double_to_ord(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b & SIGN_BIT ? ~b : b ^ SIGN_BIT;
}

static double ord_to_double(uint64_t o)
{
	uint64_t b = o & SIGN_BIT ? o ^ SIGN_BIT : ~o;
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

/*
 * The whole number d, modulo 2^64, for -2^63 <= d <= 2^64: the base the
 * exact difference of a number is added to.
 */
static uint64_t double_wrap(double d)
{
	if (d < 0x1p63)
		return (uint64_t)(int64_t)d;
	if (d < 0x1p64)
		return (uint64_t)d;
	return 0;
}

/*
 * Whether finite d is a whole number, without libm: from 2^52 up every
 * double is whole, and below that the cast is exact.
 */
static int is_whole(double d)
{
	if (d >= 0x1p52 || d <= -0x1p52)
		return 1;
	return d == (double)(int64_t)d;
}

/* A finite double as a value: whole numbers that fit become integers. */
void schema_num_of_double(double d, struct schema_val *v)
{
	if (is_whole(d) && d >= -0x1p63 && d < 0x1p64) {
		if (d < 0x1p63) {
			v->kind = SCHEMA_V_INT;
			v->i = (int64_t)d;
		} else {
			v->kind = SCHEMA_V_UINT;
			v->u = (uint64_t)d;
		}
	} else {
		v->kind = SCHEMA_V_DBL;
		v->d = d;
	}
}

void schema_num_of_u64(uint64_t u, struct schema_val *v)
{
	if (u > INT64_MAX) {
		v->kind = SCHEMA_V_UINT;
		v->u = u;
	} else {
		v->kind = SCHEMA_V_INT;
		v->i = (int64_t)u;
	}
}

static size_t encode_num(const struct schema_val *v, uint8_t *out)
{
	uint64_t diff = 0;
	double d;

	/*
	 * The conversions round to nearest, which never reverses an order,
	 * and the difference to the rounded value is small and exact.
	 */
	switch (v->kind) {
	case SCHEMA_V_INT:
		d = (double)v->i;
		diff = (uint64_t)v->i - double_wrap(d);
		break;
	case SCHEMA_V_UINT:
		d = (double)v->u;
		diff = v->u - double_wrap(d);
		break;
	default:
		d = v->d;
		break;
	}
	out[0] = TAG_NUM;
	put_be64(out + 1, double_to_ord(d));
	put_be64(out + 9, diff ^ SIGN_BIT);
	return NUM_LEN;
}

/* Escaped length of s: each NUL takes two bytes. */
static size_t escaped_len(const uint8_t *s, size_t len)
{
	size_t n = len, i;

	for (i = 0; i < len; i++)
		n += s[i] == 0;
	return n;
}

static size_t put_escaped(const uint8_t *s, size_t len, uint8_t *out)
{
	size_t o = 0, i;

	for (i = 0; i < len; i++) {
		out[o++] = s[i];
		if (s[i] == 0)
			out[o++] = STR_NUL;
	}
	return o;
}

static size_t encode_str(const uint8_t *s, size_t len, uint8_t *out)
{
	struct schema_key k = {.type = SCHEMA_KEY_STR};
	size_t esc = escaped_len(s, len), cut = 0, e = 0, i, o;

	out[0] = TAG_STR;
	if (1 + esc + 2 <= SCHEMA_VALUE_MAX) {
		o = 1 + put_escaped(s, len, out + 1);
		out[o++] = 0;
		out[o++] = STR_END;
		return o;
	}
	/*
	 * Cut before a character, never inside one, so the prefix is UTF-8
	 * and its name decodes to the start of the string.
	 */
	for (i = 0; i < len && e <= LONG_PREFIX_MAX; i++) {
		if ((s[i] & 0xc0) != 0x80)
			cut = i;
		e += s[i] == 0 ? 2 : 1;
	}
	o = 1 + put_escaped(s, cut, out + 1);
	out[o++] = 0;
	out[o++] = STR_LONG;
	k.s = (const char *)s;
	k.len = len;
	schema_key_digest(&k, out + o);
	return o + DIGEST_LEN;
}

/* out has SCHEMA_VALUE_MAX bytes; v->digest is not looked at. */
size_t schema_encode_val(const struct schema_val *v, uint8_t *out)
{
	switch (v->kind) {
	case SCHEMA_V_NULL:
		out[0] = TAG_NULL;
		return 1;
	case SCHEMA_V_FALSE:
		out[0] = TAG_FALSE;
		return 1;
	case SCHEMA_V_TRUE:
		out[0] = TAG_TRUE;
		return 1;
	case SCHEMA_V_INT:
	case SCHEMA_V_UINT:
	case SCHEMA_V_DBL:
		return encode_num(v, out);
	case SCHEMA_V_STR:
		return encode_str(v->s, v->len, out);
	}
	return 0;
}

static size_t decode_num(const uint8_t *in, size_t len, struct schema_val *v)
{
	uint8_t again[NUM_LEN];
	uint64_t diff, n;
	double d;

	if (len < NUM_LEN)
		return 0;
	d = ord_to_double(get_be64(in + 1));
	diff = get_be64(in + 9) ^ SIGN_BIT;
	if (!isfinite(d))
		return 0;
	if (is_whole(d) && d >= -0x1p63 && d <= 0x1p64 &&
	    !(d == 0x1p64 && diff == 0)) {
		n = double_wrap(d) + diff;
		if (d < 0) {
			v->kind = SCHEMA_V_INT;
			v->i = u64_to_i64(n);
		} else {
			schema_num_of_u64(n, v);
		}
	} else {
		v->kind = SCHEMA_V_DBL;
		v->d = d;
	}
	/* Only the bytes encode_num() writes are a number (no -0.0, ...). */
	if (encode_num(v, again) != NUM_LEN || memcmp(again, in, NUM_LEN))
		return 0;
	return NUM_LEN;
}

/*
 * Unescape a string's bytes into raw (SCHEMA_VALUE_MAX bytes), checking
 * that they are what encode_str() writes.
 */
static size_t decode_str(const uint8_t *in, size_t len, struct schema_val *v,
			 uint8_t *raw)
{
	size_t p = 1, o = 0, esc;

	v->kind = SCHEMA_V_STR;
	v->digest = NULL;
	for (;;) {
		if (p >= len || p >= SCHEMA_VALUE_MAX)
			return 0;
		if (in[p] != 0) {
			raw[o++] = in[p++];
			continue;
		}
		if (p + 1 >= len)
			return 0;
		if (in[p + 1] == STR_NUL) {
			raw[o++] = 0;
			p += 2;
			continue;
		}
		break;
	}
	esc = p - 1;
	if (in[p + 1] == STR_END) {
		p += 2;
		if (p > SCHEMA_VALUE_MAX)
			return 0;
	} else if (in[p + 1] == STR_LONG) {
		/* A cut string was cut at the last character that fit. */
		if (esc > LONG_PREFIX_MAX || esc + 4 <= LONG_PREFIX_MAX ||
		    len - p - 2 < DIGEST_LEN)
			return 0;
		v->digest = in + p + 2;
		p += 2 + DIGEST_LEN;
	} else {
		return 0;
	}
	if (!schema_utf8_valid(raw, o))
		return 0;
	v->s = raw;
	v->len = o;
	return p;
}

/* Take apart the value at the start of in; returns its length or 0. */
size_t schema_decode_val(const uint8_t *in, size_t len, struct schema_val *v,
			 uint8_t *raw)
{
	memset(v, 0, sizeof(*v));
	if (len == 0)
		return 0;
	switch (in[0]) {
	case TAG_NULL:
		v->kind = SCHEMA_V_NULL;
		return 1;
	case TAG_FALSE:
		v->kind = SCHEMA_V_FALSE;
		return 1;
	case TAG_TRUE:
		v->kind = SCHEMA_V_TRUE;
		return 1;
	case TAG_NUM:
		return decode_num(in, len, v);
	case TAG_STR:
		return decode_str(in, len, v, raw);
	}
	return 0;
}

size_t schema_value_len(const uint8_t *buf, size_t len)
{
	uint8_t raw[SCHEMA_VALUE_MAX];
	struct schema_val v;

	return schema_decode_val(buf, len, &v, raw);
}

/* ---- names ----------------------------------------------------------- */

/*
 * Whether s reads as a number: optional sign, digits with an optional
 * point (at least one digit), optional exponent.  Wider than JSON's
 * grammar on purpose: "03", "+3", ".5" and "3." are refused as value names
 * with the canonical spelling, rather than taken for strings.  *whole is
 * set when there is neither point nor exponent.
 */
static int reads_as_number(const char *s, size_t len, int *whole)
{
	size_t i = 0, digits = 0;

	*whole = 1;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < len && s[i] == '.') {
		*whole = 0;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	}
	if (!digits)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		*whole = 0;
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == len || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == len;
}

/* Whether a string's text would be read as another value's name. */
static int reads_as_other(const uint8_t *s, size_t len)
{
	static const char *const words[] = {"null", "true", "false", "\"\""};
	size_t i;
	int whole;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (len == strlen(words[i]) && !memcmp(s, words[i], len))
			return 1;
	return reads_as_number((const char *)s, len, &whole);
}

/*
 * The shortest text that strtod() reads back as d (finite, not a whole
 * number that fits an integer type, so never "-0"): positional ("0.25",
 * "-1234.5", "0.000001") unless that would take more than six zeros after
 * the point, or the number is whole (past 2^64), which are written with an
 * exponent ("1e-7", "1.5e+300", "1.8446744073709552e+19").  A float name
 * thus always holds '.' or 'e', an integer name never does.
 */
static size_t double_name(double d, char *name)
{
	char buf[40], digits[20];
	size_t k = 0, o = 0, i;
	int prec, exp;
	char *p;

	for (prec = 0; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	p = buf;
	if (*p == '-')
		name[o++] = *p++;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[k++] = *p;
	exp = *p ? atoi(p + 1) : 0;
	while (k > 1 && digits[k - 1] == '0')
		k--;

	if (is_whole(d) || exp < -6) {
		name[o++] = digits[0];
		if (k > 1) {
			name[o++] = '.';
			memcpy(name + o, digits + 1, k - 1);
			o += k - 1;
		}
		o += (size_t)sprintf(name + o, "e%c%d", exp < 0 ? '-' : '+',
				     exp < 0 ? -exp : exp);
		return o;
	}
	if (exp >= 0) {
		/* Not whole, so some digits follow the point. */
		memcpy(name + o, digits, (size_t)exp + 1);
		o += (size_t)exp + 1;
		name[o++] = '.';
		memcpy(name + o, digits + exp + 1, k - (size_t)exp - 1);
		o += k - (size_t)exp - 1;
	} else {
		name[o++] = '0';
		name[o++] = '.';
		for (i = 1; i < (size_t)-exp; i++)
			name[o++] = '0';
		memcpy(name + o, digits, k);
		o += k;
	}
	name[o] = '\0';
	return o;
}

/*
 * Percent-encode a string into stem (room for SCHEMA_NAME_MAX + 3 bytes),
 * stopping once past SCHEMA_NAME_MAX.  Besides the bytes keys escape, the
 * first '.' of every ".." is written %2E, so ".." in a value directory
 * name always separates the ends of a range.  *cut gets the longest
 * prefix within NAME_PREFIX_MAX that ends before a character or escape.
 * Returns the length, which exceeds SCHEMA_NAME_MAX if s did not fit.
 */
/*
 * Whether s[i..len) is ".ndjson", ".csv" or ".json": a value directory's
 * name never ends so, since "Lab.ndjson" beside "Lab" is that value's
 * stream (the '.' is escaped: the string "x.json" is "x%2Ejson").
 */
static int stream_suffix_at(const uint8_t *s, size_t len, size_t i)
{
	static const char *const sfx[] = {".ndjson", ".csv", ".json"};
	size_t k;
	for (k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++) {
		size_t sl = strlen(sfx[k]);
		if (len - i == sl && memcmp(s + i, sfx[k], sl) == 0)
			return 1;
	}
	return 0;
}

static size_t str_stem(const uint8_t *s, size_t len, int escape_first,
		       char *stem, size_t *cut)
{
	size_t o = 0, i;

	*cut = 0;
	for (i = 0; i < len && o <= SCHEMA_NAME_MAX; i++) {
		uint8_t c = s[i];

		if (o <= NAME_PREFIX_MAX && (c & 0xc0) != 0x80)
			*cut = o;
		if (schema_must_escape(c, i) || (i == 0 && escape_first) ||
		    (c == '.' && ((i + 1 < len && s[i + 1] == '.') ||
				  stream_suffix_at(s, len, i)))) {
			stem[o++] = '%';
			stem[o++] = hex_upper[c >> 4];
			stem[o++] = hex_upper[c & 0xf];
		} else {
			stem[o++] = (char)c;
		}
	}
	if (o <= NAME_PREFIX_MAX)
		*cut = o;
	return o;
}

static size_t str_name(const struct schema_val *v, char *name)
{
	char stem[SCHEMA_NAME_MAX + 4];
	uint8_t digest[DIGEST_LEN];
	const uint8_t *dg = v->digest;
	size_t o, cut, i;

	if (v->len == 0 && !dg) {
		memcpy(name, "\"\"", 3);
		return 2;
	}
	if (!dg) {
		o = str_stem(v->s, v->len, reads_as_other(v->s, v->len), stem,
			     &cut);
		if (o <= SCHEMA_NAME_MAX) {
			memcpy(name, stem, o);
			name[o] = '\0';
			return o;
		}
	}
	/*
	 * Hashed: the tail tells it apart from any other name, so the first
	 * byte needs no escape; a cut string keeps more than the prefix
	 * needs, so its name can be made from the prefix alone.
	 */
	str_stem(v->s, v->len, 0, stem, &cut);
	if (!dg) {
		struct schema_key k = {.type = SCHEMA_KEY_STR,
				       .s = (const char *)v->s,
				       .len = v->len};

		schema_key_digest(&k, digest);
		dg = digest;
	}
	memcpy(name, stem, cut);
	o = cut;
	memcpy(name + o, HASH_TAG, HASH_TAG_LEN);
	o += HASH_TAG_LEN;
	for (i = 0; i < DIGEST_LEN; i++) {
		name[o++] = hex_lower[dg[i] >> 4];
		name[o++] = hex_lower[dg[i] & 0xf];
	}
	name[o] = '\0';
	return o;
}

static size_t val_name(const struct schema_val *v, char *name)
{
	switch (v->kind) {
	case SCHEMA_V_NULL:
		return (size_t)sprintf(name, "null");
	case SCHEMA_V_FALSE:
		return (size_t)sprintf(name, "false");
	case SCHEMA_V_TRUE:
		return (size_t)sprintf(name, "true");
	case SCHEMA_V_INT:
		return (size_t)sprintf(name, "%" PRId64, v->i);
	case SCHEMA_V_UINT:
		return (size_t)sprintf(name, "%" PRIu64, v->u);
	case SCHEMA_V_DBL:
		return double_name(v->d, name);
	case SCHEMA_V_STR:
		return str_name(v, name);
	}
	name[0] = '\0';
	return 0;
}

size_t schema_value_to_name(const uint8_t *val, size_t vallen, char *name)
{
	uint8_t raw[SCHEMA_VALUE_MAX];
	struct schema_val v;

	if (!schema_decode_val(val, vallen, &v, raw)) {
		name[0] = '\0';
		return 0;
	}
	return val_name(&v, name);
}

/* Whether name ends in "%~<64 lower-case hex>", the hashed form. */
static int hashed_name(const char *name, size_t namelen)
{
	const char *t;
	size_t i;

	if (namelen > SCHEMA_NAME_MAX || namelen < HASH_TAG_LEN + HASH_HEX_LEN)
		return 0;
	t = name + namelen - HASH_HEX_LEN - HASH_TAG_LEN;
	if (memcmp(t, HASH_TAG, HASH_TAG_LEN))
		return 0;
	t += HASH_TAG_LEN;
	for (i = 0; i < HASH_HEX_LEN; i++)
		if (!((t[i] >= '0' && t[i] <= '9') ||
		      (t[i] >= 'a' && t[i] <= 'f')))
			return 0;
	return 1;
}

/* Read a number name into v (not yet checked for being canonical). */
static int number_of_name(const char *name, size_t namelen, int whole,
			  struct schema_val *v, struct schema_err *err)
{
	char buf[SCHEMA_NAME_MAX + 1];
	uint64_t mag = 0, limit = UINT64_MAX;
	size_t i = 0;
	int neg = 0;
	double d;

	if (whole) {
		if (name[0] == '+' || name[0] == '-') {
			neg = name[0] == '-';
			i = 1;
		}
		if (neg)
			limit = SIGN_BIT;
		for (; i < namelen; i++) {
			unsigned dig = (unsigned)(name[i] - '0');

			if (mag > (limit - dig) / 10)
				return schema_fail(
				    err, EINVAL,
				    "integer out of range: values are "
				    "-9223372036854775808 to "
				    "18446744073709551615");
			mag = mag * 10 + dig;
		}
		if (neg) {
			v->kind = SCHEMA_V_INT;
			v->i = mag ? -(int64_t)(mag - 1) - 1 : 0;
		} else {
			schema_num_of_u64(mag, v);
		}
		return 0;
	}
	memcpy(buf, name, namelen);
	buf[namelen] = '\0';
	d = strtod(buf, NULL);
	if (!isfinite(d))
		return schema_fail(err, EINVAL, "number out of range");
	schema_num_of_double(d, v);
	return 0;
}

int schema_name_to_value(const char *name, size_t namelen, uint8_t *out,
			 size_t *outlen, struct schema_err *err)
{
	char canon[SCHEMA_NAME_MAX + 1];
	uint8_t raw[SCHEMA_NAME_MAX];
	struct schema_val v = {.kind = SCHEMA_V_STR};
	size_t rl, cl;
	int rc, whole;

	if (namelen == 0)
		return schema_fail(err, EINVAL, "the empty name is no value");
	if (namelen > SCHEMA_NAME_MAX)
		return schema_fail(err, EINVAL,
				   "a value name is at most %d bytes",
				   SCHEMA_NAME_MAX);
	if (hashed_name(name, namelen)) {
		/*
		 * The value cannot be read back; what every value of this
		 * name starts with can, and is where the caller looks.
		 */
		rc = schema_unescape(
		    name, namelen - HASH_TAG_LEN - HASH_HEX_LEN, raw, &rl, err);
		if (rc)
			return rc;
		out[0] = TAG_STR;
		*outlen = 1 + put_escaped(raw, rl, out + 1);
		return EAGAIN;
	}

	if (namelen == 4 && !memcmp(name, "null", 4)) {
		v.kind = SCHEMA_V_NULL;
	} else if (namelen == 4 && !memcmp(name, "true", 4)) {
		v.kind = SCHEMA_V_TRUE;
	} else if (namelen == 5 && !memcmp(name, "false", 5)) {
		v.kind = SCHEMA_V_FALSE;
	} else if (namelen == 2 && !memcmp(name, "\"\"", 2)) {
		v.len = 0;
		v.s = raw;
	} else if (reads_as_number(name, namelen, &whole)) {
		rc = number_of_name(name, namelen, whole, &v, err);
		if (rc)
			return rc;
	} else {
		rc = schema_unescape(name, namelen, raw, &rl, err);
		if (rc)
			return rc;
		if (!schema_utf8_valid(raw, rl))
			return schema_fail(err, EINVAL,
					   "a value name must be valid UTF-8");
		v.s = raw;
		v.len = rl;
	}

	cl = val_name(&v, canon);
	if (cl != namelen || memcmp(canon, name, namelen))
		return schema_fail(
		    err, EINVAL,
		    "not the canonical name of its value, which is \"%s\"",
		    canon);
	*outlen = schema_encode_val(&v, out);
	return 0;
}

/* One end of a range: empty, or a value name that is not hashed. */
static int range_end(const char *name, size_t namelen, uint8_t *out,
		     size_t *outlen, struct schema_err *err)
{
	int rc;

	*outlen = 0;
	if (namelen == 0)
		return 0;
	rc = schema_name_to_value(name, namelen, out, outlen, err);
	if (rc == EAGAIN) {
		*outlen = 0;
		return schema_fail(err, EINVAL,
				   "a range cannot end at a value whose name "
				   "is hashed");
	}
	return rc;
}

int schema_name_to_range(const char *name, size_t namelen, uint8_t *lo,
			 size_t *lolen, uint8_t *hi, size_t *hilen,
			 struct schema_err *err)
{
	size_t at;
	int rc;

	/*
	 * No value name holds "..", and none begins with '.', but one may
	 * end in '.': so the last ".." is the separator ("a...b" is "a."
	 * to "b").
	 */
	for (at = namelen; at >= 2; at--)
		if (name[at - 2] == '.' && name[at - 1] == '.')
			break;
	if (at < 2)
		return ENOENT;
	at -= 2;
	rc = range_end(name, at, lo, lolen, err);
	if (!rc)
		rc = range_end(name + at + 2, namelen - at - 2, hi, hilen, err);
	return rc;
}

/* ---- distinct values of a list --------------------------------------- */

static int elem_cmp(const void *a, const void *b)
{
	const struct schema_elem *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

int schema_elems_add(struct schema_elems *e, const struct schema_val *v)
{
	if (e->n == e->cap) {
		size_t c = e->cap ? 2 * e->cap : 16;
		struct schema_elem *ne = realloc(e->el, c * sizeof(*ne));
		if (!ne)
			return ENOMEM;
		e->el = ne;
		e->cap = c;
	}
	if (e->size - e->used < SCHEMA_VALUE_MAX) {
		size_t c = e->size ? 2 * e->size : 4 * SCHEMA_VALUE_MAX;
		uint8_t *nb = realloc(e->buf, c);
		if (!nb)
			return ENOMEM;
		e->buf = nb;
		e->size = c;
	}
	e->el[e->n].off = e->used;
	e->el[e->n].len = schema_encode_val(v, e->buf + e->used);
	e->used += e->el[e->n++].len;
	return 0;
}

/*
 * One call per distinct element, in value order.  The elements' bytes
 * are sorted to find the equal ones, so a long array costs n log n, not
 * n^2; the buffer stays near the size of the record's text.  Empties e
 * for the next list.
 */
int schema_elems_each(struct schema_elems *e, const char *attr, size_t attrlen,
		      int (*fn)(const char *, size_t, const uint8_t *, size_t,
				void *),
		      void *arg)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < e->n; i++)
		e->el[i].p = e->buf + e->el[i].off;
	if (e->n > 1) /* qsort's array may not be NULL, even empty */
		qsort(e->el, e->n, sizeof(*e->el), elem_cmp);
	for (i = 0; i < e->n && !rc; i++)
		if (i == 0 || elem_cmp(&e->el[i - 1], &e->el[i]))
			rc = fn(attr, attrlen, e->el[i].p, e->el[i].len, arg);
	e->n = e->used = 0;
	return rc;
}

void schema_elems_free(struct schema_elems *e)
{
	free(e->el);
	free(e->buf);
}
