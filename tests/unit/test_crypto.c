/* test_crypto: known answers, keyring payloads (good and malformed),
 * sealing, signatures and key slots.  Where a construction is internal the
 * test recomputes it independently from the exported payload, so the
 * format spec (docs/FORMAT.md, "Cryptography") is what is checked. */
#include "crypto/crypto.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "tap.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/util.h"

#define PAYLOAD_MAX 65536

/* Offsets in the payload: version, role, slot_id, root_pk, has_root_sk. */
#define OFF_KEYS_NOROOT (1 + 1 + SLOT_ID_LEN + PK_LEN + 1)
#define OFF_KEYS_OWNER (OFF_KEYS_NOROOT + 64)

static int hex_is(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t want[64];

	if (n > sizeof want || hex_decode(hex, want, n) != 0)
		return 0;
	return memcmp(got, want, n) == 0;
}

static void export_kr(const struct keyring *kr, struct buf *b)
{
	buf_init(b, PAYLOAD_MAX);
	if (keyring_export(kr, b) != 0) {
		fprintf(stderr, "export failed\n");
		exit(2);
	}
}

/* The payload, parsed by the test itself. */
struct tpayload {
	uint8_t version, role;
	uint8_t slot_id[16];
	uint8_t root_pk[32];
	uint8_t has_root;
	uint8_t root_sk[64];
	uint8_t id_key[32], chunk_key[32], cfg_key[32];
	uint8_t has_signer;
	uint8_t signer_sk[64];
	uint8_t has_box;
	uint8_t box_sk[32];
	int trailing;		/* extra zero bytes at the end */
};

static int parse(const uint8_t *p, size_t n, struct tpayload *t)
{
	struct dec d;

	memset(t, 0, sizeof *t);
	dec_init(&d, p, n);
	t->version = dec_u8(&d);
	t->role = dec_u8(&d);
	dec_raw(&d, t->slot_id, 16);
	dec_raw(&d, t->root_pk, 32);
	t->has_root = dec_u8(&d);
	if (t->has_root)
		dec_raw(&d, t->root_sk, 64);
	dec_raw(&d, t->id_key, 32);
	dec_raw(&d, t->chunk_key, 32);
	dec_raw(&d, t->cfg_key, 32);
	t->has_signer = dec_u8(&d);
	if (t->has_signer)
		dec_raw(&d, t->signer_sk, 64);
	t->has_box = dec_u8(&d);
	if (t->has_box)
		dec_raw(&d, t->box_sk, 32);
	return dec_end(&d) ? 0 : -1;
}

static void encode(const struct tpayload *t, struct buf *b)
{
	int k;

	buf_init(b, PAYLOAD_MAX);
	enc_u8(b, t->version);
	enc_u8(b, t->role);
	enc_raw(b, t->slot_id, 16);
	enc_raw(b, t->root_pk, 32);
	enc_u8(b, t->has_root);
	if (t->has_root)
		enc_raw(b, t->root_sk, 64);
	enc_raw(b, t->id_key, 32);
	enc_raw(b, t->chunk_key, 32);
	enc_raw(b, t->cfg_key, 32);
	enc_u8(b, t->has_signer);
	if (t->has_signer)
		enc_raw(b, t->signer_sk, 64);
	enc_u8(b, t->has_box);
	if (t->has_box)
		enc_raw(b, t->box_sk, 32);
	for (k = 0; k < t->trailing; k++)
		enc_u8(b, 0);
}

/* imports(t): 1 if keyring_import accepts the encoding of t. */
static int imports(const struct tpayload *t)
{
	struct buf b;
	struct keyring *kr;

	encode(t, &b);
	kr = keyring_import(b.p, b.len);
	buf_wipe_free(&b);
	keyring_free(kr);
	return kr != NULL;
}

