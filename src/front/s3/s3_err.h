/*
 * s3_err: the S3 error codes, one table for the whole S3 front end.
 *
 * Every S3 module returns an enum s3_err (S3_OK is 0); the server turns one
 * into an answer with s3_err_http_status() and an error document built by
 * s3_xml_error() (s3_xml.h) from s3_err_code() and s3_err_message().  The
 * codes and statuses are those S3 itself answers, so clients react to them
 * as they do against S3 (botocore retries RequestTimeTooSkewed after fixing
 * its clock, for one).
 */
#ifndef SHOAL_FRONT_S3_ERR_H
#define SHOAL_FRONT_S3_ERR_H

enum s3_err {
	S3_OK = 0,
	/* authentication and signatures */
	S3_ERR_ACCESS_DENIED,	   /* 403 AccessDenied */
	S3_ERR_EXPIRED,		   /* 403 AccessDenied "Request has expired" */
	S3_ERR_SIGNATURE_MISMATCH, /* 403 SignatureDoesNotMatch */
	S3_ERR_INVALID_ACCESS_KEY, /* 403 InvalidAccessKeyId */
	S3_ERR_TIME_SKEWED,	   /* 403 RequestTimeTooSkewed */
	S3_ERR_AUTH_HEADER_MALFORMED, /* 400 AuthorizationHeaderMalformed */
	S3_ERR_AUTH_QUERY, /* 400 AuthorizationQueryParametersError */
	S3_ERR_CONTENT_SHA256_MISMATCH, /* 400 XAmzContentSHA256Mismatch */
	S3_ERR_MISSING_SECURITY_HEADER, /* 400 MissingSecurityHeader */
	S3_ERR_ALGORITHM,		/* 400 InvalidRequest, bad algorithm */
	/* bodies */
	S3_ERR_INVALID_REQUEST,	       /* 400 InvalidRequest */
	S3_ERR_INCOMPLETE_BODY,	       /* 400 IncompleteBody */
	S3_ERR_BAD_DIGEST,	       /* 400 BadDigest (Content-MD5) */
	S3_ERR_INVALID_DIGEST,	       /* 400 InvalidDigest */
	S3_ERR_CHECKSUM_MISMATCH,      /* 400 BadDigest (x-amz-checksum-*) */
	S3_ERR_INVALID_CHUNK,	       /* 400 InvalidChunkSizeError */
	S3_ERR_MALFORMED_XML,	       /* 400 MalformedXML */
	S3_ERR_ENTITY_TOO_LARGE,       /* 400 EntityTooLarge */
	S3_ERR_ENTITY_TOO_SMALL,       /* 400 EntityTooSmall */
	S3_ERR_MISSING_CONTENT_LENGTH, /* 411 MissingContentLength */
	S3_ERR_INVALID_ARGUMENT,       /* 400 InvalidArgument */
	/* buckets, objects, uploads */
	S3_ERR_NO_SUCH_BUCKET,	    /* 404 NoSuchBucket */
	S3_ERR_NO_SUCH_KEY,	    /* 404 NoSuchKey */
	S3_ERR_NO_SUCH_UPLOAD,	    /* 404 NoSuchUpload */
	S3_ERR_NO_SUCH_VERSION,	    /* 404 NoSuchVersion */
	S3_ERR_INVALID_PART,	    /* 400 InvalidPart */
	S3_ERR_INVALID_PART_ORDER,  /* 400 InvalidPartOrder */
	S3_ERR_BUCKET_NOT_EMPTY,    /* 409 BucketNotEmpty */
	S3_ERR_BUCKET_OWNED,	    /* 409 BucketAlreadyOwnedByYou */
	S3_ERR_BUCKET_EXISTS,	    /* 409 BucketAlreadyExists */
	S3_ERR_INVALID_BUCKET_NAME, /* 400 InvalidBucketName */
	S3_ERR_KEY_TOO_LONG,	    /* 400 KeyTooLongError */
	S3_ERR_INVALID_KEY,	    /* 400 InvalidArgument, key not a file */
	S3_ERR_INVALID_RANGE,	    /* 416 InvalidRange */
	S3_ERR_PRECONDITION_FAILED, /* 412 PreconditionFailed */
	S3_ERR_NOT_MODIFIED,	    /* 304 NotModified (no body) */
	S3_ERR_LOCKED,		    /* 409 OperationAborted, key locked */
	S3_ERR_CONFLICT,	    /* 409 OperationAborted */
	/* the server */
	S3_ERR_METHOD_NOT_ALLOWED, /* 405 MethodNotAllowed */
	S3_ERR_NOT_IMPLEMENTED,	   /* 501 NotImplemented */
	S3_ERR_INTERNAL,	   /* 500 InternalError */
	S3_ERR_UNAVAILABLE,	   /* 503 ServiceUnavailable (no quorum) */
	S3_ERR_SLOW_DOWN,	   /* 503 SlowDown */
	S3_ERR__COUNT
};

/* The S3 error code ("SignatureDoesNotMatch"); "InternalError" for a value
 * out of range.  Static strings. */
const char *s3_err_code(enum s3_err);
/* The HTTP status S3 answers with it (403, 400, ...). */
int s3_err_http_status(enum s3_err);
/* A one-sentence default message in S3's words. */
const char *s3_err_message(enum s3_err);

#endif
