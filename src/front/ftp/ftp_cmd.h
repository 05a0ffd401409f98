/*
 * ftp_cmd: parses one FTP command line and the address arguments of
 * PORT/EPRT.  Pure functions over bytes, fuzzed in fuzz/.
 *
 * The control stream first passes ftp_telnet_filter, which removes Telnet
 * commands (RFC 854) as the bytes arrive, whatever read they are split
 * over, and reports the Synch mark (IAC DM) that RFC 959 clients send,
 * with IAC IP, before ABOR.  A line then arrives without its CRLF; the
 * line parser drops any IAC sequence left in it too.  The verb is
 * case-insensitive; the argument is everything after the first space and
 * may not hold NUL, CR or LF.
 */
#ifndef SHOAL_FRONT_FTP_CMD_H
#define SHOAL_FRONT_FTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/parse.h"

#define FTP_LINE_MAX	4096	/* bytes in a command line, CRLF included */
#define FTP_VERB_MAX	8

enum ftp_verb {
	FTP_UNKNOWN = 0,
	FTP_ABOR, FTP_ALLO, FTP_APPE, FTP_AUTH, FTP_CDUP, FTP_CWD, FTP_DELE,
	FTP_EPRT, FTP_EPSV, FTP_FEAT, FTP_HASH, FTP_HELP, FTP_LIST, FTP_MDTM,
	FTP_MKD, FTP_MLSD, FTP_MLST, FTP_MODE, FTP_NETS, FTP_NLST, FTP_NOOP,
	FTP_OPTS, FTP_PASS, FTP_PASV, FTP_PBSZ, FTP_PORT, FTP_PROT, FTP_PWD,
	FTP_QUIT, FTP_REST, FTP_RETR, FTP_RMD, FTP_RNFR, FTP_RNTO, FTP_SITE,
	FTP_SIZE, FTP_STAT, FTP_STOR, FTP_STOU, FTP_STRU, FTP_SYST, FTP_TYPE,
	FTP_USER, FTP_CCC, FTP_XCUP, FTP_XCWD, FTP_XMKD, FTP_XPWD, FTP_XRMD,
	FTP_MFMT, FTP_VERB_COUNT
};

/* Where the Telnet filter is inside a command (state between reads). */
struct ftp_telnet {
	unsigned char	 state;
};

/*
 * Copies in[len] to out (room for len + 1 bytes), removing Telnet commands:
 * IAC WILL/WONT/DO/DONT and their option byte, IAC SB up to IAC SE, and
 * any other IAC X.  IAC IAC (a literal 0xff) is kept as the pair, which
 * ftp_parse_request turns into one byte.  Returns the bytes written.  If
 * an IAC DM was seen, *synch is set and out holds only what followed the
 * last one: RFC 854 discards the data before the Synch mark.
 */
size_t	ftp_telnet_filter(struct ftp_telnet *, const char *in, size_t len,
	    char *out, bool *synch) __attribute__((warn_unused_result));

struct ftp_request {
	enum ftp_verb	 verb;
	char		 name[FTP_VERB_MAX + 1];	/* upper case */
	struct span	 arg;	/* borrowed from the line; may be empty */
	bool		 has_arg;
};

/*
 * Parses line[len] into req.  Returns 0 (req.verb may be FTP_UNKNOWN),
 * -EINVAL for an empty line, a verb that is not letters, or a control byte
 * in the argument, -ENAMETOOLONG for a verb over FTP_VERB_MAX letters.
 * The line buffer may be modified (IAC removal).
 */
int	ftp_parse_request(char *line, size_t len, struct ftp_request *req)
	    __attribute__((warn_unused_result));
/* "h1,h2,h3,h4,p1,p2" into an IPv4 address. */
int	ftp_parse_port(struct span, struct sockaddr_storage *)
	    __attribute__((warn_unused_result));
/* RFC 2428 "<d>proto<d>addr<d>port<d>" into an IPv4 or IPv6 address. */
int	ftp_parse_eprt(struct span, struct sockaddr_storage *)
	    __attribute__((warn_unused_result));
const char *ftp_verb_name(enum ftp_verb);

/*
 * Times of MFMT, SITE UTIME and MDTM: YYYYMMDDHHMMSS[.s up to 9 digits],
 * UTC, a real date of the years 1900 to 2200, into ns since the epoch.
 */
int	ftp_parse_time(struct span, int64_t *ns)
	    __attribute__((warn_unused_result));
/* "TIME path": the set form of MDTM some clients send. */
bool	ftp_time_then_path(struct span arg);
/*
 * The argument of MFMT or MDTM ("TIME path") or of SITE ("UTIME TIME
 * path" or "UTIME path atime mtime ctime UTC") into the path (borrowed
 * from arg) and the mtime.  -EINVAL if it is not one of those forms.
 */
int	ftp_parse_set_time(enum ftp_verb, struct span arg, struct span *path,
	    int64_t *ns) __attribute__((warn_unused_result));
/* ns since the epoch as YYYYMMDDHHMMSS (out[16]). */
void	ftp_format_time(int64_t ns, char *out);

#endif
