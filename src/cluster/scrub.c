/*
 * scrub: a pass over the files held here, one step at a time.
 *
 *   idle --(sync.scrub_hours since the last pass, or scrub_start)--> running
 *   running: a step job (step_run) hashes up to SCRUB_STEP_BYTES of files
 *            in path order, then the loop (step_done) waits as long as
 *            those bytes take at sync.scrub_mib_s and starts the next
 *   running --(no file after the last one)--> idle, "done" recorded
 *
 * One step is in flight at a time; the step's state (the file half read,
 * its digest, the path after which the walk goes on) lives in one struct
 * that the pool touches while the step runs and the loop touches in
 * between, never both at once.  A file whose row and stat disagree is
 * skipped: it was edited, and the scan makes its new version.  A file
 * with its row's inode, size and mtime whose bytes hash to something else
 * has rotted (store_set_aside_rotten).  Rotten files, found here or by
 * serve.c, are watched until their row is held here again with the same
 * content (rot_repaired) or has moved on to another version.
 *
 * Progress, in DIR/.shoal/scrub, is "pass STARTED\nafter PATH\n" while a
 * pass runs (written at most every SCRUB_SAVE_MS, not synced: losing it
 * only means hashing some files again) and "done TIME\n" after.
 */
#include "cluster/scrub.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/work.h"
#include "store/index.h"
#include "store/path.h"
#include "store/store.h"

#define SCRUB_STEP_BYTES (4u << 20) /* hashed per step at most */
#define SCRUB_STEP_FILES 64	    /* files started per step at most */
#define SCRUB_READ	 (256u << 10)
#define SCRUB_SAVE_MS	 10000
#define SCRUB_IDLE_MS	 60000 /* how often an idle scrub looks at the time */
#define SCRUB_CHECK_MS	 1000
#define SCRUB_WATCH_MAX	 1024 /* rotten files whose repair is watched */
#define SCRUB_STATE	 "scrub"
#define SCRUB_STATE_MAX	 (PATH_LEN_MAX + 64)

struct rot {
	char *path;
	uint8_t sha[HASH_LEN];
};

struct step {
	struct scrub *sc; /* done only */
	struct store *store;
	/* Carried from step to step. */
	char after[PATH_LEN_MAX + 1]; /* the last file finished */
	char cur[PATH_LEN_MAX + 1];   /* the file being read (fd >= 0) */
	struct file_meta row;
	struct stat seen;
	int fd;
	EVP_MD_CTX *md;
	uint8_t *buf;
	uint64_t saved_ms;
	int64_t started; /* unix time the pass began */
	/* In: start from the first file. */
	bool restart;
	/* Out. */
	bool end;
	uint64_t files, bytes;
	size_t nrot;
	struct rot rot[SCRUB_STEP_FILES];
};

struct check {
	struct scrub *sc;
	struct store *store;
	struct rot *r;
	size_t n;
	bool *settled; /* out: repaired or moved on */
	bool *repaired;
};

struct scrub {
	struct scrub_opts o;
	struct event *ev_step;
	struct event *ev_check;
	struct step *step;
	bool in_flight;
	bool restart_pending;
	bool checking;
	uint64_t step_ms; /* when the step in flight started */
	struct rot *watch;
	size_t nwatch;
	struct scrub_stats st;
};

static void
arm(struct event *ev, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};

	(void)event_add(ev, &tv);
}

/* Progress on disk (pool, or start-up) */

static void
save_state(struct step *st, bool done, int64_t when)
{
	struct store *s = st->store;
	char buf[SCRUB_STATE_MAX];
	int fd, len;

	if (done)
		len =
		    snprintf(buf, sizeof(buf), "done %lld\n", (long long)when);
	else
		len = snprintf(buf, sizeof(buf), "pass %lld\nafter %s\n",
			       (long long)st->started, st->after);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return;
	if ((fd = openat(s->priv_fd, SCRUB_STATE ".tmp",
			 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			 0600)) < 0)
		return;
	if (write(fd, buf, (size_t)len) != len) {
		close(fd);
		(void)unlinkat(s->priv_fd, SCRUB_STATE ".tmp", 0);
		return;
	}
	close(fd);
	if (renameat(s->priv_fd, SCRUB_STATE ".tmp", s->priv_fd, SCRUB_STATE) <
	    0)
		log_warn("scrub: cannot record progress");
}

