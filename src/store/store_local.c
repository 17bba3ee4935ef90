/* store_local.c: a store in a local directory.
 *
 * Layout: the object "data/ab/abcd..." is the file ROOT/data/ab/abcd...;
 * store_create makes ROOT (mode 0700) with keys, config, data, data/00 ..
 * data/ff, index, snapshots and locks below it.  The "config" directory is
 * made last and marks a repository: its presence makes store_create return
 * 1, and a store_create interrupted by a crash can simply be run again.
 *
 * Objects are written create-only and atomically: the bytes go to a
 * temporary file ".tmp-<16 hex digits>" in the object's directory (mode
 * 0600, O_EXCL), which is fsync'd and then hard-linked to the final name.
 * link(2) never replaces an existing name, so of several concurrent writers
 * of one name exactly one wins and the others see EEXIST; on file systems
 * without hard links, renameat2(RENAME_NOREPLACE) gives the same guarantee.
 * The temporary name is then unlinked and the directory fsync'd.  A crash
 * leaves no object or the whole object, plus perhaps a stray temporary
 * file; names beginning with '.' are never objects (store.c rejects them)
 * and store_list skips them. */
#include "store/store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/util.h"

struct local {
	char *root;	/* absolute; no trailing '/' unless it is "/" */
	size_t base;	/* length of "ROOT/" as joined by local_path */
};

/* Room for ROOT, '/', a name and a temporary suffix in a PATH_MAX buffer. */
#define LOCAL_ROOT_MAX (PATH_MAX - STORE_NAME_MAX - 64)
#define DIRECT_ALIGN 4096u		/* O_DIRECT: buffer, offset and length */
#define DIRECT_MIN (1u << 20)		/* smaller objects are not worth it */

static struct local *L(const struct store *s)
{
	return s->priv;
}

/* local_path(l, out, name): write "ROOT/name" to out (PATH_MAX bytes).
 * Cannot truncate: the root length is bounded at open and names by
 * STORE_NAME_MAX; checked anyway.  0 or -1 (with a message). */
static int local_path(const struct local *l, char *out, const char *name)
{
	const char *sep = l->base > strlen(l->root) ? "/" : "";
	int r = snprintf(out, PATH_MAX, "%s%s%s", l->root, sep, name);

	if (r < 0 || r >= PATH_MAX) {
		errmsg("path of object %s in %s is too long", name, l->root);
		return -1;
	}
	return 0;
}

/* fsync_dir(path): fsync a directory.  0, or -1 with errno set.  File
 * systems that cannot sync a directory (EINVAL) count as success. */
static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r, e;

	if (fd == -1)
		return -1;
	r = fsync(fd);
	e = errno;
	if (r == -1 && e == EINVAL)
		r = 0;
	close(fd);
	errno = e;
	return r;
}

/* fsync_parent(path): fsync the directory that holds path (an absolute
 * path).  0, or -1 with errno set. */
static int fsync_parent(char *path)
{
	char *slash = strrchr(path, '/');
	char save;
	int r;

	if (slash == NULL)
		return fsync_dir(".");
	if (slash == path)
		return fsync_dir("/");
	save = *slash;
	*slash = '\0';
	r = fsync_dir(path);
	*slash = save;
	return r;
}

/* mkdir_p(l, path, from): make every missing directory along path (an
 * absolute path) whose name ends at or after offset from, mode 0700,
 * fsync'ing the parent of each one made.  0, or -1 after a message. */
static int mkdir_p(const struct local *l, char *path, size_t from)
{
	size_t n = strlen(path);

	for (size_t i = from; i <= n; i++) {
		char save;
		int r = 0;

		if (i == 0 || (i < n && path[i] != '/') || path[i - 1] == '/')
			continue;
		save = path[i];
		path[i] = '\0';
		if (mkdir(path, 0700) == 0) {
			if (fsync_parent(path) == -1) {
				errmsg_errno("cannot sync the directory above %s in store %s", path, l->root);
				r = -1;
			}
		} else if (errno != EEXIST) {
			errmsg_errno("cannot create directory %s in store %s", path, l->root);
			r = -1;
		}
		path[i] = save;
		if (r == -1)
			return -1;
	}
	return 0;
}

