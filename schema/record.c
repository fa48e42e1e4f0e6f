/*
 * record.c: checking what is written, and the canonical text kept.
 *
 * Two readers look at every body.  json-c's tokener checks the grammar and
 * builds the objects.  In front of it runs a small lexer of our own, for
 * what json-c 0.16 accepts even in strict mode or quietly changes: numbers
 * such as "1." and "NaN", integers past 64 bits (json-c clamps them to the
 * largest it has), UTF-8 that has the right bit patterns but is not valid
 * (overlong forms, surrogates), lone surrogate escapes (json-c puts U+FFFD
 * in their place) and "\u0000" in attribute names (json-c cuts the name
 * there).  Each of those would store something other than what was written,
 * or something jq and Python refuse to read back.  The lexer also tracks
 * nesting, so it knows where the top-level object ends: json-c is fed the
 * object and nothing after it, and what follows is ours to check.
 *
 * json-c 0.16 also decodes 32,768 surrogate pairs wrongly: every code point
 * whose low 16 bits fall in D800..DFFF (U+1D800..U+1DFFF, U+2D800.., up to
 * U+10D800..) becomes U+FFFD, the form Python's json.dumps writes for them.
 * So json-c never sees a pair: the lexer decodes each one itself and feeds
 * json-c the character's UTF-8 bytes in its place (feed_pair), holding a
 * pair's first bytes back when a write ends inside it.
 *
 * The canonical text is printed by hand rather than by json-c's pretty
 * printer, which writes "[ ]" and "{ }", indents by its own rules and
 * cannot put the key first.  Scalars still go through json-c, so a number
 * keeps the spelling it was written with.
 *
 * A plain body (one flat object of simple values, what `echo` writes)
 * skips both readers: record_plain() reads it once and lays its bytes out
 * as the canonical text, for a quarter of the time json-c takes.
 *
 * It must not know a table's declared types: check.c holds a record to
 * them after schema_record_prepare().  Edits of a stored record are
 * edit.c's; the old creation time is read through scan.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_i.h"

/*
 * Not JSON_TOKENER_VALIDATE_UTF8: json-c 0.16 forgets a partial character
 * between calls, so a character split across two writes was refused (and
 * its check is looser than ours anyway).  The lexer validates UTF-8.
 */
#define TOKENER_FLAGS JSON_TOKENER_STRICT
#define SCALAR_FLAGS  (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

enum lex_state {
	LX_START, /* before the object: whitespace, then '{' */
	LX_TOKEN, /* inside it, between tokens */
	LX_STRING,
	LX_ESCAPE, /* after a backslash */
	LX_UHEX,   /* in the four digits of \uXXXX */
	LX_NUMBER,
	LX_WORD,  /* true, false, null */
	LX_AFTER, /* after the object: whitespace only */
	LX_FAILED,
};

/* Where a number is in the JSON number grammar. */
enum num_state {
	NUM_SIGN, /* after '-' */
	NUM_ZERO, /* a leading 0: no digit may follow */
	NUM_INT,
	NUM_DOT,
	NUM_FRAC,
	NUM_E,
	NUM_ESIGN,
	NUM_EXP,
};

struct schema_check {
	struct json_tokener *tok;
	struct json_object *obj; /* the finished object, when keep */
	int keep;
	size_t
	    keep_max; /* keep only a body of at most this many bytes; 0 any */
	int parsed;   /* json-c has returned the object */
	enum lex_state st;
	size_t depth; /* open '{' and '[' */
	size_t fed;   /* bytes given before the current chunk */
	struct schema_utf8 utf8;
	int str_nul;  /* this string holds \u0000 */
	int name_nul; /* the last string did, if ':' makes it a name */
	int want_low; /* a high surrogate escape needs its low half */
	unsigned hex_n, hex_v;
	/* surrogate pairs, which json-c is fed as UTF-8 (see the top) */
	size_t esc_at;	  /* where the current escape's '\' is */
	size_t pair_at;	  /* where the pair's high half's '\' is */
	unsigned pair_hi; /* the high half */
	uint32_t pair_cp; /* the character of a pair just completed */
	int pair_done;	  /* pair_cp waits to be fed */
	char held[12];	  /* bytes of a pair (or an escape that may start
			     one) that a write ended inside, not yet fed */
	size_t nheld, held_at;
	enum num_state num;
	int num_neg, num_int, num_big;
	uint64_t num_mag;
	const char *word;
	size_t word_at;
	struct schema_err failure; /* the first refusal, repeated after */
};

static int check_init(struct schema_check *c, int keep)
{
	memset(c, 0, sizeof(*c));
	c->tok = json_tokener_new();
	if (!c->tok)
		return ENOMEM;
	json_tokener_set_flags(c->tok, TOKENER_FLAGS);
	c->keep = keep;
	c->st = LX_START;
	return 0;
}

static void check_fini(struct schema_check *c)
{
	json_object_put(c->obj);
	json_tokener_free(c->tok);
}

struct schema_check *schema_check_new(void)
{
	struct schema_check *c = malloc(sizeof(*c));

	/* keeps the object of a small body (a large one's tree would be held
	 * until close): schema_record_prepare_checked() takes it */
	if (c && check_init(c, 1)) {
		free(c);
		return NULL;
	}
	if (c)
		c->keep_max = SCHEMA_CHECK_KEEP_MAX;
	return c;
}

void schema_check_free(struct schema_check *c)
{
	if (!c)
		return;
	check_fini(c);
	free(c);
}

int schema_check_done(const struct schema_check *c)
{
	return c->st == LX_AFTER;
}

