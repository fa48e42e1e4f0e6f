/*
 * stream.c: many records as one text, and one text as many records.
 *
 * A table or a query read as one file (NDJSON, CSV or one JSON array) is
 * made here record by record from the canonical texts storage keeps; a
 * file written to a table's stream is cut here into records, each handed
 * to the caller as a JSON object text with its key and its line.  It
 * stores nothing and knows no file: the daemon's fs/stream.c holds the
 * snapshot, the spool and the commit.  CSV is read with libcsv (Debian's
 * libcsv-dev), which parses RFC 4180 incrementally, so a row may arrive in
 * any number of writes.
 *
 * How a CSV cell becomes a value, and back (the README says the same):
 * an empty cell is an absent attribute; numbers, true, false and null are
 * their JSON text; arrays and objects their compact JSON text; a string
 * its own text, but as a JSON string literal ("\"3\"") where its own text
 * would read as something else (empty, a number, true, false, null, or
 * beginning with '"', '[' or '{').  Reading, a declared String or ID
 * attribute takes the cell's text (unless it is such a literal), a
 * declared number or Boolean reads it as JSON, and any other attribute
 * takes the JSON value the whole cell reads as, else the text.
 */
#include <csv.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_i.h"

int schema_stream_fmt(const char *name, size_t len, size_t *stemlen)
{
	static const struct {
		const char *sfx;
		int fmt;
	} fmts[] = {{".ndjson", SCHEMA_FMT_NDJSON},
		    {".csv", SCHEMA_FMT_CSV},
		    {".json", SCHEMA_FMT_JSON}};
	size_t i;
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		size_t sl = strlen(fmts[i].sfx);
		if (len > sl && memcmp(name + len - sl, fmts[i].sfx, sl) == 0) {
			*stemlen = len - sl;
			return fmts[i].fmt;
		}
	}
	return -1;
}

int schema_buf_reserve(struct schema_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *np;
	if (b->len + n + 1 <= b->cap)
		return 0;
	while (cap < b->len + n + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np)
		return ENOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

int schema_buf_add(struct schema_buf *b, const void *s, size_t n)
{
	if (schema_buf_reserve(b, n))
		return ENOMEM;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void schema_buf_free(struct schema_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int schema_buf_json_str(struct schema_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	char *o;
	/* at most 6 bytes an input byte, and the quotes */
	if (schema_buf_reserve(b, len * 6 + 2))
		return ENOMEM;
	o = b->p + b->len;
	*o++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->p);
	return 0;
}

int schema_buf_key(struct schema_buf *b, const struct schema_key *k)
{
	char num[24];
	int n;
	if (k->type == SCHEMA_KEY_STR)
		return schema_buf_json_str(b, k->s, k->len);
	n = snprintf(num, sizeof(num), "%lld", (long long)k->i);
	return schema_buf_add(b, num, (size_t)n);
}

/* ---- making a stream ------------------------------------------------- */

int schema_text_names(const char *text, size_t len,
		      int (*fn)(const char *name, size_t nl, void *arg),
		      void *arg)
{
	/*
	 * Canonical text holds one top-level member per line, each line
	 * starting with exactly two spaces and the name's quote; a name with
	 * an escape is read with json-c instead.
	 */
	const char *p = text, *end = text + len;
	struct json_object *obj = NULL;
	struct schema_err err;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		if (e - p > 3 && p[0] == ' ' && p[1] == ' ' && p[2] == '"') {
			const char *q = p + 3;
			while (q < e && *q != '"' && *q != '\\')
				q++;
			if (q >= e || *q == '\\')
				goto slow;
			rc = fn(p + 3, (size_t)(q - p - 3), arg);
			if (rc)
				return rc;
		}
		p = e + 1;
	}
	return 0;
slow:
	rc = schema_parse_object(text, len, &obj, &err);
	if (rc)
		return rc;
	{
		json_object_object_foreach(obj, k, v)
		{
			(void)v;
			rc = fn(k, strlen(k), arg);
			if (rc)
				break;
		}
	}
	json_object_put(obj);
	return rc;
}

static int csv_cell_put(struct schema_buf *b, const char *s, size_t n)
{
	size_t i;
	int quote = 0, rc;
	for (i = 0; i < n && !quote; i++)
		quote =
		    s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote)
		return schema_buf_add(b, s, n);
	rc = schema_buf_add(b, "\"", 1);
	for (i = 0; !rc && i < n; i++)
		rc = s[i] == '"' ? schema_buf_add(b, "\"\"", 2)
				 : schema_buf_add(b, s + i, 1);
	return rc ? rc : schema_buf_add(b, "\"", 1);
}

