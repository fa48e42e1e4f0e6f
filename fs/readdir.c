/*
 * readdir.c: directory listings.
 *
 * A handle keeps where its listing stands (the last name returned), so a
 * table of millions is listed from an LMDB cursor holding one key, never
 * the listing; an offset from the last reply (a buffer that took fewer
 * entries than sent) resumes from that entry.  Names that are reachable
 * but not listed stay out (a table's .by shows with -o listby).  What each
 * .by directory holds is by.c's; this file only lists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

/* Table entries listed between two store_env_unmap_pages() (~16 MiB of
 * records of ~200 bytes) */
#define FS_LIST_UNMAP 4096

/* Directory handle: where the listing stands, to resume without seeking. */
struct fs_dir {
	off_t next_off; /* offset the next entry will carry */
	int phase;	/* 0 dots, 1 records/tables, 2 scratch, 3 done */
	uint8_t *last;	/* key (or name) of the last entry returned, or NULL;
			 * when set it points into lastbuf */
	size_t lastlen;
	uint8_t *lastbuf; /* kept across entries: no allocation per entry */
	size_t lastcap;
	size_t index; /* root: database index */
};

struct dir_hist {
	off_t off;
	int phase;
	size_t koff; /* the key's bytes in fs_dirh.hkeys */
	size_t keylen;
};

struct fs_dirh {
	struct fs_dir pos;
	uint8_t **keys; /* FS_BYVAL: the records it lists (fs_by_match_keys) */
	size_t nkeys;
	struct dir_hist *hist; /* entries of the last reply */
	size_t nhist, caphist;
	uint8_t *hkeys; /* their keys, one after another */
	size_t hklen, hkcap;
};

static void hist_clear(struct fs_dirh *d)
{
	d->nhist = 0;
	d->hklen = 0;
}

/* Where the listing goes on from: after key (NULL: from the start).  The
 * buffer is kept, so a listing of a million costs no allocation each. */
static void pos_set_last(struct fs_dir *pos, const void *key, size_t len)
{
	if (!key) {
		pos->last = NULL;
		pos->lastlen = 0;
		return;
	}
	if (len + 1 > pos->lastcap) {
		size_t c = len + 1 < 64 ? 64 : 2 * (len + 1);
		uint8_t *b = realloc(pos->lastbuf, c);
		if (!b) {
			pos->last = NULL; /* from the start: never a gap */
			pos->lastlen = 0;
			return;
		}
		pos->lastbuf = b;
		pos->lastcap = c;
	}
	memmove(pos->lastbuf, key, len);
	pos->last = pos->lastbuf;
	pos->lastlen = len;
}

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_get(ino);
	struct fs_dirh *d;
	fs.n_ops++;
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind != FS_ROOT && n->kind != FS_STATUS && n->kind != FS_DB &&
	    n->kind != FS_TABLE && n->kind != FS_BY && n->kind != FS_BYATTR &&
	    n->kind != FS_BYVAL && n->kind != FS_HISTDIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (n->kind == FS_BYVAL) {
		/* The matches, found once: a range or an AND is answered
		 * from the indexes as a whole, then listed in key order. */
		int rc = fs_by_match_keys(n, &d->keys, &d->nkeys);
		if (rc) {
			free(d);
			fuse_reply_err(req, rc);
			return;
		}
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		free(d->keys);
		free(d);
	}
}

struct fill {
	fuse_req_t req;
	char *buf;
	size_t size, used;
	struct fs_dirh *d;
	off_t skip; /* entries to pass over before emitting (seekdir) */
	int full;
};

