/* format_config.c: the signed config body (config/<seq>-<sha256>).
 *
 * u8 body version 2 | u64 seq | repo_id[16] | root_pk[32] | i64 created_ns |
 * u32 chunk_min | u32 chunk_avg | u32 chunk_max | u32 pack_size |
 * u8 compression | u8 level (int8) | u32 epoch |
 * u32 n_epochs, each (u32 number | pk[32] | u8 state) |
 * u32 n_keys, each (slot_id[16] | u8 role | str name | i64 created_ns |
 *   u8 has_signer | signer_pk[32] (zero without a signer) |
 *   u8 has_box | box_pk[32] (zero without one) | u8 revoked |
 *   u32 n_allowed, snapshot ids[32]). */
#include "format/format.h"

#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/util.h"

#define CONFIG_BODY_VERSION 2
#define CHUNK_MIN_LOW 64u
#define CHUNK_MAX_HIGH (64u << 20)
#define PACK_SIZE_LOW (1u << 20)
#define PACK_SIZE_HIGH (1u << 30)
#define EPOCH_ENC_LEN (4 + PK_LEN + 1)
/* The smallest key entry: an empty name and no allowed snapshots. */
#define KEY_ENC_MIN (SLOT_ID_LEN + 1 + 4 + 8 + 2 * (1 + PK_LEN) + 1 + 4)

static const uint8_t zero_pk[PK_LEN];

static void enc_key(struct buf *out, const struct cfg_key *k)
{
	enc_raw(out, k->slot_id, SLOT_ID_LEN);
	enc_u8(out, k->role);
	enc_str(out, k->name ? k->name : "");
	enc_i64(out, k->created_ns);
	enc_u8(out, k->has_signer);
	enc_raw(out, k->has_signer ? k->signer_pk : zero_pk, PK_LEN);
	enc_u8(out, k->has_box);
	enc_raw(out, k->has_box ? k->box_pk : zero_pk, PK_LEN);
	enc_u8(out, k->revoked);
	enc_u32(out, k->n_allowed);
	for (uint32_t i = 0; i < k->n_allowed; i++)
		enc_raw(out, k->allowed[i], ID_LEN);
}

void config_encode_body(const struct config *c, struct buf *out)
{
	enc_u8(out, CONFIG_BODY_VERSION);
	enc_u64(out, c->seq);
	enc_raw(out, c->repo_id, sizeof c->repo_id);
	enc_raw(out, c->root_pk, PK_LEN);
	enc_i64(out, c->created_ns);
	enc_u32(out, c->chunk_min);
	enc_u32(out, c->chunk_avg);
	enc_u32(out, c->chunk_max);
	enc_u32(out, c->pack_size);
	enc_u8(out, c->compression);
	enc_u8(out, (uint8_t)c->level);
	enc_u32(out, c->epoch);
	enc_u32(out, c->n_epochs);
	for (uint32_t i = 0; i < c->n_epochs; i++) {
		enc_u32(out, c->epochs[i].number);
		enc_raw(out, c->epochs[i].pk, PK_LEN);
		enc_u8(out, c->epochs[i].state);
	}
	enc_u32(out, c->n_keys);
	for (uint32_t i = 0; i < c->n_keys; i++)
		enc_key(out, &c->keys[i]);
}

/* count_ok(d, n, min): 0 (and d marked bad) if n entries of at least min
 * bytes each cannot fit in what is left, or n passes MAX_LIST. */
static int count_ok(struct dec *d, uint32_t n, size_t min)
{
	if (!dec_ok(d) || n > MAX_LIST || n > d->left / min) {
		dec_fail(d);
		return 0;
	}
	return 1;
}

static void dec_key(struct dec *d, struct cfg_key *k)
{
	uint32_t n;

	dec_raw(d, k->slot_id, SLOT_ID_LEN);
	k->role = dec_u8(d);
	if (k->role < ROLE_OWNER || k->role > ROLE_READ)
		dec_fail(d);
	k->name = dec_str(d, MAX_STR);
	k->created_ns = dec_i64(d);
	k->has_signer = dec_u8(d);
	dec_raw(d, k->signer_pk, PK_LEN);
	if (k->has_signer > 1 ||
	    (!k->has_signer && memcmp(k->signer_pk, zero_pk, PK_LEN) != 0))
		dec_fail(d);
	k->has_box = dec_u8(d);
	dec_raw(d, k->box_pk, PK_LEN);
	if (k->has_box > 1 || (!k->has_box && memcmp(k->box_pk, zero_pk, PK_LEN) != 0))
		dec_fail(d);
	k->revoked = dec_u8(d);
	if (k->revoked > 1)
		dec_fail(d);
	n = dec_u32(d);
	if (n > 0 && !k->revoked)
		dec_fail(d);
	if (!count_ok(d, n, ID_LEN) || n == 0)
		return;
	k->allowed = xcalloc(n, ID_LEN);
	k->n_allowed = n;
	for (uint32_t i = 0; i < n; i++)
		dec_raw(d, k->allowed[i], ID_LEN);
}

static int slot_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SLOT_ID_LEN);
}

/* slots_unique(c): 1 if no two key entries share a slot id (sorting a
 * copy keeps this O(n log n) for long lists). */
