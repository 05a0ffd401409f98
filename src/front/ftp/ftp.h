/*
 * ftp: the FTP/FTPS front end (RFC 959, 2228, 2389, 2428, 3659, 4217).
 *
 * Files of this module:
 *   ftp.h          what the node sees (this header)
 *   ftp_int.h      what the files of the module share
 *   ftp_server.c   listener, session limits, the public API below
 *   ftp_session.c  one control connection: lines, login, dispatch, replies
 *   ftp_files.c    commands that touch the store (run on the worker pool)
 *   ftp_list.c     LIST, NLST, MLSD, MLST and STAT formatting
 *   ftp_data.c     data connections: PASV/EPSV/PORT/EPRT, TLS, transfers
 *   ftp_tls.c      which TLS sessions a protected data connection may carry
 *   ftp_cmd.c      parsing of command lines and PORT/EPRT arguments
 *
 * A session never touches the disk itself: a command that needs the store
 * becomes a job on the worker pool whose done callback sends the reply.
 * While a job is in flight the session reads no further commands; while a
 * transfer runs it only answers ABOR and STAT.  A session is never freed
 * inside its own callbacks or while a job refers to it: it is marked
 * closing and reaped when the last job returns.
 */
#ifndef SHOAL_FRONT_FTP_H
#define SHOAL_FRONT_FTP_H

#include <stdint.h>

#include <event2/event.h>

struct auth;
struct cfg;
struct guard;
struct remote_reads;
struct store;
struct work_pool;

struct ftp_server;
struct ftp_server_opts {
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		*store;
	struct auth		*auth;
	struct guard		*guard;		/* failed-login policy */
	const struct cfg	*cfg;
	const char		*priv_dir;	/* DIR/.shoal, for TLS files */
	/* Live members of the network, for NETS; NULL means 1. */
	unsigned		(*network_size)(void *);
	void			*network_arg;
	/*
	 * Write quorum, or NULL: done(cbarg, 0) once enough other nodes
	 * hold the upload, done(cbarg, -errno) if they do not in time.
	 */
	int			(*wait_copies)(void *, const char *path,
				    const uint8_t sha[32],
				    void (*done)(void *, int), void *cbarg);
	void			*wait_arg;
	/*
	 * Write locks, or NULL: may user write path, carrying fencing
	 * token (0: none)?  0, or < 0 with the reason in why.
	 */
	int			(*write_check)(void *, const char *path,
				    const char *user, uint64_t token,
				    char *why, size_t whylen);
	void			*write_arg;
	/* Files held by other nodes (replicas = N), or NULL. */
	const struct remote_reads *remote;
};

struct ftp_server *ftp_server_new(const struct ftp_server_opts *,
    char *err, size_t errlen);
void	ftp_server_free(struct ftp_server *);
const char *ftp_server_addr(const struct ftp_server *);
void	ftp_server_counters(const struct ftp_server *, unsigned *sessions,
	    uint64_t *bytes_in, uint64_t *bytes_out);


#endif
