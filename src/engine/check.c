/* check.c: verify every structure and reference of a repository.
 *
 * Order: key slots, index objects, packs (footer and trailer against the
 * index; with --read-data every blob decrypted and its ID verified, and
 * the pack's name against its SHA-256), snapshots (signature), then every
 * tree reachable from a good snapshot and every chunk a file names.
 * Each problem is printed naming its object; the exit code says whether
 * any was found. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/idset.h"
#include "util/json.h"
#include "util/util.h"
#include "util/workq.h"

_Static_assert(ID_LEN == IDSET_ID_LEN, "idset holds blob and pack IDs");

struct cctx {
	struct repo *r;
	const struct check_opts *o;
	uint64_t errors, warnings;
	struct idset trees;
	struct idset packs_in_store;
	uint64_t n_trees, n_files, n_snapshots, n_packs, n_blobs_read;
};

static void problem(struct cctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct cctx *c, const char *fmt, ...)
{
	va_list ap;

	c->errors++;
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void grant_problem(void *arg, int severity, const char *msg)
{
	struct cctx *c = arg;

	if (severity > 1) {
		problem(c, "%s", msg);
		return;
	}
	c->warnings++;
	info(1, "warning: %s", msg);
}

static int check_keys(struct cctx *c)
{
	struct key_item *v;
	size_t n;

	if (repo_check_grants(c->r, grant_problem, c) != 0 || repo_key_list(c->r, &v, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (v[i].damaged)
			problem(c, "key slot %s is damaged", v[i].object);
		else if (v[i].cfg == NULL)
			info(1, "note: key slot %s is not named in the config", v[i].object);
	free(v);
	return 0;
}

static int list_pack(void *arg, const char *name, uint64_t size)
{
	struct cctx *c = arg;
	uint8_t id[ID_LEN];
	const char *slash = strrchr(name, '/');

	(void)size;
	if (slash == NULL || hex_decode(slash + 1, id, ID_LEN) != 0) {
		c->warnings++;
		info(1, "warning: unexpected object %s in data/", name);
		return 0;
	}
	idset_add(&c->packs_in_store, id);
	return 0;
}

struct idx_ctx {
	struct cctx *c;
	int failed;
};

static int check_index_obj(void *arg, const char *name, uint64_t size)
{
	struct idx_ctx *x = arg;
	struct index_body b;
	int rc;

	(void)size;
	rc = repo_decode_index(x->c->r, name, &b);
	if (rc < 0) {
		x->failed = 1;
		return 1;
	}
	if (rc > 0) {
		problem(x->c, "index %s is %s", name, rc == R_MISSING ? "missing" : "damaged");
		return 0;
	}
	index_body_free(&b);
	return 0;
}

/* Reading all data is spread over one thread per core: each takes the
 * next pack, reads it whole and verifies every blob. */
struct verify {
	struct repo *r;
	const uint8_t (*ids)[ID_LEN];
	int *rc;
	uint32_t *bad;
};

static void verify_one(void *ctx, void *item, void *scratch)
{
	struct verify *v = ctx;
	uint32_t i = (uint32_t)(uintptr_t)item;

	(void)scratch;
	v->rc[i] = repo_pack_verify(v->r, v->ids[i], &v->bad[i]);
}

static const struct workq_fns verify_fns = { verify_one, NULL, NULL };

static void verify_all(struct repo *r, const uint8_t (*ids)[ID_LEN], uint32_t n, int *rc, uint32_t *bad)
{
	struct verify v = { r, ids, rc, bad };
	int nth = workq_threads();
	struct workq *q = workq_start(&verify_fns, &v, nth, (size_t)nth * 2);

	for (uint32_t i = 0; i < n; i++) {
		if (q)
			workq_submit(q, (void *)(uintptr_t)i, 1);
		else
			verify_one(&v, (void *)(uintptr_t)i, NULL);
	}
	workq_stop(q);
}

static int check_packs(struct cctx *c)
{
	const uint8_t (*ids)[ID_LEN];
	uint32_t n;
	int *vrc = NULL, rc = 0;
	uint32_t *vbad = NULL;

	repo_index_packs(c->r, &ids, &n);
	if (c->o->read_data && n > 0) {
		vrc = xcalloc(n, sizeof *vrc);
		vbad = xcalloc(n, sizeof *vbad);
		verify_all(c->r, ids, n, vrc, vbad);
	}
	for (uint32_t i = 0; i < n; i++) {
		char name[80];
		struct pack_entry *e = NULL;
		uint32_t ne = 0;
		int got;

		repo_pack_name(ids[i], name);
		c->n_packs++;
		if (!idset_has(&c->packs_in_store, ids[i])) {
			problem(c, "pack %s is named by the index but missing from %s", name, repo_url(c->r));
			continue;
		}
		if (vrc) {
			if (vrc[i] < 0) {
				rc = -1;
				break;
			}
			if (vrc[i] > 0)
				problem(c, "pack %s is %s", name, vrc[i] == R_MISSING ? "missing" : "damaged");
			else if (vbad[i])
				problem(c, "pack %s has %u damaged blob(s)", name, vbad[i]);
			continue;	/* read whole: its trailer was checked too */
		}
		got = repo_pack_entries(c->r, ids[i], &e, &ne);
		if (got < 0) {
			rc = -1;
			break;
		}
		if (got > 0) {
			problem(c, "pack %s is %s", name, got == R_MISSING ? "missing" : "damaged");
			continue;
		}
		for (uint32_t k = 0; k < ne; k++) {
			uint32_t raw;

			if (repo_blob_size(c->r, e[k].id, &raw) != 0)
				info(2, "note: blob in pack %s is not in the index (unused)", name);
		}
		free(e);
	}
	free(vrc);
	free(vbad);
	return rc;
}

