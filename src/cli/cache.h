/*
 * cache: the client's copies of files it fetched, in $XDG_CACHE_HOME/shoal
 * (~/.cache/shoal), so that `get` of an unchanged file moves no data: the
 * copy's ETag is sent as If-None-Match and a 304 answer means the copy is
 * current.  The cache has a size limit (SHOAL_CACHE_MAX bytes, 1 GiB by
 * default; 0 turns the cache off); the least recently used copies go
 * first.
 */
#ifndef SHOAL_CLI_CACHE_H
#define SHOAL_CLI_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/fspath.h"

struct cache {
	char		dir[FS_PATH_MAX];
	uint64_t	max;
};

/* max 0 (SHOAL_CACHE_MAX=0): no cache; nothing else may be called. */
int	cache_open(struct cache *);
/* The entry's name for a file of a node (64 hex digits). */
void	cache_key(const char *base, const char *path, char key[65]);
/* 0 and the copy's ETag if there is a copy. */
int	cache_etag(const struct cache *, const char *key, char *etag,
	    size_t size);
/* A file to write a new copy into (fd), committed by cache_commit. */
int	cache_begin(const struct cache *, const char *key);
int	cache_commit(const struct cache *, const char *key, const char *etag);
void	cache_discard(const struct cache *, const char *key);
/* Copies the copy to dest (NULL: standard output) and marks it used. */
int	cache_copy_out(const struct cache *, const char *key,
	    const char *dest);
/* Drops least recently used copies until the cache fits its limit;
 * keep (a key, or NULL) is the copy just used, which stays. */
void	cache_evict(const struct cache *, const char *keep);

#endif
