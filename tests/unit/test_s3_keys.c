/*
 * Tests for s3_keys: the access-key file.
 *
 * What a user would notice: a key added is found with its account and
 * secret, by a reader made before the key existed (as a running node
 * is), and is gone for it once deleted; the file is mode 0600 whatever
 * the umask; keys and secrets have their documented form and differ each
 * time; lines that do not parse are skipped, not fatal; two processes
 * adding keys at once lose none.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "front/s3/s3_keys.h"

static char dir[64], path[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_s3_keys.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s3_keys", dir);
	return (0);
}

static int
teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return (0);
}

static int
count(void *arg, const char *ak, const char *account)
{
	(void)account;
	assert_true(s3_keys_valid_ak(ak));
	(*(int *)arg)++;
	return (0);
}

static void
test_add_lookup_del(void **state)
{
	struct s3_keys *k;
	char ak[S3_AK_LEN + 1], ak2[S3_AK_LEN + 1];
	char secret[S3_SECRET_LEN + 1], secret2[S3_SECRET_LEN + 1];
	char acct[AUTH_NAME_MAX + 1], got[S3_SECRET_LEN + 1];
	struct stat st;
	mode_t old;
	int n = 0;

	(void)state;
	/* the reader exists before the file does, as a running node */
	k = s3_keys_new(path);
	assert_non_null(k);
	assert_int_equal(s3_keys_lookup(k, "AKAAAAAAAAAAAAAAAAAA", acct, got),
			 -ENOENT);
	old = umask(0);
	assert_int_equal(s3_keys_file_add(path, "alice", ak, secret), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(s3_keys_valid_ak(ak));
	assert_int_equal(strlen(secret), S3_SECRET_LEN);
	assert_int_equal(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
					"mnopqrstuvwxyz0123456789-_"),
			 S3_SECRET_LEN);
	assert_int_equal(s3_keys_lookup(k, ak, acct, got), 0);
	assert_string_equal(acct, "alice");
	assert_string_equal(got, secret);

	assert_int_equal(s3_keys_file_add(path, "bob", ak2, secret2), 0);
	assert_string_not_equal(ak, ak2);
	assert_string_not_equal(secret, secret2);
	assert_int_equal(s3_keys_lookup(k, ak2, acct, got), 0);
	assert_string_equal(acct, "bob");
	assert_string_equal(got, secret2);
	assert_int_equal(s3_keys_file_list(path, count, &n), 0);
	assert_int_equal(n, 2);

	assert_int_equal(s3_keys_file_del(path, ak), 0);
	assert_int_equal(s3_keys_lookup(k, ak, acct, got), -ENOENT);
	assert_string_equal(got, "");
	assert_int_equal(s3_keys_lookup(k, ak2, acct, got), 0);
	assert_int_equal(s3_keys_file_del(path, ak), -ENOENT);
	assert_int_equal(s3_keys_file_add(path, "no/such", ak, secret),
			 -EINVAL);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	s3_keys_free(k);
}

static void
test_bad_lines_skipped(void **state)
{
	struct s3_keys *k;
	char acct[AUTH_NAME_MAX + 1], got[S3_SECRET_LEN + 1];
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"garbage\n"
		"AKAAAAAAAAAAAAAAAAAA short carol\n"
		"AKAAAAAAAAAAAAAAAAA1 0123456789012345678901234567890123456789"
		" dave\n"
		"AKBBBBBBBBBBBBBBBBBB 0123456789012345678901234567890123456789"
		" .bad\n"
		"AKCCCCCCCCCCCCCCCCCC 0123456789012345678901234567890123456789"
		" erin\n");
	fclose(f);
	k = s3_keys_new(path);
	assert_int_equal(s3_keys_lookup(k, "AKCCCCCCCCCCCCCCCCCC", acct, got),
			 0);
	assert_string_equal(acct, "erin");
	assert_int_equal(s3_keys_lookup(k, "AKAAAAAAAAAAAAAAAAAA", acct, got),
			 -ENOENT);
	assert_int_equal(s3_keys_lookup(k, "AKAAAAAAAAAAAAAAAAA1", acct, got),
			 -ENOENT);
	assert_int_equal(s3_keys_lookup(k, "AKBBBBBBBBBBBBBBBBBB", acct, got),
			 -ENOENT);
	assert_int_equal(s3_keys_lookup(k, "akcccccccccccccccccc", acct, got),
			 -ENOENT);
	s3_keys_free(k);
	assert_false(s3_keys_valid_ak("AK"));
	assert_false(s3_keys_valid_ak("AKCCCCCCCCCCCCCCCCCCC"));
	assert_false(s3_keys_valid_ak("XKCCCCCCCCCCCCCCCCCC"));
	assert_false(s3_keys_valid_ak("AKCCCCCCCCCCCCCCCCC1"));
	unlink(path);
}

/* Two processes adding 20 keys each: all 40 are in the file. */
static void
test_concurrent_adds(void **state)
{
	pid_t pids[2];
	int n = 0;

	(void)state;
	unlink(path);
	for (int p = 0; p < 2; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			char ak[S3_AK_LEN + 1], s[S3_SECRET_LEN + 1];

			for (int i = 0; i < 20; i++)
				if (s3_keys_file_add(path, "alice", ak, s) < 0)
					_exit(1);
			_exit(0);
		}
	}
	for (int p = 0; p < 2; p++) {
		int status;

		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(s3_keys_file_list(path, count, &n), 0);
	assert_int_equal(n, 40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_lookup_del),
	    cmocka_unit_test(test_bad_lines_skipped),
	    cmocka_unit_test(test_concurrent_adds),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
