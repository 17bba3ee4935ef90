/* format_index.c: the two plaintext bodies of an index object.
 *
 * locations: u8 version 1 | u32 npacks, pack ids[32] | u32 n, per entry
 *   u8 type | u8 comp | id[32] | u32 pack | u32 offset | u32 length |
 *   u32 raw_length | u32 nsuper, superseded index ids[32].
 * dedup: u8 version 1 | u32 n, per entry u8 type | id[32]. */
#include "format/format.h"

#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/util.h"

#define INDEX_VERSION 1
#define LOC_ENC_LEN (1 + 1 + ID_LEN + 4 + 4 + 4 + 4)
#define DEDUP_ENC_LEN (1 + ID_LEN)

void index_encode_locations(const struct index_body *b, struct buf *out)
{
	enc_u8(out, INDEX_VERSION);
	enc_u32(out, b->n_packs);
	for (uint32_t i = 0; i < b->n_packs; i++)
		enc_raw(out, b->packs[i], ID_LEN);
	enc_u32(out, b->n);
	for (uint32_t i = 0; i < b->n; i++) {
		const struct index_loc *l = &b->locs[i];

		enc_u8(out, l->e.type);
		enc_u8(out, l->e.comp);
		enc_raw(out, l->e.id, ID_LEN);
		enc_u32(out, l->pack);
		enc_u32(out, l->e.offset);
		enc_u32(out, l->e.length);
		enc_u32(out, l->e.raw_length);
	}
	enc_u32(out, b->n_super);
	for (uint32_t i = 0; i < b->n_super; i++)
		enc_raw(out, b->supersedes[i], ID_LEN);
}

/* count_ok(d, n, min): 0 (and d marked bad) if n entries of min bytes
 * each cannot fit in what is left, or n passes MAX_LIST. */
static int count_ok(struct dec *d, uint32_t n, size_t min)
{
	if (!dec_ok(d) || n > MAX_LIST || n > d->left / min) {
		dec_fail(d);
		return 0;
	}
	return 1;
}

/* loc_ok(l, n_packs): the same per-blob rules as a pack trailer entry,
 * a pack that the body names, and a blob that lies after the envelope
 * within the 4 GiB a u32 offset can address. */
static int loc_ok(const struct index_loc *l, uint32_t n_packs)
{
	const struct pack_entry *e = &l->e;

	if (l->pack >= n_packs)
		return 0;
	if (e->type < BLOB_DATA || e->type > BLOB_TREE || e->comp > COMP_ZSTD)
		return 0;
	if (e->length < AEAD_TAG_LEN || e->raw_length > MAX_BLOB)
		return 0;
	if (e->comp == COMP_NONE && e->length - AEAD_TAG_LEN != e->raw_length)
		return 0;
	if (e->offset < ENVELOPE_LEN || e->length > UINT32_MAX - e->offset)
		return 0;
	return 1;
}

int index_decode_locations(const uint8_t *p, size_t n, struct index_body *b)
{
	struct dec d;
	uint32_t cnt;

	memset(b, 0, sizeof *b);
	dec_init(&d, p, p ? n : 0);
	if (dec_u8(&d) != INDEX_VERSION)
		dec_fail(&d);
	cnt = dec_u32(&d);
	if (count_ok(&d, cnt, ID_LEN) && cnt > 0) {
		b->packs = xcalloc(cnt, ID_LEN);
		b->n_packs = cnt;
		for (uint32_t i = 0; i < cnt; i++)
			dec_raw(&d, b->packs[i], ID_LEN);
	}
	cnt = dec_u32(&d);
	if (count_ok(&d, cnt, LOC_ENC_LEN) && cnt > 0) {
		b->locs = xcalloc(cnt, sizeof *b->locs);
		b->n = cnt;
		for (uint32_t i = 0; i < cnt && dec_ok(&d); i++) {
			struct index_loc *l = &b->locs[i];

			l->e.type = dec_u8(&d);
			l->e.comp = dec_u8(&d);
			dec_raw(&d, l->e.id, ID_LEN);
			l->pack = dec_u32(&d);
			l->e.offset = dec_u32(&d);
			l->e.length = dec_u32(&d);
			l->e.raw_length = dec_u32(&d);
			if (!loc_ok(l, b->n_packs))
				dec_fail(&d);
		}
	}
	cnt = dec_u32(&d);
	if (count_ok(&d, cnt, ID_LEN) && cnt > 0) {
		b->supersedes = xcalloc(cnt, ID_LEN);
		b->n_super = cnt;
		for (uint32_t i = 0; i < cnt; i++)
			dec_raw(&d, b->supersedes[i], ID_LEN);
	}
	if (!dec_end(&d)) {
		index_body_free(b);
		return -1;
	}
	return 0;
}

void index_encode_dedup(const struct dedup_entry *e, uint32_t n, struct buf *out)
{
	enc_u8(out, INDEX_VERSION);
	enc_u32(out, n);
	for (uint32_t i = 0; i < n; i++) {
		enc_u8(out, e[i].type);
		enc_raw(out, e[i].id, ID_LEN);
	}
}

int index_decode_dedup(const uint8_t *p, size_t n, struct dedup_entry **e, uint32_t *count)
{
	struct dec d;
	struct dedup_entry *v = NULL;
	uint32_t cnt;

	*e = NULL;
	*count = 0;
	dec_init(&d, p, p ? n : 0);
	if (dec_u8(&d) != INDEX_VERSION)
		dec_fail(&d);
	cnt = dec_u32(&d);
	if (!count_ok(&d, cnt, DEDUP_ENC_LEN))
		return -1;
	if (cnt > 0)
		v = xcalloc(cnt, sizeof *v);
	for (uint32_t i = 0; i < cnt && dec_ok(&d); i++) {
		v[i].type = dec_u8(&d);
		dec_raw(&d, v[i].id, ID_LEN);
		if (v[i].type < BLOB_DATA || v[i].type > BLOB_TREE)
			dec_fail(&d);
	}
	if (!dec_end(&d)) {
		free(v);
		return -1;
	}
	*e = v;
	*count = cnt;
	return 0;
}

void index_body_free(struct index_body *b)
{
	if (b == NULL)
		return;
	free(b->packs);
	free(b->locs);
	free(b->supersedes);
	memset(b, 0, sizeof *b);
}
