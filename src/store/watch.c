/*
 * watch: inotify glue.
 *
 *   loop:    inotify readable -> record dirty paths -> arm debounce timer
 *   timer:   no job running -> hand the dirty set to a job
 *   worker:  scan_path for each dirty path (adds watches for new folders)
 *   loop:    job done -> if more became dirty meanwhile, or a path was
 *            busy (a change through store in progress), arm the timer again
 *
 * Watches are added by path through /proc/self/fd of a descriptor opened
 * beneath the root, so they too stay inside the folder.  The table from
 * watch descriptor to folder path is shared with the worker: it has a mutex.
 */
#include "store/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"
#include "base/work.h"
#include "store/path.h"
#include "store/scan.h"
#include "store/store.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
    IN_MOVED_TO | IN_DELETE_SELF | IN_ATTRIB | IN_ONLYDIR)
#define DEBOUNCE_MS	50
#define DIRTY_MAX	65536	/* past this, rescan everything instead */

struct watch {
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		*store;
	int			 fd;
	struct event		*ev;
	struct event		*timer;
	pthread_mutex_t		 mu;	/* guards wd_path */
	char			**wd_path;
	size_t			 nwd;
	char			**dirty;	/* loop-owned */
	size_t			 ndirty;
	int			 rescan_all;
	int			 job_running;
	int			 ready;
	int			 closing;
};

struct watch_job {
	struct watch	*w;
	char		**paths;
	size_t		 npaths;
	size_t		 nbusy;		/* paths[0..nbusy): look again */
	int		 all;
};

