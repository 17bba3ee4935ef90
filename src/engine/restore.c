/* restore.c: recreate a snapshot's tree (or the parts --include names)
 * below a target directory.
 *
 * The repository is not trusted here: every name is checked again, and
 * nothing is ever reached by a path of more than one component.  The
 * target is opened with O_NOFOLLOW; below it every entry is made or
 * opened with an *at() call relative to its parent's descriptor, with
 * O_NOFOLLOW (or AT_SYMLINK_NOFOLLOW), so neither a symlink in the
 * snapshot nor one planted in the target can lead outside.  What stands
 * in the way of a file, symlink or special file is unlinked, never
 * written through; a directory is reused only if it opens as a real
 * directory.  Hard links are made only to files this run created, found
 * again component by component and checked by device and inode.
 *
 * Order: a file's content, then its owner, xattrs, mode and times; a
 * directory's metadata after all its children (post-order), so creating
 * them does not change its mtime and a read-only mode does not stop them.
 * Directory descriptors are kept open for the last FD_WINDOW levels only;
 * a closed one is reopened from its child through ".." and checked by
 * device and inode.  A file whose data cannot be read is reported by
 * name and removed, and the restore goes on. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "source/source.h"
#include "util/json.h"
#include "util/util.h"
#include "util/workq.h"

#define MAX_DEPTH 4096		/* directory levels below the target */
#define FD_WINDOW 32		/* directory descriptors kept open */
#define HOLE_BLOCK 4096		/* all-zero aligned blocks become holes */
#define ID_CACHE 64		/* user and group names looked up */
#define XATTR_WARNINGS 10	/* then they are counted, not shown */

/* A directory with files in the worker pool.  Its metadata is set when
 * the walker has left it and the last of its files is done, by whichever
 * comes last: creating or removing an entry would change its mtime. */
struct rdir {
	int fd;			/* a duplicate while files are pending, else -1 */
	unsigned pending;	/* its files in the pool */
	int left;		/* the walker left it */
	int meta;		/* n (its node) and path are set */
	struct node n;
	char *path;		/* for messages */
};

/* One directory from the target down to where the restore is. */
struct level {
	int fd;			/* -1 while closed (far ancestors) */
	dev_t dev;
	ino_t ino;
	const uint8_t *name;	/* into a tree that outlives the level */
	uint32_t len;
	struct rdir *rd;	/* NULL until a file of it goes to the pool */
};

/* A file of a hard link group restored in this run. */
struct hlink {
	int used;
	uint64_t dev, ino;	/* the identity recorded in the snapshot */
	uint8_t *where;		/* (u8 length, bytes) per component from the
				 * target: the parent directories, then the name */
	size_t where_len;
	uint32_t n_dirs;
	dev_t pdev, fdev;	/* parent directory and file as created */
	ino_t pino, fino;
};

struct idcache {
	char *name;
	uint32_t id;
	int found;
};

struct incl {
	char *copy;		/* the include, split in place */
	char **parts;
	int n;
};

struct rctx {
	struct repo *r;
	const struct restore_opts *o;
	int root;		/* running as root: owners and devices */
	struct buf data;	/* one chunk, reused */
	struct level *lv;	/* lv[0] is the target */
	size_t n_lv;
	struct hlink *hl;	/* open addressing, keyed by (dev, ino) */
	size_t hl_cap, hl_n;
	struct idcache users[ID_CACHE], groups[ID_CACHE];
	char linkbuf[MAX_LINK + 1];
	uint64_t files, dirs, bytes, errors, warnings;
	unsigned xattr_warnings;
	double t0, last_draw;
	int drawn;
	uint64_t total;		/* bytes to restore, for the ETA; 0 unknown */
	struct workq *pool;	/* file contents are written by workers */
	pthread_mutex_t mu;	/* messages and counters, shared with workers */
};

/* A worker restoring one file's contents and metadata names it by this
 * path in messages (the walker's directory stack is not its own). */
static __thread const char *tl_path;

static void count(uint64_t *v, uint64_t d)
{
	__atomic_add_fetch(v, d, __ATOMIC_RELAXED);
}

/* ---- messages ---- */

static void progress(struct rctx *c, int final)
{
	double now, el;
	char a[32], b[32];

	if (!c->o->progress || tl_path != NULL)
		return;
	if (final) {
		if (c->drawn)
			fputs("\r\033[K", stderr);
		c->drawn = 0;
		return;
	}
	now = mono_sec();
	if (now - c->last_draw < 0.25)
		return;
	c->last_draw = now;
	el = now - c->t0;
	fprintf(stderr, "\r\033[K%llu files, %s, %s/s", (unsigned long long)c->files,
	    fmt_bytes(c->bytes, a, sizeof a),
	    fmt_bytes(el > 0 ? (uint64_t)((double)c->bytes / el) : 0, b, sizeof b));
	if (c->total > c->bytes && c->bytes > 0 && el > 1) {
		double eta = el * (double)(c->total - c->bytes) / (double)c->bytes;

		fprintf(stderr, " of %s, ETA %d:%02d", fmt_bytes(c->total, a, sizeof a),
		    (int)eta / 60, (int)eta % 60);
	}
	c->drawn = 1;
}

/* say(c, fmt, ...): errmsg, after clearing the progress line. */
static void say(struct rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct rctx *c, const char *fmt, ...)
{
	char small[512], *msg = small;
	va_list ap;
	int n;

	progress(c, 1);
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof small) {
		msg = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_lock(&c->mu);
	errmsg("%s", msg);
	pthread_mutex_unlock(&c->mu);
	if (msg != small)
		free(msg);
}

static char *buf_cstr(struct buf *b)
{
	char *s;
	size_t len;

	buf_append(b, "", 1);
	s = (char *)buf_steal(b, &len);
	return s ? s : xstrdup("?");
}

