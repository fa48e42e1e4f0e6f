/*
 * names.c: the names of the tree and what they stand for.
 *
 * A record's file name from its key bytes, "db/table/name" for messages,
 * the names a database or table may take, and fs_resolve(), which says what
 * a name inside a table (or beside the tables) is: a record with its key
 * bytes, or a scratch file.  It reads storage only to find a hashed long
 * name's key; it changes nothing and makes no nodes (node.c does).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs_i.h"

/* The length of name before a ".schema.json" ending; 0 without one. */
size_t fs_jschema_stem(const char *name)
{
	size_t n = strlen(name), sl = sizeof(JSCHEMA_SUFFIX) - 1;
	return n > sl && strcmp(name + n - sl, JSCHEMA_SUFFIX) == 0 ? n - sl
								    : 0;
}

/* The file name of a record node, from its key bytes. */
size_t fs_record_name(const uint8_t *kb, size_t kl, char *name)
{
	struct schema_key k;
	if (schema_key_decode(kb, kl, &k) != 0) {
		strcpy(name, "?");
		return 1;
	}
	return schema_key_to_name(&k, name);
}

int fs_stream_form(const char *name, size_t *stemlen)
{
	char stem[256];
	int fmt = schema_stream_fmt(name, strlen(name), stemlen);
	if (fmt < 0 || *stemlen >= sizeof(stem))
		return -1;
	memcpy(stem, name, *stemlen);
	stem[*stemlen] = '\0';
	return fs_name_ok(stem) ? fmt : -1;
}

const char *fs_fmt_ext(int fmt)
{
	return fmt == SCHEMA_FMT_CSV	? "csv"
	       : fmt == SCHEMA_FMT_JSON ? "json"
					: "ndjson";
}

/* "db/table/name" for messages; name may be NULL for the node itself. */
const char *fs_node_path(const struct fs_node *n, const char *name)
{
	static char path[2048];
	char own[SCHEMA_NAME_MAX + 1];
	const char *leaf = name;
	switch (n->kind) {
	case FS_ROOT:
		snprintf(path, sizeof(path), "%s", name ? name : ".");
		return path;
	case FS_DB:
		if (name)
			snprintf(path, sizeof(path), "%s/%s", n->db->name,
				 name);
		else
			snprintf(path, sizeof(path), "%s", n->db->name);
		return path;
	case FS_TABLE:
		if (name)
			snprintf(path, sizeof(path), "%s/%s/%s", n->db->name,
				 n->tname, name);
		else
			snprintf(path, sizeof(path), "%s/%s", n->db->name,
				 n->tname);
		return path;
	case FS_NEXT:
		snprintf(path, sizeof(path), "%s/%s/.next", n->db->name,
			 n->tname);
		return path;
	case FS_SCHEMA:
		snprintf(path, sizeof(path), "%s/schema.graphql", n->db->name);
		return path;
	case FS_JSCHEMA:
		snprintf(path, sizeof(path), "%s/%s.schema.json", n->db->name,
			 n->tname);
		return path;
	case FS_STREAM:
		snprintf(path, sizeof(path), "%s/%s.%s", n->db->name, n->tname,
			 fs_fmt_ext(fs_stream_node_fmt(n)));
		return path;
	case FS_CHANGES:
		snprintf(path, sizeof(path), "%s/%s", n->db->name,
			 FS_CHANGES_NAME);
		return path;
	case FS_HISTDIR:
		snprintf(path, sizeof(path), "%s/%s/%s%s%s", n->db->name,
			 n->tname, FS_HISTORY_NAME, name ? "/" : "",
			 name ? name : "");
		return path;
	case FS_HISTORY: {
		char rn[SCHEMA_NAME_MAX + 1];
		size_t rl = fs_record_name(n->key, n->keylen, rn);
		/* KEY.json's stem, as KEY.ndjson */
		if (rl > 5)
			rl -= 5;
		snprintf(path, sizeof(path), "%s/%s/%s/%.*s.ndjson",
			 n->db->name, n->tname, FS_HISTORY_NAME, (int)rl, rn);
		return path;
	}
	case FS_BYSTREAM: {
		/* the format is the query's 'F' item (by.c) */
		size_t at = 0;
		int fmt = SCHEMA_FMT_NDJSON;
		while (at + 3 <= n->keylen) {
			size_t l = (size_t)n->key[at + 1] << 8 | n->key[at + 2];
			if (n->key[at] == 'F' && l == 1 && at + 4 <= n->keylen)
				fmt = n->key[at + 3];
			at += 3 + l;
		}
		snprintf(path, sizeof(path), "%s/%s/.by/.../(query).%s",
			 n->db->name, n->tname, fs_fmt_ext(fmt));
		return path;
	}
	case FS_BY:
	case FS_BYATTR:
	case FS_BYVAL:
	case FS_BYLINK:
		snprintf(path, sizeof(path), "%s/%s/.by/.../%s", n->db->name,
			 n->tname, name ? name : "");
		return path;
	case FS_RECORD:
		fs_record_name(n->key, n->keylen, own);
		leaf = own;
		break;
	case FS_SCRATCH:
		snprintf(own, sizeof(own), "%.*s", (int)n->keylen,
			 (const char *)n->key);
		leaf = own;
		break;
	default:
		snprintf(path, sizeof(path), ".recordfs/%s",
			 n->kind == FS_ERRORS ? "errors" : "stats");
		return path;
	}
	if (!n->tname || !n->tname[0]) /* a database directory's file */
		snprintf(path, sizeof(path), "%s/%s", n->db->name, leaf);
	else
		snprintf(path, sizeof(path), "%s/%s/%s", n->db->name, n->tname,
			 leaf);
	return path;
}

