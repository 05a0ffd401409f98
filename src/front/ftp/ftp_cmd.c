/*
 * ftp_cmd: the command line parser.  Every byte of a line is looked at
 * once; verbs are matched against a sorted table.
 */
#include "front/ftp/ftp_cmd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const verb_names[FTP_VERB_COUNT] = {
	[FTP_UNKNOWN] = "", [FTP_ABOR] = "ABOR", [FTP_ALLO] = "ALLO",
	[FTP_APPE] = "APPE", [FTP_AUTH] = "AUTH", [FTP_CDUP] = "CDUP",
	[FTP_CWD] = "CWD", [FTP_DELE] = "DELE", [FTP_EPRT] = "EPRT",
	[FTP_EPSV] = "EPSV", [FTP_FEAT] = "FEAT", [FTP_HASH] = "HASH",
	[FTP_HELP] = "HELP", [FTP_LIST] = "LIST", [FTP_MDTM] = "MDTM",
	[FTP_MKD] = "MKD", [FTP_MLSD] = "MLSD", [FTP_MLST] = "MLST",
	[FTP_MODE] = "MODE", [FTP_NETS] = "NETS", [FTP_NLST] = "NLST",
	[FTP_NOOP] = "NOOP", [FTP_OPTS] = "OPTS", [FTP_PASS] = "PASS",
	[FTP_PASV] = "PASV", [FTP_PBSZ] = "PBSZ", [FTP_PORT] = "PORT",
	[FTP_PROT] = "PROT", [FTP_PWD] = "PWD", [FTP_QUIT] = "QUIT",
	[FTP_REST] = "REST", [FTP_RETR] = "RETR", [FTP_RMD] = "RMD",
	[FTP_RNFR] = "RNFR", [FTP_RNTO] = "RNTO", [FTP_SITE] = "SITE",
	[FTP_SIZE] = "SIZE", [FTP_STAT] = "STAT", [FTP_STOR] = "STOR",
	[FTP_STOU] = "STOU", [FTP_STRU] = "STRU", [FTP_SYST] = "SYST",
	[FTP_TYPE] = "TYPE", [FTP_USER] = "USER", [FTP_CCC] = "CCC",
	[FTP_XCUP] = "XCUP", [FTP_XCWD] = "XCWD", [FTP_XMKD] = "XMKD",
	[FTP_XPWD] = "XPWD", [FTP_XRMD] = "XRMD", [FTP_MFMT] = "MFMT",
};

const char *
ftp_verb_name(enum ftp_verb v)
{
	return ((unsigned)v < FTP_VERB_COUNT ? verb_names[v] : "");
}

enum {
	TN_DATA,   /* plain bytes */
	TN_IAC,	   /* after IAC */
	TN_OPT,	   /* after IAC WILL/WONT/DO/DONT: one option byte */
	TN_SB,	   /* inside IAC SB ... */
	TN_SB_IAC, /* an IAC inside a subnegotiation */
};

#define TN_SE	240
#define TN_DM	242
#define TN_SB_	250
#define TN_IAC_ 255

size_t
ftp_telnet_filter(struct ftp_telnet *t, const char *in, size_t len, char *out,
		  bool *synch)
{
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		switch (t->state) {
		case TN_DATA:
			if (c == TN_IAC_)
				t->state = TN_IAC;
			else
				out[o++] = (char)c;
			break;
		case TN_IAC:
			t->state = TN_DATA;
			if (c == TN_IAC_) {
				out[o++] = (char)TN_IAC_;
				out[o++] = (char)TN_IAC_;
			} else if (c >= 251) /* WILL WONT DO DONT */
				t->state = TN_OPT;
			else if (c == TN_SB_)
				t->state = TN_SB;
			else if (c == TN_DM) {
				*synch = true;
				o = 0;
			}
			break;
		case TN_OPT:
			t->state = TN_DATA;
			break;
		case TN_SB:
			if (c == TN_IAC_)
				t->state = TN_SB_IAC;
			break;
		case TN_SB_IAC:
			t->state = c == TN_SE ? TN_DATA : TN_SB;
			break;
		default:
			t->state = TN_DATA;
			break;
		}
	}
	return (o);
}

