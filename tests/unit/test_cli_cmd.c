/*
 * Tests for cli/cmd: the one option parser every `shoal` command goes
 * through, the shell's word splitter and the display width of names.
 *
 * What users rely on: --help anywhere (before "--") wins and runs
 * nothing; an unknown option, a missing value, too few or too many
 * arguments are usage errors (2); "-" is an argument and "--" ends the
 * options; remote paths come out absolute.  The splitter never reads
 * past the line: each case runs on a heap copy of exactly the line, cut
 * at every byte, so AddressSanitizer reports any overread.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cmd.h"

/* Runs the parser with stdout and stderr sent to /dev/null. */
static int
parse(const char *cmd, struct cli_args *a, bool *json, ...)
{
	char *argv[16];
	int argc = 0, rc, out, err, null;
	va_list ap;

	argv[argc++] = (char *)cmd;
	va_start(ap, json);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	out = dup(1);
	err = dup(2);
	null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	dup2(null, 2);
	rc = cli_parse(cli_cmd_find(cmd), argc, argv, a, json);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return (rc);
}

static void
test_help_wins(void **state)
{
	struct cli_args a;
	bool json = false;

	(void)state;
	assert_int_equal(parse("bye", &a, &json, "--help", NULL), 1);
	assert_int_equal(parse("mkdir", &a, &json, "--help", NULL), 1);
	assert_int_equal(parse("rm", &a, &json, "/x", "-h", NULL), 1);
	/* even beside a usage error */
	assert_int_equal(
	    parse("rm", &a, &json, "/x", "/y", "--bogus", "--help", NULL), 1);
	/* after "--" it is a path */
	assert_int_equal(parse("rm", &a, &json, "--", "--help", NULL), 0);
	assert_string_equal(a.path[0], "/--help");
	cli_args_release(&a);
	/* the value of -o is not an option */
	assert_int_equal(parse("get", &a, &json, "/x", "-o", "--help", NULL),
			 0);
	assert_string_equal(a.out, "--help");
	cli_args_release(&a);
}

static void
test_usage_errors(void **state)
{
	struct cli_args a;
	bool json = false;

	(void)state;
	assert_int_equal(parse("rm", &a, &json, "--bogus", "/x", NULL), 2);
	assert_int_equal(parse("rm", &a, &json, "/x", "/y", NULL), 2);
	assert_int_equal(parse("rm", &a, &json, NULL), 2);
	assert_int_equal(parse("bye", &a, &json, "now", NULL), 2);
	assert_int_equal(parse("get", &a, &json, "/x", "-o", NULL), 2);
	assert_int_equal(parse("get", &a, &json, "/x", "y", "-o", "z", NULL),
			 2);
	assert_int_equal(parse("mkdir", &a, &json, "-r", "/x", NULL), 2);
	assert_int_equal(parse("lock", &a, &json, "/x", "--ttl", "0", NULL), 2);
	assert_int_equal(parse("lock", &a, &json, "/x", "--ttl", "86401", NULL),
			 2);
	assert_int_equal(parse("lock", &a, &json, "/x", "--ttl", "9x", NULL),
			 2);
	assert_int_equal(parse("ls", &a, &json, "/a", "/b", NULL), 2);
	assert_false(json);
	assert_int_equal(parse("ls", &a, &json, "--json", "/a", "/b", NULL), 2);
	assert_true(json);
}

