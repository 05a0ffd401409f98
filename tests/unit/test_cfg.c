/*
 * Tests for cfg: defaults, the INI file in DIR/.shoal/shoal.conf, and the
 * flag-style overrides.
 *
 * What a user would notice: a node with no config file runs on defaults;
 * the commented template that `shoal init` writes loads as-is and with
 * every key uncommented; a typo in a key or a number out of range stops the
 * node with a message that names the file, the line and the key, rather
 * than running on a silent default.  Files are real temporary files.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/cfg.h"

#define TMP_TEMPLATE	"/tmp/shoal-test-cfg-XXXXXX"

/* Writes text to a new temporary file whose name is left in path. */
static void
write_conf(char path[sizeof(TMP_TEMPLATE)], const char *text)
{
	FILE *f;
	int fd;

	memcpy(path, TMP_TEMPLATE, sizeof(TMP_TEMPLATE));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Loads text over the defaults; err gets the message, if any. */
static int
load_text(struct cfg *c, const char *text, char path[sizeof(TMP_TEMPLATE)],
    char *err, size_t errlen)
{
	int rc;

	cfg_defaults(c);
	write_conf(path, text);
	err[0] = '\0';
	rc = cfg_load(c, path, err, errlen);
	assert_int_equal(unlink(path), 0);
	return (rc);
}

/* err starts with "path:line: " and mentions each of the given words. */
static void
assert_err(const char *err, const char *path, int line, const char *w1,
    const char *w2)
{
	char prefix[sizeof(TMP_TEMPLATE) + 16];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err,
		    prefix);
	if (w1 && strstr(err, w1) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, w1);
	if (w2 && strstr(err, w2) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, w2);
}

static void
test_defaults(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_string_equal(c.log_level, "info");
	assert_int_equal(c.workers, 0);
	assert_string_equal(c.ftp_listen, "127.0.0.1:2121");
	assert_int_equal(c.ftp_max_sessions, 256);
	assert_int_equal(c.ftp_max_per_address, 32);
	assert_int_equal(c.ftp_login_timeout, 30);
	assert_int_equal(c.ftp_idle_timeout, 300);
	assert_int_equal(c.ftp_login_delay_ms, 1000);
	assert_string_equal(c.ftp_pasv_ports, "");
	assert_string_equal(c.ftp_pasv_address, "");
	assert_true(c.ftp_tls);
	assert_true(c.ftp_tls_require_reuse);
	assert_string_equal(c.ftp_tls_cert, "tls/cert.pem");
	assert_string_equal(c.ftp_tls_key, "tls/key.pem");
}

