/* crypto: keyrings, keyed hashes, signatures, sealing and key slots.
 *
 * Primitives: libsodium for Ed25519, X25519, BLAKE2b, XChaCha20(-Poly1305)
 * and Argon2id; OpenSSL libcrypto for SHA-256, HMAC-SHA256 and AES-256-GCM,
 * which it runs with the CPU's SHA and AES instructions (these are the bulk
 * paths: every chunk is hashed and every blob sealed).
 *
 * Secrets live in the keyring, which is allocated with sodium_malloc
 * (guard pages, mlock, wiped by sodium_free) and made read-only once built:
 * a keyring never changes, so it can be shared by threads without locks.
 * Every temporary copy of a secret on the stack is wiped before return. */
#include "crypto/crypto.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "util/codec.h"
#include "util/util.h"

_Static_assert(PK_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 pk size");
_Static_assert(PK_LEN == crypto_box_PUBLICKEYBYTES, "X25519 pk size");
_Static_assert(PK_LEN == crypto_scalarmult_BYTES, "X25519 point size");
_Static_assert(SIG_LEN == crypto_sign_BYTES, "Ed25519 signature size");
_Static_assert(crypto_sign_SECRETKEYBYTES == 64, "Ed25519 sk size");
_Static_assert(crypto_box_SECRETKEYBYTES == 32, "X25519 sk size");
_Static_assert(SLOT_SALT_LEN == crypto_pwhash_SALTBYTES, "Argon2 salt size");
_Static_assert(SLOT_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
    "XChaCha20-Poly1305 nonce size");
_Static_assert(AEAD_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES,
    "slot tag size");

#define KEY_LEN 32
#define ED_SK_LEN 64
#define X_SK_LEN 32
#define GCM_IV_LEN 12
#define PAYLOAD_VERSION 2
/* A grant's sealed plaintext: slot_id | u32 epoch | pk | sk. */
#define GRANT_PLAIN_LEN (SLOT_ID_LEN + 4 + PK_LEN + X_SK_LEN)
_Static_assert(GRANT_SEALED_LEN == crypto_box_SEALBYTES + GRANT_PLAIN_LEN, "grant size");

/* EVP's length arguments are int: feed long inputs in pieces. */
#define EVP_STEP ((size_t)1 << 30)

/* Domain-separation strings (docs/FORMAT.md, "Cryptography").  Their
 * lengths are part of the format: sizeof - 1, no NUL. */
static const char seal_pk_label[] = "twofold-seal-pk-v1";
static const char seal_sym_label[] = "twofold-seal-sym-v1";
static const char dedup_label[] = "twofold-dedup-key-v1";
/* 21 characters and 3 NULs: the 24-byte XChaCha20 nonce of the gear table. */
static const uint8_t gear_nonce[crypto_stream_xchacha20_NONCEBYTES] =
    "twofold-gear-table-v1\0\0";
_Static_assert(sizeof "twofold-gear-table-v1" - 1 == 21, "gear nonce label");

struct epoch_key {
	uint32_t number;
	uint32_t has_sk;
	uint8_t pk[PK_LEN];
	uint8_t sk[X_SK_LEN];
};

struct keyring {
	uint8_t role;			/* enum key_role */
	uint8_t slot_id[SLOT_ID_LEN];
	uint8_t root_pk[PK_LEN];
	uint8_t root_sk[ED_SK_LEN];	/* owner only */
	uint8_t id_key[KEY_LEN];	/* chunk IDs (HMAC) */
	uint8_t chunk_key[KEY_LEN];	/* chunker gear table */
	uint8_t cfg_key[KEY_LEN];	/* SYM_CONFIG; SYM_DEDUP derives from id_key */
	uint8_t signer_pk[PK_LEN];	/* owner and write-only */
	uint8_t signer_sk[ED_SK_LEN];
	uint8_t box_pk[PK_LEN];		/* owner and read-only: receives grants */
	uint8_t box_sk[X_SK_LEN];
	/* Epochs: public keys from the config, secret keys from grants (or
	 * made here: a new repository, key rotate).  0..MAX_EPOCHS, numbers
	 * increasing. */
	uint32_t nepochs;
	struct epoch_key epochs[MAX_EPOCHS];
	/* HMAC-SHA256 keyed with id_key, never updated: keyring_chunk_id
	 * duplicates it per call, which is thread-safe and avoids OpenSSL's
	 * algorithm fetch (a locked global lookup) on every chunk. */
	EVP_MAC_CTX *hmac;
};

_Noreturn static void fatal(const char *what)
{
	errmsg("internal error: %s failed", what);
	abort();
}

int crypto_init(void)
{
	if (sodium_init() < 0) {
		errmsg("cannot initialise libsodium");
		return -1;
	}
	return 0;
}

void rand_bytes(void *p, size_t n)
{
	uint8_t seed[randombytes_SEEDBYTES];

	/* The system's generator hands out 256 bytes a call; a pack's padding
	 * (up to 1/32 of it) would take thousands of calls.  Longer runs come
	 * from ChaCha20 under a fresh random key instead. */
	if (n <= 256) {
		randombytes_buf(p, n);
		return;
	}
	randombytes_buf(seed, sizeof seed);
	randombytes_buf_deterministic(p, n, seed);
	sodium_memzero(seed, sizeof seed);
}

void sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		fatal("SHA-256");
}

