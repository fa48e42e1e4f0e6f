/*
 * scan.c: the canonical texts the daemon stores, read without json-c.
 *
 * It owns a scanner of one JSON text and its two uses: a record's index
 * entries (schema_index_entries_quick), which the daemon works out at
 * every write, and one integer attribute (schema_text_int_attr), which
 * record.c reads to keep a record's creation time.  It must not guess: on
 * anything it is not sure to read as json-c does, it gives up having
 * called nothing, and the caller parses the text with json-c instead
 * (schema_index_entries() in entries.c).  The ordered bytes of the values
 * it finds are value.c's to make; which attributes an index keeps is
 * entries.c's to say.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_i.h"

/*
 * A scanner of one JSON text for schema_index_entries_quick(): it reads
 * what the daemon stores (canonical texts) and gives up, with ENOTSUP, on
 * anything it is not sure to read as json-c does.
 */
struct scan {
	const char *p, *end;
	uint8_t *sbuf; /* a decoded string */
	size_t slen, scap;
	int num_int; /* the last number had no '.', 'e' or 'E': json-c's int */
};

static void scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' ||
				 *s->p == '\t' || *s->p == '\r'))
		s->p++;
}

static int scan_put(struct scan *s, const void *b, size_t n)
{
	if (s->scap - s->slen < n) {
		size_t c = s->scap ? s->scap : 256;
		uint8_t *nb;
		while (c - s->slen < n)
			c *= 2;
		nb = realloc(s->sbuf, c);
		if (!nb)
			return ENOMEM;
		s->sbuf = nb;
		s->scap = c;
	}
	memcpy(s->sbuf + s->slen, b, n);
	s->slen += n;
	return 0;
}

/* A string at s->p ('"') decoded into s->sbuf/s->slen; 0, ENOTSUP, ENOMEM */
static int scan_string(struct scan *s)
{
	const char *p = s->p + 1;
	s->slen = 0;
	for (;;) {
		const char *q = p;
		int rc;
		while (q < s->end && *q != '"' && *q != '\\' &&
		       (unsigned char)*q >= 0x20)
			q++;
		if (q > p && (rc = scan_put(s, p, (size_t)(q - p))))
			return rc;
		if (q >= s->end || (unsigned char)*q < 0x20)
			return ENOTSUP;
		if (*q == '"') {
			s->p = q + 1;
			return schema_utf8_valid(s->sbuf, s->slen) ? 0
								   : ENOTSUP;
		}
		/* an escape */
		if (q + 1 >= s->end)
			return ENOTSUP;
		{
			char c = q[1], b[4];
			uint32_t u, lo;
			size_t n;
			p = q + 2;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				b[0] = c;
				n = 1;
				break;
			case 'b':
				b[0] = '\b';
				n = 1;
				break;
			case 'f':
				b[0] = '\f';
				n = 1;
				break;
			case 'n':
				b[0] = '\n';
				n = 1;
				break;
			case 'r':
				b[0] = '\r';
				n = 1;
				break;
			case 't':
				b[0] = '\t';
				n = 1;
				break;
			case 'u':
				if (s->end - p < 4 || !schema_hex4(p, &u))
					return ENOTSUP;
				p += 4;
				if (u >= 0xDC00 && u <= 0xDFFF)
					return ENOTSUP; /* a lone low half */
				if (u >= 0xD800 && u <= 0xDBFF) {
					if (s->end - p < 6 || p[0] != '\\' ||
					    p[1] != 'u' ||
					    !schema_hex4(p + 2, &lo) ||
					    lo < 0xDC00 || lo > 0xDFFF)
						return ENOTSUP;
					p += 6;
					u = 0x10000 + ((u - 0xD800) << 10) +
					    (lo - 0xDC00);
				}
				n = schema_utf8_put(u, b);
				break;
			default:
				return ENOTSUP;
			}
			if ((rc = scan_put(s, b, n)))
				return rc;
		}
	}
}

/* The literal word (true, false, null) at s->p, which is of kind k. */
static int scan_word(struct scan *s, const char *word, enum schema_val_kind k,
		     struct schema_val *v)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return ENOTSUP;
	s->p += n;
	v->kind = k;
	return 0;
}

/*
 * A scalar at s->p as json-c makes it: 0 with *v set (strings point into
 * s->sbuf), 1 for an object or array (skipped past, as schema_val_of_json()
 * skips them), ENOTSUP, ENOMEM.
 */
static int scan_skip(struct scan *s);

