/*
 * floorfs: the floor under the benchmark figures.  A file system in
 * memory that answers the same FUSE requests recordfs is sent for the
 * same work, the way recordfs answers them (one thread, day-long entry and
 * attribute timeouts, writers with direct_io, readers through the page
 * cache with the text stored at open), and does nothing else: no JSON, no
 * index, no LMDB.  What the suite measures on it is what FUSE itself costs
 * on this machine; recordfs can come no closer to tmpfs than that.
 *
 *   floorfs [-f] [-o fewest] MOUNTPOINT     (libfuse's usual options)
 *
 * With -o fewest it asks the kernel for the fewest requests it can be
 * made to send for the same work, whatever that gives up: OPEN and FLUSH
 * answer ENOSYS, after which the kernel sends neither again for any file
 * (every open then keeps the page cache, and a writer's bytes go through
 * it), and a create gets FOPEN_NOFLUSH.  O_TRUNC then comes as a SETATTR
 * (atomic_o_trunc is off: with no OPEN to carry it, the truncation would
 * otherwise never reach the file system).  What is left, per operation:
 * create LOOKUP + CREATE + WRITE (+ RELEASE, not waited for), read after
 * the kernel forgot the file LOOKUP + READ, read again nothing, rewrite
 * SETATTR + WRITE, delete UNLINK.  A file system answering this way
 * cannot tell a reader from a writer, learns of no close, and cannot
 * refuse anything at close; its figures are the least any FUSE file
 * system could reach on this machine.
 *
 * Files hold their bytes in memory; directories hold names.  Enough of a
 * file system for tests/bench/driver.c, bash's echo and find.
 */
#define FUSE_USE_VERSION 34

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TTL 86400.0

struct node {
	uint64_t parent; /* 0: free slot */
	char *name;
	int dir;
	char *data;
	size_t len, cap;
	int cached;	  /* the kernel may hold pages of the file */
	int stale;	  /* ... and they may be older than data */
	uint64_t nlookup; /* the kernel's references; at 0 it holds nothing */
	uint64_t hnext;
};

static struct node *nodes; /* ino i is nodes[i]; 1 is the root */
static uint64_t n_nodes, cap_nodes;
static uint64_t *buckets;
static uint64_t n_buckets = 1u << 22;
static struct fuse_session *se;
static int fewest; /* -o fewest */

static uint64_t hash(uint64_t parent, const char *name)
{
	uint64_t h = parent * 0x9e3779b97f4a7c15ull;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return h & (n_buckets - 1);
}

static uint64_t find(uint64_t parent, const char *name)
{
	uint64_t i = buckets[hash(parent, name)];
	for (; i; i = nodes[i].hnext)
		if (nodes[i].parent == parent && !strcmp(nodes[i].name, name))
			return i;
	return 0;
}

static uint64_t add(uint64_t parent, const char *name, int dir)
{
	uint64_t h = hash(parent, name), i;
	if (n_nodes == cap_nodes) {
		uint64_t c = cap_nodes * 2;
		struct node *nn = realloc(nodes, c * sizeof(*nn));
		if (!nn)
			return 0;
		memset(nn + cap_nodes, 0, (c - cap_nodes) * sizeof(*nn));
		nodes = nn;
		cap_nodes = c;
	}
	i = n_nodes++;
	nodes[i].parent = parent;
	nodes[i].name = strdup(name);
	nodes[i].dir = dir;
	nodes[i].hnext = buckets[h];
	buckets[h] = i;
	return i;
}

static void drop(uint64_t i)
{
	uint64_t *p = &buckets[hash(nodes[i].parent, nodes[i].name)];
	while (*p != i)
		p = &nodes[*p].hnext;
	*p = nodes[i].hnext;
	free(nodes[i].name);
	free(nodes[i].data);
	memset(&nodes[i], 0, sizeof(nodes[i]));
}

static void attr(uint64_t i, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = i;
	st->st_mode = nodes[i].dir ? S_IFDIR | 0755 : S_IFREG | 0644;
	st->st_nlink = nodes[i].dir ? 2 : 1;
	st->st_size = (off_t)nodes[i].len;
}