int ct_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

const char *role_name(int r)
{
	switch (r) {
	case ROLE_OWNER:
		return "owner";
	case ROLE_WRITE:
		return "write-only";
	case ROLE_READ:
		return "read-only";
	default:
		return "?";
	}
}

/* What each role holds (the only place that says so). */
static int role_valid(int r)
{
	return r == ROLE_OWNER || r == ROLE_WRITE || r == ROLE_READ;
}

static int role_has_root_sk(int r)
{
	return r == ROLE_OWNER;
}

static int role_has_signer(int r)
{
	return r == ROLE_OWNER || r == ROLE_WRITE;
}

static int role_has_box(int r)
{
	return r == ROLE_OWNER || r == ROLE_READ;
}

/* keyring_alloc(): a zeroed, guarded, writable keyring.  sizeof(struct
 * keyring) is a multiple of its alignment, so sodium_malloc, which puts the
 * object flush against the trailing guard page, returns an aligned pointer. */
static struct keyring *keyring_alloc(void)
{
	struct keyring *kr = sodium_malloc(sizeof *kr);

	if (kr == NULL) {
		errmsg("out of memory (guarded key storage)");
		abort();
	}
	memset(kr, 0, sizeof *kr);
	return kr;
}

/* keyring_seal_up(kr): build the HMAC template and make kr read-only. */
static struct keyring *keyring_seal_up(struct keyring *kr)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	char digest[] = "SHA256";
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (mac == NULL || (kr->hmac = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(kr->hmac, kr->id_key, KEY_LEN, params) != 1)
		fatal("HMAC-SHA256 setup");
	EVP_MAC_free(mac);	/* the context keeps its own reference */
	sodium_mprotect_readonly(kr);
	return kr;
}

void keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	/* OpenSSL clears the HMAC key state when freeing it; sodium_free
	 * makes the pages writable again, wipes and unmaps them. */
	EVP_MAC_CTX_free(kr->hmac);
	sodium_free(kr);
}

static void new_signer(struct keyring *kr)
{
	crypto_sign_keypair(kr->signer_pk, kr->signer_sk);
}

struct keyring *keyring_new_repo(void)
{
	struct keyring *kr = keyring_alloc();
	struct epoch_key *e = &kr->epochs[0];

	kr->role = ROLE_OWNER;
	randombytes_buf(kr->slot_id, sizeof kr->slot_id);
	crypto_sign_keypair(kr->root_pk, kr->root_sk);
	randombytes_buf(kr->id_key, sizeof kr->id_key);
	randombytes_buf(kr->chunk_key, sizeof kr->chunk_key);
	randombytes_buf(kr->cfg_key, sizeof kr->cfg_key);
	new_signer(kr);
	crypto_box_keypair(kr->box_pk, kr->box_sk);
	kr->nepochs = 1;
	e->number = 1;
	e->has_sk = 1;
	crypto_box_keypair(e->pk, e->sk);
	return keyring_seal_up(kr);
}

struct keyring *keyring_derive(const struct keyring *kr, enum key_role role)
{
	struct keyring *n;
	uint32_t i;

	if (kr == NULL || kr->role != ROLE_OWNER || !role_valid(role))
		return NULL;
	n = keyring_alloc();
	n->role = (uint8_t)role;
	randombytes_buf(n->slot_id, sizeof n->slot_id);
	memcpy(n->root_pk, kr->root_pk, PK_LEN);
	if (role_has_root_sk(role))
		memcpy(n->root_sk, kr->root_sk, ED_SK_LEN);
	memcpy(n->id_key, kr->id_key, KEY_LEN);
	memcpy(n->chunk_key, kr->chunk_key, KEY_LEN);
	memcpy(n->cfg_key, kr->cfg_key, KEY_LEN);
	/* Each slot signs with a key of its own, so a snapshot names the slot
	 * that wrote it and one slot can be revoked alone. */
	if (role_has_signer(role))
		new_signer(n);
	if (role_has_box(role))
		crypto_box_keypair(n->box_pk, n->box_sk);
	/* Public epoch keys only: the new slot gets secret ones as grants. */
	n->nepochs = kr->nepochs;
	for (i = 0; i < kr->nepochs; i++) {
		n->epochs[i].number = kr->epochs[i].number;
		memcpy(n->epochs[i].pk, kr->epochs[i].pk, PK_LEN);
	}
	return keyring_seal_up(n);
}

