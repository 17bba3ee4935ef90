/* fuzz_tree.c: tree_decode on any bytes; what decodes must re-encode to
 * exactly the input (the encoding is canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tree t;
	struct buf b;

	if (tree_decode(data, size, &t) != 0)
		return 0;
	buf_init(&b, size + 1);
	tree_encode(&t, &b);
	if (b.overflow || b.len != size || memcmp(b.p, data, size) != 0)
		abort();
	buf_free(&b);
	tree_free(&t);
	return 0;
}
