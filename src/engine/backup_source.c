/* backup_source.c: cloud sources (azure://ACCOUNT/CONTAINER[/PREFIX],
 * s3://BUCKET[/PREFIX]) into the snapshot's tree, under /azure/ACCOUNT/
 * CONTAINER/... and /s3/BUCKET/... (docs/FORMAT.md, "Cloud sources").
 *
 * Per source: list every object (with properties and metadata), map each
 * name to a tree path (source_name.c), sort the paths into tree order,
 * then look every object up in the newest earlier snapshot of the same
 * source: one whose size, Last-Modified and ETag are unchanged (and whose
 * chunks the repository still has) keeps its chunk list and is not
 * downloaded.  The rest is downloaded in that order by a pool of
 * connections (ranged GETs with If-Match) and streamed into the chunker.
 * An object whose ETag changed between the listing and the download
 * (HTTP 412) is looked up again, stored as it is now, flagged and listed
 * in the snapshot as changed while read; one deleted meanwhile is listed
 * and left out.
 *
 * An Azure table (azure-table://ACCOUNT/TABLE) is the file
 * /azure-table/ACCOUNT/TABLE of JSON lines: built from the earlier
 * snapshot's file and the entities changed since (src_table_delta), or
 * read whole when there is none or too much changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backup_internal.h"
#include "source/source.h"
#include "util/util.h"
#include "util/workq.h"

#define FETCH_WINDOW ((size_t)64 << 20)

/* src_connections(): parallel downloads: --connections if given, else
 * 16 (waiting on the network, not on a core: many small objects need
 * many requests in flight). */
static int src_connections(void)
{
	return workq_override > 0 ? workq_override : 16;
}

struct bobj {
	struct src_obj o;
	char **comps;
	size_t nc;
	const struct node *prev;	/* the earlier snapshot's node, or NULL */
	size_t fetch;			/* index among the downloads, or SIZE_MAX */
};

/* One level of the earlier snapshot's tree on the way to the objects. */
struct plevel {
	char *name;
	struct tree t;
	int have;
};

struct sctx {
	struct bctx *c;
	struct source *src;
	struct repo *r;
	struct bobj *v;
	size_t n;
	struct src_fetch *f;
	char *where;			/* "/azure/ACCOUNT/CONTAINER" */
	struct tree *prev_trees;	/* kept while prev nodes point into them */
	size_t n_prev;
	uint64_t downloaded, reused, changed;
};

static int comps_cmp(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t n = na < nb ? na : nb;

	for (size_t i = 0; i < n; i++) {
		size_t la = strlen(a[i]), lb = strlen(b[i]);
		int c = memcmp(a[i], b[i], la < lb ? la : lb);

		if (c != 0)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
	}
	return na == nb ? 0 : na < nb ? -1 : 1;
}

static int bobj_cmp(const void *x, const void *y)
{
	const struct bobj *a = x, *b = y;

	return comps_cmp(a->comps, a->nc, b->comps, b->nc);
}

/* path_of(sc, b): "/azure/ACCOUNT/CONTAINER/enc/oded" for messages. */
static char *path_of(const struct sctx *sc, const struct bobj *b)
{
	struct buf p;
	char *s;

	buf_init(&p, SIZE_MAX);
	buf_append(&p, sc->where, strlen(sc->where));
	for (size_t i = 0; i < b->nc; i++) {
		buf_append(&p, "/", 1);
		buf_append(&p, b->comps[i], strlen(b->comps[i]));
	}
	buf_append(&p, "", 1);
	{ size_t l; s = (char *)buf_steal(&p, &l); }
	return s;
}

/* ---- the earlier snapshot ---- */

/* prev_root(r, src, id, file): the tree ID of this source's container or
 * bucket in the newest good snapshot that names the same source URL; or,
 * with file (a table), a copy of its file node's size and chunks there
 * (free file->chunks).  1 found. */
