/* repo.c: opening and creating repositories, config, key slots. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "repo/repo_internal.h"
#include "util/codec.h"
#include "util/util.h"

#define OBJ_MAX (1u << 30)	/* largest object read whole */

void object_name(const char *prefix, const uint8_t hash[32], char *out, size_t n)
{
	char hex[65];

	hex_encode(hash, 32, hex);
	if (strcmp(prefix, "data") == 0)
		snprintf(out, n, "data/%.2s/%s", hex, hex);
	else
		snprintf(out, n, "%s/%s", prefix, hex);
}

int put_object(struct repo *r, const char *prefix, const uint8_t *p, size_t n,
    uint8_t hash_out[32], char *name_out, size_t name_n)
{
	uint8_t h[32];
	char name[96];
	int rc;

	sha256(p, n, h);
	object_name(prefix, h, name, sizeof name);
	rc = store_put(r->store, name, p, n);
	if (rc < 0)
		return -1;
	/* rc 1: the same name means the same bytes; nothing to do. */
	if (hash_out)
		memcpy(hash_out, h, 32);
	if (name_out)
		snprintf(name_out, name_n, "%s", name);
	return 0;
}

int repo_read_object(struct repo *r, const char *name, struct buf *out)
{
	size_t start = out->len;
	int rc;

	rc = store_get(r->store, name, 0, UINT64_MAX, out);
	if (rc != 0)
		return rc;
	if (!store_content_ok(name, out->p + start, out->len - start)) {
		errmsg("object %s in %s is damaged: its content does not "
		    "match its name (run 'twofold check')", name, store_url(r->store));
		return R_CORRUPT;
	}
	return 0;
}

int object_epoch(struct store *st, const char *name, uint8_t kind, uint32_t *epoch)
{
	struct envelope env;
	struct buf b;
	int rc;

	buf_init(&b, ENVELOPE_LEN);
	rc = store_get(st, name, 0, ENVELOPE_LEN, &b);
	if (rc == 0 && envelope_decode(b.p, b.len, kind, &env) != 0) {
		errmsg("%s in %s is not a twofold object of its kind", name, store_url(st));
		rc = R_CORRUPT;
	}
	if (rc == 0)
		*epoch = env.epoch;
	buf_free(&b);
	return rc;
}

enum key_role repo_role(const struct repo *r)
{
	return keyring_role(r->kr);
}

const struct config *repo_config(const struct repo *r)
{
	return &r->cfg;
}

const struct keyring *repo_keyring(const struct repo *r)
{
	return r->kr;
}

int repo_list(struct repo *r, const char *prefix, int (*fn)(void *, const char *, uint64_t), void *arg)
{
	return store_list(r->store, prefix, fn, arg);
}

size_t repo_copies(const struct repo *r)
{
	return store_copies(r->store);
}

const char *repo_copy_url(const struct repo *r, size_t i)
{
	return store_url(store_copy(r->store, i));
}

int repo_copy_list(struct repo *r, size_t i, const char *prefix,
    int (*fn)(void *, const char *, uint64_t), void *arg)
{
	return store_list(store_copy(r->store, i), prefix, fn, arg);
}

void repo_copy_info(struct repo *r, size_t i, struct store_copy_info *ci)
{
	store_copy_info(r->store, i, ci);
}

int repo_copies_sync(struct repo *r, unsigned flags, uint32_t targets,
    store_problem_fn fn, void *arg, struct store_sync_stats *stats)
{
	/* a copy that missed the retirement of an epoch must not hand its
	 * grants back to the others */
	if ((flags & COPIES_FIX) && repo_purge_retired_grants(r, NULL) != 0)
		return -1;
	return store_copies_sync(r->store, flags, targets, fn, arg, stats);
}

int repo_copy_access(struct repo *r, size_t i, unsigned *can, unsigned *known, char *probe, size_t n)
{
	return store_check_access(store_copy(r->store, i), can, known, probe, n);
}

int repo_create_copy(const char *url)
{
	struct store *s = store_open(url);
	int rc;

	if (s == NULL)
		return -1;
	rc = store_create(s);
	if (rc == 1)
		errmsg("%s already holds a repository: give an empty place for the new copy", url);
	store_close(s);
	return rc;
}

