/* test_store.c: the local store in a temporary directory — create, put,
 * get (whole and ranged), stat, list, delete, name checks, URL parsing,
 * file modes, direct I/O for page-aligned buffers, and concurrent
 * create-only puts from several processes. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "tap.h"
#include "util/buf.h"
#include "util/util.h"

static char top[PATH_MAX];	/* the mkdtemp directory */

static char *tpath(const char *rel)
{
	return xasprintf("%s/%s", top, rel);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int get_eq(struct store *s, const char *name, uint64_t off, uint64_t len, const void *want, size_t n)
{
	struct buf b;
	int r, eq;

	buf_init(&b, 1 << 24);
	r = store_get(s, name, off, len, &b);
	eq = r == 0 && b.len == n && (n == 0 || memcmp(b.p, want, n) == 0);
	buf_free(&b);
	return eq;
}

static int get_rc(struct store *s, const char *name, uint64_t off, uint64_t len)
{
	struct buf b;
	int r;

	buf_init(&b, 1 << 24);
	r = store_get(s, name, off, len, &b);
	buf_free(&b);
	return r;
}

/* A list collector: names joined by '\n' in sorted order after sort. */
struct names {
	char *v[64];
	uint64_t size[64];
	int n;
	int stop_after;	/* return 7 after this many, if > 0 */
};

static int collect(void *arg, const char *name, uint64_t size)
{
	struct names *c = arg;

	if (c->n < 64) {
		c->v[c->n] = xstrdup(name);
		c->size[c->n] = size;
	}
	c->n++;
	if (c->stop_after > 0 && c->n >= c->stop_after)
		return 7;
	return 0;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* names_sort(c): sort the names, keeping each size with its name. */
static void names_sort(struct names *c)
{
	int n = c->n < 64 ? c->n : 64;
	char *v[64];
	uint64_t size[64];

	memcpy(v, c->v, sizeof v);
	memcpy(size, c->size, sizeof size);
	qsort(c->v, (size_t)n, sizeof c->v[0], cmpstr);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (c->v[i] == v[j])
				c->size[i] = size[j];
}

static void names_free(struct names *c)
{
	for (int i = 0; i < c->n && i < 64; i++)
		free(c->v[i]);
	memset(c, 0, sizeof *c);
}

static void test_open(void)
{
	struct store *s;

	s = store_open("local:/tmp/x");
	OK(s != NULL && strcmp(store_url(s), "local:/tmp/x") == 0, "open local:/path, store_url gives the URL as given");
	store_close(s);
	s = store_open("file:/tmp/x");
	OK(s != NULL, "open file:/path");
	store_close(s);
	s = store_open("file:///tmp/x");
	OK(s != NULL, "open file:///path");
	store_close(s);
	s = store_open("/tmp/x/");
	OK(s != NULL, "open a plain absolute path");
	store_close(s);
	s = store_open("relative/dir");
	OK(s != NULL, "open a plain relative path");
	store_close(s);
	OK(store_open("s3://bucket/prefix") == NULL, "s3:// is rejected for now");
	OK(store_open("azure://account/container") == NULL, "azure:// is rejected for now");
	OK(store_open("http://example.com/x") == NULL, "http:// is rejected");
	OK(store_open("file://host/x") == NULL, "file:// with a host is rejected");
	OK(store_open("") == NULL, "an empty URL is rejected");
	OK(store_open("local:") == NULL, "local: without a path is rejected");
	store_close(NULL);
	OK(1, "store_close(NULL) is a no-op");
}

static void test_create(struct store *s, const char *root)
{
	char *p;
	struct stat st;
	int all = 1;

	OK(store_create(s) == 0, "create a new store");
	OK(stat(root, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700, "root is a directory of mode 0700");
	static const char *const dirs[] = { "keys", "config", "data", "index", "snapshots", "locks", "data/00", "data/7f", "data/ff" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		p = xasprintf("%s/%s", root, dirs[i]);
		if (!is_dir(p))
			all = 0;
		free(p);
	}
	OK(all, "layout directories exist");
	all = 0;
	p = xasprintf("%s/data", root);
	DIR *d = opendir(p);
	for (struct dirent *e; d && (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			all++;
	if (d)
		closedir(d);
	free(p);
	OK(all == 256, "data holds 256 shard directories (%d)", all);
	OK(store_create(s) == 1, "create again returns 1");
}

/* pages_cached(path): how many of the file's pages are in the page cache,
 * or -1. */
static long pages_cached(const char *path)
{
	long psz = sysconf(_SC_PAGESIZE), n = 0;
	struct stat st;
	unsigned char *vec;
	void *m;
	size_t pages;
	int fd = open(path, O_RDONLY);

	if (fd == -1 || fstat(fd, &st) == -1 || st.st_size == 0) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	pages = ((size_t)st.st_size + (size_t)psz - 1) / (size_t)psz;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	vec = xmalloc(pages);
	if (mincore(m, (size_t)st.st_size, vec) == 0)
		for (size_t i = 0; i < pages; i++)
			n += vec[i] & 1;
	else
		n = -1;
	free(vec);
	munmap(m, (size_t)st.st_size);
	return n;
}

/* A page-aligned buffer of 1 MiB or more is written with O_DIRECT (its
 * whole pages) and the rest through the page cache. */
static void test_put_direct(struct store *s, const char *root)
{
	static const size_t sizes[] = { 4u << 20, (3u << 20) + 17, (1u << 20) + 4095, (1u << 20) - 1 };
	struct statfs fs;

	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		size_t n = sizes[k];
		uint8_t *p = xmalloc_aligned(4096, n);
		char name[64], *path;
		long cached;

		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)((i * 7 + k) % 253);
		snprintf(name, sizeof name, "data/ef/direct%zu", k);
		OK(store_put(s, name, p, n) == 0, "put %zu bytes from a page-aligned buffer", n);
		path = xasprintf("%s/%s", root, name);
		/* only a file system known to do direct I/O: ext4 */
		cached = pages_cached(path);
		if (n >= (1u << 20) && statfs(root, &fs) == 0 && fs.f_type == EXT4_SUPER_MAGIC)
			OK(cached >= 0 && cached <= 1, "ext4: %zu bytes bypassed the page cache (%ld pages cached)", n, cached);
		OK(get_eq(s, name, 0, UINT64_MAX, p, n), "... and read back intact (%zu bytes)", n);
		OK(get_eq(s, name, n - 5, 5, p + n - 5, 5), "... its last bytes too");
		OK(store_delete(s, name) == 0, "... and delete it");
		free(path);
		free(p);
	}
}

static void test_put_get(struct store *s, const char *root)
{
	static const char msg[] = "hello, twofold";
	const char *name = "data/ab/abcdef0123";
	uint64_t size = 0;
	char *p;
	struct stat st;
	struct buf b;

	OK(store_put(s, name, msg, sizeof msg - 1) == 0, "put a new object");
	OK(get_eq(s, name, 0, UINT64_MAX, msg, sizeof msg - 1), "get returns the object");
	OK(store_put(s, name, "other", 5) == 1, "put of an existing name returns 1");
	OK(get_eq(s, name, 0, UINT64_MAX, msg, sizeof msg - 1), "... and leaves the content alone");
	OK(get_eq(s, name, 7, 7, "twofold", 7), "ranged get in the middle");
	OK(get_eq(s, name, 7, UINT64_MAX, "twofold", 7), "ranged get to the end with UINT64_MAX");
	OK(get_eq(s, name, 0, 5, "hello", 5), "ranged get at the start");
	OK(get_eq(s, name, 14, UINT64_MAX, "", 0), "get at the very end gives nothing");
	OK(get_eq(s, name, 14, 0, "", 0), "get of zero bytes at the end");
	OK(get_rc(s, name, 10, 5) == -1, "range past the end is an error");
	OK(get_rc(s, name, 15, UINT64_MAX) == -1, "offset past the end is an error");
	OK(get_rc(s, name, 1, UINT64_MAX - 1) == -1, "range overflowing 64 bits is an error");
	OK(get_rc(s, "data/ab/missing", 0, UINT64_MAX) == 1, "get of a missing object returns 1");
	OK(get_rc(s, "nodir/deeper/missing", 0, UINT64_MAX) == 1, "get below a missing directory returns 1");
	OK(get_rc(s, "data/ab/abcdef0123/below", 0, UINT64_MAX) == 1, "get below an object returns 1");
	OK(store_stat(s, name, &size) == 0 && size == 14, "stat gives the size");
	OK(store_stat(s, "data/ab/missing", &size) == 1, "stat of a missing object returns 1");
	OK(store_stat(s, "data/ab", &size) == -1, "stat of a directory is an error");

	/* appending to a buffer that already holds bytes */
	buf_init(&b, 1024);
	buf_append(&b, "xy", 2);
	OK(store_get(s, name, 0, 5, &b) == 0 && b.len == 7 && memcmp(b.p, "xyhello", 7) == 0, "get appends to the buffer");
	buf_free(&b);
	buf_init(&b, 10);
	OK(store_get(s, name, 0, UINT64_MAX, &b) == -1 && b.len == 0, "get past the buffer's max is an error");
	buf_free(&b);

	p = xasprintf("%s/%s", root, name);
	if (stat(p, &st) == -1)
		st.st_mode = 0;
	OK((st.st_mode & 0777) == 0600, "object file has mode 0600 (%o)", (unsigned)(st.st_mode & 0777));
	free(p);

	OK(store_put(s, "snapshots/empty", "", 0) == 0, "put a zero-length object");
	OK(store_stat(s, "snapshots/empty", &size) == 0 && size == 0, "zero-length object has size 0");
	OK(get_eq(s, "snapshots/empty", 0, UINT64_MAX, "", 0), "zero-length object round-trips");
	OK(get_rc(s, "snapshots/empty", 0, 1) == -1, "one byte of a zero-length object is an error");

	OK(store_put(s, "index/new/deep/er/obj", msg, 5) == 0, "put into a deep new directory");
	OK(get_eq(s, "index/new/deep/er/obj", 0, UINT64_MAX, msg, 5), "... and get it back");
	p = xasprintf("%s/index/new/deep", root);
	OK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700, "new directories have mode 0700");
	free(p);
	OK(store_put(s, "toplevel", msg, 3) == 0, "put at the top level");

	/* one large object, bigger than one write or read */
	{
		size_t n = 3 * 1024 * 1024 + 17;
		uint8_t *big = xmalloc(n);

		for (size_t i = 0; i < n; i++)
			big[i] = (uint8_t)(i % 251);
		OK(store_put(s, "data/cd/big", big, n) == 0, "put 3 MiB");
		OK(get_eq(s, "data/cd/big", 0, UINT64_MAX, big, n), "get 3 MiB back");
		OK(get_eq(s, "data/cd/big", 1000000, 5000, big + 1000000, 5000), "ranged get inside 3 MiB");
		free(big);
	}
	test_put_direct(s, root);
}

static int dir_has_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	int found = 0;

	for (struct dirent *e; d && (e = readdir(d)) != NULL;)
		if (strncmp(e->d_name, ".tmp-", 5) == 0)
			found = 1;
	if (d)
		closedir(d);
	return found;
}

static void test_list(struct store *s, const char *root)
{
	struct names c = { 0 };
	char *p;
	FILE *f;
	int r;

	OK(store_put(s, "snapshots/aaa", "1", 1) == 0 && store_put(s, "snapshots/bbb", "22", 2) == 0 &&
	    store_put(s, "snapshots/sub/ccc", "333", 3) == 0, "put three snapshots");
	p = xasprintf("%s/snapshots/.tmp-x", root);
	f = fopen(p, "w");
	if (f)
		fclose(f);
	free(p);
	p = xasprintf("%s/snapshots/UPPER", root);
	f = fopen(p, "w");
	if (f)
		fclose(f);
	free(p);
	p = xasprintf("%s/snapshots/link", root);
	r = symlink("aaa", p);
	free(p);
	OK(r == 0, "stray files made");

	r = store_list(s, "snapshots/", collect, &c);
	OK(r == 0, "list snapshots/");
	names_sort(&c);
	OK(c.n == 4 && strcmp(c.v[0], "snapshots/aaa") == 0 && strcmp(c.v[1], "snapshots/bbb") == 0 &&
	    strcmp(c.v[2], "snapshots/empty") == 0 && strcmp(c.v[3], "snapshots/sub/ccc") == 0,
	    "list gives exactly the objects put, no temporary or stray files (%d)", c.n);
	OK(c.n == 4 && c.size[0] == 1 && c.size[1] == 2 && c.size[2] == 0 && c.size[3] == 3, "list gives the sizes");
	names_free(&c);

	OK(store_list(s, "snapshots/b", collect, &c) == 0 && c.n == 1 && strcmp(c.v[0], "snapshots/bbb") == 0,
	    "a partial-name prefix lists matching names only");
	names_free(&c);
	OK(store_list(s, "snapshots", collect, &c) == 0 && c.n == 4, "prefix without '/' lists below it");
	names_free(&c);
	OK(store_list(s, "snapshots/sub/", collect, &c) == 0 && c.n == 1 && strcmp(c.v[0], "snapshots/sub/ccc") == 0,
	    "list of a subdirectory");
	names_free(&c);
	OK(store_list(s, "nothing/here/", collect, &c) == 0 && c.n == 0, "missing prefix directory lists nothing");
	names_free(&c);
	OK(store_list(s, "snapshots/aaa/", collect, &c) == 0 && c.n == 0, "prefix below an object lists nothing");
	names_free(&c);
	r = store_list(s, "data/", collect, &c);
	OK(r == 0 && c.n == 2, "list data/ walks the shards (%d)", c.n);
	names_free(&c);
	r = store_list(s, "", collect, &c);
	OK(r == 0 && c.n == 8, "list of everything (%d)", c.n);
	names_free(&c);
	c.stop_after = 2;
	OK(store_list(s, "snapshots/", collect, &c) == 7 && c.n == 2, "a callback's non-zero return stops the walk");
	names_free(&c);
	OK(store_list(s, "../", collect, &c) == -1, "list rejects a bad prefix");
	OK(store_list(s, "/snapshots", collect, &c) == -1, "list rejects an absolute prefix");
	names_free(&c);
}

static void test_delete(struct store *s)
{
	OK(store_delete(s, "snapshots/bbb") == 0, "delete");
	OK(get_rc(s, "snapshots/bbb", 0, UINT64_MAX) == 1, "get after delete returns 1");
	OK(store_delete(s, "snapshots/bbb") == 1, "delete again returns 1");
	OK(store_delete(s, "snapshots/nodir/x") == 1, "delete below a missing directory returns 1");
	OK(store_put(s, "snapshots/bbb", "new", 3) == 0, "put again after delete");
	OK(get_eq(s, "snapshots/bbb", 0, UINT64_MAX, "new", 3), "... gives the new content");
}

static void test_names(struct store *s)
{
	static const char *const bad[] = {
		"../x", "/x", "a//b", "A", "a/", "", "a/../b", "a/./b", ".hidden",
		"data/.tmp-1", "a b", "a\\b", "data/ab/x\n", "caf\xc3\xa9",
	};
	char longname[300];
	uint64_t size;
	int all;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf b;

		buf_init(&b, 100);
		all = store_put(s, bad[i], "x", 1) == -1 && store_get(s, bad[i], 0, UINT64_MAX, &b) == -1 &&
		    store_stat(s, bad[i], &size) == -1 && store_delete(s, bad[i]) == -1;
		buf_free(&b);
		OK(all, "invalid name %zu (\"%s\") is rejected by put, get, stat and delete", i,
		    strchr(bad[i], '\n') ? "...\\n" : bad[i]);
	}
	memset(longname, 'a', sizeof longname);
	longname[256] = '\0';
	OK(store_put(s, longname, "x", 1) == -1, "a 256-byte name is rejected");
	longname[255] = '\0';
	OK(store_put(s, longname, "x", 1) == 0, "a 255-byte name is accepted");
	OK(store_put(s, "a-b_c.d/0-9.z", "x", 1) == 0, "all allowed characters are accepted");
	OK(store_delete(s, longname) == 0 && store_delete(s, "a-b_c.d/0-9.z") == 0, "and deleted again");
}

