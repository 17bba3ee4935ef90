/* filecache.c: see filecache.h.  File format: "TFC2" | u32 count |
 * entries (str path | u64 dev | u64 ino | u64 size | i64 mtime |
 * i64 ctime | u8 flags | u8 age | u32 n | ids); "TFC1" entries lack
 * flags and age.  Decoded with the same bounds-checked codec
 * as repository objects. */
#include "engine/filecache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/codec.h"
#include "util/util.h"

#define FC_MAGIC "TFC2"		/* TFC1, read too, lacks flags and age */
#define FC_NO_XATTRS 1		/* flags: the file had no xattrs */

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	/* FNV's low bits mix poorly (they depend only on the low bits of
	 * each step), and the table indexes by low bits: finish with the
	 * murmur3 64-bit mixer. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static void entry_free(struct fc_entry *e)
{
	free(e->path);
	free(e->chunks);
	memset(e, 0, sizeof *e);
}

/* grow_slots(fc, want): a table of at least 2 * want slots (a power of
 * two), the entries placed again from the hashes their slots hold. */
static void grow_slots(struct filecache *fc, size_t want)
{
	size_t ncap = fc->cap ? fc->cap : 1024;
	struct fc_slot *ns;

	while (ncap < want * 2)
		ncap *= 2;
	if (ncap == fc->cap)
		return;
	ns = xcalloc(ncap, sizeof *ns);
	for (size_t i = 0; i < fc->cap; i++) {
		size_t j;

		if (fc->slot[i].ix == 0)
			continue;
		for (j = fc->slot[i].hash & (ncap - 1); ns[j].ix; j = (j + 1) & (ncap - 1))
			;
		ns[j] = fc->slot[i];
	}
	free(fc->slot);
	fc->slot = ns;
	fc->cap = ncap;
}

/* lookup(fc, path, h): the slot of path, or the empty slot where it would
 * go (fc->cap > 0). */
static struct fc_slot *lookup(const struct filecache *fc, const char *path, uint32_t h)
{
	size_t i;

	for (i = h & (fc->cap - 1); fc->slot[i].ix; i = (i + 1) & (fc->cap - 1))
		if (fc->slot[i].hash == h && strcmp(fc->v[fc->slot[i].ix - 1].path, path) == 0)
			break;
	return &fc->slot[i];
}

struct fc_entry *fc_find(struct filecache *fc, const char *path)
{
	struct fc_slot *s;

	/* A backup walks in the order the last one saved: try the entry
	 * after the last one found before hashing. */
	if (fc->next < fc->n && strcmp(fc->v[fc->next].path, path) == 0)
		return &fc->v[fc->next++];
	if (fc->cap == 0)
		return NULL;
	s = lookup(fc, path, (uint32_t)hash_path(path));
	if (s->ix == 0)
		return NULL;
	fc->next = s->ix;
	return &fc->v[s->ix - 1];
}

/* insert(fc, e, replace): add e, or replace the entry of its path if
 * replace is set; 0, or -1 (e untouched) if the path is there and replace
 * is not set. */
static int insert(struct filecache *fc, struct fc_entry *e, int replace)
{
	uint32_t h = (uint32_t)hash_path(e->path);
	struct fc_slot *s;

	grow_slots(fc, fc->n + 1);
	s = lookup(fc, e->path, h);
	if (s->ix) {
		if (!replace)
			return -1;
		entry_free(&fc->v[s->ix - 1]);
		fc->v[s->ix - 1] = *e;
		return 0;
	}
	if (fc->n == fc->cap_v) {
		fc->cap_v = fc->cap_v < 1024 ? 1024 : fc->cap_v + fc->cap_v / 2;
		fc->v = xreallocarray(fc->v, fc->cap_v, sizeof *fc->v);
	}
	fc->v[fc->n++] = *e;
	s->hash = h;
	s->ix = (uint32_t)fc->n;
	return 0;
}

void fc_put(struct filecache *fc, struct fc_entry *e)
{
	fc->dirty = 1;
	(void)insert(fc, e, 1);
}

int fc_decode(struct filecache *fc, const uint8_t *p, size_t n)
{
	struct dec d;
	uint8_t magic[4];
	uint32_t count;
	int v1;

	dec_init(&d, p, n);
	dec_raw(&d, magic, 4);
	count = dec_u32(&d);
	v1 = memcmp(magic, "TFC1", 4) == 0;
	if (!dec_ok(&d) || (!v1 && memcmp(magic, FC_MAGIC, 4) != 0) || count > d.left / 48)
		return -1;
	/* Size the table and the entries once. */
	grow_slots(fc, count);
	if (count > fc->cap_v) {
		fc->cap_v = count;
		fc->v = xreallocarray(fc->v, fc->cap_v, sizeof *fc->v);
	}
	for (uint32_t i = 0; i < count; i++) {
		struct fc_entry e;
		uint32_t k;

		memset(&e, 0, sizeof e);
		e.path = dec_str(&d, 1u << 16);
		e.dev = dec_u64(&d);
		e.ino = dec_u64(&d);
		e.size = dec_u64(&d);
		e.mtime_ns = dec_i64(&d);
		e.ctime_ns = dec_i64(&d);
		if (!v1) {
			uint8_t f = dec_u8(&d);

			if (f & ~FC_NO_XATTRS)
				d.bad = 1;
			e.no_xattrs = f & FC_NO_XATTRS;
			e.age = dec_u8(&d);
			if (e.age > FC_MAX_AGE)
				d.bad = 1;
		}
		k = dec_u32(&d);
		if (!dec_ok(&d) || k > d.left / ID_LEN) {
			entry_free(&e);
			return -1;
		}
		e.n_chunks = k;
		e.chunks = xcalloc(k ? k : 1, ID_LEN);
		dec_raw(&d, e.chunks, (size_t)k * ID_LEN);
		if (insert(fc, &e, 0) != 0) {	/* a path twice */
			entry_free(&e);
			return -1;
		}
	}
	return dec_end(&d) ? 0 : -1;
}

