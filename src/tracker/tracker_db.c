/*
 * tracker_db: the database thread.
 *
 * Writes are queued on the loop and run by one job at a time, every write
 * queued so far in one transaction (a group commit): ten thousand nodes
 * announcing at once cost a few hundred commits, not ten thousand, and
 * writes stay in the order they were queued.  If a group fails, its writes
 * are retried one transaction each, so one bad write cannot sink others.
 * Queries run on the same thread (the pool has one), between groups.
 *
 * A write is only dropped when it is known to be bad: the database answers
 * (a read succeeds) and still refuses that one write.  While the database
 * cannot be reached, nothing is dropped: the group goes back to the head
 * of the queue, in order, and is tried again after a pause that doubles
 * from RETRY_MIN_MS to RETRY_MAX_MS; new writes queue behind it (and the
 * nodes are paused by the backlog limit, as when the database is slow).
 * A lock request is the exception: its answer waits for the row, so it is
 * answered with the error at once rather than held for the outage.
 */
#include "tracker/tracker_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/work.h"
#include "cluster/members.h"

/*
 * Writes per group: enough to make commits rare, few enough that a query
 * queued behind a group (one database thread) waits a fraction of a second
 * rather than the whole backlog.
 */
#define GROUP_OPS		256
/* Rows written between two tdb_maintain() calls. */
#define MAINTAIN_ROWS		200000
/* Pause before writing again to a database that could not be reached. */
#define RETRY_MIN_MS		250
#define RETRY_MAX_MS		5000

enum op_kind { OP_NODE_PUT, OP_FILES, OP_NODE_DEL, OP_LOCK_PUT, OP_LOCK_DEL };

struct op {
	STAILQ_ENTRY(op)	 entry;
	enum op_kind		 kind;
	uint8_t			 node[NODE_ID_LEN];
	char			 id[2 * NODE_ID_LEN + 1];	/* as text */
	uint64_t		 gen;
	/* OP_NODE_PUT */
	char			 peer[ADDR_STR_MAX], http[ADDR_STR_MAX];
	int64_t			 reg_ms;
	/* OP_FILES */
	uint8_t			*payload;
	size_t			 len;
	int64_t			 count;
	/* OP_LOCK_PUT, OP_LOCK_DEL (path) */
	struct twire_lock	 lock;
	uint64_t		 token;
	void			(*done)(void *, int);
	void			*arg;
	int			 rc;
};

STAILQ_HEAD(op_list, op);

struct tdb_queue {
	struct tracker	*tr;
	struct op_list	 pending;
	unsigned	 npending;
	size_t		 backlog;	/* payload bytes queued or running */
	bool		 running;
	uint64_t	 rows;		/* written since tdb_maintain */
	struct event	*retry;		/* armed: the database was down */
	unsigned	 retry_ms;	/* the next pause */
};

struct group {
	struct tdb_queue	*q;
	struct op_list		 ops;
	bool			 unreachable;	/* nothing written: try again */
};

/* A number column as the database wrote it; 0 if it is not one. */
static int64_t
col_i64(const char *s)
{
	int64_t v;

	return (span_i64(span_str(s), INT64_MIN, INT64_MAX, &v) == 0 ? v : 0);
}

static uint64_t
col_u64(const char *s)
{
	uint64_t v;

	return (span_u64(span_str(s), UINT64_MAX, &v) == 0 ? v : 0);
}

static int
count_row(void *arg, const char *const *cols, unsigned n)
{
	*(int64_t *)arg = n > 0 ? col_i64(cols[0]) : 0;
	return (0);
}

static int
run_files(struct tdb *db, struct op *o)
{
	struct twire_file f;
	struct wire_rd r;
	char sha[2 * HASH_LEN + 1];
	uint8_t flags;
	uint32_t n, i;
	int rc = 0;

	if (twire_list_read(&r, o->payload, o->len, WIRE_T_FILES, &flags,
	    &n) < 0)
		return (-EPROTO);
	if (flags & TWIRE_FLAG_RESET) {
		struct tdb_val a[] = { TDB_S(o->id) };

		if ((rc = tdb_run(db, TQ_HOLD_CLEAR, a, 1, NULL, NULL)) < 0)
			return (rc);
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (twire_next_file(&r, &f) < 0)
			return (-EPROTO);
		if (f.live) {
			struct tdb_val a[] = { TDB_S(f.path), TDB_S(o->id),
			    TDB_I((int64_t)f.size), TDB_S(sha),
			    TDB_S(f.version) };

			hash_hex(f.sha256, sha);
			rc = tdb_run(db, TQ_HOLD_PUT, a, 5, NULL, NULL);
		} else {
			struct tdb_val a[] = { TDB_S(f.path), TDB_S(o->id) };

			rc = tdb_run(db, TQ_HOLD_DEL, a, 2, NULL, NULL);
		}
	}
	if (rc == 0) {
		struct tdb_val a[] = { TDB_S(o->id) };

		rc = tdb_run(db, TQ_HOLD_COUNT, a, 1, count_row, &o->count);
	}
	return (rc);
}

