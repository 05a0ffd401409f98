/*
 * dav_int: what the files of the WebDAV front end share:
 *   dav_api.c    the server, the request's head, the table of methods,
 *                OPTIONS, GET/HEAD/PUT (the files API's), errors, paths
 *                and Destination, write checks (locks, the If header)
 *   dav_tree.c   MKCOL, DELETE, COPY, MOVE: pool work over whole trees
 *   dav_props.c  PROPFIND: the multistatus answers
 *   dav_dead.c   dead properties (kept in the index's attributes), PROPPATCH
 *   dav_lock.c   LOCK/UNLOCK and the table of WebDAV locks (loop only)
 *   dav_lease.c  the tracker's leases behind those locks
 *   dav_if.c     the If header, parsed and evaluated
 *   dav_xml.c    request bodies read with expat; escaping for answers
 *
 * The connections are the HTTP front end's (http_int.h).  A request's
 * state (struct dav_req) hangs from the connection (c->ext) until it is
 * answered.
 */
#ifndef SHOAL_FRONT_DAV_INT_H
#define SHOAL_FRONT_DAV_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "base/buf.h"
#include "base/parse.h"
#include "front/dav/dav.h"
#include "front/http/http_int.h"
#include "store/hash.h"

#define DAV_BODY_MAX	(256 * 1024) /* PROPFIND, PROPPATCH, LOCK bodies */
#define DAV_XML_DEPTH	32
#define DAV_PROPS_MAX	256    /* properties named in one request */
#define DAV_NAME_MAX	256    /* a property's namespace or name */
#define DAV_VALUE_MAX	4096   /* a dead property's value */
#define DAV_OWNER_MAX	1024   /* a lock's owner, as XML */
#define DAV_TOKEN_MAX	64     /* "opaquelocktoken:" and a UUID */
#define DAV_LOCKS_MAX	10000  /* locks held on a node */
#define DAV_TIMEOUT_MAX 3600   /* seconds a lock may last */
#define DAV_IF_TOKENS	16     /* lock tokens read from If */
#define DAV_LIST_MAX	100000 /* entries of a Depth 1 answer */
/* An ETag is the first 32 hex digits (128 bits) of the content's SHA-256:
 * as unique as a content hash needs, and short enough for the If headers
 * clients build in fixed buffers (litmus cuts them at 200 bytes). */
#define DAV_ETAG_HEX 32

enum dav_method {
	DAV_OPTIONS,
	DAV_GET,
	DAV_HEAD,
	DAV_PUT,
	DAV_DELETE,
	DAV_MKCOL,
	DAV_PROPFIND,
	DAV_PROPPATCH,
	DAV_COPY,
	DAV_MOVE,
	DAV_LOCK,
	DAV_UNLOCK,
	DAV_POST,
	DAV_UNKNOWN,
};

#define DAV_DEPTH_INF (-1)

struct dav_hdr {
	struct span name, value;
};

struct dav_ctx {
	struct dav_locks *locks;
	struct store *store;
	bool depth_infinity; /* dav.depth_infinity */
};

struct dav_req {
	struct http_conn *c;
	enum dav_method m;
	struct dav_hdr hdr[HTTP_HEADERS_COUNT_MAX];
	size_t nhdr;
	char path[PATH_LEN_MAX + 1]; /* normalised, "" for the root */
	bool slash;		     /* the target ended with '/' */
	int depth;		     /* 0, 1 or DAV_DEPTH_INF */
	char dest[PATH_LEN_MAX + 1]; /* COPY, MOVE */
	bool overwrite;
	/* Lock tokens the If header names (the client holds them). */
	char tokens[DAV_IF_TOKENS][DAV_TOKEN_MAX + 1];
	unsigned ntokens;
	int64_t mtime; /* X-OC-Mtime, or -1 */
};

/* dav_api.c */
/* The account a write is checked for (NULL: the node's API token). */
const char *dav_user(const struct http_conn *);
bool dav_header(const struct dav_req *, const char *name, struct span *);
void dav_error(struct dav_req *, int status, const char *msg);
void dav_error_errno(struct dav_req *, int rc);
/* 207 with the multistatus body (taken: released here). */
void dav_respond_xml(struct dav_req *, int status, struct buf *);
/*
 * Is a write to path allowed?  A cluster lock held by someone else (423)
 * or a WebDAV lock whose token the request does not send (423): answered,
 * true returned.  tree: the write takes path's whole tree (DELETE, MOVE).
 */
