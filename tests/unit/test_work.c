/*
 * Tests for work: the thread pool that keeps disk and hashing work off the
 * event loop.
 *
 * What the node relies on: every job's fn runs exactly once, on a pool
 * thread, and its done runs exactly once, on the loop thread, after fn and
 * seeing fn's results; a done callback may queue the next job; freeing the
 * pool finishes queued work without calling done; past queue_max a
 * client's job is refused with -EBUSY (and nothing grows), while the
 * node's own work still goes in.  Loops run under a
 * deadline timer, so a lost wake-up fails the test instead of hanging it.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "base/work.h"

#define DEADLINE_SEC	10	/* under meson's 30 s test timeout */

struct job_rec {
	struct test_ctx	*ctx;
	unsigned	 index;
	atomic_int	 fn_runs;
	atomic_int	 done_runs;
	pthread_t	 fn_thread;
	uint64_t	 result;	/* written by fn, read by done */
	bool		 done_saw_result;
	bool		 done_on_loop;
};

struct test_ctx {
	struct event_base	*base;
	struct work_pool	*pool;
	pthread_t		 loop_thread;
	unsigned		 ndone;
	unsigned		 want;
	bool			 timed_out;
	unsigned		 chain_left;
};

static uint64_t
square(unsigned i)
{
	return ((uint64_t)i * i + 1);
}

static void
job_fn(void *arg)
{
	struct job_rec *r = arg;

	atomic_fetch_add(&r->fn_runs, 1);
	r->fn_thread = pthread_self();
	r->result = square(r->index);
}

static void
job_done(void *arg)
{
	struct job_rec *r = arg;
	struct test_ctx *ctx = r->ctx;

	atomic_fetch_add(&r->done_runs, 1);
	r->done_on_loop = pthread_equal(pthread_self(), ctx->loop_thread);
	r->done_saw_result = atomic_load(&r->fn_runs) == 1 &&
	    r->result == square(r->index);
	if (++ctx->ndone == ctx->want)
		event_base_loopbreak(ctx->base);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct test_ctx *ctx = arg;

	(void)fd;
	(void)what;
	ctx->timed_out = true;
	event_base_loopbreak(ctx->base);
}

/* Runs the loop until ctx->want done callbacks ran, or the deadline. */
static void
run_loop(struct test_ctx *ctx)
{
	struct timeval tv = { DEADLINE_SEC, 0 };
	struct event *deadline;

	deadline = evtimer_new(ctx->base, on_deadline, ctx);
	assert_non_null(deadline);
	assert_int_equal(evtimer_add(deadline, &tv), 0);
	while (ctx->ndone < ctx->want && !ctx->timed_out)
		assert_true(event_base_loop(ctx->base, EVLOOP_ONCE) >= 0);
	event_free(deadline);
	assert_false(ctx->timed_out);
}

static void
setup_ctx(struct test_ctx *ctx, int nthreads)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->base = event_base_new();
	assert_non_null(ctx->base);
	ctx->loop_thread = pthread_self();
	ctx->pool = work_pool_new(ctx->base, nthreads);
	assert_non_null(ctx->pool);
}

static void
teardown_ctx(struct test_ctx *ctx)
{
	work_pool_free(ctx->pool);
	event_base_free(ctx->base);
}

static void
check_jobs(struct job_rec *recs, unsigned n, pthread_t loop_thread)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		assert_int_equal(atomic_load(&recs[i].fn_runs), 1);
		assert_int_equal(atomic_load(&recs[i].done_runs), 1);
		assert_false(pthread_equal(recs[i].fn_thread, loop_thread));
		assert_true(recs[i].done_on_loop);
		assert_true(recs[i].done_saw_result);
	}
}

static void
run_many(int nthreads, unsigned n)
{
	struct job_rec *recs;
	struct test_ctx ctx;
	unsigned i;

	setup_ctx(&ctx, nthreads);
	recs = calloc(n, sizeof(*recs));
	assert_non_null(recs);
	ctx.want = n;
	for (i = 0; i < n; i++) {
		recs[i].ctx = &ctx;
		recs[i].index = i;
		assert_int_equal(work_submit(ctx.pool, job_fn, job_done,
		    &recs[i]), 0);
	}
	run_loop(&ctx);
	assert_int_equal(ctx.ndone, n);
	check_jobs(recs, n, ctx.loop_thread);
	assert_int_equal(work_pending(ctx.pool), 0);
	teardown_ctx(&ctx);
	free(recs);
}

