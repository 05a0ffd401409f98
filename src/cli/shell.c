/*
 * shell: `shoal shell`, the mesh seed's command prompt over the API:
 *
 *   ADD ip:port   LIST   GET name   SEND name   BYE   CMDS
 *
 * plus every client command in lower case (ls, get, put, rm, mv, mkdir,
 * send, status, peers, add, lock, unlock, bye).  Anything else answers
 * "Invalid command!"; no input ends the shell but BYE, quit, exit and EOF.
 * Line editing and history come from libedit (~/.shoal_history).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <editline/readline.h>
#include <jansson.h>

#include "base/buf.h"
#include "cli/client.h"

#define ARGS_MAX	16

static const char *const commands[] = {
	"ADD ip:port     add a member",
	"LIST            every file in the network",
	"GET name        fetch a file into the current folder",
	"SEND name       offer a file to every node",
	"BYE             this node leaves the cluster; the shell ends",
	"CMDS            this list",
	"ls [PATH]   get REMOTE [-o LOCAL]   put LOCAL REMOTE   rm PATH",
	"mv FROM TO   mkdir PATH   status   peers   lock PATH   unlock PATH",
	"quit | exit    leave the shell",
};

/* Splits line in place on blanks; "double quotes" keep blanks. */
static int
split(char *line, char **argv)
{
	int argc = 0;
	char *p = line;

	while (*p && argc < ARGS_MAX) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p == '"') {
			argv[argc++] = ++p;
			while (*p && *p != '"')
				p++;
		} else {
			argv[argc++] = p;
			while (*p && *p != ' ' && *p != '\t')
				p++;
		}
		if (*p)
			*p++ = '\0';
	}
	return (*p ? -1 : argc);
}

/* LIST: the whole namespace, walking folders through the API. */
static int
list_tree(const struct client_opts *o, const char *path, int depth)
{
	struct client c;
	struct response r;
	struct buf p;
	json_error_t e;
	json_t *j, *x;
	size_t i;
	int rc;

	if (depth > 64 || client_init(&c, o) < 0)
		return (1);
	buf_init(&p, 16384);
	if (buf_puts(&p, "/v1/list/") < 0 || url_path(&p, path) < 0) {
		client_release(&c);
		return (1);
	}
	rc = client_request(&c, "GET", p.data, NULL, NULL, 0, -1, 0, -1, &r);
	buf_release(&p);
	client_release(&c);
	if (rc < 0 || r.status != 200) {
		printf("LIST failed: %s\n", response_error(&r));
		response_release(&r);
		return (1);
	}
	j = json_loadb(r.body.data, r.body.len, 0, &e);
	response_release(&r);
	json_array_foreach(json_object_get(j, "entries"), i, x) {
		char child[4200];
		const char *name = json_string_value(json_object_get(x, "name"));
		json_t *h = json_object_get(x, "holders");

		if (str_fmt(child, sizeof(child), "%s%s%s", path,
		    path[0] ? "/" : "", name) < 0)
			continue;
		if (strcmp(json_string_value(json_object_get(x, "type")),
		    "dir") == 0) {
			list_tree(o, child, depth + 1);
			continue;
		}
		printf("%-40s %12lld  %.16s  %zu holder(s)\n", child,
		    (long long)json_integer_value(json_object_get(x, "size")),
		    json_string_value(json_object_get(x, "hash")),
		    json_array_size(h));
	}
	json_decref(j);
	return (0);
}

static void
run(const struct client_opts *o, int argc, char **argv, bool *quit)
{
	char *v[ARGS_MAX + 1];
	int i;

	if (strcasecmp(argv[0], "quit") == 0 ||
	    strcasecmp(argv[0], "exit") == 0) {
		*quit = true;
		return;
	}
	if (strcmp(argv[0], "CMDS") == 0 || strcmp(argv[0], "help") == 0) {
		for (i = 0; i < (int)(sizeof(commands) / sizeof(*commands));
		    i++)
			printf("  %s\n", commands[i]);
		return;
	}
	if (strcmp(argv[0], "LIST") == 0 && argc == 1) {
		list_tree(o, "", 0);
		return;
	}
	for (i = 0; i < argc; i++)
		v[i] = argv[i];
	v[argc] = NULL;
	/* The seed's commands, in its spelling. */
	if (strcmp(argv[0], "ADD") == 0 && argc == 2)
		v[0] = "add";
	else if (strcmp(argv[0], "GET") == 0 && argc == 2)
		v[0] = "get";
	else if (strcmp(argv[0], "SEND") == 0 && argc == 2)
		v[0] = "send";
	else if (strcmp(argv[0], "BYE") == 0 && argc == 1) {
		v[0] = "bye";
		*quit = true;
	} else if (!(strcmp(argv[0], "ls") == 0 || strcmp(argv[0], "get") ==
	    0 || strcmp(argv[0], "put") == 0 || strcmp(argv[0], "rm") == 0 ||
	    strcmp(argv[0], "mv") == 0 || strcmp(argv[0], "mkdir") == 0 ||
	    strcmp(argv[0], "send") == 0 || strcmp(argv[0], "status") == 0 ||
	    strcmp(argv[0], "peers") == 0 || strcmp(argv[0], "add") == 0 ||
	    strcmp(argv[0], "lock") == 0 || strcmp(argv[0], "unlock") == 0 ||
	    strcmp(argv[0], "bye") == 0)) {
		printf("Invalid command!\n");
		return;
	}
	if (strcmp(v[0], "bye") == 0)
		*quit = true;
	(void)cli_remote(o, argc, v);
	fflush(stdout);
}

int
cli_shell(const struct client_opts *given)
{
	char hist[4200] = "", *line, *argv[ARGS_MAX], pw[300];
	struct client_opts opts = *given, *o = &opts;
	const char *home = getenv("HOME");
	bool tty = isatty(STDIN_FILENO), quit = false;
	char in[4096];
	int argc;

	if (home)
		(void)str_fmt(hist, sizeof(hist), "%s/.shoal_history", home);
	/* One password for the whole shell, not one per command. */
	if (o->node && getenv("SHOAL_PASSWORD") == NULL) {
		if (client_prompt_password(pw, sizeof(pw)) < 0) {
			fprintf(stderr, "shoal: no password: set "
			    "SHOAL_PASSWORD or run on a terminal\n");
			return (1);
		}
		o->password = pw;
	}
	if (tty) {
		using_history();
		if (hist[0])
			read_history(hist);
		printf("shoal shell: CMDS lists the commands\n");
	}
	while (!quit) {
		if (tty) {
			if ((line = readline("shoal> ")) == NULL)
				break;
		} else {
			if (fgets(in, sizeof(in), stdin) == NULL)
				break;
			in[strcspn(in, "\r\n")] = '\0';
			line = strdup(in);
			if (line == NULL)
				break;
		}
		if (tty && line[0])
			add_history(line);
		argc = split(line, argv);
		if (argc < 0)
			printf("Invalid command!\n");
		else if (argc > 0)
			run(o, argc, argv, &quit);
		free(line);
		fflush(stdout);
	}
	if (tty && hist[0])
		write_history(hist);
	return (0);
}
