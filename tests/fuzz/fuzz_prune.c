/* fuzz_prune.c: prune's plan and wait bodies (locks/condemned-*,
 * locks/waitfor-*) decoded from the same bytes; what decodes must
 * re-encode to exactly the input, with IDs strictly increasing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prune_plan p;
	struct prune_wait w;
	struct buf b;

	if (plan_decode(data, size, &p) == 0) {
		buf_init(&b, size + 1);
		plan_encode(&p, &b);
		if (b.overflow || b.len != size || memcmp(b.p, data, size) != 0)
			abort();
		for (uint32_t i = 1; i < p.n_packs; i++)
			if (memcmp(p.packs[i - 1], p.packs[i], ID_LEN) >= 0)
				abort();
		buf_free(&b);
		plan_free(&p);
	}
	if (wait_decode(data, size, &w) == 0) {
		buf_init(&b, size + 1);
		wait_encode(&w, &b);
		if (b.overflow || b.len != size || memcmp(b.p, data, size) != 0)
			abort();
		for (uint32_t i = 1; i < w.n; i++)
			if (memcmp(w.sessions[i - 1], w.sessions[i], SESSION_ID_LEN) >= 0)
				abort();
		buf_free(&b);
		wait_free(&w);
	}
	return 0;
}
