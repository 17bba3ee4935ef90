/* format: byte encodings of every repository object (docs/FORMAT.md).
 *
 * Encoders append to a struct buf; decoders take (pointer, length), check
 * the remaining length before every field, validate every value, reject
 * trailing bytes, and return 0 on success or -1 on malformed input (never
 * crashing, whatever the bytes).  This module sees plaintext bodies and
 * envelope headers but no keys: sealing and signing happen in repo.
 * Depends on util, buf, codec, crypto (sizes only). */
#ifndef TWOFOLD_FORMAT_H
#define TWOFOLD_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "util/buf.h"

#define FORMAT_MAGIC "TWFD"
#define FORMAT_VERSION 1

enum obj_kind {
	OBJ_KEYSLOT = 1,
	OBJ_CONFIG = 2,
	OBJ_PACK = 3,
	OBJ_INDEX = 4,
	OBJ_SNAPSHOT = 5,
	OBJ_PLAN = 6,		/* locks/condemned-<sha256>: a prune plan */
	OBJ_WAIT = 7,		/* locks/waitfor-<sha256>: backups a plan waits for */
	OBJ_FORGET = 8,		/* forgotten/<sha256>: snapshots an owner removed */
	OBJ_GRANT = 9,		/* grants/<slot>-<epoch>-<sha256>: an epoch key for a slot */
};

/* Limits every decoder enforces. */
#define MAX_NAME 255			/* one path component */
#define MAX_LINK 4096			/* symlink target */
#define MAX_XATTR_NAME 255
#define MAX_XATTR_VALUE 65536
#define MAX_XATTRS 1024
#define MAX_STR 4096			/* hostnames, tags, user names, paths */
#define MAX_BLOB (64u << 20)		/* one chunk or tree, plaintext */
#define MAX_LIST (1u << 24)		/* entries in any list */

/* ---- envelope: the plaintext header of sealed objects ----
 * magic[4] "TWFD" | u8 kind | u8 version | u32 epoch | seal header[32]
 * The whole header is the AEAD associated data of what follows. */
#define ENVELOPE_LEN 42
struct envelope {
	uint8_t kind;
	uint32_t epoch;
	uint8_t seal_hdr[SEAL_HDR_LEN];
};
void envelope_encode(const struct envelope *e, uint8_t out[ENVELOPE_LEN]);
/* envelope_decode(p, n, kind, e): p must hold at least ENVELOPE_LEN bytes
 * with the right magic, version and kind. */
int envelope_decode(const uint8_t *p, size_t n, uint8_t kind, struct envelope *e);

/* ---- key slot: keys/<sha256 of the object> ----
 * plaintext header (also AEAD data): magic | u8 kind=1 | u8 version |
 * slot_id[16] | u8 role | i64 created_ns | u8 kdf=1 (Argon2id v1.3) |
 * u64 opslimit | u64 memlimit | salt[16]; then nonce[24] and the wrapped
 * keyring payload with its 16-byte tag. */
#define KDF_ARGON2ID13 1
#define KEYSLOT_HDR_LEN (4 + 1 + 1 + SLOT_ID_LEN + 1 + 8 + 1 + 8 + 8 + SLOT_SALT_LEN)
struct keyslot {
	uint8_t slot_id[SLOT_ID_LEN];
	uint8_t role;
	int64_t created_ns;
	struct kdf_params kdf;
	const uint8_t *wrapped;		/* points into the decoded input */
	size_t wrapped_len;
};
void keyslot_encode_header(const struct keyslot *k, struct buf *out);
int keyslot_decode(const uint8_t *p, size_t n, struct keyslot *k);

/* ---- config: config/<seq:016x>-<sha256 hex> ----
 * magic | u8 kind=2 | u8 version | u64 seq | seal header[32] (symmetric,
 * SYM_CONFIG), then sealed (nonce 0, AEAD data = those 46 bytes):
 * the config body followed by the root key's signature of the body. */
