/*
 * ftp_data: data connections and the transfers that run over them.
 *
 * A data connection is prepared by PASV/EPSV (a one-shot listener) or
 * PORT/EPRT (an address to connect to).  A transfer command queues a
 * transfer; once the connection is up (and, with PROT P, its TLS handshake
 * has resumed a session granted to its client, see ftp_tls.c) the bytes
 * flow:
 *
 *   listing   an evbuffer made by a job, written out
 *   RETR      sendfile(2) through evbuffer_add_file; over TLS, chunks read
 *             by jobs, one at a time, while the socket drains
 *   STOR      received chunks written and hashed by jobs, one at a time;
 *             at EOF a flush job, then (if the client is still there) a
 *             commit job, then 226
 *
 * Every job holds a reference on the session (ftp_job_release); a transfer
 * that is aborted while its job runs is detached (x->s = NULL) and its
 * job's done callback cleans it up.
 */
#include "front/ftp/ftp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "base/assert.h"
#include "base/cfg.h"
#include "base/log.h"
#include "base/work.h"
#include "net/sock.h"
#include "store/hash.h"
#include "front/ingest.h"
#include "store/upload.h"

#define TLS_READ_CHUNK (1u << 20)

static void xfer_flow(struct ftp_session *);
static void send_more(struct ftp_session *);
static void data_read(struct bufferevent *, void *);
static void data_write(struct bufferevent *, void *);
static void data_event(struct bufferevent *, short, void *);

struct ftp_xfer *
ftp_xfer_new(enum ftp_xfer_kind kind)
{
	struct ftp_xfer *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return (NULL);
	x->kind = kind;
	fs_reader_init(&x->rd);
	return (x);
}

void
ftp_xfer_free(struct ftp_xfer *x)
{
	if (x == NULL)
		return;
	if (x->out)
		evbuffer_free(x->out);
	if (x->flush)
		event_free(x->flush);
	fs_reader_release(&x->rd);
	if (x->ing)
		ingest_cancel(x->ing);
	free(x->path);
	free(x);
}

void
ftp_data_close(struct ftp_session *s)
{
	struct ftp_data *d = &s->data;

	if (d->lev) {
		evconnlistener_free(d->lev);
		d->lev = NULL;
	}
	if (d->connect_ev) {
		event_free(d->connect_ev);
		d->connect_ev = NULL;
	}
	if (d->bev) {
		SSL *ssl = bufferevent_openssl_get_ssl(d->bev);

		/* Tell TLS clients the data ended here, not by truncation. */
		if (ssl && d->ready)
			(void)SSL_shutdown(ssl);
		bufferevent_free(d->bev);
		d->bev = NULL;
	}
	if (d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
	}
	d->port_set = false;
	d->ready = false;
	d->want = false;
	d->tls_wait = false;
}

bool
ftp_data_configured(const struct ftp_session *s)
{
	return (s->data.lev != NULL || s->data.fd >= 0 || s->data.port_set);
}

void
ftp_xfer_finish(struct ftp_session *s, int code, const char *reply)
{
	struct ftp_xfer *x = s->xfer;
	char text[sizeof(x->ok_reply)];

	SHOAL_ASSERT(x == NULL || x->s == s);
	/* The reply may live in the transfer, which is freed below. */
	if (reply) {
		snprintf(text, sizeof(text), "%s", reply);
		reply = text;
	}
	s->xfer = NULL;
	ftp_data_close(s);
	if (x) {
		if (x->flush)
			evtimer_del(x->flush);
		if (x->kind == XFER_RECV)
			s->srv->bytes_in += x->bytes;
		else
			s->srv->bytes_out += x->bytes;
		x->s = NULL;
		if (x->job_running)
			; /* its done callback frees it */
		else
			ftp_xfer_free(x);
	}
	if (reply)
		ftp_reply(s, code, "%s", reply);
	ftp_session_resume(s);
}

