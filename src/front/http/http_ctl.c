/*
 * http_ctl: the control plane of the HTTP API (docs/API.md).
 *
 *   GET /v1/status, GET|POST /v1/peers, POST /v1/bye, POST /v1/send/PATH
 *   POST /v1/scrub                       a full scrub, now
 *   GET|POST|DELETE /v1/locks/PATH       (need a tracker)
 *   GET /v1/pins, POST|DELETE /v1/pins/PATH
 *   GET /v1/all[/PREFIX]                 the tracker's listing
 *   GET /metrics                         Prometheus text
 *
 * These talk to the node (struct http_ctl), not to the folder: the one
 * call that looks at a file (send) asks front/fsview.h on the pool.
 * Which of them need an admin is said in the table of routes (http_api.c).
 */
#include "front/http/http_int.h"
#include "front/http/http_query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/parse.h"

/* POST /v1/send/PATH */

static void
send_check_run(void *arg)
{
	struct http_pjob *j = arg;

	j->rc = fs_meta(j->store, j->path, &j->m);
}

static void
send_check_done(void *arg)
{
	struct http_pjob *j = arg;
	const struct http_ctl *ctl;
	struct http_conn *c;
	int n;

	if ((c = http_pjob_end(j)) == NULL)
		return;
	ctl = &c->srv->o.ctl;
	n = j->rc < 0	? j->rc
	    : ctl->send ? ctl->send(ctl->arg, c->path)
			: -ENOTSUP;
	if (n < 0)
		http_error_errno(c, n);
	else
		http_respond_json(
		    c, 200,
		    json_pack("{s:s, s:i}", "offered", c->path, "members", n));
	http_pjob_free(j);
}

void
http_route_send(struct http_conn *c)
{
	struct http_pjob *j;

	if (c->req.method != HTTP_POST)
		http_error(c, 405, "use POST");
	else if (http_target_path(c, "/v1/send/", false) == 0 &&
		 (j = http_pjob_new(c)) != NULL)
		http_pjob_submit(c, j, send_check_run, send_check_done);
}

/* GET /v1/status */

static void
status_done(void *req, json_t *j)
{
	http_respond_json(req, 200, j);
}

void
http_route_status(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;

	if (c->req.method != HTTP_GET)
		http_error(c, 405, "use GET");
	else
		ctl->status(ctl->arg, status_done, c);
}

/* GET /metrics */

static void
metrics(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	struct buf b;

	buf_init(&b, 1 << 20);
	if (buf_printf(
		&b,
		"# HELP shoal_http_requests_total HTTP requests served.\n"
		"# TYPE shoal_http_requests_total counter\n"
		"shoal_http_requests_total %llu\n"
		"# HELP shoal_http_errors_total HTTP answers with status >= "
		"400.\n"
		"# TYPE shoal_http_errors_total counter\n"
		"shoal_http_errors_total %llu\n"
		"# HELP shoal_bytes_in_total Bytes received, by front end.\n"
		"# TYPE shoal_bytes_in_total counter\n"
		"shoal_bytes_in_total{front=\"http\"} %llu\n"
		"# HELP shoal_bytes_out_total Bytes sent, by front end.\n"
		"# TYPE shoal_bytes_out_total counter\n"
		"shoal_bytes_out_total{front=\"http\"} %llu\n"
		"# HELP shoal_http_connections Open HTTP connections.\n"
		"# TYPE shoal_http_connections gauge\n"
		"shoal_http_connections %u\n",
		(unsigned long long)srv->requests,
		(unsigned long long)srv->errors,
		(unsigned long long)srv->bytes_in,
		(unsigned long long)srv->bytes_out, srv->nconns) < 0) {
		buf_release(&b);
		http_error(c, 500, "out of memory");
		return;
	}
	if (srv->o.ctl.metrics)
		srv->o.ctl.metrics(srv->o.ctl.arg, &b);
	http_respond(c, 200, "text/plain; version=0.0.4", NULL, b.data, b.len);
	buf_release(&b);
}

void
http_route_metrics(struct http_conn *c)
{
	if (c->req.method != HTTP_GET)
		http_error(c, 405, "use GET");
	else
		metrics(c);
}

/* Write locks and the tracker (docs/TRACKER.md) */

#define NO_TRACKER                                                             \
	"locking needs a tracker: start the node with "                        \
	"--tracker HOST:PORT"

static const char *
lock_owner(const struct http_conn *c)
{
	return (strcmp(c->user, "(token)") == 0 ? "(node)" : c->user);
}

