/*
 * http_int: what the files of the HTTP front end share:
 *   http_server.c  connections, parsing, auth, responses
 *   http_api.c     the table of routes and what the handlers share
 *   http_files.c   the files API (/v1/files, /v1/list, mkdir, move)
 *   http_vers.c    versions, trash and restores
 *   http_ctl.c     the control plane (status, peers, bye, send, locks,
 *                  pins, the tracker's listing, metrics)
 */
#ifndef SHOAL_FRONT_HTTP_INT_H
#define SHOAL_FRONT_HTTP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "front/auth.h"
#include "front/fsview.h"
#include "front/http/http.h"
#include "front/http/http_parse.h"
#include "net/addr.h"
#include "store/path.h"

#define HTTP_BODY_MAX		(64 * 1024)	/* JSON bodies */
#define HTTP_FILE_CHUNK		(1u << 20)

struct ingest;

enum conn_state {
	CONN_HEAD,		/* reading a request head */
	CONN_BODY,		/* reading a small body into body */
	CONN_UPLOAD,		/* streaming a body into an ingest */
	CONN_BUSY,		/* a job or the node is working on it */
	CONN_SENDING,		/* the response is going out */
};

struct http_server {
	struct http_opts	 o;
	SSL_CTX			*tls;
	struct evconnlistener	*listener;
	char			 addr[ADDR_STR_MAX];
	char			 token[128];
	bool			 guest_ok;	/* listens on loopback */
	TAILQ_HEAD(, http_conn)	 conns;
	unsigned		 nconns;
	uint64_t		 bytes_in, bytes_out, requests, errors;
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_server	*srv;
	struct bufferevent	*bev;
	char			 peer[ADDR_STR_MAX];
	char			 host[ADDR_STR_MAX];	/* peer, no port */
	enum conn_state		 st;
	struct http_req		 req;
	char			 path[PATH_LEN_MAX + 1];	/* decoded */
	char			 user[AUTH_NAME_MAX + 1];
	bool			 admin;		/* token or admin account */
	struct buf		 body;
	uint64_t		 body_left;
	struct ingest		*ing;
	bool			 created;	/* PUT made a new file */
	bool			 keep_part;	/* PUT: a part, not the end */
	uint64_t		 part_end;	/* its last byte + 1 */
	uint64_t		 req_total;	/* Content-Range: .../TOTAL */
	bool			 awaited;	/* GET waited for a fetch */
	struct fs_reader	 rd;		/* a file being sent */
	bool			 reading;	/* a read job runs */
	unsigned		 jobs;
	bool			 closing;
	bool			 close_after;	/* no keep-alive */
	struct event		*reap;
	struct event		*timer;
	struct event		*delay;		/* a failed login's pause */
	/* Only for a server with its own route (o.route): */
	struct buf		 head;		/* the raw request head */
	void			(*upload_more)(struct http_conn *);
	/* Hex digits of the SHA-256 the files API's ETags show (0: all). */
	unsigned		 etag_hex;
	/* A PUT through http_file_put is stored: the route answers. */
	void			(*stored)(struct http_conn *,
				    const uint8_t sha[32]);
	void			*ext;		/* the request's state, */
	void			(*ext_free)(void *);	/* freed with it */
};

/* http_server.c */
void	http_respond(struct http_conn *, int status, const char *ctype,
	    const char *extra_headers, const void *body, size_t len);
void	http_respond_json(struct http_conn *, int status, json_t *);
void	http_error(struct http_conn *, int status, const char *msg);
/* Starts a response whose body follows (file streaming). */
void	http_respond_head(struct http_conn *, int status, const char *ctype,
	    const char *extra_headers, uint64_t content_length);
/* The response is complete once the output drains. */
void	http_response_done(struct http_conn *);
/* A request's job: -EBUSY when the pool's queue is full (answer with
 * http_busy).  A response under way continues with http_job_more, never
 * refused for being busy. */
int	http_job(struct http_conn *, void (*fn)(void *), void (*done)(void *),
	    void *arg);
int	http_job_more(struct http_conn *, void (*fn)(void *),
	    void (*done)(void *), void *arg);
/* 503 with Retry-After. */
void	http_busy(struct http_conn *);
/* A wait on the loop that is no pool job (a copy being fetched) counts as
 * one: the connection stays until the matching http_job_end. */
