/* idset.c: a set of 32-byte IDs (see idset.h). */
#include <stdlib.h>
#include <string.h>

#include "util/idset.h"
#include "util/util.h"

static const uint8_t zero_id[IDSET_ID_LEN];

static size_t first_slot(const uint8_t *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id, sizeof h);
	return (size_t)h & (cap - 1);
}

int idset_has(const struct idset *s, const uint8_t id[IDSET_ID_LEN])
{
	if (s->cap == 0)
		return 0;
	for (size_t i = first_slot(id, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (memcmp(s->v[i], zero_id, IDSET_ID_LEN) == 0)
			return 0;
		if (memcmp(s->v[i], id, IDSET_ID_LEN) == 0)
			return 1;
	}
}

/* grow(s): double the table (kept at most half full). */
static void grow(struct idset *s)
{
	struct idset n = { NULL, s->cap ? s->cap * 2 : 1024, 0 };
	size_t pos = 0;
	const uint8_t *id;

	n.v = xcalloc(n.cap, IDSET_ID_LEN);
	while ((id = idset_next(s, &pos)) != NULL)
		idset_add(&n, id);
	free(s->v);
	*s = n;
}

int idset_add(struct idset *s, const uint8_t id[IDSET_ID_LEN])
{
	size_t i;

	if (memcmp(id, zero_id, IDSET_ID_LEN) == 0 || idset_has(s, id))
		return 0;
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	for (i = first_slot(id, s->cap); memcmp(s->v[i], zero_id, IDSET_ID_LEN) != 0;
	    i = (i + 1) & (s->cap - 1))
		;
	memcpy(s->v[i], id, IDSET_ID_LEN);
	s->n++;
	return 1;
}

const uint8_t *idset_next(const struct idset *s, size_t *pos)
{
	for (; *pos < s->cap; ++*pos)
		if (memcmp(s->v[*pos], zero_id, IDSET_ID_LEN) != 0)
			return s->v[(*pos)++];
	return NULL;
}

void idset_free(struct idset *s)
{
	if (s == NULL)
		return;
	free(s->v);
	memset(s, 0, sizeof *s);
}
