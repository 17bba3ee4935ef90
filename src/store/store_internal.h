/* store_internal.h: what store.c and the back ends (store_local.c, later
 * store_azure.c, store_s3.c) share.  Not for use outside src/store.
 *
 * store.c owns struct store, parses the URL, picks the back end and checks
 * every object name before calling it; a back end may therefore assume
 * names are valid (see store_name_ok) and only has to move bytes.  Back-end
 * functions follow store.h: 0 success, 1 not found / already exists, -1
 * error after a message naming the object and the store. */
#ifndef TWOFOLD_STORE_INTERNAL_H
#define TWOFOLD_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"

/* Longest object name, in bytes (without the NUL). */
#define STORE_NAME_MAX 255

/* The operations of one kind of store; each is called with valid
 * arguments only (names checked, prefix checked, out non-NULL). */
struct store_ops {
	const char *kind;	/* "local", "azure", "s3": for messages */
	int (*create)(struct store *s);
	int (*put)(struct store *s, const char *name, const void *p, size_t n);
	int (*get)(struct store *s, const char *name, uint64_t off, uint64_t len, struct buf *out);
	int (*stat)(struct store *s, const char *name, uint64_t *size);
	int (*list)(struct store *s, const char *prefix, store_list_fn fn, void *arg);
	int (*del)(struct store *s, const char *name);
	/* overwrite(s, name, p, n): replace an object unconditionally — for
	 * the access probe of store_check_access only (twofold never
	 * overwrites); NULL if the kind of store cannot. */
	int (*overwrite)(struct store *s, const char *name, const void *p, size_t n);
	/* close(s): free s->priv (never NULL when called). */
	void (*close)(struct store *s);
};

struct store {
	const struct store_ops *ops;
	char *url;	/* as given to store_open, for messages */
	void *priv;	/* the back end's state */
};

/* store_name_ok(name): 1 if name is a valid object name: 1 to
 * STORE_NAME_MAX bytes of [a-z0-9/_.-], '/'-separated components that are
 * not empty and do not begin with '.' (so no "." or "..", and no clash with
 * temporary files, which begin with '.'), no leading or trailing '/'. */
int store_name_ok(const char *name);
/* store_prefix_ok(prefix): 1 if prefix is a valid list prefix: "" or the
 * start of a valid name, which may end with '/'. */
int store_prefix_ok(const char *prefix);

/* store_local_open(s, path): set s->ops and s->priv for a local directory
 * store rooted at path (absolute or relative to the current directory; made
 * absolute now).  Does not touch the file system beyond getcwd.  0, or -1
 * after a message. */
int store_local_open(struct store *s, const char *path);

/* store_azure_open(s, rest): rest is what follows "azure://" in the URL:
 * ACCOUNT/CONTAINER[/PREFIX].  store_s3_open(s, rest): what follows
 * "s3://": BUCKET[/PREFIX].  Credentials come from the environment (see
 * README).  0, or -1 after a message. */
int store_azure_open(struct store *s, const char *rest);
int store_s3_open(struct store *s, const char *rest);
/* store_multi_open(s, urls): newline-separated URLs, the copies of one
 * repository (store_multi.c).  0, or -1 after a message. */
int store_multi_open(struct store *s, const char *urls);

#endif
