/* test_copies.c: a store of several copies (store_multi.c) on local
 * directories: parallel puts, failover on missing and damaged objects,
 * union listing, store_distrust, a copy going down mid-session and what it
 * lacks, store_copies_sync (compare, verify, fix), credentials files, and
 * the names that carry a SHA-256. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "store/store.h"
#include "tap.h"
#include "util/util.h"

static char top[PATH_MAX];

static char *tpath(const char *rel)
{
	return xasprintf("%s/%s", top, rel);
}

/* content_name(p, n, prefix, out): "PREFIX/<sha256 hex>" of the bytes. */
static void content_name(const void *p, size_t n, const char *prefix, char out[128])
{
	uint8_t h[32];
	char hex[65];

	sha256(p, n, h);
	hex_encode(h, 32, hex);
	snprintf(out, 128, "%s/%s", prefix, hex);
}

static int get_is(struct store *s, const char *name, const char *want)
{
	struct buf b;
	int ok;

	buf_init(&b, 1 << 20);
	ok = store_get(s, name, 0, UINT64_MAX, &b) == 0 && b.len == strlen(want) &&
	    memcmp(b.p, want, b.len) == 0;
	buf_free(&b);
	return ok;
}

static int count(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	++*(int *)arg;
	return 0;
}

static int n_listed(struct store *s, const char *prefix)
{
	int n = 0;

	return store_list(s, prefix, count, &n) == 0 ? n : -1;
}

static void overwrite(const char *path, const char *bytes)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(bytes, f);
		fclose(f);
	}
}

struct seen {
	int missing, corrupt, fixed, other;
};

static void on_problem(void *arg, const char *copy, const char *name, int problem)
{
	struct seen *s = arg;

	(void)copy;
	(void)name;
	if (problem == COPY_MISSING)
		s->missing++;
	else if (problem == COPY_CORRUPT)
		s->corrupt++;
	else if (problem == COPY_FIXED)
		s->fixed++;
	else
		s->other++;
}

static void test_names(void)
{
	uint8_t h[32];
	char name[128];

	content_name("x", 1, "index", name);
	OK(store_name_hash(name, h) == 0, "index/<hex> carries a hash");
	OK(store_content_ok(name, (const uint8_t *)"x", 1) == 1, "and the bytes match it");
	OK(store_content_ok(name, (const uint8_t *)"y", 1) == 0, "other bytes do not");
	OK(store_name_hash("config/0000000000000002-" "0000000000000000000000000000000000000000000000000000000000000000", h) == 0,
	    "config/<seq>-<hex> carries a hash");
	OK(store_name_hash("locks/condemned-abc", h) == -1, "a lock name carries none");
	OK(store_content_ok("locks/x", (const uint8_t *)"y", 1) == 1, "and is not checked");
}