bool dav_write_refused(struct dav_req *, const char *path, bool tree);
/* Reads a small body (XML) first; the method is routed again once it is
 * there. */
bool dav_need_body(struct dav_req *);
/* The path of a request as an href, escaped, into b ("/" for the root);
 * dir: with a trailing slash. */
int dav_href(struct buf *b, const char *path, bool dir);
/* A Unix time as an HTTP date (RFC 9110) / as ISO 8601 (creationdate). */
void dav_http_date(int64_t t, char out[40]);
void dav_iso_date(int64_t t, char out[40]);

/*
 * The status a path from a request (the target, a Destination, an If
 * resource; raw[n], percent-encoded) is refused with, or 0 with out
 * filled (normalised, "" for the root) and *slash telling whether it
 * ended with '/'.  SECURITY: see dav_api.c.
 */
int dav_path_of(const char *raw, size_t n, char *out, size_t size, bool *slash);

/* dav_if.c: the If header (see there) */
#define DAV_IF_CONDS_MAX 32
#define DAV_IF_LISTS_MAX 16

struct dav_if_cond {
	bool negate;
	bool etag;		    /* else a state token */
	char val[HASH_HEX_LEN + 8]; /* without <> or [] */
};

struct dav_if_list {
	char res[PATH_LEN_MAX + 1]; /* tagged: its resource */
	bool tagged;
	unsigned first, n; /* its conditions in cond[] */
};

struct dav_if {
	struct dav_if_cond cond[DAV_IF_CONDS_MAX];
	unsigned ncond;
	struct dav_if_list list[DAV_IF_LISTS_MAX];
	unsigned nlist;
};

/* 0, or -EINVAL for a header that is not one. */
int dav_if_parse(const char *v, size_t len, struct dav_if *);
/* Does the header hold for a request on path whose ETag is etag (hex
 * digits, "" for none)?  holds(arg, resource, token): is token a live
 * lock's that covers resource? */
bool dav_if_eval(const struct dav_if *, const char *path, const char *etag,
		 bool (*holds)(void *, const char *res, const char *token),
		 void *arg);
/* Does an entity tag (quoted or not, weak or not) name etag? */
bool dav_etag_is(const char *val, const char *etag);

/* dav_xml.c */
struct dav_prop {
	char ns[DAV_NAME_MAX];
	char name[DAV_NAME_MAX];
	char *value; /* PROPPATCH set: its text (malloc'd), or NULL */
	bool remove; /* PROPPATCH: a remove */
};

enum dav_find {
	DAV_FIND_ALLPROP,
	DAV_FIND_PROPNAME,
	DAV_FIND_PROP,
};

enum dav_xml_kind {
	DAV_XML_PROPFIND,
	DAV_XML_PROPPATCH,
	DAV_XML_LOCKINFO,
};

struct dav_xml {
	enum dav_xml_kind kind;
	enum dav_find find;
	struct dav_prop *props;
	unsigned nprops;
	/* LOCK */
	bool shared;
	bool write;
	char owner[DAV_OWNER_MAX];
};

/* Parses body[len] as kind (an empty body is allprop / a refresh).
 * 0, or -EINVAL (malformed, 400) / -E2BIG (past a cap). */
int dav_xml_parse(enum dav_xml_kind, const void *body, size_t len,
		  struct dav_xml *out);
void dav_xml_release(struct dav_xml *);
/* Appends s escaped for XML text and attribute values. */
int dav_xml_esc(struct buf *, const char *s);

/* dav_props.c */
void dav_propfind(struct dav_req *);

/* dav_dead.c: the dead properties of a file (see there), and PROPPATCH */
struct dav_dead {
	char ns[DAV_NAME_MAX];
	char name[DAV_NAME_MAX];
	char value[DAV_VALUE_MAX + 1];
};

/* The "dav:" lines of attributes a[n], as a string (NULL: none). */
char *dav_dead_lines(const uint8_t *a, size_t n);
/* The next dead property of such lines at *c; false at the end. */
bool dav_dead_next(struct cursor *c, struct dav_dead *d);
/* The dead property p names in lines (NULL: none) into d. */
bool dav_dead_find(const char *lines, const struct dav_prop *p,
		   struct dav_dead *d);
/* <N:name xmlns:N="ns">value</N:name> (value NULL or "": empty). */
int dav_prop_elem(struct buf *b, const char *ns, const char *name,
		  const char *value);
