/*
 * shell: `shoal shell`, the mesh seed's command prompt over the API:
 *
 *   ADD ip:port   LIST   GET name   SEND name   BYE   CMDS
 *
 * plus every client command in lower case, as cmd.c's table has them.
 * Words are split as a shell would: quotes and backslashes keep blanks in
 * a name.  Anything else answers "Invalid command!" with the word it did
 * not understand; no input ends the shell but BYE, quit, exit and EOF.
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
#include "base/fspath.h"
#include "cli/client.h"
#include "cli/cmd.h"

#define ARGS_MAX	16

static const char *const seed_commands[] = {
    "ADD ip:port     add a member",
    "LIST            every file in the network",
    "GET name        fetch a file into the current folder",
    "SEND name       offer a file to every node",
    "BYE             this node leaves the cluster; the shell ends",
    "CMDS            this list",
    "quit | exit     leave the shell",
};

/* Collects every file under path into files, walking folders. */
static int
collect(const struct client_opts *o, const char *path, json_t *files, int depth)
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
	if (buf_puts(&p, "/v1/list/") < 0 ||
	    url_path(&p, path[0] == '/' ? path + 1 : path) < 0) {
		buf_release(&p);
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
	json_array_foreach(json_object_get(j, "entries"), i, x)
	{
		const char *name = json_string_value(json_object_get(x, "name"));
		const char *type =
		    json_string_value(json_object_get(x, "type"));
		char child[FS_PATH_MAX];

		/* A symlink is listed, not copied: its target is. */
		if (name == NULL || type == NULL ||
		    strcmp(type, "link") == 0 ||
		    str_fmt(child, sizeof(child), "%s/%s", path, name) < 0)
			continue;
		if (strcmp(type, "dir") == 0) {
			if ((rc = collect(o, child, files, depth + 1)) != 0)
				break;
			continue;
		}
		json_array_append_new(
		    files,
		    json_pack(
			"{s:s, s:I, s:s, s:I}", "path", child, "size",
			json_integer_value(json_object_get(x, "size")), "hash",
			json_string_value(json_object_get(x, "hash"))
			    ? json_string_value(json_object_get(x, "hash"))
			    : "",
			"holders",
			(json_int_t)json_array_size(
			    json_object_get(x, "holders"))));
	}
	json_decref(j);
	return (rc);
}

static int
by_path(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;

	return (strcmp(json_string_value(json_object_get(*x, "path")),
		       json_string_value(json_object_get(*y, "path"))));
}

/* LIST: the whole namespace, sorted by path, in aligned columns. */
static int
list_tree(const struct client_opts *o)
{
	json_t *files = json_array(), **v;
	size_t n, i, w = 4;
	int rc;

	if ((rc = collect(o, "", files, 0)) == 0 &&
	    (n = json_array_size(files)) > 0) {
		if ((v = calloc(n, sizeof(*v))) == NULL) {
			json_decref(files);
			return (1);
		}
		for (i = 0; i < n; i++) {
			v[i] = json_array_get(files, i);
			if (cli_width(json_string_value(
				json_object_get(v[i], "path"))) > w)
				w = cli_width(json_string_value(
				    json_object_get(v[i], "path")));
		}
		qsort(v, n, sizeof(*v), by_path);
		for (i = 0; i < n; i++) {
			cli_pad(
			    json_string_value(json_object_get(v[i], "path")),
			    w);
			printf(" %12lld  %.16s  %lld holder(s)\n",
			       (long long)json_integer_value(
				   json_object_get(v[i], "size")),
			       json_string_value(json_object_get(v[i], "hash")),
			       (long long)json_integer_value(
				   json_object_get(v[i], "holders")));
		}
		free(v);
	}
	json_decref(files);
	return (rc);
}

static void
print_cmds(void)
{
	const struct cli_cmd *t;
	char line[256];
	size_t i, w = 0;

	for (i = 0; i < sizeof(seed_commands) / sizeof(*seed_commands); i++)
		printf("  %s\n", seed_commands[i]);
	printf("  and in lower case, as on the command line (NAME --help "
	       "says more):\n");
	for (t = cli_cmd_table(); t->name; t++) {
		(void)snprintf(line, sizeof(line), "%s %s", t->name, t->args);
		if (t->run != NULL && cli_width(line) > w)
			w = cli_width(line);
	}
	for (t = cli_cmd_table(); t->name; t++)
		if (t->run != NULL) {
			(void)snprintf(line, sizeof(line), "%s %s", t->name,
				       t->args);
			printf("    ");
			cli_pad(line, w + 2);
			printf("%s\n", t->what);
		}
}

static void
invalid(const char *what, const char *why)
{
	printf("Invalid command! %s%s%s; CMDS lists the commands\n",
	       what ? "'" : "", what ? what : why, what ? "' is not one" : "");
}

static void
run(const struct client_opts *o, int argc, char **argv, bool *quit)
{
	const struct cli_cmd *t;
	char *v[ARGS_MAX + 1];
	bool bye = false;
	int i;

	if (strcasecmp(argv[0], "quit") == 0 ||
	    strcasecmp(argv[0], "exit") == 0) {
		*quit = true;
		return;
	}
	if (strcmp(argv[0], "CMDS") == 0 || strcmp(argv[0], "help") == 0) {
		print_cmds();
		return;
	}
	if (strcmp(argv[0], "LIST") == 0 && argc == 1) {
		list_tree(o);
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
	else if (strcmp(argv[0], "BYE") == 0 && argc == 1)
		v[0] = "bye";
	else if ((t = cli_cmd_find(argv[0])) == NULL || t->run == NULL) {
		invalid(argv[0], NULL);
		return;
	}
	bye = strcmp(v[0], "bye") == 0 && argc == 1;
	fflush(stdout);
	if (cli_remote(o, argc, v) == 0 && bye)
		*quit = true;
	fflush(stdout);
}

int
cli_shell(const struct client_opts *given)
{
	char hist[FS_PATH_MAX] = "", *line, *argv[ARGS_MAX], pw[300];
	struct client_opts opts = *given, *o = &opts;
	const char *home = getenv("HOME");
	bool tty = isatty(STDIN_FILENO), quit = false;
	const char *why = NULL;
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
		argc = cli_split(line, argv, ARGS_MAX, &why);
		if (argc < 0)
			invalid(NULL, why);
		else if (argc > 0)
			run(o, argc, argv, &quit);
		free(line);
		fflush(stdout);
	}
	if (tty && hist[0])
		write_history(hist);
	return (0);
}
