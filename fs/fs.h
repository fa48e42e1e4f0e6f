/*
 * fs.h: the FUSE daemon, as the one function its executable calls.
 *
 * The daemon maps names and file operations onto storage and schema; its
 * inside is in fs_i.h, and ops.c says which file serves which request.
 */
#ifndef RECORDFS_FS_H
#define RECORDFS_FS_H

/* Run the daemon: recordfs [options] DATADIR MOUNTPOINT.  Exit status. */
int fs_main(int argc, char *argv[]);

#endif
