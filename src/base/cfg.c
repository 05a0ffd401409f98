/*
 * cfg: the table of every configuration key.  Adding a key means adding a
 * field to struct cfg and one row here; parsing, defaults, bounds checks,
 * the template written by `shoal init` and the error messages all follow.
 */
#include "base/cfg.h"

#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/parse.h"

enum cfg_type {
	CFG_STR, CFG_UINT, CFG_BOOL, CFG_LEVEL, CFG_RATIO, CFG_WEIGHT,
	CFG_HOURS, CFG_DAYS
};

struct cfg_key {
	const char	*section;
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;
	size_t		 size;		/* CFG_STR: capacity */
	unsigned	 min, max;	/* CFG_UINT */
	const char	*def;
	const char	*help;
};

#define STR(sec, n, f, d, h) \
	{ sec, n, CFG_STR, offsetof(struct cfg, f), \
	  sizeof(((struct cfg *)0)->f), 0, 0, d, h }
#define UINT(sec, n, f, lo, hi, d, h) \
	{ sec, n, CFG_UINT, offsetof(struct cfg, f), 0, lo, hi, d, h }
#define BOOL(sec, n, f, d, h) \
	{ sec, n, CFG_BOOL, offsetof(struct cfg, f), 0, 0, 0, d, h }