enum key_role keyring_role(const struct keyring *kr)
{
	return (enum key_role)kr->role;
}

void keyring_slot_id(const struct keyring *kr, uint8_t out[SLOT_ID_LEN])
{
	memcpy(out, kr->slot_id, SLOT_ID_LEN);
}

int keyring_signer_pk(const struct keyring *kr, uint8_t out[PK_LEN])
{
	if (!role_has_signer(kr->role))
		return -1;
	memcpy(out, kr->signer_pk, PK_LEN);
	return 0;
}

void keyring_root_pk(const struct keyring *kr, uint8_t out[PK_LEN])
{
	memcpy(out, kr->root_pk, PK_LEN);
}

int keyring_box_pk(const struct keyring *kr, uint8_t out[PK_LEN])
{
	if (!role_has_box(kr->role))
		return -1;
	memcpy(out, kr->box_pk, PK_LEN);
	return 0;
}

uint32_t keyring_epoch(const struct keyring *kr)
{
	return kr->nepochs ? kr->epochs[kr->nepochs - 1].number : 0;
}

static const struct epoch_key *find_epoch(const struct keyring *kr, uint32_t epoch)
{
	uint32_t i;

	for (i = 0; i < kr->nepochs; i++)
		if (kr->epochs[i].number == epoch)
			return &kr->epochs[i];
	return NULL;
}

int keyring_epoch_pk(const struct keyring *kr, uint32_t epoch, uint8_t out[PK_LEN])
{
	const struct epoch_key *e = find_epoch(kr, epoch);

	if (e == NULL)
		return -1;
	memcpy(out, e->pk, PK_LEN);
	return 0;
}

int keyring_can_decrypt(const struct keyring *kr, uint32_t epoch)
{
	const struct epoch_key *e = find_epoch(kr, epoch);

	return e != NULL && e->has_sk;
}

/* Changing a keyring: only while a repository is being opened or rotated,
 * before any thread shares it. */
static struct epoch_key *epoch_append(struct keyring *kr, uint32_t number)
{
	struct epoch_key *e;

	if (kr->nepochs == MAX_EPOCHS || number == 0 ||
	    (kr->nepochs && kr->epochs[kr->nepochs - 1].number >= number))
		return NULL;
	e = &kr->epochs[kr->nepochs++];
	memset(e, 0, sizeof *e);
	e->number = number;
	return e;
}

int keyring_set_epoch_pk(struct keyring *kr, uint32_t number, const uint8_t pk[PK_LEN])
{
	const struct epoch_key *have = find_epoch(kr, number);
	struct epoch_key *e;
	int rc = 0;

	if (have != NULL)
		return sodium_memcmp(have->pk, pk, PK_LEN) == 0 ? 0 : -1;
	sodium_mprotect_readwrite(kr);
	if ((e = epoch_append(kr, number)) != NULL)
		memcpy(e->pk, pk, PK_LEN);
	else
		rc = -1;
	sodium_mprotect_readonly(kr);
	return rc;
}

int keyring_new_epoch(struct keyring *kr, uint32_t number, uint8_t pk[PK_LEN])
{
	struct epoch_key *e;
	int rc = -1;

	if (!role_has_root_sk(kr->role))
		return -1;
	sodium_mprotect_readwrite(kr);
	if ((e = epoch_append(kr, number)) != NULL) {
		crypto_box_keypair(e->pk, e->sk);
		e->has_sk = 1;
		memcpy(pk, e->pk, PK_LEN);
		rc = 0;
	}
	sodium_mprotect_readonly(kr);
	return rc;
}