void
ftp_xfer_abort(struct ftp_session *s)
{
	struct ftp_xfer *x = s->xfer;

	if (x == NULL)
		return;
	SHOAL_ASSERT(x->s == s);
	log_info("ftp: %s transfer aborted after %llu bytes", s->peer_str,
		 (unsigned long long)x->bytes);
	s->xfer = NULL;
	x->s = NULL;
	if (x->flush)
		evtimer_del(x->flush);
	ftp_data_close(s);
	if (!x->job_running)
		ftp_xfer_free(x);
}

/* Jobs of a transfer */

/*
 * s and x are for the done callback on the loop; the job function reads
 * only the copies below it (x->avail and x->off change on the loop while
 * it runs) and fills out, which nothing else touches until done.
 */
struct xfer_job {
	struct ftp_session *s;
	struct ftp_xfer *x;
	struct fs_read rd; /* a read: what it reads, its bytes */
};

/*
 * Ends a job: returns the transfer if it is still the session's current
 * one, else cleans up and returns NULL.
 */
static struct ftp_xfer *
xfer_job_end(struct xfer_job *j)
{
	struct ftp_session *s = j->s;
	struct ftp_xfer *x = j->x;
	bool alive;

	free(j);
	SHOAL_ASSERT(x->job_running);
	x->job_running = false;
	alive = ftp_job_release(s);
	if (!alive || x->s == NULL) {
		ftp_xfer_free(x);
		return (NULL);
	}
	return (x);
}

static void recv_next(struct ftp_session *);

static void
quorum_done(void *arg, int rc)
{
	struct xfer_job *j = arg;
	struct ftp_session *s = j->s;
	struct ftp_xfer *x;
	char msg[160];

	if ((x = xfer_job_end(j)) == NULL)
		return;
	if (rc == 0) {
		ftp_xfer_finish(s, 226, x->ok_reply);
		return;
	}
	snprintf(msg, sizeof(msg),
		 "Stored here, but %u other node(s) did "
		 "not confirm a copy in time; it keeps replicating.",
		 s->srv->o.cfg->sync_writes);
	ftp_xfer_finish(s, 451, msg);
}

/* With a write quorum, 226 waits until enough nodes hold the upload. */
static bool
wait_quorum(struct ftp_session *s, struct ftp_xfer *x, const uint8_t *sha)
{
	const struct ftp_server_opts *o = &s->srv->o;
	struct xfer_job *j;

	SHOAL_ASSERT(!x->job_running && x->s == s);
	if (o->wait_copies == NULL || (j = calloc(1, sizeof(*j))) == NULL)
		return (false);
	j->s = s;
	j->x = x;
	if (o->wait_copies(o->wait_arg, x->path, sha, quorum_done, j) < 0) {
		free(j);
		return (false);
	}
	s->jobs++;
	x->job_running = true;
	return (true);
}

/* ingest callbacks: the session is alive (a cancelled ingest calls none). */

void
ftp_ingest_drained(void *arg)
{
	recv_next(arg);
}

void
ftp_ingest_done(void *arg, int rc, const uint8_t sha[HASH_LEN])
{
	struct ftp_session *s = arg;
	struct ftp_xfer *x = s->xfer;

	x->ing = NULL;
	if (rc < 0) {
		log_warnx("ftp: %s upload of %s failed: %s", s->peer_str,
			  x->path, strerror(-rc));
		ftp_reply_errno(s, rc, "Upload failed");
		ftp_xfer_finish(s, 0, NULL);
		return;
	}
	log_info("ftp: %s stored %s (%llu bytes)", s->peer_str, x->path,
		 (unsigned long long)x->bytes);
	if (wait_quorum(s, x, sha))
		return;
	ftp_xfer_finish(s, 226, x->ok_reply);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;

	(void)fd;
	(void)what;
	if (s->xfer == NULL)
		return;
	s->xfer->flush_now = true;
	recv_next(s);
}