int main(void)
{
	char *a, *b, *urls, *dup;
	struct store *s;
	struct store_copy_info ci;
	struct store_sync_stats st[2];
	struct seen seen = { 0 };
	char n1[128], n2[128], n3[128], path[PATH_MAX + 200];
	struct buf buf;

	if (crypto_init() != 0)
		return 1;
	snprintf(top, sizeof top, "%s/twofold-copies.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		return 1;
	test_names();
	a = tpath("a");
	b = tpath("b");
	dup = xasprintf("%s\n%s", a, a);
	OK(store_open(dup) == NULL, "a copy named twice is refused");
	/* the cloud copy would come second even if named first: local first */
	urls = xasprintf("%s\n%s", a, b);
	s = store_open(urls);
	OK(s != NULL && store_copies(s) == 2, "two copies open as one store");
	OK(strcmp(store_url(store_copy(s, 0)), a) == 0, "in the order given (both local)");
	OK(store_create(s) == 0, "create makes both");

	content_name("one", 3, "index", n1);
	content_name("two", 3, "index", n2);
	content_name("three", 5, "index", n3);
	OK(store_put(s, n1, "one", 3) == 0 && store_put(s, n2, "two", 3) == 0, "puts succeed");
	snprintf(path, sizeof path, "%s/%s", b, n1);
	OK(access(path, F_OK) == 0, "the second copy holds the object too");
	OK(store_put(s, n1, "one", 3) == 1, "create-only across copies");

	/* missing from the first copy: served by the second */
	snprintf(path, sizeof path, "%s/%s", a, n1);
	unlink(path);
	OK(get_is(s, n1, "one"), "an object missing from copy a is read from copy b");
	store_copy_info(s, 0, &ci);
	OK(ci.missing == 1, "copy a counts it missing");
	store_copy_info(s, 1, &ci);
	OK(ci.served == 1 && ci.served_bytes == 3, "copy b counts what it served");

	/* damaged in the first copy: its name says so, the second serves */
	snprintf(path, sizeof path, "%s/%s", a, n2);
	overwrite(path, "TWO");
	OK(get_is(s, n2, "two"), "a damaged object of copy a is read from copy b");
	store_copy_info(s, 0, &ci);
	OK(ci.corrupt == 1, "copy a counts it damaged");
	buf_init(&buf, 1 << 20);
	OK(store_get(s, n2, 0, 2, &buf) == 0 && buf.len == 2 && memcmp(buf.p, "tw", 2) == 0,
	    "ranged reads skip the copy known to be damaged");
	buf_free(&buf);

	/* damage the caller found (a ranged read): store_distrust */
	OK(store_put(s, n3, "three", 5) == 0, "a third object");
	snprintf(path, sizeof path, "%s/%s", a, n3);
	overwrite(path, "thrEE");
	buf_init(&buf, 1 << 20);
	OK(store_get(s, n3, 0, 3, &buf) == 0 && memcmp(buf.p, "thr", 3) == 0, "a ranged read comes from copy a");
	OK(store_distrust(s, n3) == 0, "distrust: another copy is left");
	buf.len = 0;
	OK(store_get(s, n3, 3, 2, &buf) == 0 && memcmp(buf.p, "ee", 2) == 0, "the next read comes from copy b");
	OK(store_distrust(s, n3) == 1, "distrust again: no copy is left");
	buf_free(&buf);

	OK(n_listed(s, "index/") == 3, "listing is the union (copy a lacks one)");

	/* compare and heal */
	OK(store_copies_sync(s, COPIES_VERIFY, 0, on_problem, &seen, st) == 0, "verify runs");
	OK(seen.missing == 1 && seen.corrupt == 2 && seen.fixed == 0, "verify finds 1 missing and 2 damaged on copy a");
	OK(st[0].missing == 1 && st[0].corrupt == 2 && st[1].missing == 0 && st[1].corrupt == 0,
	    "and counts them per copy");
	memset(&seen, 0, sizeof seen);
	OK(store_copies_sync(s, COPIES_FIX, UINT32_MAX, on_problem, &seen, st) == 0 && seen.fixed == 1,
	    "sync (no verify) adds only the missing object");
	memset(&seen, 0, sizeof seen);
	OK(store_copies_sync(s, COPIES_VERIFY | COPIES_FIX, UINT32_MAX, on_problem, &seen, st) == 0 &&
	    seen.corrupt == 2 && seen.fixed == 2, "repair replaces the damaged ones");
	memset(&seen, 0, sizeof seen);
	OK(store_copies_sync(s, COPIES_VERIFY, 0, on_problem, &seen, st) == 0 &&
	    seen.missing + seen.corrupt + seen.other == 0 && st[0].objects == st[1].objects,
	    "then the copies are identical");
	store_close(s);

	/* a copy that goes away: puts go on, what it lacks is recorded */
	s = store_open(urls);
	snprintf(path, sizeof path, "%s/index", b);
	chmod(path, 0500);
	if (geteuid() == 0) {
		/* root writes anyway: take the directory away instead */
		char *moved = tpath("b-away");

		rename(b, moved);
		if (symlink("/proc/self/nonexistent", b) != 0)
			return 1;
		free(moved);
	}
	{
		char n4[128];

		content_name("four", 4, "index", n4);
		OK(store_put(s, n4, "four", 4) == 0, "a put succeeds while copy b fails");
		store_copy_info(s, 1, &ci);
		OK(ci.down == 1 && ci.n_lacks == 1 && strcmp(ci.lacks[0], n4) == 0, "copy b is down and lacks it");
		content_name("five", 4, "index", n4);
		OK(store_put(s, n4, "five", 4) == 0, "the next put skips copy b");
		store_copy_info(s, 1, &ci);
		OK(ci.n_lacks == 2, "and records that too");
	}
	store_close(s);
	if (geteuid() == 0) {
		char *moved = tpath("b-away");

		unlink(b);
		rename(moved, b);
		free(moved);
	}
	chmod(path, 0700);

	/* a credentials file is applied for its copy only */
	{
		char *env = tpath("creds.env"), *line;

		overwrite(env, "# comment\nTWOFOLD_TEST_CRED=secret\n\n");
		unsetenv("TWOFOLD_TEST_CRED");
		line = xasprintf("%s\n%s\t%s", a, b, env);
		s = store_open(line);
		OK(s != NULL && store_copies(s) == 2, "a copy with a credentials file opens");
		OK(getenv("TWOFOLD_TEST_CRED") == NULL, "its variables are not left set");
		OK(s && strstr(store_url(s), env) == NULL, "messages do not name the credentials file");
		store_close(s);
		free(line);
		overwrite(env, "not a line\n");
		line = xasprintf("%s\t%s", a, env);
		OK(store_open(line) == NULL, "a malformed credentials file is refused");
		free(line);
		free(env);
	}

	free(urls);
	free(dup);
	free(a);
	free(b);
	{
		char *cmd = xasprintf("rm -rf '%s'", top);

		if (system(cmd) != 0)
			OK(0, "cleanup");
		free(cmd);
	}
	return tap_done();
}
