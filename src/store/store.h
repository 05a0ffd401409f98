/*
 * store: the only code that opens paths under a node's folder.
 *
 * Every path given to store is a normalised path (see path.h); store opens
 * it with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from the folder's
 * root descriptor, so neither ".." nor a symlink can lead outside the folder
 * (such a path fails with -EACCES).  Changes to files keep the index in
 * step.  All functions block: call them from the worker pool.
 */
#ifndef SHOAL_STORE_STORE_H
#define SHOAL_STORE_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "store/index.h"

/* What is kept of replaced and deleted content (store/versions.h). */
struct store_keep {
	unsigned	 keep;		/* versions per file; 0: nothing kept */
	double		 days;		/* versions kept longer go; 0: no limit */
	double		 trash_days;	/* the same for trash */
};

struct store {
	int		 root_fd;	/* DIR */
	int		 priv_fd;	/* DIR/.shoal */
	int		 tmp_fd;	/* DIR/.shoal/tmp */
	int		 vers_fd;	/* DIR/.shoal/versions */
	char		*root;		/* DIR as given, for messages */
	uint8_t		 node_id[NODE_ID_LEN];
	struct index	*index;
	pthread_mutex_t	 mu;		/* guards busy and tmp_seq */
	char		**busy;		/* paths with a commit in flight */
	size_t		 nbusy;
	uint64_t	 tmp_seq;
	struct store_keep keep;		/* set before the store is used */
	pthread_mutex_t	 vers_mu;	/* serialises keeping and pruning,
					 * and guards the counters below */
	uint64_t	 vers_prunes;	/* versions and trash pruned */
	uint64_t	 vers_pruned_bytes;
	uint64_t	 vers_pressure_prunes;	/* of them, for free space */
};

/* Opens DIR (which must hold .shoal/), its index, and clears stale temps. */
int	store_open(struct store *, const char *dir, char *err, size_t errlen)
	    __attribute__((warn_unused_result));
void	store_close(struct store *);

/* openat2 beneath the root; "" is the root.  Returns an fd or -errno. */
int	store_openat(struct store *, const char *path, int flags, mode_t mode);
/*
 * Opens the folder holding path (O_DIRECTORY) and points *name at path's
 * last component.  The root itself has no parent (-EINVAL).
 */
int	store_open_parent(struct store *, const char *path, const char **name);
int	store_stat(struct store *, const char *path, struct stat *);
/*
 * As store_stat, and a file held by other nodes (replicas = N) looks like
 * a regular file of its size and mtime; if remote is not NULL it receives
 * that file's row (remote->remote is false for anything else).
 */
int	store_stat_any(struct store *, const char *path, struct stat *,
	    struct file_meta *remote);
/* path is a live file held by other nodes, not here. */
bool	store_is_remote(struct store *, const char *path);
/*
 * Drops this node's copy of path, which must still have content sha
 * (-ESTALE otherwise); the row stays, marked as held elsewhere.
 */
int	store_drop_copy(struct store *, const char *path,
	    const uint8_t sha[HASH_LEN]);
/* A version made elsewhere and held elsewhere: the row is recorded and an
 * older local copy removed. */
int	store_apply_remote(struct store *, const char *path,
	    struct file_meta *m);
/*
 * The same for a version this node has no room for, if path's row is
 * still as when the fetch was decided (expect, expect_exists; -EAGAIN
 * otherwise); a file not indexed yet at path is kept (-EEXIST).
 */
int	store_apply_remote_if(struct store *, const char *path,
	    struct file_meta *m, const struct vv *expect, bool expect_exists);
/* The files held elsewhere directly in folder dir (index_remote_children). */
int	store_remote_children(struct store *, const char *dir,
	    int (*fn)(const char *name, uint64_t size, int64_t mtime_ns,
	    void *), void *arg);
int	store_mkdir(struct store *, const char *path);
int	store_rmdir(struct store *, const char *path);
int	store_unlink(struct store *, const char *path);
int	store_rename(struct store *, const char *from, const char *to);
/*
 * The index row for path, brought up to date first: if the file changed
 * since it was indexed, it is hashed again.  -ENOENT if no regular file.
 */
int	store_meta(struct store *, const char *path, struct file_meta *);
/*
 * Hashes the regular file at path and records it; m (output only)
 * receives the row.
 * -EAGAIN if the file changed or moved while it was hashed.
 */
int	store_index_file(struct store *, const char *path, struct file_meta *);
/*
 * The damage rule, a pure function: the file seen as st at path, whose
 * live row is row, was not edited but damaged if it is the same inode with
 * the same mtime and yet another size.  Every write moves the mtime; only
 * a fault, or a truncation whose mtime was put back, changes the size and
 * leaves it.  (The same size with other bytes is not caught here: that
 * needs a scrub that hashes every file.)
 */