static int scan_value(struct scan *s, struct schema_val *v)
{
	char num[64];
	const char *q;
	size_t n;
	int dbl = 0;

	memset(v, 0, sizeof(*v));
	if (s->p >= s->end)
		return ENOTSUP;
	switch (*s->p) {
	case '"': {
		int rc = scan_string(s);
		if (rc)
			return rc;
		v->kind = SCHEMA_V_STR;
		v->s = s->sbuf ? s->sbuf : (const uint8_t *)"";
		v->len = s->slen;
		return 0;
	}
	case '{':
	case '[':
		return scan_skip(s) ? ENOTSUP : 1;
	case 't':
		return scan_word(s, "true", SCHEMA_V_TRUE, v);
	case 'f':
		return scan_word(s, "false", SCHEMA_V_FALSE, v);
	case 'n':
		return scan_word(s, "null", SCHEMA_V_NULL, v);
	}
	/* a number: json-c takes one without '.', 'e' or 'E' as an integer
	 * (int64 when negative, else uint64), any other as strtod's double */
	for (q = s->p; q < s->end && *q && strchr("0123456789+-.eE", *q); q++)
		if (*q == '.' || *q == 'e' || *q == 'E')
			dbl = 1;
	n = (size_t)(q - s->p);
	if (n == 0 || n >= sizeof(num))
		return ENOTSUP;
	memcpy(num, s->p, n);
	num[n] = '\0';
	/* the grammar json-c's strict mode takes, no more */
	{
		const char *c = num;
		if (*c == '-')
			c++;
		if (*c == '0') {
			c++;
		} else if (*c >= '1' && *c <= '9') {
			while (*c >= '0' && *c <= '9')
				c++;
		} else {
			return ENOTSUP;
		}
		if (*c == '.') {
			c++;
			if (!(*c >= '0' && *c <= '9'))
				return ENOTSUP;
			while (*c >= '0' && *c <= '9')
				c++;
		}
		if (*c == 'e' || *c == 'E') {
			c++;
			if (*c == '+' || *c == '-')
				c++;
			if (!(*c >= '0' && *c <= '9'))
				return ENOTSUP;
			while (*c >= '0' && *c <= '9')
				c++;
		}
		if (*c)
			return ENOTSUP;
	}
	s->num_int = !dbl;
	errno = 0;
	if (dbl) {
		char *e;
		double d = strtod(num, &e);
		if (e != num + n) /* json-c reads numbers in the C locale */
			return ENOTSUP;
		if (!isfinite(d)) {
			s->p = q;
			return 1; /* schema_val_of_json() skips it too */
		}
		schema_num_of_double(d, v);
	} else if (num[0] == '-') {
		long long i = strtoll(num, NULL, 10);
		if (errno)
			return ENOTSUP;
		v->kind = SCHEMA_V_INT;
		v->i = (int64_t)i;
	} else {
		unsigned long long u = strtoull(num, NULL, 10);
		if (errno)
			return ENOTSUP;
		schema_num_of_u64((uint64_t)u, v);
	}
	s->p = q;
	return 0;
}

/*
 * Lists and objects: scan_enter() after the opening bracket, scan_more()
 * after each item.  Both return 1 when an item follows, 0 at the closing
 * bracket (passed), -1 for anything else.
 */
static int scan_enter(struct scan *s, char close)
{
	scan_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	return 1;
}

static int scan_more(struct scan *s, char close)
{
	scan_ws(s);
	if (s->p < s->end && *s->p == ',') {
		s->p++;
		scan_ws(s);
		return 1;
	}
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	return -1;
}

/* A member's name into s->sbuf, and past its ':'.  0, ENOTSUP, ENOMEM. */
static int scan_name(struct scan *s)
{
	int rc;
	if (s->p >= s->end || *s->p != '"')
		return ENOTSUP;
	if ((rc = scan_string(s)))
		return rc;
	scan_ws(s);
	if (s->p >= s->end || *s->p != ':')
		return ENOTSUP;
	s->p++;
	scan_ws(s);
	return 0;
}

/*
 * Past one object or array at s->p, read as strictly as json-c reads it
 * (its entries are none, but a text json-c refuses must be given up on);
 * depth counts the levels around it.  0 or ENOTSUP.
 */
