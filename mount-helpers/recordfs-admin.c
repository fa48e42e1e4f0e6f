/*
 * recordfs-admin: tools for a data directory (recordfs-admin(8)).
 *
 *   check DATADIR          prove every database's indexes match its
 *                          records and its change feed its histories
 *   stats DATADIR          per database and table: records, index
 *                          entries, map size and use, the change feed
 *   backup DATADIR DEST    a compacted copy of every database, each from
 *                          one read transaction, while the mount is in use
 *   compact DATADIR        each database rewritten without its free pages
 *                          (unmounted only)
 *   dump DATADIR [DB [TABLE]]   the schema and each table's NDJSON as text
 *   load DATADIR           a dump read back (through a mount)
 *
 * check, stats and backup may run while the data directory is mounted:
 * LMDB readers see the last committed state, and each environment is
 * opened as a second process (STORE_OPEN_SHARED), which never changes the
 * file's length.  compact takes the data directory's lock, as the daemon
 * does, so neither runs beside the other.  Progress goes to standard
 * error: a bar on a terminal, a line per stage otherwise.  Exit codes:
 * 0 done, 1 check found a problem, 2 usage or an error, 3 compact refused
 * (mounted, or changes not yet stored).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mntent.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "schema.h"
#include "store.h"

#define EXIT_PROBLEM 1
#define EXIT_ERROR   2
#define EXIT_REFUSED 3

static int tty;

/* ---- progress --------------------------------------------------------- */

struct progress {
	const char *db, *what;
	int shown;
};

static void progress(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	if (tty) {
		int width = 30, i,
		    fill = total ? (int)(done * width / total) : width;
		fprintf(stderr, "\r%s: %s [", p->db, p->what);
		for (i = 0; i < width; i++)
			fputc(i < fill ? '#' : '.', stderr);
		fprintf(stderr, "] %llu/%llu", (unsigned long long)done,
			(unsigned long long)total);
		if (done >= total)
			fputc('\n', stderr);
		p->shown = 1;
	} else if (!p->shown) {
		fprintf(stderr, "%s: %s, %llu objects\n", p->db, p->what,
			(unsigned long long)total);
		p->shown = 1;
	}
}

/* A stage that has no count: one line. */
static void stage(const char *db, const char *what)
{
	fprintf(stderr, "%s: %s\n", db, what);
}

/* ---- the databases of a data directory --------------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The databases of datadir (directories holding data.mdb), sorted. */
static int databases(const char *datadir, char ***out, size_t *n)
{
	DIR *d = opendir(datadir);
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;
	*n = 0;
	if (!d)
		return errno;
	while ((de = readdir(d))) {
		char path[4096];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/data.mdb", datadir,
			 de->d_name);
		if (access(path, F_OK) != 0)
			continue;
		if (*n == cap) {
			char **nv;
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		if (!(v[*n] = strdup(de->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), by_name);
	*out = v;
	return 0;
}

static void free_names(char **v, size_t n)
{
	while (n)
		free(v[--n]);
	free(v);
}

static int open_db(const char *datadir, const char *name, unsigned flags,
		   struct store_env **env)
{
	char dir[4096];
	int rc;
	snprintf(dir, sizeof(dir), "%s/%s", datadir, name);
	rc = store_env_open(dir, flags, 0, env);
	if (rc)
		fprintf(stderr, "recordfs-admin: %s: %s\n", dir, strerror(rc));
	return rc;
}

/* ---- check ------------------------------------------------------------ */

static int check(const char *datadir)
{
	char **dbs;
	size_t n, i, bad = 0;
	int rc = databases(datadir, &dbs, &n), err = 0;
	if (rc) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", datadir,
			strerror(rc));
		return EXIT_ERROR;
	}
	for (i = 0; i < n; i++) {
		struct schema_cache cache = {0};
		struct progress p = {dbs[i], "checking the indexes", 0};
		struct store_env *env;
		struct store_txn *t;
		char msg[512];
		if (open_db(datadir, dbs[i], STORE_OPEN_SHARED, &env)) {
			err = 1;
			continue;
		}
		store_check_set_progress(env, progress, &p);
		rc = store_check_indexes(env, schema_check_entries, &cache, msg,
					 sizeof(msg));
		schema_cache_free(&cache);
		if (!rc) {
			stage(dbs[i], "checking the change feed");
			rc = store_read_begin(env, &t);
			if (!rc) {
				rc = store_feed_check(t, msg, sizeof(msg));
				store_txn_abort(t);
			}
		}
		store_env_close(env);
		if (rc == EIO) {
			printf("%s: %s\n", dbs[i], msg);
			bad++;
		} else if (rc) {
			printf("%s: %s\n", dbs[i], strerror(rc));
			err = 1;
		}
	}
	if (bad || err)
		printf("%zu database%s checked: %zu with problems\n", n,
		       n == 1 ? "" : "s", bad + (err ? 1 : 0));
	else
		printf("%zu database%s checked: indexes match records, the "
		       "change feed its history\n",
		       n, n == 1 ? "" : "s");
	free_names(dbs, n);
	return err ? EXIT_ERROR : bad ? EXIT_PROBLEM : 0;
}

