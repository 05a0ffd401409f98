/*
 * cmd: one table of the commands that go through a node's HTTP API, one
 * option parser, and the output helpers they share.
 *
 * Every command gets the same treatment from cli_parse: -h/--help anywhere
 * before "--" prints the usage and nothing runs; an option the command
 * does not take, a missing value, a missing or an extra argument is a
 * usage error (exit 2) that names the culprit and prints the usage line.
 * "-" alone is an argument (standard input or output), and "--" ends the
 * options, so a path may start with '-'.
 */
#include "cli/cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "cli/client.h"

/* bit i: positional i is a remote path */
#define R0  1u
#define R1  2u
#define R01 3u

static const struct cli_cmd cmds[] = {
    {"put", "[-r] LOCAL|- REMOTE",
     "upload a file (REMOTE ending in / "
     "is a folder), a tree (-r) or standard input (-)",
     CLI_OPT_R, 2, 2, R1, files_put},
    {"get", "[-r] REMOTE [-o LOCAL|-] | get -r REMOTE DIR",
     "download, "
     "through the local cache; -o - writes to standard output",
     CLI_OPT_R | CLI_OPT_O, 1, 2, R0, files_get},
    {"ls", "[--all] [PATH]",
     "a folder, or one file; --all: every file "
     "in the network and its holders",
     CLI_OPT_ALL, 0, 1, R0, files_ls},
    {"rm", "PATH", "delete a file or an empty folder", 0, 1, 1, R0, files_rm},
    {"mv", "FROM TO", "rename a file or a folder", 0, 2, 2, R01, files_mv},
    {"mkdir", "[-p] PATH",
     "make a folder (-p: and its parents, and no "
     "error if it exists)",
     CLI_OPT_P, 1, 1, R0, files_mkdir},
    {"send", "PATH", "offer a file to every node", 0, 1, 1, R0, files_send},
    {"lock", "PATH [--ttl SECONDS]",
     "cluster-wide write lock "
     "(tracker)",
     CLI_OPT_TTL, 1, 1, R0, files_lock},
    {"unlock", "PATH", "release a lock", 0, 1, 1, R0, files_unlock},
    {"pin", "PATH", "keep a copy here whatever the placement", 0, 1, 1, R0,
     files_pin},
    {"unpin", "PATH", "undo pin", 0, 1, 1, R0, files_unpin},
    {"pins", "", "the pinned paths", 0, 0, 0, 0, files_pins},
    {"versions", "PATH",
     "the old versions the nodes keep of a file: id, time, size, "
     "sha256, the node that wrote it",
     0, 1, 1, R0, vers_list},
    {"trash", "[PATH]",
     "deleted files (under PATH) the nodes keep: when, which node "
     "deleted them, which nodes keep them",
     0, 0, 1, R0, vers_trash},
    {"restore", "PATH [--version ID [-o FILE]] [--before TIME] [--dry-run]",
     "a version becomes the current content (-o: only fetch it); no "
     "option: a deleted file or folder comes back from the trash; "
     "--before TIME (2026-12-03T14:00:00Z): everything under PATH as it "
     "was then, newer files to the trash; --dry-run: say what would "
     "change",
     CLI_OPT_VERSION | CLI_OPT_BEFORE | CLI_OPT_DRY | CLI_OPT_O, 1, 1, R0,
     vers_restore_cmd},
    {"peers", "", "members, best first", 0, 0, 0, 0, ctl_peers},
    {"status", "[--watch]",
     "this node, its members and files; --watch: "
     "catch-up and repair progress every second until Ctrl-C",
     CLI_OPT_WATCH, 0, 0, 0, ctl_status},
    {"add", "HOST:PORT", "add a member (remembered)", 0, 1, 1, 0, ctl_add},
    {"bye", "", "leave the cluster and stop the node", 0, 0, 0, 0, ctl_bye},
    {"scrub", "[--wait]",
     "hash every file held here again now, to find rot "
     "(--wait: until done)",
     CLI_OPT_WAIT, 0, 0, 0, ctl_scrub},
    {"shell", "", "interactive: ADD LIST GET SEND BYE CMDS", 0, 0, 0, 0, NULL},
    {NULL, NULL, NULL, 0, 0, 0, 0, NULL},
};

const struct cli_cmd *
cli_cmd_table(void)
{
	return (cmds);
}