static int prev_root(struct repo *r, struct source *src, uint8_t id[ID_LEN], struct node *file)
{
	struct snap_list l;
	const char *comps[3];
	int nroot = source_root(src, comps), found = 0;

	if (repo_role(r) == ROLE_WRITE)
		return 0;	/* a write-only key cannot read snapshots */
	memset(&l, 0, sizeof l);
	if (repo_list_snapshots(r, &l) != 0)
		return 0;
	for (size_t i = l.n; i-- > 0 && !found;) {
		const struct snap_item *it = &l.v[i];
		uint8_t cur[ID_LEN];
		int ok = 1;

		if (it->status == SNAP_BAD)
			continue;
		for (uint32_t k = 0; k < it->s.n_paths && ok; k++)
			if (strcmp(it->s.paths[k], source_url(src)) == 0)
				ok = 2;
		if (ok != 2)
			continue;
		memcpy(cur, it->s.tree, ID_LEN);
		for (int d = 0; d < nroot && ok; d++) {
			struct tree t;
			struct node key;
			const struct node *nd;

			if (repo_load_tree(r, cur, &t) != 0) {
				ok = 0;
				break;
			}
			memset(&key, 0, sizeof key);
			key.name = (uint8_t *)(uintptr_t)comps[d];
			key.name_len = (uint32_t)strlen(comps[d]);
			nd = t.n ? bsearch(&key, t.nodes, t.n, sizeof *t.nodes, node_cmp) : NULL;
			if (file && d == nroot - 1) {
				/* a table: the file itself */
				if (nd == NULL || nd->type != NODE_FILE) {
					ok = 0;
				} else {
					file->size = nd->size;
					file->n_chunks = nd->n_chunks;
					file->chunks = xcalloc(nd->n_chunks + 1, ID_LEN);
					if (nd->n_chunks)
						memcpy(file->chunks, nd->chunks, (size_t)nd->n_chunks * ID_LEN);
				}
			} else if (nd == NULL || nd->type != NODE_DIR) {
				ok = 0;
			} else {
				memcpy(cur, nd->subtree, ID_LEN);
			}
			tree_free(&t);
		}
		if (ok) {
			memcpy(id, cur, ID_LEN);
			found = 1;
			info(2, "%s: comparing with snapshot %02x%02x%02x%02x", source_url(src),
			    it->id[0], it->id[1], it->id[2], it->id[3]);
		}
	}
	snap_list_free(&l);
	return found;
}

static void keep_tree(struct sctx *sc, struct tree *t)
{
	sc->prev_trees = xreallocarray(sc->prev_trees, sc->n_prev + 1, sizeof *sc->prev_trees);
	sc->prev_trees[sc->n_prev++] = *t;
	memset(t, 0, sizeof *t);
}

/* plan(sc, root): find each object's node in the earlier tree.  The
 * objects are in tree order, so the directories on the way are a stack
 * (of indexes into prev_trees, which grows); every tree loaded is kept
 * until the end, since prev points into it. */
