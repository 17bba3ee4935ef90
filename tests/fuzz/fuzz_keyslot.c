/* fuzz_keyslot.c: the two fixed plaintext headers, key slot and envelope,
 * decoded from the same bytes (the envelope with the kind the input
 * claims).  What decodes must re-encode to the same header bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyslot k;
	struct envelope env;
	struct buf b;
	uint8_t out[ENVELOPE_LEN];

	if (keyslot_decode(data, size, &k) == 0) {
		buf_init(&b, 1u << 20);
		keyslot_encode_header(&k, &b);
		if (b.overflow || b.len != KEYSLOT_HDR_LEN || memcmp(b.p, data, b.len) != 0)
			abort();
		if (k.wrapped != data + KEYSLOT_HDR_LEN || k.wrapped_len != size - KEYSLOT_HDR_LEN ||
		    k.wrapped_len < SLOT_NONCE_LEN + 16)
			abort();
		buf_free(&b);
	}
	if (size > 4 && envelope_decode(data, size, data[4], &env) == 0) {
		envelope_encode(&env, out);
		if (memcmp(out, data, ENVELOPE_LEN) != 0)
			abort();
	}
	return 0;
}