const char *repo_url(const struct repo *r)
{
	return store_url(r->store);
}

const struct chunker *repo_chunker(const struct repo *r)
{
	return &r->chunker;
}

void repo_id_hex(const struct repo *r, char out[33])
{
	hex_encode(r->cfg.repo_id, 16, out);
}

int repo_need(const struct repo *r, unsigned role_mask, const char *what)
{
	enum key_role role = keyring_role(r->kr);

	if (role_mask & (1u << role))
		return 0;
	errmsg("the key you opened the repository with is a %s key: it cannot %s "
	    "(use a key with more rights; see 'twofold key list')", role_name(role), what);
	return -1;
}

/* ---- config ---- */

static int config_seal_store(struct repo *r, const struct config *c)
{
	struct buf body, obj;
	uint8_t hdr[CONFIG_HDR_LEN], sig[SIG_LEN], h[32];
	struct seal s = { 0 };
	char name[128], hex[65];
	uint8_t *ct;
	int rc = -1;

	buf_init(&body, OBJ_MAX);
	buf_init(&obj, OBJ_MAX);
	config_encode_body(c, &body);
	if (keyring_root_sign(r->kr, body.p, body.len, sig) != 0) {
		errmsg("only an owner key can change the repository config");
		goto out;
	}
	buf_append(&body, sig, SIG_LEN);
	memcpy(hdr, FORMAT_MAGIC, 4);
	hdr[4] = OBJ_CONFIG;
	hdr[5] = FORMAT_VERSION;
	le64_put(hdr + 6, c->seq);
	seal_begin_sym(&s, r->kr, SYM_CONFIG, hdr + 14);
	buf_append(&obj, hdr, sizeof hdr);
	if ((ct = buf_reserve(&obj, body.len + AEAD_TAG_LEN)) == NULL || body.overflow)
		goto out;
	seal_encrypt(&s, 0, hdr, sizeof hdr, body.p, body.len, ct);
	obj.len += body.len + AEAD_TAG_LEN;
	sha256(obj.p, obj.len, h);
	hex_encode(h, 32, hex);
	snprintf(name, sizeof name, "config/%016llx-%s", (unsigned long long)c->seq, hex);
	rc = store_put(r->store, name, obj.p, obj.len);
	/* rc 1: the name holds the SHA-256 of these bytes (with a fresh
	 * nonce), so the object there is this very config, written by an
	 * earlier try of a cloud request whose answer was lost */
	if (rc == 1)
		rc = 0;
out:
	seal_end(&s);
	buf_free(&body);
	buf_free(&obj);
	return rc;
}

/* config_open(r, p, n, c): authenticate, verify and decode one config
 * object.  0 ok, R_CORRUPT with a message otherwise. */
static int config_open(struct repo *r, const char *name, const uint8_t *p, size_t n, struct config *c)
{
	struct seal s = { 0 };
	uint8_t root[PK_LEN], *plain;
	size_t pn;
	int rc = R_CORRUPT;

	memset(c, 0, sizeof *c);
	if (n < CONFIG_HDR_LEN + AEAD_TAG_LEN + SIG_LEN || memcmp(p, FORMAT_MAGIC, 4) != 0 ||
	    p[4] != OBJ_CONFIG || p[5] != FORMAT_VERSION) {
		errmsg("config %s in %s is not a twofold config object", name, store_url(r->store));
		return R_CORRUPT;
	}
	pn = n - CONFIG_HDR_LEN - AEAD_TAG_LEN;
	plain = xmalloc(pn);
	seal_open_sym(&s, r->kr, SYM_CONFIG, p + 14);
	if (seal_decrypt(&s, 0, p, CONFIG_HDR_LEN, p + CONFIG_HDR_LEN, n - CONFIG_HDR_LEN, plain) != 0) {
		errmsg("config %s in %s fails authentication: it was altered or "
		    "belongs to another repository", name, store_url(r->store));
		goto out;
	}
	keyring_root_pk(r->kr, root);
	if (sig_verify(root, plain, pn - SIG_LEN, plain + pn - SIG_LEN) != 0) {
		errmsg("config %s in %s has no valid signature of the repository's "
		    "root key: it was forged; do not trust it", name, store_url(r->store));
		goto out;
	}
	if (config_decode_body(plain, pn - SIG_LEN, c) != 0) {
		errmsg("config %s in %s is malformed", name, store_url(r->store));
		goto out;
	}
	if (c->seq != le64_get(p + 6) || memcmp(c->root_pk, root, PK_LEN) != 0) {
		errmsg("config %s in %s does not match its header or root key", name, store_url(r->store));
		config_free(c);
		goto out;
	}
	rc = 0;
out:
	seal_end(&s);
	sodium_memzero(plain, pn);
	free(plain);
	return rc;
}

