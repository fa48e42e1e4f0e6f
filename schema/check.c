/*
 * check.c: the records of declared tables.
 *
 * A table with a GraphQL schema (schema/sdl.c) says what each attribute
 * holds.  schema_table_record() takes the canonical text that
 * schema_record_prepare() made of a write, holds every attribute to its
 * declaration, fills in the creation and update times, writes every Date in
 * one form, and prints the result with record.c's printer, so a record of a
 * declared table reads exactly like any other.  schema_table_json_schema()
 * states the same rules as JSON Schema, for tools outside.
 *
 * It must not print a record its own way nor read schema text: printing
 * is record.c's and parsing sdl.c's; which attributes a table indexes is
 * entries.c's.
 *
 * The checks work on json-c objects parsed from canonical text, which the
 * lexer in record.c has already passed, so json-c's strict mode is enough
 * here: no integer past 64 bits, bad UTF-8 or lone surrogate reaches it.
 * json-c does hold integers between INT64_MAX and UINT64_MAX (as uint64),
 * and only Float, BigInt and Any take those.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_i.h"

#define SCALAR_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* How many bytes of a value, and of a name, a message shows. */
#define SHOW_VALUE 60
#define SHOW_NAME  100

#define MS_PER_DAY INT64_C(86400000)
/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z */
#define DATE_MIN_MS (-INT64_C(62167219200000))
#define DATE_MAX_MS INT64_C(253402300799999)
#define DATE_LEN    24 /* "YYYY-MM-DDTHH:MM:SS.sssZ" */

const struct schema_attr *schema_table_pk(const struct schema_table *t)
{
	size_t i;

	for (i = 0; t && i < t->nattrs; i++)
		if (t->attrs[i].pk)
			return &t->attrs[i];
	return NULL;
}

const char *schema_table_pk_name(const struct schema_table *t)
{
	const struct schema_attr *a = schema_table_pk(t);
	return a ? a->name : SCHEMA_PK;
}

const struct schema_attr *schema_table_attr(const struct schema_table *t,
					    const char *name, size_t len)
{
	size_t i;

	for (i = 0; t && i < t->nattrs; i++) {
		const char *n = t->attrs[i].name;

		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return &t->attrs[i];
	}
	return NULL;
}

static int is_time(const struct schema_attr *a)
{
	return a->created || a->updated;
}

/*
 * An Int that holds a time holds milliseconds since 1970, which pass
 * int32 after 25 days: it takes the range of a Long, or the times this file
 * writes would fail their own check.
 */
static int wide_int(const struct schema_attr *a)
{
	return is_time(a) && a->type == SCHEMA_T_INT;
}

/*
 * v as an int64_t, if it is a JSON integer that fits.  json-c holds
 * integers past INT64_MAX as uint64 and json_object_get_int64() clamps
 * them, so a clamped INT64_MAX is told apart through the uint64 view.
 * (The same test as record.c's.)
 */
static int int64_of(struct json_object *v, int64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return 0;
	*out = json_object_get_int64(v);
	return *out != INT64_MAX || json_object_get_uint64(v) == INT64_MAX;
}

/* ---- dates ------------------------------------------------------------ */

/*
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, and
 * back (Howard Hinnant's days_from_civil and civil_from_days), exact for
 * every year a Date may hold and for negative day counts.
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* The n decimal digits at s as a number, or -1 if one is not a digit. */
static int digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * Read ISO 8601 text: YYYY-MM-DD, or that followed by 'T' (or 't', or a
 * space) and HH:MM[:SS[.fraction]], then optionally 'Z' ('z'), +HH:MM or
 * +HHMM (or '-').  No zone is UTC; a date alone is its midnight, UTC.  The
 * fraction may have any number of digits; past milliseconds they are cut,
 * not rounded, so a time never moves into the next second (or year).
 * Returns 1 and the milliseconds since 1970 in *ms, or 0 if s is none of
 * those forms, names a day or time that does not exist (2026-02-30, 25:00,
 * 24:00, a leap second 23:59:60), or falls outside years 0000-9999 once
 * moved to UTC.
 */
