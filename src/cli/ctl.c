/*
 * ctl: `shoal peers|status|add|bye|scrub` on a running node, printed for people
 * (or as the node's JSON with --json).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "cli/client.h"
#include "cli/cmd.h"

static void
print_peers(json_t *a)
{
	size_t i;
	json_t *p;

	bool tracker = false;

	/* FILES and BEAT(s) come from the tracker, when there is one. */
	json_array_foreach(a, i, p)
		if (json_object_get(p, "files") != NULL)
			tracker = true;
	printf("%-4s %-32s %-22s %-7s %9s %8s %6s", "RANK", "ID", "ADDRESS",
	    "STATE", "HEARD(s)", "RTT(ms)", "FAILS");
	if (tracker)
		printf(" %8s %8s", "FILES", "BEAT(s)");
	printf(" %s\n", "REASON");
	json_array_foreach(a, i, p) {
		json_t *r = json_object_get(p, "rank");
		json_t *h = json_object_get(p, "last_heard_s");
		json_t *f = json_object_get(p, "files");
		json_t *b = json_object_get(p, "last_heartbeat_s");
		json_t *t = json_object_get(p, "rtt_ms");
		const char *why = json_string_value(json_object_get(p,
		    "reason"));
		const char *id = json_string_value(json_object_get(p, "id"));
		char rank[16], heard[32], files[32], beat[32], rtt[32];

		snprintf(rank, sizeof(rank), json_is_integer(r) ? "%lld" : "-",
		    (long long)json_integer_value(r));
		snprintf(heard, sizeof(heard), json_is_number(h) ? "%.1f" :
		    "-", json_number_value(h));
		snprintf(files, sizeof(files), json_is_integer(f) ? "%lld" :
		    "-", (long long)json_integer_value(f));
		snprintf(beat, sizeof(beat), json_is_number(b) ? "%.1f" : "-",
		    json_number_value(b));
		/* No RTT for a member never reached, rather than a guess. */
		snprintf(rtt, sizeof(rtt), json_is_number(t) ? "%.2f" : "-",
		    json_number_value(t));
		printf("%-4s %-32s %-22s %-7s %9s %8s %6lld", rank,
		    id && id[0] ? id : "-",
		    json_string_value(json_object_get(p, "address")),
		    json_string_value(json_object_get(p, "state")), heard, rtt,
		    (long long)json_integer_value(json_object_get(p,
		    "failures")));
		if (tracker)
			printf(" %8s %8s", files, beat);
		printf(" %s\n", why && why[0] ? why : "-");
	}
}

static long long
num(json_t *s, const char *key)
{
	return ((long long)json_integer_value(json_object_get(s, key)));
}

/* replicas = N: what is held here, what lacks copies, the disk. */
static void
print_replicas(json_t *s)
{
	json_t *p;
	size_t i;

	if (num(s, "replicas") > 0)
		printf("replicas   %lld copies of each file; %lld held here\n",
		    num(s, "replicas"), num(s, "held_files"));
	else
		printf("replicas   all (every node holds every file)\n");
	printf("repair     %lld under-replicated (%.1f MiB to copy), %lld "
	    "unavailable\n", num(s, "under_replicated"),
	    (double)num(s, "repair_bytes") / 1048576.0, num(s, "unavailable"));
	json_array_foreach(json_object_get(s, "unavailable_paths"), i, p)
	    printf("           unavailable: /%s (no live copy)\n",
		   json_string_value(p) + (json_string_value(p)[0] == '/'));
	printf("disk       %.1f MiB free%s\n",
	    (double)num(s, "disk_free_bytes") / 1048576.0,
	    json_is_true(json_object_get(s, "disk_full")) ? ", FULL: new "
	    "copies go to other nodes" : "");
	if (json_is_true(json_object_get(s, "space_short")))
		printf("           short of space: missing %lld files, %lld MiB "
		    "needed (read from the peers meanwhile)\n",
		    num(s, "space_missing_files"),
		    (num(s, "space_missing_bytes") + 1048575) / 1048576);
}

static void print_scrub(json_t *);
static void print_versions(json_t *);