int collect_name(void *arg, const char *name, uint64_t size)
{
	struct name_list *l = arg;

	(void)size;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n++] = xstrdup(name);
	return 0;
}

void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int strcmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* load_config(r, c): the config with the highest sequence number that is
 * authentic, into c.  Damaged newer ones are reported loudly. */
static int load_config(struct repo *r, struct config *c)
{
	struct name_list l = { 0 };
	int rc = -1;

	if (store_list(r->store, "config/", collect_name, &l) != 0)
		return -1;
	if (l.n == 0) {
		errmsg("%s holds no config: it is not a twofold repository "
		    "(create one with 'twofold init')", store_url(r->store));
		goto out;
	}
	qsort(l.v, l.n, sizeof *l.v, strcmp_desc);
	for (size_t i = 0; i < l.n; i++) {
		struct buf b;
		int got;

		buf_init(&b, OBJ_MAX);
		got = repo_read_object(r, l.v[i], &b);
		if (got == 0)
			got = config_open(r, l.v[i], b.p, b.len, c);
		buf_free(&b);
		if (got == 0) {
			rc = 0;
			break;
		}
		if (got < 0)
			break;
	}
out:
	name_list_free(&l);
	return rc;
}

static int setup_chunker(struct repo *r)
{
	uint64_t gear[256];
	int rc;

	keyring_gear_table(r->kr, gear);
	rc = chunker_init(&r->chunker, gear, r->cfg.chunk_min, r->cfg.chunk_avg, r->cfg.chunk_max);
	sodium_memzero(gear, sizeof gear);
	if (rc != 0)
		errmsg("the repository config has invalid chunker parameters");
	return rc;
}

int repo_epoch_still_current(struct repo *r)
{
	struct config c;
	int rc;

	if (load_config(r, &c) != 0)
		return -1;
	rc = c.epoch == r->cfg.epoch ? 0 : -1;
	if (rc != 0)
		errmsg("the repository's data key was rotated (epoch %u is now current, this run "
		    "opened it at epoch %u): run the backup again", c.epoch, r->cfg.epoch);
	config_free(&c);
	return rc;
}

int repo_write_config(struct repo *r, const struct config *c)
{
	struct config n;

	config_copy(&n, c);
	n.seq = r->cfg.seq + 1;
	if (config_seal_store(r, &n) != 0) {
		config_free(&n);
		return -1;
	}
	config_free(&r->cfg);
	r->cfg = n;
	return 0;
}

/* ---- key slots ---- */

static int write_slot(struct repo *r, const struct keyring *kr, const char *pass, size_t n,
    char *name_out, size_t name_n)
{
	struct keyslot ks;
	struct buf obj, payload;
	uint8_t hdr[KEYSLOT_HDR_LEN];
	int rc = -1;

	memset(&ks, 0, sizeof ks);
	keyring_slot_id(kr, ks.slot_id);
	ks.role = (uint8_t)keyring_role(kr);
	ks.created_ns = now_ns();
	kdf_params_default(&ks.kdf);
	buf_init(&obj, 1u << 20);
	buf_init(&payload, 1u << 20);
	keyslot_encode_header(&ks, &obj);
	if (keyring_export(kr, &payload) != 0 || obj.len != KEYSLOT_HDR_LEN)
		goto out;
	memcpy(hdr, obj.p, KEYSLOT_HDR_LEN);	/* obj may move as it grows */
	if (slot_wrap(pass, n, &ks.kdf, hdr, sizeof hdr, payload.p, payload.len, &obj) != 0)
		goto out;
	rc = put_object(r, "keys", obj.p, obj.len, NULL, name_out, name_n);
out:
	buf_wipe_free(&payload);
	buf_free(&obj);
	return rc;
}

