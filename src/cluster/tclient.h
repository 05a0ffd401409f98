/*
 * tclient: a node's link to the tracker (docs/TRACKER.md).
 *
 * It registers the node (id, peer and HTTP addresses), sends the node's
 * whole file list and then each change as it is committed, heartbeats at
 * the interval the tracker asks for, adds the nodes the tracker names as
 * members (so no PEERS file is needed), keeps the lock table the tracker
 * pushes, and carries lock requests and questions.  When the tracker is
 * away the node keeps working with the members it knows; the link is
 * re-opened with backoff and everything is sent again.
 */
#ifndef SHOAL_CLUSTER_TCLIENT_H
#define SHOAL_CLUSTER_TCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/locks.h"
#include "cluster/twire.h"

struct event_base;
struct index;
struct members;
struct tclient;
struct work_pool;

struct tclient_opts {
	struct event_base	*base;
	struct work_pool	*pool;
	struct index		*index;
	struct members		*members;
	const uint8_t		*self;		/* node id */
	const uint8_t		*cluster_key;
	const char		*tracker;	/* HOST:PORT */
	const char		*peer_addr;	/* what the node listens on */
	const char		*http_addr;
	bool			 log_heartbeats; /* in debug logs */
};

struct tclient *tclient_new(const struct tclient_opts *, char *err,
    size_t errlen);
void	tclient_free(struct tclient *);
/* The index changed: send what is new. */
void	tclient_changed(struct tclient *);
/* Tells the tracker this node leaves (so it is dropped at once). */
void	tclient_bye(struct tclient *);
bool	tclient_up(const struct tclient *);
const char *tclient_addr(const struct tclient *);
struct locks *tclient_locks(struct tclient *);

/*
 * Requests; -ENOTCONN at once (no callback) when the tracker is not
 * reachable.  Otherwise the callback runs exactly once: with the answer,
 * or with status ETIMEDOUT/ENOTCONN (lock) or 504/503 (query).
 */
typedef void (*tclient_lock_cb)(void *arg, int status, const char *msg,
    const struct twire_lock *);
int	tclient_lock(struct tclient *, enum twire_lock_op, const char *path,
	    const char *owner, uint32_t ttl_s, tclient_lock_cb, void *arg);
typedef void (*tclient_answer_cb)(void *arg, int status, const char *json,
    size_t len);
int	tclient_query(struct tclient *, enum twire_query_kind,
	    const char *path, const char *after, uint32_t limit,
	    tclient_answer_cb, void *arg);

#endif