static const struct cfg_key keys[] = {
	{ "node", "log_level", CFG_LEVEL, offsetof(struct cfg, log_level),
	  sizeof(((struct cfg *)0)->log_level), 0, 0, "info",
	  "error, warn, info or debug (debug logs every command and reply, "
	  "never a password)" },
	UINT("node", "workers", workers, 0, 64, "0",
	    "threads for disk and hashing work; 0 = one per CPU (at least 2)"),
	{ "node", "capacity", CFG_WEIGHT, offsetof(struct cfg, node_capacity),
	  0, 0, 0, "1", "placement weight with replicas = N: a node of "
	  "capacity 2 holds twice the files of one of capacity 1" },
	UINT("work", "queue_max", work_queue_max, 1, 1000000, "256",
	    "most jobs waiting for a worker thread; past it a new client "
	    "request is refused as busy: FTP 450 (a command) or 421 (a login, "
	    "and the session closes), HTTP 503 with Retry-After: 1"),
	STR("ftp", "listen", ftp_listen, "127.0.0.1:2121",
	    "HOST:PORT for the FTP/FTPS front end, or \"off\"; numeric only "
	    "(127.0.0.1:P, [::1]:P): a name such as localhost stops the node "
	    "at start, before anything listens (--ftp)"),
	UINT("ftp", "max_sessions", ftp_max_sessions, 1, 100000, "256",
	    "most FTP sessions at once"),
	UINT("ftp", "max_per_address", ftp_max_per_address, 1, 100000, "32",
	    "most FTP sessions from one client address"),
	UINT("ftp", "login_timeout", ftp_login_timeout, 1, 3600, "30",
	    "seconds a client has to log in"),
	UINT("ftp", "idle_timeout", ftp_idle_timeout, 1, 86400, "300",
	    "seconds a logged-in session may stay idle"),
	UINT("ftp", "login_delay_ms", ftp_login_delay_ms, 0, 10000, "1000",
	    "pause before answering a failed login"),
	UINT("ftp", "reserve", ftp_reserve, 0, 100000, "16",
	    "the last sessions of max_sessions are kept for client addresses "
	    "that hold none yet (at most a quarter of max_sessions)"),
	STR("ftp", "pasv_ports", ftp_pasv_ports, "",
	    "LOW-HIGH port range for passive data connections; empty = any"),
	STR("ftp", "pasv_address", ftp_pasv_address, "",
	    "IPv4 address announced in PASV replies (behind NAT); empty = the "
	    "local one"),
	BOOL("ftp", "tls", ftp_tls, "yes",
	    "offer explicit FTPS (AUTH TLS)"),
	BOOL("ftp", "tls_require_reuse", ftp_tls_require_reuse, "yes",
	    "data connections must resume a TLS session given to the same "
	    "client (address and account)"),
	STR("ftp", "require_tls", ftp_require_tls, "auto",
	    "refuse logins before AUTH TLS: auto (unless listening on "
	    "loopback), yes or no (--ftp-require-tls)"),
	STR("ftp", "tls_cert", ftp_tls_cert, "tls/cert.pem",
	    "certificate (PEM); relative to DIR/.shoal"),
	STR("ftp", "tls_key", ftp_tls_key, "tls/key.pem",
	    "private key (PEM); relative to DIR/.shoal"),
	{ "ftp", "partial_keep_hours", CFG_HOURS,
	  offsetof(struct cfg, ftp_partial_keep_hours), 0, 0, 0, "24",
	  "hours an interrupted upload (FTP, or HTTP Content-Range) is kept "
	  "for its account to resume; fractions allowed (0.001 = 3.6 s); "
	  "0 = keep none" },
	STR("peer", "listen", peer_listen, "0.0.0.0:44444",
	    "HOST:PORT for the peer protocol (TLS, cluster key only; --peer)"),
	UINT("peer", "heartbeat_ms", peer_heartbeat_ms, 100, 600000, "2000",
	    "milliseconds between heartbeats to each member"),
	UINT("peer", "dead_after_ms", peer_dead_after_ms, 300, 3600000,
	    "10000", "a member silent this long is marked dead"),
	UINT("peer", "send_limit_kib", peer_send_limit_kib, 0, 100000000, "0",
	    "most KiB/s this node sends to all peers together; 0 = no limit"),
	UINT("peer", "serve_window", peer_serve_window, 1, 1024, "16",
	    "block requests of one member read from disk at once; more "
	    "wait, and past twice this its link is not read"),
	UINT("peer", "out_high_kib", peer_out_high_kib, 64, 4194304, "65536",
	    "KiB queued to a member above which its link is not read (and "
	    "no block served to it) until half of it is sent"),
	BOOL("peer", "log_heartbeats", peer_log_heartbeats, "no",
	    "with log_level = debug, log heartbeats (to members and the "
	    "tracker) too"),
	STR("http", "listen", http_listen, "127.0.0.1:8440",
	    "HOST:PORT of the HTTP endpoint, control and API (--http)"),
	STR("http", "tls", http_tls, "auto",
	    "auto (HTTPS unless listening on loopback), yes or no"),
	UINT("http", "max_connections", http_max_connections, 1, 100000, "512",
	    "most HTTP connections at once"),
	UINT("http", "max_per_address", http_max_per_address, 1, 100000, "32",
	    "most HTTP connections from one client address"),
	UINT("http", "reserve", http_reserve, 0, 100000, "32",
	    "the last connections of max_connections are kept for client "
	    "addresses that hold none yet"),
	UINT("http", "head_timeout", http_head_timeout, 1, 3600, "10",
	    "seconds a new connection has to send a whole request head"),
	UINT("http", "idle_timeout", http_idle_timeout, 1, 86400, "60",
	    "seconds a connection may wait for its next request"),
	UINT("http", "login_delay_ms", http_login_delay_ms, 0, 10000, "1000",
	    "pause before answering a failed login (401)"),
	STR("dav", "listen", dav_listen, "127.0.0.1:8080",
	    "HOST:PORT of the WebDAV endpoint (docs/DAV.md); off = none"),
	STR("dav", "tls", dav_tls, "auto",
	    "auto (HTTPS unless listening on loopback), yes or no"),
	BOOL("dav", "depth_infinity", dav_depth_infinity, "no",
	    "PROPFIND Depth: infinity answered (100000 entries at most) "
	    "instead of refused"),
	STR("s3", "listen", s3_listen, "127.0.0.1:9000",
	    "HOST:PORT of the S3 endpoint (docs/S3.md); off = none"),
	STR("s3", "tls", s3_tls, "auto",
	    "auto (HTTPS unless listening on loopback), yes or no"),
	STR("s3", "region", s3_region, "us-east-1",
	    "the region S3 clients sign for and GetBucketLocation names"),
	STR("s3", "domain", s3_domain, "",
	    "virtual-host style: a request to BUCKET.DOMAIN is for bucket "
	    "BUCKET (empty: path style only)"),
	UINT("s3", "multipart_expiry", s3_multipart_expiry, 1, 315360000,
	    "604800", "seconds after which an unfinished multipart upload "
	    "untouched since is removed"),
	UINT("login", "max_failures", login_max_failures, 1, 100000, "10",
	    "failed logins from one address (any front end) within "
	    "login.window before it is locked out"),
	UINT("login", "max_account_failures", login_max_account_failures, 1,
	    100000, "30", "failed logins to one account (from any address) "
	    "within login.window before it is locked out"),
	UINT("login", "window", login_window, 1, 86400, "600",
	    "seconds over which failed logins are counted"),
	UINT("login", "lockout", login_lockout, 1, 86400, "300",
	    "seconds an address or account is refused once locked out"),
	{ "sync", "consistency_threshold", CFG_RATIO,
	  offsetof(struct cfg, sync_consistency_threshold), 0, 0, 0, "0.7",
	  "a node whose index differs from more than (1 - this) of the live "
	  "members resyncs from the majority, keeping its own changes" },
	UINT("sync", "writes", sync_writes, 0, 64, "0",
	    "write quorum K: FTP's 226 and HTTP PUT's answer come only once "
	    "this many other nodes hold the upload (--sync-writes)"),
	UINT("sync", "write_timeout_ms", sync_write_timeout_ms, 100, 600000,
	    "10000", "how long an upload waits for sync.writes nodes"),
	UINT("sync", "repair_delay", sync_repair_delay, 1, 86400, "60",
	    "seconds a holder may be dead before its files (replicas = N) "
	    "are copied to other nodes (--repair-delay)"),
	UINT("sync", "read_keep", sync_read_keep, 0, 86400, "30",
	    "seconds a copy fetched to serve a read (replicas = N) is kept "
	    "after the read before it may be dropped"),
	UINT("sync", "scrub_hours", sync_scrub_hours, 0, 87600, "168",
	    "hours from the end of one full scrub (every file held here "
	    "hashed again to find rot) to the start of the next; 0: only "
	    "on request (shoal scrub)"),
	UINT("sync", "scrub_mib_s", sync_scrub_mib_s, 1, 100000, "32",
	    "MiB/s a scrub reads at most"),
	UINT("store", "min_free_mb", store_min_free_mb, 0, 100000000, "64",
	    "with less free space (MiB) under DIR the node is full: new "
	    "copies go elsewhere"),
	UINT("versions", "keep", versions_keep, 0, 100000, "10",
	    "old versions kept of each file (replaced content, by any writer "
	    "and from any node, under DIR/.shoal/versions); 0 = none, and no "
	    "trash either"),
	{ "versions", "days", CFG_DAYS, offsetof(struct cfg, versions_days),
	  0, 0, 0, "30", "days an old version is kept; fractions allowed; "
	  "0 = no limit but versions.keep" },
	{ "trash", "days", CFG_DAYS, offsetof(struct cfg, trash_days), 0, 0,
	  0, "30", "days a deleted file is kept in the trash; fractions "
	  "allowed; 0 = no trash" },
	STR("tracker", "address", tracker_address, "",
	    "HOST:PORT of the tracker (nodes, files, locks; --tracker); "
	    "empty = none"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
#define CFG_LINE_MAX 200

static const struct cfg_key *
cfg_find(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return (&keys[i]);
	return (NULL);
}

static int
parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
	    !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return (-EINVAL);
	return (0);
}

static int
cfg_apply(struct cfg *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen)
{
	char *field = (char *)c + k->off;
	struct span s = { v, strlen(v) };
	enum log_level lvl;
	uint64_t n;

	switch (k->type) {
	case CFG_STR:
		if (str_copy(field, k->size, v) < 0)
			goto bad;
		return (0);
	case CFG_LEVEL:
		if (log_level_parse(v, &lvl) < 0 ||
		    str_copy(field, k->size, v) < 0)
			goto bad;
		return (0);
	case CFG_UINT:
		if (span_u64(s, k->max, &n) < 0 || n < k->min)
			goto bad;
		*(unsigned *)(void *)field = (unsigned)n;
		return (0);
	case CFG_BOOL:
		if (parse_bool(v, (bool *)(void *)field) < 0)
			goto bad;
		return (0);
	case CFG_RATIO:
	case CFG_WEIGHT:
	case CFG_HOURS:
	case CFG_DAYS: {
		double d, hi = k->type == CFG_RATIO    ? 1.0
			       : k->type == CFG_WEIGHT ? 1000.0
						       : k->type == CFG_DAYS
							     ? 36500.0
							     : 8760.0;

		if (span_double(s, 0.0, hi, &d) < 0 ||
		    (k->type == CFG_WEIGHT && d == 0.0))
			goto bad;
		*(double *)(void *)field = d;
		return (0);
	}
	}
bad:
	if (k->type == CFG_UINT)
		(void)str_fmt(err, errlen, "%s.%s: '%s' is not a number in %u..%u",
		    k->section, k->name, v, k->min, k->max);
	else
		(void)str_fmt(err, errlen, "%s.%s: bad value '%s'",
		    k->section, k->name, v);
	return (-EINVAL);
}

void
cfg_defaults(struct cfg *c)
{
	char err[128];
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NKEYS; i++)
		if (cfg_apply(c, &keys[i], keys[i].def, err, sizeof(err)) < 0)
			fatalx("cfg: bad default: %s", err);
}