/* try_slot(r, name, pass, n): 0 opened (r->kr set), 1 not this slot,
 * 2 the slot is damaged (reported), -1 error. */
static int try_slot(struct repo *r, const char *name, const char *pass, size_t n)
{
	struct buf obj, payload;
	struct keyslot ks;
	int rc;

	buf_init(&obj, 1u << 20);
	buf_init(&payload, 1u << 20);
	rc = repo_read_object(r, name, &obj);
	if (rc != 0) {
		rc = rc < 0 ? -1 : 2;
		goto out;
	}
	if (keyslot_decode(obj.p, obj.len, &ks) != 0 || ks.kdf.opslimit > 64 ||
	    ks.kdf.memlimit > (UINT64_C(4) << 30)) {
		/* KDF parameters are capped: a tampered slot must not make us
		 * spend hours or all memory before failing. */
		errmsg("key slot %s in %s is malformed; skipped", name, store_url(r->store));
		rc = 2;
		goto out;
	}
	rc = slot_unwrap(pass, n, &ks.kdf, obj.p, KEYSLOT_HDR_LEN, ks.wrapped, ks.wrapped_len, &payload);
	if (rc != 0)
		goto out;
	r->kr = keyring_import(payload.p, payload.len);
	if (r->kr == NULL && payload.len > 0 && payload.p[0] == 1) {
		errmsg("key slot %s was written by a pre-release twofold (key payload version 1, "
		    "epoch keys inline); this twofold reads version 2 only: restore with the "
		    "version that made it", name);
		rc = -1;
		goto out;
	}
	if (r->kr == NULL) {
		errmsg("key slot %s opened but its content is malformed", name);
		rc = -1;
		goto out;
	}
	snprintf(r->slot_name, sizeof r->slot_name, "%s", name);
out:
	buf_wipe_free(&payload);
	buf_free(&obj);
	return rc;
}

/* ---- grants: epoch secret keys, one object per slot and epoch ---- */

int repo_put_grant(struct repo *r, uint32_t epoch, const uint8_t slot[SLOT_ID_LEN],
    const uint8_t box_pk[PK_LEN])
{
	uint8_t sealed[GRANT_SEALED_LEN], obj[GRANT_LEN], h[32];
	struct grant g;
	char name[128];
	int rc;

	if (keyring_grant(r->kr, epoch, slot, box_pk, sealed) != 0) {
		errmsg("this key holds no secret key of epoch %u to hand on", epoch);
		return -1;
	}
	memcpy(g.slot_id, slot, SLOT_ID_LEN);
	g.epoch = epoch;
	g.sealed = sealed;
	grant_encode(&g, obj);
	sha256(obj, sizeof obj, h);
	grant_name(&g, h, name);
	rc = store_put(r->store, name, obj, sizeof obj);
	return rc < 0 ? -1 : 0;
}

/* grant_parse(name, slot, &epoch): 0 if name is grants/<slot>-<epoch>-<hex>. */
int repo_grant_parse(const char *name, uint8_t slot[SLOT_ID_LEN], uint32_t *epoch)
{
	const char *p = name + strlen(GRANT_PREFIX);
	char *end;
	unsigned long e;

	if (strncmp(name, GRANT_PREFIX, strlen(GRANT_PREFIX)) != 0 ||
	    strlen(p) != 2 * SLOT_ID_LEN + 1 + 8 + 1 + 64 || p[2 * SLOT_ID_LEN] != '-' ||
	    p[2 * SLOT_ID_LEN + 9] != '-')
		return -1;
	{
		char hex[2 * SLOT_ID_LEN + 1];

		memcpy(hex, p, 2 * SLOT_ID_LEN);
		hex[2 * SLOT_ID_LEN] = '\0';
		if (hex_decode(hex, slot, SLOT_ID_LEN) != 0)
			return -1;
	}
	e = strtoul(p + 2 * SLOT_ID_LEN + 1, &end, 16);
	if (end != p + 2 * SLOT_ID_LEN + 9 || e == 0 || e > UINT32_MAX)
		return -1;
	*epoch = (uint32_t)e;
	return 0;
}