void	http_job_hold(struct http_conn *);
/* Ends a job; false if the connection went away (clean up and stop). */
bool	http_job_end(struct http_conn *);
void	http_conn_close(struct http_conn *, const char *why);
/* Reads a small body (already announced by Content-Length); routes the
 * request again once it is complete. */
void	http_read_body(struct http_conn *);
/* Drops the request state of a server with its own route. */
void	http_conn_ext_free(struct http_conn *);
const char *http_status_text(int);

/* http_api.c */
void	http_route(struct http_conn *);
/*
 * Decodes the part of the target after prefix into c->path; answers 400
 * itself and returns -1 if it is bad (or the root, unless allow_root).
 */
int	http_target_path(struct http_conn *, const char *prefix,
	    bool allow_root);
/* Answers with the status the fs_err table gives a negative errno. */
void	http_error_errno(struct http_conn *, int rc);
/* Reads a JSON body first; true once it is there. */
bool	http_need_body(struct http_conn *);
json_t	*http_body_json(struct http_conn *);
/* A write lock (or a stale fencing token) refuses the write: answered. */
bool	http_write_refused(struct http_conn *, const char *path);

/* A job over one path: the connection, and slots for what it finds. */
struct http_pjob {
	struct http_conn	*c;		/* the loop's, never the job's */
	struct store		*store;		/* copies the job reads, */
	char			 path[PATH_LEN_MAX + 1];	/* made at submit */
	char			 if_match[256];
	unsigned		 etag_hex;	/* c->etag_hex */
	int			 rc;
	struct file_meta	 m;
	struct fs_file		 f;
	struct upload		*up;
	json_t			*json;
	char			 to[PATH_LEN_MAX + 1];
	bool			 existed;
	unsigned		 n;		/* entries listed */
	bool			 no_parents;	/* PUT: Shoal-Parents: no */
	bool			 create_only;	/* PUT: If-None-Match: * */
	/* PUT with Content-Range: the account's partial, where this part
	 * starts, and (on -ERANGE) how much the partial holds */
	char			 key[UPLOAD_KEY_LEN + 1];
	bool			 ranged;
	uint64_t		 offset;
	uint64_t		 have;
};

struct http_pjob *http_pjob_new(struct http_conn *);
void	http_pjob_free(struct http_pjob *);
/* Runs fn on the pool, then done; answers 503 itself if it cannot. */
void	http_pjob_submit(struct http_conn *, struct http_pjob *,
	    void (*fn)(void *), void (*done)(void *));
/* Ends a job; NULL if the connection is gone (the job is freed). */
struct http_conn *http_pjob_end(struct http_pjob *);

/* Route handlers: http_files.c */
void	http_route_files(struct http_conn *);
void	http_route_list(struct http_conn *);
void	http_route_mkdir(struct http_conn *);
void	http_route_upload(struct http_conn *);
void	http_route_move(struct http_conn *);
/*
 * The files API's GET/HEAD (Range, ETag, If-None-Match, files held
 * elsewhere) and PUT (streamed through the ingest, If-Match), for a server
 * with its own route: c->path is the file, checked and write-checked by
 * the caller.  A PUT ends in c->stored if set, else the files API's answer.
 */
void	http_file_get(struct http_conn *);
void	http_file_put(struct http_conn *, bool no_parents);
/* Bytes of a streamed upload arrived (or the body is complete). */
void	http_upload_more(struct http_conn *);
/* The file response wants more bytes (output drained below the mark). */
void	http_send_more(struct http_conn *);

/* Route handlers: http_vers.c */
void	http_route_versions(struct http_conn *);
void	http_route_trash(struct http_conn *);
void	http_route_restore(struct http_conn *);

/* Route handlers: http_ctl.c */
void	http_route_status(struct http_conn *);
void	http_route_peers(struct http_conn *);
void	http_route_bye(struct http_conn *);
void	http_route_scrub(struct http_conn *);
void	http_route_send(struct http_conn *);
void	http_route_metrics(struct http_conn *);
void	http_route_locks(struct http_conn *);
void	http_route_pins(struct http_conn *);
void	http_route_all(struct http_conn *);

#endif