static int scan_skip_at(struct scan *s, int depth)
{
	char close = *s->p == '{' ? '}' : ']';
	int more;

	/* json-c stops at 32 levels */
	if (depth > 30)
		return ENOTSUP;
	s->p++;
	for (more = scan_enter(s, close); more == 1;
	     more = scan_more(s, close)) {
		if (close == '}' && scan_name(s))
			return ENOTSUP;
		if (s->p < s->end && (*s->p == '{' || *s->p == '[')) {
			if (scan_skip_at(s, depth + 1))
				return ENOTSUP;
		} else {
			struct schema_val v;
			int rc = scan_value(s, &v);
			if (rc != 0 && rc != 1)
				return ENOTSUP;
		}
	}
	return more == 0 ? 0 : ENOTSUP;
}

static int scan_skip(struct scan *s)
{
	/* a value of the record (level 2) or an element of its list (level
	 * 3): counted as the deeper, so a text at json-c's limit is given up */
	return scan_skip_at(s, 3);
}

/*
 * A member's name, checked: json-c's names are C strings, so one with a
 * NUL would be cut.  0, ENOTSUP, ENOMEM.
 */
static int scan_cname(struct scan *s)
{
	int rc = scan_name(s);
	if (!rc && s->slen && memchr(s->sbuf, 0, s->slen))
		rc = ENOTSUP;
	return rc;
}

/* The entries found so far, given to fn only once the whole text has
 * been read (a text the scanner gives up on must have caused nothing). */
struct found {
	uint8_t *buf; /* per entry: attr, NUL, value bytes */
	size_t len, cap;
	struct {
		size_t off, alen, vlen;
	} * e;
	size_t n, ecap;
	/* every top-level name, to find one given twice */
	char *names;
	size_t nlen, ncap;
	struct name_at {
		size_t off, len;
	} * na;
	size_t nn, nacap;
};

/* Keep the name in s->sbuf; it is f->names + f->na[f->nn - 1].off. */
static int found_name(struct found *f, const struct scan *s)
{
	if (f->nn == f->nacap) {
		size_t c = f->nacap ? 2 * f->nacap : 16;
		void *nb = realloc(f->na, c * sizeof(*f->na));
		if (!nb)
			return ENOMEM;
		f->na = nb;
		f->nacap = c;
	}
	if (!f->names || f->ncap - f->nlen < s->slen) {
		size_t c = f->ncap ? f->ncap : 256;
		char *nb;
		while (c - f->nlen < s->slen)
			c *= 2;
		nb = realloc(f->names, c);
		if (!nb)
			return ENOMEM;
		f->names = nb;
		f->ncap = c;
	}
	f->na[f->nn].off = f->nlen;
	f->na[f->nn].len = s->slen;
	if (s->slen)
		memcpy(f->names + f->nlen, s->sbuf, s->slen);
	f->nlen += s->slen;
	f->nn++;
	return 0;
}

