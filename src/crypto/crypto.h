/* crypto: every secret of a repository and every use of it.
 *
 * Key bytes never leave this module: callers hold an opaque struct keyring
 * and name keys by purpose.  The only way out is keyring_export(), whose
 * output is wrapped at once by slot_wrap().  See docs/FORMAT.md,
 * "Cryptography", for the exact constructions.
 *
 * Depends on util, buf, codec; libsodium and OpenSSL libcrypto. */
#ifndef TWOFOLD_CRYPTO_H
#define TWOFOLD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define ID_LEN 32		/* chunk IDs, object names (raw bytes) */
#define PK_LEN 32		/* X25519 and Ed25519 public keys */
#define SIG_LEN 64		/* Ed25519 signature */
#define SEAL_HDR_LEN 32		/* ephemeral public key, or salt */
#define AEAD_TAG_LEN 16		/* AES-256-GCM tag */
#define SLOT_ID_LEN 16		/* key slot identifier */
#define MAX_EPOCHS 64
#define GRANT_SEALED_LEN 132	/* crypto_box_seal of slot_id, epoch, pk, sk */

/* crypto_init(): initialise libsodium; -1 on failure.  Call once. */
int crypto_init(void);
/* rand_bytes(p, n): n random bytes: from the operating system's CSPRNG,
 * or past 256 bytes, ChaCha20 keyed by 32 bytes from it. */
void rand_bytes(void *p, size_t n);
/* sha256(p, n, out): plain SHA-256, used for object names only (a hash of
 * ciphertext, never of plaintext). */
void sha256(const void *p, size_t n, uint8_t out[32]);
/* ct_equal(a, b, n): constant-time comparison; 1 if equal. */
int ct_equal(const void *a, const void *b, size_t n);

enum key_role {
	ROLE_OWNER = 1,		/* everything */
	ROLE_WRITE = 2,		/* backup only: holds public epoch keys */
	ROLE_READ = 3,		/* restore and check: no signing key */
};
/* role_name(r): "owner", "write-only", "read-only" or "?". */
const char *role_name(int r);

struct keyring;

/* keyring_new_repo(): a fresh owner keyring for a new repository: random
 * id, chunker, config and root-signing keys, epoch 1 key pair, and a
 * signing key pair, box key pair and slot ID of its own. */
struct keyring *keyring_new_repo(void);
/* keyring_derive(kr, role): a keyring for a new slot of the given role,
 * made from an owner keyring: the repository secrets the role may hold,
 * a new slot ID, (owner and write-only) a new signing key pair, (owner and
 * read-only) a new box key pair, and the public epoch keys.
 * NULL if kr is not an owner keyring. */
struct keyring *keyring_derive(const struct keyring *kr, enum key_role role);
/* keyring_free(kr): wipe and free; NULL-safe. */
void keyring_free(struct keyring *kr);

enum key_role keyring_role(const struct keyring *kr);
/* keyring_slot_id(kr, out): this slot's identifier. */
void keyring_slot_id(const struct keyring *kr, uint8_t out[SLOT_ID_LEN]);
/* keyring_signer_pk(kr, out): the slot's Ed25519 public key; -1 if the
 * slot has none (read-only). */
int keyring_signer_pk(const struct keyring *kr, uint8_t out[PK_LEN]);
/* keyring_root_pk(kr, out): the repository's root (config) public key. */
void keyring_root_pk(const struct keyring *kr, uint8_t out[PK_LEN]);
/* keyring_box_pk(kr, out): the slot's X25519 key that grants are sealed
 * to; -1 if it has none (write-only). */
int keyring_box_pk(const struct keyring *kr, uint8_t out[PK_LEN]);
/* keyring_epoch(kr): the newest data-key epoch the keyring knows, 0 if
 * none. */
uint32_t keyring_epoch(const struct keyring *kr);
/* keyring_epoch_pk(kr, epoch, out): that epoch's X25519 public key; -1 if
 * unknown. */
int keyring_epoch_pk(const struct keyring *kr, uint32_t epoch, uint8_t out[PK_LEN]);
/* keyring_can_decrypt(kr, epoch): 1 if the keyring holds that epoch's
 * secret key. */
int keyring_can_decrypt(const struct keyring *kr, uint32_t epoch);

/* Data-key epochs.  A slot's payload holds no epoch keys: the public ones
 * come from the root-signed config, the secret ones from grants, each the
 * epoch's secret key sealed (crypto_box_seal) to one slot's box key.
 * These change the keyring, so call them while opening a repository,
 * before threads share it.
 * keyring_set_epoch_pk(kr, number, pk): learn an epoch's public key
 * (numbers strictly increasing); -1 on a conflict or too many epochs.
 * keyring_new_epoch(kr, number, pk): make a new epoch key pair (owner
 * only); its public key in pk.
 * keyring_grant(kr, epoch, slot, box_pk, out): seal the epoch's secret key
 * to another slot; -1 if kr lacks it.
 * keyring_accept_grant(kr, epoch, sealed): open a grant sealed to this
 * slot; accepted only if it names this slot and epoch and its key matches
 * the epoch's known public key.  -1 otherwise (nothing changes). */
int keyring_set_epoch_pk(struct keyring *kr, uint32_t number, const uint8_t pk[PK_LEN]);
int keyring_new_epoch(struct keyring *kr, uint32_t number, uint8_t pk[PK_LEN]);
int keyring_grant(const struct keyring *kr, uint32_t epoch, const uint8_t slot[SLOT_ID_LEN],
    const uint8_t box_pk[PK_LEN], uint8_t out[GRANT_SEALED_LEN]);
int keyring_accept_grant(struct keyring *kr, uint32_t epoch, const uint8_t sealed[GRANT_SEALED_LEN]);

