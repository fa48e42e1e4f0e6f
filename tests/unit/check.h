/*
 * check.h: what the unit tests of schema/ share.  Each test file is a
 * plain program: a failing check prints its file:line, main() prints
 * "N passed, N failed" last and exits non-zero when anything failed.
 *
 * CHECK_STR is each file's own: NUL-terminated strings in some, byte
 * strings with a length (through CHECK_MEM) in others.
 */
#ifndef RECORDFS_TESTS_CHECK_H
#define RECORDFS_TESTS_CHECK_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int n_pass, n_fail;

static void check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), unused));

static void check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		n_pass++;
		return;
	}
	n_fail++;
	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define CHECK(c) check(!!(c), __FILE__, __LINE__, "CHECK(%s) failed", #c)
#define CHECK_INT(a, b)                                                        \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		check(a_ == b_, __FILE__, __LINE__,                            \
		      "%s == %lld, expected %lld", #a, a_, b_);                \
	} while (0)

/* Byte strings; shown with C escapes when they differ. */
#define CHECK_MEM(a, alen, b, blen)                                            \
	check_mem((a), (alen), (b), (blen), #a, __FILE__, __LINE__)

static inline void quote(FILE *f, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '\n')
			fputs("\\n", f);
		else if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static inline void check_mem(const void *a, size_t alen, const void *b,
			     size_t blen, const char *what, const char *file,
			     int line)
{
	if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) {
		n_pass++;
		return;
	}
	n_fail++;
	fprintf(stderr, "%s:%d: %s is\n  ", file, line, what);
	quote(stderr, a, alen);
	fprintf(stderr, "\nexpected\n  ");
	quote(stderr, b, blen);
	fputc('\n', stderr);
}

/*
 * A deterministic generator, so a failure can be rerun as it was.  A file
 * may start it elsewhere by setting rng_state in main().  A statement
 * draws at most once (or only across a sequence point: ?:, &&, ||): C
 * leaves open which operand or argument is evaluated first, and builds
 * with other flags would otherwise draw different data.
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static inline size_t rnd_below(size_t n)
{
	return (size_t)(rnd() % n);
}

/* A text the fuzz loops build piece by piece; a piece that would not fit
 * is left out.  NUL-terminated. */
struct buf {
	char s[8192];
	size_t len;
};

static inline void add(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n < sizeof(b->s)) {
		memcpy(b->s + b->len, s, n);
		b->len += n;
		b->s[b->len] = '\0';
	}
}

/* The last line, and the exit status. */
static inline int checks_done(void)
{
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}

#endif