/* <N:name xmlns:N="ns"/> for a property named in a request. */
int dav_empty_prop(struct buf *b, const struct dav_prop *p);
void dav_proppatch(struct dav_req *);

/* dav_tree.c */
void dav_delete(struct dav_req *);
void dav_copymove(struct dav_req *);
void dav_mkcol(struct dav_req *);

/* dav_lock.c: the locks WebDAV clients hold on this node. */
struct dav_lock {
	TAILQ_ENTRY(dav_lock) entry;
	char token[DAV_TOKEN_MAX + 1];
	char path[PATH_LEN_MAX + 1];
	bool infinite; /* Depth: infinity */
	bool shared;
	char owner[DAV_OWNER_MAX];
	char user[AUTH_NAME_MAX + 1];
	unsigned timeout_s;
	uint64_t expires_ms; /* monotonic */
	bool leased;	     /* the tracker holds a lease for it */
};

TAILQ_HEAD(dav_lock_list, dav_lock);

struct dav_locks {
	struct dav_lock_list list;
	unsigned n;
	const struct http_ctl *ctl; /* borrowed; NULL: no leases */
};

struct dav_locks *dav_locks_new(void);
void dav_locks_free(struct dav_locks *);
/* The node's controls (borrowed, the server's): with a tracker, a lock is
 * also the tracker's lease on its path, and leases are shown as locks. */
void dav_locks_set_ctl(struct dav_locks *, const struct http_ctl *);
/*
 * The first lock, not expired, that covers a write to path (one on path,
 * one with Depth infinity above it, or with tree one anywhere under it)
 * and whose token is not among tokens[n]; NULL if none.
 */
const struct dav_lock *dav_locks_blocking(struct dav_locks *, const char *path,
					  bool tree,
					  char tokens[][DAV_TOKEN_MAX + 1],
					  unsigned n);
/* Is token a live lock on path, or an infinite one above it? */
bool dav_locks_token_covers(struct dav_locks *, const char *path,
			    const char *token);
/* The activelock elements of the locks on path (and, infinite, above
 * it) appended to b, and of the cluster's leases on it or above it that
 * no lock here stands for (taken by `shoal lock` or on another node). */
int dav_locks_discovery(struct dav_locks *, const char *path, struct buf *b);
/* After a MOVE or DELETE: locks on from and under it are dropped. */
void dav_locks_drop_tree(struct dav_locks *, const char *path);
void dav_lock_method(struct dav_req *);
void dav_unlock_method(struct dav_req *);
int dav_lock_xml(const struct dav_lock *, struct buf *b);

/* dav_lease.c: the tracker's lease behind a lock (see there). */
struct twire_lock;
/* What the tracker answers, on the loop: status 0 or a positive errno. */
typedef void (*dav_lease_cb)(void *arg, int status, const char *msg,
			     const struct twire_lock *);
/* The lease's holder for an account (c->user). */
const char *dav_lease_owner(const char *user);
/* How long l's lease must last if l now lasts timeout_s: the longest of
 * the locks standing on it (l itself may or may not be in the table). */
uint32_t dav_lease_ttl(struct dav_locks *, const struct dav_lock *l,
		       unsigned timeout_s);
/*
 * Takes or renews l's lease for ttl_s: 0 and done runs once; -ENOSYS
 * without a tracker (the lock holds here only); -EINVAL for a path the
 * tracker cannot lock (the root); -ENOTCONN while it is unreachable.
 */
int dav_lease_take(struct dav_locks *, const struct dav_lock *l, uint32_t ttl_s,
		   dav_lease_cb done, void *arg);
/*
 * Releases l's lease unless another lock in the table stands on it: 0
 * and done (NULL: a warning is logged if it fails) runs once; -ENOENT
 * if there is nothing to release, -ENOTCONN while it is unreachable.
 */
int dav_lease_release(struct dav_locks *, const struct dav_lock *l,
		      dav_lease_cb done, void *arg);
/* What a failed release is logged as. */
void dav_lease_log_release(int status, const char *msg);
/* The HTTP status for the tracker's refusal (a positive errno). */
int dav_lease_status(int status);
/* The activelock elements of the cluster's leases on path or above it
 * that no lock here stands for (`shoal lock`, another node's locks). */
int dav_lease_discovery(struct dav_locks *, const char *path, struct buf *b);

#endif