/* write_all(fd, p, n): write n bytes, retrying short writes and EINTR.
 * 0, or -1 with errno set. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t chunk = n < ((size_t)1 << 30) ? n : (size_t)1 << 30;
		ssize_t r = write(fd, p, chunk);

		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* write_direct(fd, p, n): write n bytes to the new, empty file fd.  A
 * page-aligned buffer's whole pages go straight to the disk (O_DIRECT):
 * an object is synced at once anyway, and copying a pack through the page
 * cache costs more CPU than sealing it.  The tail, and any file system
 * that refuses O_DIRECT, take the ordinary path.  0, or -1 with errno. */
static int write_direct(int fd, const uint8_t *p, size_t n)
{
	size_t body = n & ~(size_t)(DIRECT_ALIGN - 1);
	int fl;

	if (((uintptr_t)p & (DIRECT_ALIGN - 1)) != 0 || body < DIRECT_MIN ||
	    (fl = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, fl | O_DIRECT) == -1)
		return write_all(fd, p, n);
	if (write_all(fd, p, body) == -1) {
		/* EINVAL: this file system takes no direct I/O here */
		if (errno != EINVAL || fcntl(fd, F_SETFL, fl) == -1 || ftruncate(fd, 0) == -1 ||
		    lseek(fd, 0, SEEK_SET) == -1)
			return -1;
		return write_all(fd, p, n);
	}
	if (fcntl(fd, F_SETFL, fl) == -1)
		return -1;
	return write_all(fd, p + body, n - body);
}

/* tmp_suffix(out): ".tmp-" and 16 random hex digits into out (22 bytes). */
static void tmp_suffix(char *out)
{
	uint8_t r[8];
	char hex[17];

	if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		/* no entropy yet: uniqueness is all we need, and O_EXCL
		 * catches the rare clash */
		uint64_t v = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 40) ^
		    (uint64_t)(uintptr_t)&r;

		le64_put(r, v);
	}
	hex_encode(r, sizeof r, hex);
	memcpy(out, ".tmp-", 5);
	memcpy(out + 5, hex, sizeof hex);
}

/* link_noreplace(tmp, path): give the file tmp the name path without ever
 * replacing path.  0, or -1 with errno set (EEXIST: path exists).  On
 * success by rename, tmp is gone; by link, tmp still exists. */
static int link_noreplace(const char *tmp, const char *path, int *renamed)
{
	*renamed = 0;
	if (link(tmp, path) == 0)
		return 0;
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	/* no hard links here (FAT, some network and FUSE file systems) */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == -1)
		return -1;
	*renamed = 1;
	return 0;
}