/* check_tree(c, id, path): a tree and everything below it. */
static void check_tree(struct cctx *c, const uint8_t id[ID_LEN], const char *path)
{
	struct tree t;
	char hex[2 * ID_LEN + 1];
	int rc;

	if (!idset_add(&c->trees, id))
		return;
	c->n_trees++;
	hex_encode(id, ID_LEN, hex);
	rc = repo_load_tree(c->r, id, &t);
	if (rc != 0) {
		problem(c, "tree %s (%s) is %s", hex, path, rc == R_MISSING ? "missing" : "damaged");
		return;
	}
	for (uint32_t i = 0; i < t.n; i++) {
		const struct node *n = &t.nodes[i];
		char *p = xasprintf("%s%s%.*s", path, strcmp(path, "/") ? "/" : "", (int)n->name_len, (const char *)n->name);
		uint64_t sum = 0;

		if (n->type == NODE_FILE) {
			c->n_files++;
			for (uint32_t k = 0; k < n->n_chunks; k++) {
				uint32_t raw;

				if (repo_blob_size(c->r, n->chunks[k], &raw) != 0) {
					hex_encode(n->chunks[k], ID_LEN, hex);
					problem(c, "file %s: chunk %s is missing from the index", p, hex);
					sum = n->size;
					break;
				}
				sum += raw;
			}
			if (sum != n->size)
				problem(c, "file %s: its chunks hold %llu bytes, the tree says %llu", p,
				    (unsigned long long)sum, (unsigned long long)n->size);
		} else if (n->type == NODE_DIR) {
			check_tree(c, n->subtree, p);
		}
		free(p);
	}
	tree_free(&t);
}

int engine_check(struct repo *r, const struct check_opts *o)
{
	struct cctx c;
	struct idx_ctx x;
	struct snap_list l;
	int skipped, rc = -1;

	memset(&c, 0, sizeof c);
	c.r = r;
	c.o = o;
	if (repo_need(r, CAN_OWNER | CAN_READ, "check the repository") != 0)
		return -1;
	info(1, "checking key slots and config");
	if (check_keys(&c) != 0)
		return -1;
	info(1, "checking index objects");
	x.c = &c;
	x.failed = 0;
	if (repo_list(r, "index/", check_index_obj, &x) < 0 || x.failed)
		goto out;
	skipped = repo_load_index(r);
	if (skipped < 0)
		goto out;
	info(1, "checking packs%s", o->read_data ? " and reading all data" : "");
	if (repo_list(r, "data/", list_pack, &c) < 0)
		goto out;
	if (check_packs(&c) != 0)
		goto out;
	info(1, "checking snapshots and trees");
	if (repo_list_snapshots(r, &l) != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		char hex[2 * ID_LEN + 1];

		hex_encode(l.v[i].id, ID_LEN, hex);
		if (l.v[i].status == SNAP_BAD) {
			problem(&c, "snapshot snapshots/%s is rejected: %s", hex, l.v[i].why);
			continue;
		}
		c.n_snapshots++;
		check_tree(&c, l.v[i].s.tree, "/");
	}
	snap_list_free(&l);
	if (o->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_ku64(&j, "errors", c.errors);
		json_ku64(&j, "warnings", c.warnings);
		json_ku64(&j, "snapshots", c.n_snapshots);
		json_ku64(&j, "trees", c.n_trees);
		json_ku64(&j, "files", c.n_files);
		json_ku64(&j, "packs", c.n_packs);
		json_key(&j, "read_data");
		json_bool(&j, o->read_data);
		json_end_obj(&j);
		json_end(&j);
	}
	if (c.errors) {
		errmsg("check found %llu problem(s); the objects are named above "
		    "(restore what you can; see README 'When check fails')", (unsigned long long)c.errors);
		rc = EXIT_INTEGRITY;
	} else {
		info(1, "no errors: %llu snapshots, %llu trees, %llu files, %llu packs%s",
		    (unsigned long long)c.n_snapshots, (unsigned long long)c.n_trees,
		    (unsigned long long)c.n_files, (unsigned long long)c.n_packs,
		    o->read_data ? ", all data read and verified" : "");
		rc = 0;
	}
out:
	idset_free(&c.trees);
	idset_free(&c.packs_in_store);
	return rc;
}