/* ---- stats ------------------------------------------------------------ */

static int table_counts(struct store_txn *t, uint32_t tid, uint64_t *records,
			uint64_t *entries)
{
	struct store_cursor *c;
	struct store_obj o;
	const void *k, *a = NULL;
	size_t kl, al = 0;
	int rc = store_cursor_open(t, tid, STORE_RECORD, NULL, 0, &c);
	*records = *entries = 0;
	if (rc)
		return rc;
	while ((rc = store_cursor_next(c, &k, &kl, &o)) == 0)
		(*records)++;
	store_cursor_close(c);
	if (rc != ENOENT)
		return rc;
	while ((rc = store_attr_next(t, tid, a, al, &a, &al)) == 0) {
		struct store_icursor *ic;
		const void *e;
		size_t el;
		/* a's bytes live in t: the cursor does not move them */
		rc = store_icursor_open(t, tid, a, al, &ic);
		if (rc)
			return rc;
		while ((rc = store_icursor_next(ic, &e, &el)) == 0)
			(*entries)++;
		store_icursor_close(ic);
		if (rc != ENOENT)
			return rc;
	}
	return rc == ENOENT ? 0 : rc;
}

static int stats(const char *datadir)
{
	char **dbs;
	size_t n, i;
	int rc = databases(datadir, &dbs, &n), err = 0;
	if (rc) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", datadir,
			strerror(rc));
		return EXIT_ERROR;
	}
	for (i = 0; i < n; i++) {
		struct store_env *env;
		struct store_txn *t = NULL;
		struct store_feed_state fs;
		struct store_table tb;
		const char *name = NULL;
		size_t nl = 0;
		uint64_t map, used;
		if (open_db(datadir, dbs[i], STORE_OPEN_SHARED, &env)) {
			err = 1;
			continue;
		}
		store_env_usage(env, &map, &used);
		rc = store_read_begin(env, &t);
		if (!rc)
			rc = store_feed_state(t, &fs);
		if (!rc) {
			printf("database %s: map %llu bytes, %llu in use\n",
			       dbs[i], (unsigned long long)map,
			       (unsigned long long)used);
			printf(
			    "  change feed: %llu bytes, %llu lines",
			    (unsigned long long)fs.bytes,
			    (unsigned long long)(fs.next_seq - fs.first_seq));
			if (fs.next_seq > fs.first_seq)
				printf(", seq %llu to %llu",
				       (unsigned long long)fs.first_seq,
				       (unsigned long long)fs.next_seq - 1);
			printf(" (the mount's -o changes sets its limit)\n");
		}
		while (!rc && (rc = store_table_next(t, name, nl, &name, &nl,
						     &tb)) == 0) {
			uint64_t records, entries;
			const void *s;
			size_t sl;
			int dynamic =
			    store_table_schema_get(t, tb.tid, &s, &sl) != 0;
			if (tty)
				fprintf(stderr, "%s/%.*s: counting\r", dbs[i],
					(int)nl, name);
			rc = table_counts(t, tb.tid, &records, &entries);
			if (!rc)
				printf("  table %.*s (%s): %llu records, %llu "
				       "index entries\n",
				       (int)nl, name,
				       dynamic ? "dynamic" : "declared",
				       (unsigned long long)records,
				       (unsigned long long)entries);
		}
		if (rc == ENOENT)
			rc = 0;
		store_txn_abort(t);
		store_env_close(env);
		if (rc) {
			fprintf(stderr, "recordfs-admin: %s: %s\n", dbs[i],
				strerror(rc));
			err = 1;
		}
	}
	free_names(dbs, n);
	return err ? EXIT_ERROR : 0;
}