static int is_ws(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* A byte as a message shows it: 'x', or 0xNN when it would not print. */
static const char *show(uint8_t ch, char buf[8])
{
	if (ch > 0x20 && ch < 0x7f)
		snprintf(buf, 8, "'%c'", ch);
	else
		snprintf(buf, 8, "0x%02x", ch);
	return buf;
}

#define NO_BYTE (-1) /* lex_fail: the message shows no byte */

/* Refuse at byte number at (from 0); the message counts from 1, and shows
 * byte ch (NUL too) unless it is NO_BYTE. */
static int lex_fail(struct schema_check *c, size_t at, const char *why, int ch)
{
	char b[8];

	c->st = LX_FAILED;
	return schema_fail(&c->failure, EINVAL, "bad JSON at byte %zu: %s%s",
			   at + 1, why,
			   ch != NO_BYTE ? show((uint8_t)ch, b) : "");
}

static int not_object(struct schema_check *c, size_t at, uint8_t ch)
{
	const char *what = NULL;

	if (ch == '[')
		what = "an array";
	else if (ch == '"')
		what = "a string";
	else if (ch == '-' || (ch >= '0' && ch <= '9'))
		what = "a number";
	/* a letter may begin true, false or null, or any word ("not
	 * json"): only the byte is said */
	if (!what)
		return lex_fail(c, at, "a record is a JSON object; found ", ch);
	c->st = LX_FAILED;
	return schema_fail(&c->failure, EINVAL,
			   "a record must be a JSON object, not %s", what);
}

/*
 * One byte of a number.  Returns 1 if it belongs to the number, 0 if the
 * number ended before it (the caller reads it again as a token), or EINVAL
 * through lex_fail.
 */
static int num_byte(struct schema_check *c, uint8_t ch, size_t at)
{
	int digit = ch >= '0' && ch <= '9';

	switch (c->num) {
	case NUM_SIGN:
		if (!digit)
			return -lex_fail(c, at, "a digit must follow '-'",
					 NO_BYTE);
		c->num = ch == '0' ? NUM_ZERO : NUM_INT;
		c->num_mag = ch - '0';
		return 1;
	case NUM_ZERO:
	case NUM_INT:
		if (digit) {
			unsigned d = ch - '0';

			if (c->num == NUM_ZERO)
				return -lex_fail(
				    c, at, "a number must not start with 0",
				    NO_BYTE);
			if (c->num_mag > (UINT64_MAX - d) / 10)
				c->num_big = 1;
			else
				c->num_mag = c->num_mag * 10 + d;
			return 1;
		}
		if (ch == '.') {
			c->num = NUM_DOT;
			c->num_int = 0;
			return 1;
		}
		if (ch == 'e' || ch == 'E') {
			c->num = NUM_E;
			c->num_int = 0;
			return 1;
		}
		break;
	case NUM_DOT:
		if (!digit)
			return -lex_fail(c, at, "a digit must follow '.'",
					 NO_BYTE);
		c->num = NUM_FRAC;
		return 1;
	case NUM_FRAC:
		if (digit)
			return 1;
		if (ch == 'e' || ch == 'E') {
			c->num = NUM_E;
			return 1;
		}
		break;
	case NUM_E:
		if (ch == '+' || ch == '-') {
			c->num = NUM_ESIGN;
			return 1;
		}
		/* fall through */
	case NUM_ESIGN:
		if (!digit)
			return -lex_fail(
			    c, at, "a digit must follow the exponent's 'e'",
			    NO_BYTE);
		c->num = NUM_EXP;
		return 1;
	case NUM_EXP:
		if (digit)
			return 1;
		break;
	}
	/*
	 * The number is over.  json-c would clamp an integer it cannot hold,
	 * so refuse it here: it fits int64_t, or uint64_t when positive.
	 */
	if (c->num_int &&
	    (c->num_big ||
	     (c->num_neg && c->num_mag > (uint64_t)INT64_MAX + 1)))
		return -lex_fail(
		    c, at - 1,
		    "integer out of the 64-bit range (write it with "
		    "a fraction or exponent, or as a string)",
		    NO_BYTE);
	/*
	 * Only ',', '}', ']' or whitespace may follow, which json-c checks,
	 * but not across writes: fed "6" and then "-0}", json-c 0.16 reads
	 * on into "6-0" and keeps 6.  '-' is the byte it takes there that
	 * ends the number for us, so refuse it here.
	 */
	if (ch == '-')
		return -lex_fail(c, at, "unexpected ", ch);
	return 0;
}

/* One byte of the body, at offset at; 0 or EINVAL (c->failure says why). */
static int lex_byte(struct schema_check *c, uint8_t ch, size_t at)
{
	int r;

again:
	switch (c->st) {
	case LX_START:
		if (is_ws(ch))
			return 0;
		if (ch != '{')
			return not_object(c, at, ch);
		c->st = LX_TOKEN;
		c->depth = 1;
		return 0;
	case LX_TOKEN:
		if (is_ws(ch))
			return 0;
		if (c->name_nul && ch == ':')
			return lex_fail(
			    c, at, "an attribute name must not hold \\u0000",
			    NO_BYTE);
		c->name_nul = 0;
		switch (ch) {
		case '{':
		case '[':
			c->depth++;
			return 0;
		case '}':
		case ']':
			if (--c->depth == 0)
				c->st = LX_AFTER;
			return 0;
		case ',':
		case ':':
			return 0;
		case '"':
			c->st = LX_STRING;
			c->str_nul = 0;
			return 0;
		case 't':
			c->word = "true";
			break;
		case 'f':
			c->word = "false";
			break;
		case 'n':
			c->word = "null";
			break;
		default:
			if (ch != '-' && (ch < '0' || ch > '9'))
				return lex_fail(c, at, "unexpected ", ch);
			c->st = LX_NUMBER;
			c->num = NUM_SIGN;
			c->num_neg = ch == '-';
			c->num_int = 1;
			c->num_big = 0;
			c->num_mag = 0;
			if (ch == '-')
				return 0;
			goto again;
		}
		c->st = LX_WORD;
		c->word_at = 1;
		return 0;
	case LX_STRING:
		if (c->utf8.need == 0) {
			if (c->want_low && ch != '\\')
				goto lone;
			if (ch == '"') {
				c->st = LX_TOKEN;
				c->name_nul = c->str_nul;
				return 0;
			}
			if (ch == '\\') {
				c->st = LX_ESCAPE;
				c->esc_at = at;
				return 0;
			}
			if (ch < 0x20)
				return lex_fail(c, at,
						"a control character in a "
						"string must be escaped: ",
						ch);
		}
		if (schema_utf8_byte(&c->utf8, ch))
			return lex_fail(c, at, "invalid UTF-8", NO_BYTE);
		return 0;
	case LX_ESCAPE:
		if (c->want_low && ch != 'u')
			goto lone;
		c->st = LX_STRING;
		if (ch == 'u') {
			c->st = LX_UHEX;
			c->hex_n = 0;
			c->hex_v = 0;
			return 0;
		}
		if (ch && strchr("\"\\/bfnrt", ch))
			return 0;
		return lex_fail(c, at, "unknown escape after '\\': ", ch);
	case LX_UHEX:
		r = schema_hex_value((char)ch);
		if (r < 0)
			return lex_fail(
			    c, at, "\\u must have four hex digits; found ", ch);
		c->hex_v = c->hex_v << 4 | (unsigned)r;
		if (++c->hex_n < 4)
			return 0;
		c->st = LX_STRING;
		if (c->want_low) {
			if (c->hex_v < 0xdc00 || c->hex_v > 0xdfff)
				goto lone;
			c->want_low = 0;
			c->pair_cp = 0x10000 + ((c->pair_hi - 0xd800) << 10) +
				     (c->hex_v - 0xdc00);
			c->pair_done = 1;
		} else if (c->hex_v >= 0xd800 && c->hex_v <= 0xdbff) {
			c->want_low = 1;
			c->pair_hi = c->hex_v;
			c->pair_at = c->esc_at;
		} else if (c->hex_v >= 0xdc00 && c->hex_v <= 0xdfff) {
			goto lone;
		} else if (c->hex_v == 0) {
			c->str_nul = 1;
		}
		return 0;
	case LX_NUMBER:
		r = num_byte(c, ch, at);
		if (r < 0)
			return -r;
		if (r)
			return 0;
		c->st = LX_TOKEN;
		goto again;
	case LX_WORD:
		if (ch != (uint8_t)c->word[c->word_at])
			return lex_fail(c, at, "unexpected ", ch);
		if (c->word[++c->word_at] == '\0')
			c->st = LX_TOKEN;
		return 0;
	case LX_AFTER:
		if (is_ws(ch))
			return 0;
		return lex_fail(
		    c, at, "only whitespace may follow the object; found ", ch);
	case LX_FAILED:
		return EINVAL;
	}
	return EINVAL;
lone:
	return lex_fail(c, at,
			"a surrogate \\u escape must come as a high-low pair",
			NO_BYTE);
}

/*
 * Give json-c the bytes the lexer has passed.  Returns 0, or EINVAL with
 * c->failure set when json-c finds the grammar broken.
 */
static int tokener_feed(struct schema_check *c, const char *p, size_t n,
			size_t at)
{
	struct json_object *obj;
	enum json_tokener_error e;

	while (n) {
		/* json_tokener_parse_ex() takes an int. */
		int piece = n > INT_MAX / 2 ? INT_MAX / 2 : (int)n;

		obj = json_tokener_parse_ex(c->tok, p, piece);
		e = json_tokener_get_error(c->tok);
		if (obj) {
			c->parsed = 1;
			if (c->keep &&
			    (!c->keep_max || at + (size_t)piece <= c->keep_max))
				c->obj = obj;
			else
				json_object_put(obj);
			return 0;
		}
		if (e != json_tokener_continue) {
			c->st = LX_FAILED;
			return schema_fail(
			    &c->failure, EINVAL, "bad JSON at byte %zu: %s",
			    at + json_tokener_get_parse_end(c->tok) + 1,
			    json_tokener_error_desc(e));
		}
		p += piece;
		at += (size_t)piece;
		n -= (size_t)piece;
	}
	return 0;
}

/*
 * Whether the lexer is inside a surrogate pair, or an escape that may begin
 * one: those bytes wait, since json-c is to get the pair's character instead.
 */
static int in_pair(const struct schema_check *c)
{
	return c->want_low || c->st == LX_ESCAPE || c->st == LX_UHEX;
}

/* Feed json-c buf[*from..to) (to, from: indexes into buf), as it is. */
static int feed_to(struct schema_check *c, const char *buf, size_t *from,
		   size_t to)
{
	int rc = 0;

	if (to > *from)
		rc = tokener_feed(c, buf + *from, to - *from, c->fed + *from);
	*from = to;
	return rc;
}

/*
 * A pair ended at buf[i]: feed json-c what comes before it, then its
 * character as UTF-8 in place of its twelve bytes (some of which a write
 * before may have left held).
 */
static int feed_pair(struct schema_check *c, const char *buf, size_t *from,
		     size_t i)
{
	char u[4];
	size_t n = schema_utf8_put(c->pair_cp, u);
	int rc = 0;

	c->pair_done = 0;
	if (c->nheld)
		c->nheld = 0; /* the pair began in a write before */
	else
		rc = feed_to(c, buf, from, c->pair_at - c->fed);
	if (!rc)
		rc = tokener_feed(c, u, n, c->pair_at);
	*from = i + 1;
	return rc;
}

int schema_check_feed(struct schema_check *c, const char *buf, size_t len,
		      struct schema_err *err)
{
	size_t i, from = 0; /* buf[from..] is not yet json-c's */
	int lex_rc = 0, rc = 0;

	if (c->st == LX_FAILED)
		goto failed;
	/*
	 * json-c sees what the lexer passed (up to the object's last byte, or
	 * to the byte the lexer refused), so a grammar error it finds earlier
	 * is the one reported.
	 */
	for (i = 0; i < len && c->st != LX_AFTER; i++) {
		lex_rc = lex_byte(c, (uint8_t)buf[i], c->fed + i);
		if (lex_rc)
			break;
		if (c->pair_done) {
			rc = feed_pair(c, buf, &from, i);
		} else if (c->nheld && !in_pair(c)) {
			/* what was held was an escape of another kind */
			rc = tokener_feed(c, c->held, c->nheld, c->held_at);
			c->nheld = 0;
		}
		if (rc)
			goto failed;
	}
	if (!lex_rc && in_pair(c)) {
		/* hold the pair's bytes so far for the next write */
		size_t hold = (c->want_low ? c->pair_at : c->esc_at);

		hold = hold > c->fed + from ? hold - c->fed : from;
		rc = feed_to(c, buf, &from, hold);
		if (rc)
			goto failed;
		if (!c->nheld)
			c->held_at = c->fed + from;
		if (c->nheld + (i - from) > sizeof(c->held))
			goto broken; /* a pair is 12 bytes */
		memcpy(c->held + c->nheld, buf + from, i - from);
		c->nheld += i - from;
		from = i;
	}
	rc = feed_to(c, buf, &from, i);
	if (rc)
		goto failed;
	if (lex_rc)
		goto failed;
	/* The two readers agree on where the object ends, or we stop. */
	if (c->parsed != (c->st == LX_AFTER))
		goto broken;
	/* After the object: only whitespace, which the lexer checks. */
	for (; i < len; i++)
		if (lex_byte(c, (uint8_t)buf[i], c->fed + i))
			goto failed;
	c->fed += len;
	return 0;
broken:
	/* The lexer and json-c disagree: never expected. */
	c->st = LX_FAILED;
	schema_fail(&c->failure, EINVAL, "bad JSON at byte %zu", c->fed + i);
failed:
	if (err)
		*err = c->failure;
	return EINVAL;
}

/* ---- the canonical text ---------------------------------------------- */

static int put(struct schema_text *t, const char *s, size_t n)
{
	if (n > SCHEMA_RECORD_MAX - t->len)
		return EFBIG;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		char *b;

		while (cap < t->len + n + 1)
			cap *= 2;
		if (cap > SCHEMA_RECORD_MAX + 1)
			cap = SCHEMA_RECORD_MAX + 1;
		b = realloc(t->buf, cap);
		if (!b)
			return ENOMEM;
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return 0;
}

static int put_indent(struct schema_text *t, size_t depth)
{
	static const char spaces[] = "                                ";
	size_t n = 2 * depth;
	int rc = 0;

	while (n && !rc) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		rc = put(t, spaces, k);
		n -= k;
	}
	return rc;
}