#define CONFIG_HDR_LEN (4 + 1 + 1 + 8 + SEAL_HDR_LEN)
enum epoch_state { EPOCH_ACTIVE = 0, EPOCH_RETIRED = 1 };
struct cfg_epoch {
	uint32_t number;
	uint8_t pk[PK_LEN];
	uint8_t state;
};
struct cfg_key {
	uint8_t slot_id[SLOT_ID_LEN];
	uint8_t role;
	char *name;
	int64_t created_ns;
	uint8_t has_signer;
	uint8_t signer_pk[PK_LEN];
	uint8_t has_box;		/* owner and read-only: grants go to box_pk */
	uint8_t box_pk[PK_LEN];
	uint8_t revoked;
	uint32_t n_allowed;		/* snapshots accepted from a revoked key */
	uint8_t (*allowed)[ID_LEN];
};
struct config {
	uint64_t seq;			/* increases with every change */
	uint8_t repo_id[16];
	uint8_t root_pk[PK_LEN];
	int64_t created_ns;
	uint32_t chunk_min, chunk_avg, chunk_max;
	uint32_t pack_size;		/* target plaintext bytes per pack */
	uint8_t compression;		/* 0 none, 1 zstd */
	int8_t level;
	uint32_t epoch;			/* the epoch new objects are sealed to */
	uint32_t n_epochs;
	struct cfg_epoch *epochs;
	uint32_t n_keys;
	struct cfg_key *keys;
};
/* config_encode_body(c, out): the signed body (the seq is inside too). */
void config_encode_body(const struct config *c, struct buf *out);
int config_decode_body(const uint8_t *p, size_t n, struct config *c);
void config_free(struct config *c);
/* config_find_key(c, slot_id): the key entry, or NULL. */
struct cfg_key *config_find_key(const struct config *c, const uint8_t slot_id[SLOT_ID_LEN]);
/* config_find_epoch(c, number): the epoch entry, or NULL. */
const struct cfg_epoch *config_find_epoch(const struct config *c, uint32_t number);
/* config_copy(dst, src): a deep copy. */
void config_copy(struct config *dst, const struct config *src);

/* ---- grant: grants/<slot_id hex>-<epoch:08x>-<sha256 hex> ----
 * magic | u8 kind=9 | u8 version | slot_id[16] | u32 epoch |
 * sealed[GRANT_SEALED_LEN] (crypto.h, keyring_grant).  grant_decode
 * checks the length exactly and points g->sealed into p.
 * grant_name(g, hash, out): the object name. */
#define GRANT_LEN (4 + 1 + 1 + SLOT_ID_LEN + 4 + GRANT_SEALED_LEN)
#define GRANT_PREFIX "grants/"
struct grant {
	uint8_t slot_id[SLOT_ID_LEN];
	uint32_t epoch;
	const uint8_t *sealed;
};
void grant_encode(const struct grant *g, uint8_t out[GRANT_LEN]);
int grant_decode(const uint8_t *p, size_t n, struct grant *g);
void grant_name(const struct grant *g, const uint8_t hash[32], char out[128]);

/* ---- pack: data/<first two hex>/<sha256 hex> ----
 * envelope (kind 3) | blob ciphertexts (each sealed with its offset in
 * the pack as nonce, AEAD data u8 type || id) |
 * sealed trailer (nonce PACK_TRAILER_NONCE) | random padding |
 * sealed footer (nonce PACK_FOOTER_NONCE): u64 trailer offset, u32
 * trailer length; PACK_FOOTER_LEN bytes at the very end. */
#define PACK_TRAILER_NONCE (UINT64_C(1) << 62)
#define PACK_FOOTER_NONCE (PACK_TRAILER_NONCE + 1)
#define PACK_FOOTER_PLAIN 12
#define PACK_FOOTER_LEN (PACK_FOOTER_PLAIN + AEAD_TAG_LEN)
enum blob_type { BLOB_DATA = 1, BLOB_TREE = 2 };
enum blob_comp { COMP_NONE = 0, COMP_ZSTD = 1 };
struct pack_entry {
	uint8_t type;
	uint8_t comp;
	uint8_t id[ID_LEN];
	uint32_t offset;	/* from the start of the pack */
	uint32_t length;	/* stored bytes: ciphertext and tag */
	uint32_t raw_length;	/* plaintext after decompression */
};
/* pack_trailer_encode(e, n, out) / decode: u32 count, then per entry
 * u8 type | u8 comp | id[32] | u32 offset | u32 length | u32 raw_length.
 * The decoder checks that blobs lie in order, back to back from
 * ENVELOPE_LEN, each at least AEAD_TAG_LEN long, ending at end_offset
 * (the trailer's offset). */
