/*
 * sdl.c: the GraphQL schema subset that schema.graphql is written in.
 *
 * The language is small enough that a hand-written lexer and a
 * recursive-descent parser are shorter than any generated one: one kind of
 * definition ("type"), no values but strings, lists one level deep.  So the
 * parser never recurses on the input and its stack use does not depend on
 * the text, however it nests.
 *
 * Every check that can be made where the offending token is read is made
 * there, so an error points at the token that is wrong.  Only duplicates
 * wait: field names at the type's "}", type and table names at the end of
 * the text, found by sorting rather than by comparing every pair, so a huge
 * schema costs n log n and not n squared.
 *
 * Positions are 1-based lines (counted by '\n') and columns counted in
 * bytes, as editors that jump to "file:line:col" expect.
 *
 * It reads and prints schema text only, and must not look at records:
 * holding a record to its declarations is check.c's, storing the schema
 * fs/'s.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_i.h"

#define SDL_FILE "schema.graphql"

/* Index by enum schema_type. */
static const char *const type_names[] = {
    [SCHEMA_T_ANY] = "Any",	    [SCHEMA_T_ID] = "ID",
    [SCHEMA_T_STRING] = "String",   [SCHEMA_T_INT] = "Int",
    [SCHEMA_T_LONG] = "Long",	    [SCHEMA_T_FLOAT] = "Float",
    [SCHEMA_T_BOOLEAN] = "Boolean", [SCHEMA_T_DATE] = "Date",
    [SCHEMA_T_BIGINT] = "BigInt",
};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

enum tok_kind {
	TOK_EOF,
	TOK_NAME,
	TOK_STRING, /* s/len: the bytes between the quotes, still escaped */
	TOK_PUNCT,  /* one of { } ( ) [ ] : ! @ */
};

struct tok {
	enum tok_kind kind;
	const char *s;
	size_t len;
	int line, col;
};

struct parser {
	const char *p, *end; /* the next unread byte, and the end of the text */
	int line, col;	     /* where p is */
	struct tok tok;	     /* the current token */
	struct schema_err *err;
	struct schema_doc doc; /* being built; freed on any error */
	size_t tables_cap, attrs_cap;
};

