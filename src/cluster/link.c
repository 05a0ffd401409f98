/*
 * link: a peer connection.
 *
 *   connecting/accepting --TLS handshake ok--> up --error/EOF/close--> down
 *          \_____________handshake fails (wrong key)_______________/
 *
 * Frames are cut from the input evbuffer as soon as a whole one is there;
 * the header is checked first, so a peer can make us buffer at most one
 * legal frame of the type it announced.
 *
 * Reading (and handing on frames already buffered) stops while the owner
 * paused the link, or while more than out_high bytes wait to be sent: a
 * peer that asks without reading the answers stops being heard until it
 * has taken half of them.  on_drain tells the owner when that happens.
 */
#include "cluster/link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/log.h"
#include "net/sock.h"

struct link {
	struct link_env		 env;
	struct bufferevent	*bev;
	struct sockaddr_storage	 sa;
	char			 peer[ADDR_STR_MAX];
	char			 name[LINK_NAME_MAX];	/* for the log */
	bool			 outgoing;
	bool			 up;
	bool			 down;
	bool			 finishing;	/* close once sent */
	bool			 paused;	/* by the owner */
	bool			 out_full;	/* output above out_high */
	struct event		*kick;		/* hands on buffered frames */
	char			 finish_why[64];
	void			*owner;
	struct event		*reap;
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;
	struct evbuffer		*bulk;
};

/* Heartbeats would drown the rest of a debug log: only on request. */
static bool
logged_type(const struct link *l, uint8_t type)
{
	return (l->env.log_heartbeats || (type != WIRE_PING &&
	    type != WIRE_PONG && type != WIRE_T_BEAT &&
	    type != WIRE_T_BEAT_ACK));
}

/*
 * Whether a handshake error is the other end refusing our key (or we
 * its), rather than the connection going away under it: a peer that
 * starts, stops or drops a duplicate dial at the same moment resets or
 * closes a handshake in progress, which says nothing about the key.
 */
static bool
handshake_refused(unsigned long e)
{
	if (e == 0 || ERR_GET_LIB(e) == ERR_LIB_SYS)
		return (false);
	return (ERR_GET_REASON(e) != SSL_R_UNEXPECTED_EOF_WHILE_READING);
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;

	(void)fd;
	(void)what;
	/* Reaped only after link_close, which let the bufferevent go. */
	SHOAL_ASSERT(l->down && l->bev == NULL);
	event_free(l->reap);
	if (l->kick)
		event_free(l->kick);
	if (l->bulk)
		evbuffer_free(l->bulk);
	free(l);
}

void
link_close(struct link *l, const char *why)
{
	if (l->down)
		return;
	SHOAL_ASSERT(l->bev != NULL);
	l->down = true;
	if (l->bev) {
		/* libevent may finish freeing later, from the loop: leave the
		 * rate limit group now, which may be freed before that. */
		if (l->env.send_limit)
			bufferevent_remove_from_rate_limit_group(l->bev);
		bufferevent_free(l->bev);
		l->bev = NULL;
	}
	log_debug("peer %s: link down: %s", l->name, why);
	if (l->env.cbs.on_down)
		l->env.cbs.on_down(l, why, l->env.arg);
	event_active(l->reap, 0, 0);
}

static void
link_read(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t h[WIRE_HDR_LEN];
	struct wire_hdr hdr;
	const uint8_t *payload;
	int rc;

	SHOAL_ASSERT(!l->down && l->bev == bev);
	while (!l->down && !l->paused && !l->out_full &&
	    evbuffer_get_length(in) >= WIRE_HDR_LEN) {
		evbuffer_copyout(in, h, sizeof(h));
		if ((rc = wire_frame_check(h, &hdr)) < 0) {
			log_warnx("peer %s: bad frame (version %u, type %u, "
			    "%u bytes): %s", l->name, h[0], h[1], hdr.len,
			    rc == -EMSGSIZE ? "too large" : "unknown type");
			link_close(l, "protocol error");
			return;
		}
		if (evbuffer_get_length(in) < WIRE_HDR_LEN + hdr.len)
			return;
		SHOAL_ASSERT(hdr.len <= WIRE_FRAME_MAX);
		evbuffer_drain(in, WIRE_HDR_LEN);
		l->bytes_in += WIRE_HDR_LEN + hdr.len;
		if (log_enabled(LOG_LVL_DEBUG) && logged_type(l, hdr.type))
			log_debug("peer %s -> %s (%u bytes)", l->name,
			    wire_type_name(hdr.type), hdr.len);
		if (wire_is_bulk(hdr.type)) {
			evbuffer_drain(l->bulk, evbuffer_get_length(l->bulk));
			evbuffer_remove_buffer(in, l->bulk, hdr.len);
			l->env.cbs.on_frame(l, &hdr, NULL, l->env.arg);
			continue;
		}
		payload = hdr.len ? evbuffer_pullup(in, hdr.len) : h;
		l->env.cbs.on_frame(l, &hdr, payload, l->env.arg);
		if (l->down)
			return;
		evbuffer_drain(in, hdr.len);
	}
}

