/* fuzz_journal: the pack journal record decoder must reject any malformed
 * record without crashing (the journal is local, but it is still input). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jrec rec;

	if (jrec_decode(data, size, &rec) == 0)
		free(rec.e);
	return 0;
}