static void
print_status(json_t *s)
{
	json_t *m = json_object_get(s, "members");
	json_t *c = json_object_get(s, "consistency");
	json_t *y = json_object_get(s, "sync");

	printf("node       %s\n", json_string_value(json_object_get(s, "id")));
	printf("folder     %s\n", json_string_value(json_object_get(s,
	    "folder")));
	printf("ftp        %s\n", json_string_value(json_object_get(s, "ftp")));
	printf("peer       %s\n", json_string_value(json_object_get(s, "peer")));
	if (json_object_get(s, "tracker") != NULL)
		printf("tracker    %s (%s)\n", json_string_value(
		    json_object_get(json_object_get(s, "tracker"), "address")),
		    json_is_true(json_object_get(json_object_get(s, "tracker"),
		    "registered")) ? "registered" : "unreachable");
	printf("members    %lld alive of %lld known\n",
	    (long long)json_integer_value(json_object_get(m, "alive")),
	    (long long)json_integer_value(json_object_get(m, "known")));
	printf("files      %lld\n", (long long)json_integer_value(
	    json_object_get(s, "files")));
	print_replicas(s);
	printf("consistent with %lld of %lld live peers (threshold %.2f)\n",
	    (long long)json_integer_value(json_object_get(c, "agree")),
	    (long long)json_integer_value(json_object_get(c, "peers")),
	    json_number_value(json_object_get(c, "threshold")));
	if (json_object_get(s, "scrub") != NULL)
		print_scrub(json_object_get(s, "scrub"));
	if (json_object_get(s, "versions") != NULL)
		print_versions(json_object_get(s, "versions"));
	printf("sync       %lld fetching, %lld queued, %lld files fetched, "
	    "%lld conflicts\n",
	    (long long)json_integer_value(json_object_get(y, "pulls_active")),
	    (long long)json_integer_value(json_object_get(y, "pulls_queued")),
	    (long long)json_integer_value(json_object_get(y,
	    "files_fetched")),
	    (long long)json_integer_value(json_object_get(y, "conflicts")));
}

/* One control request; what its answer means is printed by the caller. */
static int
ctl_request(struct client *c, const char *cmd, const char *method,
	    const char *path, const char *payload, json_t **out)
{
	struct response r;
	json_error_t e;
	json_t *j;
	int rc;

	*out = NULL;
	rc = client_request(c, method, path,
			    payload ? "Content-Type: "
				      "application/json\r\n"
				    : NULL,
			    payload, payload ? strlen(payload) : 0, -1, 0, -1,
			    &r);
	if (rc < 0 && r.status == 0) {
		response_release(&r);
		return (1);
	}
	if (r.status != 200) {
		client_err("%s: %s", cmd, response_error(&r));
		response_release(&r);
		return (1);
	}
	j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, &e);
	if (c->json)
		cli_print_body(&r);
	response_release(&r);
	*out = j ? j : json_object();
	return (0);
}

int
ctl_peers(struct client *c, const struct cli_args *a)
{
	json_t *j;

	if (ctl_request(c, a->cmd->name, "GET", "/v1/peers", NULL, &j) != 0)
		return (1);
	if (!c->json)
		print_peers(j);
	json_decref(j);
	return (0);
}

/* "catch-up 120 files, 35.0 MiB to go, 12.1 MiB/s, ETA 3 s" */
static void
print_wave(const char *what, json_t *g)
{
	json_t *eta = json_object_get(g, "eta_s");
	char left[STR_BYTES_MAX], rate[STR_BYTES_MAX];

	if (!json_is_object(g)) {
		printf("%s idle", what);
		return;
	}
	if (json_is_true(json_object_get(g, "join")))
		what = "join";
	str_bytes((uint64_t)num(g, "bytes_to_go"), left);
	str_bytes((uint64_t)json_number_value(json_object_get(g,
	    "rate_bytes_s")), rate);
	printf("%s %lld files, %s to go, %s/s, ETA ", what,
	    num(g, "files_to_go"), left, rate);
	if (json_is_number(eta))
		printf("%.0f s", json_number_value(eta));
	else
		printf("-");
}

static void
print_progress(json_t *s)
{
	json_t *p = json_object_get(s, "progress");
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	printf("%02d:%02d:%02d  ", tm.tm_hour, tm.tm_min, tm.tm_sec);
	print_wave("catch-up", json_object_get(p, "catch_up"));
	printf("; ");
	print_wave("repair", json_object_get(p, "repair"));
	putchar('\n');
}

int
ctl_status(struct client *c, const struct cli_args *a)
{
	json_t *j;

	if (!(a->opts & CLI_OPT_WATCH)) {
		if (ctl_request(c, a->cmd->name, "GET", "/v1/status", NULL,
		    &j) != 0)
			return (1);
		if (!c->json)
			print_status(j);
		json_decref(j);
		return (0);
	}
	/* Once a second until interrupted, or until the node is gone;
	 * --json: one object per line. */
	for (;;) {
		if (ctl_request(c, a->cmd->name, "GET", "/v1/status", NULL,
		    &j) != 0)
			return (1);
		if (!c->json)
			print_progress(j);
		json_decref(j);
		if (fflush(stdout) != 0)
			return (1);
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
	}
}

#define ADD_WAIT_MS	3000

/*
 * After POST /v1/peers: what the node's dial met, asked every 100 ms for
 * up to ADD_WAIT_MS.  0 with *why NULL (linked: id filled) or *why set
 * (the failure to report); -1 when the node did not answer.
 */
