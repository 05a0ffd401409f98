/*
 * index: SQLite storage of file metadata.  WAL mode with synchronous=NORMAL:
 * a commit survives a crash of the process; a power loss may lose the last
 * commits, which the start-up rescan repairs because the files themselves
 * were fsynced before their rows were written.  Statements are prepared
 * once and reused; a mutex serialises all use of the connection.
 */
#include "store/index.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/buf.h"
#include "base/log.h"

enum {
	ST_PUT, ST_GET, ST_DEL, ST_DEL_UNDER, ST_REN, ST_REN_UNDER, ST_COUNT,
	ST_SEEN, ST_SCAN_DEL, ST_MAXVER, ST_N
};

static const char *const stmt_sql[ST_N] = {
	[ST_PUT] = "INSERT OR REPLACE INTO files(path, size, mtime_ns, ino,"
	    " sha256, blocks, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_GET] = "SELECT size, mtime_ns, ino, sha256, version FROM files"
	    " WHERE path = ?1",
	[ST_DEL] = "DELETE FROM files WHERE path = ?1",
	[ST_DEL_UNDER] = "DELETE FROM files WHERE substr(path, 1, ?2) = ?1",
	[ST_REN] = "UPDATE files SET path = ?2 WHERE path = ?1",
	[ST_REN_UNDER] = "UPDATE files SET path = ?2 || substr(path, ?3)"
	    " WHERE substr(path, 1, ?3 - 1) = ?1",
	[ST_COUNT] = "SELECT count(*) FROM files",
	[ST_SEEN] = "INSERT OR IGNORE INTO temp.seen(path) VALUES (?1)",
	[ST_SCAN_DEL] = "DELETE FROM files WHERE path NOT IN"
	    " (SELECT path FROM temp.seen)",
	[ST_MAXVER] = "SELECT coalesce(max(version), 0) FROM files",
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS files("
    " path TEXT PRIMARY KEY NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " ino INTEGER NOT NULL,"
    " sha256 BLOB NOT NULL,"
    " blocks BLOB NOT NULL,"
    " version INTEGER NOT NULL) WITHOUT ROWID;"
    "PRAGMA user_version=1;"
    "CREATE TEMP TABLE IF NOT EXISTS seen(path TEXT PRIMARY KEY)"
    " WITHOUT ROWID;";

struct index {
	pthread_mutex_t	 mu;
	sqlite3		*db;
	sqlite3_stmt	*st[ST_N];
	uint64_t	 version;	/* highest version handed out */
};

static int
db_err(struct index *ix, const char *what)
{
	log_warnx("index: %s: %s", what, sqlite3_errmsg(ix->db));
	return (sqlite3_errcode(ix->db) == SQLITE_FULL ? -ENOSPC : -EIO);
}

struct index *
index_open(const char *dbpath, char *err, size_t errlen)
{
	struct index *ix;
	int i;

	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return (NULL);
	pthread_mutex_init(&ix->mu, NULL);
	if (sqlite3_open_v2(dbpath, &ix->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(ix->db, 5000);
	if (sqlite3_exec(ix->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < ST_N; i++)
		if (sqlite3_prepare_v3(ix->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &ix->st[i], NULL) != SQLITE_OK)
			goto fail;
	if (sqlite3_step(ix->st[ST_MAXVER]) == SQLITE_ROW)
		ix->version = (uint64_t)sqlite3_column_int64(ix->st[ST_MAXVER],
		    0);
	sqlite3_reset(ix->st[ST_MAXVER]);
	return (ix);
fail:
	(void)str_fmt(err, errlen, "%s: %s", dbpath,
	    ix->db ? sqlite3_errmsg(ix->db) : "cannot open");
	index_close(ix);
	return (NULL);
}

void
index_close(struct index *ix)
{
	int i;

	if (ix == NULL)
		return;
	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(ix->st[i]);
	sqlite3_close(ix->db);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
}

/* Runs a prepared statement to completion; the caller holds the mutex. */
static int
run(struct index *ix, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return (db_err(ix, what));
	return (0);
}

int
index_put(struct index *ix, const char *path, struct file_meta *m)
{
	sqlite3_stmt *st = ix->st[ST_PUT];
	int rc;

	pthread_mutex_lock(&ix->mu);
	m->version = ++ix->version;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)m->size);
	sqlite3_bind_int64(st, 3, m->mtime_ns);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)m->ino);
	sqlite3_bind_blob(st, 5, m->sha256, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, m->blocks ? (const void *)m->blocks : "",
	    (int)(m->nblocks * HASH_LEN), SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)m->version);
	rc = run(ix, st, "put");
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_get(struct index *ix, const char *path, struct file_meta *m)
{
	sqlite3_stmt *st = ix->st[ST_GET];
	int rc;

	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		m->size = (uint64_t)sqlite3_column_int64(st, 0);
		m->mtime_ns = sqlite3_column_int64(st, 1);
		m->ino = (uint64_t)sqlite3_column_int64(st, 2);
		if (sqlite3_column_bytes(st, 3) == HASH_LEN)
			memcpy(m->sha256, sqlite3_column_blob(st, 3),
			    HASH_LEN);
		m->version = (uint64_t)sqlite3_column_int64(st, 4);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = -ENOENT;
	else
		rc = db_err(ix, "get");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_delete(struct index *ix, const char *path)
{
	sqlite3_stmt *st;
	char *under;
	int rc;

	if ((under = malloc(strlen(path) + 2)) == NULL)
		return (-ENOMEM);
	memcpy(under, path, strlen(path));
	memcpy(under + strlen(path), "/", 2);
	pthread_mutex_lock(&ix->mu);
	st = ix->st[ST_DEL];
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = run(ix, st, "delete");
	if (rc == 0) {
		st = ix->st[ST_DEL_UNDER];
		sqlite3_bind_text(st, 1, under, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)strlen(under));
		rc = run(ix, st, "delete under");
	}
	pthread_mutex_unlock(&ix->mu);
	free(under);
	return (rc);
}

int
index_rename(struct index *ix, const char *path, const char *newpath)
{
	sqlite3_stmt *st;
	char *from, *to;
	size_t fl = strlen(path), tl = strlen(newpath);
	int rc = -ENOMEM;

	from = malloc(fl + 2);
	to = malloc(tl + 2);
	if (from == NULL || to == NULL)
		goto out;
	memcpy(from, path, fl);
	memcpy(from + fl, "/", 2);
	memcpy(to, newpath, tl);
	memcpy(to + tl, "/", 2);
	pthread_mutex_lock(&ix->mu);
	sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL);
	/* A file already at newpath is replaced, as rename(2) does. */
	st = ix->st[ST_DEL];
	sqlite3_bind_text(st, 1, newpath, -1, SQLITE_STATIC);
	rc = run(ix, st, "rename");
	if (rc == 0) {
		st = ix->st[ST_REN];
		sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, newpath, -1, SQLITE_STATIC);
		rc = run(ix, st, "rename");
	}
	if (rc == 0) {
		st = ix->st[ST_REN_UNDER];
		sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, (int)fl + 2);
		rc = run(ix, st, "rename under");
	}
	sqlite3_exec(ix->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL,
	    NULL);
	pthread_mutex_unlock(&ix->mu);
