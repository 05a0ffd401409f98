/*
 * ftp_server: the FTP listener.  It owns the TLS context and the list of
 * sessions, and enforces the session limits (guard_admit: all sessions,
 * per address, and a reserve for new addresses) before a session is made.
 */
#include "front/ftp/ftp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cfg.h"
#include "base/fspath.h"
#include "base/log.h"
#include "base/parse.h"
#include "front/guard.h"
#include "net/tls.h"

static const char too_many[] = "421 Too many connections.\r\n";

static unsigned
sessions_from(struct ftp_server *srv, const struct sockaddr *sa)
{
	struct ftp_session *s;
	unsigned n = 0;

	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (!s->closing &&
		    addr_same_host((struct sockaddr *)&s->peer, sa))
			n++;
	return (n);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct ftp_server *srv = arg;
	const struct cfg *c = srv->o.cfg;
	char who[ADDR_STR_MAX];

	(void)l;
	if (!guard_admit(srv->nsessions, sessions_from(srv, sa),
	    c->ftp_max_sessions, c->ftp_max_per_address, c->ftp_reserve)) {
		log_info("ftp: %s refused: too many connections",
		    addr_str(sa, who));
		/* Best effort: the socket is fresh, the reply fits. */
		if (write(fd, too_many, sizeof(too_many) - 1) < 0)
			log_debug("ftp: refusal not sent");
		close(fd);
		return;
	}
	ftp_session_accept(srv, fd, sa, socklen);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	/* Out of descriptors, usually: keep serving those we have. */
	log_warn("ftp: accept");
}

static int
parse_pasv_ports(struct ftp_server *srv, const char *s)
{
	struct cursor c;
	uint64_t lo, hi;

	if (s[0] == '\0')
		return (0);
	cur_init(&c, s, strlen(s));
	if (cur_u64(&c, 65535, &lo) < 0 || !cur_eat(&c, '-') ||
	    cur_u64(&c, 65535, &hi) < 0 || !cur_eof(&c) || lo < 1024 ||
	    hi < lo)
		return (-EINVAL);
	srv->pasv_lo = (unsigned)lo;
	srv->pasv_hi = (unsigned)hi;
	srv->pasv_next = (unsigned)lo;
	return (0);
}

struct ftp_server *
ftp_server_new(const struct ftp_server_opts *o, char *err, size_t errlen)
{
	const struct cfg *c = o->cfg;
	struct ftp_server *srv;
	struct sockaddr_storage ss;
	char cert[FS_PATH_MAX], key[FS_PATH_MAX];
	socklen_t sl;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return (NULL);
	srv->o = *o;
	TAILQ_INIT(&srv->sessions);
	TAILQ_INIT(&srv->grants);
	if (addr_parse(c->ftp_listen, &ss, &sl) < 0) {
		(void)str_fmt(err, errlen, "ftp.listen: bad address '%s'",
		    c->ftp_listen);
		goto fail;
	}
	if (ftp_require_tls(c, (struct sockaddr *)&ss, &srv->require_tls) <
	    0) {
		(void)str_fmt(err, errlen, "ftp.require_tls: '%s' is not "
		    "auto, yes or no", c->ftp_require_tls);
		goto fail;
	}
	srv->guest_ok = auth_guest_allowed((struct sockaddr *)&ss);
	if (parse_pasv_ports(srv, c->ftp_pasv_ports) < 0) {
		(void)str_fmt(err, errlen, "ftp.pasv_ports: '%s' is not "
		    "LOW-HIGH with 1024 <= LOW <= HIGH", c->ftp_pasv_ports);
		goto fail;
	}
	if (c->ftp_pasv_address[0]) {
		char tmp[96];

		if (str_fmt(tmp, sizeof(tmp), "%s:0", c->ftp_pasv_address) <
		    0 || addr_parse(tmp, &srv->pasv_addr, &sl) < 0 ||
		    srv->pasv_addr.ss_family != AF_INET) {
			(void)str_fmt(err, errlen, "ftp.pasv_address: '%s' is "
			    "not an IPv4 address", c->ftp_pasv_address);
			goto fail;
		}
		srv->has_pasv_addr = true;
	}
	if (c->ftp_tls) {
		if ((c->ftp_tls_cert[0] == '/' ? str_copy(cert, sizeof(cert),
		    c->ftp_tls_cert) : str_fmt(cert, sizeof(cert), "%s/%s",
		    o->priv_dir, c->ftp_tls_cert)) < 0 ||
		    (c->ftp_tls_key[0] == '/' ? str_copy(key, sizeof(key),
		    c->ftp_tls_key) : str_fmt(key, sizeof(key), "%s/%s",
		    o->priv_dir, c->ftp_tls_key)) < 0) {
			(void)str_fmt(err, errlen, "ftp: TLS path too long");
			goto fail;
		}
		if ((srv->tls = tls_server_ctx(cert, key, err, errlen)) ==
		    NULL)
			goto fail;
	}
	srv->listener = evconnlistener_new_bind(o->base, on_accept, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    511, (struct sockaddr *)&ss, (int)sl);
	if (srv->listener == NULL) {
		(void)str_fmt(err, errlen, "ftp: cannot listen on %s: %s",
		    c->ftp_listen, strerror(errno));
		goto fail;
	}
	evconnlistener_set_error_cb(srv->listener, on_accept_error);
	addr_str((struct sockaddr *)&ss, srv->addr);
	log_info("ftp listening on %s%s", srv->addr,
	    srv->tls ? " (explicit FTPS available)" : "");
	return (srv);
fail:
	ftp_server_free(srv);
	return (NULL);
}

void
ftp_server_free(struct ftp_server *srv)
{
	struct ftp_session *s, *t;

	if (srv == NULL)
		return;
	if (srv->listener)
		evconnlistener_free(srv->listener);
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = t) {
		t = TAILQ_NEXT(s, entry);
		ftp_session_close(s, "shutting down");
	}
	ftp_tls_grants_free(srv);
	SSL_CTX_free(srv->tls);
	free(srv);
}

const char *
ftp_server_addr(const struct ftp_server *srv)
{
	return (srv->addr);
}

void
ftp_server_counters(const struct ftp_server *srv, unsigned *sessions,
    uint64_t *bytes_in, uint64_t *bytes_out)
{
	*sessions = srv->nsessions;
	*bytes_in = srv->bytes_in;
	*bytes_out = srv->bytes_out;
}