static void
lock_done(void *req, int status, const char *msg, const struct twire_lock *l)
{
	struct http_conn *c = req;
	json_t *j;

	if (!http_job_end(c))
		return;
	if (status == 0) {
		if (l != NULL && l->held)
			http_respond_json(c, 200, twire_lock_json(l));
		else
			http_respond_json(c, 200,
					  json_pack("{s:s, s:b}", "path",
						    c->path, "released", 1));
		return;
	}
	switch (status) {
	case EBUSY:
	case EPERM:
		j = json_pack("{s:s}", "error", msg);
		if (l != NULL && l->held)
			json_object_set_new(j, "lock", twire_lock_json(l));
		http_respond_json(c, status == EBUSY ? 423 : 409, j);
		break;
	case ENOENT:
		http_error(c, 404, msg && msg[0] ? msg : "not locked");
		break;
	case EINVAL:
		http_error(c, 400, msg);
		break;
	case ETIMEDOUT:
		http_error(c, 504, msg);
		break;
	case ENOTCONN:
		http_error(c, 503, msg);
		break;
	default:
		http_error(c, 500, msg && msg[0] ? msg : strerror(status));
	}
}

void
http_route_locks(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	enum twire_lock_op op;
	json_t *b, *ttl, *all, *k;
	uint32_t ttl_s = 0;
	size_t i;
	int rc;

	if (c->req.method == HTTP_GET) {
		/* The table, or one path's lock, as this node knows them. */
		all = ctl->locks ? ctl->locks(ctl->arg) : NULL;
		if (strcmp(c->req.target, "/v1/locks") == 0)
			http_respond_json(c, 200,
					  all ? json_incref(all)
					      : json_pack("{s:[]}", "locks"));
		else if (all == NULL)
			http_error(c, 503, NO_TRACKER);
		else if (http_target_path(c, "/v1/locks/", false) == 0) {
			json_array_foreach(
			    json_object_get(all, "locks"), i,
			    k) if (strcmp(json_string_value(json_object_get(k,
									    "pa"
									    "t"
									    "h")),
					  c->path) == 0) break;
			if (i < json_array_size(json_object_get(all, "locks")))
				http_respond_json(c, 200, json_incref(k));
			else
				http_error(c, 404, "not locked");
		}
		json_decref(all);
		return;
	}
	if (strcmp(c->req.target, "/v1/locks") == 0) {
		http_error(c, 405, "use GET");
		return;
	}
	if (c->req.method != HTTP_POST && c->req.method != HTTP_DELETE) {
		http_error(c, 405, "use GET, POST or DELETE");
		return;
	}
	if (http_target_path(c, "/v1/locks/", false) < 0 || !http_need_body(c))
		return;
	op = c->req.method == HTTP_POST ? TWIRE_LOCK : TWIRE_UNLOCK;
	if (op == TWIRE_LOCK && c->body.len > 0) {
		b = http_body_json(c);
		ttl = json_object_get(b, "ttl");
		if (b == NULL ||
		    (ttl != NULL &&
		     (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
		      json_integer_value(ttl) > 86400))) {
			json_decref(b);
			http_error(c, 400,
				   "expected {\"ttl\": SECONDS} "
				   "(1 to 86400)");
			return;
		}
		ttl_s = ttl ? (uint32_t)json_integer_value(ttl) : 0;
		json_decref(b);
	}
	rc = ctl->lock == NULL ? -ENOSYS
			       : ctl->lock(ctl->arg, op, c->path, lock_owner(c),
					   ttl_s, lock_done, c);
	if (rc == 0)
		c->jobs++; /* lock_done ends it */
	else
		http_error(c, 503,
			   rc == -ENOSYS ? NO_TRACKER
					 : "the tracker is unreachable");
}

static void
passthrough_done(void *req, int status, const char *json, size_t len)
{
	struct http_conn *c = req;

	if (!http_job_end(c))
		return;
	http_respond(c, status, "application/json", NULL, json, len);
}

/* GET /v1/all[/PREFIX]?after=PATH&limit=N: the tracker's listing. */
void
http_route_all(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	char after[PATH_LEN_MAX + 1] = "";
	struct http_query q;
	const char *v;
	uint64_t limit = 0;
	int rc;

	if (c->req.method != HTTP_GET) {
		http_error(c, 405, "use GET");
		return;
	}
	if (http_target_path(c,
			     strncmp(c->req.target, "/v1/all/", 8) == 0
				 ? "/v1/all/"
				 : "/v1/all",
			     true) < 0)
		return;
	if ((rc = http_query_target(&q, c->req.target)) < 0) {
		http_error(c, 400, http_query_error(rc));
		return;
	}
	if ((v = http_query_get(&q, "after")) != NULL && v[0] != '\0' &&
	    (path_resolve("", v, strlen(v), after, sizeof(after)) < 0 ||
	    strstr(v, "..") != NULL)) {
		http_error(c, 400, "bad 'after' path");
		return;
	}
	if ((v = http_query_get(&q, "limit")) != NULL &&
	    span_u64(span_str(v), UINT64_MAX, &limit) < 0) {
		http_error(c, 400, "bad 'limit': a number");
		return;
	}
	rc = ctl->tracker_query == NULL
		 ? -ENOSYS
		 : ctl->tracker_query(ctl->arg, TWIRE_Q_FILES, c->path, after,
				      (uint32_t)(limit > 5000 ? 5000 : limit),
				      passthrough_done, c);
	if (rc == 0)
		c->jobs++;
	else if (rc == -ENOSYS && ctl->catalog) /* no tracker: our view */
		http_respond_json(
		    c, 200,
		    ctl->catalog(ctl->arg, c->path, after,
				 (unsigned)(limit > 5000 ? 5000 : limit)));
	else
		http_error(c, 503, "the tracker is unreachable");
}

