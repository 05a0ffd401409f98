/*
 * auth: the node's accounts (DIR/.shoal/users), shared by every front end.
 *
 * The file holds one "name:hash" line per account, hashed with yescrypt
 * (libcrypt).  A running node re-reads it when it changes, so `shoal user`
 * takes effect at the next login.  A slow hash is what protects a stolen
 * users file, but it would make every login cost tens of milliseconds:
 * after one successful check, auth remembers an HMAC of the password under
 * a key that lives only in memory, and later logins of the same account
 * with the same password compare that instead.
 *
 * An account marked admin may also use the node's control calls (stop it,
 * change its membership), as the API token may.
 */
#ifndef SHOAL_FRONT_AUTH_H
#define SHOAL_FRONT_AUTH_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

#define AUTH_NAME_MAX	32
#define AUTH_PASS_MAX	256
#define AUTH_GUEST	"guest"
#define AUTH_ADMIN	0x1	/* account flag: may use the control calls */

struct auth;

struct auth *auth_new(const char *users_path);
void	auth_free(struct auth *);
/* 0 if the account exists and the password is right; -EACCES otherwise.
 * Blocking (worker pool); thread-safe. */
int	auth_check(struct auth *, const char *user, const char *pass);
/*
 * auth_check with a listener's rules: guest_ok false refuses guest/guest
 * (see auth_guest_allowed).  *admin tells whether the account is an admin
 * (false on failure).  Blocking (worker pool); thread-safe.
 */
int	auth_login(struct auth *, bool guest_ok, const char *user,
	    const char *pass, bool *admin);

/*
 * SECURITY: the default guest/guest account is for trying shoal out on one
 * machine.  The one rule for every front end (FTP, HTTP, and any to come):
 * it may log in only through a listener bound to loopback.
 */
bool	auth_guest_allowed(const struct sockaddr *listen);
bool	auth_is_default_guest(const char *user, const char *pass);
/*
 * The same rule at start-up: -EACCES, with the reason in err, if listen
 * (HOST:PORT of the front end `what`, or "off") is beyond loopback while
 * the users file holds guest/guest.
 */
int	auth_guest_check_listen(const char *users_path, const char *what,
	    const char *listen, char *err, size_t errlen);

/* Account names: 1..32 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool	auth_valid_name(const char *);
/* Edits of the users file, for the `shoal user` commands.  add (flags:
 * AUTH_ADMIN or 0) fails with -EEXIST, passwd (which keeps the flags) and
 * del with -ENOENT.  list prints one name a line, "NAME (admin)" for an
 * admin. */
int	auth_file_add(const char *path, const char *user, const char *pass,
	    unsigned flags);
int	auth_file_passwd(const char *path, const char *user, const char *pass);
int	auth_file_del(const char *path, const char *user);
int	auth_file_list(const char *path, FILE *out);
/*
 * Whether the account exists now (the file re-read if it changed), for a
 * front end that authenticates by other means than the password (S3's
 * access keys); *admin (may be NULL) tells whether it is an admin.
 * Thread-safe; a stat when nothing changed.
 */
bool	auth_has(struct auth *, const char *user, bool *admin);
/* The same from the file, for the CLI. */
bool	auth_file_has(const char *path, const char *user);
/* True if the guest account exists with the password "guest". */
bool	auth_file_default_guest(const char *path);

#endif
