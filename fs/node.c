/*
 * node.c: the table of nodes the kernel knows, keyed by inode number.
 *
 * Open hashing with chains; it doubles when full.  A node lives while the
 * kernel holds lookups on it or a file is open on it.  Here too: the node
 * of each kind of name (a table, a record or scratch file, a name that is
 * made rather than stored), and telling the kernel when what it holds of a
 * node stops being true (fs_node_changed).  It reads no storage: callers
 * find what a name is (names.c) and bring its numbers.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

static size_t slot(uint64_t ino)
{
	ino *= 0x9E3779B97F4A7C15ull;
	return (size_t)(ino >> 20) & (fs.hsize - 1);
}

struct fs_node *fs_node_get(uint64_t ino)
{
	struct fs_node *n;
	if (!fs.htab)
		return NULL;
	for (n = fs.htab[slot(ino)]; n; n = n->hnext)
		if (n->ino == ino)
			return n;
	return NULL;
}

static int grow(void)
{
	size_t old = fs.hsize, i;
	struct fs_node **ot = fs.htab;
	fs.hsize = old ? old * 2 : 1024;
	fs.htab = calloc(fs.hsize, sizeof(*fs.htab));
	if (!fs.htab) {
		fs.htab = ot;
		fs.hsize = old;
		return ENOMEM;
	}
	for (i = 0; i < old; i++) {
		struct fs_node *n = ot[i], *nx;
		for (; n; n = nx) {
			size_t s = slot(n->ino);
			nx = n->hnext;
			n->hnext = fs.htab[s];
			fs.htab[s] = n;
		}
	}
	free(ot);
	return 0;
}

/* A new node with nlookup 0, or the existing one for ino. */
struct fs_node *fs_node_new(uint64_t ino, enum fs_kind kind)
{
	struct fs_node *n = fs_node_get(ino);
	size_t s;
	if (n)
		return n;
	if (fs.hcount >= fs.hsize && grow())
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->ino = ino;
	n->kind = kind;
	s = slot(ino);
	n->hnext = fs.htab[s];
	fs.htab[s] = n;
	fs.hcount++;
	return n;
}

int fs_node_set_key(struct fs_node *n, const void *key, size_t len)
{
	uint8_t *k = malloc(len ? len : 1);
	if (!k)
		return ENOMEM;
	memcpy(k, key, len);
	free(n->key);
	n->key = k;
	n->keylen = len;
	return 0;
}

static void node_free(struct fs_node *n)
{
	struct fs_node **pp = &fs.htab[slot(n->ino)];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	fs.hcount--;
	free(n->tname);
	free(n->key);
	free(n);
}

/* Free n when nothing refers to it any more.  Fixed nodes stay. */
void fs_node_maybe_free(struct fs_node *n)
{
	if (n->ino <= FS_INO_STATS)
		return;
	if (n->nlookup == 0 && n->opens == 0)
		node_free(n);
}

void fs_node_forget(struct fs_node *n, uint64_t nlookup)
{
	assert(n->nlookup >= nlookup);
	n->nlookup -= nlookup;
	fs_node_maybe_free(n);
}

void fs_nodes_free_all(void)
{
	size_t i;
	for (i = 0; i < fs.hsize; i++) {
		struct fs_node *n = fs.htab[i], *nx;
		for (; n; n = nx) {
			nx = n->hnext;
			free(n->tname);
			free(n->key);
			free(n);
		}
	}
	free(fs.htab);
	fs.htab = NULL;
	fs.hsize = fs.hcount = 0;
}

/*
 * n's text or size changed other than through the kernel's writes to it:
 * its pages are stale, and its attributes end now.  Invalidating only the
 * attributes takes no lock that a pending request could hold, so this is
 * safe inside any handler, the one that caused the change included.
 */
