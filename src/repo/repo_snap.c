/* repo_snap.c: trees and signed snapshots. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "repo/repo_internal.h"
#include "util/util.h"

int repo_save_tree(struct repo *r, const struct tree *t, uint8_t id[ID_LEN], uint64_t *stored)
{
	struct buf b;
	int rc;

	buf_init(&b, MAX_BLOB);
	tree_encode(t, &b);
	if (b.overflow) {
		errmsg("a directory is too large to store (%u entries)", t->n);
		buf_free(&b);
		return -1;
	}
	repo_blob_id(r, b.p, b.len, id);
	rc = repo_add_blob(r, BLOB_TREE, id, b.p, b.len, stored);
	buf_free(&b);
	return rc;
}

int repo_load_tree(struct repo *r, const uint8_t id[ID_LEN], struct tree *t)
{
	struct buf b;
	int rc;
	char hex[2 * ID_LEN + 1], why[400];

	memset(t, 0, sizeof *t);
	buf_init(&b, MAX_BLOB);
	rc = repo_read_blob(r, id, &b);
	if (rc == 0 && tree_decode_why(b.p, b.len, t, why, sizeof why) != 0) {
		hex_encode(id, ID_LEN, hex);
		errmsg("tree %s is malformed: %s", hex, why);
		rc = R_CORRUPT;
	}
	buf_free(&b);
	return rc;
}

/* seal_store(r, plain, n, id): seal a snapshot's plaintext (body and
 * signature) to the current epoch and store it; its ID in id. */
static int seal_store(struct repo *r, const uint8_t *plain, size_t n, uint8_t id[ID_LEN])
{
	struct envelope env;
	struct seal se = { 0 };
	struct buf obj;
	int rc = -1;

	env.kind = OBJ_SNAPSHOT;
	env.epoch = r->cfg.epoch;
	if (seal_begin_pk(&se, r->kr, env.epoch, env.seal_hdr) != 0)
		return -1;
	buf_init(&obj, 1u << 30);
	if (buf_reserve(&obj, ENVELOPE_LEN + n + AEAD_TAG_LEN) != NULL) {
		envelope_encode(&env, obj.p);
		seal_encrypt(&se, 0, obj.p, ENVELOPE_LEN, plain, n, obj.p + ENVELOPE_LEN);
		obj.len = ENVELOPE_LEN + n + AEAD_TAG_LEN;
		rc = put_object(r, "snapshots", obj.p, obj.len, id, NULL, 0);
	}
	seal_end(&se);
	buf_free(&obj);
	return rc;
}

int repo_save_snapshot(struct repo *r, struct snapshot *s, uint8_t id[ID_LEN])
{
	struct buf body;
	uint8_t sig[SIG_LEN];
	int rc = -1;

	keyring_slot_id(r->kr, s->signer_slot);
	if (keyring_signer_pk(r->kr, s->signer_pk) != 0) {
		errmsg("this key cannot sign snapshots (it is %s)", role_name(keyring_role(r->kr)));
		return -1;
	}
	buf_init(&body, 1u << 30);
	snapshot_encode(s, &body);
	if (!body.overflow && keyring_sign(r->kr, body.p, body.len, sig) == 0) {
		buf_append(&body, sig, SIG_LEN);
		rc = seal_store(r, body.p, body.len, id);
	}
	buf_free(&body);
	return rc;
}

/* snap_open(r, p, n, &epoch, plain, why, whyn): authenticate and open a
 * snapshot object: its plaintext (body, then the signer's signature) is
 * appended to plain.  -1 with the reason in why. */
static int snap_open(struct repo *r, const uint8_t *p, size_t n, uint32_t *epoch,
    struct buf *plain, char *why, size_t whyn)
{
	struct envelope env;
	struct seal s = { 0 };
	uint8_t *out;
	size_t pn;
	int rc = -1;

	if (envelope_decode(p, n, OBJ_SNAPSHOT, &env) != 0 ||
	    n < ENVELOPE_LEN + AEAD_TAG_LEN + SIG_LEN) {
		snprintf(why, whyn, "not a snapshot object");
		return -1;
	}
	*epoch = env.epoch;
	if (seal_open_pk(&s, r->kr, env.epoch, env.seal_hdr) != 0) {
		snprintf(why, whyn, "sealed to epoch %u, whose key this key lacks", env.epoch);
		return -1;
	}
	pn = n - ENVELOPE_LEN - AEAD_TAG_LEN;
	if ((out = buf_reserve(plain, pn)) == NULL)
		snprintf(why, whyn, "too large");
	else if (seal_decrypt(&s, 0, p, ENVELOPE_LEN, p + ENVELOPE_LEN, n - ENVELOPE_LEN, out) != 0)
		snprintf(why, whyn, "fails authentication (altered or forged)");
	else {
		plain->len += pn;
		rc = 0;
	}
	seal_end(&s);
	return rc;
}

int repo_snapshot_plain(struct repo *r, const char *name, uint32_t *epoch, struct buf *plain)
{
	struct buf obj;
	char why[160];
	int rc;

	buf_init(&obj, 1u << 30);
	rc = repo_read_object(r, name, &obj);
	if (rc == 0 && snap_open(r, obj.p, obj.len, epoch, plain, why, sizeof why) != 0) {
		errmsg("snapshot %s in %s: %s", name, store_url(r->store), why);
		rc = R_CORRUPT;
	}
	buf_free(&obj);
	return rc;
}