static void plan(struct sctx *sc, const uint8_t root[ID_LEN])
{
	size_t stack[256];
	const char *names[256];
	size_t depth = 0;
	struct tree t;

	if (repo_load_tree(sc->r, root, &t) != 0)
		return;
	keep_tree(sc, &t);
	stack[0] = sc->n_prev - 1;
	names[0] = NULL;
	for (size_t i = 0; i < sc->n; i++) {
		struct bobj *b = &sc->v[i];
		size_t common = 0;
		struct node key;
		const struct tree *cur;
		const struct node *nd;

		if (b->nc > 255)
			continue;
		/* stack[k] is the tree of comps[0..k) (SIZE_MAX: none) */
		while (common < depth && common + 1 < b->nc &&
		    strcmp(names[common + 1], b->comps[common]) == 0)
			common++;
		depth = common;
		while (depth + 1 < b->nc) {
			size_t next = SIZE_MAX;

			if (stack[depth] != SIZE_MAX) {
				cur = &sc->prev_trees[stack[depth]];
				memset(&key, 0, sizeof key);
				key.name = (uint8_t *)b->comps[depth];
				key.name_len = (uint32_t)strlen(b->comps[depth]);
				nd = cur->n ? bsearch(&key, cur->nodes, cur->n, sizeof *cur->nodes, node_cmp) : NULL;
				if (nd && nd->type == NODE_DIR && repo_load_tree(sc->r, nd->subtree, &t) == 0) {
					keep_tree(sc, &t);
					next = sc->n_prev - 1;
				}
			}
			stack[depth + 1] = next;
			names[depth + 1] = b->comps[depth];
			depth++;
		}
		if (stack[depth] == SIZE_MAX)
			continue;
		cur = &sc->prev_trees[stack[depth]];
		if (cur->n == 0)
			continue;
		memset(&key, 0, sizeof key);
		key.name = (uint8_t *)b->comps[b->nc - 1];
		key.name_len = (uint32_t)strlen(b->comps[b->nc - 1]);
		b->prev = bsearch(&key, cur->nodes, cur->n, sizeof *cur->nodes, node_cmp);
	}
}

/* xattr(n, name): a node's xattr value as a string, or NULL. */
static const struct xattr *xattr_of(const struct node *n, const char *name)
{
	for (uint32_t i = 0; i < n->n_xattrs; i++)
		if (strcmp(n->xattrs[i].name, name) == 0)
			return &n->xattrs[i];
	return NULL;
}

static int unchanged(struct sctx *sc, const struct bobj *b)
{
	const struct node *p = b->prev;
	const struct xattr *x;

	if (p == NULL || p->type != NODE_FILE || p->size != b->o.size || p->mtime_ns != b->o.mtime_ns)
		return 0;
	x = xattr_of(p, SRC_X_ETAG);
	if (x == NULL || x->len != strlen(b->o.etag) || memcmp(x->value, b->o.etag, x->len) != 0)
		return 0;
	for (uint32_t i = 0; i < p->n_chunks; i++)
		if (!repo_has_blob(sc->r, BLOB_DATA, p->chunks[i]))
			return 0;
	return 1;
}

/* ---- nodes ---- */

static void set_props(struct node *n, const struct src_obj *o)
{
	n->xattrs = xcalloc(o->n_props ? o->n_props : 1, sizeof *n->xattrs);
	n->n_xattrs = 0;
	for (uint32_t i = 0; i < o->n_props && i < MAX_XATTRS; i++) {
		struct xattr *x = &n->xattrs[n->n_xattrs++];
		size_t l = strlen(o->props[i].value);

		x->name = xstrdup(o->props[i].name);
		x->value = xmemdup(o->props[i].value, l ? l : 1);
		x->len = (uint32_t)l;
	}
}

static void copy_xattrs(struct node *n, const struct node *p)
{
	n->xattrs = xcalloc(p->n_xattrs ? p->n_xattrs : 1, sizeof *n->xattrs);
	for (uint32_t i = 0; i < p->n_xattrs; i++) {
		n->xattrs[i].name = xstrdup(p->xattrs[i].name);
		n->xattrs[i].value = xcalloc(p->xattrs[i].len + 1, 1);
		if (p->xattrs[i].len)
			memcpy(n->xattrs[i].value, p->xattrs[i].value, p->xattrs[i].len);
		n->xattrs[i].len = p->xattrs[i].len;
	}
	n->n_xattrs = p->n_xattrs;
}

static void base_node(struct node *n, const char *name, uint8_t type)
{
	memset(n, 0, sizeof *n);
	n->name_len = (uint32_t)strlen(name);
	n->name = xmemdup(name, n->name_len + 1);
	n->type = type;
	n->mode = type == NODE_DIR ? 0755 : 0644;
	n->user = xstrdup("");
	n->group = xstrdup("");
	n->nlink = 1;
}