/* test_put_fails: puts that cannot succeed return -1 and leave nothing. */
static void test_put_fails(struct store *s, const char *root)
{
	struct store *t;
	char *p, *u;

	OK(store_put(s, "data/ab/abcdef0123/below", "x", 1) == -1, "put below an object fails");
	p = xasprintf("%s/data/ab", root);
	OK(!dir_has_tmp(p), "... and leaves no temporary file");
	free(p);
	u = tpath("never-created");
	t = store_open(u);
	OK(t != NULL && store_put(t, "data/00/x", "x", 1) == -1, "put into a store never created fails");
	OK(t != NULL && get_rc(t, "data/00/x", 0, UINT64_MAX) == 1, "get from a store never created returns 1");
	store_close(t);
	free(u);
	if (geteuid() != 0) {
		p = xasprintf("%s/locks", root);
		chmod(p, 0500);
		OK(store_put(s, "locks/x", "x", 1) == -1, "put into a read-only directory fails");
		chmod(p, 0700);
		free(p);
	}
}

static void test_relative(void)
{
	char cwd[PATH_MAX];
	struct store *s;
	int ok;

	if (getcwd(cwd, sizeof cwd) == NULL || chdir(top) == -1) {
		OK(0, "chdir");
		return;
	}
	s = store_open("rel/store");
	ok = s != NULL && chdir("/") == 0 && store_create(s) == 0 && store_put(s, "data/00/x", "y", 1) == 0;
	OK(ok, "a relative path is made absolute at open");
	{
		char *p = tpath("rel/store/data/00/x");
		struct stat st;

		OK(stat(p, &st) == 0, "... and the object lands below the directory it named then");
		free(p);
	}
	store_close(s);
	if (chdir(cwd) == -1)
		OK(0, "chdir back");
}

