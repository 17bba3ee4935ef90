/* fuzz_source_s3list.c: one ListObjectsV2 page, parsed with bounds
 * checks; a truncated page must come with a continuation token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src_obj *v = NULL;
	size_t n = 0;
	char tok[512];
	int trunc = 0;

	if (src_parse_s3_list((const char *)data, size, &v, &n, &trunc, tok, sizeof tok) == 0 &&
	    trunc && tok[0] == '\0')
		abort();
	for (size_t i = 0; i < n; i++)
		if (v[i].name == NULL || strlen(v[i].name) != v[i].name_len || v[i].etag[0] != '"')
			abort();
	src_objs_free(v, n);
	return 0;
}