struct rd {
	struct src_fetch *f;
	size_t i;
};

static ssize_t fetch_reader(void *arg, uint8_t *p, size_t n)
{
	struct rd *r = arg;

	return src_fetch_read(r->f, r->i, p, n);
}

/* refetch(sc, b, n): the object changed after the listing: look it up
 * again and read it as it is now.  0 stored, 1 left out (reported). */
static int refetch(struct sctx *sc, struct bobj *b, struct node *n, const char *path)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		struct src_obj *one = &b->o;
		struct src_fetch *f;
		struct rd r;
		int rc = source_head(sc->src, &b->o);

		if (rc == SRC_GONE)
			break;
		if (rc != 0)
			return bk_unreadable(sc->c, path), 1;
		f = src_fetch_start(sc->src, &one, 1, src_connections(), FETCH_WINDOW);
		if (f == NULL)
			return bk_unreadable(sc->c, path), 1;
		r.f = f;
		r.i = 0;
		rc = bk_stream(sc->c, fetch_reader, &r, n);
		sc->downloaded++;
		src_fetch_stop(f);
		if (rc == 0) {
			n->mtime_ns = n->atime_ns = b->o.mtime_ns;
			n->ctime_ns = b->o.ctime_ns;
			return 0;
		}
		if (rc == SRC_GONE)
			break;
		if (rc != SRC_CHANGED)
			return bk_unreadable(sc->c, path), 1;
	}
	errmsg("warning: %s (%s) was deleted or keeps changing while it is read; left out",
	    path, source_url(sc->src));
	return 1;
}

/* save_object(sc, b, n): node n for object b.  0 ok, 1 left out. */
static int save_object(struct sctx *sc, struct bobj *b, struct node *n)
{
	struct backup_result *res = bk_result(sc->c);
	char *path = NULL;
	int rc = 0;

	n->size = b->o.size;
	n->mtime_ns = n->atime_ns = b->o.mtime_ns;
	n->ctime_ns = b->o.ctime_ns;
	if (b->fetch == SIZE_MAX) {
		/* unchanged since the earlier snapshot */
		const struct node *p = b->prev;

		n->n_chunks = p->n_chunks;
		n->chunks = xcalloc(p->n_chunks + 1, ID_LEN);
		if (p->n_chunks)
			memcpy(n->chunks, p->chunks, (size_t)p->n_chunks * ID_LEN);
		if (b->o.props_known)
			set_props(n, &b->o);
		else
			copy_xattrs(n, p);
		res->files_unchanged++;
		bk_progress(sc->c, n->size);
		sc->reused++;
	} else {
		struct rd r = { sc->f, b->fetch };

		rc = bk_stream(sc->c, fetch_reader, &r, n);
		sc->downloaded++;
		if (rc == SRC_CHANGED || rc == SRC_GONE) {
			path = path_of(sc, b);
			if (rc == SRC_CHANGED) {
				errmsg("warning: %s changed while it was read (its ETag is no longer "
				    "the listed one); stored as it is now", path);
				rc = refetch(sc, b, n, path);
				if (rc == 0)
					n->flags |= NODE_CHANGED;
			} else {
				errmsg("warning: %s was deleted during the backup; left out", path);
				rc = 1;
			}
			bk_changed(sc->c, path);
			sc->changed++;
		} else if (rc != 0) {
			path = path_of(sc, b);
			errmsg("cannot read %s (%s); left out of the snapshot", path, source_url(sc->src));
			bk_unreadable(sc->c, path);
			rc = 1;
		}
		if (rc == 0) {
			set_props(n, &b->o);
			if (b->prev)
				res->files_changed++;
			else
				res->files_new++;
		}
	}
	if (rc == 0) {
		res->files++;
		res->bytes += n->size;
	}
	free(path);
	return rc;
}

