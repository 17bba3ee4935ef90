/* restore_cloud.c: restore a backed-up container or bucket (or a part of
 * it) into a container or bucket: `restore SNAP --include
 * /azure/ACCOUNT/CONTAINER[/...] --target azure://ACCOUNT/OTHER[/PREFIX]`
 * or `--target s3://BUCKET[/PREFIX]`.
 *
 * Every file below the include becomes the object PREFIX/NAME, where NAME
 * is the original object name (decoded from the tree path below the
 * container or bucket, source_name.c), with the properties and metadata
 * its node carries as user.twofold.* xattrs.  The content is streamed
 * from the repository chunk by chunk into blocks (multipart parts) of
 * SRC_PART bytes; several objects go up at once (one per connection). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "source/source.h"
#include "util/util.h"
#include "util/workq.h"

struct cjob {
	char *name;		/* the object name below the target's prefix */
	struct node n;		/* chunks, size and xattrs (a copy) */
};

struct cctx {
	struct repo *r;
	struct source *dst;
	struct cjob *v;
	size_t n, cap;
	size_t next;		/* next job to take (atomic) */
	uint64_t done, bytes, errors;
	pthread_mutex_t mu;
};

/* A node's content, fed to source_put. */
struct feed {
	struct repo *r;
	const struct cjob *j;
	struct buf chunk;
	size_t pos;		/* in chunk */
	uint32_t next;		/* next chunk to read */
	uint64_t given;
};

static int feed_fill(void *arg, uint8_t *p, size_t k)
{
	struct feed *f = arg;

	while (k > 0) {
		size_t take;

		if (f->pos == f->chunk.len) {
			int rc;

			if (f->next >= f->j->n.n_chunks) {
				errmsg("%s: the snapshot's chunks hold fewer bytes than its size", f->j->name);
				return -1;
			}
			f->chunk.len = 0;
			f->pos = 0;
			rc = repo_read_blob(f->r, f->j->n.chunks[f->next], &f->chunk);
			if (rc != 0) {
				errmsg("%s: its data is %s", f->j->name, rc == R_MISSING ? "missing" :
				    rc == R_CORRUPT ? "damaged" : "unreadable");
				return -1;
			}
			f->next++;
			continue;
		}
		take = f->chunk.len - f->pos < k ? f->chunk.len - f->pos : k;
		memcpy(p, f->chunk.p + f->pos, take);
		f->pos += take;
		p += take;
		k -= take;
		f->given += take;
	}
	return 0;
}

