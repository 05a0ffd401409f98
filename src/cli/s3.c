/*
 * s3: the S3 access keys of a node's accounts, `shoal -C DIR s3 key
 * add|list|del`.  add prints the secret once, the only time it is shown;
 * list never prints secrets.  The account must exist in the users file
 * (`shoal user add` first).  With --json each prints one JSON value on
 * stdout, and errors as {"error": ...} on stderr.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/fspath.h"
#include "front/auth.h"
#include "front/s3/s3_keys.h"

#define S3_USAGE "s3 key add ACCOUNT | s3 key list | s3 key del ACCESS_KEY"

static int fail(bool json, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(bool json, int status, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (json) {
		json_t *j =
		    json_pack("{s:s, s:s}", "error", why, "command", "s3");

		json_dumpf(j, stderr, JSON_COMPACT);
		fputc('\n', stderr);
		json_decref(j);
	} else
		fprintf(stderr, "shoal: s3: %s\n", why);
	if (status == 2 && !json)
		fprintf(stderr, "usage: shoal " S3_USAGE "\n");
	return (status);
}

struct list_out {
	bool json;
	json_t *arr;
};

static int
list_one(void *arg, const char *ak, const char *account)
{
	struct list_out *o = arg;

	if (o->json)
		return (json_array_append_new(
			    o->arr, json_pack("{s:s, s:s}", "access_key", ak,
					      "account", account)) < 0
			    ? -ENOMEM
			    : 0);
	printf("%s %s\n", ak, account);
	return (0);
}

int
cli_s3(const char *dir, bool json, int argc, char **argv)
{
	char keys[FS_PATH_MAX], users[FS_PATH_MAX];
	char ak[S3_AK_LEN + 1], secret[S3_SECRET_LEN + 1];
	const char *pos[3];
	int npos = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			printf("usage: shoal " S3_USAGE "\n");
			return (0);
		}
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return (fail(json, 2, "unknown option '%s'", argv[i]));
		else if (npos == 3)
			return (fail(json, 2, "unexpected '%s'", argv[i]));
		else
			pos[npos++] = argv[i];
	}
	if (npos < 2 || strcmp(pos[0], "key") != 0)
		return (fail(json, 2, "%s", "which operation?"));
	if (str_fmt(users, sizeof(users), "%s/.shoal/users", dir) < 0 ||
	    str_fmt(keys, sizeof(keys), "%s/.shoal/" S3_KEYS_FILE, dir) < 0 ||
	    access(users, F_OK) < 0)
		return (
		    fail(json, 1, "%s is not a node (no .shoal/users)", dir));
	if (strcmp(pos[1], "list") == 0) {
		struct list_out o = {json, json ? json_array() : NULL};

		if (npos != 2)
			return (fail(json, 2, "unexpected '%s'", pos[2]));
		rc = s3_keys_file_list(keys, list_one, &o);
		if (rc < 0) {
			json_decref(o.arr);
			return (fail(json, 1, "%s: %s", keys, strerror(-rc)));
		}
		if (json) {
			json_dumpf(o.arr, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(o.arr);
		}
		return (0);
	}
	if (strcmp(pos[1], "add") == 0) {
		if (npos != 3)
			return (fail(json, 2, "%s", "key add: which account?"));
		if (!auth_valid_name(pos[2]) || !auth_file_has(users, pos[2]))
			return (fail(
			    json, 1,
			    "no account '%s' (add it first: shoal user add %s)",
			    pos[2], pos[2]));
		rc = s3_keys_file_add(keys, pos[2], ak, secret);
		if (rc < 0)
			return (fail(json, 1, "%s: %s", keys, strerror(-rc)));
		if (json) {
			json_t *j =
			    json_pack("{s:s, s:s, s:s}", "access_key", ak,
				      "secret_key", secret, "account", pos[2]);

			json_dumpf(j, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(j);
		} else
			printf("access key: %s\nsecret key: %s\n", ak, secret);
		OPENSSL_cleanse(secret, sizeof(secret));
		return (0);
	}
	if (strcmp(pos[1], "del") == 0) {
		if (npos != 3)
			return (fail(json, 2, "%s", "key del: which key?"));
		rc = s3_keys_file_del(keys, pos[2]);
		if (rc == -ENOENT)
			return (fail(json, 1, "no access key '%s'", pos[2]));
		if (rc < 0)
			return (fail(json, 1, "%s: %s", keys, strerror(-rc)));
		if (json) {
			json_t *j = json_pack("{s:s, s:b}", "access_key",
					      pos[2], "deleted", 1);

			json_dumpf(j, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(j);
		}
		return (0);
	}
	return (fail(json, 2, "unknown operation 'key %s'", pos[1]));
}