bool	store_is_damaged(const struct file_meta *row, const struct stat *st);
/*
 * A damaged file (store_is_damaged) is not a new version: its row stays
 * as it was, marked as held elsewhere, so sync fetches a good copy from a
 * peer, and its bytes are moved to DIR/.shoal/damaged/NAME.TIME.N.  The
 * row is written first: after a crash in between, the file is found
 * damaged again.  -EAGAIN if the file changed meanwhile.
 */
int	store_set_aside_damaged(struct store *, const char *path,
	    const struct file_meta *row, const struct stat *seen);
/* The file seen as st has the inode, size and mtime of row m: the index
 * trusts it without hashing it again. */
bool	store_meta_matches(const struct file_meta *m, const struct stat *st);
/*
 * Rot: the file seen as st at path, the inode, size and mtime of its row
 * (else -EAGAIN), was found by a hash to hold other bytes (a scrub, or a
 * block a peer asked for).  Set aside as store_set_aside_damaged does.
 */
int	store_set_aside_rotten(struct store *, const char *path,
	    const struct file_meta *row, const struct stat *seen);
/*
 * Sets the mtime of the regular file at path (a local change): the file
 * is indexed again, so the new mtime is a new version of its row, which
 * the peers apply.  -ENOENT if no regular file is there, -EISDIR for a
 * folder.
 */
int	store_set_mtime(struct store *, const char *path, int64_t mtime_ns);
/*
 * A version made elsewhere whose content this node holds and whose mtime
 * differs (sync's adopt): the file here takes m's mtime if it is still
 * the one indexed as old, and m is recorded.
 */
int	store_apply_mtime(struct store *, const char *path,
	    struct file_meta *m, const struct file_meta *old);
/* Records the folder at path, if it is (still) one. */
int	store_note_dir(struct store *, const char *path);

/*
 * Marks path as being committed: the folder watcher leaves it alone, and
 * a second writer gets -EBUSY (store_busy_wait retries for a while).
 */
int	store_busy_add(struct store *, const char *path);
int	store_busy_wait(struct store *, const char *path);
void	store_busy_del(struct store *, const char *path);
bool	store_is_busy(struct store *, const char *path);
/*
 * Held content: the bytes of a file a peer deleted while a fetch here
 * still wants that content (the new name of a rename, to be fetched),
 * kept as DIR/.shoal/tmp/held-SHA, a hard link (no copy), where fetch
 * finds them.  Dropped when a fetch of that content commits, else after
 * a day (at start-up).  store_held_open returns a read-only fd or -errno.
 */
int	store_hold(struct store *, const char *path, const uint8_t sha[HASH_LEN]);
int	store_held_open(struct store *, const uint8_t sha[HASH_LEN]);
void	store_held_drop(struct store *, const uint8_t sha[HASH_LEN]);
/*
 * Versions made elsewhere (sync): change the folder and record m as it
 * is, without counting it as a change made here.
 */
int	store_apply_delete(struct store *, const char *path,
	    struct file_meta *m);
int	store_apply_dir(struct store *, const char *path, struct file_meta *m);
/* Creates the missing folders above path (recorded as local folders). */
int	store_make_parents(struct store *, const char *path);

/*
 * Commits temp file tmp (in DIR/.shoal/tmp) as name in folder dfd, in a
 * way that can be undone until the caller knows the folder and the index
 * hold it: a file it replaces is exchanged into tmp (RENAME_EXCHANGE),
 * so store_move_back can put it back.  noreplace: fail with -EEXIST if
 * name exists.  A folder is never replaced (-EISDIR).  *undo is what
 * store_move_back needs; STORE_UNDO_NONE only on a file system without
 * exchange, where a plain rename is all there is.  The caller holds the
 * path busy.
 */
enum store_undo {
	STORE_UNDO_NONE,
	STORE_UNDO_REMOVE,	/* nothing was replaced: move it back */
	STORE_UNDO_SWAP,	/* tmp holds what was replaced */
};
int	store_move_in(struct store *, const char *tmp, int dfd,
	    const char *name, bool noreplace, enum store_undo *undo)
	    __attribute__((warn_unused_result));
/* Undoes store_move_in: the new content is back under tmp.  0, or -EIO
 * if it could not be put back (logged). */
int	store_move_back(struct store *, const char *tmp, int dfd,
	    const char *name, enum store_undo undo);

/* A new unique temp file name in DIR/.shoal/tmp (out[64]). */
void	store_tmp_name(struct store *, char *out);

/* Reads DIR/.shoal/node_id (32 hex digits). */
int	store_read_node_id(const char *dir, uint8_t id[NODE_ID_LEN]);

/* Maps errno values a user can act on to themselves, others to -EIO. */
int	store_errno(int e);

#endif
