/* repo_internal.h: shared by the repo_*.c files only. */
#ifndef TWOFOLD_REPO_INTERNAL_H
#define TWOFOLD_REPO_INTERNAL_H

#include <pthread.h>
#include <zstd.h>

#include "repo/repo.h"
#include "store/store.h"

#define PACK_KNOWN UINT32_MAX		/* known from a dedup list only */
#define PACK_OPEN (UINT32_MAX - 1)	/* in the pack being filled */

/* The chunk index: one struct ient per known blob (52 bytes), kept in a
 * dense array in insertion order, found through an open-addressing table
 * of 32-bit slots (see repo_index.c for the layout and its cost: about
 * 60 bytes per entry in all). */
struct ient {
	uint8_t id[ID_LEN];
	uint32_t pack;
	uint32_t offset;
	uint32_t length;
	uint32_t raw;
	uint8_t type;
	uint8_t comp;
	uint8_t flags;		/* IE_*: prune marks, condemned (in the padding) */
};
#define IE_REF 1		/* prune: referenced by a snapshot */
#define IE_SURV 2		/* prune: has a copy in a pack that stays */
#define IE_CONDEMNED 4		/* a prune plan condemns it: do not dedup */

struct itable {
	struct ient *v;		/* v[0..n): the entries */
	size_t n, vcap;		/* vcap: entries allocated */
	uint32_t *slot;		/* 0 empty, else tag << bits | (index + 1) */
	unsigned bits;		/* 1 << bits slots (0 before the first insert) */
};

struct pending_blob {
	uint8_t type, comp;
	uint8_t id[ID_LEN];
	uint8_t *data;		/* compressed or raw plaintext */
	uint32_t len, raw;
};

#define SEAL_CACHE 16
#define READER_PACKS 2
struct seal_cache_ent {
	uint32_t pack;		/* UINT32_MAX: empty */
	uint64_t tick;
	struct seal seal;
};

#define REPO_SPARES 4

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
	/* sealed packs' buffers kept for the next ones, one per thread
	 * that writes packs at once, up to REPO_SPARES (lock held): a new
	 * buffer of pack size would be faulted in page by page */
	struct buf spare[REPO_SPARES];
	uint32_t n_spare;
	/* the pack writers (repo_pack.c): a workq that stores sealed packs
	 * (started with the first), and whether one failed to (atomic) */
	struct workq *writers;
	int w_failed;

	/* packs written since the last index */
	struct index_body out;
	uint32_t out_cap_packs, out_cap_locs;

	uint64_t serial;		/* tells repos apart for per-thread readers */

	/* index objects that loaded index objects supersede (repo_index.c) */
	uint8_t (*superseded)[ID_LEN];
	uint32_t n_superseded;
	struct session *session;	/* a backup session (repo_session.c) */
	struct repo_pack_hooks hooks;	/* the backup's pack journal (repo_pack.c) */
};

/* The per-thread state of reading blobs: opened pack seals (an X25519
 * operation each) and a zstd context.  Threads read blobs at once (the
 * restore and check pipelines), each with its own. */
struct reader {
	uint64_t serial;		/* of the repo it caches for */
	struct seal_cache_ent seals[SEAL_CACHE];
	uint64_t tick;
	ZSTD_DCtx *zd;
	/* The last packs read whole, the least recently used replaced:
	 * restores read blobs mostly in the order they were packed, and
	 * one request per pack instead of one per blob is what makes cloud
	 * stores usable.  Two, so that a run of deduplicated blobs in an
	 * older pack does not cost the pack being read. */
	struct held_pack {
		uint32_t no;		/* UINT32_MAX: none */
		uint64_t tick;
		struct buf b;
	} held[READER_PACKS];
	/* The pack of the last blob read alone: a second blob in a row
	 * from it loads it whole. */
	uint32_t miss_pack;		/* UINT32_MAX: none */
	/* scratch kept from blob to blob: fresh buffers of blob size would
	 * be faulted in page by page */
	struct buf plain;		/* a compressed blob, decrypted */
	struct buf out;			/* a blob being verified */
};

/* repo_index.c */
/* itable_find(t, id): the entry for id, or NULL.  itable_insert(t, id):
 * the entry for id, existing or new (zeroed but for id).  Entry pointers
 * stay valid only until the next insert.  itable_compact(t): give back
 * the dense array's spare room (after loading).  itable_bytes(t): the
 * bytes the table holds.  No locking inside: callers hold the repo lock. */
struct ient *itable_find(const struct itable *t, const uint8_t id[ID_LEN]);
struct ient *itable_insert(struct itable *t, const uint8_t id[ID_LEN]);
void itable_compact(struct itable *t);
size_t itable_bytes(const struct itable *t);
void itable_free(struct itable *t);
uint32_t repo_pack_intern(struct repo *r, const uint8_t id[ID_LEN]);
/* open_dedup_section(r, p, n, off, &ids, &n_ids): the dedup-key-sealed
 * list of blob IDs that ends an index object or a prune plan: at p + off,
 * seal header[32] | u32 M | M bytes (ciphertext and tag) up to the end;
 * the envelope (p[0..ENVELOPE_LEN)) is the associated data.  -1 if it
 * does not authenticate or decode (no message). */
