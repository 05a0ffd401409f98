/*
 * rename_hold: a library for tests only, loaded with LD_PRELOAD into a
 * node.  Each renameat that moved a folder returns 400 ms late, so a
 * rename through store keeps its
 * paths busy well past the folder watcher's 50 ms debounce: the watcher's
 * look at the renamed folder meets it busy (tests/e2e/test_sync_defects.py).
 * Every other call is passed through.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

int
renameat(int ofd, const char *old, int nfd, const char *new)
{
	static int (*real)(int, const char *, int, const char *);
	struct timespec ts = { 0, 400 * 1000 * 1000 };
	struct stat st;
	int rc;

	if (real == NULL)
		real = (int (*)(int, const char *, int, const char *))dlsym(
		    RTLD_NEXT, "renameat");
	if (real == NULL)
		return (-1);
	rc = real(ofd, old, nfd, new);
	if (rc == 0 && fstatat(nfd, new, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		nanosleep(&ts, NULL);
	return (rc);
}
