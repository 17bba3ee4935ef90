/* repo_rekey.c: data-key epochs: key rotate, rekey, and retiring epochs
 * (docs/FORMAT.md, "Epochs, grants and rekey").
 *
 *   rotate:  a new epoch key pair; its secret key granted to every key
 *            that may read (owner and read-only, not revoked); then a
 *            config naming it the current epoch.  New objects are sealed
 *            to it from then on.
 *   rekey:   snapshots sealed to an older epoch are sealed anew (same
 *            plaintext and signature, new object and ID; a forget record
 *            names the old IDs before they go); a prune run repacks every
 *            pack and rewrites every index object of an older epoch; when
 *            no copy holds anything sealed to an older epoch and no
 *            backup runs, the older epochs are marked retired in the
 *            config and their grants are deleted from every copy, so no
 *            key slot can recover their secret keys any more. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo/repo_internal.h"
#include "util/util.h"

int repo_key_rotate(struct repo *r, uint32_t *epoch)
{
	const struct config *cur = &r->cfg;
	struct config c;
	uint8_t pk[PK_LEN];
	uint32_t n;
	int rc = 0;

	if (repo_need(r, CAN_OWNER, "rotate keys") != 0)
		return -1;
	if (cur->n_epochs >= MAX_EPOCHS) {
		errmsg("the repository has had %d key epochs, the most the format allows",
		    MAX_EPOCHS);
		return -1;
	}
	n = cur->epochs[cur->n_epochs - 1].number + 1;
	if (keyring_new_epoch(r->kr, n, pk) != 0) {
		errmsg("cannot make the key pair of epoch %u", n);
		return -1;
	}
	/* grants first: a crash before the config leaves grants of an epoch
	 * no config names, which every reader ignores */
	for (uint32_t i = 0; i < cur->n_keys && rc == 0; i++) {
		const struct cfg_key *k = &cur->keys[i];

		if (k->has_box && !k->revoked)
			rc = repo_put_grant(r, n, k->slot_id, k->box_pk);
	}
	if (rc != 0)
		return -1;
	config_copy(&c, cur);
	c.epochs = xreallocarray(c.epochs, c.n_epochs + 1, sizeof *c.epochs);
	memset(&c.epochs[c.n_epochs], 0, sizeof *c.epochs);
	c.epochs[c.n_epochs].number = n;
	memcpy(c.epochs[c.n_epochs].pk, pk, PK_LEN);
	c.epochs[c.n_epochs++].state = EPOCH_ACTIVE;
	c.epoch = n;
	rc = repo_write_config(r, &c);
	config_free(&c);
	if (rc == 0)
		*epoch = n;
	return rc;
}

/* epoch_state(c, epoch): EPOCH_ACTIVE, EPOCH_RETIRED, or -1 if unknown. */
static int epoch_state(const struct config *c, uint32_t epoch)
{
	const struct cfg_epoch *e = config_find_epoch(c, epoch);

	return e ? e->state : -1;
}

int repo_delete_grants(struct repo *r, const uint8_t *slot, uint32_t epoch)
{
	struct name_list l = { 0 };
	int rc = 0;

	if (store_list(r->store, GRANT_PREFIX, collect_name, &l) != 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		uint8_t s[SLOT_ID_LEN];
		uint32_t e;

		if (repo_grant_parse(l.v[i], s, &e) != 0 ||
		    (slot != NULL && memcmp(s, slot, SLOT_ID_LEN) != 0) || (epoch != 0 && e != epoch))
			continue;
		if (store_delete(r->store, l.v[i]) < 0)
			rc = -1;
	}
	name_list_free(&l);
	return rc;
}

int repo_purge_retired_grants(struct repo *r, uint64_t *deleted)
{
	struct name_list l = { 0 };
	int rc = 0;

	if (deleted)
		*deleted = 0;
	if (store_list(r->store, GRANT_PREFIX, collect_name, &l) != 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		uint8_t s[SLOT_ID_LEN];
		uint32_t e;

		if (repo_grant_parse(l.v[i], s, &e) != 0 || epoch_state(&r->cfg, e) != EPOCH_RETIRED)
			continue;
		if (store_delete(r->store, l.v[i]) < 0) {
			errmsg("grant %s of retired epoch %u could not be deleted from every copy; "
			    "run 'twofold rekey' again when all copies are reachable", l.v[i], e);
			rc = -1;
		} else if (deleted)
			++*deleted;
	}
	name_list_free(&l);
	return rc;
}

