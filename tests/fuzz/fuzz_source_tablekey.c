/* fuzz_source_tablekey.c: the keys and Timestamp of a canonical JSON
 * line (Azure Tables, incremental backups).  What it accepts has
 * keys without NUL; every line src_table_entity_line makes
 * from the input must be accepted, with the same keys it wrote. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct buf *b)
{
	if (b->p == NULL || b->p[b->len] != '\0' || strlen((const char *)b->p) != b->len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf pk, rk, ts, line, pk2, rk2, ts2;

	buf_init(&pk, SRC_TABLE_VALUE_MAX);
	buf_init(&rk, SRC_TABLE_VALUE_MAX);
	buf_init(&ts, SRC_TABLE_VALUE_MAX);
	buf_init(&pk2, SRC_TABLE_VALUE_MAX);
	buf_init(&rk2, SRC_TABLE_VALUE_MAX);
	buf_init(&ts2, SRC_TABLE_VALUE_MAX);
	buf_init(&line, (size_t)16 << 20);
	if (src_table_line_key((const char *)data, size, &pk, &rk, &ts) == 0) {
		check(&pk);
		check(&rk);
		check(&ts);
	} else if (pk.len || rk.len || ts.len) {
		abort();
	}
	if (src_table_entity_line((const char *)data, size, &line) == 0) {
		if (line.len == 0 || line.p[line.len - 1] != '\n' ||
		    src_table_line_key((const char *)line.p, line.len - 1, &pk2, &rk2, &ts2) != 0)
			abort();
		check(&pk2);
		check(&rk2);
		check(&ts2);
	}
	buf_free(&pk);
	buf_free(&rk);
	buf_free(&ts);
	buf_free(&pk2);
	buf_free(&rk2);
	buf_free(&ts2);
	buf_free(&line);
	return 0;
}
