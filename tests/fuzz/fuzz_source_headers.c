/* fuzz_source_headers.c: the header lines of a GET or HEAD answer (S3
 * with the first byte even, Azure odd), and the dates inside them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src_obj o;
	char t[64];
	int64_t ns;

	if (size == 0)
		return 0;
	memset(&o, 0, sizeof o);
	(void)src_parse_headers(data[0] & 1 ? SRC_AZURE : SRC_S3, (const char *)data + 1, size - 1, &o);
	for (uint32_t k = 0; k < o.n_props; k++)
		if (strncmp(o.props[k].name, SRC_XATTR_PREFIX, strlen(SRC_XATTR_PREFIX)) != 0)
			abort();
	src_obj_free(&o);
	if (size - 1 < sizeof t) {
		memcpy(t, data + 1, size - 1);
		t[size - 1] = '\0';
		(void)src_parse_time(t, &ns);
	}
	return 0;
}
