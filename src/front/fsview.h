/*
 * fsview: the store as every front end sees it.
 *
 * FTP, HTTP and whatever protocol comes next are only protocols: what they
 * show of the folder and how they move bytes in and out of it is decided
 * here, once.  The module offers
 *
 *   fs_list      a folder's entries, local ones and those held elsewhere
 *                (replicas = N), through the one listing filter below
 *   fs_stat      one path, as a listing would show it (fs_stat_target:
 *                a link followed, for CWD, SIZE and the like)
 *   fs_open      a file to read: an fd here, or (f->remote) a file held
 *                elsewhere, which an fs_reader then streams from its holders
 *   fs_reader    the bytes of an open file on their way out: sendfile(2) in
 *                the clear, pread jobs (struct fs_read) under TLS, and a
 *                file still being fetched followed as its blocks verify
 *   fs_write_begin  the start of an upload through store/upload.h; the
 *                bytes then go through front/ingest.h (fs_write_resumable:
 *                one an interrupted client may resume)
 *   fs_err       one error enum, with one errno -> fs_err mapping; each
 *                protocol family keeps one fs_err -> reply table
 *
 * The listing filter (fs_name_shown, fs_list): an entry is left out of
 * every listing and every reply when
 *   - it is the private folder (DIR/.shoal);
 *   - its name is not well-formed UTF-8, or holds a control byte (CR or LF
 *     would end a line of a listing or a reply on the control connection);
 *   - it is a FIFO, a socket or a device (nothing a client could read);
 *   - it is a symlink that resolves outside the folder or into .shoal, or
 *     to anything but a file or a folder.
 * A symlink that stays inside (or points at nothing) is shown as a link,
 * with its own size and time, as FTP always showed it; its target text is
 * shown only when it is relative, has no "..", and no control byte, so a
 * listing reveals nothing of what lies outside.  Opening such a link
 * follows it, confined by store (openat2 RESOLVE_BENEATH).
 *
 * Paths are opened only through store (openat2 beneath the root); the
 * folder descriptors it returns are read here (readdir, fstatat,
 * readlinkat) and nowhere above store but here.
 *
 * Threads: fs_list, fs_stat, fs_open, fs_meta, fs_write_begin, the
 * changes (fs_mkdir ...) and fs_read_run block and run on the worker pool.
 * An fs_reader belongs to the loop; a pool job reads through a struct
 * fs_read, which holds copies of what it needs and the buffer it fills.
 */
#ifndef SHOAL_FRONT_FSVIEW_H
#define SHOAL_FRONT_FSVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/index.h"
#include "store/path.h"
#include "store/upload.h"

struct evbuffer;
struct remote_reads;
struct store;

/* What went wrong, in the terms a client can be told. */
enum fs_err {
	FS_OK = 0,
	FS_ENOENT, /* no such file or folder */
	FS_NOTDIR, /* a file where a folder is needed */
	FS_ISDIR,  /* a folder where a file is needed */
	FS_EXISTS,
	FS_NOTEMPTY,
	FS_NAMETOOLONG,
	FS_INVALID, /* not allowed on this path */
	FS_NOSPACE,
	FS_TOOBIG,
	FS_DENIED,	/* outside the folder, or no permission */
	FS_BUSY,	/* being written now; try again */
	FS_LOCKED,	/* a write lock held by someone else */
	FS_STALE,	/* not the version the client named */
	FS_UNAVAILABLE, /* held elsewhere, no live copy */
	FS_NOMEM,
	FS_IO, /* anything else */
	FS_ERR_COUNT
};

/* The one errno -> fs_err mapping; rc is 0 or a negative errno. */
enum fs_err fs_err_of(int rc);

/* The shared filter on a single name (not its type): see the top. */
bool fs_name_shown(const char *name);

enum fs_type {
	FS_FILE,
	FS_DIR,
	FS_LINK, /* a symlink inside the folder */
};

struct fs_entry {
	char name[PATH_NAME_MAX + 1];
	enum fs_type type;
	uint64_t size;
	time_t mtime;
	unsigned mode; /* permission bits */
	unsigned long nlink;
	bool remote;		       /* held by other nodes */
	char target[PATH_LEN_MAX + 1]; /* FS_LINK, or "" */
	bool has_meta;		       /* FS_LIST_META, files only */
	struct file_meta meta;
};

