/*
 * log.c: the daemon's log, and the refusals .recordfs/errors shows.
 *
 * Every refused operation leaves one line, "PATH: REASON", in the daemon's
 * log (stderr) and in a ring of the most recent lines that
 * MOUNT/.recordfs/errors shows.  The ring is bounded so a script that fails
 * in a loop cannot grow the daemon.  Callers decide what is refused and
 * why; this file only words the line (a node's path comes from names.c)
 * and keeps it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_i.h"

#define RING_LINES   256
#define LINE_MAX_LEN 1024

static char *ring[RING_LINES];
static size_t ring_next; /* total lines ever added */

void fs_log(const char *fmt, ...)
{
	va_list ap;
	fputs("recordfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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
	ring_next++;
}

char *fs_errors_text(size_t *len)
{
	size_t i, n = 0,
		  first = ring_next > RING_LINES ? ring_next - RING_LINES : 0;
	char *out;
	for (i = first; i < ring_next; i++)
		n += strlen(ring[i % RING_LINES]);
	out = malloc(n + 1);
	if (!out)
		return NULL;
	n = 0;
	for (i = first; i < ring_next; i++) {
		size_t l = strlen(ring[i % RING_LINES]);
		memcpy(out + n, ring[i % RING_LINES], l);
		n += l;
	}
	out[n] = 0;
	*len = n;
	return out;
}

void fs_log_free(void)
{
	size_t i;
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