static void
test_single_job(void **state)
{
	(void)state;
	run_many(1, 1);
}

static void
test_many_jobs(void **state)
{
	(void)state;
	run_many(4, 1000);
}

/* nthreads <= 0 picks a count from the CPUs; the jobs still all run. */
static void
test_default_thread_count(void **state)
{
	(void)state;
	run_many(0, 200);
}

/*
 * A caller that needs ordering keeps one job in flight and submits the
 * next from done, on the loop thread.
 */
static void
chain_done(void *arg)
{
	struct job_rec *r = arg;
	struct test_ctx *ctx = r->ctx;

	job_done(arg);
	if (ctx->chain_left > 0) {
		ctx->chain_left--;
		r[1].ctx = ctx;
		r[1].index = r->index + 1;
		assert_int_equal(work_pending(ctx->pool), 0);
		assert_int_equal(work_submit(ctx->pool, job_fn, chain_done,
		    &r[1]), 0);
	}
}

static void
test_chain_from_done(void **state)
{
	enum { N = 100 };
	struct job_rec *recs;
	struct test_ctx ctx;

	(void)state;
	setup_ctx(&ctx, 3);
	recs = calloc(N, sizeof(*recs));
	assert_non_null(recs);
	ctx.want = N;
	ctx.chain_left = N - 1;
	recs[0].ctx = &ctx;
	assert_int_equal(work_submit(ctx.pool, job_fn, chain_done, &recs[0]),
	    0);
	run_loop(&ctx);
	assert_int_equal(ctx.ndone, N);
	check_jobs(recs, N, ctx.loop_thread);
	teardown_ctx(&ctx);
	free(recs);
}

/* A job without a done callback still runs and is no longer pending. */
static void
test_no_done_callback(void **state)
{
	struct job_rec rec, last;
	struct test_ctx ctx;

	(void)state;
	setup_ctx(&ctx, 1);
	memset(&rec, 0, sizeof(rec));
	memset(&last, 0, sizeof(last));
	rec.ctx = last.ctx = &ctx;
	last.index = 1;
	ctx.want = 1;
	assert_int_equal(work_submit(ctx.pool, job_fn, NULL, &rec), 0);
	/* One thread takes jobs in order, so this one finishes after rec. */
	assert_int_equal(work_submit(ctx.pool, job_fn, job_done, &last), 0);
	run_loop(&ctx);
	assert_int_equal(atomic_load(&rec.fn_runs), 1);
	assert_int_equal(atomic_load(&rec.done_runs), 0);
	assert_int_equal(atomic_load(&last.done_runs), 1);
	assert_int_equal(work_pending(ctx.pool), 0);
	teardown_ctx(&ctx);
}

/*
 * At shutdown, queued jobs still run (a queued write is not lost), but no
 * done callback runs: the loop that would own the result is going away.
 */
static void
test_free_finishes_queued(void **state)
{
	enum { N = 200 };
	struct job_rec *recs;
	struct test_ctx ctx;
	unsigned i;

	(void)state;
	setup_ctx(&ctx, 2);
	recs = calloc(N, sizeof(*recs));
	assert_non_null(recs);
	for (i = 0; i < N; i++) {
		recs[i].ctx = &ctx;
		recs[i].index = i;
		assert_int_equal(work_submit(ctx.pool, job_fn, job_done,
		    &recs[i]), 0);
	}
	work_pool_free(ctx.pool);
	for (i = 0; i < N; i++) {
		assert_int_equal(atomic_load(&recs[i].fn_runs), 1);
		assert_int_equal(atomic_load(&recs[i].done_runs), 0);
	}
	event_base_free(ctx.base);
	free(recs);
}

/* A job that holds its thread until the test opens the gate. */
static atomic_bool gate_open;

static void
gated_fn(void *arg)
{
	struct timespec ts = { 0, 1000000 };

	while (!atomic_load(&gate_open))
		nanosleep(&ts, NULL);
	job_fn(arg);
}

static void
wait_running(struct work_pool *wp, unsigned n)
{
	struct timespec ts = { 0, 1000000 };
	struct work_stats st;
	int i;

	for (i = 0; i < DEADLINE_SEC * 1000; i++) {
		work_get_stats(wp, &st);
		if (st.running == n)
			return;
		nanosleep(&ts, NULL);
	}
	fail_msg("%u jobs never ran", n);
}

