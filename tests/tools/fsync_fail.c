/*
 * fsync_fail: a library for tests only, loaded with LD_PRELOAD into a
 * node, so end-to-end tests can see what a node answers when the kernel
 * fails to sync a folder.
 *
 * While the file named by SHOAL_TEST_FSYNC_FAIL exists, fsync of a
 * directory outside any ".shoal" folder (the shared folders, not the
 * index's) fails with EIO.  Every other call goes to the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int
should_fail(int fd)
{
	const char *flag = getenv("SHOAL_TEST_FSYNC_FAIL");
	char link[64], path[4096];
	struct stat st;
	ssize_t n;

	if (flag == NULL || access(flag, F_OK) != 0 || fstat(fd, &st) != 0 ||
	    !S_ISDIR(st.st_mode))
		return (0);
	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return (0);
	path[n] = '\0';
	return (strstr(path, "/.shoal") == NULL);
}

int
fsync(int fd)
{
	if (should_fail(fd)) {
		errno = EIO;
		return (-1);
	}
	return ((int)syscall(SYS_fsync, fd));
}
