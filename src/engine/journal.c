/* journal.c: see journal.h.  The journal is a directory of records, one
 * file per pack named by the pack's hex ID, each written once
 * (fc_write_atomic: temporary file, fsync, rename, fsync of the
 * directory) and removed when an index
 * object names its pack; so a record costs one small file per 16 MiB pack
 * and nothing is ever rewritten.  A lock file beside the directory
 * (flock, released by the kernel when the process dies) keeps two backups
 * of one repository on one host from taking each other's records. */
#include "engine/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/filecache.h"
#include "util/codec.h"
#include "util/util.h"

#define JREC_MAGIC "TFJ1"
#define JREC_MAX (1u << 30)		/* a record larger than this is damaged */

struct journal {
	char *dir;			/* CACHE/<repo id>/journal */
	int lock_fd;
	int broken;			/* a record could not be written: stop */
};

void jrec_encode(const uint8_t id[ID_LEN], uint64_t size, const struct pack_entry *e,
    uint32_t n, struct buf *out)
{
	enc_raw(out, JREC_MAGIC, 4);
	enc_raw(out, id, ID_LEN);
	enc_u64(out, size);
	enc_u64(out, (uint64_t)e[n - 1].offset + e[n - 1].length);
	pack_trailer_encode(e, n, out);
}

int jrec_decode(const uint8_t *p, size_t n, struct jrec *rec)
{
	struct dec d;
	uint8_t magic[4];
	uint64_t end;
	int rc;

	memset(rec, 0, sizeof *rec);
	dec_init(&d, p, p ? n : 0);
	dec_raw(&d, magic, 4);
	dec_raw(&d, rec->id, ID_LEN);
	rec->size = dec_u64(&d);
	end = dec_u64(&d);
	/* the trailer and the footer follow the blobs inside the pack */
	rc = -1;
	if (dec_ok(&d) && memcmp(magic, JREC_MAGIC, 4) == 0 && end <= rec->size &&
	    rec->size - end >= PACK_FOOTER_LEN) {
		/* the rest is the trailer plaintext, which its own decoder
		 * checks to the last byte */
		rc = pack_trailer_decode(d.p, d.left, end, &rec->e, &rec->n);
		if (rc == 0 && rec->n == 0)
			rc = -1;
	}
	if (rc != 0) {
		free(rec->e);
		memset(rec, 0, sizeof *rec);
	}
	return rc;
}

/* rec_path(j, id): DIR/<hex id> (malloc'ed). */
static char *rec_path(const struct journal *j, const uint8_t id[ID_LEN])
{
	char hex[2 * ID_LEN + 1];

	hex_encode(id, ID_LEN, hex);
	return xasprintf("%s/%s", j->dir, hex);
}

/* put_record(j, id, b): write DIR/<hex id> atomically and durably. */
static int put_record(const struct journal *j, const uint8_t id[ID_LEN], const struct buf *b)
{
	char *path = rec_path(j, id);
	int rc = fc_write_atomic(path, b->p, b->len);

	if (rc != 0)
		errmsg_errno("warning: cannot write the pack journal record %s (the backup goes "
		    "on; if it is interrupted, the next one may upload some data again)", path);
	free(path);
	return rc;
}

static void on_sealed(void *arg, const uint8_t id[ID_LEN], uint64_t size,
    const struct pack_entry *e, uint32_t n)
{
	struct journal *j = arg;
	struct buf b;

	if (n == 0 || __atomic_load_n(&j->broken, __ATOMIC_RELAXED))
		return;
	buf_init(&b, SIZE_MAX);
	jrec_encode(id, size, e, n, &b);
	if (b.overflow || put_record(j, id, &b) != 0)
		__atomic_store_n(&j->broken, 1, __ATOMIC_RELAXED);
	buf_free(&b);
}

static void forget(const struct journal *j, const uint8_t id[ID_LEN])
{
	char *path = rec_path(j, id);

	if (unlink(path) != 0 && errno != ENOENT)
		errmsg_errno("warning: cannot remove the pack journal record %s", path);
	free(path);
}

static void on_indexed(void *arg, const uint8_t (*ids)[ID_LEN], uint32_t n)
{
	const struct journal *j = arg;

	for (uint32_t i = 0; i < n; i++)
		forget(j, ids[i]);
}

