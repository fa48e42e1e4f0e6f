/*
 * txn.c: transactions: read snapshots, store_write()'s write transaction
 * and its retry when the map fills, the batch that keeps one write
 * transaction open across changes, and what each commit must update.
 *
 * A commit persists the inode numbers handed out (meta.c) and forgets the
 * room granted for it (map.c); growing the map is map.c's.  The intent
 * slot, which holds a batch's changes until they commit, is intent.c's:
 * this file neither reads nor writes it.
 */
#include "store_i.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/statvfs.h>

int store_txn_begin(struct store_env *env, unsigned flags, struct store_txn *t)
{
	t->env = env;
	t->map_full = 0;
	t->borrowed = 0;
	t->snapshot = 0;
	t->noted_n = 0;
	return store_errno(NULL, mdb_txn_begin(env->env, NULL, flags, &t->txn));
}

int store_read_begin(struct store_env *env, struct store_txn **out)
{
	struct store_txn *t = malloc(sizeof(*t));
	int rc;
	if (!t)
		return ENOMEM;
	t->env = env;
	t->map_full = 0;
	t->borrowed = 0;
	t->snapshot = 0;
	t->noted_n = 0;
	if (env->batch) {
		/* the batch's changes are the state a reader must see */
		t->txn = env->batch;
		t->borrowed = 1;
		env->borrows++;
		*out = t;
		return 0;
	}
	if (env->spare) {
		t->txn = env->spare;
		env->spare = NULL;
		if (mdb_txn_renew(t->txn) == 0) {
			*out = t;
			return 0;
		}
		mdb_txn_abort(t->txn);
	}
	rc = store_txn_begin(env, MDB_RDONLY, t);
	if (rc) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int store_snapshot_begin(struct store_env *env, struct store_txn **out)
{
	struct store_txn *t;
	/* what the open batch holds was told to clients: commit it first */
	int rc = store_batch_commit(env);
	if (rc)
		return rc;
	t = malloc(sizeof(*t));
	if (!t)
		return ENOMEM;
	rc = store_txn_begin(env, MDB_RDONLY, t);
	if (rc) {
		free(t);
		return rc;
	}
	t->snapshot = 1;
	*out = t;
	return 0;
}

void store_txn_abort(struct store_txn *txn)
{
	if (!txn)
		return;
	if (txn->borrowed) {
		assert(txn->env->borrows > 0);
		txn->env->borrows--;
		free(txn);
		return;
	}
	/* only store_read_begin's are ended here: keep one to renew */
	if (!txn->env->spare && !txn->snapshot) {
		mdb_txn_reset(txn->txn);
		txn->env->spare = txn->txn;
	} else {
		mdb_txn_abort(txn->txn);
	}
	free(txn);
}

/*
 * LMDB reports a short write(2) of its pages as EIO, and a full disk makes
 * short writes.  A commit that failed so while the disk has less room than
 * the largest record is taken for a full disk.
 */
static int disk_nearly_full(struct store_env *env)
{
	struct statvfs sv;
	if (statvfs(env->dir, &sv) != 0)
		return 0;
	return (uint64_t)sv.f_bavail * sv.f_frsize < (32ull << 20);
}

static void committed(struct store_env *env, uint64_t ahead)
{
	if (ahead)
		env->persisted_ino = ahead;
	env->commits++;
	store_room_reset(env);
}

/*
 * Pages the last commit freed are LMDB's to use again only from the commit
 * after the next: a full map that cannot grow may have them all the same.
 * A commit that changes nothing a reader sees (meta "next_ino" written as
 * it is) moves them within reach, for one more try.
 */
static int advance_fn(struct store_txn *t)
{
	uint64_t v;
	int rc = store_meta_get(t, "next_ino", &v);
	if (rc == ENOENT)
		v = 0;
	else if (rc)
		return rc;
	return store_meta_put(t, "next_ino", v);
}

static int advance(struct store_env *env)
{
	struct store_txn t;
	int rc = store_txn_begin(env, 0, &t);
	if (rc)
		return rc;
	rc = advance_fn(&t);
	if (rc) {
		mdb_txn_abort(t.txn);
		return rc;
	}
	rc = store_errno(&t, mdb_txn_commit(t.txn));
	if (!rc)
		committed(env, 0);
	return rc;
}

uint64_t store_env_commits(struct store_env *env)
{
	return env->commits;
}

uint64_t store_env_changes(struct store_env *env)
{
	return env->changes;
}

int store_env_reserve(struct store_env *env, uint64_t bytes)
{
	uint64_t map, used;
	int rc;
	if (env->batch && (rc = store_batch_commit(env)) != 0)
		return rc;
	store_env_usage(env, &map, &used);
	while (map - used < bytes) {
		if (store_map_grow(env) != 0)
			return 0; /* the write finds out what fits */
		store_env_usage(env, &map, &used);
	}
	return 0;
}

int store_write(struct store_env *env,
		int (*fn)(struct store_txn *txn, void *arg), void *arg)
{
	struct store_txn t;
	uint64_t ino_before, ahead;
	int rc, tries, advanced;

	/* the batch goes first: fn sees its changes, and a failure of fn
	 * undoes only fn's */
	if (env->batch && (rc = store_batch_commit(env)) != 0)
		return rc;
	if (env->stuck)
		return EROFS;

	ino_before = env->next_ino;
	for (tries = 0, advanced = 0; tries < 40; tries++) {
		rc = store_txn_begin(env, 0, &t);
		if (rc)
			return rc;
		rc = fn(&t, arg);
		if (!rc)
			rc = store_ino_persist(&t, &ahead);
		if (rc) {
			mdb_txn_abort(t.txn);
		} else {
			rc = store_errno(&t, mdb_txn_commit(t.txn));
			if (!rc) {
				committed(env, ahead);
				env->changes++;
				return 0;
			}
			if (rc == EIO && disk_nearly_full(env))
				rc = ENOSPC;
		}
		if (!t.map_full) {
			if (rc == ENOSPC)
				env->disk_at = 0; /* what was free is not */
			return rc;
		}
		/* Numbers handed out by the failed try may be handed out again.
		 */
		env->next_ino = ino_before;
		rc = store_map_grow(env);
		if (rc == ENOSPC && !advanced++)
			rc = advance(env);
		if (rc) {
			env->disk_at = 0;
			return rc;
		}
	}
	return ENOSPC;
}

/* ---- the batch ---------------------------------------------------------- */

/*
 * The batch's changes are gone with its transaction, but each is in the
 * slot, which is still pending (nothing has committed since): the redo
 * function stores them all again, or the environment takes no other
 * change before the next open stores them.
 */
static int batch_lost(struct store_env *env, int rc)
{
	env->batch = NULL;
	env->batch_n = 0;
	store_room_reset(env);
	if (env->redo && env->redo(env->redo_arg, rc) == 0)
		return 0;
	env->stuck = 1;
	return rc;
}

int store_batch_commit(struct store_env *env)
{
	struct store_txn t = {.env = env, .txn = env->batch};
	uint64_t ahead;
	int rc;
	if (!env->batch)
		return 0;
	assert(env->borrows == 0);
	rc = store_ino_persist(&t, &ahead);
	if (rc) {
		mdb_txn_abort(env->batch);
		return batch_lost(env, rc);
	}
	rc = store_errno(&t, mdb_txn_commit(env->batch));
	if (rc)
		return batch_lost(env, rc);
	env->batch = NULL;
	env->batch_n = 0;
	committed(env, ahead);
	return 0;
}

int store_batch_apply(struct store_env *env,
		      int (*fn)(struct store_txn *txn, void *arg), void *arg)
{
	struct store_txn t;
	int rc;
	if (env->stuck)
		return EROFS;
	if (!env->batch) {
		rc = store_txn_begin(env, 0, &t);
		if (rc)
			return batch_lost(env, rc);
		env->batch = t.txn;
	}
	t.env = env;
	t.txn = env->batch;
	t.map_full = 0;
	t.borrowed = 0;
	t.snapshot = 0;
	t.noted_n = 0;
	rc = fn(&t, arg);
	if (rc) {
		mdb_txn_abort(env->batch);
		return batch_lost(env, rc);
	}
	env->changes++;
	/* commit now, after the caller's answer, rather than in the next
	 * change's store_intent_safe, before its answer, when the map has
	 * no room for another change like this one */
	if (++env->batch_n >= STORE_BATCH_MAX ||
	    !store_room_for(env, env->last_len, env->last_entries))
		return store_batch_commit(env);
	return 0;
}

unsigned store_batch_size(struct store_env *env)
{
	return env->batch ? env->batch_n : 0;
}

void store_env_set_redo(struct store_env *env, int (*redo)(void *arg, int why),
			void *arg)
{
	env->redo = redo;
	env->redo_arg = arg;
}
