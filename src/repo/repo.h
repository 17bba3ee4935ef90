/* repo: a repository opened with a key.  Joins store (bytes by name),
 * crypto (keys, sealing), format (encodings) and the chunker into the
 * operations the engine needs: blobs by ID, trees, snapshots, config,
 * key slots.  The engine never touches a store or a key directly.
 * Depends on util, crypto, chunker, format, store. */
#ifndef TWOFOLD_REPO_H
#define TWOFOLD_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "chunker/chunker.h"
#include "crypto/crypto.h"
#include "format/format.h"
#include "store/store.h"	/* the copy types only; the engine never calls a store */
#include "util/buf.h"

struct repo;
struct store;

/* Results of reads: 0 ok, -1 error; these tell what went wrong with an
 * object that was found. */
#define R_MISSING 1
#define R_CORRUPT 2

/* repo_init(url, pass, n, keyname, level): create a repository (zstd
 * level 1..19 for blobs, 0 for no compression): store layout,
 * a new owner keyring, its key slot, config sequence 1.  Prints the
 * repository ID.  -1 on failure (nothing usable is left half made: the
 * config, written last, is what makes a store a repository). */
int repo_init(const char *url, const char *pass, size_t n, const char *keyname, int level);
/* repo_open(url, pass, n): open the store, find the key slot the
 * passphrase opens (wrong passphrase: message, NULL, *wrong_pass set),
 * load and verify the newest config. */
struct repo *repo_open(const char *url, const char *pass, size_t n, int *wrong_pass);
/* repo_close(r): flushes nothing (call repo_flush first); NULL-safe. */
void repo_close(struct repo *r);

enum key_role repo_role(const struct repo *r);
const struct config *repo_config(const struct repo *r);
const struct keyring *repo_keyring(const struct repo *r);
/* repo_list(r, prefix, fn, arg): list the store's objects under prefix
 * ("index/", "data/", ...): fn(arg, name, size); see store_list. */
int repo_list(struct repo *r, const char *prefix, int (*fn)(void *, const char *, uint64_t), void *arg);
/* ---- copies (see store.h, "Copies") ----
 * repo_copies(r): how many copies r was opened with (1 for one URL);
 * repo_copy_url(r, i); repo_copy_list(r, i, prefix, fn, arg): list copy i
 * alone; repo_copy_info(r, i, &ci): what copy i did this session;
 * repo_copies_sync: store_copies_sync on r's copies. */
size_t repo_copies(const struct repo *r);
const char *repo_copy_url(const struct repo *r, size_t i);
int repo_copy_list(struct repo *r, size_t i, const char *prefix,
    int (*fn)(void *, const char *, uint64_t), void *arg);
void repo_copy_info(struct repo *r, size_t i, struct store_copy_info *ci);
int repo_copies_sync(struct repo *r, unsigned flags, uint32_t targets,
    store_problem_fn fn, void *arg, struct store_sync_stats *stats);
/* repo_record_forget(r, ids, n): before removing snapshots, write a forget
 * record naming them, signed by the open owner key (forgotten/<sha256>).
 * repo_forgotten(r, fn, arg): fn(arg, id) for every snapshot a valid
 * record names (records not signed by an owner key are reported and
 * skipped). */
int repo_record_forget(struct repo *r, const uint8_t (*ids)[ID_LEN], size_t n);
typedef void (*repo_forgotten_fn)(void *arg, const uint8_t id[ID_LEN]);
int repo_forgotten(struct repo *r, repo_forgotten_fn fn, void *arg);
/* repo_copy_access(r, i, &can, &known, probe, n): store_check_access on
 * copy i alone (ACCESS_* bits). */
int repo_copy_access(struct repo *r, size_t i, unsigned *can, unsigned *known, char *probe, size_t n);
/* repo_create_copy(url): make the store layout of a new, empty copy.
 * 1 (with a message) if it already holds a repository. */
int repo_create_copy(const char *url);
/* repo_url(r): the URL of the store, for messages and snapshots. */
const char *repo_url(const struct repo *r);
/* repo_id_hex(r, out): the repository ID in hex (33 bytes). */
void repo_id_hex(const struct repo *r, char out[33]);
/* repo_chunker(r): the keyed chunker of this repository. */
const struct chunker *repo_chunker(const struct repo *r);
/* repo_need(r, role_mask, what): 0 if the open key's role is in the mask
 * (1 << ROLE_*), else a message "KEY is a ROLE key: it cannot WHAT" and -1. */
