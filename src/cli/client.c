/*
 * client: blocking HTTP/1.1 for the command line.  Each request opens a
 * connection and closes it (Connection: close): one command is one or two
 * requests, and this keeps the code small and obviously right.
 */
#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "base/parse.h"

#define IO_CHUNK	(256 * 1024)
#define HEAD_MAX	(16 * 1024)
#define BODY_MAX	(64u << 20)	/* answers kept in memory (lists) */

static int
read_line_file(const char *path, const char *prefix, char *out, size_t size)
{
	char line[512];
	size_t pl = strlen(prefix);
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return (-errno);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, prefix, pl) == 0) {
			fclose(f);
			return (str_copy(out, size, line + pl));
		}
	}
	fclose(f);
	return (-ENOENT);
}

int
client_find_node_dir(char *out, size_t size)
{
	char cwd[4096], probe[4200], *slash;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return (-errno);
	for (;;) {
		if (str_fmt(probe, sizeof(probe), "%s/.shoal", cwd) == 0 &&
		    access(probe, F_OK) == 0)
			return (str_copy(out, size, cwd));
		if ((slash = strrchr(cwd, '/')) == NULL || slash == cwd)
			return (-ENOENT);
		*slash = '\0';
	}
}

/* "host:port" (or "[v6]:port") into c->host, c->port. */
static int
split_hostport(struct client *c, const char *hp, const char *defport)
{
	const char *colon;
	size_t hl;

	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');

		if (end == NULL)
			return (-EINVAL);
		hl = (size_t)(end - hp - 1);
		if (hl >= sizeof(c->host))
			return (-EINVAL);
		memcpy(c->host, hp + 1, hl);
		c->host[hl] = '\0';
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(hp, ':');
		hl = colon ? (size_t)(colon - hp) : strlen(hp);
		if (hl == 0 || hl >= sizeof(c->host))
			return (-EINVAL);
		memcpy(c->host, hp, hl);
		c->host[hl] = '\0';
	}
	return (str_copy(c->port, sizeof(c->port), colon ? colon + 1 :
	    defport));
}

static void
basic_auth(struct client *c, const char *user, const char *pass)
{
	char raw[600];
	int n;

	n = snprintf(raw, sizeof(raw), "%s:%s", user, pass);
	if (n < 0 || (size_t)n >= sizeof(raw))
		return;
	memcpy(c->auth, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)c->auth + 6, (unsigned char *)raw, n);
	OPENSSL_cleanse(raw, sizeof(raw));
}

int
client_prompt_password(char *out, size_t size)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");

	if (tty == NULL)
		return (-ENOTTY);
	fprintf(tty, "password: ");
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	if (fgets(out, (int)size, tty) == NULL)
		out[0] = '\0';
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
	fclose(tty);
	out[strcspn(out, "\r\n")] = '\0';
	return (0);
}

int
client_init(struct client *c, const struct client_opts *o)
{
	char dir[4096], path[4300], addr[300], scheme[16] = "http";
	char token[128], pw[300];
	const char *p;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->json = o->json;
	c->progress = isatty(STDERR_FILENO) && !o->json;
	if (o->node) {
		if (strncmp(o->node, "https://", 8) == 0) {
			c->tls = true;
			p = o->node + 8;
		} else if (strncmp(o->node, "http://", 7) == 0)
			p = o->node + 7;
		else {
			fprintf(stderr, "shoal: --node: expected http://HOST:PORT "
			    "or https://HOST:PORT\n");
			return (-EINVAL);
		}
		(void)str_copy(addr, sizeof(addr), p);
		addr[strcspn(addr, "/")] = '\0';
		if (split_hostport(c, addr, c->tls ? "443" : "80") < 0) {
			fprintf(stderr, "shoal: --node: bad address\n");
			return (-EINVAL);
		}
		if (o->cacert && str_copy(c->cacert, sizeof(c->cacert),
		    o->cacert) < 0)
			return (-EINVAL);
		if (o->user == NULL) {
			fprintf(stderr, "shoal: --node needs --user NAME\n");
			return (-EINVAL);
		}
		if ((p = o->password) != NULL || (p = getenv(
		    "SHOAL_PASSWORD")) != NULL)
			(void)str_copy(pw, sizeof(pw), p);
		else if (client_prompt_password(pw, sizeof(pw)) < 0) {
			fprintf(stderr, "shoal: no password: set SHOAL_PASSWORD "
			    "or run on a terminal\n");
			return (-EINVAL);
		}
		basic_auth(c, o->user, pw);
		OPENSSL_cleanse(pw, sizeof(pw));
	} else {
		if (o->dir)
			(void)str_copy(dir, sizeof(dir), o->dir);
		else if (client_find_node_dir(dir, sizeof(dir)) < 0) {
			fprintf(stderr, "shoal: not inside a node folder; use "
			    "-C DIR or --node URL\n");
			return (-ENOENT);
		}
		if (str_fmt(path, sizeof(path), "%s/.shoal/control", dir) < 0 ||
		    read_line_file(path, "http ", addr, sizeof(addr)) < 0) {
			fprintf(stderr, "shoal: no node is running in %s\n",
			    dir);
			return (-ENOENT);
		}
		(void)read_line_file(path, "scheme ", scheme, sizeof(scheme));
		c->tls = strcmp(scheme, "https") == 0;
		if (split_hostport(c, addr, "8440") < 0)
			return (-EINVAL);
		/* The node's own certificate, pinned. */
		(void)str_fmt(c->cacert, sizeof(c->cacert),
		    "%s/.shoal/tls/cert.pem", dir);
		if (str_fmt(path, sizeof(path), "%s/.shoal/api_token", dir) <
		    0 || read_line_file(path, "", token, sizeof(token)) < 0) {
			fprintf(stderr, "shoal: %s: no API token\n", path);
			return (-ENOENT);
		}
		(void)str_fmt(c->auth, sizeof(c->auth), "Bearer %s", token);
	}
	(void)str_fmt(c->base, sizeof(c->base), "%s://%s:%s", c->tls ?
	    "https" : "http", c->host, c->port);
	return (0);
}

