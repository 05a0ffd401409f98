/*
 * ftp_tls: which TLS session a protected data connection may carry.
 *
 * RFC 4217 leaves open how a server knows that a protected data connection
 * comes from the client of the control connection it serves, and not from
 * another program on the same host that raced it to the PASV port.  The
 * answer here: the data connection must resume a TLS session this node
 * issued to a control connection of the same client, that is from the
 * same address and logged in as the same account.  Clients that keep
 * several control connections (rclone) resume whichever session they were
 * given last, so any control connection of the client will do, not only
 * the one the transfer belongs to.
 *
 * Each control connection gets a grant at AUTH TLS: a random tag that
 * every session issued on it carries (tls_tag_set), with the client's
 * address; the account is added once it logs in.  A grant outlives its
 * control connection by the sessions' lifetime (a client may resume a
 * session of a connection it already closed), and the table is capped:
 * past the cap the oldest grant of a closed connection goes.
 *
 * A client that opens control connections side by side may carry, on a
 * data connection, the session of one that has not logged in yet: that
 * data connection waits (reading nothing) until the other logs in, then is
 * decided; if the other closes first, it is refused.
 *
 *   AUTH TLS ──> grant(tag, address) ──login──> + account ──close──> expiry
 *
 * Only the event loop touches the table.
 */
#include "front/ftp/ftp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/assert.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "net/tls.h"

/* Grants of closed connections kept, beyond one per open session. */
#define GRANTS_CLOSED_MAX 1024

struct ftp_tls_grant {
	TAILQ_ENTRY(ftp_tls_grant) entry;
	uint8_t tag[TLS_TAG_LEN];
	struct sockaddr_storage peer;
	char user[AUTH_NAME_MAX + 1]; /* "" until logged in */
	uint64_t expires_ms;	      /* 0 while the connection is open */
};

static struct ftp_tls_grant *
grant_find(struct ftp_server *srv, const uint8_t tag[TLS_TAG_LEN])
{
	struct ftp_tls_grant *g;

	TAILQ_FOREACH(g, &srv->grants, entry)
	if (memcmp(g->tag, tag, TLS_TAG_LEN) == 0)
		return (g);
	return (NULL);
}

static void
grant_drop(struct ftp_server *srv, struct ftp_tls_grant *g)
{
	TAILQ_REMOVE(&srv->grants, g, entry);
	srv->ngrants--;
	free(g);
}

/* Drops expired grants, then the oldest closed ones past the cap. */
static void
grants_trim(struct ftp_server *srv)
{
	struct ftp_tls_grant *g, *t;
	uint64_t now = clock_mono_ms();
	unsigned cap = srv->o.cfg->ftp_max_sessions + GRANTS_CLOSED_MAX;

	for (g = TAILQ_FIRST(&srv->grants); g != NULL; g = t) {
		t = TAILQ_NEXT(g, entry);
		if (g->expires_ms != 0 &&
		    (g->expires_ms <= now || srv->ngrants >= cap))
			grant_drop(srv, g);
	}
}

int
ftp_tls_grant(struct ftp_session *s, SSL *ssl)
{
	struct ftp_server *srv = s->srv;
	struct ftp_tls_grant *g;

	grants_trim(srv);
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return (-ENOMEM);
	do {
		if (RAND_bytes(g->tag, sizeof(g->tag)) != 1) {
			free(g);
			return (-EIO);
		}
	} while (grant_find(srv, g->tag) != NULL);
	if (tls_tag_set(ssl, g->tag) < 0) {
		free(g);
		return (-ENOMEM);
	}
	g->peer = s->peer;
	if (s->logged_in)
		memcpy(g->user, s->user, sizeof(g->user));
	memcpy(s->tls_tag, g->tag, sizeof(s->tls_tag));
	s->has_grant = true;
	TAILQ_INSERT_TAIL(&srv->grants, g, entry);
	srv->ngrants++;
	return (0);
}

void
ftp_tls_grant_login(struct ftp_session *s)
{
	struct ftp_tls_grant *g;

	if (!s->has_grant || (g = grant_find(s->srv, s->tls_tag)) == NULL)
		return;
	SHOAL_ASSERT(g->user[0] == '\0');
	memcpy(g->user, s->user, sizeof(g->user));
	ftp_data_grant_settled(s->srv, g->tag);
}

void
ftp_tls_grant_closed(struct ftp_session *s)
{
	struct ftp_tls_grant *g;

	if (!s->has_grant || (g = grant_find(s->srv, s->tls_tag)) == NULL)
		return;
	s->has_grant = false;
	if (g->user[0] == '\0') {
		grant_drop(s->srv, g); /* nothing may use its sessions */
		ftp_data_grant_settled(s->srv, s->tls_tag);
	} else
		g->expires_ms = clock_mono_ms() + TLS_SESSION_SECS * 1000ull;
}

void
ftp_tls_grants_free(struct ftp_server *srv)
{
	while (!TAILQ_EMPTY(&srv->grants))
		grant_drop(srv, TAILQ_FIRST(&srv->grants));
}

int
ftp_tls_decide(const struct ftp_tls_facts *f, const char **why)
{
	/* SECURITY: a session this node issued to this client's account. */
	if (!f->resumed)
		*why = "did not resume a TLS session";
	else if (!f->tagged)
		*why = "resumed a TLS session without a grant";
	else if (!f->known)
		*why = "resumed a TLS session this node no longer knows";
	else if (!f->same_host)
		*why = "resumed a TLS session issued to another address";
	else if (f->logged_in && f->grant_user[0] == '\0' && f->grant_open)
		return (-EAGAIN); /* a connection of the client's, logging in */
	else if (!f->logged_in || strcmp(f->grant_user, f->user) != 0)
		*why = "resumed a TLS session issued to another account";
	else
		return (0);
	return (-EACCES);
}

int
ftp_tls_data_check(struct ftp_session *s, SSL *ssl, uint8_t tag[TLS_TAG_LEN])
{
	struct ftp_tls_facts f = {.grant_user = "", .user = s->user};
	struct ftp_tls_grant *g = NULL;
	const char *why = NULL;
	int rc;

	f.resumed = SSL_session_reused(ssl) == 1;
	f.tagged = f.resumed && tls_tag_resumed(ssl, tag) == 0;
	if (f.tagged && (g = grant_find(s->srv, tag)) != NULL &&
	    (g->expires_ms == 0 || g->expires_ms > clock_mono_ms())) {
		f.known = true;
		f.same_host = addr_same_host((struct sockaddr *)&g->peer,
					     (struct sockaddr *)&s->peer);
		f.grant_user = g->user;
		f.grant_open = g->expires_ms == 0;
	}
	f.logged_in = s->logged_in;
	if ((rc = ftp_tls_decide(&f, &why)) == -EACCES)
		log_info("ftp: %s data connection %s", s->peer_str, why);
	return (rc);
}
