/*
 * Tests for the WebDAV request bodies (front/dav/dav_xml.c): the three
 * kinds read with their namespaces, values kept as well-formed XML, and
 * every cap and the refusal of DTDs and entities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include <cmocka.h>

#include "front/dav/dav_int.h"

static int
parse(enum dav_xml_kind k, const char *s, struct dav_xml *x)
{
	return (dav_xml_parse(k, s, strlen(s), x));
}

static void
test_propfind(void **state)
{
	struct dav_xml x;

	(void)state;
	assert_int_equal(parse(DAV_XML_PROPFIND, "", &x), 0);
	assert_int_equal(x.find, DAV_FIND_ALLPROP);
	assert_int_equal(
	    parse(DAV_XML_PROPFIND,
		  "<?xml version=\"1.0\"?><a:propfind xmlns:a=\"DAV:\">"
		  "<a:propname/></a:propfind>",
		  &x),
	    0);
	assert_int_equal(x.find, DAV_FIND_PROPNAME);
	assert_int_equal(
	    parse(DAV_XML_PROPFIND,
		  "<propfind xmlns=\"DAV:\"><prop><getetag/>"
		  "<x:color xmlns:x=\"urn:y\"/><plain xmlns=\"\"/></prop>"
		  "</propfind>",
		  &x),
	    0);
	assert_int_equal(x.find, DAV_FIND_PROP);
	assert_int_equal(x.nprops, 3);
	assert_string_equal(x.props[0].ns, "DAV:");
	assert_string_equal(x.props[0].name, "getetag");
	assert_string_equal(x.props[1].ns, "urn:y");
	assert_string_equal(x.props[1].name, "color");
	assert_string_equal(x.props[2].ns, "");
	assert_string_equal(x.props[2].name, "plain");
	dav_xml_release(&x);
	/* Another root, or a prop with nothing in it. */
	assert_int_equal(parse(DAV_XML_PROPFIND, "<x xmlns=\"DAV:\"/>", &x),
			 -EINVAL);
	assert_int_equal(parse(DAV_XML_PROPFIND,
			       "<propfind xmlns=\"DAV:\"><prop/></propfind>",
			       &x),
			 -EINVAL);
	assert_int_equal(parse(DAV_XML_PROPFIND, "<propfind", &x), -EINVAL);
}

static void
test_proppatch_values(void **state)
{
	struct dav_xml x;

	(void)state;
	assert_int_equal(
	    parse(DAV_XML_PROPPATCH,
		  "<D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:z\">"
		  "<D:set><D:prop><Z:a>1 &lt; 2</Z:a>"
		  "<Z:b><q:c xmlns:q=\"urn:q\">in</q:c></Z:b></D:prop></D:set>"
		  "<D:remove><D:prop><Z:d/></D:prop></D:remove>"
		  "</D:propertyupdate>",
		  &x),
	    0);
	assert_int_equal(x.nprops, 3);
	assert_string_equal(x.props[0].value, "1 &lt; 2");
	assert_false(x.props[0].remove);
	assert_string_equal(x.props[1].value,
			    "<V:c xmlns:V=\"urn:q\">in</V:c>");
	assert_string_equal(x.props[2].name, "d");
	assert_true(x.props[2].remove);
	assert_null(x.props[2].value);
	dav_xml_release(&x);
}

static void
test_lockinfo(void **state)
{
	struct dav_xml x;

	(void)state;
	assert_int_equal(
	    parse(DAV_XML_LOCKINFO,
		  "<lockinfo xmlns=\"DAV:\"><lockscope><shared/></lockscope>"
		  "<locktype><write/></locktype><owner><href>mailto:a@b"
		  "</href></owner></lockinfo>",
		  &x),
	    0);
	assert_true(x.shared);
	assert_true(x.write);
	assert_string_equal(x.owner,
			    "<V:href xmlns:V=\"DAV:\">mailto:a@b</V:href>");
	dav_xml_release(&x);
}

/* SECURITY: no DTD, so no entity bomb and no external file. */
static void
test_entities_refused(void **state)
{
	struct dav_xml x;

	(void)state;
	assert_int_equal(
	    parse(DAV_XML_PROPFIND,
		  "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY a \"aaaa\">"
		  "<!ENTITY b \"&a;&a;&a;&a;\">]><propfind xmlns=\"DAV:\">"
		  "<prop><x>&b;</x></prop></propfind>",
		  &x),
	    -EINVAL);
	assert_int_equal(parse(DAV_XML_PROPPATCH,
			       "<!DOCTYPE p SYSTEM \"file:///etc/passwd\">"
			       "<propertyupdate xmlns=\"DAV:\"/>",
			       &x),
			 -EINVAL);
}

static void
test_caps(void **state)
{
	struct dav_xml x;
	char *s = malloc(64 * DAV_PROPS_MAX + 256), *p;
	unsigned i;

	(void)state;
	assert_non_null(s);
	/* Nesting */
	p = s;
	p += sprintf(p, "<propfind xmlns=\"DAV:\">");
	for (i = 0; i < DAV_XML_DEPTH + 2; i++)
		p += sprintf(p, "<a>");
	assert_int_equal(parse(DAV_XML_PROPFIND, s, &x), -E2BIG);
	/* Properties */
	p = s;
	p += sprintf(p, "<propfind xmlns=\"DAV:\"><prop>");
	for (i = 0; i <= DAV_PROPS_MAX; i++)
		p += sprintf(p, "<p%u/>", i);
	sprintf(p, "</prop></propfind>");
	assert_int_equal(parse(DAV_XML_PROPFIND, s, &x), -E2BIG);
	free(s);
	/* A value */
	s = malloc(DAV_VALUE_MAX + 256);
	assert_non_null(s);
	p = s + sprintf(s, "<propertyupdate xmlns=\"DAV:\"><set><prop><v>");
	memset(p, 'x', DAV_VALUE_MAX + 1);
	sprintf(p + DAV_VALUE_MAX + 1, "</v></prop></set></propertyupdate>");
	assert_int_equal(parse(DAV_XML_PROPPATCH, s, &x), -E2BIG);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_propfind),
	    cmocka_unit_test(test_proppatch_values),
	    cmocka_unit_test(test_lockinfo),
	    cmocka_unit_test(test_entities_refused),
	    cmocka_unit_test(test_caps),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
