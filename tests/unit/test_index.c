/* test_index: the in-memory chunk index (struct itable) at a million
 * entries: every entry found with its fields, absent IDs not found,
 * re-inserting returns the same entry, and the memory it costs. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "repo/repo_internal.h"
#include "util/util.h"

#define N_ENTS 1000000u
#define N_ABSENT 100000u

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* make_id(k, id): the ID of entry k, random-looking and reproducible;
 * absent IDs come from another seed range. */
static void make_id(uint64_t k, uint8_t id[ID_LEN])
{
	uint64_t s = k * 4 + 0x5eed;

	for (int i = 0; i < ID_LEN; i += 8)
		le64_put(id + i, splitmix64(&s));
}

static int fields_ok(const struct ient *e, uint32_t k)
{
	return e->pack == k % 977 && e->offset == k * 3 && e->length == k + 1 &&
	    e->raw == ~k && e->type == (uint8_t)(k % 3) && e->comp == (uint8_t)(k % 2);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_small(void)
{
	struct itable t = { 0 };
	uint8_t id[ID_LEN];
	struct ient *e;

	make_id(1, id);
	OK(itable_find(&t, id) == NULL, "an empty table finds nothing");
	OK(itable_bytes(&t) == 0, "an empty table holds no memory");
	e = itable_insert(&t, id);
	OK(e != NULL && memcmp(e->id, id, ID_LEN) == 0 && e->pack == 0 && e->offset == 0 &&
	    e->length == 0 && e->raw == 0 && e->type == 0 && e->comp == 0,
	    "a new entry is zeroed but for its id");
	OK(itable_find(&t, id) == e && t.n == 1, "and is found");
	itable_compact(&t);
	OK(itable_find(&t, id) != NULL && t.vcap == 1, "compacting keeps it");
	itable_free(&t);
	OK(itable_find(&t, id) == NULL && t.n == 0, "free empties");
	itable_compact(&t);
	OK(itable_bytes(&t) == 0, "compacting an empty table is harmless");
}

static void test_million(void)
{
	struct itable t = { 0 };
	uint8_t id[ID_LEN];
	uint32_t bad = 0, dup = 0;
	size_t bytes;
	double t0, dt, sink = 0;

	t0 = now_sec();
	for (uint32_t k = 0; k < N_ENTS; k++) {
		struct ient *e;

		make_id(k, id);
		e = itable_insert(&t, id);
		if (e->length != 0 || memcmp(e->id, id, ID_LEN) != 0)
			dup++;
		e->pack = k % 977;
		e->offset = k * 3;
		e->length = k + 1;
		e->raw = ~k;
		e->type = (uint8_t)(k % 3);
		e->comp = (uint8_t)(k % 2);
	}
	itable_compact(&t);
	dt = now_sec() - t0;
	printf("# %u inserts and compaction: %.3f s, %.0f ns each\n", N_ENTS, dt, dt * 1e9 / N_ENTS);
	OK(dup == 0 && t.n == N_ENTS, "%u distinct IDs inserted as new entries", N_ENTS);
	bytes = itable_bytes(&t);
	printf("# index: %u entries, %zu bytes, %.1f bytes per entry (struct ient %zu bytes, "
	    "%zu slots)\n", N_ENTS, bytes, (double)bytes / N_ENTS, sizeof(struct ient),
	    t.bits ? (size_t)1 << t.bits : 0);
	OK((double)bytes / N_ENTS <= 64.0, "at most 64 bytes per entry (%.1f)",
	    (double)bytes / N_ENTS);

	/* In a scrambled order (k * 999983 mod N_ENTS is a permutation), so
	 * the entries are not met in the order they were inserted. */
	t0 = now_sec();
	for (uint32_t j = 0; j < N_ENTS; j++) {
		uint32_t k = (uint32_t)((uint64_t)j * 999983 % N_ENTS);
		const struct ient *e;

		make_id(k, id);
		e = itable_find(&t, id);
		if (e == NULL || memcmp(e->id, id, ID_LEN) != 0 || !fields_ok(e, k))
			bad++;
		else
			sink += e->raw;
	}
	dt = now_sec() - t0;
	printf("# %u present lookups, scrambled order: %.3f s, %.0f ns each\n",
	    N_ENTS, dt, dt * 1e9 / N_ENTS);
	OK(bad == 0, "every entry found with its fields (%u wrong)", bad);

	bad = 0;
	t0 = now_sec();
	for (uint32_t k = 0; k < N_ABSENT; k++) {
		make_id((uint64_t)N_ENTS * 7 + k, id);
		if (itable_find(&t, id) != NULL)
			bad++;
	}
	dt = now_sec() - t0;
	printf("# %u absent lookups: %.3f s, %.0f ns each\n", N_ABSENT, dt, dt * 1e9 / N_ABSENT);
	OK(bad == 0, "%u absent IDs not found (%u found)", N_ABSENT, bad);

	/* Same first 8 bytes (home slot and tag), different rest. */
	make_id(12345, id);
	id[ID_LEN - 1] ^= 1;
	OK(itable_find(&t, id) == NULL, "an ID differing only in its last byte is not found");

	bad = 0;
	for (uint32_t k = 0; k < N_ENTS; k += 997) {
		struct ient *e;

		make_id(k, id);
		e = itable_find(&t, id);
		if (e == NULL || itable_insert(&t, id) != e || !fields_ok(e, k))
			bad++;
	}
	OK(bad == 0 && t.n == N_ENTS, "re-inserting an existing ID returns the same entry, "
	    "unchanged");

	/* Grow past compaction: old entries survive the array moving. */
	for (uint32_t k = N_ENTS; k < N_ENTS + 1000; k++) {
		make_id(k, id);
		itable_insert(&t, id)->length = k + 1;
	}
	bad = 0;
	for (uint32_t k = 0; k < N_ENTS + 1000; k += 101) {
		const struct ient *e;

		make_id(k, id);
		e = itable_find(&t, id);
		if (e == NULL || e->length != k + 1)
			bad++;
	}
	OK(bad == 0 && t.n == N_ENTS + 1000, "inserting after compaction keeps every entry");
	OK(sink > 0, "lookups did work");
	itable_free(&t);
	OK(t.v == NULL && t.slot == NULL && t.n == 0, "free releases both arrays");
}

int main(void)
{
	test_small();
	test_million();
	return tap_done();
}