static int date_parse(const char *s, size_t len, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
	size_t i, n;
	int64_t t;

	if (len < 10 || s[4] != '-' || s[7] != '-')
		return 0;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return 0;
	if (len > 10) {
		if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		    len < 16 || s[13] != ':')
			return 0;
		h = digits(s + 11, 2);
		mi = digits(s + 14, 2);
		if (h < 0 || h > 23 || mi < 0 || mi > 59)
			return 0;
		i = 16;
		if (i < len && s[i] == ':') {
			if (len - i < 3)
				return 0;
			sec = digits(s + i + 1, 2);
			if (sec < 0 || sec > 59)
				return 0;
			i += 3;
			if (i < len && s[i] == '.') {
				for (i++, n = 0;
				     i < len && s[i] >= '0' && s[i] <= '9';
				     i++, n++)
					if (n < 3)
						frac = frac * 10 + (s[i] - '0');
				if (n == 0)
					return 0;
				for (; n < 3; n++)
					frac *= 10;
			}
		}
		if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
			i++;
		} else if (i < len && (s[i] == '+' || s[i] == '-')) {
			int oh, om;

			if (len - i == 6 && s[i + 3] == ':') {
				oh = digits(s + i + 1, 2);
				om = digits(s + i + 4, 2);
			} else if (len - i == 5) {
				oh = digits(s + i + 1, 2);
				om = digits(s + i + 3, 2);
			} else {
				return 0;
			}
			if (oh < 0 || oh > 23 || om < 0 || om > 59)
				return 0;
			off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
			i = len;
		}
		if (i != len)
			return 0;
	}
	t = days_from_civil(y, mo, d) * MS_PER_DAY +
	    ((int64_t)(h * 60 + mi - off) * 60 + sec) * 1000 + frac;
	if (t < DATE_MIN_MS || t > DATE_MAX_MS)
		return 0;
	*ms = t;
	return 1;
}

