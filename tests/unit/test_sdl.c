/*
 * test_sdl: unit tests for schema/sdl.c, the GraphQL schema subset.  A plain
 * program: each failing check prints its file:line, the last line says
 * "N passed, N failed", and the exit status is non-zero when anything
 * failed.
 *
 * Error messages and canonical texts are written out literally, positions
 * counted by hand, so the tests do not check the parser against itself;
 * the round trips and the fuzz loops then check it against its printer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#include "check.h"

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		check(a_ &&strcmp(a_, b_) == 0, __FILE__, __LINE__,            \
		      "%s is\n  \"%s\"\nexpected\n  \"%s\"", #a,               \
		      a_ ? a_ : "(null)", b_);                                 \
	} while (0)

static int parse(const char *text, struct schema_doc *doc,
		 struct schema_err *err)
{
	return schema_sdl_parse(text, strlen(text), doc, err);
}

static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Equal except for positions, which a printed doc does not have. */
static int docs_equal(const struct schema_doc *a, const struct schema_doc *b)
{
	size_t i, j;

	if (a->ntables != b->ntables)
		return 0;
	for (i = 0; i < a->ntables; i++) {
		const struct schema_table *s = &a->tables[i],
					  *t = &b->tables[i];

		if (!str_eq(s->type_name, t->type_name) ||
		    !str_eq(s->table, t->table) ||
		    !str_eq(s->database, t->database) ||
		    s->sealed != t->sealed || s->nattrs != t->nattrs)
			return 0;
		for (j = 0; j < s->nattrs; j++) {
			const struct schema_attr *x = &s->attrs[j],
						 *y = &t->attrs[j];

			if (!str_eq(x->name, y->name) || x->type != y->type ||
			    x->list != y->list || x->required != y->required ||
			    x->elem_required != y->elem_required ||
			    x->pk != y->pk || x->indexed != y->indexed ||
			    x->created != y->created ||
			    x->updated != y->updated)
				return 0;
		}
	}
	return 1;
}

/*
 * print(doc) parses back to doc, and printing that gives the same bytes.
 * Returns 1 when both hold.
 */
static int round_trips(const struct schema_doc *doc)
{
	struct schema_doc again = {0};
	struct schema_err err;
	char *p1, *p2 = NULL;
	size_t l1, l2 = 0;
	int ok = 0;

	p1 = schema_sdl_print(doc, &l1);
	if (!p1)
		return 0;
	if (strlen(p1) != l1)
		goto out;
	if (schema_sdl_parse(p1, l1, &again, &err)) {
		fprintf(stderr, "reparse: %s\n%s", err.msg, p1);
		goto out;
	}
	if (!docs_equal(doc, &again))
		goto out;
	p2 = schema_sdl_print(&again, &l2);
	ok = p2 && l1 == l2 && memcmp(p1, p2, l1) == 0;
out:
	free(p1);
	free(p2);
	schema_doc_free(&again);
	return ok;
}

/* ---- what is accepted ------------------------------------------------ */

