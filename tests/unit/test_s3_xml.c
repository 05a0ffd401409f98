/*
 * Tests for s3_xml: the bodies of CompleteMultipartUpload, DeleteObjects
 * and CreateBucket, and the writer of answers.
 *
 * What a client would notice: the bodies aws-cli, boto3 and the SDKs send
 * (with the S3 namespace, indentation, escaped ETag quotes) give the parts
 * in the order sent and the keys exactly as written, fed whole, byte by
 * byte or split in two at any byte; a DOCTYPE, an entity declaration (the
 * "billion laughs"), an external entity or an undefined entity is refused
 * before anything is expanded; nesting past 8, text past 2 KiB, more than
 * 1,000 keys or 10,000 parts and a bad part number are MalformedXML, a
 * body past its cap EntityTooLarge; answers escape what XML needs and the
 * error document has S3's shape.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front/s3/s3_xml.h"

static const char complete[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/"
    "\">\n"
    "  <Part>\n    <ETag>&quot;a54357aff0632cce46d942af68356b38&quot;</ETag>"
    "\n    <PartNumber>2</PartNumber>\n"
    "    <ChecksumCRC32>AAAAAA==</ChecksumCRC32>\n  </Part>\n"
    "  <Part><PartNumber>1</PartNumber><ETag>\"0c78aef83f66abc1fa1e8477f296d3"
    "94\"</ETag></Part>\n"
    "  <Part><PartNumber> 10000 </PartNumber><ETag>x</ETag></Part>\n"
    "</CompleteMultipartUpload>\n";

static const char delete_body[] =
    "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Object><Key>a b/c&amp;d.txt</Key></Object>"
    "<Object><Key> lead and trail </Key><VersionId>v1</VersionId></Object>"
    "<Object><Key>&#x10D;&lt;&gt;</Key></Object>"
    "<Quiet>true</Quiet></Delete>";

static void
check_complete(const struct s3_xml_result *r)
{
	assert_int_equal(r->kind, S3_XML_COMPLETE);
	assert_int_equal(r->nparts, 3);
	assert_int_equal(r->parts[0].number, 2);
	assert_string_equal(r->parts[0].etag,
			    "\"a54357aff0632cce46d942af68356b38\"");
	assert_int_equal(r->parts[1].number, 1);
	assert_string_equal(r->parts[1].etag,
			    "\"0c78aef83f66abc1fa1e8477f296d394\"");
	assert_int_equal(r->parts[2].number, 10000);
	assert_string_equal(r->parts[2].etag, "x");
}

static void
check_delete(const struct s3_xml_result *r)
{
	assert_int_equal(r->kind, S3_XML_DELETE);
	assert_true(r->quiet);
	assert_int_equal(r->nkeys, 3);
	assert_string_equal(r->keys[0].key, "a b/c&d.txt");
	assert_int_equal(r->keys[0].key_len, 11);
	assert_null(r->keys[0].version_id);
	assert_string_equal(r->keys[1].key, " lead and trail ");
	assert_string_equal(r->keys[1].version_id, "v1");
	assert_string_equal(r->keys[2].key, "\xc4\x8d<>");
}

/* Parses body fed in pieces cut at cuts[ncuts], each from its own heap
 * block. */
static enum s3_err
parse_cut(enum s3_xml_kind kind, const char *body, size_t len,
	  const size_t *cuts, size_t ncuts, struct s3_xml_result *r)
{
	struct s3_xml *x = s3_xml_new(kind);
	size_t from = 0;
	enum s3_err e = S3_OK;

	assert_non_null(x);
	for (size_t i = 0; i <= ncuts && e == S3_OK; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		char *piece = malloc(to - from ? to - from : 1);

		assert_non_null(piece);
		memcpy(piece, body + from, to - from);
		e = s3_xml_feed(x, piece, to - from);
		free(piece);
		from = to;
	}
	if (e == S3_OK)
		e = s3_xml_finish(x, r);
	s3_xml_free(x);
	return (e);
}

static void
test_complete(void **state)
{
	struct s3_xml_result r;
	size_t len = strlen(complete);

	(void)state;
	assert_int_equal(s3_xml_parse(S3_XML_COMPLETE, complete, len, &r),
			 S3_OK);
	check_complete(&r);
	s3_xml_result_release(&r);
	for (size_t cut = 0; cut <= len; cut++) {
		assert_int_equal(
		    parse_cut(S3_XML_COMPLETE, complete, len, &cut, 1, &r),
		    S3_OK);
		check_complete(&r);
		s3_xml_result_release(&r);
	}
}

