/*
 * ftp_int: what the files of the FTP front end share (see ftp.h for the
 * module's files and its rules).  Nothing outside src/front/ftp includes
 * it.
 */
#ifndef SHOAL_FRONT_FTP_INT_H
#define SHOAL_FRONT_FTP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "base/buf.h"
#include "front/auth.h"
#include "front/fsview.h"
#include "front/ftp/ftp.h"
#include "front/ftp/ftp_cmd.h"
#include "front/remote.h"
#include "net/addr.h"
#include "net/tls.h"
#include "store/path.h"

#define FTP_REPLY_MAX	(64 * 1024)
#define FTP_MAX_FAILED	3
#define FTP_XFER_CHUNK	(4u << 20)	/* most bytes per disk job */
#define FTP_XFER_BATCH	(1u << 20)	/* fewest, but at EOF */

struct ftp_server {
	struct ftp_server_opts	 o;
	SSL_CTX			*tls;
	struct evconnlistener	*listener;
	char			 addr[ADDR_STR_MAX];
	TAILQ_HEAD(, ftp_session) sessions;
	unsigned		 nsessions;
	unsigned		 pasv_lo, pasv_hi, pasv_next;
	struct sockaddr_storage	 pasv_addr;
	bool			 has_pasv_addr;
	bool			 require_tls;	/* no login before AUTH TLS */
	bool			 guest_ok;	/* listens on loopback */
	uint64_t		 bytes_in, bytes_out;
	TAILQ_HEAD(, ftp_tls_grant) grants;	/* ftp_tls.c */
	unsigned		 ngrants;
};

enum ftp_xfer_kind {
	XFER_SEND_BUF,		/* listing text */
	XFER_SEND_FILE,		/* RETR */
	XFER_RECV,		/* STOR, APPE, STOU */
};

struct ftp_xfer {
	enum ftp_xfer_kind	 kind;
	struct ftp_session	*s;		/* NULL once detached */
	struct evbuffer		*out;		/* SEND_BUF */
	struct fs_reader	 rd;		/* SEND_FILE */
	struct ingest		*ing;		/* RECV */
	char			*path;		/* RECV: the file's name */
	struct event		*flush;		/* RECV: writes a small rest */
	bool			 flush_now;
	bool			 job_running;
	bool			 eof;		/* data connection finished */
	bool			 started;	/* data flowing */
	uint64_t		 bytes;
	char			 ok_reply[PATH_LEN_MAX + 64];
};

struct ftp_data {
	struct evconnlistener	*lev;		/* PASV listener */
	struct sockaddr_storage	 port_addr;	/* PORT/EPRT target */
	bool			 port_set;
	evutil_socket_t		 fd;		/* accepted, not yet used */
	struct event		*connect_ev;	/* PORT: connect in progress */
	struct bufferevent	*bev;
	bool			 ready;		/* connected, TLS checked */
	bool			 tls_wait;	/* grant's login awaited */
	uint8_t			 wait_tag[TLS_TAG_LEN];
	bool			 want;		/* a transfer waits for it */
};

struct prefetch;
struct file_job;

struct ftp_session {
	TAILQ_ENTRY(ftp_session) entry;
	struct ftp_server	*srv;
	/* APPE/REST of a file held elsewhere: its copy being fetched, and
	 * the command's job, run again once it is here. */
	struct prefetch		*prefetch;
	struct file_job		*prefetch_job;
	struct bufferevent	*bev;
	struct evbuffer		*lines;		/* input, Telnet removed */
	struct ftp_telnet	 telnet;
	evutil_socket_t		 fd;
	struct sockaddr_storage	 peer;
	struct sockaddr_storage	 local;
	char			 peer_str[ADDR_STR_MAX];
	char			 user[AUTH_NAME_MAX + 1];
	bool			 user_given;
	bool			 logged_in;
	unsigned		 failed;
	uint64_t		 accepted_ms;	/* login deadline counts from */
	char			 cwd[PATH_LEN_MAX + 1];
	char			*rnfr;
	uint64_t		 rest;
	/* the last SIZE answered from a partial: an APPE of that path
	 * continues it (curl -C -), any other APPE starts afresh */
	char			*size_told;
	uint64_t		 size_told_n;
	uint64_t		 lock_token;	/* SITE LOCKTOKEN */
	bool			 tls;		/* control channel protected */
	bool			 tls_pending;	/* AUTH answered, not switched */
	bool			 prot_p;
	bool			 pbsz;
	uint8_t			 tls_tag[TLS_TAG_LEN];	/* of our grant */
	bool			 has_grant;
	unsigned		 jobs;		/* jobs referring to us */
	bool			 busy;		/* a command waits for a job */
	bool			 closing;
	bool			 ctrl_eof;
	struct event		*timer;
	struct event		*delay;
	struct event		*reap;
	bool			 close_on_flush;
	uint64_t		 flush_deadline;	/* monotonic ms */
	char			*pass;		/* during a login check */
	struct ftp_data		 data;
	struct ftp_xfer		*xfer;
};