static int
run_op(struct tdb *db, struct op *o)
{
	switch (o->kind) {
	case OP_NODE_PUT: {
		struct tdb_val a[] = { TDB_S(o->id), TDB_S(o->peer),
		    TDB_S(o->http), TDB_I(o->reg_ms) };

		return (tdb_run(db, TQ_NODE_PUT, a, 4, NULL, NULL));
	}
	case OP_FILES:
		return (run_files(db, o));
	case OP_NODE_DEL: {
		struct tdb_val a[] = { TDB_S(o->id) };
		int rc;

		if ((rc = tdb_run(db, TQ_HOLD_CLEAR, a, 1, NULL, NULL)) < 0 ||
		    (rc = tdb_run(db, TQ_LOCK_DEL_NODE, a, 1, NULL, NULL)) < 0)
			return (rc);
		return (tdb_run(db, TQ_NODE_DEL, a, 1, NULL, NULL));
	}
	case OP_LOCK_PUT: {
		char node[2 * NODE_ID_LEN + 1];
		struct tdb_val a[] = { TDB_S(o->lock.path), TDB_S(node),
		    TDB_S(o->lock.owner), TDB_I((int64_t)o->lock.token),
		    TDB_I((int64_t)o->lock.expires_wall_ms) };
		struct tdb_val t[] = { TDB_I((int64_t)o->token) };
		int rc;

		member_id_hex(o->lock.node, node);
		if ((rc = tdb_run(db, TQ_LOCK_PUT, a, 5, NULL, NULL)) < 0)
			return (rc);
		return (tdb_run(db, TQ_TOKEN_PUT, t, 1, NULL, NULL));
	}
	case OP_LOCK_DEL: {
		struct tdb_val a[] = { TDB_S(o->lock.path) };

		return (tdb_run(db, TQ_LOCK_DEL, a, 1, NULL, NULL));
	}
	}
	return (-EINVAL);
}

static int
in_txn(struct tdb *db, struct op *first, struct op *last)
{
	struct op *o;
	int rc;

	if (tdb_run(db, TQ_BEGIN, NULL, 0, NULL, NULL) < 0)
		return (-EIO);
	for (o = first; o != NULL; o = STAILQ_NEXT(o, entry)) {
		if ((rc = run_op(db, o)) < 0) {
			(void)tdb_run(db, TQ_ROLLBACK, NULL, 0, NULL, NULL);
			return (rc);
		}
		if (o == last)
			break;
	}
	if (tdb_run(db, TQ_COMMIT, NULL, 0, NULL, NULL) < 0) {
		(void)tdb_run(db, TQ_ROLLBACK, NULL, 0, NULL, NULL);
		return (-EIO);
	}
	return (0);
}

static void
group_run(void *arg)
{
	struct group *g = arg;
	struct tdb *db = g->q->tr->db;
	struct op *o;

	STAILQ_FOREACH(o, &g->ops, entry)
		g->q->rows += o->kind == OP_FILES ? (uint64_t)o->len / 64 : 1;
	if (g->q->rows >= MAINTAIN_ROWS) {
		tdb_maintain(db);
		g->q->rows = 0;
	}
	if (in_txn(db, STAILQ_FIRST(&g->ops), NULL) == 0)
		return;
	/* Find the write that failed, and keep the others. */
	STAILQ_FOREACH(o, &g->ops, entry)
		o->rc = -EAGAIN;	/* not tried yet */
	STAILQ_FOREACH(o, &g->ops, entry) {
		if ((o->rc = in_txn(db, o, o)) == 0 || o->rc == -EPROTO)
			continue;
		/* The database itself, or this write?  A read tells. */
		if (tdb_run(db, TQ_TOKEN_GET, NULL, 0, NULL, NULL) < 0) {
			g->unreachable = true;
			return;
		}
	}
}

