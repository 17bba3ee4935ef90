/* dump.c: one file's content, or a directory as a POSIX tar, to stdout.
 *
 * The archive is ustar with pax extended headers ('x') for what ustar
 * cannot hold: names or link targets over 100 bytes, user or group names
 * over 31, ids, sizes or times too large for their octal fields.  Names
 * in the archive are the snapshot paths without the leading '/', as tar
 * itself stores absolute paths.  Regular files that share (dev, ino) are
 * stored once, the later ones as hardlinks ('1') to the first.  Sockets
 * cannot be archived and are skipped with a note. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "util/util.h"

#define TAR_BLOCK 512
#define DUMP_MAX_DEPTH 4096

struct hlink {
	uint64_t dev, ino;
	char *path;		/* NULL: empty slot */
};

struct tctx {
	struct repo *r;
	struct buf path;	/* archive name of the current entry */
	struct buf data;	/* one blob */
	struct hlink *links;
	size_t cap_links, n_links;
	unsigned depth;
	int errors;
};

/* ---- hardlinks: (dev, ino) -> first archive name ---- */

static size_t hl_slot(uint64_t dev, uint64_t ino, size_t cap)
{
	return (size_t)((dev * 0x9e3779b97f4a7c15u) ^ ino) & (cap - 1);
}

static struct hlink *hl_find(struct tctx *c, uint64_t dev, uint64_t ino)
{
	if (c->cap_links == 0)
		return NULL;
	for (size_t i = hl_slot(dev, ino, c->cap_links);; i = (i + 1) & (c->cap_links - 1)) {
		if (c->links[i].path == NULL)
			return NULL;
		if (c->links[i].dev == dev && c->links[i].ino == ino)
			return &c->links[i];
	}
}

static void hl_put(struct hlink *v, size_t cap, struct hlink h)
{
	size_t i = hl_slot(h.dev, h.ino, cap);

	while (v[i].path != NULL)
		i = (i + 1) & (cap - 1);
	v[i] = h;
}

static void hl_add(struct tctx *c, uint64_t dev, uint64_t ino, const char *path)
{
	if ((c->n_links + 1) * 2 > c->cap_links) {
		size_t cap = c->cap_links ? c->cap_links * 2 : 64;
		struct hlink *v = xcalloc(cap, sizeof *v);

		for (size_t i = 0; i < c->cap_links; i++)
			if (c->links[i].path != NULL)
				hl_put(v, cap, c->links[i]);
		free(c->links);
		c->links = v;
		c->cap_links = cap;
	}
	hl_put(c->links, c->cap_links, (struct hlink){ dev, ino, xstrdup(path) });
	c->n_links++;
}

/* ---- tar headers ---- */

struct entry {
	const char *name;		/* archive name, NUL-terminated */
	const uint8_t *link;		/* symlink or hardlink target */
	size_t link_len;
	char type;			/* '0' '1' '2' '3' '4' '5' '6' */
	uint32_t mode, uid, gid;
	const char *user, *group;
	uint64_t size;
	int64_t mtime_ns;
	uint64_t rdev;
};

/* octal(f, width, v): v in width-1 octal digits and a NUL; -1 if it
 * does not fit. */
static int octal(char *f, size_t width, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%0*llo", (int)(width - 1), (unsigned long long)v);

	if (n < 0 || (size_t)n > width - 1)
		return -1;
	memcpy(f, tmp, width - 1);
	f[width - 1] = '\0';
	return 0;
}

/* pax_add(b, key, v, n): one "LEN key=value\n" record; LEN counts
 * itself. */
static void pax_add(struct buf *b, const char *key, const void *v, size_t n)
{
	size_t base = strlen(key) + n + 3, len = base + 1;
	char num[24];

	while (len != base + (size_t)snprintf(num, sizeof num, "%zu", len))
		len = base + strlen(num);
	snprintf(num, sizeof num, "%zu ", len);
	buf_append(b, num, strlen(num));
	buf_append(b, key, strlen(key));
	buf_append(b, "=", 1);
	buf_append(b, v, n);
	buf_append(b, "\n", 1);
}

