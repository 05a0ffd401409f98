/*
 * http: the node's HTTP endpoint.  For now it carries the control API the
 * `shoal` command uses on a running node (status, peers, add, bye); every
 * request needs the node's API token (DIR/.shoal/api_token) as a bearer
 * token.  Bodies and headers are capped; answers are JSON.
 */
#ifndef SHOAL_FRONT_HTTP_H
#define SHOAL_FRONT_HTTP_H

#include <stddef.h>

#include <jansson.h>

struct event_base;
struct evhttp_request;
struct http_server;

struct http_ctl {
	/* Each returns a new JSON value; status answers through done. */
	void	(*status)(void *arg, void (*done)(void *req, json_t *),
		    void *req);
	json_t	*(*peers)(void *arg);
	int	(*add)(void *arg, const char *addr, char *err, size_t errlen);
	void	(*bye)(void *arg);
	void	*arg;
};

struct http_server *http_server_new(struct event_base *, const char *listen,
    const char *token, const struct http_ctl *, char *err, size_t errlen);
void	http_server_free(struct http_server *);
const char *http_server_addr(const struct http_server *);

#endif