/* ---- backup ----------------------------------------------------------- */

static int backup(const char *datadir, const char *dest)
{
	char **dbs;
	size_t n, i, done = 0;
	int rc = databases(datadir, &dbs, &n), err = 0;
	if (rc) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", datadir,
			strerror(rc));
		return EXIT_ERROR;
	}
	if (mkdir(dest, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", dest,
			strerror(errno));
		free_names(dbs, n);
		return EXIT_ERROR;
	}
	for (i = 0; i < n; i++) {
		char dir[4096], src[4096], file[4200];
		struct store_env *env;
		struct stat st;
		snprintf(dir, sizeof(dir), "%s/%s", dest, dbs[i]);
		snprintf(src, sizeof(src), "%s/%s", datadir, dbs[i]);
		snprintf(file, sizeof(file), "%s/data.mdb", dir);
		if (access(file, F_OK) == 0) {
			fprintf(stderr,
				"recordfs-admin: %s: holds a database already; "
				"back up into a new directory\n",
				dir);
			err = 1;
			continue;
		}
		if (stat(src, &st) != 0 ||
		    (mkdir(dir, st.st_mode & 07777) != 0 && errno != EEXIST)) {
			fprintf(stderr, "recordfs-admin: %s: %s\n", dir,
				strerror(errno));
			err = 1;
			continue;
		}
		if (open_db(datadir, dbs[i], STORE_OPEN_SHARED, &env)) {
			err = 1;
			continue;
		}
		stage(dbs[i], "copying");
		rc = store_env_copy(env, dir);
		store_env_close(env);
		if (rc) {
			fprintf(stderr, "recordfs-admin: %s: %s\n", dir,
				strerror(rc));
			err = 1;
			continue;
		}
		if (chown(dir, st.st_uid, st.st_gid) != 0) {
			/* not root: the copy is the caller's */
		}
		if (stat(file, &st) == 0)
			printf("%s: %llu bytes copied to %s\n", dbs[i],
			       (unsigned long long)st.st_size, dir);
		done++;
	}
	printf("%zu of %zu database%s backed up into %s\n", done, n,
	       n == 1 ? "" : "s", dest);
	free_names(dbs, n);
	return err ? EXIT_ERROR : 0;
}

/* ---- compact ---------------------------------------------------------- */

/* Give file path old's owner and mode, and sync it.  0 or errno. */
static int settle(const char *path, const struct stat *old)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return errno;
	if (fchown(fd, old->st_uid, old->st_gid) != 0 && errno != EPERM)
		rc = errno;
	if (!rc && fchmod(fd, old->st_mode & 07777) != 0)
		rc = errno;
	if (!rc && fsync(fd) != 0)
		rc = errno;
	close(fd);
	return rc;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return errno;
	if (fsync(fd) != 0)
		rc = errno;
	close(fd);
	return rc;
}

/*
 * The tools that open the databases beside the daemon (check, stats,
 * backup, dump) hold DATADIR/.admin shared, compact holds it alone: an
 * open environment's lock file must not outlive the file compact
 * replaces.  The fd, or -1.
 */