/* Hands what has arrived to the ingest, or finishes at EOF. */
static void
recv_next(struct ftp_session *s)
{
	struct ftp_xfer *x = s->xfer;
	struct evbuffer *in;

	if (x == NULL || x->ing == NULL || ingest_busy(x->ing))
		return;
	in = s->data.bev ? bufferevent_get_input(s->data.bev) : NULL;
	/*
	 * Jobs for a few KiB each would cost more than the writing: bytes
	 * wait for a batch, the end of the upload, or a short pause.
	 */
	if (in && evbuffer_get_length(in) > 0 &&
	    evbuffer_get_length(in) < FTP_XFER_BATCH && !x->eof &&
	    !x->flush_now) {
		struct timeval tv = {0, 50 * 1000};

		if (x->flush && !evtimer_pending(x->flush, NULL))
			evtimer_add(x->flush, &tv);
		return;
	}
	x->flush_now = false;
	if (in && evbuffer_get_length(in) > 0) {
		x->bytes += evbuffer_get_length(in);
		if (ingest_push(x->ing, in) < 0)
			ftp_xfer_finish(s, 451, "Server busy.");
		return;
	}
	/*
	 * The end.  If the client goes away while the data is flushed, it
	 * never saw its upload end: the session's close cancels the ingest
	 * before the commit, and the old file stays.
	 */
	if (x->eof) {
		ftp_data_close(s);
		ingest_finish(x->ing);
	}
}

/* RETR over TLS: chunks read by jobs */

static void
read_run(void *arg)
{
	struct xfer_job *j = arg;

	fs_read_run(&j->rd);
}

static void
read_done(void *arg)
{
	struct xfer_job *j = arg;
	struct ftp_session *s = j->s;
	struct fs_read rd = j->rd;
	struct ftp_xfer *x;

	if ((x = xfer_job_end(j)) == NULL) {
		fs_read_discard(&rd);
		return;
	}
	if (rd.rc < 0) {
		fs_read_discard(&rd);
		ftp_xfer_finish(s, 451, "Read error; transfer aborted.");
		return;
	}
	x->bytes +=
	    fs_read_finish(&rd, &x->rd, bufferevent_get_output(s->data.bev));
}

/* One read job; it carries copies of what it reads. */
static int
read_job(struct ftp_session *s, struct ftp_xfer *x)
{
	struct xfer_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return (-ENOMEM);
	j->s = s;
	j->x = x;
	if (fs_read_prepare(&j->rd, &x->rd, TLS_READ_CHUNK) < 0 ||
	    work_submit(s->srv->o.pool, read_run, read_done, j) < 0) {
		fs_read_discard(&j->rd);
		free(j);
		return (-ENOMEM);
	}
	s->jobs++;
	x->job_running = true;
	return (0);
}

/* Data connection events */

void
ftp_xfer_remote_ready(void *arg)
{
	struct ftp_xfer *x = arg;

	if (x->s && x->started)
		send_more(x->s);
}

void
ftp_xfer_remote_failed(void *arg, const char *why)
{
	struct ftp_xfer *x = arg;
	char msg[256];

	if (x->s == NULL)
		return;
	log_info("ftp: %s: reading from the holders failed: %s", x->s->peer_str,
		 why);
	snprintf(msg, sizeof(msg), "Transfer aborted: %s.", why);
	ftp_xfer_finish(x->s, 451, msg);
}

static void
send_more(struct ftp_session *s)
{
	struct ftp_xfer *x = s->xfer;
	struct evbuffer *out = bufferevent_get_output(s->data.bev);

	uint64_t sent;

	if (x->kind == XFER_SEND_FILE && !fs_reader_done(&x->rd)) {
		/* Otherwise wait: the next bytes are still on their way
		 * from the holders, or being read. */
		if (fs_reader_ready_bytes(&x->rd) == 0 || x->job_running)
			return;
		if (s->prot_p) {
			/* TLS needs the bytes in memory: read in chunks. */
			if (read_job(s, x) < 0)
				ftp_xfer_finish(s, 451, "Server busy.");
		} else if (fs_reader_send(&x->rd, out, &sent) < 0)
			ftp_xfer_finish(s, 451, "Read error.");
		else
			x->bytes += sent;
		return;
	}
	if (evbuffer_get_length(out) == 0 && !x->job_running) {
		log_info("ftp: %s sent %llu bytes", s->peer_str,
			 (unsigned long long)x->bytes);
		ftp_xfer_finish(s, 226,
				x->ok_reply[0] ? x->ok_reply
					       : "Transfer complete.");
	}
}

