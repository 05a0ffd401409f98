/*
 * ftp_session: one control connection.
 *
 *   accept ──> greeted ──USER/PASS ok──> logged in ──QUIT──> closing
 *                 │  \__3 failures / login timeout__/            │
 *                 └──AUTH TLS: the control bufferevent is wrapped  │
 *                    in a TLS filter (any state before login)      v
 *                                                      reaped when no job
 *                                                      refers to it
 *
 * Lines are read with a cap of FTP_LINE_MAX: a longer line is answered
 * with 500 and the connection closes, without buffering more of it.
 *
 *   socket ──> bev input ──ftp_telnet_filter──> lines ──> one command
 *
 * Urgent data stays in band (SO_OOBINLINE): ftplib sends ABOR's last byte
 * urgent, RFC 959 clients the Synch (IAC DM).  The filter runs even while
 * a command waits for a transfer to end, so a Synch discards what was
 * typed before it and the ABOR behind it is answered at once.
 */
#include "front/ftp/ftp_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/work.h"
#include "front/guard.h"
#include "net/sock.h"
#include "net/tls.h"

static void session_read(struct bufferevent *, void *);
static void session_write(struct bufferevent *, void *);
static void session_event(struct bufferevent *, short, void *);
static void process_lines(struct ftp_session *);


void
ftp_session_arm_timer(struct ftp_session *s)
{
	const struct cfg *c = s->srv->o.cfg;
	struct timeval tv = { 0, 0 };

	tv.tv_sec = s->logged_in ? c->ftp_idle_timeout : c->ftp_login_timeout;
	/* SECURITY: the time to log in counts from the connection, not from
	 * the last command: NOOPs cannot hold a session open unlogged. */
	if (!s->logged_in) {
		uint64_t used = (clock_mono_ms() - s->accepted_ms) / 1000;

		tv.tv_sec = used < (uint64_t)tv.tv_sec ? tv.tv_sec -
		    (time_t)used : 0;
	}
	/* A client that asked for a transfer has this long to connect. */
	if (s->xfer && !s->data.ready && tv.tv_sec > 30)
		tv.tv_sec = 30;
	if (s->close_on_flush)
		return;
	evtimer_add(s->timer, &tv);
}

static void
session_free(struct ftp_session *s)
{
	struct ftp_server *srv = s->srv;

	TAILQ_REMOVE(&srv->sessions, s, entry);
	srv->nsessions--;
	ftp_tls_grant_closed(s);
	ftp_data_close(s);
	if (s->xfer)
		ftp_xfer_free(s->xfer);
	ftp_prefetch_free(s);
	if (s->bev)
		bufferevent_free(s->bev);
	evbuffer_free(s->lines);
	event_free(s->timer);
	event_free(s->delay);
	event_free(s->reap);
	if (s->pass) {
		OPENSSL_cleanse(s->pass, strlen(s->pass));
		free(s->pass);
	}
	free(s->rnfr);
	free(s->size_told);
	free(s);
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;

	(void)fd;
	(void)what;
	if (s->jobs == 0)
		session_free(s);
}

void
ftp_session_close(struct ftp_session *s, const char *why)
{
	if (s->closing)
		return;
	s->closing = true;
	log_info("ftp: %s closed: %s", s->peer_str, why);
	evtimer_del(s->timer);
	evtimer_del(s->delay);
	if (s->xfer)
		ftp_xfer_abort(s);
	ftp_data_close(s);
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	event_active(s->reap, 0, 0);
}

/*
 * True when every queued reply reached the socket.  Over TLS the control
 * bufferevent is a filter: its bytes sit in the underlying one until sent.
 */
static bool
flushed(struct ftp_session *s)
{
	struct bufferevent *under = bufferevent_get_underlying(s->bev);

	return (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0 &&
	    (under == NULL ||
	    evbuffer_get_length(bufferevent_get_output(under)) == 0));
}

