/*
 * fuzz_ftp_cmd: feeds arbitrary bytes to the FTP command line parser, and
 * the argument of every line it accepts to the PORT and EPRT address
 * parsers.
 *
 * The input is parsed twice: once whole, as one line, and then split on
 * '\n' with the CR before it dropped, the way the control connection frames
 * what a client sends.  The first finds bytes no framing would let through;
 * the second lets a corpus hold a whole session.
 *
 * Beyond "does not crash", it checks what the session code relies on after
 * a successful parse: the verb is 1..FTP_VERB_MAX upper-case letters and
 * matches its table name, the argument span lies inside the line and holds
 * no NUL, CR or LF, and an address PORT or EPRT accepted reads back the
 * same from its canonical text.
 *
 * The whole input also goes through the Telnet filter of the control
 * stream, at once and cut in two at a point the input picks: what is kept
 * must be the same, and hold 0xff only as IAC IAC pairs.
 *
 * Every line is copied to a heap buffer of exactly its length, so ASan
 * catches a read one byte past the end.  It has to be a copy anyway: the
 * parser removes telnet IAC sequences in place.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/ftp/ftp_cmd.h"

/* Unlike assert(), survives NDEBUG: in a harness the check is the point. */
#define CHECK(e)                                                        \
	do {                                                            \
		if (!(e)) {                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #e);                    \
			abort();                                        \
		}                                                       \
	} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_request(const char *line, size_t len, const struct ftp_request *req)
{
	size_t i, n, off;

	n = strnlen(req->name, sizeof(req->name));
	CHECK(n >= 1 && n <= FTP_VERB_MAX);
	for (i = 0; i < n; i++)
		CHECK(req->name[i] >= 'A' && req->name[i] <= 'Z');
	CHECK((unsigned)req->verb < FTP_VERB_COUNT);
	if (req->verb != FTP_UNKNOWN)
		CHECK(strcmp(req->name, ftp_verb_name(req->verb)) == 0);

	if (!req->has_arg) {
		CHECK(req->arg.len == 0);
		return;
	}
	/* Compared as integers: pointers outside one object do not order. */
	CHECK((uintptr_t)req->arg.p >= (uintptr_t)line);
	off = (size_t)((uintptr_t)req->arg.p - (uintptr_t)line);
	CHECK(off <= len && req->arg.len <= len - off);
	for (i = 0; i < req->arg.len; i++)
		CHECK(req->arg.p[i] != '\0' && req->arg.p[i] != '\r' &&
		    req->arg.p[i] != '\n');
}

/* Parses text as a PORT or EPRT argument into ss; text is NUL-terminated. */
static int
reparse(int eprt, const char *text, struct sockaddr_storage *ss)
{
	struct span s = { text, strlen(text) };

	return (eprt ? ftp_parse_eprt(s, ss) : ftp_parse_port(s, ss));
}

/*
 * Writes an accepted address back in its canonical form and parses that.
 * Both parsers zero ss before filling it, so a byte compare is exact.
 */
static void
check_port(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	struct sockaddr_storage again;
	const uint8_t *a, *p;
	char text[64];

	CHECK(sin->sin_family == AF_INET);
	a = (const uint8_t *)&sin->sin_addr;
	p = (const uint8_t *)&sin->sin_port;
	snprintf(text, sizeof(text), "%u,%u,%u,%u,%u,%u", a[0], a[1], a[2],
	    a[3], p[0], p[1]);
	CHECK(reparse(0, text, &again) == 0);
	CHECK(memcmp(ss, &again, sizeof(again)) == 0);
}

static void
check_eprt(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct sockaddr_storage again;
	char host[INET6_ADDRSTRLEN], text[128];

	if (ss->ss_family == AF_INET) {
		CHECK(inet_ntop(AF_INET, &sin->sin_addr, host,
		    sizeof(host)) != NULL);
		snprintf(text, sizeof(text), "|1|%s|%u|", host,
		    (unsigned)ntohs(sin->sin_port));
	} else {
		CHECK(ss->ss_family == AF_INET6);
		CHECK(inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    sizeof(host)) != NULL);
		snprintf(text, sizeof(text), "|2|%s|%u|", host,
		    (unsigned)ntohs(sin6->sin6_port));
	}
	CHECK(reparse(1, text, &again) == 0);
	CHECK(memcmp(ss, &again, sizeof(again)) == 0);
}

static void
parse_line(const uint8_t *data, size_t len)
{
	struct ftp_request req;
	struct sockaddr_storage ss;
	char *line;

	/* malloc(0) may return NULL; the parser must not touch it then. */
	if ((line = malloc(len)) == NULL && len > 0)
		abort();
	if (len > 0)
		memcpy(line, data, len);
	if (ftp_parse_request(line, len, &req) == 0) {
		check_request(line, len, &req);
		/*
		 * Both address parsers run on every argument, whatever the
		 * verb: each must refuse what is not its syntax.
		 */
		if (ftp_parse_port(req.arg, &ss) == 0)
			check_port(&ss);
		if (ftp_parse_eprt(req.arg, &ss) == 0)
			check_eprt(&ss);
	}
	free(line);
}

/* Runs in[0..len) through a fresh filter in two reads cut at cut. */
static size_t
telnet_kept(const uint8_t *in, size_t len, size_t cut, char *keep)
{
	struct ftp_telnet t = {0};
	size_t kept = 0, n;
	bool synch = false;

	n = ftp_telnet_filter(&t, (const char *)in, cut, keep, &synch);
	kept = n;
	synch = false;
	n = ftp_telnet_filter(&t, (const char *)in + cut, len - cut,
			      keep + kept, &synch);
	if (synch) {
		memmove(keep, keep + kept, n);
		kept = 0;
	}
	CHECK(kept + n <= len + 1);
	return (kept + n);
}

static void
check_telnet(const uint8_t *data, size_t size)
{
	char *a, *b;
	size_t na, nb, i;

	if ((a = malloc(size + 1)) == NULL || (b = malloc(size + 1)) == NULL)
		abort();
	na = telnet_kept(data, size, 0, a);
	nb = telnet_kept(data, size, size ? data[0] % (size + 1) : 0, b);
	CHECK(na == nb && memcmp(a, b, na) == 0);
	for (i = 0; i < na; i++)
		if ((unsigned char)a[i] == 0xff) {
			CHECK(i + 1 < na && (unsigned char)a[i + 1] == 0xff);
			i++;
		}
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i, start, n;

	parse_line(data, size);
	check_telnet(data, size);

	/*
	 * Only complete lines: a connection holds an unterminated tail until
	 * more arrives.  Over-long lines are parsed too, though the connection
	 * would refuse them first; the parser must not depend on that.
	 */
	for (start = 0, i = 0; i < size; i++) {
		if (data[i] != '\n')
			continue;
		n = i - start;
		if (n > 0 && data[start + n - 1] == '\r')
			n--;
		parse_line(data + start, n);
		start = i + 1;
	}
	return (0);
}
