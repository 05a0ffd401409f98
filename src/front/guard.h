/*
 * guard: who may come in, the same way on every front end (FTP, HTTP, and
 * any to come).  Two rules live here:
 *
 *  - Failed logins.  Each failure is answered only after the front end's
 *    delay; guard_failed counts it against the client's address and the
 *    account it named, and logs it.  An address with max_per_address
 *    failures within window_s seconds, or an account with max_per_account,
 *    is locked out for lockout_s seconds: guard_check then refuses every
 *    login from that address, or to that account from any address, before
 *    a password is looked at (the right one included).  The API token is
 *    not an account and is never locked.  A successful login clears its
 *    account's count, not its address's.
 *
 *  - Connection admission (guard_admit): a cap on all connections of a
 *    listener, a cap per client address, and a reserve of the last slots
 *    for addresses that hold none yet, so clients hogging connections
 *    from a few addresses cannot keep a new one out.
 *
 * The failure tables have a fixed size (GUARD_ENTRIES each); when one is
 * full the entry idle longest is reused, locked ones last.  Loop only:
 * not thread-safe.  Times are milliseconds of clock_mono_ms(), passed in
 * so the rules are pure and table-tested (tests/unit/test_guard.c).
 */
#ifndef SHOAL_FRONT_GUARD_H
#define SHOAL_FRONT_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#define GUARD_ENTRIES 4096
#define GUARD_KEY_MAX 64 /* an address as text, or an account name */

struct guard_policy {
	unsigned max_per_address; /* failures before a lockout */
	unsigned max_per_account;
	unsigned window_s; /* failures older are forgotten */
	unsigned lockout_s;
};

struct guard;

struct guard *guard_new(const struct guard_policy *);
void guard_free(struct guard *);

/*
 * May host log in as user (NULL or "": no account, e.g. a bearer token)?
 * 0, or -EAGAIN while the address or the account is locked out, with the
 * seconds left in *retry_s (at least 1).
 */
int guard_check(struct guard *, const char *host, const char *user,
		uint64_t now_ms, unsigned *retry_s)
    __attribute__((warn_unused_result));
/* A failed login through front ("ftp", "http") from host as user (NULL or
 * "": none): counted, logged, and a lockout started when a limit is hit. */
void guard_failed(struct guard *, const char *front, const char *host,
		  const char *user, uint64_t now_ms);
void guard_succeeded(struct guard *, const char *user);

/*
 * Connection admission: may a listener holding total connections, from_host
 * of them from this client's address, take one more?  Refused at max_total,
 * at max_per_address from one address, and in the last `reserve` slots (at
 * most a quarter of max_total) for an address that holds one already.
 */
bool guard_admit(unsigned total, unsigned from_host, unsigned max_total,
		 unsigned max_per_address, unsigned reserve);

#endif