static void
data_read(struct bufferevent *bev, void *arg)
{
	struct ftp_session *s = arg;

	(void)bev;
	if (s->xfer && s->xfer->kind == XFER_RECV)
		recv_next(s);
	else
		evbuffer_drain(bufferevent_get_input(bev), (size_t)-1);
}

static void
data_write(struct bufferevent *bev, void *arg)
{
	struct ftp_session *s = arg;

	(void)bev;
	if (s->xfer && s->xfer->started && s->xfer->kind != XFER_RECV)
		send_more(s);
}

static void
data_ready(struct ftp_session *s)
{
	s->data.ready = true;
	ftp_session_arm_timer(s);
	xfer_flow(s);
}

/* The TLS handshake is done: is the session one granted to this client? */
static void
data_tls_decide(struct ftp_session *s)
{
	struct ftp_data *d = &s->data;
	int rc;

	/* SECURITY: bind the data channel to this client. */
	rc = ftp_tls_data_check(s, bufferevent_openssl_get_ssl(d->bev),
				d->wait_tag);
	if (rc == -EAGAIN) {
		d->tls_wait = true;
		bufferevent_disable(d->bev, EV_READ);
		return;
	}
	if (d->tls_wait) {
		d->tls_wait = false;
		bufferevent_enable(d->bev, EV_READ);
	}
	if (rc < 0) {
		ftp_xfer_finish(s, 522,
				"data connection must resume this control "
				"connection's TLS session (see docs)");
		return;
	}
	data_ready(s);
}

void
ftp_data_grant_settled(struct ftp_server *srv, const uint8_t tag[TLS_TAG_LEN])
{
	struct ftp_session *s;

	TAILQ_FOREACH(s, &srv->sessions, entry)
	if (s->data.tls_wait && s->data.bev &&
	    memcmp(s->data.wait_tag, tag, TLS_TAG_LEN) == 0)
		data_tls_decide(s);
}

static void
data_event(struct bufferevent *bev, short what, void *arg)
{
	struct ftp_session *s = arg;
	struct ftp_xfer *x = s->xfer;
	SSL *ssl;

	if (what & BEV_EVENT_CONNECTED) {
		ssl = bufferevent_openssl_get_ssl(bev);
		if (ssl && s->srv->o.cfg->ftp_tls_require_reuse)
			data_tls_decide(s);
		else
			data_ready(s);
		return;
	}
	if (x == NULL)
		return;
	if ((what & BEV_EVENT_EOF) && x->kind == XFER_RECV) {
		x->eof = true;
		recv_next(s);
		return;
	}
	/* An upload only reads: a failed write (TLS housekeeping to a
	 * client that is done sending) is no reason to drop its data. */
	if (x->kind == XFER_RECV && (what & BEV_EVENT_WRITING) &&
	    !(what & BEV_EVENT_READING)) {
		bufferevent_disable(bev, EV_WRITE);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		ftp_xfer_finish(s, 426,
				"Data connection timed out; transfer "
				"aborted.");
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (!s->data.ready)
			ftp_xfer_finish(s, 425, "Can't open data connection.");
		else
			ftp_xfer_finish(s, 426,
					"Connection closed; transfer "
					"aborted.");
	}
}

