/* stats.c: sizes of snapshots and of the repository.  The restore size
 * and file count come from the snapshots' own totals; the blobs they
 * reference are found by walking their trees once each (a tree ID seen
 * before is not read again) and sized from the loaded index; the
 * store's size from listing its objects.  The store section is one
 * object so a per-copy list can sit beside it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/idset.h"
#include "util/json.h"
#include "util/util.h"

#define STATS_MAX_DEPTH 4096

static const char *const prefixes[] = {
	"data/", "index/", "snapshots/", "keys/", "grants/", "config/", "forgotten/", "locks/",
};
#define N_PREFIXES (sizeof prefixes / sizeof prefixes[0])

struct blob_sum {
	uint64_t count, raw, stored;
};

struct sctx {
	struct repo *r;
	struct idset trees, data;
	uint64_t files, dirs, logical;
	struct blob_sum blobs[2];	/* data, tree */
	uint64_t missing;
	int errors;
	size_t n_copies;
	struct copy_size {
		const char *url;
		int failed;
		struct { uint64_t objects, bytes; } p[N_PREFIXES];
	} *copies;			/* per copy, as each lists its objects */
};

static void walk(struct sctx *c, const uint8_t *id, unsigned depth)
{
	struct tree t;
	int rc = -1;

	if (!idset_add(&c->trees, id))
		return;
	if (depth >= STATS_MAX_DEPTH || (rc = repo_load_tree(c->r, id, &t)) != 0) {
		char hex[2 * ID_LEN + 1];

		hex_encode(id, ID_LEN, hex);
		errmsg("stats: cannot read tree %s (%s); its blobs are not counted; run 'twofold check'",
		    hex, depth >= STATS_MAX_DEPTH ? "nested too deep" : "missing or damaged");
		c->errors++;
		return;
	}
	for (uint32_t i = 0; i < t.n; i++) {
		const struct node *n = &t.nodes[i];

		if (n->type == NODE_DIR)
			walk(c, n->subtree, depth + 1);
		else if (n->type == NODE_FILE)
			for (uint32_t k = 0; k < n->n_chunks; k++)
				idset_add(&c->data, n->chunks[k]);
	}
	tree_free(&t);
}

/* size_blobs(c, set, which): raw and stored bytes of every member. */
static void size_blobs(struct sctx *c, const struct idset *set, int which)
{
	size_t pos = 0;
	const uint8_t *id;

	while ((id = idset_next(set, &pos)) != NULL) {
		uint8_t type;
		uint32_t stored, raw;

		if (repo_blob_info(c->r, id, &type, &stored, &raw) != 0) {
			c->missing++;
			continue;
		}
		c->blobs[which].count++;
		c->blobs[which].raw += raw;
		c->blobs[which].stored += stored;
	}
}

static int count_object(void *arg, const char *name, uint64_t size)
{
	struct copy_size *cs = arg;

	for (size_t i = 0; i < N_PREFIXES; i++) {
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) {
			cs->p[i].objects++;
			cs->p[i].bytes += size;
		}
	}
	return 0;
}

