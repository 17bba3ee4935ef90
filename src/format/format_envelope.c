/* format_envelope.c: the plaintext header of sealed objects (packs,
 * indexes, snapshots): magic[4] | u8 kind | u8 version | u32 epoch |
 * seal header[32], ENVELOPE_LEN bytes in all. */
#include "format/format.h"

#include <string.h>

#include "util/codec.h"
#include "util/util.h"

void envelope_encode(const struct envelope *e, uint8_t out[ENVELOPE_LEN])
{
	memcpy(out, FORMAT_MAGIC, 4);
	out[4] = e->kind;
	out[5] = FORMAT_VERSION;
	le32_put(out + 6, e->epoch);
	memcpy(out + 10, e->seal_hdr, SEAL_HDR_LEN);
}

/* The envelope is a prefix of a larger object, so bytes after it are the
 * caller's business: only the first ENVELOPE_LEN bytes are read. */
int envelope_decode(const uint8_t *p, size_t n, uint8_t kind, struct envelope *e)
{
	struct dec d;
	uint8_t magic[4];

	memset(e, 0, sizeof *e);
	if (p == NULL || n < ENVELOPE_LEN)
		return -1;
	dec_init(&d, p, ENVELOPE_LEN);
	dec_raw(&d, magic, sizeof magic);
	e->kind = dec_u8(&d);
	if (memcmp(magic, FORMAT_MAGIC, 4) != 0 || e->kind != kind ||
	    dec_u8(&d) != FORMAT_VERSION)
		dec_fail(&d);
	e->epoch = dec_u32(&d);
	dec_raw(&d, e->seal_hdr, SEAL_HDR_LEN);
	if (!dec_end(&d)) {
		memset(e, 0, sizeof *e);
		return -1;
	}
	return 0;
}