static void
disconnect(struct client *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

void
client_release(struct client *c)
{
	disconnect(c);
	SSL_CTX_free(c->ctx);
	c->ctx = NULL;
	OPENSSL_cleanse(c->auth, sizeof(c->auth));
}

static int
tls_setup(struct client *c)
{
	const char *pinned = c->cacert[0] ? c->cacert : NULL;

	if (c->ctx == NULL) {
		if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			return (-EIO);
		SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
		if (pinned ? SSL_CTX_load_verify_locations(c->ctx, pinned,
		    NULL) != 1 : SSL_CTX_set_default_verify_paths(c->ctx) != 1)
			return (-EIO);
	}
	if ((c->ssl = SSL_new(c->ctx)) == NULL)
		return (-EIO);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, c->host);
	/*
	 * A pinned self-signed node certificate names the node, not the
	 * host: the pin is the check.  Otherwise the host name must match.
	 */
	if (pinned == NULL)
		SSL_set1_host(c->ssl, c->host);
	if (SSL_connect(c->ssl) != 1) {
		fprintf(stderr, "shoal: TLS with %s:%s failed: %s\n", c->host,
		    c->port, ERR_reason_error_string(ERR_get_error()));
		return (-EACCES);
	}
	return (0);
}

static int
connect_node(struct client *c)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = { 120, 0 };
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(c->host, c->port, &hints, &res)) != 0) {
		fprintf(stderr, "shoal: %s: %s\n", c->host, gai_strerror(rc));
		return (-ENOENT);
	}
	for (ai = res; ai; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    0);
		if (c->fd < 0)
			continue;
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		fprintf(stderr, "shoal: cannot reach the node at %s:%s: %s\n",
		    c->host, c->port, strerror(errno));
		return (-ECONNREFUSED);
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return (c->tls ? tls_setup(c) : 0);
}

static ssize_t
io_write(struct client *c, const void *p, size_t n)
{
	size_t done = 0;
	ssize_t w;

	while (done < n) {
		w = c->ssl ? SSL_write(c->ssl, (const char *)p + done,
		    (int)(n - done)) : write(c->fd, (const char *)p + done,
		    n - done);
		if (w <= 0)
			return (-1);
		done += (size_t)w;
	}
	return ((ssize_t)done);
}

static ssize_t
io_read(struct client *c, void *p, size_t n)
{
	return (c->ssl ? SSL_read(c->ssl, p, (int)n) : read(c->fd, p, n));
}