int
scrub_state_parse(const char *buf, size_t len, char *after, size_t size,
		  int64_t *started, int64_t *done)
{
	struct cursor c;
	struct span w, p;

	cur_init(&c, buf, len);
	w = cur_until(&c, ' ');
	if (!cur_eat(&c, ' '))
		return (-EINVAL);
	if (span_eq(w, "done"))
		return (cur_i64(&c, 0, INT64_MAX, done) == 0 &&
				cur_eat(&c, '\n') && cur_eof(&c)
			    ? 0
			    : -EINVAL);
	if (!span_eq(w, "pass") || cur_i64(&c, 0, INT64_MAX, started) < 0 ||
	    !cur_eat(&c, '\n'))
		return (-EINVAL);
	w = cur_until(&c, ' ');
	if (!span_eq(w, "after") || !cur_eat(&c, ' '))
		return (-EINVAL);
	p = cur_until(&c, '\n');
	if (!cur_eat(&c, '\n') || !cur_eof(&c) || p.len >= size ||
	    p.len > PATH_LEN_MAX || span_has_ctl(p))
		return (-EINVAL);
	memcpy(after, p.p, p.len);
	after[p.len] = '\0';
	/* Only a path the index could hold ("" for the first file). */
	if (after[0] != '\0' && !path_valid(after)) {
		after[0] = '\0';
		return (-EINVAL);
	}
	return (1);
}