/* ftp_session.c */
/* ftp.require_tls for a listener on sa: 0 and *on, or -EINVAL. */
int	ftp_require_tls(const struct cfg *, const struct sockaddr *sa,
	    bool *on);
void	ftp_session_accept(struct ftp_server *, evutil_socket_t,
	    const struct sockaddr *, int socklen);
void	ftp_reply(struct ftp_session *, int code, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	ftp_reply_raw(struct ftp_session *, const char *, size_t);
/* Closes the session now (or as soon as no job refers to it). */
void	ftp_session_close(struct ftp_session *, const char *why);
/* (Re)starts the login, idle or data-connection timer. */
void	ftp_session_arm_timer(struct ftp_session *);
/* Resumes reading commands after a job or transfer finished. */
void	ftp_session_resume(struct ftp_session *);
/* Submits fn on the pool with the session held busy; done must call
 * ftp_job_release() first and stop if it returns false. */
int	ftp_job(struct ftp_session *, void (*fn)(void *), void (*done)(void *),
	    void *arg);
bool	ftp_job_release(struct ftp_session *);
/* Resolves arg against cwd; replies 550/501 itself and returns < 0. */
int	ftp_resolve(struct ftp_session *, const struct ftp_request *,
	    char *out, size_t outsize);
int	ftp_reply_errno(struct ftp_session *, int err, const char *what);
/*
 * Writes "/" + path into out (FTP_QUOTED_MAX + 1 bytes) with each '"'
 * doubled, as RFC 959 (appendix II) wants inside the quotes of a 257
 * reply; returns out.
 */
#define FTP_QUOTED_MAX	(2 * PATH_LEN_MAX + 2)
const char *ftp_quote_path(const char *path, char *out);

/* ftp_tls.c */
/* A grant for the sessions the control connection's ssl will issue. */
int	ftp_tls_grant(struct ftp_session *, SSL *ssl)
	    __attribute__((warn_unused_result));
void	ftp_tls_grant_login(struct ftp_session *);
void	ftp_tls_grant_closed(struct ftp_session *);
void	ftp_tls_grants_free(struct ftp_server *);
/* What is known of a protected data connection's TLS session. */
struct ftp_tls_facts {
	bool		 resumed;	/* its handshake resumed a session */
	bool		 tagged;	/* one carrying a grant's tag */
	bool		 known;		/* a grant here, not expired */
	bool		 same_host;	/* granted to this client's address */
	bool		 grant_open;	/* its control connection is open */
	const char	*grant_user;	/* its account; "" before login */
	bool		 logged_in;	/* this control connection */
	const char	*user;
};
/*
 * The rule: 0 (taken), -EAGAIN (wait for the grant's connection to log in)
 * or -EACCES with *why (a static string) filled.
 */
int	ftp_tls_decide(const struct ftp_tls_facts *, const char **why);
/*
 * Whether the protected data connection ssl (handshake done) may serve
 * session s: 0, -EACCES (logged with the reason), or -EAGAIN when its
 * session was granted to a control connection of the same address that
 * has not logged in yet (tag filled: ftp_data_grant_settled follows).
 */
int	ftp_tls_data_check(struct ftp_session *, SSL *ssl,
	    uint8_t tag[TLS_TAG_LEN]) __attribute__((warn_unused_result));

/* ftp_files.c: handlers of commands that touch the store */
void	ftp_cmd_files(struct ftp_session *, const struct ftp_request *);

/* ftp_list.c */
void	ftp_cmd_list(struct ftp_session *, const struct ftp_request *);

/* ftp_data.c */
void	ftp_cmd_pasv(struct ftp_session *, bool extended);
void	ftp_cmd_port(struct ftp_session *, const struct ftp_request *);
bool	ftp_data_configured(const struct ftp_session *);
/* remote_reads callbacks for a RETR streamed from holders (arg: xfer). */
void	ftp_xfer_remote_ready(void *);
/* Drops a fetch started for APPE or REST + STOR (session going away). */
void	ftp_prefetch_free(struct ftp_session *);
void	ftp_xfer_remote_failed(void *, const char *why);
/* Starts transfer x (the session owns it from now on); 150 is sent here. */
void	ftp_xfer_start(struct ftp_session *, struct ftp_xfer *,
	    const char *opening);
/* Ends the current transfer with reply (NULL: none), freeing it. */
void	ftp_xfer_finish(struct ftp_session *, int code, const char *reply);
void	ftp_xfer_abort(struct ftp_session *);
void	ftp_data_close(struct ftp_session *);
/* The grant tagged tag logged in or closed: data connections that waited
 * for it are decided now. */
void	ftp_data_grant_settled(struct ftp_server *,
	    const uint8_t tag[TLS_TAG_LEN]);
struct ftp_xfer *ftp_xfer_new(enum ftp_xfer_kind);
/* ingest callbacks of an upload; arg is the session. */
void	ftp_ingest_drained(void *);
void	ftp_ingest_done(void *, int, const uint8_t sha[32]);
void	ftp_xfer_free(struct ftp_xfer *);

#endif