/*
 * n bytes of s as a JSON string, escaped exactly as json-c escapes string
 * values with JSON_C_TO_STRING_NOSLASHESCAPE, so names and values read
 * alike (the unit test holds the two to that).
 */
static int put_str(struct schema_text *t, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s, *end = s + n;
	char esc[7];
	int rc = put(t, "\"", 1);

	for (; !rc && s < end; s++) {
		unsigned char ch = (unsigned char)*s;
		const char *e = NULL;

		switch (ch) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			if (ch >= 0x20)
				continue;
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xf];
			esc[6] = '\0';
			e = esc;
		}
		rc = put(t, run, (size_t)(s - run));
		if (!rc)
			rc = put(t, e, strlen(e));
		run = s + 1;
	}
	if (!rc)
		rc = put(t, run, (size_t)(s - run));
	if (!rc)
		rc = put(t, "\"", 1);
	return rc;
}

static int put_name(struct schema_text *t, const char *s)
{
	return put_str(t, s, strlen(s));
}

/* One "name": value line of an object; *first says whether a comma goes. */
static int put_member(struct schema_text *t, const char *name,
		      struct json_object *v, size_t depth, int *first)
{
	int rc = put(t, *first ? "\n" : ",\n", *first ? 1 : 2);

	*first = 0;
	if (!rc)
		rc = put_indent(t, depth);
	if (!rc)
		rc = put_name(t, name);
	if (!rc)
		rc = put(t, ": ", 2);
	if (!rc)
		rc = schema_put_value(t, v, depth);
	return rc;
}