static void test_example(void)
{
	static const char text[] =
	    "# comments to end of line\n"
	    "type Dog @table(table: \"dog\", database: \"pets\") @sealed {\n"
	    "  id: ID @primaryKey\n"
	    "  name: String! @indexed\n"
	    "  tags: [String] @indexed\n"
	    "  ownerId: Int @indexed\n"
	    "  created: Long @createdTime\n"
	    "  updated: Long @updatedTime\n"
	    "  meta: Any\n"
	    "}\n";
	struct schema_doc doc = {0};
	struct schema_err err = {{0}};
	const struct schema_table *t;
	char *p;
	size_t len;

	CHECK_INT(parse(text, &doc, &err), 0);
	CHECK_INT(doc.ntables, 1);
	if (doc.ntables != 1)
		return;
	t = &doc.tables[0];
	CHECK_STR(t->type_name, "Dog");
	CHECK_STR(t->table, "dog");
	CHECK_STR(t->database, "pets");
	CHECK_INT(t->sealed, 1);
	CHECK_INT(t->line, 2);
	CHECK_INT(t->col, 6);
	CHECK_INT(t->nattrs, 7);
	if (t->nattrs == 7) {
		CHECK_STR(t->attrs[0].name, "id");
		CHECK_INT(t->attrs[0].type, SCHEMA_T_ID);
		CHECK_INT(t->attrs[0].pk, 1);
		CHECK_INT(t->attrs[0].indexed, 0);
		CHECK_INT(t->attrs[0].required, 0);
		CHECK_INT(t->attrs[0].line, 3);
		CHECK_INT(t->attrs[0].col, 3);
		CHECK_STR(t->attrs[1].name, "name");
		CHECK_INT(t->attrs[1].type, SCHEMA_T_STRING);
		CHECK_INT(t->attrs[1].required, 1);
		CHECK_INT(t->attrs[1].indexed, 1);
		CHECK_INT(t->attrs[1].pk, 0);
		CHECK_INT(t->attrs[2].list, 1);
		CHECK_INT(t->attrs[2].type, SCHEMA_T_STRING);
		CHECK_INT(t->attrs[2].required, 0);
		CHECK_INT(t->attrs[2].elem_required, 0);
		CHECK_INT(t->attrs[3].type, SCHEMA_T_INT);
		CHECK_INT(t->attrs[4].type, SCHEMA_T_LONG);
		CHECK_INT(t->attrs[4].created, 1);
		CHECK_INT(t->attrs[4].updated, 0);
		CHECK_INT(t->attrs[5].updated, 1);
		CHECK_INT(t->attrs[5].created, 0);
		CHECK_INT(t->attrs[6].type, SCHEMA_T_ANY);
		CHECK_INT(t->attrs[6].line, 9);
	}
	p = schema_sdl_print(&doc, &len);
	CHECK_STR(p, "type Dog @table(table: \"dog\", database: \"pets\") "
		     "@sealed {\n"
		     "  id: ID @primaryKey\n"
		     "  name: String! @indexed\n"
		     "  tags: [String] @indexed\n"
		     "  ownerId: Int @indexed\n"
		     "  created: Long @createdTime\n"
		     "  updated: Long @updatedTime\n"
		     "  meta: Any\n"
		     "}\n");
	CHECK(p && len == strlen(p));
	free(p);
	CHECK(round_trips(&doc));
	schema_doc_free(&doc);
	CHECK(doc.tables == NULL && doc.ntables == 0);
	schema_doc_free(&doc); /* idempotent */
	schema_doc_free(NULL);
}

static void test_types(void)
{
	static const struct {
		const char *name;
		enum schema_type type;
	} types[] = {
	    {"ID", SCHEMA_T_ID},       {"String", SCHEMA_T_STRING},
	    {"Int", SCHEMA_T_INT},     {"Long", SCHEMA_T_LONG},
	    {"Float", SCHEMA_T_FLOAT}, {"Boolean", SCHEMA_T_BOOLEAN},
	    {"Date", SCHEMA_T_DATE},   {"BigInt", SCHEMA_T_BIGINT},
	    {"Any", SCHEMA_T_ANY},
	};
	/* Each spelling and what it sets: list, required, elem_required. */
	static const struct {
		const char *fmt;
		int list, req, ereq;
	} forms[] = {
	    {"%s", 0, 0, 0},	     {"%s!", 0, 1, 0},	 {"[%s]", 1, 0, 0},
	    {"[%s!]", 1, 0, 1},	     {"[%s]!", 1, 1, 0}, {"[%s!]!", 1, 1, 1},
	    {"[ %s ! ] !", 1, 1, 1},
	};
	size_t i, f;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		for (f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
			char text[200], ty[40];
			struct schema_doc doc = {0};
			struct schema_err err;
			const struct schema_attr *a;

			snprintf(ty, sizeof(ty), forms[f].fmt, types[i].name);
			snprintf(text, sizeof(text),
				 "type T @table { id: Int @primaryKey v: %s "
				 "@indexed }",
				 ty);
			CHECK_INT(parse(text, &doc, &err), 0);
			if (doc.ntables != 1 || doc.tables[0].nattrs != 2) {
				CHECK(0);
				schema_doc_free(&doc);
				continue;
			}
			a = &doc.tables[0].attrs[1];
			CHECK_INT(a->type, types[i].type);
			CHECK_INT(a->list, forms[f].list);
			CHECK_INT(a->required, forms[f].req);
			CHECK_INT(a->elem_required, forms[f].ereq);
			CHECK_INT(a->indexed, 1);
			CHECK(round_trips(&doc));
			schema_doc_free(&doc);
		}
	}
}