/* Wraps the connected fd in a bufferevent (with TLS if PROT P). */
static void
data_attach(struct ftp_session *s)
{
	struct ftp_data *d = &s->data;
	const struct cfg *c = s->srv->o.cfg;
	struct timeval tv = {c->ftp_idle_timeout, 0};
	SSL *ssl;

	/* An accepted or connected socket, not yet wrapped. */
	SHOAL_ASSERT(d->fd >= 0 && d->bev == NULL && s->xfer != NULL);
	sock_nodelay(d->fd);
	if (s->prot_p) {
		if ((ssl = SSL_new(s->srv->tls)) == NULL) {
			ftp_xfer_finish(s, 425, "TLS unavailable.");
			return;
		}
		/*
		 * No session tickets on data connections: the client has the
		 * control connection's, and a ticket written after an upload's
		 * last byte meets a socket the client already closed.
		 */
		SSL_set_num_tickets(ssl, 0);
		d->bev = bufferevent_openssl_socket_new(
		    s->srv->o.base, d->fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (d->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(d->bev, 1);
		else
			SSL_free(ssl);
	} else
		d->bev = bufferevent_socket_new(s->srv->o.base, d->fd,
						BEV_OPT_CLOSE_ON_FREE);
	if (d->bev == NULL) {
		ftp_xfer_finish(s, 425, "Can't open data connection.");
		return;
	}
	d->fd = -1; /* the bufferevent owns it */
	bufferevent_setcb(d->bev, data_read, data_write, data_event, s);
	bufferevent_set_timeouts(d->bev, &tv, &tv);
	/* libevent reads 16 KiB at a time unless told otherwise. */
	bufferevent_set_max_single_read(d->bev, FTP_XFER_BATCH);
	bufferevent_set_max_single_write(d->bev, FTP_XFER_BATCH);
	bufferevent_setwatermark(d->bev, EV_READ, 0, FTP_XFER_CHUNK);
	bufferevent_enable(d->bev, EV_READ | EV_WRITE);
	if (!s->prot_p) {
		d->ready = true;
		ftp_session_arm_timer(s);
		xfer_flow(s);
	}
}

static void
xfer_flow(struct ftp_session *s)
{
	struct ftp_xfer *x = s->xfer;

	/* Bytes flow once per transfer, on a connection that is ready. */
	SHOAL_ASSERT(x != NULL && x->s == s && !x->started && s->data.ready);
	x->started = true;
	switch (x->kind) {
	case XFER_SEND_BUF:
		x->bytes = evbuffer_get_length(x->out);
		bufferevent_write_buffer(s->data.bev, x->out);
		send_more(s);
		break;
	case XFER_SEND_FILE:
		if (s->prot_p)
			bufferevent_setwatermark(s->data.bev, EV_WRITE,
						 TLS_READ_CHUNK / 4, 0);
		send_more(s);
		break;
	case XFER_RECV:
		recv_next(s);
		break;
	}
}

static void
on_connected(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)what;
	event_free(s->data.connect_ev);
	s->data.connect_ev = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		close(fd);
		ftp_xfer_finish(s, 425, "Can't open data connection.");
		return;
	}
	s->data.fd = fd;
	data_attach(s);
}

static void
data_connect(struct ftp_session *s)
{
	struct ftp_data *d = &s->data;
	struct sockaddr *sa = (struct sockaddr *)&d->port_addr;
	int fd;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0 ||
	    (connect(fd, sa, addr_len(sa)) < 0 && errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		ftp_xfer_finish(s, 425, "Can't open data connection.");
		return;
	}
	d->connect_ev =
	    event_new(s->srv->o.base, fd, EV_WRITE, on_connected, s);
	if (d->connect_ev == NULL || event_add(d->connect_ev, NULL) < 0) {
		close(fd);
		ftp_xfer_finish(s, 425, "Can't open data connection.");
	}
}

void
ftp_xfer_start(struct ftp_session *s, struct ftp_xfer *x, const char *opening)
{
	SHOAL_ASSERT(s->xfer == NULL && s->data.bev == NULL);
	x->s = s;
	if (x->kind == XFER_RECV && x->flush == NULL &&
	    (x->flush = evtimer_new(s->srv->o.base, on_flush, s)) == NULL) {
		ftp_xfer_free(x);
		ftp_reply(s, 451, "Out of memory.");
		ftp_session_resume(s);
		return;
	}
	s->xfer = x;
	ftp_reply(s, 150, "%s", opening);
	s->data.want = true;
	ftp_session_arm_timer(s);
	if (s->data.port_set)
		data_connect(s);
	else if (s->data.fd >= 0)
		data_attach(s);
	/* else: PASV, waiting for the client to connect (on_data_accept) */
	ftp_session_resume(s);
}

/* PASV / EPSV */

static void
on_data_accept(struct evconnlistener *l, evutil_socket_t fd,
	       struct sockaddr *sa, int socklen, void *arg)
{
	struct ftp_session *s = arg;
	char who[ADDR_STR_MAX];

