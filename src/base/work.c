/*
 * work: the thread pool.  Pool threads take jobs from a FIFO guarded by one
 * mutex; finished jobs go on a second list and an eventfd wakes the loop,
 * which runs their done callbacks.  Invariant: a job is on exactly one of
 * the two lists, or held by exactly one pool thread; nqueued counts the
 * first list (client work may not grow it past queue_max), nrunning the
 * jobs held.
 */
#include "base/work.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"

struct job {
	struct job	*next;
	work_fn		 fn;
	work_fn		 done;
	void		*arg;
};

struct jobq {
	struct job	*head;
	struct job	*tail;
};

struct work_pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct jobq	 queued;
	struct jobq	 finished;
	unsigned	 pending;
	unsigned	 nqueued;
	unsigned	 nrunning;
	unsigned	 queue_max;	/* 0: none */
	unsigned long long refused;
	int		 stopping;
	bool		 drained;
	int		 nthreads;
	pthread_t	*threads;
	int		 efd;
	struct event	*ev;
};

static void
jobq_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static struct job *
jobq_pop(struct jobq *q)
{
	struct job *j = q->head;

	if (j) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
	}
	return (j);
}

static void *
work_thread(void *arg)
{
	struct work_pool *wp = arg;
	struct job *j;
	uint64_t one = 1;

	pthread_mutex_lock(&wp->mu);
	for (;;) {
		while (wp->queued.head == NULL && !wp->stopping)
			pthread_cond_wait(&wp->cv, &wp->mu);
		if ((j = jobq_pop(&wp->queued)) == NULL)
			break;
		wp->nqueued--;
		wp->nrunning++;
		pthread_mutex_unlock(&wp->mu);
		j->fn(j->arg);
		pthread_mutex_lock(&wp->mu);
		wp->nrunning--;
		jobq_push(&wp->finished, j);
		if (write(wp->efd, &one, sizeof(one)) < 0)
			log_warn("work: eventfd write");
	}
	pthread_mutex_unlock(&wp->mu);
	return (NULL);
}

static void
work_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct work_pool *wp = arg;
	struct jobq done;
	struct job *j;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("work: eventfd read");
	pthread_mutex_lock(&wp->mu);
	done = wp->finished;
	wp->finished.head = wp->finished.tail = NULL;
	pthread_mutex_unlock(&wp->mu);
	while ((j = jobq_pop(&done)) != NULL) {
		pthread_mutex_lock(&wp->mu);
		wp->pending--;
		pthread_mutex_unlock(&wp->mu);
		if (j->done)
			j->done(j->arg);
		free(j);
	}
}

struct work_pool *
work_pool_new(struct event_base *base, int nthreads)
{
	struct work_pool *wp;
	int i;

	if (nthreads <= 0) {
		nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
		if (nthreads < 2)
			nthreads = 2;
	}
	if ((wp = calloc(1, sizeof(*wp))) == NULL)
		return (NULL);
	pthread_mutex_init(&wp->mu, NULL);
	pthread_cond_init(&wp->cv, NULL);
	wp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wp->efd < 0)
		goto fail;
	wp->ev = event_new(base, wp->efd, EV_READ | EV_PERSIST, work_on_done,
	    wp);
	if (wp->ev == NULL || event_add(wp->ev, NULL) < 0)
		goto fail;
	if ((wp->threads = calloc((size_t)nthreads, sizeof(pthread_t))) ==
	    NULL)
		goto fail;
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&wp->threads[i], NULL, work_thread, wp))
			break;
		wp->nthreads++;
	}
	if (wp->nthreads == 0)
		goto fail;
	return (wp);
fail:
	work_pool_free(wp);
	return (NULL);
}

void
work_pool_drain(struct work_pool *wp)
{
	int i;

	if (wp == NULL || wp->drained)
		return;
	pthread_mutex_lock(&wp->mu);
	wp->stopping = 1;
	pthread_cond_broadcast(&wp->cv);
	pthread_mutex_unlock(&wp->mu);
	/* A thread leaves only once the queue is empty. */
	for (i = 0; i < wp->nthreads; i++)
		pthread_join(wp->threads[i], NULL);
	wp->drained = true;
}

void
work_pool_free(struct work_pool *wp)
{
	struct job *j;

	if (wp == NULL)
		return;
	work_pool_drain(wp);
	while ((j = jobq_pop(&wp->finished)) != NULL)
		free(j);
	if (wp->ev)
		event_free(wp->ev);
	if (wp->efd >= 0)
		close(wp->efd);
	free(wp->threads);
	pthread_cond_destroy(&wp->cv);
	pthread_mutex_destroy(&wp->mu);
	free(wp);
}

void
work_set_queue_max(struct work_pool *wp, unsigned max)
{
	pthread_mutex_lock(&wp->mu);
	wp->queue_max = max;
	pthread_mutex_unlock(&wp->mu);
}

static int
submit(struct work_pool *wp, work_fn fn, work_fn done, void *arg,
    bool client)
{
	struct job *j;

	if ((j = malloc(sizeof(*j))) == NULL)
		return (-ENOMEM);
	j->fn = fn;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&wp->mu);
	if (wp->stopping) {
		pthread_mutex_unlock(&wp->mu);
		free(j);
		return (-ESHUTDOWN);
	}
	if (client && wp->queue_max > 0 && wp->nqueued >= wp->queue_max) {
		wp->refused++;
		pthread_mutex_unlock(&wp->mu);
		free(j);
		return (-EBUSY);
	}
	jobq_push(&wp->queued, j);
	wp->nqueued++;
	wp->pending++;
	pthread_cond_signal(&wp->cv);
	pthread_mutex_unlock(&wp->mu);
	return (0);
}

int
work_submit(struct work_pool *wp, work_fn fn, work_fn done, void *arg)
{
	return (submit(wp, fn, done, arg, false));
}

int
work_submit_client(struct work_pool *wp, work_fn fn, work_fn done,
    void *arg)
{
	return (submit(wp, fn, done, arg, true));
}

unsigned
work_pending(struct work_pool *wp)
{
	unsigned n;

	pthread_mutex_lock(&wp->mu);
	n = wp->pending;
	pthread_mutex_unlock(&wp->mu);
	return (n);
}

void
work_get_stats(struct work_pool *wp, struct work_stats *st)
{
	pthread_mutex_lock(&wp->mu);
	st->queued = wp->nqueued;
	st->running = wp->nrunning;
	st->queue_max = wp->queue_max;
	st->refused = wp->refused;
	pthread_mutex_unlock(&wp->mu);
}
