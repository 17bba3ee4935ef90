/* objtool: the objects of a store, through twofold's own store layer, for
 * tests that must read, damage or remove objects of a repository in a
 * cloud store (where there are no files to edit).
 *
 *   objtool URL list [PREFIX]   "NAME SIZE" per object, sorted by name
 *   objtool URL get NAME        the object's bytes on stdout
 *   objtool URL put NAME        create the object from stdin (create-only:
 *                               exit 1 if it exists; delete it first to
 *                               replace it)
 *   objtool URL delete NAME     remove it (exit 1 if it does not exist)
 *   objtool URL copy DSTURL     every object into another store or prefix
 *
 * URL is a store URL as twofold takes it (a path, azure://..., s3://...),
 * with credentials from the environment.  Exit 0 ok, 1 missing/exists, 2
 * error (after twofold's message). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/util.h"

#define OBJ_MAX ((size_t)1 << 30)

struct entry {
	char *name;
	uint64_t size;
};

struct list {
	struct entry *e;
	size_t n, cap;
};

static int collect(void *arg, const char *name, uint64_t size)
{
	struct list *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->e = xreallocarray(l->e, l->cap, sizeof *l->e);
	}
	l->e[l->n].name = xstrdup(name);
	l->e[l->n].size = size;
	l->n++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int list(struct store *s, const char *prefix, struct list *l)
{
	memset(l, 0, sizeof *l);
	if (store_list(s, prefix, collect, l) != 0)
		return -1;
	if (l->n > 0)
		qsort(l->e, l->n, sizeof *l->e, by_name);
	return 0;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->e[i].name);
	free(l->e);
}

static int read_stdin(struct buf *b)
{
	for (;;) {
		uint8_t *p = buf_reserve(b, 65536);
		ssize_t r;

		if (p == NULL)
			return -1;
		r = read(0, p, 65536);
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		b->len += (size_t)r;
	}
}

static int status(int rc)
{
	return rc == 0 ? 0 : rc == 1 ? 1 : 2;
}

int main(int argc, char **argv)
{
	struct store *s, *d;
	struct list l;
	struct buf b;
	const char *cmd;
	int rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: objtool URL list [PREFIX] | get NAME | put NAME | "
		    "delete NAME | copy DSTURL\n");
		return 2;
	}
	cmd = argv[2];
	if ((s = store_open(argv[1])) == NULL)
		return 2;
	buf_init(&b, OBJ_MAX);
	if (strcmp(cmd, "list") == 0 && argc <= 4) {
		if (list(s, argc == 4 ? argv[3] : "", &l) != 0) {
			rc = -1;
		} else {
			for (size_t i = 0; i < l.n; i++)
				printf("%s %llu\n", l.e[i].name, (unsigned long long)l.e[i].size);
			list_free(&l);
		}
	} else if (strcmp(cmd, "get") == 0 && argc == 4) {
		rc = store_get(s, argv[3], 0, UINT64_MAX, &b);
		if (rc == 0 && fwrite(b.p, 1, b.len, stdout) != b.len)
			rc = -1;
	} else if (strcmp(cmd, "put") == 0 && argc == 4) {
		if (read_stdin(&b) != 0) {
			errmsg("objtool: cannot read stdin");
			rc = -1;
		} else {
			rc = store_put(s, argv[3], b.p ? (const void *)b.p : "", b.len);
		}
	} else if (strcmp(cmd, "delete") == 0 && argc == 4) {
		rc = store_delete(s, argv[3]);
	} else if (strcmp(cmd, "copy") == 0 && argc == 4) {
		if ((d = store_open(argv[3])) == NULL) {
			rc = -1;
		} else {
			if (list(s, "", &l) != 0) {
				rc = -1;
			} else {
				for (size_t i = 0; i < l.n && rc >= 0; i++) {
					b.len = 0;
					rc = store_get(s, l.e[i].name, 0, UINT64_MAX, &b);
					if (rc == 0)
						rc = store_put(d, l.e[i].name, b.p ? (const void *)b.p : "", b.len);
				}
				list_free(&l);
			}
			store_close(d);
		}
	} else {
		fprintf(stderr, "objtool: unknown command %s (or wrong arguments)\n", cmd);
		rc = -1;
	}
	if (fflush(stdout) != 0)
		rc = -1;
	buf_free(&b);
	store_close(s);
	return status(rc);
}
