/* diff.c: the changes between two snapshots, walking both trees in name
 * order at once.  A subtree whose ID is the same on both sides holds the
 * same bytes, so it is skipped without being read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/json.h"
#include "util/util.h"

#define DIFF_MAX_DEPTH 4096

struct dstats {
	uint64_t added[8], removed[8];	/* by node type */
	uint64_t changed, type_changed, meta_changed;
	uint64_t added_bytes, removed_bytes;
};

struct dctx {
	struct repo *r;
	const struct diff_opts *o;
	struct buf path;
	unsigned depth;
	int errors;
	struct dstats st;
};

static void emit(struct dctx *c, const char *mark, const struct node *n)
{
	const char *slash = n->type == NODE_DIR ? "/" : "";

	if (c->o->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_kstr(&j, "message_type", "change");
		json_key(&j, "path");
		json_strn(&j, c->path.p, c->path.len);
		json_kstr(&j, "modifier", mark);
		json_end_obj(&j);
		fputc('\n', stdout);
	} else {
		char *p = escape_bytes(c->path.p, c->path.len);

		printf("%-5s%s%s\n", mark, p, slash);
		free(p);
	}
}

static int push(struct dctx *c, const struct node *n)
{
	size_t base = c->path.len;

	if (buf_append(&c->path, "/", 1) != 0 || buf_append(&c->path, n->name, n->name_len) != 0) {
		buf_truncate(&c->path, base);
		errmsg("diff: a path is longer than %zu bytes; skipped", c->path.max);
		c->errors++;
		return -1;
	}
	return 0;
}

static void complain(struct dctx *c, int rc)
{
	char *p = escape_bytes(c->path.p, c->path.len);

	errmsg("diff: cannot read the directory %s: %s", p[0] ? p : "/",
	    rc == R_MISSING ? "its tree is missing" : rc == R_CORRUPT ? "its tree is damaged" :
	    "read error");
	free(p);
	c->errors++;
}

static void diff_trees(struct dctx *c, const uint8_t *a, const uint8_t *b);

/* one_side(c, n, mark): n and everything below it added or removed. */
static void one_side(struct dctx *c, const struct node *n, int added)
{
	uint64_t *count = added ? c->st.added : c->st.removed;

	emit(c, added ? "+" : "-", n);
	count[n->type < 8 ? n->type : 0]++;
	if (n->type == NODE_FILE)
		*(added ? &c->st.added_bytes : &c->st.removed_bytes) += n->size;
	if (n->type == NODE_DIR)
		diff_trees(c, added ? NULL : n->subtree, added ? n->subtree : NULL);
}

static int xattrs_equal(const struct node *a, const struct node *b)
{
	if (a->n_xattrs != b->n_xattrs)
		return 0;
	for (uint32_t i = 0; i < a->n_xattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) != 0 ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len) != 0)
			return 0;
	return 1;
}

