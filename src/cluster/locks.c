/*
 * locks: a short list (locks are taken by people, a handful at a time),
 * searched linearly; expired leases are dropped as they are met.
 */
#include "cluster/locks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "base/clock.h"

struct lock {
	TAILQ_ENTRY(lock)	 entry;
	struct twire_lock	 l;
	uint64_t		 deadline;	/* monotonic ms */
};

TAILQ_HEAD(lock_list, lock);

struct locks {
	struct lock_list	 list;
};

struct locks *
locks_new(void)
{
	struct locks *ls = calloc(1, sizeof(*ls));

	if (ls != NULL)
		TAILQ_INIT(&ls->list);
	return (ls);
}

void
locks_clear(struct locks *ls)
{
	struct lock *k;

	while ((k = TAILQ_FIRST(&ls->list)) != NULL) {
		TAILQ_REMOVE(&ls->list, k, entry);
		free(k);
	}
}

void
locks_free(struct locks *ls)
{
	if (ls == NULL)
		return;
	locks_clear(ls);
	free(ls);
}

static struct lock *
find(struct locks *ls, const char *path)
{
	struct lock *k;

	TAILQ_FOREACH(k, &ls->list, entry)
		if (strcmp(k->l.path, path) == 0)
			return (k);
	return (NULL);
}

void
locks_apply(struct locks *ls, const struct twire_lock *l)
{
	struct lock *k = find(ls, l->path);

	if (!l->held) {
		if (k != NULL) {
			TAILQ_REMOVE(&ls->list, k, entry);
			free(k);
		}
		return;
	}
	if (k == NULL) {
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return;
		TAILQ_INSERT_TAIL(&ls->list, k, entry);
	}
	k->l = *l;
	k->deadline = clock_mono_ms() + l->remaining_ms;
}

static bool
under(const char *a, const char *b)
{
	size_t n = strlen(b);

	/* Everything is under the root "". */
	return (n == 0 ? a[0] != '\0' : strncmp(a, b, n) == 0 && a[n] == '/');
}

/* Drops leases that ran out. */
static void
expire(struct locks *ls)
{
	uint64_t now = clock_mono_ms();
	struct lock *k, *next;

	for (k = TAILQ_FIRST(&ls->list); k != NULL; k = next) {
		next = TAILQ_NEXT(k, entry);
		if (k->deadline <= now) {
			TAILQ_REMOVE(&ls->list, k, entry);
			free(k);
		}
	}
}

bool
locks_paths_meet(const char *a, const char *b)
{
	return (strcmp(a, b) == 0 || under(a, b) || under(b, a));
}

static void
wire_now(const struct lock *k, struct twire_lock *out)
{
	uint64_t now = clock_mono_ms();

	*out = k->l;
	out->remaining_ms = k->deadline > now ?
	    (uint32_t)(k->deadline - now) : 0;
}

int
locks_check(struct locks *ls, const char *path,
    const uint8_t self[NODE_ID_LEN], const char *user, uint64_t token,
    char *why, size_t whylen)
{
	struct lock *k, *mine = NULL;
	struct twire_lock w;

	/* Every lock the write meets must be the writer's own (a folder
	 * may hold several locks of several holders). */
	if (ls != NULL) {
		expire(ls);
		TAILQ_FOREACH(k, &ls->list, entry) {
			if (!locks_paths_meet(k->l.path, path))
				continue;
			if (memcmp(k->l.node, self, NODE_ID_LEN) != 0 ||
			    (user != NULL &&
			    strcmp(k->l.owner, LOCK_OWNER_NODE) != 0 &&
			    strcmp(k->l.owner, user) != 0)) {
				wire_now(k, &w);
				twire_lock_busy(&w, why, whylen);
				return (-EBUSY);
			}
			if (mine == NULL || strcmp(k->l.path, path) == 0)
				mine = k;
		}
	}
	if (token == 0)
		return (0);
	if (mine == NULL) {
		(void)snprintf(why, whylen, "stale fencing token %llu for %s: "
		    "it is not locked", (unsigned long long)token, path);
		return (-ESTALE);
	}
	if (token != mine->l.token) {
		(void)snprintf(why, whylen, "stale fencing token %llu for %s "
		    "(the lock's token is %llu)", (unsigned long long)token,
		    path, (unsigned long long)mine->l.token);
		return (-ESTALE);
	}
	return (0);
}

bool
locks_allow_remote(struct locks *ls, const char *path,
    const uint8_t writer[NODE_ID_LEN], char *why, size_t whylen)
{
	struct lock *k;
	struct twire_lock w;

	if (ls == NULL)
		return (true);
	expire(ls);
	TAILQ_FOREACH(k, &ls->list, entry)
		if (locks_paths_meet(k->l.path, path) &&
		    memcmp(k->l.node, writer, NODE_ID_LEN) != 0) {
			wire_now(k, &w);
			twire_lock_busy(&w, why, whylen);
			return (false);
		}
	return (true);
}

json_t *
locks_json(struct locks *ls)
{
	json_t *a = json_array();
	struct twire_lock w;
	struct lock *k;

	expire(ls);
	TAILQ_FOREACH(k, &ls->list, entry) {
		wire_now(k, &w);
		json_array_append_new(a, twire_lock_json(&w));
	}
	return (json_pack("{s:o}", "locks", a));
}