static int fail_at(struct parser *ps, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(struct parser *ps, int line, int col, const char *fmt, ...)
{
	char what[sizeof(ps->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return schema_fail(ps->err, EINVAL, SDL_FILE ":%d:%d: %s", line, col,
			   what);
}

/*
 * Move past n bytes that hold no '\n'.  Positions saturate rather than
 * wrap: past 2^31 lines an error message is no less useful for being
 * approximate, and signed overflow would be undefined.
 */
static int col_add(int col, size_t n)
{
	return n > (size_t)(INT_MAX - col) ? INT_MAX : col + (int)n;
}

static void skip_bytes(struct parser *ps, size_t n)
{
	ps->p += n;
	ps->col = col_add(ps->col, n);
}

static void skip_newline(struct parser *ps)
{
	ps->p++;
	if (ps->line < INT_MAX)
		ps->line++;
	ps->col = 1;
}

/* Length of the valid UTF-8 character at s (at most n bytes), else 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Decode the string token tok into out (at least tok->len + 1 bytes; NULL
 * only to check it), NUL-terminated, *outlen its length.  The lexer calls
 * this once to check, so that an error points into the string as it is
 * read; the parser calls it again to keep the value.  A string holds no
 * '\n' (the lexer ends it there), so a column is the token's plus an
 * offset.  The result is valid UTF-8 without NUL: it becomes a C string.
 */
static int unescape(struct parser *ps, const struct tok *tok, char *out,
		    size_t *outlen)
{
	const char *s = tok->s;
	size_t i = 0, o = 0, n = tok->len;
	char tmp[4];

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		int col = col_add(tok->col, i + 1);
		uint32_t cp, lo;
		size_t k;

		if (c == '\\') {
			if (i + 1 >= n)
				goto bad_escape;
			switch (s[i + 1]) {
			case '"':
			case '\\':
			case '/':
				cp = (unsigned char)s[i + 1];
				break;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'n':
				cp = '\n';
				break;
			case 'r':
				cp = '\r';
				break;
			case 't':
				cp = '\t';
				break;
			case 'u':
				if (n - i < 6 || !schema_hex4(s + i + 2, &cp))
					goto bad_escape;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return fail_at(ps, tok->line, col,
						       "lone surrogate in "
						       "string");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					/* A pair spells one character. */
					if (n - i < 12 || s[i + 6] != '\\' ||
					    s[i + 7] != 'u' ||
					    !schema_hex4(s + i + 8, &lo) ||
					    lo < 0xdc00 || lo > 0xdfff)
						return fail_at(ps, tok->line,
							       col,
							       "lone surrogate "
							       "in string");
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
					i += 6;
				}
				if (cp == 0)
					return fail_at(ps, tok->line, col,
						       "NUL in string");
				i += 4;
				break;
			default:
				goto bad_escape;
			}
			i += 2;
			k = schema_utf8_put(cp, tmp);
			if (out)
				memcpy(out + o, tmp, k);
			o += k;
			continue;
		bad_escape:
			return fail_at(ps, tok->line, col,
				       "bad escape in string");
		}
		if (c < 0x20 && c != '\t')
			return fail_at(ps, tok->line, col,
				       "control character 0x%02x in string "
				       "(write it as \\u%04x)",
				       c, c);
		k = utf8_len((const unsigned char *)s + i, n - i);
		if (!k)
			return fail_at(ps, tok->line, col,
				       "invalid UTF-8 in string");
		if (out)
			memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	if (out)
		out[o] = '\0';
	*outlen = o;
	return 0;
}

static int is_name_start(char c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

int schema_sdl_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > SCHEMA_NAME_MAX || !is_name_start(s[0]))
		return 0;
	for (i = 1; i < len; i++)
		if (!is_name_char(s[i]))
			return 0;
	return 1;
}

/* Read the next token into ps->tok. */
static int next(struct parser *ps)
{
	struct tok *t = &ps->tok;
	size_t len;

	for (;;) {
		if (ps->p == ps->end)
			break;
		if (*ps->p == '\n') {
			skip_newline(ps);
		} else if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' ||
			   *ps->p == ',') {
			skip_bytes(ps, 1);
		} else if (*ps->p == '#') {
			const char *nl = memchr(ps->p, '\n', ps->end - ps->p);

			/* A comment is ignored, whatever bytes it holds. */
			skip_bytes(ps, (nl ? nl : ps->end) - ps->p);
		} else {
			break;
		}
	}
	t->s = ps->p;
	t->len = 0;
	t->line = ps->line;
	t->col = ps->col;
	if (ps->p == ps->end) {
		t->kind = TOK_EOF;
		return 0;
	}
	if (is_name_start(*ps->p)) {
		for (len = 1; ps->p + len < ps->end && is_name_char(ps->p[len]);
		     len++)
			;
		if (len > SCHEMA_NAME_MAX)
			return fail_at(ps, t->line, t->col,
				       "name longer than %d bytes",
				       SCHEMA_NAME_MAX);
		t->kind = TOK_NAME;
		t->len = len;
		skip_bytes(ps, len);
		return 0;
	}
	if (*ps->p && strchr("{}()[]:!@", *ps->p)) {
		t->kind = TOK_PUNCT;
		t->len = 1;
		skip_bytes(ps, 1);
		return 0;
	}
	if (*ps->p == '"') {
		size_t n = (size_t)(ps->end - ps->p), i, dummy;

		/* Find the closing quote; escapes are checked below. */
		for (i = 1; i < n && ps->p[i] != '"' && ps->p[i] != '\n'; i++) {
			if (ps->p[i] == '\\' && i + 1 < n &&
			    ps->p[i + 1] != '\n')
				i++;
		}
		if (i >= n || ps->p[i] != '"')
			return fail_at(ps, t->line, t->col,
				       "unterminated string");
		t->kind = TOK_STRING;
		t->s = ps->p + 1;
		t->len = i - 1;
		skip_bytes(ps, i + 1);
		return unescape(ps, t, NULL, &dummy);
	}
	if ((unsigned char)*ps->p > 0x20 && (unsigned char)*ps->p < 0x7f)
		return fail_at(ps, t->line, t->col, "unexpected character '%c'",
			       *ps->p);
	return fail_at(ps, t->line, t->col, "unexpected byte 0x%02x",
		       (unsigned char)*ps->p);
}

static int is_punct(const struct parser *ps, char c)
{
	return ps->tok.kind == TOK_PUNCT && ps->tok.s[0] == c;
}

