/*
 * map.c: an environment's map: its size, the blocks under it, the room a
 * commit may need in it, and the pages a walk has read.
 *
 * The map starts small and doubles (store_map_grow), the file's blocks
 * reserved first when writes go through the map (store_map_reserve);
 * store_room_for() says whether the changes granted so far fit without
 * growing it.  Nothing here begins a transaction: growing needs none
 * open, which its callers (txn.c, intent.c) see to, and drops the spare
 * read transaction itself.
 */
#include "store_i.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

/*
 * Give the file's first size bytes blocks on disk, so that no store into
 * the map can fault for want of one.  posix_fallocate's error (ENOSPC);
 * a failed call leaves the file as long as it was before the call.
 */
int store_map_reserve(struct store_env *e, size_t size)
{
	struct stat st;
	int fd, rc;
	if (mdb_env_get_fd(e->env, &fd) != 0 || fstat(fd, &st) != 0)
		return EIO;
	rc = posix_fallocate(fd, 0, (off_t)size);
	if (rc && ftruncate(fd, st.st_size) != 0)
		rc = EIO;
	return rc;
}

/* Bytes free on the data file's file system for it (as statvfs counts
 * them for an unprivileged writer), less DISK_SLACK for the file system's
 * own needs; 0 if none or unknown. */
#define DISK_SLACK (1u << 20)
uint64_t store_disk_free(struct store_env *env)
{
	struct statvfs sv;
	struct timespec ts;
	uint64_t b, now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
	if (env->disk_at && now - env->disk_at < 50000000)
		return env->disk_free;
	if (statvfs(env->dir, &sv) != 0)
		return 0;
	b = (uint64_t)sv.f_bavail * sv.f_frsize;
	env->disk_free = b > DISK_SLACK ? b - DISK_SLACK : 0;
	env->disk_at = now;
	return env->disk_free;
}

#define MAP_GRAIN (1u << 20)

/* What of the disk's free bytes the map may grow by: whole MAP_GRAIN steps. */
uint64_t store_map_growable(struct store_env *env)
{
	return store_disk_free(env) / MAP_GRAIN * MAP_GRAIN;
}

/*
 * Make the map larger; no transaction of this environment may be open.
 * It doubles, or, when the disk has not that much left, takes what it
 * has (in whole MAP_GRAIN steps): a full disk holds records to its end,
 * not to the last power of two.  Asking the disk first also spares a
 * posix_fallocate that would fail only after reserving and undoing tens
 * of megabytes.
 */
int store_map_grow(struct store_env *env)
{
	size_t next = env->mapsize * 2;
	int rc;
	/* 64 TiB: past it (or on overflow) the disk is the limit anyway. */
	if (next < env->mapsize || next > (64ull << 40))
		return ENOSPC;
	assert(!env->batch);
	store_spare_end(env);
	if (env->writemap) {
		uint64_t avail;
		env->disk_at = 0; /* asked afresh, and again after */
		avail = store_map_growable(env);
		if (avail < next - env->mapsize)
			next = env->mapsize + (size_t)avail;
		if (next == env->mapsize)
			return ENOSPC;
		rc = store_map_reserve(env, next);
		env->disk_at = 0;
		if (rc)
			return rc;
	}
	rc = mdb_env_set_mapsize(env->env, next);
	if (rc)
		return store_errno(NULL, rc);
	env->mapsize = next;
	env->map_lo = env->map_hi = 0; /* mapped anew, maybe elsewhere */
	return 0;
}

/*
 * The map room a commit of changes changes, of len bytes and entries
 * index entries in all, may need.  Pages past the last one in use are
 * free whatever the free list says.  A commit copies at most the path
 * from the root to a leaf (and a split's new page) per B-tree change:
 * the record, each index entry (its key's path, then its duplicates' own
 * tree) and its attribute, the meta and free-list pages.
 * INTENT_PATH_PAGES a change covers trees far deeper than any this
 * holds.
 */
static size_t room_need(const struct store_env *env, size_t len, size_t entries,
			size_t changes)
{
	return (256u << 10) + 2 * len +
	       (2 * entries + 4 * changes) * INTENT_PATH_PAGES *
		   (size_t)env->psize;
}

