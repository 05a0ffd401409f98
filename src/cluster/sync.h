/*
 * sync: keeps this node's files in step with every other member's.
 *
 * Index exchange: when a member comes up each side asks the other for its
 * whole index (INDEX_REQ 0) and every change made here is announced at
 * once (INDEX).  An entry from a peer is compared with the local row by
 * version vector: older or equal is ignored, newer is applied (a folder, a
 * deletion, or a file to fetch), concurrent is a conflict: the version
 * with the later mtime (then the higher node id) wins on every node, and
 * the loser is kept beside it as NAME.sync-conflict-YYYYMMDD-HHMMSS-NODE.EXT.
 *
 * Fetching (pull.c): a file is assembled block by block from every member
 * that announced the same content, in priority order, several blocks in
 * flight per member; each block is checked against its SHA-256; a bad one
 * is fetched again elsewhere and its sender ranked down.
 *
 * Consistency: heartbeats carry each node's index digest.  A node that
 * disagrees with more than (1 - threshold) of the live members asks the
 * majority for their whole index again, which merges by the same rules,
 * so its own changes are kept and sent on.  A member short of space
 * (heartbeat flag) is not counted against the majority; resyncs are at
 * most one in 30 s, logged with the members that differed, and one is not
 * repeated while neither index changed.
 *
 * Write quorum: sync_wait() tells when K members acknowledged holding a
 * version durably (ACK frames sent after each fetch commits).
 */
#ifndef SHOAL_CLUSTER_SYNC_H
#define SHOAL_CLUSTER_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/members.h"
#include "store/hash.h"
#include "store/path.h"

struct sync;
struct store;
struct work_pool;

struct sync_opts {
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		*store;
	struct members		*members;
	double			 threshold;	/* consistency, e.g. 0.7 */
	const unsigned		*replicas;	/* REPLICAS_ALL, N, UNKNOWN */
	double			 capacity;	/* this node's placement weight */
	unsigned		 repair_delay_ms;
	unsigned		 read_keep_ms;	/* a copy fetched for a read */
	/* The index changed (on the loop, after the change committed). */
	void			(*changed)(void *);
	/*
	 * May a change to path made by node writer be applied here (write
	 * locks)?  NULL: always.  A refused change is taken up again at the
	 * next index exchange or resync.
	 */
	bool			(*allow)(void *, const char *path,
				    const uint8_t writer[NODE_ID_LEN]);
	/* The cluster's replicas, learned from a member (see members.h). */
	void			(*learned)(void *, unsigned replicas);
	void			*hook_arg;
};

/*
 * A wave: fetches that follow one another with no pause, from the first
 * until none is left (PULL_WAVE_SYNC: catching up with the members;
 * PULL_WAVE_REPAIR: copies the repair walk asked for).  What is left of
 * the current one, for status; each wave of some size is logged when it
 * starts and when it ends.
 */
enum pull_wave_kind {
	PULL_WAVE_SYNC,
	PULL_WAVE_REPAIR,
	PULL_WAVES,
};

struct pull_progress {
	bool		 active;
	bool		 join;		/* the first catch-up of a new node */
	uint64_t	 files_total;	/* in this wave so far */
	uint64_t	 files_to_go;
	uint64_t	 bytes_total;
	uint64_t	 bytes_to_go;
	uint64_t	 elapsed_ms;
	double		 rate;		/* bytes/s since the wave started */
};

struct sync_stats {
	/* catch-up and repair in progress (see pull.h) */
	struct pull_progress progress[PULL_WAVES];
	unsigned	 pulls_active;
	unsigned	 pulls_queued;
	unsigned	 pulls_waiting;	/* no holder could serve: retried later */
	uint64_t	 files_fetched;
	uint64_t	 bytes_fetched;
	uint64_t	 bytes_reused;
	uint64_t	 conflicts;
	uint64_t	 bad_blocks;
	unsigned	 agree;		/* live members with our digest */
	unsigned	 alive;
	uint64_t	 resyncs;
	/* replicas = N (see repair.c), as of the last check */
	uint64_t	 files;		/* live files in the namespace */
	uint64_t	 held;		/* of which a copy is here */
	uint64_t	 under;		/* with fewer than N live copies */
	uint64_t	 repair_bytes;	/* bytes of the copies missing */
	uint64_t	 unavailable;	/* with no live copy */
	uint64_t	 repairs;	/* copies made here by repair */
	uint64_t	 drops;		/* copies dropped here */
	/* replicas = all: files with no copy here for lack of room */
	uint64_t	 missing_files;
	uint64_t	 missing_bytes;
	bool		 space_short;
};