/* Reading follows the two reasons to pause; frames that arrived while
 * paused are handed on from the loop, not from inside a caller. */
static void
update_reading(struct link *l)
{
	if (l->down || l->finishing || l->bev == NULL)
		return;
	if (l->paused || l->out_full) {
		bufferevent_disable(l->bev, EV_READ);
		return;
	}
	bufferevent_enable(l->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(l->bev)) > 0)
		event_active(l->kick, 0, 0);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;

	(void)fd;
	(void)what;
	if (!l->down && l->bev != NULL)
		link_read(l->bev, l);
}

static void
link_write(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	if (l->finishing) {
		if (left == 0)
			link_close(l, l->finish_why);
		return;
	}
	if (l->out_full && left <= l->env.out_high / 2) {
		l->out_full = false;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		update_reading(l);
		if (l->env.cbs.on_drain)
			l->env.cbs.on_drain(l, l->env.arg);
	}
}

void
link_finish(struct link *l, const char *why)
{
	if (l->down || l->finishing)
		return;
	SHOAL_ASSERT(l->bev != NULL);
	l->finishing = true;
	(void)str_fmt(l->finish_why, sizeof(l->finish_why), "%s", why);
	bufferevent_disable(l->bev, EV_READ);
	bufferevent_setwatermark(l->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(l->bev)) == 0)
		link_close(l, why);
}

static void
link_event(struct bufferevent *bev, short what, void *arg)
{
	struct link *l = arg;
	unsigned long e;

	SHOAL_ASSERT(!l->down && l->bev == bev);
	if (what & BEV_EVENT_CONNECTED) {
		/* The handshake completes once. */
		SHOAL_ASSERT(!l->up);
		l->up = true;
		sock_nodelay(bufferevent_getfd(bev));
		log_debug("peer %s: TLS up", l->name);
		if (l->env.cbs.on_up)
			l->env.cbs.on_up(l, l->env.arg);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		e = bufferevent_get_openssl_error(bev);
		/* SECURITY: a wrong key never gets past here (!l->up). */
		if (!l->up && handshake_refused(e)) {
			log_warnx("peer %s: refused: TLS handshake failed "
			    "(wrong or missing cluster key?): %s", l->name,
			    ERR_reason_error_string(e));
			link_close(l, "handshake failed");
			return;
		}
		if (!l->up) {
			log_debug("peer %s: connection ended during the TLS "
			    "handshake: %s", l->name, e ?
			    ERR_reason_error_string(e) : (errno ?
			    strerror(errno) : "connection error"));
			link_close(l, "connection failed");
			return;
		}
		if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			link_close(l, "connection closed");
			return;
		}
		link_close(l, e ? ERR_reason_error_string(e) :
		    (errno ? strerror(errno) : "connection error"));
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* An accepted peer that hangs up mid-handshake did not
		 * accept our key; a dial that ends so found no listener. */
		if (!l->up && !l->outgoing)
			log_info("peer %s: closed during the TLS handshake",
			    l->name);
		link_close(l, l->up ? "closed by peer" : "connection failed");
	}
}