static int put_close(struct schema_text *t, size_t depth, const char *close)
{
	int rc = put(t, "\n", 1);

	if (!rc)
		rc = put_indent(t, depth);
	if (!rc)
		rc = put(t, close, 1);
	return rc;
}

static int put_object(struct schema_text *t, struct json_object *v,
		      size_t depth)
{
	int rc, first = 1;

	if (json_object_object_length(v) == 0)
		return put(t, "{}", 2);
	rc = put(t, "{", 1);
	json_object_object_foreach(v, name, m)
	{
		if (rc)
			break;
		rc = put_member(t, name, m, depth + 1, &first);
	}
	return rc ? rc : put_close(t, depth, "}");
}

/*
 * Recursion is bounded by the tokener's depth limit
 * (JSON_TOKENER_DEFAULT_DEPTH), which every body has passed.
 */
int schema_put_value(struct schema_text *t, struct json_object *v, size_t depth)
{
	const char *s;
	size_t i, n;
	int rc = 0;

	switch (json_object_get_type(v)) {
	case json_type_object:
		return put_object(t, v, depth);
	case json_type_array:
		n = json_object_array_length(v);
		if (n == 0)
			return put(t, "[]", 2);
		rc = put(t, "[", 1);
		for (i = 0; i < n && !rc; i++) {
			rc = put(t, i ? ",\n" : "\n", i ? 2 : 1);
			if (!rc)
				rc = put_indent(t, depth + 1);
			if (!rc)
				rc = schema_put_value(
				    t, json_object_array_get_idx(v, i),
				    depth + 1);
		}
		return rc ? rc : put_close(t, depth, "]");
	case json_type_null:
		return put(t, "null", 4);
	default:
		/* json-c keeps a parsed number's own text and prints that. */
		s = json_object_to_json_string_length(v, SCALAR_FLAGS, &n);
		if (!s)
			return ENOMEM;
		return put(t, s, n);
	}
}

