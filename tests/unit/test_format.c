/* test_format.c: the byte encodings of every repository object.  For each
 * kind: a round trip with every field set, compared field by field; every
 * truncation and a trailing byte rejected; one malformed input per
 * validation rule; failed decodes leave the output zeroed.  Known-answer
 * bytes for a one-file tree (derived by hand from format.h) catch an
 * accidental format change; Padmé is checked on known values and bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "tap.h"
#include "util/codec.h"
#include "util/util.h"

#define BUF_MAX (256u << 20)
#define HUGE_COUNT (1u << 20)	/* under MAX_LIST, far past any input here */

/* Under ASan a malloc hook records the largest allocation, so the tests
 * can see that a decoder checks a count against the bytes left before it
 * allocates for it.  Elsewhere the check is only that decoding fails. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_MALLOC_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_MALLOC_HOOK 1
#endif
#endif
static size_t biggest;
#ifdef HAVE_MALLOC_HOOK
int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void *, size_t),
    void (*)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	if (n > biggest)
		biggest = n;
}

static void on_free(const volatile void *p)
{
	(void)p;
}
#endif

/* Set when a failed decode left its output struct non-zero. */
static int dirty;

static int all_zero(const void *p, size_t n)
{
	const uint8_t *q = p;

	for (size_t i = 0; i < n; i++)
		if (q[i])
			return 0;
	return 1;
}

/* ---- decode wrappers: decode, check the failure contract, free ---- */

typedef int (*try_fn)(const uint8_t *p, size_t n);

static int try_tree(const uint8_t *p, size_t n)
{
	struct tree t;
	int rc = tree_decode(p, n, &t);

	if (rc != 0 && !all_zero(&t, sizeof t))
		dirty = 1;
	tree_free(&t);
	return rc;
}

static int try_snapshot(const uint8_t *p, size_t n)
{
	struct snapshot s;
	int rc = snapshot_decode(p, n, &s);

	if (rc != 0 && !all_zero(&s, sizeof s))
		dirty = 1;
	snapshot_free(&s);
	return rc;
}

static int try_config(const uint8_t *p, size_t n)
{
	struct config c;
	int rc = config_decode_body(p, n, &c);

	if (rc != 0 && !all_zero(&c, sizeof c))
		dirty = 1;
	config_free(&c);
	return rc;
}

static int try_locations(const uint8_t *p, size_t n)
{
	struct index_body b;
	int rc = index_decode_locations(p, n, &b);

	if (rc != 0 && !all_zero(&b, sizeof b))
		dirty = 1;
	index_body_free(&b);
	return rc;
}

static int try_dedup(const uint8_t *p, size_t n)
{
	struct dedup_entry *e = (struct dedup_entry *)1;
	uint32_t cnt = 7;
	int rc = index_decode_dedup(p, n, &e, &cnt);

	if (rc != 0 && (e != NULL || cnt != 0))
		dirty = 1;
	if (rc == 0)
		free(e);
	return rc;
}

/* The trailer's end offset comes from here, so one wrapper fits all. */
static uint64_t trailer_end;

static int try_trailer(const uint8_t *p, size_t n)
{
	struct pack_entry *e = (struct pack_entry *)1;
	uint32_t cnt = 7;
	int rc = pack_trailer_decode(p, n, trailer_end, &e, &cnt);

	if (rc != 0 && (e != NULL || cnt != 0))
		dirty = 1;
	if (rc == 0)
		free(e);
	return rc;
}

static int try_keyslot(const uint8_t *p, size_t n)
{
	struct keyslot k;
	int rc = keyslot_decode(p, n, &k);

	if (rc != 0 && !all_zero(&k, sizeof k))
		dirty = 1;
	return rc;
}

/* try_exact(f, p, n): decode from an allocation of exactly n bytes, so
 * that ASan sees any read past the end. */
static int try_exact(try_fn f, const uint8_t *p, size_t n)
{
	uint8_t *c = xmalloc(n);
	int rc;

	if (n)
		memcpy(c, p, n);
	rc = f(n ? c : NULL, n);
	free(c);
	return rc;
}

/* framing(what, f, p, n): p decodes; every shorter prefix and p with one
 * more byte do not. */
static void framing(const char *what, try_fn f, const uint8_t *p, size_t n)
{
	size_t fails = 0;
	uint8_t *q;

	OK(try_exact(f, p, n) == 0, "%s: the encoding decodes", what);
	for (size_t i = 0; i < n; i++)
		if (try_exact(f, p, i) != 0)
			fails++;
	OK(fails == n, "%s: all %zu truncations fail", what, n);
	q = xmalloc(n + 1);
	memcpy(q, p, n);
	q[n] = 0;
	OK(try_exact(f, q, n + 1) != 0, "%s: a trailing byte fails", what);
	free(q);
}

static void bad(const char *what, try_fn f, const struct buf *b)
{
	OK(!b->overflow && try_exact(f, b->p, b->len) != 0, "%s is rejected", what);
}

/* bad_count(what, f, b): b holds a count of HUGE_COUNT entries that
 * cannot fit: rejected, with no allocation sized by the count. */
static void bad_count(const char *what, try_fn f, const struct buf *b)
{
	int rc;

	biggest = 0;
	rc = try_exact(f, b->p, b->len);
	OK(rc != 0 && biggest < HUGE_COUNT, "%s is rejected before allocating (largest %zu)",
	    what, biggest);
}

static void good(const char *what, try_fn f, const struct buf *b)
{
	OK(!b->overflow && try_exact(f, b->p, b->len) == 0, "%s is accepted", what);
}

/* find(b, s, n): offset of the first occurrence of s in b (aborts if none:
 * the test itself would be wrong). */
static size_t find(const struct buf *b, const void *s, size_t n)
{
	const uint8_t *q = memmem(b->p, b->len, s, n);

	if (q == NULL) {
		printf("Bail out! pattern not found\n");
		exit(1);
	}
	return (size_t)(q - b->p);
}