static int admin_lock(const char *datadir, int alone)
{
	char path[4096];
	int fd;
	snprintf(path, sizeof(path), "%s/.admin", datadir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, alone ? LOCK_EX | LOCK_NB : LOCK_SH) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int compact(const char *datadir)
{
	char **dbs, path[4096];
	size_t n, i;
	int rc, err = 0, lock, admin;

	snprintf(path, sizeof(path), "%s/.lock", datadir);
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", path,
			strerror(errno));
		return EXIT_ERROR;
	}
	if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr,
			"recordfs-admin: %s is mounted: unmount it first "
			"(compact rewrites its files)\n",
			datadir);
		close(lock);
		return EXIT_REFUSED;
	}
	admin = admin_lock(datadir, 1);
	if (admin < 0) {
		fprintf(stderr,
			"recordfs-admin: %s: another recordfs-admin reads it: "
			"compact when it is done\n",
			datadir);
		close(lock);
		return EXIT_REFUSED;
	}
	rc = databases(datadir, &dbs, &n);
	if (rc) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", datadir,
			strerror(rc));
		close(admin);
		close(lock);
		return EXIT_ERROR;
	}
	for (i = 0; i < n && !err; i++) {
		char dir[4096], tmp[4200], from[4300], to[4300];
		struct store_env *env;
		struct stat before, after;
		void *pending;
		size_t plen;
		snprintf(dir, sizeof(dir), "%s/%s", datadir, dbs[i]);
		snprintf(tmp, sizeof(tmp), "%s/.compact", dir);
		snprintf(from, sizeof(from), "%s/data.mdb", tmp);
		snprintf(to, sizeof(to), "%s/data.mdb", dir);
		if (open_db(datadir, dbs[i], 0, &env)) {
			err = EXIT_ERROR;
			break;
		}
		if (store_intent_pending(env, &pending, &plen) == 0) {
			free(pending);
			store_env_close(env);
			fprintf(stderr,
				"recordfs-admin: %s: changes answered before "
				"the daemon stopped are not stored yet: mount "
				"it once (that stores them), then compact\n",
				dir);
			err = EXIT_REFUSED;
			break;
		}
		stat(to, &before);
		unlink(from);
		rmdir(tmp);
		if (mkdir(tmp, 0700) != 0) {
			fprintf(stderr, "recordfs-admin: %s: %s\n", tmp,
				strerror(errno));
			store_env_close(env);
			err = EXIT_ERROR;
			break;
		}
		stage(dbs[i], "compacting");
		rc = store_env_copy(env, tmp);
		store_env_close(env);
		/* the copy as the file it replaces: its owner and mode, on
		 * the disk before the rename, and the rename on it after */
		if (!rc)
			rc = settle(from, &before);
		if (!rc && rename(from, to) != 0)
			rc = errno;
		if (!rc)
			rc = sync_dir(dir);
		/* the lock file holds the old file's transaction numbers */
		if (!rc) {
			char lk[4300];
			snprintf(lk, sizeof(lk), "%s/lock.mdb", dir);
			unlink(lk);
		}
		unlink(from);
		rmdir(tmp);
		if (rc) {
			fprintf(stderr, "recordfs-admin: %s: %s\n", dir,
				strerror(rc));
			err = EXIT_ERROR;
			break;
		}
		stat(to, &after);
		printf("%s: %llu bytes before, %llu after\n", dbs[i],
		       (unsigned long long)before.st_size,
		       (unsigned long long)after.st_size);
	}
	free_names(dbs, n);
	close(admin);
	close(lock);
	return err;
}

/* ---- dump and load, through a mount ------------------------------------ */

/*
 * dump and load read and write the files a mount shows (schema.graphql,
 * each table's .ndjson stream), so the text form is exactly what the
 * streams read and write, and loading checks, indexes and times records
 * as any import does.  They use the mount that serves the data directory
 * (found by its source in /proc/self/mounts), or start a daemon of their
 * own on a private mount point for the time they run.
 */
struct mnt {
	char path[4096];
	pid_t pid; /* our own daemon, or 0 */
	char tmp[64];
};

/* The mount point of a recordfs whose source is datadir (at, when not
 * NULL, the one there only); getmntent decodes the \040 of the table. */
static int find_mount(const char *datadir, const char *at, char *out,
		      size_t size)
{
	char real[4096];
	struct mntent *e;
	FILE *f;
	int found = 0;
	if (!realpath(datadir, real))
		return 0;
	f = setmntent("/proc/self/mounts", "r");
	if (!f)
		return 0;
	while ((e = getmntent(f)))
		if (!strcmp(e->mnt_type, "fuse.recordfs") &&
		    !strcmp(e->mnt_fsname, real) &&
		    (!at || !strcmp(e->mnt_dir, at))) {
			snprintf(out, size, "%s", e->mnt_dir);
			found = 1;
		}
	endmntent(f);
	return found;
}

static const char *daemon_path(void)
{
	const char *e = getenv("RECORDFS");
	return e && *e ? e : RECORDFS_BIN;
}

