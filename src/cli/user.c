/*
 * user: account management on a node's folder.  Passwords come from
 * --password or the first line of standard input, never from a prompt
 * echoing them.  `add NAME --admin` makes an account that may also use
 * the node's control calls (bye, adding peers).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/fspath.h"
#include "front/auth.h"

static int
read_password(char *out, size_t size)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	size_t n;

	if (tty) {
		fprintf(stderr, "password: ");
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (fgets(out, (int)size, stdin) == NULL)
		out[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	return (n > 0 ? 0 : -EINVAL);
}

int
cli_user(const char *dir, int argc, char **argv)
{
	char users[FS_PATH_MAX], pw[AUTH_PASS_MAX + 2];
	const char *op, *name = NULL, *pass = NULL;
	unsigned flags = 0;
	int i, rc;

	if (argc < 2) {
		fprintf(stderr, "usage: shoal -C DIR user add|passwd|del|list "
		    "[NAME] [--password PW] [--admin]\n");
		return (2);
	}
	op = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
			pass = argv[++i];
		else if (strcmp(argv[i], "--admin") == 0 &&
		    strcmp(argv[1], "add") == 0)
			flags |= AUTH_ADMIN;
		else if (name == NULL && argv[i][0] != '-')
			name = argv[i];
		else {
			fprintf(stderr, "shoal: user: unexpected '%s'\n",
			    argv[i]);
			return (2);
		}
	}
	if (str_fmt(users, sizeof(users), "%s/.shoal/users", dir) < 0 ||
	    access(users, F_OK) < 0) {
		fprintf(stderr, "shoal: %s is not a node (no .shoal/users)\n",
		    dir);
		return (1);
	}
	if (strcmp(op, "list") == 0)
		return (auth_file_list(users, stdout) < 0);
	if (name == NULL) {
		fprintf(stderr, "shoal: user %s: which account?\n", op);
		return (2);
	}
	if (!auth_valid_name(name)) {
		fprintf(stderr, "shoal: '%s' is not a valid account name "
		    "(1-32 of A-Z a-z 0-9 . _ -)\n", name);
		return (1);
	}
	if (strcmp(op, "del") == 0) {
		rc = auth_file_del(users, name);
		if (rc == -ENOENT)
			fprintf(stderr, "shoal: no account '%s'\n", name);
		else if (rc < 0)
			fprintf(stderr, "shoal: %s: %s\n", users, strerror(-rc));
		return (rc < 0);
	}
	if (strcmp(op, "add") != 0 && strcmp(op, "passwd") != 0) {
		fprintf(stderr, "shoal: user: unknown operation '%s'\n", op);
		return (2);
	}
	if (pass == NULL) {
		if (read_password(pw, sizeof(pw)) < 0) {
			fprintf(stderr, "shoal: an empty password is not "
			    "allowed\n");
			return (1);
		}
		pass = pw;
	}
	if (strlen(pass) > AUTH_PASS_MAX || pass[0] == '\0') {
		fprintf(stderr, "shoal: a password has 1 to %d bytes\n",
		    AUTH_PASS_MAX);
		return (1);
	}
	rc = strcmp(op, "add") == 0 ? auth_file_add(users, name, pass, flags) :
	    auth_file_passwd(users, name, pass);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc == -EEXIST)
		fprintf(stderr, "shoal: account '%s' exists already\n", name);
	else if (rc == -ENOENT)
		fprintf(stderr, "shoal: no account '%s'\n", name);
	else if (rc < 0)
		fprintf(stderr, "shoal: %s: %s\n", users, strerror(-rc));
	return (rc < 0);
}