/* test_concurrent: four processes put one name at once, each with its own
 * content; exactly one wins and the object is that one's content whole. */
static void test_concurrent(struct store *s, const char *root)
{
	enum { NPROC = 4, SIZE = 1 << 20 };
	const char *name = "data/ee/race";
	int go[2], ready[2], wins = 0, exists = 0, other = 0;
	pid_t pid[NPROC];
	uint8_t *content[NPROC];
	struct buf b;
	char *dir;

	for (int k = 0; k < NPROC; k++) {
		content[k] = xmalloc(SIZE);
		for (size_t i = 0; i < SIZE; i++)
			content[k][i] = (uint8_t)(k * 37 + i % 251);
	}
	if (pipe(go) == -1 || pipe(ready) == -1) {
		OK(0, "pipe");
		return;
	}
	fflush(stdout);
	for (int k = 0; k < NPROC; k++) {
		pid[k] = fork();
		if (pid[k] == 0) {
			char c;
			int r;

			close(go[1]);
			close(ready[0]);
			if (write(ready[1], "r", 1) != 1)
				_exit(9);
			if (read(go[0], &c, 1) != 0)	/* wait for the parent to close */
				_exit(9);
			r = store_put(s, name, content[k], SIZE);
			_exit(r == 0 ? 0 : r == 1 ? 1 : 2);
		}
	}
	close(go[0]);
	close(ready[1]);
	for (int k = 0; k < NPROC; k++) {
		char c;

		if (read(ready[0], &c, 1) != 1)
			break;
	}
	close(go[1]);	/* all start now */
	close(ready[0]);
	for (int k = 0; k < NPROC; k++) {
		int st;

		if (pid[k] > 0 && waitpid(pid[k], &st, 0) == pid[k] && WIFEXITED(st)) {
			if (WEXITSTATUS(st) == 0)
				wins++;
			else if (WEXITSTATUS(st) == 1)
				exists++;
			else
				other++;
		} else {
			other++;
		}
	}
	OK(wins == 1 && exists == NPROC - 1 && other == 0,
	    "concurrent puts: exactly one returns 0, the others 1 (%d, %d, %d)", wins, exists, other);
	buf_init(&b, 2 * SIZE);
	OK(store_get(s, name, 0, UINT64_MAX, &b) == 0 && b.len == SIZE, "concurrent puts: object has the full size");
	int match = 0;
	for (int k = 0; k < NPROC; k++)
		if (b.len == SIZE && memcmp(b.p, content[k], SIZE) == 0)
			match++;
	OK(match == 1, "concurrent puts: object is one writer's content, whole");
	buf_free(&b);
	dir = xasprintf("%s/data/ee", root);
	OK(!dir_has_tmp(dir), "concurrent puts: no temporary files left");
	free(dir);
	for (int k = 0; k < NPROC; k++)
		free(content[k]);
}