/* path_of(c, name, len): the printable snapshot path of entry name of the
 * current directory (of the current directory itself if name is NULL). */
static char *path_of(const struct rctx *c, const uint8_t *name, uint32_t len)
{
	struct buf b;

	buf_init(&b, SIZE_MAX);
	for (size_t i = 1; i < c->n_lv; i++) {
		buf_append(&b, "/", 1);
		buf_append_escaped(&b, c->lv[i].name, c->lv[i].len);
	}
	if (name != NULL) {
		buf_append(&b, "/", 1);
		buf_append_escaped(&b, name, len);
	}
	if (b.len == 0)
		buf_append(&b, "/", 1);
	return buf_cstr(&b);
}

/* report(c, n, what, counter, fmt, ap): "WHAT PATH: MESSAGE", counted. */
static void report(struct rctx *c, const struct node *n, const char *what, uint64_t *counter,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void report(struct rctx *c, const struct node *n, const char *what, uint64_t *counter,
    const char *fmt, va_list ap)
{
	char why[512];
	char *p = tl_path ? xstrdup(tl_path) : path_of(c, n->name, n->name_len);

	vsnprintf(why, sizeof why, fmt, ap);
	say(c, "%s %s: %s", what, p, why);
	free(p);
	count(counter, 1);
}

/* fail(c, n, fmt, ...): "cannot restore PATH: MESSAGE", an error. */
static void fail(struct rctx *c, const struct node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct rctx *c, const struct node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, n, "cannot restore", &c->errors, fmt, ap);
	va_end(ap);
}

/* warn(c, n, fmt, ...): "warning: PATH: MESSAGE", not an error. */
static void warn(struct rctx *c, const struct node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(struct rctx *c, const struct node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, n, "warning:", &c->warnings, fmt, ap);
	va_end(ap);
}

static const char *read_trouble(int rc)
{
	return rc == R_MISSING ? "missing" : rc == R_CORRUPT ? "damaged" : "unreadable";
}

/* ---- owners ---- */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* map_id(cache, name, id, group): the local ID of a user or group name,
 * or id if the name is empty or unknown here. */
static uint32_t map_id(struct idcache *cache, const char *name, uint32_t id, int group)
{
	struct idcache *e;
	char tmp[4096];

	if (name == NULL || name[0] == '\0')
		return id;
	e = &cache[name_hash(name) % ID_CACHE];
	if (e->name == NULL || strcmp(e->name, name) != 0) {
		free(e->name);
		e->name = xstrdup(name);
		e->found = 0;
		if (group) {
			struct group g, *gp = NULL;

			if (getgrnam_r(name, &g, tmp, sizeof tmp, &gp) == 0 && gp != NULL) {
				e->id = (uint32_t)gp->gr_gid;
				e->found = 1;
			}
		} else {
			struct passwd pw, *pp = NULL;

			if (getpwnam_r(name, &pw, tmp, sizeof tmp, &pp) == 0 && pp != NULL) {
				e->id = (uint32_t)pp->pw_uid;
				e->found = 1;
			}
		}
	}
	return e->found ? e->id : id;
}

/* ---- metadata ---- */

static struct timespec ts_of(int64_t ns)
{
	struct timespec t;
	int64_t s = ns / 1000000000, f = ns % 1000000000;

	if (f < 0) {
		f += 1000000000;
		s--;
	}
	t.tv_sec = (time_t)s;
	t.tv_nsec = (long)f;
	return t;
}

static void set_xattrs(struct rctx *c, int fd, const struct node *n)
{
	for (uint32_t i = 0; i < n->n_xattrs; i++) {
		const struct xattr *x = &n->xattrs[i];

		if (x->name == NULL || x->name[0] == '\0') {
			warn(c, n, "an xattr without a name was not restored");
			continue;
		}
		if (fsetxattr(fd, x->name, x->value, x->len, 0) == 0)
			continue;
		if (__atomic_add_fetch(&c->xattr_warnings, 1, __ATOMIC_RELAXED) <= XATTR_WARNINGS) {
			struct buf b;
			char *xn;
			int e = errno;

			buf_init(&b, SIZE_MAX);
			buf_append_escaped(&b, (const uint8_t *)x->name, strlen(x->name));
			xn = buf_cstr(&b);
			warn(c, n, "cannot restore xattr %s: %s%s", xn, strerror(e),
			    c->xattr_warnings == XATTR_WARNINGS ? " (further xattr failures are only counted)" : "");
			free(xn);
		} else {
			count(&c->warnings, 1);
		}
	}
}

/* set_meta(c, fd, dfd, nm, n): owner, xattrs, mode and times of a restored
 * entry: through fd when it is open (files, directories, fifos), else by
 * name nm in dfd without following a symlink. */
