/* store_azure.c: being written (issue "Cloud copies"); until then the URL
 * scheme is refused with a clear message. */
#include "store/store_internal.h"
#include "util/util.h"

int store_azure_open(struct store *s, const char *rest)
{
	(void)rest;
	errmsg("store URL %s: the azure back end is not in this build yet", s->url);
	return -1;
}