#define FS_LIST_META 0x1     /* index row (hash, version) of each file */
#define FS_LIST_MAX  1000000 /* most entries a listing holds */

/*
 * Calls fn for each entry of folder dir that the filter shows, local
 * entries first, then files held by other nodes; stops at max entries or
 * when fn returns < 0.  Returns 0 or a negative errno (-ENOTDIR if dir is
 * not a folder).
 */
int fs_list(struct store *, const char *dir, int flags, unsigned max,
	    int (*fn)(const struct fs_entry *, void *), void *arg);
/*
 * The entry for path as a listing of its folder would show it (name: the
 * last component; "" for the root), a file held elsewhere included.
 * A path the filter hides is -ENOENT.
 */
int fs_stat(struct store *, const char *path, int flags, struct fs_entry *);

/* As fs_stat, but a link inside is followed: the entry is what it leads
 * to (a file or a folder), under the link's name. */
int fs_stat_target(struct store *, const char *path, struct fs_entry *);

/* A file opened for reading. */
struct fs_file {
	int fd; /* -1 for a file held elsewhere */
	uint64_t size;
	time_t mtime;
	bool remote; /* stream it with fs_reader_remote */
	bool has_meta;
	struct file_meta meta;
};

#define FS_OPEN_META 0x1 /* fill meta (ETag), also for remote */

/*
 * Opens the regular file at path.  A file held only by other nodes is not
 * an error: f->remote is set, f->fd is -1.  Returns 0 or -errno
 * (-EISDIR for a folder).
 */
int fs_open(struct store *, const char *path, int flags, struct fs_file *f);
int fs_meta(struct store *, const char *path, struct file_meta *);
/* The attributes of path's version with content sha (index.h):
 * index_get_attrs and index_set_attrs. */
int fs_attrs(struct store *, const char *path, const uint8_t sha[HASH_LEN],
	     void *out, size_t size, size_t *len);
int fs_cache_attrs(struct store *, const char *path,
		   const uint8_t sha[HASH_LEN], const void *attrs, size_t len);

/*
 * Upload start: path must name a file or nothing in an existing folder.
 * *existed tells whether a file was there (may be NULL).  -EREMOTE: the
 * upload keeps the file's bytes (append, resume) but only other nodes
 * hold them; fetch a copy (remote_reads) and start again.
 */
int fs_write_begin(struct store *, const char *path, enum upload_mode,
		   uint64_t offset, bool *existed, struct upload **out)
    __attribute__((warn_unused_result));
/* The upload commits only over a file of content sha (If-Match), checked
 * where it lands: -ESTALE from the commit otherwise. */
void fs_write_expect(struct upload *, const uint8_t sha[32]);
/*
 * Whether an upload may start: -ENOSPC (*avail filled) when the space
 * free under DIR for unprivileged writers is below min_free bytes, else 0
 * (also when it cannot be measured: the writes will tell).
 */
int fs_space_check(struct store *, uint64_t min_free, uint64_t *avail);
/*
 * An upload that continues, or leaves behind, the partial `key` of an
 * account (store/upload.h).  mode UPLOAD_NEW, offset 0: starts over (the
 * partial goes) and is kept as the partial if interrupted.  An offset > 0
 * continues the partial, which must hold exactly offset bytes, else
 * -ERANGE with *have its size (0 for none).  Exceptions, for a path that
 * names a file and an account with no partial of it: UPLOAD_NEW with an
 * offset is fs_write_begin's UPLOAD_RESUME (the file's first bytes kept),
 * and UPLOAD_APPEND with offset 0 appends to the file; neither is kept if
 * interrupted.
 */
int fs_write_resumable(struct store *, const char *path, enum upload_mode,
		       uint64_t offset, const char *key, uint64_t *have,
		       bool *existed, struct upload **out)
    __attribute__((warn_unused_result));
/*
 * An upload through the partial `key` whether or not path names a file
 * (the commit replaces it): offset 0 starts over, offset > 0 continues a
 * partial of exactly offset bytes, else -ERANGE with *have its size.
 */
