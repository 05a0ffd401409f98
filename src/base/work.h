/*
 * work: a fixed pool of threads for disk, hashing and SQLite work, so the
 * event loop never blocks on them.
 *
 * work_submit() queues fn(arg) for a pool thread; when it returns, done(arg)
 * runs on the loop thread that owns the pool.  Jobs run in no particular
 * order: a caller that needs ordering keeps one job in flight at a time.
 * The pool never frees arg: done owns it again.
 *
 * Ownership, the one rule: a job carries copies of what its function reads
 * and slots for what it writes; only the event loop touches sessions,
 * connections, transfers and struct sync; results come back to the loop
 * (in done).  A counter a job bumps is an atomic, or travels back in the
 * job and is added up in done.  make test runs a ThreadSanitizer build to
 * hold this.
 *
 * The queue is bounded.  A new request of a client (an FTP command, an
 * HTTP request) goes through work_submit_client(), which refuses it with
 * -EBUSY once queue_max jobs wait for a thread: the front end answers
 * "busy" (FTP 421/450, HTTP 503) rather than let the queue grow.  The rest
 * goes through work_submit() and is never refused for being over
 * queue_max: the node's own work (sync, pulls, serving blocks, repair,
 * scans) and the later jobs of a transfer already under way.  That share
 * above queue_max is bounded by its callers' windows (one or two jobs per
 * transfer, within the session and connection caps; at most 64 pulls,
 * with a window of blocks per holder; the serve window per member), so a
 * crowd of clients cannot starve the cluster, nothing the cluster needs
 * is dropped, and an accepted transfer is not cut halfway.
 */
#ifndef SHOAL_BASE_WORK_H
#define SHOAL_BASE_WORK_H

struct event_base;
struct work_pool;

typedef void (*work_fn)(void *arg);

/* nthreads <= 0 means one per CPU, at least two. */
struct work_pool *work_pool_new(struct event_base *, int nthreads);
/* Most jobs waiting for a thread before client work is refused; 0 (the
 * default) means no limit. */
void	work_set_queue_max(struct work_pool *, unsigned);
/*
 * Finishes queued and running jobs (their done callbacks are not run) and
 * joins the threads; later submits fail with -ESHUTDOWN.  Shutdown calls
 * it before freeing anything a job may use.
 */
void	work_pool_drain(struct work_pool *);
/* Drains (if not done yet), then frees. */
void	work_pool_free(struct work_pool *);
/* Refused only when out of memory (-ENOMEM) or drained (-ESHUTDOWN). */
int	work_submit(struct work_pool *, work_fn fn, work_fn done, void *arg)
	    __attribute__((warn_unused_result));
/* A client's new request: also -EBUSY when queue_max jobs already wait. */
int	work_submit_client(struct work_pool *, work_fn fn, work_fn done,
	    void *arg) __attribute__((warn_unused_result));
/* Jobs queued or running, for status output. */
unsigned work_pending(struct work_pool *);

struct work_stats {
	unsigned		 queued;	/* waiting for a thread */
	unsigned		 running;
	unsigned		 queue_max;	/* 0: no limit */
	unsigned long long	 refused;	/* client jobs refused */
};
void	work_get_stats(struct work_pool *, struct work_stats *);

#endif