/* ---- snapshots ---- */

struct snapobj {
	uint8_t id[ID_LEN];
	uint8_t plain_hash[32];
	uint32_t epoch;
};

static int add_pair(struct rekey_result *res, const uint8_t old[ID_LEN], const uint8_t new_id[ID_LEN])
{
	res->pairs = xreallocarray(res->pairs, res->n_pairs + 1, sizeof *res->pairs);
	memcpy(res->pairs[res->n_pairs].old_id, old, ID_LEN);
	memcpy(res->pairs[res->n_pairs++].new_id, new_id, ID_LEN);
	return 0;
}

/* allow_resealed(r, res): a revoked key's snapshots are accepted by ID:
 * their new IDs join the list (the old ones stay; they name nothing). */
static int allow_resealed(struct repo *r, const struct rekey_result *res)
{
	struct config c;
	int changed = 0, rc = 0;

	config_copy(&c, &r->cfg);
	for (uint32_t k = 0; k < c.n_keys; k++) {
		struct cfg_key *key = &c.keys[k];

		for (size_t i = 0; i < res->n_pairs; i++) {
			int had = 0, has = 0;

			for (uint32_t j = 0; j < key->n_allowed; j++) {
				had |= memcmp(key->allowed[j], res->pairs[i].old_id, ID_LEN) == 0;
				has |= memcmp(key->allowed[j], res->pairs[i].new_id, ID_LEN) == 0;
			}
			if (!had || has)
				continue;
			key->allowed = xreallocarray(key->allowed, key->n_allowed + 1, ID_LEN);
			memcpy(key->allowed[key->n_allowed++], res->pairs[i].new_id, ID_LEN);
			changed = 1;
		}
	}
	if (changed)
		rc = repo_write_config(r, &c);
	config_free(&c);
	return rc;
}

/* reseal_snapshots(r, res): every snapshot sealed to an older epoch is
 * stored again under the current one.  A crash between the new object and
 * the deletion of the old leaves both; the next run finds the twin (the
 * same plaintext, signature included) and only deletes the old one. */
static int reseal_snapshots(struct repo *r, struct rekey_result *res)
{
	struct name_list l = { 0 };
	struct snapobj *v;
	size_t n = 0;
	int rc = -1;

	if (store_list(r->store, "snapshots/", collect_name, &l) != 0)
		return -1;
	v = xcalloc(l.n + 1, sizeof *v);
	for (size_t i = 0; i < l.n; i++) {
		struct buf plain;
		int got;

		if (hex_decode(l.v[i] + strlen("snapshots/"), v[n].id, ID_LEN) != 0)
			continue;
		buf_init(&plain, 1u << 30);
		got = repo_snapshot_plain(r, l.v[i], &v[n].epoch, &plain);
		if (got == 0)
			sha256(plain.p, plain.len, v[n].plain_hash);
		buf_free(&plain);
		if (got < 0)
			goto out;
		if (got > 0) {
			res->snapshots_unreadable++;
			continue;
		}
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		struct buf plain;
		uint8_t new_id[ID_LEN];
		const struct snapobj *twin = NULL;
		char name[96];

		if (v[i].epoch == r->cfg.epoch)
			continue;
		for (size_t k = 0; k < n && twin == NULL; k++)
			if (v[k].epoch == r->cfg.epoch && memcmp(v[k].plain_hash, v[i].plain_hash, 32) == 0)
				twin = &v[k];
		if (twin != NULL) {
			memcpy(new_id, twin->id, ID_LEN);
		} else {
			uint32_t ep;
			int got;

			object_name("snapshots", v[i].id, name, sizeof name);
			buf_init(&plain, 1u << 30);
			got = repo_snapshot_plain(r, name, &ep, &plain);
			if (got == 0)
				got = repo_snapshot_reseal(r, plain.p, plain.len, new_id);
			buf_free(&plain);
			if (got != 0)
				goto out;
			res->snapshots_resealed++;
		}
		add_pair(res, v[i].id, new_id);
	}
	if (res->n_pairs == 0) {
		rc = 0;
		goto out;
	}
	if (allow_resealed(r, res) != 0)
		goto out;
	{
		uint8_t (*old)[ID_LEN] = xcalloc(res->n_pairs, ID_LEN);

		for (size_t i = 0; i < res->n_pairs; i++)
			memcpy(old[i], res->pairs[i].old_id, ID_LEN);
		rc = repo_record_forget(r, (const uint8_t (*)[ID_LEN])old, res->n_pairs);
		free(old);
	}
	for (size_t i = 0; i < res->n_pairs && rc == 0; i++)
		if (repo_delete_snapshot(r, res->pairs[i].old_id) < 0)
			rc = -1;
out:
	free(v);
	name_list_free(&l);
	return rc;
}