int fs_write_partial(struct store *, const char *path, uint64_t offset,
		     const char *key, uint64_t *have, struct upload **out)
    __attribute__((warn_unused_result));
/* The size of the account's partial of path (-ENOENT: none). */
int fs_partial_size(struct store *, const char *path, const char *key,
		    uint64_t *size) __attribute__((warn_unused_result));
/* Makes the missing folders above path (each one indexed). */
int fs_make_parents(struct store *, const char *path)
    __attribute__((warn_unused_result));
/* A free name for a unique upload: path, else path.1, path.2, ... */
int fs_unique_name(struct store *, char *path, size_t size);

/* This node's id, as the store knows it. */
const uint8_t *fs_node_id(const struct store *);

/* Changes, each keeping the index in step (store.h). */
int fs_mkdir(struct store *, const char *path);
int fs_rmdir(struct store *, const char *path);
int fs_unlink(struct store *, const char *path);
/* A file or an empty folder. */
int fs_remove(struct store *, const char *path);
int fs_rename(struct store *, const char *from, const char *to);
/* Sets a file's mtime (ns since the epoch); a new version of it. */
int fs_set_mtime(struct store *, const char *path, int64_t mtime_ns);

/*
 * fs_reader: a file's bytes on their way out, on the loop.
 *
 *   fs_reader_local / _remote ──> [ fs_reader_send (clear) ]──> done
 *                                 [ fs_read job   (TLS)    ]
 *
 * off..end is what is left to send; of a file streamed from its holders
 * only the verified part (avail) is readable, and ready() runs when more
 * is.  The owner frees it with fs_reader_release once no fs_read job it
 * started is running.
 */
struct fs_reader {
	int fd; /* -1: none (yet) */
	uint64_t off, end;
	const struct remote_reads *ops;
	void *remote;
	uint64_t avail;
	void (*ready)(void *);
	void (*failed)(void *, const char *why);
	void *cbarg;
};

void fs_reader_init(struct fs_reader *);
/* Takes fd; sends bytes off..end. */
void fs_reader_local(struct fs_reader *, int fd, uint64_t off, uint64_t end);
/*
 * Starts streaming path from its holders; *size receives its size.  On
 * the way, ready(cbarg) runs when more bytes are readable and failed once
 * if they cannot be had.  -EHOSTUNREACH (why filled): no live copy.
 */
int fs_reader_remote(struct fs_reader *, const struct remote_reads *,
		     const char *path, void (*ready)(void *),
		     void (*failed)(void *, const char *), void *cbarg,
		     uint64_t *size, char *why, size_t whylen);
/* Sets the range once the size is known (a range request, a REST). */
void fs_reader_range(struct fs_reader *, uint64_t off, uint64_t end);
/* Bytes that may be sent now, from off. */
uint64_t fs_reader_ready_bytes(const struct fs_reader *);
bool fs_reader_done(const struct fs_reader *);
/*
 * In the clear: adds the ready bytes to out for sendfile(2); *sent
 * receives how many.  -errno if they cannot be added.
 */
int fs_reader_send(struct fs_reader *, struct evbuffer *out, uint64_t *sent);
void fs_reader_release(struct fs_reader *);

/*
 * Under TLS: a pread job that owns what it reads and writes.
 * fs_read_prepare copies fd, offset and a length of at most max from r
 * and makes the job's buffer (-ENOMEM); fs_read_run runs on the pool; on
 * the loop, fs_read_finish moves the bytes read to out, moves r past them
 * and returns how many (0: nothing could be read: the file shrank, or the
 * read failed).  fs_read_discard drops a job whose owner went away.
 */
struct fs_read {
	int fd;
	uint64_t off;
	size_t want;
	struct evbuffer *buf;
	int rc;
};

int fs_read_prepare(struct fs_read *, const struct fs_reader *, size_t max)
    __attribute__((warn_unused_result));
void fs_read_run(struct fs_read *);
size_t fs_read_finish(struct fs_read *, struct fs_reader *,
		      struct evbuffer *out);
void fs_read_discard(struct fs_read *);

#endif
