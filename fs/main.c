/*
 * main.c: options, the data directory, and the session loop.
 *
 * recordfs [-f] [-o OPTIONS] DATADIR MOUNTPOINT
 *
 * The session loop is single-threaded: one FUSE request at a time, so the
 * daemon's tables need no locks.  A second thread syncs the databases to
 * disk every sync=N seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fs_i.h"

struct fs fs;

struct cli {
	char *datadir;
	char *json;
	int sync_secs;
	char *initial_map;
	char *changes;
	char *log;
	int listby;
	int allow_other;
	int ro;
	int fsname; /* given: else the data directory is the mount's source */
	char *status;
	int show_help;
	int show_version;
};

#define OPT(t, p)                                                              \
	{                                                                      \
		t, offsetof(struct cli, p), 1                                  \
	}
static const struct fuse_opt cli_opts[] = {
    OPT("json=%s", json),
    OPT("sync=%d", sync_secs),
    OPT("initial_map=%s", initial_map),
    OPT("changes=%s", changes),
    OPT("log=%s", log),
    OPT("listby", listby),
    OPT("status=%s", status),
    FUSE_OPT_KEY("allow_other", 'a'),
    FUSE_OPT_KEY("ro", 'r'),
    FUSE_OPT_KEY("fsname=", 'F'),
    FUSE_OPT_KEY("-h", 'h'),
    FUSE_OPT_KEY("--help", 'h'),
    FUSE_OPT_KEY("-V", 'V'),
    FUSE_OPT_KEY("--version", 'V'),
    FUSE_OPT_END,
};

static int cli_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct cli *c = data;
	if (key == FUSE_OPT_KEY_NONOPT && !c->datadir) {
		c->datadir = strdup(arg);
		return 0;
	}
	if (key == 'h') {
		c->show_help = 1;
		return 1;
	}
	if (key == 'a') {
		c->allow_other = 1;
		return 1; /* libfuse's too */
	}
	if (key == 'r') {
		c->ro = 1;
		return 1; /* the kernel's too: it refuses every write */
	}
	if (key == 'F') {
		c->fsname = 1;
		return 1;
	}
	if (key == 'V') {
		c->show_version = 1;
		return 1;
	}
	return 1;
}

static void usage(const char *prog)
{
	printf(
	    "usage: %s [options] DATADIR MOUNTPOINT\n\n"
	    "Mounts the databases kept in DATADIR (one LMDB environment per\n"
	    "database) at MOUNTPOINT.\n\n"
	    "recordfs options:\n"
	    "    -o json=pretty|compact  how records print (default pretty)\n"
	    "    -o sync=SECONDS         sync to disk every SECONDS (default "
	    "5);\n"
	    "                            0 makes every commit durable at once\n"
	    "    -o initial_map=SIZE     starting LMDB map size, e.g. 64M\n"
	    "                            (default 1M; it doubles when full)\n"
	    "    -o changes=SIZE         bytes of changes each database's\n"
	    "                            .changes keeps (default 64M; 0: no\n"
	    "                            feed, no history)\n"
	    "    -o log=FILE             log to FILE (default: standard error\n"
	    "                            with -f, else syslog)\n"
	    "    -o listby               list each table's .by index tree\n"
	    "                            (reachable by name either way)\n"
	    "    -o allow_other          let other users in: the kept modes\n"
	    "                            are enforced (default_permissions)\n"
	    "    -o status=owner|public  who reads .recordfs/ (default "
	    "owner)\n"
	    "    -o ro                   read-only; .next hands out no key\n"
	    "    -f                      stay in the foreground\n"
	    "    -d                      debug: foreground, log every "
	    "request\n\n",
	    prog);
}

/* A size such as 64M (K, M, G), of at least min bytes and at most 1 TiB. */
static int parse_size(const char *s, size_t min, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;
	if (*s < '0' || *s > '9')
		return EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		break;
	}
	if (shift)
		end++;
	if (*end || v > (1ull << 40) >> shift || (v << shift) < min)
		return EINVAL;
	*out = (size_t)(v << shift);
	return 0;
}

static void *sync_main(void *arg)
{
	struct timespec ts;
	pthread_mutex_lock(&fs.sync_mu);
	while (!fs.sync_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += fs.opts.sync_secs;
		pthread_cond_timedwait(&fs.sync_cv, &fs.sync_mu, &ts);
		if (fs.sync_stop)
			break;
		pthread_mutex_unlock(&fs.sync_mu);
		fs_sync_all();
		pthread_mutex_lock(&fs.sync_mu);
	}
	pthread_mutex_unlock(&fs.sync_mu);
	return NULL;
}

