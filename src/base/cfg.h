/*
 * cfg: a node's settings, read from DIR/.shoal/shoal.conf (INI) and then
 * overridden by command-line flags.  Every key is in one table in cfg.c with
 * its type, bounds and default; an unknown key or a bad value is an error
 * naming the file and line, never a silent default.
 */
#ifndef SHOAL_BASE_CFG_H
#define SHOAL_BASE_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CFG_STR_MAX	256

struct cfg {
	/* [node] */
	char		log_level[16];
	unsigned	workers;
	double		node_capacity;
	/* [work] */
	unsigned	work_queue_max;
	/* [ftp] */
	char		ftp_listen[CFG_STR_MAX];
	unsigned	ftp_max_sessions;
	unsigned	ftp_max_per_address;
	unsigned	ftp_login_timeout;
	unsigned	ftp_idle_timeout;
	unsigned	ftp_login_delay_ms;
	unsigned	ftp_reserve;
	char		ftp_pasv_ports[32];
	char		ftp_pasv_address[64];
	bool		ftp_tls;
	bool		ftp_tls_require_reuse;
	char		ftp_require_tls[8];
	char		ftp_tls_cert[CFG_STR_MAX];
	char		ftp_tls_key[CFG_STR_MAX];
	double		ftp_partial_keep_hours;
	/* [peer] */
	char		peer_listen[CFG_STR_MAX];
	unsigned	peer_heartbeat_ms;
	unsigned	peer_dead_after_ms;
	unsigned	peer_send_limit_kib;
	unsigned	peer_serve_window;
	unsigned	peer_out_high_kib;
	bool		peer_log_heartbeats;
	/* [http] */
	char		http_listen[CFG_STR_MAX];
	char		http_tls[8];
	unsigned	http_max_connections;
	unsigned	http_max_per_address;
	unsigned	http_reserve;
	unsigned	http_head_timeout;
	unsigned	http_idle_timeout;
	unsigned	http_login_delay_ms;
	/* [dav] */
	char		dav_listen[CFG_STR_MAX];
	char		dav_tls[8];
	bool		dav_depth_infinity;
	/* [s3] */
	char		s3_listen[CFG_STR_MAX];
	char		s3_tls[8];
	char		s3_region[64];
	char		s3_domain[256];
	unsigned	s3_multipart_expiry;
	/* [login] */
	unsigned	login_max_failures;
	unsigned	login_max_account_failures;
	unsigned	login_window;
	unsigned	login_lockout;
	/* [sync] */
	double		sync_consistency_threshold;
	unsigned	sync_writes;
	unsigned	sync_write_timeout_ms;
	unsigned	sync_repair_delay;
	unsigned	sync_read_keep;
	unsigned	sync_scrub_hours;
	unsigned	sync_scrub_mib_s;
	/* [store] */
	unsigned	store_min_free_mb;
	/* [versions], [trash] */
	unsigned	versions_keep;
	double		versions_days;
	double		trash_days;
	/* [tracker] */
	char		tracker_address[CFG_STR_MAX];
};

/* Fills every key with its default. */
void	cfg_defaults(struct cfg *);
/*
 * Reads path into cfg.  A missing file is not an error (defaults stand).
 * On error, err holds "path:line: reason".
 */
int	cfg_load(struct cfg *, const char *path, char *err, size_t errlen)
	    __attribute__((warn_unused_result));
/* Sets "section.key" (as a flag would); err holds the reason on failure. */
int	cfg_set(struct cfg *, const char *section, const char *key,
	    const char *value, char *err, size_t errlen)
	    __attribute__((warn_unused_result));
/* Writes every key with its default and help, as a commented file. */
void	cfg_write_template(FILE *);
/*
 * Every key, its default and its meaning: plain text, or the Markdown
 * table README.md carries (scripts/config-table.sh keeps it in step).
 */
void	cfg_write_keys(FILE *, bool markdown);
/* How many keys the table holds. */
size_t	cfg_key_count(void);

#endif
