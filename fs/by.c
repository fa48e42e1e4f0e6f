/*
 * by.c: the .by tree, a table's indexes as directories.
 *
 *   dog/.by/                      the indexed attributes
 *   dog/.by/breed/                the values breed holds
 *   dog/.by/breed/Lab/            a symlink per record with breed Lab
 *   dog/.by/breed/Lab/.by/age/3/  and age 3 (an AND of indexes)
 *   dog/.by/age/3..7/             a range, reachable by name only
 *
 * A node of this tree carries its query as a blob in node->key: items of
 * [u8 type][u16 BE length][bytes], type 'A' an attribute, 'E' a value it
 * must equal, 'L' and 'H' the ends of a range, 'K' a record key (for the
 * symlinks), 'F' the format of the query's stream (Lab.ndjson beside Lab/,
 * a FS_BYSTREAM node, which stream.c reads).  Answers come from the index
 * alone: the records themselves are never read.  The tree is read-only but for
 * one move: mv of a link from one value's directory to another's sets the
 * record's attribute (fs_by_move), stored through record.c.  Listings are
 * readdir.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

#define BY_MAX_CONDS 16

/* What mv through .by changes: record key's attr, from old to val. */
struct fs_by_move {
	uint8_t key[SCHEMA_KEYBUF_MAX];
	size_t keylen;
	char attr[STORE_ATTR_MAX + 1];
	uint8_t old[SCHEMA_VALUE_MAX], val[SCHEMA_VALUE_MAX];
	size_t oldlen, vallen;
};

struct by_cond {
	const uint8_t *attr;
	size_t alen;
	int range;
	const uint8_t *lo, *hi; /* value, or the range's ends */
	size_t lolen, hilen;
};

struct by_query {
	struct by_cond c[BY_MAX_CONDS];
	int n;
	const uint8_t *attr; /* a trailing attribute without a value */
	size_t alen;
	const uint8_t *key; /* a trailing record key */
	size_t kl;
	int fmt; /* a stream's format + 1; 0: no stream */
};

static int parse(const uint8_t *b, size_t len, struct by_query *q)
{
	size_t at = 0;
	memset(q, 0, sizeof(*q));
	while (at < len) {
		uint8_t type;
		size_t l;
		const uint8_t *p;
		if (len - at < 3)
			return EIO;
		type = b[at];
		l = (size_t)b[at + 1] << 8 | b[at + 2];
		p = b + at + 3;
		if (len - at - 3 < l)
			return EIO;
		at += 3 + l;
		switch (type) {
		case 'A':
			if (q->attr)
				return EIO;
			q->attr = p;
			q->alen = l;
			break;
		case 'E':
		case 'L':
			if (!q->attr || q->n == BY_MAX_CONDS)
				return EIO;
			q->c[q->n].attr = q->attr;
			q->c[q->n].alen = q->alen;
			q->c[q->n].lo = p;
			q->c[q->n].lolen = l;
			q->c[q->n].range = type == 'L';
			q->attr = NULL;
			q->alen = 0;
			q->n++;
			break;
		case 'H':
			if (!q->n || !q->c[q->n - 1].range)
				return EIO;
			q->c[q->n - 1].hi = p;
			q->c[q->n - 1].hilen = l;
			break;
		case 'K':
			q->key = p;
			q->kl = l;
			break;
		case 'F':
			if (l != 1)
				return EIO;
			q->fmt = p[0] + 1;
			break;
		default:
			return EIO;
		}
	}
	return 0;
}

/* Append an item to a blob being built in buf (at most cap bytes). */
static int put_item(uint8_t *buf, size_t *len, size_t cap, uint8_t type,
		    const void *p, size_t l)
{
	if (l > 0xffff || *len + 3 + l > cap)
		return ENAMETOOLONG;
	buf[*len] = type;
	buf[*len + 1] = (uint8_t)(l >> 8);
	buf[*len + 2] = (uint8_t)l;
	memcpy(buf + *len + 3, p, l);
	*len += 3 + l;
	return 0;
}