/* ---- what is left under older epochs, on every copy ---- */

struct scan {
	struct store *st;
	uint32_t epoch;
	struct rekey_result *res;
	int failed;
};

static int scan_one(void *arg, const char *name, uint64_t size)
{
	struct scan *sc = arg;
	uint8_t kind;
	uint32_t ep = sc->epoch;
	int rc;

	(void)size;
	if (strncmp(name, "data/", 5) == 0)
		kind = OBJ_PACK;
	else if (strncmp(name, "index/", 6) == 0)
		kind = OBJ_INDEX;
	else if (strncmp(name, "snapshots/", 10) == 0)
		kind = OBJ_SNAPSHOT;
	else if (strncmp(name, "locks/condemned-", 16) == 0)
		kind = OBJ_PLAN;
	else if (strncmp(name, "locks/waitfor-", 14) == 0)
		kind = OBJ_WAIT;
	else
		return 0;
	rc = object_epoch(sc->st, name, kind, &ep);
	if (rc < 0) {
		sc->failed = 1;
		return 1;
	}
	if (rc == R_CORRUPT && !sc->res->left_reason[0])
		snprintf(sc->res->left_reason, sizeof sc->res->left_reason, "%s in copy %s is "
		    "damaged ('twofold check --copies', then 'twofold repair')", name, store_url(sc->st));
	if (rc == R_CORRUPT || (rc == 0 && ep != sc->epoch))
		sc->res->left_objects++;
	return 0;
}

static int scan_copies(struct repo *r, struct rekey_result *res)
{
	static const char *const prefixes[] = { "data/", "index/", "snapshots/", "locks/" };

	for (size_t i = 0; i < store_copies(r->store); i++) {
		struct scan sc = { store_copy(r->store, i), r->cfg.epoch, res, 0 };

		for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0] && !sc.failed; k++)
			if (store_list(sc.st, prefixes[k], scan_one, &sc) != 0)
				sc.failed = 1;
		if (sc.failed && !res->left_reason[0])
			snprintf(res->left_reason, sizeof res->left_reason, "copy %s could not be "
			    "read to the end", store_url(sc.st));
	}
	return 0;
}

static int retire(struct repo *r, struct rekey_result *res)
{
	struct config c;
	int rc;

	config_copy(&c, &r->cfg);
	for (uint32_t i = 0; i < c.n_epochs; i++) {
		if (c.epochs[i].number == c.epoch || c.epochs[i].state != EPOCH_ACTIVE)
			continue;
		c.epochs[i].state = EPOCH_RETIRED;
		res->retired[res->n_retired++] = c.epochs[i].number;
	}
	rc = repo_write_config(r, &c);
	config_free(&c);
	return rc;
}