int repo_need(const struct repo *r, unsigned role_mask, const char *what);
#define CAN_OWNER (1u << ROLE_OWNER)
#define CAN_WRITE (1u << ROLE_WRITE)
#define CAN_READ (1u << ROLE_READ)

/* ---- index ---- */
/* repo_load_index(r): read every index object (locations, or for a
 * write-only key the dedup lists).  Damaged index objects are reported
 * and skipped; returns the number skipped, or -1 on error. */
int repo_load_index(struct repo *r);
/* repo_has_blob(r, type, id): 1 if the repository (or this session's
 * unwritten packs) holds the blob.  Thread-safe, as is repo_add_blob:
 * the backup pipeline calls both from several threads. */
int repo_has_blob(struct repo *r, uint8_t type, const uint8_t id[ID_LEN]);
/* repo_blob_size(r, id, &raw): the plaintext size of a known blob. */
int repo_blob_size(const struct repo *r, const uint8_t id[ID_LEN], uint32_t *raw);
/* repo_index_entries(r): how many blobs the loaded index knows. */
uint64_t repo_index_entries(const struct repo *r);
/* repo_blob_info(r, id, &type, &stored, &raw): a blob's type, stored
 * bytes (ciphertext and tag) and plaintext bytes from the loaded
 * locations; R_MISSING if they do not name it. [repo_forget.c] */
int repo_blob_info(struct repo *r, const uint8_t id[ID_LEN], uint8_t *type,
    uint32_t *stored, uint32_t *raw);

/* ---- writing ---- */
/* repo_blob_id(r, p, n, id): the keyed ID of a plaintext blob. */
void repo_blob_id(const struct repo *r, const void *p, size_t n, uint8_t id[ID_LEN]);
/* repo_add_blob(r, type, id, p, n, &stored): add a blob unless it is
 * known; *stored receives the bytes it adds to the repository (0 if it
 * was a duplicate).  Full packs are written as they fill. */
int repo_add_blob(struct repo *r, uint8_t type, const uint8_t id[ID_LEN],
    const uint8_t *p, size_t n, uint64_t *stored);
/* repo_add_blob_give(r, type, id, &p, n, &stored): the same, but p (from
 * malloc) becomes the repository's, and p NULL, when the blob is stored
 * as it is: incompressible data is not copied again. */
int repo_add_blob_give(struct repo *r, uint8_t type, const uint8_t id[ID_LEN],
    uint8_t **p, size_t n, uint64_t *stored);
/* repo_flush(r): write the open pack and an index of every pack written
 * since the last flush.  After it returns 0 the blobs are durable. */
int repo_flush(struct repo *r);
/* repo_save_tree(r, t, id, &stored): encode, ID and add a tree blob. */
int repo_save_tree(struct repo *r, const struct tree *t, uint8_t id[ID_LEN], uint64_t *stored);
/* repo_save_snapshot(r, s, id): sign with the open key, seal, store. */
int repo_save_snapshot(struct repo *r, struct snapshot *s, uint8_t id[ID_LEN]);

/* ---- reading ---- */
/* repo_read_blob(r, id, out): locate, read, decrypt, decompress and verify
 * the ID of a blob; appended to out.  R_MISSING if no index or pack has
 * it, R_CORRUPT if it fails authentication or its ID; both with a message
 * naming the pack. */
int repo_read_blob(struct repo *r, const uint8_t id[ID_LEN], struct buf *out);
/* repo_load_tree(r, id, t): read and decode a tree blob. */
int repo_load_tree(struct repo *r, const uint8_t id[ID_LEN], struct tree *t);

/* ---- snapshots ---- */
enum snap_status { SNAP_OK = 0, SNAP_REVOKED_OK = 1, SNAP_BAD = 2 };
struct snap_item {
	uint8_t id[ID_LEN];
	struct snapshot s;
	int status;
	char why[160];		/* for SNAP_BAD: the reason */
};
struct snap_list {
	size_t n;
	struct snap_item *v;	/* sorted by time, oldest first */
};
/* repo_list_snapshots(r, out): read, decrypt and verify every snapshot.
 * Bad ones are in the list with status SNAP_BAD and a reason; callers
 * must never treat them as good. */
