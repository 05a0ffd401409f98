/*
 * s3_err: the one table of S3 errors: code, HTTP status and message, in
 * the order of enum s3_err (checked by a static assertion on its size).
 */
#include "front/s3/s3_err.h"

#include <assert.h>
#include <stddef.h>

static const struct {
	const char *code;
	int status;
	const char *message;
} errs[] = {
    [S3_OK] = {"OK", 200, "OK"},
    [S3_ERR_ACCESS_DENIED] = {"AccessDenied", 403, "Access Denied"},
    [S3_ERR_EXPIRED] = {"AccessDenied", 403, "Request has expired"},
    [S3_ERR_SIGNATURE_MISMATCH] =
	{"SignatureDoesNotMatch", 403,
	 "The request signature we calculated does not match the signature "
	 "you provided. Check your key and signing method."},
    [S3_ERR_INVALID_ACCESS_KEY] =
	{"InvalidAccessKeyId", 403,
	 "The AWS Access Key Id you provided does not exist in our "
	 "records."},
    [S3_ERR_TIME_SKEWED] =
	{"RequestTimeTooSkewed", 403,
	 "The difference between the request time and the current time is "
	 "too large."},
    [S3_ERR_AUTH_HEADER_MALFORMED] = {"AuthorizationHeaderMalformed", 400,
				      "The authorization header is malformed."},
    [S3_ERR_AUTH_QUERY] =
	{"AuthorizationQueryParametersError", 400,
	 "Query-string authentication version 4 requires the "
	 "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
	 "X-Amz-SignedHeaders, and X-Amz-Expires parameters."},
    [S3_ERR_CONTENT_SHA256_MISMATCH] =
	{"XAmzContentSHA256Mismatch", 400,
	 "The provided 'x-amz-content-sha256' header does not match what "
	 "was computed."},
    [S3_ERR_MISSING_SECURITY_HEADER] =
	{"MissingSecurityHeader", 400,
	 "Your request is missing a required header."},
    [S3_ERR_ALGORITHM] =
	{"InvalidRequest", 400,
	 "The authorization mechanism you have provided is not supported. "
	 "Please use AWS4-HMAC-SHA256."},
    [S3_ERR_INVALID_REQUEST] = {"InvalidRequest", 400, "Invalid Request"},
    [S3_ERR_INCOMPLETE_BODY] =
	{"IncompleteBody", 400,
	 "You did not provide the number of bytes specified by the "
	 "Content-Length HTTP header."},
    [S3_ERR_BAD_DIGEST] =
	{"BadDigest", 400,
	 "The Content-MD5 you specified did not match what we received."},
    [S3_ERR_INVALID_DIGEST] = {"InvalidDigest", 400,
			       "The Content-MD5 you specified is not valid."},
    [S3_ERR_CHECKSUM_MISMATCH] =
	{"BadDigest", 400,
	 "The checksum you specified did not match the calculated "
	 "checksum."},
    [S3_ERR_INVALID_CHUNK] = {"InvalidChunkSizeError", 400,
			      "The chunked encoding of the body is invalid."},
    [S3_ERR_MALFORMED_XML] =
	{"MalformedXML", 400,
	 "The XML you provided was not well-formed or did not validate "
	 "against our published schema."},
    [S3_ERR_ENTITY_TOO_LARGE] =
	{"EntityTooLarge", 400,
	 "Your proposed upload exceeds the maximum allowed size."},
    [S3_ERR_ENTITY_TOO_SMALL] =
	{"EntityTooSmall", 400,
	 "Your proposed upload is smaller than the minimum allowed object "
	 "size."},
    [S3_ERR_MISSING_CONTENT_LENGTH] =
	{"MissingContentLength", 411,
	 "You must provide the Content-Length HTTP header."},
    [S3_ERR_INVALID_ARGUMENT] = {"InvalidArgument", 400, "Invalid Argument"},
    [S3_ERR_NO_SUCH_BUCKET] = {"NoSuchBucket", 404,
			       "The specified bucket does not exist"},
    [S3_ERR_NO_SUCH_KEY] = {"NoSuchKey", 404,
			    "The specified key does not exist."},
    [S3_ERR_NO_SUCH_UPLOAD] =
	{"NoSuchUpload", 404,
	 "The specified upload does not exist. The upload ID may be "
	 "invalid, or the upload may have been aborted or completed."},
    [S3_ERR_NO_SUCH_VERSION] =
	{"NoSuchVersion", 404,
	 "The specified version does not exist (or was pruned)."},
    [S3_ERR_INVALID_PART] =
	{"InvalidPart", 400,
	 "One or more of the specified parts could not be found. The part "
	 "may not have been uploaded, or the specified entity tag may not "
	 "match the part's entity tag."},
    [S3_ERR_INVALID_PART_ORDER] =
	{"InvalidPartOrder", 400,
	 "The list of parts was not in ascending order. The parts list "
	 "must be specified in order by part number."},
    [S3_ERR_BUCKET_NOT_EMPTY] = {"BucketNotEmpty", 409,
				 "The bucket you tried to delete is not empty"},
    [S3_ERR_BUCKET_OWNED] =
	{"BucketAlreadyOwnedByYou", 409,
	 "Your previous request to create the named bucket succeeded and "
	 "you already own it."},
    [S3_ERR_BUCKET_EXISTS] = {"BucketAlreadyExists", 409,
			      "The requested bucket name is not available."},
    [S3_ERR_INVALID_BUCKET_NAME] = {"InvalidBucketName", 400,
				    "The specified bucket is not valid."},
    [S3_ERR_KEY_TOO_LONG] = {"KeyTooLongError", 400, "Your key is too long"},
    [S3_ERR_INVALID_KEY] =
	{"InvalidArgument", 400,
	 "The key cannot be stored as a file (a folder in its way, '..', "
	 "a control character, or a name too long)."},
    [S3_ERR_INVALID_RANGE] = {"InvalidRange", 416,
			      "The requested range is not satisfiable"},
    [S3_ERR_PRECONDITION_FAILED] =
	{"PreconditionFailed", 412,
	 "At least one of the pre-conditions you specified did not hold"},
    [S3_ERR_NOT_MODIFIED] = {"NotModified", 304, "Not Modified"},
    [S3_ERR_LOCKED] = {"OperationAborted", 409,
		       "The key is locked by another writer; try again later."},
    [S3_ERR_CONFLICT] =
	{"OperationAborted", 409,
	 "A conflicting conditional operation is currently in progress "
	 "against this resource. Please try again."},
    [S3_ERR_METHOD_NOT_ALLOWED] =
	{"MethodNotAllowed", 405,
	 "The specified method is not allowed against this resource."},
    [S3_ERR_NOT_IMPLEMENTED] =
	{"NotImplemented", 501,
	 "A header you provided implies functionality that is not "
	 "implemented"},
    [S3_ERR_INTERNAL] = {"InternalError", 500,
			 "We encountered an internal error. Please try again."},
    [S3_ERR_UNAVAILABLE] =
	{"ServiceUnavailable", 503,
	 "Not enough nodes are reachable to write; please try again."},
    [S3_ERR_SLOW_DOWN] = {"SlowDown", 503, "Please reduce your request rate."},
};

static_assert(sizeof(errs) / sizeof(errs[0]) == S3_ERR__COUNT,
	      "one entry per enum s3_err");

static unsigned
err_index(enum s3_err e)
{
	if ((unsigned)e >= S3_ERR__COUNT || errs[e].code == NULL)
		return (S3_ERR_INTERNAL);
	return ((unsigned)e);
}

const char *
s3_err_code(enum s3_err e)
{
	return (errs[err_index(e)].code);
}

int
s3_err_http_status(enum s3_err e)
{
	return (errs[err_index(e)].status);
}

const char *
s3_err_message(enum s3_err e)
{
	return (errs[err_index(e)].message);
}