void store_room_reset(struct store_env *env)
{
	env->room_len = env->room_entries = env->room_changes = 0;
}

/* 1 if the map has room for a change of len bytes and entries index
 * entries and for those granted before it in the open batch: they commit
 * together. */
int store_room_for(struct store_env *env, size_t len, size_t entries)
{
	MDB_envinfo info;
	size_t need = room_need(env, env->room_len + len,
				env->room_entries + entries,
				env->room_changes + 1),
	       used;
	if (env->room_changes && env->room_len + len > INTENT_MAX / 2)
		return 0;
	mdb_env_info(env->env, &info);
	used = ((size_t)info.me_last_pgno + 1) * env->psize;
	return used <= env->mapsize && env->mapsize - used >= need;
}

void store_env_usage(struct store_env *env, uint64_t *mapsize, uint64_t *used)
{
	MDB_envinfo info;
	MDB_stat st;
	mdb_env_info(env->env, &info);
	mdb_env_stat(env->env, &st);
	*mapsize = info.me_mapsize;
	*used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}

/*
 * The map is a shared mapping of the file, so dropping its page-table
 * entries loses nothing: the pages stay in the page cache (a page written
 * through the map keeps its dirty state there) and fault back in when
 * read, and pointers into the map stay valid.
 * LMDB does not say where the map is (me_mapaddr is only set for a fixed
 * map): it is found in /proc/self/maps by the file's device and inode.
 */
/* Find the map's address range in /proc/self/maps; 0 if found. */
static int find_map(struct store_env *env, int fd, uintptr_t *lo_out,
		    uintptr_t *hi_out)
{
	struct stat st;
	char line[512];
	FILE *maps;
	int rc = ENOENT;
	if (fstat(fd, &st) != 0)
		return errno;
	maps = fopen("/proc/self/maps", "re");
	if (!maps)
		return errno;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi, ino;
		unsigned maj, mnr;
		if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu", &lo, &hi, &maj,
			   &mnr, &ino) == 5 &&
		    ino == (unsigned long)st.st_ino &&
		    maj == major(st.st_dev) && mnr == minor(st.st_dev)) {
			*lo_out = lo;
			*hi_out = hi;
			rc = 0;
			break;
		}
	}
	fclose(maps);
	(void)env;
	return rc;
}

/*
 * ptr points into the map (a record a walk has just read): ask the kernel
 * to read the next STORE_PREFETCH bytes of the file after it into the page
 * cache, so that the walk's next faults (the map is MADV_RANDOM) find
 * them there.  Leaf pages written in key order lie mostly in file order.
 */
#define STORE_PREFETCH (8u << 20)
void store_env_prefetch(struct store_env *env, const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	uint64_t off;
	int fd;
	if (mdb_env_get_fd(env->env, &fd) != 0)
		return;
	if (p < env->map_lo || p >= env->map_hi ||
	    env->map_found_size != env->mapsize) {
		if (find_map(env, fd, &env->map_lo, &env->map_hi) != 0 ||
		    p < env->map_lo || p >= env->map_hi) {
			env->map_lo = env->map_hi = 0;
			return;
		}
		env->map_found_size = env->mapsize;
		env->pf_lo = env->pf_hi = 0;
	}
	off = p - env->map_lo;
	if (off >= env->pf_lo && off + STORE_PREFETCH / 2 < env->pf_hi)
		return; /* asked for already */
	posix_fadvise(fd, (off_t)off, STORE_PREFETCH, POSIX_FADV_WILLNEED);
	env->pf_lo = off;
	env->pf_hi = off + STORE_PREFETCH;
}

void store_env_unmap_pages(struct store_env *env)
{
	int fd;
	if (mdb_env_get_fd(env->env, &fd) != 0)
		return;
	/* the range found is good while the map keeps its size: growing
	 * it maps the file anew, elsewhere */
	if (!env->map_lo || env->map_found_size != env->mapsize) {
		if (find_map(env, fd, &env->map_lo, &env->map_hi) != 0) {
			env->map_lo = env->map_hi = 0;
			return;
		}
		env->map_found_size = env->mapsize;
		env->pf_lo = env->pf_hi = 0;
	}
	madvise((void *)env->map_lo, env->map_hi - env->map_lo, MADV_DONTNEED);
}
