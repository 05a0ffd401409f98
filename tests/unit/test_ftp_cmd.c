/*
 * Tests for ftp_cmd: parsing one FTP command line, and the PORT and EPRT
 * address arguments.
 *
 * What a client would notice: verbs work in any case; the argument is the
 * exact bytes after the first space (file names may hold spaces); a line
 * with CR, LF or NUL inside the argument is refused so it cannot smuggle a
 * second command; the ABOR that clients send behind telnet IP/DM bytes is
 * still seen as ABOR; PORT and EPRT accept exactly the RFC forms and refuse
 * out-of-range or trailing bytes.  Prefix tests parse a heap copy of
 * exactly len bytes, so AddressSanitizer reports any overread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front/ftp/ftp_cmd.h"

/*
 * A heap copy of exactly n bytes, with no NUL after them.  Even for n == 0
 * this is a distinct allocation (glibc and ASan both give one), so reading
 * any byte of an empty input is reported.
 */
static char *
exact_copy(const char *s, size_t n)
{
	char *p = malloc(n);

	assert_non_null(p);
	memcpy(p, s, n);
	return (p);
}

/*
 * Parses s[n] from a writable heap copy of exactly n bytes.  req.arg points
 * into that copy, so the caller frees *keep when done with req.
 */
static int
parse_line(const char *s, size_t n, struct ftp_request *req, char **keep)
{
	*keep = exact_copy(s, n);
	return (ftp_parse_request(*keep, n, req));
}

/* For string literals, which may hold NUL bytes. */
#define PARSE(lit, req, keep) \
	parse_line((lit), sizeof(lit) - 1, (req), (keep))

static void
assert_arg(const struct ftp_request *req, const char *want)
{
	assert_true(req->has_arg);
	assert_int_equal(req->arg.len, strlen(want));
	assert_memory_equal(req->arg.p, want, req->arg.len);
}

static void
test_request_basic(void **state)
{
	struct ftp_request req;
	char *line;

	(void)state;
	assert_int_equal(PARSE("USER anonymous", &req, &line), 0);
	assert_int_equal(req.verb, FTP_USER);
	assert_string_equal(req.name, "USER");
	assert_arg(&req, "anonymous");
	free(line);

	assert_int_equal(PARSE("PWD", &req, &line), 0);
	assert_int_equal(req.verb, FTP_PWD);
	assert_false(req.has_arg);
	assert_int_equal(req.arg.len, 0);
	free(line);

	/* "STOR " has an argument, and it is empty. */
	assert_int_equal(PARSE("STOR ", &req, &line), 0);
	assert_int_equal(req.verb, FTP_STOR);
	assert_arg(&req, "");
	free(line);
}

static void
test_request_case_insensitive(void **state)
{
	static const char *const lines[] = { "retr x", "Retr x", "rEtR x" };
	struct ftp_request req;
	char *line;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(parse_line(lines[i], strlen(lines[i]), &req,
		    &line), 0);
		assert_int_equal(req.verb, FTP_RETR);
		assert_string_equal(req.name, "RETR");
		/* The argument keeps its case: file names are exact. */
		assert_arg(&req, "x");
		free(line);
	}
}

/* Everything after the first space, spaces included, is the argument. */
static void
test_request_arg_is_exact(void **state)
{
	struct ftp_request req;
	char *line;

	(void)state;
	assert_int_equal(PARSE("RETR  my file .txt ", &req, &line), 0);
	assert_int_equal(req.verb, FTP_RETR);
	assert_arg(&req, " my file .txt ");
	free(line);

	assert_int_equal(PARSE("CWD caf\xc3\xa9\t", &req, &line), 0);
	assert_arg(&req, "caf\xc3\xa9\t");
	free(line);
}

static void
test_request_every_verb_known(void **state)
{
	struct ftp_request req;
	const char *name;
	char lower[FTP_VERB_MAX + 1];
	char *line;
	size_t i, n;
	int v;

	(void)state;
	for (v = 1; v < FTP_VERB_COUNT; v++) {
		name = ftp_verb_name((enum ftp_verb)v);
		n = strlen(name);
		assert_true(n > 0 && n <= FTP_VERB_MAX);
		for (i = 0; i <= n; i++)
			lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
			    name[i] - 'A' + 'a' : name[i]);
		assert_int_equal(parse_line(lower, n, &req, &line), 0);
		assert_int_equal(req.verb, v);
		assert_string_equal(req.name, name);
		free(line);
	}
	assert_string_equal(ftp_verb_name(FTP_UNKNOWN), "");
	assert_string_equal(ftp_verb_name(FTP_VERB_COUNT), "");
}