/* Add one entry; returns 1 when the reply is full. */
static int emit(struct fill *fl, const char *name, uint64_t ino, mode_t mode,
		int phase, const void *key, size_t keylen)
{
	struct stat st;
	struct fs_dir *pos = &fl->d->pos;
	struct dir_hist *h;
	size_t need;
	off_t off = pos->next_off + 1;

	if (fl->skip > 0) {
		fl->skip--;
		goto advance;
	}
	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = mode;
	need = fuse_add_direntry(fl->req, fl->buf + fl->used,
				 fl->size - fl->used, name, &st, off);
	if (need > fl->size - fl->used) {
		fl->full = 1;
		return 1;
	}
	fl->used += need;
	if (fl->d->nhist == fl->d->caphist) {
		size_t c = fl->d->caphist ? fl->d->caphist * 2 : 64;
		struct dir_hist *nh = realloc(fl->d->hist, c * sizeof(*nh));
		if (!nh)
			return 1;
		fl->d->hist = nh;
		fl->d->caphist = c;
	}
	if (fl->d->hkcap - fl->d->hklen < keylen) {
		size_t c = fl->d->hkcap ? fl->d->hkcap : 4096;
		uint8_t *nk;
		while (c - fl->d->hklen < keylen)
			c *= 2;
		nk = realloc(fl->d->hkeys, c);
		if (!nk)
			return 1;
		fl->d->hkeys = nk;
		fl->d->hkcap = c;
	}
	h = &fl->d->hist[fl->d->nhist];
	h->off = off;
	h->phase = phase;
	h->keylen = keylen;
	h->koff = fl->d->hklen;
	if (keylen) /* "." and ".." have none, and no buffer may exist yet */
		memcpy(fl->d->hkeys + h->koff, key, keylen);
	fl->d->hklen += keylen;
	fl->d->nhist++;
advance:
	pos->next_off = off;
	pos->phase = phase;
	pos_set_last(pos, key, keylen);
	return 0;
}

static int list_root(struct fill *fl)
{
	struct fs_dir *pos = &fl->d->pos;
	struct fs_db *db;
	for (db = fs.dbs; db; db = db->next) {
		size_t l = strlen(db->name);
		if (db->dropped)
			continue;
		if (pos->last &&
		    fs_bytes_cmp(db->name, l, pos->last, pos->lastlen) <= 0)
			continue;
		if (emit(fl, db->name, fs_db_ino(db, FS_INO_DBDIR), S_IFDIR, 1,
			 db->name, l))
			return 0;
	}
	pos->phase = 3;
	return 0;
}

static int list_status(struct fill *fl)
{
	static const char *const names[] = {"errors", "stats"};
	/* errors: the node a lookup gives now (see log.c) */
	const uint64_t inos[] = {fs_errors_ino(), FS_INO_STATS};
	struct fs_dir *pos = &fl->d->pos;
	size_t i;
	for (i = 0; i < 2; i++) {
		size_t l = strlen(names[i]);
		if (pos->last &&
		    fs_bytes_cmp(names[i], l, pos->last, pos->lastlen) <= 0)
			continue;
		if (emit(fl, names[i], inos[i], S_IFREG, 1, names[i], l))
			return 0;
	}
	pos->phase = 3;
	return 0;
}

/*
 * A database directory: schema.graphql, then the tables, then scratch
 * files (phase 1: schema.graphql, key "", and the tables, key their name;
 * phase 2: scratch files).
 */
static int list_db(struct fill *fl, struct fs_node *dn)
{
	struct fs_dir *pos = &fl->d->pos;
	struct store_txn *t;
	struct store_table tb;
	struct store_cursor *c;
	const char *name;
	size_t nl;
	char nbuf[512];
	int rc;
	/*
	 * schema.graphql first: tar, cp -r and rsync restore it before the
	 * tables' records, so the tables are declared when those arrive.
	 */
	if (pos->phase == 1 && !pos->last && fs_schema_exists(dn->db) &&
	    emit(fl, SCHEMA_FILE, fs_db_ino(dn->db, FS_LOCAL_SCHEMA), S_IFREG,
		 1, "", 0))
		return 0;
	rc = store_read_begin(dn->db->env, &t);
	if (rc)
		return rc;
	while (pos->phase == 1) {
		if (pos->last && pos->lastlen)
			rc = store_table_next(t, (char *)pos->last,
					      pos->lastlen, &name, &nl, &tb);
		else
			rc = store_table_next(t, NULL, 0, &name, &nl, &tb);
		if (rc == ENOENT) {
			rc = 0;
			pos->phase = 2;
			pos_set_last(pos, NULL, 0);
			break;
		}
		if (rc)
			goto out;
		snprintf(nbuf, sizeof(nbuf), "%.*s", (int)nl, name);
		if (emit(fl, nbuf, fs_db_ino(dn->db, tb.ino), S_IFDIR, 1, name,
			 nl))
			goto out;
	}
	if (pos->phase == 2) {
		const void *key;
		size_t kl;
		struct store_obj o;
		rc = store_cursor_open(t, 0, STORE_SCRATCH, pos->last,
				       pos->lastlen, &c);
		if (rc)
			goto out;
		while ((rc = store_cursor_next(c, &key, &kl, &o)) == 0) {
			if (kl > SCHEMA_NAME_MAX)
				continue;
			memcpy(nbuf, key, kl);
			nbuf[kl] = 0;
			if (emit(fl, nbuf, fs_db_ino(dn->db, o.ino), S_IFREG, 2,
				 key, kl))
				break;
		}
		store_cursor_close(c);
		if (rc == ENOENT) {
			rc = 0;
			pos->phase = 3;
		}
	}
out:
	store_txn_abort(t);
	return rc;
}

