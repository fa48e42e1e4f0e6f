/*
 * lookup.c: finding a name, and forgetting what the kernel forgets.
 *
 * LOOKUP answers, for a name in any directory, the node it stands for with
 * its attributes (attr.c) and timeouts, or a negative entry.  A table's
 * names are classified by names.c and found in storage; the .by tree's by
 * by.c.  The last record name found missing is kept for the CREATE that
 * usually follows (fs_miss_take).  This file changes nothing stored.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs_i.h"

/*
 * The last record name a lookup found missing in a table.  The kernel
 * sends LOOKUP, then CREATE, for every new file: the create needs no
 * second look (a read transaction, the key, a B-tree search) while the
 * environment has stored no change since (store_env_changes).  Records being
 * written (not committed yet) are found in memory either way (fs_find_pending).
 */
static struct {
	uint64_t parent, changes;
	const struct store_env *env;
	struct fs_resolved r;
	char name[SCHEMA_NAME_MAX + 1];
	int set;
} last_miss;

static void miss_note(const struct fs_node *p, const char *name,
		      const struct fs_resolved *r)
{
	size_t len = strlen(name);
	if (len > SCHEMA_NAME_MAX)
		return;
	last_miss.parent = p->ino;
	last_miss.env = p->db->env;
	last_miss.changes = store_env_changes(p->db->env);
	last_miss.r = *r;
	memcpy(last_miss.name, name, len + 1);
	last_miss.set = 1;
}

/* Whether name in table tn is the last miss, still true; it is used once. */
int fs_miss_take(const struct fs_node *tn, const char *name,
		 struct fs_resolved *r)
{
	int hit = last_miss.set && tn->kind == FS_TABLE &&
		  last_miss.parent == tn->ino && last_miss.env == tn->db->env &&
		  last_miss.changes == store_env_changes(tn->db->env) &&
		  strcmp(last_miss.name, name) == 0;
	last_miss.set = 0;
	if (hit)
		*r = last_miss.r;
	return hit;
}

/*
 * The thread group (process) of thread tid, from /proc/tid/status, or 0
 * when it is gone.  FUSE names the calling thread, not its process.
 */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	int tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* Whether threads a and b are of one process: the same thread, or (asked
 * of /proc only then) two threads of one thread group. */
static int same_process(pid_t a, pid_t b)
{
	pid_t ga;

	if (a == b)
		return 1;
	ga = tgid_of(a);
	return ga != 0 && ga == tgid_of(b);
}

