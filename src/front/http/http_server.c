/*
 * http_server: HTTP/1.1 connections.
 *
 *   head ──parsed, authenticated──> route ──> body (small JSON) ──┐
 *     ^                                  └──> upload (streamed) ───┤
 *     │                                                            v
 *     └───── keep-alive, output drained ◄──── sending ◄──── busy (jobs)
 *
 * A connection reads one request at a time; a pipelined next request
 * waits in the input buffer.  Heads are capped at HTTP_HEAD_MAX (431) and
 * bodies other than uploads at HTTP_BODY_MAX (413).  A connection is never
 * freed inside its own callback or while a job refers to it: it is marked
 * closing and reaped when the last job returns.
 */
#include "front/http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>

#include "base/assert.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/fspath.h"
#include "base/log.h"
#include "base/work.h"
#include "front/guard.h"
#include "front/http/http_auth.h"
#include "front/ingest.h"
#include "net/sock.h"
#include "net/tls.h"

static void conn_read(struct bufferevent *, void *);
static void conn_write(struct bufferevent *, void *);
static void conn_event(struct bufferevent *, short, void *);
static void next_request(struct http_conn *);

const char *
http_status_text(int s)
{
	switch (s) {
	case 100:
		return ("Continue");
	case 200:
		return ("OK");
	case 201:
		return ("Created");
	case 204:
		return ("No Content");
	case 206:
		return ("Partial Content");
	case 207:
		return ("Multi-Status"); /* WebDAV */
	case 304:
		return ("Not Modified");
	case 308:
		return ("Resume Incomplete"); /* a PUT part kept */
	case 400:
		return ("Bad Request");
	case 401:
		return ("Unauthorized");
	case 403:
		return ("Forbidden");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 409:
		return ("Conflict");
	case 411:
		return ("Length Required");
	case 412:
		return ("Precondition Failed");
	case 413:
		return ("Content Too Large");
	case 414:
		return ("URI Too Long");
	case 415:
		return ("Unsupported Media Type");
	case 416:
		return ("Range Not Satisfiable");
	case 423:
		return ("Locked");
	case 424:
		return ("Failed Dependency");
	case 429:
		return ("Too Many Requests");
	case 431:
		return ("Request Header Fields Too Large");
	case 500:
		return ("Internal Server Error");
	case 501:
		return ("Not Implemented");
	case 502:
		return ("Bad Gateway");
	case 503:
		return ("Service Unavailable");
	case 505:
		return ("HTTP Version Not Supported");
	case 507:
		return ("Insufficient Storage");
	default:
		return ("Unknown");
	}
}

static void
conn_free(struct http_conn *c)
{
	struct http_server *srv = c->srv;

	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	if (c->ing)
		ingest_cancel(c->ing);
	if (c->bev)
		bufferevent_free(c->bev);
	fs_reader_release(&c->rd);
	http_conn_ext_free(c);
	buf_release(&c->body);
	buf_release(&c->head);
	event_free(c->reap);
	event_free(c->timer);
	event_free(c->delay);
	free(c);
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)fd;
	(void)what;
	/* Only a closed connection is reaped, and it has no socket left. */
	SHOAL_ASSERT(c->closing && c->bev == NULL && c->ing == NULL);
	if (c->jobs == 0)
		conn_free(c);
}

void
http_conn_close(struct http_conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	log_debug("http: %s closed: %s", c->peer, why);
	evtimer_del(c->timer);
	evtimer_del(c->delay);
	if (c->ing) {
		/* A body that did not arrive whole never replaces a file. */
		ingest_cancel(c->ing);
		c->ing = NULL;
	}
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	event_active(c->reap, 0, 0);
}

static void
arm_timer(struct http_conn *c, int seconds)
{
	struct timeval tv = {seconds, 0};

	evtimer_add(c->timer, &tv);
}

