/*
 * http_vers: versions, trash and restores over HTTP (docs/API.md,
 * docs/VERSIONS.md).
 *
 *   GET  /v1/versions/PATH          the versions this node keeps of PATH
 *   GET  /v1/versions/PATH?id=ID    the bytes of one of them
 *   GET  /v1/trash[/PATH]           deleted files (under PATH)
 *   POST /v1/restore/PATH           {"version": ID} | {"before": TIME,
 *                                   "dry_run": BOOL} | {} (from the trash)
 *
 * A restore runs in two jobs: the plan (which files change, and how) on
 * the pool; on the loop, the write locks of every path it changes (one
 * refused: nothing changes); then the changes on the pool, each a normal
 * write here (an upload of kept bytes, or a delete into the trash) that
 * replicates like any other.  A dry run stops after the plan.
 */
#include "front/http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/rfc3339.h"
#include "front/http/http_query.h"
#include "store/hash.h"
#include "store/store.h"
#include "store/versions.h"

#define VERS_ACTIONS_MAX	100000	/* changes one restore makes */

enum vjob_op {
	VJ_LIST,
	VJ_TRASH,
	VJ_GET,
	VJ_RESTORE_ID,
	VJ_RESTORE_TRASH,
	VJ_RESTORE_BEFORE,
};

struct vaction {
	char		*path;
	enum vers_action a;
	char		 id[VERS_ID_MAX + 1];
	int64_t		 kept_ns;	/* the trash: when it was deleted */
};

/* A job's copies of what it reads and slots for what it makes. */
struct vjob {
	struct http_conn	*c;	/* the loop's, never the job's */
	struct store		*store;
	enum vjob_op		 op;
	char			 path[PATH_LEN_MAX + 1];
	char			 id[VERS_ID_MAX + 1];
	int64_t			 before;
	bool			 dry_run;
	int			 rc;
	int			 fd;
	struct vers_row		 row;
	json_t			*json;
	struct vaction		*acts;
	size_t			 nacts, capacts;
	size_t			 cur;		/* the one being fetched */
	bool			 lost_pass;	/* fetching what was pruned here */
	json_t			*done[4];	/* by enum vers_action */
	json_t			*failed;
	struct buf		*data;		/* fetched from a member */
	uint8_t			 sha[HASH_LEN];
	char			 from[2 * NODE_ID_LEN + 1];
	bool			 local_only;	/* ?local=1: no members */
};

static struct vjob *
vjob_new(struct http_conn *c, enum vjob_op op)
{
	struct vjob *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		http_error(c, 500, "out of memory");
		return (NULL);
	}
	j->c = c;
	j->op = op;
	j->fd = -1;
	j->store = c->srv->o.store;
	memcpy(j->path, c->path, sizeof(j->path));
	return (j);
}

static void
vjob_free(struct vjob *j)
{
	size_t i;

	if (j->fd >= 0)
		close(j->fd);
	json_decref(j->json);
	for (i = 0; i < 4; i++)
		json_decref(j->done[i]);
	json_decref(j->failed);
	if (j->data != NULL) {
		buf_release(j->data);
		free(j->data);
	}
	for (i = 0; i < j->nacts; i++)
		free(j->acts[i].path);
	free(j->acts);
	free(j);
}

static void
vjob_submit(struct http_conn *c, struct vjob *j, void (*fn)(void *),
    void (*done)(void *))
{
	c->st = CONN_BUSY;
	if (http_job(c, fn, done, j) < 0) {
		vjob_free(j);
		http_busy(c);
	}
}

/* Ends a job; NULL if the connection is gone (the job is freed). */
static struct http_conn *
vjob_end(struct vjob *j)
{
	struct http_conn *c = j->c;

	if (!http_job_end(c)) {
		vjob_free(j);
		return (NULL);
	}
	return (c);
}