/* Sends what is queued, then closes (polled briefly, see on_timer). */
static void
close_after_flush(struct ftp_session *s)
{
	struct timeval tv = { 0, 20 * 1000 };

	s->close_on_flush = true;
	s->flush_deadline = clock_mono_ms() + 5000;
	bufferevent_disable(s->bev, EV_READ);
	if (flushed(s))
		ftp_session_close(s, "done");
	else
		evtimer_add(s->timer, &tv);
}

void
ftp_reply_raw(struct ftp_session *s, const char *text, size_t len)
{
	if (s->closing || s->bev == NULL)
		return;
	log_debug("ftp: %s <- %.*s", s->peer_str,
	    (int)(len > 2 ? len - 2 : len), text);
	bufferevent_write(s->bev, text, len);
}

void
ftp_reply(struct ftp_session *s, int code, const char *fmt, ...)
{
	char line[FTP_QUOTED_MAX + 256];
	va_list ap;
	int n, m;

	n = snprintf(line, sizeof(line), "%03d ", code);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	ftp_reply_raw(s, line, (size_t)n);
}

const char *
ftp_quote_path(const char *path, char *out)
{
	size_t o = 0;

	out[o++] = '/';
	for (; *path && o + 3 <= FTP_QUOTED_MAX; path++) {
		out[o++] = *path;
		if (*path == '"')
			out[o++] = '"';
	}
	out[o] = '\0';
	return (out);
}

/* The one fs_err -> reply table of the FTP front end. */
static const struct {
	int		 code;
	const char	*text;
} fs_replies[FS_ERR_COUNT] = {
	[FS_OK] = { 250, "done" },
	[FS_ENOENT] = { 550, "no such file or directory" },
	[FS_NOTDIR] = { 550, "not a directory" },
	[FS_ISDIR] = { 550, "is a directory" },
	[FS_EXISTS] = { 550, "already exists" },
	[FS_NOTEMPTY] = { 550, "directory not empty" },
	[FS_NAMETOOLONG] = { 553, "name too long" },
	[FS_INVALID] = { 550, "not allowed" },
	[FS_NOSPACE] = { 452, "insufficient storage space" },
	[FS_TOOBIG] = { 552, "file too large" },
	[FS_DENIED] = { 550, "permission denied" },
	[FS_BUSY] = { 450, "busy, try again" },
	[FS_LOCKED] = { 450, "locked" },
	[FS_STALE] = { 450, "changed meanwhile, try again" },
	[FS_UNAVAILABLE] = { 450, "no live copy is reachable" },
	[FS_NOMEM] = { 451, "out of memory" },
	[FS_IO] = { 451, "local error in processing" },
};

int
ftp_reply_errno(struct ftp_session *s, int err, const char *what)
{
	enum fs_err e = fs_err_of(err);

	ftp_reply(s, fs_replies[e].code, "%s: %s.", what, fs_replies[e].text);
	return (err);
}

int
ftp_resolve(struct ftp_session *s, const struct ftp_request *req, char *out,
    size_t outsize)
{
	int rc = path_resolve(s->cwd, req->arg.p, req->arg.len, out, outsize);

	if (rc == -EINVAL)
		ftp_reply(s, 501, "Bad characters in path.");
	else if (rc == -ENAMETOOLONG)
		ftp_reply(s, 553, "Path too long.");
	else if (rc < 0)
		/* SECURITY: the private folder does not exist for clients. */
		ftp_reply(s, 550, "No such file or directory.");
	return (rc);
}

int
ftp_job(struct ftp_session *s, void (*fn)(void *), void (*done)(void *),
    void *arg)
{
	int rc;

	if ((rc = work_submit_client(s->srv->o.pool, fn, done, arg)) < 0) {
		/* The pool's queue is full: this command is refused, the
		 * session stays (450); a session not logged in yet has
		 * nothing else to do and is told so (421). */
		if (rc == -EBUSY && s->logged_in) {
			ftp_reply(s, 450, "Server busy, try again later.");
		} else if (rc == -EBUSY) {
			ftp_reply(s, 421, "Server busy, try again later.");
			close_after_flush(s);
		} else
			ftp_reply(s, 451, "Server busy, try again.");
		return (rc);
	}
	s->jobs++;
	s->busy = true;
	return (0);
}

