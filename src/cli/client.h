/*
 * client: the `shoal` command's side of the HTTP API: which node to talk
 * to and as whom (-C DIR, --node URL --user NAME, or the nearest folder
 * holding .shoal/), and one blocking HTTP/1.1 exchange at a time, over TLS
 * when the node speaks HTTPS.  TLS is always verified: against the node's
 * own certificate with -C, against --cacert FILE or the system's
 * authorities with --node.
 */
#ifndef SHOAL_CLI_CLIENT_H
#define SHOAL_CLI_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/ssl.h>

#include "base/buf.h"
#include "base/fspath.h"

struct client {
	char	 host[256];
	char	 port[8];
	bool	 tls;
	char	 cacert[FS_PATH_MAX];	/* pinned certificate, or "" */
	char	 auth[1024];	/* the Authorization header's value */
	char	 base[512];	/* scheme://host:port, for cache keys */
	bool	 json;		/* --json output */
	bool	 progress;	/* a progress bar on stderr */
	/* One progress line for many requests (a tree): the bytes of the
	 * whole and those done before this request; 0 for one file. */
	uint64_t prog_total;
	uint64_t prog_base;
	double prog_t0; /* when the tree began (CLOCK_MONOTONIC) */
	bool prog_open; /* a progress line without its newline yet */
	/* the open connection */
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
};

struct client_opts {
	const char	*dir;		/* -C */
	const char	*node;		/* --node URL */
	const char	*user;		/* --user */
	const char	*cacert;	/* --cacert */
	const char	*password;	/* asked once by the shell */
	bool		 json;
};

struct response {
	int		 status;
	char		 etag[80];
	int64_t		 length;	/* Content-Length, -1 if none */
	struct buf	 body;		/* unless streamed to a file */
};

/* Errors as one line on stderr: "shoal: WHY", or {"error": WHY} once
 * JSON errors are on (--json). */
void client_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void client_set_json_errors(bool);
bool client_json_errors(void);
/* Fills c from the options; prints the reason and returns < 0 if not. */
int	client_init(struct client *, const struct client_opts *);
void	client_release(struct client *);
/* Ends a tree's progress line at 100% (files already here move no
 * bytes, so nothing else would). */
void client_progress_end(struct client *, const char *what);
/* The nearest folder from the current one upward that holds .shoal/. */
int	client_find_node_dir(char *out, size_t size);
/* Asks for a password on the terminal, without echo. */
int	client_prompt_password(char *out, size_t size);
/*
 * One request.  body_fd (or -1) supplies fd_len bytes, sent after the
 * node's "100 Continue" (so a refusal comes back before the bytes go);
 * should the node answer or close early, its answer is still read and
 * returned. out_fd (or -1)
 * receives a 200/206 body instead of r->body.  extra: more header lines,
 * each ending in CRLF.
 */
int	client_request(struct client *, const char *method, const char *path,
	    const char *extra, const void *body, size_t body_len, int body_fd,
	    uint64_t fd_len, int out_fd, struct response *r);
void	response_release(struct response *);
/* The error text of a JSON error answer, or the status line's reason. */
const char *response_error(struct response *);
/* Appends path, percent-encoded for a URL, to out. */
int	url_path(struct buf *out, const char *path);

#endif