static void set_meta(struct rctx *c, int fd, int dfd, const char *nm, const struct node *n)
{
	struct timespec ts[2];
	uid_t uid = (uid_t)-1;
	gid_t gid;
	int rc;

	gid = (gid_t)(c->o->numeric_ids ? n->gid : map_id(c->groups, n->group, n->gid, 1));
	if (c->root)
		uid = (uid_t)(c->o->numeric_ids ? n->uid : map_id(c->users, n->user, n->uid, 0));
	/* As root the owner; otherwise the group, which works where the user
	 * belongs to it (EPERM elsewhere is expected and not reported). */
	rc = fd >= 0 ? fchown(fd, uid, gid) : fchownat(dfd, nm, uid, gid, AT_SYMLINK_NOFOLLOW);
	if (rc != 0 && (c->root || (errno != EPERM && errno != EINVAL)))
		fail(c, n, "cannot set its owner: %s", strerror(errno));
	if (n->n_xattrs > 0) {
		if (fd >= 0)
			set_xattrs(c, fd, n);
		else
			warn(c, n, "its %lu xattr(s) were not restored (not supported on this type)",
			    (unsigned long)n->n_xattrs);
	}
	/* After chown, which clears setuid and setgid. */
	if (n->type != NODE_SYMLINK) {
		mode_t m = (mode_t)(n->mode & 07777);

		if (fd >= 0) {
			rc = fchmod(fd, m);
		} else {
			rc = fchmodat(dfd, nm, m, AT_SYMLINK_NOFOLLOW);
			if (rc != 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) {
				/* old kernel and no /proc: make sure it is no
				 * symlink, then the plain call */
				struct stat st;

				if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
					rc = fchmodat(dfd, nm, m, 0);
			}
		}
		if (rc != 0)
			fail(c, n, "cannot set its mode: %s", strerror(errno));
	}
	ts[0] = ts_of(n->atime_ns);
	ts[1] = ts_of(n->mtime_ns);
	rc = fd >= 0 ? futimens(fd, ts) : utimensat(dfd, nm, ts, AT_SYMLINK_NOFOLLOW);
	if (rc != 0)
		fail(c, n, "cannot set its times: %s", strerror(errno));
}

/* ---- making entries ---- */

/* clear_slot(c, dfd, nm, n): after EEXIST: remove what is at nm unless it
 * is a directory.  0 if the name is free now, -1 (reported) if not. */
static int clear_slot(struct rctx *c, int dfd, const char *nm, const struct node *n)
{
	struct stat st;

	if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		fail(c, n, "%s", strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		fail(c, n, "a directory of that name is in the way");
		return -1;
	}
	if (unlinkat(dfd, nm, 0) != 0 && errno != ENOENT) {
		fail(c, n, "cannot remove what is in the way: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* pwrite_all(fd, p, n, off): 0, or -1 with errno. */
static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int zero_block(const uint8_t *p)
{
	return p[0] == 0 && memcmp(p, p + 1, HOLE_BLOCK - 1) == 0;
}

/* write_sparse(fd, p, n, off, end): write n bytes at off, leaving holes
 * for all-zero aligned blocks; *end is where the last write ended.  The
 * file is new, so skipped blocks read as zeros. */
static int write_sparse(int fd, const uint8_t *p, size_t n, uint64_t off, uint64_t *end)
{
	size_t i = 0;

	while (i < n) {
		size_t head = HOLE_BLOCK - (size_t)((off + i) % HOLE_BLOCK), j;

		if (head == HOLE_BLOCK && n - i >= HOLE_BLOCK && zero_block(p + i)) {
			for (i += HOLE_BLOCK; n - i >= HOLE_BLOCK && zero_block(p + i); i += HOLE_BLOCK)
				;
			continue;
		}
		/* data up to the next aligned all-zero block */
		j = i + (head < n - i ? head : n - i);
		while (n - j >= HOLE_BLOCK && !zero_block(p + j))
			j += HOLE_BLOCK;
		if (n - j < HOLE_BLOCK)
			j = n;
		if (pwrite_all(fd, p + i, j - i, off + i) != 0)
			return -1;
		*end = off + j;
		i = j;
	}
	return 0;
}

/* write_content(c, fd, n): the chunks of file n.  0, or -1 (reported). */
static int write_content(struct rctx *c, int fd, const struct node *n, struct buf *data)
{
	uint64_t off = 0, end = 0;

	for (uint32_t i = 0; i < n->n_chunks; i++) {
		int rc;

		buf_truncate(data, 0);
		if ((rc = repo_read_blob(c->r, n->chunks[i], data)) != 0) {
			fail(c, n, "its chunk %lu of %lu is %s", (unsigned long)i + 1,
			    (unsigned long)n->n_chunks, read_trouble(rc));
			return -1;
		}
		if (write_sparse(fd, data->p, data->len, off, &end) != 0) {
			fail(c, n, "write: %s", strerror(errno));
			return -1;
		}
		off += data->len;
		count(&c->bytes, data->len);
		progress(c, 0);
	}
	if (end < off && ftruncate(fd, (off_t)off) != 0) {
		fail(c, n, "cannot set its size: %s", strerror(errno));
		return -1;
	}
	if (off != n->size)
		fail(c, n, "the snapshot is damaged: its chunks hold %llu bytes, its entry "
		    "says %llu (restored as the chunks hold)", (unsigned long long)off,
		    (unsigned long long)n->size);
	return 0;
}

/* ---- hard links ---- */

static size_t hl_slot(uint64_t dev, uint64_t ino, size_t cap)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15u) ^ (ino * 0xc2b2ae3d27d4eb4fu);

	return (size_t)(h ^ h >> 29) & (cap - 1);
}

static struct hlink *hl_find(struct rctx *c, uint64_t dev, uint64_t ino)
{
	if (c->hl_cap == 0)
		return NULL;
	for (size_t i = hl_slot(dev, ino, c->hl_cap);; i = (i + 1) & (c->hl_cap - 1)) {
		if (!c->hl[i].used)
			return NULL;
		if (c->hl[i].dev == dev && c->hl[i].ino == ino)
			return &c->hl[i];
	}
}

static void hl_insert(struct hlink *v, size_t cap, const struct hlink *h)
{
	size_t i = hl_slot(h->dev, h->ino, cap);

	while (v[i].used)
		i = (i + 1) & (cap - 1);
	v[i] = *h;
}

/* hl_add(c, n, fd): remember file n, just created in the current
 * directory and open as fd, as the one later names of its group link to. */
static void hl_add(struct rctx *c, const struct node *n, int fd)
{
	const struct level *cur = &c->lv[c->n_lv - 1];
	struct hlink h;
	struct stat st;
	uint8_t *w;

	if (fstat(fd, &st) != 0)
		return;
	memset(&h, 0, sizeof h);
	h.used = 1;
	h.dev = n->dev;
	h.ino = n->ino;
	h.n_dirs = (uint32_t)(c->n_lv - 1);
	h.where_len = 1 + n->name_len;
	for (size_t i = 1; i < c->n_lv; i++)
		h.where_len += 1 + c->lv[i].len;
	w = h.where = xmalloc(h.where_len);
	for (size_t i = 1; i < c->n_lv; i++) {
		*w++ = (uint8_t)c->lv[i].len;
		memcpy(w, c->lv[i].name, c->lv[i].len);
		w += c->lv[i].len;
	}
	*w++ = (uint8_t)n->name_len;
	memcpy(w, n->name, n->name_len);
	h.pdev = cur->dev;
	h.pino = cur->ino;
	h.fdev = st.st_dev;
	h.fino = st.st_ino;
	if ((c->hl_n + 1) * 2 > c->hl_cap) {
		size_t cap = c->hl_cap ? c->hl_cap * 2 : 256;
		struct hlink *v = xcalloc(cap, sizeof *v);

		for (size_t i = 0; i < c->hl_cap; i++)
			if (c->hl[i].used)
				hl_insert(v, cap, &c->hl[i]);
		free(c->hl);
		c->hl = v;
		c->hl_cap = cap;
	}
	hl_insert(c->hl, c->hl_cap, &h);
	c->hl_n++;
}

/* hl_open_dir(c, h, name): open the directory of h's file again from the
 * target, one component at a time; its file's name into name.  An fd
 * (O_PATH) or -1. */
static int hl_open_dir(struct rctx *c, const struct hlink *h, char name[MAX_NAME + 1])
{
	const uint8_t *w = h->where;
	int fd = c->lv[0].fd;
	struct stat st;

	for (uint32_t i = 0; i <= h->n_dirs; i++) {
		size_t len = *w++;

		memcpy(name, w, len);
		name[len] = '\0';
		w += len;
		if (i == h->n_dirs)
			break;
		int nfd = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd != c->lv[0].fd)
			close(fd);
		if (nfd < 0)
			return -1;
		fd = nfd;
	}
	if (fd == c->lv[0].fd)
		fd = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_dev != h->pdev || st.st_ino != h->pino)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* link_file(c, dfd, nm, n, h): make nm a hard link to the file of h.
 * 0 done, 1 not possible (the caller restores a copy), -1 failed (reported). */