const struct cli_cmd *
cli_cmd_find(const char *name)
{
	const struct cli_cmd *c;

	for (c = cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return (c);
	return (NULL);
}

int
cli_is_remote(const char *name)
{
	return (cli_cmd_find(name) != NULL);
}

void
cli_usage(const struct cli_cmd *c, FILE *f)
{
	fprintf(f, "usage: shoal %s%s%s\n", c->name, c->args[0] ? " " : "",
		c->args);
}

static int __attribute__((format(printf, 3, 4)))
usage_error(const struct cli_cmd *c, bool json, const char *fmt, ...)
{
	char why[512], use[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	(void)snprintf(use, sizeof(use), "shoal %s%s%s", c->name,
		       c->args[0] ? " " : "", c->args);
	if (json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "error", why,
				      "command", c->name, "usage", use);

		json_dumpf(j, stderr, JSON_COMPACT);
		fputc('\n', stderr);
		json_decref(j);
	} else
		fprintf(stderr, "shoal: %s: %s\nusage: %s\n", c->name, why,
			use);
	return (2);
}

static bool
is(const char *a, const char *s, const char *l)
{
	return ((s && strcmp(a, s) == 0) || (l && strcmp(a, l) == 0));
}

/* The option argv[*i] if c takes it; 0, or 2 after a usage error. */
static int
take_option(const struct cli_cmd *c, int argc, char **argv, int *i,
	    struct cli_args *a, bool json)
{
	const char *o = argv[*i];
	uint64_t v;

	if ((c->opts & CLI_OPT_R) && is(o, "-r", "--recursive"))
		a->opts |= CLI_OPT_R;
	else if ((c->opts & CLI_OPT_P) && is(o, "-p", "--parents"))
		a->opts |= CLI_OPT_P;
	else if ((c->opts & CLI_OPT_ALL) && is(o, "-a", "--all"))
		a->opts |= CLI_OPT_ALL;
	else if ((c->opts & CLI_OPT_WATCH) && is(o, "-w", "--watch"))
		a->opts |= CLI_OPT_WATCH;
	else if ((c->opts & CLI_OPT_WAIT) && is(o, NULL, "--wait"))
		a->opts |= CLI_OPT_WAIT;
	else if ((c->opts & CLI_OPT_O) && is(o, "-o", "--output")) {
		if (*i + 1 >= argc)
			return (usage_error(c, json,
					    "%s needs a file (or - "
					    "for standard output)",
					    o));
		a->opts |= CLI_OPT_O;
		a->out = argv[++*i];
	} else if ((c->opts & CLI_OPT_VERSION) && is(o, NULL, "--version")) {
		if (*i + 1 >= argc)
			return (usage_error(c, json, "%s needs a version id",
					    o));
		a->opts |= CLI_OPT_VERSION;
		a->version = argv[++*i];
	} else if ((c->opts & CLI_OPT_BEFORE) && is(o, NULL, "--before")) {
		if (*i + 1 >= argc)
			return (usage_error(c, json,
					    "%s needs a time such as "
					    "2026-12-03T14:00:00Z",
					    o));
		a->opts |= CLI_OPT_BEFORE;
		a->before = argv[++*i];
	} else if ((c->opts & CLI_OPT_DRY) && is(o, "-n", "--dry-run"))
		a->opts |= CLI_OPT_DRY;
	else if ((c->opts & CLI_OPT_TTL) && is(o, "--ttl", NULL)) {
		if (*i + 1 >= argc ||
		    span_u64((struct span){argv[*i + 1], strlen(argv[*i + 1])},
			     86400, &v) < 0 ||
		    v < 1)
			return (usage_error(c, json,
					    "%s takes 1 to 86400 "
					    "seconds",
					    o));
		a->opts |= CLI_OPT_TTL;
		a->ttl = v;
		++*i;
	} else
		return (usage_error(c, json, "unknown option '%s'", o));
	return (0);
}

int
cli_parse(const struct cli_cmd *c, int argc, char **argv, struct cli_args *a,
	  bool *json)
{
	bool dashes = false;
	int i, rc;

	memset(a, 0, sizeof(*a));
	a->cmd = c;
	/* --help wins over everything else on the line. */
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (is(argv[i], "-h", "--help")) {
			cli_usage(c, stdout);
			printf("  %s\n", c->what);
			return (1);
		}
		if (is(argv[i], "--json", NULL))
			*json = true;
		/* a value, not an option */
		if ((c->opts & CLI_OPT_O) && is(argv[i], "-o", "--output"))
			i++;
		else if ((c->opts & CLI_OPT_TTL) && is(argv[i], "--ttl", NULL))
			i++;
		else if ((c->opts & CLI_OPT_VERSION) &&
			 is(argv[i], NULL, "--version"))
			i++;
		else if ((c->opts & CLI_OPT_BEFORE) &&
			 is(argv[i], NULL, "--before"))
			i++;
	}
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!dashes && strcmp(s, "--") == 0) {
			dashes = true;
			continue;
		}
		if (!dashes && s[0] == '-' && s[1] != '\0') {
			if (strcmp(s, "--json") == 0)
				continue;
			if ((rc = take_option(c, argc, argv, &i, a, *json)) !=
			    0)
				return (rc);
			continue;
		}
		if (a->npos >= c->max || a->npos >= CLI_POS_MAX)
			return (usage_error(c, *json,
					    "unexpected argument "
					    "'%s'",
					    s));
		a->pos[a->npos++] = s;
	}
	if (a->npos < c->min)
		return (usage_error(c, *json, "%s",
				    a->npos ? "missing an "
					      "argument"
					    : "missing arguments"));
	if ((a->opts & CLI_OPT_O) && (c->opts & CLI_OPT_VERSION) &&
	    !(a->opts & CLI_OPT_VERSION))
		return (usage_error(c, *json, "%s", "-o needs --version"));
	if ((a->opts & CLI_OPT_VERSION) && (a->opts & CLI_OPT_BEFORE))
		return (usage_error(c, *json, "%s",
				    "give --version or --before, not both"));
	if ((a->opts & CLI_OPT_DRY) && !(a->opts & CLI_OPT_BEFORE))
		return (usage_error(c, *json, "%s", "--dry-run needs --before"));
	if ((a->opts & CLI_OPT_O) && a->npos > 1)
		return (usage_error(c, *json, "%s",
				    "give -o LOCAL or LOCAL, "
				    "not both"));
	for (i = 0; i < a->npos; i++)
		if ((c->remote & (1u << i)) &&
		    (a->path[i] = cli_abs(a->pos[i])) == NULL) {
			cli_args_release(a);
			return (usage_error(c, *json, "%s", "out of memory"));
		}
	return (0);
}

