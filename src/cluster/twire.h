/*
 * twire: the payloads of the frames between a node and the tracker
 * (WIRE_T_* in wire.h; the framing, TLS and caps are the peer protocol's).
 *
 *   node                                   tracker
 *   T_HELLO id, peer addr, http addr  -->
 *                                     <--  T_WELCOME heartbeat, expiry
 *                                          (or T_REFUSE reason, then close)
 *                                     <--  T_NODES (some live nodes)
 *                                     <--  T_LOCKS reset (the whole table)
 *   T_FILES reset, then more T_FILES  -->  (its files; then each change)
 *   T_BEAT every heartbeat            -->
 *                                     <--  T_BEAT_ACK
 *   T_LOCK_REQ lock/unlock            -->
 *                                     <--  T_LOCK_ANS; T_LOCKS to every node
 *   T_QUERY nodes/files/file/locks    -->
 *                                     <--  T_ANSWER status, JSON
 *   BYE                               -->  (removed at once)
 *
 * Lists (files, nodes, locks) are read one entry at a time with the _next
 * functions, so a frame of thousands of entries needs no big allocation.
 * Every decoder checks what the tracker or node would otherwise trust:
 * paths are normalised and confined (no "..", no control bytes), owners
 * and versions are short printable text, counts are capped.
 */
#ifndef SHOAL_CLUSTER_TWIRE_H
#define SHOAL_CLUSTER_TWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "cluster/wire.h"
#include "net/addr.h"
#include "store/hash.h"
#include "store/path.h"
#include "store/vv.h"

#define TWIRE_PROTO		1
#define TWIRE_FILES_MAX		4096	/* entries in one T_FILES */
#define TWIRE_NODES_MAX		1024	/* entries in one T_NODES */
#define TWIRE_LOCKS_MAX		4096	/* entries in one T_LOCKS */
#define TWIRE_VERSION_MAX	512	/* version text */
#define TWIRE_OWNER_MAX		64
#define TWIRE_MSG_MAX		512
#define TWIRE_JSON_MAX		(WIRE_FRAME_MAX - 64)
#define TWIRE_FLAG_RESET	1	/* T_FILES/T_LOCKS: replaces all */

struct twire_hello {
	uint8_t		id[NODE_ID_LEN];
	char		peer_addr[ADDR_STR_MAX];
	char		http_addr[ADDR_STR_MAX];
};

struct twire_file {
	bool		live;		/* false: no longer held */
	char		path[PATH_LEN_MAX + 1];
	uint64_t	size;
	uint8_t		sha256[HASH_LEN];
	char		version[TWIRE_VERSION_MAX + 1];
};

struct twire_node {
	uint8_t		id[NODE_ID_LEN];
	char		peer_addr[ADDR_STR_MAX];
	char		http_addr[ADDR_STR_MAX];
};

struct twire_lock {
	bool		held;		/* false: released (path only) */
	char		path[PATH_LEN_MAX + 1];
	uint8_t		node[NODE_ID_LEN];
	char		owner[TWIRE_OWNER_MAX + 1];
	uint64_t	token;		/* fencing token, grows per grant */
	uint64_t	expires_wall_ms;	/* for people */
	uint32_t	remaining_ms;	/* for enforcement (no clock skew) */
};

enum twire_lock_op {
	TWIRE_LOCK = 1,
	TWIRE_UNLOCK = 2,
};

struct twire_lock_req {
	uint32_t	req;
	uint8_t		op;		/* enum twire_lock_op */
	char		path[PATH_LEN_MAX + 1];
	char		owner[TWIRE_OWNER_MAX + 1];
	uint32_t	ttl_s;
};

struct twire_lock_ans {
	uint32_t	req;
	uint16_t	status;		/* 0 or a positive errno */
	char		msg[TWIRE_MSG_MAX + 1];
	struct twire_lock lock;		/* the lock as it now stands */
};

enum twire_query_kind {
	TWIRE_Q_NODES = 1,	/* live nodes */
	TWIRE_Q_FILES,		/* files under path, after a path, limit */
	TWIRE_Q_FILE,		/* one path and its holders */
	TWIRE_Q_LOCKS,		/* held locks */
};

