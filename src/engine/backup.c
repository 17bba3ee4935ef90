/* backup.c: walk the sources, chunk and store what is new, build trees
 * bottom-up, save a signed snapshot.
 *
 * Every directory is walked through directory descriptors (openat with
 * O_NOFOLLOW), so depth is not limited by PATH_MAX and no symlink is
 * followed.  A file that cannot be read is listed and left out; a file
 * that changes while it is read is stored as read and flagged. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/backup_internal.h"
#include "engine/filecache.h"
#include "engine/journal.h"
#include "engine/lister.h"
#include "source/source.h"
#include "util/util.h"
#include "util/workq.h"

#define NAME_CACHE 64

struct idname {
	uint32_t id;
	char *name;
};

/* ---- the pipeline: the walking thread reads and cuts chunks; a pool of
 * workers (one per core) computes their keyed IDs, compresses, and hands
 * them to the repository, which seals and writes packs from whichever
 * worker fills one.  Results come back through jobs the walker keeps per
 * file and collects at the next barrier (before any tree is saved). ---- */

#define MAX_QUEUED (8u << 20)	/* bytes of chunks waiting: bounds memory */

struct job {
	uint8_t *data;
	size_t len;
	uint8_t id[ID_LEN];
	uint64_t stored;
};

/* The walker's side of the workers: the repository and a failure flag. */
struct bwork {
	struct repo *r;
	int failed;
};

static void run_job(void *ctx, void *item, void *scratch)
{
	struct bwork *w = ctx;
	struct job *j = item;

	(void)scratch;
	repo_blob_id(w->r, j->data, j->len, j->id);
	if (repo_add_blob_give(w->r, BLOB_DATA, j->id, &j->data, j->len, &j->stored) != 0)
		__atomic_store_n(&w->failed, 1, __ATOMIC_RELAXED);
	free(j->data);
	j->data = NULL;
}

static const struct workq_fns job_fns = { run_job, NULL, NULL };

/* A file whose chunks are still with the workers. */
struct pend {
	struct node *n;
	struct job **jobs;
	uint32_t nj, cap;
	int cache;		/* add to the file cache when done */
	char *path;
	uint64_t dev, ino;
};

/* What the lister's rules read: the options and the device of the first
 * source (--one-file-system). */
struct walk_rules {
	const struct backup_opts *o;
	dev_t root_dev;
};

/* engine_backup_prepare's lister: the first source's, with its rules
 * (wr.root_dev is the source's device, ino its inode). */
struct backup_prep {
	struct walk_rules wr;
	struct lister *l;
	char *path;
	ino_t ino;
};

struct bctx {
	struct repo *r;
	const struct backup_opts *o;
	struct backup_result *res;
	struct filecache cache;
	uint8_t *buf;			/* read buffer: chunk_max + readahead */
	size_t cap;
	char **bad;			/* unreadable paths */
	size_t n_bad;
	char **changed;
	size_t n_changed;
	struct walk_rules wr;
	struct lister *lister;		/* lists the source walked now */
	struct backup_prep *prep;	/* a lister started before the repository
					 * was open, or NULL */
	struct idname users[NAME_CACHE], groups[NAME_CACHE];
	double t0, last_draw;
	uint64_t total_bytes;		/* for the progress ETA; 0 unknown */
	uint64_t done_bytes;
	struct bwork work;
	struct workq *q;
	struct pend *pend;		/* files waiting for their chunk IDs */
	size_t n_pend, cap_pend;
	/* directories walked whose trees wait for their files' chunk IDs,
	 * children before parents; saved at the next collect */
	struct deferred *defer;
	size_t n_defer, cap_defer, defer_nodes;
	struct node *extra;		/* top-level nodes of cloud sources */
	size_t n_extra;
};

/* A directory's tree, walked, to be saved once its files' chunks are
 * known; id points into its parent's (deferred or walking) tree node. */
struct deferred {
	struct tree t;
	uint8_t *id;
};

/* Trees are saved at a collect: waiting for the workers at every
 * directory would drain the pipeline thousands of times in a source tree.
 * These bound what waits. */
#define DEFER_MAX_NODES 65536u
#define DEFER_MAX_FILES 16384u

static int save_deferred(struct bctx *c, int rc)
{
	for (size_t i = 0; i < c->n_defer; i++) {
		struct deferred *d = &c->defer[i];
		uint64_t stored;

		if (rc == 0) {
			rc = repo_save_tree(c->r, &d->t, d->id, &stored);
			c->res->added_bytes += stored;
		}
		tree_free(&d->t);
	}
	c->n_defer = 0;
	c->defer_nodes = 0;
	return rc;
}

/* collect(c): wait for the workers, then give every pending file its
 * chunk IDs (and a file-cache entry), then save the deferred trees.
 * Called before saving any tree. */
static int collect(struct bctx *c)
{
	int rc;

	workq_wait(c->q);
	rc = __atomic_load_n(&c->work.failed, __ATOMIC_RELAXED) ? -1 : 0;

	for (size_t i = 0; i < c->n_pend; i++) {
		struct pend *p = &c->pend[i];
		struct node *n = p->n;

		n->n_chunks = p->nj;
		n->chunks = xcalloc(p->nj ? p->nj : 1, ID_LEN);
		for (uint32_t k = 0; k < p->nj; k++) {
			memcpy(n->chunks[k], p->jobs[k]->id, ID_LEN);
			c->res->added_bytes += p->jobs[k]->stored;
			free(p->jobs[k]);
		}
		free(p->jobs);
		if (p->cache && rc == 0) {
			struct fc_entry ne;

			memset(&ne, 0, sizeof ne);
			ne.path = p->path;
			ne.dev = p->dev;
			ne.ino = p->ino;
			ne.size = n->size;
			ne.mtime_ns = n->mtime_ns;
			ne.ctime_ns = n->ctime_ns;
			ne.no_xattrs = n->n_xattrs == 0;
			ne.n_chunks = n->n_chunks;
			ne.chunks = xmemdup(n->chunks, (size_t)n->n_chunks * ID_LEN);
			ne.seen = 1;
			fc_put(&c->cache, &ne);
		} else {
			free(p->path);
		}
	}
	c->n_pend = 0;
	return save_deferred(c, rc);
}

