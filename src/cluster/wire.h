/*
 * wire: the peer protocol's frames and the encoding of their payloads.
 *
 * A frame is an 8-byte header and a payload:
 *
 *   0      1      2             4                      8
 *   +------+------+-------------+----------------------+---------------+
 *   | ver  | type | flags (0)   | payload length (BE)  | payload ...   |
 *   +------+------+-------------+----------------------+---------------+
 *
 * wire_frame_check() decides from the header alone whether a frame can be
 * legal (known version and type, length within that type's cap), before a
 * byte of its payload is buffered.  Payload fields are big-endian integers,
 * byte strings with a u32 length and text with a u16 length; the reader
 * fails (and stays failed) on any field that runs past the payload, and
 * wire_rd_done() insists that nothing is left over.
 */
#ifndef SHOAL_CLUSTER_WIRE_H
#define SHOAL_CLUSTER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define WIRE_VERSION	1
#define WIRE_HDR_LEN	8
#define WIRE_FRAME_MAX	(2u << 20)	/* largest payload of any type */

enum wire_type {
	WIRE_HELLO = 1,		/* who I am */
	WIRE_MEMBERS,		/* members I know (gossip) */
	WIRE_PING,		/* heartbeat, with my index digest */
	WIRE_PONG,		/* heartbeat answer */
	WIRE_BYE,		/* I am leaving */
	WIRE_INDEX_REQ,		/* send me your changes since SEQ */
	WIRE_INDEX,		/* changes (answer, or announcement) */
	WIRE_BLOCK_REQ,		/* send me this block */
	WIRE_BLOCK,		/* a block, or why not */
	WIRE_ACK,		/* I hold this version durably */
	/* node <-> tracker (twire.h) */
	WIRE_T_HELLO,		/* node: who I am, where I listen */
	WIRE_T_WELCOME,		/* tracker: registered; heartbeat interval */
	WIRE_T_REFUSE,		/* tracker: not registered, and why */
	WIRE_T_FILES,		/* node: files I hold (or no longer hold) */
	WIRE_T_BEAT,		/* node: heartbeat */
	WIRE_T_BEAT_ACK,	/* tracker: heartbeat answer */
	WIRE_T_NODES,		/* tracker: some live nodes to connect to */
	WIRE_T_LOCKS,		/* tracker: the lock table, or changes to it */
	WIRE_T_LOCK_REQ,	/* node: lock or unlock a path */
	WIRE_T_LOCK_ANS,	/* tracker: the answer */
	WIRE_T_QUERY,		/* node: nodes, files or locks, as JSON */
	WIRE_T_ANSWER,		/* tracker: the JSON answer */
	/* node <-> node again (cluster/vreq.h) */
	WIRE_VERS_REQ,		/* your versions of a path, or some bytes */
	WIRE_VERS,		/* the answer */
	WIRE_TYPE_MAX
};

struct wire_hdr {
	uint8_t		version;
	uint8_t		type;
	uint16_t	flags;
	uint32_t	len;
};

/* Parses hdr[WIRE_HDR_LEN]; -EPROTO (bad version/type/flags) or -EMSGSIZE. */
int	wire_frame_check(const uint8_t *hdr, struct wire_hdr *out)
	    __attribute__((warn_unused_result));
/*
 * Bulk frames (BLOCK) are not copied into one piece on arrival: their
 * payload is handed over as an evbuffer (link_bulk), so block data moves
 * from socket to disk without extra copies.
 */
#define wire_is_bulk(type)	((type) == WIRE_BLOCK)
/* Largest legal payload for a type (0 for an unknown one). */
uint32_t wire_max_len(uint8_t type);
const char *wire_type_name(uint8_t type);

/* Writing: a frame is built in a buf; wire_end patches the length. */
int	wire_begin(struct buf *, enum wire_type) __attribute__((warn_unused_result));
int	wire_end(struct buf *) __attribute__((warn_unused_result));
int	wire_u8(struct buf *, uint8_t);
int	wire_u16(struct buf *, uint16_t);
int	wire_u32(struct buf *, uint32_t);
int	wire_u64(struct buf *, uint64_t);
int	wire_bytes(struct buf *, const void *, uint32_t);
int	wire_fixed(struct buf *, const void *, size_t);	/* no length */
int	wire_str(struct buf *, const char *);

/* Reading a payload. */
struct wire_rd {
	const uint8_t	*p;
	size_t		 len;
	bool		 bad;
};

void	wire_rd_init(struct wire_rd *, const void *, size_t);
uint8_t	wire_get_u8(struct wire_rd *);
uint16_t wire_get_u16(struct wire_rd *);
uint32_t wire_get_u32(struct wire_rd *);
uint64_t wire_get_u64(struct wire_rd *);
/* Borrows the next n bytes (NULL and bad if fewer are left). */
const uint8_t *wire_get_fixed(struct wire_rd *, size_t n);
/* A u32-length byte string of at most max bytes; borrowed. */
const uint8_t *wire_get_bytes(struct wire_rd *, uint32_t max, uint32_t *len);
/* A u16-length string of at most max bytes, copied NUL-terminated into
 * out[max + 1]; text with a NUL byte is bad. */
int	wire_get_str(struct wire_rd *, char *out, size_t max);
/* 0 if every field was read and nothing is left, else -EPROTO. */
int	wire_rd_done(const struct wire_rd *) __attribute__((warn_unused_result));

#endif
