/*
 * dirs.c: directories' own attributes: a database's mode, owner and times,
 * kept in its environment's meta, and the times of tables and databases
 * as the names in them come and go.
 *
 * It stores what it is told; the rules of who may change what are the
 * kernel's (default_permissions) and attr.c's.  A table's row is storage's
 * (store_table_set); the root's attributes are the data directory's own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

/*
 * A database directory's mode, owner and times, kept in its environment's
 * meta ("mode", "uid", "gid", "atime", "ctime", "mtime").  All 0 where
 * none were kept: the mount owner's, 0755.
 */
static const char *const attr_names[] = {"mode",  "uid",   "gid",
					 "atime", "ctime", "mtime"};

static void attrs_vals(struct fs_db *db, uint64_t *v, int to_db)
{
	if (to_db) {
		db->attrs.mode = (uint32_t)v[0];
		db->attrs.uid = (uint32_t)v[1];
		db->attrs.gid = (uint32_t)v[2];
		db->attrs.atime_ns = (int64_t)v[3];
		db->attrs.ctime_ns = (int64_t)v[4];
		db->mtime_ns = (int64_t)v[5];
	} else {
		v[0] = db->attrs.mode;
		v[1] = db->attrs.uid;
		v[2] = db->attrs.gid;
		v[3] = (uint64_t)db->attrs.atime_ns;
		v[4] = (uint64_t)db->attrs.ctime_ns;
		v[5] = (uint64_t)db->mtime_ns;
	}
}

int fs_db_attrs_load(struct fs_db *db)
{
	uint64_t v[6] = {0};
	struct store_txn *t;
	int rc = store_read_begin(db->env, &t);
	for (size_t i = 0; !rc && i < 6; i++) {
		rc = store_meta_get(t, attr_names[i], &v[i]);
		if (rc == ENOENT)
			rc = 0;
	}
	if (!rc)
		attrs_vals(db, v, 1);
	store_txn_abort(t);
	return rc;
}

static int attrs_fn(struct store_txn *t, void *arg)
{
	struct fs_db *db = arg;
	uint64_t v[6];
	int rc = 0;
	attrs_vals(db, v, 0);
	for (size_t i = 0; !rc && i < 6; i++)
		rc = store_meta_put(t, attr_names[i], v[i]);
	return rc;
}

/* Store db->attrs and db->mtime_ns, as the caller set them. */
int fs_db_attrs_store(struct fs_db *db)
{
	int rc = store_write(db->env, attrs_fn, db);
	return rc ? rc : fs_committed(db);
}

/*
 * Directory times.  A directory's mtime and ctime move when a name in it
 * comes or goes: a table's when its records and files do, a database's
 * when its tables and the files beside them do (the root's are the data
 * directory's own, which mkdir and rmdir of a database move).  A table's
 * is written to its row, and a database's to its meta, within a second
 * of the change and at unmount, not in every create's commit: a crash may
 * lose the last second of them, never a record.
 */
/* Names in directory tid of db (tname: a table's name) changed now. */
void fs_dir_changed(struct fs_db *db, uint32_t tid, const char *tname)
{
	int64_t now = fs_now_ns();
	size_t i;

	for (i = 0; i < db->ndirtimes && db->dirtimes[i].tid != tid; i++)
		;
	if (i == db->ndirtimes) {
		struct fs_dirtime *d;
		char *name = strdup(tid ? tname : "");
		if (!name)
			return;
		d = realloc(db->dirtimes, (i + 1) * sizeof(*d));
		if (!d) {
			free(name);
			return;
		}
		db->dirtimes = d;
		d[i].tid = tid;
		d[i].tname = name;
		db->ndirtimes++;
	}
	db->dirtimes[i].ns = now;
	if (!tid) {
		db->mtime_ns = now;
		db->attrs.ctime_ns = now;
	}
}

/* A utimens of table tid's mtime wins over its names' changes so far. */
void fs_dir_time_forget(struct fs_db *db, uint32_t tid)
{
	for (size_t i = 0; i < db->ndirtimes; i++)
		if (db->dirtimes[i].tid == tid && tid) {
			free(db->dirtimes[i].tname);
			db->dirtimes[i] = db->dirtimes[--db->ndirtimes];
			return;
		}
}

/* Free what db keeps of directory times (stored or not). */
void fs_dir_times_free(struct fs_db *db)
{
	for (size_t i = 0; i < db->ndirtimes; i++)
		free(db->dirtimes[i].tname);
	free(db->dirtimes);
	db->dirtimes = NULL;
	db->ndirtimes = 0;
}

/* A change to the names of table tid not yet stored, or 0. */
int64_t fs_dir_mtime(const struct fs_db *db, uint32_t tid)
{
	for (size_t i = 0; i < db->ndirtimes; i++)
		if (db->dirtimes[i].tid == tid)
			return db->dirtimes[i].ns;
	return 0;
}

static int dirtimes_fn(struct store_txn *t, void *arg)
{
	struct fs_db *db = arg;
	struct store_table tb;
	int rc = 0;

	for (size_t i = 0; !rc && i < db->ndirtimes; i++) {
		struct fs_dirtime *d = &db->dirtimes[i];
		if (!d->tid)
			continue;
		rc = store_table_get(t, d->tname, strlen(d->tname), &tb);
		if (rc == ENOENT || (!rc && tb.tid != d->tid)) {
			rc = 0; /* dropped since */
			continue;
		}
		if (rc)
			break;
		tb.mtime_ns = d->ns;
		if (tb.attrs.mode)
			tb.attrs.ctime_ns = d->ns;
		rc = store_table_set(t, d->tname, strlen(d->tname), &tb);
	}
	return rc;
}

/* Store the directory times changed since the last time (all: at
 * unmount; else at most once a second). */
void fs_dir_times_store(int all)
{
	static int64_t last;
	int64_t now = fs_now_ns();
	struct fs_db *db;

	if (!all && now - last < 1000000000)
		return;
	last = now;
	for (db = fs.dbs; db; db = db->next) {
		int dbdir = 0;
		if (!db->ndirtimes)
			continue;
		if (!db->dropped) {
			for (size_t i = 0; i < db->ndirtimes; i++)
				dbdir |= !db->dirtimes[i].tid;
			int rc = store_write(db->env, dirtimes_fn, db);
			if (!rc)
				rc = fs_committed(db);
			if (!rc && dbdir)
				rc = fs_db_attrs_store(db);
			if (rc)
				fs_log(
				    "%s: directory times could not be stored "
				    "(%s); the directories keep their older "
				    "times",
				    db->name, strerror(rc));
		}
		fs_dir_times_free(db);
	}
}

/* Whether a directory time waits to be stored. */
int fs_dir_times_pending(void)
{
	for (struct fs_db *db = fs.dbs; db; db = db->next)
		if (db->ndirtimes)
			return 1;
	return 0;
}