static int local_put(struct store *s, const char *name, const void *p, size_t n)
{
	const struct local *l = L(s);
	char path[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	size_t dirlen;
	int fd = -1, made_dirs = 0, renamed = 0;

	if (local_path(l, path, name) == -1)
		return -1;
	if (lstat(path, &st) == 0)
		return 1;
	if (errno != ENOENT && errno != ENOTDIR) {
		errmsg_errno("cannot look up object %s in store %s", name, l->root);
		return -1;
	}
	dirlen = (size_t)(strrchr(path, '/') - path);
	memcpy(tmp, path, dirlen + 1);
	for (int tries = 0;; tries++) {
		tmp_suffix(tmp + dirlen + 1);
		fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd != -1)
			break;
		if (errno == EEXIST && tries < 8)
			continue;
		if (errno == ENOENT && !made_dirs) {
			/* a new directory: make it, with its parents */
			made_dirs = 1;
			path[dirlen] = '\0';
			if (mkdir_p(l, path, l->base) == -1)
				return -1;
			path[dirlen] = '/';
			continue;
		}
		errmsg_errno("cannot create a temporary file for object %s in store %s", name, l->root);
		return -1;
	}
	if (write_direct(fd, p, n) == -1) {
		errmsg_errno("cannot write object %s in store %s", name, l->root);
		goto fail;
	}
	if (fsync(fd) == -1) {
		errmsg_errno("cannot sync object %s in store %s", name, l->root);
		goto fail;
	}
	if (close(fd) == -1 && errno != EINTR) {
		fd = -1;
		errmsg_errno("cannot write object %s in store %s", name, l->root);
		goto fail;
	}
	fd = -1;
	if (link_noreplace(tmp, path, &renamed) == -1) {
		if (errno == EEXIST) {
			/* a concurrent writer won; its object stands */
			unlink(tmp);
			return 1;
		}
		errmsg_errno("cannot create object %s in store %s", name, l->root);
		goto fail;
	}
	if (!renamed)
		unlink(tmp);	/* a leftover is harmless: list skips it */
	if (fsync_parent(path) == -1) {
		errmsg_errno("cannot sync the directory of object %s in store %s", name, l->root);
		return -1;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

/* not_found(e): errno values that mean "no such object". */
static int not_found(int e)
{
	return e == ENOENT || e == ENOTDIR;
}

static int local_get(struct store *s, const char *name, uint64_t off, uint64_t len, struct buf *out)
{
	const struct local *l = L(s);
	char path[PATH_MAX];
	struct stat st;
	uint64_t size, want, done = 0;
	uint8_t *dst;
	int fd, ret = -1;

	if (local_path(l, path, name) == -1)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (not_found(errno))
			return 1;
		errmsg_errno("cannot open object %s in store %s", name, l->root);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		errmsg_errno("cannot stat object %s in store %s", name, l->root);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errmsg("object %s in store %s is not a regular file", name, l->root);
		goto out;
	}
	size = (uint64_t)st.st_size;
	if (off > size || (len != UINT64_MAX && len > size - off)) {
		uint64_t end = len == UINT64_MAX ? off :
		    len > UINT64_MAX - off ? UINT64_MAX : off + len;

		errmsg("object %s in %s is truncated: has %ju bytes, wanted up to %ju",
		    name, l->root, (uintmax_t)size, (uintmax_t)end);
		goto out;
	}
	want = len == UINT64_MAX ? size - off : len;
	if (want == 0) {
		ret = 0;
		goto out;
	}
	if (want > out->max - out->len || (dst = buf_reserve(out, (size_t)want)) == NULL) {
		errmsg("object %s in store %s: %ju bytes do not fit in the buffer "
		    "(%zu of at most %zu bytes used)", name, l->root,
		    (uintmax_t)want, out->len, out->max);
		goto out;
	}
	while (done < want) {
		uint64_t left = want - done;
		size_t chunk = left < ((uint64_t)1 << 30) ? (size_t)left : (size_t)1 << 30;
		ssize_t r = pread(fd, dst + done, chunk, (off_t)(off + done));

		if (r == -1) {
			if (errno == EINTR)
				continue;
			errmsg_errno("cannot read object %s in store %s", name, l->root);
			goto out;
		}
		if (r == 0) {
			errmsg("object %s in %s is truncated: shrank while being read, "
			    "wanted up to %ju bytes", name, l->root, (uintmax_t)(off + want));
			goto out;
		}
		done += (uint64_t)r;
	}
	out->len += (size_t)want;
	ret = 0;
out:
	close(fd);
	return ret;
}

static int local_stat(struct store *s, const char *name, uint64_t *size)
{
	const struct local *l = L(s);
	char path[PATH_MAX];
	struct stat st;

	if (local_path(l, path, name) == -1)
		return -1;
	if (stat(path, &st) == -1) {
		if (not_found(errno))
			return 1;
		errmsg_errno("cannot stat object %s in store %s", name, l->root);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errmsg("object %s in store %s is not a regular file", name, l->root);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static int local_delete(struct store *s, const char *name)
{
	const struct local *l = L(s);
	char path[PATH_MAX];

	if (local_path(l, path, name) == -1)
		return -1;
	if (unlink(path) == -1) {
		if (not_found(errno))
			return 1;
		errmsg_errno("cannot delete object %s in store %s", name, l->root);
		return -1;
	}
	if (fsync_parent(path) == -1) {
		errmsg_errno("cannot sync the directory of object %s in store %s", name, l->root);
		return -1;
	}
	return 0;
}

/* The state of one store_list walk.  name holds the object name being
 * built ("data/ab/"), at most STORE_NAME_MAX bytes. */
struct walk {
	const struct local *l;
	store_list_fn fn;
	void *arg;
	char name[STORE_NAME_MAX + 1];
};

/* walk_dir(w, dfd, len, start): list the directory open on dfd (which this
 * call closes), whose object-name prefix is w->name[0..len); at this level
 * only entries beginning with start count (NULL: all).  Returns 0, fn's
 * non-zero value, or -1 after a message. */
static int walk_dir(struct walk *w, int dfd, size_t len, const char *start)
{
	size_t startlen = start ? strlen(start) : 0;
	DIR *d = fdopendir(dfd);
	int ret = 0;

	if (d == NULL) {
		errmsg_errno("cannot list %.*s in store %s", (int)len, w->name, w->l->root);
		close(dfd);
		return -1;
	}
	for (;;) {
		const struct dirent *e;
		struct stat st;
		size_t nl;
		int isdir;

		errno = 0;
		e = readdir(d);
		if (e == NULL) {
			if (errno != 0) {
				errmsg_errno("cannot list %.*s in store %s", (int)len, w->name, w->l->root);
				ret = -1;
			}
			break;
		}
		if (e->d_name[0] == '.')
			continue;	/* ".", "..", temporary files */
		if (startlen && strncmp(e->d_name, start, startlen) != 0)
			continue;
		nl = strlen(e->d_name);
		if (nl > STORE_NAME_MAX - len)
			continue;	/* too long to be an object or hold one */
		memcpy(w->name + len, e->d_name, nl + 1);
		if (e->d_type == DT_DIR) {
			isdir = 1;
		} else if (e->d_type == DT_REG || e->d_type == DT_UNKNOWN) {
			/* regular files need the size; unknown need the type */
			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
				if (errno == ENOENT)
					continue;	/* deleted meanwhile */
				errmsg_errno("cannot stat %s in store %s", w->name, w->l->root);
				ret = -1;
				break;
			}
			if (S_ISDIR(st.st_mode))
				isdir = 1;
			else if (S_ISREG(st.st_mode))
				isdir = 0;
			else
				continue;
		} else {
			continue;	/* symlinks, devices, ...: not objects */
		}
		if (isdir) {
			int sub;

			if (nl + 1 > STORE_NAME_MAX - len)
				continue;
			sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub == -1) {
				if (errno == ENOENT)
					continue;
				errmsg_errno("cannot open directory %s in store %s", w->name, w->l->root);
				ret = -1;
				break;
			}
			w->name[len + nl] = '/';
			w->name[len + nl + 1] = '\0';
			ret = walk_dir(w, sub, len + nl + 1, NULL);
		} else {
			if (!store_name_ok(w->name))
				continue;	/* a stray file, not an object */
			ret = w->fn(w->arg, w->name, (uint64_t)st.st_size);
		}
		if (ret != 0)
			break;
	}
	closedir(d);
	return ret;
}

/* local_list: the prefix is a string prefix of names, not necessarily a
 * whole directory: "data/a" lists "data/ab/..." too.  Walk the directory
 * part of the prefix (up to its last '/'), keeping at its top level only
 * entries that begin with the rest. */
static int local_list(struct store *s, const char *prefix, store_list_fn fn, void *arg)
{
	const struct local *l = L(s);
	const char *slash = strrchr(prefix, '/');
	size_t dl = slash ? (size_t)(slash - prefix) + 1 : 0;
	char path[PATH_MAX];
	struct walk *w;
	int fd, ret;

	if (local_path(l, path, prefix) == -1)
		return -1;
	path[l->base + dl] = '\0';
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		if (not_found(errno))
			return 0;
		errmsg_errno("cannot list %s in store %s", prefix, l->root);
		return -1;
	}
	w = xmalloc(sizeof *w);
	w->l = l;
	w->fn = fn;
	w->arg = arg;
	memcpy(w->name, prefix, dl);
	w->name[dl] = '\0';
	ret = walk_dir(w, fd, dl, prefix + dl);
	free(w);
	return ret;
}