/* Reads the progress file (scrub_state_parse), -ENOENT if there is none. */
static int
load_state(struct store *s, char *after, size_t size, int64_t *started,
	   int64_t *done)
{
	char buf[SCRUB_STATE_MAX];
	ssize_t n;
	int fd;

	if ((fd = openat(s->priv_fd, SCRUB_STATE,
			 O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return (-ENOENT);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof(buf))
		return (-EINVAL);
	return (scrub_state_parse(buf, (size_t)n, after, size, started, done));
}

/* A step (pool) */

static void
close_file(struct step *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	(void)str_copy(st->after, sizeof(st->after), st->cur);
}

/* Opens st->cur if it is still the file its row describes. */
static int
open_file(struct step *st)
{
	if (store_is_busy(st->store, st->cur))
		return (-EBUSY);
	if ((st->fd = store_openat(st->store, st->cur, O_RDONLY | O_NOFOLLOW,
				   0)) < 0)
		return (st->fd);
	if (fstat(st->fd, &st->seen) < 0 || !S_ISREG(st->seen.st_mode) ||
	    !store_meta_matches(&st->row, &st->seen) ||
	    EVP_DigestInit_ex(st->md, EVP_sha256(), NULL) != 1) {
		close_file(st);
		return (-EAGAIN);
	}
	return (0);
}

/* The whole file was read: compare, and set it aside if it rotted. */
static void
finish_file(struct step *st)
{
	uint8_t sha[HASH_LEN];
	struct stat now;
	int rc;

	st->files++;
	if (EVP_DigestFinal_ex(st->md, sha, NULL) != 1 ||
	    memcmp(sha, st->row.sha256, HASH_LEN) == 0)
		return;
	/* Written while it was read: an edit, the scan's business. */
	if (fstat(st->fd, &now) < 0 || !store_meta_matches(&st->row, &now))
		return;
	rc = store_set_aside_rotten(st->store, st->cur, &st->row, &st->seen);
	if (rc < 0) {
		if (rc != -EAGAIN && rc != -ESTALE)
			log_warnx("scrub: setting %s aside: %s", st->cur,
				  strerror(-rc));
		return;
	}
	if (st->nrot < SCRUB_STEP_FILES &&
	    (st->rot[st->nrot].path = strdup(st->cur)) != NULL) {
		memcpy(st->rot[st->nrot].sha, st->row.sha256, HASH_LEN);
		st->nrot++;
	}
}

static void
step_run(void *arg)
{
	struct step *st = arg;
	uint64_t budget = SCRUB_STEP_BYTES;
	unsigned started = 0;
	ssize_t n;
	int rc;

	st->end = false;
	st->files = st->bytes = 0;
	st->nrot = 0;
	if (st->restart) {
		if (st->fd >= 0)
			close(st->fd);
		st->fd = -1;
		st->after[0] = st->cur[0] = '\0';
		st->restart = false;
	}
	while (budget > 0) {
		if (st->fd < 0) {
			if (started == SCRUB_STEP_FILES)
				break;
			rc = index_next_local(st->store->index, st->after,
					      st->cur, sizeof(st->cur),
					      &st->row);
			if (rc < 0) {
				if (rc != -ENOENT)
					log_warnx("scrub: the index: %s",
						  strerror(-rc));
				st->end = true;
				break;
			}
			started++;
			if (open_file(st) < 0) {
				/* Busy, gone or changed: the next one. */
				(void)str_copy(st->after, sizeof(st->after),
					       st->cur);
				continue;
			}
		}
		n = read(st->fd, st->buf,
			 budget < SCRUB_READ ? (size_t)budget : SCRUB_READ);
		if (n < 0) {
			log_warn("scrub: reading %s", st->cur);
			close_file(st);
			continue;
		}
		if (n == 0) {
			finish_file(st);
			close_file(st);
			continue;
		}
		if (EVP_DigestUpdate(st->md, st->buf, (size_t)n) != 1) {
			close_file(st);
			continue;
		}
		st->bytes += (uint64_t)n;
		budget -= (uint64_t)n;
	}
	if (st->end)
		save_state(st, true, (int64_t)time(NULL));
	else if (clock_mono_ms() - st->saved_ms >= SCRUB_SAVE_MS) {
		st->saved_ms = clock_mono_ms();
		save_state(st, false, 0);
	}
}

/* The loop */

static void
watch_add(struct scrub *sc, char *path, const uint8_t sha[HASH_LEN])
{
	struct rot *nw;

	if (sc->nwatch >= SCRUB_WATCH_MAX ||
	    (nw = realloc(sc->watch, (sc->nwatch + 1) * sizeof(*nw))) == NULL) {
		free(path);
		return;
	}
	sc->watch = nw;
	sc->watch[sc->nwatch].path = path;
	memcpy(sc->watch[sc->nwatch].sha, sha, HASH_LEN);
	sc->nwatch++;
	if (!sc->checking)
		arm(sc->ev_check, SCRUB_CHECK_MS);
}

static void
begin_pass(struct scrub *sc)
{
	sc->st.running = true;
	sc->st.pass++;
	sc->st.pass_files = sc->st.pass_bytes = 0;
	/* The step is the pool's while in flight: on_step hands it over. */
	sc->restart_pending = true;
	log_info("scrub: pass %llu begins", (unsigned long long)sc->st.pass);
}

static void
step_done(void *arg)
{
	struct step *st = arg;
	struct scrub *sc = st->sc;
	uint64_t want, took;
	size_t i;

	sc->in_flight = false;
	sc->st.files += st->files;
	sc->st.bytes += st->bytes;
	sc->st.pass_files += st->files;
	sc->st.pass_bytes += st->bytes;
	for (i = 0; i < st->nrot; i++) {
		sc->st.rot_found++;
		if (sc->o.refetch != NULL)
			sc->o.refetch(sc->o.arg, st->rot[i].path,
				      st->rot[i].sha);
		watch_add(sc, st->rot[i].path, st->rot[i].sha);
		st->rot[i].path = NULL;
	}
	st->nrot = 0;
	if (sc->restart_pending) {
		arm(sc->ev_step, 0);
		return;
	}
	if (st->end) {
		sc->st.running = false;
		sc->st.passes_done = sc->st.pass;
		sc->st.last_done = (int64_t)time(NULL);
		log_info("scrub: pass %llu done: %llu files, %llu bytes",
			 (unsigned long long)sc->st.pass,
			 (unsigned long long)sc->st.pass_files,
			 (unsigned long long)sc->st.pass_bytes);
		arm(sc->ev_step, SCRUB_IDLE_MS);
		return;
	}
	/* The rate: these bytes may take bytes / rate; wait the rest. */
	want = st->bytes * 1000 / ((uint64_t)sc->o.mib_s << 20);
	took = clock_mono_ms() - sc->step_ms;
	arm(sc->ev_step, want > took ? want - took : 0);
}

static void
on_step(evutil_socket_t fd, short what, void *arg)
{
	struct scrub *sc = arg;
	int64_t now = (int64_t)time(NULL);

	(void)fd;
	(void)what;
	if (sc->in_flight)
		return;
	if (!sc->st.running) {
		/* A clock put back does not postpone a pass for ever. */
		if (sc->o.hours == 0 ||
		    (now >= sc->st.last_done &&
		     now - sc->st.last_done < (int64_t)sc->o.hours * 3600)) {
			arm(sc->ev_step, SCRUB_IDLE_MS);
			return;
		}
		begin_pass(sc);
	}
	if (sc->restart_pending) {
		sc->restart_pending = false;
		sc->step->restart = true;
		sc->step->started = (int64_t)time(NULL);
		sc->step->saved_ms = 0; /* recorded at the first step */
	}
	sc->step_ms = clock_mono_ms();
	if (work_submit(sc->o.pool, step_run, step_done, sc->step) < 0) {
		arm(sc->ev_step, SCRUB_CHECK_MS);
		return;
	}
	sc->in_flight = true;
}

static void
check_run(void *arg)
{
	struct check *c = arg;
	struct file_meta m;
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		rc = index_get(c->store->index, c->r[i].path, &m);
		if (rc == -ENOENT || (rc == 0 && m.type != ENTRY_FILE) ||
		    (rc == 0 && memcmp(m.sha256, c->r[i].sha, HASH_LEN) != 0))
			c->settled[i] = true; /* moved on */
		else if (rc == 0 && !m.remote)
			c->settled[i] = c->repaired[i] = true;
	}
}

static void
check_free(struct check *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->r[i].path);
	free(c->r);
	free(c->settled);
	free(c->repaired);
	free(c);
}