static int is_time_attr(const char *name)
{
	return strcmp(name, SCHEMA_CREATED) == 0 ||
	       strcmp(name, SCHEMA_UPDATED) == 0;
}

/* The record: key first, then the rest as written, then the times. */
int schema_put_record(struct schema_text *t, struct json_object *obj,
		      const char *pk, int dynamic)
{
	static const char *const times[] = {SCHEMA_CREATED, SCHEMA_UPDATED};
	struct json_object *v;
	size_t i;
	int rc, first = 1;

	rc = put(t, "{", 1);
	if (!rc && json_object_object_get_ex(obj, pk, &v))
		rc = put_member(t, pk, v, 1, &first);
	json_object_object_foreach(obj, name, m)
	{
		if (rc)
			break;
		if (strcmp(name, pk) == 0 || (dynamic && is_time_attr(name)))
			continue;
		rc = put_member(t, name, m, 1, &first);
	}
	for (i = 0; dynamic && !rc && i < 2; i++)
		if (strcmp(times[i], pk) &&
		    json_object_object_get_ex(obj, times[i], &v))
			rc = put_member(t, times[i], v, 1, &first);
	if (!rc)
		rc = first ? put(t, "}\n", 2) : put(t, "\n}\n", 3);
	return rc;
}

/* ---- preparing a record ---------------------------------------------- */

/*
 * v as an int64_t, if it is a JSON integer that fits.  json-c holds
 * integers past INT64_MAX as uint64 and json_object_get_int64() clamps
 * them, so a clamped INT64_MAX is told apart through the uint64 view.
 */
static int int64_of(struct json_object *v, int64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return 0;
	*out = json_object_get_int64(v);
	return *out != INT64_MAX || json_object_get_uint64(v) == INT64_MAX;
}

/* JSON text of a key, for messages; s is a json-c string to put. */
static struct json_object *key_json(const struct schema_key *key)
{
	if (key->type == SCHEMA_KEY_INT)
		return json_object_new_int64(key->i);
	return json_object_new_string_len(key->s, (int)key->len);
}

static int key_valid(const struct schema_key *key, struct schema_err *err)
{
	if (key->type == SCHEMA_KEY_INT)
		return 0;
	if (key->type != SCHEMA_KEY_STR)
		return schema_fail(err, EINVAL,
				   "a key is a string or an integer");
	if (key->len == 0)
		return schema_fail(err, EINVAL,
				   "the empty string cannot be a key");
	if (key->len > SCHEMA_KEY_MAX)
		return schema_fail(err, EINVAL, "a key is at most %d bytes",
				   SCHEMA_KEY_MAX);
	if (!schema_utf8_valid(key->s, key->len))
		return schema_fail(err, EINVAL, "a key must be valid UTF-8");
	return 0;
}

static int key_matches(struct json_object *v, const struct schema_key *key)
{
	int64_t i;

	if (key->type == SCHEMA_KEY_INT)
		return int64_of(v, &i) && i == key->i;
	return json_object_is_type(v, json_type_string) &&
	       (size_t)json_object_get_string_len(v) == key->len &&
	       memcmp(json_object_get_string(v), key->s, key->len) == 0;
}

/* The body's key must be the name's; a body without one takes it. */
static int key_attr(struct json_object *obj, const struct schema_key *key,
		    const char *pk, struct schema_err *err)
{
	struct json_object *v, *k;
	const char *vs, *ks;
	int rc;

	if (json_object_object_get_ex(obj, pk, &v)) {
		if (key_matches(v, key))
			return 0;
		k = key_json(key);
		if (!k)
			return ENOMEM;
		vs = v ? json_object_to_json_string_ext(v, SCALAR_FLAGS)
		       : "null";
		ks = json_object_to_json_string_ext(k, SCALAR_FLAGS);
		rc = schema_fail(
		    err, EINVAL,
		    "attribute \"%s\" is %.200s but the file name says %.200s",
		    pk, vs ? vs : "?", ks ? ks : "?");
		json_object_put(k);
		return rc;
	}
	k = key_json(key);
	if (!k)
		return ENOMEM;
	if (json_object_object_add(obj, pk, k)) {
		json_object_put(k);
		return ENOMEM;
	}
	return 0;
}

/*
 * The creation time a replaced record carries, if any.  A stored record
 * that does not parse is not the writer's fault, and a write is how it gets
 * fixed, so it counts as having no time rather than refusing.
 */