static void group_start(struct tdb_queue *);

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct tdb_queue *q = arg;

	(void)fd;
	(void)what;
	group_start(q);
}

/*
 * The database could not be reached: the writes not yet known written go
 * back to the head of the queue, in their order, and the queue waits.
 * Those that were written (before the loss) are done; a lock request is
 * answered with the error.
 */
static void
requeue(struct group *g)
{
	struct tdb_queue *q = g->q;
	struct op_list back = STAILQ_HEAD_INITIALIZER(back);
	struct op_list keep = STAILQ_HEAD_INITIALIZER(keep);
	struct op *o;
	unsigned n = 0;
	struct timeval tv;

	while ((o = STAILQ_FIRST(&g->ops)) != NULL) {
		STAILQ_REMOVE_HEAD(&g->ops, entry);
		if (o->rc == 0 || o->rc == -EPROTO || o->done != NULL) {
			STAILQ_INSERT_TAIL(&keep, o, entry);
			continue;
		}
		o->rc = 0;
		STAILQ_INSERT_TAIL(&back, o, entry);
		n++;
	}
	STAILQ_CONCAT(&g->ops, &keep);
	if (n == 0)
		return;
	STAILQ_CONCAT(&back, &q->pending);
	STAILQ_INIT(&q->pending);
	STAILQ_CONCAT(&q->pending, &back);
	q->npending += n;
	q->retry_ms = q->retry_ms == 0 ? RETRY_MIN_MS :
	    q->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : q->retry_ms * 2;
	log_warnx("tracker db: cannot reach the database; %u write(s) kept, "
	    "trying again in %u ms", n, q->retry_ms);
	if (q->retry == NULL &&
	    (q->retry = evtimer_new(q->tr->base, on_retry, q)) == NULL)
		return;
	tv.tv_sec = q->retry_ms / 1000;
	tv.tv_usec = (q->retry_ms % 1000) * 1000;
	evtimer_add(q->retry, &tv);
}

static void
group_done(void *arg)
{
	struct group *g = arg;
	struct tdb_queue *q = g->q;
	struct tnode *n;
	struct op *o;

	if (g->unreachable)
		requeue(g);
	else if (q->retry_ms != 0) {
		log_info("tracker db: the database answers again; the kept "
		    "writes are written");
		q->retry_ms = 0;
	}
	while ((o = STAILQ_FIRST(&g->ops)) != NULL) {
		STAILQ_REMOVE_HEAD(&g->ops, entry);
		if (o->rc < 0 && !g->unreachable)
			log_warnx("tracker db: a write (kind %d, node %.8s) "
			    "was refused by the database and dropped",
			    (int)o->kind, o->id);
		if (o->kind == OP_FILES && o->rc == 0 &&
		    (n = tracker_node(q->tr, o->node)) != NULL &&
		    n->gen == o->gen)
			n->files = o->count;
		if (o->done)
			o->done(o->arg, o->rc);
		q->backlog -= o->len;
		free(o->payload);
		free(o);
	}
	free(g);
	q->running = false;
	group_start(q);
	if (q->backlog < TRACKER_BACKLOG_MAX / 2)
		tracker_resume(q->tr);
}

static void
group_start(struct tdb_queue *q)
{
	struct group *g;
	struct op *o;
	unsigned n;

	if (q->running || STAILQ_EMPTY(&q->pending) ||
	    (q->retry != NULL && evtimer_pending(q->retry, NULL)))
		return;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return;	/* retried with the next write */
	g->q = q;
	STAILQ_INIT(&g->ops);
	for (n = 0; n < GROUP_OPS && (o = STAILQ_FIRST(&q->pending)) != NULL;
	    n++) {
		STAILQ_REMOVE_HEAD(&q->pending, entry);
		STAILQ_INSERT_TAIL(&g->ops, o, entry);
		q->npending--;
	}
	q->running = true;
	if (work_submit(q->tr->pool, group_run, group_done, g) < 0) {
		STAILQ_CONCAT(&g->ops, &q->pending);
		STAILQ_CONCAT(&q->pending, &g->ops);
		q->npending += n;
		free(g);
		q->running = false;
	}
}