bool
ftp_job_release(struct ftp_session *s)
{
	s->jobs--;
	if (s->closing) {
		if (s->jobs == 0)
			event_active(s->reap, 0, 0);
		return (false);
	}
	return (true);
}

void
ftp_session_resume(struct ftp_session *s)
{
	if (s->closing)
		return;
	s->busy = false;
	if (s->xfer == NULL)
		ftp_session_arm_timer(s);
	process_lines(s);
}

/* Login */

int
ftp_require_tls(const struct cfg *c, const struct sockaddr *sa, bool *on)
{
	if (strcmp(c->ftp_require_tls, "yes") == 0)
		*on = true;
	else if (strcmp(c->ftp_require_tls, "no") == 0)
		*on = false;
	else if (strcmp(c->ftp_require_tls, "auto") == 0)
		*on = !addr_is_loopback(sa);
	else
		return (-EINVAL);
	return (0);
}

/* SECURITY: no password crosses a network in the clear (RFC 4217 5.1). */
static bool
refuse_plaintext(struct ftp_session *s)
{
	if (s->tls || !s->srv->require_tls)
		return (false);
	ftp_reply(s, 530, "This server requires AUTH TLS before login.");
	return (true);
}

struct login_job {
	struct ftp_session	*s;	/* not touched by login_run */
	struct auth		*auth;
	bool			 guest_ok;
	bool			 admin;
	char			 user[AUTH_NAME_MAX + 1];
	char			 pass[AUTH_PASS_MAX + 1];
	int			 rc;
};

static void
login_run(void *arg)
{
	struct login_job *j = arg;

	j->rc = auth_login(j->auth, j->guest_ok, j->user, j->pass, &j->admin);
	OPENSSL_cleanse(j->pass, sizeof(j->pass));
}

static void
on_login_delay(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;

	(void)fd;
	(void)what;
	if (s->failed >= FTP_MAX_FAILED) {
		ftp_reply(s, 421, "Too many failed logins.");
		close_after_flush(s);
		return;
	}
	ftp_reply(s, 530, "Login incorrect.");
	ftp_session_resume(s);
}

static void
login_done(void *arg)
{
	struct login_job *j = arg;
	struct ftp_session *s = j->s;
	struct timeval tv;
	unsigned ms;
	int rc = j->rc;

	free(j);
	if (!ftp_job_release(s))
		return;
	if (rc == 0) {
		s->logged_in = true;
		s->failed = 0;
		guard_succeeded(s->srv->o.guard, s->user);
		ftp_tls_grant_login(s);
		log_info("ftp: %s logged in as %s", s->peer_str, s->user);
		ftp_reply(s, 230, "Login successful.");
		ftp_session_resume(s);
		return;
	}
	s->failed++;
	{
		char host[ADDR_STR_MAX];

		guard_failed(s->srv->o.guard, "ftp", addr_host((struct sockaddr *)
		    &s->peer, host, sizeof(host)), s->user, clock_mono_ms());
	}
	/* SECURITY: the same reply and delay for unknown and known users. */
	ms = s->srv->o.cfg->ftp_login_delay_ms;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->delay, &tv);
}

static void
cmd_user(struct ftp_session *s, const struct ftp_request *req)
{
	if (s->logged_in) {
		ftp_reply(s, 530, "Already logged in.");
		return;
	}
	if (refuse_plaintext(s))
		return;
	if (req->arg.len == 0 || req->arg.len > AUTH_NAME_MAX) {
		/* Unknown names get the same path as known ones. */
		s->user[0] = '\0';
	} else {
		memcpy(s->user, req->arg.p, req->arg.len);
		s->user[req->arg.len] = '\0';
	}
	s->user_given = true;
	ftp_reply(s, 331, "Please specify the password.");
}

