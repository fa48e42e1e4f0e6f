/*
 * log.c: the daemon's log, and the refusals .recordfs/errors shows.
 *
 * Every refused operation leaves one line, "PATH: REASON", in the daemon's
 * log (stderr) and in a ring of the most recent lines that
 * MOUNT/.recordfs/errors shows.  The ring is bounded so a script that fails
 * in a loop cannot grow the daemon.  Callers decide what is refused and
 * why; this file only words the line (a node's path comes from names.c)
 * and keeps it.
 *
 * The ring read as one text only grows, as the change feed does (see
 * feed.c): each line keeps its offset in it, and an errors node starts at
 * one (its base), so tail -f follows it; once the ring has let the first
 * line of the current node go, a lookup gives a new node that starts at
 * the oldest line kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fs_i.h"

#define RING_LINES   256
#define LINE_MAX_LEN 1024

static char *ring[RING_LINES];
static uint64_t ring_off[RING_LINES]; /* where each line starts */
static size_t ring_next;	      /* total lines ever added */
static uint64_t ring_end;	      /* total bytes ever added */
static uint64_t errors_ino = FS_INO_ERRORS, errors_gen;

/* Where the log goes: standard error (the foreground), a file (-o log=),
 * or syslog (in the background, where standard error is /dev/null). */
static enum { TO_STDERR, TO_FILE, TO_SYSLOG } log_to = TO_STDERR;
static FILE *log_file;

int fs_log_open(const char *path, int foreground)
{
	if (path) {
		int fd =
		    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return errno;
		log_file = fdopen(fd, "a");
		if (!log_file) {
			int e = errno;
			close(fd);
			return e;
		}
		setvbuf(log_file, NULL, _IOLBF, 0);
		log_to = TO_FILE;
	} else if (!foreground) {
		openlog("recordfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_to = TO_SYSLOG;
	}
	return 0;
}

void fs_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (log_to == TO_SYSLOG) {
		vsyslog(LOG_NOTICE, fmt, ap);
	} else if (log_to == TO_FILE) {
		char stamp[32];
		struct tm tm;
		time_t now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(log_file, "%s recordfs[%d]: ", stamp, (int)getpid());
		vfprintf(log_file, fmt, ap);
		fputc('\n', log_file);
	} else {
		fputs("recordfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

void fs_refuse(const char *path, const char *fmt, ...)
{
	char reason[LINE_MAX_LEN], stamp[32], *line;
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* One line each, whatever the reason holds. */
	for (i = 0; reason[i]; i++)
		if (reason[i] == '\n' || reason[i] == '\r')
			reason[i] = ' ';
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fs.n_refused++;
	fs_log("%s: %s", path, reason);
	if (asprintf(&line, "%s %s: %s\n", stamp, path, reason) < 0)
		return;
	i = ring_next % RING_LINES;
	free(ring[i]);
	ring[i] = line;
	ring_off[i] = ring_end;
	ring_end += strlen(line);
	ring_next++;
}

/* Where the oldest line kept starts, and where the text ends. */
static uint64_t ring_first(void)
{
	return ring_next > RING_LINES ? ring_off[ring_next % RING_LINES] : 0;
}

uint64_t fs_errors_ino(void)
{
	struct fs_node *n = fs_node_get(errors_ino);
	/* the number the next lookup gives: a new one once the ring let
	 * this node's first line go */
	return n && n->base >= ring_first()
		   ? errors_ino
		   : FS_INO_ERRORS_NEXT | ((errors_gen + 1) & 0xffffffffu);
}

uint64_t fs_errors_end(void)
{
	return ring_end;
}

struct fs_node *fs_errors_node(void)
{
	struct fs_node *n = fs_node_get(errors_ino);
	if (n && n->base >= ring_first())
		return n;
	n = fs_node_new(FS_INO_ERRORS_NEXT | (++errors_gen & 0xffffffffu),
			FS_ERRORS);
	if (n) {
		n->base = ring_first();
		errors_ino = n->ino;
	}
	return n;
}

int fs_errors_read(uint64_t at, char *out, size_t size, size_t *got)
{
	size_t i, first = ring_next > RING_LINES ? ring_next - RING_LINES : 0;
	*got = 0;
	if (at < ring_first())
		return ENODATA;
	for (i = first; i < ring_next && *got < size; i++) {
		const char *l = ring[i % RING_LINES];
		uint64_t off = ring_off[i % RING_LINES], len = strlen(l), take;
		if (at >= off + len)
			continue;
		take = off + len - at;
		if (take > size - *got)
			take = size - *got;
		memcpy(out + *got, l + (at - off), take);
		*got += take;
		at += take;
	}
	return 0;
}

void fs_log_free(void)
{
	size_t i;
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	if (log_to == TO_SYSLOG)
		closelog();
	log_to = TO_STDERR;
	for (i = 0; i < RING_LINES; i++) {
		free(ring[i]);
		ring[i] = NULL;
	}
}

/*
 * ENAMETOOLONG for a name longer than a file name may be (NAME_MAX, as
 * statfs says), with a line about name in p; 0 for a name that fits.
 */
int fs_refuse_long(const struct fs_node *p, const char *name)
{
	if (strlen(name) <= SCHEMA_NAME_MAX)
		return 0;
	return fs_refuse_node(ENAMETOOLONG, p, name, NULL,
			      "a name holds at most 255 bytes");
}

/* Report a refusal about node n (and name) and return rc. */
int fs_refuse_node(int rc, const struct fs_node *n, const char *name,
		   const struct schema_err *err, const char *fallback)
{
	const char *why = err && err->msg[0] ? err->msg : fallback;
	if (!why)
		why = rc == ENOSPC ? FS_DISK_FULL : strerror(rc);
	fs_refuse(fs_node_path(n, name), "%s", why);
	return rc;
}
