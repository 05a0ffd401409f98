/*
 * tdb: the tracker's database, SQLite or PostgreSQL behind one interface.
 *
 * Every statement the tracker runs is in one table (tdb.c), written once
 * with '?' placeholders and prepared on both back ends.  Values go in as
 * typed parameters, never as SQL text, and rows come back as text columns
 * (what libpq gives; SQLite converts), so the callers do not care which
 * database they talk to.
 *
 * A tdb is used from one thread at a time (the tracker's database thread).
 */
#ifndef SHOAL_TRACKER_TDB_H
#define SHOAL_TRACKER_TDB_H

#include <stddef.h>
#include <stdint.h>

enum tdb_q {
	TQ_BEGIN,
	TQ_COMMIT,
	TQ_ROLLBACK,
	TQ_NODE_PUT,		/* id, peer_addr, http_addr, registered_ms */
	TQ_NODE_DEL,		/* id */
	TQ_HOLD_CLEAR,		/* node_id */
	TQ_HOLD_PUT,		/* path, node_id, size, sha256, version */
	TQ_HOLD_DEL,		/* path, node_id */
	TQ_HOLD_COUNT,		/* node_id -> count */
	TQ_LOCK_PUT,		/* path, node_id, owner, token, expires_ms */
	TQ_LOCK_DEL,		/* path */
	TQ_LOCK_DEL_NODE,	/* node_id */
	TQ_TOKEN_PUT,		/* value */
	TQ_TOKEN_GET,		/* -> value */
	TQ_NODES_ALL,		/* -> id, peer_addr, http_addr, registered_ms */
	TQ_COUNTS,		/* -> node_id, count */
	TQ_LOCKS_ALL,		/* -> path, node_id, owner, token, expires_ms */
	TQ_FILE,		/* path -> size, sha256, version, node_id */
	TQ_LIST_ALL,		/* after, limit -> path, size, sha, ver, node */
	TQ_LIST_UNDER,		/* after, lo, hi, limit -> the same */
	TQ_MAX
};

enum tdb_kind { TDB_INT, TDB_TEXT };

struct tdb_val {
	enum tdb_kind	 kind;
	int64_t		 i;
	const char	*s;
};

#define TDB_I(x)	((struct tdb_val){ .kind = TDB_INT, .i = (x) })
#define TDB_S(x)	((struct tdb_val){ .kind = TDB_TEXT, .s = (x) })

/* Called for each row; a non-zero return stops and is returned. */
typedef int (*tdb_row_fn)(void *arg, const char *const *cols,
    unsigned ncols);

struct tdb;

/*
 * spec is "sqlite:PATH", "postgresql://..." (or "postgres://..."), or
 * NULL for sqlite at default_path.  Creates the tables if need be.
 */
int	tdb_open(const char *spec, const char *default_path, struct tdb **,
	    char *err, size_t errlen) __attribute__((warn_unused_result));
void	tdb_close(struct tdb *);
/* For logs: "sqlite:PATH" or the PostgreSQL URL without a password. */
const char *tdb_name(const struct tdb *);
/* Tells the database that many rows changed (PostgreSQL re-analyses the
 * table, so range scans keep using the path index). */
void	tdb_maintain(struct tdb *);
/* Runs q with args; rows (if any) go to fn.  0 or -EIO (logged). */
int	tdb_run(struct tdb *, enum tdb_q, const struct tdb_val *args,
	    unsigned nargs, tdb_row_fn fn, void *arg);

/* The back ends (tdb_sqlite.c, tdb_pg.c) implement this. */
struct tdb_backend {
	const char	*name;
	/* Opens and creates the tables; returns the back end's handle. */
	void	*(*open)(const char *target, char *err, size_t errlen);
	int	 (*prepare)(void *, int id, const char *sql, unsigned nparams);
	int	 (*run)(void *, int id, const struct tdb_val *, unsigned,
		    tdb_row_fn, void *);
	/* After many rows changed: refresh what the planner knows. */
	void	 (*maintain)(void *);
	void	 (*close)(void *);
};

extern const struct tdb_backend tdb_sqlite;
extern const struct tdb_backend tdb_pg;

#endif
