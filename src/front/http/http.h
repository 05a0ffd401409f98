/*
 * http: the node's HTTP endpoint: the REST API (docs/API.md) and the
 * control calls the `shoal` command uses.  HTTP/1.1 with keep-alive; TLS
 * whenever it listens beyond loopback (or http.tls = yes).  Every request
 * is authenticated: HTTP Basic with the node's accounts, or the node's API
 * token (DIR/.shoal/api_token) as a bearer token.
 */
#ifndef SHOAL_FRONT_HTTP_H
#define SHOAL_FRONT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "cluster/twire.h"
#include "cluster/vreq.h"
#include "front/remote.h"

struct auth;
struct cfg;
struct guard;
struct event_base;
struct http_conn;
struct http_server;
struct store;
struct work_pool;

/* What the node answers for the control calls. */
struct http_ctl {
	/* Each returns a new JSON value; status answers through done. */
	void	(*status)(void *arg, void (*done)(void *req, json_t *),
		    void *req);
	json_t	*(*peers)(void *arg);
	int	(*add)(void *arg, const char *addr, char *err, size_t errlen);
	void	(*bye)(void *arg);
	/* Offers path to every member; returns how many it was sent to. */
	int	(*send)(void *arg, const char *path);
	/* Appends Prometheus lines for the node's other parts. */
	void	(*metrics)(void *arg, struct buf *out);
	/* Ids of the live nodes holding path (a JSON array). */
	json_t	*(*holders)(void *arg, const char *path);
	/*
	 * A file not here yet but being fetched: done(cbarg, 0) once it is
	 * here; returns < 0 (and never calls) if no fetch is pending.
	 */
	int	(*await)(void *arg, const char *path,
		    void (*done)(void *, int), void *cbarg);
	/*
	 * Write locks (docs/TRACKER.md).  write_check: may user (NULL: the
	 * node's own token) write path, carrying fencing token (0: none)?
	 * 0, -EBUSY or -ESTALE with the reason in why.
	 */
	int	(*write_check)(void *arg, const char *path, const char *user,
		    uint64_t token, char *why, size_t whylen);
	/* -ENOSYS without a tracker, -ENOTCONN while it is unreachable;
	 * otherwise done runs once (status 0 or a positive errno). */
	int	(*lock)(void *arg, enum twire_lock_op, const char *path,
		    const char *owner, uint32_t ttl_s,
		    void (*done)(void *req, int status, const char *msg,
		    const struct twire_lock *), void *req);
	int	(*tracker_query)(void *arg, enum twire_query_kind,
		    const char *path, const char *after, uint32_t limit,
		    void (*done)(void *req, int status, const char *json,
		    size_t len), void *req);
	/* {"locks": [...]}, or NULL without a tracker. */
	json_t	*(*locks)(void *arg);
	/* replicas = N: pin or unpin path here (0, or -errno). */
	int	(*pin)(void *arg, const char *path, bool pin,
		    void (*done)(void *req, int rc), void *req);
	json_t	*(*pins)(void *arg);
	/* Starts a full scrub now: {"pass": N} (status's scrub.passes_done
	 * reaches N when it is done). */
	json_t	*(*scrub)(void *arg);
	/* Every file with its holders, from this node's catalog:
	 * {"files": [...], "next": ...}, paths after `after` under prefix. */
	json_t	*(*catalog)(void *arg, const char *prefix, const char *after,
		    unsigned limit);
	/* Files held by other nodes, or NULL. */
	const struct remote_reads *remote;
	/*
	 * Write quorum (sync.writes K > 0, else NULL): done(cbarg, 0, got)
	 * once K other nodes hold path with content sha, done(cbarg,
	 * -ETIMEDOUT, got) after sync.write_timeout_ms, got being how many
	 * did.  < 0 (and no call) if the wait cannot start.
	 */
	int	(*wait_copies)(void *arg, const char *path,
		    const uint8_t sha[32], void (*done)(void *, int, unsigned),
		    void *cbarg);
	unsigned sync_writes;
	/*
	 * Versions kept by the other members (cluster/vreq.h): their rows
	 * of path, and the bytes of one version.  NULL: this node alone.
	 */
	int	(*vers_list)(void *arg, const char *path,
		    void (*done)(void *req, struct vreq_rows *), void *req);
	int	(*vers_trash)(void *arg, const char *prefix,
		    void (*done)(void *req, struct vreq_rows *), void *req);
	int	(*vers_fetch)(void *arg, const char *path, const char *id,
		    void (*done)(void *req, int rc, struct buf *data,
		    const uint8_t *sha, const char *node), void *req);
	void	*arg;
};

struct http_opts {
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		*store;
	struct auth		*auth;
	struct guard		*guard;		/* failed-login policy */
	const struct cfg	*cfg;
	const char		*priv_dir;	/* TLS files, API token */
	const char		*token;
	struct http_ctl		 ctl;
	/*
	 * Another protocol over the same connections (S3): its listener and
	 * TLS setting instead of http.listen and http.tls, a name for the
	 * log, and a route that authenticates requests itself, given the
	 * raw head (struct http_conn.head) and bodies up to body_max.
	 * NULL/0: the REST API's.
	 */
	const char		*name;
	const char		*listen;
	const char		*tls_mode;
	void			(*route)(struct http_conn *);
	void			*route_arg;
	size_t			 body_max;
	/* Its answer to what the connections refuse themselves (a bad
	 * head, too busy): the protocol's error document.  NULL: JSON. */
	void			(*error)(struct http_conn *, int status,
				    const char *msg);
	/* The route wants the connections' own login first (HTTP Basic
	 * with the node's accounts, as the REST API has it): WebDAV. */
	bool			 route_login;
};

struct http_server *http_server_new(const struct http_opts *, char *err,
    size_t errlen);
void	http_server_free(struct http_server *);
const char *http_server_addr(const struct http_server *);
/* "http" or "https" */
const char *http_server_scheme(const struct http_server *);
/* Bytes received and sent by the HTTP front end, requests served. */
void	http_server_counters(const struct http_server *, uint64_t *in,
	    uint64_t *out, uint64_t *requests, uint64_t *errors);

#endif