static struct op *
op_new(enum op_kind kind, const uint8_t *id)
{
	struct op *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		log_warnx("tracker db: out of memory, a write is lost");
		return (NULL);
	}
	o->kind = kind;
	if (id) {
		memcpy(o->node, id, NODE_ID_LEN);
		member_id_hex(id, o->id);
	}
	return (o);
}

static void
queue(struct tracker *tr, struct op *o)
{
	STAILQ_INSERT_TAIL(&tr->q->pending, o, entry);
	tr->q->npending++;
	group_start(tr->q);
}

void
tdb_node_put(struct tracker *tr, const struct tnode *n)
{
	struct op *o;

	if ((o = op_new(OP_NODE_PUT, n->id)) == NULL)
		return;
	(void)str_copy(o->peer, sizeof(o->peer), n->peer_addr);
	(void)str_copy(o->http, sizeof(o->http), n->http_addr);
	o->reg_ms = n->registered_ms;
	queue(tr, o);
}

void
tdb_files(struct tracker *tr, const struct tnode *n, const uint8_t *p,
    size_t len)
{
	struct op *o;

	if ((o = op_new(OP_FILES, n->id)) == NULL)
		return;
	if ((o->payload = malloc(len ? len : 1)) == NULL) {
		free(o);
		return;
	}
	memcpy(o->payload, p, len);
	o->len = len;
	tr->q->backlog += len;
	o->gen = n->gen;
	queue(tr, o);
}

void
tdb_node_del(struct tracker *tr, const uint8_t id[NODE_ID_LEN])
{
	struct op *o;

	if ((o = op_new(OP_NODE_DEL, id)) != NULL)
		queue(tr, o);
}

void
tdb_lock_put(struct tracker *tr, const struct twire_lock *l,
    void (*done)(void *, int), void *arg)
{
	struct op *o;

	if ((o = op_new(OP_LOCK_PUT, l->node)) == NULL) {
		done(arg, -ENOMEM);
		return;
	}
	o->lock = *l;
	o->token = tr->token;
	o->done = done;
	o->arg = arg;
	queue(tr, o);
}

void
tdb_lock_del(struct tracker *tr, const char *path)
{
	struct op *o;

	if ((o = op_new(OP_LOCK_DEL, NULL)) == NULL)
		return;
	(void)str_copy(o->lock.path, sizeof(o->lock.path), path);
	queue(tr, o);
}

size_t
tdb_backlog(const struct tracker *tr)
{
	return (tr->q->backlog);
}

bool
tdb_idle(const struct tracker *tr)
{
	return (!tr->q->running && STAILQ_EMPTY(&tr->q->pending));
}

struct tdb_queue *
tdb_queue_new(struct tracker *tr)
{
	struct tdb_queue *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return (NULL);
	q->tr = tr;
	STAILQ_INIT(&q->pending);
	return (q);
}

void
tdb_queue_free(struct tdb_queue *q)
{
	struct op *o;

	if (q == NULL)
		return;
	if (q->retry != NULL)
		event_free(q->retry);
	if (q->npending > 0 && q->retry_ms != 0)
		log_warnx("tracker db: %u write(s) never reached the database; "
		    "the nodes send their lists again when they register",
		    q->npending);
	while ((o = STAILQ_FIRST(&q->pending)) != NULL) {
		STAILQ_REMOVE_HEAD(&q->pending, entry);
		free(o->payload);
		free(o);
	}
	free(q);
}

/* Loading at start */

/* Ids are stored as str_hex() wrote them: lower case only. */
static int
unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n || strspn(s, "0123456789abcdef") != 2 * n)
		return (-EINVAL);
	return (span_hex(span_str(s), out, n));
}

static int
load_node(void *arg, const char *const *c, unsigned n)
{
	struct tracker *tr = arg;
	struct tnode *t;

	if (n < 4 || (t = calloc(1, sizeof(*t))) == NULL)
		return (0);
	if (unhex(c[0], t->id, NODE_ID_LEN) < 0 ||
	    tracker_node(tr, t->id) != NULL) {
		free(t);
		return (0);
	}
	(void)str_copy(t->id_hex, sizeof(t->id_hex), c[0]);
	(void)str_copy(t->peer_addr, sizeof(t->peer_addr), c[1]);
	(void)str_copy(t->http_addr, sizeof(t->http_addr), c[2]);
	t->registered_ms = col_i64(c[3]);
	/* It gets one expiry interval to register again. */
	t->last_heard = clock_mono_ms();
	tracker_node_insert(tr, t);
	return (0);
}