static int old_created(const char *old, size_t oldlen, int64_t *created)
{
	struct schema_check c;
	struct json_object *v;
	int found = schema_text_int_attr(old, oldlen, SCHEMA_CREATED, created);

	if (found != ENOTSUP)
		return found; /* read without json-c */
	found = 0;
	if (check_init(&c, 1))
		return 0;
	if (schema_check_feed(&c, old, oldlen, NULL) == 0 && c.obj &&
	    json_object_object_get_ex(c.obj, SCHEMA_CREATED, &v))
		found = int64_of(v, created);
	check_fini(&c);
	return found;
}

static int set_int(struct json_object *obj, const char *name, int64_t value)
{
	struct json_object *v = json_object_new_int64(value);

	if (!v)
		return ENOMEM;
	if (json_object_object_add(obj, name, v)) {
		json_object_put(v);
		return ENOMEM;
	}
	return 0;
}

/* ---- plain bodies, without json-c ------------------------------------ */

/*
 * Most bodies are one flat object of strings without escapes, integers,
 * true, false and null: what `echo` and scripts write.  json-c would print
 * each such value as it was written, so the canonical text of such a body
 * is its own bytes in the canonical layout, made in one pass without
 * json-c's objects.  Anything else is EAGAIN and goes the long way, which
 * also says what is wrong: nesting, an escape, a fraction or exponent, an
 * integer of more than 18 digits or "-0", an empty or repeated name, a
 * time attribute in a dynamic table's body, a key that disagrees with the
 * name, bad JSON, a body past SCHEMA_CHECK_KEEP_MAX.  test_schema holds the
 * two ways to the same text.
 */
#define PLAIN_MEMBERS 64

struct plain_member {
	const char *name, *val;
	size_t nlen, vlen;
	int is_int;
	int64_t i;
};

static const char *plain_ws(const char *p, const char *end)
{
	while (p < end && is_ws((unsigned char)*p))
		p++;
	return p;
}

/* From just after a string's quote: its closing quote, or NULL. */
static const char *plain_string(const char *p, const char *end)
{
	const char *s = p;
	int high = 0;

	for (; p < end; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '"')
			return !high || schema_utf8_valid(s, (size_t)(p - s))
				   ? p
				   : NULL;
		if (ch == '\\' || ch < 0x20)
			return NULL;
		high |= ch >= 0x80;
	}
	return NULL;
}

/* An integer json-c prints as written: its end, or NULL. */
static const char *plain_int(const char *p, const char *end, int64_t *v)
{
	int neg = p < end && *p == '-';
	const char *d = p + neg, *e = d;
	int64_t m = 0;

	while (e < end && *e >= '0' && *e <= '9')
		e++;
	/* "0" alone, no "-0", no leading zero, at most 18 digits */
	if (e == d || e - d > 18 || (*d == '0' && (neg || e - d > 1)))
		return NULL;
	if (e < end && (*e == '.' || *e == 'e' || *e == 'E'))
		return NULL;
	for (; d < e; d++)
		m = m * 10 + (*d - '0');
	*v = neg ? -m : m;
	return e;
}

static const char *plain_word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(end - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

static int plain_is(const struct plain_member *m, const char *s)
{
	return m->nlen == strlen(s) && memcmp(m->name, s, m->nlen) == 0;
}

/* The members of a plain body, or EAGAIN. */
static int plain_parse(const char *body, size_t len, struct plain_member *m,
		       size_t *n)
{
	const char *p, *q, *end = body + len;
	size_t k = 0, i;

	p = plain_ws(body, end);
	if (p == end || *p != '{')
		return EAGAIN;
	p = plain_ws(p + 1, end);
	if (p < end && *p == '}')
		goto done;
	for (;; k++) {
		if (k == PLAIN_MEMBERS || p == end || *p != '"')
			return EAGAIN;
		q = plain_string(p + 1, end);
		if (!q || q == p + 1)
			return EAGAIN;
		m[k].name = p + 1;
		m[k].nlen = (size_t)(q - p - 1);
		for (i = 0; i < k; i++)
			if (m[i].nlen == m[k].nlen &&
			    memcmp(m[i].name, m[k].name, m[k].nlen) == 0)
				return EAGAIN;
		p = plain_ws(q + 1, end);
		if (p == end || *p != ':')
			return EAGAIN;
		p = plain_ws(p + 1, end);
		if (p == end)
			return EAGAIN;
		m[k].is_int = 0;
		if (*p == '"') {
			q = plain_string(p + 1, end);
			q = q ? q + 1 : NULL;
		} else if (*p == 't') {
			q = plain_word(p, end, "true");
		} else if (*p == 'f') {
			q = plain_word(p, end, "false");
		} else if (*p == 'n') {
			q = plain_word(p, end, "null");
		} else {
			q = plain_int(p, end, &m[k].i);
			m[k].is_int = 1;
		}
		if (!q)
			return EAGAIN;
		m[k].val = p;
		m[k].vlen = (size_t)(q - p);
		p = plain_ws(q, end);
		if (p < end && *p == ',') {
			p = plain_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}') {
			k++;
			break;
		}
		return EAGAIN;
	}
done:
	if (plain_ws(p + 1, end) != end)
		return EAGAIN;
	*n = k;
	return 0;
}

int schema_plain_key(const char *body, size_t len, const char *pk,
		     struct schema_key *key, int *has_key)
{
	struct plain_member m[PLAIN_MEMBERS];
	size_t n, i;

