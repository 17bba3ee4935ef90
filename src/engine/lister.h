/* lister.h (engine-internal): a thread that lists and stats directories
 * ahead of the backup walker, so the system calls of a walk run on one
 * core while the walker builds trees on another.
 *
 * The lister walks depth first, names in byte order, and hands over one
 * listing per directory it enters, in the order a walker that recurses
 * into each descended entry as it meets it would enter them.  The walker
 * takes them with lister_next and so sees exactly the directories the
 * lister chose to descend (a directory that could not be opened still
 * yields a listing, with fd -1).  Queued listings are bounded in count
 * and in entries.  Depends on util and pthreads. */
#ifndef TWOFOLD_LISTER_H
#define TWOFOLD_LISTER_H

#include <stddef.h>
#include <sys/stat.h>

struct lentry {
	const char *name;	/* the end of path: one allocation */
	char *path;		/* the directory's path joined with name */
	struct stat st;
	int excluded;		/* the rules exclude it: not stat'ed */
	int err;		/* errno of its stat, 0 if it worked */
};

struct listing {
	int fd;			/* the directory, the taker's to close; -1 if it
				 * could not be opened */
	int err;		/* errno of the failed open, or of a readdir
				 * that stopped early; else 0 */
	size_t n;
	struct lentry *e;	/* in byte order of name */
};

/* What the walker decides, called on the lister's thread: whether path
 * (entry name) is excluded; whether a directory only keeps its
 * CACHEDIR.TAG (fd open on it); whether to descend into a directory with
 * stat st. */
struct lister_rules {
	int (*excluded)(void *arg, const char *path, const char *name);
	int (*tag_only)(void *arg, int fd);
	int (*descend)(void *arg, const struct stat *st);
	void *arg;
};

struct lister;

/* lister_start(fd, path, rules): list the directory open on fd (taken
 * over) and, below it, every directory rules descend into.  The first
 * listing is fd's own.  NULL (after a message) if no thread could start;
 * fd is closed then. */
struct lister *lister_start(int fd, const char *path, const struct lister_rules *rules);
/* lister_next(l): the next listing, blocking until it is ready; NULL once
 * every listing was taken. */
struct listing *lister_next(struct lister *l);
/* listing_free(L): free a taken listing (does not close its fd). */
void listing_free(struct listing *L);
/* lister_stop(l): stop the thread, close what it and the queue hold, free
 * l.  For a walker that stops early too. */
void lister_stop(struct lister *l);

#endif