void fs_node_changed(struct fs_node *n)
{
	n->gen++;
	if (n->kcache != FS_KC_NONE)
		n->kcache = FS_KC_STALE;
	if (n->kattr && fs.live) {
		fuse_lowlevel_notify_inval_inode(fs.se, n->ino, -1, 0);
		n->kattr = 0;
	}
}

void fs_streams_changed(struct fs_db *db, uint32_t tid)
{
	if (tid)
		db->sgen[tid % 64]++;
	else
		db->sgen_all++;
}

int fs_stream_node_fmt(const struct fs_node *n)
{
	return n->spages ? n->sfmt : (int)((n->ino >> 32) & 3);
}

struct fs_node *fs_table_node(struct fs_db *db, const char *name,
			      const struct store_table *tb)
{
	struct fs_node *n = fs_node_new(fs_db_ino(db, tb->ino), FS_TABLE);
	if (!n)
		return NULL;
	if (!n->tname) {
		n->db = db;
		n->tid = tb->tid;
		n->tname = strdup(name);
		if (!n->tname) {
			fs_node_maybe_free(n);
			return NULL;
		}
	}
	return n;
}

/*
 * The table a node's files belong to: a table's name, or "" for the
 * scratch files of a database directory (kept under table number 0, which
 * no table gets).
 */
const char *fs_tname_of(const struct fs_node *tn)
{
	return tn->tname ? tn->tname : "";
}

/* A node for an object of table tn; key bytes copied in. */
struct fs_node *fs_obj_node(struct fs_node *tn, enum store_kind kind,
			    const void *key, size_t keylen, uint64_t ino)
{
	struct fs_node *n =
	    fs_node_new(fs_db_ino(tn->db, ino),
			kind == STORE_RECORD ? FS_RECORD : FS_SCRATCH);
	if (!n)
		return NULL;
	if (!n->tname) {
		n->db = tn->db;
		n->tid = tn->tid;
		n->tname = strdup(fs_tname_of(tn));
		if (!n->tname || fs_node_set_key(n, key, keylen)) {
			fs_node_maybe_free(n);
			return NULL;
		}
	} else if (n->keylen != keylen || memcmp(n->key, key, keylen) != 0 ||
		   n->tid != tn->tid) {
		/* Renamed behind the kernel's back: follow the object. */
		free(n->tname);
		n->tname = strdup(fs_tname_of(tn));
		n->tid = tn->tid;
		if (!n->tname || fs_node_set_key(n, key, keylen))
			return NULL;
	}
	n->kind = kind == STORE_RECORD ? FS_RECORD : FS_SCRATCH;
	return n;
}

/* The node of a record being created (not yet committed) under key. */
struct fs_node *fs_find_pending(const struct fs_node *tn, const uint8_t *key,
				size_t keylen)
{
	struct fs_file *f;
	for (f = fs.files; f; f = f->next) {
		struct fs_node *n = f->node;
		if (n->pending == f && !n->unlinked && n->db == tn->db &&
		    n->tid == tn->tid && n->keylen == keylen &&
		    memcmp(n->key, key, keylen) == 0)
			return n;
	}
	return NULL;
}

/* The node of a name a table has but does not store (.next, dog.schema.json).
 */
struct fs_node *fs_special_node(struct fs_db *db, uint32_t tid,
				const char *tname, size_t tlen, uint64_t local,
				enum fs_kind kind)
{
	struct fs_node *n = fs_node_new(fs_db_ino(db, local | tid), kind);
	if (n && !n->tname) {
		n->db = db;
		n->tid = tid;
		n->tname = strndup(tname, tlen);
		if (!n->tname) {
			fs_node_maybe_free(n);
			n = NULL;
		}
	}
	return n;
}

struct fs_node *fs_schema_node(struct fs_db *db)
{
	struct fs_node *n =
	    fs_node_new(fs_db_ino(db, FS_LOCAL_SCHEMA), FS_SCHEMA);
	if (n)
		n->db = db;
	return n;
}