static void test_directives(void)
{
	struct schema_doc doc = {0};
	struct schema_err err;
	const struct schema_table *t;

	/* table defaults to the type name; no database; not sealed */
	CHECK_INT(parse("type Cat @table {\n  key: String! @primaryKey "
			"@indexed\n  c: Date @createdTime\n  u: Float "
			"@updatedTime\n}\n",
			&doc, &err),
		  0);
	CHECK_INT(doc.ntables, 1);
	t = &doc.tables[0];
	CHECK_STR(t->table, "Cat");
	CHECK(t->database == NULL);
	CHECK_INT(t->sealed, 0);
	CHECK_INT(t->attrs[0].pk, 1);
	CHECK_INT(t->attrs[0].indexed, 1);
	CHECK_INT(t->attrs[1].created, 1);
	CHECK_INT(t->attrs[1].type, SCHEMA_T_DATE);
	CHECK_INT(t->attrs[2].updated, 1);
	CHECK_INT(t->attrs[2].type, SCHEMA_T_FLOAT);
	CHECK(round_trips(&doc));
	schema_doc_free(&doc);

	/* only database given; @sealed before @table; Int times */
	CHECK_INT(parse("type A @sealed @table(database: \"db\") { id: Long "
			"@indexed @primaryKey c: Int @createdTime u: Long! "
			"@updatedTime }",
			&doc, &err),
		  0);
	t = &doc.tables[0];
	CHECK_STR(t->table, "A");
	CHECK_STR(t->database, "db");
	CHECK_INT(t->sealed, 1);
	CHECK_INT(t->attrs[0].pk, 1);
	CHECK_INT(t->attrs[0].indexed, 1);
	CHECK_INT(t->attrs[1].type, SCHEMA_T_INT);
	CHECK_INT(t->attrs[2].required, 1);
	CHECK(round_trips(&doc));
	schema_doc_free(&doc);

	/* Any can be a key: it takes integers and strings */
	CHECK_INT(parse("type A @table { id: Any @primaryKey }", &doc, &err),
		  0);
	schema_doc_free(&doc);

	/* same table name in two databases, and in none */
	CHECK_INT(parse("type A @table(table: \"t\", database: \"x\") { id: ID "
			"@primaryKey }\n"
			"type B @table(table: \"t\", database: \"y\") { id: ID "
			"@primaryKey }\n"
			"type C @table(table: \"t\") { id: ID @primaryKey }\n",
			&doc, &err),
		  0);
	CHECK_INT(doc.ntables, 3);
	CHECK(round_trips(&doc));
	schema_doc_free(&doc);
}

static void test_lexical(void)
{
	static const char text[] =
	    "\xef\xbb\xbf# a byte order mark, then a comment\n"
	    "\n"
	    "type\tDog,@table(,table:\"dog\",,database:\"pets\",)# c\r\n"
	    "{ # { not a brace\n"
	    ",id,:,ID,@primaryKey,,\n"
	    "\r\n"
	    "  n : [ Int ! ] ! @indexed # trailing\n"
	    "}# end";
	struct schema_doc doc = {0};
	struct schema_err err = {{0}};
	char *p;

	CHECK_INT(parse(text, &doc, &err), 0);
	CHECK_INT(doc.ntables, 1);
	if (doc.ntables == 1) {
		CHECK_INT(doc.tables[0].line, 3);
		CHECK_INT(doc.tables[0].col, 6);
		CHECK_INT(doc.tables[0].nattrs, 2);
		CHECK_INT(doc.tables[0].attrs[0].line, 5);
		CHECK_INT(doc.tables[0].attrs[0].col, 2);
		CHECK_INT(doc.tables[0].attrs[1].line, 7);
		CHECK_INT(doc.tables[0].attrs[1].col, 3);
	}
	p = schema_sdl_print(&doc, NULL);
	CHECK_STR(p, "type Dog @table(table: \"dog\", database: \"pets\") {\n"
		     "  id: ID @primaryKey\n"
		     "  n: [Int!]! @indexed\n"
		     "}\n");
	free(p);
	schema_doc_free(&doc);

	/* empty, blank and comment-only texts are empty docs */
	CHECK_INT(schema_sdl_parse("", 0, &doc, &err), 0);
	CHECK_INT(doc.ntables, 0);
	CHECK_INT(parse(" \n\t,,\r\n", &doc, &err), 0);
	CHECK_INT(doc.ntables, 0);
	CHECK_INT(parse("# only\n# comments", &doc, &err), 0);
	CHECK_INT(doc.ntables, 0);
	CHECK_INT(parse("#\xff\x80 any bytes \x01 in a comment\n", &doc, &err),
		  0);
	p = schema_sdl_print(&doc, NULL);
	CHECK_STR(p, "");
	free(p);
	schema_doc_free(&doc);
	p = schema_sdl_print(NULL, NULL);
	CHECK_STR(p, "");
	free(p);
}