int keyring_grant(const struct keyring *kr, uint32_t epoch, const uint8_t slot[SLOT_ID_LEN],
    const uint8_t box_pk[PK_LEN], uint8_t out[GRANT_SEALED_LEN])
{
	const struct epoch_key *e = find_epoch(kr, epoch);
	uint8_t plain[GRANT_PLAIN_LEN];
	int rc;

	if (e == NULL || !e->has_sk)
		return -1;
	memcpy(plain, slot, SLOT_ID_LEN);
	le32_put(plain + SLOT_ID_LEN, epoch);
	memcpy(plain + SLOT_ID_LEN + 4, e->pk, PK_LEN);
	memcpy(plain + SLOT_ID_LEN + 4 + PK_LEN, e->sk, X_SK_LEN);
	rc = crypto_box_seal(out, plain, sizeof plain, box_pk) == 0 ? 0 : -1;
	sodium_memzero(plain, sizeof plain);
	return rc;
}

int keyring_accept_grant(struct keyring *kr, uint32_t epoch, const uint8_t sealed[GRANT_SEALED_LEN])
{
	uint8_t plain[GRANT_PLAIN_LEN], q[PK_LEN];
	struct epoch_key *e = NULL;
	const uint8_t *pk = plain + SLOT_ID_LEN + 4, *sk = pk + PK_LEN;
	int rc = -1;

	for (uint32_t i = 0; i < kr->nepochs; i++)
		if (kr->epochs[i].number == epoch)
			e = &kr->epochs[i];
	if (!role_has_box(kr->role) || e == NULL)
		return -1;
	if (crypto_box_seal_open(plain, sealed, GRANT_SEALED_LEN, kr->box_pk, kr->box_sk) != 0)
		goto out;
	/* Addressed to this slot, for this epoch, and the secret key of the
	 * public key the (root-signed) config names: a grant anyone forged
	 * with the public box key can only ever carry the right key. */
	if (sodium_memcmp(plain, kr->slot_id, SLOT_ID_LEN) != 0 ||
	    le32_get(plain + SLOT_ID_LEN) != epoch || sodium_memcmp(pk, e->pk, PK_LEN) != 0 ||
	    crypto_scalarmult_base(q, sk) != 0 || sodium_memcmp(q, e->pk, PK_LEN) != 0)
		goto out;
	sodium_mprotect_readwrite(kr);
	memcpy(e->sk, sk, X_SK_LEN);
	e->has_sk = 1;
	sodium_mprotect_readonly(kr);
	rc = 0;
out:
	sodium_memzero(plain, sizeof plain);
	return rc;
}

/* The payload (docs/FORMAT.md, "Key slot payload"):
 *	u8 version (2), u8 role, raw slot_id[16], raw root_pk[32],
 *	u8 has_root_sk [raw root_sk[64]], raw id_key[32], raw chunk_key[32],
 *	raw cfg_key[32], u8 has_signer [raw signer_sk[64]],
 *	u8 has_box [raw box_sk[32]].
 * No epoch keys: their secret halves reach a slot as grants, so that
 * retiring an epoch destroys them without the passphrase of every slot. */
static size_t payload_size(const struct keyring *kr)
{
	size_t n = 1 + 1 + SLOT_ID_LEN + PK_LEN + 1 + 3 * KEY_LEN + 1 + 1;

	if (role_has_root_sk(kr->role))
		n += ED_SK_LEN;
	if (role_has_signer(kr->role))
		n += ED_SK_LEN;
	if (role_has_box(kr->role))
		n += X_SK_LEN;
	return n;
}

int keyring_export(const struct keyring *kr, struct buf *out)
{
	size_t need = payload_size(kr), start = out->len;
	int has_root = role_has_root_sk(kr->role);
	int has_signer = role_has_signer(kr->role);
	int has_box = role_has_box(kr->role);

	/* Reserve the whole payload first: a growing buffer would leave
	 * copies of the secrets in memory freed by realloc. */
	if (buf_reserve(out, need) == NULL) {
		errmsg("key slot payload does not fit its buffer");
		return -1;
	}
	enc_u8(out, PAYLOAD_VERSION);
	enc_u8(out, kr->role);
	enc_raw(out, kr->slot_id, SLOT_ID_LEN);
	enc_raw(out, kr->root_pk, PK_LEN);
	enc_u8(out, (uint8_t)has_root);
	if (has_root)
		enc_raw(out, kr->root_sk, ED_SK_LEN);
	enc_raw(out, kr->id_key, KEY_LEN);
	enc_raw(out, kr->chunk_key, KEY_LEN);
	enc_raw(out, kr->cfg_key, KEY_LEN);
	enc_u8(out, (uint8_t)has_signer);
	if (has_signer)
		enc_raw(out, kr->signer_sk, ED_SK_LEN);
	enc_u8(out, (uint8_t)has_box);
	if (has_box)
		enc_raw(out, kr->box_sk, X_SK_LEN);
	if (out->overflow || out->len - start != need)
		fatal("keyring export");
	return 0;
}