static int mount_open(const char *datadir, int ro, struct mnt *m)
{
	const char *more = getenv("RECORDFS_OPTIONS");
	int i, st;
	memset(m, 0, sizeof(*m));
	if (find_mount(datadir, NULL, m->path, sizeof(m->path)))
		return 0;
	snprintf(m->tmp, sizeof(m->tmp), "/tmp/recordfs-admin.XXXXXX");
	if (!mkdtemp(m->tmp))
		return errno;
	snprintf(m->path, sizeof(m->path), "%s", m->tmp);
	m->pid = fork();
	if (m->pid < 0) {
		int e = errno;
		rmdir(m->tmp);
		return e;
	}
	if (m->pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		/* the daemon ends with us, whatever ends us */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (null >= 0)
			dup2(null, 1);
		if (more && *more)
			execl(daemon_path(), "recordfs", "-f", "-o",
			      ro ? "ro,changes=0" : "sync=0", "-o", more,
			      datadir, m->tmp, (char *)NULL);
		else
			execl(daemon_path(), "recordfs", "-f", "-o",
			      ro ? "ro,changes=0" : "sync=0", datadir, m->tmp,
			      (char *)NULL);
		fprintf(stderr, "recordfs-admin: %s: %s\n", daemon_path(),
			strerror(errno));
		_exit(127);
	}
	for (i = 0; i < 400; i++) {
		char dummy[4096];
		if (find_mount(datadir, m->tmp, dummy, sizeof(dummy)))
			return 0;
		if (waitpid(m->pid, &st, WNOHANG) == m->pid) {
			m->pid = 0;
			rmdir(m->tmp);
			return EIO;
		}
		usleep(50000);
	}
	kill(m->pid, SIGTERM);
	waitpid(m->pid, &st, 0);
	m->pid = 0;
	rmdir(m->tmp);
	return ETIMEDOUT;
}

/* Unmount our own daemon, if we started one: 0, or EIO when it did not
 * end well (its last commit or sync failed: it says why). */
static int mount_close(struct mnt *m)
{
	pid_t um;
	int st = 0;
	if (!m->pid)
		return 0;
	um = fork();
	if (um == 0) {
		execlp("fusermount3", "fusermount3", "-u", m->tmp,
		       (char *)NULL);
		_exit(127);
	}
	if (um > 0)
		waitpid(um, NULL, 0);
	waitpid(m->pid, &st, 0);
	rmdir(m->tmp);
	m->pid = 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : EIO;
}

/* Copy file path to out whole; 0 or errno. */
static int copy_out(const char *path, FILE *out, size_t *len)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);
	*len = 0;
	if (fd < 0)
		return errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, out);
		*len += (size_t)n;
	}
	close(fd);
	return n < 0 ? errno : 0;
}

/*
 * The modes, owners and modification times a table and its records keep
 * (read from storage: the streams carry texts only), as lines
 *   attrs NAME MODE UID GID MTIME_NS
 * for each record (NAME its file name) that keeps a mode, and "attrs ."
 * for the table's directory.
 */
static int dump_attrs(const char *datadir, const char *db, const char *table,
		      FILE *out)
{
	struct store_env *env;
	struct store_txn *t = NULL;
	struct store_table tb;
	struct store_cursor *c = NULL;
	struct store_obj o;
	const void *k;
	size_t kl;
	int rc = open_db(datadir, db, STORE_OPEN_SHARED, &env);
	if (rc)
		return rc;
	rc = store_read_begin(env, &t);
	if (rc)
		t = NULL;
	if (!rc)
		rc = store_table_get(t, table, strlen(table), &tb);
	if (rc == ENOENT)
		rc = EAGAIN; /* the table went since its stream was read */
	if (!rc && store_cursor_open(t, tb.tid, STORE_RECORD, NULL, 0, &c))
		rc = EIO;
	while (!rc && (rc = store_cursor_next(c, &k, &kl, &o)) == 0) {
		struct schema_key key;
		char name[SCHEMA_NAME_MAX + 1];
		if (!o.attrs.mode || schema_key_decode(k, kl, &key))
			continue;
		schema_key_to_name(&key, name);
		fprintf(out, "attrs %s %o %u %u %lld\n", name, o.attrs.mode,
			o.attrs.uid, o.attrs.gid, (long long)o.mtime_ns);
	}
	if (c)
		store_cursor_close(c);
	if (rc == ENOENT) {
		rc = 0;
		if (tb.attrs.mode)
			fprintf(out, "attrs . %o %u %u %lld\n", tb.attrs.mode,
				tb.attrs.uid, tb.attrs.gid,
				(long long)tb.mtime_ns);
	}
	store_txn_abort(t);
	store_env_close(env);
	return rc;
}

