/*
 * bench-driver: the client side of the benchmark suite (tests/bench/run).
 * It does to a directory of records what a user's program would, one
 * system call sequence per record, and prints the elapsed wall time.
 *
 *   bench-driver [-p PROCS] [-s SEED] [-r ROUND] MODE DIR N
 *
 *   create   make N.json for 0..N-1: open(O_CREAT|O_TRUNC), write, close
 *   read     read all N records in random order: open, read to EOF, close
 *   rewrite  rewrite a tenth of the records (open(O_TRUNC), write, close)
 *   delete   unlink a tenth of the records
 *
 * The random order is a permutation of 0..N-1 drawn from SEED before the
 * clock starts.  rewrite and delete take the tenth numbered ROUND (0..9)
 * of that permutation, so successive rounds touch disjoint records and a
 * benchmark can repeat delete without running out of records.  With -p,
 * PROCS processes run at once, each on its own contiguous slice of the
 * work; the time is from the first fork to the last child's exit.
 *
 * Prints the elapsed seconds on stdout.  Any failed call is reported on
 * stderr and makes the exit status 1: a benchmark that quietly measures
 * errors is worse than none.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { M_CREATE, M_READ, M_REWRITE, M_DELETE };

static const char *const breeds[20] = {
    "Lab",	"Pug",	   "Poodle",	"Beagle",    "Boxer",
    "Collie",	"Corgi",   "Dachshund", "Husky",     "Akita",
    "Basset",	"Bulldog", "Chow",	"Dalmatian", "Greyhound",
    "Malamute", "Mastiff", "Pointer",	"Shiba",     "Whippet",
};

/* The record, ~100 bytes on one line; round changes the age so
 * a rewrite really changes the text. */
static int body(char *buf, size_t size, long i, int round)
{
	return snprintf(buf, size,
			"{\"id\":%ld,\"name\":\"dog%ld\",\"breed\":\"%s\","
			"\"age\":%ld,\"owner\":\"owner%ld\"}\n",
			i, i % 1000, breeds[i % 20], (i + round) % 15,
			i % 5000);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64: small, seedable, the same order on every machine */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static long *permutation(long n, uint64_t seed)
{
	long *p = malloc((n ? n : 1) * sizeof(*p));
	if (!p)
		return NULL;
	for (long i = 0; i < n; i++)
		p[i] = i;
	for (long i = n - 1; i > 0; i--) {
		long j = (long)(next_rand(&seed) % (uint64_t)(i + 1));
		long t = p[i];
		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One record, the way a program would touch it.  Returns 0 or an errno;
 * *what names the call that failed. */
static int one(enum mode m, const char *dir, long i, int round,
	       const char **what)
{
	char path[4096], buf[65536];
	int fd, rc = 0, len;
	ssize_t r;

	snprintf(path, sizeof(path), "%s/%ld.json", dir, i);
	switch (m) {
	case M_CREATE:
	case M_REWRITE:
		*what = "open";
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return errno;
		len = body(buf, sizeof(buf), i, round + (m == M_REWRITE));
		*what = "write";
		rc = write_all(fd, buf, (size_t)len);
		/* close is where recordfs commits: its error counts */
		if (close(fd) != 0 && !rc) {
			*what = "close";
			rc = errno;
		}
		return rc;
	case M_READ:
		*what = "open";
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return errno;
		*what = "read";
		len = 0;
		while ((r = read(fd, buf, sizeof(buf))) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				rc = errno;
				break;
			}
			len += (int)r;
		}
		if (!rc && len == 0)
			rc = ENODATA;
		close(fd);
		return rc;
	case M_DELETE:
		*what = "unlink";
		return unlink(path) != 0 ? errno : 0;
	}
	return EINVAL;
}

/* Work items [from, to) of the list: record i itself, or p[i]. */
static int run_slice(enum mode m, const char *dir, const long *p, long from,
		     long to, int round)
{
	for (long k = from; k < to; k++) {
		long i = p ? p[k] : k;
		const char *what = "";
		int rc = one(m, dir, i, round, &what);
		if (rc) {
			fprintf(stderr, "bench-driver: %s %s/%ld.json: %s\n",
				what, dir, i, strerror(rc));
			return 1;
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-driver [-p PROCS] [-s SEED] [-r ROUND] "
			"create|read|rewrite|delete DIR N\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	int procs = 1, round = 0, c, bad = 0;
	uint64_t seed = 42;
	long n, from = 0, to, *p = NULL;
	enum mode m;
	const char *dir;
	double t0;

	while ((c = getopt(argc, argv, "p:s:r:")) != -1) {
		switch (c) {
		case 'p':
			procs = atoi(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			round = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3 || procs < 1 || round < 0 || round > 9)
		usage();
	if (strcmp(argv[optind], "create") == 0)
		m = M_CREATE;
	else if (strcmp(argv[optind], "read") == 0)
		m = M_READ;
	else if (strcmp(argv[optind], "rewrite") == 0)
		m = M_REWRITE;
	else if (strcmp(argv[optind], "delete") == 0)
		m = M_DELETE;
	else
		usage();
	dir = argv[optind + 1];
	n = atol(argv[optind + 2]);
	if (n < 0)
		usage();

	to = n;
	if (m != M_CREATE) {
		p = permutation(n, seed);
		if (!p) {
			fprintf(stderr, "bench-driver: out of memory\n");
			return 1;
		}
	}
	if (m == M_REWRITE || m == M_DELETE) {
		from = n / 10 * round;
		to = from + n / 10;
	}

	t0 = now();
	if (procs == 1) {
		bad = run_slice(m, dir, p, from, to, round);
	} else {
		long span = to - from;
		for (int k = 0; k < procs; k++) {
			long a = from + span * k / procs;
			long b = from + span * (k + 1) / procs;
			pid_t pid = fork();
			if (pid < 0) {
				perror("bench-driver: fork");
				bad = 1;
				break;
			}
			if (pid == 0)
				_exit(run_slice(m, dir, p, a, b, round));
		}
		for (;;) {
			int st;
			pid_t w = wait(&st);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				bad = 1;
		}
	}
	printf("%.6f\n", now() - t0);
	free(p);
	return bad;
}