int
http_job(struct http_conn *c, void (*fn)(void *), void (*done)(void *),
	 void *arg)
{
	int rc;

	if ((rc = work_submit_client(c->srv->o.pool, fn, done, arg)) < 0)
		return (rc);
	c->jobs++;
	return (0);
}

int
http_job_more(struct http_conn *c, void (*fn)(void *), void (*done)(void *),
	      void *arg)
{
	if (work_submit(c->srv->o.pool, fn, done, arg) < 0)
		return (-ENOMEM);
	c->jobs++;
	return (0);
}

void
http_job_hold(struct http_conn *c)
{
	c->jobs++;
}

void
http_busy(struct http_conn *c)
{
	static const char body[] = "{\"error\": \"server busy, try again "
				   "later\"}\n";

	log_debug("http: %s 503 busy", c->peer);
	/* The body of the request, if any, is not read: start afresh. */
	c->close_after = true;
	if (c->srv->o.error) {
		c->srv->o.error(c, 503, "server busy, try again later");
		return;
	}
	http_respond(c, 503, "application/json", "Retry-After: 1\r\n", body,
		     sizeof(body) - 1);
}

bool
http_job_end(struct http_conn *c)
{
	SHOAL_ASSERT(c->jobs > 0);
	c->jobs--;
	if (c->closing) {
		if (c->jobs == 0)
			event_active(c->reap, 0, 0);
		return (false);
	}
	return (true);
}

void
http_conn_ext_free(struct http_conn *c)
{
	if (c->ext && c->ext_free)
		c->ext_free(c->ext);
	c->ext = NULL;
	c->ext_free = NULL;
	c->upload_more = NULL;
	c->stored = NULL;
}

/* The request goes to the server's own route, or to the REST API's. */
static void
route(struct http_conn *c)
{
	if (c->srv->o.route)
		c->srv->o.route(c);
	else
		http_route(c);
}

/* Responses */

static void
write_head(struct http_conn *c, int status, const char *ctype,
	   const char *extra, uint64_t len, bool has_body)
{
	char date[64];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!c->req.keep_alive)
		c->close_after = true;
	evbuffer_add_printf(
	    bufferevent_get_output(c->bev),
	    "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: shoal\r\n%s%s%s"
	    "Connection: %s\r\n",
	    status, http_status_text(status), date,
	    ctype ? "Content-Type: " : "", ctype ? ctype : "",
	    ctype ? "\r\n" : "", c->close_after ? "close" : "keep-alive");
	if (has_body)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
				    "Content-Length: %llu\r\n",
				    (unsigned long long)len);
	evbuffer_add_printf(bufferevent_get_output(c->bev), "%s\r\n",
			    extra ? extra : "");
	if (status >= 400)
		c->srv->errors++;
}

void
http_respond_head(struct http_conn *c, int status, const char *ctype,
		  const char *extra, uint64_t len)
{
	if (c->bev == NULL)
		return;
	c->st = CONN_SENDING;
	/* 304 and 204 carry no body and no length. */
	write_head(c, status, ctype, extra, len,
		   status != 304 && status != 204);
}

void
http_respond(struct http_conn *c, int status, const char *ctype,
	     const char *extra, const void *body, size_t len)
{
	if (c->bev == NULL)
		return;
	/* An unread request body would be taken for the next request. */
	if (c->st == CONN_HEAD || c->body_left > 0)
		c->close_after = true;
	http_respond_head(c, status, ctype, extra, len);
	if (body && len && c->req.method != HTTP_HEAD)
		evbuffer_add(bufferevent_get_output(c->bev), body, len);
	http_response_done(c);
}

void
http_respond_json(struct http_conn *c, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	size_t n = s ? strlen(s) : 0;

	if (s) {
		/* The terminating NUL becomes the final newline. */
		s[n] = '\n';
		n++;
	}
	http_respond(c, status, "application/json", NULL, s, n);
	free(s);
	json_decref(j);
}

