/*
 * sync_hold: a library for tests only, loaded with LD_PRELOAD into a
 * node, so end-to-end tests can hold the worker threads on demand and see
 * what a node answers when its pool is full.
 *
 * While the file named by SHOAL_TEST_SYNC_HOLD exists, fdatasync of a
 * file under a ".shoal/tmp" folder (an upload being made durable, on a
 * worker thread) waits for the file to go.  Each call held adds a line to
 * FLAG.held first, so a test knows when its threads are really held (a
 * worker busy with an upload's earlier writes is not).  Every other call
 * goes to the kernel.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int
held(int fd)
{
	const char *flag = getenv("SHOAL_TEST_SYNC_HOLD");
	char link[64], path[4096];
	ssize_t n;

	if (flag == NULL || access(flag, F_OK) != 0)
		return (0);
	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return (0);
	path[n] = '\0';
	return (strstr(path, "/.shoal/tmp/") != NULL);
}

int
fdatasync(int fd)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	const char *flag = getenv("SHOAL_TEST_SYNC_HOLD");

	char mark[4096];
	int mfd;

	if (held(fd)) {
		(void)snprintf(mark, sizeof(mark), "%s.held", flag);
		if ((mfd = open(mark, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644)) >= 0) {
			if (write(mfd, "1\n", 2) != 2)
				perror("sync_hold: mark");
			close(mfd);
		}
		while (access(flag, F_OK) == 0)
			nanosleep(&ts, NULL);
	}
	return ((int)syscall(SYS_fdatasync, fd));
}
