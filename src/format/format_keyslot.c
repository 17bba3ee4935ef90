/* format_keyslot.c: key slot objects (keys/<sha256>).  The header is
 * KEYSLOT_HDR_LEN bytes: magic | u8 kind=1 | u8 version | slot_id[16] |
 * u8 role | i64 created_ns | u8 kdf=1 | u64 opslimit | u64 memlimit |
 * salt[16]; then nonce[24] and the wrapped payload with its 16-byte tag,
 * which this module hands back untouched (k->wrapped). */
#include "format/format.h"

#include <string.h>

#include "util/codec.h"
#include "util/util.h"

/* The smallest wrapped part: the nonce and the Poly1305 tag. */
#define SLOT_WRAP_MIN (SLOT_NONCE_LEN + 16)
/* KDF cost bounds (docs/FORMAT.md 3.4): a tampered slot must not make
 * the reader exhaust the machine; the lower bounds are Argon2id's own
 * minimums (libsodium's crypto_pwhash_*_MIN). */
#define KDF_OPS_MIN 1
#define KDF_OPS_MAX 64
#define KDF_MEM_MIN 8192
#define KDF_MEM_MAX (UINT64_C(4) << 30)

void keyslot_encode_header(const struct keyslot *k, struct buf *out)
{
	enc_raw(out, FORMAT_MAGIC, 4);
	enc_u8(out, OBJ_KEYSLOT);
	enc_u8(out, FORMAT_VERSION);
	enc_raw(out, k->slot_id, SLOT_ID_LEN);
	enc_u8(out, k->role);
	enc_i64(out, k->created_ns);
	enc_u8(out, KDF_ARGON2ID13);
	enc_u64(out, k->kdf.opslimit);
	enc_u64(out, k->kdf.memlimit);
	enc_raw(out, k->kdf.salt, SLOT_SALT_LEN);
}

int keyslot_decode(const uint8_t *p, size_t n, struct keyslot *k)
{
	struct dec d;
	uint8_t magic[4];

	memset(k, 0, sizeof *k);
	if (p == NULL || n < KEYSLOT_HDR_LEN || n - KEYSLOT_HDR_LEN < SLOT_WRAP_MIN)
		return -1;
	dec_init(&d, p, KEYSLOT_HDR_LEN);
	dec_raw(&d, magic, sizeof magic);
	if (memcmp(magic, FORMAT_MAGIC, 4) != 0 || dec_u8(&d) != OBJ_KEYSLOT ||
	    dec_u8(&d) != FORMAT_VERSION)
		dec_fail(&d);
	dec_raw(&d, k->slot_id, SLOT_ID_LEN);
	k->role = dec_u8(&d);
	if (k->role < ROLE_OWNER || k->role > ROLE_READ)
		dec_fail(&d);
	k->created_ns = dec_i64(&d);
	if (dec_u8(&d) != KDF_ARGON2ID13)
		dec_fail(&d);
	k->kdf.opslimit = dec_u64(&d);
	k->kdf.memlimit = dec_u64(&d);
	if (k->kdf.opslimit < KDF_OPS_MIN || k->kdf.opslimit > KDF_OPS_MAX ||
	    k->kdf.memlimit < KDF_MEM_MIN || k->kdf.memlimit > KDF_MEM_MAX)
		dec_fail(&d);
	dec_raw(&d, k->kdf.salt, SLOT_SALT_LEN);
	if (!dec_end(&d)) {
		memset(k, 0, sizeof *k);
		return -1;
	}
	k->wrapped = p + KEYSLOT_HDR_LEN;
	k->wrapped_len = n - KEYSLOT_HDR_LEN;
	return 0;
}
