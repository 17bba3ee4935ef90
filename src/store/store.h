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

/* store_open(url): "local:/path", "file:/path" or a plain path.  NULL (and
 * a message) if the URL is not understood.  Does not touch the store. */
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

#endif