static void reply_entry(fuse_req_t req, uint64_t i)
{
	struct fuse_entry_param e;
	nodes[i].nlookup++;
	memset(&e, 0, sizeof(e));
	e.ino = i;
	e.attr_timeout = e.entry_timeout = TTL;
	attr(i, &e.attr);
	fuse_reply_entry(req, &e);
}

static void ff_init(void *ud, struct fuse_conn_info *conn)
{
	(void)ud;
	conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
	conn->want &= ~FUSE_CAP_SPLICE_READ;
	if (fewest)
		conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
}

static void ff_lookup(fuse_req_t req, fuse_ino_t p, const char *name)
{
	uint64_t i = find(p, name);
	if (i)
		reply_entry(req, i);
	else
		fuse_reply_err(req, ENOENT);
}

static void forget_one(uint64_t i, uint64_t n)
{
	if (i < n_nodes && nodes[i].nlookup >= n) {
		nodes[i].nlookup -= n;
		if (!nodes[i].nlookup)
			nodes[i].cached =
			    0; /* the inode and its pages are gone */
	}
}

static void ff_forget(fuse_req_t req, fuse_ino_t i, uint64_t n)
{
	forget_one(i, n);
	fuse_reply_none(req);
}

static void ff_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *f)
{
	for (size_t k = 0; k < count; k++)
		forget_one(f[k].ino, f[k].nlookup);
	fuse_reply_none(req);
}

static void ff_getattr(fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	attr(i, &st);
	fuse_reply_attr(req, &st, TTL);
}

static void ff_setattr(fuse_req_t req, fuse_ino_t i, struct stat *a, int set,
		       struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	if ((set & FUSE_SET_ATTR_SIZE) && (size_t)a->st_size <= nodes[i].len)
		nodes[i].len = (size_t)a->st_size;
	attr(i, &st);
	fuse_reply_attr(req, &st, TTL);
}

static void ff_mkdir(fuse_req_t req, fuse_ino_t p, const char *name,
		     mode_t mode)
{
	uint64_t i;
	(void)mode;
	if (find(p, name)) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	i = add(p, name, 1);
	if (i)
		reply_entry(req, i);
	else
		fuse_reply_err(req, ENOMEM);
}

static void ff_unlink(fuse_req_t req, fuse_ino_t p, const char *name)
{
	uint64_t i = find(p, name);
	if (!i || nodes[i].dir) {
		fuse_reply_err(req, i ? EISDIR : ENOENT);
		return;
	}
	drop(i);
	fuse_reply_err(req, 0);
}

static void ff_rmdir(fuse_req_t req, fuse_ino_t p, const char *name)
{
	uint64_t i = find(p, name);
	if (!i || !nodes[i].dir) {
		fuse_reply_err(req, i ? ENOTDIR : ENOENT);
		return;
	}
	drop(i); /* the suite removes only empty ones */
	fuse_reply_err(req, 0);
}

static void opened(fuse_req_t req, uint64_t i, struct fuse_file_info *fi)
{
	if (fewest) {
		/* only a create gets here: pages kept, no FLUSH */
		fi->keep_cache = 1;
		fi->noflush = 1;
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		/* a writer's bytes stay out of the page cache, as in recordfs
		 */
		fi->direct_io = 1;
		if (fi->flags & O_TRUNC)
			nodes[i].len = 0;
		nodes[i].stale = 1;
	} else if (nodes[i].stale || !nodes[i].cached) {
		/* drop old pages and store the text: no READ follows */
		int rc = 0;
		if (nodes[i].cached)
			rc = fuse_lowlevel_notify_inval_inode(se, i, 0, 0);
		if (!rc && nodes[i].len) {
			struct fuse_bufvec bv = FUSE_BUFVEC_INIT(nodes[i].len);
			bv.buf[0].mem = nodes[i].data;
			rc = fuse_lowlevel_notify_store(se, i, 0, &bv, 0);
		}
		nodes[i].stale = rc != 0;
		nodes[i].cached = 1;
	}
	/* a reader's close has nothing to do */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	fi->keep_cache = 1;
}