/* Does a value fall in the range of c (an empty end is open)? */
static int in_range(const struct by_cond *c, const uint8_t *v, size_t vl)
{
	if (c->lolen && fs_bytes_cmp(v, vl, c->lo, c->lolen) < 0)
		return 0;
	if (c->hilen && fs_bytes_cmp(v, vl, c->hi, c->hilen) > 0)
		return 0;
	return 1;
}

/* Does the record key hold a value in c's range?  Walks the range. */
static int range_has(struct store_txn *t, uint32_t tid, const struct by_cond *c,
		     const uint8_t *key, size_t kl)
{
	struct store_icursor *cur;
	const void *e;
	size_t el;
	int found = 0;
	if (store_icursor_open(t, tid, c->attr, c->alen, &cur))
		return 0;
	if (c->lolen)
		store_icursor_seek(cur, c->lo, c->lolen);
	while (!found && store_icursor_next(cur, &e, &el) == 0) {
		size_t vl = schema_value_len(e, el);
		if (!vl || !in_range(c, e, vl))
			break;
		found = el - vl == kl &&
			memcmp((const uint8_t *)e + vl, key, kl) == 0;
	}
	store_icursor_close(cur);
	return found;
}

/* Does record key meet every condition of q (but skip)? */
static int matches(struct store_txn *t, uint32_t tid, const struct by_query *q,
		   int skip, const uint8_t *key, size_t kl)
{
	int i;
	for (i = 0; i < q->n; i++) {
		const struct by_cond *c = &q->c[i];
		if (i == skip)
			continue;
		if (c->range ? !range_has(t, tid, c, key, kl)
			     : !store_index_has(t, tid, c->attr, c->alen, c->lo,
						c->lolen, key, kl))
			return 0;
	}
	return 1;
}

/* A stable inode number for a node of the tree: a hash of its query. */
static uint64_t by_ino(const struct fs_node *tn, enum fs_kind kind,
		       const uint8_t *blob, size_t len, unsigned probe)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;
	h = (h ^ tn->tid) * 0x100000001b3ull;
	h = (h ^ (uint64_t)kind) * 0x100000001b3ull;
	for (i = 0; i < len; i++)
		h = (h ^ blob[i]) * 0x100000001b3ull;
	h += probe;
	return fs_db_ino(tn->db, (1ull << 39) | (h & ((1ull << 39) - 1)));
}

/* The node for (kind, blob) under table node tn's table. */
static struct fs_node *by_node(const struct fs_node *tn, enum fs_kind kind,
			       const uint8_t *blob, size_t len)
{
	unsigned probe;
	for (probe = 0; probe < 64; probe++) {
		uint64_t ino = by_ino(tn, kind, blob, len, probe);
		struct fs_node *n = fs_node_get(ino);
		if (n &&
		    (n->kind != kind || n->db != tn->db || n->tid != tn->tid ||
		     n->keylen != len || memcmp(n->key, blob, len) != 0))
			continue; /* a hash collision: try the next number */
		n = fs_node_new(ino, kind);
		if (!n)
			return NULL;
		if (!n->tname) {
			n->db = tn->db;
			n->tid = tn->tid;
			n->tname = strdup(tn->tname);
			if (!n->tname || fs_node_set_key(n, blob, len)) {
				fs_node_maybe_free(n);
				return NULL;
			}
		}
		return n;
	}
	return NULL;
}

/*
 * The value of attribute-directory node p whose hashed name is name: the
 * candidates start with the nl bytes in val; the one whose name matches
 * replaces them.  ENOENT if none.
 */