int repo_list_snapshots(struct repo *r, struct snap_list *out);
void snap_list_free(struct snap_list *l);
/* repo_find_snapshot(r, spec, l, &item): resolve "latest" or a unique
 * hex prefix among the good snapshots of l; message and -1 otherwise. */
int repo_find_snapshot(const char *spec, const struct snap_list *l, const struct snap_item **item);
/* repo_delete_snapshot(r, id): remove the object snapshots/<id> from
 * every copy (owner only); its data stays until prune.  0, R_MISSING if
 * it is not there, -1; each with a message. [repo_forget.c] */
int repo_delete_snapshot(struct repo *r, const uint8_t id[ID_LEN]);

/* ---- packs, for check ---- */
/* repo_pack_name(id, out): "data/ab/<hex>". */
void repo_pack_name(const uint8_t id[ID_LEN], char out[80]);
/* repo_pack_entries(r, id, &e, &n): read footer and trailer of a pack. */
int repo_pack_entries(struct repo *r, const uint8_t id[ID_LEN], struct pack_entry **e, uint32_t *n);
/* repo_pack_verify(r, id, &bad): read a whole pack: its name must be its
 * SHA-256, and every blob must decrypt and match its ID.  Returns 0 and the
 * count of bad blobs, R_MISSING, R_CORRUPT (name mismatch, unreadable
 * trailer) or -1. */
int repo_pack_verify(struct repo *r, const uint8_t id[ID_LEN], uint32_t *bad);
/* repo_for_each_blob(r, fn, arg): every blob of the loaded index: its id,
 * type and the pack that holds it. */
typedef int (*repo_blob_fn)(void *arg, const uint8_t id[ID_LEN], uint8_t type, const uint8_t pack[ID_LEN]);
int repo_for_each_blob(const struct repo *r, repo_blob_fn fn, void *arg);
/* repo_index_packs(r, &ids, &n): the packs the index names (not copied). */
void repo_index_packs(const struct repo *r, const uint8_t (**ids)[ID_LEN], uint32_t *n);

/* ---- backup sessions and prune (docs/FORMAT.md, "Prune") ---- */
/* repo_session_begin(r): start a backup session: write its marker
 * (renewed every 10 minutes by a thread until it ends), read the blob IDs
 * that prune plans condemn, load the index (repo_load_index) and mark
 * those blobs so that the session stores them again instead of
 * deduplicating against them.  Returns what repo_load_index returns. */
int repo_session_begin(struct repo *r);
/* repo_session_check(r): call right before saving the snapshot.  0 if
 * the session kept its heartbeat; if it stalled (no marker for more than
 * two heartbeats: a suspended machine), 0 only if no prune can have
 * removed anything it relies on, else -1 with a message (the snapshot
 * must not be written). */
int repo_session_check(struct repo *r);
/* repo_session_end(r): after the snapshot (or after a failure): stop the
 * heartbeat and write the session's end marker.  NULL-safe to repeat. */
int repo_session_end(struct repo *r);

/* ---- the pack journal (engine/journal.c; docs/FORMAT.md, "Pack journal") ----
 * A backup records outside the repository every pack it stores until an
 * index object names it, so that the next run indexes what an interrupted
 * run stored instead of uploading it again. */
struct repo_pack_hooks {
	/* sealed(arg, id, size, e, n): pack id, of size bytes, holding the
	 * blobs e[0..n) (its trailer's entries), is about to be stored; called
	 * from the thread that stores it, before the upload starts. */
	void (*sealed)(void *arg, const uint8_t id[ID_LEN], uint64_t size,
	    const struct pack_entry *e, uint32_t n);
	/* indexed(arg, ids, n): an index object naming packs ids[0..n) is
	 * stored. */
	void (*indexed)(void *arg, const uint8_t (*ids)[ID_LEN], uint32_t n);
	void *arg;
};
/* repo_set_pack_hooks(r, h): call h from now on (NULL: no more calls).
 * Set it while no other thread adds blobs. */
