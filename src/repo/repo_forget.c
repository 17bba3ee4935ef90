/* repo_forget.c: what `forget` and `stats` need from the repository:
 * deleting a snapshot object, and a blob's stored and raw size. */
#include <string.h>

#include "repo/repo_internal.h"
#include "util/util.h"

int repo_delete_snapshot(struct repo *r, const uint8_t id[ID_LEN])
{
	char name[128];
	int rc;

	if (repo_need(r, CAN_OWNER, "remove snapshots") != 0)
		return -1;
	object_name("snapshots", id, name, sizeof name);
	rc = store_delete(r->store, name);
	if (rc == 1) {
		errmsg("snapshot object %s is not in %s (already removed?)", name, store_url(r->store));
		return R_MISSING;
	}
	if (rc != 0)
		errmsg("could not remove %s; run forget again to finish", name);
	return rc;
}

int repo_blob_info(struct repo *r, const uint8_t id[ID_LEN], uint8_t *type,
    uint32_t *stored, uint32_t *raw)
{
	const struct ient *e;
	int rc = R_MISSING;

	pthread_mutex_lock(&r->lock);
	e = itable_find(&r->idx, id);
	if (e != NULL && e->pack != PACK_KNOWN && e->pack != PACK_OPEN) {
		*type = e->type;
		*stored = e->length;
		*raw = e->raw;
		rc = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}