	(void)socklen;
	/* SECURITY: only the client itself may connect to its data port. */
	if (!addr_same_host(sa, (struct sockaddr *)&s->peer)) {
		log_warnx("ftp: %s: refused data connection from %s",
			  s->peer_str, addr_str(sa, who));
		close(fd);
		return;
	}
	evconnlistener_disable(l);
	if (s->data.fd >= 0)
		close(s->data.fd);
	s->data.fd = fd;
	if (s->data.want && s->xfer && s->data.bev == NULL)
		data_attach(s);
}

static struct evconnlistener *
pasv_listen(struct ftp_session *s, struct sockaddr_storage *ss)
{
	struct ftp_server *srv = s->srv;
	struct evconnlistener *l;
	unsigned span, i, port;

	if (srv->pasv_lo == 0) {
		addr_set_port((struct sockaddr *)ss, 0);
		return (evconnlistener_new_bind(
		    srv->o.base, on_data_accept, s,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 8,
		    (struct sockaddr *)ss,
		    (int)addr_len((struct sockaddr *)ss)));
	}
	span = srv->pasv_hi - srv->pasv_lo + 1;
	for (i = 0; i < span; i++) {
		port = srv->pasv_next;
		srv->pasv_next = port >= srv->pasv_hi ? srv->pasv_lo : port + 1;
		addr_set_port((struct sockaddr *)ss, port);
		l = evconnlistener_new_bind(
		    srv->o.base, on_data_accept, s,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 8,
		    (struct sockaddr *)ss,
		    (int)addr_len((struct sockaddr *)ss));
		if (l)
			return (l);
	}
	return (NULL);
}

void
ftp_cmd_pasv(struct ftp_session *s, bool extended)
{
	struct sockaddr_storage ss = s->local;
	struct sockaddr_in *sin;
	socklen_t len = sizeof(ss);
	unsigned port;
	uint32_t a;

	ftp_data_close(s);
	if (!extended && ss.ss_family != AF_INET && !s->srv->has_pasv_addr) {
		ftp_reply(s, 425, "PASV needs IPv4; use EPSV.");
		return;
	}
	if ((s->data.lev = pasv_listen(s, &ss)) == NULL) {
		ftp_reply(s, 425, "Can't open passive connection.");
		return;
	}
	getsockname(evconnlistener_get_fd(s->data.lev), (struct sockaddr *)&ss,
		    &len);
	port = addr_port((struct sockaddr *)&ss);
	if (extended) {
		ftp_reply(s, 229, "Entering Extended Passive Mode (|||%u|)",
			  port);
		return;
	}
	sin = (struct sockaddr_in *)(s->srv->has_pasv_addr ? &s->srv->pasv_addr
							   : &ss);
	a = ntohl(sin->sin_addr.s_addr);
	ftp_reply(s, 227, "Entering Passive Mode (%u,%u,%u,%u,%u,%u).", a >> 24,
		  (a >> 16) & 255, (a >> 8) & 255, a & 255, port >> 8,
		  port & 255);
}

void
ftp_cmd_port(struct ftp_session *s, const struct ftp_request *req)
{
	struct sockaddr_storage ss;
	int rc;

	ftp_data_close(s);
	rc = req->verb == FTP_PORT ? ftp_parse_port(req->arg, &ss)
				   : ftp_parse_eprt(req->arg, &ss);
	if (rc < 0) {
		ftp_reply(s, 501, "Bad address.");
		return;
	}
	/* SECURITY: no bouncing to other hosts or privileged ports. */
	if (!addr_same_host((struct sockaddr *)&ss,
			    (struct sockaddr *)&s->peer) ||
	    addr_port((struct sockaddr *)&ss) < 1024) {
		log_warnx("ftp: %s: refused PORT to another host or port",
			  s->peer_str);
		ftp_reply(s, 500, "Illegal PORT command.");
		return;
	}
	/* The client's own address, in the control connection's family. */
	if (ss.ss_family != s->peer.ss_family) {
		unsigned port = addr_port((struct sockaddr *)&ss);

		ss = s->peer;
		addr_set_port((struct sockaddr *)&ss, port);
	}
	s->data.port_addr = ss;
	s->data.port_set = true;
	ftp_reply(s, 200, "%s command successful.", req->name);
}
