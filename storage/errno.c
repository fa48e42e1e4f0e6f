/*
 * errno.c: the one place LMDB's return codes are read.
 *
 * Every function of storage returns 0 or a positive errno, and the other
 * files hand the codes LMDB returns to store_errno() to get one.  It keeps
 * no state but a transaction's map_full mark, which store_write() acts on;
 * it calls nothing of storage.
 */
#include "store_i.h"

#include <errno.h>

/*
 * The one place LMDB's codes are read.  MDB_MAP_FULL is reported as ENOSPC
 * but also marks the transaction so store_write() grows the map and retries.
 */
int store_errno(struct store_txn *t, int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return ENOENT;
	case MDB_KEYEXIST:
		return EEXIST;
	case MDB_MAP_FULL:
		if (t)
			t->map_full = 1;
		return ENOSPC;
	case MDB_TXN_FULL:
		return EFBIG; /* too many pages for one transaction */
	case MDB_PAGE_NOTFOUND:
	case MDB_CORRUPTED:
	case MDB_PANIC:
	case MDB_VERSION_MISMATCH:
	case MDB_INVALID:
		return EIO;
	case MDB_READERS_FULL:
	case MDB_DBS_FULL:
	case MDB_TLS_FULL:
	case MDB_CURSOR_FULL:
	case MDB_PAGE_FULL:
		return EAGAIN;
	case MDB_MAP_RESIZED:
		return EAGAIN;
	case MDB_BAD_VALSIZE:
		return EINVAL;
	default:
		return rc > 0 ? rc : EIO;
	}
}