static int
add_wait(struct client *c, const char *cmd, const char *addr, char *id,
    size_t idlen, const char **why)
{
	static char msg[300];
	struct timespec t0, t1;
	json_t *j, *p;
	size_t i;

	*why = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		const char *dial = NULL;

		if (ctl_request(c, cmd, "GET", "/v1/peers", NULL, &j) != 0)
			return (-1);
		json_array_foreach(j, i, p) {
			const char *ad = json_string_value(json_object_get(p,
			    "address"));
			const char *st = json_string_value(json_object_get(p,
			    "state"));

			if (ad == NULL || strcmp(ad, addr) != 0)
				continue;
			if (st != NULL && strcmp(st, "alive") == 0) {
				snprintf(id, idlen, "%s", json_string_value(
				    json_object_get(p, "id")));
				json_decref(j);
				return (0);
			}
			dial = json_string_value(json_object_get(p, "dial"));
		}
		if (dial != NULL && strcmp(dial, "refused") == 0)
			*why = "TLS refused (wrong cluster key?)";
		else if (dial != NULL && strcmp(dial, "nothing listening") ==
		    0) {
			snprintf(msg, sizeof(msg), "nothing listening at %s",
			    addr);
			*why = msg;
		}
		json_decref(j);
		if (*why != NULL)
			return (0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec -
		    t0.tv_nsec) / 1000000 >= ADD_WAIT_MS) {
			snprintf(msg, sizeof(msg), "no answer from %s within "
			    "%d s (the node keeps trying)", addr,
			    ADD_WAIT_MS / 1000);
			*why = msg;
			return (0);
		}
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
}

int
ctl_add(struct client *c, const struct cli_args *a)
{
	const char *why;
	char *payload, id[64];
	bool json;
	json_t *j;
	int rc;

	j = json_pack("{s:s}", "address", a->pos[0]);
	payload = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (payload == NULL)
		return (1);
	json = c->json;
	c->json = false;	/* the answers below are not the output */
	rc = ctl_request(c, a->cmd->name, "POST", "/v1/peers", payload, &j);
	free(payload);
	if (rc != 0) {
		c->json = json;
		return (1);
	}
	json_decref(j);
	rc = add_wait(c, a->cmd->name, a->pos[0], id, sizeof(id), &why);
	c->json = json;
	if (rc < 0)
		return (1);
	if (why != NULL)
		return (cli_fail(a->cmd->name, a->pos[0], why));
	if (c->json) {
		j = json_pack("{s:s, s:s, s:s}", "address", a->pos[0],
		    "result", "linked", "id", id);
		cli_print_json(j);
		json_decref(j);
	} else
		printf("linked to %s\n", id);
	return (0);
}

int
ctl_bye(struct client *c, const struct cli_args *a)
{
	json_t *j;

	if (ctl_request(c, a->cmd->name, "POST", "/v1/bye", NULL, &j) != 0)
		return (1);
	if (!c->json)
		printf("the node is leaving the cluster\n");
	json_decref(j);
	return (0);
}

static void
print_scrub(json_t *c)
{
	printf("scrub      pass %lld%s: %lld files, %.1f MiB; rot found %lld, "
	    "repaired %lld\n", num(c, "pass"),
	    json_is_true(json_object_get(c, "running")) ? " running" : "",
	    num(c, "pass_files"), (double)num(c, "pass_bytes") / 1048576.0,
	    num(c, "rot_found"), num(c, "rot_repaired"));
}

static void
print_versions(json_t *v)
{
	const char *oldest = json_string_value(json_object_get(v, "oldest"));

	printf("versions   %lld (%.1f MiB), trash %lld (%.1f MiB), oldest %s; "
	    "%lld pruned (%lld for space)\n", num(v, "count"),
	    (double)num(v, "bytes") / 1048576.0, num(v, "trash_count"),
	    (double)num(v, "trash_bytes") / 1048576.0, oldest ? oldest : "-",
	    num(v, "prunes"), num(v, "pressure_prunes"));
}

/* Waits until pass is done; 0, or 1 if the node stopped answering. */
static int
scrub_wait(struct client *c, const char *cmd, long long pass, json_t **out)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	bool json = c->json;
	json_t *s;

	*out = NULL;
	c->json = false;	/* the last answer only */
	for (;;) {
		if (ctl_request(c, cmd, "GET", "/v1/status", NULL, &s) != 0) {
			c->json = json;
			return (1);
		}
		if (num(json_object_get(s, "scrub"), "passes_done") >= pass)
			break;
		json_decref(s);
		nanosleep(&ts, NULL);
	}
	c->json = json;
	*out = s;
	return (0);
}

int
ctl_scrub(struct client *c, const struct cli_args *a)
{
	bool wait = (a->opts & CLI_OPT_WAIT) != 0, json = c->json;
	long long pass;
	json_t *j, *s;
	int rc;

	if (wait)
		c->json = false;
	rc = ctl_request(c, a->cmd->name, "POST", "/v1/scrub", NULL, &j);
	c->json = json;
	if (rc != 0)
		return (1);
	pass = num(j, "pass");
	json_decref(j);
	if (!wait) {
		if (!c->json)
			printf("scrub pass %lld started\n", pass);
		return (0);
	}
	if (scrub_wait(c, a->cmd->name, pass, &s) != 0)
		return (1);
	if (c->json) {
		json_dumpf(json_object_get(s, "scrub"), stdout, JSON_COMPACT);
		putchar('\n');
	} else
		print_scrub(json_object_get(s, "scrub"));
	json_decref(s);
	return (0);
}
