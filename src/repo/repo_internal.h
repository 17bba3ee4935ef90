/* repo_internal.h: shared by the repo_*.c files only. */
#ifndef TWOFOLD_REPO_INTERNAL_H
#define TWOFOLD_REPO_INTERNAL_H

#include <pthread.h>
#include <zstd.h>

#include "repo/repo.h"
#include "store/store.h"

#define PACK_KNOWN UINT32_MAX		/* known from a dedup list only */
#define PACK_OPEN (UINT32_MAX - 1)	/* in the pack being filled */

struct ient {
	uint8_t id[ID_LEN];
	uint32_t pack;
	uint32_t offset;
	uint32_t length;
	uint32_t raw;
	uint8_t type;
	uint8_t comp;
	uint8_t used;
};

struct itable {
	struct ient *v;
	size_t cap;		/* power of two */
	size_t n;
};

struct pending_blob {
	uint8_t type, comp;
	uint8_t id[ID_LEN];
	uint8_t *data;		/* compressed or raw plaintext */
	uint32_t len, raw;
};

#define SEAL_CACHE 16
struct seal_cache_ent {
	uint32_t pack;		/* UINT32_MAX: empty */
	uint64_t tick;
	struct seal seal;
};

struct repo {
	pthread_mutex_t lock;		/* index, open pack, index-out lists */
	struct store *store;
	struct keyring *kr;
	struct config cfg;
	char slot_name[96];		/* keys/<hex> this session opened */
	struct chunker chunker;

	struct itable idx;
	uint8_t (*packs)[ID_LEN];	/* packs named by loaded indexes */
	uint32_t n_packs, cap_packs;
	uint32_t *pack_map;		/* open addressing: pack index + 1 */
	size_t pack_map_cap;

	/* the pack being filled */
	struct pending_blob *open;
	size_t n_open, cap_open;
	uint64_t open_bytes;

	/* packs written since the last index */
	struct index_body out;
	uint32_t out_cap_packs, out_cap_locs;

	struct seal_cache_ent seals[SEAL_CACHE];
	uint64_t seal_tick;

	ZSTD_DCtx *zd;
};

/* repo_index.c */
struct ient *itable_find(const struct itable *t, const uint8_t id[ID_LEN]);
struct ient *itable_insert(struct itable *t, const uint8_t id[ID_LEN]);
void itable_free(struct itable *t);
uint32_t repo_pack_intern(struct repo *r, const uint8_t id[ID_LEN]);
void repo_index_free(struct repo *r);

/* repo_pack.c */
void repo_pack_free(struct repo *r);

/* repo.c */
/* object_name(prefix, hash, out, n): "PREFIX/<hex>"; for "data" sharded. */
void object_name(const char *prefix, const uint8_t hash[32], char *out, size_t n);
/* put_object(r, prefix, p, n, hash_out, name_out): name by SHA-256, store. */
int put_object(struct repo *r, const char *prefix, const uint8_t *p, size_t n,
    uint8_t hash_out[32], char *name_out, size_t name_n);

#endif