/* build(sc, lo, hi, depth, id, &mtime): the tree of the objects
 * v[lo..hi), which share comps[0..depth). */
static int build(struct sctx *sc, size_t lo, size_t hi, size_t depth, uint8_t id[ID_LEN],
    int64_t *mtime)
{
	struct tree t = { 0, NULL };
	int rc = 0;

	t.nodes = xcalloc(hi - lo + 1, sizeof *t.nodes);
	*mtime = 0;
	for (size_t i = lo; i < hi && rc == 0;) {
		struct bobj *b = &sc->v[i];
		const char *name = b->comps[depth];
		struct node *n = &t.nodes[t.n];
		size_t j = i + 1;

		if (b->nc == depth + 1) {
			base_node(n, name, NODE_FILE);
			if (save_object(sc, b, n) == 0)
				t.n++;
			else
				node_free(n);
		} else {
			int64_t m;

			while (j < hi && sc->v[j].nc > depth + 1 && strcmp(sc->v[j].comps[depth], name) == 0)
				j++;
			base_node(n, name, NODE_DIR);
			rc = build(sc, i, j, depth + 1, n->subtree, &m);
			n->mtime_ns = n->atime_ns = n->ctime_ns = m;
			bk_result(sc->c)->dirs++;
			t.n++;
		}
		if (t.n && t.nodes[t.n - 1].mtime_ns > *mtime)
			*mtime = t.nodes[t.n - 1].mtime_ns;
		i = j;
	}
	if (rc == 0)
		rc = bk_save_tree(sc->c, &t, id);
	tree_free(&t);
	return rc;
}

/* name_paths(sc): encode, sort, and mark files that are also
 * directories ("a" beside "a/b") with "%!". */
static int name_paths(struct sctx *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		struct bobj *b = &sc->v[i];

		if (src_name_encode(b->o.name, b->o.name_len, &b->comps, &b->nc) != 0)
			return -1;
		b->fetch = SIZE_MAX;
	}
	qsort(sc->v, sc->n, sizeof *sc->v, bobj_cmp);
	/* In tree order a directory's first entry follows right after a
	 * file of the same path: ["a"] < ["a", "b"]. */
	{
		int moved = 0;

		for (size_t i = 0; i + 1 < sc->n; i++) {
			struct bobj *a = &sc->v[i], *b = &sc->v[i + 1];

			if (b->nc > a->nc && comps_cmp(a->comps, a->nc, b->comps, a->nc) == 0) {
				char *nn = xasprintf("%s%%!", a->comps[a->nc - 1]);

				free(a->comps[a->nc - 1]);
				a->comps[a->nc - 1] = nn;
				moved = 1;
			}
		}
		if (moved)
			qsort(sc->v, sc->n, sizeof *sc->v, bobj_cmp);
	}
	return 0;
}

/* one(c, url, root_id, &mtime): back up one source; the tree of its
 * container or bucket into root_id.  0, 1 (source unreadable), -1. */
