/*
 * node_int: the parts of one running node, shared by its lifecycle
 * (node.c: start-up, shutdown, wiring the modules together) and the calls
 * the front ends make into it (node_ctl.c).  Only the event loop touches a
 * struct node; node_run owns it, on its stack, for the life of the loop.
 */
#ifndef SHOAL_NODE_INT_H
#define SHOAL_NODE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/fspath.h"
#include "front/remote.h"
#include "net/tls.h"
#include "store/store.h"
#include "store/versions.h"

struct auth;
struct buf;
struct cfg;
struct event;
struct event_base;
struct ftp_server;
struct guard;
struct http_ctl;
struct http_server;
struct members;
struct scrub;
struct sync;
struct tclient;
struct vreq;
struct watch;
struct work_pool;

struct node {
	const struct cfg	*cfg;
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		 store;
	bool			 store_ok;
	struct watch		*watch;
	struct auth		*auth;
	struct guard		*guard;		/* failed logins, all fronts */
	struct members		*members;
	struct sync		*sync;
	struct serve		*serve;		/* block requests of members */
	struct scrub		*scrub;		/* rot in the files held here */
	struct vreq		*vreq;		/* versions asked of members */
	struct tclient		*tracker;	/* or NULL */
	struct ftp_server	*ftp;
	struct http_server	*http;
	struct http_server	*s3;		/* or NULL: s3.listen off */
	struct http_server	*dav;		/* or NULL: dav.listen off */
	char			 priv[FS_PATH_MAX];
	uint8_t			 key[TLS_CLUSTER_KEY_LEN];
	char			 token[128];
	unsigned		 replicas;	/* REPLICAS_ALL, N, UNKNOWN */
	struct event		*space_ev;
	struct event		*partial_ev;	/* expires upload partials */
	bool			 partial_busy;	/* its job runs */
	struct event		*vers_ev;	/* prunes versions, trash */
	bool			 vers_busy;	/* its job runs */
	struct vers_stats	 vers_stats;	/* as its last run counted */
	uint64_t		 free_bytes;
	bool			 full;
	bool			 stopping;	/* a signal came: saying so */
	struct remote_reads	 remote;
};

/* node_vers.c: versions.keep, versions.days and trash.days into the store
 * (before it is used); the pruning timer (and a run now: node_vers_tick);
 * the status object of the counts st and their metrics. */
void	node_vers_policy(struct node *n);
int	node_vers_start(struct node *n);
void	node_vers_tick(struct node *n);
struct json_t;
struct json_t *node_vers_json(const struct vers_stats *st);
void	node_vers_metrics(struct node *n, struct buf *b);

/*
 * The control table the HTTP front end calls (status, peers, add, bye,
 * locks, pins, metrics...), every entry bound to n, which must outlive
 * the HTTP server.
 */
void	node_ctl_init(struct node *n, struct http_ctl *ctl);
/* Reads of files held elsewhere, over n's sync (front/remote.h). */
struct remote_reads node_remote_reads(struct node *n);
/* The folder's free space, just measured (on the loop). */
void	node_set_space(struct node *n, uint64_t free_bytes);

/*
 * The hooks FTP is given (arg is the node).  NETS and status: this node
 * and the live members.
 */
unsigned node_network_size(void *arg);
/* The write quorum: K members hold the upload, or an error. */
int	node_wait_copies(void *arg, const char *path,
	    const uint8_t sha[HASH_LEN], void (*done)(void *, int),
	    void *cbarg);
/* May user write path with fencing token?  As http_ctl.write_check:
 * the cluster's locks, then WebDAV's (node_cluster_write_check: the
 * cluster's alone, for the WebDAV server, which checks its own). */
int	node_cluster_write_check(void *arg, const char *path,
	    const char *user, uint64_t token, char *why, size_t whylen);
int	node_write_check(void *arg, const char *path, const char *user,
	    uint64_t token, char *why, size_t whylen);

#endif