static int list_table(struct fill *fl, struct fs_node *tn)
{
	struct fs_dir *pos = &fl->d->pos;
	struct store_txn *t;
	struct store_cursor *c = NULL;
	int rc = store_read_begin(tn->db->env, &t), phase;
	if (rc)
		return rc;
	for (phase = 1; phase <= 2 && !fl->full; phase++) {
		enum store_kind kind =
		    phase == 1 ? STORE_RECORD : STORE_SCRATCH;
		const void *key;
		size_t kl;
		struct store_obj o;
		if (pos->phase > phase)
			continue;
		rc = store_cursor_open(t, tn->tid, kind,
				       pos->phase == phase ? pos->last : NULL,
				       pos->lastlen, &c);
		if (rc)
			break;
		while ((rc = store_cursor_next(c, &key, &kl, &o)) == 0) {
			char name[SCHEMA_NAME_MAX + 1];
			if (kind == STORE_RECORD) {
				fs_record_name(key, kl, name);
			} else {
				if (kl > SCHEMA_NAME_MAX)
					continue;
				memcpy(name, key, kl);
				name[kl] = 0;
			}
			if (emit(fl, name, fs_db_ino(tn->db, o.ino), S_IFREG,
				 phase, key, kl))
				break;
			/* A listing of millions reads the whole file: keep
			 * the daemon's resident size small (W3, issue 5). */
			if (++fs.n_listed % FS_LIST_UNMAP == 0)
				store_env_unmap_pages(tn->db->env);
			if (fs.n_listed % 256 == 0 && o.data)
				store_env_prefetch(tn->db->env, o.data);
		}
		store_cursor_close(c);
		c = NULL;
		if (rc == ENOENT) {
			rc = 0;
			/* next phase starts at its beginning */
			pos->phase = phase + 1;
			pos_set_last(pos, NULL, 0);
		}
		if (rc)
			break;
	}
	store_txn_abort(t);
	return rc;
}

static int by_emit(void *ctx, const char *name, uint64_t ino, mode_t mode,
		   const void *key, size_t keylen)
{
	return emit(ctx, name, ino, mode, 1, key, keylen);
}