static int local_create(struct store *s)
{
	static const char *const dirs[] = {
		"data", "index", "snapshots", "locks", "keys",
	};
	const struct local *l = L(s);
	char path[PATH_MAX];
	struct stat st;

	if (local_path(l, path, "") == -1)
		return -1;
	path[l->base] = '\0';
	if (mkdir_p(l, path, 1) == -1)
		return -1;
	if (local_path(l, path, "config") == -1)
		return -1;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 1;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (local_path(l, path, dirs[i]) == -1 || mkdir_p(l, path, l->base) == -1)
			return -1;
	}
	for (unsigned i = 0; i < 256; i++) {
		char name[8];

		snprintf(name, sizeof name, "data/%02x", i);
		if (local_path(l, path, name) == -1)
			return -1;
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			errmsg_errno("cannot create directory %s in store %s", path, l->root);
			return -1;
		}
	}
	if (local_path(l, path, "data") == -1)
		return -1;
	if (fsync_dir(path) == -1) {
		errmsg_errno("cannot sync directory %s in store %s", path, l->root);
		return -1;
	}
	/* last: its presence means "a repository lives here" */
	if (local_path(l, path, "config") == -1 || mkdir_p(l, path, l->base) == -1)
		return -1;
	return 0;
}

static void local_close(struct store *s)
{
	struct local *l = L(s);

	free(l->root);
	free(l);
	s->priv = NULL;
}