static void
progress(struct client *c, const char *what, uint64_t done, uint64_t total,
    double t0)
{
	struct timespec ts;
	double now, rate;

	if (!c->progress || total == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	rate = now > t0 ? (double)done / (now - t0) / 1048576.0 : 0;
	fprintf(stderr, "\r%s %3d%%  %8.1f MiB  %7.1f MiB/s", what,
	    (int)(done * 100 / total), (double)done / 1048576.0, rate);
	if (done >= total)
		fprintf(stderr, "\n");
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Parses the response head in h (NUL-terminated). */
static int
parse_head(const char *h, struct response *r)
{
	const char *line = strstr(h, "\r\n");

	r->length = -1;
	if (sscanf(h, "HTTP/1.%*d %d", &r->status) != 1)
		return (-EPROTO);
	while (line && line[2] != '\r') {
		const char *v;

		line += 2;
		v = strchr(line, ':');
		if (v == NULL)
			break;
		v++;
		while (*v == ' ')
			v++;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			r->length = strtoll(v, NULL, 10);
		else if (strncasecmp(line, "ETag:", 5) == 0) {
			size_t n = strcspn(v, "\r\n");

			if (n < sizeof(r->etag)) {
				memcpy(r->etag, v, n);
				r->etag[n] = '\0';
			}
		}
		line = strstr(line, "\r\n");
	}
	return (0);
}

int
client_request(struct client *c, const char *method, const char *path,
    const char *extra, const void *body, size_t body_len, int body_fd,
    uint64_t fd_len, int out_fd, struct response *r)
{
	char head[HEAD_MAX + 1], *buf = NULL;
	uint64_t len = body_fd >= 0 ? fd_len : body_len, sent = 0, got = 0;
	size_t hl = 0;
	ssize_t n;
	char *end;
	double t0 = mono_now();
	int rc = -EIO;

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, BODY_MAX);
	if ((rc = connect_node(c)) < 0)
		goto out;
	rc = -EIO;
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "Authorization: %s\r\nConnection: close\r\nContent-Length: %llu\r\n"
	    "%s\r\n", method, path, c->host, c->auth, (unsigned long long)len,
	    extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(head) || io_write(c, head,
	    (size_t)n) < 0)
		goto out;
	if ((buf = malloc(IO_CHUNK)) == NULL)
		goto out;
	if (body_fd >= 0) {
		while (sent < len) {
			n = read(body_fd, buf, IO_CHUNK);
			if (n <= 0 || io_write(c, buf, (size_t)n) < 0)
				goto out;
			sent += (uint64_t)n;
			progress(c, "put", sent, len, t0);
		}
	} else if (body_len && io_write(c, body, body_len) < 0)
		goto out;
	/* The head of the answer. */
	for (;;) {
		if (hl >= HEAD_MAX)
			goto out;
		n = io_read(c, head + hl, HEAD_MAX - hl);
		if (n <= 0)
			goto out;
		hl += (size_t)n;
		head[hl] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL)
			break;
	}
	if (parse_head(head, r) < 0)
		goto out;
	end += 4;
	/* The body: to the file for a successful GET, else kept. */
	n = (ssize_t)(hl - (size_t)(end - head));
	t0 = mono_now();
	for (;;) {
		bool to_file = out_fd >= 0 && (r->status == 200 ||
		    r->status == 206);

		if (n > 0) {
			const char *p = end ? end : buf;

			if (to_file) {
				if (write(out_fd, p, (size_t)n) != n)
					goto out;
			} else if (buf_append(&r->body, p, (size_t)n) < 0)
				goto out;
			got += (uint64_t)n;
			if (to_file && r->length > 0)
				progress(c, "get", got, (uint64_t)r->length,
				    t0);
		}
		end = NULL;
		if (r->length >= 0 && got >= (uint64_t)r->length)
			break;
		if (strcmp(method, "HEAD") == 0 || r->status == 304 ||
		    r->status == 204)
			break;
		n = io_read(c, buf, IO_CHUNK);
		if (n <= 0)
			break;
	}
	rc = r->length >= 0 && got < (uint64_t)r->length &&
	    strcmp(method, "HEAD") != 0 ? -EPIPE : 0;
out:
	free(buf);
	disconnect(c);
	if (rc == -EIO && r->status == 0)
		fprintf(stderr, "shoal: the node at %s:%s closed the "
		    "connection\n", c->host, c->port);
	return (rc);
}

void
response_release(struct response *r)
{
	buf_release(&r->body);
}

const char *
response_error(struct response *r)
{
	static char msg[300];
	json_error_t e;
	json_t *j;

	j = r->body.len ? json_loadb(r->body.data, r->body.len, 0, &e) : NULL;
	if (j && json_string_value(json_object_get(j, "error")))
		snprintf(msg, sizeof(msg), "%s", json_string_value(
		    json_object_get(j, "error")));
	else
		snprintf(msg, sizeof(msg), "HTTP %d", r->status);
	json_decref(j);
	return (msg);
}

int
url_path(struct buf *out, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	int rc = 0;

	for (p = (const unsigned char *)path; *p && rc == 0; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			rc = buf_append(out, p, 1);
		else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			rc = buf_append(out, e, 3);
		}
	}
	return (rc);
}
