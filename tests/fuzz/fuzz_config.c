/* fuzz_config.c: config_decode_body on any bytes; what decodes must
 * re-encode to exactly the input, and so must a config_copy of it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct config *c, const uint8_t *data, size_t size)
{
	struct buf b;

	buf_init(&b, size + 1);
	config_encode_body(c, &b);
	if (b.overflow || b.len != size || memcmp(b.p, data, size) != 0)
		abort();
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c, d;

	if (config_decode_body(data, size, &c) != 0)
		return 0;
	same(&c, data, size);
	config_copy(&d, &c);
	same(&d, data, size);
	for (uint32_t i = 0; i < c.n_keys; i++)
		if (config_find_key(&d, c.keys[i].slot_id) != &d.keys[i])
			abort();
	config_free(&d);
	config_free(&c);
	return 0;
}
