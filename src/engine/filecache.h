/* filecache.h (engine-internal): the per-repository file cache kept
 * outside the repository ($XDG_CACHE_HOME/twofold/<repo id>/files), so an
 * unchanged file (same dev, inode, size, mtime, ctime) is not read again.
 * It holds chunk IDs (keyed hashes) only, never contents. */
#ifndef TWOFOLD_FILECACHE_H
#define TWOFOLD_FILECACHE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

struct fc_entry {
	char *path;
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
	uint32_t n_chunks;
	uint8_t (*chunks)[ID_LEN];
	int no_xattrs;		/* it had none: with the same ctime it still has
				 * none (setting one changes the ctime) */
	unsigned age;		/* backups since one last saw it */
	int seen;		/* looked up by this backup */
};

/* A slot of the hash table: the low 32 bits of the path's hash (its
 * place and a tag compared before the path) and 1 + the entry's index
 * (0: empty). */
struct fc_slot {
	uint32_t hash, ix;
};

struct filecache {
	struct fc_entry *v;	/* the entries, in the order they came */
	size_t n, cap_v;
	size_t next;		/* fc_find tries v[next] first */
	struct fc_slot *slot;	/* open addressing, at most half full */
	size_t cap;
	char *file;		/* where it is stored */
	int dirty;		/* differs from the file beyond what fc_save
				 * changes itself: set by fc_put, by a load that
				 * did not give a current cache, and by callers
				 * that change an entry's fields */
};

/* fc_load(fc, dir): load DIR/files if present.  A missing or damaged cache
 * is not an error (it is only a hint): starts empty. */
void fc_load(struct filecache *fc, const char *dir);
/* fc_find(fc, path): the entry (valid until the next fc_put), or NULL. */
struct fc_entry *fc_find(struct filecache *fc, const char *path);
/* fc_put(fc, e): insert or replace (takes ownership of e's pointers). */
void fc_put(struct filecache *fc, struct fc_entry *e);
/* FC_MAX_AGE: an entry no backup saw in this many backups is dropped.  A
 * repository may take backups of different paths in turn (say /home daily
 * and /etc weekly): each keeps its files' entries across the others. */
#define FC_MAX_AGE 20
/* fc_save(fc): write atomically (temp file, fsync, rename); entries this
 * backup saw get age 0, the others age + 1 (dropped past FC_MAX_AGE).
 * Nothing is written when the file would come out the same (not dirty,
 * every entry seen and of age 0): an unchanged re-backup. */
int fc_save(struct filecache *fc);
void fc_free(struct filecache *fc);
/* fc_write_atomic(path, p, n): replace the file path by the n bytes at p:
 * they go to a new temporary file .NAME.tmp-PID beside it (0600, O_EXCL),
 * which is fsync'd and renamed to path; then the directory is fsync'd.
 * 0, or -1 with errno set (the temporary file removed). */
int fc_write_atomic(const char *path, const uint8_t *p, size_t n);
/* fc_mkdir_p(path): make path and its parents (mode 0700); -1 with errno. */
int fc_mkdir_p(const char *path);
/* fc_default_dir(repo_id_hex, override): the cache directory to use. */
char *fc_default_dir(const char *repo_id_hex, const char *override);
/* fc_decode(fc, p, n): parse a cache file image (fuzzed); -1 if malformed. */
int fc_decode(struct filecache *fc, const uint8_t *p, size_t n);

#endif
