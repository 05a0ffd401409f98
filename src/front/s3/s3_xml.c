/* s3_xml: see s3_xml.h. */
#include "front/s3/s3_xml.h"
