/* rekey.c: the rekey command's report around repo_rekey, and the
 * witness told which snapshot IDs were replaced (docs/FORMAT.md,
 * "Epochs, grants and rekey"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/json.h"
#include "util/util.h"

int engine_rekey(struct repo *r, const char *cache_dir, const struct rekey_opts *o, int json,
    struct rekey_result *res)
{
	char a[32];
	int rc = repo_rekey(r, o, res);

	/* the old IDs are gone on purpose: their return would be a rollback */
	if (res->n_pairs > 0) {
		char **gone = xcalloc(res->n_pairs, sizeof *gone);

		for (size_t i = 0; i < res->n_pairs; i++) {
			gone[i] = xmalloc(2 * ID_LEN + 1);
			hex_encode(res->pairs[i].old_id, ID_LEN, gone[i]);
		}
		if (engine_witness_forgotten(r, cache_dir, (const char *const *)gone, res->n_pairs) != 0)
			errmsg("rekey: could not record the replaced snapshot IDs in the witness file");
		for (size_t i = 0; i < res->n_pairs; i++)
			free(gone[i]);
		free(gone);
	}
	if (rc != 0)
		return -1;
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_ku64(&j, "epoch", res->epoch);
		json_ku64(&j, "snapshots_resealed", res->snapshots_resealed);
		json_key(&j, "snapshots");
		json_begin_arr(&j);
		for (size_t i = 0; i < res->n_pairs; i++) {
			char o_hex[2 * ID_LEN + 1], n_hex[2 * ID_LEN + 1];

			hex_encode(res->pairs[i].old_id, ID_LEN, o_hex);
			hex_encode(res->pairs[i].new_id, ID_LEN, n_hex);
			json_begin_obj(&j);
			json_kstr(&j, "old", o_hex);
			json_kstr(&j, "new", n_hex);
			json_end_obj(&j);
		}
		json_end_arr(&j);
		json_ku64(&j, "packs_rekeyed", res->prune.packs_rekey);
		json_ku64(&j, "index_rekeyed", res->prune.index_rekey);
		json_ku64(&j, "bytes_repacked", res->prune.bytes_repacked);
		json_ku64(&j, "packs_deleted", res->prune.packs_deleted);
		json_ku64(&j, "objects_left", res->left_objects);
		if (res->left_reason[0])
			json_kstr(&j, "waiting_for", res->left_reason);
		json_key(&j, "retired");
		json_begin_arr(&j);
		for (uint32_t i = 0; i < res->n_retired; i++)
			json_u64(&j, res->retired[i]);
		json_end_arr(&j);
		json_ku64(&j, "grants_deleted", res->grants_deleted);
		json_key(&j, "complete");
		json_bool(&j, res->complete);
		json_end_obj(&j);
		json_end(&j);
		return 0;
	}
	for (size_t i = 0; i < res->n_pairs; i++) {
		char o_hex[2 * ID_LEN + 1], n_hex[2 * ID_LEN + 1];

		hex_encode(res->pairs[i].old_id, ID_LEN, o_hex);
		hex_encode(res->pairs[i].new_id, ID_LEN, n_hex);
		printf("snapshot %.16s is now %.16s\n", o_hex, n_hex);
	}
	printf("epoch %u: %" PRIu64 " snapshot(s) resealed, %" PRIu64 " pack(s) and %" PRIu64
	    " index object(s) rewritten (%s)\n", res->epoch, res->snapshots_resealed,
	    res->prune.packs_rekey, res->prune.index_rekey,
	    fmt_bytes(res->prune.bytes_repacked, a, sizeof a));
	if (res->n_retired) {
		printf("retired epoch(s)");
		for (uint32_t i = 0; i < res->n_retired; i++)
			printf(" %u", res->retired[i]);
		printf(": their keys are deleted from every copy\n");
	} else if (!res->complete) {
		if (res->left_objects)
			printf("%" PRIu64 " object(s) in the copies are still sealed to an older epoch; "
			    "run 'twofold rekey' again\n", res->left_objects);
		if (res->left_reason[0])
			printf("older epochs stay active: %s; run 'twofold rekey' again\n", res->left_reason);
	} else {
		printf("nothing is sealed to an older epoch\n");
	}
	if (res->grants_deleted)
		printf("deleted %" PRIu64 " grant(s) of retired epochs\n", res->grants_deleted);
	return 0;
}
