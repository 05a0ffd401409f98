/*
 * work: a fixed pool of threads for disk, hashing and SQLite work, so the
 * event loop never blocks on them.
 *
 * work_submit() queues fn(arg) for a pool thread; when it returns, done(arg)
 * runs on the loop thread that owns the pool.  Jobs run in no particular
 * order: a caller that needs ordering keeps one job in flight at a time.
 * The pool never frees arg: done owns it again.
 *
 * Ownership: a job carries copies of what fn reads and slots for what fn
 * writes.  Only the loop touches sessions, connections, transfers and
 * struct sync; fn never dereferences them, and its results reach them in
 * done, on the loop.  A counter a job updates is an atomic or travels back
 * with the result.  make test runs a ThreadSanitizer build to hold this.
 */
#ifndef SHOAL_BASE_WORK_H
#define SHOAL_BASE_WORK_H

struct event_base;
struct work_pool;

typedef void (*work_fn)(void *arg);

/* nthreads <= 0 means one per CPU, at least two. */
struct work_pool *work_pool_new(struct event_base *, int nthreads);
/* Finishes queued jobs (their done callbacks are not run), joins threads. */
void	work_pool_free(struct work_pool *);
int	work_submit(struct work_pool *, work_fn fn, work_fn done, void *arg)
	    __attribute__((warn_unused_result));
/* Jobs queued or running, for status output. */
unsigned work_pending(struct work_pool *);

#endif