static void
test_queue_max_refuses_client_work(void **state)
{
	enum { MAX = 3 };
	struct job_rec recs[MAX + 3];
	struct work_stats st;
	struct test_ctx ctx;
	unsigned i;

	(void)state;
	memset(recs, 0, sizeof(recs));
	atomic_store(&gate_open, false);
	setup_ctx(&ctx, 1);
	work_set_queue_max(ctx.pool, MAX);
	for (i = 0; i < MAX + 3; i++) {
		recs[i].ctx = &ctx;
		recs[i].index = i;
	}
	/* The only thread is held: whatever comes next waits. */
	assert_int_equal(work_submit_client(ctx.pool, gated_fn, job_done,
	    &recs[0]), 0);
	wait_running(ctx.pool, 1);
	for (i = 1; i <= MAX; i++)
		assert_int_equal(work_submit_client(ctx.pool, job_fn,
		    job_done, &recs[i]), 0);
	/* Full: the next client job is refused, again and again. */
	assert_int_equal(work_submit_client(ctx.pool, job_fn, job_done,
	    &recs[MAX + 1]), -EBUSY);
	assert_int_equal(work_submit_client(ctx.pool, job_fn, job_done,
	    &recs[MAX + 1]), -EBUSY);
	/* The node's own work takes the share above the limit. */
	assert_int_equal(work_submit(ctx.pool, job_fn, job_done,
	    &recs[MAX + 2]), 0);
	work_get_stats(ctx.pool, &st);
	assert_int_equal(st.queued, MAX + 1);
	assert_int_equal(st.running, 1);
	assert_int_equal(st.queue_max, MAX);
	assert_int_equal(st.refused, 2);
	assert_int_equal(atomic_load(&recs[MAX + 1].fn_runs), 0);

	atomic_store(&gate_open, true);
	ctx.want = MAX + 2;
	run_loop(&ctx);
	check_jobs(recs, MAX + 1, ctx.loop_thread);
	check_jobs(&recs[MAX + 2], 1, ctx.loop_thread);
	/* Refused means never run, and no done. */
	assert_int_equal(atomic_load(&recs[MAX + 1].fn_runs), 0);
	assert_int_equal(atomic_load(&recs[MAX + 1].done_runs), 0);

	/* Drained, there is room again. */
	work_get_stats(ctx.pool, &st);
	assert_int_equal(st.queued, 0);
	ctx.want++;
	assert_int_equal(work_submit_client(ctx.pool, job_fn, job_done,
	    &recs[MAX + 1]), 0);
	run_loop(&ctx);
	check_jobs(&recs[MAX + 1], 1, ctx.loop_thread);
	teardown_ctx(&ctx);
}

/* Shutdown drains: queued and running jobs finish before drain returns
 * (what they use may be freed right after), and nothing new goes in. */
static void
test_drain_finishes_then_refuses(void **state)
{
	enum { N = 50 };
	struct job_rec recs[N + 1];
	struct test_ctx ctx;
	unsigned i;

	(void)state;
	memset(recs, 0, sizeof(recs));
	setup_ctx(&ctx, 2);
	for (i = 0; i < N; i++) {
		recs[i].ctx = &ctx;
		recs[i].index = i;
		assert_int_equal(work_submit(ctx.pool, job_fn, job_done,
		    &recs[i]), 0);
	}
	work_pool_drain(ctx.pool);
	for (i = 0; i < N; i++)
		assert_int_equal(atomic_load(&recs[i].fn_runs), 1);
	assert_int_equal(work_submit(ctx.pool, job_fn, job_done, &recs[N]),
	    -ESHUTDOWN);
	assert_int_equal(work_submit_client(ctx.pool, job_fn, job_done,
	    &recs[N]), -ESHUTDOWN);
	assert_int_equal(atomic_load(&recs[N].fn_runs), 0);
	teardown_ctx(&ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_job),
		cmocka_unit_test(test_many_jobs),
		cmocka_unit_test(test_default_thread_count),
		cmocka_unit_test(test_chain_from_done),
		cmocka_unit_test(test_no_done_callback),
		cmocka_unit_test(test_free_finishes_queued),
		cmocka_unit_test(test_queue_max_refuses_client_work),
		cmocka_unit_test(test_drain_finishes_then_refuses),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
