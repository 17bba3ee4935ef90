/* format_tree.c: tree blobs, one per directory.
 *
 * u8 version 1 | u32 count | nodes, strictly increasing by name (bytewise),
 * each: bytes name | u8 type | u8 flags | u32 mode | u32 uid | u32 gid |
 * str user | str group | i64 mtime | i64 atime | i64 ctime | u64 size |
 * u64 dev | u64 ino | u32 nlink | u64 rdev | bytes link |
 * u32 nxattr, (str name, bytes value) each | for files u32 n, chunk ids;
 * for directories subtree id[32]; nothing more for other types. */
#include "format/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/util.h"

#define TREE_VERSION 1
/* The smallest node: a one-byte name, empty strings, no xattrs, a type
 * with no tail. */
#define NODE_ENC_MIN (4 + 1 + 1 + 1 + 4 + 4 + 4 + 4 + 4 + 3 * 8 + 8 + 8 + 8 + 4 + 8 + 4 + 4)
/* The smallest xattr: a one-byte name and an empty value. */
#define XATTR_ENC_MIN (4 + 1 + 4)

int name_valid(const uint8_t *p, size_t n)
{
	if (p == NULL || n == 0 || n > MAX_NAME)
		return 0;
	if (memchr(p, '/', n) != NULL || memchr(p, '\0', n) != NULL)
		return 0;
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return 0;
	return 1;
}

int node_cmp(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = n ? memcmp(x->name, y->name, n) : 0;

	if (c != 0)
		return c;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return 0;
}

static void enc_node(struct buf *out, const struct node *nd)
{
	enc_bytes(out, nd->name, nd->name_len);
	enc_u8(out, nd->type);
	enc_u8(out, nd->flags);
	enc_u32(out, nd->mode);
	enc_u32(out, nd->uid);
	enc_u32(out, nd->gid);
	enc_str(out, nd->user ? nd->user : "");
	enc_str(out, nd->group ? nd->group : "");
	enc_i64(out, nd->mtime_ns);
	enc_i64(out, nd->atime_ns);
	enc_i64(out, nd->ctime_ns);
	enc_u64(out, nd->size);
	enc_u64(out, nd->dev);
	enc_u64(out, nd->ino);
	enc_u32(out, nd->nlink);
	enc_u64(out, nd->rdev);
	enc_bytes(out, nd->link, nd->link_len);
	enc_u32(out, nd->n_xattrs);
	for (uint32_t i = 0; i < nd->n_xattrs; i++) {
		enc_str(out, nd->xattrs[i].name ? nd->xattrs[i].name : "");
		enc_bytes(out, nd->xattrs[i].value, nd->xattrs[i].len);
	}
	if (nd->type == NODE_FILE) {
		enc_u32(out, nd->n_chunks);
		for (uint32_t i = 0; i < nd->n_chunks; i++)
			enc_raw(out, nd->chunks[i], ID_LEN);
	} else if (nd->type == NODE_DIR) {
		enc_raw(out, nd->subtree, ID_LEN);
	}
}

void tree_encode(const struct tree *t, struct buf *out)
{
	enc_u8(out, TREE_VERSION);
	enc_u32(out, t->n);
	for (uint32_t i = 0; i < t->n; i++)
		enc_node(out, &t->nodes[i]);
}

/* count_ok(d, n, min): 0 (and d marked bad) if n entries of at least min
 * bytes each cannot fit in what is left, or n passes max. */
static int count_ok(struct dec *d, uint32_t n, size_t min, uint32_t max)
{
	if (!dec_ok(d) || n > max || n > d->left / min) {
		dec_fail(d);
		return 0;
	}
	return 1;
}