/* The .by tree: attributes, values, or the records a value lists. */
static int list_by(struct fill *fl, struct fs_node *n)
{
	struct fs_dir *pos = &fl->d->pos;
	struct fs_dirh *d = fl->d;
	size_t lo = 0, hi, i;
	int rc = 0;
	if (n->kind == FS_BY)
		rc = fs_by_list_attrs(n, pos->last, pos->lastlen, by_emit, fl);
	else if (n->kind == FS_BYATTR)
		rc = fs_by_list_values(n, pos->last, pos->lastlen, by_emit, fl);
	if (n->kind != FS_BYVAL) {
		if (!rc && !fl->full)
			pos->phase = 3;
		return rc;
	}
	/* first key after the last listed: binary search */
	hi = d->nkeys;
	while (pos->last && lo < hi) {
		size_t mid = (lo + hi) / 2;
		const uint8_t *k = d->keys[mid];
		size_t kl = (size_t)k[0] << 8 | k[1];
		if (fs_bytes_cmp(k + 2, kl, pos->last, pos->lastlen) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < d->nkeys; i++) {
		const uint8_t *k = d->keys[i];
		size_t kl = (size_t)k[0] << 8 | k[1];
		char name[SCHEMA_NAME_MAX + 1];
		fs_record_name(k + 2, kl, name);
		if (emit(fl, name, fs_by_link_ino(n, k + 2, kl), S_IFLNK, 1,
			 k + 2, kl))
			return 0;
	}
	pos->phase = 3;
	return 0;
}

void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_get(ino);
	struct fs_dirh *d = (struct fs_dirh *)(uintptr_t)fi->fh;
	struct fs_dir *pos = &d->pos;
	struct fill fl = {.req = req, .size = size, .d = d};
	size_t i;
	int rc = 0;

	fs.n_ops++;
	if (!n) {
		rc = ESTALE;
		goto out;
	}
	/* Where does off leave us?  Mostly where the last reply ended, or
	 * at one of its entries that the caller's buffer could not take. */
	if (off != pos->next_off || off == 0) {
		int found = 0;
		for (i = 0; i < d->nhist && off; i++) {
			if (d->hist[i].off == off) {
				struct dir_hist *h = &d->hist[i];
				pos_set_last(pos, d->hkeys + h->koff,
					     h->keylen);
				pos->phase = h->phase;
				pos->next_off = off;
				found = 1;
				break;
			}
		}
		if (!found) {
			pos_set_last(pos, NULL, 0);
			pos->phase = 0;
			pos->next_off = 0;
			fl.skip = off;
		}
	}
	hist_clear(d);
	fl.buf = malloc(size);
	if (!fl.buf) {
		rc = ENOMEM;
		goto out;
	}
	if (pos->phase == 0) {
		uint64_t pino = n->ino;
		if (pos->next_off < 1 &&
		    emit(&fl, ".", n->ino, S_IFDIR, 0, "", 0))
			goto reply;
		if (pos->next_off < 2) {
			if (emit(&fl, "..", pino, S_IFDIR, 0, "", 0))
				goto reply;
		}
		/* -o listby: the index tree too, for browsing */
		if (fs.opts.listall && n->kind == FS_TABLE &&
		    pos->next_off < 3) {
			struct fs_node *bn = NULL;
			struct schema_err err;
			if (fs_by_child(n, ".by", &bn, &err) == 0) {
				uint64_t bino = bn->ino;
				fs_node_maybe_free(bn);
				if (emit(&fl, ".by", bino, S_IFDIR, 0, "", 0))
					goto reply;
			}
		}
		/* phase 0 done: listing proper starts with no last key */
		pos_set_last(pos, NULL, 0);
		pos->phase = 1;
	}
	switch (n->kind) {
	case FS_ROOT:
		if (pos->phase < 3)
			rc = list_root(&fl);
		break;
	case FS_STATUS:
		if (pos->phase < 3)
			rc = list_status(&fl);
		break;
	case FS_DB:
		if (n->db->dropped)
			break;
		if (pos->phase < 3)
			rc = list_db(&fl, n);
		break;
	case FS_TABLE:
		if (n->db->dropped)
			break;
		if (pos->phase < 3)
			rc = list_table(&fl, n);
		break;
	case FS_BY:
	case FS_BYATTR:
	case FS_BYVAL:
		if (n->db->dropped)
			break;
		if (pos->phase < 3)
			rc = list_by(&fl, n);
		break;
	case FS_HISTDIR:
		break; /* each record's history is reachable, never listed */
	default:
		rc = ENOTDIR;
	}
reply:
	if (rc && fl.used == 0)
		goto out;
	fuse_reply_buf(req, fl.buf, fl.used);
	free(fl.buf);
	return;
out:
	free(fl.buf);
	fuse_reply_err(req, rc);
}

void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_dirh *d = (struct fs_dirh *)(uintptr_t)fi->fh;
	hist_clear(d);
	free(d->hist);
	free(d->hkeys);
	free(d->pos.lastbuf);
	free(d->keys);
	free(d);
	fuse_reply_err(req, 0);
}