static void test_strings(void)
{
	struct schema_doc doc = {0};
	struct schema_err err;
	char *p;

	CHECK_INT(parse("type A @table(table: \"q\\\"b\\\\s\\n\\t\\u00e9"
			"\\ud83d\\ude00\xe2\x9c\x93\\u0001\") { id: ID "
			"@primaryKey }",
			&doc, &err),
		  0);
	if (doc.ntables == 1)
		CHECK_STR(doc.tables[0].table, "q\"b\\s\n\t\xc3\xa9"
					       "\xf0\x9f\x98\x80\xe2\x9c\x93"
					       "\x01");
	p = schema_sdl_print(&doc, NULL);
	CHECK_STR(p, "type A @table(table: \"q\\\"b\\\\s\\n\\t\xc3\xa9"
		     "\xf0\x9f\x98\x80\xe2\x9c\x93\\u0001\") {\n"
		     "  id: ID @primaryKey\n}\n");
	free(p);
	CHECK(round_trips(&doc));
	schema_doc_free(&doc);
}

/* ---- what is refused, and where -------------------------------------- */

struct bad {
	const char *text;
	const char *msg;
};

static const struct bad bad_cases[] = {
    /* unknown type, at the type's name */
    {"type Dog @table {\n  id: ID @primaryKey\n  name: Strng\n}\n",
     "schema.graphql:3:9: unknown type \"Strng\""},
    {"type Dog @table {\n  id: ID @primaryKey\n  n: [ Dog! ]\n}\n",
     "schema.graphql:3:8: unknown type \"Dog\""},
    {"type Dog @table {\n  id: ID @primaryKey\n  n: string\n}\n",
     "schema.graphql:3:6: unknown type \"string\""},
    /* unknown directives, at the '@' */
    {"type Dog @table {\n  id: ID @primaryKey @unique\n}\n",
     "schema.graphql:2:22: unknown directive @unique"},
    {"type Dog @table @export {\n  id: ID @primaryKey\n}\n",
     "schema.graphql:1:17: unknown directive @export"},
    {"type Dog @indexed @table {\n  id: ID @primaryKey\n}\n",
     "schema.graphql:1:10: @indexed belongs on a field, not a type"},
    {"type Dog @table {\n  id: ID @primaryKey @sealed\n}\n",
     "schema.graphql:2:22: @sealed belongs on a type, not a field"},
    {"type Dog @table(tabel: \"d\") {\n  id: ID @primaryKey\n}\n",
     "schema.graphql:1:17: @table has no argument \"tabel\" (only table "
     "and database)"},
    {"type Dog @table(table: \"a\" table: \"b\") { id: ID @primaryKey }",
     "schema.graphql:1:28: argument table given twice"},
    {"type Dog @table() { id: ID @primaryKey }",
     "schema.graphql:1:17: expected an argument name, found \")\""},
    {"type Dog @table(table: dog) { id: ID @primaryKey }",
     "schema.graphql:1:24: expected a string, found \"dog\""},
    {"type Dog @table @table { id: ID @primaryKey }",
     "schema.graphql:1:17: @table given twice"},
    {"type Dog @table { id: ID @primaryKey @indexed @indexed }",
     "schema.graphql:1:47: @indexed given twice"},
    {"type Dog @table { id: ID @primaryKey(x: 1) }",
     "schema.graphql:1:37: @primaryKey takes no arguments"},
    {"type Dog @table @sealed() { id: ID @primaryKey }",
     "schema.graphql:1:24: @sealed takes no arguments"},
    /* syntax */
    {"type Dog @table {\n  id ID @primaryKey\n}\n",
     "schema.graphql:2:6: expected \":\", found \"ID\""},
    {"type Dog @table {\n  id: ID @primaryKey\n",
     "schema.graphql:3:1: expected a field name or \"}\", found end of "
     "input"},
    {"type Dog @table {\n  id: ID @primaryKey\n  $x: Int\n}\n",
     "schema.graphql:3:3: unexpected character '$'"},
    {"type Dog @table {\n  id: ID @primaryKey\n  x: Int = 3\n}\n",
     "schema.graphql:3:10: unexpected character '='"},
    {"type Dog @table {\n  id: ID @primaryKey\n  x\xc3\xa9: Int\n}\n",
     "schema.graphql:3:4: unexpected byte 0xc3"},
    {"type Dog @table {\n  id: ID @primaryKey\n  x:\n}\n",
     "schema.graphql:4:1: expected a type, found \"}\""},
    {"type Dog @table {\n  id: ID @primaryKey\n  x: [Int\n}\n",
     "schema.graphql:4:1: expected \"]\", found \"}\""},
    {"type Dog @table {\n  id: ID @primaryKey\n  x: [[Int]]\n}\n",
     "schema.graphql:3:7: nested lists are not supported"},
    {"type Dog @table }", "schema.graphql:1:17: expected \"{\", found \"}\""},
    {"type @table { id: ID @primaryKey }",
     "schema.graphql:1:6: expected a type name, found \"@\""},
    {"type Dog @table { id: ID @primaryKey } }",
     "schema.graphql:1:40: expected \"type\", found \"}\""},
    {"enum Color { RED }",
     "schema.graphql:1:1: only \"type\" definitions are supported, not "
     "\"enum\""},
    {"type Dog implements Node @table { id: ID @primaryKey }",
     "schema.graphql:1:10: expected \"{\", found \"implements\""},
    {"type Dog @table { id(x: Int): ID @primaryKey }",
     "schema.graphql:1:21: expected \":\", found \"(\""},
    {"type Dog @table(table: \"dog) { id: ID @primaryKey }",
     "schema.graphql:1:24: unterminated string"},
    {"type Dog @table(table: \"d\nog\") { id: ID @primaryKey }",
     "schema.graphql:1:24: unterminated string"},
    {"type Dog @table(table: \"d\\xog\") { id: ID @primaryKey }",
     "schema.graphql:1:26: bad escape in string"},
    {"type Dog @table(table: \"d\\u00g1\") { id: ID @primaryKey }",
     "schema.graphql:1:26: bad escape in string"},
    {"type Dog @table(table: \"d\\u0000\") { id: ID @primaryKey }",
     "schema.graphql:1:26: NUL in string"},
    {"type Dog @table(table: \"d\\ud800x\") { id: ID @primaryKey }",
     "schema.graphql:1:26: lone surrogate in string"},
    {"type Dog @table(table: \"d\\udc00\") { id: ID @primaryKey }",
     "schema.graphql:1:26: lone surrogate in string"},
    {"type Dog @table(table: \"d\xc3\") { id: ID @primaryKey }",
     "schema.graphql:1:26: invalid UTF-8 in string"},
    {"type Dog @table(table: \"d\xed\xa0\x80\") { id: ID @primaryKey }",
     "schema.graphql:1:26: invalid UTF-8 in string"},
    {"type Dog @table(table: \"d\x01\") { id: ID @primaryKey }",
     "schema.graphql:1:26: control character 0x01 in string (write it as "
     "\\u0001)"},
    {"type Dog @table(table: \"\") { id: ID @primaryKey }",
     "schema.graphql:1:24: table name is empty"},
    {"type Dog @table(database: \"a/b\") { id: ID @primaryKey }",
     "schema.graphql:1:27: database name cannot begin with '.' or hold "
     "'/'"},
    {"type Dog @table(table: \"a\\/b\") { id: ID @primaryKey }",
     "schema.graphql:1:24: table name cannot begin with '.' or hold '/'"},
    {"type Dog @table(table: \"..\") { id: ID @primaryKey }",
     "schema.graphql:1:24: table name cannot begin with '.' or hold '/'"},
    /* a type must be a table */
    {"type Dog {\n  id: ID @primaryKey\n}\n",
     "schema.graphql:1:6: type Dog has no @table: only @table types are "
     "supported"},
    /* duplicates */
    {"type Dog @table {\n  id: ID @primaryKey\n  name: String\n  name: "
     "Int\n}\n",
     "schema.graphql:4:3: duplicate field name in type Dog"},
    {"type Dog @table(table: \"dog\") {\n  id: ID @primaryKey\n}\n"
     "type Cat @table(table: \"dog\") {\n  id: ID @primaryKey\n}\n",
     "schema.graphql:4:6: duplicate table \"dog\""},
    {"type Dog @table(database: \"p\") { id: ID @primaryKey }\n"
     "type Cat @table(table: \"Dog\", database: \"p\") { id: ID "
     "@primaryKey }\n",
     "schema.graphql:2:6: duplicate table \"Dog\" in database \"p\""},
    {"type Dog @table(table: \"a\") { id: ID @primaryKey }\n"
     "type Dog @table(table: \"b\") { id: ID @primaryKey }\n",
     "schema.graphql:2:6: duplicate type Dog"},
    /* keys */
    {"type Dog @table {\n  name: String\n}\n",
     "schema.graphql:1:6: type Dog has no @primaryKey field"},
    {"type Dog @table {\n}\n",
     "schema.graphql:1:6: type Dog has no @primaryKey field"},
    {"type Dog @table {\n  id: ID @primaryKey\n  id2: Int @primaryKey\n}\n",
     "schema.graphql:3:12: @primaryKey is already on field id"},
    /* after the array of fields has grown past its first size */
    {"type Dog @table {\n  id: ID @primaryKey\n  c: Long @createdTime\n"
     "  a: Int, b: Int, d: Int, e: Int, f: Int, g: Int, h: Int, i: Int\n"
     "  j: Int, k: Int, l: Int, m: Int\n  x: Int @primaryKey\n}\n",
     "schema.graphql:6:10: @primaryKey is already on field id"},
    {"type Dog @table {\n  id: ID @primaryKey\n  c: Long @createdTime\n"
     "  a: Int, b: Int, d: Int, e: Int, f: Int, g: Int, h: Int, i: Int\n"
     "  j: Int, k: Int, l: Int, m: Int\n  x: Int @createdTime\n}\n",
     "schema.graphql:6:10: @createdTime is already on field c"},
    {"type Dog @table {\n  ids: [ID] @primaryKey\n}\n",
     "schema.graphql:2:13: @primaryKey cannot be on a list"},
    {"type Dog @table {\n  id: Float @primaryKey\n}\n",
     "schema.graphql:2:13: @primaryKey must be ID, String, Int, Long or "
     "Any, not Float"},
    /* times */
    {"type Dog @table {\n  id: ID @primaryKey\n  created: String "
     "@createdTime\n}\n",
     "schema.graphql:3:19: @createdTime needs type Long, Int, Float or "
     "Date, not String"},
    {"type Dog @table {\n  id: ID @primaryKey\n  u: [Long] @updatedTime\n}\n",
     "schema.graphql:3:13: @updatedTime needs type Long, Int, Float or "
     "Date, not [Long]"},
    {"type Dog @table {\n  id: ID @primaryKey\n  a: Long @createdTime\n"
     "  b: Long @createdTime\n}\n",
     "schema.graphql:4:11: @createdTime is already on field a"},
    {"type Dog @table {\n  id: ID @primaryKey\n  a: Long @createdTime "
     "@updatedTime\n}\n",
     "schema.graphql:3:24: a field cannot be both @createdTime and "
     "@updatedTime"},
};

