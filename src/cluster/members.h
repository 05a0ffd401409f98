/*
 * members: who is in the cluster, and the links to them.
 *
 * Members come from the PEERS file (DIR/.shoal/peers: host:port [weight]
 * per line, '#' comments), from `shoal add`, and from gossip: every link
 * carries the list of members its end knows, so every node learns every
 * member.  Each node keeps a link to every other live member (a full mesh,
 * so a member leaving never isolates anyone); of two links between the
 * same pair, the one opened by the node with the smaller id is kept.
 *
 * Heartbeats (PING/PONG) go over every link every heartbeat_ms; a member
 * silent for dead_after_ms is marked dead and its link closed, and links
 * are re-opened with exponential backoff, so a restarted member rejoins by
 * itself.  BYE makes the other members drop a member at once.
 *
 * Members are ranked for fetching (members_ranked): by round-trip time,
 * throughput and failures, divided by the configured weight.
 */
#ifndef SHOAL_CLUSTER_MEMBERS_H
#define SHOAL_CLUSTER_MEMBERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "base/buf.h"
#include "cluster/link.h"
#include "cluster/wire.h"
#include "net/addr.h"
#include "store/hash.h"
#include "store/vv.h"

struct members;
struct serve;
struct work_pool;

enum member_state {
	MEMBER_NEW,		/* an address, never reached */
	MEMBER_ALIVE,
	MEMBER_DEAD,
	MEMBER_LEFT,		/* said BYE */
};

/* What moved to or from a member since the last line the log got. */
struct member_tally {
	uint64_t		 files;
	uint64_t		 bytes;
	uint64_t		 first_ms;	/* monotonic, 0: empty */
	uint64_t		 last_ms;
};

#define MEMBER_SENT_RECENT	128

/* What the last dial (or link) met. */
enum member_reach {
	MEMBER_REACH_UNTRIED,
	MEMBER_REACH_NOTHING,		/* nothing listening, no answer */
	MEMBER_REACH_REFUSED,		/* TLS refused: wrong key? */
	MEMBER_REACH_OK,		/* linked */
};

struct member {
	TAILQ_ENTRY(member)	 entry;
	uint8_t			 id[NODE_ID_LEN];
	bool			 id_known;
	char			 id_hex[2 * NODE_ID_LEN + 1];
	char			 addr[ADDR_STR_MAX];	/* its peer listener */
	enum member_state	 state;
	struct link		*link;		/* up, after HELLO */
	struct link		*dialing;	/* our connect in progress */
	uint64_t		 last_heard;	/* monotonic ms */
	uint64_t		 next_dial;
	unsigned		 backoff_ms;
	double			 rtt_ms;	/* moving average */
	double			 mbps;		/* recent fetch throughput */
	unsigned		 failures;	/* bad blocks, failed fetches */
	double			 weight;	/* from the PEERS file */
	uint8_t			 digest[HASH_LEN];
	bool			 digest_known;
	uint32_t		 busy;		/* its fetches in progress */
	/* Placement (replicas = N), from its heartbeats. */
	double			 capacity;	/* weight, default 1 */
	uint64_t		 free_bytes;
	bool			 full;		/* below its free-space floor */
	bool			 short_space;	/* lacks files for lack of room */
	uint64_t		 down_at;	/* monotonic ms it went down */
	struct member_tally	 fetched;	/* from it */
	struct member_tally	 sent;		/* to it */
	/* Files whose blocks it asked for lately (a prefix of their hash):
	 * a file is counted sent once per batch, whatever its blocks. */
	uint8_t			 sent_recent[MEMBER_SENT_RECENT][8];
	unsigned		 sent_next;
	enum member_reach	 reach;		/* the last dial's outcome */
	bool			 reached;	/* linked since the start */
	void			*sync;		/* sync's state for it: one
						 * allocation, freed with m */
};

TAILQ_HEAD(member_list, member);

