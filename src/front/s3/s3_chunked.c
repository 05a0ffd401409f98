/* s3_chunked: see s3_chunked.h. */
#include "front/s3/s3_chunked.h"