/* ed25519_sk_ok(sk, pk): 1 if the libsodium secret key sk (seed || public
 * key) is consistent, i.e. its second half is the key its seed yields, and,
 * if pk is not NULL, that key is pk. */
static int ed25519_sk_ok(const uint8_t sk[ED_SK_LEN], const uint8_t *pk)
{
	uint8_t pk2[PK_LEN], sk2[ED_SK_LEN];
	int ok;

	crypto_sign_seed_keypair(pk2, sk2, sk);
	ok = sodium_memcmp(sk2, sk, ED_SK_LEN) == 0 &&
	    (pk == NULL || sodium_memcmp(pk2, pk, PK_LEN) == 0);
	sodium_memzero(sk2, sizeof sk2);
	return ok;
}

/* keyring_import: every field is checked against the role; the decoded
 * secrets go straight into guarded memory, which keyring_free wipes on
 * every failure.  Silent: the caller knows which slot it was reading. */
struct keyring *keyring_import(const uint8_t *p, size_t n)
{
	struct keyring *kr = keyring_alloc();
	struct dec d;
	uint8_t role, has;

	dec_init(&d, p, n);
	if (dec_u8(&d) != PAYLOAD_VERSION)
		goto bad;
	role = dec_u8(&d);
	if (!role_valid(role))
		goto bad;
	kr->role = role;
	dec_raw(&d, kr->slot_id, SLOT_ID_LEN);
	dec_raw(&d, kr->root_pk, PK_LEN);
	has = dec_u8(&d);
	if (!dec_ok(&d) || has > 1 || has != role_has_root_sk(role))
		goto bad;
	if (has) {
		dec_raw(&d, kr->root_sk, ED_SK_LEN);
		if (!dec_ok(&d) || !ed25519_sk_ok(kr->root_sk, kr->root_pk))
			goto bad;
	}
	dec_raw(&d, kr->id_key, KEY_LEN);
	dec_raw(&d, kr->chunk_key, KEY_LEN);
	dec_raw(&d, kr->cfg_key, KEY_LEN);
	has = dec_u8(&d);
	if (!dec_ok(&d) || has > 1 || has != role_has_signer(role))
		goto bad;
	if (has) {
		dec_raw(&d, kr->signer_sk, ED_SK_LEN);
		if (!dec_ok(&d) || !ed25519_sk_ok(kr->signer_sk, NULL))
			goto bad;
		crypto_sign_ed25519_sk_to_pk(kr->signer_pk, kr->signer_sk);
	}
	has = dec_u8(&d);
	if (!dec_ok(&d) || has > 1 || has != role_has_box(role))
		goto bad;
	if (has) {
		dec_raw(&d, kr->box_sk, X_SK_LEN);
		if (!dec_ok(&d) || crypto_scalarmult_base(kr->box_pk, kr->box_sk) != 0)
			goto bad;
	}
	if (!dec_end(&d))
		goto bad;
	return keyring_seal_up(kr);
bad:
	keyring_free(kr);
	return NULL;
}

void keyring_chunk_id(const struct keyring *kr, const void *p, size_t n, uint8_t id[ID_LEN])
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(kr->hmac);
	size_t len = 0;

	if (c == NULL || EVP_MAC_update(c, p, n) != 1 ||
	    EVP_MAC_final(c, id, &len, ID_LEN) != 1 || len != ID_LEN)
		fatal("HMAC-SHA256");
	EVP_MAC_CTX_free(c);
}

void keyring_gear_table(const struct keyring *kr, uint64_t table[256])
{
	uint8_t ks[256 * 8];
	int i;

	crypto_stream_xchacha20(ks, sizeof ks, gear_nonce, kr->chunk_key);
	for (i = 0; i < 256; i++)
		table[i] = le64_get(ks + 8 * i);
	sodium_memzero(ks, sizeof ks);
}

int keyring_sign(const struct keyring *kr, const void *msg, size_t n, uint8_t sig[SIG_LEN])
{
	if (!role_has_signer(kr->role))
		return -1;
	crypto_sign_detached(sig, NULL, msg, n, kr->signer_sk);
	return 0;
}

int keyring_root_sign(const struct keyring *kr, const void *msg, size_t n, uint8_t sig[SIG_LEN])
{
	if (!role_has_root_sk(kr->role))
		return -1;
	crypto_sign_detached(sig, NULL, msg, n, kr->root_sk);
	return 0;
}

