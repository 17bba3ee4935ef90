/* fuzz_filecache: the file cache decoder must reject any malformed cache
 * file without crashing (a cache is local, but it is still input). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/filecache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct filecache fc;

	memset(&fc, 0, sizeof fc);
	(void)fc_decode(&fc, data, size);
	fc_free(&fc);
	return 0;
}