struct sync *sync_new(const struct sync_opts *);
/* members is made after sync (each calls the other). */
void	sync_set_members(struct sync *, struct members *);
void	sync_free(struct sync *);
/* members callbacks */
void	sync_member_up(struct member *, void *sync);
void	sync_member_down(struct member *, void *sync);
void	sync_frame(struct member *, const struct wire_hdr *, const uint8_t *,
	    void *sync);
void	sync_digest(uint8_t out[HASH_LEN], uint32_t *busy, void *sync);
void	sync_space(uint64_t *free_bytes, bool *full, bool *short_space,
	    void *sync);
void	sync_learn_replicas(unsigned replicas, void *sync);
void	sync_get_stats(struct sync *, struct sync_stats *);
/*
 * SEND: offers path's current version to every live member, each of which
 * takes it if it lacks it or holds an older one.  Returns how many members
 * it was offered to.
 */
int	sync_offer(struct sync *, const char *path);
/*
 * Calls done(arg, 0) once `need` members hold path with content sha
 * durably, or done(arg, -ETIMEDOUT) after timeout_ms.
 */
/*
 * A reader of a file this node is still fetching: done(arg, 0) once it is
 * here, done(arg, -ETIMEDOUT) after timeout_ms; -ENOENT at once (and no
 * call) if no fetch of path is pending.
 */
int	sync_await_fetch(struct sync *, const char *path, unsigned timeout_ms,
	    void (*done)(void *, int), void *arg);
int	sync_wait(struct sync *, const char *path, const uint8_t sha[HASH_LEN],
	    unsigned need, unsigned timeout_ms, void (*done)(void *, int),
	    void *arg);
/* The same, telling done how many members did acknowledge. */
int	sync_wait_count(struct sync *, const char *path,
	    const uint8_t sha[HASH_LEN], unsigned need, unsigned timeout_ms,
	    void (*done)(void *, int, unsigned got), void *arg);

/*
 * replicas = N
 */
/*
 * This node's free space and its floor (store.min_free_mb): below it the
 * node is full (placement skips it); with replicas = all, fetches only
 * take the room above it, and what does not fit is held elsewhere until
 * it does (status: missing_files, missing_bytes, space_short).
 */
void	sync_set_space(struct sync *, uint64_t free_bytes, uint64_t floor);
/*
 * This node's copy of path (content sha) was set aside (rot): fetch the
 * same version again from the members holding it now, rather than at the
 * next repair walk.
 */
void	sync_fetch_copy(struct sync *, const char *path,
	    const uint8_t sha[HASH_LEN]);
/* Pins (persisted by the caller in the index). */
int	sync_pin(struct sync *, const char *path, bool pin);
void	sync_pins(struct sync *, void (*fn)(const char *, void *), void *arg);
/* fn for up to max files with no live copy. */
void	sync_unavailable(struct sync *, size_t max,
	    void (*fn)(const char *path, void *), void *arg);
/*
 * The holders of path that this node knows of: ids (hex) of members that
 * announced its current version, with whether each is alive.  Calls fn
 * for each; returns -ENOENT if path is no live file.
 */
int	sync_holders(struct sync *, const char *path,
	    void (*fn)(const char *id_hex, bool alive, void *), void *arg);

/*
 * Up to limit live files under prefix ("" for all) with paths after
 * `after`, in path order; returns 1 if more follow.
 */
int	sync_catalog_page(struct sync *, const char *prefix, const char *after,
	    unsigned limit, void (*fn)(const char *path, uint64_t size,
	    const uint8_t sha[HASH_LEN], const char *version, void *),
	    void *arg);

/*
 * Reading a file this node holds no copy of: it is fetched from the live
 * holders (best first, every block checked) into a partial file, and the
 * reader follows as the blocks arrive in order.  ready(arg) runs each time
 * more bytes can be read (sync_reader_avail); failed(arg, why) once if the
 * file cannot be had.  -EHOSTUNREACH at once (why filled) when no live
 * member holds it; -ENOENT if path is no file held elsewhere.
 */
struct sync_reader;
int	sync_read_open(struct sync *, const char *path,
	    void (*ready)(void *), void (*failed)(void *, const char *why),
	    void *arg, struct sync_reader **out, char *why, size_t whylen);
/* The partial file (owned by the reader) and how many bytes of it,
 * from the start, are verified; *size is the file's size.  fd is -1
 * until the first ready. */
int	sync_reader_avail(const struct sync_reader *, uint64_t *avail,
	    uint64_t *size);
void	sync_read_close(struct sync_reader *);

#endif