void pack_trailer_encode(const struct pack_entry *e, uint32_t n, struct buf *out);
int pack_trailer_decode(const uint8_t *p, size_t n, uint64_t end_offset,
    struct pack_entry **e, uint32_t *count);
void pack_footer_encode(uint64_t trailer_off, uint32_t trailer_len, uint8_t out[PACK_FOOTER_PLAIN]);
int pack_footer_decode(const uint8_t *p, size_t n, uint64_t pack_size,
    uint64_t *trailer_off, uint32_t *trailer_len);
/* padme(len): the padded length of an object of len bytes (Padmé: leaks
 * O(log log len) bits of the length, overhead at most ~12%). */
uint64_t padme(uint64_t len);

/* ---- index: index/<sha256 hex> ----
 * envelope (kind 4, pk-sealed) | u32 length L | L bytes sealed (nonce 0):
 * locations body | seal header[32] (symmetric, SYM_DEDUP) | u32 length M |
 * M bytes sealed (nonce 0): dedup body.  AEAD data for both: the envelope.
 * locations body: u8 version | u32 npacks, pack ids | u32 n, per entry
 *   u8 type | u8 comp | id[32] | u32 pack | u32 offset | u32 length |
 *   u32 raw_length | u32 nsuper, superseded index ids.
 * dedup body: u8 version | u32 n, per entry u8 type | id[32]. */
struct index_body {
	uint32_t n_packs;
	uint8_t (*packs)[ID_LEN];
	uint32_t n;
	struct index_loc {
		struct pack_entry e;	/* offset etc. within pack */
		uint32_t pack;		/* index into packs */
	} *locs;
	uint32_t n_super;
	uint8_t (*supersedes)[ID_LEN];
};
void index_encode_locations(const struct index_body *b, struct buf *out);
int index_decode_locations(const uint8_t *p, size_t n, struct index_body *b);
struct dedup_entry {
	uint8_t type;
	uint8_t id[ID_LEN];
};
void index_encode_dedup(const struct dedup_entry *e, uint32_t n, struct buf *out);
int index_decode_dedup(const uint8_t *p, size_t n, struct dedup_entry **e, uint32_t *count);
void index_body_free(struct index_body *b);

/* ---- prune plan and wait list (docs/FORMAT.md, "Prune") ----
 * plan body: u8 version | i64 created_ns | u32 n, pack ids[32] (the packs
 * the plan deletes), strictly increasing.  The plan object also carries a
 * dedup body (the condemned blob IDs) exactly like an index.
 * wait body: u8 version | raw[32] plan (SHA-256 name of the plan object) |
 * i64 created_ns | u32 n, session ids[16], strictly increasing. */
#define SESSION_ID_LEN 16
struct prune_plan {
	int64_t created_ns;
	uint32_t n_packs;
	uint8_t (*packs)[ID_LEN];
};
void plan_encode(const struct prune_plan *p, struct buf *out);
int plan_decode(const uint8_t *p, size_t n, struct prune_plan *pl);
void plan_free(struct prune_plan *pl);
struct prune_wait {
	uint8_t plan[ID_LEN];
	int64_t created_ns;
	uint32_t n;
	uint8_t (*sessions)[SESSION_ID_LEN];
};
void wait_encode(const struct prune_wait *w, struct buf *out);
int wait_decode(const uint8_t *p, size_t n, struct prune_wait *w);
void wait_free(struct prune_wait *w);

/* ---- forget record: forgotten/<sha256 hex> (not sealed) ----
 * magic | u8 kind=8 | u8 version | signer_slot[16] | i64 time_ns |
 * u32 count (>= 1) | count snapshot IDs [32] | signature[64] of all that
 * precedes it, by the named slot's signing key (an owner key). */
struct forget_rec {
	uint8_t signer_slot[SLOT_ID_LEN];
	int64_t time_ns;
	uint32_t n;
	uint8_t (*ids)[ID_LEN];
};
/* forget_encode_body(f, out): everything but the signature. */
void forget_encode_body(const struct forget_rec *f, struct buf *out);
/* forget_decode(p, n, f, &body_len): the record and the length of the
 * signed part (the signature is the last SIG_LEN bytes of p). */
