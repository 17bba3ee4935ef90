/* chunker.c: keyed content-defined chunking.
 *
 * THE ALGORITHM IS PART OF THE REPOSITORY FORMAT.  Chunk boundaries decide
 * which chunk IDs a backup produces; if they moved between versions, a new
 * version would stop deduplicating against every existing repository.  Do
 * not change anything below without a new repository format version.  The
 * known-answer test in tests/unit/test_chunker.c catches accidental changes.
 *
 * Parameters: a table gear[256] of 64-bit words (derived by the caller from
 * the repository's chunker secret) and three sizes min <= avg <= max with
 * 64 <= min, avg a power of two, max <= 64 MiB.
 *
 * Masks: let bits = log2(avg) (so 6 <= bits <= 26) and let
 * topmask(k) = ((2^k) - 1) << (64 - k), the k highest bits of a 64-bit
 * word.  Then
 *	mask_small = topmask(bits + 1)	(a cut is half as likely as 1/avg)
 *	mask_large = topmask(bits - 1)	(a cut is twice as likely as 1/avg)
 * The high bits are used because bit j of a gear hash depends on the last
 * j+1 bytes only: bit 63 depends on a window of 64 bytes, the lower bits on
 * fewer.  (FastCDC as published spreads its mask bits over the word with
 * zero padding; the top bits give the widest window for the same count.)
 *
 * Boundary of the chunk that starts at p[0], given n bytes p[0..n-1], all
 * arithmetic on h modulo 2^64 (unsigned 64-bit):
 *
 *	if n <= min: the chunk is all n bytes.
 *	h = 0
 *	for i = min, min+1, ... while i < min(avg, n):
 *		h = (h << 1) + gear[p[i]]
 *		if (h & mask_small) == 0: the chunk is i + 1 bytes.
 *	for i = avg, avg+1, ... while i < min(max, n):
 *		h = (h << 1) + gear[p[i]]	(h carries on from the first loop)
 *		if (h & mask_large) == 0: the chunk is i + 1 bytes.
 *	otherwise the chunk is min(n, max) bytes.
 *
 * Bytes p[0..min-1] are not hashed at all; the hash starts from zero at
 * p[min].  So the shortest chunk is min+1 bytes unless the input ends, and
 * the first cut test already happens after one byte of hash input.  The
 * caller chunks a stream by calling chunker_next at the start of the data
 * and again at each returned boundary, passing at least max bytes while
 * that many remain. */
#include "chunker/chunker.h"

#include <string.h>

#define CHUNKER_MIN_MIN 64u
#define CHUNKER_MAX_MAX (64u * 1024 * 1024)

/* topmask(k): the k highest bits of a 64-bit word set, 1 <= k <= 63. */
static uint64_t topmask(unsigned k)
{
	return ((UINT64_C(1) << k) - 1) << (64 - k);
}

int chunker_init(struct chunker *c, const uint64_t gear[256], uint32_t min, uint32_t avg, uint32_t max)
{
	unsigned bits = 0;

	if (min < CHUNKER_MIN_MIN || min > avg || avg > max || max > CHUNKER_MAX_MAX)
		return -1;
	if ((avg & (avg - 1)) != 0)
		return -1;
	while ((UINT32_C(1) << bits) != avg)
		bits++;
	memcpy(c->gear, gear, sizeof c->gear);
	c->min = min;
	c->avg = avg;
	c->max = max;
	c->mask_small = topmask(bits + 1);
	c->mask_large = topmask(bits - 1);
	return 0;
}

/* The loops below are the hot path of a backup: one load, one shift-add
 * (a single lea), one test per byte, no calls.  Each loop is unrolled four
 * times; the unrolled form tests every byte exactly as the plain loop does,
 * it only checks the loop bound less often. */
#define CHUNKER_STEP(mask, k) do {				\
		h = (h << 1) + gear[p[i + (k)]];		\
		if ((h & (mask)) == 0)				\
			return i + (k) + 1;			\
	} while (0)

size_t chunker_next(const struct chunker *c, const uint8_t *p, size_t n)
{
	const uint64_t *gear = c->gear;
	const uint64_t ms = c->mask_small, ml = c->mask_large;
	uint64_t h = 0;
	size_t i, end;

	if (n <= c->min)
		return n;
	i = c->min;
	end = n < c->avg ? n : c->avg;
	for (; i + 4 <= end; i += 4) {
		CHUNKER_STEP(ms, 0);
		CHUNKER_STEP(ms, 1);
		CHUNKER_STEP(ms, 2);
		CHUNKER_STEP(ms, 3);
	}
	for (; i < end; i++)
		CHUNKER_STEP(ms, 0);
	end = n < c->max ? n : c->max;
	for (; i + 4 <= end; i += 4) {
		CHUNKER_STEP(ml, 0);
		CHUNKER_STEP(ml, 1);
		CHUNKER_STEP(ml, 2);
		CHUNKER_STEP(ml, 3);
	}
	for (; i < end; i++)
		CHUNKER_STEP(ml, 0);
	return end;
}
