/*
 * db.c: the databases of a data directory.
 *
 * Each database is a subdirectory of DATADIR holding one LMDB environment.
 * The list is read at mount; mkdir and rmdir in the mount's root add and
 * remove entries.  The sync thread walks the list, hence fs.db_lock.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_i.h"

static void db_add(struct fs_db *db)
{
	struct fs_db **pp;
	pthread_mutex_lock(&fs.db_lock);
	/* Keep the list sorted by name so ls shows a stable order. */
	for (pp = &fs.dbs; *pp && strcmp((*pp)->name, db->name) < 0;
	     pp = &(*pp)->next)
		;
	db->next = *pp;
	*pp = db;
	pthread_mutex_unlock(&fs.db_lock);
}

static int db_open(const char *name, int create, struct fs_db **out)
{
	struct fs_db *db = calloc(1, sizeof(*db));
	int rc;
	if (!db)
		return ENOMEM;
	db->name = strdup(name);
	if (!db->name || asprintf(&db->dir, "%s/%s", fs.datadir, name) < 0) {
		free(db->name);
		free(db);
		return ENOMEM;
	}
	if (create && mkdir(db->dir, 0755) != 0 && errno != EEXIST) {
		rc = errno;
		goto fail;
	}
	rc = store_env_open(db->dir, create ? STORE_OPEN_CREATE : 0,
			    fs.opts.initial_map, &db->env);
	if (rc)
		goto fail;
	store_feed_set_limit(db->env, fs.opts.changes);
	db->feed_mtime_ns = fs_now_ns();
	rc = fs_intent_replay(db);
	if (!rc && (rc = fs_scratch_orphans_clear(db)) != 0) {
		/* they take room, nothing more: the next open tries again */
		fs_log("%s: scratch files removed while open are still "
		       "stored: %s",
		       name, strerror(rc));
		rc = 0;
	}
	if (!rc)
		rc = fs_db_attrs_load(db);
	if (!rc && (rc = fs_feed_gap_line(db)) != 0) {
		fs_log("%s: the change feed cannot tell of the changes made "
		       "while it was off: %s",
		       name, strerror(rc));
		rc = 0;
	}
	if (rc) {
		store_env_close(db->env);
		goto fail;
	}
	db->id = store_env_id(db->env);
	*out = db;
	return 0;
fail:
	free(db->dir);
	free(db->name);
	free(db);
	return rc;
}

static uint32_t max_id(void)
{
	struct fs_db *d;
	uint32_t m = 0;
	for (d = fs.dbs; d; d = d->next)
		if (d->id > m)
			m = d->id;
	return m;
}

/* Give db an id unique among the open databases, stored in db itself. */
static int db_assign_id(struct fs_db *db)
{
	struct fs_db *d;
	int clash = db->id == 0;
	for (d = fs.dbs; d && !clash; d = d->next)
		if (d != db && d->id == db->id)
			clash = 1;
	if (!clash)
		return 0;
	db->id = max_id() + 1;
	if (db->id >= (1u << (64 - FS_DB_SHIFT)))
		return ENOSPC;
	return store_env_set_id(db->env, db->id);
}

int fs_dbs_open(void)
{
	DIR *d = opendir(fs.datadir);
	struct dirent *de;
	struct fs_db *db, *todo = NULL;
	int rc = 0, any = 0;
	if (!d)
		return errno;
	while ((de = readdir(d))) {
		char path[4096];
		if (!fs_name_ok(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/data.mdb", fs.datadir,
			 de->d_name);
		if (access(path, F_OK) != 0)
			continue;
		rc = db_open(de->d_name, 0, &db);
		if (rc) {
			fs_log("%s: cannot open database: %s", path,
			       strerror(rc));
			break;
		}
		db->next = todo;
		todo = db;
		any = 1;
	}
	closedir(d);
	/* Ids first from the databases that have one, then new ones. */
	while (todo) {
		db = todo;
		todo = db->next;
		db_add(db);
	}
	for (db = fs.dbs; db && !rc; db = db->next)
		rc = db_assign_id(db);
	if (!rc && !any)
		rc = fs_db_create("data", NULL, &db);
	return rc;
}

void fs_dbs_close(void)
{
	struct fs_db *db, *next;
	pthread_mutex_lock(&fs.db_lock);
	for (db = fs.dbs; db; db = next) {
		next = db->next;
		fs_dir_times_free(db);
		fs_schema_reset(db);
		store_env_close(db->env);
		free(db->dir);
		free(db->name);
		free(db);
	}
	fs.dbs = NULL;
	pthread_mutex_unlock(&fs.db_lock);
}

struct fs_db *fs_db_find(const char *name)
{
	struct fs_db *db;
	for (db = fs.dbs; db; db = db->next)
		if (!db->dropped && strcmp(db->name, name) == 0)
			return db;
	return NULL;
}

int fs_db_create(const char *name, const struct store_attrs *attrs,
		 struct fs_db **out)
{
	struct fs_db *db;
	int rc;
	if (fs_db_find(name))
		return EEXIST;
	rc = db_open(name, 1, &db);
	if (rc)
		return rc;
	db->id = max_id() + 1;
	rc = store_env_set_id(db->env, db->id);
	if (!rc && attrs) {
		db->attrs = *attrs;
		db->mtime_ns = attrs->ctime_ns;
		rc = fs_db_attrs_store(db);
	}
	if (rc) { /* no half-made database is left to be found at start */
		store_env_close(db->env);
		store_env_remove(db->dir);
		rmdir(db->dir);
		free(db->dir);
		free(db->name);
		free(db);
		return rc;
	}
	db_add(db);
	*out = db;
	return 0;
}

/* Drop an empty database: its environment and its directory go. */
int fs_db_drop(struct fs_db *db)
{
	struct store_txn *t;
	uint64_t n = 0;
	int rc = store_read_begin(db->env, &t);
	if (rc)
		return rc;
	rc = store_table_count(t, &n);
	/* and no scratch file beside the tables (table number 0) */
	if (!rc && !n && !store_table_is_empty(t, 0))
		n = 1;
	store_txn_abort(t);
	if (rc)
		return rc;
	if (n)
		return ENOTEMPTY;
	fs_streams_end_db(db);
	pthread_mutex_lock(&fs.db_lock);
	store_env_close(db->env);
	db->env = NULL;
	db->dropped = 1;
	fs_schema_reset(db);
	pthread_mutex_unlock(&fs.db_lock);
	store_env_remove(db->dir);
	if (rmdir(db->dir) != 0)
		fs_log("%s: %s", db->dir, strerror(errno));
	return 0;
}

void fs_sync_all(void)
{
	struct fs_db *db;
	pthread_mutex_lock(&fs.db_lock);
	for (db = fs.dbs; db; db = db->next)
		if (!db->dropped)
			store_env_sync(db->env);
	pthread_mutex_unlock(&fs.db_lock);
}

/* Make db durable on disk: its batch committed, then synced. */
int fs_db_sync(struct fs_db *db)
{
	int rc = store_batch_commit(db->env);
	return rc ? rc : store_env_sync(db->env);
}