static int
load_count(void *arg, const char *const *c, unsigned n)
{
	struct tracker *tr = arg;
	uint8_t id[NODE_ID_LEN];
	struct tnode *t;

	if (n >= 2 && unhex(c[0], id, NODE_ID_LEN) == 0 &&
	    (t = tracker_node(tr, id)) != NULL)
		t->files = col_i64(c[1]);
	return (0);
}

static int
load_lock(void *arg, const char *const *c, unsigned n)
{
	struct tracker *tr = arg;
	struct tlock *k;
	int64_t now = clock_wall_ms(), exp;

	if (n < 5 || (k = calloc(1, sizeof(*k))) == NULL)
		return (0);
	k->l.held = true;
	exp = col_i64(c[4]);
	if (str_copy(k->l.path, sizeof(k->l.path), c[0]) < 0 ||
	    unhex(c[1], k->l.node, NODE_ID_LEN) < 0 ||
	    str_copy(k->l.owner, sizeof(k->l.owner), c[2]) < 0) {
		free(k);
		return (0);
	}
	k->l.token = col_u64(c[3]);
	k->l.expires_wall_ms = (uint64_t)exp;
	/* What was left of the lease when the tracker stopped (wall clock,
	 * the only clock that spans a restart). */
	k->deadline = clock_mono_ms() + (uint64_t)(exp > now ? exp - now : 0);
	if (k->l.token > tr->token)
		tr->token = k->l.token;
	TAILQ_INSERT_TAIL(&tr->locks, k, entry);
	return (0);
}

static int
load_token(void *arg, const char *const *c, unsigned n)
{
	struct tracker *tr = arg;
	uint64_t t = n > 0 ? col_u64(c[0]) : 0;

	if (t > tr->token)
		tr->token = t;
	return (0);
}

int
tracker_db_load(struct tracker *tr)
{
	if (tdb_run(tr->db, TQ_NODES_ALL, NULL, 0, load_node, tr) < 0 ||
	    tdb_run(tr->db, TQ_COUNTS, NULL, 0, load_count, tr) < 0 ||
	    tdb_run(tr->db, TQ_LOCKS_ALL, NULL, 0, load_lock, tr) < 0 ||
	    tdb_run(tr->db, TQ_TOKEN_GET, NULL, 0, load_token, tr) < 0)
		return (-EIO);
	return (0);
}

/* Queries */

struct query {
	struct tracker	*tr;
	uint8_t		 kind;
	char		 path[PATH_LEN_MAX + 1];
	char		 after[PATH_LEN_MAX + 1];
	uint32_t	 limit;
	void		(*done)(void *, int, char *);
	void		*arg;
	/* built on the database thread */
	json_t		*files;		/* array of entries */
	json_t		*cur;		/* the entry being filled */
	char		 cur_path[PATH_LEN_MAX + 1];
	char		 last_done[PATH_LEN_MAX + 1];	/* complete paths */
	uint32_t	 paths, rows, skipped;
	bool		 more;
	int		 status;
	char		*text;
};

/* Rows come ordered by path, sha256, version: one entry per version. */
static int
add_row(struct query *q, const char *path, const char *size,
    const char *sha, const char *ver, const char *node)
{
	json_t *c = q->cur;

	q->rows++;
	/* JSON carries UTF-8 only: other names are counted, not listed. */
	if (!twire_utf8_ok(path)) {
		q->skipped++;
		return (0);
	}
	if (c == NULL || strcmp(q->cur_path, path) != 0 ||
	    strcmp(json_string_value(json_object_get(c, "sha256")), sha) !=
	    0 || strcmp(json_string_value(json_object_get(c, "version")),
	    ver) != 0) {
		if (strcmp(q->cur_path, path) != 0) {
			if (q->paths == q->limit) {
				q->more = true;
				return (1);
			}
			(void)str_copy(q->last_done, sizeof(q->last_done),
			    q->cur_path);
			(void)str_copy(q->cur_path, sizeof(q->cur_path), path);
			q->paths++;
		}
		c = json_pack("{s:s, s:I, s:s, s:s, s:[]}", "path", path,
		    "size", (json_int_t)col_i64(size), "sha256", sha,
		    "version", ver, "holders");
		if (c == NULL)
			return (-ENOMEM);
		json_array_append_new(q->files, c);
		q->cur = c;
	}
	json_array_append_new(json_object_get(c, "holders"),
	    json_string(node));
	return (0);
}