static void
cmd_pass(struct ftp_session *s, const struct ftp_request *req)
{
	struct login_job *j;

	if (s->logged_in) {
		ftp_reply(s, 230, "Already logged in.");
		return;
	}
	if (refuse_plaintext(s))
		return;
	if (!s->user_given) {
		ftp_reply(s, 503, "Login with USER first.");
		return;
	}
	s->user_given = false;
	{
		char host[ADDR_STR_MAX];
		unsigned retry;

		/* SECURITY: a locked-out address or account is refused before
		 * its password is looked at. */
		if (guard_check(s->srv->o.guard, addr_host((struct sockaddr *)
		    &s->peer, host, sizeof(host)), s->user, clock_mono_ms(),
		    &retry) < 0) {
			ftp_reply(s, 421, "Too many failed logins; try again "
			    "later.");
			close_after_flush(s);
			return;
		}
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		ftp_reply(s, 451, "Out of memory.");
		return;
	}
	j->s = s;
	j->auth = s->srv->o.auth;
	j->guest_ok = s->srv->guest_ok;
	memcpy(j->user, s->user, sizeof(j->user));
	if (req->arg.len <= AUTH_PASS_MAX)
		memcpy(j->pass, req->arg.p, req->arg.len);
	else
		j->user[0] = '\0';	/* fails, at the same cost */
	if (!auth_valid_name(j->user))
		j->user[0] = '\0';
	if (ftp_job(s, login_run, login_done, j) < 0) {
		OPENSSL_cleanse(j->pass, sizeof(j->pass));
		free(j);
	}
}

/* TLS */

static void
cmd_auth(struct ftp_session *s, const struct ftp_request *req)
{
	struct bufferevent *tb;
	SSL *ssl;

	if (!span_eq_ci(req->arg, "TLS") && !span_eq_ci(req->arg, "SSL") &&
	    !span_eq_ci(req->arg, "TLS-C")) {
		ftp_reply(s, 504, "AUTH TLS is the only mechanism.");
		return;
	}
	if (s->srv->tls == NULL) {
		ftp_reply(s, 431, "TLS is not configured on this server.");
		return;
	}
	if (s->tls) {
		ftp_reply(s, 503, "Already using TLS.");
		return;
	}
	if ((ssl = SSL_new(s->srv->tls)) == NULL) {
		ftp_reply(s, 431, "TLS unavailable.");
		return;
	}
	/* Data connections must resume a session granted to this client. */
	if (ftp_tls_grant(s, ssl) < 0) {
		SSL_free(ssl);
		ftp_reply(s, 431, "TLS unavailable.");
		return;
	}
	ftp_reply(s, 234, "AUTH TLS successful.");
	/*
	 * The reply is already queued in plain text on the socket
	 * bufferevent; the filter's TLS records follow it, so the order on
	 * the wire is right without waiting for a flush.
	 */
	tb = bufferevent_openssl_filter_new(s->srv->o.base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		SSL_free(ssl);
		ftp_session_close(s, "TLS setup failed");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tb, 1);
	/* SECURITY: plaintext sent behind AUTH is not taken as protected. */
	evbuffer_drain(s->lines, evbuffer_get_length(s->lines));
	memset(&s->telnet, 0, sizeof(s->telnet));
	s->bev = tb;
	s->tls = true;
	s->pbsz = false;
	s->prot_p = false;
	bufferevent_setwatermark(tb, EV_READ, 0, FTP_LINE_MAX);
	bufferevent_setcb(tb, session_read, session_write, session_event, s);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
}

static void
cmd_prot(struct ftp_session *s, const struct ftp_request *req)
{
	if (!s->tls) {
		ftp_reply(s, 503, "PROT needs AUTH TLS first.");
		return;
	}
	if (span_eq_ci(req->arg, "P"))
		s->prot_p = true;
	else if (span_eq_ci(req->arg, "C"))
		s->prot_p = false;
	else {
		ftp_reply(s, 536, "Only C and P are supported.");
		return;
	}
	ftp_reply(s, 200, "PROT now %s.", s->prot_p ? "Private" : "Clear");
}

/* Information */