void
http_error(struct http_conn *c, int status, const char *msg)
{
	log_debug("http: %s %d %s", c->peer, status, msg);
	if (c->srv->o.error) {
		c->srv->o.error(c, status, msg);
		return;
	}
	http_respond_json(c, status, json_pack("{s:s}", "error", msg));
}

void
http_response_done(struct http_conn *c)
{
	c->st = CONN_SENDING;
	if (c->bev && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_write(c->bev, c);
}

/* Reading requests */

static void
finish_request(struct http_conn *c)
{
	SHOAL_ASSERT(c->st == CONN_SENDING && !c->reading && !c->closing);
	fs_reader_release(&c->rd);
	if (c->close_after) {
		http_conn_close(c, "done");
		return;
	}
	/* Kept alive: nothing of the request it answered is left. */
	SHOAL_ASSERT(c->ing == NULL && c->rd.fd < 0 && c->rd.remote == NULL);
	c->st = CONN_HEAD;
	buf_reset(&c->body);
	c->body_left = 0;
	c->created = false;
	c->awaited = false;
	http_conn_ext_free(c);
	buf_reset(&c->head);
	arm_timer(c, (int)c->srv->o.cfg->http_idle_timeout);
	next_request(c);
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (c->st != CONN_SENDING || c->closing)
		return;
	if ((c->rd.fd >= 0 || c->rd.remote) && !fs_reader_done(&c->rd)) {
		http_send_more(c);
		return;
	}
	if (c->reading)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		finish_request(c);
}

/* A login job: copies of what it reads, slots for what it writes. */
struct login {
	struct http_conn *c; /* not touched by login_run */
	struct auth *auth;
	bool guest_ok;
	char user[AUTH_NAME_MAX + 1];
	char pass[AUTH_PASS_MAX + 1];
	bool admin;
	int rc;
};

static void
login_run(void *arg)
{
	struct login *l = arg;

	l->rc = auth_login(l->auth, l->guest_ok, l->user, l->pass, &l->admin);
	OPENSSL_cleanse(l->pass, sizeof(l->pass));
}

static void
respond_401(struct http_conn *c, const char *why)
{
	json_t *j = json_pack("{s:s}", "error", why);
	char *body = j ? json_dumps(j, 0) : NULL;

	http_respond(c, 401, "application/json",
		     "WWW-Authenticate: Basic realm=\"shoal\"\r\n", body,
		     body ? strlen(body) : 0);
	free(body);
	json_decref(j);
}

/* The failed-login delay is over: the 401 goes out. */
static void
on_login_delay(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	respond_401(arg, "wrong user or password");
}

/*
 * A failed login: counted by the guard, answered after the delay.  The
 * connection reads nothing meanwhile (it is busy), so guesses on one
 * keep-alive connection are no faster than on new ones.
 */
static void
login_failed(struct http_conn *c, const char *user)
{
	unsigned ms = c->srv->o.cfg->http_login_delay_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	guard_failed(c->srv->o.guard, "http", c->host, user, clock_mono_ms());
	c->st = CONN_BUSY;
	evtimer_add(c->delay, &tv);
}

static void
login_done(void *arg)
{
	struct login *l = arg;
	struct http_conn *c = l->c;
	int rc = l->rc;

	memcpy(c->user, l->user, sizeof(c->user));
	c->admin = rc == 0 && l->admin;
	free(l);
	if (!http_job_end(c))
		return;
	if (rc < 0) {
		login_failed(c, c->user);
		return;
	}
	guard_succeeded(c->srv->o.guard, c->user);
	route(c);
}

/* Refused before any password is looked at: the address or the account
 * is locked out. */
static void
respond_locked(struct http_conn *c, unsigned retry_s)
{
	char extra[64];

	(void)str_fmt(extra, sizeof(extra), "Retry-After: %u\r\n", retry_s);
	c->close_after = true;
	http_respond(
	    c, 429, "application/json", extra,
	    "{\"error\": \"too many failed logins; try again later\"}\n",
	    sizeof("{\"error\": \"too many failed logins; try again later\"}"
		   "\n") -
		1);
}

/* Checks the credentials; routes the request when they are good. */
static void
check_credentials(struct http_conn *c)
{
	const char *h = c->req.authorization;
	struct http_server *srv = c->srv;
	struct login *l;
	size_t n = strlen(srv->token);
	unsigned retry;

	if (strncmp(h, "Bearer ", 7) == 0) {
		if (strlen(h + 7) == n &&
		    CRYPTO_memcmp(h + 7, srv->token, n) == 0) {
			(void)str_copy(c->user, sizeof(c->user), "(token)");
			c->admin = true;
			route(c);
			return;
		}
		login_failed(c, NULL);
		return;
	}
	if (strncmp(h, "Basic ", 6) != 0) {
		respond_401(c, "authentication required");
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		http_error(c, 503, "out of memory");
		return;
	}
	l->c = c;
	l->auth = srv->o.auth;
	l->guest_ok = srv->guest_ok;
	if (http_basic_decode(h + 6, strlen(h + 6), l->user, sizeof(l->user),
			      l->pass, sizeof(l->pass)) < 0 ||
	    !auth_valid_name(l->user)) {
		OPENSSL_cleanse(l->pass, sizeof(l->pass));
		free(l);
		login_failed(c, NULL);
		return;
	}
	/* SECURITY: a locked-out address or account is refused before its
	 * password is looked at, the right one included. */
	if (guard_check(srv->o.guard, c->host, l->user, clock_mono_ms(),
			&retry) < 0) {
		OPENSSL_cleanse(l->pass, sizeof(l->pass));
		free(l);
		respond_locked(c, retry);
		return;
	}
	c->st = CONN_BUSY;
	if (http_job(c, login_run, login_done, l) == 0)
		return;
	OPENSSL_cleanse(l->pass, sizeof(l->pass));
	free(l);
	http_busy(c);
}

/* The header holds the password, barely encoded: wiped once read. */
static void
authenticate(struct http_conn *c)
{
	check_credentials(c);
	OPENSSL_cleanse(c->req.authorization, sizeof(c->req.authorization));
}

static void
next_request(struct http_conn *c)
{
	struct evbuffer *in;
	size_t len;
	int rc;

	if (c->closing || c->st != CONN_HEAD || c->bev == NULL)
		return;
	in = bufferevent_get_input(c->bev);
	if ((len = evbuffer_get_length(in)) == 0)
		return;
	if (len > HTTP_HEAD_MAX)
		len = HTTP_HEAD_MAX;
	rc = http_parse_head((const char *)evbuffer_pullup(in, (ev_ssize_t)len),
			     len, &c->req);
	if (rc == 0)
		return; /* more to come */
	c->srv->requests++;
	if (rc < 0) {
		c->req.keep_alive = false;
		http_error(c, -rc,
			   rc == -431	? "request head too large"
			   : rc == -505 ? "only HTTP/1.x"
			   : rc == -501 ? "unsupported transfer coding"
					: "malformed request");
		return;
	}
	/* A new request starts from nothing. */
	SHOAL_ASSERT(c->ing == NULL && c->rd.fd < 0 && c->rd.remote == NULL &&
		     !c->reading && c->ext == NULL);
	if (c->srv->o.route &&
	    buf_append(&c->head, evbuffer_pullup(in, (ev_ssize_t)rc),
		       (size_t)rc) < 0) {
		c->req.keep_alive = false;
		http_error(c, 431, "request head too large");
		return;
	}
	evbuffer_drain(in, (size_t)rc);
	evtimer_del(c->timer);
	c->close_after = !c->req.keep_alive;
	c->body_left =
	    c->req.content_length > 0 ? (uint64_t)c->req.content_length : 0;
	c->st = CONN_BUSY;
	/* A server with its own route checks its own credentials, unless
	 * it asked for the connections' login. */
	if (c->srv->o.route && !c->srv->o.route_login)
		route(c);
	else
		authenticate(c);
}

void
http_read_body(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in);

	c->st = CONN_BODY;
	if (n > c->body_left)
		n = (size_t)c->body_left;
	if (buf_append(&c->body, evbuffer_pullup(in, (ev_ssize_t)n), n) < 0) {
		http_error(c, 413, "body too large");
		return;
	}
	evbuffer_drain(in, n);
	c->body_left -= n;
	c->srv->bytes_in += n;
	if (c->body_left == 0) {
		c->st = CONN_BUSY;
		route(c);
	}
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	switch (c->st) {
	case CONN_HEAD:
		next_request(c);
		break;
	case CONN_BODY:
		http_read_body(c);
		break;
	case CONN_UPLOAD:
		if (c->upload_more)
			c->upload_more(c);
		else
			http_upload_more(c);
		break;
	default:
		/* The next request waits until this one is answered. */
		break;
	}
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		http_conn_close(c, what & BEV_EVENT_EOF ? "client left"
							: "connection error");
	else if (what & BEV_EVENT_TIMEOUT)
		http_conn_close(c, "stalled");
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_conn_close(arg, "idle");
}

