/*
 * s3_keys: the S3 access keys of the node's accounts (DIR/.shoal/s3_keys).
 *
 * One line per key, "ACCESS_KEY SECRET ACCOUNT".  The file is mode 0600
 * and rewritten whole (temp file, fsync, rename, fsync of the folder), as
 * the users file is (auth.h): S3's signature needs the secret in clear, so
 * the file's mode is what protects it.  A running node re-reads the file
 * when its mtime, size or inode change (one stat per lookup), so `shoal s3
 * key add` takes effect at the next request.
 *
 * Access keys are "AK" and 18 characters of base32 (A-Z, 2-7); secrets 40
 * characters of base64url ([A-Za-z0-9_-]) from RAND_bytes.  SECURITY: secrets
 * are never logged; lookup copies one out for the caller to wipe.
 *
 * An account's keys do not outlive it for the node: the server checks the
 * account still exists when it authenticates (the users file is the
 * authority), and `shoal user del` need not know about keys.
 */
#ifndef SHOAL_FRONT_S3_KEYS_H
#define SHOAL_FRONT_S3_KEYS_H

#include <stdbool.h>
#include <stdio.h>

#include "front/auth.h"

#define S3_KEYS_FILE  "s3_keys" /* in DIR/.shoal */
#define S3_AK_LEN     20
#define S3_SECRET_LEN 40
#define S3_KEYS_MAX   10000 /* keys in the file */

struct s3_keys;

/* path: DIR/.shoal/s3_keys, copied; the file may not exist yet (then no
 * key is known).  NULL on ENOMEM. */
struct s3_keys *s3_keys_new(const char *path);
void s3_keys_free(struct s3_keys *);
/*
 * The account and secret of access key ak: 0, -ENOENT if unknown (or the
 * file unreadable: logged once per change).  account[AUTH_NAME_MAX + 1],
 * secret[S3_SECRET_LEN + 1]; the caller wipes secret.  Re-reads the file
 * first if it changed.  Thread-safe; cheap (a stat) when nothing changed.
 */
int s3_keys_lookup(struct s3_keys *, const char *ak, char *account,
		   char *secret) __attribute__((warn_unused_result));

/* True for "AK" + 18 base32 characters. */
bool s3_keys_valid_ak(const char *);

/*
 * Edits of the file, for `shoal s3 key`.  add makes a new key for account
 * (a valid name, auth_valid_name; whether it exists is the caller's
 * check) into ak[S3_AK_LEN + 1] and secret[S3_SECRET_LEN + 1]: 0,
 * -EINVAL, -ENOSPC past S3_KEYS_MAX, -errno.  del: 0 or -ENOENT.  list
 * calls fn for each key, never with the secret; stops at fn's non-zero
 * return and returns it.
 */
int s3_keys_file_add(const char *path, const char *account, char *ak,
		     char *secret) __attribute__((warn_unused_result));
int s3_keys_file_del(const char *path, const char *ak)
    __attribute__((warn_unused_result));
int s3_keys_file_list(const char *path,
		      int (*fn)(void *arg, const char *ak, const char *account),
		      void *arg) __attribute__((warn_unused_result));

#endif
