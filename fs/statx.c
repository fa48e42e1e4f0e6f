/*
 * statx.c: birth times, answered below libfuse.
 *
 * The kernel asks for a file's birth time with FUSE_STATX (Linux 6.6 and
 * later), which libfuse 3.14 does not know and would answer ENOSYS.  The
 * session loop here reads each request itself, answers FUSE_STATX from the
 * node's stored creation time, and hands every other request to libfuse.
 * Kernels without FUSE_STATX never send it and fall back to GETATTR.
 * The structures are the kernel's ABI (include/uapi/linux/fuse.h, 7.39).
 * The loop also commits the databases' batches on time, lets waiting
 * opens go on (file.c), and stores changed directory times (dirs.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs_i.h"

#define OP_STATX 52

struct in_header {
	uint32_t len;
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen;
	uint16_t padding;
};

struct out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct sx_time {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};

struct fuse_statx {
	uint32_t mask;
	uint32_t blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode;
	uint16_t spare0;
	uint64_t ino, size, blocks, attributes_mask;
	struct sx_time atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t spare2[14];
};

struct statx_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec;
	uint32_t flags;
	uint64_t spare[2];
	struct fuse_statx stat;
};

/* STATX_* mask bits (linux/stat.h) */
#define SX_BASIC 0x07ffu
#define SX_BTIME 0x0800u

static void sx_time_set(struct sx_time *t, int64_t sec, long nsec)
{
	t->tv_sec = sec;
	t->tv_nsec = (uint32_t)nsec;
	t->reserved = 0;
}

static void reply(struct fuse_session *se, uint64_t unique, int err,
		  const void *body, size_t len)
{
	struct out_header oh = {(uint32_t)(sizeof(oh) + len), -err, unique};
	struct iovec iov[2] = {{&oh, sizeof(oh)}, {(void *)body, len}};
	ssize_t w = writev(fuse_session_fd(se), iov, len ? 2 : 1);
	(void)w; /* the request may have been interrupted: nothing to do */
}

static void do_statx(struct fuse_session *se, const struct in_header *in)
{
	struct fs_node *n = fs_node_get(in->nodeid);
	struct statx_out out;
	struct stat st;
	int64_t bt = 0;
	int rc;

	fs.n_ops++;
	if (!n) {
		reply(se, in->unique, ESTALE, NULL, 0);
		return;
	}
	rc = fs_node_attr(n, &st, &bt);
	if (rc) {
		reply(se, in->unique, rc, NULL, 0);
		return;
	}
	memset(&out, 0, sizeof(out));
	/* Cached as long as a getattr of the same node. */
	out.attr_valid = (uint64_t)fs_attr_ttl(n);
	out.stat.mask = SX_BASIC | SX_BTIME;
	out.stat.blksize = (uint32_t)st.st_blksize;
	out.stat.nlink = (uint32_t)st.st_nlink;
	out.stat.uid = st.st_uid;
	out.stat.gid = st.st_gid;
	out.stat.mode = (uint16_t)st.st_mode;
	out.stat.ino = st.st_ino;
	out.stat.size = (uint64_t)st.st_size;
	out.stat.blocks = (uint64_t)st.st_blocks;
	sx_time_set(&out.stat.atime, st.st_atim.tv_sec, st.st_atim.tv_nsec);
	sx_time_set(&out.stat.mtime, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	sx_time_set(&out.stat.ctime, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	sx_time_set(&out.stat.btime, bt / 1000000000, bt % 1000000000);
	reply(se, in->unique, 0, &out, sizeof(out));
}

/*
 * The open batches (store_batch_apply) commit at most IDLE_COMMIT_NS
 * after they begin: a timer then interrupts the session loop's read, so
 * a client that stopped sees its changes committed, for other processes
 * to read, soon after its last one.  While requests keep coming they
 * commit with every 64 changes, or as room asks, and at least that often.
 * Asking the kernel whether a request waits (poll) before each one cost
 * more than batching saves.
 */
#define IDLE_COMMIT_NS 1000000
#define DIR_TIMES_S                                                            \
	1 /* directory times are stored, and the change                        \
	   * feeds trimmed to their limits, this often */

static volatile sig_atomic_t batch_due;

static void on_batch_timer(int sig)
{
	(void)sig;
	batch_due = 1;
}

/* A one-shot timer that signals this thread (0), or -1 when none can be
 * made: then batches commit at the next request instead. */
static int batch_timer(timer_t *t)
{
	struct sigaction sa;
	struct sigevent sev;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_batch_timer; /* no SA_RESTART: the read ends */
	sigemptyset(&sa.sa_mask);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = gettid();
	if (sigaction(SIGALRM, &sa, NULL) != 0 ||
	    timer_create(CLOCK_MONOTONIC, &sev, t) != 0)
		return -1;
	return 0;
}

/*
 * fuse_session_loop(), with FUSE_STATX answered here.  Its timer is soon
 * (IDLE_COMMIT_NS) while a batch is open or an open waits, slow
 * (DIR_TIMES_S) while only directory times wait to be stored; neither
 * runs with the RECORDFS_CRASH_AFTER_ANSWER test hook, whose crash must
 * find the batch open.
 */
int fs_session_loop(struct fuse_session *se)
{
	struct fuse_buf buf;
	struct itimerspec due = {.it_value = {0, IDLE_COMMIT_NS}},
			  later = {.it_value = {DIR_TIMES_S, 0}};
	timer_t timer;
	int res = 0, armed = 0, timed = batch_timer(&timer) == 0;
	int soon = 0; /* a batch to commit, or an open that waits */
	int slow = 0; /* directory times to store */

	memset(&buf, 0, sizeof(buf));
	while (!fuse_session_exited(se)) {
		if (batch_due || (!timed && armed)) {
			batch_due = 0;
			armed = 0;
			/* the crash hook's batch must stay open for it */
			if (!fs.crash_after_answer) {
				fs_batches_commit();
				fs_dir_times_store(0);
				fs_feeds_trim();
			}
			soon = fs_open_waits_run(NULL);
			slow = !fs.crash_after_answer &&
			       (fs_dir_times_pending() || fs_feeds_over());
		}
		soon = soon || (!fs.crash_after_answer && fs_batches_open());
		if (!armed && (soon || slow))
			armed = !timed ||
				timer_settime(timer, 0, soon ? &due : &later,
					      NULL) == 0;
		res = fuse_session_receive_buf(se, &buf);
		if (res == -EINTR)
			continue;
		if (res <= 0)
			break;
		if (!(buf.flags & FUSE_BUF_IS_FD) &&
		    (size_t)res >= sizeof(struct in_header) &&
		    ((struct in_header *)buf.mem)->opcode == OP_STATX)
			do_statx(se, buf.mem);
		else
			fuse_session_process_buf(se, &buf);
		/* an open that began to wait needs the timer soon; a
		 * directory time to store, within a second */
		soon = soon || fs_open_waits();
		slow = slow || (!fs.crash_after_answer &&
				(fs_dir_times_pending() || fs_feeds_over()));
		if (armed && soon && !fs_batches_open() && slow) {
			/* a slow timer runs: make it soon */
			armed =
			    !timed || timer_settime(timer, 0, &due, NULL) == 0;
		}
	}
	if (timed)
		timer_delete(timer);
	free(buf.mem);
	if (res > 0)
		res = 0;
	fuse_session_reset(se);
	return res < 0 ? -1 : 0;
}