int schema_csv_header(struct schema_buf *b, char *const *cols, size_t ncols)
{
	size_t i;
	int rc = 0;
	for (i = 0; !rc && i < ncols; i++) {
		if (i)
			rc = schema_buf_add(b, ",", 1);
		if (!rc)
			rc = csv_cell_put(b, cols[i], strlen(cols[i]));
	}
	return rc ? rc : schema_buf_add(b, "\r\n", 2);
}

/* Whether the whole of s reads as a JSON number, true, false or null. */
static int reads_as_scalar(const char *s, size_t n)
{
	size_t i = 0, d;
	if ((n == 4 && !memcmp(s, "true", 4)) ||
	    (n == 5 && !memcmp(s, "false", 5)) ||
	    (n == 4 && !memcmp(s, "null", 4)))
		return 1;
	if (i < n && s[i] == '-')
		i++;
	for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == d)
		return 0;
	if (s[d] == '0' && i - d > 1)
		return 0;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == n;
}

/* A string cell's text would read back as something else. */
static int string_needs_json(const char *s, size_t n)
{
	return n == 0 || s[0] == '"' || s[0] == '[' || s[0] == '{' ||
	       reads_as_scalar(s, n);
}

/* The compact JSON text of v into b. */
static int value_put(struct schema_buf *b, struct json_object *v)
{
	struct schema_text t = {0};
	int rc = schema_put_value(&t, v, 0);
	if (!rc) {
		size_t cl = schema_compact(t.buf, t.len, NULL);
		char *c = malloc(cl + 1);
		if (!c) {
			rc = ENOMEM;
		} else {
			cl = schema_compact(t.buf, t.len, c);
			/* schema_compact ends a text with a newline only
			 * where it had one */
			while (cl && c[cl - 1] == '\n')
				cl--;
			rc = schema_buf_add(b, c, cl);
			free(c);
		}
	}
	free(t.buf);
	return rc;
}

int schema_csv_row(struct schema_buf *b, const char *canon, size_t len,
		   char *const *cols, size_t ncols)
{
	struct json_object *obj = NULL, *v;
	struct schema_buf cell = {0};
	struct schema_err err;
	size_t i;
	int rc = schema_parse_object(canon, len, &obj, &err);
	if (rc)
		return rc == EINVAL ? EIO : rc;
	for (i = 0; !rc && i < ncols; i++) {
		if (i)
			rc = schema_buf_add(b, ",", 1);
		if (rc || !json_object_object_get_ex(obj, cols[i], &v))
			continue;
		cell.len = 0;
		if (json_object_is_type(v, json_type_string)) {
			const char *s = json_object_get_string(v);
			size_t n = (size_t)json_object_get_string_len(v);
			rc = string_needs_json(s, n)
				 ? value_put(&cell, v)
				 : schema_buf_add(&cell, s, n);
		} else {
			rc = value_put(&cell, v);
		}
		if (!rc)
			rc = csv_cell_put(b, cell.p ? cell.p : "", cell.len);
	}
	if (!rc)
		rc = schema_buf_add(b, "\r\n", 2);
	schema_buf_free(&cell);
	json_object_put(obj);
	return rc;
}

/* ---- reading a stream ------------------------------------------------ */