static int dump_db(const char *datadir, const char *root, const char *db,
		   const char *table, FILE *out)
{
	char path[8300];
	struct dirent *de;
	char **tables = NULL;
	size_t nt = 0, cap = 0, i, len;
	FILE *tmp;
	char *text = NULL;
	size_t tl = 0;
	DIR *d;
	int rc;
	snprintf(path, sizeof(path), "%s/%s", root, db);
	if (!(d = opendir(path)))
		return errno;
	while ((de = readdir(d))) {
		struct stat st;
		char p2[8600];
		snprintf(p2, sizeof(p2), "%s/%s", path, de->d_name);
		if (de->d_name[0] == '.' || stat(p2, &st) ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (table && strcmp(table, de->d_name))
			continue;
		if (nt == cap) {
			cap = cap ? 2 * cap : 16;
			tables = realloc(tables, cap * sizeof(*tables));
		}
		tables[nt++] = strdup(de->d_name);
	}
	closedir(d);
	if (nt)
		qsort(tables, nt, sizeof(*tables), by_name);
	if (table && !nt) {
		free(tables);
		return ENOENT;
	}
	/* the schema, as its length and its bytes */
	tmp = open_memstream(&text, &tl);
	snprintf(path, sizeof(path), "%s/%s/schema.graphql", root, db);
	rc = copy_out(path, tmp, &len);
	if (rc == ENOENT)
		rc = 0; /* removed while mounted: none to tell */
	fclose(tmp);
	if (!rc) {
		fprintf(out, "database %s\nschema %zu\n", db, tl);
		fwrite(text, 1, tl, out);
	}
	free(text);
	for (i = 0; !rc && i < nt; i++) {
		stage(db, tables[i]);
		fprintf(out, "table %s\n", tables[i]);
		snprintf(path, sizeof(path), "%s/%s/%s.ndjson", root, db,
			 tables[i]);
		rc = copy_out(path, out, &len);
		if (!rc)
			rc = dump_attrs(datadir, db, tables[i], out);
	}
	for (i = 0; i < nt; i++)
		free(tables[i]);
	free(tables);
	return rc;
}

static int dump(const char *datadir, const char *db, const char *table)
{
	struct mnt m;
	char **dbs = NULL;
	size_t n = 0, i;
	int rc = databases(datadir, &dbs, &n);
	if (!rc)
		rc = mount_open(datadir, 1, &m);
	if (rc) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", datadir,
			strerror(rc));
		free_names(dbs, n);
		return EXIT_ERROR;
	}
	signal(SIGPIPE, SIG_IGN); /* a reader gone is a write error */
	if (db) {
		for (i = 0; i < n && strcmp(db, dbs[i]); i++)
			;
		if (i == n)
			rc = ENOENT;
	}
	if (!rc)
		printf("recordfs dump 1\n");
	for (i = 0; !rc && i < n; i++)
		if (!db || !strcmp(db, dbs[i]))
			rc = dump_db(datadir, m.path, dbs[i], table, stdout);
	/* the last line: a dump cut short has none, and load says so */
	if (!rc)
		printf("end\n");
	if ((fflush(stdout) != 0 || ferror(stdout)) && !rc)
		rc = errno ? errno : EIO;
	if (mount_close(&m) != 0 && !rc)
		rc = EIO;
	free_names(dbs, n);
	if (rc) {
		fprintf(stderr, "recordfs-admin: dump: %s%s%s: %s\n",
			db ? db : datadir, table ? "/" : "", table ? table : "",
			strerror(rc));
		return EXIT_ERROR;
	}
	return 0;
}

/* Write what follows on in (up to the next header line, which is left
 * in *line with its length in *held) into path with O_TRUNC; 0 or errno
 * (the import's refusal is the close's). */
static int load_table(FILE *in, const char *path, char **line, size_t *cap,
		      ssize_t *held)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;
	int rc = 0;
	*held = 0;
	if (fd < 0)
		return errno;
	while ((n = getline(line, cap, in)) > 0) {
		if ((*line)[0] != '{') {
			*held = n; /* the next header: a pipe cannot seek */
			break;
		}
		if (write(fd, *line, (size_t)n) != n) {
			rc = errno;
			break;
		}
	}
	if (close(fd) != 0 && !rc)
		rc = errno;
	return rc;
}