/* local_overwrite: a temporary file renamed over the object (for the
 * access probe only: whoever can do this to the directory can replace any
 * object). */
static int local_overwrite(struct store *s, const char *name, const void *p, size_t n)
{
	const struct local *l = L(s);
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t dirlen;
	int fd;

	if (local_path(l, path, name) == -1)
		return -1;
	dirlen = (size_t)(strrchr(path, '/') - path);
	memcpy(tmp, path, dirlen + 1);
	tmp_suffix(tmp + dirlen + 1);
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write_all(fd, p, n) == -1 || fsync(fd) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static const struct store_ops local_ops = {
	.kind = "local",
	.create = local_create,
	.put = local_put,
	.get = local_get,
	.stat = local_stat,
	.list = local_list,
	.del = local_delete,
	.overwrite = local_overwrite,
	.close = local_close,
};

int store_local_open(struct store *s, const char *path)
{
	struct local *l;
	char *root;
	size_t n;

	if (path[0] == '/') {
		root = xstrdup(path);
	} else {
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof cwd) == NULL) {
			errmsg_errno("cannot find the current directory for store %s", s->url);
			return -1;
		}
		root = xasprintf("%s/%s", cwd, path);
	}
	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		root[--n] = '\0';
	if (n > LOCAL_ROOT_MAX) {
		errmsg("store %s: the path is too long (%zu bytes, at most %d)",
		    s->url, n, LOCAL_ROOT_MAX);
		free(root);
		return -1;
	}
	l = xmalloc(sizeof *l);
	l->root = root;
	l->base = strcmp(root, "/") == 0 ? 1 : n + 1;
	s->ops = &local_ops;
	s->priv = l;
	return 0;
}