static int hashed_value(struct store_txn *t, const struct fs_node *p,
			const char *name, size_t nl, uint8_t *val, size_t *vl)
{
	struct by_query q;
	struct store_icursor *cur;
	uint8_t prefix[SCHEMA_VALUE_MAX];
	size_t pl = *vl;
	const void *e;
	size_t el;
	int rc = parse(p->key, p->keylen, &q);
	if (rc || !q.attr)
		return ENOENT;
	memcpy(prefix, val, pl);
	rc = store_icursor_open(t, p->tid, q.attr, q.alen, &cur);
	if (rc)
		return rc;
	store_icursor_seek(cur, prefix, pl);
	rc = ENOENT;
	while (store_icursor_next(cur, &e, &el) == 0) {
		char cand[SCHEMA_NAME_MAX + 1];
		size_t l = schema_value_len(e, el), cl;
		if (!l || l < pl || memcmp(e, prefix, pl) != 0)
			break;
		cl = schema_value_to_name(e, l, cand);
		if (cl == nl && memcmp(cand, name, nl) == 0) {
			memcpy(val, e, l);
			*vl = l;
			rc = 0;
			break;
		}
	}
	store_icursor_close(cur);
	return rc;
}

int fs_by_child(struct fs_node *p, const char *name, struct fs_node **out,
		struct schema_err *err)
{
	uint8_t blob[4096];
	size_t len = p->kind == FS_TABLE ? 0 : p->keylen, nl = strlen(name);
	struct by_query q;
	struct store_txn *t = NULL;
	struct fs_node *n = NULL;
	int rc;

	if (len > sizeof(blob))
		return ENOENT;
	if (len)
		memcpy(blob, p->key, len);
	if (p->kind == FS_TABLE || p->kind == FS_BYVAL) {
		if (strcmp(name, ".by") != 0) {
			if (p->kind == FS_BYVAL)
				goto record;
			return ENOENT;
		}
		n = by_node(p, FS_BY, blob, len);
		*out = n;
		return n ? 0 : ENOMEM;
	}
	rc = store_read_begin(p->db->env, &t);
	if (rc)
		return rc;
	if (p->kind == FS_BY) {
		/* an attribute with entries; names are attributes as-is */
		rc = store_attr_get(t, p->tid, name, nl);
		if (rc)
			goto out;
		rc = put_item(blob, &len, sizeof(blob), 'A', name, nl);
		if (rc)
			goto out;
		n = by_node(p, FS_BYATTR, blob, len);
		goto made;
	}
	if (p->kind == FS_BYATTR) {
		uint8_t lo[SCHEMA_VALUE_MAX], hi[SCHEMA_VALUE_MAX];
		size_t lol = 0, hil = 0, stem;
		char sname[SCHEMA_NAME_MAX + 1];
		int fmt = schema_stream_fmt(name, nl, &stem);
		enum fs_kind kind = FS_BYVAL;
		if (fmt >= 0 && stem < sizeof(sname)) {
			/* VALUE.ndjson: the stream of VALUE's directory */
			uint8_t f = (uint8_t)fmt;
			memcpy(sname, name, stem);
			sname[stem] = '\0';
			name = sname;
			nl = stem;
			kind = FS_BYSTREAM;
			/* the format is an item of the query's own */
			rc = put_item(blob, &len, sizeof(blob), 'F', &f, 1);
			if (rc)
				goto out;
		}
		rc = schema_name_to_range(name, nl, lo, &lol, hi, &hil, err);
		if (rc == 0) {
			/* a range: reachable even when nothing falls in it */
			rc = put_item(blob, &len, sizeof(blob), 'L', lo, lol);
			if (!rc)
				rc = put_item(blob, &len, sizeof(blob), 'H', hi,
					      hil);
			if (rc)
				goto out;
			n = by_node(p, kind, blob, len);
			goto made;
		}
		if (rc != ENOENT)
			goto out;
		rc = schema_name_to_value(name, nl, lo, &lol, err);
		if (rc == EAGAIN) {
			/* the hashed form: lo holds the bytes its value
			 * starts with; find the value that has this name */
			rc = hashed_value(t, p, name, nl, lo, &lol);
			if (rc)
				goto out;
		}
		if (rc)
			goto out;
		rc = put_item(blob, &len, sizeof(blob), 'E', lo, lol);
		if (rc)
			goto out;
		/*
		 * Any value is reachable, held or not: an empty directory
		 * for one no record holds, so that mv can set it.
		 */
		n = by_node(p, kind, blob, len);
		goto made;
	}
	rc = ENOENT;
	goto out;
record : {
	char kbuf[SCHEMA_KEYBUF_MAX];
	uint8_t kb[SCHEMA_KEYBUF_MAX];
	struct schema_key k;
	size_t kl;
	rc = schema_name_to_key(name, nl, &k, kbuf, sizeof(kbuf), err);
	if (rc)
		return ENOENT;
	kl = schema_key_encode(&k, kb);
	rc = parse(blob, len, &q);
	if (rc)
		return rc;
	rc = store_read_begin(p->db->env, &t);
	if (rc)
		return rc;
	if (!matches(t, p->tid, &q, -1, kb, kl)) {
		rc = ENOENT;
		goto out;
	}
	rc = put_item(blob, &len, sizeof(blob), 'K', kb, kl);
	if (rc)
		goto out;
	n = by_node(p, FS_BYLINK, blob, len);
}
made:
	rc = n ? 0 : ENOMEM;
	*out = n;
out:
	store_txn_abort(t);
	return rc;
}