/* defer_tree(c, t, id): take t over; its tree is saved (and its ID put in
 * id) at the next collect, which comes at once if much is waiting. */
static int defer_tree(struct bctx *c, struct tree *t, uint8_t id[ID_LEN])
{
	if (c->n_defer == c->cap_defer) {
		c->cap_defer = c->cap_defer ? c->cap_defer * 2 : 64;
		c->defer = xreallocarray(c->defer, c->cap_defer, sizeof *c->defer);
	}
	c->defer[c->n_defer].t = *t;
	c->defer[c->n_defer++].id = id;
	c->defer_nodes += t->n;
	memset(t, 0, sizeof *t);
	if (c->defer_nodes >= DEFER_MAX_NODES || c->n_pend >= DEFER_MAX_FILES)
		return collect(c);
	return 0;
}

/* pend_new(c, n): start collecting the chunks of node n. */
static struct pend *pend_new(struct bctx *c, struct node *n)
{
	struct pend *p;

	if (c->n_pend == c->cap_pend) {
		c->cap_pend = c->cap_pend ? c->cap_pend * 2 : 256;
		c->pend = xreallocarray(c->pend, c->cap_pend, sizeof *c->pend);
	}
	p = &c->pend[c->n_pend++];
	memset(p, 0, sizeof *p);
	p->n = n;
	return p;
}

/* pend_drop_last(c): forget the newest pending file (it failed); its
 * chunks may still be stored (harmless: dedup makes them useful later). */
static void pend_drop_last(struct bctx *c)
{
	struct pend *p = &c->pend[c->n_pend - 1];

	workq_wait(c->q);
	for (uint32_t k = 0; k < p->nj; k++)
		free(p->jobs[k]);
	free(p->jobs);
	free(p->path);
	c->n_pend--;
}

static void list_add(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

static const char *id_name(struct idname *c, uint32_t id, int group)
{
	struct idname *slot = &c[id % NAME_CACHE];
	char tmp[4096];

	if (slot->name && slot->id == id)
		return slot->name;
	free(slot->name);
	slot->id = id;
	slot->name = NULL;
	if (group) {
		struct group g, *gp = NULL;

		if (getgrgid_r(id, &g, tmp, sizeof tmp, &gp) == 0 && gp)
			slot->name = xstrdup(gp->gr_name);
	} else {
		struct passwd p, *pp = NULL;

		if (getpwuid_r(id, &p, tmp, sizeof tmp, &pp) == 0 && pp)
			slot->name = xstrdup(pp->pw_name);
	}
	if (slot->name == NULL)
		slot->name = xstrdup("");
	return slot->name;
}

static void progress(struct bctx *c, int final)
{
	double now = mono_sec(), el;
	char a[32], b[32];

	if (!c->o->progress || (!final && now - c->last_draw < 0.25))
		return;
	c->last_draw = now;
	el = now - c->t0;
	if (final) {
		fputs("\r\033[K", stderr);
		return;
	}
	fprintf(stderr, "\r\033[K%llu files, %s, %s/s",
	    (unsigned long long)c->res->files, fmt_bytes(c->done_bytes, a, sizeof a),
	    fmt_bytes(el > 0 ? (uint64_t)((double)c->done_bytes / el) : 0, b, sizeof b));
	if (c->total_bytes > c->done_bytes && c->done_bytes > 0 && el > 0.5) {
		double eta = el * (double)(c->total_bytes - c->done_bytes) / (double)c->done_bytes;

		fprintf(stderr, ", %s of %s, ETA %d:%02d", fmt_bytes(c->done_bytes, a, sizeof a),
		    fmt_bytes(c->total_bytes, b, sizeof b), (int)eta / 60, (int)eta % 60);
	}
}

static int excluded(const struct backup_opts *o, const char *path, const char *name)
{
	for (size_t i = 0; i < o->n_excludes; i++) {
		const char *pat = o->excludes[i];

		if (strchr(pat, '/') ? fnmatch(pat, path, 0) == 0 : fnmatch(pat, name, 0) == 0)
			return 1;
	}
	return 0;
}

/* is_cache_dir(dfd): a valid CACHEDIR.TAG (bford.info/cachedir). */
static int is_cache_dir(int dfd)
{
	static const char sig[] = "Signature: 8a477f597d28d172789f06886806bc55";
	char b[sizeof sig - 1];
	int fd = openat(dfd, "CACHEDIR.TAG", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, b, sizeof b);
	close(fd);
	return n == (ssize_t)sizeof b && memcmp(b, sig, sizeof b) == 0;
}

static void bad_path(struct bctx *c, const char *path, const char *what)
{
	int e = errno;

	errmsg("cannot %s %s: %s (left out of the snapshot)", what, path, strerror(e));
	list_add(&c->bad, &c->n_bad, path);
}

static void fill_meta(struct bctx *c, struct node *n, const struct stat *st)
{
	n->mode = st->st_mode & 07777;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->user = xstrdup(id_name(c->users, st->st_uid, 0));
	n->group = xstrdup(id_name(c->groups, st->st_gid, 1));
	n->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	n->atime_ns = (int64_t)st->st_atim.tv_sec * 1000000000 + st->st_atim.tv_nsec;
	n->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	n->nlink = (uint32_t)st->st_nlink;
	if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
		n->dev = st->st_dev;
		n->ino = st->st_ino;
	}
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		n->rdev = st->st_rdev;
}