/* dup0(p, n): n bytes and a NUL, so names and targets are C strings too. */
static uint8_t *dup0(const uint8_t *p, size_t n)
{
	uint8_t *q = xmalloc(n + 1);

	if (n)
		memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

static void dec_xattrs(struct dec *d, struct node *nd)
{
	uint32_t cnt = dec_u32(d);

	if (!count_ok(d, cnt, XATTR_ENC_MIN, MAX_XATTRS) || cnt == 0)
		return;
	nd->xattrs = xcalloc(cnt, sizeof *nd->xattrs);
	nd->n_xattrs = cnt;
	for (uint32_t i = 0; i < cnt && dec_ok(d); i++) {
		struct xattr *x = &nd->xattrs[i];
		const uint8_t *v;
		size_t len;

		x->name = dec_str(d, MAX_XATTR_NAME);
		if (x->name != NULL && x->name[0] == '\0')
			dec_fail(d);
		v = dec_bytes(d, &len, MAX_XATTR_VALUE);
		if (v == NULL)
			return;
		x->value = xmemdup(v, len);
		x->len = (uint32_t)len;
	}
}

static void dec_node(struct dec *d, struct node *nd)
{
	const uint8_t *p;
	size_t len;

	p = dec_bytes(d, &len, MAX_NAME);
	if (p == NULL || !name_valid(p, len)) {
		dec_fail(d);
		return;
	}
	nd->name = dup0(p, len);
	nd->name_len = (uint32_t)len;
	nd->type = dec_u8(d);
	if (nd->type < NODE_FILE || nd->type > NODE_SOCKET)
		dec_fail(d);
	nd->flags = dec_u8(d);
	if (nd->flags & ~NODE_CHANGED)
		dec_fail(d);
	nd->mode = dec_u32(d);
	if (nd->mode & ~07777u)
		dec_fail(d);
	nd->uid = dec_u32(d);
	nd->gid = dec_u32(d);
	nd->user = dec_str(d, MAX_STR);
	nd->group = dec_str(d, MAX_STR);
	nd->mtime_ns = dec_i64(d);
	nd->atime_ns = dec_i64(d);
	nd->ctime_ns = dec_i64(d);
	nd->size = dec_u64(d);
	nd->dev = dec_u64(d);
	nd->ino = dec_u64(d);
	nd->nlink = dec_u32(d);
	nd->rdev = dec_u64(d);
	p = dec_bytes(d, &len, MAX_LINK);
	if (p == NULL)
		return;
	/* A symlink's target is a non-empty C string; no other node has one. */
	if (nd->type == NODE_SYMLINK ? len == 0 || memchr(p, '\0', len) != NULL : len != 0) {
		dec_fail(d);
		return;
	}
	if (len) {
		nd->link = dup0(p, len);
		nd->link_len = (uint32_t)len;
	}
	dec_xattrs(d, nd);
	if (nd->type == NODE_FILE) {
		uint32_t cnt = dec_u32(d);

		if (!count_ok(d, cnt, ID_LEN, MAX_LIST) || cnt == 0)
			return;
		nd->chunks = xcalloc(cnt, ID_LEN);
		nd->n_chunks = cnt;
		for (uint32_t i = 0; i < cnt; i++)
			dec_raw(d, nd->chunks[i], ID_LEN);
	} else if (nd->type == NODE_DIR) {
		dec_raw(d, nd->subtree, ID_LEN);
	}
}

/* explain(why, whyn, i, name, len, what): 'entry I "NAME": WHAT', the
 * name escaped for printing. */
static void explain(char *why, size_t whyn, uint32_t i, const uint8_t *name, size_t len, const char *what)
{
	char *e = escape_bytes(name, len);

	snprintf(why, whyn, "entry %lu \"%s\": %s", (unsigned long)i + 1, e, what);
	free(e);
}

int tree_decode_why(const uint8_t *p, size_t n, struct tree *t, char *why, size_t whyn)
{
	struct dec d;
	uint32_t cnt;

	memset(t, 0, sizeof *t);
	if (why && whyn)
		snprintf(why, whyn, "bad version, entry count or length");
	dec_init(&d, p, p ? n : 0);
	if (dec_u8(&d) != TREE_VERSION)
		dec_fail(&d);
	cnt = dec_u32(&d);
	if (count_ok(&d, cnt, NODE_ENC_MIN, MAX_LIST) && cnt > 0) {
		t->nodes = xcalloc(cnt, sizeof *t->nodes);
		t->n = cnt;
		for (uint32_t i = 0; i < cnt && dec_ok(&d); i++) {
			const uint8_t *at = d.p;
			size_t left = d.left;

			dec_node(&d, &t->nodes[i]);
			if (dec_ok(&d) && i > 0 && node_cmp(&t->nodes[i - 1], &t->nodes[i]) >= 0) {
				dec_fail(&d);
				if (why && whyn)
					explain(why, whyn, i, t->nodes[i].name, t->nodes[i].name_len,
					    "repeats a name or is out of order");
			} else if (!dec_ok(&d) && why && whyn) {
				/* the name comes first: was it the trouble? */
				uint32_t len = left >= 4 ? le32_get(at) : 0;

				if (left >= 4 && len <= left - 4 && !name_valid(at + 4, len))
					explain(why, whyn, i, at + 4, len > MAX_NAME ? MAX_NAME : len,
					    "not a valid name (empty, '.', '..', or with '/' or NUL)");
				else if (left >= 4 && len <= left - 4)
					explain(why, whyn, i, at + 4, len, "malformed");
				else
					snprintf(why, whyn, "entry %lu is cut short", (unsigned long)i + 1);
			}
		}
	}
	if (!dec_end(&d)) {
		if (dec_ok(&d) && why && whyn)
			snprintf(why, whyn, "trailing bytes after the last entry");
		tree_free(t);
		return -1;
	}
	return 0;
}

int tree_decode(const uint8_t *p, size_t n, struct tree *t)
{
	return tree_decode_why(p, n, t, NULL, 0);
}

void node_free(struct node *n)
{
	if (n == NULL)
		return;
	free(n->name);
	free(n->user);
	free(n->group);
	free(n->link);
	if (n->xattrs)
		for (uint32_t i = 0; i < n->n_xattrs; i++) {
			free(n->xattrs[i].name);
			free(n->xattrs[i].value);
		}
	free(n->xattrs);
	free(n->chunks);
	memset(n, 0, sizeof *n);
}

void tree_free(struct tree *t)
{
	if (t == NULL)
		return;
	if (t->nodes)
		for (uint32_t i = 0; i < t->n; i++)
			node_free(&t->nodes[i]);
	free(t->nodes);
	memset(t, 0, sizeof *t);
}