/* json_copy(j, cs): one copy's objects and bytes by prefix. */
static void json_copy(struct json *j, const struct copy_size *cs)
{
	uint64_t objects = 0, bytes = 0;

	json_begin_obj(j);
	json_kstr(j, "url", cs->url);
	for (size_t i = 0; i < N_PREFIXES; i++) {
		char k[16];

		snprintf(k, sizeof k, "%.*s", (int)strlen(prefixes[i]) - 1, prefixes[i]);
		json_key(j, k);
		json_begin_obj(j);
		json_ku64(j, "objects", cs->p[i].objects);
		json_ku64(j, "bytes", cs->p[i].bytes);
		json_end_obj(j);
		objects += cs->p[i].objects;
		bytes += cs->p[i].bytes;
	}
	json_ku64(j, "total_objects", objects);
	json_ku64(j, "total_bytes", bytes);
	json_key(j, "reachable");
	json_bool(j, !cs->failed);
	json_end_obj(j);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void print_json(const struct sctx *c, size_t n_snaps)
{
	static const char *const names[2] = { "data", "tree" };
	struct json j;

	json_init(&j, stdout);
	json_begin_obj(&j);
	json_ku64(&j, "snapshots", n_snaps);
	json_ku64(&j, "files", c->files);
	json_ku64(&j, "dirs", c->dirs);
	json_ku64(&j, "restore_bytes", c->logical);
	json_key(&j, "blobs");
	json_begin_obj(&j);
	for (int w = 0; w < 2; w++) {
		json_key(&j, names[w]);
		json_begin_obj(&j);
		json_ku64(&j, "count", c->blobs[w].count);
		json_ku64(&j, "raw_bytes", c->blobs[w].raw);
		json_ku64(&j, "stored_bytes", c->blobs[w].stored);
		json_end_obj(&j);
	}
	json_ku64(&j, "missing", c->missing);
	json_end_obj(&j);
	json_key(&j, "dedup_ratio");
	json_double(&j, ratio(c->logical, c->blobs[0].raw), 4);
	json_key(&j, "compression_ratio");
	json_double(&j, ratio(c->blobs[0].raw + c->blobs[1].raw,
	    c->blobs[0].stored + c->blobs[1].stored), 4);
	/* "store": the first (preferred) copy; "copies": every copy */
	json_key(&j, "store");
	json_copy(&j, &c->copies[0]);
	json_key(&j, "copies");
	json_begin_arr(&j);
	for (size_t i = 0; i < c->n_copies; i++)
		json_copy(&j, &c->copies[i]);
	json_end_arr(&j);
	json_end_obj(&j);
	json_end(&j);
}

static void print_text(const struct sctx *c, size_t n_snaps)
{
	char a[32], b[32];
	uint64_t objects = 0, bytes = 0;

	printf("snapshots:            %zu\n", n_snaps);
	printf("files:                %llu (and %llu directories)\n", (unsigned long long)c->files,
	    (unsigned long long)c->dirs);
	printf("restore size:         %s (%llu bytes)\n", fmt_bytes(c->logical, a, sizeof a),
	    (unsigned long long)c->logical);
	printf("unique data blobs:    %llu, %s raw, %s stored\n", (unsigned long long)c->blobs[0].count,
	    fmt_bytes(c->blobs[0].raw, a, sizeof a), fmt_bytes(c->blobs[0].stored, b, sizeof b));
	printf("unique tree blobs:    %llu, %s raw, %s stored\n", (unsigned long long)c->blobs[1].count,
	    fmt_bytes(c->blobs[1].raw, a, sizeof a), fmt_bytes(c->blobs[1].stored, b, sizeof b));
	if (c->missing)
		printf("blobs not in index:   %llu (run 'twofold check')\n", (unsigned long long)c->missing);
	printf("dedup ratio:          %.2fx (restore size / unique data)\n",
	    ratio(c->logical, c->blobs[0].raw));
	printf("compression ratio:    %.2fx (raw / stored, data and trees)\n",
	    ratio(c->blobs[0].raw + c->blobs[1].raw, c->blobs[0].stored + c->blobs[1].stored));
	for (size_t k = 0; k < c->n_copies; k++) {
		const struct copy_size *cs = &c->copies[k];

		objects = bytes = 0;
		printf("%s %s:%s\n", c->n_copies > 1 ? "copy" : "store", cs->url,
		    cs->failed ? " UNREACHABLE" : "");
		for (size_t i = 0; i < N_PREFIXES; i++) {
			printf("  %-12s %8llu objects  %s\n", prefixes[i], (unsigned long long)cs->p[i].objects,
			    fmt_bytes(cs->p[i].bytes, a, sizeof a));
			objects += cs->p[i].objects;
			bytes += cs->p[i].bytes;
		}
		printf("  %-12s %8llu objects  %s (%llu bytes)\n", "total", (unsigned long long)objects,
		    fmt_bytes(bytes, a, sizeof a), (unsigned long long)bytes);
	}
}

int engine_stats(struct repo *r, const struct snap_item *const *snaps, size_t n,
    const struct stats_opts *o)
{
	struct sctx c;
	int rc = 0;

	memset(&c, 0, sizeof c);
	c.r = r;
	for (size_t i = 0; i < n; i++) {
		c.files += snaps[i]->s.files;
		c.dirs += snaps[i]->s.dirs;
		c.logical += snaps[i]->s.bytes;
		walk(&c, snaps[i]->s.tree, 0);
	}
	size_blobs(&c, &c.data, 0);
	size_blobs(&c, &c.trees, 1);
	c.n_copies = repo_copies(r);
	c.copies = xcalloc(c.n_copies, sizeof *c.copies);
	for (size_t k = 0; k < c.n_copies; k++) {
		c.copies[k].url = repo_copy_url(r, k);
		for (size_t i = 0; i < N_PREFIXES && !c.copies[k].failed; i++)
			if (repo_copy_list(r, k, prefixes[i], count_object, &c.copies[k]) < 0)
				c.copies[k].failed = 1;
	}
	for (size_t k = 0; k < c.n_copies; k++) {
		if (c.copies[k].failed) {
			errmsg("stats: copy %s cannot be listed", c.copies[k].url);
			c.errors++;
		}
	}
	if (o->json)
		print_json(&c, n);
	else
		print_text(&c, n);
	free(c.copies);
	idset_free(&c.trees);
	idset_free(&c.data);
	if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
		errmsg_errno("stats: cannot write the output");
		rc = -1;
	}
	return rc == 0 && c.errors == 0 ? 0 : -1;
}