int
cfg_set(struct cfg *c, const char *section, const char *key, const char *v,
    char *err, size_t errlen)
{
	const struct cfg_key *k;

	if ((k = cfg_find(section, key)) == NULL) {
		(void)str_fmt(err, errlen, "unknown key '%s' in [%s]", key,
		    section);
		return (-ENOENT);
	}
	return (cfg_apply(c, k, v, err, errlen));
}

struct cfg_load_ctx {
	struct cfg	*cfg;
	char		 msg[256];
};

static int
cfg_ini_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_load_ctx *ctx = user;
	char msg[sizeof(ctx->msg)];

	if (name == NULL)
		return (1);	/* a section header alone */
	if (cfg_set(ctx->cfg, section, name, value, msg, sizeof(msg)) == 0)
		return (1);
	/* inih goes on after an error but reports the first one's line. */
	if (ctx->msg[0] == '\0')
		memcpy(ctx->msg, msg, sizeof(msg));
	return (0);
}

/*
 * Debian's inih splits lines longer than INI_MAX_LINE (200) and then
 * misreports them; refuse such a file with a message that says why.
 */
static int
check_line_lengths(FILE *f, const char *path, char *err, size_t errlen)
{
	int c, line = 1;
	size_t len = 0;

	while ((c = getc(f)) != EOF) {
		if (c == '\n') {
			line++;
			len = 0;
		} else if (++len >= CFG_LINE_MAX) {
			(void)str_fmt(err, errlen, "%s:%d: line longer than %d "
			    "bytes", path, line, CFG_LINE_MAX - 1);
			return (-EINVAL);
		}
	}
	rewind(f);
	return (0);
}

