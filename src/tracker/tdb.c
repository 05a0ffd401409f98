/*
 * tdb: the statements, and the choice of back end.
 */
#include "tracker/tdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"

/* Standard SQL both SQLite (3.24+) and PostgreSQL accept. */
static const struct {
	const char	*sql;
	unsigned	 nparams;
} stmts[TQ_MAX] = {
	[TQ_BEGIN] = { "BEGIN", 0 },
	[TQ_COMMIT] = { "COMMIT", 0 },
	[TQ_ROLLBACK] = { "ROLLBACK", 0 },
	[TQ_NODE_PUT] = { "INSERT INTO nodes (id, peer_addr, http_addr, "
	    "registered_ms) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
	    "SET peer_addr = excluded.peer_addr, http_addr = "
	    "excluded.http_addr, registered_ms = excluded.registered_ms", 4 },
	[TQ_NODE_DEL] = { "DELETE FROM nodes WHERE id = ?", 1 },
	[TQ_HOLD_CLEAR] = { "DELETE FROM holdings WHERE node_id = ?", 1 },
	[TQ_HOLD_PUT] = { "INSERT INTO holdings (path, node_id, size, "
	    "sha256, version) VALUES (?, ?, ?, ?, ?) ON CONFLICT (path, "
	    "node_id) DO UPDATE SET size = excluded.size, sha256 = "
	    "excluded.sha256, version = excluded.version", 5 },
	[TQ_HOLD_DEL] = { "DELETE FROM holdings WHERE path = ? AND "
	    "node_id = ?", 2 },
	[TQ_HOLD_COUNT] = { "SELECT count(*) FROM holdings WHERE "
	    "node_id = ?", 1 },
	[TQ_LOCK_PUT] = { "INSERT INTO locks (path, node_id, owner, token, "
	    "expires_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE "
	    "SET node_id = excluded.node_id, owner = excluded.owner, token = "
	    "excluded.token, expires_ms = excluded.expires_ms", 5 },
	[TQ_LOCK_DEL] = { "DELETE FROM locks WHERE path = ?", 1 },
	[TQ_LOCK_DEL_NODE] = { "DELETE FROM locks WHERE node_id = ?", 1 },
	[TQ_TOKEN_PUT] = { "INSERT INTO meta (key, value) VALUES ('token', ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", 1 },
	[TQ_TOKEN_GET] = { "SELECT value FROM meta WHERE key = 'token'", 0 },
	[TQ_NODES_ALL] = { "SELECT id, peer_addr, http_addr, registered_ms "
	    "FROM nodes", 0 },
	[TQ_COUNTS] = { "SELECT node_id, count(*) FROM holdings GROUP BY "
	    "node_id", 0 },
	[TQ_LOCKS_ALL] = { "SELECT path, node_id, owner, token, expires_ms "
	    "FROM locks", 0 },
	[TQ_FILE] = { "SELECT size, sha256, version, node_id FROM holdings "
	    "WHERE path = ? ORDER BY sha256, version, node_id", 1 },
	[TQ_LIST_ALL] = { "SELECT path, size, sha256, version, node_id FROM "
	    "holdings WHERE path > ? ORDER BY path, sha256, version, node_id "
	    "LIMIT ?", 2 },
	[TQ_LIST_UNDER] = { "SELECT path, size, sha256, version, node_id FROM "
	    "holdings WHERE path > ? AND path >= ? AND path < ? ORDER BY "
	    "path, sha256, version, node_id LIMIT ?", 4 },
};

struct tdb {
	const struct tdb_backend *be;
	void			 *h;
	char			  name[512];
};

/* The URL for logs, with any password replaced. */
static void
safe_name(const char *spec, char *out, size_t size)
{
	const char *at = strchr(spec, '@'), *colon;
	const char *scheme = strstr(spec, "://");

	if (at == NULL || scheme == NULL || at < scheme) {
		(void)str_fmt(out, size, "%s", spec);
		return;
	}
	colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
	if (colon == NULL) {
		(void)str_fmt(out, size, "%s", spec);
		return;
	}
	(void)str_fmt(out, size, "%.*s:***%s", (int)(colon - spec), spec, at);
}

int
tdb_open(const char *spec, const char *default_path, struct tdb **out,
    char *err, size_t errlen)
{
	struct tdb *db;
	const char *target;
	int i;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return (-ENOMEM);
	if (spec == NULL || spec[0] == '\0') {
		db->be = &tdb_sqlite;
		target = default_path;
	} else if (strncmp(spec, "sqlite:", 7) == 0) {
		db->be = &tdb_sqlite;
		target = spec + 7;
	} else if (strncmp(spec, "postgresql://", 13) == 0 ||
	    strncmp(spec, "postgres://", 11) == 0) {
		db->be = &tdb_pg;
		target = spec;
	} else {
		(void)str_fmt(err, errlen, "unknown database '%s' (use "
		    "sqlite:PATH or postgresql://...)", spec);
		free(db);
		return (-EINVAL);
	}
	if (db->be == &tdb_sqlite)
		(void)str_fmt(db->name, sizeof(db->name), "sqlite:%s", target);
	else
		safe_name(target, db->name, sizeof(db->name));
	if ((db->h = db->be->open(target, err, errlen)) == NULL) {
		free(db);
		return (-EIO);
	}
	for (i = 0; i < TQ_MAX; i++)
		if (db->be->prepare(db->h, i, stmts[i].sql,
		    stmts[i].nparams) < 0) {
			(void)str_fmt(err, errlen, "%s: cannot prepare "
			    "statement %d", db->name, i);
			tdb_close(db);
			return (-EIO);
		}
	*out = db;
	return (0);
}

void
tdb_close(struct tdb *db)
{
	if (db == NULL)
		return;
	db->be->close(db->h);
	free(db);
}

const char *
tdb_name(const struct tdb *db)
{
	return (db->name);
}

int
tdb_run(struct tdb *db, enum tdb_q q, const struct tdb_val *args,
    unsigned nargs, tdb_row_fn fn, void *arg)
{
	if (q >= TQ_MAX || nargs != stmts[q].nparams)
		return (-EINVAL);
	return (db->be->run(db->h, (int)q, args, nargs, fn, arg));
}

void
tdb_maintain(struct tdb *db)
{
	if (db->be->maintain != NULL)
		db->be->maintain(db->h);
}