/* n decimal digits of v (0 <= v < 10^n) at p, zero-padded. */
static void put_digits(char *p, int v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * The stored form of a Date, ms within DATE_MIN_MS..DATE_MAX_MS.  Written
 * by hand: snprintf() cannot know the fields fit, and -Wformat-truncation
 * says so.
 */
static void date_format(int64_t ms, char out[DATE_LEN + 1])
{
	int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
	int y, m, d;

	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	memcpy(out, "0000-00-00T00:00:00.000Z", DATE_LEN + 1);
	put_digits(out, y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, (int)(rem / 3600000), 2);
	put_digits(out + 14, (int)(rem / 60000 % 60), 2);
	put_digits(out + 17, (int)(rem / 1000 % 60), 2);
	put_digits(out + 20, (int)(rem % 1000), 3);
}

/* A new json-c string holding the Date ms, or NULL (ENOMEM). */
static struct json_object *date_new(int64_t ms)
{
	char buf[DATE_LEN + 1];

	date_format(ms, buf);
	return json_object_new_string_len(buf, DATE_LEN);
}

/* ---- types ------------------------------------------------------------ */

/* Whether s holds -?[0-9]+, a BigInt written as a string. */
static int bigint_text(const char *s, size_t len)
{
	size_t i = len && s[0] == '-';

	if (i == len)
		return 0;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * Whether v (not null) is a value of type: one element of a list, or the
 * attribute itself.  Returns 0 if it is, EINVAL if not, ENOMEM.  A Date in
 * any form but the stored one sets *norm to a new value that takes v's
 * place; otherwise *norm is NULL.  wide: an Int takes the range of a Long
 * (see wide_int()).
 */
static int fits(enum schema_type type, int wide, struct json_object *v,
		struct json_object **norm)
{
	enum json_type jt = json_object_get_type(v);
	char buf[DATE_LEN + 1];
	const char *s;
	int64_t i;
	size_t len;
	int ok = 0;

	*norm = NULL;
	switch (type) {
	case SCHEMA_T_ANY:
		ok = 1;
		break;
	case SCHEMA_T_ID:
		/* A key's range: an ID names a record, here or elsewhere. */
		ok = jt == json_type_string || int64_of(v, &i);
		break;
	case SCHEMA_T_STRING:
		ok = jt == json_type_string;
		break;
	case SCHEMA_T_INT:
		ok = int64_of(v, &i) &&
		     (wide || (i >= INT32_MIN && i <= INT32_MAX));
		break;
	case SCHEMA_T_LONG:
		ok = int64_of(v, &i);
		break;
	case SCHEMA_T_FLOAT:
		ok = jt == json_type_int || jt == json_type_double;
		break;
	case SCHEMA_T_BOOLEAN:
		ok = jt == json_type_boolean;
		break;
	case SCHEMA_T_BIGINT:
		/* Kept as written: past 64 bits only text holds it exactly. */
		ok = jt == json_type_int ||
		     (jt == json_type_string &&
		      bigint_text(json_object_get_string(v),
				  (size_t)json_object_get_string_len(v)));
		break;
	case SCHEMA_T_DATE:
		s = NULL;
		len = 0;
		if (jt == json_type_string) {
			s = json_object_get_string(v);
			len = (size_t)json_object_get_string_len(v);
			ok = date_parse(s, len, &i);
		} else {
			ok = int64_of(v, &i) && i >= DATE_MIN_MS &&
			     i <= DATE_MAX_MS;
		}
		if (!ok)
			break;
		date_format(i, buf);
		if (s && len == DATE_LEN && memcmp(s, buf, DATE_LEN) == 0)
			break; /* already in the stored form */
		*norm = json_object_new_string_len(buf, DATE_LEN);
		if (!*norm)
			return ENOMEM;
		break;
	}
	return ok ? 0 : EINVAL;
}

/* ---- messages --------------------------------------------------------- */

/*
 * s[0..len) into buf (max + 4 bytes), cut to at most max bytes, never in
 * the middle of a UTF-8 character, with "..." after a cut.
 */
static const char *cut(const char *s, size_t len, size_t max, char *buf)
{
	size_t n = len;

	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	strcpy(buf + n, n < len ? "..." : "");
	return buf;
}

/* v as compact JSON, cut as above; "null" for null. */
static const char *show(struct json_object *v, size_t max, char *buf)
{
	const char *s;
	size_t len;

	if (!v)
		return "null";
	s = json_object_to_json_string_length(v, SCALAR_FLAGS, &len);
	if (!s)
		return "(out of memory)";
	return cut(s, len, max, buf);
}

/* A name as a JSON string, cut as above. */
static const char *show_name(const char *name, char *buf)
{
	struct json_object *v = json_object_new_string(name);
	const char *s;

	if (!v)
		return name;
	s = show(v, SHOW_NAME, buf);
	if (s != buf)
		s = name;
	json_object_put(v);
	return s;
}

/*
 * What a message says a value must be: the type as declared without '!'
 * ("Int", "[String!]"), or for one element of a list its element type.
 * Types whose name does not say which forms they take say it after.
 */
static const char *expected(const struct schema_attr *a, int elem, char *buf,
			    size_t size)
{
	const char *name = schema_type_name(a->type), *how = "";

	if (a->list && !elem) {
		snprintf(buf, size, "[%s%s]", name,
			 a->elem_required ? "!" : "");
		return buf;
	}
	if (a->type == SCHEMA_T_DATE)
		how = " (ISO 8601 text or epoch milliseconds)";
	else if (a->type == SCHEMA_T_BIGINT)
		how = " (an integer, or a string of digits)";
	else if (wide_int(a))
		how = " (epoch milliseconds)";
	snprintf(buf, size, "%s%s", name, how);
	return buf;
}

/* The type as declared: "String!", "[Int!]!". */
static const char *declared(const struct schema_attr *a, char *buf, size_t size)
{
	const char *name = schema_type_name(a->type),
		   *req = a->required ? "!" : "";

	if (a->list)
		snprintf(buf, size, "[%s%s]%s", name,
			 a->elem_required ? "!" : "", req);
	else
		snprintf(buf, size, "%s%s", name, req);
	return buf;
}

/* "name": expected T, got v; or "name"[i]: ... when at is an index. */
static int refuse(struct schema_err *err, const struct schema_attr *a,
		  const char *name, long at, struct json_object *v)
{
	char nb[SHOW_NAME + 4], vb[SHOW_VALUE + 4], tb[80], ib[24] = "";

	if (at >= 0)
		snprintf(ib, sizeof(ib), "[%ld]", at);
	if (at >= 0 && !v && a->elem_required)
		return schema_fail(err, EINVAL, "%s%s: expected %s!, got null",
				   show_name(name, nb), ib,
				   schema_type_name(a->type));
	return schema_fail(
	    err, EINVAL, "%s%s: expected %s, got %s", show_name(name, nb), ib,
	    expected(a, at >= 0, tb, sizeof(tb)), show(v, SHOW_VALUE, vb));
}

/* ---- checking a record ------------------------------------------------ */

/*
 * Attribute a of obj, called name there, holding v (NULL for null): check
 * it, and put the stored form of a Date in place.  A null required
 * attribute is refused like a missing one, except a time, which is set
 * on a write and may be missing otherwise.
 */
static int check_attr(const struct schema_attr *a, struct json_object *obj,
		      const char *name, struct json_object *v,
		      struct schema_err *err)
{
	struct json_object *e, *norm;
	char nb[SHOW_NAME + 4], tb[80];
	size_t i, n;
	int rc;

	if (!v) {
		if (a->required && !is_time(a))
			return schema_fail(
			    err, EINVAL, "%s is required (%s), got null",
			    show_name(name, nb), declared(a, tb, sizeof(tb)));
		return 0;
	}
	if (!a->list) {
		rc = fits(a->type, wide_int(a), v, &norm);
		if (rc == EINVAL)
			return refuse(err, a, name, -1, v);
		if (rc)
			return rc;
		/*
		 * The entry, and so name, stays: json-c replaces the value
		 * of an existing key in place, keeping its position too.
		 */
		if (norm && json_object_object_add(obj, name, norm)) {
			json_object_put(norm);
			return ENOMEM;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_array))
		return refuse(err, a, name, -1, v);
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!e) {
			if (a->elem_required)
				return refuse(err, a, name, (long)i, NULL);
			continue;
		}
		/* Only [Any] holds arrays and objects: fits() says so. */
		rc = fits(a->type, 0, e, &norm);
		if (rc == EINVAL)
			return refuse(err, a, name, (long)i, e);
		if (rc)
			return rc;
		if (norm && json_object_array_put_idx(v, i, norm)) {
			json_object_put(norm);
			return ENOMEM;
		}
	}
	return 0;
}

