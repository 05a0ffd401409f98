/*
 * path: turns what a client typed into a normalised path inside the shared
 * folder, or refuses it.
 *
 * A normalised path is relative to the folder's root, uses single '/'
 * separators, has no "." or ".." components and no leading or trailing '/';
 * the root itself is "".  ".." above the root stays at the root, as in a
 * chroot.  Control bytes (below 0x20, and 0x7f) are refused, and so is any
 * path under the node's private ".shoal" folder.  This is pure string work:
 * symlinks are confined later, when store opens the path with openat2.
 */
#ifndef SHOAL_STORE_PATH_H
#define SHOAL_STORE_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define PATH_LEN_MAX	4096
#define PATH_NAME_MAX	255
#define PATH_PRIVATE	".shoal"

/*
 * Resolves arg (absolute, or relative to the normalised cwd) into
 * out[outsize].  Returns 0, -EINVAL (control byte or empty name),
 * -ENAMETOOLONG, or -EACCES (the private folder).
 */
int	path_resolve(const char *cwd, const char *arg, size_t arglen,
	    char *out, size_t outsize) __attribute__((warn_unused_result));
/*
 * The one rule for a name that may be shared, used by the scanner before it
 * indexes a file or folder and by sync before it takes a peer's entry (and
 * by the tracker wire): true if p is a non-empty path already in normal
 * form (what path_resolve makes of it, unchanged), so with no control
 * byte, no "." or ".." component, no component over PATH_NAME_MAX bytes,
 * and not under the private folder.  A name like "v1..v2" is fine.
 */
bool	path_valid(const char *p);
/*
 * Copies p into out[outsize] for a log line, control bytes shown as '?'
 * and cut to fit.  Returns out.
 */
const char *path_printable(const char *p, char *out, size_t outsize);
/* True for the private folder and anything under it. */
bool	path_is_private(const char *norm);
/* The last component of a normalised path ("" for the root). */
const char *path_base(const char *norm);

#endif
