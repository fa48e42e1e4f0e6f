/*
 * ops.c: the table of FUSE low-level handlers, and where each one lives.
 *
 * Every handler replies exactly once; errors are positive errno values that
 * reach one "out:" label that calls fuse_reply_err.  The handlers live by
 * the kind of object they serve:
 *
 *   lookup.c    lookup, forget, forget_multi
 *   attr.c      getattr, setattr
 *   dir.c       create, mknod, mkdir, rmdir, symlink, link
 *   rename.c    unlink, rename
 *   file.c      open, read, write, flush, release, fsync
 *   readdir.c   opendir, readdir, releasedir
 *   here        readlink (the .by links), fsyncdir, statfs, init, destroy
 *
 * and they lean on: names.c (what a name is), node.c (the inode table),
 * record.c (a record into storage), commit.c (a record file's commit, the
 * intent slot), scratch.c, special.c (.next, stats), dirs.c (directories'
 * own attributes and times), schema.c and
 * schemafile.c (schema.graphql), by.c (the .by tree), index.c, db.c and
 * log.c.  FUSE_STATX is answered below libfuse, in statx.c.
 */
#include <errno.h>
#include <sys/statvfs.h>

#include "fs_i.h"

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_node *n = fs_node_get(ino);
	char target[4096];
	fs.n_ops++;
	if (!n || n->kind != FS_BYLINK) {
		fuse_reply_err(req, n ? EINVAL : ESTALE);
		return;
	}
	if (!fs_by_readlink(n, target, sizeof(target))) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_readlink(req, target);
}

static void fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_get(ino);
	int rc = 0;
	if (n && n->db && !n->db->dropped) {
		rc = fs_db_sync(n->db);
	} else {
		fs_batches_commit();
		fs_sync_all();
	}
	fuse_reply_err(req, rc);
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	if (statvfs(fs.datadir, &sv) != 0) {
		fuse_reply_err(req, errno);
		return;
	}
	sv.f_namemax = SCHEMA_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	fs.start_ns = fs_now_ns();
	fs.live = 1;
	/* Plain readdir: ls and find need no attributes, and a listing of
	 * millions must not make the kernel hold a node per record. */
	conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
	/* Requests arrive in memory, so the loop can read their opcode. */
	conn->want &= ~FUSE_CAP_SPLICE_READ;
}

static void fs_destroy(void *userdata)
{
	fs.live = 0; /* the kernel is gone: nothing to tell it */
	fs_open_waits_drop();
	fs_dir_times_store(1);
	fs_files_commit_all();
	fs_sync_all();
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = fs_init,
    .destroy = fs_destroy,
    .lookup = fs_lookup,
    .forget = fs_forget,
    .forget_multi = fs_forget_multi,
    .getattr = fs_getattr,
    .setattr = fs_setattr,
    .mknod = fs_mknod,
    .mkdir = fs_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = fs_symlink,
    .link = fs_link,
    .rename = fs_rename,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .flush = fs_flush,
    .release = fs_release,
    .fsync = fs_fsync,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .readlink = fs_readlink,
    .releasedir = fs_releasedir,
    .fsyncdir = fs_fsyncdir,
    .statfs = fs_statfs,
    .create = fs_create,
};