int
cfg_load(struct cfg *c, const char *path, char *err, size_t errlen)
{
	struct cfg_load_ctx ctx = { c, "" };
	FILE *f;
	int line;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return (0);
		(void)str_fmt(err, errlen, "%s: %s", path, strerror(errno));
		return (-errno);
	}
	if (check_line_lengths(f, path, err, errlen) < 0) {
		fclose(f);
		return (-EINVAL);
	}
	line = ini_parse_file(f, cfg_ini_handler, &ctx);
	fclose(f);
	if (line != 0) {
		(void)str_fmt(err, errlen, "%s:%d: %s", path, line,
		    ctx.msg[0] ? ctx.msg : "syntax error");
		return (-EINVAL);
	}
	return (0);
}

/* Writes text as "# " comment lines of at most 76 columns. */
static void
write_comment(FILE *f, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		size_t n = strlen(p), cut = n;

		if (n > 74) {
			for (cut = 74; cut > 0 && p[cut] != ' '; cut--)
				;
			if (cut == 0)
				cut = 74;
		}
		fprintf(f, "# %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

void
cfg_write_template(FILE *f)
{
	const char *section = "";
	size_t i;

	fprintf(f, "# shoal node configuration; flags override these keys.\n");
	for (i = 0; i < NKEYS; i++) {
		if (strcmp(section, keys[i].section) != 0) {
			section = keys[i].section;
			fprintf(f, "\n[%s]\n", section);
		}
		write_comment(f, keys[i].help);
		fprintf(f, "#%s = %s\n", keys[i].name, keys[i].def);
	}
}

size_t
cfg_key_count(void)
{
	return (NKEYS);
}

void
cfg_write_keys(FILE *f, bool markdown)
{
	size_t i;

	if (markdown)
		fprintf(f, "| key | default | meaning |\n|---|---|---|\n");
	for (i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &keys[i];

		if (markdown)
			fprintf(f, "| `%s.%s` | %s%s%s | %s |\n", k->section,
			    k->name, k->def[0] ? "`" : "",
			    k->def[0] ? k->def : "(empty)",
			    k->def[0] ? "`" : "", k->help);
		else
			fprintf(f, "%s.%s = %s\n    %s\n", k->section,
			    k->name, k->def, k->help);
	}
}
