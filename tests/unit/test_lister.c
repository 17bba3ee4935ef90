/* test_lister: the directory lister (engine/lister.h) on a tree made here:
 * listings come depth first with names in byte order, excluded entries
 * are marked and not stat'ed, a directory the rules do not descend into
 * yields no listing, a tag-only directory lists only CACHEDIR.TAG, 3,000
 * directories pass through the bounded queue, a walker that stops early
 * leaves no descriptor open, and the queue's bound follows the limit of
 * open descriptors. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/lister.h"
#include "tap.h"
#include "util/util.h"

static char root[] = "/tmp/twofold-lister-XXXXXX";

static void mk(const char *rel, int dir)
{
	char *p = xasprintf("%s/%s", root, rel);

	if (dir)
		mkdir(p, 0700);
	else
		close(open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600));
	free(p);
}

static int r_excluded(void *arg, const char *path, const char *name)
{
	(void)arg;
	(void)path;
	return strcmp(name, "skip") == 0;
}

static int r_tag_only(void *arg, int fd)
{
	(void)arg;
	return faccessat(fd, "CACHEDIR.TAG", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int r_descend(void *arg, const struct stat *st)
{
	(void)arg;
	/* "nodesc" is a directory of mode 0750: not descended */
	return S_ISDIR(st->st_mode) && (st->st_mode & 07777) != 0750;
}

static const struct lister_rules rules = { r_excluded, r_tag_only, r_descend, NULL };

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* names(L): the listing's names joined by ',' (excluded ones as !name). */
static char *names(const struct listing *L)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < L->n; i++) {
		char *t = xasprintf("%s%s%s%s", s, i ? "," : "", L->e[i].excluded ? "!" : "", L->e[i].name);

		free(s);
		s = t;
	}
	return s;
}

int main(void)
{
	static const char *want[] = {
		"a,b,c,cache,nodesc,!skip", "x,y", "z", "", "CACHEDIR.TAG",
	};
	/* 'd' a directory, 'f' a file; parents first */
	static const char *tree[] = {
		"db", "db/y", "fb/y/z", "fb/x", "fa", "dc", "dskip", "fskip/in",
		"dnodesc", "fnodesc/in", "dcache", "fcache/CACHEDIR.TAG", "fcache/junk",
	};
	struct lister *l;
	struct listing *L;
	int fds0, n = 0, ok = 1, fdok = 1;

	if (mkdtemp(root) == NULL)
		return 1;
	for (size_t i = 0; i < sizeof tree / sizeof *tree; i++)
		mk(tree[i] + 1, tree[i][0] == 'd');
	{
		char *p = xasprintf("%s/nodesc", root);

		chmod(p, 0750);
		free(p);
	}
	fds0 = open_fds();
	l = lister_start(open(root, O_RDONLY | O_DIRECTORY), root, &rules);
	while ((L = lister_next(l)) != NULL) {
		char *s = names(L);

		if (n >= 5 || strcmp(s, want[n]) != 0) {
			printf("# listing %d: %s\n", n, s);
			ok = 0;
		}
		if (L->fd < 0)
			fdok = 0;
		else
			close(L->fd);
		free(s);
		listing_free(L);
		n++;
	}
	lister_stop(l);
	OK(ok && n == 5, "5 listings, depth first, names in byte order, excluded marked (%d)", n);
	OK(fdok, "every listing holds an open directory");
	OK(open_fds() == fds0, "no descriptor is left open");

	/* 3,000 directories: more than the queue holds at once */
	for (int i = 0; i < 3000; i++) {
		char rel[32];

		snprintf(rel, sizeof rel, "c/d%04d", i);
		mk(rel, 1);
	}
	l = lister_start(open(root, O_RDONLY | O_DIRECTORY), root, &rules);
	n = 0;
	while ((L = lister_next(l)) != NULL) {
		close(L->fd);
		listing_free(L);
		n++;
	}
	lister_stop(l);
	OK(n == 3005, "3,005 listings pass through the queue (%d)", n);

	/* a walker that stops after two listings */
	l = lister_start(open(root, O_RDONLY | O_DIRECTORY), root, &rules);
	for (int i = 0; i < 2 && (L = lister_next(l)) != NULL; i++) {
		close(L->fd);
		listing_free(L);
	}
	usleep(100000);		/* let the lister fill its queue */
	lister_stop(l);
	OK(open_fds() == fds0, "stopping early closes every queued directory");

	/* the queue holds a quarter of the descriptors the process may open
	 * (at least 64, at most 4096) */
	{
		struct rlimit rl0, rl;

		getrlimit(RLIMIT_NOFILE, &rl0);
		rl = rl0;
		rl.rlim_cur = 400;
		if (rl0.rlim_max != RLIM_INFINITY && rl0.rlim_max < 400)
			rl.rlim_cur = rl0.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		l = lister_start(open(root, O_RDONLY | O_DIRECTORY), root, &rules);
		usleep(200000);
		n = open_fds() - fds0;
		lister_stop(l);
		OK(n > 0 && n <= (int)rl.rlim_cur / 4 + 8,
		    "with %d descriptors allowed, at most a quarter wait (%d open)", (int)rl.rlim_cur, n);
		if (rl0.rlim_max == RLIM_INFINITY || rl0.rlim_max >= 8192) {
			rl.rlim_cur = 8192;
			setrlimit(RLIMIT_NOFILE, &rl);
			l = lister_start(open(root, O_RDONLY | O_DIRECTORY), root, &rules);
			usleep(300000);
			n = open_fds() - fds0;
			lister_stop(l);
			OK(n > 1000 && n <= 2048 + 8, "with 8192 allowed, up to 2048 wait (%d open)", n);
		} else {
			printf("# skipped: the hard limit of descriptors is under 8192\n");
		}
		setrlimit(RLIMIT_NOFILE, &rl0);
		OK(open_fds() == fds0, "each stop closed every queued directory");
	}

	{
		char *cmd = xasprintf("rm -rf '%s'", root);

		if (system(cmd) != 0)
			ok = 0;
		free(cmd);
	}
	return tap_done();
}