static json_t *
row_json(const char *path, const struct vers_row *r, bool with_path)
{
	char sha[HASH_HEX_LEN + 1], writer[2 * NODE_ID_LEN + 1];
	char by[2 * NODE_ID_LEN + 1];
	char mt[RFC3339_LEN], kept[RFC3339_LEN];
	json_t *o;

	hash_hex(r->sha256, sha);
	str_hex(r->writer, NODE_ID_LEN, writer);
	str_hex(r->by, NODE_ID_LEN, by);
	rfc3339_format(r->mtime_ns, mt);
	rfc3339_format(r->kept_ns, kept);
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "id", r->id,
	    "kind", r->kind == VERS_TRASH ? "trash" : "version", "time", mt,
	    r->kind == VERS_TRASH ? "deleted" : "replaced", kept,
	    "size", (json_int_t)r->size, "sha256", sha, "writer", writer,
	    "by", by);
	if (o != NULL && with_path)
		json_object_set_new(o, "path", json_string(path));
	return (o);
}

/* Adds node to the row of id (of path, for the trash) in rows, or r (made
 * a row) if none. */
static void
merge_row(json_t *rows, const char *path, const struct vers_row *r,
    const char *node, bool trash)
{
	json_t *e, *o;
	size_t i;

	json_array_foreach(rows, i, e)
		if (strcmp(json_string_value(json_object_get(e, "id")),
		    r->id) == 0 && (!trash || strcmp(json_string_value(
		    json_object_get(e, "path")), path) == 0)) {
			json_array_append_new(json_object_get(e, "nodes"),
			    json_string(node));
			return;
		}
	if ((o = row_json(path, r, trash)) == NULL)
		return;
	json_object_set_new(o, "nodes", json_pack("[s]", node));
	json_array_append_new(rows, o);
}

/* Newest content first, as a node lists its own. */
static int
by_time(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;

	return (-strcmp(json_string_value(json_object_get(*x, "time")),
	    json_string_value(json_object_get(*y, "time"))));
}

/* The trash: the latest deletion first. */
static int
by_deletion(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;

	return (-strcmp(json_string_value(json_object_get(*x, "deleted")),
	    json_string_value(json_object_get(*y, "deleted"))));
}