void fc_load(struct filecache *fc, const char *dir)
{
	struct buf b;
	struct stat st;
	int fd;

	memset(fc, 0, sizeof *fc);
	fc->dirty = 1;		/* until a current cache is loaded */
	fc->file = xasprintf("%s/files", dir);
	fd = open(fc->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	buf_init(&b, 1u << 31);
	if (fstat(fd, &st) == 0 && st.st_size > 0 && buf_reserve(&b, (size_t)st.st_size)) {
		ssize_t got = 0, r;

		while ((size_t)got < (size_t)st.st_size &&
		    (r = read(fd, b.p + got, (size_t)st.st_size - (size_t)got)) > 0)
			got += r;
		b.len = (size_t)got;
		if (fc_decode(fc, b.p, b.len) != 0) {
			info(1, "file cache %s is damaged; ignoring it (files will be read again)", fc->file);
			char *f = fc->file;

			fc->file = NULL;
			fc_free(fc);
			fc->file = f;
			fc->dirty = 1;
		} else {
			fc->dirty = memcmp(b.p, FC_MAGIC, 4) != 0;	/* TFC1: rewrite */
		}
	}
	close(fd);
	buf_free(&b);
}

int fc_mkdir_p(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* kept(e): whether entry e goes into the saved cache; sets its age (a
 * cache is saved once per backup). */
static int kept(struct fc_entry *e)
{
	if (e->seen)
		e->age = 0;
	else if (e->age < FC_MAX_AGE)
		e->age++;
	else
		return 0;
	return 1;
}

int fc_save(struct filecache *fc)
{
	struct buf b;
	char *dir, *slash;
	uint32_t count = 0;
	int rc;

	if (fc->file == NULL)
		return 0;
	for (size_t i = 0; i < fc->n && !fc->dirty; i++)
		fc->dirty = !fc->v[i].seen || fc->v[i].age != 0;
	if (!fc->dirty)
		return 0;
	dir = xstrdup(fc->file);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (fc_mkdir_p(dir) != 0) {
		errmsg_errno("cannot create cache directory %s (the backup is fine; "
		    "the next one reads all files again)", dir);
		free(dir);
		return -1;
	}
	free(dir);
	buf_init(&b, SIZE_MAX);
	enc_raw(&b, FC_MAGIC, 4);
	enc_u32(&b, 0);		/* the count, filled in below */
	for (size_t i = 0; i < fc->n; i++) {
		struct fc_entry *e = &fc->v[i];

		if (!kept(e))
			continue;
		count++;
		enc_str(&b, e->path);
		enc_u64(&b, e->dev);
		enc_u64(&b, e->ino);
		enc_u64(&b, e->size);
		enc_i64(&b, e->mtime_ns);
		enc_i64(&b, e->ctime_ns);
		enc_u8(&b, e->no_xattrs ? FC_NO_XATTRS : 0);
		enc_u8(&b, (uint8_t)e->age);
		enc_u32(&b, e->n_chunks);
		enc_raw(&b, e->chunks, (size_t)e->n_chunks * ID_LEN);
	}
	if (b.p != NULL)
		le32_put(b.p + 4, count);
	rc = fc_write_atomic(fc->file, b.p, b.len);
	if (rc != 0)
		errmsg_errno("cannot write file cache %s", fc->file);
	buf_free(&b);
	return rc;
}

/* write_all(fd, p, n): 0, or -1 with errno set. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fc_write_atomic(const char *path, const uint8_t *p, size_t n)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xasprintf("%.*s", (int)(slash - path + 1), path) : xstrdup(".");
	char *tmp = xasprintf("%s.%s.tmp-%ld", slash ? dir : "", slash ? slash + 1 : path, (long)getpid());
	int fd, dfd, rc = -1, e;

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		if (write_all(fd, p, n) == 0 && fsync(fd) == 0 && close(fd) == 0) {
			fd = -1;
			if (rename(tmp, path) == 0 &&
			    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
				rc = fsync(dfd);
				close(dfd);
			}
		}
		if (fd >= 0)
			close(fd);
	}
	e = errno;
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	free(dir);
	errno = e;
	return rc;
}

void fc_free(struct filecache *fc)
{
	for (size_t i = 0; i < fc->n; i++)
		entry_free(&fc->v[i]);
	free(fc->v);
	free(fc->slot);
	free(fc->file);
	memset(fc, 0, sizeof *fc);
}

char *fc_default_dir(const char *repo_id_hex, const char *override)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (override)
		return xasprintf("%s/%s", override, repo_id_hex);
	if (x && *x == '/')
		return xasprintf("%s/twofold/%s", x, repo_id_hex);
	if (home && *home)
		return xasprintf("%s/.cache/twofold/%s", home, repo_id_hex);
	return xasprintf("/tmp/twofold-cache-%ld/%s", (long)getuid(), repo_id_hex);
}