static int
file_row(void *arg, const char *const *c, unsigned n)
{
	struct query *q = arg;

	return (n < 4 ? 0 : add_row(q, q->path, c[0], c[1], c[2], c[3]));
}

static int
list_row(void *arg, const char *const *c, unsigned n)
{
	return (n < 5 ? 0 : add_row(arg, c[0], c[1], c[2], c[3], c[4]));
}

static void
query_run(void *arg)
{
	struct query *q = arg;
	struct tdb *db = q->tr->db;
	json_t *j = NULL;
	int rc;

	q->files = json_array();
	q->status = 200;
	if (q->kind == TWIRE_Q_FILE) {
		struct tdb_val a[] = { TDB_S(q->path) };

		q->limit = 1;
		rc = tdb_run(db, TQ_FILE, a, 1, file_row, q);
		if (rc < 0)
			q->status = 500;
		else if (json_array_size(q->files) == 0)
			q->status = 404;
		else {
			size_t i;
			json_t *e;

			/* {path, versions: [{size, sha256, version,
			 * holders}]} */
			json_array_foreach(q->files, i, e)
				json_object_del(e, "path");
			j = json_pack("{s:s, s:O}", "path", q->path,
			    "versions", q->files);
		}
	} else {
		/* Enough rows for the page, with room for many holders per
		 * path; a path cut short by the row limit waits for the next
		 * page. */
		uint32_t rowlim = q->limit * 8 + 1024;
		char lo[PATH_LEN_MAX + 2], hi[PATH_LEN_MAX + 2];

		if (q->path[0] == '\0') {
			struct tdb_val a[] = { TDB_S(q->after),
			    TDB_I(rowlim) };

			rc = tdb_run(db, TQ_LIST_ALL, a, 2, list_row, q);
		} else {
			struct tdb_val a[] = { TDB_S(q->after), TDB_S(lo),
			    TDB_S(hi), TDB_I(rowlim) };

			/* Everything under "P/": from "P/" up to "P0" ('0'
			 * follows '/'), a range the path index answers. */
			(void)str_fmt(lo, sizeof(lo), "%s/", q->path);
			(void)str_fmt(hi, sizeof(hi), "%s0", q->path);
			rc = tdb_run(db, TQ_LIST_UNDER, a, 4, list_row, q);
		}
		if (rc < 0)
			q->status = 500;
		else {
			const char *next = NULL;

			if (q->more)	/* stopped at the limit */
				next = q->cur_path;
			else if (q->rows >= rowlim && q->paths > 1) {
				/* The last path may be cut short: it waits
				 * for the next page. */
				size_t i = json_array_size(q->files);

				while (i > 0 && strcmp(json_string_value(
				    json_object_get(json_array_get(q->files,
				    i - 1), "path")), q->cur_path) == 0)
					json_array_remove(q->files, --i);
				next = q->last_done;
			} else if (q->rows >= rowlim)
				next = q->cur_path;
			j = json_pack("{s:O, s:o, s:i}", "files", q->files,
			    "next", next ? json_string(next) : json_null(),
			    "not_utf8", (int)q->skipped);
		}
	}
	if (j == NULL)
		j = json_pack("{s:s}", "error", q->status == 404 ?
		    "no node holds this path" : "database error");
	q->text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	json_decref(q->files);
}

static void
query_done(void *arg)
{
	struct query *q = arg;

	q->done(q->arg, q->text ? q->status : 500, q->text);
	free(q);
}

void
tdb_query(struct tracker *tr, uint8_t kind, const char *path,
    const char *after, uint32_t limit, void (*done)(void *, int, char *),
    void *arg)
{
	struct query *q = calloc(1, sizeof(*q));

	if (q == NULL) {
		done(arg, 503, NULL);
		return;
	}
	q->tr = tr;
	q->kind = kind;
	(void)str_copy(q->path, sizeof(q->path), path);
	(void)str_copy(q->after, sizeof(q->after), after);
	q->limit = limit == 0 || limit > TRACKER_LIST_MAX ? TRACKER_LIST_MAX :
	    limit;
	q->done = done;
	q->arg = arg;
	if (work_submit(tr->pool, query_run, query_done, q) < 0) {
		free(q);
		done(arg, 503, NULL);
	}
}