/* An unknown verb parses, so the session can answer "502". */
static void
test_request_unknown_verb(void **state)
{
	struct ftp_request req;
	char *line;

	(void)state;
	assert_int_equal(PARSE("xyzzy plugh", &req, &line), 0);
	assert_int_equal(req.verb, FTP_UNKNOWN);
	assert_string_equal(req.name, "XYZZY");
	assert_arg(&req, "plugh");
	free(line);

	assert_int_equal(PARSE("ABORT", &req, &line), 0);
	assert_int_equal(req.verb, FTP_UNKNOWN);
	free(line);
}

static void
test_request_bad_verbs(void **state)
{
	struct ftp_request req;
	char *line;

	(void)state;
	assert_int_equal(PARSE("", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE(" USER x", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE("US3R x", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE("NO-OP", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE("NOOP\r", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE("\xc3\x89TAT", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE("ABCDEFGH", &req, &line), 0);
	assert_int_equal(req.verb, FTP_UNKNOWN);
	free(line);
	assert_int_equal(PARSE("ABCDEFGHI", &req, &line), -ENAMETOOLONG);
	free(line);
	assert_int_equal(PARSE("ABCDEFGHIJKLMNOPQRSTUVWXYZ x", &req, &line),
	    -ENAMETOOLONG);
	free(line);
}

/* SECURITY: a CR or LF in the argument could smuggle a second command. */
static void
test_request_ctl_in_arg(void **state)
{
	struct ftp_request req;
	char *line;

	(void)state;
	assert_int_equal(PARSE("RETR a\r\nDELE b", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE("RETR a\nb", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE("RETR a\rb", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE("RETR a\0.txt", &req, &line), -EINVAL);
	free(line);
	assert_int_equal(PARSE("RETR \n", &req, &line), -EINVAL);
	free(line);
}

/* Clients send IAC IP IAC DM before ABOR to interrupt a transfer. */
static void
test_request_telnet(void **state)
{
	struct ftp_request req;
	char *line;

	(void)state;
	assert_int_equal(PARSE("\xff\xf4\xff\xf2" "ABOR", &req, &line), 0);
	assert_int_equal(req.verb, FTP_ABOR);
	assert_false(req.has_arg);
	free(line);

	/* WILL/WONT/DO/DONT carry an option byte, dropped with them. */
	assert_int_equal(PARSE("\xff\xfb\x01" "NO\xff\xfe\x22OP", &req, &line),
	    0);
	assert_int_equal(req.verb, FTP_NOOP);
	free(line);

	/* IAC IAC is one literal 0xff byte, kept in a file name. */
	assert_int_equal(PARSE("RETR a\xff\xff" "b", &req, &line), 0);
	assert_int_equal(req.verb, FTP_RETR);
	assert_arg(&req, "a\xff" "b");
	free(line);

	/* An IAC command cut off at the end of the line is dropped. */
	assert_int_equal(PARSE("NOOP\xff", &req, &line), 0);
	assert_int_equal(req.verb, FTP_NOOP);
	free(line);
	assert_int_equal(PARSE("NOOP\xff\xfd", &req, &line), 0);
	assert_int_equal(req.verb, FTP_NOOP);
	free(line);

	/* Nothing but telnet commands is an empty line. */
	assert_int_equal(PARSE("\xff\xf4\xff\xf2", &req, &line), -EINVAL);
	free(line);
}

/*
 * Runs the control stream in[len] through the Telnet filter cut at split
 * and split2, as reads would cut it, and returns what a session keeps:
 * the output, emptied at every Synch.
 */
static size_t
telnet_run(const char *in, size_t len, size_t split, size_t split2,
    char *keep, bool *synch)
{
	struct ftp_telnet t = { 0 };
	size_t cuts[3] = { split, split2, len };
	size_t at = 0, kept = 0, i, n;
	char out[64];
	char *chunk;
	bool sy;

	*synch = false;
	for (i = 0; i < 3; i++) {
		n = cuts[i] - at;
		chunk = exact_copy(in + at, n);
		sy = false;
		n = ftp_telnet_filter(&t, chunk, n, out, &sy);
		free(chunk);
		if (sy) {
			kept = 0;
			*synch = true;
		}
		memcpy(keep + kept, out, n);
		kept += n;
		at = cuts[i];
	}
	return (kept);
}

struct telnet_case {
	const char	*in;
	size_t		 len;
	const char	*want;
	size_t		 wlen;
	bool		 synch;
};

/* However reads cut a control stream, Telnet comes out of it the same. */
static void
test_telnet_filter_every_split(void **state)
{
#define TC(i, w, sy)	{ i, sizeof(i) - 1, w, sizeof(w) - 1, sy }
	static const struct telnet_case cases[] = {
		TC("NOOP\r\n", "NOOP\r\n", false),
		/* IP + Synch before ABOR: RFC 959 and BSD ftp(1). */
		TC("\xff\xf4\xff\xf2" "ABOR\r\n", "ABOR\r\n", true),
		/* The Synch discards what was typed before it. */
		TC("SIZE a\r\n\xff\xf4\xff\xf2" "ABOR\r\n", "ABOR\r\n", true),
		/* Options carry one byte, even CR or LF. */
		TC("\xff\xfb\x0a" "NO\xff\xfd\x0dOP\r\n", "NOOP\r\n", false),
		/* A subnegotiation is dropped up to IAC SE, IAC IAC inside. */
		TC("\xff\xfa\x18\x01\r\nx\xff\xff\xff\xf0" "NOOP\r\n",
		    "NOOP\r\n", false),
		/* IAC IAC stays a pair for the line parser. */
		TC("RETR a\xff\xff" "b\r\n", "RETR a\xff\xff" "b\r\n", false),
		/* Other commands (NOP, AYT, GA) go. */
		TC("\xff\xf1N\xff\xf6O\xff\xf9OP\r\n", "NOOP\r\n", false),
	};
#undef TC
	char keep[64];
	size_t i, a, b, n;
	bool synch;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct telnet_case *c = &cases[i];

		for (a = 0; a <= c->len; a++)
			for (b = a; b <= c->len; b++) {
				n = telnet_run(c->in, c->len, a, b, keep,
				    &synch);
				assert_int_equal(n, c->wlen);
				assert_memory_equal(keep, c->want, n);
				assert_int_equal(synch, c->synch);
			}
	}
}

struct req_prefix {
	int		 rc;
	enum ftp_verb	 verb;
	const char	*name;
	const char	*arg;	/* NULL: no argument */
};

static void
check_prefixes(const char *s, size_t len, const struct req_prefix *want)
{
	struct ftp_request req;
	char *line;
	size_t n;

	for (n = 0; n <= len; n++) {
		line = exact_copy(s, n);
		assert_int_equal(ftp_parse_request(line, n, &req), want[n].rc);
		if (want[n].rc == 0) {
			assert_int_equal(req.verb, want[n].verb);
			assert_string_equal(req.name, want[n].name);
			if (want[n].arg)
				assert_arg(&req, want[n].arg);
			else
				assert_false(req.has_arg);
		}
		free(line);
	}
}

/* Each prefix of a line parses as exactly the bytes it holds. */
static void
test_request_every_prefix(void **state)
{
	static const char retr[] = "RETR a b\n";
	static const struct req_prefix rwant[] = {
		{ -EINVAL, 0, NULL, NULL },
		{ 0, FTP_UNKNOWN, "R", NULL },
		{ 0, FTP_UNKNOWN, "RE", NULL },
		{ 0, FTP_UNKNOWN, "RET", NULL },
		{ 0, FTP_RETR, "RETR", NULL },
		{ 0, FTP_RETR, "RETR", "" },
		{ 0, FTP_RETR, "RETR", "a" },
		{ 0, FTP_RETR, "RETR", "a " },
		{ 0, FTP_RETR, "RETR", "a b" },
		{ -EINVAL, 0, NULL, NULL },	/* "a b\n" */
	};
	static const char abor[] = "\xff\xf4\xff\xf2" "ABOR";
	static const struct req_prefix awant[] = {
		{ -EINVAL, 0, NULL, NULL },
		{ -EINVAL, 0, NULL, NULL },	/* IAC */
		{ -EINVAL, 0, NULL, NULL },	/* IAC IP */
		{ -EINVAL, 0, NULL, NULL },	/* IAC IP IAC */
		{ -EINVAL, 0, NULL, NULL },	/* IAC IP IAC DM */
		{ 0, FTP_UNKNOWN, "A", NULL },
		{ 0, FTP_UNKNOWN, "AB", NULL },
		{ 0, FTP_UNKNOWN, "ABO", NULL },
		{ 0, FTP_ABOR, "ABOR", NULL },
	};
	static const char lit[] = "MKD \xff\xff";
	static const struct req_prefix lwant[] = {
		{ -EINVAL, 0, NULL, NULL },
		{ 0, FTP_UNKNOWN, "M", NULL },
		{ 0, FTP_UNKNOWN, "MK", NULL },
		{ 0, FTP_MKD, "MKD", NULL },
		{ 0, FTP_MKD, "MKD", "" },
		{ 0, FTP_MKD, "MKD", "" },	/* a lone IAC is dropped */
		{ 0, FTP_MKD, "MKD", "\xff" },
	};

	(void)state;
	assert_int_equal(sizeof(rwant) / sizeof(rwant[0]), sizeof(retr));
	check_prefixes(retr, sizeof(retr) - 1, rwant);
	assert_int_equal(sizeof(awant) / sizeof(awant[0]), sizeof(abor));
	check_prefixes(abor, sizeof(abor) - 1, awant);
	assert_int_equal(sizeof(lwant) / sizeof(lwant[0]), sizeof(lit));
	check_prefixes(lit, sizeof(lit) - 1, lwant);
}

static int
port_of(const char *arg, size_t len, struct sockaddr_storage *ss)
{
	char *p = exact_copy(arg, len);
	int rc;

	rc = ftp_parse_port((struct span){ p, len }, ss);
	free(p);
	return (rc);
}

static int
eprt_of(const char *arg, size_t len, struct sockaddr_storage *ss)
{
	char *p = exact_copy(arg, len);
	int rc;

	rc = ftp_parse_eprt((struct span){ p, len }, ss);
	free(p);
	return (rc);
}

static void
assert_v4(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char text[INET_ADDRSTRLEN];

	assert_int_equal(ss->ss_family, AF_INET);
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, text,
	    sizeof(text)));
	assert_string_equal(text, addr);
	assert_int_equal(ntohs(sin->sin_port), port);
}

static void
test_port_ok(void **state)
{
	struct sockaddr_storage ss;

	(void)state;
	assert_int_equal(port_of("127,0,0,1,4,1", 13, &ss), 0);
	assert_v4(&ss, "127.0.0.1", 1025);
	assert_int_equal(port_of("192,168,1,20,255,255", 20, &ss), 0);
	assert_v4(&ss, "192.168.1.20", 65535);
	assert_int_equal(port_of("0,0,0,0,0,0", 11, &ss), 0);
	assert_v4(&ss, "0.0.0.0", 0);
	assert_int_equal(port_of("010,001,000,001,000,021", 23, &ss), 0);
	assert_v4(&ss, "10.1.0.1", 21);
}

static void
test_port_bad(void **state)
{
	static const char *const bad[] = {
		"", "127,0,0,1,4", "127,0,0,1,4,", "127,0,0,1,4,1,",
		"127,0,0,1,4,1,9", "127,0,0,1,4,1 ", " 127,0,0,1,4,1",
		"256,0,0,1,4,1", "127,0,0,1,256,1", "127,0,0,1,4,256",
		"127,0,0,1,4,99999999999999999999999", "127.0.0.1,4,1",
		"127,0,0,1,-4,1", "127,,0,0,1,4,1", "a,b,c,d,e,f",
		"127,0,0,1,4,1\r",
	};
	struct sockaddr_storage ss;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(port_of(bad[i], strlen(bad[i]), &ss) < 0);
}

/* No prefix of a PORT argument is a valid address on its own. */
static void
test_port_every_prefix(void **state)
{
	static const char arg[] = "127,0,0,1,4,1";
	struct sockaddr_storage ss;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(arg) - 1; n++)
		assert_true(port_of(arg, n, &ss) < 0);
	assert_int_equal(port_of(arg, n, &ss), 0);
	assert_v4(&ss, "127.0.0.1", 1025);
}

static void
test_eprt_ok(void **state)
{
	const struct sockaddr_in6 *sin6;
	struct sockaddr_storage ss;

	(void)state;
	assert_int_equal(eprt_of("|1|127.0.0.1|6275|", 18, &ss), 0);
	assert_v4(&ss, "127.0.0.1", 6275);

	assert_int_equal(eprt_of("|2|::1|6275|", 12, &ss), 0);
	sin6 = (const struct sockaddr_in6 *)&ss;
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(ntohs(sin6->sin6_port), 6275);

	/* Any printable non-digit may be the delimiter (RFC 2428). */
	assert_int_equal(eprt_of("!1!10.0.0.7!65535!", 18, &ss), 0);
	assert_v4(&ss, "10.0.0.7", 65535);
}

static void
test_eprt_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"|",
		"||127.0.0.1|6275|",		/* no protocol */
		"|3|127.0.0.1|6275|",		/* unknown protocol */
		"|0|127.0.0.1|6275|",
		"|12|127.0.0.1|6275|",
		"|1|::1|6275|",			/* v6 address, v4 protocol */
		"|2|127.0.0.1|6275|",		/* v4 address, v6 protocol */
		"|1||6275|",			/* no address */
		"|1|127.0.0.1||",		/* no port */
		"|1|127.0.0.1|65536|",
		"|1|127.0.0.1|99999999999999999999|",
		"|1|127.0.0.1|6275",		/* missing last delimiter */
		"|1|127.0.0.1",
		"1|127.0.0.1|6275|",		/* missing first delimiter */
		"|1|127.0.0.1|6275|x",		/* trailing bytes */
		"|1|127.0.0.1|6275||",
		"|1!127.0.0.1!6275!",		/* mixed delimiters */
		"1127.0.0.1162751",		/* digit delimiter */
		" 1 127.0.0.1 6275 ",		/* space is not printable */
		"|1|127.0.0.256|6275|",
		"|1| 127.0.0.1|6275|",
		"|1|127.0.0.1|-1|",
	};
	struct sockaddr_storage ss;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(eprt_of(bad[i], strlen(bad[i]), &ss) < 0);
}

/* An address longer than any IPv6 text form is refused, not overflowed. */
static void
test_eprt_long_address(void **state)
{
	char arg[128];
	struct sockaddr_storage ss;
	size_t len;

	(void)state;
	memcpy(arg, "|2|", 3);
	memset(arg + 3, 'f', 100);
	memcpy(arg + 103, "|21|", 4);
	len = 107;
	assert_true(eprt_of(arg, len, &ss) < 0);
}

/* No prefix of an EPRT argument is a valid address on its own. */
static void
test_eprt_every_prefix(void **state)
{
	static const char *const args[] = {
		"|1|127.0.0.1|6275|", "|2|::1|6275|",
	};
	struct sockaddr_storage ss;
	size_t i, n, len;

	(void)state;
	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		len = strlen(args[i]);
		for (n = 0; n < len; n++)
			assert_true(eprt_of(args[i], n, &ss) < 0);
		assert_int_equal(eprt_of(args[i], len, &ss), 0);
	}
}

static int
time_of(const char *p, size_t len, int64_t *ns)
{
	char *keep = malloc(len ? len : 1);
	int rc;

	assert_non_null(keep);
	memcpy(keep, p, len);
	rc = ftp_parse_time((struct span){ keep, len }, ns);
	free(keep);
	return (rc);
}

static void
test_time_ok_and_bad(void **state)
{
	static const char *const bad[] = {
		"", "2001020304050", "20011303040506", "20010230040506",
		"19000229000000", "20010203240000", "20010203046000",
		"20010203040560", "2001020304050x", "20010203040506.",
		"20010203040506.1234567890", "18991231235959",
		"22010101000000", "-2001020304050", "20010203040506 ",
		"00000000000000",
	};
	int64_t ns;
	size_t i, n, len;
	char out[16];

	(void)state;
	assert_int_equal(time_of("19700101000000", 14, &ns), 0);
	assert_true(ns == 0);
	assert_int_equal(time_of("20010203040506", 14, &ns), 0);
	assert_true(ns == 981173106LL * 1000000000);
	ftp_format_time(ns, out);
	assert_string_equal(out, "20010203040506");
	assert_int_equal(time_of("20000229235959.5", 16, &ns), 0);
	assert_true(ns == 951868799LL * 1000000000 + 500000000);
	assert_int_equal(time_of("19691231235959.250", 18, &ns), 0);
	assert_true(ns == -1000000000LL + 250000000);
	ftp_format_time(ns, out);
	assert_string_equal(out, "19691231235959");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(time_of(bad[i], strlen(bad[i]), &ns) < 0);
	/* Every prefix of a good time but the whole is refused. */
	len = strlen("20010203040506");
	for (n = 0; n < len; n++)
		assert_true(time_of("20010203040506", n, &ns) < 0);
}

static void
test_set_time_forms(void **state)
{
	struct span path;
	int64_t ns;
	const char *a;

	(void)state;
	a = "20010203040506 dir/a b.txt";
	assert_int_equal(ftp_parse_set_time(FTP_MFMT, span_str(a), &path,
					    &ns), 0);
	assert_true(span_eq(path, "dir/a b.txt"));
	assert_true(ns == 981173106LL * 1000000000);
	assert_true(ftp_time_then_path(span_str(a)));
	assert_false(ftp_time_then_path(span_str("a.txt")));
	assert_false(ftp_time_then_path(span_str("20010203040506")));
	assert_false(ftp_time_then_path(span_str("2001 a.txt")));
	a = "UTIME 20010203040506 a.txt";
	assert_int_equal(ftp_parse_set_time(FTP_SITE, span_str(a), &path,
					    &ns), 0);
	assert_true(span_eq(path, "a.txt"));
	a = "utime my file 20200101000000 20010203040506 20200101000000 UTC";
	assert_int_equal(ftp_parse_set_time(FTP_SITE, span_str(a), &path,
					    &ns), 0);
	assert_true(span_eq(path, "my file"));
	assert_true(ns == 981173106LL * 1000000000);
	assert_true(ftp_parse_set_time(FTP_SITE, span_str("UTIME"), &path,
				       &ns) < 0);
	assert_true(ftp_parse_set_time(FTP_SITE,
				       span_str("UTIME 20010203040506 "),
				       &path, &ns) < 0);
	assert_true(ftp_parse_set_time(FTP_SITE,
				       span_str("LOCKTOKEN 20010203040506 x"),
				       &path, &ns) < 0);
	assert_true(ftp_parse_set_time(FTP_MFMT, span_str("20010203040506"),
				       &path, &ns) < 0);
	assert_true(ftp_parse_set_time(FTP_MDTM, span_str("x a.txt"), &path,
				       &ns) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_basic),
		cmocka_unit_test(test_request_case_insensitive),
		cmocka_unit_test(test_request_arg_is_exact),
		cmocka_unit_test(test_request_every_verb_known),
		cmocka_unit_test(test_request_unknown_verb),
		cmocka_unit_test(test_request_bad_verbs),
		cmocka_unit_test(test_request_ctl_in_arg),
		cmocka_unit_test(test_request_telnet),
		cmocka_unit_test(test_request_every_prefix),
		cmocka_unit_test(test_telnet_filter_every_split),
		cmocka_unit_test(test_port_ok),
		cmocka_unit_test(test_port_bad),
		cmocka_unit_test(test_port_every_prefix),
		cmocka_unit_test(test_eprt_ok),
		cmocka_unit_test(test_eprt_bad),
		cmocka_unit_test(test_eprt_long_address),
		cmocka_unit_test(test_eprt_every_prefix),
		cmocka_unit_test(test_time_ok_and_bad),
		cmocka_unit_test(test_set_time_forms),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