struct schema_in {
	int fmt;
	const struct schema_table *ts; /* declared, or NULL: dynamic */
	const char *pk;
	struct schema_buf cur; /* the record (line, element, cell) so far */
	size_t line;	       /* lines begun so far (1-based) */
	size_t cur_line;       /* the line the current record began on */
	size_t records;
	int bom;   /* bytes of a byte order mark seen at the start; 3:
		      past it */
	int taken; /* NDJSON: the line so far was taken as a record at a
		      close (schema_in_cut): only white space may follow */
	schema_in_fn fn;
	void *arg;
	struct schema_err *err;
	int rc; /* the first failure: every later call returns it */
	/* JSON: where the array stands */
	int arr_state; /* 0 before '[', 1 before an element or ']', 2 in
			  one, 3 after one, 4 after ']' */
	size_t depth;
	int in_str, esc;
	/* CSV */
	struct csv_parser csv;
	int csv_init;
	char **cols;
	size_t ncols, ccap;
	struct json_object *row; /* the row being read */
	size_t cell;		 /* cells of the row so far */
	size_t row_line, next_row_line;
	int last_cr; /* the last byte fed was a CR */
	int row_started;
};

static int in_fail(struct schema_in *d, size_t line, int code, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

/* The first refusal of the text, "line N: why": every later call says it. */
static int in_fail(struct schema_in *d, size_t line, int code, const char *fmt,
		   ...)
{
	char why[sizeof(d->err->msg)];
	va_list ap;
	if (d->rc)
		return d->rc;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return d->rc = schema_fail(d->err, code, "line %zu: %s", line, why);
}

/* The record object obj, begun on line: its key, then the caller. */
static int in_record(struct schema_in *d, struct json_object *obj,
		     const char *text, size_t len, size_t line)
{
	struct schema_key key, *kp = NULL;
	struct json_object *v;
	char *body = NULL;
	size_t bl = len;
	int rc;

	if (json_object_object_get_ex(obj, d->pk, &v)) {
		if (v && json_object_is_type(v, json_type_int)) {
			errno = 0;
			key.type = SCHEMA_KEY_INT;
			key.i = json_object_get_int64(v);
			if (errno ||
			    (key.i == INT64_MAX &&
			     json_object_get_uint64(v) > (uint64_t)INT64_MAX)) {
				return in_fail(
				    d, line, EINVAL,
				    "the key attribute \"%s\" is out "
				    "of range",
				    d->pk);
			}
			kp = &key;
		} else if (v && json_object_is_type(v, json_type_string)) {
			key.type = SCHEMA_KEY_STR;
			key.s = json_object_get_string(v);
			key.len = (size_t)json_object_get_string_len(v);
			kp = &key;
		} else {
			return in_fail(d, line, EINVAL,
				       "the key attribute \"%s\" must be an "
				       "integer or a string",
				       d->pk);
		}
	}
	if (!text) {
		rc = schema_json_body(obj, &body, &bl);
		if (rc)
			return d->rc = rc;
		text = body;
	}
	if (bl > SCHEMA_RECORD_MAX) {
		free(body);
		return in_fail(d, line, EFBIG, "a record is at most 16 MiB");
	}
	d->records++;
	rc = d->fn(d->arg, text, bl, kp, line);
	free(body);
	if (rc && !d->rc)
		d->rc = rc; /* the caller's message stands */
	return rc;
}

/* One JSON object's text (a line, an array element), begun on line. */
static int in_object_text(struct schema_in *d, const char *text, size_t len,
			  size_t line)
{
	struct json_object *obj = NULL;
	struct schema_err e = {{0}};
	struct schema_key key;
	int rc, has_key;
	if (d->fmt == SCHEMA_FMT_NDJSON &&
	    schema_plain_key(text, len, d->pk, &key, &has_key) == 0) {
		/* a plain line, as most are: its key without json-c (the
		 * caller checks the record as its commit will) */
		d->records++;
		rc = d->fn(d->arg, text, len, has_key ? &key : NULL, line);
		if (rc && !d->rc)
			d->rc = rc;
		return rc;
	}
	rc = schema_parse_object(text, len, &obj, &e);
	if (rc)
		return in_fail(d, line, rc, "%s",
			       e.msg[0] ? e.msg : "bad JSON");
	rc = in_record(d, obj, d->fmt == SCHEMA_FMT_NDJSON ? text : NULL, len,
		       line);
	json_object_put(obj);
	return rc;
}

static int blank(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static int ndjson_feed(struct schema_in *d, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	int rc;
	while (p < end && d->taken) {
		if (*p == '\n') {
			d->taken = 0;
			d->line++;
		} else if (*p != ' ' && *p != '\t' && *p != '\r') {
			return in_fail(d, d->line, EINVAL,
				       "text after a record that a close "
				       "ended");
		}
		p++;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *text = p;
		size_t tl = (size_t)(e - p);
		if (d->cur.len + tl > SCHEMA_RECORD_MAX + 2)
			return in_fail(d, d->line, EFBIG,
				       "a record is at most 16 MiB");
		if (!nl || d->cur.len) {
			rc = schema_buf_add(&d->cur, p, tl);
			if (rc)
				return d->rc = rc;
			text = d->cur.p;
			tl = d->cur.len;
		}
		if (!nl)
			break;
		if (!blank(text, tl)) {
			rc = in_object_text(d, text, tl, d->line);
			if (rc)
				return rc;
		}
		d->cur.len = 0;
		d->line++;
		p = nl + 1;
	}
	return 0;
}

static int json_feed(struct schema_in *d, const char *buf, size_t len)
{
	size_t i, from = 0;
	int rc;
	for (i = 0; i < len; i++) {
		char c = buf[i];
		if (d->arr_state == 2) {
			if (d->in_str) {
				if (d->esc)
					d->esc = 0;
				else if (c == '\\')
					d->esc = 1;
				else if (c == '"')
					d->in_str = 0;
			} else if (c == '"') {
				d->in_str = 1;
			} else if (c == '{' || c == '[') {
				d->depth++;
			} else if (c == '}' || c == ']') {
				if (d->depth == 0) {
					/* the array's own ']' */
					goto element_end;
				}
				d->depth--;
			} else if (c == ',' && d->depth == 0) {
				goto element_end;
			}
			if (c == '\n')
				d->line++;
			continue;
		element_end:
			rc = schema_buf_add(&d->cur, buf + from, i - from);
			if (rc)
				return d->rc = rc;
			rc = in_object_text(d, d->cur.p, d->cur.len,
					    d->cur_line);
			if (rc)
				return rc;
			d->cur.len = 0;
			d->arr_state = c == ',' ? 1 : 4;
			continue;
		}
		if (c == '\n') {
			d->line++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r')
			continue;
		switch (d->arr_state) {
		case 0:
			if (c != '[')
				return in_fail(d, d->line, EINVAL,
					       "a .json stream is one JSON "
					       "array of objects");
			d->arr_state = 1;
			break;
		case 1:
			if (c == ']' && d->records == 0) {
				d->arr_state = 4;
				break;
			}
			if (c != '{')
				return in_fail(d, d->line, EINVAL,
					       "each element of the array must "
					       "be a JSON object");
			d->arr_state = 2;
			d->depth = 1;
			d->in_str = d->esc = 0;
			d->cur.len = 0;
			d->cur_line = d->line;
			from = i;
			break;
		default:
			return in_fail(d, d->line, EINVAL,
				       "text after the end of the array");
		}
	}
	if (d->arr_state == 2) {
		if (d->cur.len + (len - from) > SCHEMA_RECORD_MAX)
			return in_fail(d, d->cur_line, EFBIG,
				       "a record is at most 16 MiB");
		rc = schema_buf_add(&d->cur, buf + from, len - from);
		if (rc)
			return d->rc = rc;
	}
	return 0;
}

/* The declared attribute name, or NULL. */
static const struct schema_attr *declared(const struct schema_in *d,
					  const char *name)
{
	size_t i;
	for (i = 0; d->ts && i < d->ts->nattrs; i++)
		if (strcmp(d->ts->attrs[i].name, name) == 0)
			return &d->ts->attrs[i];
	return NULL;
}

/*
 * Whether the whole of cell reads as one JSON value: 1 with *out that
 * value (NULL is JSON's null, as json-c has it), 0 for a plain text,
 * ENOMEM as -1.
 */
static int cell_json(const char *s, size_t n, struct json_object **out)
{
	struct json_object *w = NULL, *v = NULL;
	struct schema_buf b = {0};
	struct schema_err e;
	int found = 0;
	*out = NULL;
	if (!(reads_as_scalar(s, n) ||
	      (n && (s[0] == '"' || s[0] == '[' || s[0] == '{'))))
		return 0;
	if (schema_buf_add(&b, "{\"v\":[", 6) || schema_buf_add(&b, s, n) ||
	    schema_buf_add(&b, "]}", 2)) {
		schema_buf_free(&b);
		return -1;
	}
	/* one element: a cell such as [1],"x":2 or 1,2 is text */
	if (schema_parse_object(b.p, b.len, &w, &e) == 0 &&
	    json_object_object_get_ex(w, "v", &v) &&
	    json_object_array_length(v) == 1) {
		*out = json_object_get(json_object_array_get_idx(v, 0));
		found = 1;
	}
	json_object_put(w);
	schema_buf_free(&b);
	return found;
}

static void csv_cell_cb(void *s, size_t n, void *arg)
{
	struct schema_in *d = arg;
	struct json_object *v = NULL;
	const struct schema_attr *a;
	const char *t = s ? s : "";
	int found = 0;

	if (d->rc)
		return;
	if (!d->row_started) {
		d->row_started = 1;
		d->row_line = d->next_row_line;
	}
	if (!d->row) {
		/* the header: a name per cell */
		char *name;
		size_t i;
		if (d->ncols == d->ccap) {
			size_t cap = d->ccap ? d->ccap * 2 : 16;
			char **nc = realloc(d->cols, cap * sizeof(*nc));
			if (!nc) {
				d->rc = ENOMEM;
				return;
			}
			d->cols = nc;
			d->ccap = cap;
		}
		if (n == 0 || memchr(t, '\0', n)) {
			in_fail(d, d->row_line, EINVAL,
				"the header names each column's attribute: "
				"a name is empty");
			return;
		}
		name = strndup(t, n);
		if (!name) {
			d->rc = ENOMEM;
			return;
		}
		for (i = 0; i < d->ncols; i++)
			if (strcmp(d->cols[i], name) == 0) {
				in_fail(d, d->row_line, EINVAL,
					"the header names \"%.200s\" twice",
					name);
				free(name);
				return;
			}
		d->cols[d->ncols++] = name;
		return;
	}
	if (d->cell >= d->ncols) {
		in_fail(d, d->row_line, EINVAL,
			"a row has more cells than the header's %zu", d->ncols);
		return;
	}
	a = declared(d, d->cols[d->cell]);
	if (n == 0) {
		d->cell++;
		return;
	}
	if (a && !a->list &&
	    (a->type == SCHEMA_T_STRING || a->type == SCHEMA_T_ID ||
	     a->type == SCHEMA_T_DATE)) {
		/* the text, unless it is a JSON string literal */
		if (t[0] == '"') {
			found = cell_json(t, n, &v);
			if (found > 0 &&
			    !json_object_is_type(v, json_type_string)) {
				json_object_put(v);
				v = NULL;
				found = 0;
			}
		}
	} else {
		found = cell_json(t, n, &v);
		if (!found && a && !a->list && a->type != SCHEMA_T_ANY) {
			in_fail(d, d->row_line, EINVAL,
				"column \"%.100s\": \"%.100s\" is not a %s",
				d->cols[d->cell], t, schema_type_name(a->type));
			return;
		}
	}
	if (found < 0) {
		d->rc = ENOMEM;
		return;
	}
	if (!found) {
		if (!schema_utf8_valid(t, n)) {
			in_fail(d, d->row_line, EINVAL,
				"a cell is not valid UTF-8");
			return;
		}
		v = json_object_new_string_len(t, (int)n);
		if (!v) {
			d->rc = ENOMEM;
			return;
		}
	}
	json_object_object_add(d->row, d->cols[d->cell], v);
	d->cell++;
}

static void csv_row_cb(int c, void *arg)
{
	struct schema_in *d = arg;
	(void)c;
	if (d->rc)
		return;
	if (!d->row_started)
		d->row_line = d->next_row_line;
	d->row_started = 0;
	/* called at the line end that ends the row, before csv_feed counts
	 * it: the next row begins on the next line */
	d->next_row_line = d->line + 1;
	if (!d->row) {
		/* the header ends */
		if (d->ncols == 0) {
			in_fail(d, d->row_line, EINVAL,
				"a .csv stream begins with a header row");
			return;
		}
		d->row = json_object_new_object();
		if (!d->row)
			d->rc = ENOMEM;
		d->cell = 0;
		return;
	}
	if (d->cell == 0 && d->ncols > 1) {
		/* an empty line */
		return;
	}
	if (d->cell != d->ncols) {
		in_fail(d, d->row_line, EINVAL,
			"a row has %zu cells, the header %zu", d->cell,
			d->ncols);
		return;
	}
	in_record(d, d->row, NULL, 0, d->row_line);
	json_object_put(d->row);
	d->row = json_object_new_object();
	if (!d->row && !d->rc)
		d->rc = ENOMEM;
	d->cell = 0;
}

static int csv_feed(struct schema_in *d, const char *buf, size_t len)
{
	/*
	 * libcsv takes the bytes in pieces, each ending at a line end (CR,
	 * LF, or CR LF counted once, as libcsv ends rows); lines are
	 * counted here, after the piece that holds their end, so a row that
	 * ends in a piece begins the next on the next line.
	 */
	const char *p = buf, *end = buf + len;
	while (p < end && !d->rc) {
		const char *e = p;
		int lf_after_cr;
		while (e < end && *e != '\n' && *e != '\r')
			e++;
		if (e < end)
			e++;
		if (csv_parse(&d->csv, p, (size_t)(e - p), csv_cell_cb,
			      csv_row_cb, d) != (size_t)(e - p)) {
			if (!d->rc)
				in_fail(d, d->line, EINVAL, "%s",
					csv_strerror(csv_error(&d->csv)));
			break;
		}
		lf_after_cr = e - p == 1 && *p == '\n' && d->last_cr;
		if (e[-1] == '\r' || (e[-1] == '\n' && !lf_after_cr))
			d->line++;
		d->last_cr = e[-1] == '\r';
		p = e;
	}
	return d->rc;
}

static int no_space(unsigned char c)
{
	(void)c;
	return 0;
}

int schema_in_new(int fmt, const struct schema_table *ts, schema_in_fn fn,
		  void *arg, struct schema_in **out)
{
	struct schema_in *d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->fmt = fmt;
	d->ts = ts;
	d->pk = ts ? schema_table_pk_name(ts) : SCHEMA_PK;
	d->fn = fn;
	d->arg = arg;
	d->line = 1;
	d->next_row_line = 1;
	if (fmt == SCHEMA_FMT_CSV) {
		if (csv_init(&d->csv, CSV_STRICT | CSV_STRICT_FINI |
					  CSV_APPEND_NULL |
					  CSV_EMPTY_IS_NULL) != 0) {
			free(d);
			return ENOMEM;
		}
		csv_set_realloc_func(&d->csv, realloc);
		/* a cell's spaces are its own: libcsv trims them unless
		 * told that nothing is a space */
		csv_set_space_func(&d->csv, no_space);
		d->csv_init = 1;
		d->cols = calloc(16, sizeof(*d->cols));
		if (!d->cols) {
			csv_free(&d->csv);
			free(d);
			return ENOMEM;
		}
		d->ccap = 16;
	}
	*out = d;
	return 0;
}

int schema_in_feed(struct schema_in *d, const char *buf, size_t len,
		   struct schema_err *err)
{
	if (d->rc)
		return d->rc;
	d->err = err;
	/* a UTF-8 byte order mark first (spreadsheets write one) is no
	 * part of the text; it may come a byte at a time */
	while (d->bom < 3 && len) {
		static const char bom[] = "\xef\xbb\xbf";
		if ((unsigned char)buf[0] != (unsigned char)bom[d->bom]) {
			if (d->bom) {
				/* a start that only looked like one */
				d->bom = 3;
				return in_fail(d, 1, EINVAL,
					       "invalid UTF-8 at the start");
			}
			d->bom = 3;
			break;
		}
		d->bom++;
		buf++;
		len--;
	}
	if (!len)
		return 0;
	switch (d->fmt) {
	case SCHEMA_FMT_NDJSON:
		return ndjson_feed(d, buf, len);
	case SCHEMA_FMT_JSON:
		return json_feed(d, buf, len);
	default:
		return csv_feed(d, buf, len);
	}
}

int schema_in_end(struct schema_in *d, struct schema_err *err)
{
	if (d->rc)
		return d->rc;
	d->err = err;
	switch (d->fmt) {
	case SCHEMA_FMT_NDJSON:
		if (d->cur.len && !blank(d->cur.p, d->cur.len))
			return in_object_text(d, d->cur.p, d->cur.len, d->line);
		return 0;
	case SCHEMA_FMT_JSON:
		if (d->arr_state == 0)
			return 0; /* nothing but white space: no records */
		if (d->arr_state != 4)
			return in_fail(d, d->line, EINVAL,
				       "the JSON array ends before it is "
				       "closed with ']'");
		return 0;
	default:
		if (csv_fini(&d->csv, csv_cell_cb, csv_row_cb, d) != 0 &&
		    !d->rc)
			in_fail(d, d->line, EINVAL, "%s",
				csv_strerror(csv_error(&d->csv)));
		return d->rc;
	}
}

int schema_in_cut(struct schema_in *d, struct schema_err *err)
{
	struct json_object *obj = NULL;
	struct schema_err e;
	int rc;
	if (d->rc || d->fmt != SCHEMA_FMT_NDJSON || !d->cur.len ||
	    blank(d->cur.p, d->cur.len))
		return d->rc;
	/* a last line without its newline: a record if it is whole */
	if (schema_parse_object(d->cur.p, d->cur.len, &obj, &e) != 0)
		return 0;
	json_object_put(obj);
	d->err = err;
	rc = in_object_text(d, d->cur.p, d->cur.len, d->line);
	if (rc)
		return rc;
	d->cur.len = 0;
	d->taken = 1;
	return 0;
}

int schema_in_at_end(const struct schema_in *d)
{
	if (d->rc)
		return 0;
	switch (d->fmt) {
	case SCHEMA_FMT_NDJSON:
		return d->cur.len == 0 || blank(d->cur.p, d->cur.len);
	case SCHEMA_FMT_JSON:
		return d->arr_state == 4;
	default:
		/* between rows, the header read (or nothing at all) */
		return d->csv.pstate == 0 && (d->row || d->ncols == 0);
	}
}

size_t schema_in_records(const struct schema_in *d)
{
	return d->records;
}

void schema_in_free(struct schema_in *d)
{
	size_t i;
	if (!d)
		return;
	if (d->csv_init)
		csv_free(&d->csv);
	for (i = 0; i < d->ncols; i++)
		free(d->cols[i]);
	free(d->cols);
	json_object_put(d->row);
	schema_buf_free(&d->cur);
	free(d);
}