void
cli_args_release(struct cli_args *a)
{
	int i;

	for (i = 0; i < CLI_POS_MAX; i++) {
		free(a->path[i]);
		a->path[i] = NULL;
	}
}

char *
cli_abs(const char *p)
{
	size_t n;
	char *s;

	while (*p == '/')
		p++;
	n = strlen(p);
	if ((s = malloc(n + 2)) == NULL)
		return (NULL);
	s[0] = '/';
	memcpy(s + 1, p, n + 1);
	return (s);
}

/* Keys whose string values are remote paths, and arrays of them. */
static bool
path_key(const char *k)
{
	static const char *const keys[] = {
	    "path", "moved", "created",		  "offered", "removed", "from",
	    "to",   "pins",  "unavailable_paths", "next",    "restored",
	    "trashed", "lost", NULL};
	int i;

	for (i = 0; keys[i]; i++)
		if (strcmp(k, keys[i]) == 0)
			return (true);
	return (false);
}

static void
abs_string(json_t *s)
{
	const char *v = json_string_value(s);
	char *a;

	if (v == NULL || v[0] == '/' || (a = cli_abs(v)) == NULL)
		return;
	json_string_set(s, a);
	free(a);
}

static void
abs_paths(json_t *j, int depth)
{
	const char *k;
	json_t *v, *e;
	size_t i;

	if (depth > 32)
		return;
	if (json_is_array(j))
		json_array_foreach(j, i, e) abs_paths(e, depth + 1);
	if (!json_is_object(j))
		return;
	json_object_foreach(j, k, v)
	{
		if (path_key(k) && json_is_string(v))
			abs_string(v);
		else if (path_key(k) && json_is_array(v))
			json_array_foreach(v, i, e) abs_string(e);
		else
			abs_paths(v, depth + 1);
	}
}

void
cli_print_json(json_t *j)
{
	abs_paths(j, 0);
	/*
	 * 15 significant digits: every double the node prints (rates, ages,
	 * thresholds) comes back as written, 0.7 and not 0.69999999999999996.
	 */
	json_dumpf(j, stdout,
		   JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
	putchar('\n');
}

void
cli_print_body(struct response *r)
{
	json_error_t e;
	json_t *j;

	j = r->body.len ? json_loadb(r->body.data, r->body.len, 0, &e) : NULL;
	if (j == NULL)
		j = json_object();
	cli_print_json(j);
	json_decref(j);
}

int
cli_fail(const char *cmd, const char *path, const char *why)
{
	if (client_json_errors()) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "error", why,
				      "command", cmd, "path", path);

		json_dumpf(j, stderr, JSON_COMPACT);
		fputc('\n', stderr);
		json_decref(j);
	} else
		fprintf(stderr, "shoal: %s %s: %s\n", cmd, path, why);
	return (1);
}

/*
 * The shell's words.  Blanks separate words; 'single' and
 * "double" quotes keep blanks, and a backslash takes the next character
 * as it is (outside single quotes).  Returns the count, or -1 with *why
 * set for an unterminated quote, a trailing backslash or too many words.
 * The words are written over the line, which only shrinks.
 */
