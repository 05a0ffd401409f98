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
 */
#ifndef SHOAL_FRONT_AUTH_H
#define SHOAL_FRONT_AUTH_H

#include <stdbool.h>
#include <stdio.h>

#define AUTH_NAME_MAX	32
#define AUTH_PASS_MAX	256
#define AUTH_GUEST	"guest"

struct auth;

struct auth *auth_new(const char *users_path);
void	auth_free(struct auth *);
/* 0 if the account exists and the password is right; -EACCES otherwise.
 * Blocking (worker pool); thread-safe. */
int	auth_check(struct auth *, const char *user, const char *pass);

/* Account names: 1..32 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool	auth_valid_name(const char *);
/* Edits of the users file, for the `shoal user` commands.  add fails with
 * -EEXIST, passwd and del with -ENOENT. */
int	auth_file_add(const char *path, const char *user, const char *pass);
int	auth_file_passwd(const char *path, const char *user, const char *pass);
int	auth_file_del(const char *path, const char *user);
int	auth_file_list(const char *path, FILE *out);
/* True if the guest account exists with the password "guest". */
bool	auth_file_default_guest(const char *path);

#endif