out:
	free(from);
	free(to);
	return (rc);
}

int64_t
index_count(struct index *ix)
{
	sqlite3_stmt *st = ix->st[ST_COUNT];
	int64_t n = -1;

	pthread_mutex_lock(&ix->mu);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	pthread_mutex_unlock(&ix->mu);
	return (n);
}

int
index_scan_begin(struct index *ix)
{
	int rc = 0;

	pthread_mutex_lock(&ix->mu);
	if (sqlite3_exec(ix->db, "DELETE FROM temp.seen", NULL, NULL, NULL) !=
	    SQLITE_OK)
		rc = db_err(ix, "scan begin");
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_scan_seen(struct index *ix, const char *path)
{
	sqlite3_stmt *st = ix->st[ST_SEEN];
	int rc;

	pthread_mutex_lock(&ix->mu);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = run(ix, st, "scan seen");
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}

int
index_scan_end(struct index *ix, int64_t *removed)
{
	int rc;

	pthread_mutex_lock(&ix->mu);
	rc = run(ix, ix->st[ST_SCAN_DEL], "scan end");
	*removed = rc == 0 ? sqlite3_changes64(ix->db) : 0;
	sqlite3_exec(ix->db, "DELETE FROM temp.seen", NULL, NULL, NULL);
	pthread_mutex_unlock(&ix->mu);
	return (rc);
}