static void test_basics(void)
{
	uint8_t h[32], a[32], b[32];
	static const char q448[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	sha256("abc", 3, h);
	OK(hex_is(h, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	    "sha256(\"abc\")");
	sha256("", 0, h);
	OK(hex_is(h, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	    "sha256(\"\")");
	sha256(q448, sizeof q448 - 1, h);
	OK(hex_is(h, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
	    "sha256 of the 448-bit FIPS 180 message");
	rand_bytes(a, sizeof a);
	rand_bytes(b, sizeof b);
	OK(memcmp(a, b, 32) != 0, "rand_bytes gives different outputs");
	{
		/* past 256 bytes: a keystream under a fresh key each call */
		enum { N = 100000 };
		uint8_t *x = xcalloc(1, N), *y = xcalloc(1, N);
		size_t same = 0, zero = 0;

		rand_bytes(x, N);
		rand_bytes(y, N);
		for (size_t i = 0; i < N; i++) {
			same += x[i] == y[i];
			zero += x[i] == 0;
		}
		/* about N/256 each for random bytes */
		OK(same < N / 128 && zero < N / 128,
		    "rand_bytes of 100000 bytes: two calls differ, no run of zeros (%zu equal, %zu zero)", same, zero);
		free(x);
		free(y);
	}
	OK(ct_equal(a, a, 32) == 1, "ct_equal: equal");
	memcpy(b, a, 32);
	b[31] ^= 1;
	OK(ct_equal(a, b, 32) == 0, "ct_equal: last byte differs");
	OK(strcmp(role_name(ROLE_OWNER), "owner") == 0 &&
	    strcmp(role_name(ROLE_WRITE), "write-only") == 0 &&
	    strcmp(role_name(ROLE_READ), "read-only") == 0 &&
	    strcmp(role_name(0), "?") == 0 && strcmp(role_name(4), "?") == 0,
	    "role_name");
}

/* chunk_id_with_key(key, msg, n, id): route an arbitrary HMAC key (up to 32
 * bytes; HMAC pads short keys with zeros, so key || 0... is the same key)
 * into keyring_chunk_id by editing a read-only payload. */
static int chunk_id_with_key(const struct keyring *owner, const uint8_t *key, size_t keyn,
    const void *msg, size_t n, uint8_t id[ID_LEN])
{
	struct keyring *rd = keyring_derive(owner, ROLE_READ), *kr;
	struct buf b;

	export_kr(rd, &b);
	memset(b.p + OFF_KEYS_NOROOT, 0, 32);
	memcpy(b.p + OFF_KEYS_NOROOT, key, keyn);
	kr = keyring_import(b.p, b.len);
	buf_wipe_free(&b);
	keyring_free(rd);
	if (kr == NULL)
		return -1;
	keyring_chunk_id(kr, msg, n, id);
	keyring_free(kr);
	return 0;
}

struct thr {
	const struct keyring *kr;
	const uint8_t (*want)[ID_LEN];
	int ok;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	uint8_t msg[64], id[ID_LEN];
	int round, i;

	t->ok = 1;
	for (round = 0; round < 200; round++)
		for (i = 0; i < 16; i++) {
			memset(msg, i, sizeof msg);
			keyring_chunk_id(t->kr, msg, (size_t)i * 4, id);
			if (memcmp(id, t->want[i], ID_LEN) != 0)
				t->ok = 0;
		}
	return NULL;
}

static void test_chunk_id(void)
{
	struct keyring *kr = keyring_new_repo(), *w = keyring_derive(kr, ROLE_WRITE);
	struct buf b;
	uint8_t id[ID_LEN], id2[ID_LEN], ref[ID_LEN], key[32];
	uint8_t msg[1000];
	crypto_auth_hmacsha256_state st;
	uint8_t want[16][ID_LEN];
	struct thr t[4];
	pthread_t th[4];
	int i, allok;

	for (i = 0; i < (int)sizeof msg; i++)
		msg[i] = (uint8_t)(i % 251);
	export_kr(kr, &b);
	memcpy(key, b.p + OFF_KEYS_OWNER, 32);
	buf_wipe_free(&b);

	/* Independent HMAC-SHA256: libsodium's, keyed with the exported id key. */
	keyring_chunk_id(kr, msg, sizeof msg, id);
	crypto_auth_hmacsha256_init(&st, key, sizeof key);
	crypto_auth_hmacsha256_update(&st, msg, sizeof msg);
	crypto_auth_hmacsha256_final(&st, ref);
	OK(memcmp(id, ref, ID_LEN) == 0, "chunk ID = HMAC-SHA256(id_key from payload offset %d)",
	    OFF_KEYS_OWNER);
	keyring_chunk_id(kr, msg, 0, id);
	crypto_auth_hmacsha256_init(&st, key, sizeof key);
	crypto_auth_hmacsha256_final(&st, ref);
	OK(memcmp(id, ref, ID_LEN) == 0, "chunk ID of empty input");
	keyring_chunk_id(w, msg, sizeof msg, id2);
	keyring_chunk_id(kr, msg, sizeof msg, id);
	OK(memcmp(id, id2, ID_LEN) == 0, "derived write-only keyring gives the same chunk IDs");
	sodium_memzero(key, sizeof key);

	/* RFC 4231 test cases 1 and 2. */
	memset(key, 0x0b, 20);
	OK(chunk_id_with_key(kr, key, 20, "Hi There", 8, id) == 0 &&
	    hex_is(id, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
	    "RFC 4231 test case 1 through keyring_chunk_id");
	OK(chunk_id_with_key(kr, (const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, id) == 0 &&
	    hex_is(id, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
	    "RFC 4231 test case 2 through keyring_chunk_id");

	/* Concurrent use of one keyring. */
	for (i = 0; i < 16; i++) {
		memset(msg, i, 64);
		keyring_chunk_id(kr, msg, (size_t)i * 4, want[i]);
	}
	for (i = 0; i < 4; i++) {
		t[i].kr = kr;
		t[i].want = (const uint8_t (*)[ID_LEN])want;
		pthread_create(&th[i], NULL, thr_main, &t[i]);
	}
	allok = 1;
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		allok &= t[i].ok;
	}
	OK(allok, "chunk IDs from 4 threads sharing a keyring");
	keyring_free(w);
	keyring_free(kr);
}

static void test_gear(void)
{
	struct keyring *a = keyring_new_repo(), *b = keyring_new_repo();
	struct keyring *ar = keyring_derive(a, ROLE_READ);
	uint64_t t1[256], t2[256], t3[256], t4[256];
	uint8_t ks[2048], ck[32];
	static const uint8_t nonce[24] = "twofold-gear-table-v1";
	struct buf p;
	int i, ok, distinct;

	keyring_gear_table(a, t1);
	keyring_gear_table(a, t2);
	keyring_gear_table(ar, t3);
	keyring_gear_table(b, t4);
	OK(memcmp(t1, t2, sizeof t1) == 0, "gear table: same keyring, same table");
	OK(memcmp(t1, t3, sizeof t1) == 0, "gear table: derived keyring, same table");
	OK(memcmp(t1, t4, sizeof t1) != 0, "gear table: two repositories differ");
	distinct = 1;
	for (i = 1; i < 256; i++)
		if (t1[i] == t1[i - 1])
			distinct = 0;
	OK(distinct, "gear table entries look random");

	export_kr(a, &p);
	memcpy(ck, p.p + OFF_KEYS_OWNER + 32, 32);
	buf_wipe_free(&p);
	crypto_stream_xchacha20(ks, sizeof ks, nonce, ck);
	ok = 1;
	for (i = 0; i < 256; i++)
		if (t1[i] != le64_get(ks + 8 * i))
			ok = 0;
	OK(ok, "gear table = le64 words of XChaCha20(chunk_key, \"twofold-gear-table-v1\")");
	keyring_free(a);
	keyring_free(ar);
	keyring_free(b);
}

static void test_keyrings(void)
{
	struct keyring *o = keyring_new_repo();
	struct keyring *k[3], *im, *bad;
	static const enum key_role roles[3] = { ROLE_OWNER, ROLE_WRITE, ROLE_READ };
	uint8_t a[32], c[32], sa[SLOT_ID_LEN], sb[SLOT_ID_LEN];
	int i;

	OK(keyring_role(o) == ROLE_OWNER && keyring_epoch(o) == 1 &&
	    keyring_can_decrypt(o, 1) && !keyring_can_decrypt(o, 2) &&
	    keyring_epoch_pk(o, 1, a) == 0 && keyring_epoch_pk(o, 2, a) == -1 &&
	    keyring_epoch_pk(o, 0, a) == -1,
	    "new repository: owner, epoch 1 with secret key");
	for (i = 0; i < 3; i++) {
		struct buf b1, b2;

		k[i] = keyring_derive(o, roles[i]);
		OK(k[i] != NULL && keyring_role(k[i]) == roles[i], "derive %s", role_name(roles[i]));
		keyring_root_pk(o, a);
		keyring_root_pk(k[i], c);
		OK(memcmp(a, c, 32) == 0, "%s: same root public key", role_name(roles[i]));
		keyring_slot_id(o, sa);
		keyring_slot_id(k[i], sb);
		OK(memcmp(sa, sb, SLOT_ID_LEN) != 0, "%s: new slot ID", role_name(roles[i]));
		if (roles[i] == ROLE_READ) {
			OK(keyring_signer_pk(k[i], c) == -1, "read-only: no signing key");
		} else {
			keyring_signer_pk(o, a);
			OK(keyring_signer_pk(k[i], c) == 0 && memcmp(a, c, 32) != 0,
			    "%s: a signing key of its own", role_name(roles[i]));
		}
		OK(keyring_epoch(k[i]) == 1 && !keyring_can_decrypt(k[i], 1),
		    "%s: epoch 1 public key only (its secret key comes as a grant)", role_name(roles[i]));
		OK((keyring_box_pk(k[i], c) == 0) == (roles[i] != ROLE_WRITE),
		    "%s: a box key iff not write-only", role_name(roles[i]));
		keyring_epoch_pk(o, 1, a);
		OK(keyring_epoch_pk(k[i], 1, c) == 0 && memcmp(a, c, 32) == 0,
		    "%s: epoch 1 public key", role_name(roles[i]));

		/* Round trip: export, import, export gives the same bytes. */
		export_kr(k[i], &b1);
		im = keyring_import(b1.p, b1.len);
		OK(im != NULL, "%s: import of export", role_name(roles[i]));
		if (im == NULL) {
			buf_wipe_free(&b1);
			continue;
		}
		export_kr(im, &b2);
		OK(b1.len == b2.len && memcmp(b1.p, b2.p, b1.len) == 0,
		    "%s: export/import/export is stable (%zu bytes)", role_name(roles[i]), b1.len);
		OK(keyring_role(im) == roles[i] && b1.p[0] == 2 && b1.p[1] == roles[i],
		    "%s: payload version 2 and role byte", role_name(roles[i]));
		OK(keyring_epoch(im) == 0, "%s: a payload holds no epoch keys", role_name(roles[i]));
		keyring_slot_id(k[i], sa);
		keyring_slot_id(im, sb);
		OK(memcmp(sa, sb, SLOT_ID_LEN) == 0, "%s: slot ID survives", role_name(roles[i]));
		buf_wipe_free(&b1);
		buf_wipe_free(&b2);
		keyring_free(im);
	}
	OK(keyring_derive(k[1], ROLE_READ) == NULL && keyring_derive(k[2], ROLE_READ) == NULL,
	    "derive refuses non-owner keyrings");
	bad = keyring_derive(o, (enum key_role)0);
	OK(bad == NULL, "derive refuses role 0");
	bad = keyring_derive(o, (enum key_role)4);
	OK(bad == NULL, "derive refuses role 4");
	for (i = 0; i < 3; i++)
		keyring_free(k[i]);
	keyring_free(o);
	keyring_free(NULL);
}

/* test_import_bad: each malformed case, built from a good payload. */
static void test_import_bad(void)
{
	struct keyring *o = keyring_new_repo();
	struct keyring *w = keyring_derive(o, ROLE_WRITE), *r = keyring_derive(o, ROLE_READ);
	struct tpayload *to = malloc(sizeof *to), *tw = malloc(sizeof *tw);
	struct tpayload *tr = malloc(sizeof *tr), *t = malloc(sizeof *t);
	const struct keyring *krs[3] = { o, w, r };
	struct tpayload *tps[3] = { to, tw, tr };
	struct buf b;
	size_t len;
	int j, all;

	for (j = 0; j < 3; j++) {
		export_kr(krs[j], &b);
		OK(parse(b.p, b.len, tps[j]) == 0, "test parser reads the %s payload",
		    role_name(keyring_role(krs[j])));
		/* Truncation at every length, then one trailing byte. */
		all = 1;
		for (len = 0; len < b.len; len++) {
			struct keyring *kr = keyring_import(b.p, len);

			if (kr != NULL) {
				all = 0;
				keyring_free(kr);
			}
		}
		OK(all, "%s: every truncation (0..%zu bytes) rejected",
		    role_name(keyring_role(krs[j])), b.len - 1);
		buf_wipe_free(&b);
		*t = *tps[j];
		OK(imports(t), "%s: re-encoded payload accepted", role_name(t->role));
		t->trailing = 1;
		OK(!imports(t), "%s: trailing byte rejected", role_name(t->role));
		*t = *tps[j];
		t->version = 1;
		OK(!imports(t), "%s: version 1 rejected", role_name(tps[j]->role));
		t->version = 3;
		OK(!imports(t), "%s: version 3 rejected", role_name(tps[j]->role));
		*t = *tps[j];
		t->has_root = 2;
		OK(!imports(t), "%s: has_root_sk = 2 rejected", role_name(t->role));
		*t = *tps[j];
		t->has_signer = 2;
		OK(!imports(t), "%s: has_signer = 2 rejected", role_name(t->role));
		*t = *tps[j];
		t->has_box = 2;
		OK(!imports(t), "%s: has_box = 2 rejected", role_name(t->role));
	}

	/* Roles. */
	*t = *tr;
	t->role = 0;
	OK(!imports(t), "role 0 rejected");
	t->role = 4;
	OK(!imports(t), "role 4 rejected");
	t->role = 255;
	OK(!imports(t), "role 255 rejected");

	/* Root secret key must go with the owner role, and match root_pk. */
	*t = *to;
	t->has_root = 0;
	OK(!imports(t), "owner without root_sk rejected");
	*t = *tr;
	t->has_root = 1;
	memcpy(t->root_sk, to->root_sk, 64);
	OK(!imports(t), "read-only with root_sk rejected");
	*t = *tw;
	t->has_root = 1;
	memcpy(t->root_sk, to->root_sk, 64);
	OK(!imports(t), "write-only with root_sk rejected");
	*t = *to;
	t->root_pk[0] ^= 1;
	OK(!imports(t), "owner: root_pk not matching root_sk rejected");
	*t = *to;
	t->root_sk[40] ^= 1;
	OK(!imports(t), "owner: root_sk with a wrong public half rejected");
	*t = *to;
	t->root_sk[3] ^= 1;
	OK(!imports(t), "owner: root_sk seed not matching root_pk rejected");

	/* Signer. */
	*t = *tr;
	t->has_signer = 1;
	memcpy(t->signer_sk, tw->signer_sk, 64);
	OK(!imports(t), "read-only with a signing key rejected");
	*t = *tw;
	t->has_signer = 0;
	OK(!imports(t), "write-only without a signing key rejected");
	*t = *to;
	t->has_signer = 0;
	OK(!imports(t), "owner without a signing key rejected");
	*t = *tw;
	t->signer_sk[63] ^= 1;
	OK(!imports(t), "signer_sk whose public half does not match its seed rejected");

	/* Box keys: owner and read-only only. */
	*t = *tw;
	t->has_box = 1;
	memcpy(t->box_sk, tr->box_sk, 32);
	OK(!imports(t), "write-only with a box key rejected");
	*t = *tr;
	t->has_box = 0;
	OK(!imports(t), "read-only without a box key rejected");
	*t = *to;
	t->has_box = 0;
	OK(!imports(t), "owner without a box key rejected");

	sodium_memzero(to, sizeof *to);
	sodium_memzero(tw, sizeof *tw);
	sodium_memzero(tr, sizeof *tr);
	sodium_memzero(t, sizeof *t);
	free(to);
	free(tw);
	free(tr);
	free(t);
	keyring_free(o);
	keyring_free(w);
	keyring_free(r);
}

/* test_grants: epoch secret keys handed to slots, and new epochs. */
static void test_grants(void)
{
	struct keyring *o = keyring_new_repo(), *other = keyring_new_repo();
	struct keyring *r = keyring_derive(o, ROLE_READ), *w = keyring_derive(o, ROLE_WRITE);
	struct keyring *r2 = keyring_derive(o, ROLE_READ);
	uint8_t g[GRANT_SEALED_LEN], bad[GRANT_SEALED_LEN], rs[SLOT_ID_LEN], r2s[SLOT_ID_LEN];
	uint8_t rb[PK_LEN], r2b[PK_LEN], pk2[PK_LEN], pk3[PK_LEN], x[PK_LEN];

	keyring_slot_id(r, rs);
	keyring_slot_id(r2, r2s);
	keyring_box_pk(r, rb);
	keyring_box_pk(r2, r2b);
	OK(keyring_box_pk(w, x) == -1, "a write-only keyring has no box key");
	OK(keyring_grant(w, 1, rs, rb, g) == -1 && keyring_grant(r, 1, rs, rb, g) == -1,
	    "keyrings without the epoch's secret key cannot grant it");
	OK(keyring_grant(o, 2, rs, rb, g) == -1, "no grant of an unknown epoch");
	OK(keyring_grant(o, 1, rs, rb, g) == 0, "the owner grants epoch 1 to a read-only slot");
	OK(keyring_accept_grant(r, 2, g) == -1, "a grant is refused for an epoch the keyring does not know");
	OK(keyring_accept_grant(r2, 1, g) == -1 && !keyring_can_decrypt(r2, 1),
	    "a grant sealed to another slot's box key is refused");
	OK(keyring_accept_grant(w, 1, g) == -1, "a write-only keyring accepts no grant");
	memcpy(bad, g, sizeof g);
	bad[GRANT_SEALED_LEN - 1] ^= 1;
	OK(keyring_accept_grant(r, 1, bad) == -1 && !keyring_can_decrypt(r, 1),
	    "a grant with a flipped byte is refused");
	OK(keyring_grant(o, 1, rs, r2b, g) == 0 && keyring_accept_grant(r2, 1, g) == -1,
	    "a grant naming another slot, sealed to this one's box key, is refused");
	OK(keyring_grant(other, 1, r2s, r2b, g) == 0 && keyring_accept_grant(r2, 1, g) == -1,
	    "a grant of a key that does not match the epoch's public key is refused");
	OK(keyring_grant(o, 1, rs, rb, g) == 0 && keyring_accept_grant(r, 1, g) == 0 &&
	    keyring_can_decrypt(r, 1), "the read-only slot accepts its grant of epoch 1");

	OK(keyring_new_epoch(r, 2, pk2) == -1, "only an owner makes epochs");
	OK(keyring_new_epoch(o, 1, pk2) == -1, "epoch numbers must increase");
	OK(keyring_new_epoch(o, 2, pk2) == 0 && keyring_epoch(o) == 2 && keyring_can_decrypt(o, 2),
	    "the owner makes epoch 2 and holds its secret key");
	OK(keyring_grant(o, 2, rs, rb, g) == 0 && keyring_accept_grant(r, 2, g) == -1,
	    "a grant of epoch 2 is refused before its public key is known");
	memcpy(pk3, pk2, PK_LEN);
	pk3[0] ^= 1;
	OK(keyring_set_epoch_pk(r, 2, pk3) == 0 && keyring_accept_grant(r, 2, g) == -1,
	    "... and refused against a wrong public key");
	OK(keyring_set_epoch_pk(r, 2, pk2) == -1, "a conflicting public key for a known epoch is refused");
	OK(keyring_set_epoch_pk(r2, 2, pk2) == 0 && keyring_set_epoch_pk(r2, 2, pk2) == 0 &&
	    keyring_set_epoch_pk(r2, 1, pk2) == -1, "public keys: the same again is fine, a "
	    "conflict is refused");
	OK(keyring_grant(o, 2, r2s, r2b, g) == 0 && keyring_accept_grant(r2, 2, g) == 0 &&
	    keyring_can_decrypt(r2, 2) && !keyring_can_decrypt(r2, 1),
	    "a slot may hold a newer epoch without the older one");
	keyring_free(o);
	keyring_free(other);
	keyring_free(r);
	keyring_free(r2);
	keyring_free(w);
}

/* gcm_ref(key, nonce, ad, adn, in, n, out): AES-256-GCM done by the test,
 * IV = le64(nonce) || 4 zero bytes, tag appended. */
static int gcm_ref(const uint8_t key[32], uint64_t nonce, const void *ad, int adn,
    const uint8_t *in, int n, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t iv[12] = { 0 };
	int l, ok;

	le64_put(iv, nonce);
	ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) == 1 &&
	    EVP_EncryptUpdate(c, NULL, &l, ad, adn) == 1 &&
	    EVP_EncryptUpdate(c, out, &l, in, n) == 1 &&
	    EVP_EncryptFinal_ex(c, out + n, &l) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_seal_pk(void)
{
	struct keyring *o = keyring_new_repo();
	struct keyring *w = keyring_derive(o, ROLE_WRITE), *r = keyring_derive(o, ROLE_READ);
	struct seal s, s2;
	uint8_t hdr[SEAL_HDR_LEN], hdr2[SEAL_HDR_LEN], key[32], shared[32];
	uint8_t msg[300], ct[300 + 16], ct2[300 + 16], pt[300], ref[300 + 16];
	static const char ad[] = "pack header";
	struct tpayload *t = malloc(sizeof *t);
	crypto_generichash_state g;
	uint8_t *big, *bigc;
	size_t bign = 1 << 20, i;

	for (i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i % 251);
	OK(seal_begin_pk(&s, w, 1, hdr) == 0, "write-only can seal to epoch 1");
	seal_encrypt(&s, 0, ad, sizeof ad, msg, sizeof msg, ct);
	seal_encrypt(&s, 1, ad, sizeof ad, msg, 10, ct2);
	memcpy(key, s.key, 32);
	OK(s.next == 2, "next nonce advances");
	seal_end(&s);
	OK(s.ctx == NULL && all_zero(s.key, 32), "seal_end wipes the key");
	OK(seal_begin_pk(&s, w, 2, hdr2) == -1, "sealing to an unknown epoch fails");
	seal_end(&s);

	/* Independent key derivation from the epoch secret key, which the
	 * test learns as a grant to a box key of its own; the grant's
	 * plaintext is slot_id | u32 epoch | pk | sk. */
	{
		uint8_t bpk[32], bsk[32], slot[SLOT_ID_LEN] = { 0 }, sealed[GRANT_SEALED_LEN];
		uint8_t plain[GRANT_SEALED_LEN - crypto_box_SEALBYTES];

		crypto_box_keypair(bpk, bsk);
		OK(keyring_grant(o, 1, slot, bpk, sealed) == 0 &&
		    crypto_box_seal_open(plain, sealed, sizeof sealed, bpk, bsk) == 0 &&
		    le32_get(plain + SLOT_ID_LEN) == 1, "a grant opens with crypto_box_seal_open");
		memcpy(t->box_sk, plain + SLOT_ID_LEN + 4 + 32, 32);	/* the epoch sk */
		memcpy(t->root_pk, plain + SLOT_ID_LEN + 4, 32);	/* the epoch pk */
		sodium_memzero(plain, sizeof plain);
		sodium_memzero(bsk, sizeof bsk);
		OK(keyring_grant(o, 1, slot, bpk, sealed) == 0 &&
		    keyring_accept_grant(r, 1, sealed) == -1, "(that grant names another slot)");
		keyring_slot_id(r, slot);
		keyring_box_pk(r, bpk);
		OK(keyring_grant(o, 1, slot, bpk, sealed) == 0 && keyring_accept_grant(r, 1, sealed) == 0,
		    "the read-only keyring gets epoch 1 as a grant");
	}
	OK(crypto_scalarmult(shared, t->box_sk, hdr) == 0, "reference X25519");
	crypto_generichash_init(&g, NULL, 0, 32);
	crypto_generichash_update(&g, (const uint8_t *)"twofold-seal-pk-v1", 18);
	crypto_generichash_update(&g, shared, 32);
	crypto_generichash_update(&g, hdr, 32);
	crypto_generichash_update(&g, t->root_pk, 32);
	crypto_generichash_final(&g, shared, 32);
	OK(memcmp(shared, key, 32) == 0, "pk object key = BLAKE2b(label || shared || eph_pk || epoch_pk)");
	OK(gcm_ref(key, 0, ad, sizeof ad, msg, sizeof msg, ref) == 0 &&
	    memcmp(ref, ct, sizeof ct) == 0, "ciphertext = AES-256-GCM, IV le64(0) || 0^4, tag appended");
	OK(gcm_ref(key, 1, ad, sizeof ad, msg, 10, ref) == 0 &&
	    memcmp(ref, ct2, 26) == 0, "second message uses nonce 1");

	OK(seal_open_pk(&s, w, 1, hdr) == -1, "write-only cannot open");
	seal_end(&s);
	OK(seal_open_pk(&s, r, 1, hdr) == 0, "read-only can open");
	OK(seal_decrypt(&s, 0, ad, sizeof ad, ct, sizeof ct, pt) == 0 &&
	    memcmp(pt, msg, sizeof msg) == 0, "read-only decrypts");
	OK(seal_decrypt(&s, 1, ad, sizeof ad, ct2, 26, pt) == 0 &&
	    memcmp(pt, msg, 10) == 0, "second message decrypts");
	seal_end(&s);
	OK(seal_open_pk(&s, o, 1, hdr) == 0 &&
	    seal_decrypt(&s, 0, ad, sizeof ad, ct, sizeof ct, pt) == 0 &&
	    memcmp(pt, msg, sizeof msg) == 0, "owner decrypts");

	/* Tampering: each failure zeroes out, and the seal stays usable. */
	ct[5] ^= 1;
	memset(pt, 0xaa, sizeof pt);
	OK(seal_decrypt(&s, 0, ad, sizeof ad, ct, sizeof ct, pt) == -1 &&
	    all_zero(pt, sizeof msg), "flipped ciphertext byte fails, output zeroed");
	ct[5] ^= 1;
	ct[sizeof ct - 1] ^= 0x80;
	OK(seal_decrypt(&s, 0, ad, sizeof ad, ct, sizeof ct, pt) == -1, "flipped tag byte fails");
	ct[sizeof ct - 1] ^= 0x80;
	OK(seal_decrypt(&s, 0, ad, sizeof ad - 1, ct, sizeof ct, pt) == -1, "shorter ad fails");
	OK(seal_decrypt(&s, 0, "pack headeR", sizeof ad, ct, sizeof ct, pt) == -1, "altered ad fails");
	OK(seal_decrypt(&s, 0, NULL, 0, ct, sizeof ct, pt) == -1, "missing ad fails");
	OK(seal_decrypt(&s, 1, ad, sizeof ad, ct, sizeof ct, pt) == -1, "wrong nonce fails");
	OK(seal_decrypt(&s, 0, ad, sizeof ad, ct, sizeof ct - 1, pt) == -1, "truncated tag fails");
	OK(seal_decrypt(&s, 0, ad, sizeof ad, ct, 15, pt) == -1, "n < 16 fails");
	OK(seal_decrypt(&s, 0, ad, sizeof ad, ct, sizeof ct, pt) == 0 &&
	    memcmp(pt, msg, sizeof msg) == 0, "seal still decrypts after failures");
	seal_end(&s);
	memcpy(hdr2, hdr, sizeof hdr);
	hdr2[3] ^= 1;
	OK(seal_open_pk(&s, r, 1, hdr2) != 0 ||
	    seal_decrypt(&s, 0, ad, sizeof ad, ct, sizeof ct, pt) == -1, "altered header fails");
	seal_end(&s);
	memset(hdr2, 0, sizeof hdr2);
	OK(seal_open_pk(&s, r, 1, hdr2) == -1, "low-order (zero) header refused");
	seal_end(&s);
	OK(seal_open_pk(&s, r, 2, hdr) == -1, "opening an unknown epoch fails");
	seal_end(&s);
	seal_end(&s);	/* twice: still safe */

	/* Empty message and in-place operation on a large one. */
	OK(seal_begin_pk(&s, o, 1, hdr) == 0, "owner seals");
	seal_encrypt(&s, 3, NULL, 0, NULL, 0, ct);
	big = malloc(bign + 16);
	bigc = malloc(bign + 16);
	for (i = 0; i < bign; i++)
		big[i] = bigc[i] = (uint8_t)(i % 251);
	seal_encrypt(&s, 4, ad, sizeof ad, bigc, bign, bigc);
	OK(s.next == 5, "nonces may skip; next = 5");
	seal_end(&s);
	OK(seal_open_pk(&s2, r, 1, hdr) == 0 &&
	    seal_decrypt(&s2, 3, NULL, 0, ct, 16, pt) == 0, "empty message round trip");
	OK(seal_decrypt(&s2, 4, ad, sizeof ad, bigc, bign + 16, bigc) == 0 &&
	    memcmp(big, bigc, bign) == 0, "1 MiB in-place round trip");
	seal_end(&s2);
	free(big);
	free(bigc);

	/* Another repository's keyring cannot open it. */
	{
		struct keyring *x = keyring_new_repo();

		OK(seal_open_pk(&s, x, 1, hdr) == 0 &&
		    seal_decrypt(&s, 3, NULL, 0, ct, 16, pt) == -1,
		    "another repository's epoch key fails");
		seal_end(&s);
		keyring_free(x);
	}
	sodium_memzero(t, sizeof *t);
	free(t);
	keyring_free(o);
	keyring_free(w);
	keyring_free(r);
}

static void test_seal_sym(void)
{
	struct keyring *o = keyring_new_repo();
	struct keyring *w = keyring_derive(o, ROLE_WRITE), *r = keyring_derive(o, ROLE_READ);
	struct keyring *x = keyring_new_repo();
	static const enum sym_purpose purp[2] = { SYM_CONFIG, SYM_DEDUP };
	struct seal s, s2;
	uint8_t hdr[32], hdr2[32], key[32], ref[32], pkey[32], m[19 + 1 + 32];
	uint8_t ct[64 + 16], pt[64], kconf[32];
	struct tpayload *t = malloc(sizeof *t);
	struct buf b;
	int j;

	export_kr(o, &b);
	parse(b.p, b.len, t);
	buf_wipe_free(&b);
	for (j = 0; j < 2; j++) {
		seal_begin_sym(&s, w, purp[j], hdr);
		seal_encrypt(&s, 0, "ad", 2, (const uint8_t *)"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64, ct);
		memcpy(key, s.key, 32);
		seal_end(&s);
		seal_open_sym(&s, r, purp[j], hdr);
		OK(seal_decrypt(&s, 0, "ad", 2, ct, sizeof ct, pt) == 0 &&
		    memcmp(pt, "0123456789abcdef", 16) == 0,
		    "sym %d: write-only seals, read-only opens", purp[j]);
		seal_end(&s);
		seal_open_sym(&s, o, purp[j], hdr);
		OK(seal_decrypt(&s, 0, "ad", 2, ct, sizeof ct, pt) == 0, "sym %d: owner opens", purp[j]);
		seal_end(&s);
		seal_open_sym(&s, x, purp[j], hdr);
		OK(seal_decrypt(&s, 0, "ad", 2, ct, sizeof ct, pt) == -1,
		    "sym %d: another repository fails", purp[j]);
		seal_end(&s);
		seal_open_sym(&s, r, purp[j == 0 ? 1 : 0], hdr);
		OK(seal_decrypt(&s, 0, "ad", 2, ct, sizeof ct, pt) == -1,
		    "sym %d: opening as the other purpose fails", purp[j]);
		seal_end(&s);
		memcpy(hdr2, hdr, 32);
		hdr2[31] ^= 1;
		seal_open_sym(&s, r, purp[j], hdr2);
		OK(seal_decrypt(&s, 0, "ad", 2, ct, sizeof ct, pt) == -1,
		    "sym %d: altered salt fails", purp[j]);
		seal_end(&s);

		/* Independent derivation. */
		if (purp[j] == SYM_CONFIG)
			memcpy(pkey, t->cfg_key, 32);
		else
			crypto_generichash(pkey, 32, (const uint8_t *)"twofold-dedup-key-v1", 20,
			    t->id_key, 32);
		memcpy(m, "twofold-seal-sym-v1", 19);
		m[19] = (uint8_t)purp[j];
		memcpy(m + 20, hdr, 32);
		crypto_generichash(ref, 32, m, sizeof m, pkey, 32);
		OK(memcmp(ref, key, 32) == 0,
		    "sym %d: key = BLAKE2b_{purpose key}(label || purpose || salt)", purp[j]);
		if (purp[j] == SYM_CONFIG)
			memcpy(kconf, key, 32);
	}
	/* Same salt, two purposes: two keys. */
	seal_begin_sym(&s, o, SYM_CONFIG, hdr);
	seal_open_sym(&s2, o, SYM_DEDUP, hdr);
	OK(memcmp(s.key, s2.key, 32) != 0, "CONFIG and DEDUP keys differ for one salt");
	seal_end(&s);
	seal_end(&s2);
	seal_begin_sym(&s, o, SYM_CONFIG, hdr2);
	OK(memcmp(hdr, hdr2, 32) != 0 && memcmp(s.key, kconf, 32) != 0,
	    "each sym seal has a fresh salt and key");
	seal_end(&s);
	sodium_memzero(t, sizeof *t);
	free(t);
	keyring_free(o);
	keyring_free(w);
	keyring_free(r);
	keyring_free(x);
}

/* died_of_abort(n1, n2): seal nonce n1 then n2 in a child; 1 if the child
 * was killed by a signal (the abort() of a nonce reuse). */
static int died_of_abort(uint64_t n1, uint64_t n2)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		struct keyring *kr = keyring_new_repo();
		struct seal s;
		uint8_t hdr[32], out[1 + 16];

		/* Hide the expected message. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		seal_begin_sym(&s, kr, SYM_CONFIG, hdr);
		seal_encrypt(&s, n1, NULL, 0, (const uint8_t *)"x", 1, out);
		seal_encrypt(&s, n2, NULL, 0, (const uint8_t *)"x", 1, out);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_nonce_reuse(void)
{
	OK(died_of_abort(5, 5), "seal_encrypt aborts on a repeated nonce");
	OK(died_of_abort(5, 4), "seal_encrypt aborts on a lower nonce");
	OK(!died_of_abort(5, 6), "increasing nonces do not abort");
	OK(died_of_abort(0, UINT64_MAX), "nonce 2^64-1 (cannot advance) aborts");
}

static void test_sign(void)
{
	struct keyring *o = keyring_new_repo();
	struct keyring *w = keyring_derive(o, ROLE_WRITE), *r = keyring_derive(o, ROLE_READ);
	uint8_t sig[SIG_LEN], pk[PK_LEN], rpk[PK_LEN];
	static const char msg[] = "snapshot 1";

	OK(keyring_sign(o, msg, sizeof msg, sig) == 0 && keyring_signer_pk(o, pk) == 0 &&
	    sig_verify(pk, msg, sizeof msg, sig) == 0, "owner signs, signature verifies");
	OK(keyring_sign(w, msg, sizeof msg, sig) == 0 && keyring_signer_pk(w, pk) == 0 &&
	    sig_verify(pk, msg, sizeof msg, sig) == 0, "write-only signs, signature verifies");
	sig[10] ^= 1;
	OK(sig_verify(pk, msg, sizeof msg, sig) == -1, "flipped signature byte fails");
	sig[10] ^= 1;
	OK(sig_verify(pk, "snapshot 2", sizeof msg, sig) == -1, "other message fails");
	keyring_signer_pk(o, rpk);
	OK(sig_verify(rpk, msg, sizeof msg, sig) == -1, "another slot's key fails");
	OK(keyring_sign(r, msg, sizeof msg, sig) == -1, "read-only cannot sign");
	OK(keyring_root_sign(w, msg, sizeof msg, sig) == -1, "write-only cannot root-sign");
	OK(keyring_root_sign(r, msg, sizeof msg, sig) == -1, "read-only cannot root-sign");
	keyring_root_pk(r, rpk);
	OK(keyring_root_sign(o, msg, sizeof msg, sig) == 0 &&
	    sig_verify(rpk, msg, sizeof msg, sig) == 0, "owner root-signs, verifies with root pk");
	{
		struct keyring *o2 = keyring_derive(o, ROLE_OWNER);
		uint8_t sig2[SIG_LEN];

		OK(keyring_root_sign(o2, msg, sizeof msg, sig2) == 0 &&
		    sig_verify(rpk, msg, sizeof msg, sig2) == 0, "derived owner root-signs");
		keyring_free(o2);
	}
	keyring_free(o);
	keyring_free(w);
	keyring_free(r);
}

static void test_kdf_params(void)
{
	struct kdf_params a, b;
	char *ops = getenv("TWOFOLD_KDF_OPS"), *mem = getenv("TWOFOLD_KDF_MEM");
	char *sops = ops ? xstrdup(ops) : NULL, *smem = mem ? xstrdup(mem) : NULL;

	unsetenv("TWOFOLD_KDF_OPS");
	unsetenv("TWOFOLD_KDF_MEM");
	kdf_params_default(&a);
	kdf_params_default(&b);
	OK(a.opslimit == 3 && a.memlimit == (uint64_t)64 << 20, "defaults: ops 3, 64 MiB");
	OK(memcmp(a.salt, b.salt, SLOT_SALT_LEN) != 0, "a new salt each time");
	setenv("TWOFOLD_KDF_OPS", "1", 1);
	setenv("TWOFOLD_KDF_MEM", "8388608", 1);
	kdf_params_default(&a);
	OK(a.opslimit == 1 && a.memlimit == 8388608, "environment overrides");
	setenv("TWOFOLD_KDF_OPS", "0", 1);
	setenv("TWOFOLD_KDF_MEM", "1", 1);
	kdf_params_default(&a);
	OK(a.opslimit == crypto_pwhash_OPSLIMIT_MIN && a.memlimit == crypto_pwhash_MEMLIMIT_MIN,
	    "overrides clamped to libsodium minimums");
	setenv("TWOFOLD_KDF_OPS", "99999999999999", 1);
	setenv("TWOFOLD_KDF_MEM", "99999999999999999", 1);
	kdf_params_default(&a);
	OK(a.opslimit == crypto_pwhash_opslimit_max() && a.memlimit == crypto_pwhash_memlimit_max(),
	    "overrides clamped to libsodium maximums");
	setenv("TWOFOLD_KDF_OPS", "2x", 1);
	setenv("TWOFOLD_KDF_MEM", " 8388608", 1);
	kdf_params_default(&a);
	OK(a.opslimit == 3 && a.memlimit == (uint64_t)64 << 20, "junk overrides ignored");
	if (sops)
		setenv("TWOFOLD_KDF_OPS", sops, 1);
	else
		unsetenv("TWOFOLD_KDF_OPS");
	if (smem)
		setenv("TWOFOLD_KDF_MEM", smem, 1);
	else
		unsetenv("TWOFOLD_KDF_MEM");
	free(sops);
	free(smem);
}

static void test_slots(void)
{
	struct keyring *o = keyring_new_repo(), *kr;
	struct kdf_params kdf;
	struct buf pay, wrapped, out, pay2;
	static const char pass[] = "correct horse battery staple";
	static const char ad[] = "slot header v1";
	int rc;

	kdf.opslimit = crypto_pwhash_OPSLIMIT_MIN;
	kdf.memlimit = 8 << 20;
	rand_bytes(kdf.salt, sizeof kdf.salt);
	export_kr(o, &pay);
	buf_init(&wrapped, PAYLOAD_MAX);
	OK(slot_wrap(pass, strlen(pass), &kdf, ad, sizeof ad, pay.p, pay.len, &wrapped) == 0 &&
	    wrapped.len == SLOT_NONCE_LEN + pay.len + AEAD_TAG_LEN,
	    "slot_wrap: nonce, ciphertext and tag");
	buf_init(&out, PAYLOAD_MAX);
	rc = slot_unwrap(pass, strlen(pass), &kdf, ad, sizeof ad, wrapped.p, wrapped.len, &out);
	OK(rc == 0 && out.len == pay.len && memcmp(out.p, pay.p, pay.len) == 0,
	    "slot_unwrap returns the payload");
	kr = keyring_import(out.p, out.len);
	export_kr(kr, &pay2);
	OK(kr != NULL && pay2.len == pay.len && memcmp(pay2.p, pay.p, pay.len) == 0,
	    "export, wrap, unwrap, import round trip");
	buf_wipe_free(&pay2);
	keyring_free(kr);
	buf_wipe_free(&out);

	buf_init(&out, PAYLOAD_MAX);
	OK(slot_unwrap("correct horse battery stapler", 29, &kdf, ad, sizeof ad,
	    wrapped.p, wrapped.len, &out) == 1 && out.len == 0, "wrong passphrase: 1");
	OK(slot_unwrap(pass, strlen(pass) - 1, &kdf, ad, sizeof ad,
	    wrapped.p, wrapped.len, &out) == 1, "passphrase prefix: 1");
	OK(slot_unwrap(pass, strlen(pass), &kdf, "slot header v2", sizeof ad,
	    wrapped.p, wrapped.len, &out) == 1, "altered ad: 1");
	wrapped.p[SLOT_NONCE_LEN + 7] ^= 1;
	OK(slot_unwrap(pass, strlen(pass), &kdf, ad, sizeof ad,
	    wrapped.p, wrapped.len, &out) == 1, "altered ciphertext: 1");
	wrapped.p[SLOT_NONCE_LEN + 7] ^= 1;
	wrapped.p[0] ^= 1;
	OK(slot_unwrap(pass, strlen(pass), &kdf, ad, sizeof ad,
	    wrapped.p, wrapped.len, &out) == 1, "altered nonce: 1");
	wrapped.p[0] ^= 1;
	wrapped.p[wrapped.len - 1] ^= 1;
	OK(slot_unwrap(pass, strlen(pass), &kdf, ad, sizeof ad,
	    wrapped.p, wrapped.len, &out) == 1, "altered tag: 1");
	wrapped.p[wrapped.len - 1] ^= 1;
	OK(slot_unwrap(pass, strlen(pass), &kdf, ad, sizeof ad,
	    wrapped.p, wrapped.len - 1, &out) == 1, "truncated: 1");
	OK(slot_unwrap(pass, strlen(pass), &kdf, ad, sizeof ad,
	    wrapped.p, 39, &out) == 1, "shorter than nonce and tag: 1");
	kdf.salt[0] ^= 1;
	OK(slot_unwrap(pass, strlen(pass), &kdf, ad, sizeof ad,
	    wrapped.p, wrapped.len, &out) == 1, "other salt: 1");
	kdf.salt[0] ^= 1;
	kdf.opslimit++;
	OK(slot_unwrap(pass, strlen(pass), &kdf, ad, sizeof ad,
	    wrapped.p, wrapped.len, &out) == 1, "other opslimit: 1");
	kdf.opslimit--;
	OK(out.len == 0, "failed unwraps leave out empty");
	kdf.memlimit = 1;
	OK(slot_unwrap(pass, strlen(pass), &kdf, ad, sizeof ad,
	    wrapped.p, wrapped.len, &out) == -1, "KDF failure (memlimit below minimum): -1");
	OK(slot_wrap(pass, strlen(pass), &kdf, ad, sizeof ad, pay.p, pay.len, &out) == -1 &&
	    out.len == 0, "slot_wrap with a failing KDF: -1");
	kdf.memlimit = 8 << 20;
	buf_wipe_free(&out);

	/* Empty payload and empty passphrase. */
	buf_wipe_free(&wrapped);
	buf_init(&wrapped, PAYLOAD_MAX);
	buf_init(&out, PAYLOAD_MAX);
	OK(slot_wrap("", 0, &kdf, NULL, 0, NULL, 0, &wrapped) == 0 &&
	    wrapped.len == SLOT_NONCE_LEN + AEAD_TAG_LEN &&
	    slot_unwrap("", 0, &kdf, NULL, 0, wrapped.p, wrapped.len, &out) == 0 &&
	    out.len == 0, "empty payload, empty passphrase round trip");
	buf_wipe_free(&out);
	buf_wipe_free(&wrapped);

	/* A buffer too small. */
	buf_init(&wrapped, 10);
	OK(slot_wrap(pass, strlen(pass), &kdf, ad, sizeof ad, pay.p, pay.len, &wrapped) == -1,
	    "slot_wrap into a too-small buffer: -1");
	buf_wipe_free(&wrapped);
	buf_init(&wrapped, 10);
	OK(keyring_export(o, &wrapped) == -1 && wrapped.len == 0,
	    "keyring_export into a too-small buffer: -1");
	buf_wipe_free(&wrapped);
	buf_wipe_free(&pay);
	keyring_free(o);
}

int main(void)
{
	if (crypto_init() != 0)
		return 1;
	test_basics();
	test_chunk_id();
	test_gear();
	test_keyrings();
	test_import_bad();
	test_grants();
	test_seal_pk();
	test_seal_sym();
	test_nonce_reuse();
	test_sign();
	test_kdf_params();
	test_slots();
	return tap_done();
}
