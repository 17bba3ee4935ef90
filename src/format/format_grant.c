/* format_grant.c: grants, grants/<slot>-<epoch>-<sha256>: one epoch's
 * secret key sealed to one key slot (docs/FORMAT.md, "Grants"). */
#include "format/format.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

#define GRANT_HDR_LEN (4 + 1 + 1 + SLOT_ID_LEN + 4)

void grant_encode(const struct grant *g, uint8_t out[GRANT_LEN])
{
	memcpy(out, FORMAT_MAGIC, 4);
	out[4] = OBJ_GRANT;
	out[5] = FORMAT_VERSION;
	memcpy(out + 6, g->slot_id, SLOT_ID_LEN);
	le32_put(out + 6 + SLOT_ID_LEN, g->epoch);
	memcpy(out + GRANT_HDR_LEN, g->sealed, GRANT_SEALED_LEN);
}

int grant_decode(const uint8_t *p, size_t n, struct grant *g)
{
	memset(g, 0, sizeof *g);
	if (p == NULL || n != GRANT_LEN || memcmp(p, FORMAT_MAGIC, 4) != 0 ||
	    p[4] != OBJ_GRANT || p[5] != FORMAT_VERSION)
		return -1;
	memcpy(g->slot_id, p + 6, SLOT_ID_LEN);
	g->epoch = le32_get(p + 6 + SLOT_ID_LEN);
	if (g->epoch == 0)
		return -1;
	g->sealed = p + GRANT_HDR_LEN;
	return 0;
}

void grant_name(const struct grant *g, const uint8_t hash[32], char out[128])
{
	char slot[2 * SLOT_ID_LEN + 1], h[65];

	hex_encode(g->slot_id, SLOT_ID_LEN, slot);
	hex_encode(hash, 32, h);
	snprintf(out, 128, GRANT_PREFIX "%s-%08x-%s", slot, (unsigned)g->epoch, h);
}
