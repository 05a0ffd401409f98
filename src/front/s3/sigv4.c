/* sigv4: see sigv4.h. */
#include "front/s3/sigv4.h"
