/*
 * recordfs-admin: offline tools for a data directory.
 *
 *   recordfs-admin check DATADIR   prove every database's indexes match
 *                                  its records; exit 1 and say where not
 *
 * It may run while the data directory is mounted: LMDB readers see the
 * last committed state, and it opens each environment as a second process
 * (STORE_OPEN_SHARED), which never changes the file's length.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "schema.h"
#include "store.h"

static int check(const char *datadir)
{
	DIR *d = opendir(datadir);
	struct dirent *de;
	int bad = 0, n = 0;

	if (!d) {
		fprintf(stderr, "recordfs-admin: %s: %s\n", datadir,
			strerror(errno));
		return 2;
	}
	while ((de = readdir(d))) {
		char dir[4096], msg[512];
		struct schema_cache cache = {0};
		struct store_env *env;
		int rc;
		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", datadir, de->d_name);
		rc = store_env_open(dir, STORE_OPEN_SHARED, 0, &env);
		if (rc == ENOENT)
			continue;
		if (rc) {
			fprintf(stderr, "recordfs-admin: %s: %s\n", dir,
				strerror(rc));
			bad = 1;
			continue;
		}
		rc = store_check_indexes(env, schema_check_entries, &cache, msg,
					 sizeof(msg));
		schema_cache_free(&cache);
		if (!rc) {
			/* the change feed and its history index agree */
			struct store_txn *t;
			rc = store_read_begin(env, &t);
			if (!rc) {
				rc = store_feed_check(t, msg, sizeof(msg));
				store_txn_abort(t);
			}
		}
		store_env_close(env);
		n++;
		if (rc == EIO) {
			printf("%s: %s\n", de->d_name, msg);
			bad = 1;
		} else if (rc) {
			printf("%s: %s\n", de->d_name, strerror(rc));
			bad = 1;
		}
	}
	closedir(d);
	if (!bad)
		printf("%d database%s checked: indexes match records, the "
		       "change feed its history\n",
		       n, n == 1 ? "" : "s");
	return bad;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return check(argv[2]);
	fprintf(stderr, "usage: recordfs-admin check DATADIR\n");
	return 2;
}