static int load(const char *datadir)
{
	struct mnt m;
	char *line = NULL, db[512] = "", tname[512] = "", path[9000], cmd[16],
	     name[512];
	size_t cap = 0;
	ssize_t n, held = 0;
	int rc, ended = 0;
	if (mkdir(datadir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", datadir,
			strerror(errno));
		return EXIT_ERROR;
	}
	if (getline(&line, &cap, stdin) <= 0 ||
	    strcmp(line, "recordfs dump 1\n") != 0) {
		fprintf(stderr, "recordfs-admin: load: standard input is no "
				"recordfs dump (its first line is not "
				"\"recordfs dump 1\")\n");
		free(line);
		return EXIT_ERROR;
	}
	rc = mount_open(datadir, 0, &m);
	if (rc) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", datadir,
			strerror(rc));
		free(line);
		return EXIT_ERROR;
	}
	while (!rc &&
	       (held ? (n = held) : (n = getline(&line, &cap, stdin))) > 0) {
		size_t len;
		held = 0;
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		if (!strcmp(line, "end")) {
			ended = 1;
			break;
		}
		if (sscanf(line, "%15s %511s", cmd, name) != 2) {
			rc = EINVAL;
			break;
		}
		/* a name is the rest of its line: it may hold spaces */
		if (!strcmp(cmd, "database") || !strcmp(cmd, "table"))
			snprintf(name, sizeof(name), "%s",
				 line + strlen(cmd) + 1);
		if (!strcmp(cmd, "database")) {
			snprintf(db, sizeof(db), "%s", name);
			tname[0] = 0;
			snprintf(path, sizeof(path), "%s/%s", m.path, db);
			if (mkdir(path, 0755) != 0 && errno != EEXIST)
				rc = errno;
		} else if (!strcmp(cmd, "schema") && db[0]) {
			char *text;
			FILE *f;
			len = strtoul(name, NULL, 10);
			text = malloc(len ? len : 1);
			if (!text || fread(text, 1, len, stdin) != len) {
				free(text);
				rc = EINVAL;
				break;
			}
			snprintf(path, sizeof(path), "%s/%s/schema.graphql",
				 m.path, db);
			f = len ? fopen(path, "w") : NULL;
			if (len && (!f || fwrite(text, 1, len, f) != len))
				rc = errno ? errno : EIO;
			if (f && fclose(f) != 0 && !rc)
				rc = errno;
			free(text);
		} else if (!strcmp(cmd, "attrs") && tname[0]) {
			unsigned mode, uid, gid;
			long long mt;
			struct timespec ts[2] = {{0, UTIME_OMIT}, {0, 0}};
			/* NAME may hold spaces: the four numbers end the line
			 */
			char *f = line + strlen(line);
			int sp = 0;
			while (f > line + 6 && sp < 4)
				if (*--f == ' ')
					sp++;
			if (sp < 4 || sscanf(f, " %o %u %u %lld", &mode, &uid,
					     &gid, &mt) != 4) {
				rc = EINVAL;
				break;
			}
			*f = 0;
			snprintf(name, sizeof(name), "%s", line + 6);
			if (!strcmp(name, "."))
				snprintf(path, sizeof(path), "%s/%s/%s", m.path,
					 db, tname);
			else
				snprintf(path, sizeof(path), "%s/%s/%s/%s",
					 m.path, db, tname, name);
			ts[1].tv_sec = (time_t)(mt / 1000000000);
			ts[1].tv_nsec = (long)(mt % 1000000000);
			if (ts[1].tv_nsec < 0) {
				ts[1].tv_sec--;
				ts[1].tv_nsec += 1000000000;
			}
			/* the owner first: a chown may clear set-id bits */
			if (lchown(path, uid, gid) != 0 && errno != EPERM)
				rc = errno;
			else if (chmod(path, mode & 07777) != 0 ||
				 utimensat(AT_FDCWD, path, ts,
					   AT_SYMLINK_NOFOLLOW) != 0)
				rc = errno;
		} else if (!strcmp(cmd, "table") && db[0]) {
			snprintf(tname, sizeof(tname), "%s", name);
			stage(db, name);
			snprintf(path, sizeof(path), "%s/%s/%s", m.path, db,
				 name);
			if (mkdir(path, 0755) != 0 && errno != EEXIST) {
				rc = errno;
				break;
			}
			snprintf(path, sizeof(path), "%s/%s/%s.ndjson", m.path,
				 db, name);
			rc = load_table(stdin, path, &line, &cap, &held);
		} else {
			rc = EINVAL;
		}
		if (rc)
			fprintf(stderr,
				"recordfs-admin: load: %s %s: %s (%s"
				"/.recordfs/errors says why)\n",
				cmd, name, strerror(rc), m.path);
	}
	if (!rc && (ferror(stdin) || !ended)) {
		rc = ferror(stdin) ? EIO : EINVAL;
		fprintf(
		    stderr,
		    "recordfs-admin: load: the dump ends before its \"end\" "
		    "line: it was cut short; what came before is loaded\n");
	}
	free(line);
	if (mount_close(&m) != 0 && !rc) {
		rc = EIO;
		fprintf(stderr, "recordfs-admin: load: the daemon did not end "
				"well: its log says why\n");
	}
	return rc ? EXIT_ERROR : 0;
}

