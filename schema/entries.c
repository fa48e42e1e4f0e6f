/*
 * entries.c: the index entries of a record, in the form storage checks.
 *
 * One rule for the daemon, which keeps indexes, and for the checker, which
 * proves them: attributes whose names storage cannot hold in an index key
 * are not indexed, and the primary key is not indexed (the record's own
 * key finds it).
 */
#include "schema.h"
#include "store.h"

struct walk {
	int (*fn)(const void *attr, size_t alen, const void *val, size_t vlen,
		  void *arg);
	void *arg;
};

static int one(const char *attr, size_t alen, const uint8_t *val, size_t vlen,
	       void *arg)
{
	struct walk *w = arg;
	if (alen == 0 || alen > STORE_ATTR_MAX || vlen > STORE_VALUE_MAX)
		return 0;
	return w->fn(attr, alen, val, vlen, w->arg);
}

int schema_store_entries(const void *text, size_t len,
			 int (*fn)(const void *attr, size_t alen,
				   const void *val, size_t vlen, void *arg),
			 void *arg)
{
	struct walk w = {fn, arg};
	return schema_index_entries(text, len, SCHEMA_PK, one, &w);
}
