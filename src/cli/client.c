/*
 * client: blocking HTTP/1.1 for the command line.  Each request opens a
 * connection and closes it (Connection: close): one command is one or two
 * requests, and this keeps the code small and obviously right.
 */
#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
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

#include "base/fspath.h"
#include "base/parse.h"

static bool json_errors;

void
client_set_json_errors(bool on)
{
	json_errors = on;
}

bool
client_json_errors(void)
{
	return (json_errors);
}

void
client_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_errors) {
		json_t *j = json_pack("{s:s}", "error", msg);

		json_dumpf(j, stderr, JSON_COMPACT);
		fputc('\n', stderr);
		json_decref(j);
	} else
		fprintf(stderr, "shoal: %s\n", msg);
}

#define IO_CHUNK (256 * 1024)
#define HEAD_MAX (16 * 1024)
#define BODY_MAX (64u << 20) /* answers kept in memory (lists) */

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
	char cwd[FS_PATH_MAX], probe[FS_PATH_MAX], *slash;

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
	char dir[FS_PATH_MAX], path[FS_PATH_MAX];
	char addr[300], scheme[16] = "http";
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
			client_err("--node: expected http://HOST:PORT "
				   "or https://HOST:PORT");
			return (-EINVAL);
		}
		(void)str_copy(addr, sizeof(addr), p);
		addr[strcspn(addr, "/")] = '\0';
		if (split_hostport(c, addr, c->tls ? "443" : "80") < 0) {
			client_err("--node: bad address");
			return (-EINVAL);
		}
		if (o->cacert && str_copy(c->cacert, sizeof(c->cacert),
		    o->cacert) < 0)
			return (-EINVAL);
		if (o->user == NULL) {
			client_err("--node needs --user NAME");
			return (-EINVAL);
		}
		if ((p = o->password) != NULL || (p = getenv(
		    "SHOAL_PASSWORD")) != NULL)
			(void)str_copy(pw, sizeof(pw), p);
		else if (client_prompt_password(pw, sizeof(pw)) < 0) {
			client_err("no password: set SHOAL_PASSWORD "
				   "or run on a terminal");
			return (-EINVAL);
		}
		basic_auth(c, o->user, pw);
		OPENSSL_cleanse(pw, sizeof(pw));
	} else {
		if (o->dir)
			(void)str_copy(dir, sizeof(dir), o->dir);
		else if (client_find_node_dir(dir, sizeof(dir)) < 0) {
			client_err("not inside a node folder; use "
				   "-C DIR or --node URL");
			return (-ENOENT);
		}
		if (str_fmt(path, sizeof(path), "%s/.shoal/control", dir) < 0 ||
		    read_line_file(path, "http ", addr, sizeof(addr)) < 0) {
			client_err("no node is running in %s", dir);
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
			client_err("%s: no API token", path);
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
		client_err("TLS with %s:%s failed: %s", c->host, c->port,
			   ERR_reason_error_string(ERR_get_error()));
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
		client_err("%s: %s", c->host, gai_strerror(rc));
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
		client_err("cannot reach the node at %s:%s: %s", c->host,
			   c->port, strerror(errno));
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

	if (!c->progress || (total == 0 && c->prog_total == 0))
		return;
	/* A tree: one line for all its files. */
	if (c->prog_total) {
		done += c->prog_base;
		total = c->prog_total;
		t0 = c->prog_t0;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	rate = now > t0 ? (double)done / (now - t0) / 1048576.0 : 0;
	fprintf(stderr, "\r%s %3d%%  %8.1f MiB  %7.1f MiB/s", what,
		(int)(done * 100 / total), (double)done / 1048576.0, rate);
	c->prog_open = done < total;
	if (done >= total)
		fprintf(stderr, "\n");
}

void
client_progress_end(struct client *c, const char *what)
{
	if (c->prog_total > 0 && c->prog_open)
		progress(c, what, c->prog_total - c->prog_base, 0, 0);
	c->prog_open = false;
	c->prog_total = 0;
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
	struct cursor cu;
	uint64_t v64;

	r->length = -1;
	/* "HTTP/1.x NNN reason" */
	if (line == NULL || strncmp(h, "HTTP/1.", 7) != 0)
		return (-EPROTO);
	cur_init(&cu, h + 7, (size_t)(line - h - 7));
	(void)cur_until(&cu, ' ');
	if (!cur_eat(&cu, ' ') || cur_u64(&cu, 999, &v64) < 0 || v64 < 100)
		return (-EPROTO);
	r->status = (int)v64;
	while (line && line[2] != '\r') {
		const char *v;

		line += 2;
		v = strchr(line, ':');
		if (v == NULL)
			break;
		v++;
		while (*v == ' ')
			v++;
		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			if (span_u64((struct span){v, strcspn(v, "\r\n")},
				     INT64_MAX, &v64) < 0)
				return (-EPROTO);
			r->length = (int64_t)v64;
		} else if (strncasecmp(line, "ETag:", 5) == 0) {
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

/* Whether the node has said something (within ms milliseconds). */
static bool
readable(struct client *c, int ms)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	if (c->ssl && SSL_pending(c->ssl) > 0)
		return (true);
	return (poll(&p, 1, ms) > 0);
}

/*
 * Reads a response head into head (hl bytes so far, NUL-terminated);
 * *end is set past its blank line.  A "100 Continue" is skipped unless
 * stop_at_100, when it is reported as 100.
 */
static int
read_head(struct client *c, char *head, size_t *hl, char **end,
	  struct response *r, bool stop_at_100)
{
	ssize_t n;

	for (;;) {
		while ((*end = strstr(head, "\r\n\r\n")) == NULL) {
			if (*hl >= HEAD_MAX)
				return (-EPROTO);
			n = io_read(c, head + *hl, HEAD_MAX - *hl);
			if (n <= 0)
				return (-EIO);
			*hl += (size_t)n;
			head[*hl] = '\0';
		}
		*end += 4;
		if (parse_head(head, r) < 0)
			return (-EPROTO);
		if (r->status != 100)
			return (0);
		/* Drop the interim answer; keep what follows it. */
		*hl -= (size_t)(*end - head);
		memmove(head, *end, *hl + 1);
		r->status = 0;
		if (stop_at_100)
			return (100);
	}
}

int
client_request(struct client *c, const char *method, const char *path,
	       const char *extra, const void *body, size_t body_len,
	       int body_fd, uint64_t fd_len, int out_fd, struct response *r)
{
	char head[HEAD_MAX + 1], *buf = NULL;
	uint64_t len = body_fd >= 0 ? fd_len : body_len, sent = 0, got = 0;
	bool answered = false;
	size_t hl = 0;
	ssize_t n;
	char *end = NULL;
	double t0 = mono_now();
	int rc = -EIO;

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, BODY_MAX);
	head[0] = '\0';
	if ((rc = connect_node(c)) < 0)
		goto out;
	rc = -EIO;
	n = snprintf(
	    head, sizeof(head),
	    "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "Authorization: %s\r\nConnection: close\r\nContent-Length: %llu\r\n"
	    "%s%s\r\n",
	    method, path, c->host, c->auth, (unsigned long long)len,
	    body_fd >= 0 && len > 0 ? "Expect: 100-continue\r\n" : "",
	    extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    io_write(c, head, (size_t)n) < 0)
		goto out;
	head[0] = '\0';
	if ((buf = malloc(IO_CHUNK)) == NULL)
		goto out;
	if (body_fd >= 0 && len > 0) {
		/*
		 * The node answers 100 once it accepts the upload, or its
		 * refusal at once.  One that says nothing gets the body
		 * after a while anyway (RFC 9110, 10.1.1).
		 */
		if (readable(c, 3000)) {
			if ((rc = read_head(c, head, &hl, &end, r, true)) < 0)
				goto out;
			answered = rc != 100;
		}
		rc = -EIO;
		while (!answered && sent < len) {
			/*
			 * An early answer (an error) ends the upload; a late
			 * 100 (we stopped waiting for it) does not.
			 */
			if (readable(c, 0)) {
				if ((rc = read_head(c, head, &hl, &end, r,
				    true)) < 0)
					goto out;
				answered = rc != 100;
				rc = -EIO;
				continue;
			}
			n = read(body_fd, buf, IO_CHUNK);
			if (n <= 0) {
				client_err("the local file ended early");
				goto out;
			}
			if (io_write(c, buf, (size_t)n) < 0) {
				/* Closed on us: its answer may be waiting. */
				answered = true;
				break;
			}
			sent += (uint64_t)n;
			progress(c, "put", sent, len, t0);
		}
	} else if (body_len && io_write(c, body, body_len) < 0)
		goto out;
	/* The head of the answer, unless it came already. */
	if (r->status == 0 && read_head(c, head, &hl, &end, r, false) < 0)
		goto out;
	/* The body: to the file for a successful GET, else kept. */
	n = (ssize_t)(hl - (size_t)(end - head));
	t0 = mono_now();
	for (;;) {
		bool to_file =
		    out_fd >= 0 && (r->status == 200 || r->status == 206);

		if (n > 0) {
			const char *p = end ? end : buf;

			if (to_file) {
				if (write(out_fd, p, (size_t)n) != n) {
					client_err("cannot write the download: "
						   "%s",
						   strerror(errno));
					rc = -EIO;
					r->status = 0;
					goto out;
				}
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
		     strcmp(method, "HEAD") != 0
		 ? -EPIPE
		 : 0;
out:
	free(buf);
	disconnect(c);
	if (rc == -EIO && r->status == 0)
		client_err("the node at %s:%s closed the connection", c->host,
			   c->port);
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
