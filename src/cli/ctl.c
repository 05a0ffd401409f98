/*
 * ctl: `shoal peers|status|add|bye` on a running node.  The node writes
 * where its HTTP endpoint listens to DIR/.shoal/control; the API token is
 * DIR/.shoal/api_token.  A small blocking HTTP/1.1 client is enough here:
 * one request, Connection: close, a capped answer.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "net/addr.h"

#define ANSWER_MAX	(4 << 20)

static int
read_first_line(const char *path, const char *prefix, char *out, size_t size)
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

/* One request to the node; *body gets the answer's body (caller frees). */
static int
request(const char *dir, const char *method, const char *path,
    const char *json, int *status, char **body)
{
	char p[4300], addr[ADDR_STR_MAX], token[128];
	struct sockaddr_storage ss;
	struct buf req, ans;
	socklen_t sl;
	ssize_t n;
	char *hdr_end, chunk[16384];
	int fd, rc = -EIO;

	*body = NULL;
	if (str_fmt(p, sizeof(p), "%s/.shoal/control", dir) < 0 ||
	    read_first_line(p, "http ", addr, sizeof(addr)) < 0) {
		fprintf(stderr, "shoal: no node is running in %s\n", dir);
		return (-ENOENT);
	}
	if (str_fmt(p, sizeof(p), "%s/.shoal/api_token", dir) < 0 ||
	    read_first_line(p, "", token, sizeof(token)) < 0) {
		fprintf(stderr, "shoal: %s: no API token\n", p);
		return (-ENOENT);
	}
	if (addr_parse(addr, &ss, &sl) < 0 ||
	    (fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (-EINVAL);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "shoal: cannot reach the node at %s: %s\n",
		    addr, strerror(errno));
		close(fd);
		return (-ECONNREFUSED);
	}
	buf_init(&req, 1 << 20);
	buf_init(&ans, ANSWER_MAX);
	if (buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: "
	    "Bearer %s\r\nConnection: close\r\nContent-Type: application/json"
	    "\r\nContent-Length: %zu\r\n\r\n%s", method, path, addr, token,
	    json ? strlen(json) : 0, json ? json : "") < 0 ||
	    write(fd, req.data, req.len) != (ssize_t)req.len)
		goto out;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&ans, chunk, (size_t)n) < 0)
			goto out;
	if (sscanf(buf_cstr(&ans), "HTTP/1.%*d %d", status) != 1 ||
	    (hdr_end = strstr(buf_cstr(&ans), "\r\n\r\n")) == NULL)
		goto out;
	*body = strdup(hdr_end + 4);
	rc = *body ? 0 : -ENOMEM;
out:
	close(fd);
	buf_release(&req);
	buf_release(&ans);
	return (rc);
}

static void
print_peers(json_t *a)
{
	size_t i;
	json_t *p;

	printf("%-4s %-32s %-22s %-6s %9s %8s %6s\n", "RANK", "ID", "ADDRESS",
	    "STATE", "HEARD(s)", "RTT(ms)", "FAILS");
	json_array_foreach(a, i, p) {
		json_t *r = json_object_get(p, "rank");
		json_t *h = json_object_get(p, "last_heard_s");
		char rank[16], heard[32];

		snprintf(rank, sizeof(rank), json_is_integer(r) ? "%lld" : "-",
		    (long long)json_integer_value(r));
		snprintf(heard, sizeof(heard), json_is_number(h) ? "%.1f" :
		    "-", json_number_value(h));
		printf("%-4s %-32s %-22s %-6s %9s %8.2f %6lld\n", rank,
		    json_string_value(json_object_get(p, "id")),
		    json_string_value(json_object_get(p, "address")),
		    json_string_value(json_object_get(p, "state")), heard,
		    json_number_value(json_object_get(p, "rtt_ms")),
		    (long long)json_integer_value(json_object_get(p,
		    "failures")));
	}
}

static void
print_status(json_t *s)
{
	json_t *m = json_object_get(s, "members");
	json_t *c = json_object_get(s, "consistency");
	json_t *y = json_object_get(s, "sync");

	printf("node       %s\n", json_string_value(json_object_get(s, "id")));
	printf("folder     %s\n", json_string_value(json_object_get(s,
	    "folder")));
	printf("ftp        %s\n", json_string_value(json_object_get(s, "ftp")));
	printf("peer       %s\n", json_string_value(json_object_get(s, "peer")));
	printf("members    %lld alive of %lld known\n",
	    (long long)json_integer_value(json_object_get(m, "alive")),
	    (long long)json_integer_value(json_object_get(m, "known")));
	printf("files      %lld\n", (long long)json_integer_value(
	    json_object_get(s, "files")));
	printf("consistent with %lld of %lld live peers (threshold %.2f)\n",
	    (long long)json_integer_value(json_object_get(c, "agree")),
	    (long long)json_integer_value(json_object_get(c, "peers")),
	    json_number_value(json_object_get(c, "threshold")));
	printf("sync       %lld fetching, %lld queued, %lld files fetched, "
	    "%lld conflicts\n",
	    (long long)json_integer_value(json_object_get(y, "pulls_active")),
	    (long long)json_integer_value(json_object_get(y, "pulls_queued")),
	    (long long)json_integer_value(json_object_get(y,
	    "files_fetched")),
	    (long long)json_integer_value(json_object_get(y, "conflicts")));
}

int
cli_ctl(const char *dir, int argc, char **argv)
{
	const char *cmd = argv[0], *method = "GET", *path;
	char *body = NULL, *payload = NULL;
	bool as_json = false;
	json_error_t e;
	json_t *j;
	int status = 0, i, rc;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			as_json = true;
	if (strcmp(cmd, "peers") == 0)
		path = "/v1/peers";
	else if (strcmp(cmd, "status") == 0)
		path = "/v1/status";
	else if (strcmp(cmd, "bye") == 0) {
		path = "/v1/bye";
		method = "POST";
	} else if (strcmp(cmd, "add") == 0) {
		if (argc < 2 || argv[1][0] == '-') {
			fprintf(stderr, "usage: shoal add HOST:PORT\n");
			return (2);
		}
		path = "/v1/peers";
		method = "POST";
		j = json_pack("{s:s}", "address", argv[1]);
		payload = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	} else
		return (2);
	rc = request(dir, method, path, payload, &status, &body);
	free(payload);
	if (rc < 0)
		return (1);
	j = json_loads(body, 0, &e);
	if (status != 200) {
		fprintf(stderr, "shoal: %s: %s\n", cmd, j ? json_string_value(
		    json_object_get(j, "error")) : body);
		json_decref(j);
		free(body);
		return (1);
	}
	if (as_json || j == NULL)
		fputs(body, stdout);
	else if (strcmp(cmd, "peers") == 0)
		print_peers(j);
	else if (strcmp(cmd, "status") == 0)
		print_status(j);
	else if (strcmp(cmd, "add") == 0)
		printf("added %s\n", argv[1]);
	else
		printf("the node is leaving the cluster\n");
	json_decref(j);
	free(body);
	return (0);
}
