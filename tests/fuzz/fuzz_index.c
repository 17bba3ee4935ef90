/* fuzz_index.c: both index bodies, locations and dedup, decoded from the
 * same bytes; what decodes must re-encode to exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct index_body ib;
	struct dedup_entry *e;
	uint32_t n;
	struct buf b;

	if (index_decode_locations(data, size, &ib) == 0) {
		buf_init(&b, size + 1);
		index_encode_locations(&ib, &b);
		if (b.overflow || b.len != size || memcmp(b.p, data, size) != 0)
			abort();
		for (uint32_t i = 0; i < ib.n; i++)
			if (ib.locs[i].pack >= ib.n_packs)
				abort();
		buf_free(&b);
		index_body_free(&ib);
	}
	if (index_decode_dedup(data, size, &e, &n) == 0) {
		buf_init(&b, size + 1);
		index_encode_dedup(e, n, &b);
		if (b.overflow || b.len != size || memcmp(b.p, data, size) != 0)
			abort();
		buf_free(&b);
		free(e);
	}
	return 0;
}