/* "../" once per level up to the table, then the record's name. */
size_t fs_by_readlink(const struct fs_node *n, char *buf, size_t size)
{
	struct by_query q;
	char name[SCHEMA_NAME_MAX + 1];
	struct schema_key k;
	size_t at = 0;
	int i;
	if (parse(n->key, n->keylen, &q) || !q.key ||
	    schema_key_decode(q.key, q.kl, &k))
		return 0;
	schema_key_to_name(&k, name);
	/* each condition is .by/attr/value: three levels */
	for (i = 0; i < 3 * q.n && at + 3 < size; i++) {
		memcpy(buf + at, "../", 3);
		at += 3;
	}
	at += (size_t)snprintf(buf + at, size - at, "%s", name);
	return at < size ? at : 0;
}

/* List the attributes under a .by node, after (after, afterlen). */
int fs_by_list_attrs(struct fs_node *n, const uint8_t *after, size_t afterlen,
		     fs_by_emit_fn emit, void *ctx)
{
	struct store_txn *t;
	const void *a = after;
	size_t al = afterlen;
	int rc = store_read_begin(n->db->env, &t);
	if (rc)
		return rc;
	while ((rc = store_attr_next(t, n->tid, a, al, &a, &al)) == 0) {
		char name[STORE_ATTR_MAX + 1];
		uint8_t blob[4096];
		size_t bl = n->keylen;
		/* names a directory cannot carry are left out */
		if (al > SCHEMA_NAME_MAX || memchr(a, '/', al) ||
		    memchr(a, 0, al) || (al <= 2 && memcmp(a, "..", al) == 0))
			continue;
		memcpy(name, a, al);
		name[al] = 0;
		memcpy(blob, n->key, bl);
		if (put_item(blob, &bl, sizeof(blob), 'A', a, al))
			continue;
		if (emit(ctx, name, by_ino(n, FS_BYATTR, blob, bl, 0), S_IFDIR,
			 a, al))
			break;
	}
	store_txn_abort(t);
	return rc == ENOENT ? 0 : rc;
}

