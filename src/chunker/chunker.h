/* chunker: keyed content-defined chunking (a gear rolling hash with a
 * secret 256-entry table and normalised cut masks, after FastCDC).
 * Boundaries depend on the repository's chunker secret, so a storage
 * provider cannot predict them.  Depends on nothing. */
#ifndef TWOFOLD_CHUNKER_H
#define TWOFOLD_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

struct chunker {
	uint64_t gear[256];
	uint32_t min, avg, max;
	uint64_t mask_small;	/* more bits: harder cut before avg */
	uint64_t mask_large;	/* fewer bits: easier cut after avg */
};

/* chunker_init(c, gear, min, avg, max): min <= avg <= max, avg a power of
 * two, 64 <= min.  Returns -1 on invalid parameters. */
int chunker_init(struct chunker *c, const uint64_t gear[256], uint32_t min, uint32_t avg, uint32_t max);
/* chunker_next(c, p, n): p holds n bytes starting at a chunk start.  Returns
 * the length of the chunk that starts there: the first boundary, or
 * min(n, max) if there is none.  Callers pass n >= max unless at end of
 * input, so a return of n < max means "end of input". Stateless. */
size_t chunker_next(const struct chunker *c, const uint8_t *p, size_t n);

#endif