/*
 * Every attribute in the order of the text, so the first error is the
 * one a reader meets first; on a write the times are skipped, as they are
 * set afterwards whatever the body says.
 */
static int check_present(const struct schema_table *t, struct json_object *obj,
			 int writing, struct schema_err *err)
{
	const struct schema_attr *a;
	char nb[SHOW_NAME + 4], tb[SHOW_NAME + 4];
	int rc;

	json_object_object_foreach(obj, name, v)
	{
		a = schema_table_attr(t, name, strlen(name));
		if (!a) {
			if (!t->sealed)
				continue;
			return schema_fail(
			    err, EINVAL,
			    "%s is not declared, and table %s is @sealed",
			    show_name(name, nb),
			    show_name(t->table ? t->table : "", tb));
		}
		if (writing && is_time(a) && !a->pk)
			continue;
		rc = check_attr(a, obj, name, v, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Then the required attributes the text lacks, in declaration order. */
static int check_missing(const struct schema_table *t, struct json_object *obj,
			 struct schema_err *err)
{
	const struct schema_attr *a;
	char nb[SHOW_NAME + 4], tb[80];
	size_t i;

	for (i = 0; i < t->nattrs; i++) {
		a = &t->attrs[i];
		if (!a->required || a->pk || is_time(a) ||
		    json_object_object_get_ex(obj, a->name, NULL))
			continue;
		return schema_fail(
		    err, EINVAL, "%s is required (%s) and missing",
		    show_name(a->name, nb), declared(a, tb, sizeof(tb)));
	}
	return 0;
}

/*
 * Parse text that should be one JSON object: *obj, or NULL (EINVAL) if it
 * is not.  json-c's strict mode; whitespace may follow the object.
 */
static int parse_object(const char *text, size_t len, struct json_object **obj)
{
	struct json_tokener *tok;
	size_t end;

	*obj = NULL;
	if (len > INT_MAX)
		return EINVAL;
	tok = json_tokener_new();
	if (!tok)
		return ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	*obj = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; *obj && end < len; end++)
		if (!strchr(" \t\n\r", text[end]) || !text[end])
			break;
	if (*obj &&
	    (end < len || !json_object_is_type(*obj, json_type_object))) {
		json_object_put(*obj);
		*obj = NULL;
	}
	return *obj ? 0 : EINVAL;
}

/*
 * The value a time attribute a already has that is to be kept: the
 * replaced record's, if it holds one of a's type (a stored record that
 * does not parse counts as holding none: a write is how it gets fixed),
 * else the body's.  *keep is a new reference, or NULL for none.
 */
static int kept_time(const struct schema_attr *a, struct json_object *obj,
		     const char *old, size_t oldlen, struct json_object **keep)
{
	struct json_object *o = NULL, *v, *norm = NULL;
	int rc = EINVAL;

	*keep = NULL;
	if (old && parse_object(old, oldlen, &o) == ENOMEM)
		return ENOMEM;
	if (o && json_object_object_get_ex(o, a->name, &v) && v) {
		rc = fits(a->type, wide_int(a), v, &norm);
		if (rc == 0)
			*keep = norm ? norm : json_object_get(v);
	}
	json_object_put(o);
	if (rc == ENOMEM || *keep)
		return rc;
	if (json_object_object_get_ex(obj, a->name, &v) && v) {
		rc = fits(a->type, wide_int(a), v, &norm);
		if (rc == 0)
			*keep = norm ? norm : json_object_get(v);
	}
	return rc == ENOMEM ? rc : 0;
}

/*
 * A write: @createdTime keeps the replaced record's time, else the body's,
 * else takes now; @updatedTime takes now.  An attribute the text lacks
 * goes at the end, in declaration order.  The primary key is never
 * touched: it comes from the file name.
 */
static int set_times(const struct schema_table *t, struct json_object *obj,
		     const char *old, size_t oldlen, int64_t now_ms,
		     struct schema_err *err)
{
	const struct schema_attr *a;
	struct json_object *v;
	size_t i;
	int rc;

	for (i = 0; i < t->nattrs; i++) {
		a = &t->attrs[i];
		if (a->pk || !is_time(a))
			continue;
		v = NULL;
		if (a->created) {
			rc = kept_time(a, obj, old, oldlen, &v);
			if (rc)
				return rc;
		}
		if (!v && a->type == SCHEMA_T_DATE) {
			if (now_ms > DATE_MAX_MS)
				return schema_fail(
				    err, EINVAL,
				    "the clock (%lld ms) is past what a Date "
				    "holds",
				    (long long)now_ms);
			v = date_new(now_ms);
		} else if (!v) {
			v = json_object_new_int64(now_ms);
		}
		if (!v)
			return ENOMEM;
		if (json_object_object_add(obj, a->name, v)) {
			json_object_put(v);
			return ENOMEM;
		}
	}
	return 0;
}

int schema_table_record(const struct schema_table *t, const char *text,
			size_t len, const char *old, size_t oldlen,
			int64_t now_ms, char **out, size_t *outlen,
			struct schema_err *err)
{
	const struct schema_attr *pk = schema_table_pk(t);
	struct json_object *obj = NULL, *v;
	char nb[SHOW_NAME + 4];
	int rc;

	*out = NULL;
	*outlen = 0;
	if (!pk)
		return schema_fail(err, EINVAL, "the table has no @primaryKey");
	if (len > SCHEMA_RECORD_MAX)
		return schema_fail(err, EFBIG, "a record is at most %u bytes",
				   SCHEMA_RECORD_MAX);
	rc = parse_object(text, len, &obj);
	if (rc == EINVAL)
		rc = schema_fail(err, EINVAL,
				 "the record's text is not one JSON object");
	if (rc)
		return rc;
	if (!json_object_object_get_ex(obj, pk->name, &v) || !v) {
		rc = schema_fail(err, EINVAL,
				 "the primary key %s is missing from the text",
				 show_name(pk->name, nb));
		goto out;
	}
	rc = check_present(t, obj, now_ms >= 0, err);
	if (!rc)
		rc = check_missing(t, obj, err);
	if (!rc && now_ms >= 0)
		rc = set_times(t, obj, old, oldlen, now_ms, err);
	if (rc)
		goto out;
	rc = schema_record_text(obj, pk->name, 0, out, outlen, err);
out:
	if (rc == ENOMEM)
		schema_fail(err, ENOMEM, "out of memory");
	json_object_put(obj);
	return rc;
}

/* ---- JSON Schema ------------------------------------------------------ */

/*
 * The builders below never fail outright: a NULL (out of memory) anywhere
 * sets *bad, the pieces are still released, and the caller gives up at the
 * end.  That keeps each description to one line per keyword.
 */
static struct json_object *add(struct json_object *obj, const char *key,
			       struct json_object *val, int *bad)
{
	if (!obj || !val || json_object_object_add(obj, key, val)) {
		json_object_put(val);
		*bad = 1;
	}
	return obj;
}

static struct json_object *append(struct json_object *arr,
				  struct json_object *val, int *bad)
{
	if (!arr || !val || json_object_array_add(arr, val)) {
		json_object_put(val);
		*bad = 1;
	}
	return arr;
}

/* {"type": name}, with "null" beside it when nullable. */
static struct json_object *typed(const char *name, const char *name2,
				 int nullable, int *bad)
{
	struct json_object *o = json_object_new_object(), *list;

	if (!name2 && !nullable)
		return add(o, "type", json_object_new_string(name), bad);
	list = json_object_new_array();
	append(list, json_object_new_string(name), bad);
	if (name2)
		append(list, json_object_new_string(name2), bad);
	if (nullable)
		append(list, json_object_new_string("null"), bad);
	return add(o, "type", list, bad);
}

static struct json_object *bounded(struct json_object *o, int64_t lo,
				   int64_t hi, int *bad)
{
	add(o, "minimum", json_object_new_int64(lo), bad);
	return add(o, "maximum", json_object_new_int64(hi), bad);
}

static struct json_object *type_schema(const struct schema_attr *a,
				       int nullable, int *bad)
{
	struct json_object *o, *any, *s;

	switch (a->type) {
	case SCHEMA_T_ANY:
		return json_object_new_object();
	case SCHEMA_T_ID:
		return bounded(typed("string", "integer", nullable, bad),
			       INT64_MIN, INT64_MAX, bad);
	case SCHEMA_T_STRING:
		return typed("string", NULL, nullable, bad);
	case SCHEMA_T_INT:
		if (!wide_int(a))
			return bounded(typed("integer", NULL, nullable, bad),
				       INT32_MIN, INT32_MAX, bad);
		/* fall through */
	case SCHEMA_T_LONG:
		return bounded(typed("integer", NULL, nullable, bad), INT64_MIN,
			       INT64_MAX, bad);
	case SCHEMA_T_FLOAT:
		return typed("number", NULL, nullable, bad);
	case SCHEMA_T_BOOLEAN:
		return typed("boolean", NULL, nullable, bad);
	case SCHEMA_T_DATE:
		o = json_object_new_object();
		add(o, "description",
		    json_object_new_string(
			"ISO 8601 text (YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS["
			".fraction]] with Z, +HH:MM or none for UTC; a space "
			"may stand for T) or an integer of milliseconds since "
			"1970, years 0000-9999; stored as "
			"YYYY-MM-DDTHH:MM:SS.sssZ"),
		    bad);
		any = json_object_new_array();
		s = typed("string", NULL, 0, bad);
		append(
		    any,
		    add(s, "format", json_object_new_string("date-time"), bad),
		    bad);
		s = typed("string", NULL, 0, bad);
		append(any,
		       add(s, "format", json_object_new_string("date"), bad),
		       bad);
		append(any,
		       bounded(typed("integer", NULL, 0, bad), DATE_MIN_MS,
			       DATE_MAX_MS, bad),
		       bad);
		if (nullable)
			append(any, typed("null", NULL, 0, bad), bad);
		return add(o, "anyOf", any, bad);
	case SCHEMA_T_BIGINT:
		o = json_object_new_object();
		any = json_object_new_array();
		append(any, typed("integer", NULL, 0, bad), bad);
		s = typed("string", NULL, 0, bad);
		append(any,
		       add(s, "pattern", json_object_new_string("^-?[0-9]+$"),
			   bad),
		       bad);
		if (nullable)
			append(any, typed("null", NULL, 0, bad), bad);
		return add(o, "anyOf", any, bad);
	}
	*bad = 1;
	return NULL;
}

/*
 * One attribute.  Null is allowed unless the attribute is required or is
 * the primary key (a body may leave the key out, but never writes it
 * null).  A time may always be null: a write replaces it, and a record
 * checked with now_ms < 0 may lack it even when required.  Times say they
 * are set by recordfs (readOnly).
 */
static struct json_object *attr_schema(const struct schema_attr *a, int *bad)
{
	int nullable = !a->pk && (!a->required || is_time(a));
	struct json_object *o;

	if (a->list) {
		o = typed("array", NULL, nullable, bad);
		add(o, "items", type_schema(a, !a->elem_required, bad), bad);
	} else {
		o = type_schema(a, nullable, bad);
	}
	if (a->created || a->updated) {
		add(o, "readOnly", json_object_new_boolean(1), bad);
		add(o, "$comment",
		    json_object_new_string(
			a->created ? "@createdTime: set by recordfs when the "
				     "record is first written"
				   : "@updatedTime: set by recordfs each time "
				     "the record is written"),
		    bad);
	}
	return o;
}

char *schema_table_json_schema(const struct schema_table *t, size_t *len)
{
	struct json_object *root = json_object_new_object(), *props, *req;
	struct schema_text txt = {0};
	const struct schema_attr *a;
	size_t i;
	int bad = 0;
	char *p;

	add(root, "$schema",
	    json_object_new_string(
		"https://json-schema.org/draft/2020-12/schema"),
	    &bad);
	add(root, "title", json_object_new_string(t->table ? t->table : ""),
	    &bad);
	add(root, "type", json_object_new_string("object"), &bad);
	props = json_object_new_object();
	req = json_object_new_array();
	for (i = 0; i < t->nattrs; i++) {
		a = &t->attrs[i];
		add(props, a->name, attr_schema(a, &bad), &bad);
		/* The key comes from the file name, the times from recordfs. */
		if (a->required && !a->pk && !is_time(a))
			append(req, json_object_new_string(a->name), &bad);
	}
	add(root, "properties", props, &bad);
	add(root, "required", req, &bad);
	if (t->sealed)
		add(root, "additionalProperties", json_object_new_boolean(0),
		    &bad);
	if (!bad && schema_put_value(&txt, root, 0) == 0) {
		p = realloc(txt.buf, txt.len + 2);
		if (p) {
			p[txt.len++] = '\n';
			p[txt.len] = '\0';
			txt.buf = p;
			json_object_put(root);
			if (len)
				*len = txt.len;
			return p;
		}
	}
	free(txt.buf);
	json_object_put(root);
	return NULL;
}
