/*
 * http: routes of the control API on libevent's evhttp.
 *
 *   GET  /v1/status   this node: id, members, files, agreement
 *   GET  /v1/peers    members in priority order
 *   POST /v1/peers    {"address": "HOST:PORT"}: add a member (remembered)
 *   POST /v1/bye      leave the cluster and stop
 */
#include "front/http/http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/log.h"
#include "net/addr.h"

#define HTTP_BODY_MAX		(64 * 1024)
#define HTTP_HEADERS_MAX	(16 * 1024)

struct http_server {
	struct evhttp		*http;
	struct http_ctl		 ctl;
	char			 token[128];
	char			 addr[ADDR_STR_MAX];
};

static void
reply_json(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer *out = evbuffer_new();
	char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

	if (out == NULL) {
		evhttp_send_error(req, 500, NULL);
		goto out;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	if (s)
		evbuffer_add_printf(out, "%s\n", s);
	evhttp_send_reply(req, code, code < 300 ? "OK" : "Error", out);
	evbuffer_free(out);
out:
	free(s);
	json_decref(j);
}

static void
reply_error(struct evhttp_request *req, int code, const char *msg)
{
	reply_json(req, code, json_pack("{s:s}", "error", msg));
}

static bool
authorized(struct http_server *hs, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization");
	size_t n = strlen(hs->token);

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return (false);
	h += 7;
	return (strlen(h) == n && CRYPTO_memcmp(h, hs->token, n) == 0);
}

/* The request body as JSON (NULL if absent or not JSON). */
static json_t *
body_json(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	json_error_t e;

	if (n == 0 || n > HTTP_BODY_MAX)
		return (NULL);
	return (json_loadb((const char *)evbuffer_pullup(in, (ev_ssize_t)n),
	    n, 0, &e));
}

static void
status_done(void *req, json_t *j)
{
	reply_json(req, 200, j);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct http_server *hs = arg;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const char *uri = evhttp_request_get_uri(req);
	char err[256] = "";
	json_t *body;
	const char *a;

	if (!authorized(hs, req)) {
		reply_error(req, 401, "missing or wrong API token");
		return;
	}
	if (strcmp(uri, "/v1/status") == 0) {
		if (m != EVHTTP_REQ_GET)
			reply_error(req, 405, "use GET");
		else
			hs->ctl.status(hs->ctl.arg, status_done, req);
	} else if (strcmp(uri, "/v1/peers") == 0) {
		if (m == EVHTTP_REQ_GET)
			reply_json(req, 200, hs->ctl.peers(hs->ctl.arg));
		else if (m == EVHTTP_REQ_POST) {
			body = body_json(req);
			a = body ? json_string_value(json_object_get(body,
			    "address")) : NULL;
			if (a == NULL)
				reply_error(req, 400, "expected {\"address\": "
				    "\"HOST:PORT\"}");
			else if (hs->ctl.add(hs->ctl.arg, a, err,
			    sizeof(err)) < 0)
				reply_error(req, 400, err);
			else
				reply_json(req, 200, json_pack("{s:s}",
				    "added", a));
			json_decref(body);
		} else
			reply_error(req, 405, "use GET or POST");
	} else if (strcmp(uri, "/v1/bye") == 0) {
		if (m != EVHTTP_REQ_POST)
			reply_error(req, 405, "use POST");
		else {
			reply_json(req, 200, json_pack("{s:b}", "leaving", 1));
			hs->ctl.bye(hs->ctl.arg);
		}
	} else
		reply_error(req, 404, "no such endpoint");
}

struct http_server *
http_server_new(struct event_base *base, const char *listen,
    const char *token, const struct http_ctl *ctl, char *err, size_t errlen)
{
	struct http_server *hs;
	struct sockaddr_storage ss;
	struct evhttp_bound_socket *bs;
	char host[ADDR_STR_MAX];
	socklen_t sl;

	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return (NULL);
	hs->ctl = *ctl;
	if (str_copy(hs->token, sizeof(hs->token), token) < 0 ||
	    addr_parse(listen, &ss, &sl) < 0) {
		(void)str_fmt(err, errlen, "http.listen: bad address '%s'",
		    listen);
		goto fail;
	}
	if ((hs->http = evhttp_new(base)) == NULL)
		goto fail;
	evhttp_set_max_body_size(hs->http, HTTP_BODY_MAX);
	evhttp_set_max_headers_size(hs->http, HTTP_HEADERS_MAX);
	evhttp_set_timeout(hs->http, 30);
	evhttp_set_allowed_methods(hs->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(hs->http, on_request, hs);
	addr_host((struct sockaddr *)&ss, host, sizeof(host));
	bs = evhttp_bind_socket_with_handle(hs->http, host,
	    (ev_uint16_t)addr_port((struct sockaddr *)&ss));
	if (bs == NULL) {
		(void)str_fmt(err, errlen, "http: cannot listen on %s",
		    listen);
		goto fail;
	}
	sl = sizeof(ss);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sl);
	addr_str((struct sockaddr *)&ss, hs->addr);
	log_info("http listening on %s", hs->addr);
	return (hs);
fail:
	http_server_free(hs);
	return (NULL);
}

void
http_server_free(struct http_server *hs)
{
	if (hs == NULL)
		return;
	if (hs->http)
		evhttp_free(hs->http);
	OPENSSL_cleanse(hs->token, sizeof(hs->token));
	free(hs);
}

const char *
http_server_addr(const struct http_server *hs)
{
	return (hs->addr);
}