static const char feat_reply[] =
    "211-Features:\r\n"
    " AUTH TLS\r\n"
    " PBSZ\r\n"
    " PROT\r\n"
    " EPRT\r\n"
    " EPSV\r\n"
    " MDTM\r\n"
    " MFMT\r\n"
    " SIZE\r\n"
    " REST STREAM\r\n"
    " MLST type*;size*;modify*;perm*;\r\n"
    " UTF8\r\n"
    " TVFS\r\n"
    " HASH SHA-256*\r\n"
    "211 End\r\n";

static const char help_reply[] =
    "214-The following commands are recognized:\r\n"
    " ABOR ALLO APPE AUTH CDUP CWD  DELE EPRT EPSV FEAT HASH HELP LIST\r\n"
    " MDTM MFMT MKD  MLSD MLST MODE NETS NLST NOOP OPTS PASS PASV PBSZ\r\n"
    " PORT PROT PWD  QUIT REST RETR RMD  RNFR RNTO SITE SIZE STAT STOR\r\n"
    " STOU STRU SYST TYPE USER XCUP XCWD XMKD XPWD XRMD\r\n"
    "214 Help OK.\r\n";

static void
cmd_opts(struct ftp_session *s, const struct ftp_request *req)
{
	struct cursor c;
	struct span what;

	cur_init(&c, req->arg.p, req->arg.len);
	what = cur_until(&c, ' ');
	(void)cur_eat(&c, ' ');
	if (span_eq_ci(what, "UTF8") || span_eq_ci(what, "UTF-8")) {
		ftp_reply(s, 200, "Always in UTF8 mode.");
	} else if (span_eq_ci(what, "HASH")) {
		struct span alg = cur_rest(&c);

		if (alg.len == 0 || span_eq_ci(alg, "SHA-256"))
			ftp_reply(s, 200, "SHA-256");
		else
			ftp_reply(s, 501, "Only SHA-256 is supported.");
	} else if (span_eq_ci(what, "MLST")) {
		ftp_reply(s, 200, "MLST OPTS type;size;modify;perm;");
	} else
		ftp_reply(s, 501, "Option not understood.");
}

static void
cmd_stat(struct ftp_session *s, const struct ftp_request *req)
{
	char buf[512];
	int n;

	if (req->has_arg && req->arg.len > 0) {
		if (!s->logged_in) {
			ftp_reply(s, 530, "Please login with USER and PASS.");
			return;
		}
		ftp_cmd_list(s, req);
		return;
	}
	n = snprintf(buf, sizeof(buf),
	    "211-shoal status:\r\n"
	    " Connected to %s\r\n"
	    " Logged in as %s\r\n"
	    " TYPE: BINARY, control %s, data %s\r\n"
	    " %s\r\n"
	    "211 End of status\r\n",
	    s->peer_str, s->logged_in ? s->user : "(nobody)",
	    s->tls ? "TLS" : "clear", s->prot_p ? "TLS" : "clear",
	    s->xfer ? "A transfer is in progress." : "No transfer.");
	ftp_reply_raw(s, buf, n > 0 ? (size_t)n : 0);
}

/*
 * SITE LOCKTOKEN N: the fencing token this session's writes carry.  N is
 * decimal digits only: no sign, no spaces, nothing past 2^64 - 1.
 */
static void
cmd_site(struct ftp_session *s, const struct ftp_request *req)
{
	struct cursor c;
	struct span what, num;
	uint64_t t;

	cur_init(&c, req->arg.p, req->arg.len);
	what = cur_until(&c, ' ');
	if (span_eq_ci(what, "UTIME")) {
		ftp_cmd_files(s, req);
		return;
	}
	if (!span_eq_ci(what, "LOCKTOKEN") || !cur_eat(&c, ' ')) {
		ftp_reply(s, 502,
			  "Only SITE LOCKTOKEN N and SITE UTIME are supported.");
		return;
	}
	num = cur_rest(&c);
	if (span_u64(num, UINT64_MAX, &t) < 0) {
		ftp_reply(s, 501,
			  "SITE LOCKTOKEN takes a number from 0 (none) "
			  "to 18446744073709551615.");
		return;
	}
	s->lock_token = t;
	if (t == 0)
		ftp_reply(s, 200, "Writes carry no fencing token.");
	else
		ftp_reply(s, 200, "Writes carry fencing token %llu.",
			  (unsigned long long)t);
}

