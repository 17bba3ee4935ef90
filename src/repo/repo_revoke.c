/* repo_revoke.c: `key revoke`.  A revoked key's config entry keeps its
 * signing public key, marked revoked, with the IDs of the snapshots it
 * signed that were good at revocation time (docs/FORMAT.md, "Snapshots";
 * docs/SECURITY.md, "Revoking a key").  Acceptance of its snapshots then
 * depends on that list alone, never on a snapshot's own timestamp, which
 * its signer chooses. */
#include <string.h>

#include "repo/repo.h"
#include "util/util.h"

int repo_key_revoke(struct repo *r, const char *prefix, uint8_t slot_out[SLOT_ID_LEN],
    uint32_t *n_allowed)
{
	const struct config *cur = repo_config(r);
	const struct cfg_key *match = NULL;
	struct snap_list snaps = { 0 };
	uint8_t mine[SLOT_ID_LEN];
	char hex[2 * SLOT_ID_LEN + 1];
	size_t nmatch = 0, plen = strlen(prefix);
	struct config c;
	struct cfg_key *k;
	int rc;

	if (repo_need(r, CAN_OWNER, "revoke keys") != 0)
		return -1;
	for (uint32_t i = 0; i < cur->n_keys; i++) {
		hex_encode(cur->keys[i].slot_id, SLOT_ID_LEN, hex);
		if (plen > 0 && plen <= 2 * SLOT_ID_LEN && strncmp(hex, prefix, plen) == 0) {
			nmatch++;
			match = &cur->keys[i];
		}
	}
	if (nmatch != 1) {
		errmsg(nmatch ? "key ID prefix %s is ambiguous: give more digits"
		    : "no key with ID %s in the config (see 'twofold key list')", prefix);
		return -1;
	}
	keyring_slot_id(repo_keyring(r), mine);
	if (memcmp(match->slot_id, mine, SLOT_ID_LEN) == 0) {
		errmsg("refusing to revoke the key this session opened the repository with; "
		    "open it with another owner key to revoke this one");
		return -1;
	}
	if (match->revoked) {
		errmsg("key %s ('%s') is already revoked", prefix, match->name);
		return -1;
	}
	/* The snapshots it signed that are good now stay good; nothing else
	 * it signs will be. */
	if (repo_list_snapshots(r, &snaps) != 0)
		return -1;
	config_copy(&c, cur);
	k = config_find_key(&c, match->slot_id);
	k->revoked = 1;
	for (size_t j = 0; j < snaps.n; j++) {
		if (snaps.v[j].status != SNAP_OK ||
		    memcmp(snaps.v[j].s.signer_slot, k->slot_id, SLOT_ID_LEN) != 0)
			continue;
		k->allowed = xreallocarray(k->allowed, k->n_allowed + 1, ID_LEN);
		memcpy(k->allowed[k->n_allowed++], snaps.v[j].id, ID_LEN);
	}
	if (slot_out)
		memcpy(slot_out, k->slot_id, SLOT_ID_LEN);
	if (n_allowed)
		*n_allowed = k->n_allowed;
	rc = repo_write_config(r, &c);
	config_free(&c);
	snap_list_free(&snaps);
	return rc;
}

int repo_key_is_revoked(const struct repo *r)
{
	uint8_t mine[SLOT_ID_LEN];
	const struct cfg_key *k;

	keyring_slot_id(repo_keyring(r), mine);
	k = config_find_key(repo_config(r), mine);
	return k != NULL && k->revoked;
}