/* load_epochs(r): the config's epoch public keys into the keyring, then
 * the secret keys of the active ones from this slot's grants. */
static int load_epochs(struct repo *r)
{
	struct name_list l = { 0 };
	uint8_t mine[SLOT_ID_LEN], box[PK_LEN];
	const struct cfg_epoch *cur = config_find_epoch(&r->cfg, r->cfg.epoch);

	for (uint32_t i = 0; i < r->cfg.n_epochs; i++) {
		if (keyring_set_epoch_pk(r->kr, r->cfg.epochs[i].number, r->cfg.epochs[i].pk) != 0) {
			errmsg("the config's epoch keys do not match this key slot's");
			return -1;
		}
	}
	if (cur == NULL || cur->state != EPOCH_ACTIVE) {
		errmsg("the repository config seals new data to epoch %u, which it does not "
		    "list as active: it is malformed", r->cfg.epoch);
		return -1;
	}
	if (keyring_box_pk(r->kr, box) != 0)
		return 0;	/* write-only: public keys are all it holds */
	if (store_list(r->store, GRANT_PREFIX, collect_name, &l) != 0)
		return -1;
	keyring_slot_id(r->kr, mine);
	for (size_t i = 0; i < l.n; i++) {
		uint8_t slot[SLOT_ID_LEN];
		uint32_t epoch;
		const struct cfg_epoch *e;
		struct buf b;
		struct grant g;

		if (repo_grant_parse(l.v[i], slot, &epoch) != 0 ||
		    memcmp(slot, mine, SLOT_ID_LEN) != 0 || keyring_can_decrypt(r->kr, epoch))
			continue;
		e = config_find_epoch(&r->cfg, epoch);
		if (e == NULL || e->state != EPOCH_ACTIVE)
			continue;	/* a rotation that did not finish, or retired */
		buf_init(&b, GRANT_LEN);
		if (repo_read_object(r, l.v[i], &b) != 0 || grant_decode(b.p, b.len, &g) != 0 ||
		    g.epoch != epoch || memcmp(g.slot_id, mine, SLOT_ID_LEN) != 0 ||
		    keyring_accept_grant(r->kr, epoch, g.sealed) != 0)
			errmsg("warning: grant %s in %s is damaged or not for this key; skipped "
			    "(another copy may hold a good one: 'twofold repair')", l.v[i], store_url(r->store));
		buf_free(&b);
	}
	name_list_free(&l);
	if (!keyring_can_decrypt(r->kr, r->cfg.epoch))
		errmsg("warning: this %s key holds no secret key of the current epoch %u: its "
		    "grant is missing from %s (restore grants/ from another copy with 'twofold "
		    "repair', or have an owner add the key anew)", role_name(keyring_role(r->kr)),
		    r->cfg.epoch, store_url(r->store));
	return 0;
}

static struct repo *repo_alloc(const char *url)
{
	struct repo *r = xcalloc(1, sizeof *r);

	static uint64_t serials;

