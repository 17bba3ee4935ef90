/* fuzz_pack.c: the pack trailer and footer decoders.  The input is a u64
 * (little-endian) then the body: the u64 is the trailer's end offset for
 * pack_trailer_decode and the pack size for pack_footer_decode, both run
 * on the body.  What decodes must re-encode to exactly the body, and the
 * decoded values must keep the promises the decoders make. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pack_entry *e;
	uint32_t n, tlen;
	uint64_t param, toff;
	struct buf b;
	uint8_t f[PACK_FOOTER_PLAIN];

	if (size < 8)
		return 0;
	param = le64_get(data);
	data += 8;
	size -= 8;
	if (pack_trailer_decode(data, size, param, &e, &n) == 0) {
		uint64_t off = ENVELOPE_LEN;

		buf_init(&b, size + 1);
		pack_trailer_encode(e, n, &b);
		if (b.overflow || b.len != size || memcmp(b.p, data, size) != 0)
			abort();
		for (uint32_t i = 0; i < n; i++) {
			if (e[i].offset != off || e[i].length < AEAD_TAG_LEN)
				abort();
			off += e[i].length;
		}
		if (off != param)
			abort();
		buf_free(&b);
		free(e);
	}
	if (pack_footer_decode(data, size, param, &toff, &tlen) == 0) {
		pack_footer_encode(toff, tlen, f);
		if (size != sizeof f || memcmp(f, data, size) != 0)
			abort();
		if (toff < ENVELOPE_LEN || toff + tlen + PACK_FOOTER_LEN > param)
			abort();
	}
	return 0;
}
