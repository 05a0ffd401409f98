/*
 * Tests for the If header (front/dav/dav_if.c) as table tests: each row
 * a header, the request path and its ETag, the tokens of the live locks
 * and whether the header holds (or is malformed).  The rows include what
 * litmus sends and what RFC 4918 10.4 shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front/dav/dav_int.h"

#define TOK  "opaquelocktoken:1b4e28ba-2fa1-11d2-883f-0016d3cca427"
#define TOK2 "opaquelocktoken:00000000-0000-4000-8000-000000000000"
#define ETAG "0123456789abcdef0123456789abcdef"

/* The one lock: TOK on "a/lockme", and TOK2 on "coll" (depth infinity). */
static bool
holds(void *arg, const char *res, const char *token)
{
	(void)arg;
	if (strcmp(token, TOK) == 0)
		return (strcmp(res, "a/lockme") == 0);
	if (strcmp(token, TOK2) == 0)
		return (strcmp(res, "coll") == 0 ||
			strncmp(res, "coll/", 5) == 0);
	return (false);
}

enum want { NO, YES, BAD };

static const struct row {
	const char *hdr, *path, *etag;
	enum want want;
} rows[] = {
    {"(<" TOK ">)", "a/lockme", ETAG, YES},
    {"(<" TOK ">)", "a/other", ETAG, NO},
    {"(<" TOK "x>)", "a/lockme", ETAG, NO},
    {"(<" TOK "> [\"" ETAG "\"])", "a/lockme", ETAG, YES},
    {"(<" TOK "> [" ETAG "])", "a/lockme", ETAG, YES},
    {"(<" TOK "> [W/\"" ETAG "\"])", "a/lockme", ETAG, YES},
    {"(<" TOK "> [\"ffff\"])", "a/lockme", ETAG, NO},
    {"(<DAV:no-lock>)", "a/lockme", ETAG, NO},
    {"(Not <DAV:no-lock>)", "a/lockme", ETAG, YES},
    {"(<" TOK "x>) (Not <DAV:no-lock>)", "a/lockme", ETAG, YES},
    {"(<" TOK "> [\"" ETAG "\"]) (Not <DAV:no-lock> [\"" ETAG "\"])",
     "a/lockme", ETAG, YES},
    {"(<" TOK "> [\"" ETAG "x\"]) (Not <DAV:no-lock> [\"" ETAG "x\"])",
     "a/lockme", ETAG, NO},
    {"([\"" ETAG "\"])", "a/new", "", NO},
    {"(Not [\"" ETAG "\"])", "a/new", "", YES},
    /* tagged lists name their resource */
    {"<http://h:1/a/lockme> (<" TOK ">)", "a/lockme", ETAG, YES},
    {"<http://h:1/coll/> (<" TOK2 ">)", "coll/x", "", YES},
    {"</coll/sub> (<" TOK2 ">)", "coll/sub", "", YES},
    {"<http://h:1/elsewhere> (<" TOK ">)", "a/lockme", ETAG, NO},
    /* not If headers */
    {"", "a", "", BAD},
    {"()", "a", "", BAD},
    {"(<" TOK ">", "a", "", BAD},
    {"(<" TOK "> [\"" ETAG "\")", "a", "", BAD},
    {"garbage", "a", "", BAD},
    {"<http://h/../../etc> (<" TOK ">)", "a", "", BAD},
    {"(<>)", "a", "", BAD},
};

static void
test_table(void **state)
{
	struct dav_if *h = calloc(1, sizeof(*h));
	size_t i;

	(void)state;
	assert_non_null(h);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		int rc = dav_if_parse(r->hdr, strlen(r->hdr), h);

		if (r->want == BAD) {
			if (rc == 0)
				fail_msg("row %zu: %s parsed", i, r->hdr);
			continue;
		}
		if (rc != 0)
			fail_msg("row %zu: %s refused", i, r->hdr);
		if (dav_if_eval(h, r->path, r->etag, holds, NULL) !=
		    (r->want == YES))
			fail_msg("row %zu: %s on %s: wrong answer", i, r->hdr,
				 r->path);
	}
	free(h);
}

/* Caps: lists and conditions beyond them are refused, not cut. */
static void
test_caps(void **state)
{
	struct dav_if *h = calloc(1, sizeof(*h));
	char hdr[4096] = "";
	unsigned i;

	(void)state;
	assert_non_null(h);
	for (i = 0; i <= DAV_IF_LISTS_MAX; i++)
		strcat(hdr, "(<DAV:no-lock>)");
	assert_int_equal(dav_if_parse(hdr, strlen(hdr), h), -EINVAL);
	strcpy(hdr, "(");
	for (i = 0; i <= DAV_IF_CONDS_MAX; i++)
		strcat(hdr, "<DAV:no-lock>");
	strcat(hdr, ")");
	assert_int_equal(dav_if_parse(hdr, strlen(hdr), h), -EINVAL);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_caps),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
