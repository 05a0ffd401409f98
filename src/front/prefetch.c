/*
 * prefetch: see prefetch.h.
 *
 *   start -- r->open --> reading -- first bytes --> r->await --> awaiting
 *                          |                          | (none pending:
 *                          | failed                   |  already here)
 *                          v                          v
 *                        ending (event_base_once) <---+---- await's done
 *                          |
 *                          v
 *                        done(arg, rc, why), freed
 *
 * The read is kept open until the end: it is what keeps the fetch going.
 * Neither the await nor a scheduled ending can be taken back, so a
 * prefetch cancelled meanwhile is freed by whichever of them comes last.
 */
#include "front/prefetch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

struct prefetch {
	const struct remote_reads *r;
	struct event_base *base;
	char *path;
	void (*done)(void *, int, const char *);
	void *arg;     /* done's; NULL once cancelled */
	void *handle;  /* the read */
	bool asked;    /* the await was asked for */
	bool awaiting; /* its done is still to come */
	bool ending;   /* an ending is scheduled */
	int rc;
	char why[256];
};

static void
release(struct prefetch *p)
{
	if (p->awaiting || p->ending)
		return;
	free(p->path);
	free(p);
}

static void
close_read(struct prefetch *p)
{
	if (p->handle != NULL)
		p->r->close(p->handle);
	p->handle = NULL;
}

static void
fire(evutil_socket_t fd, short what, void *arg)
{
	struct prefetch *p = arg;
	void (*done)(void *, int, const char *) = p->done;

	(void)fd;
	(void)what;
	p->ending = false;
	close_read(p);
	p->done = NULL;
	if (done != NULL)
		done(p->arg, p->rc, p->rc < 0 ? p->why : NULL);
	release(p);
}

/* Ends with rc, from the loop's next turn; the first ending counts. */
static void
end_later(struct prefetch *p, int rc, const char *why)
{
	struct timeval now = {0, 0};

	if (p->ending || p->done == NULL)
		return;
	p->rc = rc;
	(void)str_copy(p->why, sizeof(p->why), why ? why : "");
	if (event_base_once(p->base, -1, EV_TIMEOUT, fire, p, &now) < 0) {
		/* Nothing can wake us: say so now rather than never. */
		p->rc = -ENOMEM;
		(void)str_copy(p->why, sizeof(p->why), "out of memory");
		fire(-1, 0, p);
		return;
	}
	p->ending = true;
}

/* The copy is here whole (0), or did not come (-ETIMEDOUT). */
static void
arrived(void *arg, int rc)
{
	struct prefetch *p = arg;

	p->awaiting = false;
	if (p->done == NULL) {
		release(p);
		return;
	}
	end_later(p, rc, rc < 0 ? "timed out" : NULL);
}

/* The read is under way, so its fetch is pending: wait for all of it. */
static void
ready(void *arg)
{
	struct prefetch *p = arg;

	if (p->asked || p->done == NULL)
		return;
	p->asked = true;
	if (p->r->await(p->r->arg, p->path, arrived, p) == 0)
		p->awaiting = true;
	else
		end_later(p, 0, NULL); /* no fetch pending: it is here */
}

static void
failed(void *arg, const char *why)
{
	end_later(arg, -EHOSTUNREACH, why);
}

struct prefetch *
prefetch_start(const struct remote_reads *r, struct event_base *base,
	       const char *path, void (*done)(void *, int, const char *),
	       void *arg, char *why, size_t whylen)
{
	struct prefetch *p;
	int rc;

	if (r == NULL || r->open == NULL || r->await == NULL) {
		(void)str_copy(why, whylen, "no copies are fetched here");
		return (NULL);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->path = strdup(path)) == NULL) {
		free(p);
		(void)str_copy(why, whylen, "out of memory");
		return (NULL);
	}
	p->r = r;
	p->base = base;
	p->done = done;
	p->arg = arg;
	if ((rc = r->open(r->arg, path, ready, failed, p, &p->handle, why,
			  whylen)) < 0) {
		if (why[0] == '\0')
			(void)str_copy(why, whylen, strerror(-rc));
		p->handle = NULL;
		p->done = NULL;
		release(p);
		return (NULL);
	}
	return (p);
}

void
prefetch_cancel(struct prefetch *p)
{
	if (p == NULL)
		return;
	p->done = NULL;
	close_read(p);
	release(p);
}