struct members_cbs {
	void	(*on_up)(struct member *, void *arg);
	void	(*on_down)(struct member *, void *arg);
	/* Frames members does not handle itself (sync's). */
	void	(*on_frame)(struct member *, const struct wire_hdr *,
		    const uint8_t *, void *arg);
	/* Our index digest and whether we are still fetching (heartbeats
	 * carry both, so peers do not mistake a sync in progress for a
	 * disagreement). */
	void	(*digest)(uint8_t out[HASH_LEN], uint32_t *busy, void *arg);
	/* Free space and whether this node is full (heartbeats carry it). */
	void	(*space)(uint64_t *free_bytes, bool *full, bool *short_space,
		    void *arg);
	/* The cluster's replication factor, met in a HELLO while ours was
	 * REPLICAS_UNKNOWN. */
	void	(*learn_replicas)(unsigned replicas, void *arg);
};

/* Copies of each file: 0 is every node; unknown until learned. */
#define REPLICAS_ALL		0
#define REPLICAS_UNKNOWN	0xffff

struct members_opts {
	struct event_base	*base;
	struct work_pool	*pool;
	const char		*priv_dir;	/* DIR/.shoal */
	const uint8_t		*self;		/* node id */
	const uint8_t		*cluster_key;
	const char		*listen;	/* peer listener HOST:PORT */
	unsigned		 heartbeat_ms;
	unsigned		 dead_after_ms;
	uint64_t		 send_limit;	/* bytes/s, 0 = none */
	size_t			 out_high;	/* a link's output mark */
	bool			 log_heartbeats; /* in debug logs */
	/* BLOCK_REQ frames go here (not to cbs.on_frame), with each
	 * member's link going down and draining; borrowed. */
	struct serve		*serve;
	/* VERS_REQ and VERS frames go here, with links going down;
	 * borrowed, may be NULL. */
	struct vreq		*vreq;
	const unsigned		*replicas;	/* the node's, may change */
	double			 capacity;	/* this node's placement weight */
	struct members_cbs	 cbs;
	void			*arg;
};

struct members *members_new(const struct members_opts *, char *err,
    size_t errlen);
void	members_free(struct members *);
/* Adds an address (and remembers it in the PEERS file if remember). */
int	members_add(struct members *, const char *addr, bool remember,
	    char *err, size_t errlen);
/* Tells every member we leave; done runs once the words are sent. */
void	members_bye(struct members *, void (*done)(void *), void *arg);
/* Tells every member this node stops (and will be back): they log it and
 * dial it again later; done runs once the words are sent. */
void	members_stop(struct members *, void (*done)(void *), void *arg);
/*
 * Transfers, for the log: bytes (and whole files) fetched from m, blocks
 * sent to m of the file whose content hash is sha.  The log gets one line
 * per member and direction once a batch has been idle a second, or every
 * ten seconds while it goes on.
 */
void	members_note_fetched(struct member *, uint64_t bytes, unsigned files);
void	members_note_sent(struct member *, const uint8_t sha[HASH_LEN],
	    uint64_t bytes);
/* "never reached", "refused: wrong key?" or "" (reached). */
const char *members_reach_name(enum member_reach);
/* Live members other than this node. */
unsigned members_alive(const struct members *);
/* Bytes received and sent over peer links since start. */
void	members_counters(const struct members *, uint64_t *in, uint64_t *out);
/* Links whose output is above out_high (not read until it drains). */
unsigned members_links_full(const struct members *);
struct member_list *members_list(struct members *);
/* Live members with a link, best first; returns how many (<= max). */
unsigned members_ranked(struct members *, struct member **out, unsigned max);
double	members_score(const struct member *);
struct member *members_find(struct members *, const uint8_t id[NODE_ID_LEN]);
int	members_send(struct member *, const struct buf *frame);
/* The payload of the bulk frame being delivered (see link_bulk). */
struct evbuffer *member_bulk(struct member *);
const char *members_state_name(enum member_state);
const char *members_listen_addr(const struct members *);
void	member_id_hex(const uint8_t id[NODE_ID_LEN], char out[33]);

#endif
