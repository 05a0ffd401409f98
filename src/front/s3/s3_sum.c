/* s3_sum: see s3_sum.h. */
#include "front/s3/s3_sum.h"