void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_node *p = fs_node_get(parent), *n = NULL;
	struct store_txn *t = NULL;
	struct schema_err err;
	int rc, uncached = 0;

	fs.n_ops++;
	if (!p) {
		rc = ESTALE;
		goto out;
	}
	/* the kernel looks a name up before it unlinks, renames or makes
	 * it, so this is where those hear that it is too long */
	rc = fs_refuse_long(p, name);
	if (rc)
		goto out;
	switch (p->kind) {
	case FS_ROOT: {
		struct fs_db *db;
		if (strcmp(name, ".recordfs") == 0) {
			n = fs_node_get(FS_INO_STATUS);
			break;
		}
		db = fs_db_find(name);
		if (!db) {
			rc = ENOENT;
			goto out;
		}
		n = fs_node_new(fs_db_ino(db, FS_INO_DBDIR), FS_DB);
		if (n)
			n->db = db;
		break;
	}
	case FS_STATUS:
		if (strcmp(name, "errors") == 0)
			n = fs_errors_node();
		else if (strcmp(name, "stats") == 0)
			n = fs_node_get(FS_INO_STATS);
		else {
			rc = ENOENT;
			goto out;
		}
		break;
	case FS_DB: {
		struct store_table tb;
		size_t nl;
		if (p->db->dropped) {
			rc = ENOENT;
			goto out;
		}
		if (strncmp(name, FS_CHANGES_NAME,
			    sizeof(FS_CHANGES_NAME) - 1) == 0 &&
		    (!name[sizeof(FS_CHANGES_NAME) - 1] ||
		     name[sizeof(FS_CHANGES_NAME) - 1] == '@')) {
			/* reachable, never listed */
			rc = fs_changes_lookup(p->db, name, &n);
			if (rc)
				goto out;
			break;
		}
		if (strcmp(name, SCHEMA_FILE) == 0) {
			struct fs_node *sn =
			    fs_node_get(fs_db_ino(p->db, FS_LOCAL_SCHEMA));
			/* there once the database has a table, or while a
			 * copy being restored is written */
			if (!(sn && sn->opens) && !fs_schema_exists(p->db)) {
				rc = ENOENT;
				uncached = 1;
				goto out;
			}
			n = fs_schema_node(p->db);
			break;
		}
		rc = store_read_begin(p->db->env, &t);
		if (rc)
			goto out;
		nl = fs_jschema_stem(name);
		if (nl) {
			/* dog.schema.json: a table's JSON Schema */
			rc = store_table_get(t, name, nl, &tb);
			if (rc)
				goto out;
			n = fs_special_node(p->db, tb.tid, name, nl,
					    FS_LOCAL_JSCHEMA, FS_JSCHEMA);
			break;
		}
		nl = strlen(name);
		{
			/* dog.ndjson (.csv, .json): the table dog's stream */
			size_t stem;
			int fmt = schema_stream_fmt(name, nl, &stem);
			if (fmt >= 0 &&
			    store_table_get(t, name, stem, &tb) == 0) {
				n = fs_stream_node(p->db, name, stem, &tb, fmt);
				break;
			}
		}
		rc = store_table_get(t, name, nl, &tb);
		if (rc == ENOENT) {
			/* a scratch file beside the tables */
			struct fs_resolved r;
			struct store_obj o;
			rc = fs_resolve(t, p, name, &r, &err);
			if (!rc)
				rc = store_obj_get(t, 0, STORE_SCRATCH, r.key,
						   r.keylen, &o);
			if (rc == EPERM)
				rc = ENOENT;
			if (rc)
				goto out;
			n = fs_obj_node(p, STORE_SCRATCH, r.key, r.keylen,
					o.ino);
			break;
		}
		if (rc)
			goto out;
		n = fs_table_node(p->db, name, &tb);
		break;
	}
	case FS_BY:
	case FS_BYATTR:
	case FS_BYVAL:
		if (p->db->dropped) {
			rc = ENOENT;
			goto out;
		}
		rc = fs_by_child(p, name, &n, &err);
		if (rc == EINVAL)
			rc = ENOENT;
		if (rc)
			goto out;
		break;
	case FS_HISTDIR:
		if (p->db->dropped) {
			rc = ENOENT;
			goto out;
		}
		rc = fs_history_lookup(p, name, &n);
		if (rc)
			goto out;
		break;
	case FS_TABLE: {
		struct fs_resolved r;
		struct store_obj o;
		if (p->db->dropped) {
			rc = ENOENT;
			goto out;
		}
		if (strcmp(name, ".by") == 0) {
			rc = fs_by_child(p, name, &n, &err);
			if (rc)
				goto out;
			break;
		}
		if (strcmp(name, ".next") == 0) {
			n = fs_special_node(p->db, p->tid, p->tname,
					    strlen(p->tname), FS_LOCAL_NEXT,
					    FS_NEXT);
			break;
		}
		if (strcmp(name, FS_HISTORY_NAME) == 0) {
			/* reachable, never listed; ENOENT when nothing is
			 * kept that a history could show */
			if (!fs_feed_on(p->db)) {
				rc = ENOENT;
				goto out;
			}
			n = fs_special_node(p->db, p->tid, p->tname,
					    strlen(p->tname), FS_LOCAL_HISTDIR,
					    FS_HISTDIR);
			break;
		}
		rc = store_read_begin(p->db->env, &t);
		if (rc)
			goto out;
		rc = fs_resolve(t, p, name, &r, &err);
		if (rc == EINVAL || rc == EPERM)
			rc = ENOENT;
		if (rc)
			goto out;
		rc = store_obj_get(t, p->tid, r.kind, r.key, r.keylen, &o);
		if (rc == ENOENT && r.kind == STORE_RECORD) {
			/*
			 * Being created: it is there for the process that
			 * creates it, and not yet for others, who would read
			 * it empty (ENOENT until its first commit, asked
			 * again each time).
			 */
			n = fs_find_pending(p, r.key, r.keylen);
			if (n && same_process(n->pending_pid,
					      fuse_req_ctx(req)->pid)) {
				rc = 0;
				break;
			}
			n = NULL;
			uncached = 1;
			if (!r.long_form)
				miss_note(p, name, &r);
		}
		if (rc)
			goto out;
		n = fs_obj_node(p, r.kind, r.key, r.keylen, o.ino);
		break;
	}
	default:
		rc = ENOTDIR;
		goto out;
	}
	if (!n) {
		rc = ENOMEM;
		goto out;
	}
	store_txn_abort(t);
	t = NULL;
	rc = fs_reply_entry(req, n);
	if (rc)
		goto out;
	return;
