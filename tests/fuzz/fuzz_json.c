/*
 * fuzz_json.c: libFuzzer target for the JSON reader of schema/record.c and
 * the canonical text it makes, read again by entries.c (json-c) and
 * scan.c (without).
 *
 * The first input byte steers, the rest is a record body.  The body goes
 * to two checks: one fed in pieces (sizes drawn from the first byte, so a
 * character or an escape straddles two writes), one fed whole; both must
 * give the same verdict.  Then schema_record_prepare() on the whole body
 * with an integer key and a string key, and schema_record_prepare_checked()
 * on the checks, which must give the same result.  When a canonical text
 * results, it must read back as itself (also from its compact form), and
 * its index entries from the scanner must be json-c's, byte for byte,
 * unless the scanner gives up.  Every value name must read back as its
 * value.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#include "fuzz.h"

#define NOW_MS 1767225600000LL /* 2026-01-01 */

/* ---- the index entries, as bytes to compare --------------------------- */

struct calls {
	unsigned char *p;
	size_t len, cap;
	size_t n;
};

static void calls_put(struct calls *c, const void *s, size_t n)
{
	if (c->cap - c->len < n) {
		size_t cap = c->cap ? c->cap : 1024;

		while (cap - c->len < n)
			cap *= 2;
		c->p = realloc(c->p, cap);
		REQUIRE(c->p);
		c->cap = cap;
	}
	memcpy(c->p + c->len, s, n);
	c->len += n;
}

static void calls_add(struct calls *c, const void *attr, size_t alen,
		      const void *val, size_t vlen)
{
	calls_put(c, &alen, sizeof(alen));
	calls_put(c, attr, alen);
	calls_put(c, &vlen, sizeof(vlen));
	calls_put(c, val, vlen);
	c->n++;
}

static int entry_json(const char *attr, size_t alen, const uint8_t *val,
		      size_t vlen, void *arg)
{
	REQUIRE(attr[alen] == '\0');
	check_value(val, vlen);
	calls_add(arg, attr, alen, val, vlen);
	return 0;
}

static int entry_quick(const char *attr, size_t alen, const uint8_t *val,
		       size_t vlen, void *arg)
{
	calls_add(arg, attr, alen, val, vlen);
	return 0;
}

static int entry_store(const void *attr, size_t alen, const void *val,
		       size_t vlen, void *arg)
{
	calls_add(arg, attr, alen, val, vlen);
	return 0;
}

/* ---- a canonical text ------------------------------------------------- */

/* The integer attribute name of text, or ENOTSUP: it must be want. */
static void check_int_attr(const char *text, size_t len, const char *name,
			   int present, int64_t want)
{
	int64_t v = 0;
	int rc = schema_text_int_attr(text, len, name, &v);

	if (rc == ENOTSUP)
		return;
	REQUIRE(rc == present);
	if (present)
		REQUIRE(v == want);
}

static void check_canon(const char *canon, size_t len,
			const struct schema_key *key, int dynamic)
{
	struct calls json = {0}, quick = {0}, store = {0}, storeq = {0};
	char *again = NULL, *compact;
	size_t againlen = 0, clen;
	int rc;

	REQUIRE(len >= 3 && canon[0] == '{' && canon[len - 1] == '\n');

	/* the canonical text of the canonical text is itself */
	rc = schema_record_prepare(canon, len, key, SCHEMA_PK, NULL, 0, NOW_MS,
				   dynamic, &again, &againlen, NULL);
	REQUIRE(rc == 0);
	REQUIRE(same(again, againlen, canon, len));
	free(again);

	/* and so is that of its one-line form */
	clen = schema_compact(canon, len, NULL);
	compact = malloc(clen);
	REQUIRE(compact);
	REQUIRE(schema_compact(canon, len, compact) == clen);
	REQUIRE(clen <= len && compact[clen - 1] == '\n');
	rc = schema_record_prepare(compact, clen, key, SCHEMA_PK, NULL, 0,
				   NOW_MS, dynamic, &again, &againlen, NULL);
	REQUIRE(rc == 0);
	REQUIRE(same(again, againlen, canon, len));
	free(again);
	free(compact);

	/* its index entries: the scanner gives json-c's, or gives up */
	rc = schema_index_entries(canon, len, SCHEMA_PK, entry_json, &json);
	REQUIRE(rc == 0);
	rc = schema_index_entries_quick(canon, len, SCHEMA_PK, entry_quick,
					&quick);
	if (rc == SCHEMA_QUICK_NO) {
		REQUIRE(quick.n == 0);
	} else {
		REQUIRE(rc == 0);
		REQUIRE(same(quick.p, quick.len, json.p, json.len));
	}
	rc = schema_table_store_entries(NULL, canon, len, entry_store, &store);
	REQUIRE(rc == 0);
	rc = schema_table_store_entries_quick(NULL, canon, len, entry_store,
					      &storeq);
	REQUIRE(rc == 0);
	REQUIRE(same(storeq.p, storeq.len, store.p, store.len));
	REQUIRE(store.n <= json.n);

	check_int_attr(canon, len, SCHEMA_PK, key->type == SCHEMA_KEY_INT,
		       key->i);
	if (dynamic) {
		/* a new record: the last update is now, or (a restored copy
		 * that brings its creation time) its own, not before that */
		int64_t c = 0, u = 0;
		int rc_c = schema_text_int_attr(canon, len, SCHEMA_CREATED, &c),
		    rc_u = schema_text_int_attr(canon, len, SCHEMA_UPDATED, &u);
		if (rc_c != ENOTSUP && rc_u != ENOTSUP) {
			REQUIRE(rc_c == 1 && rc_u == 1);
			REQUIRE(u == NOW_MS || u >= c);
		}
	}
	free(json.p);
	free(quick.p);
	free(store.p);
	free(storeq.p);
}

