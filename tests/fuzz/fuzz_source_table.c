/* fuzz_source_table.c: a Query Entities answer (Azure Tables, odata
 * JSON) into canonical JSON lines; every line it makes must itself be
 * accepted as an entity and come out unchanged (the canonical form is a
 * fixed point). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out, again;
	size_t count = 0;

	buf_init(&out, (size_t)64 << 20);
	buf_init(&again, (size_t)64 << 20);
	if (src_table_page((const char *)data, size, &out, &count) == 0) {
		size_t at = 0, lines = 0;

		while (at < out.len) {
			const uint8_t *nl = memchr(out.p + at, '\n', out.len - at);
			size_t len;

			if (nl == NULL)
				abort();
			len = (size_t)(nl - (out.p + at));
			again.len = 0;
			if (src_table_entity_line((const char *)out.p + at, len, &again) != 0 ||
			    again.len != len + 1 || memcmp(again.p, out.p + at, len + 1) != 0)
				abort();
			at += len + 1;
			lines++;
		}
		if (lines != count)
			abort();
	}
	buf_free(&out);
	buf_free(&again);
	return 0;
}