static unsigned
network_size(struct ftp_session *s)
{
	const struct ftp_server_opts *o = &s->srv->o;

	return (o->network_size ? o->network_size(o->network_arg) : 1);
}

/* Dispatch */

static bool
needs_login(enum ftp_verb v)
{
	switch (v) {
	case FTP_USER: case FTP_PASS: case FTP_QUIT: case FTP_NOOP:
	case FTP_AUTH: case FTP_PBSZ: case FTP_PROT: case FTP_FEAT:
	case FTP_SYST: case FTP_HELP: case FTP_OPTS: case FTP_STAT:
	case FTP_ABOR: case FTP_CCC:
		return (false);
	default:
		return (true);
	}
}

static void
handle(struct ftp_session *s, struct ftp_request *req)
{
	if (req->verb == FTP_UNKNOWN) {
		ftp_reply(s, 500, "Unknown command.");
		return;
	}
	if (!s->logged_in && needs_login(req->verb)) {
		ftp_reply(s, 530, "Please login with USER and PASS.");
		return;
	}
	if (req->verb != FTP_RNTO && req->verb != FTP_RNFR && s->rnfr) {
		free(s->rnfr);
		s->rnfr = NULL;
	}
	switch (req->verb) {
	case FTP_USER:
		cmd_user(s, req);
		break;
	case FTP_PASS:
		cmd_pass(s, req);
		break;
	case FTP_QUIT:
		ftp_reply(s, 221, "Goodbye.");
		close_after_flush(s);
		break;
	case FTP_NOOP:
		ftp_reply(s, 200, "NOOP ok.");
		break;
	case FTP_SYST:
		ftp_reply(s, 215, "UNIX Type: L8");
		break;
	case FTP_FEAT:
		ftp_reply_raw(s, feat_reply, sizeof(feat_reply) - 1);
		break;
	case FTP_HELP:
		ftp_reply_raw(s, help_reply, sizeof(help_reply) - 1);
		break;
	case FTP_OPTS:
		cmd_opts(s, req);
		break;
	case FTP_AUTH:
		cmd_auth(s, req);
		break;
	case FTP_PBSZ:
		if (!s->tls)
			ftp_reply(s, 503, "PBSZ needs AUTH TLS first.");
		else {
			s->pbsz = true;
			ftp_reply(s, 200, "PBSZ=0");
		}
		break;
	case FTP_PROT:
		cmd_prot(s, req);
		break;
	case FTP_CCC:
		ftp_reply(s, 534, "The control connection stays protected.");
		break;
	case FTP_TYPE:
		if (span_eq_ci(req->arg, "I") || span_eq_ci(req->arg, "L 8") ||
		    span_eq_ci(req->arg, "A") || span_eq_ci(req->arg, "A N"))
			ftp_reply(s, 200, "Switching to %s mode.",
			    (req->arg.p[0] | 0x20) == 'a' ? "ASCII" :
			    "Binary");
		else
			ftp_reply(s, 504, "Unsupported type.");
		break;
	case FTP_MODE:
		if (span_eq_ci(req->arg, "S"))
			ftp_reply(s, 200, "Mode set to S.");
		else
			ftp_reply(s, 504, "Only stream mode is supported.");
		break;
	case FTP_STRU:
		if (span_eq_ci(req->arg, "F"))
			ftp_reply(s, 200, "Structure set to F.");
		else
			ftp_reply(s, 504, "Only file structure is supported.");
		break;
	case FTP_PWD:
	case FTP_XPWD: {
		char q[FTP_QUOTED_MAX + 1];

		ftp_reply(s, 257, "\"%s\" is the current directory.",
			  ftp_quote_path(s->cwd, q));
		break;
	}
	case FTP_REST: {
		uint64_t off;

		if (span_u64(req->arg, INT64_MAX, &off) < 0) {
			ftp_reply(s, 501, "REST needs a byte offset.");
			break;
		}
		s->rest = off;
		ftp_reply(s, 350, "Restart position accepted (%llu).",
		    (unsigned long long)off);
		return;	/* keeps rest for the next command */
	}
	case FTP_ALLO:
		ftp_reply(s, 202, "No storage allocation necessary.");
		break;
	case FTP_NETS:
		ftp_reply(s, 201, "Network size is %u.", network_size(s));
		break;
	case FTP_SITE:
		cmd_site(s, req);
		break;
	case FTP_STAT:
		cmd_stat(s, req);
		break;
	case FTP_ABOR:
		if (s->xfer) {
			ftp_xfer_abort(s);
			ftp_reply(s, 426, "Connection closed; transfer aborted.");
			ftp_reply(s, 226, "ABOR successful.");
		} else {
			ftp_data_close(s);
			ftp_reply(s, 225, "No transfer to abort.");
		}
		break;
	case FTP_PASV:
		ftp_cmd_pasv(s, false);
		break;
	case FTP_EPSV:
		if (span_eq_ci(req->arg, "ALL"))
			ftp_reply(s, 200, "EPSV ALL ok.");
		else
			ftp_cmd_pasv(s, true);
		break;
	case FTP_PORT:
	case FTP_EPRT:
		ftp_cmd_port(s, req);
		break;
	case FTP_LIST:
	case FTP_NLST:
	case FTP_MLSD:
	case FTP_MLST:
		ftp_cmd_list(s, req);
		break;
	default:
		ftp_cmd_files(s, req);
		break;
	}
	s->rest = 0;
}