/* ---- the body --------------------------------------------------------- */

/* Feed body to c in pieces of sizes drawn from seed (0: whole). */
static int feed(struct schema_check *c, const char *body, size_t len,
		unsigned seed)
{
	struct schema_err err = {{0}};
	unsigned scale = seed & 7, r = seed * 2654435761u + 1;
	size_t at = 0, n;
	int rc = 0;

	while (at < len && !rc) {
		n = len - at;
		if (scale) {
			r = r * 1103515245u + 12345u;
			n = 1 + (r >> 16) % (1u << scale);
			if (n > len - at)
				n = len - at;
		}
		rc = schema_check_feed(c, body + at, n, &err);
		at += n;
	}
	REQUIRE(rc == 0 || rc == EINVAL || rc == ENOMEM);
	REQUIRE(rc != EINVAL || err.msg[0]);
	return rc;
}

static int all_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/*
 * One key: the body prepared whole, and from the object check c kept
 * (c_ok: c took the body without a refusal).
 */
static void one_key(const char *body, size_t len, struct schema_check *c,
		    int c_ok, const struct schema_key *key, int dynamic)
{
	struct schema_err err = {{0}}, err2 = {{0}};
	char *out = NULL, *out2 = NULL;
	size_t outlen = 0, out2len = 0;
	int rc, rc2, plain, ck = EAGAIN;

	plain = schema_record_plain(body, len, key, SCHEMA_PK, dynamic);
	REQUIRE(plain == 0 || plain == EAGAIN);
	rc = schema_record_prepare(body, len, key, SCHEMA_PK, NULL, 0, NOW_MS,
				   dynamic, &out, &outlen, &err);
	REQUIRE(rc == 0 || rc == EINVAL || rc == EFBIG || rc == ENOMEM);
	REQUIRE(rc == 0 || !out);
	REQUIRE(rc != EINVAL || err.msg[0]);
	if (plain == 0)
		REQUIRE(rc == 0);
	/* what prepare takes, the check took whole (or it was blank) */
	if (rc == 0)
		REQUIRE(all_space(body, len) || (c_ok && schema_check_done(c)));

	if (c_ok && schema_check_done(c)) {
		ck = schema_check_key(c, key, SCHEMA_PK, NULL);
		REQUIRE(ck == 0 || ck == EINVAL || ck == EAGAIN ||
			ck == ENOMEM);
		if (dynamic && ck == EINVAL)
			REQUIRE(rc == EINVAL);
		rc2 = schema_record_prepare_checked(c, key, SCHEMA_PK, NULL, 0,
						    NOW_MS, dynamic, &out2,
						    &out2len, &err2);
		if (rc2 != EAGAIN) {
			REQUIRE(ck != EAGAIN);
			REQUIRE(rc2 == rc);
			REQUIRE(rc != EINVAL || strcmp(err2.msg, err.msg) == 0);
			REQUIRE(rc || same(out2, out2len, out, outlen));
			free(out2);
			/* the object was taken */
			rc2 = schema_record_prepare_checked(
			    c, key, SCHEMA_PK, NULL, 0, NOW_MS, dynamic, &out2,
			    &out2len, NULL);
			REQUIRE(rc2 == EAGAIN && !out2);
		} else {
			REQUIRE(!out2);
		}
	}
	if (rc == 0)
		check_canon(out, outlen, key, dynamic);
	free(out);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct schema_key ikey = {.type = SCHEMA_KEY_INT, .i = 7};
	struct schema_key skey = {.type = SCHEMA_KEY_STR, .s = "k", .len = 1};
	struct schema_check *pieces, *whole;
	const char *body;
	size_t len;
	unsigned ctl;
	int rp, rw;

	if (size == 0)
		return 0;
	ctl = data[0];
	body = (const char *)data + 1;
	len = size - 1;

	pieces = schema_check_new();
	whole = schema_check_new();
	REQUIRE(pieces && whole);
	rp = feed(pieces, body, len, ctl);
	rw = feed(whole, body, len, 0);
	/* how the body is cut into writes changes nothing */
	REQUIRE((rp == 0) == (rw == 0));
	if (rp == 0)
		REQUIRE(schema_check_done(pieces) == schema_check_done(whole));

	one_key(body, len, pieces, rp == 0, &ikey, ctl >> 3 & 1);
	one_key(body, len, whole, rw == 0, &skey, ctl >> 4 & 1);
	schema_check_free(pieces);
	schema_check_free(whole);
	return 0;
}