/* List the distinct values of a FS_BYATTR node, after value after. */
int fs_by_list_values(struct fs_node *n, const uint8_t *after, size_t afterlen,
		      fs_by_emit_fn emit, void *ctx)
{
	struct by_query q;
	struct store_txn *t;
	struct store_icursor *cur;
	const void *e;
	size_t el;
	int rc = parse(n->key, n->keylen, &q);
	if (rc || !q.attr)
		return rc ? rc : EIO;
	rc = store_read_begin(n->db->env, &t);
	if (rc)
		return rc;
	rc = store_icursor_open(t, n->tid, q.attr, q.alen, &cur);
	if (rc)
		goto out;
	if (after) {
		/* past every entry of the last value listed */
		uint8_t pos[SCHEMA_VALUE_MAX + 1];
		memcpy(pos, after, afterlen);
		pos[afterlen] = 0xff;
		store_icursor_seek(cur, pos, afterlen + 1);
	}
	while ((rc = store_icursor_next(cur, &e, &el)) == 0) {
		uint8_t val[SCHEMA_VALUE_MAX], pos[SCHEMA_VALUE_MAX + 1];
		char name[SCHEMA_NAME_MAX + 1];
		uint8_t blob[4096];
		size_t vl = schema_value_len(e, el), bl = n->keylen;
		if (!vl)
			break;
		/*
		 * Under an AND (.by/breed/Lab/.by/age/) a value is listed
		 * once some record holding it meets the outer conditions;
		 * the entries of a value nobody there holds are passed over.
		 */
		if (q.n && !matches(t, n->tid, &q, -1, (const uint8_t *)e + vl,
				    el - vl))
			continue;
		memcpy(val, e, vl);
		memcpy(blob, n->key, bl);
		if (!put_item(blob, &bl, sizeof(blob), 'E', val, vl) &&
		    schema_value_to_name(val, vl, name) &&
		    emit(ctx, name, by_ino(n, FS_BYVAL, blob, bl, 0), S_IFDIR,
			 val, vl))
			break;
		memcpy(pos, val, vl);
		pos[vl] = 0xff;
		store_icursor_seek(cur, pos, vl + 1);
	}
	store_icursor_close(cur);
	if (rc == ENOENT)
		rc = 0;
out:
	store_txn_abort(t);
	return rc;
}

static int keycmp_packed(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a;
	const uint8_t *y = *(const uint8_t *const *)b;
	size_t xl = (size_t)x[0] << 8 | x[1], yl = (size_t)y[0] << 8 | y[1];
	return fs_bytes_cmp(x + 2, xl, y + 2, yl);
}

/*
 * The keys of the records a FS_BYVAL node lists, sorted and each once:
 * *keys is an array of *count pointers to [u16 BE length][key bytes],
 * all in one allocation the caller frees with free(*keys).
 */
int fs_by_match_keys(struct fs_node *n, uint8_t ***keys, size_t *count)
{
	struct store_txn *t;
	int rc = store_read_begin(n->db->env, &t);
	if (rc)
		return rc;
	rc = fs_by_match_keys_in(t, n, keys, count);
	store_txn_abort(t);
	return rc;
}

const char *fs_by_path(const struct fs_node *n, char *buf, size_t size)
{
	struct by_query q;
	size_t at;
	int i;
	if (parse(n->key, n->keylen, &q))
		return fs_node_path(n, NULL);
	at = (size_t)snprintf(buf, size, "%s/%s", n->db->name, n->tname);
	for (i = 0; i < q.n && at < size; i++) {
		const struct by_cond *c = &q.c[i];
		char lo[SCHEMA_NAME_MAX + 1] = "", hi[SCHEMA_NAME_MAX + 1] = "";
		if (c->lolen)
			schema_value_to_name(c->lo, c->lolen, lo);
		if (c->range && c->hilen)
			schema_value_to_name(c->hi, c->hilen, hi);
		at += (size_t)snprintf(buf + at, size - at, "/.by/%.*s/%s%s%s",
				       (int)c->alen, (const char *)c->attr, lo,
				       c->range ? ".." : "", hi);
	}
	if (q.fmt && at < size)
		snprintf(buf + at, size - at, ".%s", fs_fmt_ext(q.fmt - 1));
	return buf;
}

int fs_by_stream_fmt(const struct fs_node *n)
{
	struct by_query q;
	if (parse(n->key, n->keylen, &q) || !q.fmt)
		return SCHEMA_FMT_NDJSON;
	return q.fmt - 1;
}

