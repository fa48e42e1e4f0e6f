/*
 * meta.c: the meta database's named numbers, and inode numbers.
 *
 * store_meta_get/put read and write one named u64 in the transaction they
 * are given; they begin and end none.  Inode numbers are handed out from
 * memory, and kept above every one handed out by store_ino_persist(),
 * which each commit (txn.c) calls; reading "next_ino" at open is env.c's.
 */
#include "store_i.h"

#include <errno.h>

int store_meta_get(struct store_txn *t, const char *name, uint64_t *v)
{
	MDB_val k = {strlen(name), (void *)name}, d;
	int rc = mdb_get(t->txn, t->env->meta, &k, &d);
	if (rc)
		return store_errno(t, rc);
	if (d.mv_size != 8)
		return EIO;
	memcpy(v, d.mv_data, 8);
	*v = le64toh(*v);
	return 0;
}

int store_meta_put(struct store_txn *t, const char *name, uint64_t v)
{
	v = htole64(v);
	MDB_val k = {strlen(name), (void *)name}, d = {8, &v};
	return store_errno(t, mdb_put(t->txn, t->env->meta, &k, &d, 0));
}

#define INO_AHEAD 4096

uint64_t store_ino_alloc(struct store_env *env)
{
	return env->next_ino++;
}

void store_ino_seen(struct store_env *env, uint64_t ino)
{
	if (ino >= env->next_ino)
		env->next_ino = ino + 1;
}

/*
 * Every number handed out stays under meta "next_ino", which runs
 * INO_AHEAD ahead: one put per INO_AHEAD new numbers, not one per create;
 * a restart skips the rest.  *ahead is the value put (0: none).
 */
int store_ino_persist(struct store_txn *t, uint64_t *ahead)
{
	struct store_env *env = t->env;
	*ahead = 0;
	if (env->next_ino <= env->persisted_ino)
		return 0;
	*ahead = env->next_ino + INO_AHEAD;
	return store_meta_put(t, "next_ino", *ahead);
}