int
cli_split(char *line, char **argv, int max, const char **why)
{
	char *r = line, *w = line;
	int argc = 0;

	for (;;) {
		char q = 0;

		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0')
			break;
		if (argc == max) {
			*why = "too many words";
			return (-1);
		}
		argv[argc++] = w;
		while (*r && (q || (*r != ' ' && *r != '\t'))) {
			if (q == 0 && (*r == '"' || *r == '\'')) {
				q = *r++;
				continue;
			}
			if (q && *r == q) {
				q = 0;
				r++;
				continue;
			}
			if (*r == '\\' && q != '\'') {
				if (r[1] == '\0') {
					*why = "a backslash ends the line";
					return (-1);
				}
				r++;
			}
			*w++ = *r++;
		}
		if (q) {
			*why = "a quote is not closed";
			return (-1);
		}
		/* r may sit on the blank after the word: step over it first,
		 * since w may be about to overwrite it. */
		if (*r)
			r++;
		*w++ = '\0';
	}
	return (argc);
}

/*
 * Terminal columns of one code point: 0 for combining marks, 2 for the
 * East Asian wide and fullwidth ranges and emoji, else 1.  A table rather
 * than wcwidth(), so that the answer does not depend on the locale.
 */
static int
cp_width(uint32_t c)
{
	static const uint32_t zero[][2] = {
	    {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd},
	    {0x0610, 0x061a}, {0x064b, 0x065f}, {0x0e31, 0x0e31},
	    {0x0e34, 0x0e3a}, {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff},
	    {0x200b, 0x200f}, {0x20d0, 0x20ff}, {0xfe00, 0xfe0f},
	    {0xfe20, 0xfe2f}};
	static const uint32_t wide[][2] = {
	    {0x1100, 0x115f},	{0x2e80, 0x303e},  {0x3041, 0x33ff},
	    {0x3400, 0x4dbf},	{0x4e00, 0x9fff},  {0xa000, 0xa4cf},
	    {0xac00, 0xd7a3},	{0xf900, 0xfaff},  {0xfe30, 0xfe4f},
	    {0xff00, 0xff60},	{0xffe0, 0xffe6},  {0x1f300, 0x1f64f},
	    {0x1f900, 0x1f9ff}, {0x20000, 0x3fffd}};
	size_t i;

	for (i = 0; i < sizeof(zero) / sizeof(*zero); i++)
		if (c >= zero[i][0] && c <= zero[i][1])
			return (0);
	for (i = 0; i < sizeof(wide) / sizeof(*wide); i++)
		if (c >= wide[i][0] && c <= wide[i][1])
			return (2);
	return (1);
}

size_t
cli_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (*p) {
		uint32_t c = *p;
		int n = 0, k;

		if (c >= 0xf0 && c < 0xf8)
			n = 3, c &= 0x07;
		else if (c >= 0xe0)
			n = 2, c &= 0x0f;
		else if (c >= 0xc0)
			n = 1, c &= 0x1f;
		else if (c >= 0x80) {
			/* a stray continuation byte shows as one column */
			p++;
			w++;
			continue;
		}
		p++;
		for (k = 0; k < n && (*p & 0xc0) == 0x80; k++)
			c = (c << 6) | (*p++ & 0x3f);
		w += k == n ? (size_t)cp_width(c) : 1;
	}
	return (w);
}

void
cli_pad(const char *s, size_t width)
{
	size_t w = cli_width(s);

	fputs(s, stdout);
	for (; w < width; w++)
		putchar(' ');
}

int
cli_remote(const struct client_opts *given, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_cmd_find(argv[0]);
	struct client_opts o = *given;
	struct cli_args a;
	struct client c;
	int rc;

	/*
	 * A node that closes an upload early answers why; a write to the
	 * closed socket must not kill the command before it reads that.
	 */
	signal(SIGPIPE, SIG_IGN);
	client_set_json_errors(o.json);
	if (cmd == NULL) {
		client_err("unknown command '%s'", argv[0]);
		return (2);
	}
	if ((rc = cli_parse(cmd, argc, argv, &a, &o.json)) != 0)
		return (rc == 1 ? 0 : rc);
	client_set_json_errors(o.json);
	if (cmd->run == NULL) {
		cli_args_release(&a);
		return (cli_shell(&o));
	}
	if (client_init(&c, &o) < 0) {
		cli_args_release(&a);
		return (1);
	}
	rc = cmd->run(&c, &a);
	client_release(&c);
	cli_args_release(&a);
	fflush(stdout);
	return (rc);
}
