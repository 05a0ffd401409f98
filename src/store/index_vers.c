/*
 * index_vers: the versions table (index_vers.h).  Its statements are
 * prepared with the index's and run on its connection under its mutex.
 * Rows are small and few per path (versions.keep), so the listings read
 * them straight from SQLite; the path index makes a subtree a range.
 */
#include "store/index_vers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "store/index_int.h"
#include "store/path.h"

#define VCOLS "id, kind, pruned, kept_ns, mtime_ns, size, sha256, writer, by"

/*
 * ?1 the prefix, ?2 the prefix and "/", ?3 the prefix and "0": the paths
 * under prefix/ are those in [?2, ?3), as '0' follows '/', a range of the
 * path index rather than a scan.  For the root, [ "", "\xf5" ): every
 * path, as no UTF-8 byte is 0xf5 or above.
 */
#define UNDER "(path = ?1 OR (path >= ?2 AND path < ?3))"

static const char vschema[] =
    "CREATE TABLE IF NOT EXISTS versions("
    " path TEXT NOT NULL,"
    " id TEXT NOT NULL,"
    " kind INTEGER NOT NULL,"
    " pruned INTEGER NOT NULL DEFAULT 0,"
    " kept_ns INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " sha256 BLOB NOT NULL,"
    " writer BLOB NOT NULL,"
    " by BLOB NOT NULL DEFAULT x'',"
    " PRIMARY KEY (path, id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS versions_kept ON versions(kept_ns);"
    "CREATE INDEX IF NOT EXISTS versions_sha ON versions(sha256);";

static const char *const vstmt_sql[VST_N] = {
	[VST_PUT] = "INSERT OR REPLACE INTO versions(path, " VCOLS ") VALUES"
	    " (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9)",
	[VST_GET] = "SELECT " VCOLS ", path FROM versions WHERE path = ?1"
	    " AND id = ?2",
	[VST_PATH] = "SELECT " VCOLS ", path FROM versions WHERE path = ?1"
	    " ORDER BY mtime_ns DESC, kept_ns DESC",
	[VST_TRASH] = "SELECT " VCOLS ", path FROM versions v WHERE"
	    " kind = 1 AND pruned = 0 AND " UNDER " AND NOT EXISTS (SELECT 1"
	    " FROM files f WHERE f.path = v.path AND f.deleted = 0 AND"
	    " f.type = 0) ORDER BY kept_ns DESC",
	[VST_UNDER] = "SELECT " VCOLS ", path FROM versions WHERE " UNDER
	    " ORDER BY path, mtime_ns, kept_ns",
	[VST_EXCESS] = "SELECT " VCOLS ", path FROM versions WHERE"
	    " path = ?1 AND kind = 0 AND pruned = 0 ORDER BY kept_ns DESC,"
	    " mtime_ns DESC LIMIT -1 OFFSET ?2",
	[VST_AGED] = "SELECT " VCOLS ", path FROM versions WHERE"
	    " kind = ?1 AND pruned = 0 AND kept_ns < ?2 ORDER BY kept_ns"
	    " LIMIT ?3",
	[VST_OLDEST] = "SELECT " VCOLS ", path FROM versions WHERE"
	    " pruned = 0 ORDER BY kept_ns LIMIT ?1",
	[VST_PRUNE] = "UPDATE versions SET pruned = 1 WHERE path = ?1 AND"
	    " id = ?2",
	[VST_SHA_USED] = "SELECT count(*) FROM versions WHERE sha256 = ?1"
	    " AND pruned = 0",
	[VST_STATS] = "SELECT kind, count(*), coalesce(sum(size), 0),"
	    " coalesce(min(kept_ns), 0) FROM versions WHERE pruned = 0"
	    " GROUP BY kind",
	[VST_FORGET] = "DELETE FROM versions WHERE pruned = 1 AND"
	    " kept_ns < ?1",
	[VST_LIVE] = "SELECT path FROM files WHERE deleted = 0 AND type = 0"
	    " AND " UNDER " ORDER BY path",
};

int
index_vers_open(struct index *ix)
{
	int i;

	if (sqlite3_exec(ix->db, vschema, NULL, NULL, NULL) != SQLITE_OK)
		return (-EIO);
	for (i = 0; i < VST_N; i++)
		if (sqlite3_prepare_v3(ix->db, vstmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &ix->vst[i], NULL) != SQLITE_OK)
			return (-EIO);
	return (0);
}

