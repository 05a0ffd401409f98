/*
 * tdb_pg: the tracker's tables in PostgreSQL, through libpq.
 *
 * Statements are prepared once per connection with numbered parameters
 * ($1...) made from the shared '?' text.  Paths use the "C" collation so
 * ordering and range scans are byte-wise, as in SQLite.  A lost connection
 * is reset (and the statements prepared again) before the next statement;
 * the statement that met the loss fails, so its caller sees the error.
 */
#include "tracker/tdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/log.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, "
    "  peer_addr TEXT NOT NULL, http_addr TEXT NOT NULL, "
    "  registered_ms BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS holdings (path TEXT COLLATE \"C\" NOT NULL, "
    "  node_id TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL, "
    "  version TEXT NOT NULL, PRIMARY KEY (path, node_id));"
    "CREATE INDEX IF NOT EXISTS holdings_node ON holdings (node_id);"
    "CREATE TABLE IF NOT EXISTS locks (path TEXT COLLATE \"C\" PRIMARY KEY, "
    "  node_id TEXT NOT NULL, owner TEXT NOT NULL, token BIGINT NOT NULL, "
    "  expires_ms BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
    "  value BIGINT NOT NULL);";

struct pg {
	PGconn		*conn;
	char		*sql[TQ_MAX];		/* with $n */
	unsigned	 nparams[TQ_MAX];
};

static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;	/* "relation already exists, skipping" and the like */
}

static void
pg_close(void *h)
{
	struct pg *p = h;
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < TQ_MAX; i++)
		free(p->sql[i]);
	PQfinish(p->conn);
	free(p);
}

static void *
pg_open(const char *url, char *err, size_t errlen)
{
	struct pg *p;
	PGresult *r;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->conn = PQconnectdb(url);
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		(void)str_fmt(err, errlen, "postgresql: %s", p->conn ?
		    PQerrorMessage(p->conn) : "out of memory");
		pg_close(p);
		return (NULL);
	}
	PQsetNoticeProcessor(p->conn, quiet, NULL);
	r = PQexec(p->conn, schema);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		(void)str_fmt(err, errlen, "postgresql: %s",
		    PQresultErrorMessage(r));
		PQclear(r);
		pg_close(p);
		return (NULL);
	}
	PQclear(r);
	return (p);
}

static int
prepare_one(struct pg *p, int id)
{
	char name[16];
	PGresult *r;
	int ok;

	(void)snprintf(name, sizeof(name), "q%d", id);
	r = PQprepare(p->conn, name, p->sql[id], (int)p->nparams[id], NULL);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		log_warnx("tracker db: %s: %s", p->sql[id],
		    PQresultErrorMessage(r));
	PQclear(r);
	return (ok ? 0 : -EIO);
}

static int
pg_prepare(void *h, int id, const char *sql, unsigned nparams)
{
	struct pg *p = h;
	struct buf b;
	unsigned n = 0;
	const char *s;

	buf_init(&b, 4096);
	for (s = sql; *s; s++) {
		if (*s == '?' ? buf_printf(&b, "$%u", ++n) < 0 :
		    buf_append(&b, s, 1) < 0) {
			buf_release(&b);
			return (-ENOMEM);
		}
	}
	if (n != nparams || (p->sql[id] = strdup(buf_cstr(&b))) == NULL) {
		buf_release(&b);
		return (-EINVAL);
	}
	buf_release(&b);
	p->nparams[id] = nparams;
	return (prepare_one(p, id));
}

/* After a lost connection: a new one, with the statements again. */
static void
reconnect(struct pg *p)
{
	int i;

	PQreset(p->conn);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		log_warnx("tracker db: postgresql: %s",
		    PQerrorMessage(p->conn));
		return;
	}
	log_info("tracker db: postgresql connection re-established");
	for (i = 0; i < TQ_MAX; i++)
		if (p->sql[i] != NULL)
			(void)prepare_one(p, i);
}

static int
pg_run(void *h, int id, const struct tdb_val *args, unsigned nargs,
    tdb_row_fn fn, void *arg)
{
	struct pg *p = h;
	char ints[8][24], name[16];
	const char *vals[8], *cols[8];
	PGresult *r;
	ExecStatusType st;
	int i, rows, ncols, stop = 0;

	if (PQstatus(p->conn) != CONNECTION_OK)
		reconnect(p);
	if (nargs > 8)
		return (-EINVAL);
	for (i = 0; i < (int)nargs; i++) {
		if (args[i].kind == TDB_INT) {
			(void)snprintf(ints[i], sizeof(ints[i]), "%" PRId64,
			    args[i].i);
			vals[i] = ints[i];
		} else
			vals[i] = args[i].s;
	}
	(void)snprintf(name, sizeof(name), "q%d", id);
	r = PQexecPrepared(p->conn, name, (int)nargs, vals, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		log_warnx("tracker db: %s: %s", p->sql[id],
		    PQresultErrorMessage(r));
		PQclear(r);
		return (-EIO);
	}
	rows = PQntuples(r);
	ncols = PQnfields(r);
	if (ncols > 8)
		ncols = 8;
	for (i = 0; fn != NULL && i < rows && stop == 0; i++) {
		int c;

		for (c = 0; c < ncols; c++)
			cols[c] = PQgetvalue(r, i, c);
		stop = fn(arg, cols, (unsigned)ncols);
	}
	PQclear(r);
	return (stop);
}

/*
 * A table filled in bulk has no statistics until autovacuum gets to it,
 * and without them a prefix listing sorts the whole table (seconds)
 * instead of walking the path index (milliseconds).
 */
static void
pg_maintain(void *h)
{
	struct pg *p = h;
	PGresult *r = PQexec(p->conn, "ANALYZE holdings");

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warnx("tracker db: ANALYZE: %s", PQresultErrorMessage(r));
	PQclear(r);
}

const struct tdb_backend tdb_pg = {
	.name = "postgresql",
	.open = pg_open,
	.prepare = pg_prepare,
	.run = pg_run,
	.maintain = pg_maintain,
	.close = pg_close,
};
