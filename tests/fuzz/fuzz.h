/*
 * fuzz.h: what the libFuzzer targets of tests/fuzz/ share.
 *
 * A target calls schema/ as the daemon does and REQUIREs what schema.h
 * promises.  A violated promise prints the condition and its line, then
 * abort()s, so libFuzzer reports it like a crash and saves the input.
 */
#ifndef RECORDFS_TESTS_FUZZ_H
#define RECORDFS_TESTS_FUZZ_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void violated(const char *what, const char *file, int line)
    __attribute__((noreturn, unused));

static void violated(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
	abort();
}

#define REQUIRE(c) ((c) ? (void)0 : violated(#c, __FILE__, __LINE__))

/* Whether a[0..alen) and b[0..blen) are the same bytes. */
static inline int same(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/*
 * An ordered value: its bytes end where schema_value_len() says, its
 * name is a value name (no "..", no leading '.', no '/' or NUL) and reads
 * back as the value, or, hashed, as bytes the value begins with.
 */
static inline void check_value(const uint8_t *val, size_t vlen)
{
	char name[SCHEMA_NAME_MAX + 1];
	uint8_t back[SCHEMA_VALUE_MAX];
	size_t nl, bl = 0;
	int rc;

	REQUIRE(vlen > 0 && vlen <= SCHEMA_VALUE_MAX);
	REQUIRE(schema_value_len(val, vlen) == vlen);
	nl = schema_value_to_name(val, vlen, name);
	REQUIRE(nl > 0 && nl <= SCHEMA_NAME_MAX && name[nl] == '\0');
	REQUIRE(strlen(name) == nl);
	REQUIRE(name[0] != '.' && !strstr(name, "..") && !strchr(name, '/'));
	rc = schema_name_to_value(name, nl, back, &bl, NULL);
	if (rc == EAGAIN) {
		REQUIRE(strstr(name, "%~"));
		REQUIRE(bl <= vlen && memcmp(back, val, bl) == 0);
	} else {
		REQUIRE(rc == 0);
		REQUIRE(same(back, bl, val, vlen));
	}
}

#endif