int sig_verify(const uint8_t pk[PK_LEN], const void *msg, size_t n, const uint8_t sig[SIG_LEN])
{
	return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? 0 : -1;
}

/* Sealing. */

/* seal_setup(s): s->key is set; create the context and expand the key once.
 * Each message then only sets its IV (see set_iv), which is what makes a
 * pack of thousands of small blobs cheap. */
static void seal_setup(struct seal *s)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (c == NULL || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, s->key, NULL) != 1)
		fatal("AES-256-GCM setup");
	s->ctx = c;
	s->next = 0;
}

/* The 96-bit GCM IV: le64(nonce) then 4 zero bytes.  With the cipher and key
 * NULL, EVP keeps the expanded key and only restarts the message; enc
 * selects the direction (GCM's key schedule is the same for both). */
static void set_iv(EVP_CIPHER_CTX *c, uint64_t nonce, int enc)
{
	uint8_t iv[GCM_IV_LEN];

	le64_put(iv, nonce);
	memset(iv + 8, 0, GCM_IV_LEN - 8);
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, enc) != 1)
		fatal("AES-256-GCM IV");
}

static void gcm_aad(EVP_CIPHER_CTX *c, const uint8_t *ad, size_t adn)
{
	int outl;

	while (adn > 0) {
		size_t step = adn < EVP_STEP ? adn : EVP_STEP;

		if (EVP_CipherUpdate(c, NULL, &outl, ad, (int)step) != 1)
			fatal("AES-256-GCM AAD");
		ad += step;
		adn -= step;
	}
}

/* gcm_crypt(c, in, n, out): encrypt or decrypt n bytes (GCM is a stream
 * mode: output length equals input length, in place allowed). */
static void gcm_crypt(EVP_CIPHER_CTX *c, const uint8_t *in, size_t n, uint8_t *out)
{
	int outl;

	while (n > 0) {
		size_t step = n < EVP_STEP ? n : EVP_STEP;

		if (EVP_CipherUpdate(c, out, &outl, in, (int)step) != 1 ||
		    (size_t)outl != step)
			fatal("AES-256-GCM");
		in += step;
		out += step;
		n -= step;
	}
}

/* pk_object_key(key, shared, eph_pk, epoch_pk): BLAKE2b-256 of
 * label || shared || eph_pk || epoch_pk.  Both public keys are hashed in so
 * the key is bound to this exact exchange, not only to the shared point. */
static void pk_object_key(uint8_t key[KEY_LEN], const uint8_t shared[32],
    const uint8_t eph_pk[PK_LEN], const uint8_t epoch_pk[PK_LEN])
{
	uint8_t m[sizeof seal_pk_label - 1 + 32 + PK_LEN + PK_LEN];
	size_t l = sizeof seal_pk_label - 1;

	memcpy(m, seal_pk_label, l);
	memcpy(m + l, shared, 32);
	memcpy(m + l + 32, eph_pk, PK_LEN);
	memcpy(m + l + 32 + PK_LEN, epoch_pk, PK_LEN);
	crypto_generichash(key, KEY_LEN, m, sizeof m, NULL, 0);
	sodium_memzero(m, sizeof m);
}

int seal_begin_pk(struct seal *s, const struct keyring *kr, uint32_t epoch, uint8_t hdr[SEAL_HDR_LEN])
{
	const struct epoch_key *e = find_epoch(kr, epoch);
	uint8_t eph_sk[X_SK_LEN], shared[32];

	memset(s, 0, sizeof *s);
	if (e == NULL)
		return -1;
	crypto_box_keypair(hdr, eph_sk);
	/* An all-zero result means the epoch key is a low-order point: every
	 * ephemeral key would give the same, public, secret. */
	if (crypto_scalarmult(shared, eph_sk, e->pk) != 0) {
		sodium_memzero(eph_sk, sizeof eph_sk);
		sodium_memzero(shared, sizeof shared);
		errmsg("epoch %u public key is invalid", (unsigned)epoch);
		return -1;
	}
	pk_object_key(s->key, shared, hdr, e->pk);
	sodium_memzero(eph_sk, sizeof eph_sk);
	sodium_memzero(shared, sizeof shared);
	seal_setup(s);
	return 0;
}

int seal_open_pk(struct seal *s, const struct keyring *kr, uint32_t epoch, const uint8_t hdr[SEAL_HDR_LEN])
{
	const struct epoch_key *e = find_epoch(kr, epoch);
	uint8_t shared[32];

	memset(s, 0, sizeof *s);
	if (e == NULL || !e->has_sk)
		return -1;
	/* A header that is a low-order point was not made by a writer. */
	if (crypto_scalarmult(shared, e->sk, hdr) != 0) {
		sodium_memzero(shared, sizeof shared);
		return -1;
	}
	pk_object_key(s->key, shared, hdr, e->pk);
	sodium_memzero(shared, sizeof shared);
	seal_setup(s);
	return 0;
}