/*
 * Classify name inside table node tn.  Records get their ordered key bytes;
 * scratch files their name.  A hashed long name is looked up in the aliases
 * (txn needed; ENOENT if unknown).  EINVAL with err for a ".json" name that
 * is no key's canonical name; EPERM for names the table reserves.
 */
int fs_resolve(struct store_txn *t, const struct fs_node *tn, const char *name,
	       struct fs_resolved *r, struct schema_err *err)
{
	char buf[SCHEMA_KEYBUF_MAX];
	struct schema_key k;
	size_t len = strlen(name);
	int rc;

	r->long_form = 0;
	if (tn->kind == FS_DB) {
		/* beside the tables, every file is a scratch file */
		if (strncmp(name, FS_CHANGES_NAME,
			    sizeof(FS_CHANGES_NAME) - 1) == 0 &&
		    (!name[sizeof(FS_CHANGES_NAME) - 1] ||
		     name[sizeof(FS_CHANGES_NAME) - 1] == '@'))
			return schema_fail(err, EPERM,
					   "the name is the database's change "
					   "feed");
		if (fs_jschema_stem(name))
			return schema_fail(err, EPERM,
					   "names ending in .schema.json are "
					   "the tables' JSON Schemas");
		if (len > 5 && strcmp(name + len - 5, ".json") == 0)
			return schema_fail(err, EPERM,
					   "only tables (directories) and "
					   "scratch files live in a database; "
					   "records go in a table");
		if (fs_stream_form(name, &len) >= 0)
			return schema_fail(err, EPERM,
					   "no such table: this name is a "
					   "table's stream; make the table "
					   "first (mkdir)");
		len = strlen(name);
		r->kind = STORE_SCRATCH;
		memcpy(r->key, name, len);
		r->keylen = len;
		return 0;
	}
	if (strcmp(name, ".by") == 0 || strcmp(name, ".next") == 0 ||
	    strcmp(name, FS_HISTORY_NAME) == 0)
		return schema_fail(err, EPERM,
				   "the name is reserved by the table");
	rc = schema_name_to_key(name, len, &k, buf, sizeof(buf), err);
	if (rc == ENOENT) {
		r->kind = STORE_SCRATCH;
		memcpy(r->key, name, len);
		r->keylen = len;
		return 0;
	}
	r->kind = STORE_RECORD;
	if (rc == EAGAIN) {
		const void *kb;
		size_t kl;
		r->long_form = 1;
		if (schema_name_digest(name, len, r->digest))
			return schema_fail(err, EINVAL, "malformed long name");
		if (!t)
			return ENOENT;
		rc = store_alias_get(t, tn->tid, r->digest, 32, &kb, &kl);
		if (rc)
			return rc;
		if (kl > sizeof(r->key))
			return EIO;
		memcpy(r->key, kb, kl);
		r->keylen = kl;
		/* The digest finds the key; the whole name must be its name. */
		if (schema_key_decode(r->key, r->keylen, &k) ||
		    schema_key_to_name(&k, buf) != len ||
		    memcmp(buf, name, len))
			return ENOENT;
		return 0;
	}
	if (rc)
		return rc;
	r->keylen = schema_key_encode(&k, r->key);
	return 0;
}

/*
 * Names of databases and tables: not empty, no '.' anywhere (it would clash
 * with the names derived from a table, such as dog.ndjson), no '/', no
 * control characters, at most 200 bytes.  Returns 1 when acceptable.
 */
int fs_name_ok(const char *name)
{
	size_t i, n = strlen(name);
	if (n == 0 || n > 200)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '.' || c == '/' || c == '%')
			return 0;
	}
	return 1;
}