static int slots_unique(const struct config *c)
{
	uint8_t (*ids)[SLOT_ID_LEN];
	int ok = 1;

	if (c->n_keys < 2)
		return 1;
	ids = xcalloc(c->n_keys, SLOT_ID_LEN);
	for (uint32_t i = 0; i < c->n_keys; i++)
		memcpy(ids[i], c->keys[i].slot_id, SLOT_ID_LEN);
	qsort(ids, c->n_keys, SLOT_ID_LEN, slot_cmp);
	for (uint32_t i = 1; i < c->n_keys && ok; i++)
		if (memcmp(ids[i - 1], ids[i], SLOT_ID_LEN) == 0)
			ok = 0;
	free(ids);
	return ok;
}

int config_decode_body(const uint8_t *p, size_t n, struct config *c)
{
	struct dec d;
	uint32_t cnt;
	int found = 0;

	memset(c, 0, sizeof *c);
	dec_init(&d, p, p ? n : 0);
	if (dec_u8(&d) != CONFIG_BODY_VERSION)
		dec_fail(&d);
	c->seq = dec_u64(&d);
	dec_raw(&d, c->repo_id, sizeof c->repo_id);
	dec_raw(&d, c->root_pk, PK_LEN);
	c->created_ns = dec_i64(&d);
	c->chunk_min = dec_u32(&d);
	c->chunk_avg = dec_u32(&d);
	c->chunk_max = dec_u32(&d);
	if (c->chunk_min < CHUNK_MIN_LOW || c->chunk_min > c->chunk_avg ||
	    c->chunk_avg > c->chunk_max || c->chunk_max > CHUNK_MAX_HIGH ||
	    (c->chunk_avg & (c->chunk_avg - 1)) != 0)
		dec_fail(&d);
	c->pack_size = dec_u32(&d);
	if (c->pack_size < PACK_SIZE_LOW || c->pack_size > PACK_SIZE_HIGH)
		dec_fail(&d);
	c->compression = dec_u8(&d);
	if (c->compression > 1)
		dec_fail(&d);
	c->level = (int8_t)dec_u8(&d);
	c->epoch = dec_u32(&d);

	cnt = dec_u32(&d);
	if (cnt == 0 || cnt > MAX_EPOCHS)
		dec_fail(&d);
	if (count_ok(&d, cnt, EPOCH_ENC_LEN)) {
		c->epochs = xcalloc(cnt, sizeof *c->epochs);
		c->n_epochs = cnt;
		for (uint32_t i = 0; i < cnt && dec_ok(&d); i++) {
			struct cfg_epoch *e = &c->epochs[i];

			e->number = dec_u32(&d);
			dec_raw(&d, e->pk, PK_LEN);
			e->state = dec_u8(&d);
			if (e->state > EPOCH_RETIRED ||
			    (i > 0 && e->number <= c->epochs[i - 1].number))
				dec_fail(&d);
			if (e->number == c->epoch)
				found = 1;
		}
	}
	if (!found)
		dec_fail(&d);

	cnt = dec_u32(&d);
	if (count_ok(&d, cnt, KEY_ENC_MIN) && cnt > 0) {
		c->keys = xcalloc(cnt, sizeof *c->keys);
		c->n_keys = cnt;
		for (uint32_t i = 0; i < cnt && dec_ok(&d); i++)
			dec_key(&d, &c->keys[i]);
	}
	if (!dec_end(&d) || !slots_unique(c)) {
		config_free(c);
		return -1;
	}
	return 0;
}

static void key_free(struct cfg_key *k)
{
	free(k->name);
	free(k->allowed);
	memset(k, 0, sizeof *k);
}

void config_free(struct config *c)
{
	if (c == NULL)
		return;
	if (c->keys)
		for (uint32_t i = 0; i < c->n_keys; i++)
			key_free(&c->keys[i]);
	free(c->keys);
	free(c->epochs);
	memset(c, 0, sizeof *c);
}

struct cfg_key *config_find_key(const struct config *c, const uint8_t slot_id[SLOT_ID_LEN])
{
	for (uint32_t i = 0; i < c->n_keys; i++)
		if (memcmp(c->keys[i].slot_id, slot_id, SLOT_ID_LEN) == 0)
			return &c->keys[i];
	return NULL;
}

const struct cfg_epoch *config_find_epoch(const struct config *c, uint32_t number)
{
	for (uint32_t i = 0; i < c->n_epochs; i++)
		if (c->epochs[i].number == number)
			return &c->epochs[i];
	return NULL;
}

/* config_copy: dst is overwritten without being freed first. */
void config_copy(struct config *dst, const struct config *src)
{
	*dst = *src;
	dst->epochs = NULL;
	dst->keys = NULL;
	if (src->n_epochs)
		dst->epochs = xmemdup(src->epochs, (size_t)src->n_epochs * sizeof *src->epochs);
	if (src->n_keys)
		dst->keys = xcalloc(src->n_keys, sizeof *dst->keys);
	for (uint32_t i = 0; i < src->n_keys; i++) {
		const struct cfg_key *s = &src->keys[i];
		struct cfg_key *k = &dst->keys[i];

		*k = *s;
		k->name = xstrdup(s->name ? s->name : "");
		k->allowed = NULL;
		if (s->n_allowed)
			k->allowed = xmemdup(s->allowed, (size_t)s->n_allowed * ID_LEN);
	}
}