static void test_errors(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct schema_doc doc = {0};
		struct schema_err err = {{0}};
		int rc;

		rc = parse(bad_cases[i].text, &doc, &err);
		CHECK_INT(rc, EINVAL);
		CHECK_STR(err.msg, bad_cases[i].msg);
		/* the doc is filled only on success */
		CHECK(doc.tables == NULL && doc.ntables == 0);
	}
}

static void test_nul_and_nesting(void)
{
	static const char nul[] =
	    "type Dog @table {\n  id: ID\0 @primaryKey\n}";
	struct schema_doc doc = {0};
	struct schema_err err = {{0}};
	char *big;
	size_t n = 100000, i, len;

	CHECK_INT(schema_sdl_parse(nul, sizeof(nul) - 1, &doc, &err), EINVAL);
	CHECK_STR(err.msg, "schema.graphql:2:9: unexpected byte 0x00");
	CHECK_INT(schema_sdl_parse("", 0, &doc, NULL), 0); /* err may be NULL */
	CHECK_INT(schema_sdl_parse("x", 1, &doc, NULL), EINVAL);

	/* deep brackets are refused at the second one, not recursed into */
	big = malloc(2 * n + 64);
	if (!big)
		return;
	len = (size_t)sprintf(big, "type A @table { id: ID @primaryKey x: ");
	memset(big + len, '[', n);
	len += n;
	CHECK_INT(schema_sdl_parse(big, len, &doc, &err), EINVAL);
	CHECK_STR(err.msg,
		  "schema.graphql:1:40: nested lists are not supported");
	free(big);

	/* a long name is refused at its start */
	big = malloc(n);
	if (!big)
		return;
	memset(big, 'a', n);
	CHECK_INT(schema_sdl_parse(big, n, &doc, &err), EINVAL);
	CHECK_STR(err.msg, "schema.graphql:1:1: name longer than 255 bytes");
	free(big);

	/* many fields: found quickly, the duplicate at the end too */
	big = malloc(n * 24 + 100);
	if (!big)
		return;
	len = (size_t)sprintf(big, "type A @table { id: ID @primaryKey\n");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(big + len, "f%zu: Int @indexed\n", i);
	memcpy(big + len, "}\n", 2);
	CHECK_INT(schema_sdl_parse(big, len + 2, &doc, &err), 0);
	CHECK_INT(doc.ntables, 1);
	if (doc.ntables)
		CHECK_INT(doc.tables[0].nattrs, n + 1);
	schema_doc_free(&doc);
	len += (size_t)sprintf(big + len, "f7: Int\n}\n");
	CHECK_INT(schema_sdl_parse(big, len, &doc, &err), EINVAL);
	CHECK_STR(err.msg, "schema.graphql:100002:1: duplicate field f7 in "
			   "type A");
	free(big);
}

