/* fuzz_snapshot.c: snapshot_decode on any bytes; what decodes must
 * re-encode to exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot s;
	struct buf b;

	if (snapshot_decode(data, size, &s) != 0)
		return 0;
	buf_init(&b, size + 1);
	snapshot_encode(&s, &b);
	if (b.overflow || b.len != size || memcmp(b.p, data, size) != 0)
		abort();
	buf_free(&b);
	snapshot_free(&s);
	return 0;
}