out:
	store_txn_abort(t);
	if (rc == ENOENT) {
		/* A negative entry: kept, but never in the .by tree, whose
		 * names come and go with the records. */
		struct fuse_entry_param e;
		memset(&e, 0, sizeof(e));
		/* nor in a database, where writing schema.graphql makes
		 * tables (and their .schema.json) without the kernel, nor
		 * in a table, where a stream's import makes records */
		e.entry_timeout =
		    uncached || (p &&
				 (fs_is_by(p->kind) || p->kind == FS_DB ||
				  p->kind == FS_TABLE || p->kind == FS_HISTDIR))
			? 0
			: TTL_LONG;
		fuse_reply_entry(req, &e);
		return;
	}
	fuse_reply_err(req, rc);
}

void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_node *n = fs_node_get(ino);
	if (n)
		fs_node_forget(n, nlookup);
	fuse_reply_none(req);
}

void fs_forget_multi(fuse_req_t req, size_t count,
		     struct fuse_forget_data *forgets)
{
	size_t i;
	for (i = 0; i < count; i++) {
		struct fs_node *n = fs_node_get(forgets[i].ino);
		if (n)
			fs_node_forget(n, forgets[i].nlookup);
	}
	fuse_reply_none(req);
}

/*
 * The node of the file name stands for in table (or database directory)
 * p, stored or being created: for a create that finds the name taken since
 * the kernel's lookup said it was free.  ENOENT when there is none, EISDIR
 * for a table's name.
 */
int fs_lookup_file(struct fs_node *p, const char *name, struct fs_node **out)
{
	struct schema_err err;
	struct fs_resolved r;
	struct store_table tb;
	struct store_obj o;
	struct store_txn *t;
	int rc;

	*out = NULL;
	if (p->db->dropped)
		return ENOENT;
	rc = store_read_begin(p->db->env, &t);
	if (rc)
		return rc;
	if (p->kind == FS_DB &&
	    store_table_get(t, name, strlen(name), &tb) == 0)
		rc = EISDIR;
	else if ((rc = fs_resolve(t, p, name, &r, &err)) == 0) {
		rc = store_obj_get(t, p->tid, r.kind, r.key, r.keylen, &o);
		if (!rc)
			*out = fs_obj_node(p, r.kind, r.key, r.keylen, o.ino);
		else if (rc == ENOENT && r.kind == STORE_RECORD &&
			 (*out = fs_find_pending(p, r.key, r.keylen)) != NULL)
			rc = 0;
	}
	store_txn_abort(t);
	if (!rc && !*out)
		rc = ENOMEM;
	return rc;
}
