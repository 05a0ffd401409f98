/*
 * guard: failed-login counting and connection admission.  An entry counts
 * the failures of one key (an address, or an account) since `first`; a
 * failure after the window starts a new count.  Reaching the limit sets
 * `until` and starts the count again, so a lockout that ends gives the
 * key a fresh allowance, not one more try.
 *
 *   clear ──failure──> counting ──limit──> locked ──lockout over──> clear
 *                        └──window over──> clear
 */
#include "front/guard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"

struct guard_entry {
	char key[GUARD_KEY_MAX]; /* "" when unused */
	unsigned count;
	uint64_t first; /* ms of the first counted failure */
	uint64_t last;	/* ms of the latest activity */
	uint64_t until; /* locked out before this ms */
};

struct guard_table {
	struct guard_entry *e;
	unsigned max;	  /* failures before a lockout */
	const char *what; /* for the log */
};

struct guard {
	struct guard_policy p;
	struct guard_table addr, acct;
};

struct guard *
guard_new(const struct guard_policy *p)
{
	struct guard *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return (NULL);
	g->p = *p;
	g->addr.e = calloc(GUARD_ENTRIES, sizeof(struct guard_entry));
	g->acct.e = calloc(GUARD_ENTRIES, sizeof(struct guard_entry));
	if (g->addr.e == NULL || g->acct.e == NULL) {
		guard_free(g);
		return (NULL);
	}
	g->addr.max = p->max_per_address;
	g->addr.what = "address";
	g->acct.max = p->max_per_account;
	g->acct.what = "account";
	return (g);
}

void
guard_free(struct guard *g)
{
	if (g == NULL)
		return;
	free(g->addr.e);
	free(g->acct.e);
	free(g);
}

static struct guard_entry *
find(struct guard_table *t, const char *key)
{
	size_t i;

	for (i = 0; i < GUARD_ENTRIES; i++)
		if (t->e[i].key[0] != '\0' && strcmp(t->e[i].key, key) == 0)
			return (&t->e[i]);
	return (NULL);
}

/* The entry of key, made if need be: a free one, else the one idle
 * longest among those not locked, else the one idle longest. */
static struct guard_entry *
get(struct guard_table *t, const char *key, uint64_t now)
{
	struct guard_entry *e, *old = NULL, *old_locked = NULL;
	size_t i;

	if ((e = find(t, key)) != NULL)
		return (e);
	for (i = 0; i < GUARD_ENTRIES; i++) {
		e = &t->e[i];
		if (e->key[0] == '\0')
			break;
		if (e->until > now) {
			if (old_locked == NULL || e->last < old_locked->last)
				old_locked = e;
		} else if (old == NULL || e->last < old->last)
			old = e;
		e = NULL;
	}
	if (e == NULL)
		e = old ? old : old_locked;
	memset(e, 0, sizeof(*e));
	if (str_copy(e->key, sizeof(e->key), key) < 0)
		(void)str_copy(e->key, sizeof(e->key), "?");
	return (e);
}

/* Seconds of lockout left for key, or 0. */
static unsigned
locked_for(struct guard_table *t, const char *key, uint64_t now)
{
	struct guard_entry *e;

	if (key == NULL || key[0] == '\0' || (e = find(t, key)) == NULL ||
	    e->until <= now)
		return (0);
	return ((unsigned)((e->until - now + 999) / 1000));
}

int
guard_check(struct guard *g, const char *host, const char *user,
	    uint64_t now_ms, unsigned *retry_s)
{
	unsigned a = locked_for(&g->addr, host, now_ms);
	unsigned u = locked_for(&g->acct, user, now_ms);

	*retry_s = a > u ? a : u;
	return (*retry_s > 0 ? -EAGAIN : 0);
}

/* Counts a failure of key; true if it started a lockout. */
static bool
count(struct guard *g, struct guard_table *t, const char *key, uint64_t now,
      unsigned *n)
{
	struct guard_entry *e = get(t, key, now);

	if (e->count > 0 && now - e->first >= (uint64_t)g->p.window_s * 1000)
		e->count = 0;
	if (e->count == 0)
		e->first = now;
	e->last = now;
	*n = ++e->count;
	if (e->count < t->max)
		return (false);
	e->count = 0;
	e->until = now + (uint64_t)g->p.lockout_s * 1000;
	return (true);
}

void
guard_failed(struct guard *g, const char *front, const char *host,
	     const char *user, uint64_t now_ms)
{
	bool has_user = user != NULL && user[0] != '\0';
	unsigned na = 0, nu = 0;
	bool la, lu = false;

	la = count(g, &g->addr, host, now_ms, &na);
	if (has_user)
		lu = count(g, &g->acct, user, now_ms, &nu);
	/* SECURITY: the name tried is logged, never the password. */
	log_info("login: %s failed from %s as %s (%u from the address, %u "
		 "for the account)",
		 front, host, has_user ? user : "(none)", na, nu);
	if (la)
		log_warnx("login: address %s locked out for %u s after %u "
			  "failed logins",
			  host, g->p.lockout_s, g->addr.max);
	if (lu)
		log_warnx("login: account %s locked out for %u s after %u "
			  "failed logins",
			  user, g->p.lockout_s, g->acct.max);
}

void
guard_succeeded(struct guard *g, const char *user)
{
	struct guard_entry *e;

	if (user != NULL && user[0] != '\0' &&
	    (e = find(&g->acct, user)) != NULL)
		e->count = 0;
}

bool
guard_admit(unsigned total, unsigned from_host, unsigned max_total,
	    unsigned max_per_address, unsigned reserve)
{
	if (total >= max_total || from_host >= max_per_address)
		return (false);
	/* Never more than a quarter: a small listener keeps its use. */
	if (reserve > max_total / 4)
		reserve = max_total / 4;
	/* SECURITY: the last slots are for addresses that hold none. */
	if (from_host > 0 && reserve > 0 && total + reserve >= max_total)
		return (false);
	return (true);
}
