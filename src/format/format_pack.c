/* format_pack.c: the pack trailer (the list of blobs), the pack footer
 * (where the trailer is) and the Padmé padding length. */
#include "format/format.h"

#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/util.h"

#define TRAILER_ENTRY_LEN (1 + 1 + ID_LEN + 4 + 4 + 4)

void pack_trailer_encode(const struct pack_entry *e, uint32_t n, struct buf *out)
{
	enc_u32(out, n);
	for (uint32_t i = 0; i < n; i++) {
		enc_u8(out, e[i].type);
		enc_u8(out, e[i].comp);
		enc_raw(out, e[i].id, ID_LEN);
		enc_u32(out, e[i].offset);
		enc_u32(out, e[i].length);
		enc_u32(out, e[i].raw_length);
	}
}

/* entry_ok(e): the per-blob rules shared with index locations: known
 * type and compression, a stored length that holds at least the tag, a
 * plaintext no longer than MAX_BLOB, and an uncompressed blob stored at
 * exactly its plaintext length. */
static int entry_ok(const struct pack_entry *e)
{
	if (e->type < BLOB_DATA || e->type > BLOB_TREE || e->comp > COMP_ZSTD)
		return 0;
	if (e->length < AEAD_TAG_LEN || e->raw_length > MAX_BLOB)
		return 0;
	if (e->comp == COMP_NONE && e->length - AEAD_TAG_LEN != e->raw_length)
		return 0;
	return 1;
}

int pack_trailer_decode(const uint8_t *p, size_t n, uint64_t end_offset,
    struct pack_entry **e, uint32_t *count)
{
	struct dec d;
	struct pack_entry *v = NULL;
	uint64_t off = ENVELOPE_LEN;
	uint32_t cnt;

	*e = NULL;
	*count = 0;
	dec_init(&d, p, p ? n : 0);
	cnt = dec_u32(&d);
	if (!dec_ok(&d) || cnt > MAX_LIST || cnt > d.left / TRAILER_ENTRY_LEN)
		return -1;
	if (cnt > 0)
		v = xcalloc(cnt, sizeof *v);
	for (uint32_t i = 0; i < cnt && dec_ok(&d); i++) {
		v[i].type = dec_u8(&d);
		v[i].comp = dec_u8(&d);
		dec_raw(&d, v[i].id, ID_LEN);
		v[i].offset = dec_u32(&d);
		v[i].length = dec_u32(&d);
		v[i].raw_length = dec_u32(&d);
		if (!entry_ok(&v[i]) || v[i].offset != off)
			dec_fail(&d);
		off += v[i].length;
	}
	if (!dec_end(&d) || off != end_offset) {
		free(v);
		return -1;
	}
	*e = v;
	*count = cnt;
	return 0;
}

void pack_footer_encode(uint64_t trailer_off, uint32_t trailer_len, uint8_t out[PACK_FOOTER_PLAIN])
{
	le64_put(out, trailer_off);
	le32_put(out + 8, trailer_len);
}

int pack_footer_decode(const uint8_t *p, size_t n, uint64_t pack_size,
    uint64_t *trailer_off, uint32_t *trailer_len)
{
	struct dec d;
	uint64_t off;
	uint32_t len;

	*trailer_off = 0;
	*trailer_len = 0;
	dec_init(&d, p, p ? n : 0);
	off = dec_u64(&d);
	len = dec_u32(&d);
	if (!dec_end(&d))
		return -1;
	/* The trailer holds at least its count and tag; it sits between the
	 * envelope and the footer, and none of the sums can overflow: off is
	 * checked against pack_size before it is added to. */
	if (off < ENVELOPE_LEN || len < 4 + AEAD_TAG_LEN || pack_size < PACK_FOOTER_LEN ||
	    off > pack_size - PACK_FOOTER_LEN ||
	    len > pack_size - PACK_FOOTER_LEN - off)
		return -1;
	*trailer_off = off;
	*trailer_len = len;
	return 0;
}

/* Padmé (Nikitin et al., PETS 2019): keep the top floor(log2 E) + 1 bits
 * of the length, E = floor(log2 len), and round the rest up. */
uint64_t padme(uint64_t len)
{
	unsigned e = 0, s = 0, lastbits;
	uint64_t mask;

	if (len < 2)
		return len;
	for (uint64_t v = len; v > 1; v >>= 1)
		e++;
	for (unsigned v = e; v > 1; v >>= 1)
		s++;
	s++;
	lastbits = e - s;
	mask = (UINT64_C(1) << lastbits) - 1;
	/* Only lengths within mask of 2^64 could overflow; none is real. */
	if (len > UINT64_MAX - mask)
		return len;
	return (len + mask) & ~mask;
}