void
index_vers_close(struct index *ix)
{
	int i;

	for (i = 0; i < VST_N; i++)
		sqlite3_finalize(ix->vst[i]);
}

void
vers_id(const uint8_t sha[HASH_LEN], int64_t mtime_ns, char *out)
{
	/* The first 6 bytes of the content's hash and its time: the same
	 * on every node that kept it, different for each content a path
	 * had (the same bytes written again have a new time). */
	snprintf(out, VERS_ID_MAX + 1, "%02x%02x%02x%02x%02x%02x-%llx",
	    sha[0], sha[1], sha[2], sha[3], sha[4], sha[5],
	    (unsigned long long)mtime_ns);
}

static int
vdb_err(struct index *ix, const char *what)
{
	log_warnx("index: versions: %s: %s", what, sqlite3_errmsg(ix->db));
	return (sqlite3_errcode(ix->db) == SQLITE_FULL ? -ENOSPC : -EIO);
}

static void
read_vrow(sqlite3_stmt *st, struct vers_row *r)
{
	const char *id = (const char *)sqlite3_column_text(st, 0);

	memset(r, 0, sizeof(*r));
	(void)str_copy(r->id, sizeof(r->id), id ? id : "");
	r->kind = (uint8_t)sqlite3_column_int(st, 1);
	r->pruned = sqlite3_column_int(st, 2) != 0;
	r->kept_ns = sqlite3_column_int64(st, 3);
	r->mtime_ns = sqlite3_column_int64(st, 4);
	r->size = (uint64_t)sqlite3_column_int64(st, 5);
	if (sqlite3_column_bytes(st, 6) == HASH_LEN)
		memcpy(r->sha256, sqlite3_column_blob(st, 6), HASH_LEN);
	if (sqlite3_column_bytes(st, 7) == NODE_ID_LEN)
		memcpy(r->writer, sqlite3_column_blob(st, 7), NODE_ID_LEN);
	if (sqlite3_column_bytes(st, 8) == NODE_ID_LEN)
		memcpy(r->by, sqlite3_column_blob(st, 8), NODE_ID_LEN);
}

/* Steps st to its end, fn on each row; the caller holds mu. */
static int
each_row(struct index *ix, sqlite3_stmt *st, vers_row_fn fn, void *arg)
{
	struct vers_row r;
	int rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_vrow(st, &r);
		n++;
		if (fn != NULL && fn((const char *)sqlite3_column_text(st, 9),
		    &r, arg) < 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		n = vdb_err(ix, "read");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (n);
}

static void
bind_under(sqlite3_stmt *st, const char *prefix, char *slash, size_t len)
{
	size_t n;

	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	if (prefix[0] == '\0') {
		sqlite3_bind_text(st, 2, "", 0, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, "\xf5", 1, SQLITE_STATIC);
		return;
	}
	(void)str_fmt(slash, len, "%s/", prefix);
	n = strlen(slash);
	sqlite3_bind_text(st, 2, slash, (int)n, SQLITE_TRANSIENT);
	slash[n - 1] = '0';
	sqlite3_bind_text(st, 3, slash, (int)n, SQLITE_TRANSIENT);
}

int
index_vers_put(struct index *ix, const char *path, const struct vers_row *r)
{
	sqlite3_stmt *st = ix->vst[VST_PUT];
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, r->kind);
	sqlite3_bind_int64(st, 4, r->kept_ns);
	sqlite3_bind_int64(st, 5, r->mtime_ns);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->size);
	sqlite3_bind_blob(st, 7, r->sha256, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, r->writer, NODE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, r->by, NODE_ID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : vdb_err(ix, "put");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

static int
copy_row(const char *path, const struct vers_row *r, void *arg)
{
	(void)path;
	*(struct vers_row *)arg = *r;
	return (0);
}

int
index_vers_get(struct index *ix, const char *path, const char *id,
    struct vers_row *r)
{
	sqlite3_stmt *st = ix->vst[VST_GET];
	int n;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	n = each_row(ix, st, copy_row, r);
	pthread_mutex_unlock(&ix->mu);
	return (n < 0 ? n : n == 0 ? -ENOENT : 0);
}

int
index_vers_list(struct index *ix, const char *path, vers_row_fn fn,
    void *arg)
{
	sqlite3_stmt *st = ix->vst[VST_PATH];
	int n;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	n = each_row(ix, st, fn, arg);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}

static int
list_under(struct index *ix, int which, const char *prefix, vers_row_fn fn,
    void *arg)
{
	char slash[PATH_LEN_MAX + 2];
	sqlite3_stmt *st = ix->vst[which];
	int n;

	pthread_mutex_lock(&ix->mu);
	bind_under(st, prefix, slash, sizeof(slash));
	n = each_row(ix, st, fn, arg);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}

int
index_vers_trash(struct index *ix, const char *prefix, vers_row_fn fn,
    void *arg)
{
	return (list_under(ix, VST_TRASH, prefix, fn, arg));
}

int
index_vers_under(struct index *ix, const char *prefix, vers_row_fn fn,
    void *arg)
{
	return (list_under(ix, VST_UNDER, prefix, fn, arg));
}

int
index_vers_excess(struct index *ix, const char *path, unsigned keep,
    vers_row_fn fn, void *arg)
{
	sqlite3_stmt *st = ix->vst[VST_EXCESS];
	int n;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, keep);
	n = each_row(ix, st, fn, arg);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}