/* A node with no config file runs on the defaults. */
static void
test_missing_file(void **state)
{
	char dir[] = "/tmp/shoal-test-cfg-XXXXXX";
	char path[sizeof(dir) + 16];
	struct cfg c, d;
	char err[256] = "";

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/shoal.conf", dir);
	cfg_defaults(&c);
	cfg_defaults(&d);
	assert_int_equal(cfg_load(&c, path, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_string_equal(err, "");
	assert_int_equal(rmdir(dir), 0);
}

static void
test_load_values(void **state)
{
	static const char text[] =
	    "; a comment\n"
	    "# another comment\n"
	    "[node]\n"
	    "log_level = debug\n"
	    "workers=4\n"
	    "\n"
	    "[ftp]\n"
	    "  listen =  0.0.0.0:21  \n"
	    "max_sessions = 100000\n"
	    "login_delay_ms = 0\n"
	    "pasv_ports = 50000-50100\n"
	    "tls = no\n"
	    "tls_require_reuse = Off\n"
	    "tls_cert = /etc/shoal/cert.pem ; inline comment\n";
	char path[sizeof(TMP_TEMPLATE)];
	char err[256];
	struct cfg c;

	(void)state;
	assert_int_equal(load_text(&c, text, path, err, sizeof(err)), 0);
	assert_string_equal(c.log_level, "debug");
	assert_int_equal(c.workers, 4);
	assert_string_equal(c.ftp_listen, "0.0.0.0:21");
	assert_int_equal(c.ftp_max_sessions, 100000);
	assert_int_equal(c.ftp_login_delay_ms, 0);
	assert_string_equal(c.ftp_pasv_ports, "50000-50100");
	assert_false(c.ftp_tls);
	assert_false(c.ftp_tls_require_reuse);
	assert_string_equal(c.ftp_tls_cert, "/etc/shoal/cert.pem");
	/* Keys the file leaves out keep their defaults. */
	assert_int_equal(c.ftp_max_per_address, 32);
	assert_int_equal(c.ftp_idle_timeout, 300);
	assert_string_equal(c.ftp_tls_key, "tls/key.pem");
}

/* A file saved with Windows line endings reads the same. */
static void
test_load_crlf(void **state)
{
	char path[sizeof(TMP_TEMPLATE)];
	char err[256];
	struct cfg c;

	(void)state;
	assert_int_equal(load_text(&c,
	    "[node]\r\nworkers = 8\r\n[ftp]\r\nlisten = off\r\n", path, err,
	    sizeof(err)), 0);
	assert_int_equal(c.workers, 8);
	assert_string_equal(c.ftp_listen, "off");
}

static void
test_unknown_key(void **state)
{
	char path[sizeof(TMP_TEMPLATE)];
	char err[256];
	struct cfg c;

	(void)state;
	assert_int_equal(load_text(&c,
	    "[ftp]\nlisten = off\nmax_sesions = 10\n", path, err,
	    sizeof(err)), -EINVAL);
	assert_err(err, path, 3, "max_sesions", NULL);

	/* A real key in the wrong section is just as unknown. */
	assert_int_equal(load_text(&c, "[ftp]\nworkers = 4\n", path, err,
	    sizeof(err)), -EINVAL);
	assert_err(err, path, 2, "workers", "ftp");

	/* So is a key before any section. */
	assert_int_equal(load_text(&c, "workers = 4\n", path, err,
	    sizeof(err)), -EINVAL);
	assert_err(err, path, 1, "workers", NULL);

	assert_int_equal(load_text(&c, "[nodes]\nworkers = 4\n", path, err,
	    sizeof(err)), -EINVAL);
	assert_err(err, path, 2, "workers", "nodes");
}

static void
test_number_out_of_range(void **state)
{
	static const struct {
		const char	*text;
		const char	*key;
	} bad[] = {
		{ "[node]\nworkers = 65\n", "workers" },
		{ "[node]\nworkers = -1\n", "workers" },
		{ "[node]\nworkers = 4x\n", "workers" },
		{ "[node]\nworkers = four\n", "workers" },
		{ "[node]\nworkers =\n", "workers" },
		{ "[node]\nworkers = 99999999999999999999999\n", "workers" },
		{ "[ftp]\nmax_sessions = 0\n", "max_sessions" },
		{ "[ftp]\nmax_sessions = 100001\n", "max_sessions" },
		{ "[ftp]\nidle_timeout = 86401\n", "idle_timeout" },
		{ "[ftp]\nlogin_delay_ms = 10001\n", "login_delay_ms" },
	};
	char path[sizeof(TMP_TEMPLATE)];
	char err[256];
	struct cfg c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load_text(&c, bad[i].text, path, err,
		    sizeof(err)), -EINVAL);
		assert_err(err, path, 2, bad[i].key, NULL);
	}
	/* The message says what would have been accepted. */
	assert_int_equal(load_text(&c, "[node]\nworkers = 65\n", path, err,
	    sizeof(err)), -EINVAL);
	assert_err(err, path, 2, "65", "0..64");
}

static void
test_bad_values(void **state)
{
	char path[sizeof(TMP_TEMPLATE)];
	char err[256];
	struct cfg c;

	(void)state;
	assert_int_equal(load_text(&c, "[ftp]\ntls = maybe\n", path, err,
	    sizeof(err)), -EINVAL);
	assert_err(err, path, 2, "tls", "maybe");
	assert_int_equal(load_text(&c, "[node]\nlog_level = verbose\n", path,
	    err, sizeof(err)), -EINVAL);
	assert_err(err, path, 2, "log_level", "verbose");
	/* ftp_pasv_ports holds 31 bytes; more is an error, not a cut. */
	assert_int_equal(load_text(&c,
	    "[ftp]\npasv_ports = 10000-20000,30000-40000,50000-60000\n",
	    path, err, sizeof(err)), -EINVAL);
	assert_err(err, path, 2, "pasv_ports", NULL);
}

static void
test_syntax_error(void **state)
{
	char path[sizeof(TMP_TEMPLATE)];
	char err[256];
	struct cfg c;

	(void)state;
	assert_int_equal(load_text(&c, "[ftp]\nlisten = off\ntls\n", path,
	    err, sizeof(err)), -EINVAL);
	assert_err(err, path, 3, NULL, NULL);
	assert_int_equal(load_text(&c, "[ftp\nlisten = off\n", path, err,
	    sizeof(err)), -EINVAL);
	assert_err(err, path, 1, NULL, NULL);
}

/*
 * With two mistakes in a file, the message must describe the line it names,
 * or the user goes looking for the wrong mistake.
 */
static void
test_two_errors_message_matches_line(void **state)
{
	char path[sizeof(TMP_TEMPLATE)];
	char err[256];
	struct cfg c;

	(void)state;
	assert_int_equal(load_text(&c,
	    "[node]\nbogus = 1\nlog_level = info\nworkers = 999\n", path, err,
	    sizeof(err)), -EINVAL);
	assert_err(err, path, 2, "bogus", NULL);
	if (strstr(err, "workers") != NULL)
		fail_msg("line 2 error describes line 4: \"%s\"", err);
}

/*
 * The INI reader splits lines past 199 bytes; such a line must be refused
 * with a message naming its line, not misread as a syntax error elsewhere.
 */
