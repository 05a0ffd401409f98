/*
 * ingest: the upload pipeline.
 *
 *   push ──> [write+file hash] and [block hashes] ──both done──> drained
 *   finish ──> (last chunk) ──> flush job ──> commit job ──> on_done
 *                                            (keep: suspend job)
 *
 * Any job's error ends the pipeline: on_done(rc) and the temp file goes.
 * A cancelled ingest is freed by the last job to return.
 */
#include "front/ingest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "base/work.h"
#include "store/hash.h"
#include "store/upload.h"

struct ingest {
	struct work_pool	*pool;
	struct upload		*up;
	struct ingest_cbs	 cbs;
	void			*arg;
	struct evbuffer		*chunk;
	unsigned		 jobs;		/* in flight */
	int			 rc, rc2;	/* of the two halves */
	int			 rc3;		/* of the extra job */
	bool			 finishing;
	bool			 keep;		/* finish as a partial */
	bool			 cancelled;
	bool			 done;
	uint64_t		 bytes;
	uint8_t			 sha[HASH_LEN];
	void			(*extra)(void *, const struct iovec *, int);
	void			*extra_arg;
	void			(*extra_free)(void *);
};

static void
abort_run(void *arg)
{
	upload_abort(arg);
}

static void
suspend_run(void *arg)
{
	upload_suspend(arg);
}

static void
ingest_free(struct ingest *in)
{
	/*
	 * Removing a temp file is disk work: on the pool if it can be.  A
	 * cancelled upload (the client went away) keeps its bytes when it has
	 * a partial's key; one that failed does not.
	 */
	if (in->up == NULL)
		;
	else if (in->cancelled) {
		if (work_submit(in->pool, suspend_run, NULL, in->up) < 0)
			upload_suspend(in->up);
	} else if (in->done ||
		   work_submit(in->pool, abort_run, NULL, in->up) < 0)
		upload_abort(in->up);
	if (in->chunk)
		evbuffer_free(in->chunk);
	if (in->extra_free)
		in->extra_free(in->extra_arg);
	free(in);
}

/* The upload's pieces as iovecs (caller frees *v). */
static int
chunk_iov(struct evbuffer *b, struct evbuffer_iovec **v)
{
	int n = evbuffer_peek(b, -1, NULL, NULL, 0);

	if ((*v = calloc((size_t)(n > 0 ? n : 1), sizeof(**v))) == NULL)
		return (-ENOMEM);
	return (evbuffer_peek(b, -1, NULL, *v, n));
}

static void
write_run(void *arg)
{
	struct ingest *in = arg;
	struct evbuffer_iovec *v;
	int n = chunk_iov(in->chunk, &v);

	in->rc = n < 0 ? n : upload_write_data(in->up, (struct iovec *)v, n);
	free(v);
}

static void
blocks_run(void *arg)
{
	struct ingest *in = arg;
	struct evbuffer_iovec *v;
	int n = chunk_iov(in->chunk, &v);

	in->rc2 = n < 0 ? n : upload_hash_blocks(in->up, (struct iovec *)v, n);
	free(v);
}

static void
extra_run(void *arg)
{
	struct ingest *in = arg;
	struct evbuffer_iovec *v;
	int n = chunk_iov(in->chunk, &v);

	if (n >= 0)
		in->extra(in->extra_arg, (struct iovec *)v, n);
	else
		in->rc3 = n;
	free(v);
}

void
ingest_set_extra(struct ingest *in, void (*fn)(void *, const struct iovec *,
    int), void *arg, void (*free_fn)(void *))
{
	in->extra = fn;
	in->extra_arg = arg;
	in->extra_free = free_fn;
}

static void start_tail(struct ingest *);

/* Ends the pipeline with rc (0 only after a commit). */
static void
end(struct ingest *in, int rc)
{
	in->done = true;
	in->cbs.on_done(in->arg, rc, in->sha);
	ingest_free(in);
}

