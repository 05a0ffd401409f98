/*
 * tracker_http: the tracker's read-only JSON API (docs/TRACKER.md), on
 * libevent's evhttp.  Nothing here changes state, so it needs no
 * authentication; it listens on loopback unless told otherwise.
 *
 *   GET /v1/nodes   GET /v1/locks   GET /v1/list[/PREFIX]   GET /v1/files/PATH
 */
#include "tracker/tracker_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/parse.h"
#include "front/http/http_query.h"

static void
reply(struct evhttp_request *req, int status, const char *json)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evbuffer_add_printf(out, "%s\n", json);
	evhttp_send_reply(req, status, status == 200 ? "OK" : status == 404 ?
	    "Not Found" : status == 400 ? "Bad Request" : "Error", out);
	evbuffer_free(out);
}

static void
reply_json(struct evhttp_request *req, int status, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	reply(req, text ? status : 500, text ? text : "{}");
	free(text);
}

static void
reply_error(struct evhttp_request *req, int status, const char *msg)
{
	reply_json(req, status, json_pack("{s:s}", "error", msg));
}

static void
query_done(void *arg, int status, char *json)
{
	struct evhttp_request *req = arg;

	reply(req, status, json ? json : "{\"error\": \"the tracker is busy\"}");
	free(json);
}

/* The decoded, normalised path after prefix; -1 (answered) if bad. */
static int
path_after(struct evhttp_request *req, const char *upath, const char *prefix,
    char out[PATH_LEN_MAX + 1])
{
	char *dec;
	size_t len;
	int rc = 0;

	upath += strlen(prefix);
	while (*upath == '/')
		upath++;
	if ((dec = evhttp_uridecode(upath, 0, &len)) == NULL)
		return (-1);
	if (strlen(dec) != len || str_copy(out, PATH_LEN_MAX + 1, dec) < 0 ||
	    !twire_path_ok(out, true)) {
		reply_error(req, 400, "bad path");
		rc = -1;
	}
	free(dec);
	return (rc);
}

static void
route(struct evhttp_request *req, void *arg)
{
	struct tracker *tr = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *upath = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	char path[PATH_LEN_MAX + 1], after[PATH_LEN_MAX + 1] = "";
	struct http_query q;
	const char *v;
	uint64_t limit = 0;
	int rc;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		reply_error(req, 405, "read-only: use GET");
		return;
	}
	if (upath == NULL)
		upath = "/";
	if (strcmp(upath, "/v1/nodes") == 0) {
		reply_json(req, 200, tracker_nodes_json(tr, UINT_MAX));
		return;
	}
	if (strcmp(upath, "/v1/locks") == 0) {
		reply_json(req, 200, tracker_locks_json(tr));
		return;
	}
	if (strncmp(upath, "/v1/files/", 10) == 0) {
		if (path_after(req, upath, "/v1/files/", path) < 0)
			return;
		if (path[0] == '\0') {
			reply_error(req, 400, "a path is needed");
			return;
		}
		tdb_query(tr, TWIRE_Q_FILE, path, "", 1, query_done, req);
		return;
	}
	if (strcmp(upath, "/v1/list") == 0 ||
	    strncmp(upath, "/v1/list/", 9) == 0) {
		if (path_after(req, upath, "/v1/list", path) < 0)
			return;
		q.n = 0;
		if (query != NULL &&
		    (rc = http_query_parse(&q, query, strlen(query))) < 0) {
			reply_error(req, 400, http_query_error(rc));
			return;
		}
		if ((v = http_query_get(&q, "after")) != NULL &&
		    (str_copy(after, sizeof(after), v) < 0 ||
		    !twire_path_ok(after, true))) {
			reply_error(req, 400, "bad 'after' path");
			return;
		}
		if ((v = http_query_get(&q, "limit")) != NULL &&
		    span_u64(span_str(v), UINT64_MAX, &limit) < 0) {
			reply_error(req, 400, "bad 'limit': a number");
			return;
		}
		tdb_query(tr, TWIRE_Q_FILES, path, after,
		    (uint32_t)(limit > UINT32_MAX ? UINT32_MAX : limit),
		    query_done, req);
		return;
	}
	reply_error(req, 404, "no such endpoint (see docs/TRACKER.md)");
}

int
tracker_http_start(struct tracker *tr, const char *listen, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	struct evconnlistener *l;
	socklen_t sl;

	if (addr_parse(listen, &ss, &sl) < 0) {
		(void)str_fmt(err, errlen, "bad --http address '%s'", listen);
		return (-1);
	}
	/* SECURITY: the listing names every file of the cluster. */
	if (!addr_is_loopback((struct sockaddr *)&ss))
		log_warnx("tracker: the read-only JSON API on %s is open to "
		    "anyone who can reach it (it needs no password)", listen);
	if ((tr->http = evhttp_new(tr->base)) == NULL)
		return (-1);
	evhttp_set_max_headers_size(tr->http, 16384);
	evhttp_set_max_body_size(tr->http, 0);
	evhttp_set_timeout(tr->http, 30);
	evhttp_set_allowed_methods(tr->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(tr->http, route, tr);
	l = evconnlistener_new_bind(tr->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&ss, (int)sl);
	if (l == NULL || evhttp_bind_listener(tr->http, l) == NULL) {
		(void)str_fmt(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(errno));
		if (l)
			evconnlistener_free(l);
		return (-1);
	}
	return (0);
}

void
tracker_http_stop(struct tracker *tr)
{
	if (tr->http)
		evhttp_free(tr->http);
	tr->http = NULL;
}