	if (plain_parse(body, len, m, &n))
		return EAGAIN;
	*has_key = 0;
	for (i = 0; i < n; i++) {
		if (!plain_is(&m[i], pk))
			continue;
		if (m[i].is_int) {
			key->type = SCHEMA_KEY_INT;
			key->i = m[i].i;
		} else if (m[i].val[0] == '"') {
			key->type = SCHEMA_KEY_STR;
			key->s = m[i].val + 1;
			key->len = m[i].vlen - 2;
		} else {
			return EAGAIN; /* true, false, null: json-c words it */
		}
		*has_key = 1;
	}
	return 0;
}

/* Whether a plain member pk holds key (a string's bytes, or an integer). */
static int plain_key(const struct plain_member *m, const struct schema_key *key)
{
	if (key->type == SCHEMA_KEY_INT)
		return m->is_int && m->i == key->i;
	return m->vlen == key->len + 2 && m->val[0] == '"' &&
	       memcmp(m->val + 1, key->s, key->len) == 0;
}

/*
 * schema_record_prepare() for a plain body, key_valid() already passed:
 * 0 with the text in *out (or only the answer, out NULL), EAGAIN for a body
 * that is not plain, ENOMEM.
 */
static int record_plain(const char *body, size_t len,
			const struct schema_key *key, const char *pk,
			const char *old, size_t oldlen, int64_t now_ms,
			int dynamic, char **out, size_t *outlen)
{
	struct plain_member m[PLAIN_MEMBERS];
	struct schema_text t = {0};
	const struct plain_member *km = NULL;
	int64_t created = now_ms;
	char num[128];
	size_t n, i;
	int rc;

	if (len > SCHEMA_CHECK_KEEP_MAX || (dynamic && is_time_attr(pk)) ||
	    plain_parse(body, len, m, &n))
		return EAGAIN;
	for (i = 0; i < n; i++) {
		if (dynamic && (plain_is(&m[i], SCHEMA_CREATED) ||
				plain_is(&m[i], SCHEMA_UPDATED)))
			return EAGAIN;
		if (plain_is(&m[i], pk)) {
			if (!plain_key(&m[i], key))
				return EAGAIN;
			km = &m[i];
		}
	}
	if (!out)
		return 0;
	rc = put(&t, "{\n  ", 4);
	if (!rc)
		rc = put_name(&t, pk);
	if (!rc)
		rc = put(&t, ": ", 2);
	if (!rc && km)
		rc = put(&t, km->val, km->vlen);
	else if (!rc && key->type == SCHEMA_KEY_INT)
		rc =
		    put(&t, num,
			(size_t)snprintf(num, sizeof(num), "%" PRId64, key->i));
	else if (!rc)
		rc = put_str(&t, key->s, key->len);
	for (i = 0; i < n && !rc; i++) {
		if (&m[i] == km)
			continue;
		/* a plain name needs no escape */
		rc = put(&t, ",\n  \"", 5);
		if (!rc)
			rc = put(&t, m[i].name, m[i].nlen);
		if (!rc)
			rc = put(&t, "\": ", 3);
		if (!rc)
			rc = put(&t, m[i].val, m[i].vlen);
	}
	if (!rc && dynamic) {
		if (old)
			(void)old_created(old, oldlen, &created);
		rc = put(
		    &t, num,
		    (size_t)snprintf(num, sizeof(num),
				     ",\n  \"" SCHEMA_CREATED "\": %" PRId64
				     ",\n  \"" SCHEMA_UPDATED "\": %" PRId64,
				     created, now_ms));
	}
	if (!rc)
		rc = put(&t, "\n}\n", 3);
	if (rc) {
		free(t.buf);
		return rc;
	}
	*out = t.buf;
	*outlen = t.len;
	return 0;
}

int schema_record_plain(const char *body, size_t len,
			const struct schema_key *key, const char *pk,
			int dynamic)
{
	if (key_valid(key, NULL))
		return EAGAIN;
	return record_plain(body, len, key, pk, NULL, 0, 0, dynamic, NULL,
			    NULL);
}

static int prepare_obj(struct json_object *obj, const struct schema_key *key,
		       const char *pk, const char *old, size_t oldlen,
		       int64_t now_ms, int dynamic, char **out, size_t *outlen,
		       struct schema_err *err);

int schema_record_prepare(const char *body, size_t len,
			  const struct schema_key *key, const char *pk,
			  const char *old, size_t oldlen, int64_t now_ms,
			  int dynamic, char **out, size_t *outlen,
			  struct schema_err *err)
{
	struct schema_check c;
	struct json_object *obj = NULL;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (len > SCHEMA_RECORD_MAX)
		return schema_fail(err, EFBIG, "a record is at most %u bytes",
				   SCHEMA_RECORD_MAX);
	rc = key_valid(key, err);
	if (rc)
		return rc;
	rc = record_plain(body, len, key, pk, old, oldlen, now_ms, dynamic, out,
			  outlen);
	if (rc != EAGAIN)
		return rc;
	rc = check_init(&c, 1);
	if (rc)
		return rc;
	rc = schema_check_feed(&c, body, len, err);
	if (rc)
		goto out;
	if (c.st == LX_START) {
		/* Nothing but whitespace: a record holding only its key. */
		obj = json_object_new_object();
		if (!obj) {
			rc = ENOMEM;
			goto out;
		}
	} else if (c.st != LX_AFTER) {
		rc = schema_fail(
		    err, EINVAL,
		    "the JSON text ends before its object is closed");
		goto out;
	} else {
		obj = c.obj;
		c.obj = NULL;
	}

	rc = prepare_obj(obj, key, pk, old, oldlen, now_ms, dynamic, out,
			 outlen, err);
	obj = NULL;
out:
	json_object_put(obj);
	check_fini(&c);
	return rc;
}