static int is_name(const struct parser *ps, const char *name)
{
	return ps->tok.kind == TOK_NAME && ps->tok.len == strlen(name) &&
	       memcmp(ps->tok.s, name, ps->tok.len) == 0;
}

/* "expected X, found Y" at the current token. */
static int expected(struct parser *ps, const char *what)
{
	const struct tok *t = &ps->tok;

	switch (t->kind) {
	case TOK_EOF:
		return fail_at(ps, t->line, t->col,
			       "expected %s, found end of input", what);
	case TOK_STRING:
		return fail_at(ps, t->line, t->col,
			       "expected %s, found a string", what);
	default:
		return fail_at(ps, t->line, t->col,
			       "expected %s, found \"%.*s\"", what, (int)t->len,
			       t->s);
	}
}

/* Skip the punctuation c, or say what was expected instead. */
static int eat(struct parser *ps, char c)
{
	char what[4] = {'"', c, '"', '\0'};

	if (!is_punct(ps, c))
		return expected(ps, what);
	return next(ps);
}

static char *tok_strdup(const struct tok *t)
{
	return strndup(t->s, t->len);
}

/* A string argument's value, malloc'd into *out. */
static int tok_string(struct parser *ps, char **out)
{
	size_t len;
	char *s;
	int rc;

	if (ps->tok.kind != TOK_STRING)
		return expected(ps, "a string");
	s = malloc(ps->tok.len + 1);
	if (!s)
		return ENOMEM;
	rc = unescape(ps, &ps->tok, s, &len);
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/*
 * Table and database names become directory names, so they must be able
 * to be one, and must not begin with '.', which the file system keeps for
 * its own names (".changes", ".recordfs").
 */
static int check_dir_name(struct parser *ps, const struct tok *t,
			  const char *what, const char *s)
{
	size_t len = strlen(s);

	if (len == 0)
		return fail_at(ps, t->line, t->col, "%s name is empty", what);
	if (len > SCHEMA_NAME_MAX)
		return fail_at(ps, t->line, t->col,
			       "%s name longer than %d bytes", what,
			       SCHEMA_NAME_MAX);
	if (s[0] == '.' || strchr(s, '/'))
		return fail_at(ps, t->line, t->col,
			       "%s name cannot begin with '.' or hold '/'",
			       what);
	return 0;
}

/* "@table(table: "dog", database: "pets")": the '(' is the current token. */
static int parse_table_args(struct parser *ps, struct schema_table *t)
{
	int rc;

	rc = next(ps);
	if (rc)
		return rc;
	do {
		struct tok name = ps->tok;
		char **slot;
		const char *what;

		if (is_name(ps, "table")) {
			slot = &t->table;
			what = "table";
		} else if (is_name(ps, "database")) {
			slot = &t->database;
			what = "database";
		} else if (ps->tok.kind == TOK_NAME) {
			return fail_at(ps, name.line, name.col,
				       "@table has no argument \"%.*s\" (only "
				       "table and database)",
				       (int)name.len, name.s);
		} else {
			return expected(ps, "an argument name");
		}
		if (*slot)
			return fail_at(ps, name.line, name.col,
				       "argument %s given twice", what);
		rc = next(ps);
		if (!rc)
			rc = eat(ps, ':');
		if (!rc)
			rc = tok_string(ps, slot);
		if (!rc)
			rc = check_dir_name(ps, &ps->tok, what, *slot);
		if (!rc)
			rc = next(ps);
		if (rc)
			return rc;
	} while (!is_punct(ps, ')'));
	return next(ps);
}

/* The field-only directives, for saying where they belong. */
static int is_field_directive(const struct parser *ps)
{
	return is_name(ps, "primaryKey") || is_name(ps, "indexed") ||
	       is_name(ps, "createdTime") || is_name(ps, "updatedTime");
}

/* Directives after a type's name, up to its '{'. */
static int parse_type_directives(struct parser *ps, struct schema_table *t,
				 int *has_table)
{
	int rc;

	while (is_punct(ps, '@')) {
		struct tok at = ps->tok;

		rc = next(ps);
		if (rc)
			return rc;
		if (ps->tok.kind != TOK_NAME)
			return expected(ps, "a directive name");
		if (is_name(ps, "table")) {
			if (*has_table)
				return fail_at(ps, at.line, at.col,
					       "@table given twice");
			*has_table = 1;
			rc = next(ps);
			if (!rc && is_punct(ps, '('))
				rc = parse_table_args(ps, t);
		} else if (is_name(ps, "sealed")) {
			if (t->sealed)
				return fail_at(ps, at.line, at.col,
					       "@sealed given twice");
			t->sealed = 1;
			rc = next(ps);
			if (!rc && is_punct(ps, '('))
				return fail_at(ps, ps->tok.line, ps->tok.col,
					       "@sealed takes no arguments");
		} else if (is_field_directive(ps)) {
			return fail_at(ps, at.line, at.col,
				       "@%.*s belongs on a field, not a type",
				       (int)ps->tok.len, ps->tok.s);
		} else {
			return fail_at(ps, at.line, at.col,
				       "unknown directive @%.*s",
				       (int)ps->tok.len, ps->tok.s);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* A scalar type name at the current token, into *type. */
static int parse_scalar(struct parser *ps, enum schema_type *type)
{
	size_t i;

	if (ps->tok.kind != TOK_NAME)
		return expected(ps, "a type");
	for (i = 0; i < NTYPES; i++) {
		if (is_name(ps, type_names[i])) {
			*type = (enum schema_type)i;
			return next(ps);
		}
	}
	return fail_at(ps, ps->tok.line, ps->tok.col, "unknown type \"%.*s\"",
		       (int)ps->tok.len, ps->tok.s);
}

/* "T", "T!", "[T]", "[T!]", "[T]!", "[T!]!" */
static int parse_type_ref(struct parser *ps, struct schema_attr *a)
{
	int rc;

	if (is_punct(ps, '[')) {
		a->list = 1;
		rc = next(ps);
		if (rc)
			return rc;
		if (is_punct(ps, '['))
			return fail_at(ps, ps->tok.line, ps->tok.col,
				       "nested lists are not supported");
		rc = parse_scalar(ps, &a->type);
		if (rc)
			return rc;
		if (is_punct(ps, '!')) {
			a->elem_required = 1;
			rc = next(ps);
			if (rc)
				return rc;
		}
		rc = eat(ps, ']');
	} else {
		rc = parse_scalar(ps, &a->type);
	}
	if (rc)
		return rc;
	if (is_punct(ps, '!')) {
		a->required = 1;
		return next(ps);
	}
	return 0;
}

/*
 * The time a record was made or changed is a number of milliseconds (Long,
 * Int, Float) or a Date; a list or a string cannot hold it.
 */
static int time_type(const struct schema_attr *a)
{
	return !a->list &&
	       (a->type == SCHEMA_T_LONG || a->type == SCHEMA_T_INT ||
		a->type == SCHEMA_T_FLOAT || a->type == SCHEMA_T_DATE);
}

/*
 * Storage keys are 64-bit integers or strings (struct schema_key), so only
 * types whose values are one of those can be a primary key; Any takes
 * either, as a dynamic table's key does.
 */
static int key_type(const struct schema_attr *a)
{
	return a->type == SCHEMA_T_ID || a->type == SCHEMA_T_STRING ||
	       a->type == SCHEMA_T_INT || a->type == SCHEMA_T_LONG ||
	       a->type == SCHEMA_T_ANY;
}

/*
 * The fields of the type being parsed that carry the one-per-type
 * directives, by name: the names stay put while the array of fields is
 * reallocated under them.
 */
struct seen {
	const char *pk, *created, *updated;
};

static int parse_field_directives(struct parser *ps, struct schema_attr *a,
				  struct seen *seen)
{
	int rc;

	while (is_punct(ps, '@')) {
		struct tok at = ps->tok, dname;
		const char **one = NULL;
		int *flag;

		rc = next(ps);
		if (rc)
			return rc;
		if (ps->tok.kind != TOK_NAME)
			return expected(ps, "a directive name");
		dname = ps->tok;
		if (is_name(ps, "primaryKey")) {
			flag = &a->pk;
			one = &seen->pk;
			if (a->list)
				return fail_at(ps, at.line, at.col,
					       "@primaryKey cannot be on a "
					       "list");
			if (!key_type(a))
				return fail_at(
				    ps, at.line, at.col,
				    "@primaryKey must be ID, String, "
				    "Int, Long or Any, not %s",
				    type_names[a->type]);
		} else if (is_name(ps, "indexed")) {
			flag = &a->indexed;
		} else if (is_name(ps, "createdTime") ||
			   is_name(ps, "updatedTime")) {
			int created = is_name(ps, "createdTime");

			flag = created ? &a->created : &a->updated;
			one = created ? &seen->created : &seen->updated;
			if (!time_type(a))
				return fail_at(
				    ps, at.line, at.col,
				    "@%s needs type Long, Int, "
				    "Float or Date, not %s%s%s",
				    created ? "createdTime" : "updatedTime",
				    a->list ? "[" : "", type_names[a->type],
				    a->list ? "]" : "");
			if (created ? a->updated : a->created)
				return fail_at(ps, at.line, at.col,
					       "a field cannot be both "
					       "@createdTime and @updatedTime");
		} else if (is_name(ps, "table") || is_name(ps, "sealed")) {
			return fail_at(ps, at.line, at.col,
				       "@%.*s belongs on a type, not a field",
				       (int)ps->tok.len, ps->tok.s);
		} else {
			return fail_at(ps, at.line, at.col,
				       "unknown directive @%.*s",
				       (int)ps->tok.len, ps->tok.s);
		}
		if (*flag)
			return fail_at(ps, at.line, at.col, "@%.*s given twice",
				       (int)ps->tok.len, ps->tok.s);
		if (one && *one)
			return fail_at(ps, at.line, at.col,
				       "@%.*s is already on field %s",
				       (int)ps->tok.len, ps->tok.s, *one);
		*flag = 1;
		if (one)
			*one = a->name;
		rc = next(ps);
		if (rc)
			return rc;
		if (is_punct(ps, '('))
			return fail_at(ps, ps->tok.line, ps->tok.col,
				       "@%.*s takes no arguments",
				       (int)dname.len, dname.s);
	}
	return 0;
}

/*
 * An array p of *cap elements of size, grown if need be to hold n + 1: the
 * array to use from now on, or NULL (p untouched) when memory runs out.
 */
static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	size_t ncap;

	if (n < *cap)
		return p;
	ncap = *cap ? *cap * 2 : 8;
	p = reallocarray(p, ncap, size);
	if (p)
		*cap = ncap;
	return p;
}

/* "name: Type @directives": the name is the current token. */
static int parse_field(struct parser *ps, struct schema_table *t,
		       struct seen *seen)
{
	struct schema_attr *a;
	int rc;

	a = grow(t->attrs, &ps->attrs_cap, t->nattrs, sizeof(*t->attrs));
	if (!a)
		return ENOMEM;
	t->attrs = a;
	a = &t->attrs[t->nattrs];
	memset(a, 0, sizeof(*a));
	/* Counted at once, so that an error frees the name. */
	t->nattrs++;
	a->name = tok_strdup(&ps->tok);
	if (!a->name)
		return ENOMEM;
	a->line = ps->tok.line;
	a->col = ps->tok.col;
	rc = next(ps);
	if (!rc)
		rc = eat(ps, ':');
	if (!rc)
		rc = parse_type_ref(ps, a);
	if (!rc)
		rc = parse_field_directives(ps, a, seen);
	return rc;
}

/*
 * Keys for finding duplicates by sorting: (a, b) are compared, idx breaks
 * ties so that within a group of equals the first written comes first.
 */
struct dup_key {
	const char *a, *b;
	size_t idx;
};

static int cmp_opt(const char *x, const char *y)
{
	if (!x || !y)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

static int dup_cmp(const void *x, const void *y)
{
	const struct dup_key *p = x, *q = y;
	int c = strcmp(p->a, q->a);

	if (!c)
		c = cmp_opt(p->b, q->b);
	if (!c)
		c = (p->idx > q->idx) - (p->idx < q->idx);
	return c;
}

/*
 * Of keys[0..n) (idx 0..n-1 in order of writing), the idx of the first
 * written one that repeats an earlier one, or SIZE_MAX.  The first repeat
 * in the text is reported, as a reader going from the top would find it.
 */
static size_t first_dup(struct dup_key *keys, size_t n)
{
	size_t i, best = SIZE_MAX;

	if (n > 1) /* and never a NULL keys */
		qsort(keys, n, sizeof(*keys), dup_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(keys[i].a, keys[i - 1].a) == 0 &&
		    cmp_opt(keys[i].b, keys[i - 1].b) == 0 &&
		    keys[i].idx < best)
			best = keys[i].idx;
	}
	return best;
}

static int check_fields(struct parser *ps, const struct schema_table *t)
{
	struct dup_key *keys;
	size_t i, d;

	if (t->nattrs < 2)
		return 0;
	keys = calloc(t->nattrs, sizeof(*keys));
	if (!keys)
		return ENOMEM;
	for (i = 0; i < t->nattrs; i++) {
		keys[i].a = t->attrs[i].name;
		keys[i].idx = i;
	}
	d = first_dup(keys, t->nattrs);
	free(keys);
	if (d == SIZE_MAX)
		return 0;
	return fail_at(ps, t->attrs[d].line, t->attrs[d].col,
		       "duplicate field %s in type %s", t->attrs[d].name,
		       t->type_name);
}

/*
 * Two types of one name, or two types for one table, cannot both hold.  A
 * table without a database argument is compared as such: which database
 * it lands in is for the caller to decide.
 */
static int check_tables(struct parser *ps)
{
	const struct schema_doc *doc = &ps->doc;
	struct dup_key *keys;
	size_t i, d, e;

	if (doc->ntables < 2)
		return 0;
	keys = calloc(doc->ntables, sizeof(*keys));
	if (!keys)
		return ENOMEM;
	for (i = 0; i < doc->ntables; i++) {
		keys[i].a = doc->tables[i].type_name;
		keys[i].b = NULL;
		keys[i].idx = i;
	}
	d = first_dup(keys, doc->ntables);
	for (i = 0; i < doc->ntables; i++) {
		keys[i].a = doc->tables[i].table;
		keys[i].b = doc->tables[i].database;
		keys[i].idx = i;
	}
	e = first_dup(keys, doc->ntables);
	free(keys);
	if (d != SIZE_MAX && d <= e)
		return fail_at(ps, doc->tables[d].line, doc->tables[d].col,
			       "duplicate type %s", doc->tables[d].type_name);
	if (e == SIZE_MAX)
		return 0;
	if (doc->tables[e].database)
		return fail_at(ps, doc->tables[e].line, doc->tables[e].col,
			       "duplicate table \"%s\" in database \"%s\"",
			       doc->tables[e].table, doc->tables[e].database);
	return fail_at(ps, doc->tables[e].line, doc->tables[e].col,
		       "duplicate table \"%s\"", doc->tables[e].table);
}

/* "type Name @directives { fields }": "type" is the current token. */
static int parse_type(struct parser *ps)
{
	struct seen seen = {0};
	struct schema_table *t;
	int has_table = 0, rc;

	if (ps->tok.kind == TOK_NAME && !is_name(ps, "type"))
		return fail_at(ps, ps->tok.line, ps->tok.col,
			       "only \"type\" definitions are supported, not "
			       "\"%.*s\"",
			       (int)ps->tok.len, ps->tok.s);
	if (!is_name(ps, "type"))
		return expected(ps, "\"type\"");
	rc = next(ps);
	if (rc)
		return rc;
	if (ps->tok.kind != TOK_NAME)
		return expected(ps, "a type name");
	t = grow(ps->doc.tables, &ps->tables_cap, ps->doc.ntables,
		 sizeof(*ps->doc.tables));
	if (!t)
		return ENOMEM;
	ps->doc.tables = t;
	t = &ps->doc.tables[ps->doc.ntables];
	memset(t, 0, sizeof(*t));
	ps->doc.ntables++;
	ps->attrs_cap = 0;
	t->type_name = tok_strdup(&ps->tok);
	if (!t->type_name)
		return ENOMEM;
	t->line = ps->tok.line;
	t->col = ps->tok.col;
	rc = next(ps);
	if (!rc)
		rc = parse_type_directives(ps, t, &has_table);
	if (rc)
		return rc;
	if (!is_punct(ps, '{'))
		return expected(ps, "\"{\"");
	if (!has_table)
		return fail_at(ps, t->line, t->col,
			       "type %s has no @table: only @table types are "
			       "supported",
			       t->type_name);
	if (!t->table) {
		t->table = strdup(t->type_name);
		if (!t->table)
			return ENOMEM;
	}
	rc = next(ps);
	if (rc)
		return rc;
	while (ps->tok.kind == TOK_NAME) {
		rc = parse_field(ps, t, &seen);
		if (rc)
			return rc;
	}
	if (!is_punct(ps, '}'))
		return expected(ps, "a field name or \"}\"");
	rc = check_fields(ps, t);
	if (rc)
		return rc;
	if (!seen.pk)
		return fail_at(ps, t->line, t->col,
			       "type %s has no @primaryKey field",
			       t->type_name);
	return next(ps);
}

int schema_sdl_parse(const char *text, size_t len, struct schema_doc *doc,
		     struct schema_err *err)
{
	struct parser ps = {
	    .p = text, .end = text + len, .line = 1, .col = 1, .err = err};
	int rc;

	/* Some editors begin UTF-8 files with a byte order mark. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		skip_bytes(&ps, 3);
	rc = next(&ps);
	while (!rc && ps.tok.kind != TOK_EOF)
		rc = parse_type(&ps);
	if (!rc)
		rc = check_tables(&ps);
	if (rc) {
		if (rc == ENOMEM)
			schema_fail(err, ENOMEM, "out of memory");
		schema_doc_free(&ps.doc);
		return rc;
	}
	*doc = ps.doc;
	return 0;
}

void schema_doc_free(struct schema_doc *doc)
{
	size_t i, j;

	if (!doc)
		return;
	for (i = 0; i < doc->ntables; i++) {
		struct schema_table *t = &doc->tables[i];

		for (j = 0; j < t->nattrs; j++)
			free(t->attrs[j].name);
		free(t->attrs);
		free(t->type_name);
		free(t->table);
		free(t->database);
	}
	free(doc->tables);
	memset(doc, 0, sizeof(*doc));
}

/* ---- printing -------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	int oom; /* once set, every append is a no-op */
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len <= n) {
		size_t ncap = b->cap ? b->cap : 256;
		char *q;

		while (ncap - b->len <= n) {
			if (ncap > SIZE_MAX / 2) {
				b->oom = 1;
				return;
			}
			ncap *= 2;
		}
		q = realloc(b->p, ncap);
		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct sbuf *b, const char *s)
{
	put(b, s ? s : "", s ? strlen(s) : 0);
}

/* A string literal the lexer reads back to the same bytes. */
static void put_quoted(struct sbuf *b, const char *s)
{
	char esc[8];

	put(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(b, esc, 2);
		} else if (c == '\n') {
			put(b, "\\n", 2);
		} else if (c == '\t') {
			put(b, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(b, esc, 6);
		} else {
			put(b, s, 1);
		}
	}
	put(b, "\"", 1);
}

const char *schema_type_name(enum schema_type t)
{
	return (size_t)t < NTYPES ? type_names[t] : "?";
}

static void put_attr(struct sbuf *b, const struct schema_attr *a)
{
	puts_(b, "  ");
	puts_(b, a->name);
	puts_(b, ": ");
	if (a->list)
		puts_(b, "[");
	puts_(b, schema_type_name(a->type));
	if (a->list && a->elem_required)
		puts_(b, "!");
	if (a->list)
		puts_(b, "]");
	if (a->required)
		puts_(b, "!");
	if (a->pk)
		puts_(b, " @primaryKey");
	if (a->indexed)
		puts_(b, " @indexed");
	if (a->created)
		puts_(b, " @createdTime");
	if (a->updated)
		puts_(b, " @updatedTime");
	puts_(b, "\n");
}

char *schema_sdl_print(const struct schema_doc *doc, size_t *len)
{
	struct sbuf b = {0};
	size_t i, j;

	put(&b, "", 0); /* so that an empty doc is "" and not NULL */
	for (i = 0; doc && i < doc->ntables; i++) {
		const struct schema_table *t = &doc->tables[i];

		if (i)
			puts_(&b, "\n");
		puts_(&b, "type ");
		puts_(&b, t->type_name);
		puts_(&b, " @table(table: ");
		put_quoted(&b, t->table ? t->table : t->type_name);
		if (t->database) {
			puts_(&b, ", database: ");
			put_quoted(&b, t->database);
		}
		puts_(&b, ")");
		if (t->sealed)
			puts_(&b, " @sealed");
		puts_(&b, " {\n");
		for (j = 0; j < t->nattrs; j++)
			put_attr(&b, &t->attrs[j]);
		puts_(&b, "}\n");
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}
