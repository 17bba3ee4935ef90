/* format_prune.c: the plaintext bodies of prune's objects under locks/:
 * the plan (which packs a prune deletes) and the wait list (which backup
 * sessions the plan waits for).  See docs/FORMAT.md, "Prune".
 *
 * plan: u8 version 1 | i64 created_ns | u32 n, pack ids[32] increasing.
 * wait: u8 version 1 | raw[32] plan | i64 created_ns | u32 n, session
 *   ids[16] increasing. */
#include "format/format.h"

#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/util.h"

#define PLAN_VERSION 1
#define WAIT_VERSION 1

void plan_encode(const struct prune_plan *p, struct buf *out)
{
	enc_u8(out, PLAN_VERSION);
	enc_i64(out, p->created_ns);
	enc_u32(out, p->n_packs);
	for (uint32_t i = 0; i < p->n_packs; i++)
		enc_raw(out, p->packs[i], ID_LEN);
}

/* read_ids(d, n, len, &v): n ids of len bytes, strictly increasing;
 * NULL for n = 0.  The count is checked against the bytes left first. */
static void *read_ids(struct dec *d, uint32_t n, size_t len)
{
	uint8_t *v;

	if (!dec_ok(d) || n > MAX_LIST || n > d->left / len) {
		dec_fail(d);
		return NULL;
	}
	if (n == 0)
		return NULL;
	v = xcalloc(n, len);
	for (uint32_t i = 0; i < n; i++) {
		dec_raw(d, v + (size_t)i * len, len);
		if (i > 0 && memcmp(v + (size_t)(i - 1) * len, v + (size_t)i * len, len) >= 0)
			dec_fail(d);
	}
	return v;
}

int plan_decode(const uint8_t *p, size_t n, struct prune_plan *pl)
{
	struct dec d;

	memset(pl, 0, sizeof *pl);
	dec_init(&d, p, p ? n : 0);
	if (dec_u8(&d) != PLAN_VERSION)
		dec_fail(&d);
	pl->created_ns = dec_i64(&d);
	pl->n_packs = dec_u32(&d);
	pl->packs = read_ids(&d, pl->n_packs, ID_LEN);
	if (!dec_end(&d)) {
		plan_free(pl);
		return -1;
	}
	return 0;
}

void plan_free(struct prune_plan *pl)
{
	free(pl->packs);
	memset(pl, 0, sizeof *pl);
}

void wait_encode(const struct prune_wait *w, struct buf *out)
{
	enc_u8(out, WAIT_VERSION);
	enc_raw(out, w->plan, ID_LEN);
	enc_i64(out, w->created_ns);
	enc_u32(out, w->n);
	for (uint32_t i = 0; i < w->n; i++)
		enc_raw(out, w->sessions[i], SESSION_ID_LEN);
}

int wait_decode(const uint8_t *p, size_t n, struct prune_wait *w)
{
	struct dec d;

	memset(w, 0, sizeof *w);
	dec_init(&d, p, p ? n : 0);
	if (dec_u8(&d) != WAIT_VERSION)
		dec_fail(&d);
	dec_raw(&d, w->plan, ID_LEN);
	w->created_ns = dec_i64(&d);
	w->n = dec_u32(&d);
	w->sessions = read_ids(&d, w->n, SESSION_ID_LEN);
	if (!dec_end(&d)) {
		wait_free(w);
		return -1;
	}
	return 0;
}

void wait_free(struct prune_wait *w)
{
	free(w->sessions);
	memset(w, 0, sizeof *w);
}
