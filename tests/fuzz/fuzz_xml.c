/* fuzz_xml: xml_next (list responses of cloud stores are untrusted input)
 * must never read out of bounds or overrun its output. */
#include <stddef.h>
#include <stdint.h>

#include "store/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64];
	size_t from = 0;
	int guard = 0;

	while (xml_next((const char *)data, size, "Key", &from, out, sizeof out) == 1 && guard++ < 100000)
		;
	from = 0;
	(void)xml_next((const char *)data, size, "NextContinuationToken", &from, out, sizeof out);
	return 0;
}