/* May a line be handled while a transfer runs? Only ABOR and STAT. */
static bool
allowed_during_xfer(int rc, const struct ftp_request *req)
{
	if (rc < 0 && req->name[0] == '\0')
		return (false);
	return (strcmp(req->name, "ABOR") == 0 ||
		strcmp(req->name, "STAT") == 0);
}

/*
 * Moves what arrived on the control connection into s->lines without its
 * Telnet commands.  A Synch mark discards the lines before it.  Stops once
 * a full line's worth waits, so s->lines stays under 2 * FTP_LINE_MAX.
 */
static void
telnet_feed(struct ftp_session *s)
{
	char in[1024], out[sizeof(in) + 1];
	struct evbuffer *raw = bufferevent_get_input(s->bev);
	bool synch;
	size_t m;
	int got;

	while (evbuffer_get_length(raw) > 0 &&
	       evbuffer_get_length(s->lines) < FTP_LINE_MAX) {
		if ((got = evbuffer_remove(raw, in, sizeof(in))) <= 0)
			return;
		synch = false;
		m = ftp_telnet_filter(&s->telnet, in, (size_t)got, out, &synch);
		if (synch)
			evbuffer_drain(s->lines, evbuffer_get_length(s->lines));
		evbuffer_add(s->lines, out, m);
	}
}

static void
process_lines(struct ftp_session *s)
{
	char line[FTP_LINE_MAX];
	struct ftp_request req;
	struct evbuffer *in = s->lines;
	struct evbuffer_ptr eol;
	size_t eol_len, len;
	int rc;

	while (!s->closing && !s->close_on_flush && s->bev != NULL) {
		telnet_feed(s);
		if (s->busy || s->tls_pending)
			return;
		eol = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_CRLF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) >= FTP_LINE_MAX - 1)
				goto too_long;
			return;
		}
		len = (size_t)eol.pos;
		if (len + eol_len > FTP_LINE_MAX)
			goto too_long;
		evbuffer_copyout(in, line, len);
		rc = ftp_parse_request(line, len, &req);
		if (s->xfer && !allowed_during_xfer(rc, &req))
			return;	/* waits for the transfer to end */
		evbuffer_drain(in, len + eol_len);
		if (rc == 0 && log_enabled(LOG_LVL_DEBUG))
			/* SECURITY: passwords are never logged. */
			log_debug("ftp: %s -> %s%s%.*s", s->peer_str, req.name,
			    req.has_arg ? " " : "",
			    req.verb == FTP_PASS ? 3 : (int)req.arg.len,
			    req.verb == FTP_PASS ? "***" : req.arg.p);
		if (rc == -EINVAL && req.name[0] != '\0') {
			ftp_reply(s, 501, "Bad characters in argument.");
			continue;
		}
		if (rc < 0) {
			ftp_reply(s, 500, "Syntax error, command unrecognized.");
			continue;
		}
		if (s->xfer == NULL)
			ftp_session_arm_timer(s);
		handle(s, &req);
	}
	return;