static struct link *
link_new(const struct link_env *env, evutil_socket_t fd,
    const struct sockaddr *sa, bool outgoing)
{
	struct link *l;
	SSL *ssl;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	l->env = *env;
	l->outgoing = outgoing;
	memcpy(&l->sa, sa, addr_len(sa));
	addr_str(sa, l->peer);
	(void)str_copy(l->name, sizeof(l->name), l->peer);
	l->reap = event_new(env->base, -1, 0, on_reap, l);
	l->kick = event_new(env->base, -1, 0, on_kick, l);
	l->bulk = evbuffer_new();
	ssl = SSL_new(outgoing ? env->client_ctx : env->server_ctx);
	if (l->reap == NULL || l->kick == NULL || l->bulk == NULL ||
	    ssl == NULL) {
		SSL_free(ssl);
		goto fail;
	}
	l->bev = bufferevent_openssl_socket_new(env->base, fd, ssl, outgoing ?
	    BUFFEREVENT_SSL_CONNECTING : BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (l->bev == NULL) {
		SSL_free(ssl);
		goto fail;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(l->bev, 1);
	bufferevent_setcb(l->bev, link_read, link_write, link_event, l);
	/* Blocks are 1 MiB: read and write them in few system calls.  Links
	 * that carry small frames (a tracker's thousands) keep the
	 * default, so an idle link holds no big buffers. */
	if (!env->small) {
		bufferevent_set_max_single_read(l->bev, 1 << 20);
		bufferevent_set_max_single_write(l->bev, 1 << 20);
	}
	/* At most one largest frame plus the next header is buffered. */
	bufferevent_setwatermark(l->bev, EV_READ, 0,
	    WIRE_FRAME_MAX + 2 * WIRE_HDR_LEN);
	if (env->send_limit)
		bufferevent_add_to_rate_limit_group(l->bev, env->send_limit);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	return (l);
fail:
	if (l->reap)
		event_free(l->reap);
	if (l->kick)
		event_free(l->kick);
	if (l->bulk)
		evbuffer_free(l->bulk);
	free(l);
	if (fd >= 0)
		close(fd);
	return (NULL);
}

struct link *
link_connect(const struct link_env *env, const struct sockaddr *sa)
{
	struct link *l = link_new(env, -1, sa, true);

	if (l == NULL)
		return (NULL);
	if (bufferevent_socket_connect(l->bev, sa, (int)addr_len(sa)) < 0) {
		bufferevent_free(l->bev);
		event_free(l->reap);
		event_free(l->kick);
		evbuffer_free(l->bulk);
		free(l);
		return (NULL);
	}
	return (l);
}

struct link *
link_accept(const struct link_env *env, evutil_socket_t fd,
    const struct sockaddr *sa)
{
	return (link_new(env, fd, sa, false));
}

int
link_send(struct link *l, const struct buf *frame)
{
	if (l->down || l->bev == NULL)
		return (-ENOTCONN);
	if (log_enabled(LOG_LVL_DEBUG) && logged_type(l, frame->data[1]))
		log_debug("peer %s <- %s (%zu bytes)", l->name,
		    wire_type_name((uint8_t)frame->data[1]),
		    frame->len - WIRE_HDR_LEN);
	if (bufferevent_write(l->bev, frame->data, frame->len) < 0)
		return (-ENOMEM);
	l->bytes_out += frame->len;
	if (l->env.out_high > 0 && !l->out_full && !l->finishing &&
	    link_pending(l) > l->env.out_high) {
		/* link_write runs once it is down to the low mark. */
		l->out_full = true;
		bufferevent_setwatermark(l->bev, EV_WRITE, l->env.out_high / 2,
		    0);
		update_reading(l);
	}
	return (0);
}

void
link_pause(struct link *l, bool paused)
{
	l->paused = paused;
	update_reading(l);
}

bool
link_out_full(const struct link *l)
{
	return (l->out_full && !l->down);
}

size_t
link_pending(const struct link *l)
{
	return (l->bev ? evbuffer_get_length(bufferevent_get_output(l->bev)) :
	    0);
}

const char *
link_peer(const struct link *l)
{
	return (l->peer);
}

void
link_set_name(struct link *l, const char *name)
{
	(void)str_copy(l->name, sizeof(l->name), name);
}

const struct sockaddr *
link_addr(const struct link *l)
{
	return ((const struct sockaddr *)&l->sa);
}

bool
link_outgoing(const struct link *l)
{
	return (l->outgoing);
}

bool
link_is_up(const struct link *l)
{
	return (l->up && !l->down);
}

void
link_set_owner(struct link *l, void *owner)
{
	l->owner = owner;
}

void *
link_owner(const struct link *l)
{
	return (l->owner);
}

uint64_t
link_bytes_in(const struct link *l)
{
	return (l->bytes_in);
}

uint64_t
link_bytes_out(const struct link *l)
{
	return (l->bytes_out);
}

struct evbuffer *
link_bulk(struct link *l)
{
	return (l->bulk);
}
