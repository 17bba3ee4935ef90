/* format_snapshot.c: the signed snapshot body.
 *
 * u8 version 1 | i64 time_ns | str hostname | str username |
 * u32 n, str paths | u32 n, str tags | tree[32] | parent[32] | u64 files |
 * u64 dirs | u64 bytes | u64 added_bytes | u32 n, str unreadable |
 * u32 n, str changed | u32 n, str copies | signer_slot[16] |
 * signer_pk[32] | str program.  Every str is at most MAX_STR bytes. */
#include "format/format.h"

#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/util.h"

#define SNAPSHOT_VERSION 1

static void enc_s(struct buf *out, const char *s)
{
	enc_str(out, s ? s : "");
}

static void enc_list(struct buf *out, uint32_t n, char *const *v)
{
	enc_u32(out, n);
	for (uint32_t i = 0; i < n; i++)
		enc_s(out, v[i]);
}

void snapshot_encode(const struct snapshot *s, struct buf *out)
{
	enc_u8(out, SNAPSHOT_VERSION);
	enc_i64(out, s->time_ns);
	enc_s(out, s->hostname);
	enc_s(out, s->username);
	enc_list(out, s->n_paths, s->paths);
	enc_list(out, s->n_tags, s->tags);
	enc_raw(out, s->tree, ID_LEN);
	enc_raw(out, s->parent, ID_LEN);
	enc_u64(out, s->files);
	enc_u64(out, s->dirs);
	enc_u64(out, s->bytes);
	enc_u64(out, s->added_bytes);
	enc_list(out, s->n_unreadable, s->unreadable);
	enc_list(out, s->n_changed, s->changed);
	enc_list(out, s->n_copies, s->copies);
	enc_raw(out, s->signer_slot, SLOT_ID_LEN);
	enc_raw(out, s->signer_pk, PK_LEN);
	enc_s(out, s->program);
}

/* dec_list(d, &n, &v): a counted list of strings.  The count is checked
 * against MAX_LIST and against the 4 bytes each string needs at least
 * before anything is allocated; *n counts the slots allocated so that
 * freeing is right whatever fails. */
static void dec_list(struct dec *d, uint32_t *n, char ***v)
{
	uint32_t cnt = dec_u32(d);

	if (!dec_ok(d) || cnt > MAX_LIST || cnt > d->left / 4) {
		dec_fail(d);
		return;
	}
	if (cnt == 0)
		return;
	*v = xcalloc(cnt, sizeof **v);
	*n = cnt;
	for (uint32_t i = 0; i < cnt && dec_ok(d); i++)
		(*v)[i] = dec_str(d, MAX_STR);
}

int snapshot_decode(const uint8_t *p, size_t n, struct snapshot *s)
{
	struct dec d;

	memset(s, 0, sizeof *s);
	dec_init(&d, p, p ? n : 0);
	if (dec_u8(&d) != SNAPSHOT_VERSION)
		dec_fail(&d);
	s->time_ns = dec_i64(&d);
	s->hostname = dec_str(&d, MAX_STR);
	s->username = dec_str(&d, MAX_STR);
	dec_list(&d, &s->n_paths, &s->paths);
	dec_list(&d, &s->n_tags, &s->tags);
	dec_raw(&d, s->tree, ID_LEN);
	dec_raw(&d, s->parent, ID_LEN);
	s->files = dec_u64(&d);
	s->dirs = dec_u64(&d);
	s->bytes = dec_u64(&d);
	s->added_bytes = dec_u64(&d);
	dec_list(&d, &s->n_unreadable, &s->unreadable);
	dec_list(&d, &s->n_changed, &s->changed);
	dec_list(&d, &s->n_copies, &s->copies);
	dec_raw(&d, s->signer_slot, SLOT_ID_LEN);
	dec_raw(&d, s->signer_pk, PK_LEN);
	s->program = dec_str(&d, MAX_STR);
	if (!dec_end(&d)) {
		snapshot_free(s);
		return -1;
	}
	return 0;
}

static void list_free(uint32_t n, char **v)
{
	if (v == NULL)
		return;
	for (uint32_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void snapshot_free(struct snapshot *s)
{
	if (s == NULL)
		return;
	free(s->hostname);
	free(s->username);
	list_free(s->n_paths, s->paths);
	list_free(s->n_tags, s->tags);
	list_free(s->n_unreadable, s->unreadable);
	list_free(s->n_changed, s->changed);
	list_free(s->n_copies, s->copies);
	free(s->program);
	memset(s, 0, sizeof *s);
}