static void *uploader(void *arg)
{
	struct cctx *c = arg;

	for (;;) {
		size_t i = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
		const struct cjob *j;
		struct src_prop *props;
		struct feed f;
		int rc;

		if (i >= c->n)
			break;
		j = &c->v[i];
		props = xcalloc(j->n.n_xattrs + 1, sizeof *props);
		for (uint32_t k = 0; k < j->n.n_xattrs; k++) {
			props[k].name = j->n.xattrs[k].name;
			props[k].value = (char *)j->n.xattrs[k].value;	/* NUL-terminated below */
		}
		memset(&f, 0, sizeof f);
		f.r = c->r;
		f.j = j;
		buf_init(&f.chunk, MAX_BLOB);
		rc = source_put(c->dst, j->name, props, j->n.n_xattrs, j->n.size, feed_fill, &f);
		if (rc == 0 && f.next != j->n.n_chunks) {
			errmsg("%s: the snapshot's chunks hold more bytes than its size", j->name);
			rc = -1;
		}
		buf_free(&f.chunk);
		free(props);
		if (rc != 0) {
			__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
		} else {
			__atomic_add_fetch(&c->done, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&c->bytes, j->n.size, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* add_job(c, comps, nc, n): a file at tree path comps (below the
 * container or bucket). */
static int add_job(struct cctx *c, char **comps, size_t nc, const struct node *n)
{
	struct buf name;
	struct cjob *j;

	buf_init(&name, SRC_NAME_MAX);
	if (src_name_decode((const char *const *)comps, nc, &name) != 0 || name.len == 0 ||
	    buf_append(&name, "", 1) != 0) {
		struct buf p;
		char *e;

		buf_init(&p, SIZE_MAX);
		for (size_t i = 0; i < nc; i++) {
			buf_append(&p, "/", 1);
			buf_append(&p, comps[i], strlen(comps[i]));
		}
		e = escape_bytes(p.p, p.len);
		errmsg("cannot restore ...%s to %s: not the tree path of an object name "
		    "(docs/FORMAT.md, \"Cloud sources\")", e, source_url(c->dst));
		free(e);
		buf_free(&p);
		buf_free(&name);
		return -1;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
	}
	j = &c->v[c->n++];
	memset(j, 0, sizeof *j);
	{ size_t l; j->name = (char *)buf_steal(&name, &l); }
	j->n.size = n->size;
	j->n.n_chunks = n->n_chunks;
	j->n.chunks = xcalloc(n->n_chunks + 1, ID_LEN);
	if (n->n_chunks)
		memcpy(j->n.chunks, n->chunks, (size_t)n->n_chunks * ID_LEN);
	j->n.xattrs = xcalloc(n->n_xattrs + 1, sizeof *j->n.xattrs);
	for (uint32_t i = 0; i < n->n_xattrs; i++) {
		struct xattr *x = &j->n.xattrs[j->n.n_xattrs];
		const struct xattr *y = &n->xattrs[i];

		if (y->len && memchr(y->value, '\0', y->len) != NULL)
			continue;	/* not text: not a property */
		x->name = xstrdup(y->name);
		x->value = xmalloc(y->len + 1);
		if (y->len)
			memcpy(x->value, y->value, y->len);
		x->value[y->len] = '\0';
		x->len = y->len;
		j->n.n_xattrs++;
	}
	return 0;
}

/* collect(c, id, comps, nc, depth): every file below tree id. */
static int walk(struct cctx *c, const uint8_t id[ID_LEN], char **comps, size_t nc)
{
	struct tree t;
	int rc = repo_load_tree(c->r, id, &t), ret = 0;

	if (rc != 0) {
		errmsg("cannot restore to %s: a tree of the snapshot is %s", source_url(c->dst),
		    rc == R_MISSING ? "missing" : "damaged");
		return -1;
	}
	if (nc >= 1024) {
		tree_free(&t);
		return -1;
	}
	for (uint32_t i = 0; i < t.n && ret == 0; i++) {
		const struct node *n = &t.nodes[i];

		comps[nc] = (char *)n->name;
		if (n->type == NODE_FILE)
			ret = add_job(c, comps, nc + 1, n);
		else if (n->type == NODE_DIR)
			ret = walk(c, n->subtree, comps, nc + 1);
		else
			info(1, "twofold: %s is not a file; not restored to %s", (char *)n->name,
			    source_url(c->dst));
	}
	tree_free(&t);
	return ret;
}

/* path_step(r, cur, name, incl, t, &nd): load the tree cur into t and
 * find name in it: 0 with *nd (NULL if absent; t loaded, the caller frees
 * it), or -1 after a message naming incl (t not loaded). */
static int path_step(struct repo *r, const uint8_t *cur, char *name, const char *incl,
    struct tree *t, const struct node **nd)
{
	struct node key;

	if (repo_load_tree(r, cur, t) != 0) {
		errmsg("cannot restore: a tree on the way to %s is damaged or missing", incl);
		return -1;
	}
	memset(&key, 0, sizeof key);
	key.name = (uint8_t *)name;
	key.name_len = (uint32_t)strlen(name);
	*nd = t->n ? bsearch(&key, t->nodes, t->n, sizeof *t->nodes, node_cmp) : NULL;
	return 0;
}

/* restore_table(r, snap, o, dst, parts, np): the JSON lines of the file
 * at parts (a backed-up table) into the table dst, entity by entity. */
static int restore_table(struct repo *r, const struct snap_item *snap, const struct restore_opts *o,
    struct source *dst, char **parts, int np)
{
	uint8_t cur[ID_LEN];
	struct tree t;
	struct node file;
	struct buf chunk, line;
	uint64_t done = 0, errors = 0;
	int rc = EXIT_FATAL;
	double t0 = mono_sec();

	memset(&file, 0, sizeof file);
	memcpy(cur, snap->s.tree, ID_LEN);
	for (int i = 0; i < np; i++) {
		const struct node *nd;

		if (path_step(r, cur, parts[i], o->includes[0], &t, &nd) != 0)
			return EXIT_FATAL;
		if (nd == NULL || (i + 1 < np && nd->type != NODE_DIR) || (i + 1 == np && nd->type != NODE_FILE)) {
			errmsg("--include %s: not a backed-up table in the snapshot", o->includes[0]);
			tree_free(&t);
			return EXIT_FATAL;
		}
		if (i + 1 == np) {
			file.n_chunks = nd->n_chunks;
			file.chunks = xcalloc(nd->n_chunks + 1, ID_LEN);
			if (nd->n_chunks)
				memcpy(file.chunks, nd->chunks, (size_t)nd->n_chunks * ID_LEN);
		} else {
			memcpy(cur, nd->subtree, ID_LEN);
		}
		tree_free(&t);
	}
	if (src_table_create(dst) != 0) {
		free(file.chunks);
		return EXIT_FATAL;
	}
	buf_init(&chunk, MAX_BLOB);
	buf_init(&line, (size_t)8 << 20);
	for (uint32_t k = 0; k <= file.n_chunks; k++) {
		size_t at = 0;

		chunk.len = 0;
		if (k < file.n_chunks) {
			int got = repo_read_blob(r, file.chunks[k], &chunk);

			if (got != 0) {
				errmsg("cannot restore table %s: its data is %s", o->includes[0],
				    got == R_MISSING ? "missing" : got == R_CORRUPT ? "damaged" : "unreadable");
				goto out;
			}
		} else if (line.len > 0) {
			buf_append(&chunk, "\n", 1);	/* a last line without newline */
		}
		while (at < chunk.len) {
			const uint8_t *nl = memchr(chunk.p + at, '\n', chunk.len - at);
			size_t take = nl ? (size_t)(nl - (chunk.p + at)) : chunk.len - at;

			if (buf_append(&line, chunk.p + at, take) != 0) {
				errmsg("cannot restore table %s: a line is longer than 8 MiB", o->includes[0]);
				goto out;
			}
			at += take;
			if (nl) {
				at++;
				if (line.len > 0) {
					if (src_table_put_line(dst, (const char *)line.p, line.len) == 0)
						done++;
					else
						errors++;
				}
				line.len = 0;
			}
		}
	}
	info(1, "restored %ju entities to %s in %.1f s%s", (uintmax_t)done, source_url(dst),
	    mono_sec() - t0, errors ? " (some failed, see above)" : "");
	rc = errors ? EXIT_FATAL : 0;
out:
	buf_free(&chunk);
	buf_free(&line);
	free(file.chunks);
	return rc;
}

int engine_restore_cloud(struct repo *r, const struct snap_item *snap, const struct restore_opts *o)
{
	struct cctx c;
	struct tree t;
	char *copy = NULL, *parts[1100], *comps[1100];
	uint8_t cur[ID_LEN];
	int np, depth, rc = EXIT_FATAL, nth;
	pthread_t th[64];
	double t0 = mono_sec();
	const struct node *found = NULL;

	memset(&c, 0, sizeof c);
	c.r = r;
	if (repo_need(r, CAN_OWNER | CAN_READ, "restore snapshots") != 0)
		return -1;
	if (o->n_includes != 1) {
		errmsg("restore --target %s: name the container or bucket to restore with one "
		    "--include (/azure/ACCOUNT/CONTAINER[/...] or /s3/BUCKET[/...])", o->target);
		return EXIT_FATAL;
	}
	copy = xstrdup(o->includes[0]);
	np = snapshot_path_split(copy, parts, 1024);
	if (strncmp(o->target, "azure-table://", 14) == 0) {
		if (np != 3 || strcmp(parts[0], "azure-table") != 0) {
			errmsg("restore --target %s: --include %s is not a backed-up table "
			    "(/azure-table/ACCOUNT/TABLE)", o->target, o->includes[0]);
			free(copy);
			return EXIT_FATAL;
		}
		if ((c.dst = source_open(o->target)) == NULL) {
			free(copy);
			return EXIT_FATAL;
		}
		rc = restore_table(r, snap, o, c.dst, parts, np);
		source_close(c.dst);
		free(copy);
		return rc;
	}
	depth = np >= 1 && strcmp(parts[0], "azure") == 0 ? 3 : np >= 1 && strcmp(parts[0], "s3") == 0 ? 2 : -1;
	if (depth < 0 || np < depth) {
		errmsg("restore --target %s: --include %s is not a backed-up container or bucket "
		    "(/azure/ACCOUNT/CONTAINER[/...] or /s3/BUCKET[/...])", o->target, o->includes[0]);
		free(copy);
		return EXIT_FATAL;
	}
	if ((c.dst = source_open(o->target)) == NULL) {
		free(copy);
		return EXIT_FATAL;
	}
	memcpy(cur, snap->s.tree, ID_LEN);
	for (int i = 0; i < np; i++) {
		const struct node *nd;

		if (path_step(r, cur, parts[i], o->includes[0], &t, &nd) != 0)
			goto out;
		if (nd == NULL || (i + 1 < np && nd->type != NODE_DIR)) {
			errmsg("--include %s: not in the snapshot", o->includes[0]);
			tree_free(&t);
			goto out;
		}
		if (i + 1 == np && nd->type == NODE_FILE) {
			/* one object */
			for (int k = depth; k < np; k++)
				comps[k - depth] = parts[k];
			if (np == depth || add_job(&c, comps, (size_t)(np - depth), nd) != 0) {
				tree_free(&t);
				goto out;
			}
			found = nd;
			tree_free(&t);
			break;
		}
		memcpy(cur, nd->subtree, ID_LEN);
		tree_free(&t);
	}
	if (found == NULL) {
		for (int k = depth; k < np; k++)
			comps[k - depth] = parts[k];
		if (walk(&c, cur, comps, (size_t)(np - depth)) != 0)
			goto out;
	}
	pthread_mutex_init(&c.mu, NULL);
	nth = workq_override > 0 ? workq_override : 16;
	if (nth > 64)
		nth = 64;
	if ((size_t)nth > c.n)
		nth = c.n ? (int)c.n : 1;
	for (int i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, uploader, &c) != 0) {
			nth = i;
			break;
		}
	if (nth == 0)
		uploader(&c);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&c.mu);
	{
		char sz[32];

		if (o->json)
			printf("{\"target\":\"%s\",\"objects\":%ju,\"bytes\":%ju,\"errors\":%ju,\"seconds\":%.3f}\n",
			    source_url(c.dst), (uintmax_t)c.done, (uintmax_t)c.bytes,
			    (uintmax_t)c.errors, mono_sec() - t0);
		else
			info(1, "restored %ju objects, %s to %s in %.1f s%s", (uintmax_t)c.done,
			    fmt_bytes(c.bytes, sz, sizeof sz), source_url(c.dst), mono_sec() - t0,
			    c.errors ? " (some failed, see above)" : "");
	}
	rc = c.errors ? EXIT_FATAL : 0;
out:
	for (size_t i = 0; i < c.n; i++) {
		free(c.v[i].name);
		node_free(&c.v[i].n);
	}
	free(c.v);
	source_close(c.dst);
	free(copy);
	return rc;
}