static void fill_id(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static int str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static int strv_eq(uint32_t n, char **a, uint32_t m, char **b)
{
	if (n != m)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (!str_eq(a[i], b[i]))
			return 0;
	return 1;
}

/* ==== envelope ==== */

static void test_envelope(void)
{
	struct envelope e, d;
	uint8_t out[ENVELOPE_LEN + 3], want[ENVELOPE_LEN];
	static const char kat[] = "5457464405" "01" "07000000"
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

	memset(&e, 0, sizeof e);
	e.kind = OBJ_SNAPSHOT;
	e.epoch = 7;
	for (int i = 0; i < SEAL_HDR_LEN; i++)
		e.seal_hdr[i] = (uint8_t)i;
	memset(out, 0xee, sizeof out);
	envelope_encode(&e, out);
	OK(hex_decode(kat, want, sizeof want) == 0 && memcmp(out, want, ENVELOPE_LEN) == 0,
	    "envelope: known-answer bytes");
	OK(out[ENVELOPE_LEN] == 0xee, "envelope: writes exactly ENVELOPE_LEN bytes");
	OK(envelope_decode(out, ENVELOPE_LEN, OBJ_SNAPSHOT, &d) == 0 && d.kind == OBJ_SNAPSHOT &&
	    d.epoch == 7 && memcmp(d.seal_hdr, e.seal_hdr, SEAL_HDR_LEN) == 0,
	    "envelope: round trip");
	OK(envelope_decode(out, sizeof out, OBJ_SNAPSHOT, &d) == 0,
	    "envelope: the rest of the object may follow");
	OK(envelope_decode(out, ENVELOPE_LEN - 1, OBJ_SNAPSHOT, &d) != 0 && all_zero(&d, sizeof d),
	    "envelope: 41 bytes are rejected, output zeroed");
	OK(envelope_decode(out, ENVELOPE_LEN, OBJ_PACK, &d) != 0 && all_zero(&d, sizeof d),
	    "envelope: the wrong kind is rejected");
	out[5] = 2;
	OK(envelope_decode(out, ENVELOPE_LEN, OBJ_SNAPSHOT, &d) != 0, "envelope: version 2 is rejected");
	out[5] = 0;
	OK(envelope_decode(out, ENVELOPE_LEN, OBJ_SNAPSHOT, &d) != 0, "envelope: version 0 is rejected");
	out[5] = FORMAT_VERSION;
	out[0] = 't';
	OK(envelope_decode(out, ENVELOPE_LEN, OBJ_SNAPSHOT, &d) != 0, "envelope: bad magic is rejected");
	OK(envelope_decode(NULL, 0, OBJ_SNAPSHOT, &d) != 0, "envelope: empty input is rejected");
}

/* ==== key slot ==== */

static void test_keyslot(void)
{
	struct keyslot k, d;
	struct buf b;
	size_t fails = 0, wrap_min = SLOT_NONCE_LEN + 16;

	memset(&k, 0, sizeof k);
	fill_id(k.slot_id, SLOT_ID_LEN, 0x10);
	k.role = ROLE_WRITE;
	k.created_ns = INT64_C(1700000000123456789);
	k.kdf.opslimit = 3;
	k.kdf.memlimit = UINT64_C(64) << 20;
	fill_id(k.kdf.salt, SLOT_SALT_LEN, 0x80);
	buf_init(&b, BUF_MAX);
	keyslot_encode_header(&k, &b);
	OK(b.len == KEYSLOT_HDR_LEN, "keyslot: header is KEYSLOT_HDR_LEN (%d) bytes", KEYSLOT_HDR_LEN);
	OK(memcmp(b.p, "TWFD\001\001", 6) == 0 && b.p[6 + SLOT_ID_LEN] == ROLE_WRITE &&
	    b.p[6 + SLOT_ID_LEN + 1 + 8] == KDF_ARGON2ID13 &&
	    le64_get(b.p + 6 + SLOT_ID_LEN + 1 + 8 + 1) == 3 &&
	    memcmp(b.p + KEYSLOT_HDR_LEN - SLOT_SALT_LEN, k.kdf.salt, SLOT_SALT_LEN) == 0,
	    "keyslot: header fields at their offsets");
	for (size_t i = 0; i < wrap_min + 5; i++)
		enc_u8(&b, (uint8_t)(i * 3));
	OK(keyslot_decode(b.p, b.len, &d) == 0 &&
	    memcmp(d.slot_id, k.slot_id, SLOT_ID_LEN) == 0 && d.role == k.role &&
	    d.created_ns == k.created_ns && d.kdf.opslimit == k.kdf.opslimit &&
	    d.kdf.memlimit == k.kdf.memlimit &&
	    memcmp(d.kdf.salt, k.kdf.salt, SLOT_SALT_LEN) == 0 &&
	    d.wrapped == b.p + KEYSLOT_HDR_LEN && d.wrapped_len == wrap_min + 5,
	    "keyslot: round trip, wrapped points after the header");
	for (size_t i = 0; i < KEYSLOT_HDR_LEN + wrap_min; i++)
		if (try_exact(try_keyslot, b.p, i) != 0)
			fails++;
	OK(fails == KEYSLOT_HDR_LEN + wrap_min, "keyslot: every input shorter than header+nonce+tag fails");
	OK(try_exact(try_keyslot, b.p, KEYSLOT_HDR_LEN + wrap_min) == 0,
	    "keyslot: header+nonce+tag (empty payload) is accepted");

	{
		static const struct {
			size_t off;
			uint8_t v;
			const char *what;
		} patch[] = {
			{ 0, 'X', "keyslot: bad magic" },
			{ 4, OBJ_CONFIG, "keyslot: kind 2" },
			{ 5, 2, "keyslot: version 2" },
			{ 6 + SLOT_ID_LEN, 0, "keyslot: role 0" },
			{ 6 + SLOT_ID_LEN, 4, "keyslot: role 4" },
			{ 6 + SLOT_ID_LEN + 1 + 8, 2, "keyslot: kdf 2" },
			{ 6 + SLOT_ID_LEN + 1 + 8, 0, "keyslot: kdf 0" },
		};

		for (size_t i = 0; i < sizeof patch / sizeof patch[0]; i++) {
			uint8_t old = b.p[patch[i].off];

			b.p[patch[i].off] = patch[i].v;
			bad(patch[i].what, try_keyslot, &b);
			b.p[patch[i].off] = old;
		}
	}
	{
		static const struct {
			uint64_t ops, mem;
			int ok;
			const char *what;
		} kdf[] = {
			{ 0, 8192, 0, "keyslot: opslimit 0" },
			{ 65, 8192, 0, "keyslot: opslimit 65" },
			{ 1, 8191, 0, "keyslot: memlimit below 8 KiB" },
			{ 1, (UINT64_C(4) << 30) + 1, 0, "keyslot: memlimit above 4 GiB" },
			{ 1, 8192, 1, "keyslot: opslimit 1, memlimit 8 KiB" },
			{ 64, UINT64_C(4) << 30, 1, "keyslot: opslimit 64, memlimit 4 GiB" },
		};
		size_t ops_off = 6 + SLOT_ID_LEN + 1 + 8 + 1;

		for (size_t i = 0; i < sizeof kdf / sizeof kdf[0]; i++) {
			le64_put(b.p + ops_off, kdf[i].ops);
			le64_put(b.p + ops_off + 8, kdf[i].mem);
			if (kdf[i].ok)
				good(kdf[i].what, try_keyslot, &b);
			else
				bad(kdf[i].what, try_keyslot, &b);
		}
	}
	buf_free(&b);
}

/* ==== config ==== */

static void make_config(struct config *c)
{
	struct cfg_key *k;

	memset(c, 0, sizeof *c);
	c->seq = UINT64_C(0x0102030405060708);
	fill_id(c->repo_id, sizeof c->repo_id, 1);
	fill_id(c->root_pk, PK_LEN, 2);
	c->created_ns = -5;
	c->chunk_min = 512u << 10;
	c->chunk_avg = 1u << 20;
	c->chunk_max = 8u << 20;
	c->pack_size = 16u << 20;
	c->compression = 1;
	c->level = -3;
	c->epoch = 5;
	c->n_epochs = 2;
	c->epochs = xcalloc(2, sizeof *c->epochs);
	c->epochs[0].number = 1;
	fill_id(c->epochs[0].pk, PK_LEN, 3);
	c->epochs[0].state = EPOCH_RETIRED;
	c->epochs[1].number = 5;
	fill_id(c->epochs[1].pk, PK_LEN, 4);
	c->epochs[1].state = EPOCH_ACTIVE;
	c->n_keys = 3;
	c->keys = k = xcalloc(3, sizeof *k);
	fill_id(k[0].slot_id, SLOT_ID_LEN, 5);
	k[0].role = ROLE_OWNER;
	k[0].name = xstrdup("owner-key");
	k[0].created_ns = 100;
	k[0].has_signer = 1;
	fill_id(k[0].signer_pk, PK_LEN, 6);
	k[0].has_box = 1;
	fill_id(k[0].box_pk, PK_LEN, 12);
	fill_id(k[1].slot_id, SLOT_ID_LEN, 7);
	k[1].role = ROLE_READ;
	k[1].name = xstrdup("reader-key");
	k[1].created_ns = 200;
	k[1].has_box = 1;
	fill_id(k[1].box_pk, PK_LEN, 13);
	fill_id(k[2].slot_id, SLOT_ID_LEN, 8);
	k[2].role = ROLE_WRITE;
	k[2].name = xstrdup("laptop");
	k[2].created_ns = 300;
	k[2].has_signer = 1;
	fill_id(k[2].signer_pk, PK_LEN, 9);
	k[2].revoked = 1;
	k[2].n_allowed = 2;
	k[2].allowed = xcalloc(2, ID_LEN);
	fill_id(k[2].allowed[0], ID_LEN, 10);
	fill_id(k[2].allowed[1], ID_LEN, 11);
}

static int config_eq(const struct config *a, const struct config *b)
{
	if (a->seq != b->seq || memcmp(a->repo_id, b->repo_id, 16) != 0 ||
	    memcmp(a->root_pk, b->root_pk, PK_LEN) != 0 || a->created_ns != b->created_ns ||
	    a->chunk_min != b->chunk_min || a->chunk_avg != b->chunk_avg ||
	    a->chunk_max != b->chunk_max || a->pack_size != b->pack_size ||
	    a->compression != b->compression || a->level != b->level || a->epoch != b->epoch ||
	    a->n_epochs != b->n_epochs || a->n_keys != b->n_keys)
		return 0;
	for (uint32_t i = 0; i < a->n_epochs; i++)
		if (a->epochs[i].number != b->epochs[i].number ||
		    memcmp(a->epochs[i].pk, b->epochs[i].pk, PK_LEN) != 0 ||
		    a->epochs[i].state != b->epochs[i].state)
			return 0;
	for (uint32_t i = 0; i < a->n_keys; i++) {
		const struct cfg_key *x = &a->keys[i], *y = &b->keys[i];

		if (memcmp(x->slot_id, y->slot_id, SLOT_ID_LEN) != 0 || x->role != y->role ||
		    !str_eq(x->name, y->name) || x->created_ns != y->created_ns ||
		    x->has_signer != y->has_signer || memcmp(x->signer_pk, y->signer_pk, PK_LEN) != 0 ||
		    x->has_box != y->has_box || memcmp(x->box_pk, y->box_pk, PK_LEN) != 0 ||
		    x->revoked != y->revoked || x->n_allowed != y->n_allowed)
			return 0;
		for (uint32_t j = 0; j < x->n_allowed; j++)
			if (memcmp(x->allowed[j], y->allowed[j], ID_LEN) != 0)
				return 0;
	}
	return 1;
}

/* Offsets in the config body of make_config(). */
#define CFG_OFF_CHUNK_MIN (1 + 8 + 16 + PK_LEN + 8)
#define CFG_OFF_EPOCH (CFG_OFF_CHUNK_MIN + 16 + 2)
#define CFG_OFF_NEPOCHS (CFG_OFF_EPOCH + 4)
#define CFG_OFF_NKEYS (CFG_OFF_NEPOCHS + 4 + 2 * (4 + PK_LEN + 1))

static void config_case(int k, struct config *c, const char **what)
{
	switch (k) {
	case 0: *what = "config: chunk_min 63"; c->chunk_min = 63; break;
	case 1: *what = "config: chunk_min > chunk_avg"; c->chunk_min = c->chunk_avg + 1; break;
	case 2: *what = "config: chunk_avg > chunk_max"; c->chunk_max = c->chunk_avg - 1; break;
	case 3: *what = "config: chunk_avg not a power of two"; c->chunk_avg += 1; break;
	case 4: *what = "config: chunk_max > 64 MiB";
		c->chunk_max = (64u << 20) + 1; break;
	case 5: *what = "config: pack_size < 1 MiB"; c->pack_size = (1u << 20) - 1; break;
	case 6: *what = "config: pack_size > 1 GiB"; c->pack_size = (1u << 30) + 1; break;
	case 7: *what = "config: compression 2"; c->compression = 2; break;
	case 8: *what = "config: epoch state 2"; c->epochs[1].state = 2; break;
	case 9: *what = "config: equal epoch numbers"; c->epochs[0].number = 5; break;
	case 10: *what = "config: decreasing epoch numbers"; c->epochs[0].number = 6; break;
	case 11: *what = "config: current epoch not listed"; c->epoch = 3; break;
	case 12: *what = "config: no epochs"; c->n_epochs = 0; break;
	case 13: *what = "config: key role 0"; c->keys[1].role = 0; break;
	case 14: *what = "config: key role 4"; c->keys[1].role = 4; break;
	case 15: *what = "config: has_signer 2"; c->keys[0].has_signer = 2; break;
	case 16: *what = "config: revoked 2"; c->keys[0].revoked = 2; break;
	case 17: *what = "config: allowed list on a key not revoked"; c->keys[2].revoked = 0; break;
	case 18: *what = "config: duplicate slot ids";
		memcpy(c->keys[2].slot_id, c->keys[0].slot_id, SLOT_ID_LEN); break;
	case 19: *what = "config: key name longer than MAX_STR";
		free(c->keys[1].name); c->keys[1].name = repeat('n', MAX_STR + 1); break;
	case 20: *what = "config: more than MAX_EPOCHS epochs";
		c->epochs = xreallocarray(c->epochs, MAX_EPOCHS + 1, sizeof *c->epochs);
		for (uint32_t i = 0; i <= MAX_EPOCHS; i++) {
			memset(&c->epochs[i], 0, sizeof c->epochs[i]);
			c->epochs[i].number = i + 1;
		}
		c->n_epochs = MAX_EPOCHS + 1;
		c->epoch = 1;
		break;
	default: *what = NULL; break;
	}
}

static void test_config(void)
{
	struct config c, d, cp;
	struct buf b, b2;
	const char *what;
	uint8_t slot[SLOT_ID_LEN];

	make_config(&c);
	buf_init(&b, BUF_MAX);
	config_encode_body(&c, &b);
	OK(config_decode_body(b.p, b.len, &d) == 0 && config_eq(&c, &d), "config: round trip");
	buf_init(&b2, BUF_MAX);
	config_encode_body(&d, &b2);
	OK(b2.len == b.len && memcmp(b.p, b2.p, b.len) == 0, "config: re-encoding is identical");
	OK(le32_get(b.p + CFG_OFF_CHUNK_MIN) == c.chunk_min && (int8_t)b.p[CFG_OFF_EPOCH - 1] == -3 &&
	    le32_get(b.p + CFG_OFF_EPOCH) == 5 && le32_get(b.p + CFG_OFF_NEPOCHS) == 2 &&
	    le32_get(b.p + CFG_OFF_NKEYS) == 3, "config: fields at their documented offsets");
	buf_free(&b2);
	framing("config", try_config, b.p, b.len);

	config_copy(&cp, &d);
	OK(config_eq(&cp, &d) && cp.keys != d.keys && cp.epochs != d.epochs &&
	    cp.keys[0].name != d.keys[0].name && cp.keys[2].allowed != d.keys[2].allowed,
	    "config_copy: a deep, equal copy");
	fill_id(slot, SLOT_ID_LEN, 7);
	OK(config_find_key(&cp, slot) == &cp.keys[1], "config_find_key: finds the entry");
	slot[0] ^= 1;
	OK(config_find_key(&cp, slot) == NULL, "config_find_key: NULL for an unknown slot");
	config_free(&cp);
	config_free(&d);
	OK(all_zero(&d, sizeof d), "config_free: leaves the struct zeroed");
	config_free(&d);
	config_free(NULL);

	/* The boundaries themselves are fine. */
	{
		struct config e;

		make_config(&e);
		e.chunk_min = 64;
		e.chunk_avg = 64;
		e.chunk_max = 64u << 20;
		e.pack_size = 1u << 20;
		e.n_keys = 0;
		buf_init(&b2, BUF_MAX);
		config_encode_body(&e, &b2);
		good("config: chunk 64/64/64MiB, pack 1 MiB, no keys", try_config, &b2);
		buf_free(&b2);
		e.n_keys = 3;
		e.pack_size = 1u << 30;
		e.keys[1].signer_pk[0] = 1;	/* no signer: not encoded */
		buf_init(&b2, BUF_MAX);
		config_encode_body(&e, &b2);
		good("config: pack 1 GiB", try_config, &b2);
		buf_free(&b2);
		config_free(&e);
	}

	for (int k = 0;; k++) {
		struct config e;

		make_config(&e);
		config_case(k, &e, &what);
		if (what == NULL) {
			config_free(&e);
			break;
		}
		buf_init(&b2, BUF_MAX);
		config_encode_body(&e, &b2);
		bad(what, try_config, &b2);
		buf_free(&b2);
		config_free(&e);
	}

	/* Byte patches for what the encoder cannot express. */
	{
		static const uint8_t name[] = "\012\000\000\000reader-key";
		size_t off = find(&b, name, 14);
		size_t pk = off + 14 + 8 + 1;

		size_t box = pk + PK_LEN;	/* the reader's has_box, box_pk */

		b.p[0] = 1;
		bad("config: body version 1", try_config, &b);
		b.p[0] = 3;
		bad("config: body version 3", try_config, &b);
		b.p[0] = 2;
		b.p[pk + 5] = 1;
		bad("config: signer key set without a signer", try_config, &b);
		b.p[pk + 5] = 0;
		OK(b.p[box] == 1, "config: the reader's has_box at its offset");
		b.p[box] = 2;
		bad("config: has_box 2", try_config, &b);
		b.p[box] = 0;
		bad("config: box key set without has_box", try_config, &b);
		b.p[box] = 1;
		b.p[off + 4 + 3] = 0;
		bad("config: key name with a NUL", try_config, &b);
		b.p[off + 4 + 3] = 'd';
		le32_put(b.p + CFG_OFF_NKEYS, UINT32_MAX);
		bad("config: key count 2^32-1", try_config, &b);
		le32_put(b.p + CFG_OFF_NKEYS, HUGE_COUNT);
		bad_count("config: key count larger than the bytes left", try_config, &b);
		le32_put(b.p + CFG_OFF_NKEYS, 3);
		le32_put(b.p + CFG_OFF_NEPOCHS, UINT32_MAX);
		bad("config: epoch count 2^32-1", try_config, &b);
		le32_put(b.p + CFG_OFF_NEPOCHS, 2);
		good("config: patched back", try_config, &b);
	}
	buf_free(&b);
	config_free(&c);
}

/* ==== pack trailer, footer, padme ==== */

static void make_entries(struct pack_entry *e, uint32_t n)
{
	uint32_t off = ENVELOPE_LEN;

	memset(e, 0, n * sizeof *e);
	for (uint32_t i = 0; i < n; i++) {
		e[i].type = i % 2 ? BLOB_TREE : BLOB_DATA;
		e[i].comp = i % 3 == 1 ? COMP_ZSTD : COMP_NONE;
		fill_id(e[i].id, ID_LEN, (uint8_t)(0x30 + i));
		e[i].offset = off;
		e[i].raw_length = 1000 + i;
		e[i].length = e[i].comp == COMP_ZSTD ? 300 + AEAD_TAG_LEN : e[i].raw_length + AEAD_TAG_LEN;
		off += e[i].length;
	}
	trailer_end = off;
}

static void trailer_case(int k, struct pack_entry *e, const char **what)
{
	switch (k) {
	case 0: *what = "trailer: type 0"; e[0].type = 0; break;
	case 1: *what = "trailer: type 3"; e[2].type = 3; break;
	case 2: *what = "trailer: comp 2"; e[1].comp = 2; break;
	case 3: *what = "trailer: length < AEAD_TAG_LEN";
		e[1].length = AEAD_TAG_LEN - 1; e[2].offset = e[1].offset + e[1].length;
		trailer_end = e[2].offset + e[2].length; break;
	case 4: *what = "trailer: raw_length > MAX_BLOB"; e[1].raw_length = MAX_BLOB + 1; break;
	case 5: *what = "trailer: first blob not at ENVELOPE_LEN";
		for (int i = 0; i < 3; i++)
			e[i].offset++;
		trailer_end++; break;
	case 6: *what = "trailer: a gap between blobs";
		e[2].offset++; trailer_end++; break;
	case 7: *what = "trailer: overlapping blobs";
		e[2].offset--; trailer_end--; break;
	case 8: *what = "trailer: last blob short of the trailer"; trailer_end++; break;
	case 9: *what = "trailer: last blob past the trailer"; trailer_end--; break;
	case 10: *what = "trailer: uncompressed blob with a wrong length";
		e[2].raw_length--; break;
	case 11: *what = "trailer: an offset field off by one"; e[1].offset++; break;
	case 12: *what = "trailer: offsets swapped";
		e[1].offset = e[2].offset; e[2].offset = ENVELOPE_LEN + e[0].length; break;
	default: *what = NULL; break;
	}
}

static void test_pack(void)
{
	struct pack_entry e[3], *d = NULL;
	uint32_t n = 0;
	struct buf b, b2;
	const char *what;
	uint8_t f[PACK_FOOTER_PLAIN], f2[PACK_FOOTER_PLAIN + 1];
	uint64_t off;
	uint32_t len;

	make_entries(e, 3);
	buf_init(&b, BUF_MAX);
	pack_trailer_encode(e, 3, &b);
	OK(b.len == 4 + 3 * 46 && le32_get(b.p) == 3, "trailer: u32 count then 46-byte entries");
	OK(pack_trailer_decode(b.p, b.len, trailer_end, &d, &n) == 0 && n == 3 &&
	    memcmp(d, e, sizeof e) == 0, "trailer: round trip");
	free(d);
	framing("trailer", try_trailer, b.p, b.len);
	le32_put(b.p, UINT32_MAX);
	bad("trailer: count 2^32-1", try_trailer, &b);
	le32_put(b.p, HUGE_COUNT);
	bad_count("trailer: count larger than the bytes left", try_trailer, &b);
	buf_free(&b);

	buf_init(&b, BUF_MAX);
	pack_trailer_encode(NULL, 0, &b);
	trailer_end = ENVELOPE_LEN;
	good("trailer: empty, ending at ENVELOPE_LEN", try_trailer, &b);
	trailer_end = ENVELOPE_LEN + 1;
	bad("trailer: empty, ending after ENVELOPE_LEN", try_trailer, &b);
	buf_free(&b);

	for (int k = 0;; k++) {
		make_entries(e, 3);
		trailer_case(k, e, &what);
		if (what == NULL)
			break;
		buf_init(&b2, BUF_MAX);
		pack_trailer_encode(e, 3, &b2);
		bad(what, try_trailer, &b2);
		buf_free(&b2);
	}

	pack_footer_encode(UINT64_C(0x0102030405060708), 0x11223344, f);
	OK(memcmp(f, "\010\007\006\005\004\003\002\001\104\063\042\021", 12) == 0,
	    "footer: known-answer bytes");
	pack_footer_encode(1000, 500, f);
	OK(pack_footer_decode(f, sizeof f, 1000 + 500 + PACK_FOOTER_LEN, &off, &len) == 0 &&
	    off == 1000 && len == 500, "footer: round trip, trailer right before the footer");
	OK(pack_footer_decode(f, sizeof f, 1000 + 500 + PACK_FOOTER_LEN - 1, &off, &len) != 0 &&
	    off == 0 && len == 0, "footer: trailer running into the footer is rejected");
	OK(pack_footer_decode(f, sizeof f, UINT64_MAX, &off, &len) == 0, "footer: a huge pack is fine");
	OK(pack_footer_decode(f, sizeof f - 1, 1u << 20, &off, &len) != 0, "footer: 11 bytes rejected");
	memcpy(f2, f, sizeof f);
	f2[PACK_FOOTER_PLAIN] = 0;
	OK(pack_footer_decode(f2, sizeof f2, 1u << 20, &off, &len) != 0, "footer: 13 bytes rejected");
	pack_footer_encode(ENVELOPE_LEN - 1, 500, f);
	OK(pack_footer_decode(f, sizeof f, 1u << 20, &off, &len) != 0, "footer: trailer inside the envelope");
	pack_footer_encode(ENVELOPE_LEN, 4 + AEAD_TAG_LEN, f);
	OK(pack_footer_decode(f, sizeof f, ENVELOPE_LEN + 4 + AEAD_TAG_LEN + PACK_FOOTER_LEN, &off, &len) == 0,
	    "footer: smallest pack (empty trailer) is fine");
	pack_footer_encode(ENVELOPE_LEN, 4 + AEAD_TAG_LEN - 1, f);
	OK(pack_footer_decode(f, sizeof f, 1u << 20, &off, &len) != 0, "footer: trailer shorter than count+tag");
	pack_footer_encode(UINT64_MAX - 10, 500, f);
	OK(pack_footer_decode(f, sizeof f, UINT64_MAX, &off, &len) != 0, "footer: offset overflow rejected");
	pack_footer_encode(100, 500, f);
	OK(pack_footer_decode(f, sizeof f, 10, &off, &len) != 0, "footer: pack smaller than a footer");

	OK(padme(0) == 0 && padme(1) == 1 && padme(2) == 2 && padme(3) == 3 && padme(9) == 10,
	    "padme: small values");
	OK(padme(1000) == 1024, "padme(1000) == 1024");
	OK(padme(1u << 20) == 1u << 20, "padme(2^20) == 2^20");
	OK(padme((1u << 20) + 1) == (1u << 20) + 32768, "padme(2^20+1) == 2^20+2^15");
	OK(padme(UINT64_C(1) << 40) == UINT64_C(1) << 40, "padme(2^40) == 2^40");
	{
		uint64_t x = 88172645463325252ull;
		int okb = 1;

		for (uint64_t l = 0; l < 300000 && okb; l++) {
			uint64_t p = padme(l);

			okb = p >= l && p - l <= l / 8 + 1 && padme(p) == p;
		}
		for (int i = 0; i < 100000 && okb; i++) {
			uint64_t l, p;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			l = x >> (x & 31);
			p = padme(l);
			okb = p >= l && p - l <= l / 8 + 1 && padme(p) == p;
		}
		OK(okb, "padme: L <= padme(L) <= L + L/8 + 1 and idempotent, many L");
	}
}

/* ==== index ==== */

static void make_index(struct index_body *b)
{
	memset(b, 0, sizeof *b);
	b->n_packs = 2;
	b->packs = xcalloc(2, ID_LEN);
	fill_id(b->packs[0], ID_LEN, 0x40);
	fill_id(b->packs[1], ID_LEN, 0x41);
	b->n = 3;
	b->locs = xcalloc(3, sizeof *b->locs);
	for (uint32_t i = 0; i < 3; i++) {
		struct index_loc *l = &b->locs[i];

		l->pack = i % 2;
		l->e.type = i == 2 ? BLOB_TREE : BLOB_DATA;
		l->e.comp = i == 1 ? COMP_ZSTD : COMP_NONE;
		fill_id(l->e.id, ID_LEN, (uint8_t)(0x50 + i));
		l->e.offset = ENVELOPE_LEN + 1000 * i;
		l->e.raw_length = 900 + i;
		l->e.length = l->e.comp == COMP_ZSTD ? 100 : l->e.raw_length + AEAD_TAG_LEN;
	}
	b->n_super = 1;
	b->supersedes = xcalloc(1, ID_LEN);
	fill_id(b->supersedes[0], ID_LEN, 0x60);
}

static int index_eq(const struct index_body *a, const struct index_body *b)
{
	if (a->n_packs != b->n_packs || a->n != b->n || a->n_super != b->n_super)
		return 0;
	for (uint32_t i = 0; i < a->n_packs; i++)
		if (memcmp(a->packs[i], b->packs[i], ID_LEN) != 0)
			return 0;
	for (uint32_t i = 0; i < a->n; i++) {
		const struct index_loc *x = &a->locs[i], *y = &b->locs[i];

		if (x->pack != y->pack || x->e.type != y->e.type || x->e.comp != y->e.comp ||
		    memcmp(x->e.id, y->e.id, ID_LEN) != 0 || x->e.offset != y->e.offset ||
		    x->e.length != y->e.length || x->e.raw_length != y->e.raw_length)
			return 0;
	}
	for (uint32_t i = 0; i < a->n_super; i++)
		if (memcmp(a->supersedes[i], b->supersedes[i], ID_LEN) != 0)
			return 0;
	return 1;
}

static void index_case(int k, struct index_body *b, const char **what)
{
	switch (k) {
	case 0: *what = "index: pack index == n_packs"; b->locs[1].pack = 2; break;
	case 1: *what = "index: pack index with no packs"; b->n_packs = 0; break;
	case 2: *what = "index: type 0"; b->locs[0].e.type = 0; break;
	case 3: *what = "index: type 3"; b->locs[0].e.type = 3; break;
	case 4: *what = "index: comp 2"; b->locs[2].e.comp = 2; break;
	case 5: *what = "index: length < AEAD_TAG_LEN"; b->locs[1].e.length = AEAD_TAG_LEN - 1; break;
	case 6: *what = "index: raw_length > MAX_BLOB"; b->locs[1].e.raw_length = MAX_BLOB + 1; break;
	case 7: *what = "index: uncompressed blob with a wrong length"; b->locs[0].e.length++; break;
	case 8: *what = "index: blob inside the envelope"; b->locs[1].e.offset = ENVELOPE_LEN - 1; break;
	case 9: *what = "index: blob past 4 GiB";
		b->locs[1].e.offset = UINT32_MAX - 10; break;
	default: *what = NULL; break;
	}
}

static void test_index(void)
{
	struct index_body x, y;
	struct dedup_entry de[3], *dd;
	uint32_t dn;
	struct buf b, b2;
	const char *what;
	size_t nsuper_off;

	make_index(&x);
	buf_init(&b, BUF_MAX);
	index_encode_locations(&x, &b);
	OK(b.len == 1 + 4 + 2 * 32 + 4 + 3 * 50 + 4 + 32, "index: locations length as documented");
	OK(index_decode_locations(b.p, b.len, &y) == 0 && index_eq(&x, &y), "index: locations round trip");
	buf_init(&b2, BUF_MAX);
	index_encode_locations(&y, &b2);
	OK(b2.len == b.len && memcmp(b.p, b2.p, b.len) == 0, "index: re-encoding is identical");
	buf_free(&b2);
	index_body_free(&y);
	OK(all_zero(&y, sizeof y), "index_body_free: leaves the struct zeroed");
	index_body_free(&y);
	index_body_free(NULL);
	framing("index locations", try_locations, b.p, b.len);

	b.p[0] = 2;
	bad("index: locations version 2", try_locations, &b);
	b.p[0] = 1;
	le32_put(b.p + 1, UINT32_MAX);
	bad("index: pack count 2^32-1", try_locations, &b);
	le32_put(b.p + 1, HUGE_COUNT);
	bad_count("index: pack count larger than the bytes left", try_locations, &b);
	le32_put(b.p + 1, 2);
	le32_put(b.p + 5 + 64, MAX_LIST + 1);
	bad("index: entry count MAX_LIST+1", try_locations, &b);
	le32_put(b.p + 5 + 64, HUGE_COUNT);
	bad_count("index: entry count larger than the bytes left", try_locations, &b);
	le32_put(b.p + 5 + 64, 3);
	nsuper_off = b.len - 36;
	le32_put(b.p + nsuper_off, 2);
	bad("index: supersedes count one too many", try_locations, &b);
	le32_put(b.p + nsuper_off, HUGE_COUNT);
	bad_count("index: supersedes count larger than the bytes left", try_locations, &b);
	le32_put(b.p + nsuper_off, 1);
	good("index: patched back", try_locations, &b);
	buf_free(&b);
	index_body_free(&x);

	memset(&x, 0, sizeof x);
	buf_init(&b, BUF_MAX);
	index_encode_locations(&x, &b);
	good("index: empty locations", try_locations, &b);
	buf_free(&b);

	for (int k = 0;; k++) {
		make_index(&x);
		index_case(k, &x, &what);
		if (what == NULL) {
			index_body_free(&x);
			break;
		}
		buf_init(&b2, BUF_MAX);
		index_encode_locations(&x, &b2);
		bad(what, try_locations, &b2);
		buf_free(&b2);
		if (k == 1)
			x.n_packs = 2;
		index_body_free(&x);
	}

	memset(de, 0, sizeof de);
	for (int i = 0; i < 3; i++) {
		de[i].type = i == 1 ? BLOB_TREE : BLOB_DATA;
		fill_id(de[i].id, ID_LEN, (uint8_t)(0x70 + i));
	}
	buf_init(&b, BUF_MAX);
	index_encode_dedup(de, 3, &b);
	OK(b.len == 1 + 4 + 3 * 33, "index: dedup length as documented");
	OK(index_decode_dedup(b.p, b.len, &dd, &dn) == 0 && dn == 3 &&
	    memcmp(dd, de, sizeof de) == 0, "index: dedup round trip");
	free(dd);
	framing("index dedup", try_dedup, b.p, b.len);
	b.p[0] = 0;
	bad("dedup: version 0", try_dedup, &b);
	b.p[0] = 1;
	b.p[5] = 0;
	bad("dedup: type 0", try_dedup, &b);
	b.p[5] = 3;
	bad("dedup: type 3", try_dedup, &b);
	b.p[5] = BLOB_DATA;
	le32_put(b.p + 1, UINT32_MAX);
	bad("dedup: count 2^32-1", try_dedup, &b);
	le32_put(b.p + 1, HUGE_COUNT);
	bad_count("dedup: count larger than the bytes left", try_dedup, &b);
	le32_put(b.p + 1, 3);
	good("dedup: patched back", try_dedup, &b);
	buf_free(&b);
	buf_init(&b, BUF_MAX);
	index_encode_dedup(NULL, 0, &b);
	good("dedup: empty list", try_dedup, &b);
	buf_free(&b);
}

/* ==== snapshot ==== */

static char **strv(uint32_t n, const char *prefix)
{
	char **v = xcalloc(n, sizeof *v);

	for (uint32_t i = 0; i < n; i++)
		v[i] = xasprintf("%s%u", prefix, i);
	return v;
}

static void make_snapshot(struct snapshot *s)
{
	memset(s, 0, sizeof *s);
	s->time_ns = INT64_C(1712345678901234567);
	s->hostname = xstrdup("hosty");
	s->username = xstrdup("alice");
	s->n_paths = 2;
	s->paths = strv(2, "/home/alice/p");
	s->n_tags = 3;
	s->tags = strv(3, "tag");
	fill_id(s->tree, ID_LEN, 0x90);
	fill_id(s->parent, ID_LEN, 0x91);
	s->files = 12345;
	s->dirs = 678;
	s->bytes = UINT64_C(9876543210);
	s->added_bytes = 4242;
	s->n_unreadable = 1;
	s->unreadable = strv(1, "/home/alice/secret");
	s->n_changed = 2;
	s->changed = strv(2, "/var/log/x");
	s->n_copies = 2;
	s->copies = strv(2, "s3://bucket/c");
	fill_id(s->signer_slot, SLOT_ID_LEN, 0x92);
	fill_id(s->signer_pk, PK_LEN, 0x93);
	s->program = xstrdup("twofold 0.1.0");
}

static int snapshot_eq(const struct snapshot *a, const struct snapshot *b)
{
	return a->time_ns == b->time_ns && str_eq(a->hostname, b->hostname) &&
	    str_eq(a->username, b->username) &&
	    strv_eq(a->n_paths, a->paths, b->n_paths, b->paths) &&
	    strv_eq(a->n_tags, a->tags, b->n_tags, b->tags) &&
	    memcmp(a->tree, b->tree, ID_LEN) == 0 && memcmp(a->parent, b->parent, ID_LEN) == 0 &&
	    a->files == b->files && a->dirs == b->dirs && a->bytes == b->bytes &&
	    a->added_bytes == b->added_bytes &&
	    strv_eq(a->n_unreadable, a->unreadable, b->n_unreadable, b->unreadable) &&
	    strv_eq(a->n_changed, a->changed, b->n_changed, b->changed) &&
	    strv_eq(a->n_copies, a->copies, b->n_copies, b->copies) &&
	    memcmp(a->signer_slot, b->signer_slot, SLOT_ID_LEN) == 0 &&
	    memcmp(a->signer_pk, b->signer_pk, PK_LEN) == 0 && str_eq(a->program, b->program);
}

static void test_snapshot(void)
{
	struct snapshot s, d;
	struct buf b, b2;
	size_t paths_off = 1 + 8 + 4 + 5 + 4 + 5, off;

	make_snapshot(&s);
	buf_init(&b, BUF_MAX);
	snapshot_encode(&s, &b);
	OK(snapshot_decode(b.p, b.len, &d) == 0 && snapshot_eq(&s, &d), "snapshot: round trip");
	buf_init(&b2, BUF_MAX);
	snapshot_encode(&d, &b2);
	OK(b2.len == b.len && memcmp(b.p, b2.p, b.len) == 0, "snapshot: re-encoding is identical");
	buf_free(&b2);
	snapshot_free(&d);
	OK(all_zero(&d, sizeof d), "snapshot_free: leaves the struct zeroed");
	snapshot_free(&d);
	snapshot_free(NULL);
	OK(le32_get(b.p + paths_off) == 2 && b.len - 4 - 13 == find(&b, s.signer_pk, PK_LEN) + PK_LEN,
	    "snapshot: fields at their documented offsets");
	framing("snapshot", try_snapshot, b.p, b.len);

	b.p[0] = 2;
	bad("snapshot: version 2", try_snapshot, &b);
	b.p[0] = 1;
	le32_put(b.p + paths_off, UINT32_MAX);
	bad("snapshot: path count 2^32-1", try_snapshot, &b);
	le32_put(b.p + paths_off, MAX_LIST + 1);
	bad("snapshot: path count MAX_LIST+1", try_snapshot, &b);
	le32_put(b.p + paths_off, HUGE_COUNT);
	bad_count("snapshot: path count larger than the bytes left", try_snapshot, &b);
	le32_put(b.p + paths_off, 2);
	off = find(&b, "hosty", 5);
	b.p[off + 2] = 0;
	bad("snapshot: hostname with a NUL", try_snapshot, &b);
	b.p[off + 2] = 's';
	off = find(&b, "tag1", 4);
	b.p[off + 3] = 0;
	bad("snapshot: tag with a NUL", try_snapshot, &b);
	b.p[off + 3] = '1';
	le32_put(b.p + off - 4, 5000);
	bad("snapshot: string length past the input", try_snapshot, &b);
	le32_put(b.p + off - 4, 4);
	good("snapshot: patched back", try_snapshot, &b);
	buf_free(&b);
	snapshot_free(&s);

	for (int k = 0; k < 7; k++) {
		struct snapshot e;
		const char *what = "";
		char **slot = NULL;

		make_snapshot(&e);
		switch (k) {
		case 0: what = "snapshot: hostname > MAX_STR"; slot = &e.hostname; break;
		case 1: what = "snapshot: username > MAX_STR"; slot = &e.username; break;
		case 2: what = "snapshot: path > MAX_STR"; slot = &e.paths[1]; break;
		case 3: what = "snapshot: tag > MAX_STR"; slot = &e.tags[0]; break;
		case 4: what = "snapshot: changed > MAX_STR"; slot = &e.changed[1]; break;
		case 5: what = "snapshot: copy > MAX_STR"; slot = &e.copies[0]; break;
		case 6: what = "snapshot: program > MAX_STR"; slot = &e.program; break;
		}
		free(*slot);
		*slot = repeat('x', MAX_STR + 1);
		buf_init(&b, BUF_MAX);
		snapshot_encode(&e, &b);
		bad(what, try_snapshot, &b);
		buf_free(&b);
		free(*slot);
		*slot = repeat('x', MAX_STR);
		buf_init(&b, BUF_MAX);
		snapshot_encode(&e, &b);
		if (k == 0)
			good("snapshot: a MAX_STR hostname", try_snapshot, &b);
		buf_free(&b);
		snapshot_free(&e);
	}

	memset(&s, 0, sizeof s);
	buf_init(&b, BUF_MAX);
	snapshot_encode(&s, &b);	/* NULL strings encode as "" */
	OK(b.len == 1 + 8 + 4 + 4 + 4 + 4 + 64 + 32 + 12 + 16 + 32 + 4, "snapshot: empty snapshot length");
	good("snapshot: empty snapshot", try_snapshot, &b);
	buf_free(&b);
}

/* ==== tree ==== */

static void set_name(struct node *n, const void *name, size_t len)
{
	free(n->name);
	n->name = xmalloc(len + 1);
	memcpy(n->name, name, len);
	n->name[len] = 0;
	n->name_len = (uint32_t)len;
}

static void set_link(struct node *n, const void *t, size_t len)
{
	free(n->link);
	n->link = len ? xmemdup(t, len) : NULL;
	n->link_len = (uint32_t)len;
}

static void make_node(struct node *n, const char *name, uint8_t type, uint8_t seed)
{
	memset(n, 0, sizeof *n);
	set_name(n, name, strlen(name));
	n->type = type;
	n->mode = 0755u - seed;
	n->uid = 1000u + seed;
	n->gid = 100u + seed;
	n->user = xstrdup("alice");
	n->group = xstrdup(seed % 2 ? "" : "staff");
	n->mtime_ns = INT64_C(1600000000000000000) + seed;
	n->atime_ns = -1 - seed;
	n->ctime_ns = INT64_C(1600000000000000001) + seed;
	n->size = 4096u * seed;
	n->dev = 0x801u + seed;
	n->ino = 123456u + seed;
	n->nlink = 1 + seed % 3;
	if (type == NODE_CHAR || type == NODE_BLOCK)
		n->rdev = 0x0501u + seed;
	if (type == NODE_SYMLINK)
		set_link(n, "../target/file", 14);
	if (type == NODE_FILE) {
		n->flags = NODE_CHANGED;
		n->n_chunks = 2;
		n->chunks = xcalloc(2, ID_LEN);
		fill_id(n->chunks[0], ID_LEN, 0xa0);
		fill_id(n->chunks[1], ID_LEN, 0xa1);
		n->n_xattrs = 2;
		n->xattrs = xcalloc(2, sizeof *n->xattrs);
		n->xattrs[0].name = xstrdup("user.mime");
		n->xattrs[0].value = xmemdup("text/plain\0x", 12);
		n->xattrs[0].len = 12;
		n->xattrs[1].name = xstrdup("user.empty");
		n->xattrs[1].value = NULL;
		n->xattrs[1].len = 0;
	}
	if (type == NODE_DIR)
		fill_id(n->subtree, ID_LEN, 0xb0);
}

#define TREE_N 7

static void make_tree(struct tree *t)
{
	t->n = TREE_N;
	t->nodes = xcalloc(TREE_N, sizeof *t->nodes);
	make_node(&t->nodes[0], "bin", NODE_DIR, 1);
	make_node(&t->nodes[1], "dev-sda", NODE_BLOCK, 2);
	make_node(&t->nodes[2], "file.txt", NODE_FILE, 3);
	make_node(&t->nodes[3], "link", NODE_SYMLINK, 4);
	make_node(&t->nodes[4], "pipe", NODE_FIFO, 5);
	make_node(&t->nodes[5], "sock", NODE_SOCKET, 6);
	make_node(&t->nodes[6], "tty", NODE_CHAR, 7);
}

static int bytes_eq(const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static int node_eq(const struct node *a, const struct node *b)
{
	if (!bytes_eq(a->name, a->name_len, b->name, b->name_len) || a->type != b->type ||
	    a->flags != b->flags || a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	    !str_eq(a->user, b->user) || !str_eq(a->group, b->group) ||
	    a->mtime_ns != b->mtime_ns || a->atime_ns != b->atime_ns || a->ctime_ns != b->ctime_ns ||
	    a->size != b->size || a->dev != b->dev || a->ino != b->ino || a->nlink != b->nlink ||
	    a->rdev != b->rdev || !bytes_eq(a->link, a->link_len, b->link, b->link_len) ||
	    a->n_xattrs != b->n_xattrs || a->n_chunks != b->n_chunks ||
	    memcmp(a->subtree, b->subtree, ID_LEN) != 0)
		return 0;
	for (uint32_t i = 0; i < a->n_xattrs; i++)
		if (!str_eq(a->xattrs[i].name, b->xattrs[i].name) ||
		    !bytes_eq(a->xattrs[i].value, a->xattrs[i].len, b->xattrs[i].value, b->xattrs[i].len))
			return 0;
	for (uint32_t i = 0; i < a->n_chunks; i++)
		if (memcmp(a->chunks[i], b->chunks[i], ID_LEN) != 0)
			return 0;
	return 1;
}

/* tree_case(k, t): break one rule in a tree from make_tree. */
static const char *tree_case(int k, struct tree *t)
{
	struct node *nd = t->nodes, tmp;
	char *s;

	switch (k) {
	case 0: tmp = nd[0]; nd[0] = nd[1]; nd[1] = tmp; return "tree: nodes out of order";
	case 1: set_name(&nd[1], "bin", 3); return "tree: duplicate names";
	case 2: set_name(&nd[0], "", 0); return "tree: empty name";
	case 3: set_name(&nd[0], ".", 1); return "tree: name \".\"";
	case 4: set_name(&nd[0], "..", 2); return "tree: name \"..\"";
	case 5: set_name(&nd[0], "a/b", 3); return "tree: name with '/'";
	case 6: set_name(&nd[0], "a\0b", 3); return "tree: name with a NUL";
	case 7: s = repeat('a', MAX_NAME + 1); set_name(&nd[0], s, MAX_NAME + 1); free(s);
		return "tree: 256-byte name";
	case 8: nd[4].type = 0; return "tree: node type 0";
	case 9: nd[4].type = 8; return "tree: node type 8";
	case 10: nd[4].flags = 2; return "tree: unknown flag";
	case 11: nd[4].mode = 010000; return "tree: mode with file-type bits";
	case 12: set_link(&nd[3], NULL, 0); return "tree: symlink without a target";
	case 13: set_link(&nd[3], "a\0b", 3); return "tree: symlink target with a NUL";
	case 14: s = repeat('t', MAX_LINK + 1); set_link(&nd[3], s, MAX_LINK + 1); free(s);
		return "tree: symlink target > MAX_LINK";
	case 15: set_link(&nd[4], "x", 1); return "tree: target on a fifo";
	case 16: set_link(&nd[2], "x", 1); return "tree: target on a file";
	case 17: free(nd[1].user); nd[1].user = repeat('u', MAX_STR + 1); return "tree: user > MAX_STR";
	case 18: free(nd[1].group); nd[1].group = repeat('g', MAX_STR + 1); return "tree: group > MAX_STR";
	case 19: free(nd[2].xattrs[0].name); nd[2].xattrs[0].name = xstrdup("");
		return "tree: empty xattr name";
	case 20: free(nd[2].xattrs[0].name); nd[2].xattrs[0].name = repeat('x', MAX_XATTR_NAME + 1);
		return "tree: xattr name > MAX_XATTR_NAME";
	case 21: free(nd[2].xattrs[1].value); nd[2].xattrs[1].value = xcalloc(1, MAX_XATTR_VALUE + 1);
		nd[2].xattrs[1].len = MAX_XATTR_VALUE + 1; return "tree: xattr value > MAX_XATTR_VALUE";
	case 22:
		nd[4].xattrs = xcalloc(MAX_XATTRS + 1, sizeof *nd[4].xattrs);
		nd[4].n_xattrs = MAX_XATTRS + 1;
		for (uint32_t i = 0; i <= MAX_XATTRS; i++)
			nd[4].xattrs[i].name = xasprintf("user.%u", i);
		return "tree: more than MAX_XATTRS xattrs";
	default: return NULL;
	}
}

/* The tree of the known-answer test: one file "a", mode 0644, uid and gid
 * 1000, user "u", group "g", times 1, 2, 3, size 5, nlink 1, one chunk
 * whose id is 32 bytes 0xab. */
static const char tree_kat[] =
    "01" "01000000"			/* version, count */
    "01000000" "61"			/* name "a" */
    "01" "00"				/* type file, flags */
    "a4010000" "e8030000" "e8030000"	/* mode, uid, gid */
    "01000000" "75" "01000000" "67"	/* user, group */
    "0100000000000000" "0200000000000000" "0300000000000000" /* m/a/ctime */
    "0500000000000000"			/* size */
    "0000000000000000" "0000000000000000" /* dev, ino */
    "01000000"				/* nlink */
    "0000000000000000"			/* rdev */
    "00000000"				/* link */
    "00000000"				/* xattrs */
    "01000000"				/* chunk count */
    "abababababababababababababababababababababababababababababababab";

static void test_tree_kat(void)
{
	struct node nd;
	struct tree t, d;
	struct buf b;
	uint8_t want[(sizeof tree_kat - 1) / 2];

	memset(&nd, 0, sizeof nd);
	nd.name = (uint8_t *)xstrdup("a");
	nd.name_len = 1;
	nd.type = NODE_FILE;
	nd.mode = 0644;
	nd.uid = nd.gid = 1000;
	nd.user = xstrdup("u");
	nd.group = xstrdup("g");
	nd.mtime_ns = 1;
	nd.atime_ns = 2;
	nd.ctime_ns = 3;
	nd.size = 5;
	nd.nlink = 1;
	nd.n_chunks = 1;
	nd.chunks = xcalloc(1, ID_LEN);
	memset(nd.chunks[0], 0xab, ID_LEN);
	t.n = 1;
	t.nodes = &nd;
	buf_init(&b, BUF_MAX);
	tree_encode(&t, &b);
	OK(sizeof want == 138 && hex_decode(tree_kat, want, sizeof want) == 0,
	    "tree KAT: expected bytes parse (138)");
	OK(b.len == sizeof want && memcmp(b.p, want, sizeof want) == 0,
	    "tree KAT: one-file tree encodes to the expected bytes");
	OK(tree_decode(want, sizeof want, &d) == 0 && d.n == 1 && node_eq(&d.nodes[0], &nd),
	    "tree KAT: expected bytes decode to the tree");
	tree_free(&d);
	buf_free(&b);
	node_free(&nd);
	OK(all_zero(&nd, sizeof nd), "node_free: leaves the node zeroed");
	node_free(&nd);
	node_free(NULL);
}

static void test_tree(void)
{
	struct tree t, d;
	struct buf b, b2;
	const char *what;
	int eq;

	OK(name_valid((const uint8_t *)"a", 1) && name_valid((const uint8_t *)"...", 3) &&
	    name_valid((const uint8_t *)".a", 2) && name_valid((const uint8_t *)"\xff\x01", 2),
	    "name_valid: ordinary names");
	{
		char *s = repeat('n', 256);

		OK(name_valid((const uint8_t *)s, 255) && !name_valid((const uint8_t *)s, 256),
		    "name_valid: 255 bytes yes, 256 no");
		free(s);
	}
	OK(!name_valid((const uint8_t *)"", 0) && !name_valid((const uint8_t *)".", 1) &&
	    !name_valid((const uint8_t *)"..", 2) && !name_valid((const uint8_t *)"a/b", 3) &&
	    !name_valid((const uint8_t *)"/", 1) && !name_valid((const uint8_t *)"a\0", 2),
	    "name_valid: bad names");
	{
		struct node x[4];

		memset(x, 0, sizeof x);
		x[0].name = (uint8_t *)xstrdup("a");
		x[0].name_len = 1;
		x[1].name = (uint8_t *)xstrdup("ab");
		x[1].name_len = 2;
		x[2].name = (uint8_t *)xstrdup("b");
		x[2].name_len = 1;
		x[3].name = (uint8_t *)xstrdup("\x80");
		x[3].name_len = 1;
		OK(node_cmp(&x[0], &x[1]) < 0 && node_cmp(&x[1], &x[0]) > 0 &&
		    node_cmp(&x[1], &x[2]) < 0 && node_cmp(&x[2], &x[3]) < 0 &&
		    node_cmp(&x[0], &x[0]) == 0, "node_cmp: bytewise, unsigned, shorter first");
		for (int i = 0; i < 4; i++)
			node_free(&x[i]);
	}

	test_tree_kat();

	memset(&t, 0, sizeof t);
	make_tree(&t);
	buf_init(&b, BUF_MAX);
	tree_encode(&t, &b);
	eq = tree_decode(b.p, b.len, &d) == 0 && d.n == t.n;
	for (uint32_t i = 0; eq && i < t.n; i++)
		eq = node_eq(&t.nodes[i], &d.nodes[i]);
	OK(eq, "tree: round trip of every node type");
	OK(eq && d.nodes[3].link[d.nodes[3].link_len] == 0 && d.nodes[2].name[8] == 0,
	    "tree: decoded names and targets are NUL-terminated");
	buf_init(&b2, BUF_MAX);
	tree_encode(&d, &b2);
	OK(b2.len == b.len && memcmp(b.p, b2.p, b.len) == 0, "tree: re-encoding is identical");
	buf_free(&b2);
	tree_free(&d);
	OK(all_zero(&d, sizeof d), "tree_free: leaves the struct zeroed");
	tree_free(&d);
	tree_free(NULL);
	framing("tree", try_tree, b.p, b.len);
	b.p[0] = 2;
	bad("tree: version 2", try_tree, &b);
	b.p[0] = 1;
	le32_put(b.p + 1, UINT32_MAX);
	bad("tree: node count 2^32-1", try_tree, &b);
	le32_put(b.p + 1, HUGE_COUNT);
	bad_count("tree: node count larger than the bytes left", try_tree, &b);
	le32_put(b.p + 1, TREE_N);
	{
		size_t off = find(&b, "user.mime", 9) - 4 - 4;	/* xattr count */

		le32_put(b.p + off, UINT32_MAX);
		bad("tree: xattr count 2^32-1", try_tree, &b);
		le32_put(b.p + off, 2);
	}
	good("tree: patched back", try_tree, &b);
	buf_free(&b);
	tree_free(&t);

	for (int k = 0;; k++) {
		make_tree(&t);
		what = tree_case(k, &t);
		if (what == NULL) {
			tree_free(&t);
			break;
		}
		buf_init(&b, BUF_MAX);
		tree_encode(&t, &b);
		bad(what, try_tree, &b);
		buf_free(&b);
		tree_free(&t);
	}

	/* Limits themselves are fine. */
	{
		char *s;

		make_tree(&t);
		s = repeat('a', MAX_NAME);
		set_name(&t.nodes[0], s, MAX_NAME);
		free(s);
		s = repeat('t', MAX_LINK);
		set_link(&t.nodes[3], s, MAX_LINK);
		free(s);
		free(t.nodes[2].xattrs[1].value);
		t.nodes[2].xattrs[1].value = xcalloc(1, MAX_XATTR_VALUE);
		t.nodes[2].xattrs[1].len = MAX_XATTR_VALUE;
		t.nodes[4].xattrs = xcalloc(MAX_XATTRS, sizeof *t.nodes[4].xattrs);
		t.nodes[4].n_xattrs = MAX_XATTRS;
		for (uint32_t i = 0; i < MAX_XATTRS; i++)
			t.nodes[4].xattrs[i].name = xasprintf("user.%u", i);
		buf_init(&b, BUF_MAX);
		tree_encode(&t, &b);
		good("tree: 255-byte name, MAX_LINK target, MAX_XATTRS, MAX_XATTR_VALUE", try_tree, &b);
		buf_free(&b);
		tree_free(&t);
	}

	/* Type patches on one-node trees: a chunk list on a non-file, a
	 * subtree on a non-directory. */
	{
		static const struct {
			uint8_t from, to;
			const char *what;
		} patch[] = {
			{ NODE_FILE, NODE_DIR, "tree: chunk list on a directory" },
			{ NODE_FILE, NODE_FIFO, "tree: chunk list on a fifo" },
			{ NODE_DIR, NODE_FILE, "tree: subtree on a file" },
			{ NODE_DIR, NODE_SOCKET, "tree: subtree on a socket" },
			{ NODE_FIFO, NODE_DIR, "tree: a directory without a subtree" },
			{ NODE_FIFO, NODE_FILE, "tree: a file without a chunk list" },
		};

		for (size_t i = 0; i < sizeof patch / sizeof patch[0]; i++) {
			struct node *nd;

			t.n = 1;
			t.nodes = nd = xcalloc(1, sizeof *nd);
			make_node(nd, "x", patch[i].from, 1);
			if (nd->type == NODE_FILE) {
				nd->n_chunks = 1;	/* 36 bytes: more than a subtree */
			}
			buf_init(&b, BUF_MAX);
			tree_encode(&t, &b);
			good("tree: one-node tree before the patch", try_tree, &b);
			b.p[5 + 4 + 1] = patch[i].to;
			bad(patch[i].what, try_tree, &b);
			buf_free(&b);
			tree_free(&t);
		}
	}

	/* A file with a huge chunk count. */
	{
		struct node *nd;

		t.n = 1;
		t.nodes = nd = xcalloc(1, sizeof *nd);
		make_node(nd, "x", NODE_FILE, 1);
		buf_init(&b, BUF_MAX);
		tree_encode(&t, &b);
		le32_put(b.p + b.len - 2 * ID_LEN - 4, UINT32_MAX);
		bad("tree: chunk count 2^32-1", try_tree, &b);
		le32_put(b.p + b.len - 2 * ID_LEN - 4, HUGE_COUNT);
		bad_count("tree: chunk count larger than the bytes left", try_tree, &b);
		le32_put(b.p + b.len - 2 * ID_LEN - 4, 2);
		good("tree: chunk count patched back", try_tree, &b);
		buf_free(&b);
		tree_free(&t);
	}

	memset(&t, 0, sizeof t);
	buf_init(&b, BUF_MAX);
	tree_encode(&t, &b);
	OK(b.len == 5, "tree: empty tree is 5 bytes");
	good("tree: empty tree", try_tree, &b);
	buf_free(&b);
}

/* ==== grant ==== */

static int try_grant(const uint8_t *p, size_t n)
{
	struct grant g;

	return grant_decode(p, n, &g);
}

static void test_grant(void)
{
	uint8_t sealed[GRANT_SEALED_LEN], obj[GRANT_LEN], h[32];
	struct grant g = { { 0 }, 0x01020304, sealed }, d;
	struct buf b;
	char name[128];

	fill_id(g.slot_id, SLOT_ID_LEN, 20);
	fill_id(sealed, sizeof sealed, 21);
	grant_encode(&g, obj);
	OK(grant_decode(obj, sizeof obj, &d) == 0 && memcmp(d.slot_id, g.slot_id, SLOT_ID_LEN) == 0 &&
	    d.epoch == g.epoch && d.sealed == obj + GRANT_LEN - GRANT_SEALED_LEN &&
	    memcmp(d.sealed, sealed, sizeof sealed) == 0, "grant: round trip");
	OK(memcmp(obj, "TWFD\011\001", 6) == 0 && le32_get(obj + 6 + SLOT_ID_LEN) == 0x01020304,
	    "grant: magic, kind 9, version 1, epoch at its offset");
	framing("grant", try_grant, obj, sizeof obj);
	buf_init(&b, BUF_MAX);
	buf_append(&b, obj, sizeof obj);
	b.p[4] = OBJ_FORGET;
	bad("grant: another kind", try_grant, &b);
	b.p[4] = OBJ_GRANT;
	b.p[5] = 2;
	bad("grant: version 2", try_grant, &b);
	b.p[5] = 1;
	le32_put(b.p + 6 + SLOT_ID_LEN, 0);
	bad("grant: epoch 0", try_grant, &b);
	buf_free(&b);
	memset(h, 0xab, sizeof h);
	grant_name(&g, h, name);
	{
		char want[128], slot[2 * SLOT_ID_LEN + 1];

		hex_encode(g.slot_id, SLOT_ID_LEN, slot);
		snprintf(want, sizeof want, "grants/%s-01020304-%s", slot,
		    "abababababababababababababababababababababababababababababababab");
		OK(strcmp(name, want) == 0, "grant: its name is grants/<slot>-<epoch>-<sha256> (%s)", name);
	}
}

int main(void)
{
#ifdef HAVE_MALLOC_HOOK
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
#endif
	test_envelope();
	test_keyslot();
	test_config();
	test_grant();
	test_pack();
	test_index();
	test_snapshot();
	test_tree();
	OK(!dirty, "every failed decode left its output zeroed");
	return tap_done();
}
