/* fuzz_grant.c: grant_decode on any bytes; what decodes must re-encode to
 * exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grant g;
	uint8_t out[GRANT_LEN];

	if (grant_decode(data, size, &g) != 0)
		return 0;
	if (g.sealed != data + GRANT_LEN - GRANT_SEALED_LEN)
		abort();
	grant_encode(&g, out);
	if (size != GRANT_LEN || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