/* keyring_export(kr, out) / keyring_import(p, n): the secret payload of a
 * key slot (docs/FORMAT.md, "Key slot payload").  The output is secret:
 * wrap it and wipe it (buf_wipe_free).  keyring_import returns NULL on a
 * malformed payload (every field checked, no trailing bytes). */
int keyring_export(const struct keyring *kr, struct buf *out);
struct keyring *keyring_import(const uint8_t *p, size_t n);

/* keyring_chunk_id(kr, p, n, id): the keyed chunk ID, HMAC-SHA256 under
 * the repository's id key.  Thread-safe. */
void keyring_chunk_id(const struct keyring *kr, const void *p, size_t n, uint8_t id[ID_LEN]);
/* keyring_gear_table(kr, table): the chunker's 256-entry gear table,
 * derived from the chunker secret. */
void keyring_gear_table(const struct keyring *kr, uint64_t table[256]);

/* keyring_sign(kr, msg, n, sig): sign with the slot's signing key;
 * -1 if it has none.  keyring_root_sign: with the root key (owner only). */
int keyring_sign(const struct keyring *kr, const void *msg, size_t n, uint8_t sig[SIG_LEN]);
int keyring_root_sign(const struct keyring *kr, const void *msg, size_t n, uint8_t sig[SIG_LEN]);
/* sig_verify(pk, msg, n, sig): 0 if sig is a valid Ed25519 signature. */
int sig_verify(const uint8_t pk[PK_LEN], const void *msg, size_t n, const uint8_t sig[SIG_LEN]);

/* Sealing: one fresh AES-256-GCM key per object, nonces a strictly
 * increasing counter within it, so no (key, nonce) pair can repeat.
 *
 * Public-key mode (packs, snapshots, index locations): the writer makes an
 * ephemeral X25519 key pair; the object key is derived from the shared
 * secret with the epoch's public key; the header is the ephemeral public
 * key.  Only holders of the epoch's secret key can open it.
 *
 * Symmetric mode (config, index dedup lists): the header is a random salt;
 * the object key is derived from a purpose key that every role holds. */
enum sym_purpose {
	SYM_CONFIG = 1,
	SYM_DEDUP = 2,
};

struct seal {
	void *ctx;		/* EVP_CIPHER_CTX */
	uint8_t key[32];
	uint64_t next;		/* lowest nonce seal_encrypt may still use */
};

/* seal_begin_pk(s, kr, epoch, hdr): start sealing to an epoch's public key;
 * writes the header.  -1 if the epoch is unknown. */
int seal_begin_pk(struct seal *s, const struct keyring *kr, uint32_t epoch, uint8_t hdr[SEAL_HDR_LEN]);
/* seal_begin_sym(s, kr, purpose, hdr): start sealing with a purpose key. */
void seal_begin_sym(struct seal *s, const struct keyring *kr, enum sym_purpose purpose, uint8_t hdr[SEAL_HDR_LEN]);
/* seal_open_pk(s, kr, epoch, hdr): derive the key of a pk-sealed object;
 * -1 if kr lacks the epoch's secret key (write-only keys always do). */
int seal_open_pk(struct seal *s, const struct keyring *kr, uint32_t epoch, const uint8_t hdr[SEAL_HDR_LEN]);
/* seal_open_sym(s, kr, purpose, hdr): derive the key of a sym-sealed object. */
void seal_open_sym(struct seal *s, const struct keyring *kr, enum sym_purpose purpose, const uint8_t hdr[SEAL_HDR_LEN]);
/* seal_encrypt(s, nonce, ad, adn, in, n, out): out gets n bytes of
 * ciphertext then the 16-byte tag.  nonce must be >= s->next (checked:
 * aborts otherwise); s->next becomes nonce+1.  in and out may be equal. */
void seal_encrypt(struct seal *s, uint64_t nonce, const void *ad, size_t adn,
    const uint8_t *in, size_t n, uint8_t *out);
/* seal_decrypt(s, nonce, ad, adn, in, n, out): in holds n >= 16 bytes
 * (ciphertext and tag); out gets n-16 bytes.  -1 if authentication fails
 * (out is then zeroed). */
int seal_decrypt(struct seal *s, uint64_t nonce, const void *ad, size_t adn,
    const uint8_t *in, size_t n, uint8_t *out);
/* seal_end(s): wipe the key and free the context; safe on a zeroed seal. */
void seal_end(struct seal *s);

/* Key slots: the keyring payload wrapped under a passphrase by Argon2id
 * (libsodium crypto_pwhash, parameters stored) and XChaCha20-Poly1305. */
#define SLOT_SALT_LEN 16
#define SLOT_NONCE_LEN 24
struct kdf_params {
	uint64_t opslimit;
	uint64_t memlimit;
	uint8_t salt[SLOT_SALT_LEN];
};
/* kdf_params_default(p): current defaults (ops 3, 64 MiB) and a new salt.
 * TWOFOLD_KDF_OPS / TWOFOLD_KDF_MEM (bytes) override, within libsodium's
 * limits, for tests on small machines. */
void kdf_params_default(struct kdf_params *p);
/* slot_wrap(pass, passn, kdf, ad, adn, payload, n, out): append nonce and
 * ciphertext+tag to out; ad (the slot header) is authenticated. */
int slot_wrap(const char *pass, size_t passn, const struct kdf_params *kdf,
    const void *ad, size_t adn, const uint8_t *payload, size_t n, struct buf *out);
/* slot_unwrap(...): 0 and the payload in out (secret: wipe it), 1 if the
 * passphrase is wrong or the slot was altered, -1 on error. */
int slot_unwrap(const char *pass, size_t passn, const struct kdf_params *kdf,
    const void *ad, size_t adn, const uint8_t *wrapped, size_t n, struct buf *out);

#endif
