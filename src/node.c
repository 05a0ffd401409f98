/*
 * node: start-up order is bottom-up (store, pool, watcher, accounts, front
 * ends) and shutdown the reverse.  The pool is drained before the modules
 * its jobs use are freed.
 */
#include "node.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "base/buf.h"
#include "base/cfg.h"
#include "base/log.h"
#include "base/work.h"
#include "front/auth.h"
#include "front/ftp/ftp.h"
#include "net/addr.h"
#include "store/store.h"
#include "store/watch.h"

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(arg, NULL);
}

/* SECURITY: guest/guest is for trying shoal out on one machine only. */
static int
check_guest(const struct cfg *c, const char *users)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (strcmp(c->ftp_listen, "off") == 0 ||
	    addr_parse(c->ftp_listen, &ss, &sl) < 0 ||
	    addr_is_loopback((struct sockaddr *)&ss))
		return (0);
	if (!auth_file_default_guest(users))
		return (0);
	log_errorx("refusing to serve FTP on %s while the guest account has "
	    "the default password: change it with 'shoal -C DIR user passwd "
	    "guest' or remove it with 'shoal -C DIR user del guest'",
	    c->ftp_listen);
	return (-EACCES);
}

int
node_run(const char *dir, const struct cfg *c)
{
	struct event_base *base = NULL;
	struct event *sigint = NULL, *sigterm = NULL;
	struct work_pool *pool = NULL;
	struct watch *watch = NULL;
	struct auth *auth = NULL;
	struct ftp_server *ftp = NULL;
	struct store store;
	char err[512] = "", priv[4200], users[4200];
	int status = 1;
	bool store_ok = false;

	signal(SIGPIPE, SIG_IGN);
	if (str_fmt(priv, sizeof(priv), "%s/.shoal", dir) < 0 ||
	    str_fmt(users, sizeof(users), "%s/users", priv) < 0) {
		log_errorx("%s: path too long", dir);
		return (1);
	}
	if (check_guest(c, users) < 0)
		return (1);
	if ((base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	if (store_open(&store, dir, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		goto out;
	}
	store_ok = true;
	if ((pool = work_pool_new(base, (int)c->workers)) == NULL) {
		log_errorx("cannot start worker threads");
		goto out;
	}
	if ((watch = watch_new(base, pool, &store)) == NULL ||
	    watch_start(watch) < 0) {
		log_errorx("cannot watch %s", dir);
		goto out;
	}
	if ((auth = auth_new(users)) == NULL) {
		log_errorx("cannot load accounts");
		goto out;
	}
	if (strcmp(c->ftp_listen, "off") != 0) {
		struct ftp_server_opts o = {
			.base = base, .pool = pool, .store = &store,
			.auth = auth, .cfg = c, .priv_dir = priv,
		};

		if ((ftp = ftp_server_new(&o, err, sizeof(err))) == NULL) {
			log_errorx("%s", err);
			goto out;
		}
	}
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) <
	    0 || evsignal_add(sigterm, NULL) < 0)
		fatalx("cannot handle signals");
	log_info("node serving %s", dir);
	event_base_dispatch(base);
	status = 0;
out:
	ftp_server_free(ftp);
	/* Jobs finish before what they use goes away. */
	work_pool_free(pool);
	watch_free(watch);
	auth_free(auth);
	if (store_ok)
		store_close(&store);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (base)
		event_base_free(base);
	return (status);
}
