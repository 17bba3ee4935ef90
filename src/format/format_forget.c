/* format_forget.c: forget records, forgotten/<sha256 hex>: which snapshot
 * objects an owner removed, signed, so that every host's witness can tell
 * a forget from a rollback (docs/FORMAT.md, "Forget records"). */
#include "format/format.h"

#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/util.h"

void forget_encode_body(const struct forget_rec *f, struct buf *out)
{
	enc_raw(out, FORMAT_MAGIC, 4);
	enc_u8(out, OBJ_FORGET);
	enc_u8(out, FORMAT_VERSION);
	enc_raw(out, f->signer_slot, SLOT_ID_LEN);
	enc_i64(out, f->time_ns);
	enc_u32(out, f->n);
	for (uint32_t i = 0; i < f->n; i++)
		enc_raw(out, f->ids[i], ID_LEN);
}

int forget_decode(const uint8_t *p, size_t n, struct forget_rec *f, size_t *body_len)
{
	struct dec d;
	uint8_t magic[4];

	memset(f, 0, sizeof *f);
	if (p == NULL || n < SIG_LEN)
		return -1;
	dec_init(&d, p, n - SIG_LEN);
	dec_raw(&d, magic, sizeof magic);
	if (memcmp(magic, FORMAT_MAGIC, 4) != 0 || dec_u8(&d) != OBJ_FORGET ||
	    dec_u8(&d) != FORMAT_VERSION)
		dec_fail(&d);
	dec_raw(&d, f->signer_slot, SLOT_ID_LEN);
	f->time_ns = dec_i64(&d);
	f->n = dec_u32(&d);
	/* the count is checked against the bytes left before allocating */
	if (!dec_ok(&d) || f->n == 0 || f->n > MAX_LIST || d.left / ID_LEN < f->n) {
		memset(f, 0, sizeof *f);
		return -1;
	}
	f->ids = xcalloc(f->n, ID_LEN);
	for (uint32_t i = 0; i < f->n; i++)
		dec_raw(&d, f->ids[i], ID_LEN);
	if (!dec_end(&d)) {
		forget_free(f);
		return -1;
	}
	*body_len = n - SIG_LEN;
	return 0;
}

void forget_free(struct forget_rec *f)
{
	free(f->ids);
	memset(f, 0, sizeof *f);
}