static void pax_num(struct buf *b, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof num, "%llu", (unsigned long long)v);
	pax_add(b, key, num, strlen(num));
}

static void put_zeros(uint64_t n)
{
	static const char zero[TAR_BLOCK];

	while (n > 0) {
		size_t k = n < sizeof zero ? (size_t)n : sizeof zero;

		fwrite(zero, 1, k, stdout);
		n -= k;
	}
}

static void pad_block(uint64_t n)
{
	put_zeros((TAR_BLOCK - n % TAR_BLOCK) % TAR_BLOCK);
}

/* write_header(name, type, e, pax): one 512-byte header; fields that do
 * not fit were put in pax by the caller and are written as zero here. */
static void write_header(const char *name, char type, const struct entry *e, size_t size)
{
	char h[TAR_BLOCK];
	unsigned sum = 0;
	int64_t mt = e->mtime_ns / 1000000000 - (e->mtime_ns % 1000000000 < 0);

	memset(h, 0, sizeof h);
	memcpy(h, name, strnlen(name, 100));
	octal(h + 100, 8, e->mode & 07777);
	if (octal(h + 108, 8, e->uid) != 0)
		octal(h + 108, 8, 0);
	if (octal(h + 116, 8, e->gid) != 0)
		octal(h + 116, 8, 0);
	if (octal(h + 124, 12, size) != 0)
		octal(h + 124, 12, 0);
	if (mt < 0 || octal(h + 136, 12, (uint64_t)mt) != 0)
		octal(h + 136, 12, 0);
	memset(h + 148, ' ', 8);
	h[156] = type;
	if (type == '1' || type == '2')
		memcpy(h + 157, e->link, e->link_len < 100 ? e->link_len : 100);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	if (e->user && strlen(e->user) < 32)
		memcpy(h + 265, e->user, strlen(e->user));
	if (e->group && strlen(e->group) < 32)
		memcpy(h + 297, e->group, strlen(e->group));
	if (type == '3' || type == '4') {
		octal(h + 329, 8, major((dev_t)e->rdev));
		octal(h + 337, 8, minor((dev_t)e->rdev));
	}
	for (size_t i = 0; i < sizeof h; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
	fwrite(h, 1, sizeof h, stdout);
}

/* write_entry(e): the pax header if needed, then the ustar header. */
static void write_entry(const struct entry *e)
{
	struct buf pax;
	char f[12];
	int64_t mt = e->mtime_ns / 1000000000 - (e->mtime_ns % 1000000000 < 0);

	buf_init(&pax, SIZE_MAX);
	if (strlen(e->name) > 100)
		pax_add(&pax, "path", e->name, strlen(e->name));
	if ((e->type == '1' || e->type == '2') && e->link_len > 100)
		pax_add(&pax, "linkpath", e->link, e->link_len);
	if (octal(f, 8, e->uid) != 0)
		pax_num(&pax, "uid", e->uid);
	if (octal(f, 8, e->gid) != 0)
		pax_num(&pax, "gid", e->gid);
	if (octal(f, 12, e->size) != 0)
		pax_num(&pax, "size", e->size);
	if (mt < 0 || octal(f, 12, (uint64_t)mt) != 0) {
		char num[24];

		snprintf(num, sizeof num, "%lld", (long long)mt);
		pax_add(&pax, "mtime", num, strlen(num));
	}
	if (e->user && strlen(e->user) >= 32)
		pax_add(&pax, "uname", e->user, strlen(e->user));
	if (e->group && strlen(e->group) >= 32)
		pax_add(&pax, "gname", e->group, strlen(e->group));
	if (pax.len > 0) {
		write_header("././@PaxHeader", 'x', e, pax.len);
		fwrite(pax.p, 1, pax.len, stdout);
		pad_block(pax.len);
	}
	buf_free(&pax);
	write_header(e->name, e->type, e, e->size);
}

/* ---- content ---- */

/* bad_data(c, name, rc, in_tar): report unreadable data of name (an
 * archive name, shown with its leading '/', when in_tar). */
static void bad_data(struct tctx *c, const char *name, int rc, int in_tar)
{
	char *p = escape_bytes(name, strlen(name));

	errmsg("dump: %s%s: its data is %s%s; run 'twofold check'", in_tar ? "/" : "", p,
	    rc == R_MISSING ? "missing" : rc == R_CORRUPT ? "damaged" : "unreadable",
	    in_tar ? " (written as zeros in the archive)" : "");
	free(p);
	c->errors++;
}

/* write_content(c, n, name, pad): n's chunks, exactly n->size bytes when
 * pad (a tar member); as stored otherwise.  Unreadable chunks are
 * reported; in a tar they become zeros. */
static int write_content(struct tctx *c, const struct node *n, const char *name, int pad)
{
	uint64_t done = 0;
	int rc = 0;

	for (uint32_t i = 0; i < n->n_chunks; i++) {
		size_t k;

		c->data.len = 0;
		if ((rc = repo_read_blob(c->r, n->chunks[i], &c->data)) != 0) {
			bad_data(c, name, rc, pad);
			if (!pad)
				return -1;
			break;
		}
		k = c->data.len;
		if (pad && done + k > n->size)
			k = (size_t)(n->size - done);
		if (fwrite(c->data.p, 1, k, stdout) != k)
			return -1;
		done += k;
	}
	if (pad && done < n->size) {
		if (rc == 0)
			bad_data(c, name, R_CORRUPT, pad);
		put_zeros(n->size - done);
		done = n->size;
	}
	if (pad)
		pad_block(done);
	return 0;
}

/* ---- walking ---- */

static void tar_tree(struct tctx *c, const uint8_t id[ID_LEN]);

static char node_tar_type(const struct node *n)
{
	switch (n->type) {
	case NODE_FILE: return '0';
	case NODE_DIR: return '5';
	case NODE_SYMLINK: return '2';
	case NODE_CHAR: return '3';
	case NODE_BLOCK: return '4';
	case NODE_FIFO: return '6';
	default: return 0;
	}
}

/* tar_node(c, n): n, whose archive name is c->path (NUL-terminated). */
static void tar_node(struct tctx *c, const struct node *n)
{
	const char *name = (const char *)c->path.p;
	struct entry e = { name, n->link, n->link_len, node_tar_type(n), n->mode, n->uid, n->gid,
		n->user, n->group, 0, n->mtime_ns, n->rdev };
	struct hlink *h = NULL;

	if (e.type == 0) {
		char *p = escape_bytes(name, strlen(name));

		info(1, "dump: %s is a socket; tar cannot hold it, skipped", p);
		free(p);
		return;
	}
	if (n->type == NODE_FILE && n->nlink > 1 && (n->dev || n->ino))
		h = hl_find(c, n->dev, n->ino);
	if (h != NULL) {
		e.type = '1';
		e.link = (const uint8_t *)h->path;
		e.link_len = strlen(h->path);
	} else if (n->type == NODE_FILE) {
		e.size = n->size;
		if (n->nlink > 1 && (n->dev || n->ino))
			hl_add(c, n->dev, n->ino, name);
	}
	write_entry(&e);
	if (e.type == '0')
		write_content(c, n, name, 1);
	else if (e.type == '5')
		tar_tree(c, n->subtree);
}

static void tar_tree(struct tctx *c, const uint8_t id[ID_LEN])
{
	struct tree t;
	int rc = -1;

	if (c->depth >= DUMP_MAX_DEPTH || (rc = repo_load_tree(c->r, id, &t)) != 0) {
		char *p = escape_bytes(c->path.p, c->path.len ? c->path.len - 1 : 0);

		errmsg("dump: cannot read the directory /%s: %s", p,
		    c->depth >= DUMP_MAX_DEPTH ? "nested too deep" : "its tree is missing or damaged");
		free(p);
		c->errors++;
		return;
	}
	c->depth++;
	for (uint32_t i = 0; i < t.n; i++) {
		const struct node *n = &t.nodes[i];
		size_t base = c->path.len - 1;	/* at the NUL */

		/* "dir/" for the directory itself, "dir/name" below it */
		c->path.len = base;
		if (base > 0 && c->path.p[base - 1] != '/')
			buf_append(&c->path, "/", 1);
		buf_append(&c->path, n->name, n->name_len);
		if (n->type == NODE_DIR)
			buf_append(&c->path, "/", 1);
		if (buf_append(&c->path, "", 1) != 0) {
			errmsg("dump: a path is too long; skipped");
			c->errors++;
		} else {
			tar_node(c, n);
		}
		buf_truncate(&c->path, base);
		buf_append(&c->path, "", 1);
	}
	c->depth--;
	tree_free(&t);
}

/* resolve(c, root, parts, n, holder, &node): the node at parts; holder
 * keeps its tree.  0, -1 if it is not in the snapshot, -2 on a read
 * error (reported). */
static int resolve(struct tctx *c, const uint8_t root[ID_LEN], char **parts, int n,
    struct tree *holder, const struct node **out)
{
	const uint8_t *id = root;

	memset(holder, 0, sizeof *holder);
	for (int k = 0; k < n; k++) {
		const struct node *nd = NULL;
		struct tree next;
		int rc;

		if ((rc = repo_load_tree(c->r, id, &next)) != 0) {
			errmsg("dump: cannot read a directory on the way to %s: its tree is %s", parts[k],
			    rc == R_MISSING ? "missing" : "damaged or unreadable");
			return -2;
		}
		tree_free(holder);
		*holder = next;
		for (uint32_t i = 0; i < holder->n && nd == NULL; i++)
			if (holder->nodes[i].name_len == strlen(parts[k]) &&
			    memcmp(holder->nodes[i].name, parts[k], holder->nodes[i].name_len) == 0)
				nd = &holder->nodes[i];
		if (nd == NULL || (k < n - 1 && nd->type != NODE_DIR))
			return -1;
		if (k == n - 1) {
			*out = nd;
			return 0;
		}
		id = nd->subtree;
	}
	return -1;
}

/* dump_node(c, n, path): a file as bytes, anything else as a tar. */
static int dump_node(struct tctx *c, const struct node *n, const char *path)
{
	if (n->type == NODE_FILE)
		return write_content(c, n, path, 0);
	while (*path == '/')
		path++;
	buf_append(&c->path, path, strlen(path));
	if (n->type == NODE_DIR && c->path.len > 0)
		buf_append(&c->path, "/", 1);
	buf_append(&c->path, "", 1);
	tar_node(c, n);
	put_zeros(2 * TAR_BLOCK);
	return 0;
}

int engine_dump(struct repo *r, const struct snap_item *snap, const char *path)
{
	struct tctx c;
	struct tree holder = { 0, NULL };
	size_t len = strlen(path);
	char *copy = xstrdup(path), **parts = xcalloc(len / 2 + 2, sizeof *parts);
	int n = snapshot_path_split(copy, parts, (int)(len / 2 + 1)), rc = -1;
	const struct node *nd = NULL;

	memset(&c, 0, sizeof c);
	c.r = r;
	buf_init(&c.path, (size_t)(DUMP_MAX_DEPTH + 2) * (MAX_NAME + 1));
	buf_init(&c.data, MAX_BLOB);
	if (n < 0 || path[0] != '/') {
		char *e = escape_bytes(path, len);

		errmsg("dump: %s is not a snapshot path (absolute, without '.' or '..')", e);
		free(e);
	} else if (n == 0) {
		buf_append(&c.path, "", 1);
		tar_tree(&c, snap->s.tree);
		put_zeros(2 * TAR_BLOCK);
		rc = 0;
	} else if ((rc = resolve(&c, snap->s.tree, parts, n, &holder, &nd)) == -1) {
		char *e = escape_bytes(path, len);

		errmsg("dump: %s: no such path in the snapshot (see 'twofold ls')", e);
		free(e);
	} else if (rc == 0) {
		rc = dump_node(&c, nd, path);
	}
	tree_free(&holder);
	for (size_t i = 0; i < c.cap_links; i++)
		free(c.links[i].path);
	free(c.links);
	buf_free(&c.path);
	buf_free(&c.data);
	free(parts);
	free(copy);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errmsg_errno("dump: cannot write to standard output");
		return -1;
	}
	return rc == 0 && c.errors == 0 ? 0 : -1;
}
