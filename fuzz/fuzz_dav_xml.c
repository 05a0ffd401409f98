/*
 * fuzz_dav_xml: feeds arbitrary bytes to the WebDAV request-body parser.
 * The first byte picks the body (PROPFIND, PROPPATCH, LOCK); the rest is
 * parsed as it.
 *
 * Checked: the answer is 0, -EINVAL, -E2BIG or -ENOMEM, and a failure
 * leaves nothing allocated; a result keeps its caps (DAV_PROPS_MAX
 * properties, names and values within theirs); and every value and owner
 * kept is well-formed XML (it goes back out inside PROPFIND and LOCK
 * answers as is): expat reads it inside an element without an error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "front/dav/dav_int.h"

#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #e);                       \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
well_formed(const char *frag)
{
	static const char open[] = "<r>", close[] = "</r>";
	XML_Parser p = XML_ParserCreateNS(NULL, '\x01');
	size_t n = strlen(frag);
	char *doc = malloc(sizeof(open) + n + sizeof(close));

	CHECK(p != NULL && doc != NULL);
	memcpy(doc, open, sizeof(open) - 1);
	memcpy(doc + sizeof(open) - 1, frag, n);
	memcpy(doc + sizeof(open) - 1 + n, close, sizeof(close));
	CHECK(XML_Parse(p, doc, (int)strlen(doc), XML_TRUE) == XML_STATUS_OK);
	XML_ParserFree(p);
	free(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dav_xml x;
	enum dav_xml_kind kind;
	unsigned i;
	int rc;

	if (size < 1)
		return (0);
	kind = (enum dav_xml_kind)(data[0] % 3);
	rc = dav_xml_parse(kind, data + 1, size - 1, &x);
	if (rc != 0) {
		CHECK(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
		CHECK(x.props == NULL && x.nprops == 0);
		return (0);
	}
	CHECK(x.nprops <= DAV_PROPS_MAX);
	for (i = 0; i < x.nprops; i++) {
		CHECK(strlen(x.props[i].name) < DAV_NAME_MAX);
		CHECK(strlen(x.props[i].ns) < DAV_NAME_MAX);
		if (x.props[i].value != NULL) {
			CHECK(strlen(x.props[i].value) <= DAV_VALUE_MAX);
			well_formed(x.props[i].value);
		}
	}
	CHECK(strlen(x.owner) < DAV_OWNER_MAX);
	well_formed(x.owner);
	dav_xml_release(&x);
	return (0);
}