int repo_rekey(struct repo *r, const struct rekey_opts *o, struct rekey_result *res)
{
	int older = 0;

	memset(res, 0, sizeof *res);
	res->epoch = r->cfg.epoch;
	if (repo_need(r, CAN_OWNER, "re-encrypt the repository") != 0)
		return -1;
	if (!keyring_can_decrypt(repo_keyring(r), r->cfg.epoch)) {
		errmsg("this key holds no secret key of the current epoch %u; open the "
		    "repository with the owner key that rotated it", r->cfg.epoch);
		return -1;
	}
	for (uint32_t i = 0; i < r->cfg.n_epochs; i++)
		older |= r->cfg.epochs[i].number != r->cfg.epoch &&
		    r->cfg.epochs[i].state == EPOCH_ACTIVE;
	if (older) {
		struct prune_opts po;
		uint32_t live = 0;

		memset(&po, 0, sizeof po);
		po.repack_threshold = o->repack_threshold;
		po.grace_ns = o->grace_ns;
		po.rekey_epoch = r->cfg.epoch;
		po.rekey_budget = o->budget;
		info(1, "sealing snapshots to epoch %u", r->cfg.epoch);
		if (reseal_snapshots(r, res) != 0)
			return -1;
		info(1, "repacking data sealed to older epochs");
		if (repo_prune(r, &po, &res->prune) != 0)
			return -1;
		if (scan_copies(r, res) != 0)
			return -1;
		if (res->snapshots_unreadable && !res->left_reason[0])
			snprintf(res->left_reason, sizeof res->left_reason, "%" PRIu64 " snapshot(s) "
			    "could not be read ('twofold check')", res->snapshots_unreadable);
		if (res->left_objects == 0 && !res->left_reason[0]) {
			if (repo_live_sessions(r, o->grace_ns, &live) != 0)
				return -1;
			if (live)
				snprintf(res->left_reason, sizeof res->left_reason, "%u backup(s) are "
				    "running, possibly still sealing to an older epoch", live);
			else if (retire(r, res) != 0)
				return -1;
		}
	}
	res->complete = !older || res->n_retired > 0;
	return repo_purge_retired_grants(r, &res->grants_deleted);
}

void rekey_result_free(struct rekey_result *res)
{
	free(res->pairs);
	res->pairs = NULL;
	res->n_pairs = 0;
}

/* ---- check ---- */

int repo_check_grants(struct repo *r, repo_grant_fn fn, void *arg)
{
	struct name_list l = { 0 };
	const struct config *c = &r->cfg;
	uint8_t *has = xcalloc(c->n_keys + 1, 1);
	char msg[300];

	if (store_list(r->store, GRANT_PREFIX, collect_name, &l) != 0) {
		free(has);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		uint8_t slot[SLOT_ID_LEN];
		uint32_t epoch;
		struct buf b;
		struct grant g;
		int got, st;

		if (repo_grant_parse(l.v[i], slot, &epoch) != 0) {
			snprintf(msg, sizeof msg, "unexpected object %s in grants/", l.v[i]);
			fn(arg, 1, msg);
			continue;
		}
		buf_init(&b, GRANT_LEN);
		got = repo_read_object(r, l.v[i], &b);
		if (got < 0) {
			buf_free(&b);
			name_list_free(&l);
			free(has);
			return -1;
		}
		if (got != 0 || grant_decode(b.p, b.len, &g) != 0 || g.epoch != epoch ||
		    memcmp(g.slot_id, slot, SLOT_ID_LEN) != 0) {
			snprintf(msg, sizeof msg, "grant %s is damaged (repair it from another copy)", l.v[i]);
			fn(arg, 2, msg);
		} else if ((st = epoch_state(c, epoch)) == EPOCH_RETIRED) {
			snprintf(msg, sizeof msg, "grant %s is of retired epoch %u: run 'twofold rekey' "
			    "to delete it", l.v[i], epoch);
			fn(arg, 1, msg);
		} else if (st == EPOCH_ACTIVE && epoch == c->epoch) {
			for (uint32_t k = 0; k < c->n_keys; k++)
				if (memcmp(c->keys[k].slot_id, slot, SLOT_ID_LEN) == 0)
					has[k] = 1;
		}
		buf_free(&b);
	}
	for (uint32_t k = 0; k < c->n_keys; k++) {
		char hex[2 * SLOT_ID_LEN + 1];

		if (!c->keys[k].has_box || c->keys[k].revoked || has[k])
			continue;
		hex_encode(c->keys[k].slot_id, SLOT_ID_LEN, hex);
		snprintf(msg, sizeof msg, "key %s ('%s') has no grant of the current epoch %u: it "
		    "cannot read new data (restore grants/ from another copy with 'twofold repair')",
		    hex, c->keys[k].name, c->epoch);
		fn(arg, 1, msg);
	}
	name_list_free(&l);
	free(has);
	return 0;
}