/* read_file(dirfd, name, out): a whole record file (at most JREC_MAX). */
static int read_file(int dirfd, const char *name, struct buf *out)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= JREC_MAX && buf_reserve(out, (size_t)st.st_size)) {
		ssize_t got;

		while (out->len < (size_t)st.st_size &&
		    (got = read(fd, out->p + out->len, (size_t)st.st_size - out->len)) > 0)
			out->len += (size_t)got;
		rc = out->len == (size_t)st.st_size ? 0 : -1;
	}
	close(fd);
	return rc;
}

/* adopt_one(r, j, dirfd, name, &n_packs, &bytes): use the record name if
 * it is sound and its pack usable; remove it if not. */
static void adopt_one(struct repo *r, const struct journal *j, int dirfd, const char *name,
    uint32_t *n_packs, uint64_t *bytes)
{
	struct buf b;
	struct jrec rec;
	uint8_t id[ID_LEN];
	int rc = -1;

	buf_init(&b, JREC_MAX);
	if (hex_decode(name, id, ID_LEN) == 0 && read_file(dirfd, name, &b) == 0 &&
	    jrec_decode(b.p, b.len, &rec) == 0) {
		rc = memcmp(rec.id, id, ID_LEN) == 0 ? 0 : -1;
		if (rc != 0)
			free(rec.e);
	}
	buf_free(&b);
	if (rc != 0) {
		errmsg("warning: pack journal record %s/%s is damaged; ignored (what it "
		    "names is stored again)", j->dir, name);
		if (unlinkat(dirfd, name, 0) != 0)
			errmsg_errno("warning: cannot remove %s/%s", j->dir, name);
		return;
	}
	rc = repo_adopt_pack(r, rec.id, rec.size, rec.e, rec.n);
	if (rc == 0) {
		(*n_packs)++;
		*bytes += rec.size;
	} else if (rc == 1) {
		forget(j, rec.id);
	}
	free(rec.e);
}

/* adopt(r, j): every record the journal holds. */
static void adopt(struct repo *r, struct journal *j, uint32_t *n_packs, uint64_t *bytes)
{
	DIR *d = opendir(j->dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			/* a temporary file of a run that died while writing it
			 * (fc_write_atomic); the lock says none is running */
			if (strstr(de->d_name, ".tmp-") != NULL)
				unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		adopt_one(r, j, dirfd(d), de->d_name, n_packs, bytes);
	}
	closedir(d);
}

int journal_start(struct repo *r, const char *dir, struct journal **out)
{
	struct journal *j;
	struct repo_pack_hooks h;
	char *lock;
	uint32_t n_packs = 0;
	uint64_t bytes = 0;
	int rc = 0;

	*out = NULL;
	j = xcalloc(1, sizeof *j);
	j->dir = xasprintf("%s/journal", dir);
	j->lock_fd = -1;
	lock = xasprintf("%s/journal.lock", dir);
	if (fc_mkdir_p(j->dir) != 0) {
		errmsg_errno("warning: cannot create the pack journal %s (if this backup is "
		    "interrupted, the next one may upload some data again)", j->dir);
		goto fail;
	}
	j->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->lock_fd < 0) {
		errmsg_errno("warning: cannot open %s (no pack journal for this backup)", lock);
		goto fail;
	}
	if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		info(1, "another backup of this repository runs on this host: this one keeps "
		    "no pack journal");
		goto fail;
	}
	free(lock);
	h.sealed = on_sealed;
	h.indexed = on_indexed;
	h.arg = j;
	repo_set_pack_hooks(r, &h);
	adopt(r, j, &n_packs, &bytes);
	if (n_packs > 0) {
		char sz[32];

		info(1, "%u pack(s) (%s) an interrupted backup stored are indexed now, "
		    "not uploaded again", n_packs, fmt_bytes(bytes, sz, sizeof sz));
		rc = repo_flush(r);
	}
	*out = j;
	return rc;
fail:
	free(lock);
	journal_end(r, j);
	return 0;
}

void journal_end(struct repo *r, struct journal *j)
{
	if (j == NULL)
		return;
	repo_set_pack_hooks(r, NULL);
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	free(j->dir);
	free(j);
}