/* ---- the command line ------------------------------------------------- */

static const struct command {
	const char *name, *args, *help;
	int nargs;
} commands[] = {
    {"check", "DATADIR",
     "Prove that every database's indexes match its records, and that its\n"
     "change feed and the records' histories agree.  Exit 0 when they do,\n"
     "1 when not (each problem on a line), 2 on an error.",
     1},
    {"stats", "DATADIR",
     "Per database: map size and use, the change feed's bytes, lines and\n"
     "seqs; per table: dynamic or declared, records, index entries.",
     1},
    {"backup", "DATADIR DEST",
     "Copy every database into DEST/DB, compacted, each from one read\n"
     "transaction: what was committed when its copy began, while the mount\n"
     "is in use.  Mount DEST as a data directory to read it.",
     2},
    {"compact", "DATADIR",
     "Rewrite each database without its free pages; print its size before\n"
     "and after.  The data directory must be unmounted (exit 3 if not).",
     1},
    {"dump", "DATADIR [DB [TABLE]]",
     "Print the databases (or one, or one table) as text: each database's\n"
     "schema.graphql and each table's records as NDJSON, as the streams\n"
     "read them (keys and times in the records).  Through the mount that\n"
     "serves DATADIR, or a read-only one of its own.",
     -1},
    {"load", "DATADIR",
     "Read a dump on standard input into DATADIR: each schema written, each\n"
     "table made to hold exactly the dump's records (its .ndjson written\n"
     "with >, checked and indexed as any import).  Through the mount that\n"
     "serves DATADIR, or one of its own.",
     1},
};

static void usage(FILE *f)
{
	size_t i;
	fprintf(f, "usage: recordfs-admin COMMAND ARGS (COMMAND --help says "
		   "more)\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  recordfs-admin %s %s\n", commands[i].name,
			commands[i].args);
}

int main(int argc, char **argv)
{
	const struct command *c = NULL;
	size_t i;
	tty = isatty(2);
	if (argc < 2) {
		usage(stderr);
		return EXIT_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			c = &commands[i];
	if (!c) {
		fprintf(stderr, "recordfs-admin: no command %s\n", argv[1]);
		usage(stderr);
		return EXIT_ERROR;
	}
	if (argc == 3 &&
	    (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		printf("usage: recordfs-admin %s %s\n\n%s\n", c->name, c->args,
		       c->help);
		return 0;
	}
	if (c->nargs < 0 ? argc < 3 || argc > 5 : argc != 2 + c->nargs) {
		fprintf(stderr, "usage: recordfs-admin %s %s\n", c->name,
			c->args);
		return EXIT_ERROR;
	}
	/* beside compact, which waits for none of them (see admin_lock);
	 * held until the process ends */
	if (c != &commands[3] && c != &commands[5])
		(void)admin_lock(argv[2], 0);
	if (c == &commands[0])
		return check(argv[2]);
	if (c == &commands[1])
		return stats(argv[2]);
	if (c == &commands[2])
		return backup(argv[2], argv[3]);
	if (c == &commands[3])
		return compact(argv[2]);
	if (c == &commands[4])
		return dump(argv[2], argc > 3 ? argv[3] : NULL,
			    argc > 4 ? argv[4] : NULL);
	return load(argv[2]);
}