static void
test_delete(void **state)
{
	struct s3_xml_result r;
	size_t len = strlen(delete_body);
	size_t *cuts = malloc(len * sizeof(*cuts));

	(void)state;
	for (size_t cut = 0; cut <= len; cut++) {
		assert_int_equal(
		    parse_cut(S3_XML_DELETE, delete_body, len, &cut, 1, &r),
		    S3_OK);
		check_delete(&r);
		s3_xml_result_release(&r);
	}
	/* byte by byte */
	for (size_t i = 0; i < len; i++)
		cuts[i] = i;
	assert_int_equal(
	    parse_cut(S3_XML_DELETE, delete_body, len, cuts, len, &r), S3_OK);
	check_delete(&r);
	s3_xml_result_release(&r);
	free(cuts);
	/* Quiet left out is false. */
	assert_int_equal(
	    s3_xml_parse(S3_XML_DELETE,
			 "<Delete><Object><Key>k</Key></Object></Delete>", 46,
			 &r),
	    S3_OK);
	assert_false(r.quiet);
	assert_int_equal(r.nkeys, 1);
	s3_xml_result_release(&r);
}

static void
test_create_bucket(void **state)
{
	static const char body[] =
	    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint>"
	    "</CreateBucketConfiguration>";
	struct s3_xml_result r;

	(void)state;
	assert_int_equal(
	    s3_xml_parse(S3_XML_CREATE_BUCKET, body, strlen(body), &r), S3_OK);
	assert_string_equal(r.location, "eu-west-1");
	s3_xml_result_release(&r);
	assert_int_equal(s3_xml_parse(S3_XML_CREATE_BUCKET, "", 0, &r), S3_OK);
	assert_string_equal(r.location, "");
	assert_int_equal(s3_xml_parse(S3_XML_CREATE_BUCKET, "<Delete/>", 9, &r),
			 S3_ERR_MALFORMED_XML);
}

static void
test_refused(void **state)
{
	static const struct {
		enum s3_xml_kind kind;
		const char *body;
	} bad[] = {
	    /* entities and DTDs */
	    {S3_XML_DELETE,
	     "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	     "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
	     "<Delete><Object><Key>&lol2;</Key></Object></Delete>"},
	    {S3_XML_DELETE,
	     "<!DOCTYPE Delete [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
	     "<Delete><Object><Key>&xxe;</Key></Object></Delete>"},
	    {S3_XML_DELETE,
	     "<!DOCTYPE Delete SYSTEM \"http://127.0.0.1/x.dtd\">"
	     "<Delete><Object><Key>k</Key></Object></Delete>"},
	    {S3_XML_DELETE,
	     "<Delete><Object><Key>&foo;</Key></Object></Delete>"},
	    /* shape */
	    {S3_XML_DELETE, "<Delete></Delete>"},
	    {S3_XML_DELETE, "<Delete><Object></Object></Delete>"},
	    {S3_XML_DELETE, "<Delete><Object><Key></Key></Object></Delete>"},
	    {S3_XML_DELETE,
	     "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>"},
	    {S3_XML_DELETE,
	     "<Delete><Object><Key>a<b/></Key></Object></Delete>"},
	    {S3_XML_DELETE,
	     "<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object>"
	     "</Delete>"},
	    {S3_XML_DELETE, "<Delete><Object><Key>a</Key></Object>"},
	    {S3_XML_DELETE, "<Remove><Object><Key>a</Key></Object></Remove>"},
	    {S3_XML_DELETE, "not xml"},
	    {S3_XML_DELETE, ""},
	    {S3_XML_COMPLETE, "<CompleteMultipartUpload/>"},
	    {S3_XML_COMPLETE,
	     "<CompleteMultipartUpload><Part><ETag>x</ETag></Part>"
	     "</CompleteMultipartUpload>"},
	    {S3_XML_COMPLETE,
	     "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
	     "</Part></CompleteMultipartUpload>"},
	    {S3_XML_COMPLETE,
	     "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber>"
	     "<ETag>x</ETag></Part></CompleteMultipartUpload>"},
	    {S3_XML_COMPLETE,
	     "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber>"
	     "<ETag>x</ETag></Part></CompleteMultipartUpload>"},
	    {S3_XML_COMPLETE,
	     "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber>"
	     "<ETag>x</ETag></Part></CompleteMultipartUpload>"},
	    {S3_XML_COMPLETE,
	     "<CompleteMultipartUpload><Part><PartNumber>1x</PartNumber>"
	     "<ETag>x</ETag></Part></CompleteMultipartUpload>"},
	    {S3_XML_COMPLETE,
	     "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
	     "<PartNumber>1</PartNumber><ETag>x</ETag></Part>"
	     "</CompleteMultipartUpload>"},
	};
	struct s3_xml_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(s3_xml_parse(bad[i].kind, bad[i].body,
					      strlen(bad[i].body), &r),
				 S3_ERR_MALFORMED_XML);
		assert_int_equal(r.nkeys, 0);
		assert_int_equal(r.nparts, 0);
	}
}