static int one(struct bctx *c, struct source *src, uint8_t root_id[ID_LEN], int64_t *mtime)
{
	struct sctx sc;
	struct src_obj *objs = NULL;
	struct src_obj **fetch = NULL;
	size_t nobj = 0, nf = 0;
	uint8_t prev[ID_LEN];
	const char *comps[3];
	int nroot, rc = -1;
	double t0 = mono_sec();

	memset(&sc, 0, sizeof sc);
	sc.c = c;
	sc.src = src;
	sc.r = bk_repo(c);
	nroot = source_root(src, comps);
	sc.where = nroot == 3 ? xasprintf("/%s/%s/%s", comps[0], comps[1], comps[2]) :
	    xasprintf("/%s/%s", comps[0], comps[1]);
	if (source_list(src, &objs, &nobj) != 0) {
		bk_unreadable(c, source_url(src));
		free(sc.where);
		return 1;
	}
	sc.v = xcalloc(nobj + 1, sizeof *sc.v);
	for (size_t i = 0; i < nobj; i++)
		sc.v[i].o = objs[i];
	free(objs);
	sc.n = nobj;
	if (name_paths(&sc) != 0) {
		errmsg("source %s: an object with an empty name", source_url(src));
		goto out;
	}
	if (!bk_opts(c)->no_cache && prev_root(sc.r, src, prev, NULL))
		plan(&sc, prev);
	fetch = xcalloc(sc.n + 1, sizeof *fetch);
	for (size_t i = 0; i < sc.n; i++) {
		bk_add_total(c, sc.v[i].o.size);
		if (unchanged(&sc, &sc.v[i]))
			continue;
		sc.v[i].fetch = nf;
		fetch[nf++] = &sc.v[i].o;
	}
	sc.f = src_fetch_start(src, fetch, nf, src_connections(), FETCH_WINDOW);
	if (sc.f == NULL)
		goto out;
	if (sc.n == 0) {
		struct tree t = { 0, NULL };

		rc = bk_save_tree(c, &t, root_id);
		*mtime = 0;
	} else {
		rc = build(&sc, 0, sc.n, 0, root_id, mtime);
	}
	info(1, "%s: %zu objects, %ju downloaded (%ju GET requests), %ju unchanged, "
	    "%ju changed while read, %.1f s", source_url(src), sc.n, (uintmax_t)sc.downloaded,
	    (uintmax_t)src_fetch_requests(sc.f), (uintmax_t)sc.reused, (uintmax_t)sc.changed,
	    mono_sec() - t0);
out:
	src_fetch_stop(sc.f);
	free(fetch);
	for (size_t i = 0; i < sc.n; i++) {
		src_obj_free(&sc.v[i].o);
		src_comps_free(sc.v[i].comps, sc.v[i].nc);
	}
	free(sc.v);
	for (size_t i = 0; i < sc.n_prev; i++)
		tree_free(&sc.prev_trees[i]);
	free(sc.prev_trees);
	free(sc.where);
	return rc;
}

static ssize_t table_reader(void *arg, uint8_t *p, size_t n)
{
	return src_table_read(arg, p, n);
}

/* An earlier export, and the new one assembled from it, are held in
 * memory up to this size; a larger table is read whole every time. */
#define TABLE_MEM_MAX ((size_t)512 << 20)
/* More new or changed entities than this (percent): read whole. */
#define TABLE_DELTA_PCT 30

struct memrd {
	const uint8_t *p;
	size_t n, at;
};

static ssize_t mem_reader(void *arg, uint8_t *p, size_t n)
{
	struct memrd *m = arg;

	if (n > m->n - m->at)
		n = m->n - m->at;
	memcpy(p, m->p + m->at, n);
	m->at += n;
	return (ssize_t)n;
}

/* prev_export(c, s, out): the export of this table in the newest earlier
 * snapshot of it into out.  1 read; 0 none, too large, or its chunks not
 * all readable (the table is then read whole). */
static int prev_export(struct bctx *c, struct source *s, struct buf *out)
{
	struct repo *r = bk_repo(c);
	struct node f;
	uint8_t id[ID_LEN];
	int ok;

	memset(&f, 0, sizeof f);
	if (bk_opts(c)->no_cache || !prev_root(r, s, id, &f))
		return 0;
	ok = f.size <= out->max;
	for (uint32_t k = 0; k < f.n_chunks && ok; k++)
		ok = repo_has_blob(r, BLOB_DATA, f.chunks[k]) && repo_read_blob(r, f.chunks[k], out) == 0;
	ok = ok && out->len == f.size;
	free(f.chunks);
	if (!ok)
		out->len = 0;
	return ok;
}

/* table_delta(c, s, n, prev, d): node n from the earlier export prev and
 * the entities that changed since (src_table_delta); entities written
 * during the backup are reported and listed.  0, 1 (read it whole
 * instead), -1 (failed, reported). */