/* GET /v1/pins, POST and DELETE /v1/pins/PATH */
static void
pin_done(void *req, int rc)
{
	struct http_conn *c = req;

	if (!http_job_end(c))
		return;
	if (rc < 0) {
		http_error_errno(c, rc);
		return;
	}
	http_respond_json(c, 200,
			  json_pack("{s:s, s:b}", "path", c->path, "pinned",
				    c->req.method == HTTP_POST));
}

void
http_route_pins(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	int rc;

	if (ctl->pin == NULL) {
		http_error(c, 501, "pins are not available");
		return;
	}
	if (strcmp(c->req.target, "/v1/pins") == 0) {
		if (c->req.method != HTTP_GET)
			http_error(c, 405, "use GET");
		else
			http_respond_json(c, 200, ctl->pins(ctl->arg));
		return;
	}
	if (c->req.method != HTTP_POST && c->req.method != HTTP_DELETE) {
		http_error(c, 405, "use POST or DELETE");
		return;
	}
	if (http_target_path(c, "/v1/pins/", false) < 0 || !http_need_body(c))
		return;
	if ((rc = ctl->pin(ctl->arg, c->path, c->req.method == HTTP_POST,
			   pin_done, c)) < 0)
		http_error_errno(c, rc);
	else
		c->jobs++;
}

/*
 * GET /v1/peers: the members, best first; with a tracker, each gets the
 * tracker's file count and heartbeat age, and nodes the tracker knows
 * that are not members yet are listed too.
 */
static void
peers_done(void *req, int status, const char *json, size_t len)
{
	struct http_conn *c = req;
	const struct http_ctl *ctl = &c->srv->o.ctl;
	json_t *members = ctl->peers(ctl->arg), *t, *nodes, *tn, *m = NULL;
	char self[2 * NODE_ID_LEN + 1];
	json_error_t e;
	size_t i, k;

	if (!http_job_end(c)) {
		json_decref(members);
		return;
	}
	t = status == 200 ? json_loadb(json, len, 0, &e) : NULL;
	nodes = json_object_get(t, "nodes");
	str_hex(fs_node_id(c->srv->o.store), NODE_ID_LEN, self);
	json_array_foreach(nodes, i, tn)
	{
		const char *id = json_string_value(json_object_get(tn, "id"));

		json_array_foreach(
		    members, k,
		    m) if (id && json_string_value(json_object_get(m, "id")) &&
			   strcmp(json_string_value(json_object_get(m, "id")),
				  id) == 0) break;
		if (k == json_array_size(members)) {
			m = json_pack("{s:n, s:O, s:O, s:s}", "rank", "id",
				      json_object_get(tn, "id"), "address",
				      json_object_get(tn, "peer_addr"), "state",
				      id && strcmp(id, self) == 0 ? "self"
								  : "tracker");
			json_array_append_new(members, m);
		}
		json_object_set(m, "files", json_object_get(tn, "files"));
		json_object_set(m, "last_heartbeat_s",
				json_object_get(tn, "last_heartbeat_s"));
	}
	json_decref(t);
	http_respond_json(c, 200, members);
}

static void
peers(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;

	if (ctl->tracker_query != NULL &&
	    ctl->tracker_query(ctl->arg, TWIRE_Q_NODES, "", "", 0, peers_done,
			       c) == 0) {
		c->jobs++;
		return;
	}
	http_respond_json(c, 200, ctl->peers(ctl->arg));
}

void
http_route_peers(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	char err[256] = "";
	const char *a;
	json_t *b;

	if (c->req.method == HTTP_GET)
		peers(c);
	else if (c->req.method == HTTP_POST) {
		if (!http_need_body(c))
			return;
		b = http_body_json(c);
		a = json_string_value(json_object_get(b, "address"));
		if (a == NULL)
			http_error(c, 400,
				   "expected {\"address\": "
				   "\"HOST:PORT\"}");
		else if (ctl->add(ctl->arg, a, err, sizeof(err)) < 0)
			http_error(c, 400, err);
		else
			http_respond_json(c, 200,
					  json_pack("{s:s}", "added", a));
		json_decref(b);
	} else
		http_error(c, 405, "use GET or POST");
}

void
http_route_bye(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;

	if (c->req.method != HTTP_POST)
		http_error(c, 405, "use POST");
	else {
		http_respond_json(c, 200, json_pack("{s:b}", "leaving", 1));
		ctl->bye(ctl->arg);
	}
}

void
http_route_scrub(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;

	if (c->req.method != HTTP_POST)
		http_error(c, 405, "use POST");
	else if (ctl->scrub == NULL)
		http_error(c, 501, "scrubbing is not available");
	else
		http_respond_json(c, 200, ctl->scrub(ctl->arg));
}