static int name_cmp(const void *a, const void *b, void *names)
{
	const struct name_at *x = a, *y = b;
	const char *n = names;
	int c =
	    memcmp(n + x->off, n + y->off, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Whether a name is given twice (json-c keeps one value, at the first
 * place: the scanner leaves that to it). */
static int found_twice(struct found *f)
{
	size_t i;
	if (f->nn < 2)
		return 0;
	qsort_r(f->na, f->nn, sizeof(*f->na), name_cmp, f->names);
	for (i = 1; i < f->nn; i++)
		if (name_cmp(&f->na[i - 1], &f->na[i], f->names) == 0)
			return 1;
	return 0;
}

/* An entry kept for later; fn's shape, arg the struct found. */
static int found_add(const char *attr, size_t alen, const uint8_t *val,
		     size_t vlen, void *arg)
{
	struct found *f = arg;
	if (f->n == f->ecap) {
		size_t c = f->ecap ? 2 * f->ecap : 16;
		void *ne = realloc(f->e, c * sizeof(*f->e));
		if (!ne)
			return ENOMEM;
		f->e = ne;
		f->ecap = c;
	}
	if (f->cap - f->len < alen + 1 + vlen) {
		size_t c = f->cap ? f->cap : 1024;
		uint8_t *nb;
		while (c - f->len < alen + 1 + vlen)
			c *= 2;
		nb = realloc(f->buf, c);
		if (!nb)
			return ENOMEM;
		f->buf = nb;
		f->cap = c;
	}
	f->e[f->n].off = f->len;
	f->e[f->n].alen = alen;
	f->e[f->n].vlen = vlen;
	memcpy(f->buf + f->len, attr, alen);
	f->buf[f->len + alen] = 0;
	memcpy(f->buf + f->len + alen + 1, val, vlen);
	f->len += alen + 1 + vlen;
	f->n++;
	return 0;
}

int schema_index_entries_quick(const char *text, size_t len, const char *pk,
			       int (*fn)(const char *attr, size_t attrlen,
					 const uint8_t *val, size_t vallen,
					 void *arg),
			       void *arg)
{
	struct scan s = {.p = text, .end = text + len};
	struct found f = {0};
	struct schema_elems e = {0};
	uint8_t enc[SCHEMA_VALUE_MAX];
	size_t pklen = pk ? strlen(pk) : 0, i;
	struct schema_val v;
	int rc = ENOTSUP, more = -1, emitting = 0;

	if (len > INT_MAX) /* json-c takes an int */
		goto out;
	scan_ws(&s);
	if (s.p >= s.end || *s.p++ != '{')
		goto out;
	for (more = scan_enter(&s, '}'); more == 1; more = scan_more(&s, '}')) {
		const char *attr;
		size_t alen;
		int skip;
		if ((rc = scan_cname(&s)) || (rc = found_name(&f, &s)))
			goto out;
		/* the name, kept (the value's strings reuse s.sbuf) */
		attr = f.names + f.na[f.nn - 1].off;
		alen = f.na[f.nn - 1].len;
		skip = pk && alen == pklen &&
		       (!alen || memcmp(attr, pk, alen) == 0);
		if (s.p < s.end && *s.p == '[') {
			/* each distinct scalar element once, in value order */
			int items;
			s.p++;
			for (items = scan_enter(&s, ']'); items == 1;
			     items = scan_more(&s, ']')) {
				rc = scan_value(&s, &v);
				if (rc == 0)
					rc = schema_elems_add(&e, &v);
				else if (rc == 1)
					rc = 0;
				if (rc)
					goto out;
			}
			if (items < 0)
				goto fail;
			if (skip)
				e.n = e.used = 0;
			else
				rc = schema_elems_each(&e, attr, alen,
						       found_add, &f);
		} else {
			rc = scan_value(&s, &v);
			if (rc == 1)
				rc = 0;
			else if (rc == 0 && !skip)
				rc = found_add(attr, alen, enc,
					       schema_encode_val(&v, enc), &f);
		}
		if (rc)
			goto out;
	}
	if (more < 0)
		goto fail;
	scan_ws(&s);
	if (s.p != s.end || found_twice(&f))
		goto fail;
	/* the whole text is read: now the entries */
	rc = 0;
	emitting = 1;
	for (i = 0; i < f.n && !rc; i++)
		rc = fn((const char *)f.buf + f.e[i].off, f.e[i].alen,
			f.buf + f.e[i].off + f.e[i].alen + 1, f.e[i].vlen, arg);
	goto out;
fail:
	rc = ENOTSUP;
out:
	free(s.sbuf);
	schema_elems_free(&e);
	free(f.buf);
	free(f.e);
	free(f.names);
	free(f.na);
	/* gave up (a callback's own ENOTSUP is its answer) */
	return !emitting && rc == ENOTSUP ? SCHEMA_QUICK_NO : rc;
}

int schema_text_int_attr(const char *text, size_t len, const char *name,
			 int64_t *out)
{
	struct scan s = {.p = text, .end = text + len};
	size_t nlen = strlen(name);
	int found = 0, seen = 0, rc = ENOTSUP, more = -1;
	struct schema_val v;

	if (len > INT_MAX)
		goto out;
	scan_ws(&s);
	if (s.p >= s.end || *s.p++ != '{')
		goto out;
	for (more = scan_enter(&s, '}'); more == 1; more = scan_more(&s, '}')) {
		int is_name, r;
		if (scan_cname(&s))
			goto out;
		is_name = s.slen == nlen &&
			  (!nlen || memcmp(s.sbuf, name, nlen) == 0);
		/* a name twice is not a canonical text: json-c's last wins */
		if (is_name && seen++)
			goto out;
		r = scan_value(&s, &v);
		if (r != 0 && r != 1)
			goto out;
		/* an integer in the text (json-c's int type), not a whole
		 * float, and within int64_t */
		if (is_name && r == 0 && v.kind == SCHEMA_V_INT && s.num_int) {
			*out = v.i;
			found = 1;
		}
	}
	scan_ws(&s);
	if (more == 0 && s.p == s.end)
		rc = found;
out:
	free(s.sbuf);
	return rc;
}
