/* store_s3.c: being written (issue "Cloud copies"); until then the URL
 * scheme is refused with a clear message. */
#include "store/store_internal.h"
#include "util/util.h"

int store_s3_open(struct store *s, const char *rest)
{
	(void)rest;
	errmsg("store URL %s: the s3 back end is not in this build yet", s->url);
	return -1;
}
