/* fuzz_keyring: keyring_import (the decrypted key slot payload) must
 * reject malformed input, and re-export what it accepts byte for byte. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct keyring *kr;
	struct buf out;

	if (!init) {
		if (crypto_init() != 0)
			abort();
		init = 1;
	}
	kr = keyring_import(data, size);
	if (kr == NULL)
		return 0;
	buf_init(&out, 1u << 20);
	if (keyring_export(kr, &out) != 0 || out.len != size || memcmp(out.p, data, size) != 0)
		abort();
	buf_wipe_free(&out);
	keyring_free(kr);
	return 0;
}
