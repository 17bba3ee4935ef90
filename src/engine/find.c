/* find.c: entries matching fnmatch patterns, by name or by full path,
 * across snapshots.  Each snapshot's tree is walked from the root. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/json.h"
#include "util/util.h"

#define FIND_MAX_DEPTH 4096

struct fdctx {
	struct repo *r;
	const struct find_opts *o;
	const struct snap_item *snap;
	struct buf path;	/* NUL-terminated after each push */
	unsigned depth;
	int errors;
	uint64_t found;
};

static int matches(const struct fdctx *c, const char *name)
{
	const char *s = c->o->full_path ? (const char *)c->path.p : name;

	for (size_t i = 0; i < c->o->n_patterns; i++)
		if (fnmatch(c->o->patterns[i], s, 0) == 0)
			return 1;
	return 0;
}

static void report(struct fdctx *c, const struct node *n)
{
	char hex[2 * ID_LEN + 1], t[32];
	size_t len = c->path.len - 1;	/* without the NUL */

	hex_encode(c->snap->id, ID_LEN, hex);
	c->found++;
	if (c->o->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_kstr(&j, "snapshot", hex);
		json_key(&j, "path");
		json_strn(&j, c->path.p, len);
		json_ku64(&j, "size", n->type == NODE_FILE ? n->size : 0);
		json_key(&j, "mtime");
		json_time(&j, n->mtime_ns);
		json_key(&j, "dir");
		json_bool(&j, n->type == NODE_DIR);
		json_end_obj(&j);
		fputc('\n', stdout);
	} else {
		char *p = escape_bytes(c->path.p, len);

		printf("%.8s  %s  %12llu  %s%s\n", hex, fmt_time(n->mtime_ns, t, sizeof t),
		    (unsigned long long)(n->type == NODE_FILE ? n->size : 0), p,
		    n->type == NODE_DIR ? "/" : "");
		free(p);
	}
}

static void walk(struct fdctx *c, const uint8_t *tree_id)
{
	struct tree t;
	int rc = -1;

	if (c->depth >= FIND_MAX_DEPTH || (rc = repo_load_tree(c->r, tree_id, &t)) != 0) {
		char hex[2 * ID_LEN + 1];
		char *p = escape_bytes(c->path.p, c->path.len ? c->path.len - 1 : 0);

		hex_encode(c->snap->id, ID_LEN, hex);
		errmsg("find: cannot search %s in snapshot %.8s: %s", p[0] ? p : "/", hex,
		    c->depth >= FIND_MAX_DEPTH ? "too deep" : rc == R_MISSING ?
		    "its tree is missing" : "its tree is damaged or unreadable");
		free(p);
		c->errors++;
		return;
	}
	c->depth++;
	for (uint32_t i = 0; i < t.n; i++) {
		const struct node *n = &t.nodes[i];
		size_t base = c->path.len ? c->path.len - 1 : 0;
		char name[MAX_NAME + 1];

		c->path.len = base;
		if (buf_append(&c->path, "/", 1) != 0 || buf_append(&c->path, n->name, n->name_len) != 0 ||
		    buf_append(&c->path, "", 1) != 0) {
			buf_truncate(&c->path, base);
			buf_append(&c->path, "", 1);
			c->errors++;
			errmsg("find: a path in snapshot is too long; skipped");
			continue;
		}
		memcpy(name, n->name, n->name_len);
		name[n->name_len] = '\0';
		if (matches(c, name))
			report(c, n);
		if (n->type == NODE_DIR)
			walk(c, n->subtree);
		c->path.len = base;
		buf_append(&c->path, "", 1);
	}
	c->depth--;
	tree_free(&t);
}

int engine_find(struct repo *r, const struct snap_item *const *snaps, size_t n,
    const struct find_opts *o)
{
	struct fdctx c;

	memset(&c, 0, sizeof c);
	c.r = r;
	c.o = o;
	buf_init(&c.path, (size_t)(FIND_MAX_DEPTH + 2) * (MAX_NAME + 1));
	for (size_t i = 0; i < n; i++) {
		c.snap = snaps[i];
		c.path.len = 0;
		buf_append(&c.path, "", 1);
		walk(&c, snaps[i]->s.tree);
	}
	buf_free(&c.path);
	if (!o->json)
		info(1, "%llu match%s in %zu snapshot%s", (unsigned long long)c.found,
		    c.found == 1 ? "" : "es", n, n == 1 ? "" : "s");
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errmsg_errno("find: cannot write the output");
		return -1;
	}
	return c.errors ? -1 : 0;
}