int fs_by_match_keys_in(struct store_txn *t, struct fs_node *n, uint8_t ***keys,
			size_t *count)
{
	struct by_query q;
	struct store_icursor *cur;
	const struct by_cond *c;
	const void *e;
	size_t el, cnt = 0, cap = 0, used = 0, bytes = 0, i, j;
	uint8_t *pool = NULL, **arr;
	int rc = parse(n->key, n->keylen, &q);
	if (rc || q.n == 0)
		return rc ? rc : EIO;
	c = &q.c[q.n - 1]; /* the innermost condition drives: often narrowest */
	rc = store_icursor_open(t, n->tid, c->attr, c->alen, &cur);
	if (rc)
		goto out;
	if (c->lolen)
		store_icursor_seek(cur, c->lo, c->lolen);
	while ((rc = store_icursor_next(cur, &e, &el)) == 0) {
		size_t vl = schema_value_len(e, el), kl;
		if (!vl)
			break;
		if (c->range ? !in_range(c, e, vl)
			     : fs_bytes_cmp(e, vl, c->lo, c->lolen) != 0)
			break;
		kl = el - vl;
		if (!matches(t, n->tid, &q, q.n - 1, (const uint8_t *)e + vl,
			     kl))
			continue;
		if (used + 2 + kl > cap) {
			uint8_t *np;
			cap = cap ? cap * 2 : 4096;
			while (used + 2 + kl > cap)
				cap *= 2;
			np = realloc(pool, cap);
			if (!np) {
				rc = ENOMEM;
				break;
			}
			pool = np;
		}
		pool[used] = (uint8_t)(kl >> 8);
		pool[used + 1] = (uint8_t)kl;
		memcpy(pool + used + 2, (const uint8_t *)e + vl, kl);
		used += 2 + kl;
		cnt++;
	}
	store_icursor_close(cur);
	if (rc == ENOENT)
		rc = 0;
	if (rc)
		goto out;
	/* one block: the pointers, then the packed keys */
	bytes = cnt * sizeof(*arr) + used;
	arr = malloc(bytes ? bytes : 1);
	if (!arr) {
		rc = ENOMEM;
		goto out;
	}
	if (used)
		memcpy((uint8_t *)(arr + cnt), pool, used);
	for (i = 0, used = 0; i < cnt; i++) {
		uint8_t *p = (uint8_t *)(arr + cnt) + used;
		arr[i] = p;
		used += 2 + ((size_t)p[0] << 8 | p[1]);
	}
	/* a range gives a record once per value in it: sort, keep one */
	if (cnt > 1)
		qsort(arr, cnt, sizeof(*arr), keycmp_packed);
	for (i = 0, j = 0; i < cnt; i++)
		if (j == 0 || keycmp_packed(&arr[j - 1], &arr[i]) != 0)
			arr[j++] = arr[i];
	*keys = arr;
	*count = j;
out:
	free(pool);
	return rc;
}

/* The inode number a record's symlink in FS_BYVAL node n has. */
uint64_t fs_by_link_ino(const struct fs_node *n, const uint8_t *key, size_t kl)
{
	uint8_t blob[4096];
	size_t bl = n->keylen;
	if (bl > sizeof(blob))
		return 0;
	memcpy(blob, n->key, bl);
	if (put_item(blob, &bl, sizeof(blob), 'K', key, kl))
		return 0;
	return by_ino(n, FS_BYLINK, blob, bl, 0);
}

/*
 * What "mv .by/A/OLD/2.json .by/A/NEW/" asks: record 2 (which OLD's query
 * lists) gets NEW as its value of A.  Fills mv; EPERM with err when the
 * target is not a plain value directory, ENOENT when the record is not
 * listed where it is said to be.
 */