	r->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
	r->store = store_open(url);
	if (r->store == NULL) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

int repo_init(const char *url, const char *pass, size_t n, const char *keyname, int level)
{
	struct repo *r = repo_alloc(url);
	struct config *c;
	struct cfg_key *k;
	int rc;
	char hex[33];

	if (r == NULL)
		return -1;
	rc = store_create(r->store);
	if (rc != 0) {
		if (rc == 1)
			errmsg("%s already holds a repository; nothing was changed", url);
		goto fail;
	}
	r->kr = keyring_new_repo();
	c = &r->cfg;
	c->seq = 0;	/* repo_write_config makes it 1 */
	rand_bytes(c->repo_id, sizeof c->repo_id);
	keyring_root_pk(r->kr, c->root_pk);
	c->created_ns = now_ns();
	c->chunk_min = 512u << 10;
	c->chunk_avg = 1u << 20;
	c->chunk_max = 8u << 20;
	c->pack_size = 16u << 20;
	c->compression = level > 0;
	c->level = (int8_t)(level > 0 ? level : 0);
	c->epoch = 1;
	c->n_epochs = 1;
	c->epochs = xcalloc(1, sizeof *c->epochs);
	c->epochs[0].number = 1;
	keyring_epoch_pk(r->kr, 1, c->epochs[0].pk);
	c->n_keys = 1;
	c->keys = k = xcalloc(1, sizeof *k);
	keyring_slot_id(r->kr, k->slot_id);
	k->role = ROLE_OWNER;
	k->name = xstrdup(keyname);
	k->created_ns = c->created_ns;
	k->has_signer = 1;
	keyring_signer_pk(r->kr, k->signer_pk);
	k->has_box = 1;
	keyring_box_pk(r->kr, k->box_pk);
	/* Key slot and grant first, config last: a store without a config is
	 * not a repository yet, so a crash here leaves nothing that looks
	 * usable. */
	if (write_slot(r, r->kr, pass, n, NULL, 0) != 0 ||
	    repo_put_grant(r, 1, k->slot_id, k->box_pk) != 0)
		goto fail;
	{
		struct config tmp;

		config_copy(&tmp, c);
		rc = repo_write_config(r, &tmp);
		config_free(&tmp);
		if (rc != 0)
			goto fail;
	}
	repo_id_hex(r, hex);
	info(1, "created twofold repository %s at %s", hex, url);
	repo_close(r);
	return 0;
fail:
	repo_close(r);
	return -1;
}

struct repo *repo_open(const char *url, const char *pass, size_t n, int *wrong_pass)
{
	struct repo *r = repo_alloc(url);
	struct name_list l = { 0 };
	size_t damaged = 0;
	int rc = 1;