static void
test_options_and_paths(void **state)
{
	struct cli_args a;
	bool json = false;

	(void)state;
	assert_int_equal(parse("put", &a, &json, "-", "x/y", "--json", NULL),
			 0);
	assert_true(json);
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "-");
	assert_null(a.path[0]);
	assert_string_equal(a.path[1], "/x/y");
	cli_args_release(&a);
	assert_int_equal(parse("put", &a, &json, "-r", "d", "//dest/", NULL),
			 0);
	assert_true(a.opts & CLI_OPT_R);
	assert_string_equal(a.path[1], "/dest/");
	cli_args_release(&a);
	assert_int_equal(parse("mkdir", &a, &json, "--parents", "a/b", NULL),
			 0);
	assert_true(a.opts & CLI_OPT_P);
	assert_string_equal(a.path[0], "/a/b");
	cli_args_release(&a);
	assert_int_equal(parse("lock", &a, &json, "--ttl", "30", "f", NULL), 0);
	assert_int_equal(a.ttl, 30);
	assert_string_equal(a.path[0], "/f");
	cli_args_release(&a);
	assert_int_equal(parse("ls", &a, &json, NULL), 0);
	assert_int_equal(a.npos, 0);
	cli_args_release(&a);
	assert_int_equal(parse("add", &a, &json, "127.0.0.1:1", NULL), 0);
	assert_null(a.path[0]);
	cli_args_release(&a);
	assert_null(cli_cmd_find("nonsense"));
}

struct split_case {
	const char *line;
	int argc;
	const char *words[4];
};

static const struct split_case split_cases[] = {
    {"", 0, {NULL}},
    {"   \t ", 0, {NULL}},
    {"ls", 1, {"ls"}},
    {"  GET  a.txt  ", 2, {"GET", "a.txt"}},
    {"GET \"my file.txt\"", 2, {"GET", "my file.txt"}},
    {"GET 'my file.txt'", 2, {"GET", "my file.txt"}},
    {"GET my\\ file.txt", 2, {"GET", "my file.txt"}},
    {"put a\"b c\"d 'x\\y'", 3, {"put", "ab cd", "x\\y"}},
    {"get \"a\\\"b\"", 2, {"get", "a\"b"}},
    {"mv '' x", 3, {"mv", "", "x"}},
    {"\"unterminated", -1, {NULL}},
    {"tail\\", -1, {NULL}},
    {"a b c d e", -1, {NULL}}, /* max is 4 */
};

static void
test_split(void **state)
{
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < sizeof(split_cases) / sizeof(*split_cases); i++) {
		const struct split_case *c = &split_cases[i];
		size_t n = strlen(c->line);
		char *line = malloc(n + 1), *argv[4];
		const char *why = NULL;
		int argc;

		assert_non_null(line);
		memcpy(line, c->line, n + 1);
		argc = cli_split(line, argv, 4, &why);
		assert_int_equal(argc, c->argc);
		if (argc < 0)
			assert_non_null(why);
		for (k = 0; k < argc; k++)
			assert_string_equal(argv[k], c->words[k]);
		free(line);
	}
}

/* Every prefix of every line: no overread, and a sane answer. */
static void
test_split_every_cut(void **state)
{
	size_t i, cut;

	(void)state;
	for (i = 0; i < sizeof(split_cases) / sizeof(*split_cases); i++)
		for (cut = 0; cut <= strlen(split_cases[i].line); cut++) {
			char *line = malloc(cut + 1), *argv[4];
			const char *why = NULL;
			int argc;

			assert_non_null(line);
			memcpy(line, split_cases[i].line, cut);
			line[cut] = '\0';
			argc = cli_split(line, argv, 4, &why);
			assert_true(argc >= -1 && argc <= 4);
			assert_true(argc >= 0 || why != NULL);
			free(line);
		}
}

static void
test_width(void **state)
{
	(void)state;
	assert_int_equal(cli_width(""), 0);
	assert_int_equal(cli_width("abc"), 3);
	assert_int_equal(cli_width("\xc3\xa9t\xc3\xa9"), 3);	    /* été */
	assert_int_equal(cli_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* 日本 */
	assert_int_equal(cli_width("e\xcc\x81"), 1); /* e + combining acute */
	assert_int_equal(cli_width("\xf0\x9f\x90\x9f"), 2); /* a fish */
	/* broken UTF-8 counts a column per stray byte, never reads past */
	assert_int_equal(cli_width("\xe6\x97"), 1);
	assert_int_equal(cli_width("\x80\x80"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_help_wins),
	    cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test(test_options_and_paths),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_split_every_cut),
	    cmocka_unit_test(test_width),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