static int move_spec(struct fs_node *sp, const char *sname, struct fs_node *dp,
		     const char *dname, struct fs_by_move *mv,
		     struct schema_err *err)
{
	struct by_query sq, dq;
	char kbuf[SCHEMA_KEYBUF_MAX];
	struct schema_key k;
	struct store_txn *t;
	const struct by_cond *dc, *sc;
	int rc;

	if (sp->kind != FS_BYVAL || dp->kind != FS_BYVAL ||
	    parse(sp->key, sp->keylen, &sq) || parse(dp->key, dp->keylen, &dq))
		return schema_fail(err, EPERM,
				   "move a record's link between "
				   "value directories of one "
				   "attribute");
	dc = &dq.c[dq.n - 1];
	sc = &sq.c[sq.n - 1];
	if (dc->range)
		return schema_fail(err, EPERM, "a range is not a value to set");
	if (strcmp(sname, dname) != 0)
		return schema_fail(err, EPERM,
				   "the link keeps its name: mv it into the "
				   "value directory");
	if (schema_name_to_key(sname, strlen(sname), &k, kbuf, sizeof(kbuf),
			       err))
		return ENOENT;
	mv->keylen = schema_key_encode(&k, mv->key);
	if (dc->alen > STORE_ATTR_MAX)
		return EPERM;
	memcpy(mv->attr, dc->attr, dc->alen);
	mv->attr[dc->alen] = 0;
	memcpy(mv->val, dc->lo, dc->lolen);
	mv->vallen = dc->lolen;
	mv->oldlen = 0;
	if (!sc->range && sc->alen == dc->alen &&
	    memcmp(sc->attr, dc->attr, dc->alen) == 0) {
		memcpy(mv->old, sc->lo, sc->lolen);
		mv->oldlen = sc->lolen;
	}
	rc = store_read_begin(sp->db->env, &t);
	if (rc)
		return rc;
	rc = matches(t, sp->tid, &sq, -1, mv->key, mv->keylen) ? 0 : ENOENT;
	store_txn_abort(t);
	return rc;
}

struct by_move_op {
	struct fs_node *tn;
	struct fs_by_move mv;
	int64_t now;
	struct schema_err err;
	uint64_t ino; /* the record's */
};

static int by_move_fn(struct store_txn *t, void *arg)
{
	struct by_move_op *op = arg;
	struct store_obj o;
	char *body = NULL;
	size_t bl;
	int rc = store_obj_get(t, op->tn->tid, STORE_RECORD, op->mv.key,
			       op->mv.keylen, &o);
	if (rc)
		return rc;
	op->ino = o.ino;
	rc = schema_record_set_value(
	    o.data, o.len, op->mv.attr, op->mv.oldlen ? op->mv.old : NULL,
	    op->mv.oldlen, op->mv.val, op->mv.vallen, &body, &bl, &op->err);
	if (!rc)
		rc = fs_record_put(op->tn->db, t, op->tn->tid, op->mv.key,
				   op->mv.keylen, o.ino, o.btime_ns, NULL, body,
				   bl, NULL, op->now, 0, &op->err);
	free(body);
	return rc;
}

/* mv .by/breed/Lab/2.json .by/breed/Pug/: record 2's breed becomes Pug,
 * in one transaction with its indexes. */
int fs_by_move(struct fs_node *sp, const char *name, struct fs_node *dp,
	       const char *newname)
{
	struct by_move_op op;
	int rc;
	memset(&op, 0, sizeof(op));
	op.tn = sp;
	op.now = fs_now_ns();
	rc = move_spec(sp, name, dp, newname, &op.mv, &op.err);
	if (!rc)
		rc = store_write(sp->db->env, by_move_fn, &op);
	if (rc && rc != ENOENT)
		return fs_refuse_node(rc, dp, newname, &op.err, NULL);
	if (!rc) {
		struct fs_node *rn = fs_node_get(fs_db_ino(sp->db, op.ino));
		if (rn)
			fs_node_changed(rn);
		fs_committed(sp->db);
	}
	return rc;
}