static char *
nested(int depth)
{
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(buf_puts(&b, "<Delete><Object><Key>k</Key>"), 0);
	for (int i = 2; i < depth; i++)
		assert_int_equal(buf_puts(&b, "<a>"), 0);
	for (int i = 2; i < depth; i++)
		assert_int_equal(buf_puts(&b, "</a>"), 0);
	assert_int_equal(buf_puts(&b, "</Object></Delete>"), 0);
	return (b.data);
}

static void
test_caps(void **state)
{
	struct s3_xml_result r;
	struct buf b;
	char *s;

	(void)state;
	s = nested(S3_XML_DEPTH_MAX);
	assert_int_equal(s3_xml_parse(S3_XML_DELETE, s, strlen(s), &r), S3_OK);
	s3_xml_result_release(&r);
	free(s);
	s = nested(S3_XML_DEPTH_MAX + 1);
	assert_int_equal(s3_xml_parse(S3_XML_DELETE, s, strlen(s), &r),
			 S3_ERR_MALFORMED_XML);
	free(s);

	/* a key of 2 KiB, and one byte more */
	for (size_t n = S3_XML_TEXT_MAX; n <= S3_XML_TEXT_MAX + 1; n++) {
		buf_init(&b, 8192);
		assert_int_equal(buf_puts(&b, "<Delete><Object><Key>"), 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(buf_puts(&b, "k"), 0);
		assert_int_equal(buf_puts(&b, "</Key></Object></Delete>"), 0);
		assert_int_equal(s3_xml_parse(S3_XML_DELETE, b.data, b.len, &r),
				 n == S3_XML_TEXT_MAX ? S3_OK
						      : S3_ERR_MALFORMED_XML);
		if (n == S3_XML_TEXT_MAX)
			assert_int_equal(r.keys[0].key_len, n);
		s3_xml_result_release(&r);
		buf_release(&b);
	}

	/* 1,000 keys, and 1,001 (10,000 are refused the same way) */
	for (int n = S3_XML_DELETE_MAX; n <= S3_XML_DELETE_MAX + 1; n++) {
		buf_init(&b, S3_XML_DELETE_BODY_MAX);
		assert_int_equal(buf_puts(&b, "<Delete>"), 0);
		for (int i = 0; i < n; i++)
			assert_int_equal(
			    buf_printf(&b, "<Object><Key>k%d</Key></Object>",
				       i),
			    0);
		assert_int_equal(buf_puts(&b, "</Delete>"), 0);
		assert_int_equal(s3_xml_parse(S3_XML_DELETE, b.data, b.len, &r),
				 n == S3_XML_DELETE_MAX ? S3_OK
							: S3_ERR_MALFORMED_XML);
		if (n == S3_XML_DELETE_MAX) {
			assert_int_equal(r.nkeys, n);
			assert_string_equal(r.keys[999].key, "k999");
		}
		s3_xml_result_release(&r);
		buf_release(&b);
	}

	/* 10,000 parts, and 10,001 */
	for (int n = S3_XML_PARTS_MAX; n <= S3_XML_PARTS_MAX + 1; n++) {
		buf_init(&b, S3_XML_BODY_MAX);
		assert_int_equal(buf_puts(&b, "<CompleteMultipartUpload>"), 0);
		for (int i = 0; i < n; i++)
			assert_int_equal(
			    buf_printf(&b,
				       "<Part><PartNumber>%d</PartNumber>"
				       "<ETag>e</ETag></Part>",
				       i % 10000 + 1),
			    0);
		assert_int_equal(buf_puts(&b, "</CompleteMultipartUpload>"), 0);
		assert_int_equal(
		    s3_xml_parse(S3_XML_COMPLETE, b.data, b.len, &r),
		    n == S3_XML_PARTS_MAX ? S3_OK : S3_ERR_MALFORMED_XML);
		s3_xml_result_release(&r);
		buf_release(&b);
	}

	/* the byte caps */
	s = calloc(1, S3_XML_DELETE_BODY_MAX + 1);
	memset(s, ' ', S3_XML_DELETE_BODY_MAX + 1);
	assert_int_equal(
	    s3_xml_parse(S3_XML_COMPLETE, s, S3_XML_BODY_MAX + 1, &r),
	    S3_ERR_ENTITY_TOO_LARGE);
	assert_int_equal(
	    s3_xml_parse(S3_XML_DELETE, s, S3_XML_DELETE_BODY_MAX + 1, &r),
	    S3_ERR_ENTITY_TOO_LARGE);
	free(s);
}

static void
test_writer(void **state)
{
	struct buf b;
	struct s3_xml_result r;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(s3_xml_open_ns(&b, "ListBucketResult"), 0);
	assert_int_equal(s3_xml_elem(&b, "Key", "a&b<c>\"d'\x01\t\n"), 0);
	assert_int_equal(s3_xml_elem_u64(&b, "Size", 18446744073709551615u), 0);
	assert_int_equal(s3_xml_elem_bool(&b, "IsTruncated", false), 0);
	assert_int_equal(s3_xml_elem_time(&b, "LastModified", 1369353600), 0);
	assert_int_equal(s3_xml_elem(&b, "Empty", NULL), 0);
	assert_int_equal(s3_xml_close(&b, "ListBucketResult"), 0);
	assert_string_equal(
	    buf_cstr(&b),
	    "<ListBucketResult "
	    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Key>a&amp;b&lt;c&gt;&quot;d&apos;&#x1;&#x9;&#xA;</Key>"
	    "<Size>18446744073709551615</Size><IsTruncated>false</IsTruncated>"
	    "<LastModified>2013-05-24T00:00:00.000Z</LastModified>"
	    "<Empty></Empty></ListBucketResult>");
	buf_release(&b);

	/* The escaped key reads back as written. */
	buf_init(&b, 4096);
	assert_int_equal(buf_puts(&b, "<Delete><Object>"), 0);
	assert_int_equal(s3_xml_elem(&b, "Key", " a&b<c>\"d'\t\r\n "), 0);
	assert_int_equal(buf_puts(&b, "</Object></Delete>"), 0);
	assert_int_equal(s3_xml_parse(S3_XML_DELETE, b.data, b.len, &r), S3_OK);
	assert_string_equal(r.keys[0].key, " a&b<c>\"d'\t\r\n ");
	s3_xml_result_release(&r);
	buf_release(&b);

	buf_init(&b, 4096);
	assert_int_equal(s3_xml_error(&b, S3_ERR_NO_SUCH_KEY, NULL,
				      "/photos/a<b>.jpg", "4442587FB7D0A2F9"),
			 0);
	assert_string_equal(
	    buf_cstr(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<Error><Code>NoSuchKey</Code>"
			  "<Message>The specified key does not exist.</Message>"
			  "<Resource>/photos/a&lt;b&gt;.jpg</Resource>"
			  "<RequestId>4442587FB7D0A2F9</RequestId></Error>");
	buf_release(&b);

	/* Past the cap, the buffer is left as it was. */
	buf_init(&b, 20);
	assert_int_equal(buf_puts(&b, "<A>"), 0);
	assert_int_equal(s3_xml_elem(&b, "Key", "&&&&&&&&&&&&"), -ENOBUFS);
	assert_string_equal(buf_cstr(&b), "<A>");
	assert_int_equal(s3_xml_error(&b, S3_ERR_INTERNAL, NULL, NULL, NULL),
			 -ENOBUFS);
	assert_string_equal(buf_cstr(&b), "<A>");
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_complete),
	    cmocka_unit_test(test_delete),
	    cmocka_unit_test(test_create_bucket),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_writer),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
