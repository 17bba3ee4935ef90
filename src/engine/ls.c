/* ls.c: list a snapshot's entries by their full snapshot paths, walking
 * its trees from the root (or from a path inside it); snapshot_path_split.
 *
 * Names are bytes: the plain and long formats escape control bytes,
 * backslashes and bytes that are not valid UTF-8 as \xNN; --json leaves
 * that to the JSON writer (one object per line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "util/json.h"
#include "util/util.h"

#define LS_MAX_DEPTH 4096	/* directory levels, against crafted tree chains */

struct lctx {
	struct repo *r;
	const struct ls_opts *o;
	struct buf path;	/* raw snapshot path of the entry being shown */
	unsigned depth;
	int errors;
};

int snapshot_path_split(char *path, char **parts, int max)
{
	char *p = path;
	int n = 0;

	while (*p != '\0') {
		char *s;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		s = p;
		while (*p != '\0' && *p != '/')
			p++;
		if (*p != '\0')
			*p++ = '\0';
		if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || n >= max)
			return -1;
		parts[n++] = s;
	}
	return n;
}

/* put_esc(f, p, n): bytes as printable text (see the top of the file). */
static void put_esc(FILE *f, const void *p, size_t n)
{
	char *s = escape_bytes(p, n);

	fputs(s, f);
	free(s);
}

static const char *type_name(uint8_t t)
{
	switch (t) {
	case NODE_FILE: return "file";
	case NODE_DIR: return "dir";
	case NODE_SYMLINK: return "symlink";
	case NODE_FIFO: return "fifo";
	case NODE_CHAR: return "chardev";
	case NODE_BLOCK: return "blockdev";
	case NODE_SOCKET: return "socket";
	default: return "unknown";
	}
}

/* mode_string(n, s): "drwxr-sr-t" style. */
static void mode_string(const struct node *n, char s[11])
{
	static const char types[] = "?-dlpcbs";
	static const char rwx[] = "rwxrwxrwx";
	uint32_t m = n->mode;

	s[0] = n->type <= NODE_SOCKET ? types[n->type] : '?';
	for (int i = 0; i < 9; i++)
		s[1 + i] = m & (0400u >> i) ? rwx[i] : '-';
	if (m & 04000)
		s[3] = m & 0100 ? 's' : 'S';
	if (m & 02000)
		s[6] = m & 0010 ? 's' : 'S';
	if (m & 01000)
		s[9] = m & 0001 ? 't' : 'T';
	s[10] = '\0';
}

static void print_json(struct lctx *c, const struct node *n)
{
	struct json j;

	json_init(&j, stdout);
	json_begin_obj(&j);
	json_key(&j, "path");
	json_strn(&j, c->path.p, c->path.len);
	json_key(&j, "name");
	json_strn(&j, n->name, n->name_len);
	json_kstr(&j, "type", type_name(n->type));
	json_ku64(&j, "size", n->size);
	json_ku64(&j, "mode", n->mode);
	json_ku64(&j, "uid", n->uid);
	json_ku64(&j, "gid", n->gid);
	json_kstr(&j, "user", n->user ? n->user : "");
	json_kstr(&j, "group", n->group ? n->group : "");
	json_key(&j, "mtime");
	json_time(&j, n->mtime_ns);
	if (n->type == NODE_SYMLINK) {
		json_key(&j, "link");
		json_strn(&j, n->link, n->link_len);
	}
	json_end_obj(&j);
	fputc('\n', stdout);
}

static void print_long(struct lctx *c, const struct node *n)
{
	char mode[11], who[64], size[48], t[32], num[16];
	const char *u = n->user, *g = n->group;
	char *ue = NULL, *ge = NULL;

	mode_string(n, mode);
	if (u == NULL || u[0] == '\0') {
		snprintf(num, sizeof num, "%lu", (unsigned long)n->uid);
		u = ue = xstrdup(num);
	} else {
		u = ue = escape_bytes(u, strlen(u));
	}
	if (g == NULL || g[0] == '\0') {
		snprintf(num, sizeof num, "%lu", (unsigned long)n->gid);
		g = ge = xstrdup(num);
	} else {
		g = ge = escape_bytes(g, strlen(g));
	}
	snprintf(who, sizeof who, "%s/%s", u, g);
	if (n->type == NODE_CHAR || n->type == NODE_BLOCK)
		snprintf(size, sizeof size, "%u, %u", major((dev_t)n->rdev), minor((dev_t)n->rdev));
	else
		snprintf(size, sizeof size, "%llu", (unsigned long long)n->size);
	printf("%s %-17s %10s %s ", mode, who, size, fmt_time(n->mtime_ns, t, sizeof t));
	put_esc(stdout, c->path.p, c->path.len);
	if (n->type == NODE_SYMLINK) {
		fputs(" -> ", stdout);
		put_esc(stdout, n->link, n->link_len);
	}
	fputc('\n', stdout);
	free(ue);
	free(ge);
}