static void
sort_rows(json_t **rows, bool trash)
{
	json_t **v, *out;
	size_t n = json_array_size(*rows), i;

	if (n < 2 || (v = calloc(n, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < n; i++)
		v[i] = json_array_get(*rows, i);
	qsort(v, n, sizeof(*v), trash ? by_deletion : by_time);
	if ((out = json_array()) != NULL) {
		for (i = 0; i < n; i++)
			json_array_append(out, v[i]);
		json_decref(*rows);
		*rows = out;
	}
	free(v);
}

/* The errors a client can act on, in one line each. */
static void
vers_error(struct http_conn *c, int rc, const char *path, const char *id,
    bool cluster)
{
	const char *where = cluster ? "any node" : "this node";
	char msg[PATH_LEN_MAX + 200];
	int status = 404;

	if (rc == -ENOENT && id[0])
		snprintf(msg, sizeof(msg), "no version %s of /%s is known on "
		    "%s", id, path, where);
	else if (rc == -ENODATA) {
		snprintf(msg, sizeof(msg), "version %s of /%s was pruned on "
		    "%s that had it", id, path, cluster ? "every node" :
		    "this node");
		status = 410;
	} else if (rc == -EFBIG) {
		snprintf(msg, sizeof(msg), "version %s of /%s is too large "
		    "to fetch from another node: restore it on a node that "
		    "keeps it", id, path);
		status = 507;
	} else if (rc == -ETIMEDOUT || rc == -EBUSY) {
		snprintf(msg, sizeof(msg), "version %s of /%s: the nodes "
		    "that may keep it did not answer in time", id, path);
		status = 503;
	} else {
		http_error_errno(c, rc);
		return;
	}
	http_error(c, status, msg);
}

/* A local miss that another member may answer. */
static bool
ask_members(struct http_conn *c, int rc)
{
	return ((rc == -ENOENT || rc == -ENODATA) &&
	    c->srv->o.ctl.vers_fetch != NULL);
}

/* GET /v1/versions/PATH, GET /v1/trash[/PATH] */

static int
list_row(const char *path, const struct vers_row *r, void *arg)
{
	struct vjob *j = arg;
	char self[2 * NODE_ID_LEN + 1];
	json_t *o;

	if (r->pruned)
		return (0);
	if ((o = row_json(path, r, j->op == VJ_TRASH)) == NULL)
		return (-1);
	str_hex(j->store->node_id, NODE_ID_LEN, self);
	json_object_set_new(o, "nodes", json_pack("[s]", self));
	json_array_append_new(j->json, o);
	return (0);
}

static void
list_answer(struct http_conn *c, struct vjob *j)
{
	http_respond_json(c, 200, json_pack("{s:s, s:O}", "path", j->path,
	    j->op == VJ_TRASH ? "trash" : "versions", j->json));
}

/* What the other members keep of it, merged into the listing. */
static void
list_members_done(void *arg, struct vreq_rows *rows)
{
	struct vjob *j = arg;
	struct http_conn *c = j->c;
	size_t i;

	if (!http_job_end(c)) {
		vreq_rows_free(rows);
		vjob_free(j);
		return;
	}
	for (i = 0; rows != NULL && i < rows->n; i++)
		merge_row(j->json, j->op == VJ_TRASH ? rows->v[i].path :
		    j->path, &rows->v[i].r, rows->v[i].node, j->op == VJ_TRASH);
	sort_rows(&j->json, j->op == VJ_TRASH);
	vreq_rows_free(rows);
	list_answer(c, j);
	vjob_free(j);
}

static void
list_run(void *arg)
{
	struct vjob *j = arg;
	int n;

	if ((j->json = json_array()) == NULL) {
		j->rc = -ENOMEM;
		return;
	}
	n = j->op == VJ_TRASH ? index_vers_trash(j->store->index, j->path,
	    list_row, j) : index_vers_list(j->store->index, j->path,
	    list_row, j);
	j->rc = n < 0 ? n : 0;
}

static void
list_done(void *arg)
{
	struct vjob *j = arg;
	struct http_conn *c;

	const struct http_ctl *ctl;

	if ((c = vjob_end(j)) == NULL)
		return;
	ctl = &c->srv->o.ctl;
	if (j->rc == 0 && !j->local_only && (j->op == VJ_LIST ?
	    ctl->vers_list != NULL : ctl->vers_trash != NULL)) {
		c->jobs++;
		if ((j->op == VJ_LIST ? ctl->vers_list(ctl->arg, j->path,
		    list_members_done, j) : ctl->vers_trash(ctl->arg, j->path,
		    list_members_done, j)) == 0)
			return;
		c->jobs--;
	}
	if (j->rc < 0)
		http_error_errno(c, j->rc);
	else
		list_answer(c, j);
	vjob_free(j);
}

/* GET /v1/versions/PATH?id=ID: the kept bytes */

static void
get_run(void *arg)
{
	struct vjob *j = arg;

	j->fd = vers_open(j->store, j->path, j->id, &j->row);
	j->rc = j->fd < 0 ? j->fd : 0;
}

/* The bytes came from another member (or did not). */
static void
get_fetched(void *arg, int rc, struct buf *data, const uint8_t *sha,
    const char *node)
{
	struct vjob *j = arg;
	struct http_conn *c = j->c;
	char hex[HASH_HEX_LEN + 1], extra[200];

	j->data = data;
	if (!http_job_end(c)) {
		vjob_free(j);
		return;
	}
	/* Pruned here and unknown elsewhere: pruned wherever it was. */
	if (rc == -ENOENT && j->rc == -ENODATA)
		rc = -ENODATA;
	if (rc < 0) {
		vers_error(c, rc, j->path, j->id, true);
		vjob_free(j);
		return;
	}
	hash_hex(sha, hex);
	snprintf(extra, sizeof(extra), "ETag: \"%s\"\r\nShoal-From: %s\r\n",
	    hex, node);
	http_respond(c, 200, "application/octet-stream", extra,
	    data->data, data->len);
	vjob_free(j);
}

static void
get_done(void *arg)
{
	struct vjob *j = arg;
	struct http_conn *c;
	char sha[HASH_HEX_LEN + 1], extra[160];

	if ((c = vjob_end(j)) == NULL)
		return;
	if (j->rc < 0 && ask_members(c, j->rc)) {
		c->jobs++;
		if (c->srv->o.ctl.vers_fetch(c->srv->o.ctl.arg, j->path, j->id,
		    get_fetched, j) == 0)
			return;
		c->jobs--;
	}
	if (j->rc < 0) {
		vers_error(c, j->rc, j->path, j->id, false);
		vjob_free(j);
		return;
	}
	hash_hex(j->row.sha256, sha);
	snprintf(extra, sizeof(extra), "ETag: \"%s\"\r\n", sha);
	http_respond_head(c, 200, "application/octet-stream", extra,
	    j->row.size);
	if (c->req.method == HTTP_HEAD || j->row.size == 0) {
		http_response_done(c);
		vjob_free(j);
		return;
	}
	fs_reader_local(&c->rd, j->fd, 0, j->row.size);
	j->fd = -1;
	vjob_free(j);
	http_send_more(c);
}

void
http_route_versions(struct http_conn *c)
{
	struct http_query q;
	struct vjob *j;
	const char *id;
	int rc;

	if (c->req.method != HTTP_GET && c->req.method != HTTP_HEAD) {
		http_error(c, 405, "use GET");
		return;
	}
	if (http_target_path(c, "/v1/versions/", false) < 0)
		return;
	if ((rc = http_query_target(&q, c->req.target)) < 0) {
		http_error(c, 400, http_query_error(rc));
		return;
	}
	id = http_query_get(&q, "id");
	if (id != NULL && (id[0] == '\0' || strlen(id) > VERS_ID_MAX)) {
		http_error(c, 400, "id: not a version id");
		return;
	}
	if ((j = vjob_new(c, id ? VJ_GET : VJ_LIST)) == NULL)
		return;
	j->local_only = http_query_get(&q, "local") != NULL;
	if (id != NULL)
		(void)str_copy(j->id, sizeof(j->id), id);
	vjob_submit(c, j, id ? get_run : list_run, id ? get_done : list_done);
}

void
http_route_trash(struct http_conn *c)
{
	struct http_query q;
	struct vjob *j;
	int rc;

	if (c->req.method != HTTP_GET) {
		http_error(c, 405, "use GET");
		return;
	}
	if (http_target_path(c, strcmp(c->req.target, "/v1/trash") == 0 ||
	    strncmp(c->req.target, "/v1/trash?", 10) == 0 ? "/v1/trash" :
	    "/v1/trash/", true) < 0)
		return;
	if ((rc = http_query_target(&q, c->req.target)) < 0) {
		http_error(c, 400, http_query_error(rc));
		return;
	}
	if ((j = vjob_new(c, VJ_TRASH)) != NULL) {
		j->local_only = http_query_get(&q, "local") != NULL;
		vjob_submit(c, j, list_run, list_done);
	}
}

/* POST /v1/restore/PATH */

static int
add_action(struct vjob *j, const char *path, enum vers_action a,
    const char *id)
{
	struct vaction *na;
	size_t cap;

	if (j->nacts == VERS_ACTIONS_MAX)
		return (-E2BIG);
	if (j->nacts == j->capacts) {
		cap = j->capacts ? j->capacts * 2 : 16;
		if ((na = realloc(j->acts, cap * sizeof(*na))) == NULL)
			return (-ENOMEM);
		j->acts = na;
		j->capacts = cap;
	}
	if ((j->acts[j->nacts].path = strdup(path)) == NULL)
		return (-ENOMEM);
	j->acts[j->nacts].a = a;
	(void)str_copy(j->acts[j->nacts].id, VERS_ID_MAX + 1, id ? id : "");
	j->nacts++;
	return (0);
}

static int
plan_action(const char *path, enum vers_action a, const struct vers_row *r,
    void *arg)
{
	return (add_action(arg, path, a, r ? r->id : NULL));
}

/* Every trash row; trash_newest keeps the newest of each path. */
static int
plan_trash(const char *path, const struct vers_row *r, void *arg)
{
	struct vjob *j = arg;
	int rc;

	if ((rc = add_action(j, path, VERS_DO_RESTORE, r->id)) == 0)
		j->acts[j->nacts - 1].kept_ns = r->kept_ns;
	return (rc);
}

static int
by_path_newest(const void *x, const void *y)
{
	const struct vaction *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	if (c != 0)
		return (c);
	return (a->kept_ns > b->kept_ns ? -1 : a->kept_ns < b->kept_ns);
}

/* Sorted by path, newest deletion first: the first of each path stays. */
static void
trash_newest(struct vjob *j)
{
	size_t i, n = 0;

	qsort(j->acts, j->nacts, sizeof(*j->acts), by_path_newest);
	for (i = 0; i < j->nacts; i++) {
		if (n > 0 && strcmp(j->acts[n - 1].path, j->acts[i].path) ==
		    0) {
			free(j->acts[i].path);
			continue;
		}
		j->acts[n++] = j->acts[i];
	}
	j->nacts = n;
}

static void
plan_run(void *arg)
{
	struct vjob *j = arg;
	int n;

	switch (j->op) {
	case VJ_RESTORE_ID:
		if ((j->fd = vers_open(j->store, j->path, j->id, &j->row)) < 0)
			j->rc = j->fd;
		else {
			memcpy(j->sha, j->row.sha256, HASH_LEN);
			j->rc = add_action(j, j->path, VERS_DO_RESTORE, j->id);
		}
		break;
	case VJ_RESTORE_TRASH:
		n = index_vers_trash(j->store->index, j->path, plan_trash, j);
		trash_newest(j);
		j->rc = n < 0 ? n : j->nacts == 0 ? -ENOENT : 0;
		break;
	case VJ_RESTORE_BEFORE:
		j->rc = vers_plan(j->store, j->path, j->before, plan_action, j);
		break;
	default:
		j->rc = -EINVAL;
	}
}

static void
apply_run(void *arg)
{
	struct vjob *j = arg;
	struct vaction *a;
	bool changed;
	size_t i;
	int rc;

	for (i = 0; i < j->nacts; i++) {
		a = &j->acts[i];
		switch (a->a) {
		case VERS_DO_RESTORE:
			rc = vers_restore(j->store, a->path, a->id, &changed);
			break;
		case VERS_DO_TRASH:
			rc = store_unlink(j->store, a->path);
			break;
		default:
			/* Pruned here: reported, or asked of the members. */
			continue;
		}
		if (rc < 0) {
			log_warnx("restore of /%s: %s", a->path,
			    strerror(-rc));
			json_array_append_new(j->failed, json_pack("{s:s, s:s}",
			    "path", a->path, "error", strerror(-rc)));
		} else
			json_array_append_new(j->done[a->a],
			    json_string(a->path));
	}
}

static void
report(struct http_conn *c, struct vjob *j)
{
	json_t *o;

	o = json_pack("{s:s, s:O, s:O, s:O, s:O, s:b}", "path", j->path,
	    "restored", j->done[VERS_DO_RESTORE],
	    "trashed", j->done[VERS_DO_TRASH], "lost", j->done[VERS_LOST],
	    "failed", j->failed, "dry_run", j->dry_run);
	if (o != NULL && j->op == VJ_RESTORE_ID)
		json_object_set_new(o, "version", json_string(j->id));
	http_respond_json(c, 200, o);
}

static void trash_next(struct vjob *);

/*
 * Keeps only the actions whose content was pruned here, for a member
 * that still keeps it (the id is the same on every node); false if none.
 */
static bool
lost_to_fetch(struct vjob *j)
{
	size_t i, n = 0;

	for (i = 0; i < j->nacts; i++) {
		if (j->acts[i].a != VERS_LOST) {
			free(j->acts[i].path);
			continue;
		}
		j->acts[n] = j->acts[i];
		j->acts[n++].a = VERS_DO_RESTORE;
	}
	j->nacts = n;
	j->cur = 0;
	return (n > 0);
}

/* A restored version waiting for its write quorum (sync.writes), as a
 * PUT does. */
static void
quorum_done(void *arg, int rc, unsigned got)
{
	struct vjob *j = arg;
	struct http_conn *c = j->c;
	char msg[200];

	if (!http_job_end(c)) {
		vjob_free(j);
		return;
	}
	if (rc == 0)
		report(c, j);
	else {
		snprintf(msg, sizeof(msg), "restored here, but only %u of %u "
		    "other node(s) confirmed a copy in time; it keeps "
		    "replicating", got, c->srv->o.ctl.sync_writes);
		http_error(c, 504, msg);
	}
	vjob_free(j);
}

static void
apply_done(void *arg)
{
	struct vjob *j = arg;
	const struct http_ctl *ctl;
	struct http_conn *c;

	if ((c = vjob_end(j)) == NULL)
		return;
	ctl = &c->srv->o.ctl;
	if (j->op == VJ_RESTORE_ID && json_array_size(j->failed) > 0) {
		http_error(c, 500, json_string_value(json_object_get(
		    json_array_get(j->failed, 0), "error")));
		vjob_free(j);
		return;
	}
	if (j->op == VJ_RESTORE_BEFORE && ctl->vers_fetch != NULL &&
	    lost_to_fetch(j)) {
		j->lost_pass = true;
		trash_next(j);
		return;
	}
	if (j->op == VJ_RESTORE_ID && ctl->wait_copies != NULL) {
		c->jobs++;
		c->st = CONN_BUSY;
		if (ctl->wait_copies(ctl->arg, j->path, j->sha, quorum_done,
		    j) == 0)
			return;
		c->jobs--;
	}
	report(c, j);
	vjob_free(j);
}

static void
bytes_run(void *arg)
{
	struct vjob *j = arg;
	bool changed;
	int rc;

	rc = vers_restore_bytes(j->store, j->path, j->data->data,
	    j->data->len, j->sha, &changed);
	if (rc < 0)
		json_array_append_new(j->failed, json_pack("{s:s, s:s}",
		    "path", j->path, "error", strerror(-rc)));
	else {
		json_array_append_new(j->done[VERS_DO_RESTORE],
		    json_string(j->path));
		if (changed)
			log_info("restored %s to version %s, fetched from "
			    "node %.8s", j->path, j->id, j->from);
	}
}

static void
restore_fetched(void *arg, int rc, struct buf *data, const uint8_t *sha,
    const char *node)
{
	struct vjob *j = arg;
	struct http_conn *c = j->c;
	size_t i;

	j->data = data;
	if (!http_job_end(c)) {
		vjob_free(j);
		return;
	}
	/* Pruned here and unknown elsewhere: pruned wherever it was. */
	if (rc == -ENOENT && j->rc == -ENODATA)
		rc = -ENODATA;
	if (rc < 0) {
		vers_error(c, rc, j->path, j->id, true);
		vjob_free(j);
		return;
	}
	memcpy(j->sha, sha, HASH_LEN);
	(void)str_copy(j->from, sizeof(j->from), node);
	for (i = 0; i < 4; i++)
		j->done[i] = json_array();
	j->failed = json_array();
	vjob_submit(c, j, bytes_run, apply_done);
}

/*
 * From the members, one file at a time: fetch, then restore.  For the
 * trash of a folder this node has nothing of, and for the files of a
 * point-in-time restore whose content was pruned here.
 */

static void
trash_bytes_run(void *arg)
{
	struct vjob *j = arg;
	struct vaction *a = &j->acts[j->cur];
	bool changed;
	int rc;

	rc = vers_restore_bytes(j->store, a->path, j->data->data,
	    j->data->len, j->sha, &changed);
	if (rc < 0)
		json_array_append_new(j->failed, json_pack("{s:s, s:s}",
		    "path", a->path, "error", strerror(-rc)));
	else
		json_array_append_new(j->done[VERS_DO_RESTORE],
		    json_string(a->path));
}

static void
trash_bytes_done(void *arg)
{
	struct vjob *j = arg;

	if (vjob_end(j) == NULL)
		return;
	buf_release(j->data);
	free(j->data);
	j->data = NULL;
	j->cur++;
	trash_next(j);
}

static void
trash_fetched(void *arg, int rc, struct buf *data, const uint8_t *sha,
    const char *node)
{
	struct vjob *j = arg;
	struct http_conn *c = j->c;
	const char *path = j->acts[j->cur].path;

	(void)node;
	j->data = data;
	if (!http_job_end(c)) {
		vjob_free(j);
		return;
	}
	if (rc < 0) {
		/* Pruned everywhere it was kept, or (pruned here) unknown
		 * to the members: lost. */
		if (rc == -ENODATA || (j->lost_pass && rc == -ENOENT))
			json_array_append_new(j->done[VERS_LOST],
			    json_string(path));
		else
			json_array_append_new(j->failed, json_pack("{s:s, s:s}",
			    "path", path, "error", strerror(-rc)));
		j->cur++;
		trash_next(j);
		return;
	}
	memcpy(j->sha, sha, HASH_LEN);
	vjob_submit(c, j, trash_bytes_run, trash_bytes_done);
}

static void
trash_next(struct vjob *j)
{
	struct http_conn *c = j->c;
	const struct http_ctl *ctl = &c->srv->o.ctl;

	while (j->cur < j->nacts) {
		c->jobs++;
		c->st = CONN_BUSY;
		if (ctl->vers_fetch(ctl->arg, j->acts[j->cur].path,
		    j->acts[j->cur].id, trash_fetched, j) == 0)
			return;
		c->jobs--;
		json_array_append_new(j->failed, json_pack("{s:s, s:s}",
		    "path", j->acts[j->cur].path, "error", "out of memory"));
		j->cur++;
	}
	report(c, j);
	vjob_free(j);
}

/* The members' trash under the path: the newest deletion of each file. */
static void
trash_rows(void *arg, struct vreq_rows *rows)
{
	struct vjob *j = arg;
	struct http_conn *c = j->c;
	char msg[PATH_LEN_MAX + 100];
	size_t i;

	if (!http_job_end(c)) {
		vreq_rows_free(rows);
		vjob_free(j);
		return;
	}
	for (i = 0; rows != NULL && i < rows->n; i++) {
		if (plan_trash(rows->v[i].path, &rows->v[i].r, j) < 0)
			break;
	}
	trash_newest(j);
	vreq_rows_free(rows);
	if (j->nacts == 0) {
		snprintf(msg, sizeof(msg), "nothing of /%s is in the trash on "
		    "any node", j->path);
		http_error(c, 404, msg);
		vjob_free(j);
		return;
	}
	for (i = 0; i < j->nacts; i++)
		if (http_write_refused(c, j->acts[i].path)) {
			vjob_free(j);
			return;
		}
	for (i = 0; i < 4; i++)
		j->done[i] = json_array();
	j->failed = json_array();
	trash_next(j);
}

static void
plan_done(void *arg)
{
	struct vjob *j = arg;
	struct http_conn *c;
	char msg[PATH_LEN_MAX + 100];
	size_t i;

	if ((c = vjob_end(j)) == NULL)
		return;
	/* A version this node lacks: from a member that keeps it. */
	if (j->op == VJ_RESTORE_ID && ask_members(c, j->rc)) {
		if (http_write_refused(c, j->path)) {
			vjob_free(j);
			return;
		}
		c->jobs++;
		if (c->srv->o.ctl.vers_fetch(c->srv->o.ctl.arg, j->path, j->id,
		    restore_fetched, j) == 0)
			return;
		c->jobs--;
	}
	/* Nothing in this node's trash: the members' may have it. */
	if (j->op == VJ_RESTORE_TRASH && j->rc == -ENOENT &&
	    c->srv->o.ctl.vers_trash != NULL &&
	    c->srv->o.ctl.vers_fetch != NULL) {
		c->jobs++;
		if (c->srv->o.ctl.vers_trash(c->srv->o.ctl.arg, j->path,
		    trash_rows, j) == 0)
			return;
		c->jobs--;
	}
	if (j->rc < 0) {
		if (j->op == VJ_RESTORE_TRASH && j->rc == -ENOENT) {
			snprintf(msg, sizeof(msg), "nothing of /%s is in the "
			    "trash on this node", j->path);
			http_error(c, 404, msg);
		} else if (j->rc == -E2BIG)
			http_error(c, 413, "more than 100000 files would "
			    "change: restore a smaller folder");
		else
			vers_error(c, j->rc, j->path, j->id, false);
		vjob_free(j);
		return;
	}
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
	for (i = 0; i < 4; i++)
		j->done[i] = json_array();
	j->failed = json_array();
	/* A dry run reports the plan; a restore, what it did, and the
	 * files pruned here once no member had their content either. */
	for (i = 0; i < j->nacts; i++)
		if (j->dry_run || (j->acts[i].a == VERS_LOST &&
		    c->srv->o.ctl.vers_fetch == NULL))
			json_array_append_new(j->done[j->acts[i].a],
			    json_string(j->acts[i].path));
	if (j->dry_run) {
		report(c, j);
		vjob_free(j);
		return;
	}
	/* One path under someone else's lock: nothing changes (a file
	 * pruned here may be restored from a member: checked too). */
	for (i = 0; i < j->nacts; i++)
		if (http_write_refused(c, j->acts[i].path)) {
			vjob_free(j);
			return;
		}
	vjob_submit(c, j, apply_run, apply_done);
}

void
http_route_restore(struct http_conn *c)
{
	const char *id, *before;
	struct vjob *j;
	json_t *b, *dry;
	int64_t t;

	if (c->req.method != HTTP_POST) {
		http_error(c, 405, "use POST");
		return;
	}
	if (http_target_path(c, strcmp(c->req.target, "/v1/restore") == 0 ?
	    "/v1/restore" : "/v1/restore/", true) < 0 || !http_need_body(c))
		return;
	b = http_body_json(c);
	if (c->body.len > 0 && !json_is_object(b)) {
		json_decref(b);
		http_error(c, 400, "expected {\"version\": ID} or {\"before\":"
		    " TIME, \"dry_run\": BOOL}");
		return;
	}
	id = json_string_value(json_object_get(b, "version"));
	before = json_string_value(json_object_get(b, "before"));
	dry = json_object_get(b, "dry_run");
	if ((id && before) || (id && (id[0] == '\0' ||
	    strlen(id) > VERS_ID_MAX)) || (dry && !json_is_boolean(dry)) ||
	    (json_object_get(b, "version") && !id) ||
	    (json_object_get(b, "before") && !before)) {
		json_decref(b);
		http_error(c, 400, "expected {\"version\": ID} or {\"before\":"
		    " TIME, \"dry_run\": BOOL}");
		return;
	}
	if (before && rfc3339_parse(before, strlen(before), &t) < 0) {
		json_decref(b);
		http_error(c, 400, "before: not a time such as "
		    "2026-12-03T14:00:00Z");
		return;
	}
	if (before && t > clock_wall_ms() * 1000000) {
		json_decref(b);
		http_error(c, 400, "before: that time is in the future");
		return;
	}
	if (!before && c->path[0] == '\0') {
		json_decref(b);
		http_error(c, 400, "a path is needed (or \"before\" for all)");
		return;
	}
	if ((j = vjob_new(c, id ? VJ_RESTORE_ID : before ? VJ_RESTORE_BEFORE :
	    VJ_RESTORE_TRASH)) == NULL) {
		json_decref(b);
		return;
	}
	if (id)
		(void)str_copy(j->id, sizeof(j->id), id);
	j->before = before ? t : 0;
	j->dry_run = dry && json_is_true(dry);
	json_decref(b);
	vjob_submit(c, j, plan_run, plan_done);
}