int repo_snapshot_reseal(struct repo *r, const uint8_t *plain, size_t n, uint8_t id[ID_LEN])
{
	return seal_store(r, plain, n, id);
}

/* verify_signer(r, it): may the snapshot's signer sign it? */
static void verify_signer(const struct repo *r, struct snap_item *it, const uint8_t *body, size_t n)
{
	const struct cfg_key *k = config_find_key(&r->cfg, it->s.signer_slot);

	it->status = SNAP_BAD;
	if (k == NULL || !k->has_signer) {
		snprintf(it->why, sizeof it->why, "signed by a key the config does not allow");
		return;
	}
	if (memcmp(k->signer_pk, it->s.signer_pk, PK_LEN) != 0 ||
	    sig_verify(k->signer_pk, body, n, body + n) != 0) {
		snprintf(it->why, sizeof it->why, "its signature is not valid");
		return;
	}
	if (k->revoked) {
		for (uint32_t i = 0; i < k->n_allowed; i++) {
			if (memcmp(k->allowed[i], it->id, ID_LEN) == 0) {
				it->status = SNAP_REVOKED_OK;
				return;
			}
		}
		snprintf(it->why, sizeof it->why, "signed by revoked key '%s' and not one of the "
		    "snapshots it made before its revocation", k->name);
		return;
	}
	it->status = SNAP_OK;
}

struct snap_ctx {
	struct repo *r;
	struct snap_list *l;
	size_t cap;
	int failed;
};

static int load_snap(void *arg, const char *name, uint64_t size)
{
	struct snap_ctx *c = arg;
	struct repo *r = c->r;
	struct snap_item *it;
	struct buf obj, plain;
	uint32_t epoch;
	int rc;

	(void)size;
	if (c->l->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->l->v = xreallocarray(c->l->v, c->cap, sizeof *c->l->v);
	}
	it = &c->l->v[c->l->n];
	memset(it, 0, sizeof *it);
	if (hex_decode(name + strlen("snapshots/"), it->id, ID_LEN) != 0)
		return 0;	/* not ours: ignore */
	buf_init(&obj, 1u << 30);
	buf_init(&plain, 1u << 30);
	rc = repo_read_object(r, name, &obj);
	if (rc < 0) {
		c->failed = 1;
		buf_free(&obj);
		return 1;
	}
	it->status = SNAP_BAD;
	if (rc != 0) {
		snprintf(it->why, sizeof it->why, "the object does not match its name");
		goto done;
	}
	if (snap_open(r, obj.p, obj.len, &epoch, &plain, it->why, sizeof it->why) != 0)
		goto done;
	if (snapshot_decode(plain.p, plain.len - SIG_LEN, &it->s) != 0) {
		snprintf(it->why, sizeof it->why, "malformed");
		goto done;
	}
	verify_signer(r, it, plain.p, plain.len - SIG_LEN);
done:
	if (it->status == SNAP_BAD && util_verbosity > 0)
		errmsg("snapshot %s rejected: %s", name, it->why);
	buf_free(&plain);
	buf_free(&obj);
	c->l->n++;
	return 0;
}

static int snap_cmp(const void *a, const void *b)
{
	const struct snap_item *x = a, *y = b;

	if (x->s.time_ns != y->s.time_ns)
		return x->s.time_ns < y->s.time_ns ? -1 : 1;
	return memcmp(x->id, y->id, ID_LEN);
}

int repo_list_snapshots(struct repo *r, struct snap_list *out)
{
	struct snap_ctx c = { r, out, 0, 0 };

	memset(out, 0, sizeof *out);
	if (repo_need(r, CAN_OWNER | CAN_READ, "read snapshots") != 0)
		return -1;
	if (store_list(r->store, "snapshots/", load_snap, &c) < 0 || c.failed) {
		snap_list_free(out);
		return -1;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, snap_cmp);
	return 0;
}

void snap_list_free(struct snap_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		snapshot_free(&l->v[i].s);
	free(l->v);
	memset(l, 0, sizeof *l);
}

int repo_find_snapshot(const char *spec, const struct snap_list *l, const struct snap_item **item)
{
	const struct snap_item *found = NULL;
	size_t len = strlen(spec), matches = 0;
	char hex[2 * ID_LEN + 1];

	*item = NULL;
	if (strcmp(spec, "latest") == 0) {
		for (size_t i = 0; i < l->n; i++)
			if (l->v[i].status != SNAP_BAD)
				found = &l->v[i];
		if (found == NULL) {
			errmsg("the repository has no snapshots");
			return -1;
		}
		*item = found;
		return 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		hex_encode(l->v[i].id, ID_LEN, hex);
		if (len > 0 && len <= 64 && strncmp(hex, spec, len) == 0) {
			matches++;
			found = &l->v[i];
		}
	}
	if (matches == 0) {
		errmsg("no snapshot %s (see 'twofold snapshots')", spec);
		return -1;
	}
	if (matches > 1) {
		errmsg("snapshot ID prefix %s is ambiguous: give more digits", spec);
		return -1;
	}
	if (found->status == SNAP_BAD) {
		errmsg("snapshot %s is rejected: %s", spec, found->why);
		return -1;
	}
	*item = found;
	return 0;
}