static void cleanup(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
}

int main(void)
{
	const char *tmpdir = getenv("TMPDIR");
	struct store *s;
	char *root, *url;
	int r;

	r = snprintf(top, sizeof top, "%s/twofold-test-store-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (r < 0 || (size_t)r >= sizeof top || mkdtemp(top) == NULL) {
		OK(0, "mkdtemp");
		return tap_done();
	}
	umask(022);
	test_open();
	root = tpath("repo/nested");
	url = xasprintf("local:%s", root);
	s = store_open(url);
	OK(s != NULL, "open %s", url);
	if (s == NULL)
		return tap_done();
	test_create(s, root);
	test_put_get(s, root);
	{
		char *d = xasprintf("%s/data/ab", root);

		OK(!dir_has_tmp(d), "no temporary files left after puts");
		free(d);
	}
	test_list(s, root);
	test_delete(s);
	test_names(s);
	test_put_fails(s, root);
	test_concurrent(s, root);
	store_close(s);

	/* a second handle on the same directory sees the same objects */
	s = store_open(root);
	OK(s != NULL && store_create(s) == 1 && get_eq(s, "snapshots/aaa", 0, UINT64_MAX, "1", 1),
	    "a plain-path handle sees the same repository");
	store_close(s);
	test_relative();

	free(url);
	free(root);
	cleanup(top);
	return tap_done();
}