/* ---- round trips ----------------------------------------------------- */

static void test_round_trip(void)
{
	static const char *const texts[] = {
	    "type A @table { id: ID @primaryKey }",
	    "type A @table(table: \"a\") { id: Int! @primaryKey @indexed }\n"
	    "type B @table(table: \"b\", database: \"x\") @sealed {\n"
	    "  key: String @primaryKey\n  l: [Boolean!]! @indexed\n"
	    "  d: Date @createdTime\n  e: Float @updatedTime\n"
	    "  big: BigInt! \n any: [Any]\n}\n",
	    "type \xc3\xa9 @table { id: ID @primaryKey }", /* refused */
	    ("type _x9 @table(table: \"caf\xc3\xa9 \\\" \\\\\") { _: Long "
	     "@primaryKey }"),
	};
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct schema_doc doc = {0};
		struct schema_err err;

		if (parse(texts[i], &doc, &err) == 0)
			CHECK(round_trips(&doc));
		else
			CHECK(i == 2);
		schema_doc_free(&doc);
	}
}

static const enum schema_type all_types[] = {
    SCHEMA_T_ANY,     SCHEMA_T_ID,   SCHEMA_T_STRING,
    SCHEMA_T_INT,     SCHEMA_T_LONG, SCHEMA_T_FLOAT,
    SCHEMA_T_BOOLEAN, SCHEMA_T_DATE, SCHEMA_T_BIGINT,
};

