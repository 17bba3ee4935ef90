/* repo_tomb.c: forget records (forgotten/<sha256>): before an owner
 * removes snapshot objects it writes, signed with its own key, the list of
 * what it removes.  A witness that sees a snapshot vanish believes it was
 * forgotten only if such a record names it; anything else is a rollback. */
#include <stdlib.h>
#include <string.h>

#include "repo/repo_internal.h"
#include "util/util.h"

#define RECORD_MAX ((size_t)MAX_LIST * ID_LEN + 4096)

int repo_record_forget(struct repo *r, const uint8_t (*ids)[ID_LEN], size_t n)
{
	struct forget_rec f;
	struct buf b;
	uint8_t sig[SIG_LEN];
	int rc = -1;

	if (repo_need(r, CAN_OWNER, "remove snapshots") != 0)
		return -1;
	if (n == 0)
		return 0;
	if (n > MAX_LIST) {
		errmsg("too many snapshots to forget at once (%zu)", n);
		return -1;
	}
	memset(&f, 0, sizeof f);
	keyring_slot_id(r->kr, f.signer_slot);
	f.time_ns = now_ns();
	f.n = (uint32_t)n;
	f.ids = (uint8_t (*)[ID_LEN])(uintptr_t)ids;
	buf_init(&b, RECORD_MAX);
	forget_encode_body(&f, &b);
	if (!b.overflow && keyring_sign(r->kr, b.p, b.len, sig) == 0) {
		buf_append(&b, sig, SIG_LEN);
		rc = b.overflow ? -1 : put_object(r, "forgotten", b.p, b.len, NULL, NULL, 0);
	}
	if (rc != 0)
		errmsg("cannot write the forget record; no snapshot was removed");
	buf_free(&b);
	return rc;
}

struct walk {
	struct repo *r;
	repo_forgotten_fn fn;
	void *arg;
};

static int one_record(void *arg, const char *name, uint64_t size)
{
	struct walk *w = arg;
	struct forget_rec f;
	const struct cfg_key *k;
	struct buf b;
	size_t body;

	if (size > RECORD_MAX) {
		errmsg("forget record %s is too large; ignored", name);
		return 0;
	}
	buf_init(&b, RECORD_MAX);
	if (repo_read_object(w->r, name, &b) != 0 || forget_decode(b.p, b.len, &f, &body) != 0) {
		errmsg("forget record %s is unreadable or malformed; ignored", name);
		buf_free(&b);
		return 0;
	}
	k = config_find_key(&w->r->cfg, f.signer_slot);
	if (k == NULL || k->role != ROLE_OWNER || !k->has_signer || k->revoked ||
	    sig_verify(k->signer_pk, b.p, body, b.p + body) != 0) {
		errmsg("forget record %s is not signed by an owner key of this "
		    "repository; ignored (the snapshots it names count as lost)", name);
	} else {
		for (uint32_t i = 0; i < f.n; i++)
			w->fn(w->arg, f.ids[i]);
	}
	forget_free(&f);
	buf_free(&b);
	return 0;
}

int repo_forgotten(struct repo *r, repo_forgotten_fn fn, void *arg)
{
	struct walk w = { r, fn, arg };

	return store_list(r->store, "forgotten/", one_record, &w);
}