int schema_parse_object(const char *text, size_t len, struct json_object **out,
			struct schema_err *err)
{
	struct schema_check c;
	int rc;

	*out = NULL;
	rc = check_init(&c, 1);
	if (rc)
		return rc;
	rc = schema_check_feed(&c, text, len, err);
	if (rc)
		goto out;
	if (c.st != LX_AFTER) {
		rc = schema_fail(err, EINVAL,
				 c.st == LX_START
				     ? "no JSON object"
				     : "the JSON text ends before its object "
				       "is closed");
		goto out;
	}
	*out = c.obj;
	c.obj = NULL;
out:
	check_fini(&c);
	return rc;
}

/* The rest of schema_record_prepare() once the body is the object obj,
 * which it takes. */
static int prepare_obj(struct json_object *obj, const struct schema_key *key,
		       const char *pk, const char *old, size_t oldlen,
		       int64_t now_ms, int dynamic, char **out, size_t *outlen,
		       struct schema_err *err)
{
	struct json_object *v;
	int64_t created = now_ms, body_created, updated = now_ms, body_updated;
	int rc = key_attr(obj, key, pk, err);
	if (rc)
		goto out;
	if (dynamic) {
		/*
		 * The replaced record's time wins over whatever the body
		 * says (sed -i carries it back unchanged, or a stale copy
		 * carries a wrong one); a new record may bring its own
		 * creation time, and with it its last update's (not before
		 * it), as a restored backup does.
		 */
		if (!(old && old_created(old, oldlen, &created)) &&
		    json_object_object_get_ex(obj, SCHEMA_CREATED, &v) &&
		    int64_of(v, &body_created)) {
			created = body_created;
			if (json_object_object_get_ex(obj, SCHEMA_UPDATED,
						      &v) &&
			    int64_of(v, &body_updated) &&
			    body_updated >= created)
				updated = body_updated;
		}
		rc = set_int(obj, SCHEMA_CREATED, created);
		if (!rc)
			rc = set_int(obj, SCHEMA_UPDATED, updated);
		if (rc)
			goto out;
	}

	rc = schema_record_text(obj, pk, dynamic, out, outlen, err);
out:
	json_object_put(obj);
	return rc;
}

int schema_record_prepare_checked(struct schema_check *c,
				  const struct schema_key *key, const char *pk,
				  const char *old, size_t oldlen,
				  int64_t now_ms, int dynamic, char **out,
				  size_t *outlen, struct schema_err *err)
{
	struct json_object *obj;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (c->st != LX_AFTER || !c->obj)
		return EAGAIN;
	obj = c->obj;
	c->obj = NULL;
	rc = key_valid(key, err);
	if (rc) {
		json_object_put(obj);
		return rc;
	}
	return prepare_obj(obj, key, pk, old, oldlen, now_ms, dynamic, out,
			   outlen, err);
}

int schema_check_key(const struct schema_check *c, const struct schema_key *key,
		     const char *pk, struct schema_err *err)
{
	struct json_object *v, *k;
	const char *vs, *ks;
	int rc;

	if (c->st != LX_AFTER || !c->obj)
		return EAGAIN;
	rc = key_valid(key, err);
	if (rc || !json_object_object_get_ex(c->obj, pk, &v) ||
	    key_matches(v, key))
		return rc;
	k = key_json(key);
	if (!k)
		return ENOMEM;
	vs = v ? json_object_to_json_string_ext(v, SCALAR_FLAGS) : "null";
	ks = json_object_to_json_string_ext(k, SCALAR_FLAGS);
	rc = schema_fail(
	    err, EINVAL,
	    "attribute \"%s\" is %.200s but the file name says %.200s", pk,
	    vs ? vs : "?", ks ? ks : "?");
	json_object_put(k);
	return rc;
}

int schema_record_text(struct json_object *obj, const char *pk, int dynamic,
		       char **out, size_t *outlen, struct schema_err *err)
{
	struct schema_text t = {0};
	int rc = schema_put_record(&t, obj, pk, dynamic);

	if (rc == EFBIG)
		rc = schema_fail(
		    err, EFBIG,
		    "the record's canonical text would pass %u bytes",
		    SCHEMA_RECORD_MAX);
	if (rc) {
		free(t.buf);
		return rc;
	}
	*out = t.buf;
	*outlen = t.len;
	return 0;
}

size_t schema_compact(const char *canon, size_t len, char *out)
{
	const char *p = canon, *end = canon + len;
	size_t o = 0;

	if (!out) {
		/* the length only: the same walk, writing nothing */
		while (p < end) {
			char ch = *p++;
			if (ch == '"') {
				o++;
				while (p < end && *p != '"') {
					if (*p == '\\' && p + 1 < end) {
						p++;
						o++;
					}
					p++;
					o++;
				}
				if (p < end) {
					p++;
					o++;
				}
			} else if (!is_ws(ch)) {
				o++;
			}
		}
		return o + 1;
	}
	/* a string is copied as it is scanned, up to its next quote or
	 * escape: most are short, and a call to copy each costs more */
	while (p < end) {
		char ch = *p++;
		if (ch == '"') {
			out[o++] = ch;
			for (;;) {
				while (p < end && *p != '"' && *p != '\\')
					out[o++] = *p++;
				if (p >= end)
					break;
				if (*p == '\\') {
					out[o++] = *p++;
					if (p < end)
						out[o++] = *p++;
					continue;
				}
				out[o++] = *p++; /* the closing quote */
				break;
			}
		} else if (!is_ws(ch)) {
			out[o++] = ch;
		}
	}
	out[o] = '\n';
	return o + 1;
}