/* A random name, string or identifier, unique by its number. */
static char *rnd_str(int ident, unsigned serial)
{
	static const char *const pieces[] = {
	    "a",  "Z",	"_",	"9",	"\"",	    "\\",
	    "\n", "\t", "\x01", "\x7f", "\xc3\xa9", "\xf0\x9f\x98\x80",
	    " ",
	};
	char buf[128];
	size_t len = 0, n = rnd_below(6), i;

	if (ident) {
		/* the '_' ends the serial, so no two names are equal */
		len = (size_t)snprintf(buf, sizeof(buf), "%c%u_",
				       "_aZq"[rnd_below(4)], serial);
		for (i = 0; i < n; i++)
			buf[len++] = "_aZ09x"[rnd_below(6)];
	} else {
		len = (size_t)snprintf(buf, sizeof(buf), "t%u_", serial);
		for (i = 0; i < n; i++) {
			const char *p = pieces[rnd_below(sizeof(pieces) /
							 sizeof(pieces[0]))];

			memcpy(buf + len, p, strlen(p));
			len += strlen(p);
		}
	}
	buf[len] = '\0';
	return strdup(buf);
}

/* A random valid doc, built directly, so the printer is tested first. */
static void rnd_doc(struct schema_doc *doc)
{
	size_t i, j;
	unsigned serial = 0;

	doc->ntables = rnd_below(5);
	doc->tables = calloc(doc->ntables + 1, sizeof(*doc->tables));
	for (i = 0; i < doc->ntables; i++) {
		struct schema_table *t = &doc->tables[i];
		size_t pk;
		int created = 0, updated = 0;

		t->type_name = rnd_str(1, serial++);
		t->table = rnd_str(0, serial++);
		t->database = rnd_below(2) ? rnd_str(0, serial++) : NULL;
		t->sealed = (int)rnd_below(2);
		t->nattrs = 1 + rnd_below(8);
		t->attrs = calloc(t->nattrs, sizeof(*t->attrs));
		pk = rnd_below(t->nattrs);
		for (j = 0; j < t->nattrs; j++) {
			struct schema_attr *a = &t->attrs[j];

			a->name = rnd_str(1, serial++);
			a->type = all_types[rnd_below(9)];
			a->list = (int)rnd_below(2);
			a->required = (int)rnd_below(2);
			a->elem_required = a->list && rnd_below(2);
			a->indexed = (int)rnd_below(2);
			if (j == pk) {
				static const enum schema_type kt[] = {
				    SCHEMA_T_ID, SCHEMA_T_STRING, SCHEMA_T_INT,
				    SCHEMA_T_LONG, SCHEMA_T_ANY};

				a->pk = 1;
				a->list = a->elem_required = 0;
				a->type = kt[rnd_below(5)];
			} else if (!a->list &&
				   (a->type == SCHEMA_T_LONG ||
				    a->type == SCHEMA_T_DATE) &&
				   !created) {
				a->created = created = 1;
			} else if (!a->list &&
				   (a->type == SCHEMA_T_INT ||
				    a->type == SCHEMA_T_FLOAT) &&
				   !updated) {
				a->updated = updated = 1;
			}
		}
	}
}