static ssize_t x_list(int fd, const char *path, char *buf, size_t n)
{
	return fd >= 0 ? flistxattr(fd, buf, n) : llistxattr(path, buf, n);
}

static ssize_t x_get(int fd, const char *path, const char *name, void *buf, size_t n)
{
	return fd >= 0 ? fgetxattr(fd, name, buf, n) : lgetxattr(path, name, buf, n);
}

/* read_xattrs(fd, path, n): the extended attributes of an open file, or
 * with fd -1 of path (which must not be a symlink). */
static void read_xattrs(int fd, const char *path, struct node *n)
{
	char *names;
	ssize_t len = x_list(fd, path, NULL, 0), got;

	if (len <= 0)
		return;
	names = xmalloc((size_t)len);
	got = x_list(fd, path, names, (size_t)len);
	for (ssize_t i = 0; got > 0 && i < got; i += (ssize_t)strlen(names + i) + 1) {
		const char *name = names + i;
		ssize_t vl = x_get(fd, path, name, NULL, 0);
		struct xattr *x;

		if (vl < 0 || vl > MAX_XATTR_VALUE || n->n_xattrs >= MAX_XATTRS)
			continue;
		n->xattrs = xreallocarray(n->xattrs, n->n_xattrs + 1, sizeof *n->xattrs);
		x = &n->xattrs[n->n_xattrs];
		x->value = xmalloc(vl ? (size_t)vl : 1);
		vl = x_get(fd, path, name, x->value, (size_t)vl);
		if (vl < 0) {
			info(1, "twofold: cannot read xattr %s of %s", name, path);
			free(x->value);
			continue;
		}
		x->name = xstrdup(name);
		x->len = (uint32_t)vl;
		n->n_xattrs++;
	}
	free(names);
	/* Stable order, so an unchanged directory gives an identical tree. */
	for (uint32_t i = 1; i < n->n_xattrs; i++)
		for (uint32_t j = i; j > 0 && strcmp(n->xattrs[j - 1].name, n->xattrs[j].name) > 0; j--) {
			struct xattr t = n->xattrs[j];

			n->xattrs[j] = n->xattrs[j - 1];
			n->xattrs[j - 1] = t;
		}
}

/* submit(c, data, len): a copy of a chunk to the workers; the job stays
 * the walker's to read back after the next collect. */
static struct job *submit(struct bctx *c, const uint8_t *data, size_t len)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->data = xmemdup(data, len);
	j->len = len;
	workq_submit(c->q, j, len);
	return j;
}

/* store_reader(c, rd, arg, n, p): read through rd to the end, cut chunks,
 * hand them to the workers, recording the jobs in p.  0, or the reader's
 * negative value. */
static int store_reader(struct bctx *c, bk_reader rd, void *arg, struct node *n, struct pend *p)
{
	const struct chunker *ch = repo_chunker(c->r);
	size_t have = 0;
	int eof = 0;

	n->size = 0;
	for (;;) {
		size_t off = 0;

		while (!eof && have < c->cap) {
			ssize_t got = rd(arg, c->buf + have, c->cap - have);

			if (got < 0)
				return (int)got;
			if (got == 0)
				eof = 1;
			have += (size_t)got;
		}
		if (have == 0)
			break;
		while (off < have) {
			size_t len = chunker_next(ch, c->buf + off, have - off);

			if (!eof && off + len == have && len < ch->max)
				break;
			if (p->nj == p->cap) {
				p->cap = p->cap ? p->cap * 2 : 4;
				p->jobs = xreallocarray(p->jobs, p->cap, sizeof *p->jobs);
			}
			p->jobs[p->nj++] = submit(c, c->buf + off, len);
			n->size += len;
			c->done_bytes += len;
			off += len;
			progress(c, 0);
		}
		memmove(c->buf, c->buf + off, have - off);
		have -= off;
		if (eof && have == 0)
			break;
	}
	return 0;
}

/* fd_reader(arg, p, n): a bk_reader over the file descriptor *arg. */
static ssize_t fd_reader(void *arg, uint8_t *p, size_t n)
{
	const int *fd = arg;
	ssize_t got;

	do
		got = read(*fd, p, n);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -1 : got;
}

/* store_stream(c, fd, n, p): read fd to its end, cut chunks, hand them to
 * the workers, recording the jobs in p.  0, or -1 on a read error. */
static int store_stream(struct bctx *c, int fd, struct node *n, struct pend *p)
{
	return store_reader(c, fd_reader, &fd, n, p);
}