static int link_file(struct rctx *c, int dfd, const char *nm, const struct node *n, const struct hlink *h)
{
	const struct level *cur = &c->lv[c->n_lv - 1];
	char src[MAX_NAME + 1];
	struct stat st;
	int sfd, rc = 1;

	if (h->pdev == cur->dev && h->pino == cur->ino) {
		const uint8_t *w = h->where;

		for (uint32_t i = 0; i < h->n_dirs; i++)
			w += 1 + *w;
		memcpy(src, w + 1, *w);
		src[*w] = '\0';
		sfd = dfd;
	} else if ((sfd = hl_open_dir(c, h, src)) < 0) {
		return 1;
	}
	if (fstatat(sfd, src, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    st.st_dev == h->fdev && st.st_ino == h->fino) {
		for (int tries = 0; tries < 2; tries++) {
			if (linkat(sfd, src, dfd, nm, 0) == 0) {
				rc = 0;
				break;
			}
			if (errno != EEXIST || tries > 0)
				break;
			if (clear_slot(c, dfd, nm, n) != 0) {
				rc = -1;
				break;
			}
		}
	}
	if (sfd != dfd)
		close(sfd);
	return rc;
}

/* ---- entries ---- */

/* ---- the file pipeline: the walker hands each file to a worker (one
 * per core), which creates it (the walker does for the first file of a
 * hard link group, which later names link to), writes the contents, sets
 * owner, xattrs, mode and times, and closes it.  Directories do not wait
 * for their files: struct rdir. ---- */

#define RPOOL_MAX_JOBS 64	/* files in flight */

struct rjob {
	int fd;			/* the file, or -1: the worker creates it */
	struct rdir *dir;	/* its directory */
	char *nm;
	char *path;		/* for messages */
	struct node n;		/* a copy: the walker frees its tree */
};

/* node_copy(dst, src, c): what a worker needs of a file node, with the
 * owner already mapped to local IDs (the name caches are the walker's). */
static void node_copy(struct node *d, const struct node *n, struct rctx *c)
{
	*d = *n;
	d->name = xmemdup(n->name, n->name_len ? n->name_len : 1);
	d->link = NULL;
	d->link_len = 0;
	d->uid = c->o->numeric_ids ? n->uid : map_id(c->users, n->user, n->uid, 0);
	d->gid = c->o->numeric_ids ? n->gid : map_id(c->groups, n->group, n->gid, 1);
	d->user = xstrdup("");
	d->group = xstrdup("");
	d->chunks = n->n_chunks ? xmemdup(n->chunks, (size_t)n->n_chunks * ID_LEN) : NULL;
	d->xattrs = n->n_xattrs ? xcalloc(n->n_xattrs, sizeof *d->xattrs) : NULL;
	for (uint32_t i = 0; i < n->n_xattrs; i++) {
		d->xattrs[i].name = xstrdup(n->xattrs[i].name ? n->xattrs[i].name : "");
		d->xattrs[i].len = n->xattrs[i].len;
		d->xattrs[i].value = xmemdup(n->xattrs[i].value, n->xattrs[i].len ? n->xattrs[i].len : 1);
	}
}

/* create_file(c, dfd, nm, n): a new regular file nm in dfd, replacing
 * what is in the way unless it is a directory.  The fd, or -1 (reported). */
static int create_file(struct rctx *c, int dfd, const char *nm, const struct node *n)
{
	int fd = -1;

	for (int tries = 0; tries < 2; tries++) {
		fd = openat(dfd, nm, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST || tries > 0)
			break;
		if (clear_slot(c, dfd, nm, n) != 0)
			return -1;
	}
	if (fd < 0)
		fail(c, n, "cannot create it: %s", strerror(errno));
	return fd;
}

/* dir_done(c, d): directory d's metadata, now that the walker has left it
 * and its files are done. */
static void dir_done(struct rctx *c, struct rdir *d)
{
	if (d->meta) {
		tl_path = d->path;
		set_meta(c, d->fd, -1, NULL, &d->n);
		tl_path = NULL;
		node_free(&d->n);
		free(d->path);
	}
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

/* dir_release(c, d): one file of d is done. */
static void dir_release(struct rctx *c, struct rdir *d)
{
	int done = 0;

	pthread_mutex_lock(&c->mu);
	if (--d->pending == 0) {
		done = d->left;
		if (!done) {
			close(d->fd);	/* the walker dups it again if needed */
			d->fd = -1;
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (done)
		dir_done(c, d);
}

static void rjob_run(struct rctx *c, struct rjob *j, struct buf *data)
{
	tl_path = j->path;
	if (j->fd < 0)
		j->fd = create_file(c, j->dir->fd, j->nm, &j->n);
	if (j->fd < 0) {
		/* reported */
	} else if (write_content(c, j->fd, &j->n, data) != 0) {
		close(j->fd);
		unlinkat(j->dir->fd, j->nm, 0);
	} else {
		set_meta(c, j->fd, -1, NULL, &j->n);
		if (close(j->fd) != 0)
			fail(c, &j->n, "close: %s", strerror(errno));
		else
			count(&c->files, 1);
	}
	tl_path = NULL;
	free(j->nm);
	free(j->path);
	node_free(&j->n);
	free(j);
}

static void run_rjob(void *ctx, void *item, void *scratch)
{
	struct rdir *d = ((struct rjob *)item)->dir;

	rjob_run(ctx, item, scratch);
	dir_release(ctx, d);
}

static void *new_buf(void *ctx)
{
	struct buf *b = xmalloc(sizeof *b);

	(void)ctx;
	buf_init(b, MAX_BLOB);
	return b;
}

static void free_buf(void *p)
{
	buf_free(p);
	free(p);
}

static const struct workq_fns rjob_fns = { run_rjob, new_buf, free_buf };

/* rpool_submit(c, fd, dfd, nm, n): file n (fd, or -1 to be created) of
 * the current directory dfd to a worker. */
static void rpool_submit(struct rctx *c, int fd, int dfd, const char *nm, const struct node *n)
{
	struct level *lv = &c->lv[c->n_lv - 1];
	struct rjob *j = xcalloc(1, sizeof *j);
	int ok;

	j->fd = fd;
	j->nm = xstrdup(nm);
	j->path = path_of(c, n->name, n->name_len);
	node_copy(&j->n, n, c);
	if (lv->rd == NULL) {
		lv->rd = xcalloc(1, sizeof *lv->rd);
		lv->rd->fd = -1;
	}
	pthread_mutex_lock(&c->mu);
	if (lv->rd->fd < 0)
		lv->rd->fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	ok = lv->rd->fd >= 0 && c->pool != NULL;
	if (ok)
		lv->rd->pending++;
	pthread_mutex_unlock(&c->mu);
	j->dir = lv->rd;
	if (ok) {
		workq_submit(c->pool, j, 1);
		return;
	}
	/* no pool or no descriptor: run here, through the walker's fd */
	{
		struct rdir here = { .fd = dfd };

		j->dir = &here;
		rjob_run(c, j, &c->data);
	}
}

/* level_leave(c, lv, n): the walker is done with directory level lv,
 * which c->n_lv no longer counts: its metadata (n; NULL for the target
 * and for a lost directory, which keep theirs) now, or by its last file
 * if some are still with the workers.  Closes lv's fd, unless it is the
 * target's. */
static void level_leave(struct rctx *c, struct level *lv, const struct node *n)
{
	struct rdir *d = lv->rd;
	int mine = n != NULL && lv->fd >= 0;

	lv->rd = NULL;
	if (d != NULL) {
		int later;

		if (mine) {
			node_copy(&d->n, n, c);
			d->path = path_of(c, n->name, n->name_len);
			d->meta = 1;
		}
		pthread_mutex_lock(&c->mu);
		later = d->left = d->pending > 0;
		pthread_mutex_unlock(&c->mu);
		if (!later) {
			/* done here, through the walker's fd */
			if (d->fd >= 0)
				close(d->fd);
			d->fd = mine ? lv->fd : -1;
			if (mine)
				lv->fd = -1;
			dir_done(c, d);
		}
		/* else the last file's worker frees d: hands off */
	} else if (mine) {
		set_meta(c, lv->fd, -1, NULL, n);
	}
	if (n != NULL && lv->fd >= 0) {
		close(lv->fd);
		lv->fd = -1;
	}
}

static void restore_file(struct rctx *c, int dfd, const char *nm, const struct node *n)
{
	struct hlink *h = n->nlink > 1 ? hl_find(c, n->dev, n->ino) : NULL;
	int fd = -1;

	if (h != NULL) {
		int rc = link_file(c, dfd, nm, n, h);

		if (rc == 0)
			count(&c->files, 1);
		if (rc <= 0)
			return;
		warn(c, n, "cannot make it a hard link again; restoring it as a separate copy");
	}
	if (n->nlink > 1 && h == NULL) {
		/* later names link to it: it must exist before they come */
		if ((fd = create_file(c, dfd, nm, n)) < 0)
			return;
		hl_add(c, n, fd);
	}
	rpool_submit(c, fd, dfd, nm, n);
}

static void restore_symlink(struct rctx *c, int dfd, const char *nm, const struct node *n)
{
	if (n->link == NULL || n->link_len == 0 || n->link_len > MAX_LINK ||
	    memchr(n->link, '\0', n->link_len) != NULL) {
		fail(c, n, "refused: the snapshot holds an invalid symlink target");
		return;
	}
	memcpy(c->linkbuf, n->link, n->link_len);
	c->linkbuf[n->link_len] = '\0';
	for (int tries = 0; tries < 2; tries++) {
		if (symlinkat(c->linkbuf, dfd, nm) == 0) {
			set_meta(c, -1, dfd, nm, n);
			return;
		}
		if (errno != EEXIST || tries > 0)
			break;
		if (clear_slot(c, dfd, nm, n) != 0)
			return;
	}
	fail(c, n, "cannot create the symlink: %s", strerror(errno));
}

/* restore_special(c, dfd, nm, n): fifos and devices. */
static void restore_special(struct rctx *c, int dfd, const char *nm, const struct node *n)
{
	int rc = -1, fd;

	for (int tries = 0; tries < 2; tries++) {
		if (n->type == NODE_FIFO)
			rc = mkfifoat(dfd, nm, 0600);
		else
			rc = mknodat(dfd, nm, (n->type == NODE_CHAR ? S_IFCHR : S_IFBLK) | 0600,
			    (dev_t)n->rdev);
		if (rc == 0 || errno != EEXIST || tries > 0)
			break;
		if (clear_slot(c, dfd, nm, n) != 0)
			return;
	}
	if (rc != 0) {
		fail(c, n, "cannot create it: %s", strerror(errno));
		return;
	}
	/* A new fifo opens for reading without blocking and without side
	 * effects; a device is never opened. */
	fd = n->type == NODE_FIFO ?
	    openat(dfd, nm, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC) : -1;
	set_meta(c, fd, dfd, nm, n);
	if (fd >= 0)
		close(fd);
}

/* open_dir(c, dfd, nm, n): make directory nm, or reuse a real directory
 * there; an fd for reading, or -1 (reported). */
static int open_dir(struct rctx *c, int dfd, const char *nm, const struct node *n)
{
	struct stat st;
	int fd = -1;

	for (int tries = 0; tries < 3; tries++) {
		if (mkdirat(dfd, nm, 0700) == 0 || errno == EEXIST) {
			fd = openat(dfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				break;
			if (errno == ENOTDIR || errno == ELOOP) {
				/* a file or symlink is in the way */
				if (clear_slot(c, dfd, nm, n) != 0)
					return -1;
				continue;
			}
			if (errno == EACCES && tries == 0 &&
			    fchmodat(dfd, nm, 0700, AT_SYMLINK_NOFOLLOW) == 0)
				continue;
		}
		break;
	}
	if (fd < 0) {
		fail(c, n, "cannot make the directory: %s", strerror(errno));
		return -1;
	}
	/* An existing directory must take its children; its mode is set at
	 * the end anyway. */
	if (!c->root && fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 0700) != 0700)
		fchmod(fd, (st.st_mode & 07777) | 0700);
	return fd;
}

static void restore_tree(struct rctx *c, const struct tree *t, struct incl **act, size_t nact);

/* restore_dir(c, dfd, nm, n, act, nact): directory n, then what it holds
 * (everything if act is NULL, else what the includes act lead to), then
 * its metadata. */
static void restore_dir(struct rctx *c, int dfd, const char *nm, const struct node *n,
    struct incl **act, size_t nact)
{
	struct level *lv;
	struct tree sub;
	struct stat st;
	int fd, rc;

	if (c->n_lv > MAX_DEPTH) {
		fail(c, n, "refused: more than %d directory levels deep", MAX_DEPTH);
		return;
	}
	if ((fd = open_dir(c, dfd, nm, n)) < 0)
		return;
	if (fstat(fd, &st) != 0) {
		fail(c, n, "%s", strerror(errno));
		close(fd);
		return;
	}
	c->dirs++;
	if ((rc = repo_load_tree(c->r, n->subtree, &sub)) != 0)
		fail(c, n, "its directory listing is %s", read_trouble(rc));
	lv = &c->lv[c->n_lv++];
	lv->fd = fd;
	lv->dev = st.st_dev;
	lv->ino = st.st_ino;
	lv->name = n->name;
	lv->len = n->name_len;
	lv->rd = NULL;
	if (c->n_lv - 1 > FD_WINDOW) {
		struct level *far = &c->lv[c->n_lv - 1 - FD_WINDOW];

		if (far->fd >= 0)
			close(far->fd);
		far->fd = -1;
	}
	if (rc == 0) {
		restore_tree(c, &sub, act, nact);
		tree_free(&sub);
	}
	/* post-order: the directory's own metadata after its children
	 * (level_leave: when its last file is done) */
	lv = &c->lv[c->n_lv - 1];
	fd = lv->fd;
	c->n_lv--;
	if (fd < 0) {
		level_leave(c, lv, NULL);	/* lost; reported */
		return;
	}
	/* A closed parent is reopened from here first: the mode set below
	 * may forbid the search through "..". */
	if (c->lv[c->n_lv - 1].fd < 0) {
		struct level *up = &c->lv[c->n_lv - 1];
		int pfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (pfd >= 0 && (fstat(pfd, &st) != 0 || st.st_dev != up->dev || st.st_ino != up->ino)) {
			close(pfd);
			pfd = -1;
			errno = ESTALE;
		}
		if (pfd < 0) {
			char *p = path_of(c, NULL, 0);

			say(c, "stopped restoring in %s: cannot open it again (%s); was it moved "
			    "during the restore?", p, strerror(errno));
			free(p);
			c->errors++;
		}
		up->fd = pfd;
	}
	level_leave(c, lv, n);
}

static void restore_entry(struct rctx *c, int dfd, const char *nm, const struct node *n,
    struct incl **act, size_t nact)
{
	if (util_verbosity >= 2) {
		char *p = path_of(c, n->name, n->name_len);

		progress(c, 1);
		info(2, "%s", p);
		free(p);
	}
	switch (n->type) {
	case NODE_FILE:
		restore_file(c, dfd, nm, n);
		break;
	case NODE_DIR:
		restore_dir(c, dfd, nm, n, act, nact);
		break;
	case NODE_SYMLINK:
		restore_symlink(c, dfd, nm, n);
		break;
	case NODE_FIFO:
		restore_special(c, dfd, nm, n);
		break;
	case NODE_CHAR:
	case NODE_BLOCK:
		if (c->root)
			restore_special(c, dfd, nm, n);
		else
			warn(c, n, "device not restored (only root can make devices)");
		break;
	case NODE_SOCKET: {
		char *p = path_of(c, n->name, n->name_len);

		progress(c, 1);
		info(1, "skipped socket %s (a socket belongs to a running program)", p);
		free(p);
		break;
	}
	default:
		fail(c, n, "refused: unknown entry type %u", (unsigned)n->type);
		break;
	}
}

struct ref {
	const struct node *n;
	uint32_t i;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int r = node_cmp(x->n, y->n);

	return r ? r : x->i < y->i ? -1 : x->i > y->i;
}

/* dup_flags(t): NULL if every name of t is unique, else a flag per node
 * set on every repetition of a name (the first one stays). */
static uint8_t *dup_flags(const struct tree *t)
{
	struct ref *v;
	uint8_t *f;
	uint32_t i;

	for (i = 1; i < t->n; i++)
		if (node_cmp(&t->nodes[i - 1], &t->nodes[i]) >= 0)
			break;
	if (i >= t->n)
		return NULL;	/* strictly increasing: unique */
	v = xcalloc(t->n, sizeof *v);
	f = xcalloc(t->n, 1);
	for (i = 0; i < t->n; i++) {
		v[i].n = &t->nodes[i];
		v[i].i = i;
	}
	qsort(v, t->n, sizeof *v, ref_cmp);
	for (i = 1; i < t->n; i++)
		if (node_cmp(v[i - 1].n, v[i].n) == 0)
			f[v[i].i] = 1;
	free(v);
	return f;
}

/* restore_tree(c, t, act, nact): the entries of t into the current
 * directory: all of them if act is NULL, else those the includes act
 * (which match the path so far) name or lead to. */
static void restore_tree(struct rctx *c, const struct tree *t, struct incl **act, size_t nact)
{
	uint8_t *dup = dup_flags(t);
	struct incl **sub = act ? xcalloc(nact, sizeof *sub) : NULL;
	size_t level = c->n_lv - 1;
	char nm[MAX_NAME + 1];

	for (uint32_t i = 0; i < t->n; i++) {
		const struct node *n = &t->nodes[i];
		int dfd = c->lv[c->n_lv - 1].fd, full = act == NULL;
		size_t nsub = 0;

		if (dfd < 0)
			break;		/* the directory was lost; reported */
		if (n->name_len > MAX_NAME || !name_valid(n->name, n->name_len)) {
			fail(c, n, "refused: not a valid name (empty, '.', '..', or with '/' or NUL)");
			continue;
		}
		if (dup != NULL && dup[i]) {
			fail(c, n, "refused: the name appears twice in its directory");
			continue;
		}
		for (size_t k = 0; !full && k < nact; k++) {
			const char *part = act[k]->parts[level];

			if (strlen(part) != n->name_len || memcmp(part, n->name, n->name_len) != 0)
				continue;
			if ((size_t)act[k]->n == level + 1)
				full = 1;
			else
				sub[nsub++] = act[k];
		}
		if (!full && (nsub == 0 || n->type != NODE_DIR))
			continue;
		memcpy(nm, n->name, n->name_len);
		nm[n->name_len] = '\0';
		restore_entry(c, dfd, nm, n, full ? NULL : sub, nsub);
	}
	free(sub);
	free(dup);
}

/* ---- set up ---- */

/* resolve(c, root, inc): 1 if the include names an entry of the snapshot,
 * 0 if not, -1 if a tree on the way cannot be read (reported by repo). */
static int resolve(struct rctx *c, const struct tree *root, const struct incl *inc)
{
	struct tree cur = { 0, NULL }, next;
	const struct tree *t = root;
	int found = 0;

	for (int k = 0; k < inc->n; k++) {
		const struct node *nd = NULL;
		size_t len = strlen(inc->parts[k]);

		for (uint32_t i = 0; i < t->n && nd == NULL; i++)
			if (t->nodes[i].name_len == len && memcmp(t->nodes[i].name, inc->parts[k], len) == 0)
				nd = &t->nodes[i];
		if (nd == NULL)
			break;
		if (k == inc->n - 1) {
			found = 1;
			break;
		}
		if (nd->type != NODE_DIR)
			break;
		if (repo_load_tree(c->r, nd->subtree, &next) != 0) {
			found = -1;
			break;
		}
		tree_free(&cur);
		cur = next;
		t = &cur;
	}
	tree_free(&cur);
	return found;
}

/* open_target(target): open (after making it and its missing parents,
 * mode 0700) the directory to restore into.  An fd, or -1 (reported). */
static int open_target(const char *target)
{
	char *p = xstrdup(target);
	size_t len = strlen(p);
	int fd;

	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && len > 0) {
		for (char *s = p + 1;; s++) {
			if (*s == '/' || *s == '\0') {
				char save = *s;

				*s = '\0';
				if (mkdir(p, 0700) != 0 && errno != EEXIST) {
					errmsg_errno("cannot make the target directory %s", p);
					free(p);
					return -1;
				}
				*s = save;
				if (save == '\0')
					break;
			}
		}
		fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			errmsg("cannot restore into %s: it is a symbolic link or not a directory "
			    "(name the real directory)", target);
		else
			errmsg_errno("cannot open the target directory %s", target);
	}
	free(p);
	return fd;
}

static void summary(struct rctx *c)
{
	double secs = mono_sec() - c->t0;
	char b[32], w[48] = "";

	if (c->o->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_ku64(&j, "files", c->files);
		json_ku64(&j, "dirs", c->dirs);
		json_ku64(&j, "bytes", c->bytes);
		json_ku64(&j, "errors", c->errors);
		json_key(&j, "seconds");
		fprintf(stdout, "%.3f", secs);
		/* which copy served what (a repository of one copy: that one) */
		json_key(&j, "copies");
		json_begin_arr(&j);
		for (size_t i = 0; i < repo_copies(c->r); i++) {
			struct store_copy_info ci;

			repo_copy_info(c->r, i, &ci);
			json_begin_obj(&j);
			json_kstr(&j, "copy", ci.url);
			json_ku64(&j, "objects_served", ci.served);
			json_ku64(&j, "bytes_served", ci.served_bytes);
			json_ku64(&j, "missing", ci.missing);
			json_ku64(&j, "damaged", ci.corrupt);
			json_key(&j, "reachable");
			json_bool(&j, !ci.down);
			json_end_obj(&j);
		}
		json_end_arr(&j);
		json_end_obj(&j);
		json_end(&j);
	}
	if (c->warnings)
		snprintf(w, sizeof w, ", %llu warning(s)", (unsigned long long)c->warnings);
	info(1, "restored %llu files, %llu dirs, %s in %.1f s%s", (unsigned long long)c->files,
	    (unsigned long long)c->dirs, fmt_bytes(c->bytes, b, sizeof b), secs, w);
	if (c->errors)
		errmsg("%llu error(s), listed above; everything else was restored",
		    (unsigned long long)c->errors);
}

int engine_restore(struct repo *r, const struct snap_item *snap, const struct restore_opts *o)
{
	struct rctx c;
	struct tree root;
	struct incl *inc = NULL, **act = NULL;
	size_t nact = 0;
	int rc = -1, all = o->n_includes == 0, fd, found;

	if (source_is_url(o->target))
		return engine_restore_cloud(r, snap, o);
	memset(&c, 0, sizeof c);
	pthread_mutex_init(&c.mu, NULL);
	c.r = r;
	c.o = o;
	c.root = geteuid() == 0;
	c.t0 = c.last_draw = mono_sec();
	if (o->n_includes == 0)
		c.total = snap->s.bytes;
	if (repo_need(r, CAN_OWNER | CAN_READ, "restore snapshots") != 0)
		return -1;
	if ((rc = repo_load_tree(r, snap->s.tree, &root)) != 0) {
		errmsg("cannot restore: the snapshot's root tree is %s", read_trouble(rc));
		return -1;
	}
	rc = -1;
	inc = xcalloc(o->n_includes ? o->n_includes : 1, sizeof *inc);
	act = xcalloc(o->n_includes ? o->n_includes : 1, sizeof *act);
	for (size_t i = 0; i < o->n_includes; i++) {
		size_t len = strlen(o->includes[i]);
		struct buf b;
		char *e;

		inc[i].copy = xstrdup(o->includes[i]);
		inc[i].parts = xcalloc(len / 2 + 2, sizeof *inc[i].parts);
		inc[i].n = snapshot_path_split(inc[i].copy, inc[i].parts, (int)(len / 2 + 1));
		buf_init(&b, SIZE_MAX);
		buf_append_escaped(&b, (const uint8_t *)o->includes[i], len);
		e = buf_cstr(&b);
		if (inc[i].n < 0) {
			errmsg("--include %s: not a snapshot path (absolute, without '.' or '..')", e);
			free(e);
			goto out;
		}
		if (inc[i].n == 0) {
			all = 1;	/* "/": everything */
		} else if ((found = resolve(&c, &root, &inc[i])) > 0) {
			act[nact++] = &inc[i];
		} else {
			errmsg("--include %s: %s", e, found == 0 ? "not in the snapshot" :
			    "cannot be looked up (a directory on its way is damaged)");
			c.errors++;
		}
		free(e);
	}
	if (!all && nact == 0) {
		errmsg("nothing to restore");
		rc = EXIT_FATAL;
		goto out;
	}
	if ((fd = open_target(o->target)) < 0)
		goto out;
	c.lv = xcalloc(MAX_DEPTH + 2, sizeof *c.lv);
	c.lv[0].fd = fd;
	{
		struct stat st;

		if (fstat(fd, &st) == 0) {
			c.lv[0].dev = st.st_dev;
			c.lv[0].ino = st.st_ino;
		}
	}
	c.n_lv = 1;
	buf_init(&c.data, MAX_BLOB);
	c.pool = workq_start(&rjob_fns, &c, workq_threads(), RPOOL_MAX_JOBS);
	restore_tree(&c, &root, all ? NULL : act, nact);
	workq_stop(c.pool);
	c.pool = NULL;
	level_leave(&c, &c.lv[0], NULL);	/* the target keeps its metadata */
	progress(&c, 1);
	close(fd);
	summary(&c);
	rc = c.errors ? EXIT_FATAL : 0;
out:
	for (size_t i = 0; i < o->n_includes; i++) {
		free(inc[i].copy);
		free(inc[i].parts);
	}
	free(inc);
	free(act);
	for (size_t i = 0; i < c.hl_cap; i++)
		free(c.hl[i].where);
	free(c.hl);
	for (int i = 0; i < ID_CACHE; i++) {
		free(c.users[i].name);
		free(c.groups[i].name);
	}
	free(c.lv);
	buf_free(&c.data);
	tree_free(&root);
	return rc;
}