/*
 * Removes telnet IAC commands in place: IAC IAC is a literal 0xff, IAC
 * WILL/WONT/DO/DONT take one option byte, any other IAC X is dropped.
 */
static size_t
strip_telnet(char *line, size_t len)
{
	size_t i = 0, o = 0;
	unsigned char c;

	while (i < len) {
		c = (unsigned char)line[i];
		if (c != 0xff) {
			line[o++] = line[i++];
			continue;
		}
		if (i + 1 >= len)
			break;
		c = (unsigned char)line[i + 1];
		if (c == 0xff) {
			line[o++] = line[i];
			i += 2;
		} else if (c >= 251 && c <= 254)
			i += 3;
		else
			i += 2;
	}
	return (o);
}

int
ftp_parse_request(char *line, size_t len, struct ftp_request *req)
{
	struct cursor c;
	struct span verb;
	size_t i;
	int v;

	memset(req, 0, sizeof(*req));
	len = strip_telnet(line, len);
	cur_init(&c, line, len);
	verb = cur_until(&c, ' ');
	if (verb.len == 0)
		return (-EINVAL);
	if (verb.len > FTP_VERB_MAX)
		return (-ENAMETOOLONG);
	for (i = 0; i < verb.len; i++) {
		char ch = verb.p[i];

		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch < 'A' || ch > 'Z')
			return (-EINVAL);
		req->name[i] = ch;
	}
	req->name[verb.len] = '\0';
	if (cur_eat(&c, ' ')) {
		req->arg = cur_rest(&c);
		req->has_arg = true;
		if (span_has_ctl(req->arg))
			return (-EINVAL);
	}
	for (v = 1; v < FTP_VERB_COUNT; v++)
		if (strcmp(req->name, verb_names[v]) == 0) {
			req->verb = (enum ftp_verb)v;
			break;
		}
	return (0);
}

int
ftp_parse_port(struct span arg, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct cursor c;
	uint64_t v[6];
	int i, rc;

	cur_init(&c, arg.p, arg.len);
	for (i = 0; i < 6; i++) {
		if (i > 0 && !cur_eat(&c, ','))
			return (-EINVAL);
		if ((rc = cur_u64(&c, 255, &v[i])) < 0)
			return (rc);
	}
	if (!cur_eof(&c))
		return (-EINVAL);
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl((uint32_t)(v[0] << 24 | v[1] << 16 |
	    v[2] << 8 | v[3]));
	sin->sin_port = htons((uint16_t)(v[4] << 8 | v[5]));
	return (0);
}

int
ftp_parse_eprt(struct span arg, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN];
	struct cursor c;
	struct span addr;
	uint64_t proto, port;
	char d;

	cur_init(&c, arg.p, arg.len);
	if (arg.len < 1)
		return (-EINVAL);
	d = arg.p[0];
	/* RFC 2428: the delimiter is a printable ASCII character. */
	if (d < 33 || d > 126 || (d >= '0' && d <= '9'))
		return (-EINVAL);
	(void)cur_eat(&c, d);
	if (cur_u64(&c, 2, &proto) < 0 || (proto != 1 && proto != 2) ||
	    !cur_eat(&c, d))
		return (-EINVAL);
	addr = cur_until(&c, d);
	if (!cur_eat(&c, d) || addr.len == 0 || addr.len >= sizeof(host))
		return (-EINVAL);
	if (cur_u64(&c, 65535, &port) < 0 || !cur_eat(&c, d) || !cur_eof(&c))
		return (-EINVAL);
	memcpy(host, addr.p, addr.len);
	host[addr.len] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (proto == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return (-EINVAL);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return (-EINVAL);
	}
	return (0);
}