static int str_equal(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static int meta_equal(const struct node *a, const struct node *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	    str_equal(a->user, b->user) && str_equal(a->group, b->group) &&
	    a->mtime_ns == b->mtime_ns && xattrs_equal(a, b);
}

static int content_equal(const struct node *a, const struct node *b)
{
	switch (a->type) {
	case NODE_FILE:
		return a->size == b->size && a->n_chunks == b->n_chunks &&
		    (a->n_chunks == 0 || memcmp(a->chunks, b->chunks, (size_t)a->n_chunks * ID_LEN) == 0);
	case NODE_SYMLINK:
		return a->link_len == b->link_len && memcmp(a->link, b->link, a->link_len) == 0;
	case NODE_CHAR:
	case NODE_BLOCK:
		return a->rdev == b->rdev;
	default:
		return 1;
	}
}

/* both_sides(c, a, b): the same name in both snapshots. */
static void both_sides(struct dctx *c, const struct node *a, const struct node *b)
{
	if (a->type != b->type) {
		emit(c, "T", b);
		c->st.type_changed++;
		if (a->type == NODE_DIR)
			diff_trees(c, a->subtree, NULL);
		if (b->type == NODE_DIR)
			diff_trees(c, NULL, b->subtree);
		return;
	}
	if (!content_equal(a, b)) {
		emit(c, "M", b);
		c->st.changed++;
	} else if (!meta_equal(a, b)) {
		emit(c, "U", b);
		c->st.meta_changed++;
	}
	if (a->type == NODE_DIR && memcmp(a->subtree, b->subtree, ID_LEN) != 0)
		diff_trees(c, a->subtree, b->subtree);
}

static int load(struct dctx *c, const uint8_t *id, struct tree *t)
{
	int rc;

	memset(t, 0, sizeof *t);
	if (id == NULL)
		return 0;
	if ((rc = repo_load_tree(c->r, id, t)) != 0) {
		complain(c, rc);
		return -1;
	}
	return 0;
}

/* diff_trees(c, a, b): the trees a and b (either may be NULL: empty),
 * the directory at c->path. */
static void diff_trees(struct dctx *c, const uint8_t *a, const uint8_t *b)
{
	struct tree ta, tb;
	uint32_t i = 0, k = 0;

	if (c->depth >= DIFF_MAX_DEPTH) {
		complain(c, -1);
		return;
	}
	if (load(c, a, &ta) != 0)
		return;
	if (load(c, b, &tb) != 0) {
		tree_free(&ta);
		return;
	}
	c->depth++;
	while (i < ta.n || k < tb.n) {
		int cmp = i == ta.n ? 1 : k == tb.n ? -1 : node_cmp(&ta.nodes[i], &tb.nodes[k]);
		const struct node *n = cmp <= 0 ? &ta.nodes[i] : &tb.nodes[k];
		size_t base = c->path.len;

		if (push(c, n) == 0) {
			if (cmp < 0)
				one_side(c, &ta.nodes[i], 0);
			else if (cmp > 0)
				one_side(c, &tb.nodes[k], 1);
			else
				both_sides(c, &ta.nodes[i], &tb.nodes[k]);
			c->path.len = base;
		}
		i += cmp <= 0;
		k += cmp >= 0;
	}
	c->depth--;
	tree_free(&ta);
	tree_free(&tb);
}

static uint64_t sum(const uint64_t v[8], int dirs)
{
	uint64_t s = 0;

	for (int t = 0; t < 8; t++)
		if ((t == NODE_DIR) == dirs)
			s += v[t];
	return s;
}

static void summary(const struct dctx *c)
{
	const struct dstats *s = &c->st;
	char a[32], b[32];

	if (c->o->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_kstr(&j, "message_type", "statistics");
		json_ku64(&j, "files_added", sum(s->added, 0));
		json_ku64(&j, "files_removed", sum(s->removed, 0));
		json_ku64(&j, "dirs_added", s->added[NODE_DIR]);
		json_ku64(&j, "dirs_removed", s->removed[NODE_DIR]);
		json_ku64(&j, "changed", s->changed);
		json_ku64(&j, "type_changed", s->type_changed);
		json_ku64(&j, "metadata_changed", s->meta_changed);
		json_ku64(&j, "added_bytes", s->added_bytes);
		json_ku64(&j, "removed_bytes", s->removed_bytes);
		json_end_obj(&j);
		json_end(&j);
		return;
	}
	printf("\nFiles:       %llu new, %llu removed, %llu changed, %llu type changed, "
	    "%llu metadata only\n", (unsigned long long)sum(s->added, 0),
	    (unsigned long long)sum(s->removed, 0), (unsigned long long)s->changed,
	    (unsigned long long)s->type_changed, (unsigned long long)s->meta_changed);
	printf("Dirs:        %llu new, %llu removed\n", (unsigned long long)s->added[NODE_DIR],
	    (unsigned long long)s->removed[NODE_DIR]);
	printf("Added:       %s\nRemoved:     %s\n", fmt_bytes(s->added_bytes, a, sizeof a),
	    fmt_bytes(s->removed_bytes, b, sizeof b));
}

int engine_diff(struct repo *r, const struct snap_item *a, const struct snap_item *b,
    const struct diff_opts *o)
{
	struct dctx c;

	memset(&c, 0, sizeof c);
	c.r = r;
	c.o = o;
	buf_init(&c.path, (size_t)(DIFF_MAX_DEPTH + 2) * (MAX_NAME + 1));
	if (memcmp(a->s.tree, b->s.tree, ID_LEN) != 0)
		diff_trees(&c, a->s.tree, b->s.tree);
	summary(&c);
	buf_free(&c.path);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errmsg_errno("diff: cannot write the output");
		return -1;
	}
	return c.errors ? -1 : 0;
}