static int table_delta(struct bctx *c, struct source *s, struct node *n, const struct buf *prev,
    struct src_table_delta *d)
{
	struct backup_result *res = bk_result(c);
	struct buf out;
	struct memrd m;
	const char *comps[3];
	int rc;

	buf_init(&out, TABLE_MEM_MAX);
	rc = src_table_delta(s, (const char *)prev->p, prev->len, TABLE_DELTA_PCT, src_connections(),
	    &out, d);
	if (rc != 0) {
		buf_free(&out);
		return rc;
	}
	m.p = out.p;
	m.n = out.len;
	m.at = 0;
	rc = bk_stream(c, mem_reader, &m, n);
	if (rc == 0) {
		source_root(s, comps);
		for (size_t i = 0; i < d->n_changed; i++) {
			char *path = xasprintf("/%s/%s/%s%s", comps[0], comps[1], comps[2], d->changed[i]);

			bk_changed(c, path);	/* (src_table_delta warned) */
			free(path);
			n->flags |= NODE_CHANGED;
		}
		n->mtime_ns = n->atime_ns = n->ctime_ns = d->newest;
		if (out.len == prev->len && memcmp(out.p, prev->p, out.len) == 0)
			res->files_unchanged++;
		else
			res->files_changed++;
	}
	buf_free(&out);
	return rc == 0 ? 0 : -1;
}

/* one_table(c, s, n, name): an Azure table as the file node n (JSON
 * lines): from the earlier snapshot's export and the entities changed
 * since when there is one, else read whole.  0, 1 (unreadable,
 * reported), -1. */
static int one_table(struct bctx *c, struct source *s, struct node *n, const char *name)
{
	struct backup_result *res = bk_result(c);
	struct src_table_delta d;
	struct buf prev;
	double t0 = mono_sec();
	int rc = 1;

	memset(&d, 0, sizeof d);
	base_node(n, name, NODE_FILE);
	buf_init(&prev, TABLE_MEM_MAX);
	if (prev_export(c, s, &prev))
		rc = table_delta(c, s, n, &prev, &d);
	buf_free(&prev);
	if (rc == 0) {
		info(1, "%s: %ju entities, %ju unchanged, %ju read one by one, %zu changed while read "
		    "(%ju listing requests), %.1f s", source_url(s), (uintmax_t)d.listed,
		    (uintmax_t)d.reused, (uintmax_t)d.fetched, d.n_changed, (uintmax_t)d.list_pages,
		    mono_sec() - t0);
	} else if (rc == 1) {
		struct src_table_reader *r = src_table_open_reader(s);

		rc = bk_stream(c, table_reader, r, n);
		if (rc == 0) {
			/* the newest entity's time: an unchanged table gives the same node */
			n->mtime_ns = n->atime_ns = n->ctime_ns = src_table_newest(r);
			res->files_new++;
			info(1, "%s: %ju entities, read whole, %.1f s", source_url(s),
			    (uintmax_t)src_table_entities(r), mono_sec() - t0);
		}
		src_table_close_reader(r);
	}
	src_table_delta_free(&d);
	if (rc == 0 && bk_collect(c) != 0)
		return -1;
	if (rc != 0) {
		node_free(n);
		bk_unreadable(c, source_url(s));
		return 1;
	}
	res->files++;
	res->bytes += n->size;
	return 0;
}

/* The containers and buckets, placed by their root paths. */
struct top {
	char *comps[3];
	size_t nc;
	uint8_t id[ID_LEN];
	int64_t mtime;
	int is_file;		/* a table: file, the leaf node itself */
	struct node file;
};

static int top_cmp(const void *x, const void *y)
{
	const struct top *a = x, *b = y;

	return comps_cmp(a->comps, a->nc, b->comps, b->nc);
}