static int open_datadir(const char *dir)
{
	char path[4096];
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "recordfs: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	fs.datadir = realpath(dir, NULL);
	if (!fs.datadir) {
		fprintf(stderr, "recordfs: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	/* One daemon per data directory: two would fight over the maps. */
	snprintf(path, sizeof(path), "%s/.lock", fs.datadir);
	fs.lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fs.lockfd < 0 || flock(fs.lockfd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "recordfs: %s: %s\n", path,
			errno == EWOULDBLOCK
			    ? "another recordfs is serving this data directory"
			    : strerror(errno));
		return -1;
	}
	return 0;
}

/* A fault the mounted tests inject: on only when name is a number from
 * 1 to 1000 (its value is returned), and said. */
static int test_hook(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long n;
	if (!v)
		return 0;
	n = strtol(v, &end, 10);
	if (*end || end == v || n < 1 || n > 1000)
		return 0;
	fprintf(stderr, "recordfs: %s=%ld: a fault for tests is on\n", name, n);
	return (int)n;
}

/*
 * Tell the service manager how the daemon stands, when one asked (a unit
 * of Type=notify sets NOTIFY_SOCKET): one datagram to that socket, as
 * sd_notify(3) sends it.  READY=1 once the mount is made and requests are
 * about to be served, STOPPING=1 once unmounted.  Without the variable,
 * nothing.
 */
static void tell_service_manager(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* an abstract name */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(
		fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		fs_log("cannot tell the service manager %s: %s", state,
		       strerror(errno));
	close(fd);
}

int fs_main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct cli cli = {.sync_secs = 5};
	struct fs_node *n;
	int ret = 1, sync_started = 0;

	memset(&opts, 0, sizeof(opts));
	if (fuse_opt_parse(&args, &cli, cli_opts, cli_proc) != 0)
		goto out0;
	if (cli.show_help) {
		usage(argv[0]);
		fuse_lowlevel_help();
		ret = 0;
		goto out0;
	}
	if (cli.show_version) {
		/* recordfs's alone: scripts compare it */
		printf("recordfs %s\n", RECORDFS_VERSION);
		ret = 0;
		goto out0;
	}
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out0;
	if (!cli.datadir || !opts.mountpoint) {
		usage(argv[0]);
		goto out1;
	}
	if (cli.json && strcmp(cli.json, "compact") == 0)
		fs.opts.compact = 1;
	else if (cli.json && strcmp(cli.json, "pretty") != 0) {
		fprintf(stderr, "recordfs: json=%s: use pretty or compact\n",
			cli.json);
		goto out1;
	}
	if (cli.sync_secs < 0) {
		fprintf(stderr, "recordfs: sync=%d: use 0 or more seconds\n",
			cli.sync_secs);
		goto out1;
	}
	fs.opts.sync_secs = cli.sync_secs;
	fs.opts.listall = cli.listby;
	if (cli.status && strcmp(cli.status, "public") == 0)
		fs.opts.status_public = 1;
	else if (cli.status && strcmp(cli.status, "owner") != 0) {
		fprintf(stderr, "recordfs: status=%s: use owner or public\n",
			cli.status);
		goto out1;
	}
	/* other users: the kernel holds them to the modes kept */
	fs.opts.allow_other = cli.allow_other;
	fs.opts.ro = cli.ro;
	if (cli.allow_other &&
	    fuse_opt_add_arg(&args, "-odefault_permissions") != 0)
		goto out1;
	if (cli.initial_map &&
	    parse_size(cli.initial_map, 1u << 20, &fs.opts.initial_map)) {
		fprintf(stderr,
			"recordfs: initial_map=%s: use a size of 1M or more\n",
			cli.initial_map);
		goto out1;
	}
	{
		size_t ch = FS_CHANGES_DEFAULT;
		if (cli.changes && strcmp(cli.changes, "0") == 0)
			ch = 0;
		else if (cli.changes && parse_size(cli.changes, 4096, &ch)) {
			fprintf(stderr,
				"recordfs: changes=%s: use 0 (no feed) or a "
				"size of 4K or more, such as 64M\n",
				cli.changes);
			goto out1;
		}
		fs.opts.changes = ch;
	}
	fs.uid = getuid();
	fs.gid = getgid();
	pthread_mutex_init(&fs.db_lock, NULL);
	pthread_mutex_init(&fs.sync_mu, NULL);
	pthread_cond_init(&fs.sync_cv, NULL);
	fs.lockfd = -1;
	fs.crash_after_answer = test_hook("RECORDFS_CRASH_AFTER_ANSWER");
	fs.fail_after_answer = test_hook("RECORDFS_FAIL_AFTER_ANSWER");
	/* before the fork, so that a log file that cannot be opened is said
	 * where the caller still reads */
	{
		int e = fs_log_open(cli.log, opts.foreground);
		if (e) {
			fprintf(stderr, "recordfs: log=%s: %s\n", cli.log,
				strerror(e));
			goto out1;
		}
	}
	if (open_datadir(cli.datadir) != 0)
		goto out1;
	if (!cli.fsname) {
		/* mount(8) and /proc/mounts show the data directory as the
		 * source, as for a device (commas and backslashes escaped
		 * for libfuse's option parser) */
		char arg[8200], *o = arg + sprintf(arg, "-ofsname=");
		const char *s;
		for (s = fs.datadir; *s && o < arg + sizeof(arg) - 3; s++) {
			if (*s == ',' || *s == '\\')
				*o++ = '\\';
			*o++ = *s;
		}
		*o = 0;
		if (fuse_opt_add_arg(&args, arg) != 0)
			goto out1;
	}
	if ((ret = fs_dbs_open()) != 0) {
		fprintf(stderr, "recordfs: %s: %s\n", fs.datadir,
			strerror(ret));
		ret = 1;
		goto out2;
	}
	ret = 1;
	/* Fixed nodes live as long as the mount. */
	if (!(n = fs_node_new(FS_INO_ROOT, FS_ROOT)) ||
	    !(n = fs_node_new(FS_INO_STATUS, FS_STATUS)) ||
	    !(n = fs_node_new(FS_INO_ERRORS, FS_ERRORS)) ||
	    !(n = fs_node_new(FS_INO_STATS, FS_STATS)))
		goto out2;
	fs.se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), NULL);
	if (!fs.se)
		goto out2;
	if (fuse_set_signal_handlers(fs.se) != 0)
		goto out3;
	if (fuse_session_mount(fs.se, opts.mountpoint) != 0)
		goto out4;
	/*
	 * LMDB's locks belong to the process that opened the environment and
	 * do not pass through fork: the environments opened above (to say
	 * what is wrong while a terminal still listens) are closed and opened
	 * again in the process that serves.
	 */
	if (!opts.foreground)
		fs_dbs_close();
	if (fuse_daemonize(opts.foreground) != 0)
		goto out5;

	if (!opts.foreground && (ret = fs_dbs_open()) != 0) {
		fs_log("%s: %s", fs.datadir, strerror(ret));
		ret = 1;
		goto out5;
	}
	if (fs.opts.sync_secs > 0 &&
	    pthread_create(&fs.sync_thread, NULL, sync_main, NULL) == 0)
		sync_started = 1;
	if (fs_notify_start() != 0) {
		fs_log("cannot start the notification thread");
		ret = 1;
		goto out5;
	}
	tell_service_manager("READY=1");
	ret = fs_session_loop(fs.se) ? 1 : 0;
	tell_service_manager("STOPPING=1");
	fs_notify_stop();
	if (sync_started) {
		pthread_mutex_lock(&fs.sync_mu);
		fs.sync_stop = 1;
		pthread_cond_signal(&fs.sync_cv);
		pthread_mutex_unlock(&fs.sync_mu);
		pthread_join(fs.sync_thread, NULL);
	}
out5:
	fuse_session_unmount(fs.se);
out4:
	fuse_remove_signal_handlers(fs.se);
out3:
	fuse_session_destroy(fs.se);
out2:
	/* Whatever is still open is committed before the maps close. */
	fs_files_commit_all();
	fs_dbs_close();
	fs_nodes_free_all();
	fs_log_free();
	if (fs.lockfd >= 0)
		close(fs.lockfd);
	free(fs.datadir);
out1:
	free(opts.mountpoint);
out0:
	fuse_opt_free_args(&args);
	free(cli.datadir);
	free(cli.json);
	free(cli.initial_map);
	free(cli.changes);
	free(cli.log);
	free(cli.status);
	return ret;
}
