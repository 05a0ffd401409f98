/*
 * dav_lease: the tracker's leases behind WebDAV locks, so that a lock
 * taken on one node holds back the writers of every node.
 *
 * With a tracker, a WebDAV lock on PATH is also the tracker's lease on
 * PATH, held by this node and the client's account (named as `shoal
 * lock` names its holder: the account, or "(node)" for the node's API
 * token).  Every node holds the lease table the tracker pushes, and each
 * of its front ends refuses writes the lease covers (cluster/locks.h).
 * The tracker knows one lease per path and holder, so the locks here
 * that share a path and an account stand on one lease: it lasts as long
 * as the longest of them, and is released with the last.  The tracker is
 * asked through the node's controls (http_ctl.lock), whose answers come
 * back on the loop.  Loop thread only, as the lock table.
 */
#include "front/dav/dav_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "cluster/twire.h"

void
dav_locks_set_ctl(struct dav_locks *t, const struct http_ctl *ctl)
{
	t->ctl = ctl;
}

const char *
dav_lease_owner(const char *user)
{
	return (strcmp(user, "(token)") == 0 ? "(node)" : user);
}

/* Does lock k stand on the lease that a lock on path for user has? */
static bool
same_lease(const struct dav_lock *k, const char *path, const char *user)
{
	return (k->leased && strcmp(k->path, path) == 0 &&
		strcmp(k->user, user) == 0);
}

uint32_t
dav_lease_ttl(struct dav_locks *t, const struct dav_lock *l, unsigned timeout_s)
{
	struct dav_lock *k;
	uint64_t now = clock_mono_ms(), most = timeout_s, left;

	TAILQ_FOREACH(k, &t->list, entry)
	{
		if (k == l || !same_lease(k, l->path, l->user) ||
		    k->expires_ms <= now)
			continue;
		if ((left = (k->expires_ms - now + 999) / 1000) > most)
			most = left;
	}
	return ((uint32_t)most);
}

int
dav_lease_take(struct dav_locks *t, const struct dav_lock *l, uint32_t ttl_s,
	       dav_lease_cb done, void *arg)
{
	const struct http_ctl *ctl = t->ctl;
	json_t *all;

	if (ctl == NULL || ctl->lock == NULL)
		return (-ENOSYS);
	/* The tracker takes paths in normal form, not the root: one it
	 * cannot read would end the node's link to it. */
	if (!twire_path_ok(l->path, false)) {
		if (ctl->locks == NULL || (all = ctl->locks(ctl->arg)) == NULL)
			return (-ENOSYS); /* no tracker: a local lock */
		json_decref(all);
		return (-EINVAL);
	}
	return (ctl->lock(ctl->arg, TWIRE_LOCK, l->path,
			  dav_lease_owner(l->user), ttl_s, done, arg));
}

static void
release_done(void *arg, int status, const char *msg,
	     const struct twire_lock *tl)
{
	(void)arg;
	(void)tl;
	/* ENOENT: it had ended already (expiry, the tracker restarted). */
	if (status != 0 && status != ENOENT)
		log_warnx("dav: a lease was not released (%s); it ends when "
			  "it expires",
			  msg && msg[0] ? msg : strerror(status));
}

int
dav_lease_release(struct dav_locks *t, const struct dav_lock *l,
		  dav_lease_cb done, void *arg)
{
	struct dav_lock *k;

	if (!l->leased || t->ctl == NULL || t->ctl->lock == NULL)
		return (-ENOENT);
	TAILQ_FOREACH(k, &t->list, entry)
	if (k != l && same_lease(k, l->path, l->user))
		return (-ENOENT); /* still stood on */
	if (done == NULL) {
		done = release_done;
		arg = NULL;
	}
	return (t->ctl->lock(t->ctl->arg, TWIRE_UNLOCK, l->path,
			     dav_lease_owner(l->user), 0, done, arg));
}

void
dav_lease_log_release(int status, const char *msg)
{
	release_done(NULL, status, msg, NULL);
}

int
dav_lease_status(int status)
{
	switch (status) {
	case EBUSY:
	case EPERM:
		return (423);
	case EINVAL:
		return (400);
	case ETIMEDOUT:
		return (504);
	case ENOTCONN:
		return (503);
	default:
		return (500);
	}
}

/* Is a lease on lpath for owner one of the locks here? */
static bool
lease_is_ours(struct dav_locks *t, const char *lpath, const char *owner)
{
	struct dav_lock *l;

	TAILQ_FOREACH(l, &t->list, entry)
	if (l->leased && strcmp(l->path, lpath) == 0 &&
	    strcmp(dav_lease_owner(l->user), owner) == 0)
		return (true);
	return (false);
}

/* Is path at or under top ("" is the root)? */
static bool
at_or_under(const char *path, const char *top)
{
	size_t n = strlen(top);

	return (n == 0 || (strncmp(path, top, n) == 0 &&
			   (path[n] == '\0' || path[n] == '/')));
}

int
dav_lease_discovery(struct dav_locks *t, const char *path, struct buf *b)
{
	json_t *all, *k;
	size_t i;
	int rc = 0;

	/* The table this node holds: no question to the tracker. */
	if (t->ctl == NULL || t->ctl->locks == NULL ||
	    (all = t->ctl->locks(t->ctl->arg)) == NULL)
		return (0);
	json_array_foreach(json_object_get(all, "locks"), i, k)
	{
		const char *p = json_string_value(json_object_get(k, "path"));
		const char *o = json_string_value(json_object_get(k, "owner"));
		double left =
		    json_number_value(json_object_get(k, "remaining_s"));

		if (p == NULL || o == NULL || !at_or_under(path, p) ||
		    lease_is_ours(t, p, o))
			continue;
		/* No locktoken: none a client could send would do. */
		rc = buf_puts(b, "<D:activelock><D:locktype><D:write/>"
				 "</D:locktype><D:lockscope><D:exclusive/>"
				 "</D:lockscope><D:depth>infinity</D:depth>"
				 "<D:owner>");
		if (rc == 0)
			rc = dav_xml_esc(b, o);
		if (rc == 0)
			rc = buf_printf(b,
					"</D:owner><D:timeout>Second-%u"
					"</D:timeout><D:lockroot><D:href>",
					(unsigned)(left + 0.999));
		if (rc == 0)
			rc = dav_href(b, p, false);
		if (rc == 0)
			rc = buf_puts(b, "</D:href></D:lockroot>"
					 "</D:activelock>");
		if (rc < 0)
			break;
	}
	json_decref(all);
	return (rc);
}
