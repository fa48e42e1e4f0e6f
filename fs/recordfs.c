/*
 * recordfs.c: the daemon's entry point.
 *
 * It only hands the command line to fs_main() in main.c, which parses the
 * options, mounts and runs the daemon; fs.h is all it needs to know.
 */
#include "fs.h"

int main(int argc, char *argv[])
{
	return fs_main(argc, argv);
}