too_long:
	/* SECURITY: answer and close; nothing more of the line is read. */
	ftp_reply(s, 500, "Command line too long.");
	close_after_flush(s);
}

static void
session_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process_lines(arg);
}

static void
session_write(struct bufferevent *bev, void *arg)
{
	struct ftp_session *s = arg;

	(void)bev;
	if (s->close_on_flush && flushed(s))
		ftp_session_close(s, "closed by server");
}

static void
session_event(struct bufferevent *bev, short what, void *arg)
{
	struct ftp_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);

		if (e)
			log_info("ftp: %s TLS error: %s", s->peer_str,
			    ERR_error_string(e, NULL));
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		s->ctrl_eof = true;
		ftp_session_close(s, what & BEV_EVENT_EOF ? "client left" :
		    "connection error");
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;

	(void)fd;
	(void)what;
	if (s->close_on_flush) {
		struct timeval tv = { 0, 20 * 1000 };

		if (flushed(s))
			ftp_session_close(s, "closed by server");
		else if (clock_mono_ms() > s->flush_deadline)
			ftp_session_close(s, "peer not reading");
		else
			evtimer_add(s->timer, &tv);
		return;
	}
	if (s->xfer && !s->data.ready) {
		ftp_xfer_finish(s, 425, "Can't open data connection.");
		ftp_session_arm_timer(s);
		return;
	}
	if (s->xfer || s->busy) {
		ftp_session_arm_timer(s);
		return;
	}
	ftp_reply(s, 421, "Timeout.");
	close_after_flush(s);
}

void
ftp_session_accept(struct ftp_server *srv, evutil_socket_t fd,
    const struct sockaddr *sa, int socklen)
{
	struct ftp_session *s;
	socklen_t ll;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		close(fd);
		return;
	}
	s->srv = srv;
	s->fd = fd;
	s->data.fd = -1;
	s->accepted_ms = clock_mono_ms();
	sock_nodelay(fd);
	/* Urgent bytes (ABOR, the Telnet Synch) stay in the stream. */
	(void)setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &(int){1}, sizeof(int));
	memcpy(&s->peer, sa, (size_t)socklen);
	ll = sizeof(s->local);
	getsockname(fd, (struct sockaddr *)&s->local, &ll);
	addr_str(sa, s->peer_str);
	s->bev = bufferevent_socket_new(srv->o.base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	s->timer = evtimer_new(srv->o.base, on_timer, s);
	s->delay = evtimer_new(srv->o.base, on_login_delay, s);
	s->reap = event_new(srv->o.base, -1, 0, on_reap, s);
	s->lines = evbuffer_new();
	if (s->bev == NULL || s->timer == NULL || s->delay == NULL ||
	    s->reap == NULL || s->lines == NULL) {
		if (s->bev)
			bufferevent_free(s->bev);
		else
			close(fd);
		if (s->timer)
			event_free(s->timer);
		if (s->delay)
			event_free(s->delay);
		if (s->reap)
			event_free(s->reap);
		if (s->lines)
			evbuffer_free(s->lines);
		free(s);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	/* SECURITY: never buffer more than one command line. */
	bufferevent_setwatermark(s->bev, EV_READ, 0, FTP_LINE_MAX);
	bufferevent_setcb(s->bev, session_read, session_write, session_event,
	    s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	ftp_session_arm_timer(s);
	log_info("ftp: %s connected", s->peer_str);
	ftp_reply(s, 220, "shoal ready.");
}