int
index_vers_aged(struct index *ix, enum vers_kind kind, int64_t before_ns,
    unsigned max, vers_row_fn fn, void *arg)
{
	sqlite3_stmt *st = ix->vst[VST_AGED];
	int n;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_int64(st, 2, before_ns);
	sqlite3_bind_int64(st, 3, max);
	n = each_row(ix, st, fn, arg);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}

int
index_vers_oldest(struct index *ix, unsigned max, vers_row_fn fn, void *arg)
{
	sqlite3_stmt *st = ix->vst[VST_OLDEST];
	int n;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_int64(st, 1, max);
	n = each_row(ix, st, fn, arg);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}

int
index_vers_prune(struct index *ix, const char *path, const char *id,
    const uint8_t sha[HASH_LEN], bool *last)
{
	sqlite3_stmt *st = ix->vst[VST_PRUNE], *used = ix->vst[VST_SHA_USED];
	int rc = 0;

	*last = false;
	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = vdb_err(ix, "prune");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == 0) {
		sqlite3_bind_blob(used, 1, sha, HASH_LEN, SQLITE_STATIC);
		if (sqlite3_step(used) == SQLITE_ROW)
			*last = sqlite3_column_int64(used, 0) == 0;
		else
			rc = vdb_err(ix, "prune");
		sqlite3_reset(used);
		sqlite3_clear_bindings(used);
	}
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_vers_counts(struct index *ix, struct vers_counts *c)
{
	sqlite3_stmt *st = ix->vst[VST_STATS];
	int64_t oldest;
	int rc, k;

	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&ix->mu);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		k = sqlite3_column_int(st, 0);
		if (k != VERS_VERSION && k != VERS_TRASH)
			continue;
		c->count[k] = (uint64_t)sqlite3_column_int64(st, 1);
		c->bytes[k] = (uint64_t)sqlite3_column_int64(st, 2);
		oldest = sqlite3_column_int64(st, 3);
		if (c->oldest_ns == 0 || (oldest != 0 && oldest < c->oldest_ns))
			c->oldest_ns = oldest;
	}
	rc = rc == SQLITE_DONE ? 0 : vdb_err(ix, "counts");
	sqlite3_reset(st);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_vers_forget(struct index *ix, int64_t before_ns)
{
	sqlite3_stmt *st = ix->vst[VST_FORGET];
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_int64(st, 1, before_ns);
	rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(ix->db) :
	    vdb_err(ix, "forget");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_vers_live(struct index *ix, const char *prefix,
    int (*fn)(const char *path, void *), void *arg)
{
	char slash[PATH_LEN_MAX + 2];
	sqlite3_stmt *st = ix->vst[VST_LIVE];
	int rc, n = 0;

	pthread_mutex_lock(&ix->mu);
	bind_under(st, prefix, slash, sizeof(slash));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (fn((const char *)sqlite3_column_text(st, 0), arg) < 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		n = vdb_err(ix, "live");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}
