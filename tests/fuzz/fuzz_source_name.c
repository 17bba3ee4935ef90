/* fuzz_source_name.c: object names <-> tree paths.  Any name (no NUL)
 * encodes to valid tree names that decode to exactly the name; any list
 * of components (the input split at NUL) that decodes re-encodes to the
 * same name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **comps = NULL, *copy;
	size_t n = 0;
	struct buf out;

	if (size > 8192)
		return 0;
	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	buf_init(&out, 1 << 20);
	/* the name: bytes up to the first NUL */
	if (src_name_encode(copy, strlen(copy), &comps, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!name_valid((const uint8_t *)comps[i], strlen(comps[i])))
				abort();
		if (src_name_decode((const char *const *)comps, n, &out) != 0 ||
		    out.len != strlen(copy) || memcmp(out.p, copy, out.len) != 0)
			abort();
		src_comps_free(comps, n);
	}
	/* components: the input split at NUL */
	{
		const char *parts[64];
		size_t np = 0;

		for (size_t at = 0; at <= size && np < 64;) {
			parts[np++] = copy + at;
			at += strlen(copy + at) + 1;
			if (at > size)
				break;
		}
		for (size_t at = 0; at < size; at++)
			if (data[at] == '\0')
				copy[at] = '\0';
		out.len = 0;
		if (src_name_decode(parts, np, &out) == 0) {
			char *name = malloc(out.len + 1);

			if (name == NULL)
				abort();
			memcpy(name, out.p, out.len);
			name[out.len] = '\0';
			if (memchr(out.p, '\0', out.len) != NULL)
				abort();
			free(name);
		}
	}
	buf_free(&out);
	free(copy);
	return 0;
}