static void
check_done(void *arg)
{
	struct check *c = arg;
	struct scrub *sc = c->sc;
	size_t i;

	sc->checking = false;
	for (i = 0; i < c->n; i++) {
		if (c->repaired[i]) {
			sc->st.rot_repaired++;
			log_info("scrub: %s repaired from a peer",
				 c->r[i].path);
		}
		if (!c->settled[i]) {
			watch_add(sc, c->r[i].path, c->r[i].sha);
			c->r[i].path = NULL;
		}
	}
	check_free(c);
	if (sc->nwatch > 0)
		arm(sc->ev_check, SCRUB_CHECK_MS);
}

static void
on_check(evutil_socket_t fd, short what, void *arg)
{
	struct scrub *sc = arg;
	struct check *c;

	(void)fd;
	(void)what;
	if (sc->checking || sc->nwatch == 0)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->settled = calloc(sc->nwatch, sizeof(bool))) == NULL ||
	    (c->repaired = calloc(sc->nwatch, sizeof(bool))) == NULL) {
		if (c != NULL)
			free(c->settled);
		free(c);
		arm(sc->ev_check, SCRUB_CHECK_MS);
		return;
	}
	/* The list moves into the job; what is not settled comes back. */
	c->sc = sc;
	c->store = sc->o.store;
	c->r = sc->watch;
	c->n = sc->nwatch;
	sc->watch = NULL;
	sc->nwatch = 0;
	if (work_submit(sc->o.pool, check_run, check_done, c) < 0) {
		sc->watch = c->r;
		sc->nwatch = c->n;
		c->r = NULL;
		c->n = 0;
		check_free(c);
		arm(sc->ev_check, SCRUB_CHECK_MS);
		return;
	}
	sc->checking = true;
}

struct scrub *
scrub_new(const struct scrub_opts *o)
{
	struct scrub *sc;
	struct step *st;
	int64_t started = 0, done = 0;
	int rc;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return (NULL);
	sc->o = *o;
	if (sc->o.mib_s == 0)
		sc->o.mib_s = 1;
	if ((st = sc->step = calloc(1, sizeof(*st))) == NULL)
		goto fail;
	st->sc = sc;
	st->store = o->store;
	st->fd = -1;
	if ((st->md = EVP_MD_CTX_new()) == NULL ||
	    (st->buf = malloc(SCRUB_READ)) == NULL)
		goto fail;
	sc->ev_step = event_new(o->base, -1, 0, on_step, sc);
	sc->ev_check = event_new(o->base, -1, 0, on_check, sc);
	if (sc->ev_step == NULL || sc->ev_check == NULL)
		goto fail;
	rc =
	    load_state(o->store, st->after, sizeof(st->after), &started, &done);
	if (rc == 1 && o->hours > 0) {
		/* Go on after the last file finished before the stop. */
		sc->st.running = true;
		sc->st.pass = 1;
		st->started = started;
		log_info("scrub: pass goes on after \"%s\"", st->after);
		arm(sc->ev_step, 0);
	} else {
		/* No record (a new folder): the first pass a period on. */
		sc->st.last_done = rc == 0 ? done : (int64_t)time(NULL);
		if (rc != 0)
			save_state(st, true, sc->st.last_done);
		st->after[0] = '\0';
		arm(sc->ev_step, 0);
	}
	return (sc);
fail:
	scrub_free(sc);
	return (NULL);
}

void
scrub_free(struct scrub *sc)
{
	size_t i;

	if (sc == NULL)
		return;
	if (sc->ev_step)
		event_free(sc->ev_step);
	if (sc->ev_check)
		event_free(sc->ev_check);
	if (sc->step != NULL) {
		if (sc->step->fd >= 0)
			close(sc->step->fd);
		EVP_MD_CTX_free(sc->step->md);
		free(sc->step->buf);
		for (i = 0; i < sc->step->nrot; i++)
			free(sc->step->rot[i].path);
		free(sc->step);
	}
	for (i = 0; i < sc->nwatch; i++)
		free(sc->watch[i].path);
	free(sc->watch);
	free(sc);
}

uint64_t
scrub_start(struct scrub *sc)
{
	begin_pass(sc);
	if (!sc->in_flight) {
		event_del(sc->ev_step);
		arm(sc->ev_step, 0);
	}
	return (sc->st.pass);
}

void
scrub_found(struct scrub *sc, const char *path, const uint8_t sha[HASH_LEN])
{
	char *p;

	if (sc == NULL)
		return;
	sc->st.rot_found++;
	if (sc->o.refetch != NULL)
		sc->o.refetch(sc->o.arg, path, sha);
	if ((p = strdup(path)) != NULL)
		watch_add(sc, p, sha);
}

void
scrub_get_stats(const struct scrub *sc, struct scrub_stats *st)
{
	if (sc == NULL) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = sc->st;
}