/* sym_object_key(key, kr, purpose, salt): BLAKE2b-256 keyed with the
 * purpose key of label || u8 purpose || salt.  The dedup purpose key is
 * BLAKE2b-256 keyed with id_key of "twofold-dedup-key-v1": dedup lists are
 * sealed under a key bound to the chunk-ID key without being that key. */
static void sym_object_key(uint8_t key[KEY_LEN], const struct keyring *kr,
    enum sym_purpose purpose, const uint8_t salt[SEAL_HDR_LEN])
{
	uint8_t pkey[KEY_LEN];
	uint8_t m[sizeof seal_sym_label - 1 + 1 + SEAL_HDR_LEN];
	size_t l = sizeof seal_sym_label - 1;

	switch (purpose) {
	case SYM_CONFIG:
		memcpy(pkey, kr->cfg_key, KEY_LEN);
		break;
	case SYM_DEDUP:
		crypto_generichash(pkey, KEY_LEN, (const uint8_t *)dedup_label,
		    sizeof dedup_label - 1, kr->id_key, KEY_LEN);
		break;
	default:
		fatal("seal: unknown purpose");
	}
	memcpy(m, seal_sym_label, l);
	m[l] = (uint8_t)purpose;
	memcpy(m + l + 1, salt, SEAL_HDR_LEN);
	crypto_generichash(key, KEY_LEN, m, sizeof m, pkey, KEY_LEN);
	sodium_memzero(pkey, sizeof pkey);
}

void seal_begin_sym(struct seal *s, const struct keyring *kr, enum sym_purpose purpose, uint8_t hdr[SEAL_HDR_LEN])
{
	memset(s, 0, sizeof *s);
	randombytes_buf(hdr, SEAL_HDR_LEN);
	sym_object_key(s->key, kr, purpose, hdr);
	seal_setup(s);
}

void seal_open_sym(struct seal *s, const struct keyring *kr, enum sym_purpose purpose, const uint8_t hdr[SEAL_HDR_LEN])
{
	memset(s, 0, sizeof *s);
	sym_object_key(s->key, kr, purpose, hdr);
	seal_setup(s);
}

void seal_encrypt(struct seal *s, uint64_t nonce, const void *ad, size_t adn,
    const uint8_t *in, size_t n, uint8_t *out)
{
	EVP_CIPHER_CTX *c = s->ctx;
	int outl;

	if (c == NULL)
		fatal("seal_encrypt on an ended seal");
	/* A repeated (key, nonce) pair would leak the XOR of two plaintexts
	 * and the GCM authentication key: a bug, never a runtime condition.
	 * UINT64_MAX is refused too, since s->next could not move past it. */
	if (nonce < s->next || nonce == UINT64_MAX) {
		errmsg("internal error: AES-GCM nonce %llu reused (next is %llu)",
		    (unsigned long long)nonce, (unsigned long long)s->next);
		abort();
	}
	s->next = nonce + 1;
	set_iv(c, nonce, 1);
	gcm_aad(c, ad, adn);
	gcm_crypt(c, in, n, out);
	if (EVP_EncryptFinal_ex(c, out + n, &outl) != 1 || outl != 0 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN, out + n) != 1)
		fatal("AES-256-GCM tag");
}

int seal_decrypt(struct seal *s, uint64_t nonce, const void *ad, size_t adn,
    const uint8_t *in, size_t n, uint8_t *out)
{
	EVP_CIPHER_CTX *c = s->ctx;
	uint8_t tag[AEAD_TAG_LEN];	/* a copy: EVP wants a non-const pointer */
	size_t m;
	int outl, ok;

	if (c == NULL)
		fatal("seal_decrypt on an ended seal");
	if (n < AEAD_TAG_LEN)
		return -1;
	m = n - AEAD_TAG_LEN;
	memcpy(tag, in + m, AEAD_TAG_LEN);
	set_iv(c, nonce, 0);
	gcm_aad(c, ad, adn);
	gcm_crypt(c, in, m, out);
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, AEAD_TAG_LEN, tag) != 1)
		fatal("AES-256-GCM tag");
	ok = EVP_DecryptFinal_ex(c, out + m, &outl) == 1;
	if (!ok) {
		/* GCM decrypts before it authenticates: never hand out
		 * unauthenticated plaintext. */
		if (m > 0)
			sodium_memzero(out, m);
		return -1;
	}
	return 0;
}