int forget_decode(const uint8_t *p, size_t n, struct forget_rec *f, size_t *body_len);
void forget_free(struct forget_rec *f);

/* ---- snapshot: snapshots/<sha256 hex> ----
 * envelope (kind 5, pk-sealed) | sealed (nonce 0): body | signature[64]
 * by the signer named in the body. */
struct snapshot {
	int64_t time_ns;
	char *hostname;
	char *username;
	uint32_t n_paths;
	char **paths;
	uint32_t n_tags;
	char **tags;
	uint8_t tree[ID_LEN];
	uint8_t parent[ID_LEN];		/* all zero: none */
	uint64_t files, dirs, bytes;	/* what the tree holds */
	uint64_t added_bytes;		/* new stored bytes of this backup */
	uint32_t n_unreadable;		/* paths that could not be read */
	char **unreadable;
	uint32_t n_changed;		/* files that changed while read */
	char **changed;
	uint32_t n_copies;		/* copies that held it when written */
	char **copies;
	uint8_t signer_slot[SLOT_ID_LEN];
	uint8_t signer_pk[PK_LEN];
	char *program;			/* "twofold 0.1.0" */
};
void snapshot_encode(const struct snapshot *s, struct buf *out);
int snapshot_decode(const uint8_t *p, size_t n, struct snapshot *s);
void snapshot_free(struct snapshot *s);

/* ---- tree: a blob of type BLOB_TREE inside a pack ----
 * u8 version | u32 count | nodes sorted by name (bytewise), names unique,
 * non-empty, at most 255 bytes, without '/' or NUL, not "." or "..". */
enum node_type {
	NODE_FILE = 1,
	NODE_DIR = 2,
	NODE_SYMLINK = 3,
	NODE_FIFO = 4,
	NODE_CHAR = 5,
	NODE_BLOCK = 6,
	NODE_SOCKET = 7,
};
#define NODE_CHANGED 1		/* flags: the file changed while read */
struct xattr {
	char *name;
	uint8_t *value;
	uint32_t len;
};
struct node {
	uint8_t *name;
	uint32_t name_len;
	uint8_t type;
	uint8_t flags;
	uint32_t mode;		/* st_mode & 07777 */
	uint32_t uid, gid;
	char *user, *group;	/* "" if unknown */
	int64_t mtime_ns, atime_ns, ctime_ns;
	uint64_t size;
	uint64_t dev, ino;	/* hardlink identity when nlink > 1 */
	uint32_t nlink;
	uint64_t rdev;
	uint8_t *link;		/* symlink target */
	uint32_t link_len;
	uint32_t n_xattrs;
	struct xattr *xattrs;
	uint32_t n_chunks;	/* files */
	uint8_t (*chunks)[ID_LEN];
	uint8_t subtree[ID_LEN];	/* directories */
};
/* node encoding: bytes name | u8 type | u8 flags | u32 mode | u32 uid |
 * u32 gid | str user | str group | i64 mtime | i64 atime | i64 ctime |
 * u64 size | u64 dev | u64 ino | u32 nlink | u64 rdev | bytes link |
 * u32 nxattr, (str name, bytes value) each | then for files u32 n,
 * chunk ids; for directories subtree id[32]; nothing for other types. */
struct tree {
	uint32_t n;
	struct node *nodes;
};
/* tree_encode(t, out): nodes must already be sorted and unique. */
void tree_encode(const struct tree *t, struct buf *out);
int tree_decode(const uint8_t *p, size_t n, struct tree *t);
/* tree_decode_why(p, n, t, why, whyn): tree_decode that, on failure,
 * writes into why (whyn bytes) which entry was rejected and why (its name
 * escaped), e.g. 'entry 2 "..": not a valid name (...)'. */
int tree_decode_why(const uint8_t *p, size_t n, struct tree *t, char *why, size_t whyn);
void tree_free(struct tree *t);
void node_free(struct node *n);
/* node_cmp(a, b): bytewise name order, for qsort. */
int node_cmp(const void *a, const void *b);
/* name_valid(p, n): 1 if p is an acceptable tree entry name. */
int name_valid(const uint8_t *p, size_t n);

#endif
