/*
 * fspath: the size of a buffer that holds a full filesystem path (a node's
 * folder, anything under DIR/.shoal, a certificate or key file, a local
 * file the client reads or writes).  It is the kernel's own limit, NUL
 * included: a longer path could not be opened anyway, so str_fmt or
 * str_copy refusing it (-ENAMETOOLONG) loses nothing.
 *
 * Paths inside the shared folder, as clients and peers name them, are a
 * different thing with their own cap: PATH_LEN_MAX in store/path.h.
 */
#ifndef SHOAL_BASE_FSPATH_H
#define SHOAL_BASE_FSPATH_H

#include <limits.h>

#define FS_PATH_MAX	PATH_MAX

#endif