void seal_end(struct seal *s)
{
	/* Freeing the context clears OpenSSL's copy of the key schedule. */
	EVP_CIPHER_CTX_free(s->ctx);
	s->ctx = NULL;
	sodium_memzero(s->key, sizeof s->key);
	s->next = 0;
}

/* Key slots. */

/* env_u64(name, def, lo, hi): the environment's override of a KDF
 * parameter, clamped to libsodium's limits; def if unset or not a number. */
static uint64_t env_u64(const char *name, uint64_t def, uint64_t lo, uint64_t hi)
{
	const char *v = getenv(name);
	uint64_t x;

	if (v == NULL || *v == '\0')
		return def;
	if (parse_u64(v, &x) != 0) {
		errmsg("ignoring %s=%s: not a decimal number", name, v);
		return def;
	}
	if (x < lo)
		x = lo;
	if (x > hi)
		x = hi;
	return x;
}

void kdf_params_default(struct kdf_params *p)
{
	p->opslimit = env_u64("TWOFOLD_KDF_OPS", 3,
	    crypto_pwhash_opslimit_min(), crypto_pwhash_opslimit_max());
	p->memlimit = env_u64("TWOFOLD_KDF_MEM", (uint64_t)64 << 20,
	    crypto_pwhash_memlimit_min(), crypto_pwhash_memlimit_max());
	randombytes_buf(p->salt, sizeof p->salt);
}

/* slot_key(k, pass, passn, kdf): Argon2id of the passphrase; -1 (with a
 * message) if the parameters are out of range or memory runs out.  k is
 * wiped on failure too. */
static int slot_key(uint8_t k[KEY_LEN], const char *pass, size_t passn,
    const struct kdf_params *kdf)
{
	if (kdf->memlimit > SIZE_MAX ||
	    crypto_pwhash(k, KEY_LEN, pass, passn, kdf->salt, kdf->opslimit,
	    (size_t)kdf->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_memzero(k, KEY_LEN);
		errmsg("passphrase key derivation failed (opslimit %llu, "
		    "memlimit %llu bytes): out of memory or invalid parameters",
		    (unsigned long long)kdf->opslimit,
		    (unsigned long long)kdf->memlimit);
		return -1;
	}
	return 0;
}

int slot_wrap(const char *pass, size_t passn, const struct kdf_params *kdf,
    const void *ad, size_t adn, const uint8_t *payload, size_t n, struct buf *out)
{
	const size_t over = SLOT_NONCE_LEN + AEAD_TAG_LEN;
	uint8_t k[KEY_LEN], *dst;
	unsigned long long clen;

	if (n > SIZE_MAX - over || (dst = buf_reserve(out, n + over)) == NULL) {
		errmsg("key slot does not fit its buffer");
		return -1;
	}
	if (slot_key(k, pass, passn, kdf) != 0)
		return -1;
	randombytes_buf(dst, SLOT_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst + SLOT_NONCE_LEN, &clen,
	    payload, n, ad, adn, NULL, dst, k);
	sodium_memzero(k, sizeof k);
	out->len += SLOT_NONCE_LEN + (size_t)clen;
	return 0;
}

int slot_unwrap(const char *pass, size_t passn, const struct kdf_params *kdf,
    const void *ad, size_t adn, const uint8_t *wrapped, size_t n, struct buf *out)
{
	const size_t over = SLOT_NONCE_LEN + AEAD_TAG_LEN;
	uint8_t k[KEY_LEN], *dst, empty;
	unsigned long long mlen;
	size_t m;
	int rc;

	/* Too short to hold a nonce and a tag: altered, as a bad tag is. */
	if (n < over)
		return 1;
	m = n - over;
	/* An empty payload needs no room (and buf_reserve(out, 0) may give
	 * NULL); libsodium still wants somewhere to write. */
	dst = m > 0 ? buf_reserve(out, m) : &empty;
	if (dst == NULL) {
		errmsg("key slot does not fit its buffer");
		return -1;
	}
	if (slot_key(k, pass, passn, kdf) != 0)
		return -1;
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(dst, &mlen, NULL,
	    wrapped + SLOT_NONCE_LEN, n - SLOT_NONCE_LEN, ad, adn, wrapped, k);
	sodium_memzero(k, sizeof k);
	if (rc != 0) {
		sodium_memzero(dst, m);
		return 1;
	}
	out->len += (size_t)mlen;
	return 0;
}
