/* lister.c: see lister.h. */
#include "engine/lister.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/util.h"

/* What may wait for the walker: each listing holds an open directory, so
 * their number is a quarter of the descriptors the process may open,
 * between these bounds. */
#define MIN_LISTINGS 64u
#define MAX_LISTINGS 4096u
/* and at most this many entries (~270 bytes each on the kernel tree): a
 * first backup's walker is slower than the lister, so the queue stays
 * full.  Measured on src: 65536 cost ~8 MiB of peak RSS more for the
 * same unchanged re-backup time; 16384 made that 0.1 s slower. */
#define MAX_ENTRIES 32768u

struct lister {
	pthread_mutex_t mu;
	pthread_cond_t ready, space;
	pthread_t th;
	struct listing **q;	/* a ring of max */
	size_t max, head, count, entries;
	int done, stop;
	struct lister_rules rules;
	int fd;
	char *path;
};

void listing_free(struct listing *L)
{
	if (L == NULL)
		return;
	for (size_t i = 0; i < L->n; i++)
		free(L->e[i].path);	/* name points into it */
	free(L->e);
	free(L);
}

static void drop(struct listing *L)
{
	if (L->fd >= 0)
		close(L->fd);
	listing_free(L);
}

/* push(l, L): queue L for the walker, waiting for room; -1 (L dropped)
 * once the lister is stopped. */
static int push(struct lister *l, struct listing *L)
{
	pthread_mutex_lock(&l->mu);
	while (!l->stop && l->count > 0 &&
	    (l->count == l->max || l->entries + L->n > MAX_ENTRIES))
		pthread_cond_wait(&l->space, &l->mu);
	if (l->stop) {
		pthread_mutex_unlock(&l->mu);
		drop(L);
		return -1;
	}
	l->q[(l->head + l->count) % l->max] = L;
	l->count++;
	l->entries += L->n;
	pthread_cond_signal(&l->ready);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

static int push_failed(struct lister *l, int err)
{
	struct listing *L = xcalloc(1, sizeof *L);

	L->fd = -1;
	L->err = err;
	return push(l, L);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lentry *)a)->name, ((const struct lentry *)b)->name);
}

static char *join(const char *dir, const char *name)
{
	return xasprintf("%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
}

/* read_names(l, fd, path, L): L's entries, sorted, from the directory fd
 * at path.  Each entry is one allocation, its path, which its name ends. */
static void read_names(struct lister *l, int fd, const char *path, struct listing *L)
{
	int tag_only = l->rules.tag_only(l->rules.arg, fd);
	int rfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = rfd < 0 ? NULL : fdopendir(rfd);
	struct dirent *de;
	size_t cap = 0;

	if (d == NULL) {
		L->err = errno;
		if (rfd >= 0)
			close(rfd);
		return;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (tag_only && strcmp(de->d_name, "CACHEDIR.TAG") != 0)
			continue;
		if (L->n == cap) {
			cap = cap ? cap * 2 : 16;
			L->e = xreallocarray(L->e, cap, sizeof *L->e);
		}
		memset(&L->e[L->n], 0, sizeof L->e[L->n]);
		L->e[L->n].path = join(path, de->d_name);
		L->e[L->n].name = L->e[L->n].path + strlen(L->e[L->n].path) - strlen(de->d_name);
		L->n++;
		errno = 0;
	}
	if (errno != 0)
		L->err = errno;
	closedir(d);
	if (L->n > 0 && L->n < cap)	/* queued listings hold no slack */
		L->e = xreallocarray(L->e, L->n, sizeof *L->e);
	/* Byte order (strcmp on unsigned bytes), the order trees require. */
	if (L->n > 1)
		qsort(L->e, L->n, sizeof *L->e, name_cmp);
}

/* list_dir(l, fd, path): list the directory fd (closed here), queue the
 * listing, then descend.  -1 once the lister is stopped. */
static int list_dir(struct lister *l, int fd, const char *path)
{
	struct listing *L = xcalloc(1, sizeof *L);
	char **sub = NULL;
	size_t nsub = 0;
	int rc = 0;

	L->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (L->fd < 0) {
		L->err = errno;
		close(fd);
		return push(l, L);
	}
	read_names(l, fd, path, L);
	for (size_t i = 0; i < L->n; i++) {
		struct lentry *e = &L->e[i];

		e->excluded = l->rules.excluded(l->rules.arg, e->path, e->name);
		if (e->excluded)
			continue;
		if (fstatat(fd, e->name, &e->st, AT_SYMLINK_NOFOLLOW) != 0)
			e->err = errno;
		else if (l->rules.descend(l->rules.arg, &e->st)) {
			if (nsub % 16 == 0)
				sub = xreallocarray(sub, nsub + 16, sizeof *sub);
			sub[nsub++] = xstrdup(e->name);
		}
	}
	/* L is the walker's once queued: the names to descend are copies. */
	if (push(l, L) != 0)
		rc = -1;
	for (size_t i = 0; i < nsub; i++) {
		if (rc == 0) {
			int cfd = openat(fd, sub[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd < 0) {
				rc = push_failed(l, errno);
			} else {
				char *p = join(path, sub[i]);

				rc = list_dir(l, cfd, p);
				free(p);
			}
		}
		free(sub[i]);
	}
	free(sub);
	close(fd);
	return rc;
}

static void *run(void *arg)
{
	struct lister *l = arg;

	(void)list_dir(l, l->fd, l->path);
	pthread_mutex_lock(&l->mu);
	l->done = 1;
	pthread_cond_broadcast(&l->ready);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

struct lister *lister_start(int fd, const char *path, const struct lister_rules *rules)
{
	struct lister *l = xcalloc(1, sizeof *l);
	struct rlimit rl;
	int e;

	l->max = MAX_LISTINGS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < MAX_LISTINGS)
		l->max = rl.rlim_cur / 4 > MIN_LISTINGS ? (size_t)rl.rlim_cur / 4 : MIN_LISTINGS;
	l->q = xcalloc(l->max, sizeof *l->q);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->ready, NULL);
	pthread_cond_init(&l->space, NULL);
	l->rules = *rules;
	l->fd = fd;
	l->path = xstrdup(path);
	if ((e = pthread_create(&l->th, NULL, run, l)) != 0) {
		errmsg("cannot start a thread to list %s: %s", path, strerror(e));
		close(fd);
		free(l->q);
		free(l->path);
		free(l);
		return NULL;
	}
	return l;
}

struct listing *lister_next(struct lister *l)
{
	struct listing *L = NULL;

	pthread_mutex_lock(&l->mu);
	while (l->count == 0 && !l->done)
		pthread_cond_wait(&l->ready, &l->mu);
	if (l->count > 0) {
		L = l->q[l->head];
		l->head = (l->head + 1) % l->max;
		l->count--;
		l->entries -= L->n;
		pthread_cond_signal(&l->space);
	}
	pthread_mutex_unlock(&l->mu);
	return L;
}

void lister_stop(struct lister *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_broadcast(&l->space);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->th, NULL);
	for (; l->count > 0; l->count--) {
		drop(l->q[l->head]);
		l->head = (l->head + 1) % l->max;
	}
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->ready);
	pthread_cond_destroy(&l->space);
	free(l->q);
	free(l->path);
	free(l);
}
