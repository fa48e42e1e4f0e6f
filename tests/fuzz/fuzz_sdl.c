/*
 * fuzz_sdl.c: libFuzzer target for the GraphQL schema subset of
 * schema/sdl.c, and the JSON Schema check.c prints of a table.
 *
 * The input is schema text.  schema_sdl_parse() must refuse it with a
 * positioned message or take it; a doc it takes must hold what schema.h
 * promises of one (a valid primary key per type, names the parser takes,
 * table names that can be directories), print as text that parses to an
 * equal doc, and that doc must print as the same text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#include "fuzz.h"

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int same_attr(const struct schema_attr *a, const struct schema_attr *b)
{
	return same_str(a->name, b->name) && a->type == b->type &&
	       a->list == b->list && a->required == b->required &&
	       a->elem_required == b->elem_required && a->pk == b->pk &&
	       a->indexed == b->indexed && a->created == b->created &&
	       a->updated == b->updated;
}

/* Equal docs: all but where things were written. */
static int same_doc(const struct schema_doc *a, const struct schema_doc *b)
{
	size_t i, j;

	if (a->ntables != b->ntables)
		return 0;
	for (i = 0; i < a->ntables; i++) {
		const struct schema_table *s = &a->tables[i],
					  *t = &b->tables[i];

		if (!same_str(s->type_name, t->type_name) ||
		    !same_str(s->table, t->table) ||
		    !same_str(s->database, t->database) ||
		    s->sealed != t->sealed || s->nattrs != t->nattrs)
			return 0;
		for (j = 0; j < s->nattrs; j++)
			if (!same_attr(&s->attrs[j], &t->attrs[j]))
				return 0;
	}
	return 1;
}

/* A table or database name: non-empty, no '/', not beginning with '.'. */
static int dir_name_ok(const char *s)
{
	return s && s[0] && s[0] != '.' && !strchr(s, '/');
}

static void check_table(const struct schema_table *t)
{
	const struct schema_attr *pk = schema_table_pk(t);
	char *js;
	size_t i, jl = 0, npk = 0, ncreated = 0, nupdated = 0;

	REQUIRE(t->type_name &&
		schema_sdl_name_ok(t->type_name, strlen(t->type_name)));
	REQUIRE(dir_name_ok(t->table));
	REQUIRE(!t->database || dir_name_ok(t->database));
	REQUIRE(t->line > 0 && t->col > 0);
	for (i = 0; i < t->nattrs; i++) {
		const struct schema_attr *a = &t->attrs[i], *b;

		REQUIRE(a->name &&
			schema_sdl_name_ok(a->name, strlen(a->name)));
		REQUIRE(strcmp(schema_type_name(a->type), "?") != 0);
		b = schema_table_attr(t, a->name, strlen(a->name));
		REQUIRE(b && strcmp(b->name, a->name) == 0);
		REQUIRE(!(a->created && a->updated));
		npk += a->pk != 0;
		ncreated += a->created != 0;
		nupdated += a->updated != 0;
	}
	REQUIRE(npk == 1 && ncreated <= 1 && nupdated <= 1);
	REQUIRE(pk && pk->pk && !pk->list);
	REQUIRE(pk->type == SCHEMA_T_ID || pk->type == SCHEMA_T_STRING ||
		pk->type == SCHEMA_T_INT || pk->type == SCHEMA_T_LONG ||
		pk->type == SCHEMA_T_ANY);
	REQUIRE(same_str(schema_table_pk_name(t), pk->name));

	js = schema_table_json_schema(t, &jl);
	REQUIRE(js && strlen(js) == jl && jl >= 2 && js[jl - 1] == '\n');
	free(js);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct schema_doc doc = {0}, again = {0};
	struct schema_err err = {{0}};
	char *text, *text2;
	size_t len = 0, len2 = 0, i;
	int rc;

	rc = schema_sdl_parse((const char *)data, size, &doc, &err);
	if (rc) {
		REQUIRE(rc == EINVAL || rc == ENOMEM);
		REQUIRE(doc.ntables == 0 && !doc.tables);
		if (rc == EINVAL)
			REQUIRE(strncmp(err.msg, "schema.graphql:", 15) == 0);
		return 0;
	}
	for (i = 0; i < doc.ntables; i++)
		check_table(&doc.tables[i]);

	text = schema_sdl_print(&doc, &len);
	REQUIRE(text && strlen(text) == len);
	rc = schema_sdl_parse(text, len, &again, &err);
	if (rc)
		fprintf(stderr, "printed text:\n%s\nrefused: %s\n", text,
			err.msg);
	REQUIRE(rc == 0);
	REQUIRE(same_doc(&doc, &again));
	text2 = schema_sdl_print(&again, &len2);
	REQUIRE(text2 && same(text2, len2, text, len));

	free(text);
	free(text2);
	schema_doc_free(&doc);
	schema_doc_free(&again);
	return 0;
}
