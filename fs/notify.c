/*
 * notify.c: telling the kernel to forget a name, from a thread of its own.
 *
 * fuse_lowlevel_notify_inval_entry() takes the directory's lock in the
 * kernel.  A process may hold that lock while it waits for a reply from
 * the single-threaded session loop, so the loop must never wait on the
 * notification: handlers queue it here, and this thread sends it while the
 * loop goes on serving (and so lets the lock go).
 */
#include <stdlib.h>
#include <string.h>

#include "fs_i.h"

struct note {
	uint64_t parent;
	struct note *next;
	char name[];
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct note *head, **tail;
	pthread_t thread;
	int started, stop;
} nq = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *notify_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&nq.mu);
	for (;;) {
		struct note *n;
		while (!nq.head && !nq.stop)
			pthread_cond_wait(&nq.cv, &nq.mu);
		if (!nq.head)
			break; /* stopping, and nothing left */
		n = nq.head;
		nq.head = n->next;
		if (!nq.head)
			nq.tail = &nq.head;
		pthread_mutex_unlock(&nq.mu);
		if (!nq.stop)
			fuse_lowlevel_notify_inval_entry(
			    fs.se, n->parent, n->name, strlen(n->name));
		free(n);
		pthread_mutex_lock(&nq.mu);
	}
	pthread_mutex_unlock(&nq.mu);
	return NULL;
}

int fs_notify_start(void)
{
	nq.tail = &nq.head;
	nq.stop = 0;
	if (pthread_create(&nq.thread, NULL, notify_main, NULL) != 0)
		return -1;
	nq.started = 1;
	return 0;
}

void fs_notify_stop(void)
{
	struct note *n;
	if (!nq.started)
		return;
	pthread_mutex_lock(&nq.mu);
	nq.stop = 1;
	pthread_cond_signal(&nq.cv);
	pthread_mutex_unlock(&nq.mu);
	pthread_join(nq.thread, NULL);
	nq.started = 0;
	while ((n = nq.head)) {
		nq.head = n->next;
		free(n);
	}
	nq.tail = &nq.head;
}

void fs_notify_entry(uint64_t parent, const char *name)
{
	size_t len = strlen(name);
	struct note *n;
	if (!nq.started || !fs.live)
		return;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return; /* the name stays cached until its timeout */
	n->parent = parent;
	n->next = NULL;
	memcpy(n->name, name, len + 1);
	pthread_mutex_lock(&nq.mu);
	*nq.tail = n;
	nq.tail = &n->next;
	pthread_cond_signal(&nq.cv);
	pthread_mutex_unlock(&nq.mu);
}