static void
chunk_done(void *arg)
{
	struct ingest *in = arg;
	int rc;

	if (--in->jobs > 0)
		return;
	if (in->cancelled) {
		ingest_free(in);
		return;
	}
	evbuffer_drain(in->chunk, evbuffer_get_length(in->chunk));
	rc = in->rc < 0 ? in->rc : in->rc2 < 0 ? in->rc2 : in->rc3;
	if (rc < 0) {
		end(in, rc);
		return;
	}
	if (in->finishing) {
		start_tail(in);
		return;
	}
	in->cbs.on_drained(in->arg);
}

int
ingest_push(struct ingest *in, struct evbuffer *src)
{
	size_t n = evbuffer_get_length(src);

	if (in->jobs > 0 || in->done || in->finishing)
		return (-EBUSY);
	if (n == 0)
		return (0);
	evbuffer_add_buffer(in->chunk, src);
	in->bytes += n;
	in->rc = in->rc2 = in->rc3 = 0;
	if (work_submit(in->pool, write_run, chunk_done, in) < 0)
		return (-ENOMEM);
	in->jobs++;
	if (work_submit(in->pool, blocks_run, chunk_done, in) < 0)
		in->rc2 = -ENOMEM;
	else
		in->jobs++;
	if (in->extra) {
		if (work_submit(in->pool, extra_run, chunk_done, in) < 0)
			in->rc3 = -ENOMEM;
		else
			in->jobs++;
	}
	return (0);
}

/*
 * Flush, then commit, as two jobs: a cancel that comes while the data is
 * being flushed (the client went away before the end) still keeps the old
 * file, since nothing has replaced it yet.
 */

static void
commit_run(void *arg)
{
	struct ingest *in = arg;
	struct file_meta m;

	if ((in->rc = upload_commit(in->up, &m)) == 0)
		memcpy(in->sha, m.sha256, HASH_LEN);
}

static void
keep_run(void *arg)
{
	struct ingest *in = arg;

	upload_suspend(in->up);
	in->up = NULL;
	in->rc = INGEST_KEPT;
}

static void
commit_done(void *arg)
{
	struct ingest *in = arg;

	in->jobs--;
	if (in->cancelled) {
		ingest_free(in);
		return;
	}
	end(in, in->rc);
}

static void
flush_run(void *arg)
{
	struct ingest *in = arg;

	in->rc = upload_flush(in->up);
}

static void
flush_done(void *arg)
{
	struct ingest *in = arg;

	in->jobs--;
	if (in->cancelled) {
		ingest_free(in);
		return;
	}
	if (in->rc < 0) {
		end(in, in->rc);
		return;
	}
	if (work_submit(in->pool, in->keep ? keep_run : commit_run,
	    commit_done, in) < 0) {
		end(in, -ENOMEM);
		return;
	}
	in->jobs++;
}

static void
start_tail(struct ingest *in)
{
	if (work_submit(in->pool, flush_run, flush_done, in) < 0) {
		end(in, -ENOMEM);
		return;
	}
	in->jobs++;
}

void
ingest_finish(struct ingest *in)
{
	in->finishing = true;
	if (in->jobs == 0)
		start_tail(in);
}

int
ingest_set_attrs(struct ingest *in, const void *attrs, size_t len)
{
	/* No job holds the upload now. */
	if (in->jobs > 0 || in->finishing)
		return (-EBUSY);
	return (upload_set_attrs(in->up, attrs, len));
}

void
ingest_finish_keep(struct ingest *in)
{
	in->keep = true;
	ingest_finish(in);
}

void
ingest_cancel(struct ingest *in)
{
	in->cancelled = true;
	if (in->jobs == 0)
		ingest_free(in);
}

bool
ingest_busy(const struct ingest *in)
{
	return (in->jobs > 0 || in->finishing);
}

uint64_t
ingest_bytes(const struct ingest *in)
{
	return (in->bytes);
}

struct ingest *
ingest_new(struct work_pool *pool, struct upload *up,
    const struct ingest_cbs *cbs, void *arg)
{
	struct ingest *in;

	if ((in = calloc(1, sizeof(*in))) == NULL)
		return (NULL);
	if ((in->chunk = evbuffer_new()) == NULL) {
		free(in);
		return (NULL);
	}
	in->pool = pool;
	in->up = up;
	in->cbs = *cbs;
	in->arg = arg;
	return (in);
}
