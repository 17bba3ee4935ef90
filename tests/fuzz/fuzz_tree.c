/* fuzz_tree.c: tree_decode (through tree_decode_why, which must give a
 * reason for every rejection) on any bytes; what decodes must re-encode to
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
	char why[200];

	why[0] = '\0';
	if (tree_decode_why(data, size, &t, why, sizeof why) != 0) {
		if (why[0] == '\0' || memchr(why, '\0', sizeof why) == NULL)
			abort();	/* a rejection always says why */
		return 0;
	}
	buf_init(&b, size + 1);
	tree_encode(&t, &b);
	if (b.overflow || b.len != size || memcmp(b.p, data, size) != 0)
		abort();
	buf_free(&b);
	tree_free(&t);
	return 0;
}