/* n decimal digits exactly, from c. */
static int
fixed_digits(struct cursor *c, size_t n, uint64_t max, uint64_t *v)
{
	struct span d;
	size_t i;

	if (c->len < n)
		return (-EINVAL);
	for (i = 0; i < n; i++)
		if (c->p[i] < '0' || c->p[i] > '9')
			return (-EINVAL);
	d.p = c->p;
	d.len = n;
	if (span_u64(d, max, v) < 0)
		return (-EINVAL);
	c->p += n;
	c->len -= n;
	return (0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

int
ftp_parse_time(struct span sp, int64_t *ns)
{
	static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30,
					   31, 31, 30, 31, 30, 31};
	struct cursor c;
	uint64_t y, mo, d, h, mi, se, frac = 0;
	size_t nfrac = 0;
	int64_t days;

	cur_init(&c, sp.p, sp.len);
	if (fixed_digits(&c, 4, 9999, &y) < 0 ||
	    fixed_digits(&c, 2, 12, &mo) < 0 ||
	    fixed_digits(&c, 2, 31, &d) < 0 ||
	    fixed_digits(&c, 2, 23, &h) < 0 ||
	    fixed_digits(&c, 2, 59, &mi) < 0 ||
	    fixed_digits(&c, 2, 59, &se) < 0)
		return (-EINVAL);
	if (y < 1900 || y > 2200 || mo < 1 || d < 1 || d > mdays[mo - 1])
		return (-EINVAL);
	if (mo == 2 && d == 29 &&
	    (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
		return (-EINVAL);
	if (cur_eat(&c, '.')) {
		while (!cur_eof(&c) && nfrac < 9 && c.p[0] >= '0' &&
		       c.p[0] <= '9') {
			frac = frac * 10 + (uint64_t)(c.p[0] - '0');
			c.p++;
			c.len--;
			nfrac++;
		}
		if (nfrac == 0)
			return (-EINVAL);
		for (size_t i = nfrac; i < 9; i++)
			frac *= 10;
	}
	if (!cur_eof(&c))
		return (-EINVAL);
	days = days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d);
	*ns =
	    ((days * 86400) + (int64_t)(h * 3600 + mi * 60 + se)) * 1000000000 +
	    (int64_t)frac;
	return (0);
}

bool
ftp_time_then_path(struct span arg)
{
	struct cursor c;
	struct span t;
	size_t i;

	cur_init(&c, arg.p, arg.len);
	t = cur_until(&c, ' ');
	if (!cur_eat(&c, ' ') || cur_eof(&c) || t.len < 14)
		return (false);
	for (i = 0; i < 14; i++)
		if (t.p[i] < '0' || t.p[i] > '9')
			return (false);
	return (true);
}

/* "TIME path" */
static int
time_then_path(struct cursor *c, struct span *path, int64_t *ns)
{
	struct span t = cur_until(c, ' ');

	if (!cur_eat(c, ' ') || ftp_parse_time(t, ns) < 0)
		return (-EINVAL);
	*path = cur_rest(c);
	return (path->len > 0 ? 0 : -EINVAL);
}

int
ftp_parse_set_time(enum ftp_verb v, struct span arg, struct span *path,
		   int64_t *ns)
{
	struct span w[4], rest;
	struct cursor c;
	int64_t t;
	size_t end, i;

	cur_init(&c, arg.p, arg.len);
	if (v != FTP_SITE)
		return (time_then_path(&c, path, ns));
	if (!span_eq_ci(cur_until(&c, ' '), "UTIME") || !cur_eat(&c, ' '))
		return (-EINVAL);
	rest = cur_rest(&c);
	/* "path atime mtime ctime UTC": four words from the end. */
	end = rest.len;
	for (i = 0; i < 4; i++) {
		size_t e = end;

		while (end > 0 && rest.p[end - 1] != ' ')
			end--;
		w[3 - i].p = rest.p + end;
		w[3 - i].len = e - end;
		if (end == 0)
			break;
		end--; /* the space */
	}
	if (i == 4 && end > 0 && span_eq_ci(w[3], "UTC") &&
	    ftp_parse_time(w[0], &t) == 0 && ftp_parse_time(w[2], &t) == 0 &&
	    ftp_parse_time(w[1], ns) == 0) {
		path->p = rest.p;
		path->len = end;
		return (0);
	}
	cur_init(&c, rest.p, rest.len);
	return (time_then_path(&c, path, ns));
}

void
ftp_format_time(int64_t ns, char *out)
{
	time_t t = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, 16, "%Y%m%d%H%M%S", &tm) == 0)
		out[0] = '\0';
}
