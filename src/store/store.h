/* store: named immutable objects on one copy of a repository.  The engine
 * never knows which kind of store it talks to.  Store code never sees keys
 * or plaintext: it moves opaque bytes under names like "data/ab/<hex>".
 *
 * Names are relative paths of [a-z0-9/_.-]; no "..", no leading "/".
 * Every call returns 0 on success, 1 for "not found" (get, delete) or
 * "already exists" (put), and -1 on error after printing a message that
 * names the object and the store.  Depends on util, buf. */
#ifndef TWOFOLD_STORE_H
#define TWOFOLD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct store;

/* store_open(url): "local:/path", "file:/path", a plain path,
 * "azure://ACCOUNT/CONTAINER[/PREFIX]" or "s3://BUCKET[/PREFIX]"; or
 * several of these separated by newlines: the copies of one repository
 * (see "Copies" below).  NULL (and a message) if a URL is not understood.
 * Does not touch the store. */
struct store *store_open(const char *url);
/* store_close(s): NULL-safe. */
void store_close(struct store *s);
/* store_url(s): the URL as given, for messages. */
const char *store_url(const struct store *s);

/* store_create(s): make an empty store (for a local store: the directory
 * and its layout, mode 0700).  1 if it already holds a repository. */
int store_create(struct store *s);
/* store_put(s, name, p, n): create the object atomically and durably
 * (temporary file, fsync, link(2) to the final name, fsync of the
 * directory).  Create-only: 1 if the name exists (its content is left
 * alone).  A crash leaves either no object or the whole object. */
int store_put(struct store *s, const char *name, const void *p, size_t n);
/* store_get(s, name, off, len, out): append bytes [off, off+len) of the
 * object to out; len UINT64_MAX means "to the end".  A range past the end
 * is an error (-1, "truncated object"). */
int store_get(struct store *s, const char *name, uint64_t off, uint64_t len, struct buf *out);
/* store_stat(s, name, &size): the object's size. */
int store_stat(struct store *s, const char *name, uint64_t *size);
/* store_list(s, prefix, fn, arg): call fn(arg, name, size) for every object
 * whose name starts with prefix (a directory such as "snapshots/"), in no
 * particular order; temporary files are skipped.  fn returning non-zero
 * stops the walk and store_list returns that value. */
typedef int (*store_list_fn)(void *arg, const char *name, uint64_t size);
int store_list(struct store *s, const char *prefix, store_list_fn fn, void *arg);
/* store_delete(s, name): remove the object. */
int store_delete(struct store *s, const char *name);

/* store_check_access(s, &can, &known, probe, probe_n): what the
 * credential of a single store may do: ACCESS_* bits in *can, and in
 * *known the bits that were tested.  It lists, creates a probe object
 * "locks/access-probe-<random>" (its name in probe), reads it, replaces it
 * unconditionally and deletes it; a probe the credential cannot delete is
 * left behind (named in probe; harmless).  0, or -1 if the store cannot be
 * reached at all. */
#define ACCESS_LIST 1u
#define ACCESS_READ 2u
#define ACCESS_CREATE 4u
#define ACCESS_OVERWRITE 8u
#define ACCESS_DELETE 16u
int store_check_access(struct store *s, unsigned *can, unsigned *known, char *probe, size_t probe_n);

/* ---- Copies ----
 * A store opened from several URLs keeps every object on every copy,
 * local copies first: put writes to every reachable copy in parallel and
 * succeeds if one took it (a copy that fails is marked down for the
 * session and the names it missed are recorded); get fails over object by
 * object when a copy lacks an object, fails, or serves a whole object
 * whose SHA-256 differs from the one its name carries; list is the union
 * of the copies; delete goes to every copy (-1 if one could not).  A store
 * opened from one URL behaves as a list of one copy. */

/* store_copies(s): the number of copies.  store_copy(s, i): copy i as a
 * store of its own (owned by s), in preference order. */
size_t store_copies(const struct store *s);
struct store *store_copy(struct store *s, size_t i);

struct store_copy_info {
	const char *url;
	int down;			/* unreachable this session */
	uint64_t served, served_bytes;	/* objects and bytes it served */
	uint64_t missing, corrupt;	/* gets it lacked, objects it had damaged */
	uint64_t failed_puts;
	const char *const *lacks;	/* names this session could not store there */
	size_t n_lacks;			/* (valid until the next call on s) */
};
/* store_copy_info(s, i, &ci): what copy i did this session. */
void store_copy_info(struct store *s, size_t i, struct store_copy_info *ci);
/* store_distrust(s, name): the bytes this thread's last get of name
 * returned are damaged (the caller found out: failed authentication); that
 * copy is not asked for name again.  0 if another copy may serve it, 1 if
 * none is left (or s has one copy). */
int store_distrust(struct store *s, const char *name);
/* store_name_hash(name, out): the SHA-256 an object's name carries
 * ("data/ab/<hex>", "index/<hex>", "config/<seq>-<hex>",
 * "grants/<slot>-<epoch>-<hex>", ...); -1 if it
 * carries none.  store_content_ok(name, p, n): 1 if p matches that hash
 * (or the name carries none), 0 if not. */
int store_name_hash(const char *name, uint8_t out[32]);
/* store_copies_sync(s, flags, targets, fn, arg, stats): compare the copies
 * object by object (every copy's listing); with COPIES_VERIFY read every
 * object on every copy and check it against its name; with COPIES_FIX
 * write what a copy in the mask targets lacks, and (with COPIES_VERIFY)
 * replace what it holds damaged (delete, then put), from a copy whose bytes
 * match.  Nothing else is ever deleted.  Objects under locks/ (prune
 * plans, access probes: coordination, not content) are left out.  fn(arg, copy_url, name, problem)
 * hears of every problem and repair; stats[i] (one per copy) receives the
 * counts.  0 if every copy could be read and written, 1 if some could
 * not (reported), -1 on error. */
enum { COPY_MISSING = 1, COPY_CORRUPT, COPY_FIXED, COPY_UNREADABLE };
#define COPIES_VERIFY 1u
#define COPIES_FIX 2u
struct store_sync_stats {
	uint64_t objects, bytes;	/* as listed */
	uint64_t missing, corrupt, fixed;
	int unreachable;
};
typedef void (*store_problem_fn)(void *arg, const char *copy, const char *name, int problem);
int store_copies_sync(struct store *s, unsigned flags, uint32_t targets,
    store_problem_fn fn, void *arg, struct store_sync_stats *stats);
int store_content_ok(const char *name, const uint8_t *p, size_t n);

#endif
