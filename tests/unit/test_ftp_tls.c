/*
 * ftp_tls: which TLS session a protected data connection may carry, as a
 * table.  Each row is what is known of the session it resumed and of the
 * control connection it would serve, and the verdict: taken, wait (for
 * the grant's connection to log in) or refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front/ftp/ftp_int.h"

struct row {
	const char *what;
	struct ftp_tls_facts f;
	int want;
};

#define SESSION .resumed = true, .tagged = true, .known = true
#define SAME	.same_host = true

static const struct row rows[] = {
    /* The session of this or of another control connection: alike. */
    {"a session granted to the same account",
     {SESSION, SAME, .grant_open = true, .grant_user = "guest",
      .logged_in = true, .user = "guest"},
     0},
    {"a closed connection's session, same account",
     {SESSION, SAME, .grant_open = false, .grant_user = "guest",
      .logged_in = true, .user = "guest"},
     0},
    {"a fresh handshake",
     {.known = false, .grant_user = "", .logged_in = true, .user = "guest"},
     -EACCES},
    {"resumed, without a tag",
     {.resumed = true, .grant_user = "", .logged_in = true, .user = "guest"},
     -EACCES},
    {"a tag this node no longer knows",
     {.resumed = true,
      .tagged = true,
      .grant_user = "",
      .logged_in = true,
      .user = "guest"},
     -EACCES},
    {"granted to another address",
     {SESSION, .grant_open = true, .grant_user = "guest", .logged_in = true,
      .user = "guest"},
     -EACCES},
    {"granted to another account",
     {SESSION, SAME, .grant_open = true, .grant_user = "alice",
      .logged_in = true, .user = "guest"},
     -EACCES},
    {"an account whose name starts the same",
     {SESSION, SAME, .grant_open = true, .grant_user = "guest2",
      .logged_in = true, .user = "guest"},
     -EACCES},
    {"granted to a connection still logging in",
     {SESSION, SAME, .grant_open = true, .grant_user = "", .logged_in = true,
      .user = "guest"},
     -EAGAIN},
    {"granted to a connection that left before logging in",
     {SESSION, SAME, .grant_open = false, .grant_user = "", .logged_in = true,
      .user = "guest"},
     -EACCES},
    {"a connection logging in, another address",
     {SESSION, .grant_open = true, .grant_user = "", .logged_in = true,
      .user = "guest"},
     -EACCES},
    {"this control connection not logged in",
     {SESSION, SAME, .grant_open = true, .grant_user = "guest",
      .logged_in = false, .user = ""},
     -EACCES},
    {"neither logged in",
     {SESSION, SAME, .grant_open = true, .grant_user = "", .logged_in = false,
      .user = ""},
     -EACCES},
};

static void
test_table(void **state)
{
	const char *why;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = NULL;
		rc = ftp_tls_decide(&rows[i].f, &why);
		if (rc != rows[i].want)
			fail_msg("%s: got %d, want %d", rows[i].what, rc,
				 rows[i].want);
		/* A refusal always says why, for the log. */
		if (rc == -EACCES)
			assert_non_null(why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