void repo_set_pack_hooks(struct repo *r, const struct repo_pack_hooks *h);
/* repo_adopt_pack(r, id, size, e, n): a pack an interrupted backup stored
 * but did not index.  If no loaded index names it yet, no prune plan this
 * session read condemns one of its blobs, every copy holds it at exactly
 * size bytes, and (for a key that can open it) its trailer lists exactly
 * e[0..n), its blobs become known and the next index object (repo_flush)
 * names it.  Call after repo_session_begin, before adding blobs.  0
 * adopted, 1 not usable (why, at verbosity 1 or as a warning), -1 if a
 * copy could not be asked (try again another time). */
int repo_adopt_pack(struct repo *r, const uint8_t id[ID_LEN], uint64_t size,
    const struct pack_entry *e, uint32_t n);

#define PRUNE_DEFAULT_THRESHOLD 10			/* percent unused */
#define PRUNE_DEFAULT_GRACE_NS (INT64_C(86400) * 1000000000)	/* 24 h */
struct prune_opts {
	int dry_run;			/* compute and report; write nothing */
	unsigned repack_threshold;	/* repack packs with >= this % unused */
	int64_t grace_ns;		/* a backup silent this long is dead */
	/* rekey (0: off): also repack every pack, and rewrite every index
	 * object, sealed to another epoch than this one, up to rekey_budget
	 * bytes of packs per run (0: no limit) */
	uint32_t rekey_epoch;
	uint64_t rekey_budget;
};
struct prune_result {
	uint64_t snapshots, packs, blobs, blobs_referenced;
	/* found now (or, dry run, would be done) */
	uint64_t packs_unused, packs_repack, packs_orphan;
	uint64_t blobs_condemned, bytes_unused;
	uint64_t blobs_repacked, bytes_repacked;	/* plaintext moved */
	uint64_t packs_rekey, index_rekey;	/* sealed to an older epoch */
	/* plans */
	uint64_t plans_made, plans_done, plans_waiting, sessions_waited;
	/* effects */
	uint64_t packs_deleted, packs_kept, index_deleted, index_written;
	uint64_t bytes_deleted, bytes_written;
};
/* repo_prune(r, o, res): one prune run (owner key only): execute the
 * plans whose backups have finished, then mark, repack and write a new
 * plan, and execute it at once if no backup runs.  Safe beside running
 * backups and against a crash at any point (see FORMAT.md).  0 or -1. */
int repo_prune(struct repo *r, const struct prune_opts *o, struct prune_result *res);
/* prune_select(size, used, threshold): 0 keep, 1 delete (nothing used),
 * 2 repack (at least threshold percent of size unused). */
int prune_select(uint64_t size, uint64_t used, unsigned threshold);

/* ---- data-key epochs [repo_rekey.c] (docs/FORMAT.md, "Epochs") ---- */
/* repo_key_rotate(r, &epoch): start a new epoch (owner only): its secret
 * key granted to every owner and read-only key not revoked, then the
 * config makes it current; *epoch gets its number. */
int repo_key_rotate(struct repo *r, uint32_t *epoch);
struct rekey_opts {
	uint64_t budget;		/* bytes of packs to repack per run; 0 all */
	unsigned repack_threshold;	/* as prune's */
	int64_t grace_ns;
};
struct rekey_pair {
	uint8_t old_id[ID_LEN], new_id[ID_LEN];
};
struct rekey_result {
	uint32_t epoch;			/* the current epoch */
	uint64_t snapshots_resealed, snapshots_unreadable;
	struct rekey_pair *pairs;	/* snapshots under their new IDs */
	size_t n_pairs;
	struct prune_result prune;	/* the packs and index objects */
	uint64_t left_objects;		/* still sealed to an older epoch */
	char left_reason[240];		/* why older epochs stay, if not that */
	uint32_t retired[MAX_EPOCHS];	/* retired by this run */
	uint32_t n_retired;
	uint64_t grants_deleted;
	int complete;			/* no older active epoch remains */
};
/* repo_rekey(r, o, res): one resumable step of re-encryption (owner
 * only): reseal old snapshots (new IDs, a forget record for the old),
 * repack old packs and rewrite old index objects (a prune run), and, when
 * no copy holds anything sealed to an older epoch and no backup runs,
 * retire the older epochs and delete their grants from every copy.
 * Free res with rekey_result_free. */