static int cache_usable(struct bctx *c, const struct fc_entry *e, const struct stat *st)
{
	if (e == NULL || e->dev != st->st_dev || e->ino != st->st_ino ||
	    e->size != (uint64_t)st->st_size ||
	    e->mtime_ns != (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec ||
	    e->ctime_ns != (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec)
		return 0;
	/* Only if every chunk is still in the repository (prune may have
	 * removed some, or the cache belongs to a lost copy). */
	for (uint32_t i = 0; i < e->n_chunks; i++)
		if (!repo_has_blob(c->r, BLOB_DATA, e->chunks[i]))
			return 0;
	return 1;
}

/* save_file(c, dfd, name, path, st, n): content of a regular file.
 * 0 ok, 1 unreadable (reported), -1 fatal. */
static int save_file(struct bctx *c, int dfd, const char *name, const char *path,
    const struct stat *st, struct node *n)
{
	struct fc_entry *e = c->o->no_cache ? NULL : fc_find(&c->cache, path);
	struct stat after;
	struct pend *pd;
	int fd, rc;

	/* An unchanged file is not even opened: its xattrs are read by path
	 * (paths past PATH_MAX take the open route), unless it had none:
	 * adding one would have changed its ctime. */
	if (cache_usable(c, e, st) && strlen(path) < PATH_MAX) {
		if (!e->no_xattrs) {
			read_xattrs(-1, path, n);
			if (n->n_xattrs == 0) {	/* for next time */
				e->no_xattrs = 1;
				c->cache.dirty = 1;
			}
		}
		n->n_chunks = e->n_chunks;
		n->chunks = xmemdup(e->chunks, (size_t)e->n_chunks * ID_LEN);
		n->size = e->size;
		e->seen = 1;
		c->res->files_unchanged++;
		c->done_bytes += e->size;
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		bad_path(c, path, "open");
		return 1;
	}
	read_xattrs(fd, path, n);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	pd = pend_new(c, n);
	rc = store_stream(c, fd, n, pd);
	if (rc != 0) {
		bad_path(c, path, "read");
		close(fd);
		pend_drop_last(c);
		return 1;
	}
	if (fstat(fd, &after) == 0 &&
	    (after.st_size != st->st_size || after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != st->st_mtim.tv_nsec || after.st_ctim.tv_sec != st->st_ctim.tv_sec ||
	    after.st_ctim.tv_nsec != st->st_ctim.tv_nsec || n->size != (uint64_t)st->st_size)) {
		errmsg("warning: %s changed while it was read; stored as read", path);
		n->flags |= NODE_CHANGED;
		list_add(&c->changed, &c->n_changed, path);
	}
	close(fd);
	if (e)
		c->res->files_changed++;
	else
		c->res->files_new++;
	/* The file cache entry is made when the chunk IDs are known. */
	if (!(n->flags & NODE_CHANGED) && !c->o->no_cache) {
		pd->cache = 1;
		pd->path = xstrdup(path);
		pd->dev = st->st_dev;
		pd->ino = st->st_ino;
	}
	return 0;
}

static int save_dir(struct bctx *c, struct listing *L, const char *path, uint8_t id[ID_LEN]);

/* Rules for the lister (run on its thread; arg is a struct walk_rules,
 * which reads only options). */
static int rule_excluded(void *arg, const char *path, const char *name)
{
	const struct walk_rules *w = arg;

	return excluded(w->o, path, name);
}

static int rule_tag_only(void *arg, int fd)
{
	const struct walk_rules *w = arg;

	return w->o->exclude_caches && is_cache_dir(fd);
}

static int rule_descend(void *arg, const struct stat *st)
{
	const struct walk_rules *w = arg;

	/* across a mount with --one-file-system: kept, empty */
	return S_ISDIR(st->st_mode) && !(w->o->one_file_system && st->st_dev != w->root_dev);
}

static const struct lister_rules lrules = { rule_excluded, rule_tag_only, rule_descend, NULL };

/* prepared_lister(c, fd, path): the lister engine_backup_prepare started,
 * if it lists the directory open on fd at path (which is closed then);
 * else NULL. */
static struct lister *prepared_lister(struct bctx *c, int fd, const char *path)
{
	struct backup_prep *p = c->prep;
	struct lister *l;
	struct stat st;

	if (p == NULL || p->l == NULL || strcmp(p->path, path) != 0 || fstat(fd, &st) != 0 ||
	    st.st_dev != p->wr.root_dev || st.st_ino != p->ino)
		return NULL;
	l = p->l;
	p->l = NULL;
	close(fd);
	return l;
}

/* walk_dir(c, fd, path, n, id): store the tree of a directory into id.  A
 * source's directory comes open on fd, and a lister starts on it; a
 * directory below one (fd -1) is the lister's next listing.  n, if not
 * NULL, gets the directory's xattrs and counts it.  0, 1 left out
 * (reported), -1. */
static int walk_dir(struct bctx *c, int fd, const char *path, struct node *n, uint8_t id[ID_LEN])
{
	struct lister *own = NULL;
	struct listing *L;
	int rc;

	if (fd >= 0 && (own = prepared_lister(c, fd, path)) == NULL) {
		struct lister_rules r = lrules;

		r.arg = &c->wr;
		if ((own = lister_start(fd, path, &r)) == NULL)
			return -1;
	}
	if (own)
		c->lister = own;
	L = lister_next(c->lister);
	if (L == NULL) {
		errmsg("internal error: the directory lister stopped before %s", path);
		rc = -1;
	} else if (L->fd < 0) {
		errno = L->err;
		bad_path(c, path, "open directory");
		listing_free(L);
		rc = 1;
	} else {
		if (n) {
			read_xattrs(L->fd, path, n);
			c->res->dirs++;
		}
		rc = save_dir(c, L, path, id);
	}
	if (own) {
		lister_stop(own);
		c->lister = NULL;
	}
	return rc;
}

/* save_entry(c, dfd, name, path, le, n): build node n for entry name of
 * the directory dfd, with le its listing entry, or NULL to stat it here.
 * 0 ok, 1 left out (reported or excluded), -1 fatal. */
static int save_entry(struct bctx *c, int dfd, const char *name, const char *path,
    const struct lentry *le, struct node *n)
{
	struct stat st;

	memset(n, 0, sizeof *n);
	if (le != NULL) {
		st = le->st;
		errno = le->err;
	}
	if (le != NULL ? le->err != 0 : fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		bad_path(c, path, "stat");
		return 1;
	}
	n->name_len = (uint32_t)strlen(name);
	n->name = xmemdup(name, n->name_len);
	fill_meta(c, n, &st);
	if (S_ISREG(st.st_mode)) {
		int rc;

		n->type = NODE_FILE;
		rc = save_file(c, dfd, name, path, &st, n);
		if (rc != 0)
			return rc;
		c->res->files++;
		c->res->bytes += n->size;
	} else if (S_ISDIR(st.st_mode)) {
		int fd = -1;

		n->type = NODE_DIR;
		if (!rule_descend(&c->wr, &st)) {
			/* keep the mount point, empty, as restic and tar do */
			static const struct tree empty;
			uint64_t stored;

			c->res->dirs++;
			return repo_save_tree(c->r, &empty, n->subtree, &stored);
		}
		if (c->lister == NULL &&
		    (fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			bad_path(c, path, "open directory");
			return 1;
		}
		return walk_dir(c, fd, path, n, n->subtree);
	} else if (S_ISLNK(st.st_mode)) {
		char *t = xmalloc(MAX_LINK + 1);
		ssize_t l = readlinkat(dfd, name, t, MAX_LINK + 1);

		n->type = NODE_SYMLINK;
		if (l <= 0 || l > MAX_LINK) {
			free(t);
			if (l > MAX_LINK)
				errno = ENAMETOOLONG;
			bad_path(c, path, "read symlink");
			return 1;
		}
		n->link = (uint8_t *)t;
		n->link_len = (uint32_t)l;
	} else if (S_ISFIFO(st.st_mode)) {
		n->type = NODE_FIFO;
	} else if (S_ISCHR(st.st_mode)) {
		n->type = NODE_CHAR;
	} else if (S_ISBLK(st.st_mode)) {
		n->type = NODE_BLOCK;
	} else if (S_ISSOCK(st.st_mode)) {
		n->type = NODE_SOCKET;
	} else {
		return 1;
	}
	return 0;
}

static int dirent_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* save_dir(c, L, path, id): store the tree of a directory from its
 * listing L, which is closed and freed.  0 or -1 (fatal). */
static int save_dir(struct bctx *c, struct listing *L, const char *path, uint8_t id[ID_LEN])
{
	struct tree t = { 0, NULL };
	int rc = 0;

	if (L->err != 0) {
		errno = L->err;
		bad_path(c, path, "read all of directory");
	}
	t.nodes = xcalloc(L->n ? L->n : 1, sizeof *t.nodes);
	for (size_t i = 0; i < L->n && rc == 0; i++) {
		const struct lentry *e = &L->e[i];
		int got;

		if (e->excluded) {
			info(2, "excluded %s", e->path);
			continue;
		}
		got = save_entry(c, L->fd, e->name, e->path, e, &t.nodes[t.n]);
		if (got == 0)
			t.n++;
		else
			node_free(&t.nodes[t.n]);
		if (got < 0)
			rc = -1;
	}
	close(L->fd);
	listing_free(L);
	if (rc == 0)
		rc = defer_tree(c, &t, id);
	tree_free(&t);
	return rc;
}

/* ---- sources: absolute, cleaned paths merged into one root tree ---- */

static char *clean_path(const char *p)
{
	char cwd[4096], *abs, *out, *save, *tok;
	size_t len = 0;

	if (p[0] == '/') {
		abs = xstrdup(p);
	} else {
		if (getcwd(cwd, sizeof cwd) == NULL)
			return NULL;
		abs = xasprintf("%s/%s", cwd, p);
	}
	out = xcalloc(strlen(abs) + 2, 1);
	for (tok = strtok_r(abs, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			out[len] = '\0';
			continue;
		}
		out[len++] = '/';
		memcpy(out + len, tok, strlen(tok));
		len += strlen(tok);
		out[len] = '\0';
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	free(abs);
	return out;
}

/* merge_extra(c, t): add the cloud sources' top-level nodes to the root
 * tree t (they move into t); a local path of the same name is an error. */
static int merge_extra(struct bctx *c, struct tree *t)
{
	t->nodes = xreallocarray(t->nodes, t->n + c->n_extra, sizeof *t->nodes);
	for (size_t i = 0; i < c->n_extra; i++)
		t->nodes[t->n++] = c->extra[i];
	free(c->extra);
	c->extra = NULL;
	c->n_extra = 0;
	qsort(t->nodes, t->n, sizeof *t->nodes, node_cmp);
	for (uint32_t i = 1; i < t->n; i++)
		if (node_cmp(&t->nodes[i - 1], &t->nodes[i]) == 0) {
			errmsg("cannot back up the local path /%s together with cloud sources: "
			    "both would be /%s in the snapshot; make two backups",
			    (const char *)t->nodes[i].name, (const char *)t->nodes[i].name);
			return -1;
		}
	return 0;
}

/* local_sources(o, &v, &n, report): append the local PATHs of o to v,
 * absolute and cleaned, in byte order, without duplicates or paths inside
 * others.  0, or -1 (reported if report is set) if one cannot be
 * resolved. */
static int local_sources(const struct backup_opts *o, char ***v, size_t *n, int report)
{
	char **srcs = *v;
	size_t k = 0;

	for (size_t i = 0; i < o->n_paths; i++) {
		char *p;

		if (source_is_url(o->paths[i]))
			continue;
		if ((p = clean_path(o->paths[i])) == NULL) {
			if (report)
				errmsg_errno("cannot resolve %s", o->paths[i]);
			*v = srcs;
			return -1;
		}
		list_add(&srcs, n, p);
		free(p);
	}
	qsort(srcs, *n, sizeof *srcs, dirent_cmp);
	for (size_t i = 0; i < *n; i++) {
		size_t l = k ? strlen(srcs[k - 1]) : 0;

		if (k && (strcmp(srcs[k - 1], "/") == 0 || (strncmp(srcs[i], srcs[k - 1], l) == 0 &&
		    (srcs[i][l] == '\0' || srcs[i][l] == '/')))) {
			free(srcs[i]);
			continue;
		}
		srcs[k++] = srcs[i];
	}
	*n = k;
	*v = srcs;
	return 0;
}

struct backup_prep *engine_backup_prepare(const struct backup_opts *o)
{
	struct backup_prep *p = NULL;
	struct lister_rules r = lrules;
	char **srcs = NULL;
	size_t n = 0;
	struct stat st;
	int fd = -1;

	if (o->use_stdin)
		return NULL;
	for (size_t i = 0; i < o->n_paths; i++)
		if (source_is_url(o->paths[i]))
			return NULL;	/* cloud sources come first */
	/* quiet: engine_backup meets and reports the same failures */
	if (local_sources(o, &srcs, &n, 0) == 0 && n > 0 &&
	    (fd = open(srcs[0], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0 &&
	    fstat(fd, &st) == 0) {
		p = xcalloc(1, sizeof *p);
		p->wr.o = o;
		p->wr.root_dev = st.st_dev;
		p->ino = st.st_ino;
		p->path = xstrdup(srcs[0]);
		r.arg = &p->wr;
		p->l = lister_start(fd, srcs[0], &r);
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < n; i++)
		free(srcs[i]);
	free(srcs);
	return p;
}

void engine_backup_prep_free(struct backup_prep *p)
{
	if (p == NULL)
		return;
	lister_stop(p->l);
	free(p->path);
	free(p);
}

/* save_source_dir(c, prefix, srcs, n, id): the tree of directory prefix
 * ("/" or "/a/b") holding the sources that lie below it.  srcs are sorted
 * and none is below another. */
static int save_prefix(struct bctx *c, const char *prefix, char **srcs, size_t n, uint8_t id[ID_LEN])
{
	struct tree t = { 0, NULL };
	size_t plen = strcmp(prefix, "/") == 0 ? 0 : strlen(prefix);
	uint64_t stored;
	int rc = 0;

	t.nodes = xcalloc(n ? n : 1, sizeof *t.nodes);
	for (size_t i = 0; i < n && rc == 0;) {
		const char *rest = srcs[i] + plen + 1;
		const char *slash = strchr(rest, '/');
		size_t clen = slash ? (size_t)(slash - rest) : strlen(rest);
		char *comp = xasprintf("%.*s", (int)clen, rest);
		char *child = xasprintf("%.*s/%s", (int)plen, prefix, comp);
		char *parent = plen ? xstrdup(prefix) : xstrdup("/");
		size_t j = i;
		int dfd, got;

		while (j < n && strncmp(srcs[j], child, strlen(child)) == 0 &&
		    (srcs[j][strlen(child)] == '\0' || srcs[j][strlen(child)] == '/'))
			j++;
		/* O_PATH: a parent we may only search (mode 0711) still works */
		dfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			bad_path(c, parent, "open directory");
			got = 1;
		} else if (slash == NULL) {
			got = save_entry(c, dfd, comp, child, NULL, &t.nodes[t.n]);
		} else {
			/* an intermediate directory: its metadata, and only the
			 * sources below it */
			struct stat st;

			got = 1;
			memset(&t.nodes[t.n], 0, sizeof t.nodes[t.n]);
			if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
				bad_path(c, child, "stat directory");
			} else {
				struct node *nd = &t.nodes[t.n];

				nd->name_len = (uint32_t)clen;
				nd->name = xmemdup(comp, clen);
				nd->type = NODE_DIR;
				fill_meta(c, nd, &st);
				got = save_prefix(c, child, srcs + i, j - i, nd->subtree);
			}
		}
		if (dfd >= 0)
			close(dfd);
		if (got == 0)
			t.n++;
		else
			node_free(&t.nodes[t.n]);
		if (got < 0)
			rc = -1;
		free(comp);
		free(child);
		free(parent);
		i = j;
	}
	if (rc == 0 && plen == 0 && c->n_extra > 0)
		rc = merge_extra(c, &t);
	if (rc == 0 && collect(c) != 0)
		rc = -1;
	if (rc == 0) {
		rc = repo_save_tree(c->r, &t, id, &stored);
		c->res->added_bytes += stored;
	}
	tree_free(&t);
	return rc;
}

static int save_stdin(struct bctx *c, uint8_t id[ID_LEN])
{
	struct tree t = { 0, NULL };
	struct node n;
	uint64_t stored;
	int rc;

	memset(&n, 0, sizeof n);
	if (!name_valid((const uint8_t *)c->o->stdin_name, strlen(c->o->stdin_name))) {
		errmsg("--stdin-filename %s is not a valid file name (not empty, no '/', not . or .., at most 255 bytes)", c->o->stdin_name);
		return -1;
	}
	n.name_len = (uint32_t)strlen(c->o->stdin_name);
	n.name = xmemdup(c->o->stdin_name, n.name_len);
	n.type = NODE_FILE;
	n.mode = 0600;
	n.uid = getuid();
	n.gid = getgid();
	n.user = xstrdup(id_name(c->users, n.uid, 0));
	n.group = xstrdup(id_name(c->groups, n.gid, 1));
	n.mtime_ns = n.atime_ns = n.ctime_ns = now_ns();
	n.nlink = 1;
	rc = store_stream(c, 0, &n, pend_new(c, &n));
	if (rc != 0) {
		errmsg_errno("cannot read standard input");
		pend_drop_last(c);
		node_free(&n);
		return -1;
	}
	if (collect(c) != 0) {
		node_free(&n);
		return -1;
	}
	c->res->files = 1;
	c->res->bytes = n.size;
	t.n = 1;
	t.nodes = &n;
	rc = repo_save_tree(c->r, &t, id, &stored);
	c->res->added_bytes += stored;
	node_free(&n);
	return rc;
}

static int scan_total(int dfd, uint64_t *total, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (d == NULL) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISREG(st.st_mode))
			*total += (uint64_t)st.st_size;
		else if (S_ISDIR(st.st_mode) && depth < 256) {
			int fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0)
				scan_total(fd, total, depth + 1);
		}
	}
	closedir(d);
	return 0;
}

struct fc_load_job {
	struct filecache *fc;
	const char *dir;
	pthread_t th;
	int running;
};

static void *fc_loader(void *arg)
{
	struct fc_load_job *j = arg;

	fc_load(j->fc, j->dir);
	return NULL;
}

int engine_backup(struct repo *r, const struct backup_opts *o, struct backup_result *res)
{
	struct fc_load_job fl = { 0 };
	struct bctx c;
	struct journal *jn = NULL;
	struct snapshot s;
	char **srcs = NULL, hex[33], *cache_dir = NULL, host[256];
	size_t n = 0;
	uint8_t root[ID_LEN];
	int rc = -1;

	memset(&c, 0, sizeof c);
	memset(res, 0, sizeof *res);
	memset(&s, 0, sizeof s);
	c.r = r;
	c.o = o;
	c.wr.o = o;
	c.prep = o->prep;
	c.res = res;
	c.t0 = mono_sec();
	if (repo_need(r, CAN_OWNER | CAN_WRITE, "make backups") != 0)
		return -1;
	repo_id_hex(r, hex);
	cache_dir = fc_default_dir(hex, o->cache_dir);
	/* the file cache loads on a thread of its own while the index loads */
	if (!o->no_cache && !o->use_stdin) {
		fl.fc = &c.cache;
		fl.dir = cache_dir;
		if (pthread_create(&fl.th, NULL, fc_loader, &fl) != 0)
			fc_loader(&fl);
		else
			fl.running = 1;
	}
	/* a session (docs/FORMAT.md, "Prune"): marker, condemned blobs, index */
	rc = repo_session_begin(r) < 0 ? -1 : 0;
	if (fl.running)
		pthread_join(fl.th, NULL);
	if (rc != 0) {
		repo_session_end(r);
		fc_free(&c.cache);
		free(cache_dir);
		return -1;
	}
	c.work.r = r;
	if ((c.q = workq_start(&job_fns, &c.work, workq_threads(), MAX_QUEUED)) == NULL) {
		fc_free(&c.cache);
		free(cache_dir);
		return -1;
	}
	c.cap = repo_chunker(r)->max + (1u << 20);
	c.buf = xmalloc(c.cap);
	rc = -1;
	/* packs an interrupted backup stored but did not index: index them
	 * now (docs/FORMAT.md, "Pack journal"); record this run's */
	if (journal_start(r, cache_dir, &jn) != 0)
		goto out;
	if (o->use_stdin) {
		list_add(&srcs, &n, o->stdin_name);
		rc = save_stdin(&c, root);
	} else {
		char **urls = NULL;
		size_t nurls = 0;

		for (size_t i = 0; i < o->n_paths; i++)
			if (source_is_url(o->paths[i]))
				list_add(&urls, &nurls, o->paths[i]);
		if (nurls > 0) {
			/* cloud sources first: their nodes join the root tree */
			int got = bsrc_backup(&c, urls, nurls, &c.extra, &c.n_extra);

			if (got < 0 || nurls == o->n_paths) {
				/* failed, or cloud sources only: a root tree of their nodes */
				struct tree t = { 0, NULL };
				uint64_t stored;

				/* nothing could be read at all: no snapshot */
				if (got == 1 && c.n_extra == 0)
					got = -1;
				rc = got < 0 ? -1 : merge_extra(&c, &t);
				if (rc == 0 && (rc = collect(&c)) == 0) {
					rc = repo_save_tree(r, &t, root, &stored);
					res->added_bytes += stored;
				}
				tree_free(&t);
				for (size_t i = 0; i < nurls; i++)
					list_add(&srcs, &n, urls[i]);
				for (size_t i = 0; i < nurls; i++)
					free(urls[i]);
				free(urls);
				urls = NULL;
				nurls = 0;
				if (rc != 0)
					goto out;
				goto sources_done;
			}
		}
		if (local_sources(o, &srcs, &n, 1) != 0)
			goto out;
		if (o->progress) {
			for (size_t i = 0; i < n; i++) {
				int fd = open(srcs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				struct stat st;

				if (fd >= 0)
					scan_total(fd, &c.total_bytes, 0);
				else if (stat(srcs[i], &st) == 0)
					c.total_bytes += (uint64_t)st.st_size;
			}
		}
		{
			struct stat st;

			if (lstat(srcs[0], &st) != 0) {
				errmsg_errno("cannot back up %s", srcs[0]);
				goto out;
			}
			c.wr.root_dev = st.st_dev;
		}
		if (strcmp(srcs[0], "/") == 0 && c.n_extra > 0) {
			errmsg("cannot back up / together with cloud sources: make two backups");
			rc = -1;
		} else if (strcmp(srcs[0], "/") == 0) {
			int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			rc = fd < 0 || walk_dir(&c, fd, "/", NULL, root) != 0 ? -1 : 0;
		} else {
			rc = save_prefix(&c, "/", srcs, n, root);
		}
		/* the snapshot lists the cloud sources after the paths */
		for (size_t i = 0; i < nurls; i++) {
			list_add(&srcs, &n, urls[i]);
			free(urls[i]);
		}
		free(urls);
sources_done:;
	}
	progress(&c, 1);
	if (collect(&c) != 0)
		rc = -1;
	if (rc != 0)
		goto out;
	if (repo_flush(r) != 0) {
		rc = -1;
		goto out;
	}
	/* The snapshot */
	s.time_ns = o->time_ns ? o->time_ns : now_ns();
	if (o->host)
		snprintf(host, sizeof host, "%s", o->host);
	else if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	s.hostname = host;
	s.username = (char *)(uintptr_t)id_name(c.users, getuid(), 0);
	s.n_paths = (uint32_t)n;
	s.paths = srcs;
	s.n_tags = (uint32_t)o->n_tags;
	s.tags = o->tags;
	memcpy(s.tree, root, ID_LEN);
	s.files = res->files;
	s.dirs = res->dirs;
	s.bytes = res->bytes;
	s.added_bytes = res->added_bytes;
	s.n_unreadable = (uint32_t)c.n_bad;
	s.unreadable = c.bad;
	s.n_changed = (uint32_t)c.n_changed;
	s.changed = c.changed;
	{
		/* the copies that hold everything so far */
		size_t nc = repo_copies(r);
		char **copies = xcalloc(nc, sizeof *copies);

		for (size_t i = 0; i < nc; i++) {
			struct store_copy_info ci;

			repo_copy_info(r, i, &ci);
			if (!ci.down && ci.n_lacks == 0)
				copies[s.n_copies++] = (char *)(uintptr_t)ci.url;
		}
		s.copies = copies;
		s.program = (char *)(uintptr_t)"twofold " TWOFOLD_VERSION;
		rc = repo_session_check(r);	/* FORMAT.md 14.2: a stalled backup */
		if (rc == 0)
			rc = repo_save_snapshot(r, &s, res->snapshot);
		free(copies);
	}
	if (rc != 0)
		goto out;
	if (!o->no_cache && !o->use_stdin)
		fc_save(&c.cache);
	res->n_unreadable = c.n_bad;
	res->n_changed_while_read = c.n_changed;
	res->seconds = mono_sec() - c.t0;
	rc = c.n_bad ? EXIT_PARTIAL : 0;
out:
	for (size_t i = 0; i < n; i++)
		free(srcs[i]);
	free(srcs);
	for (size_t i = 0; i < c.n_bad; i++)
		free(c.bad[i]);
	free(c.bad);
	for (size_t i = 0; i < c.n_changed; i++)
		free(c.changed[i]);
	free(c.changed);
	for (int i = 0; i < NAME_CACHE; i++) {
		free(c.users[i].name);
		free(c.groups[i].name);
	}
	save_deferred(&c, -1);	/* after a failure: dropped, not saved */
	collect(&c);
	free(c.defer);
	workq_stop(c.q);
	journal_end(r, jn);
	if (repo_session_end(r) != 0 && rc >= 0)
		errmsg("warning: the backup's end marker could not be written; a prune "
		    "waits for this backup until its grace period has passed");
	free(c.pend);
	for (size_t i = 0; i < c.n_extra; i++)
		node_free(&c.extra[i]);
	free(c.extra);
	fc_free(&c.cache);
	free(cache_dir);
	free(c.buf);
	return rc;
}

/* ---- for backup_source.c (backup_internal.h) ---- */

int bk_stream(struct bctx *c, bk_reader rd, void *arg, struct node *n)
{
	struct pend *pd = pend_new(c, n);
	int rc = store_reader(c, rd, arg, n, pd);

	if (rc != 0)
		pend_drop_last(c);
	return rc;
}

int bk_save_tree(struct bctx *c, const struct tree *t, uint8_t id[ID_LEN])
{
	uint64_t stored;
	int rc;

	if (collect(c) != 0)
		return -1;
	rc = repo_save_tree(c->r, t, id, &stored);
	c->res->added_bytes += stored;
	return rc;
}

int bk_collect(struct bctx *c)
{
	return collect(c);
}

struct repo *bk_repo(struct bctx *c)
{
	return c->r;
}

const struct backup_opts *bk_opts(struct bctx *c)
{
	return c->o;
}

struct backup_result *bk_result(struct bctx *c)
{
	return c->res;
}

void bk_unreadable(struct bctx *c, const char *path)
{
	list_add(&c->bad, &c->n_bad, path);
}

void bk_changed(struct bctx *c, const char *path)
{
	list_add(&c->changed, &c->n_changed, path);
}

void bk_progress(struct bctx *c, uint64_t bytes)
{
	c->done_bytes += bytes;
	progress(c, 0);
}

void bk_add_total(struct bctx *c, uint64_t bytes)
{
	c->total_bytes += bytes;
}
