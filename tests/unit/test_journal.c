/* test_journal: the pack journal record (engine/journal.h): a round trip
 * with every field compared, known-answer bytes of the header, every
 * truncation and a trailing byte rejected, one malformed record per rule,
 * and a failed decode leaves nothing allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/journal.h"
#include "tap.h"
#include "util/codec.h"
#include "util/util.h"

#define NE 3

static void make_entries(struct pack_entry *e, uint32_t n)
{
	uint32_t off = ENVELOPE_LEN;

	memset(e, 0, n * sizeof *e);
	for (uint32_t i = 0; i < n; i++) {
		e[i].type = i == 1 ? BLOB_TREE : BLOB_DATA;
		e[i].comp = i == 2 ? COMP_ZSTD : COMP_NONE;
		memset(e[i].id, 0x40 + (int)i, ID_LEN);
		e[i].offset = off;
		e[i].raw_length = 1000 + i;
		e[i].length = e[i].comp == COMP_NONE ? e[i].raw_length + AEAD_TAG_LEN : 500;
		off += e[i].length;
	}
}

/* decodes(p, n): 1 if the record decodes; a failure must leave rec empty. */
static int clean_fail = 1;

static int decodes(const uint8_t *p, size_t n)
{
	struct jrec rec;
	int rc = jrec_decode(p, n, &rec);

	if (rc != 0 && (rec.e != NULL || rec.n != 0 || rec.size != 0))
		clean_fail = 0;
	free(rec.e);
	return rc == 0;
}

static void encode(const uint8_t id[ID_LEN], uint64_t size, const struct pack_entry *e,
    uint32_t n, struct buf *b)
{
	buf_init(b, 1u << 20);
	jrec_encode(id, size, e, n, b);
}

int main(void)
{
	struct pack_entry e[NE];
	struct jrec rec;
	struct buf b;
	uint8_t id[ID_LEN];
	uint64_t end, size;
	int all;

	memset(id, 0xab, ID_LEN);
	make_entries(e, NE);
	end = (uint64_t)e[NE - 1].offset + e[NE - 1].length;
	size = end + 4 + NE * 46 + AEAD_TAG_LEN + PACK_FOOTER_LEN;
	encode(id, size, e, NE, &b);
	OK(b.len == 4 + ID_LEN + 8 + 8 + 4 + NE * 46, "record: header, then the trailer plaintext");
	OK(memcmp(b.p, "TFJ1", 4) == 0 && memcmp(b.p + 4, id, ID_LEN) == 0 &&
	    le64_get(b.p + 36) == size && le64_get(b.p + 44) == end && le32_get(b.p + 52) == NE,
	    "record: known-answer header (magic, pack id, size, trailer offset, count)");
	OK(jrec_decode(b.p, b.len, &rec) == 0 && memcmp(rec.id, id, ID_LEN) == 0 &&
	    rec.size == size && rec.n == NE && memcmp(rec.e, e, sizeof e) == 0,
	    "record: round trip, every field");
	free(rec.e);

	all = 1;
	for (size_t k = 0; k < b.len; k++)
		all &= !decodes(b.p, k);
	OK(all, "record: every truncation rejected");
	OK(!decodes(NULL, 0), "record: no bytes rejected");
	buf_append(&b, "", 1);
	OK(!decodes(b.p, b.len), "record: a trailing byte rejected");
	buf_free(&b);

	encode(id, size, e, NE, &b);
	b.p[0] = 'X';
	OK(!decodes(b.p, b.len), "record: wrong magic rejected");
	buf_free(&b);

	encode(id, end + PACK_FOOTER_LEN - 1, e, NE, &b);
	OK(!decodes(b.p, b.len), "record: a pack too small for its blobs and footer rejected");
	buf_free(&b);
	encode(id, end + PACK_FOOTER_LEN, e, NE, &b);
	OK(decodes(b.p, b.len), "record: the smallest pack that holds blobs and footer is fine");
	buf_free(&b);

	encode(id, size, e, NE, &b);
	le64_put(b.p + 44, end + 1);
	OK(!decodes(b.p, b.len), "record: trailer offset other than the blobs' end rejected");
	le64_put(b.p + 44, UINT64_MAX);
	le64_put(b.p + 36, UINT64_MAX);
	OK(!decodes(b.p, b.len), "record: trailer offset at 2^64-1 rejected");
	buf_free(&b);

	encode(id, size, e, NE, &b);
	le32_put(b.p + 52, 1u << 20);
	OK(!decodes(b.p, b.len), "record: count larger than the bytes left rejected");
	le32_put(b.p + 52, 0);
	OK(!decodes(b.p, b.len), "record: count 0 with entries following rejected");
	buf_free(&b);

	/* a record of no blobs: the encoder never writes one (no empty
	 * pack is stored), and the decoder refuses it */
	buf_init(&b, 1u << 20);
	enc_raw(&b, "TFJ1", 4);
	enc_raw(&b, id, ID_LEN);
	enc_u64(&b, 1000);
	enc_u64(&b, ENVELOPE_LEN);
	enc_u32(&b, 0);
	OK(!decodes(b.p, b.len), "record: no blobs rejected");
	buf_free(&b);

	make_entries(e, NE);
	e[1].offset += 1;
	encode(id, size + 1, e, NE, &b);
	OK(!decodes(b.p, b.len), "record: blobs not back to back rejected");
	buf_free(&b);
	make_entries(e, NE);
	e[0].type = 9;
	encode(id, size, e, NE, &b);
	OK(!decodes(b.p, b.len), "record: unknown blob type rejected");
	buf_free(&b);
	make_entries(e, NE);
	e[0].length = e[0].raw_length + AEAD_TAG_LEN + 1;
	e[1].offset += 1;
	e[2].offset += 1;
	encode(id, size + 1, e, NE, &b);
	OK(!decodes(b.p, b.len), "record: uncompressed blob of the wrong length rejected");
	buf_free(&b);

	OK(clean_fail, "record: every failed decode left nothing allocated and the record empty");
	return tap_done();
}