static void fuzz_round_trip(void)
{
	int n, bad = 0;

	for (n = 0; n < 2000; n++) {
		struct schema_doc doc = {0};

		rnd_doc(&doc);
		if (!round_trips(&doc))
			bad++;
		schema_doc_free(&doc);
	}
	CHECK_INT(bad, 0);
}

/* ---- fuzzing --------------------------------------------------------- */

/*
 * Whatever the parser makes of text: an error with a positioned message,
 * or a doc that round-trips.  0 when that holds.
 */
static int sane(const char *text, size_t len, int *accepted)
{
	struct schema_doc doc = {0};
	struct schema_err err = {{0}};
	int rc, ok;

	rc = schema_sdl_parse(text, len, &doc, &err);
	if (rc == EINVAL)
		return strncmp(err.msg, "schema.graphql:", 15) ? 1 : 0;
	if (rc)
		return 1;
	(*accepted)++;
	ok = round_trips(&doc);
	schema_doc_free(&doc);
	return !ok;
}

static void fuzz_parse(void)
{
	static const char seed[] =
	    "# pets\n"
	    "type Dog @table(table: \"dog\", database: \"pets\") @sealed {\n"
	    "  id: ID @primaryKey\n"
	    "  name: String! @indexed\n"
	    "  tags: [String!]! @indexed\n"
	    "  ownerId: Int @indexed\n"
	    "  created: Long @createdTime\n"
	    "  updated: Long @updatedTime\n"
	    "  meta: Any, b: Boolean, f: Float, d: Date, g: BigInt\n"
	    "}\n"
	    "type Cat @table(table: \"c\\u00e9\\\"\") { k: String @primaryKey "
	    "}\n";
	static const char *const inserts[] = {
	    "{",     "}",	"[",	  "]",	      "(",	 "!",
	    "@",     ":",	",",	  "#",	      "\n",	 "\"",
	    "\\",    "\\u",	"\0",	  "\xff",     "\xc3",	 "type ",
	    "Int",   "[[",	"@table", "@indexed", "@sealed", "@primaryKey",
	    "x: ID", "table: ", "\\ud83d"};
	char buf[4096];
	int n, bad = 0, accepted = 0;
	size_t len, i, k;

	/* random bytes, mostly from the language's own alphabet */
	for (n = 0; n < 5000; n++) {
		static const char alpha[] = "{}[]()!@:,#\n \"\\abtype_IDn09";

		len = rnd_below(n % 100 == 0 ? sizeof(buf) : 64);
		for (i = 0; i < len; i++)
			buf[i] = rnd_below(3)
				     ? alpha[rnd_below(sizeof(alpha) - 1)]
				     : (char)rnd();
		bad += sane(buf, len, &accepted);
	}
	/* mutations of a valid schema */
	for (n = 0; n < 5000; n++) {
		int m, muts = 1 + (int)rnd_below(4);

		len = sizeof(seed) - 1;
		memcpy(buf, seed, len);
		for (m = 0; m < muts; m++) {
			size_t at = rnd_below(len + 1);

			switch (rnd_below(4)) {
			case 0: /* flip a byte */
				if (len)
					buf[at % len] = (char)rnd();
				break;
			case 1: /* delete a run */
				k = rnd_below(8);
				if (at + k > len)
					k = len - at;
				memmove(buf + at, buf + at + k, len - at - k);
				len -= k;
				break;
			case 2: { /* insert a token */
				const char *s = inserts[rnd_below(
				    sizeof(inserts) / sizeof(inserts[0]))];
				size_t sl = *s ? strlen(s) : 1;

				if (len + sl > sizeof(buf))
					break;
				memmove(buf + at + sl, buf + at, len - at);
				memcpy(buf + at, s, sl);
				len += sl;
				break;
			}
			default: /* truncate */
				len = at;
			}
		}
		bad += sane(buf, len, &accepted);
	}
	CHECK_INT(bad, 0);
	/* the mutations must not all be refused, or they test little */
	CHECK(accepted > 100);
	CHECK_INT(sane(seed, sizeof(seed) - 1, &accepted), 0);
}

int main(void)
{
	test_example();
	test_types();
	test_directives();
	test_lexical();
	test_strings();
	test_errors();
	test_nul_and_nesting();
	test_round_trip();
	fuzz_round_trip();
	fuzz_parse();
	return checks_done();
}
