/* s3_keys: see s3_keys.h. */
#include "front/s3/s3_keys.h"
