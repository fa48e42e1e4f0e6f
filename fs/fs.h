/*
 * fs: the FUSE daemon.  It maps names and file operations onto storage and
 * schema; see fs_i.h for its inside.
 */
#ifndef RECORDFS_FS_H
#define RECORDFS_FS_H

/* Run the daemon: recordfs [options] DATADIR MOUNTPOINT.  Exit status. */
int fs_main(int argc, char *argv[]);

#endif
