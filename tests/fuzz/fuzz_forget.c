/* fuzz_forget.c: forget_decode on any bytes; what decodes must re-encode
 * (with its signature bytes) to exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct forget_rec f;
	struct buf b;
	size_t body;

	if (forget_decode(data, size, &f, &body) != 0)
		return 0;
	buf_init(&b, size + 1);
	forget_encode_body(&f, &b);
	if (b.overflow || b.len != body || body + SIG_LEN != size || memcmp(b.p, data, body) != 0)
		abort();
	buf_free(&b);
	forget_free(&f);
	return 0;
}