static void
test_long_value_in_file(void **state)
{
	char value[CFG_STR_MAX - 16];
	char text[CFG_STR_MAX + 64];
	char path[sizeof(TMP_TEMPLATE)];
	char err[256];
	struct cfg c;

	(void)state;
	memset(value, 'c', sizeof(value) - 1);
	value[0] = '/';
	value[sizeof(value) - 1] = '\0';

	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "ftp", "tls_cert", value, err,
	    sizeof(err)), 0);
	assert_string_equal(c.ftp_tls_cert, value);

	cfg_defaults(&c);
	snprintf(text, sizeof(text), "[ftp]\ntls_cert = %s\ntls = no\n",
	    value);
	assert_int_not_equal(load_text(&c, text, path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, ":2: line longer than"));
	assert_string_equal(c.ftp_tls_cert, "tls/cert.pem");
}

/* The template `shoal init` writes loads, and so does each key in it. */
static void
test_template_round_trip(void **state)
{
	char path[sizeof(TMP_TEMPLATE)];
	char line[512], err[256];
	char *text = NULL;
	size_t textlen = 0;
	struct cfg c, d;
	FILE *f, *mem;
	int fd, nkeys = 0;

	(void)state;
	memcpy(path, TMP_TEMPLATE, sizeof(TMP_TEMPLATE));
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w+"));
	cfg_write_template(f);
	assert_int_equal(fflush(f), 0);

	cfg_defaults(&c);
	cfg_defaults(&d);
	err[0] = '\0';
	assert_int_equal(cfg_load(&c, path, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));

	/* Uncomment every "#key = default" line; help lines start "# ". */
	assert_non_null(mem = open_memstream(&text, &textlen));
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' && line[1] != ' ' && line[1] != '\n' &&
		    strchr(line, '=') != NULL) {
			fputs(line + 1, mem);
			nkeys++;
		} else
			fputs(line, mem);
	}
	assert_int_equal(fclose(f), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(fclose(mem), 0);
	assert_int_equal(nkeys, 45);	/* one per field of struct cfg */

	assert_int_equal(load_text(&c, text, path, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	free(text);
}

static void
test_set(void **state)
{
	static const char *const yes[] = { "yes", "YES", "true", "on", "1" };
	static const char *const no[] = { "no", "False", "OFF", "0" };
	char err[256];
	struct cfg c;
	size_t i;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "node", "workers", "64", err,
	    sizeof(err)), 0);
	assert_int_equal(c.workers, 64);
	assert_int_equal(cfg_set(&c, "ftp", "listen", "[::1]:2121", err,
	    sizeof(err)), 0);
	assert_string_equal(c.ftp_listen, "[::1]:2121");
	assert_int_equal(cfg_set(&c, "ftp", "pasv_address", "", err,
	    sizeof(err)), 0);
	assert_string_equal(c.ftp_pasv_address, "");
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		c.ftp_tls = true;
		assert_int_equal(cfg_set(&c, "ftp", "tls", no[i], err,
		    sizeof(err)), 0);
		assert_false(c.ftp_tls);
	}
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		c.ftp_tls = false;
		assert_int_equal(cfg_set(&c, "ftp", "tls", yes[i], err,
		    sizeof(err)), 0);
		assert_true(c.ftp_tls);
	}
}

/* A refused value leaves the setting as it was. */
static void
test_set_refused(void **state)
{
	char big[CFG_STR_MAX + 1];
	char err[256];
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	err[0] = '\0';
	assert_int_equal(cfg_set(&c, "node", "workerz", "4", err,
	    sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "workerz"));
	assert_non_null(strstr(err, "node"));

	assert_true(cfg_set(&c, "node", "workers", "65", err,
	    sizeof(err)) < 0);
	assert_non_null(strstr(err, "node.workers"));
	assert_int_equal(c.workers, 0);
	assert_true(cfg_set(&c, "ftp", "max_sessions", "0", err,
	    sizeof(err)) < 0);
	assert_int_equal(c.ftp_max_sessions, 256);
	assert_true(cfg_set(&c, "ftp", "tls", "2", err, sizeof(err)) < 0);
	assert_true(c.ftp_tls);
	assert_true(cfg_set(&c, "node", "log_level", "loud", err,
	    sizeof(err)) < 0);
	assert_string_equal(c.log_level, "info");

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(cfg_set(&c, "ftp", "tls_key", big, err, sizeof(err)) < 0);
	assert_string_equal(c.ftp_tls_key, "tls/key.pem");
	/* The message for a long value still fits err and names the key. */
	assert_non_null(memchr(err, '\0', sizeof(err)));
	assert_non_null(strstr(err, "ftp.tls_key"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_load_values),
		cmocka_unit_test(test_load_crlf),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_number_out_of_range),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_two_errors_message_matches_line),
		cmocka_unit_test(test_long_value_in_file),
		cmocka_unit_test(test_template_round_trip),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_set_refused),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