int open_dedup_section(struct repo *r, const uint8_t *p, size_t n, size_t off,
    struct dedup_entry **ids, uint32_t *n_ids);
/* repo_pack_find(r, id): the pack's number, or UINT32_MAX if no loaded
 * index names it. */
uint32_t repo_pack_find(const struct repo *r, const uint8_t id[ID_LEN]);
/* repo_is_superseded(r, id): 1 if a loaded index supersedes index id. */
int repo_is_superseded(const struct repo *r, const uint8_t id[ID_LEN]);
void repo_index_free(struct repo *r);

/* repo_pack.c */
/* repo_pack_free(r): stop the pack writers (after they have stored what
 * they were given) and free the pack state. */
void repo_pack_free(struct repo *r);
/* repo_pack_settle(r): wait until the pack writers have stored (or,
 * after a failure, dropped) every pack handed to them; -1 if one failed
 * to store.  Called before what they use changes: the hooks, the
 * session. */
int repo_pack_settle(struct repo *r);
/* repo_add_blob_force(r, type, id, p, n, &stored): repo_add_blob, but
 * stores the blob even if the index knows it (prune's repacking: the new
 * copy becomes the index's location once its pack is written). */
int repo_add_blob_force(struct repo *r, uint8_t type, const uint8_t id[ID_LEN],
    const uint8_t *p, size_t n, uint64_t *stored);
/* repo_write_index(r, b, hash_out): seal and store an index object for b
 * (also one with no packs, if it supersedes others).  hash_out may be
 * NULL. */
int repo_write_index(struct repo *r, const struct index_body *b, uint8_t hash_out[32]);

/* repo.c: names.  collect_name(arg, name, size): a store_list callback
 * that appends name to the struct name_list arg; name_list_free. */
struct name_list {
	char **v;
	size_t n, cap;
};
int collect_name(void *arg, const char *name, uint64_t size);
void name_list_free(struct name_list *l);

/* repo.c: grants.  repo_put_grant(r, epoch, slot, box_pk): seal the
 * epoch's secret key (which r's keyring must hold) to a slot and store it.
 * repo_grant_parse(name, slot, &epoch): 0 if name is a grant's. */
int repo_put_grant(struct repo *r, uint32_t epoch, const uint8_t slot[SLOT_ID_LEN],
    const uint8_t box_pk[PK_LEN]);
int repo_grant_parse(const char *name, uint8_t slot[SLOT_ID_LEN], uint32_t *epoch);
/* repo_epoch_still_current(r): 0 if the newest config still seals to the
 * epoch r opened with, else -1 with a message (a rotation happened since:
 * a backup started now must not seal to an epoch a rekey may retire). */
int repo_epoch_still_current(struct repo *r);
/* object_epoch(st, name, kind, &epoch): the epoch in the envelope of an
 * object of that kind in store st (its first ENVELOPE_LEN bytes only).
 * 0, R_MISSING, R_CORRUPT (with a message) or -1. */
int object_epoch(struct store *st, const char *name, uint8_t kind, uint32_t *epoch);
/* repo_delete_grants(r, slot, epoch): delete, from every copy, the grants
 * of slot (NULL: any) for epoch (0: any). [repo_rekey.c] */
int repo_delete_grants(struct repo *r, const uint8_t *slot, uint32_t epoch);

/* repo_prune.c */
/* repo_live_sessions(r, grace_ns, &n): how many backup sessions are
 * running (a marker newer than grace_ns and no end marker). */
int repo_live_sessions(struct repo *r, int64_t grace_ns, uint32_t *n);
/* repo_session_note(r, is_pack, id): this backup session wrote pack or
 * index object id (for its stall check).  Thread-safe; no-op without a
 * session. */
void repo_session_note(struct repo *r, int is_pack, const uint8_t id[ID_LEN]);
/* repo_session_condemns(r, id): 1 if a prune plan this backup session read
 * at its start condemns blob id (also one no loaded index names), else 0
 * (and 0 without a session). */
int repo_session_condemns(const struct repo *r, const uint8_t id[ID_LEN]);
/* repo_session_end_quiet(r): end r's session if one is open (repo_close). */
void repo_session_end_quiet(struct repo *r);
/* reader_release(r): free this thread's reader if it belongs to r. */
void reader_release(const struct repo *r);

/* repo.c */
/* object_name(prefix, hash, out, n): "PREFIX/<hex>"; for "data" sharded. */
void object_name(const char *prefix, const uint8_t hash[32], char *out, size_t n);
/* put_object(r, prefix, p, n, hash_out, name_out): name by SHA-256, store. */
int put_object(struct repo *r, const char *prefix, const uint8_t *p, size_t n,
    uint8_t hash_out[32], char *name_out, size_t name_n);

#endif
