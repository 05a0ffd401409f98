/*
 * ingest: streams bytes arriving on the loop into an upload (store/upload.h)
 * on the worker pool, for the front ends.
 *
 * Each chunk is handled by two jobs at once, one writing it and hashing the
 * whole file, one hashing its blocks, so the two SHA-256 passes use two
 * cores.  One chunk is in flight at a time: while ingest_busy() the caller
 * leaves new bytes where they are (its socket buffer fills and the sender
 * slows down).  ingest_finish() flushes and commits; on_done reports the
 * outcome once, after which the ingest is gone.  ingest_cancel() drops
 * everything (the temp file is removed) and calls nothing back.
 */
#ifndef SHOAL_FRONT_INGEST_H
#define SHOAL_FRONT_INGEST_H

#include <stdbool.h>
#include <stdint.h>

struct evbuffer;
struct ingest;
struct iovec;
struct upload;
struct work_pool;

struct ingest_cbs {
	/* A chunk is written: more may be pushed. */
	void	(*on_drained)(void *arg);
	/* Committed (rc 0, sha of the file), kept (INGEST_KEPT) or failed
	 * (rc < 0). */
	void	(*on_done)(void *arg, int rc, const uint8_t sha[32]);
};

/* Takes ownership of up. */
struct ingest *ingest_new(struct work_pool *, struct upload *,
    const struct ingest_cbs *, void *arg);
/* Moves every byte of in into the pipeline; only when !ingest_busy. */
int	ingest_push(struct ingest *, struct evbuffer *in);
bool	ingest_busy(const struct ingest *);
uint64_t ingest_bytes(const struct ingest *);
void	ingest_finish(struct ingest *);
/*
 * As ingest_finish, but what was received is kept as the upload's partial
 * (upload_suspend) instead of committed: on_done gets INGEST_KEPT.
 */
void	ingest_finish_keep(struct ingest *);
#define INGEST_KEPT	1
/*
 * A third job over each chunk, beside the two hashing ones: fn(arg, the
 * chunk's pieces) on the pool (a front end's own sums).  The ingest takes
 * arg and frees it with free_fn when it goes; the caller may read it only
 * while !ingest_busy.  Before the first push.
 */
void	ingest_set_extra(struct ingest *,
	    void (*fn)(void *arg, const struct iovec *, int n), void *arg,
	    void (*free_fn)(void *));
/* The attributes the commit gives the file (upload_set_attrs); only
 * when !ingest_busy, before ingest_finish. */
int	ingest_set_attrs(struct ingest *, const void *, size_t)
	    __attribute__((warn_unused_result));
void	ingest_cancel(struct ingest *);

#endif