static const char too_many[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Connection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 34\r\n\r\n{\"error\": \"too many connections\"}\n";

/* Open connections from host. */
static unsigned
conns_from(const struct http_server *srv, const char *host)
{
	const struct http_conn *c;
	unsigned n = 0;

	TAILQ_FOREACH(c, &srv->conns, entry)
	if (!c->closing && strcmp(c->host, host) == 0)
		n++;
	return (n);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	  int socklen, void *arg)
{
	struct http_server *srv = arg;
	const struct cfg *cf = srv->o.cfg;
	struct timeval stall = {300, 0};
	char host[ADDR_STR_MAX];
	struct http_conn *c;
	SSL *ssl = NULL;

	(void)l;
	(void)socklen;
	addr_host(sa, host, sizeof(host));
	if (!guard_admit(srv->nconns, conns_from(srv, host),
			 cf->http_max_connections, cf->http_max_per_address,
			 cf->http_reserve)) {
		log_info("http: %s refused: too many connections", host);
		/* Best effort, plain HTTP only: the socket is fresh. */
		if (!srv->tls && write(fd, too_many, sizeof(too_many) - 1) < 0)
			log_debug("http: refusal not sent");
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->srv = srv;
	fs_reader_init(&c->rd);
	sock_nodelay(fd);
	addr_str(sa, c->peer);
	(void)str_copy(c->host, sizeof(c->host), host);
	buf_init(&c->body, srv->o.body_max ? srv->o.body_max : HTTP_BODY_MAX);
	buf_init(&c->head, HTTP_HEAD_MAX);
	c->reap = event_new(srv->o.base, -1, 0, on_reap, c);
	c->timer = evtimer_new(srv->o.base, on_timer, c);
	c->delay = evtimer_new(srv->o.base, on_login_delay, c);
	if (srv->tls && (ssl = SSL_new(srv->tls)) != NULL) {
		c->bev = bufferevent_openssl_socket_new(
		    srv->o.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else if (!srv->tls)
		c->bev = bufferevent_socket_new(srv->o.base, fd,
						BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL || c->reap == NULL || c->timer == NULL ||
	    c->delay == NULL) {
		if (c->bev)
			bufferevent_free(c->bev);
		else {
			SSL_free(ssl);
			close(fd);
		}
		if (c->reap)
			event_free(c->reap);
		if (c->timer)
			event_free(c->timer);
		if (c->delay)
			event_free(c->delay);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	/* SECURITY: a head is read only up to its cap. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 4 << 20);
	bufferevent_set_timeouts(c->bev, &stall, &stall);
	bufferevent_set_max_single_read(c->bev, HTTP_FILE_CHUNK);
	bufferevent_set_max_single_write(c->bev, HTTP_FILE_CHUNK);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->st = CONN_HEAD;
	/* SECURITY: a whole head within the timeout, counted from the
	 * connection, however slowly its bytes come. */
	arm_timer(c, (int)cf->http_head_timeout);
}

struct http_server *
http_server_new(const struct http_opts *o, char *err, size_t errlen)
{
	struct http_server *srv;
	struct sockaddr_storage ss;
	const struct cfg *c = o->cfg;
	char cert[FS_PATH_MAX], key[FS_PATH_MAX];
	const char *name = o->name ? o->name : "http";
	const char *listen = o->listen ? o->listen : c->http_listen;
	const char *tls_mode = o->tls_mode ? o->tls_mode : c->http_tls;
	socklen_t sl;
	bool tls;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return (NULL);
	srv->o = *o;
	TAILQ_INIT(&srv->conns);
	if (str_copy(srv->token, sizeof(srv->token), o->token) < 0 ||
	    addr_parse(listen, &ss, &sl) < 0) {
		(void)str_fmt(err, errlen, "%s.listen: bad address '%s'", name,
			      listen);
		goto fail;
	}
	srv->guest_ok = auth_guest_allowed((struct sockaddr *)&ss);
	/* SECURITY: credentials never cross a network in the clear. */
	tls = strcmp(tls_mode, "yes") == 0 ||
	      (strcmp(tls_mode, "auto") == 0 &&
	       !addr_is_loopback((struct sockaddr *)&ss));
	if (tls) {
		if ((c->ftp_tls_cert[0] == '/'
			 ? str_copy(cert, sizeof(cert), c->ftp_tls_cert)
			 : str_fmt(cert, sizeof(cert), "%s/%s", o->priv_dir,
				   c->ftp_tls_cert)) < 0 ||
		    (c->ftp_tls_key[0] == '/'
			 ? str_copy(key, sizeof(key), c->ftp_tls_key)
			 : str_fmt(key, sizeof(key), "%s/%s", o->priv_dir,
				   c->ftp_tls_key)) < 0 ||
		    (srv->tls = tls_server_ctx(cert, key, err, errlen)) == NULL)
			goto fail;
	}
	srv->listener = evconnlistener_new_bind(
	    o->base, on_accept, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&ss, (int)sl);
	if (srv->listener == NULL) {
		(void)str_fmt(err, errlen, "%s: cannot listen on %s: %s", name,
			      listen, strerror(errno));
		goto fail;
	}
	sl = sizeof(ss);
	getsockname(evconnlistener_get_fd(srv->listener),
		    (struct sockaddr *)&ss, &sl);
	addr_str((struct sockaddr *)&ss, srv->addr);
	log_info("%s listening on %s (%s)", name, srv->addr,
		 srv->tls ? "https" : "http");
	return (srv);
fail:
	http_server_free(srv);
	return (NULL);
}

void
http_server_free(struct http_server *srv)
{
	struct http_conn *c, *t;

	if (srv == NULL)
		return;
	if (srv->listener)
		evconnlistener_free(srv->listener);
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = t) {
		t = TAILQ_NEXT(c, entry);
		http_conn_close(c, "shutting down");
	}
	SSL_CTX_free(srv->tls);
	OPENSSL_cleanse(srv->token, sizeof(srv->token));
	free(srv);
}

const char *
http_server_addr(const struct http_server *srv)
{
	return (srv->addr);
}

const char *
http_server_scheme(const struct http_server *srv)
{
	return (srv->tls ? "https" : "http");
}

void
http_server_counters(const struct http_server *srv, uint64_t *in, uint64_t *out,
		     uint64_t *requests, uint64_t *errors)
{
	*in = srv->bytes_in;
	*out = srv->bytes_out;
	*requests = srv->requests;
	*errors = srv->errors;
}