/* assemble(c, v, lo, hi, depth, t): nodes for v[lo..hi) at depth. */
static int assemble(struct bctx *c, struct top *v, size_t lo, size_t hi, size_t depth,
    struct tree *t, int64_t *mtime)
{
	*mtime = 0;
	t->nodes = xcalloc(hi - lo + 1, sizeof *t->nodes);
	t->n = 0;
	for (size_t i = lo; i < hi;) {
		struct node *n = &t->nodes[t->n++];
		size_t j = i + 1;

		if (v[i].nc == depth + 1 && v[i].is_file) {
			*n = v[i].file;
			memset(&v[i].file, 0, sizeof v[i].file);
			v[i].is_file = 0;
			if (n->mtime_ns > *mtime)
				*mtime = n->mtime_ns;
			i = j;
			continue;
		}
		base_node(n, v[i].comps[depth], NODE_DIR);
		if (v[i].nc == depth + 1) {
			memcpy(n->subtree, v[i].id, ID_LEN);
			n->mtime_ns = v[i].mtime;
		} else {
			struct tree sub = { 0, NULL };
			int64_t m;
			int rc;

			while (j < hi && strcmp(v[j].comps[depth], v[i].comps[depth]) == 0)
				j++;
			rc = assemble(c, v, i, j, depth + 1, &sub, &m);
			if (rc == 0)
				rc = bk_save_tree(c, &sub, n->subtree);
			tree_free(&sub);
			if (rc != 0)
				return -1;
			n->mtime_ns = m;
		}
		n->atime_ns = n->ctime_ns = n->mtime_ns;
		bk_result(c)->dirs++;
		if (n->mtime_ns > *mtime)
			*mtime = n->mtime_ns;
		i = j;
	}
	return 0;
}

int bsrc_backup(struct bctx *c, char *const *urls, size_t n, struct node **nodes, size_t *nn)
{
	struct top *v = xcalloc(n + 1, sizeof *v);
	size_t nv = 0;
	int ret = 0;

	*nodes = NULL;
	*nn = 0;
	for (size_t i = 0; i < n && ret >= 0; i++) {
		struct source *s = source_open(urls[i]);
		const char *comps[3];
		int rc;

		if (s == NULL) {
			ret = -1;
			break;
		}
		v[nv].nc = (size_t)source_root(s, comps);
		for (size_t k = 0; k < v[nv].nc; k++)
			v[nv].comps[k] = xstrdup(comps[k]);
		for (size_t k = 0; k < nv; k++)
			if (top_cmp(&v[k], &v[nv]) == 0) {
				errmsg("source %s: the same container or bucket is named twice; "
				    "give it once (with no prefix, or make two backups)", urls[i]);
				ret = -1;
			}
		if (ret < 0) {
			source_close(s);
			nv++;
			break;
		}
		if (source_kind(s) == SRC_TABLE) {
			rc = one_table(c, s, &v[nv].file, comps[2]);
			v[nv].is_file = rc == 0;
		} else {
			rc = one(c, s, v[nv].id, &v[nv].mtime);
		}
		source_close(s);
		nv++;
		if (rc < 0)
			ret = -1;
		else if (rc == 1) {
			/* unreadable: left out (listed), the rest goes on */
			free(v[nv - 1].comps[0]);
			free(v[nv - 1].comps[1]);
			free(v[nv - 1].comps[2]);
			nv--;
			ret = 1;
		}
	}
	if (ret >= 0 && nv > 0) {
		struct tree t = { 0, NULL };
		int64_t m;

		qsort(v, nv, sizeof *v, top_cmp);
		if (assemble(c, v, 0, nv, 0, &t, &m) == 0) {
			*nodes = t.nodes;
			*nn = t.n;
		} else {
			tree_free(&t);
			ret = -1;
		}
	}
	for (size_t i = 0; i < nv; i++) {
		for (size_t k = 0; k < 3; k++)
			free(v[i].comps[k]);
		node_free(&v[i].file);
	}
	free(v);
	return ret;
}