static void ff_create(fuse_req_t req, fuse_ino_t p, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	uint64_t i = find(p, name);
	(void)mode;
	if (!i)
		i = add(p, name, 0);
	if (!i) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	opened(req, i, fi);
	nodes[i].nlookup++;
	memset(&e, 0, sizeof(e));
	e.ino = i;
	e.attr_timeout = e.entry_timeout = TTL;
	attr(i, &e.attr);
	fuse_reply_create(req, &e, fi);
}

static void ff_open(fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi)
{
	if (fewest) {
		fuse_reply_err(req, ENOSYS); /* no OPEN again */
		return;
	}
	opened(req, i, fi);
	fuse_reply_open(req, fi);
}

static void ff_read(fuse_req_t req, fuse_ino_t i, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	size_t len = nodes[i].len;
	(void)fi;
	if ((size_t)off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, nodes[i].data + off,
			       len - (size_t)off < size ? len - (size_t)off
							: size);
}

static void ff_write(fuse_req_t req, fuse_ino_t i, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	struct node *n = &nodes[i];
	size_t end = (size_t)off + size;
	(void)fi;
	if (end > n->cap) {
		size_t c = n->cap ? n->cap : 256;
		char *d;
		while (c < end)
			c *= 2;
		d = realloc(n->data, c);
		if (!d) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		n->data = d;
		n->cap = c;
	}
	if ((size_t)off > n->len)
		memset(n->data + n->len, 0, (size_t)off - n->len);
	memcpy(n->data + off, buf, size);
	if (end > n->len)
		n->len = end;
	fuse_reply_write(req, size);
}

static void ff_flush(fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi)
{
	(void)i;
	(void)fi;
	fuse_reply_err(req, fewest ? ENOSYS : 0); /* ENOSYS: no FLUSH again */
}

static void ff_release(fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi)
{
	(void)i;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void ff_readdir(fuse_req_t req, fuse_ino_t d, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	char *buf = malloc(size);
	size_t used = 0;
	uint64_t i;
	(void)fi;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = (uint64_t)off + 1; i < n_nodes; i++) {
		struct stat st;
		size_t e;
		if (nodes[i].parent != d)
			continue;
		attr(i, &st);
		e = fuse_add_direntry(req, buf + used, size - used,
				      nodes[i].name, &st, (off_t)i);
		if (e > size - used)
			break;
		used += e;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static const struct fuse_lowlevel_ops ops = {
    .init = ff_init,
    .lookup = ff_lookup,
    .forget = ff_forget,
    .forget_multi = ff_forget_multi,
    .getattr = ff_getattr,
    .setattr = ff_setattr,
    .mkdir = ff_mkdir,
    .unlink = ff_unlink,
    .rmdir = ff_rmdir,
    .create = ff_create,
    .open = ff_open,
    .read = ff_read,
    .write = ff_write,
    .flush = ff_flush,
    .release = ff_release,
    .readdir = ff_readdir,
};

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	static const struct fuse_opt fopts[] = {{"fewest", 0, 1}, FUSE_OPT_END};
	int rc = 1;

	if (fuse_opt_parse(&args, &fewest, fopts, NULL) != 0 ||
	    fuse_parse_cmdline(&args, &opts) != 0 || !opts.mountpoint) {
		fprintf(stderr, "usage: floorfs [-f] [-o fewest] MOUNTPOINT\n");
		return 1;
	}
	cap_nodes = 1024;
	nodes = calloc(cap_nodes, sizeof(*nodes));
	buckets = calloc(n_buckets, sizeof(*buckets));
	if (!nodes || !buckets)
		return 1;
	n_nodes = 2; /* 0 unused, 1 the root */
	nodes[1].dir = 1;
	nodes[1].name = strdup("");
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (se && fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, opts.mountpoint) == 0) {
			fuse_daemonize(opts.foreground);
			rc = fuse_session_loop(se) != 0;
			fuse_session_unmount(se);
		}
		fuse_remove_signal_handlers(se);
	}
	if (se)
		fuse_session_destroy(se);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return rc;
}