int repo_rekey(struct repo *r, const struct rekey_opts *o, struct rekey_result *res);
void rekey_result_free(struct rekey_result *res);
/* repo_purge_retired_grants(r, &n): delete grants of retired epochs from
 * every copy (so that 'sync' and 'repair' never bring them back). */
int repo_purge_retired_grants(struct repo *r, uint64_t *deleted);

/* repo_check_grants(r, fn, arg): every grant object, for check:
 * fn(arg, 2, msg) for a damaged one, fn(arg, 1, msg) for one of a retired
 * epoch and for a key of the config that may read but has no grant of the
 * current epoch.  -1 if the store fails. */
typedef void (*repo_grant_fn)(void *arg, int severity, const char *msg);
int repo_check_grants(struct repo *r, repo_grant_fn fn, void *arg);

/* repo_snapshot_plain(r, name, &epoch, plain): a snapshot object's
 * plaintext (body and signature, unverified) appended to plain.
 * repo_snapshot_reseal(r, p, n, id): store such plaintext sealed to the
 * current epoch. [repo_snap.c] */
int repo_snapshot_plain(struct repo *r, const char *name, uint32_t *epoch, struct buf *plain);
int repo_snapshot_reseal(struct repo *r, const uint8_t *plain, size_t n, uint8_t id[ID_LEN]);

/* ---- keys and config ---- */
/* repo_key_add(r, role, name, pass, n, slot_out): a new slot; updates the
 * config (owner only). */
int repo_key_add(struct repo *r, enum key_role role, const char *name,
    const char *pass, size_t n, uint8_t slot_out[SLOT_ID_LEN]);
/* repo_key_passwd(r, pass, n): rewrap the open slot under a new
 * passphrase: the new slot object is written before the old is removed. */
int repo_key_passwd(struct repo *r, const char *pass, size_t n);
/* repo_key_remove(r, prefix): remove another slot (never the open one)
 * and its config entry. */
int repo_key_remove(struct repo *r, const char *prefix);
/* repo_key_revoke(r, prefix, slot_out, &n_allowed): mark another key of
 * the config revoked (owner only; never the open one): the snapshots it
 * signed that are good now are listed in its entry and stay valid
 * (SNAP_REVOKED_OK); any other snapshot it signs, whatever its time, is
 * rejected.  Its key slot stays (so it is told, see repo_key_is_revoked).
 * slot_out and n_allowed (may be NULL) receive the key and the count of
 * its snapshots kept.  [repo_revoke.c] */
int repo_key_revoke(struct repo *r, const char *prefix, uint8_t slot_out[SLOT_ID_LEN],
    uint32_t *n_allowed);
/* repo_key_is_revoked(r): 1 if the key r was opened with is revoked in
 * its config. [repo_revoke.c] */
int repo_key_is_revoked(const struct repo *r);
struct key_item {
	uint8_t slot_id[SLOT_ID_LEN];
	char object[96];
	int current;			/* the slot this session opened */
	const struct cfg_key *cfg;	/* NULL if the config lacks it */
	uint8_t role;
	int64_t created_ns;
	int damaged;			/* unreadable or malformed: only object is set */
};
/* repo_key_list(r, &items, &n): every key slot object with its config
 * entry; slots that cannot be read or decoded are listed with damaged set. */
int repo_key_list(struct repo *r, struct key_item **items, size_t *n);
/* repo_write_config(r, c): store c as the next config (seq + 1), signed by
 * the root key; becomes the current config of r. Owner only. */
int repo_write_config(struct repo *r, const struct config *c);
/* repo_read_object(r, name, out): a whole object's bytes, its name checked
 * against its SHA-256 where the name carries one. */
int repo_read_object(struct repo *r, const char *name, struct buf *out);
/* repo_decode_index(r, name, &b): read and open an index object's
 * locations (owner and read-only). */
int repo_decode_index(struct repo *r, const char *name, struct index_body *b);

#endif