/* show(c, n): one line for n, whose full path is in c->path. */
static void show(struct lctx *c, const struct node *n)
{
	if (c->o->json) {
		print_json(c, n);
	} else if (c->o->long_format) {
		print_long(c, n);
	} else {
		put_esc(stdout, c->path.p, c->path.len);
		fputc('\n', stdout);
	}
}

static const char *tree_trouble(int rc)
{
	return rc == R_MISSING ? "its tree is missing" : rc == R_CORRUPT ?
	    "its tree is damaged" : "its tree cannot be read";
}

/* complain(c, why): the entry at c->path cannot be listed. */
static void complain(struct lctx *c, const char *why)
{
	char *p = escape_bytes(c->path.p, c->path.len);

	errmsg("cannot list %s: %s", p[0] ? p : "/", why);
	free(p);
	c->errors++;
}

static void walk(struct lctx *c, const struct tree *t, int recurse);

/* list_dir(c, n): the entries of directory n, whose path is in c->path. */
static void list_dir(struct lctx *c, const struct node *n, int recurse)
{
	struct tree sub;
	int rc;

	if (c->depth >= LS_MAX_DEPTH) {
		complain(c, "it is more than 4096 directory levels deep");
		return;
	}
	if ((rc = repo_load_tree(c->r, n->subtree, &sub)) != 0) {
		complain(c, tree_trouble(rc));
		return;
	}
	c->depth++;
	walk(c, &sub, recurse);
	c->depth--;
	tree_free(&sub);
}

static void walk(struct lctx *c, const struct tree *t, int recurse)
{
	for (uint32_t i = 0; i < t->n; i++) {
		const struct node *n = &t->nodes[i];
		size_t base = c->path.len;

		if (buf_append(&c->path, "/", 1) != 0 || buf_append(&c->path, n->name, n->name_len) != 0) {
			c->path.len = base;
			complain(c, "the path is too long");
			continue;
		}
		show(c, n);
		if (n->type == NODE_DIR && recurse)
			list_dir(c, n, 1);
		c->path.len = base;
	}
}

static const struct node *find_node(const struct tree *t, const char *name)
{
	size_t len = strlen(name);

	for (uint32_t i = 0; i < t->n; i++)
		if (t->nodes[i].name_len == len && memcmp(t->nodes[i].name, name, len) == 0)
			return &t->nodes[i];
	return NULL;
}

/* list_path(c, root, parts, n): show the entry at parts and, for a
 * directory, what it holds.  0, or -1 if it is not in the snapshot. */
static int list_path(struct lctx *c, const struct tree *root, char **parts, int n)
{
	struct tree cur = { 0, NULL }, next;
	const struct tree *t = root;
	const struct node *nd = NULL;
	int rc = -1;

	for (int k = 0; k < n; k++) {
		if ((nd = find_node(t, parts[k])) == NULL)
			break;
		buf_append(&c->path, "/", 1);
		buf_append(&c->path, parts[k], strlen(parts[k]));
		if (k == n - 1) {
			show(c, nd);
			if (nd->type == NODE_DIR)
				list_dir(c, nd, c->o->recursive);
			rc = 0;
			break;
		}
		if (nd->type != NODE_DIR)
			break;
		if ((rc = repo_load_tree(c->r, nd->subtree, &next)) != 0) {
			complain(c, tree_trouble(rc));
			rc = -2;
			break;
		}
		rc = -1;
		tree_free(&cur);
		cur = next;
		t = &cur;
	}
	tree_free(&cur);
	return rc;
}

int engine_ls(struct repo *r, const struct snap_item *snap, const struct ls_opts *o)
{
	struct lctx c;
	struct tree root;
	int rc;

	memset(&c, 0, sizeof c);
	c.r = r;
	c.o = o;
	buf_init(&c.path, (size_t)(LS_MAX_DEPTH + 2) * (MAX_NAME + 1));
	if ((rc = repo_load_tree(r, snap->s.tree, &root)) != 0) {
		errmsg("cannot list the snapshot: %s", tree_trouble(rc));
		buf_free(&c.path);
		return -1;
	}
	if (o->path == NULL) {
		walk(&c, &root, o->recursive);
	} else {
		size_t len = strlen(o->path);
		char *copy = xstrdup(o->path), **parts = xcalloc(len / 2 + 2, sizeof *parts);
		int n = snapshot_path_split(copy, parts, (int)(len / 2 + 1));

		if (n < 0) {
			char *e = escape_bytes(o->path, len);

			errmsg("%s: not a snapshot path (absolute, without '.' or '..')", e);
			free(e);
			c.errors++;
		} else if (n == 0) {
			walk(&c, &root, o->recursive);
		} else if ((rc = list_path(&c, &root, parts, n)) != 0) {
			if (rc == -1) {
				char *e = escape_bytes(o->path, len);

				errmsg("%s: no such path in the snapshot", e);
				free(e);
			}
			c.errors++;
		}
		free(parts);
		free(copy);
	}
	tree_free(&root);
	buf_free(&c.path);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errmsg_errno("cannot write the listing");
		return -1;
	}
	return c.errors ? -1 : 0;
}
