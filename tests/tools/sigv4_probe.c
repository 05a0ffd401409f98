/*
 * sigv4_probe: checks requests signed by a real client library against
 * sigv4, for tests/e2e/test_s3_sigv4_clients.py.
 *
 *   sigv4_probe < requests.json
 *
 * Standard input is a JSON array of requests, each {"secret", "now"
 * (Unix seconds), "method", "path" (raw, as sent), "query" (raw, without
 * '?'), "headers": [[name, value], ...]}.  Standard output is one JSON
 * array with, per request, the S3 error code sigv4_parse then
 * sigv4_verify answered ("OK" when the signature is good) and the kind
 * of payload ("signed", "unsigned", "streaming", ...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "front/s3/sigv4.h"

#define HEADERS_MAX 64

static const char *const payloads[] = {
    [SIGV4_PAYLOAD_SIGNED] = "signed",
    [SIGV4_PAYLOAD_UNSIGNED] = "unsigned",
    [SIGV4_PAYLOAD_STREAMING] = "streaming",
    [SIGV4_PAYLOAD_STREAMING_TRAILER] = "streaming-trailer",
    [SIGV4_PAYLOAD_STREAMING_UNSIGNED] = "streaming-unsigned",
};

static struct span
jspan(json_t *j)
{
	struct span s = {"", 0};

	if (json_is_string(j)) {
		s.p = json_string_value(j);
		s.len = json_string_length(j);
	}
	return (s);
}

static json_t *
check(json_t *r)
{
	struct sigv4_header h[HEADERS_MAX];
	struct sigv4_req req;
	struct sigv4_auth auth;
	json_t *hs = json_object_get(r, "headers"), *pair;
	const char *secret = json_string_value(json_object_get(r, "secret"));
	size_t i;
	enum s3_err e;

	memset(&req, 0, sizeof(req));
	req.method = json_string_value(json_object_get(r, "method"));
	req.path = jspan(json_object_get(r, "path"));
	req.query = jspan(json_object_get(r, "query"));
	if (req.method == NULL || secret == NULL || !json_is_array(hs) ||
	    json_array_size(hs) > HEADERS_MAX)
		return (json_pack("[s, s]", "bad probe input", ""));
	json_array_foreach(hs, i, pair)
	{
		h[i].name = jspan(json_array_get(pair, 0));
		h[i].value = jspan(json_array_get(pair, 1));
	}
	req.headers = h;
	req.nheaders = json_array_size(hs);
	e = sigv4_parse(&req, &auth);
	if (e == S3_OK)
		e = sigv4_verify(&req, &auth, secret, strlen(secret),
				 json_integer_value(json_object_get(r, "now")),
				 NULL);
	return (json_pack(
	    "[s, s]", e == S3_OK ? "OK" : s3_err_code(e),
	    auth.kind == SIGV4_ANONYMOUS ? "" : payloads[auth.payload]));
}

int
main(void)
{
	json_error_t err;
	json_t *in = json_loadf(stdin, 0, &err), *out, *r;
	size_t i;

	if (!json_is_array(in)) {
		fprintf(stderr, "sigv4_probe: %s\n", err.text);
		return (2);
	}
	out = json_array();
	json_array_foreach(in, i, r) json_array_append_new(out, check(r));
	json_dumpf(out, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(in);
	json_decref(out);
	return (0);
}
