/*
 * tracker_int: what the tracker's parts share.
 *
 *   tracker.c       links to nodes, registration, heartbeats, expiry, locks
 *   tracker_db.c    the database thread: group-committed writes, queries
 *   tracker_http.c  the read-only JSON API
 *
 * Who is alive and who holds which lock is decided on the event loop, in
 * memory (so a heartbeat costs no database work and two lock requests can
 * never both win); the database keeps what must outlive the process.
 */
#ifndef SHOAL_TRACKER_INT_H
#define SHOAL_TRACKER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "cluster/link.h"
#include "cluster/twire.h"
#include "tracker/tdb.h"
#include "tracker/tracker.h"

#define TRACKER_NODES_SENT	64	/* nodes named to a newcomer */
#define TRACKER_LIST_MAX	5000	/* paths per listing page */
#define TRACKER_NODES_MAX	5000	/* nodes in one T_ANSWER */
/* File lists waiting for the database, in bytes, before the links that
 * send them are no longer read (back pressure bounds the memory). */
#define TRACKER_BACKLOG_MAX	(16u << 20)
#define LOCK_TTL_DEFAULT	600
#define LOCK_TTL_MAX		86400

struct tnode {
	TAILQ_ENTRY(tnode)	 entry;
	struct tnode		*hnext;		/* id hash chain */
	uint8_t			 id[NODE_ID_LEN];
	char			 id_hex[2 * NODE_ID_LEN + 1];
	char			 peer_addr[ADDR_STR_MAX];
	char			 http_addr[ADDR_STR_MAX];
	struct link		*link;		/* NULL: not connected */
	bool			 live;		/* registered since we started */
	uint64_t		 last_heard;	/* monotonic ms */
	int64_t			 registered_ms;	/* wall */
	int64_t			 files;
	uint64_t		 gen;		/* bumps per registration */
	bool			 paused;	/* not read: database behind */
};

struct tlock {
	TAILQ_ENTRY(tlock)	 entry;
	struct twire_lock	 l;		/* remaining_ms unused here */
	uint64_t		 deadline;	/* monotonic ms */
};

/* A link accepted and not yet named by a T_HELLO. */
struct tpend {
	TAILQ_ENTRY(tpend)	 entry;
	struct link		*link;
	uint64_t		 since;	/* monotonic ms */
};

struct tdb_queue;

struct tracker {
	struct tracker_opts	 o;
	struct event_base	*base;
	struct work_pool	*pool;		/* one thread: the database's */
	struct tdb		*db;
	struct tdb_queue	*q;
	SSL_CTX			*server_ctx;
	struct evconnlistener	*listener;
	struct link_env		 env;
	TAILQ_HEAD(, tpend)	 pending;
	TAILQ_HEAD(, tnode)	 nodes;
	struct tnode		**hash;
	unsigned		 hash_size, nnodes;
	TAILQ_HEAD(, tlock)	 locks;
	uint64_t		 token;		/* last fencing token granted */
	struct event		*tick;
	struct evhttp		*http;
	uint64_t		 last_trim;	/* monotonic ms */
	unsigned		 npaused;
};

/* tracker.c */
struct tnode *tracker_node(struct tracker *, const uint8_t id[NODE_ID_LEN]);
void	tracker_node_insert(struct tracker *, struct tnode *);
json_t	*tracker_nodes_json(struct tracker *, unsigned max);
/* The database caught up: read the paused links again. */
void	tracker_resume(struct tracker *);
json_t	*tracker_locks_json(struct tracker *);

/* tracker_db.c: writes are queued and committed in groups, in order. */
struct tdb_queue *tdb_queue_new(struct tracker *);
void	tdb_queue_free(struct tdb_queue *);
/* No write queued or running. */
bool	tdb_idle(const struct tracker *);
/* Bytes of file lists queued or being written. */
size_t	tdb_backlog(const struct tracker *);
/* Loads nodes, their file counts, locks and the token (at start). */
int	tracker_db_load(struct tracker *);
void	tdb_node_put(struct tracker *, const struct tnode *);
/* Whole T_FILES payload, decoded again on the database thread. */
void	tdb_files(struct tracker *, const struct tnode *, const uint8_t *,
	    size_t);
void	tdb_node_del(struct tracker *, const uint8_t id[NODE_ID_LEN]);
/* done(arg, rc) runs once the row is committed (or failed). */
void	tdb_lock_put(struct tracker *, const struct twire_lock *,
	    void (*done)(void *, int), void *arg);
void	tdb_lock_del(struct tracker *, const char *path);
/* Answers a files or file query as JSON: done(arg, status, text). */
void	tdb_query(struct tracker *, uint8_t kind, const char *path,
	    const char *after, uint32_t limit,
	    void (*done)(void *, int status, char *json), void *arg);

/* tracker_http.c */
int	tracker_http_start(struct tracker *, const char *listen, char *err,
	    size_t errlen);
void	tracker_http_stop(struct tracker *);

#endif
