/* prune.c: the prune command's report around repo_prune, which does the
 * work (docs/FORMAT.md, "Prune"). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "util/json.h"
#include "util/util.h"

int engine_prune(struct repo *r, const struct prune_opts *o, int json, struct prune_result *res)
{
	char a[32], b[32], c[32];

	if (repo_prune(r, o, res) != 0)
		return -1;
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_key(&j, "dry_run");
		json_bool(&j, o->dry_run);
		json_ku64(&j, "snapshots", res->snapshots);
		json_ku64(&j, "packs", res->packs);
		json_ku64(&j, "blobs", res->blobs);
		json_ku64(&j, "blobs_referenced", res->blobs_referenced);
		json_ku64(&j, "packs_unused", res->packs_unused);
		json_ku64(&j, "packs_repack", res->packs_repack);
		json_ku64(&j, "packs_orphan", res->packs_orphan);
		json_ku64(&j, "bytes_unused", res->bytes_unused);
		json_ku64(&j, "blobs_condemned", res->blobs_condemned);
		json_ku64(&j, "blobs_repacked", res->blobs_repacked);
		json_ku64(&j, "bytes_repacked", res->bytes_repacked);
		json_ku64(&j, "plans_made", res->plans_made);
		json_ku64(&j, "plans_done", res->plans_done);
		json_ku64(&j, "plans_waiting", res->plans_waiting);
		json_ku64(&j, "packs_deleted", res->packs_deleted);
		json_ku64(&j, "packs_kept", res->packs_kept);
		json_ku64(&j, "index_deleted", res->index_deleted);
		json_ku64(&j, "index_written", res->index_written);
		json_ku64(&j, "bytes_deleted", res->bytes_deleted);
		json_ku64(&j, "bytes_written", res->bytes_written);
		json_ku64(&j, "bytes_freed", res->bytes_deleted > res->bytes_written ?
		    res->bytes_deleted - res->bytes_written : 0);
		json_end_obj(&j);
		json_end(&j);
		return 0;
	}
	printf("%" PRIu64 " snapshots reference %" PRIu64 " of %" PRIu64 " blobs in %" PRIu64 " packs\n",
	    res->snapshots, res->blobs_referenced, res->blobs, res->packs);
	printf("%s%" PRIu64 " unused pack(s), %" PRIu64 " to repack, %" PRIu64
	    " without index: %s unused\n", o->dry_run ? "would remove: " : "found: ",
	    res->packs_unused, res->packs_repack, res->packs_orphan,
	    fmt_bytes(res->bytes_unused, a, sizeof a));
	if (o->dry_run) {
		if (res->plans_waiting)
			printf("%" PRIu64 " earlier plan(s) pending\n", res->plans_waiting);
		return 0;
	}
	if (res->blobs_repacked)
		printf("repacked %" PRIu64 " blob(s), %s\n", res->blobs_repacked,
		    fmt_bytes(res->bytes_repacked, a, sizeof a));
	printf("removed %" PRIu64 " pack(s) and %" PRIu64 " index object(s): %s deleted, "
	    "%s written, %s freed\n", res->packs_deleted, res->index_deleted,
	    fmt_bytes(res->bytes_deleted, a, sizeof a), fmt_bytes(res->bytes_written, b, sizeof b),
	    fmt_bytes(res->bytes_deleted > res->bytes_written ? res->bytes_deleted - res->bytes_written : 0,
	    c, sizeof c));
	if (res->packs_kept)
		printf("%" PRIu64 " pack(s) kept: backups that ran beside the prune use them\n",
		    res->packs_kept);
	if (res->plans_waiting)
		printf("%" PRIu64 " plan(s) wait for backups that are still running; the next "
		    "prune after they finish removes the rest\n", res->plans_waiting);
	return 0;
}