struct twire_query {
	uint32_t	req;
	uint8_t		kind;		/* enum twire_query_kind */
	char		path[PATH_LEN_MAX + 1];
	char		after[PATH_LEN_MAX + 1];
	uint32_t	limit;
};

/* Checks shared with the parts that take these values from elsewhere. */
bool	twire_path_ok(const char *path, bool allow_root);
bool	twire_owner_ok(const char *owner);		/* UTF-8 too */
/* Well-formed UTF-8 (what JSON can carry). */
bool	twire_utf8_ok(const char *);
bool	twire_version_ok(const char *version);

/* Encoding: each builds a whole frame into b. */
int	twire_put_hello(struct buf *, const struct twire_hello *);
int	twire_put_welcome(struct buf *, uint32_t heartbeat_ms,
	    uint32_t expire_ms);
int	twire_put_refuse(struct buf *, const char *reason);
int	twire_put_beat(struct buf *, enum wire_type, uint64_t t);
int	twire_put_lock_req(struct buf *, const struct twire_lock_req *);
int	twire_put_lock_ans(struct buf *, const struct twire_lock_ans *);
int	twire_put_query(struct buf *, const struct twire_query *);
int	twire_put_answer(struct buf *, uint32_t req, uint16_t status,
	    const char *json, size_t len);
/* Lists: begin, add entries while they fit (-EMSGSIZE when the frame is
 * full or the count at its cap; the entry is not added), then end. */
struct twire_list {
	struct buf	*b;
	size_t		 count_at;
	uint32_t	 n, max;
};
int	twire_list_begin(struct twire_list *, struct buf *, enum wire_type,
	    uint8_t flags);
int	twire_add_file(struct twire_list *, const struct twire_file *);
int	twire_add_node(struct twire_list *, const struct twire_node *);
int	twire_add_lock(struct twire_list *, const struct twire_lock *);
int	twire_list_end(struct twire_list *);

/* Decoding a payload; each returns 0 or -EPROTO. */
int	twire_get_hello(const uint8_t *, size_t, struct twire_hello *);
int	twire_get_welcome(const uint8_t *, size_t, uint32_t *heartbeat_ms,
	    uint32_t *expire_ms);
int	twire_get_refuse(const uint8_t *, size_t, char *out, size_t size);
int	twire_get_beat(const uint8_t *, size_t, uint64_t *t);
int	twire_get_lock_req(const uint8_t *, size_t, struct twire_lock_req *);
int	twire_get_lock_ans(const uint8_t *, size_t, struct twire_lock_ans *);
int	twire_get_query(const uint8_t *, size_t, struct twire_query *);
/* The JSON is borrowed from the payload (not NUL-terminated). */
int	twire_get_answer(const uint8_t *, size_t, uint32_t *req,
	    uint16_t *status, const char **json, size_t *len);
/* Lists: begin reads flags and the count, then next() count times, then
 * done() (which insists nothing is left over). */
int	twire_list_read(struct wire_rd *, const uint8_t *, size_t,
	    enum wire_type, uint8_t *flags, uint32_t *n);
int	twire_next_file(struct wire_rd *, struct twire_file *);
int	twire_next_node(struct wire_rd *, struct twire_node *);
int	twire_next_lock(struct wire_rd *, struct twire_lock *);

/* A lock for people: {path, holder, owner, token, expires, expires_ms,
 * remaining_s}. */
json_t	*twire_lock_json(const struct twire_lock *);
/* "PATH: locked by NODE8 (OWNER) until 2026-01-02T03:04:05Z" */
void	twire_lock_busy(const struct twire_lock *, char *out, size_t size);
/* Wall-clock ms as ISO 8601 UTC into out[32]. */
void	twire_time(uint64_t wall_ms, char out[32]);

/* The version vector as text: "ID8:COUNTER,..." (ids shortened). */
void	twire_version_text(const struct vv *, char out[TWIRE_VERSION_MAX + 1]);

#endif
