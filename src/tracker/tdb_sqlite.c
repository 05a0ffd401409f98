/*
 * tdb_sqlite: the tracker's tables in one SQLite file, in WAL mode.
 *
 * synchronous = NORMAL: a commit survives the tracker being killed (the
 * WAL is in the page cache) and costs no fsync; after a power cut the last
 * commits may be lost, which a tracker recovers from as nodes re-register.
 */
#include "tracker/tdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "base/buf.h"
#include "base/log.h"

static const char schema[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, "
    "  peer_addr TEXT NOT NULL, http_addr TEXT NOT NULL, "
    "  registered_ms BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS holdings (path TEXT NOT NULL, "
    "  node_id TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL, "
    "  version TEXT NOT NULL, PRIMARY KEY (path, node_id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS holdings_node ON holdings (node_id);"
    "CREATE TABLE IF NOT EXISTS locks (path TEXT PRIMARY KEY, "
    "  node_id TEXT NOT NULL, owner TEXT NOT NULL, token BIGINT NOT NULL, "
    "  expires_ms BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
    "  value BIGINT NOT NULL);";

struct lite {
	sqlite3		*db;
	sqlite3_stmt	*st[TQ_MAX];
};

static void
lite_close(void *h)
{
	struct lite *l = h;
	int i;

	if (l == NULL)
		return;
	for (i = 0; i < TQ_MAX; i++)
		sqlite3_finalize(l->st[i]);
	sqlite3_close(l->db);
	free(l);
}

static void *
lite_open(const char *path, char *err, size_t errlen)
{
	struct lite *l;
	char *msg = NULL;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		(void)str_fmt(err, errlen, "%s: %s", path, l->db ?
		    sqlite3_errmsg(l->db) : "cannot open");
		lite_close(l);
		return (NULL);
	}
	sqlite3_busy_timeout(l->db, 5000);
	if (sqlite3_exec(l->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		(void)str_fmt(err, errlen, "%s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		lite_close(l);
		return (NULL);
	}
	return (l);
}

static int
lite_prepare(void *h, int id, const char *sql, unsigned nparams)
{
	struct lite *l = h;

	if (sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &l->st[id], NULL) != SQLITE_OK) {
		log_warnx("tracker db: %s: %s", sql, sqlite3_errmsg(l->db));
		return (-EIO);
	}
	if ((unsigned)sqlite3_bind_parameter_count(l->st[id]) != nparams)
		return (-EINVAL);
	return (0);
}

static int
lite_run(void *h, int id, const struct tdb_val *args, unsigned nargs,
    tdb_row_fn fn, void *arg)
{
	struct lite *l = h;
	sqlite3_stmt *st = l->st[id];
	const char *cols[8];
	unsigned i, ncols;
	int rc, stop = 0;

	for (i = 0; i < nargs; i++) {
		rc = args[i].kind == TDB_INT ?
		    sqlite3_bind_int64(st, (int)i + 1, args[i].i) :
		    sqlite3_bind_text(st, (int)i + 1, args[i].s, -1,
		    SQLITE_STATIC);
		if (rc != SQLITE_OK) {
			sqlite3_clear_bindings(st);
			return (-EIO);
		}
	}
	ncols = (unsigned)sqlite3_column_count(st);
	if (ncols > 8)
		ncols = 8;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn == NULL)
			continue;
		for (i = 0; i < ncols; i++) {
			cols[i] = (const char *)sqlite3_column_text(st, (int)i);
			if (cols[i] == NULL)
				cols[i] = "";
		}
		if ((stop = fn(arg, cols, ncols)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_warnx("tracker db: %s", sqlite3_errmsg(l->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (stop != 0)
		return (stop);
	return (rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -EIO);
}

const struct tdb_backend tdb_sqlite = {
	.name = "sqlite",
	.open = lite_open,
	.prepare = lite_prepare,
	.run = lite_run,
	.close = lite_close,
};
