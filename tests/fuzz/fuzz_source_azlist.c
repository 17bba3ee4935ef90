/* fuzz_source_azlist.c: one List Blobs page (with include=metadata) as
 * Azure or an impostor would send it: parsed with bounds checks; every
 * blob it yields has a name without NUL, an ETag, sorted properties. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src_obj *v = NULL;
	size_t n = 0;
	char next[512];

	(void)src_parse_azure_list((const char *)data, size, &v, &n, next, sizeof next);
	for (size_t i = 0; i < n; i++) {
		if (v[i].name == NULL || strlen(v[i].name) != v[i].name_len || v[i].etag[0] != '"')
			abort();
		for (uint32_t k = 1; k < v[i].n_props; k++)
			if (strcmp(v[i].props[k - 1].name, v[i].props[k].name) >= 0)
				abort();
	}
	if (strlen(next) >= sizeof next)
		abort();
	src_objs_free(v, n);
	return 0;
}