	*wrong_pass = 0;
	if (r == NULL)
		return NULL;
	if (store_list(r->store, "keys/", collect_name, &l) != 0)
		goto fail;
	if (l.n == 0) {
		errmsg("%s holds no key slots: it is not a twofold repository, or it "
		    "is damaged (check the path; 'twofold init' creates one)", url);
		goto fail;
	}
	for (size_t i = 0; i < l.n && (rc == 1 || rc == 2); i++) {
		rc = try_slot(r, l.v[i], pass, n);
		damaged += rc == 2;
	}
	if (rc == 1 || rc == 2) {
		if (damaged)
			errmsg("no key slot of %s opens with this password: wrong password, "
			    "or its slot is among the %zu damaged ones named above (restore "
			    "keys/ from another copy); nothing was changed", url, damaged);
		else
			errmsg("wrong password: no key slot of %s opens with it (tried %zu); "
			    "nothing was changed", url, l.n);
		*wrong_pass = 1;
		goto fail;
	}
	if (rc != 0 || load_config(r, &r->cfg) != 0 || load_epochs(r) != 0 || setup_chunker(r) != 0)
		goto fail;
	name_list_free(&l);
	return r;
fail:
	name_list_free(&l);
	repo_close(r);
	return NULL;
}

void repo_close(struct repo *r)
{
	if (r == NULL)
		return;
	repo_session_end_quiet(r);
	repo_pack_free(r);
	repo_index_free(r);
	config_free(&r->cfg);
	keyring_free(r->kr);
	store_close(r->store);
	reader_release(r);
	sodium_memzero(&r->chunker, sizeof r->chunker);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* ---- key management ---- */

int repo_key_add(struct repo *r, enum key_role role, const char *name,
    const char *pass, size_t n, uint8_t slot_out[SLOT_ID_LEN])
{
	struct keyring *nk;
	struct config c;
	struct cfg_key *k;
	int rc = -1;

	if (repo_need(r, CAN_OWNER, "add keys") != 0)
		return -1;
	nk = keyring_derive(r->kr, role);
	if (nk == NULL)
		return -1;
	if (write_slot(r, nk, pass, n, NULL, 0) != 0)
		goto out;
	config_copy(&c, &r->cfg);
	c.keys = xreallocarray(c.keys, c.n_keys + 1, sizeof *c.keys);
	k = &c.keys[c.n_keys++];
	memset(k, 0, sizeof *k);
	keyring_slot_id(nk, k->slot_id);
	k->role = (uint8_t)role;
	k->name = xstrdup(name);
	k->created_ns = now_ns();
	k->has_signer = keyring_signer_pk(nk, k->signer_pk) == 0;
	k->has_box = keyring_box_pk(nk, k->box_pk) == 0;
	/* grants of every active epoch first: the config entry makes the key */
	rc = 0;
	for (uint32_t i = 0; i < c.n_epochs && rc == 0 && k->has_box; i++)
		if (c.epochs[i].state == EPOCH_ACTIVE)
			rc = repo_put_grant(r, c.epochs[i].number, k->slot_id, k->box_pk);
	if (rc == 0)
		rc = repo_write_config(r, &c);
	config_free(&c);
	if (rc == 0 && slot_out)
		keyring_slot_id(nk, slot_out);
out:
	keyring_free(nk);
	return rc;
}

int repo_key_passwd(struct repo *r, const char *pass, size_t n)
{
	char name[96];

	if (write_slot(r, r->kr, pass, n, name, sizeof name) != 0)
		return -1;
	if (strcmp(name, r->slot_name) != 0 && store_delete(r->store, r->slot_name) < 0) {
		errmsg("the new passphrase works, but the old key slot %s could not be "
		    "removed: remove it with 'twofold key remove'", r->slot_name);
		return -1;
	}
	snprintf(r->slot_name, sizeof r->slot_name, "%s", name);
	return 0;
}

int repo_key_list(struct repo *r, struct key_item **items, size_t *count)
{
	struct name_list l = { 0 };
	struct key_item *v;
	uint8_t mine[SLOT_ID_LEN];
	size_t n = 0;

	*items = NULL;
	*count = 0;
	if (store_list(r->store, "keys/", collect_name, &l) != 0)
		return -1;
	keyring_slot_id(r->kr, mine);
	v = xcalloc(l.n ? l.n : 1, sizeof *v);
	for (size_t i = 0; i < l.n; i++) {
		struct buf b;
		struct keyslot ks;

		buf_init(&b, 1u << 20);
		if (repo_read_object(r, l.v[i], &b) == 0 && keyslot_decode(b.p, b.len, &ks) == 0) {
			memcpy(v[n].slot_id, ks.slot_id, SLOT_ID_LEN);
			snprintf(v[n].object, sizeof v[n].object, "%s", l.v[i]);
			v[n].current = strcmp(l.v[i], r->slot_name) == 0;
			v[n].cfg = config_find_key(&r->cfg, ks.slot_id);
			v[n].role = ks.role;
			v[n].created_ns = ks.created_ns;
			n++;
		} else {
			errmsg("key slot %s is unreadable or malformed", l.v[i]);
			snprintf(v[n].object, sizeof v[n].object, "%s", l.v[i]);
			v[n++].damaged = 1;
		}
		buf_free(&b);
	}
	name_list_free(&l);
	*items = v;
	*count = n;
	return 0;
}

int repo_key_remove(struct repo *r, const char *prefix)
{
	struct key_item *v;
	size_t n, match = 0, which = 0;
	char hex[2 * SLOT_ID_LEN + 1];
	const struct cfg_key *cfgk;
	int rc = -1;

	if (repo_need(r, CAN_OWNER, "remove keys") != 0)
		return -1;
	if (repo_key_list(r, &v, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i].damaged)
			continue;
		hex_encode(v[i].slot_id, SLOT_ID_LEN, hex);
		if (*prefix && strncmp(hex, prefix, strlen(prefix)) == 0) {
			match++;
			which = i;
		}
	}
	if (match != 1) {
		errmsg(match ? "key ID prefix %s is ambiguous: give more digits"
		    : "no key with ID %s (see 'twofold key list')", prefix);
		goto out;
	}
	if (v[which].current) {
		errmsg("refusing to remove the key this session opened the repository "
		    "with; open it with another owner key to remove this one");
		goto out;
	}
	/* A removed key keeps its config entry, marked revoked, with the list
	 * of snapshots it signed until now: those stay valid, any new one is
	 * rejected (repo_revoke.c).  Then its slot object goes. */
	hex_encode(v[which].slot_id, SLOT_ID_LEN, hex);
	cfgk = config_find_key(&r->cfg, v[which].slot_id);
	rc = cfgk != NULL && !cfgk->revoked ? repo_key_revoke(r, hex, NULL, NULL) : 0;
	if (rc == 0 && store_delete(r->store, v[which].object) < 0)
		rc = -1;
	if (rc == 0)
		rc = repo_delete_grants(r, v[which].slot_id, 0);
out:
	free(v);
	return rc;
}
