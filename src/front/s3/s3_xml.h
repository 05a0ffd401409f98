/*
 * s3_xml: the XML of S3 request bodies, parsed with expat, and a writer
 * for the answers.
 *
 * Parsing is incremental (s3_xml_feed takes any split) and capped: the
 * body at S3_XML_BODY_MAX (S3_XML_DELETE_BODY_MAX for DeleteObjects),
 * nesting at S3_XML_DEPTH_MAX, an element's text at S3_XML_TEXT_MAX,
 * S3_XML_PARTS_MAX parts and S3_XML_DELETE_MAX keys.  SECURITY: a DOCTYPE
 * or any entity declaration aborts the parse (no external entities, no
 * entity expansion); only the five predefined entities and character
 * references are read.  Element names are matched without their namespace
 * prefix; unknown elements are skipped (S3 ignores them too); the root
 * must be the operation's.  Every failure is S3_ERR_MALFORMED_XML (too
 * many parts or keys included, as S3 answers) except a body past its
 * byte cap, S3_ERR_ENTITY_TOO_LARGE.  Fuzzed in fuzz/fuzz_s3_xml.c.
 *
 * The writer appends to a capped struct buf (base/buf.h): each function
 * returns 0 or -ENOBUFS (the buffer's cap), and escapes text.
 */
#ifndef SHOAL_FRONT_S3_XML_H
#define SHOAL_FRONT_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "front/s3/s3_err.h"

#define S3_XML_BODY_MAX	       (1024 * 1024)
#define S3_XML_DELETE_BODY_MAX (2 * 1024 * 1024)
#define S3_XML_DEPTH_MAX       8
#define S3_XML_TEXT_MAX	       2048
#define S3_XML_PARTS_MAX       10000
#define S3_XML_DELETE_MAX      1000
#define S3_XML_NS	       "http://s3.amazonaws.com/doc/2006-03-01/"

enum s3_xml_kind {
	S3_XML_COMPLETE,      /* CompleteMultipartUpload */
	S3_XML_DELETE,	      /* Delete (DeleteObjects) */
	S3_XML_CREATE_BUCKET, /* CreateBucketConfiguration */
};

struct s3_xml_part {
	uint32_t number; /* PartNumber, 1..10000 */
	char *etag;	 /* ETag as sent (quotes included) */
};

struct s3_xml_key {
	char *key; /* Key, NUL-ended (may hold no NUL) */
	size_t key_len;
	char *version_id; /* VersionId, NULL when absent */
};

/* A parsed body.  Owns its arrays and strings: s3_xml_result_release(). */
struct s3_xml_result {
	enum s3_xml_kind kind;
	/* CompleteMultipartUpload: the parts in the order sent (the server
	 * checks the order: InvalidPartOrder). */
	struct s3_xml_part *parts;
	size_t nparts;
	/* Delete */
	bool quiet;
	struct s3_xml_key *keys;
	size_t nkeys;
	/* CreateBucketConfiguration: LocationConstraint, "" when absent. */
	char location[64];
};

struct s3_xml;

/* NULL on ENOMEM. */
struct s3_xml *s3_xml_new(enum s3_xml_kind);
void s3_xml_free(struct s3_xml *);
/* S3_OK or an error that sticks (MALFORMED_XML, ENTITY_TOO_LARGE for a
 * body past its cap, INTERNAL on ENOMEM). */
enum s3_err s3_xml_feed(struct s3_xml *, const void *, size_t)
    __attribute__((warn_unused_result));
/* Ends the document and moves the result into *out (zeroed on error):
 * a Delete needs at least one Object, CompleteMultipartUpload at least
 * one Part, every Part a PartNumber and an ETag, every Object a Key.
 * An empty CreateBucketConfiguration body is fine. */
enum s3_err s3_xml_finish(struct s3_xml *, struct s3_xml_result *out)
    __attribute__((warn_unused_result));
/* new + feed + finish + free. */
enum s3_err s3_xml_parse(enum s3_xml_kind, const void *, size_t,
			 struct s3_xml_result *out)
    __attribute__((warn_unused_result));
void s3_xml_result_release(struct s3_xml_result *);

/* <?xml version="1.0" encoding="UTF-8"?> */
int s3_xml_decl(struct buf *) __attribute__((warn_unused_result));
/* <name> and, with ns, <name xmlns="S3_XML_NS">. */
int s3_xml_open(struct buf *, const char *name)
    __attribute__((warn_unused_result));
int s3_xml_open_ns(struct buf *, const char *name)
    __attribute__((warn_unused_result));
int s3_xml_close(struct buf *, const char *name)
    __attribute__((warn_unused_result));
/* Escaped text: & < > " ' as entities, other control bytes as &#xN;. */
int s3_xml_text(struct buf *, const char *, size_t)
    __attribute__((warn_unused_result));
/* <name>escaped text</name>; text NULL is an empty element. */
int s3_xml_elem(struct buf *, const char *name, const char *text)
    __attribute__((warn_unused_result));
int s3_xml_elem_len(struct buf *, const char *name, const char *, size_t)
    __attribute__((warn_unused_result));
int s3_xml_elem_u64(struct buf *, const char *name, uint64_t)
    __attribute__((warn_unused_result));
int s3_xml_elem_bool(struct buf *, const char *name, bool)
    __attribute__((warn_unused_result));
/* Unix seconds as S3's 2006-02-03T16:45:09.000Z. */
int s3_xml_elem_time(struct buf *, const char *name, int64_t)
    __attribute__((warn_unused_result));
/*
 * The whole error document: declaration, <Error><Code/><Message/>
 * <Resource/><RequestId/></Error>.  message NULL: s3_err_message(err);
 * resource and request_id may be NULL (then left out).
 */
int s3_xml_error(struct buf *, enum s3_err, const char *message,
		 const char *resource, const char *request_id)
    __attribute__((warn_unused_result));

#endif
