/* store.c: the store handle, URL parsing, name checks, and dispatch to the
 * back end named by the URL.  See store.h for the contract and
 * store_internal.h for what a back end provides. */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/store_internal.h"
#include "util/util.h"

/* name_char(c): 1 if c may appear in an object name. */
static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
	    c == '_' || c == '.' || c == '-';
}

/* check(s, trailing_slash): the common rules of names and prefixes; a
 * trailing '/' is allowed only if trailing_slash. */
static int check(const char *s, int trailing_slash)
{
	size_t n = strlen(s);

	if (n > STORE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!name_char(s[i]))
			return 0;
		/* at the start of a component: not empty, not a dot */
		if (i == 0 || s[i - 1] == '/') {
			if (s[i] == '/' || s[i] == '.')
				return 0;
		}
	}
	if (n > 0 && s[n - 1] == '/' && !trailing_slash)
		return 0;
	return 1;
}

int store_name_ok(const char *name)
{
	return name[0] != '\0' && check(name, 0);
}

int store_prefix_ok(const char *prefix)
{
	return check(prefix, 1);
}

/* bad_name(s, what, name): report an invalid object name or prefix (with
 * bytes other than printable ASCII shown as '?'); returns -1. */
static int bad_name(const struct store *s, const char *what, const char *name)
{
	char shown[STORE_NAME_MAX + 5];
	size_t i;

	for (i = 0; name[i] != '\0' && i < STORE_NAME_MAX + 1; i++)
		shown[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	if (name[i] != '\0') {
		memcpy(shown + i, "...", 3);
		i += 3;
	}
	shown[i] = '\0';
	errmsg("invalid %s \"%s\" for store %s: names are relative paths of "
	    "[a-z0-9/_.-], at most %d bytes, with no empty component and none "
	    "beginning with '.'", what, shown, s->url, STORE_NAME_MAX);
	return -1;
}

/* starts(s, prefix): the rest of s after prefix, or NULL. */
static const char *starts(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

struct store *store_open(const char *url)
{
	struct store *s;
	const char *path, *rest;

	if (url == NULL || url[0] == '\0') {
		errmsg("empty store URL: give local:/path, file:///path or a directory path");
		return NULL;
	}
	if (strpbrk(url, "\n\t") != NULL) {
		s = xcalloc(1, sizeof *s);
		if (store_multi_open(s, url) != 0) {
			free(s->url);
			free(s);
			return NULL;
		}
		return s;
	}
	if ((rest = starts(url, "file://")) != NULL) {
		/* file:///path, or file://localhost/path; no other host */
		if (rest[0] == '/')
			path = rest;
		else if ((path = starts(rest, "localhost/")) != NULL)
			path--;
		else {
			errmsg("store URL %s names a host: file URLs must be file:///path", url);
			return NULL;
		}
	} else if ((rest = starts(url, "azure://")) != NULL ||
	    (rest = starts(url, "s3://")) != NULL) {
		int rc;

		s = xcalloc(1, sizeof *s);
		s->url = xstrdup(url);
		rc = url[0] == 'a' ? store_azure_open(s, rest) : store_s3_open(s, rest);
		if (rc != 0) {
			free(s->url);
			free(s);
			return NULL;
		}
		return s;
	} else if (strstr(url, "://") != NULL) {
		errmsg("store URL %s is not supported: use local:/path, file:///path, "
		    "a plain path, azure://ACCOUNT/CONTAINER[/PREFIX] or "
		    "s3://BUCKET[/PREFIX]", url);
		return NULL;
	} else if ((rest = starts(url, "local:")) != NULL) {
		path = rest;
	} else if ((rest = starts(url, "file:")) != NULL) {
		path = rest;
	} else {
		path = url;
	}
	if (path[0] == '\0') {
		errmsg("store URL %s has an empty path", url);
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->url = xstrdup(url);
	if (store_local_open(s, path) == -1) {
		free(s->url);
		free(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->ops != NULL && s->ops->close != NULL)
		s->ops->close(s);
	free(s->url);
	free(s);
}

const char *store_url(const struct store *s)
{
	return s->url;
}

int store_create(struct store *s)
{
	return s->ops->create(s);
}

int store_put(struct store *s, const char *name, const void *p, size_t n)
{
	if (!store_name_ok(name))
		return bad_name(s, "object name", name);
	return s->ops->put(s, name, p, n);
}

int store_get(struct store *s, const char *name, uint64_t off, uint64_t len, struct buf *out)
{
	if (!store_name_ok(name))
		return bad_name(s, "object name", name);
	return s->ops->get(s, name, off, len, out);
}

int store_stat(struct store *s, const char *name, uint64_t *size)
{
	if (!store_name_ok(name))
		return bad_name(s, "object name", name);
	return s->ops->stat(s, name, size);
}

int store_list(struct store *s, const char *prefix, store_list_fn fn, void *arg)
{
	if (prefix == NULL)
		prefix = "";
	if (!store_prefix_ok(prefix))
		return bad_name(s, "list prefix", prefix);
	return s->ops->list(s, prefix, fn, arg);
}

static int found_any(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	*(int *)arg = 1;
	return 1;	/* one is enough */
}

int store_check_access(struct store *s, unsigned *can, unsigned *known, char *probe, size_t probe_n)
{
	uint8_t rnd[8], body[32];
	char hex[17];
	struct buf b;
	int any = 0;

	*can = *known = 0;
	randombytes_buf(rnd, sizeof rnd);
	randombytes_buf(body, sizeof body);
	hex_encode(rnd, sizeof rnd, hex);
	snprintf(probe, probe_n, "locks/access-probe-%s", hex);
	*known |= ACCESS_LIST;
	if (s->ops->list(s, "config/", found_any, &any) >= 0)
		*can |= ACCESS_LIST;
	*known |= ACCESS_CREATE;
	if (s->ops->put(s, probe, body, sizeof body) != 0) {
		/* nothing of ours to read, replace or delete: the rest
		 * stays unknown (never probed on real objects) */
		probe[0] = '\0';
		return *can ? 0 : -1;
	}
	*can |= ACCESS_CREATE;
	*known |= ACCESS_READ;
	buf_init(&b, 1024);
	if (s->ops->get(s, probe, 0, UINT64_MAX, &b) == 0 && b.len == sizeof body &&
	    memcmp(b.p, body, sizeof body) == 0)
		*can |= ACCESS_READ;
	buf_free(&b);
	if (s->ops->overwrite) {
		*known |= ACCESS_OVERWRITE;
		body[0] ^= 1;
		if (s->ops->overwrite(s, probe, body, sizeof body) == 0)
			*can |= ACCESS_OVERWRITE;
	}
	*known |= ACCESS_DELETE;
	if (s->ops->del(s, probe) == 0) {
		*can |= ACCESS_DELETE;
		probe[0] = '\0';
	}
	return 0;
}

int store_delete(struct store *s, const char *name)
{
	if (!store_name_ok(name))
		return bad_name(s, "object name", name);
	return s->ops->del(s, name);
}