static void
add_watch(const char *path, void *arg)
{
	struct watch *w = arg;
	char proc[64], **nt, *p;
	int fd, wd;

	fd = store_openat(w->store, path, O_DIRECTORY | O_PATH | O_NOFOLLOW, 0);
	if (fd < 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(w->fd, proc, WATCH_MASK);
	close(fd);
	if (wd < 0) {
		log_warn("watch %s", path[0] ? path : "/");
		return;
	}
	if ((p = strdup(path)) == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	if ((size_t)wd >= w->nwd) {
		size_t n = (size_t)wd * 2 + 16;

		if ((nt = realloc(w->wd_path, n * sizeof(*nt))) == NULL) {
			pthread_mutex_unlock(&w->mu);
			free(p);
			return;
		}
		memset(nt + w->nwd, 0, (n - w->nwd) * sizeof(*nt));
		w->wd_path = nt;
		w->nwd = n;
	}
	free(w->wd_path[wd]);
	w->wd_path[wd] = p;
	pthread_mutex_unlock(&w->mu);
}

static void
watch_job_run(void *arg)
{
	struct watch_job *j = arg;
	struct scan_stats st;
	size_t i;
	int rc;

	if (j->all) {
		rc = scan_tree(j->w->store, "", 1, add_watch, j->w, &st);
		if (rc < 0)
			log_warnx("scan: %s", strerror(-rc));
		else
			log_info("scan: %llu files, %llu hashed (%llu bytes), "
			    "%lld removed", (unsigned long long)st.files,
			    (unsigned long long)st.hashed,
			    (unsigned long long)st.bytes_hashed,
			    (long long)st.removed);
	}
	for (i = 0; i < j->npaths; i++) {
		rc = scan_path(j->w->store, j->paths[i], add_watch, j->w);
		if (rc == -EBUSY) {
			/*
			 * Not skipped: a folder renamed through store is
			 * walked only here, which moves its watch to the new
			 * name.  Skipped, the watch keeps the old name and
			 * every file saved into the folder later goes unseen.
			 */
			char *p = j->paths[j->nbusy];

			j->paths[j->nbusy++] = j->paths[i];
			j->paths[i] = p;
		} else if (rc < 0)
			log_warnx("re-index %s: %s", j->paths[i], strerror(-rc));
	}
}

static void arm_timer(struct watch *);
static void mark_dirty(struct watch *, const char *);

static void
watch_job_done(void *arg)
{
	struct watch_job *j = arg;
	struct watch *w = j->w;
	size_t i;

	for (i = 0; i < j->npaths; i++) {
		if (i < j->nbusy && !w->closing)
			mark_dirty(w, j->paths[i]);
		free(j->paths[i]);
	}
	free(j->paths);
	if (j->all)
		w->ready = 1;
	free(j);
	w->job_running = 0;
	if (!w->closing && (w->ndirty || w->rescan_all))
		arm_timer(w);
}

static void
start_job(struct watch *w)
{
	struct watch_job *j;

	if (w->job_running || (!w->ndirty && !w->rescan_all))
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->w = w;
	j->all = w->rescan_all;
	j->paths = w->dirty;
	j->npaths = w->ndirty;
	w->dirty = NULL;
	w->ndirty = 0;
	w->rescan_all = 0;
	if (work_submit(w->pool, watch_job_run, watch_job_done, j) < 0) {
		/* Keep the work for the next try. */
		w->dirty = j->paths;
		w->ndirty = j->npaths;
		w->rescan_all = j->all;
		free(j);
		return;
	}
	w->job_running = 1;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_job(arg);
}

static void
arm_timer(struct watch *w)
{
	struct timeval tv = { 0, DEBOUNCE_MS * 1000 };

	if (!evtimer_pending(w->timer, NULL))
		evtimer_add(w->timer, &tv);
}

static void
mark_dirty(struct watch *w, const char *path)
{
	char **nd, *p;
	size_t i;

	if (w->rescan_all)
		return;
	for (i = 0; i < w->ndirty; i++)
		if (strcmp(w->dirty[i], path) == 0)
			return;
	if (w->ndirty >= DIRTY_MAX) {
		w->rescan_all = 1;
		return;
	}
	if ((p = strdup(path)) == NULL)
		return;
	if ((nd = realloc(w->dirty, (w->ndirty + 1) * sizeof(*nd))) == NULL) {
		free(p);
		w->rescan_all = 1;
		return;
	}
	w->dirty = nd;
	w->dirty[w->ndirty++] = p;
}

static void
on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	char evbuf[64 * 1024]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	char path[PATH_LEN_MAX + 1];
	const struct inotify_event *ie;
	ssize_t n;
	char *p;
	int rc;

	(void)what;
	while ((n = read(fd, evbuf, sizeof(evbuf))) > 0) {
		for (p = evbuf; p < evbuf + n;
		    p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)(void *)p;
			if (ie->mask & IN_Q_OVERFLOW) {
				log_warnx("watch: event queue overflow, "
				    "scanning the whole folder");
				w->rescan_all = 1;
				continue;
			}
			pthread_mutex_lock(&w->mu);
			if (ie->wd < 0 || (size_t)ie->wd >= w->nwd ||
			    w->wd_path[ie->wd] == NULL) {
				pthread_mutex_unlock(&w->mu);
				continue;
			}
			if (ie->mask & IN_IGNORED) {
				free(w->wd_path[ie->wd]);
				w->wd_path[ie->wd] = NULL;
				pthread_mutex_unlock(&w->mu);
				continue;
			}
			if (ie->len == 0 || ie->name[0] == '\0')
				rc = str_fmt(path, sizeof(path), "%s",
				    w->wd_path[ie->wd]);
			else if (w->wd_path[ie->wd][0] == '\0')
				rc = str_fmt(path, sizeof(path), "%s",
				    ie->name);
			else
				rc = str_fmt(path, sizeof(path), "%s/%s",
				    w->wd_path[ie->wd], ie->name);
			pthread_mutex_unlock(&w->mu);
			if (rc < 0 || path_is_private(path) || path[0] == '\0')
				continue;
			/* A new file is handled when it is closed. */
			if ((ie->mask & IN_CREATE) && !(ie->mask & IN_ISDIR))
				continue;
			log_debug("watch: %s changed (0x%x)", path, ie->mask);
			mark_dirty(w, path);
		}
	}
	if (w->ndirty || w->rescan_all)
		arm_timer(w);
}

struct watch *
watch_new(struct event_base *base, struct work_pool *pool, struct store *s)
{
	struct watch *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (NULL);
	w->base = base;
	w->pool = pool;
	w->store = s;
	pthread_mutex_init(&w->mu, NULL);
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_warn("inotify");
		free(w);
		return (NULL);
	}
	w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST, on_inotify, w);
	w->timer = evtimer_new(base, on_timer, w);
	if (w->ev == NULL || w->timer == NULL) {
		watch_free(w);
		return (NULL);
	}
	return (w);
}

int
watch_start(struct watch *w)
{
	if (event_add(w->ev, NULL) < 0)
		return (-EIO);
	w->rescan_all = 1;
	start_job(w);
	return (0);
}

int
watch_ready(const struct watch *w)
{
	return (w->ready);
}

void
watch_free(struct watch *w)
{
	size_t i;

	if (w == NULL)
		return;
	w->closing = 1;
	if (w->ev)
		event_free(w->ev);
	if (w->timer)
		event_free(w->timer);
	if (w->fd >= 0)
		close(w->fd);
	for (i = 0; i < w->nwd; i++)
		free(w->wd_path[i]);
	free(w->wd_path);
	for (i = 0; i < w->ndirty; i++)
		free(w->dirty[i]);
	free(w->dirty);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
