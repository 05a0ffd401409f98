/*
 * Tests for SHOAL_ASSERT (base/assert.h): in a build with invariants on,
 * a false one aborts the process with a message naming it and a true one
 * does nothing; with them off, the expression is not even evaluated.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/assert.h"

static int evaluated;

static int
touch(int v)
{
	evaluated++;
	return (v);
}

/* Runs SHOAL_ASSERT(touch(v)) in a child; its wait status and stderr. */
static int
run_child(int v, char *err, size_t size)
{
	int pfd[2], status;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		(void)dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		SHOAL_ASSERT(touch(v) == 1);
		_exit(evaluated == 1 ? 0 : 3);
	}
	close(pfd[1]);
	while (got + 1 < size &&
	       (n = read(pfd[0], err + got, size - got - 1)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return (status);
}

static void
test_assert(void **state)
{
	char err[512];
	int st;

	(void)state;
	st = run_child(1, err, sizeof(err));
#ifdef SHOAL_ASSERTS
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = run_child(0, err, sizeof(err));
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	assert_non_null(strstr(err, "invariant failed: touch(v) == 1"));
	assert_non_null(strstr(err, "test_assert.c"));
#else
	/* Compiled out: not evaluated, so the child exits 3. */
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	st = run_child(0, err, sizeof(err));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 3);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_assert),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
