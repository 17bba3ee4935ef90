/* idset: a set of 32-byte IDs (blob, tree or pack IDs), open addressing
 * on the ID's first 8 bytes, which are already uniform (keyed hashes).
 * Not thread-safe.  Depends on util. */
#ifndef TWOFOLD_IDSET_H
#define TWOFOLD_IDSET_H

#include <stddef.h>
#include <stdint.h>

#define IDSET_ID_LEN 32

struct idset {
	uint8_t (*v)[IDSET_ID_LEN];	/* cap slots; all-zero marks an empty one */
	size_t cap, n;
};

/* An empty set is all zero: struct idset s = { 0 }. */
/* idset_has(s, id): 1 if id is in s. */
int idset_has(const struct idset *s, const uint8_t id[IDSET_ID_LEN]);
/* idset_add(s, id): 1 if id was added, 0 if it was there.  The all-zero
 * ID (never a keyed hash output in practice) cannot be stored: 0. */
int idset_add(struct idset *s, const uint8_t id[IDSET_ID_LEN]);
/* idset_next(s, &pos): the next member from slot *pos on (start with
 * pos 0), or NULL at the end.  No order. */
const uint8_t *idset_next(const struct idset *s, size_t *pos);
/* idset_free(s): release; s is empty afterwards.  NULL-safe. */
void idset_free(struct idset *s);

#endif
