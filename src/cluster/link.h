/*
 * link: one TLS connection to a peer, carrying frames (see wire.h).
 *
 * A link reports upward by callbacks: on_up once the TLS handshake has
 * proved the peer holds the cluster key, on_frame for each complete legal
 * frame, on_down exactly once when it ends (after which the link must not
 * be used; it is freed by the link module itself, later, never inside a
 * callback of its own).  A frame header that is not legal ends the link
 * before any of its payload is buffered.
 */
#ifndef SHOAL_CLUSTER_LINK_H
#define SHOAL_CLUSTER_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "base/buf.h"
#include "cluster/wire.h"
#include "net/addr.h"

struct link;
struct ev_token_bucket_cfg;
struct bufferevent_rate_limit_group;

/*
 * on_frame gets the payload as one piece, except for bulk frames (see
 * wire_is_bulk) where payload is NULL and link_bulk() holds it for the
 * duration of the callback (the callee may move bytes out of it).
 */
struct link_cbs {
	void	(*on_up)(struct link *, void *arg);
	void	(*on_frame)(struct link *, const struct wire_hdr *,
		    const uint8_t *payload, void *arg);
	void	(*on_down)(struct link *, const char *why, void *arg);
	/* Optional: the output went above out_high and is now down to half
	 * of it (reading resumed, unless the owner paused the link). */
	void	(*on_drain)(struct link *, void *arg);
};

struct link_env {
	struct event_base			*base;
	SSL_CTX					*client_ctx;
	SSL_CTX					*server_ctx;
	struct bufferevent_rate_limit_group	*send_limit;	/* or NULL */
	bool					 small;	/* small frames only */
	size_t					 out_high;	/* 0: none */
	bool					 log_heartbeats; /* debug */
	struct link_cbs				 cbs;
	void					*arg;
};

struct link *link_connect(const struct link_env *, const struct sockaddr *);
struct link *link_accept(const struct link_env *, evutil_socket_t,
    const struct sockaddr *);
/* Queues a finished frame (wire_end done).  -ENOTCONN once down. */
int	link_send(struct link *, const struct buf *frame);
/* Stops (or resumes) reading from the link: back pressure.  Reading also
 * stops by itself while more than env.out_high bytes wait to be sent, and
 * resumes once half of them are. */
void	link_pause(struct link *, bool paused);
/* More than out_high bytes wait to be sent (reading is stopped). */
bool	link_out_full(const struct link *);
/* Bytes queued and not yet sent. */
size_t	link_pending(const struct link *);
/* Ends the link; on_down runs (once) with why. */
void	link_close(struct link *, const char *why);
/* Stops reading and ends the link once what is queued has been sent (a
 * last word, such as a refusal, reaches the other end). */
void	link_finish(struct link *, const char *why);
const char *link_peer(const struct link *);
/* What the log calls the link (its address until named, e.g. by the
 * member it turned out to be). */
#define LINK_NAME_MAX	(ADDR_STR_MAX + 48)
void	link_set_name(struct link *, const char *);
const struct sockaddr *link_addr(const struct link *);
bool	link_outgoing(const struct link *);
bool	link_is_up(const struct link *);
void	link_set_owner(struct link *, void *);
void	*link_owner(const struct link *);
uint64_t link_bytes_in(const struct link *);
uint64_t link_bytes_out(const struct link *);
struct evbuffer *link_bulk(struct link *);

#endif
