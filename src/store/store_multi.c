/* store_multi.c: one repository kept on several copies.
 *
 * A store opened from several URLs (store_open with newline-separated
 * URLs) is a list of copies, local ones first.  Every copy holds the same
 * immutable objects under the same names, so:
 *
 *   put     goes to every reachable copy at once (one thread per extra
 *           copy); it succeeds if at least one copy took the object.  A
 *           copy that fails is marked down for the rest of the session,
 *           and every name it did not receive is recorded (store_copy_info
 *           "lacks") for 'twofold sync'.
 *   get     asks the copies in order and fails over, object by object, when
 *           a copy lacks the object, answers with an error, or serves bytes
 *           whose SHA-256 is not the one the name carries (whole-object
 *           reads of content-named objects only; store code has no keys, so
 *           damage inside a ranged read is reported by the caller through
 *           store_distrust).  Three errors in a row mark a copy down.
 *   list    is the union of every reachable copy's listing.
 *   delete  goes to every reachable copy.
 *
 * Each copy counts what it served, lacked and had damaged, for 'check',
 * 'restore --json' and 'copies'. */
#include "store/store_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/util.h"
#include "util/workq.h"

#define DOWN_AFTER 3		/* consecutive read errors that mark a copy down */

struct copy {
	struct store *st;
	int down;
	int errors;		/* consecutive failed requests */
	uint64_t served, served_bytes, missing, corrupt, failed_puts;
	char **lacks;		/* names a put did not reach */
	size_t n_lacks, cap_lacks;
};

/* A (name, copy) pair that served damaged bytes: not asked again. */
struct distrusted {
	char *name;
	size_t copy;
};

struct multi {
	pthread_mutex_t lock;
	size_t n;
	struct copy *c;
	struct distrusted *bad;
	size_t n_bad, cap_bad;
};

#define M(s) ((struct multi *)(s)->priv)

/* The copy that served this thread's last get, for store_distrust. */
static __thread const struct store *last_store;
static __thread size_t last_copy;

static int is_cloud(const char *url)
{
	return strncmp(url, "azure://", 8) == 0 || strncmp(url, "s3://", 5) == 0;
}

static void add_lack(struct copy *c, const char *name)
{
	if (c->n_lacks == c->cap_lacks) {
		c->cap_lacks = c->cap_lacks ? 2 * c->cap_lacks : 64;
		c->lacks = xreallocarray(c->lacks, c->cap_lacks, sizeof *c->lacks);
	}
	c->lacks[c->n_lacks++] = xstrdup(name);
}

/* mark_down(m, i, why): stop using copy i this session (lock held). */
static void mark_down(struct multi *m, size_t i, const char *why)
{
	if (m->c[i].down)
		return;
	m->c[i].down = 1;
	errmsg("warning: copy %s is unreachable (%s): carrying on with the other "
	    "copies; run 'twofold sync' when it is back", store_url(m->c[i].st), why);
}

/* is_down(m, i): copy i is out for this session (takes the lock). */
static int is_down(struct multi *m, size_t i)
{
	int down;

	pthread_mutex_lock(&m->lock);
	down = m->c[i].down;
	pthread_mutex_unlock(&m->lock);
	return down;
}

static int is_bad(const struct multi *m, const char *name, size_t i)
{
	for (size_t k = 0; k < m->n_bad; k++)
		if (m->bad[k].copy == i && strcmp(m->bad[k].name, name) == 0)
			return 1;
	return 0;
}

static void add_bad(struct multi *m, const char *name, size_t i)
{
	if (is_bad(m, name, i))
		return;
	if (m->n_bad == m->cap_bad) {
		m->cap_bad = m->cap_bad ? 2 * m->cap_bad : 16;
		m->bad = xreallocarray(m->bad, m->cap_bad, sizeof *m->bad);
	}
	m->bad[m->n_bad].name = xstrdup(name);
	m->bad[m->n_bad++].copy = i;
	m->c[i].corrupt++;
}

int store_name_hash(const char *name, uint8_t out[32])
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	if (strncmp(name, "config/", 7) == 0 || strncmp(name, "grants/", 7) == 0) {
		const char *dash = strrchr(base, '-');

		if (dash == NULL)
			return -1;
		base = dash + 1;
	}
	if (strlen(base) != 64)
		return -1;
	return hex_decode(base, out, 32) == 0 ? 0 : -1;
}

int store_content_ok(const char *name, const uint8_t *p, size_t n)
{
	uint8_t want[32], got[32];
	unsigned int len = 0;

	if (store_name_hash(name, want) != 0)
		return 1;	/* nothing to check against */
	if (EVP_Digest(p, n, got, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return 0;
	return memcmp(want, got, 32) == 0;
}

static int m_create(struct store *s)
{
	struct multi *m = M(s);
	int rc = 0;

	for (size_t i = 0; i < m->n; i++) {
		int r = store_create(m->c[i].st);

		if (r == 1)
			errmsg("copy %s already holds a repository", store_url(m->c[i].st));
		if (r != 0 && rc == 0)
			rc = r;
	}
	return rc;
}

struct put_job {
	struct store *st;
	const char *name;
	const void *p;
	size_t n;
	int rc;
	pthread_t th;
	int started;	/* 0 copy down, 1 run on this thread, 2 on th */
};

static void *put_thread(void *arg)
{
	struct put_job *j = arg;

	j->rc = store_put(j->st, j->name, j->p, j->n);
	return NULL;
}

static int m_put(struct store *s, const char *name, const void *p, size_t n)
{
	struct multi *m = M(s);
	struct put_job *jobs = xcalloc(m->n, sizeof *jobs);
	size_t first = m->n;
	int created = 0, existed = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++) {
		jobs[i].st = m->c[i].st;
		jobs[i].name = name;
		jobs[i].p = p;
		jobs[i].n = n;
		jobs[i].rc = -1;
		if (m->c[i].down) {
			add_lack(&m->c[i], name);
			continue;
		}
		jobs[i].started = 1;
		if (first == m->n)
			first = i;
	}
	pthread_mutex_unlock(&m->lock);
	/* the first reachable copy on this thread, the others on their own */
	for (size_t i = first + 1; i < m->n; i++) {
		if (!jobs[i].started)
			continue;
		if (pthread_create(&jobs[i].th, NULL, put_thread, &jobs[i]) == 0)
			jobs[i].started = 2;
		else
			put_thread(&jobs[i]);	/* no thread: in turn */
	}
	if (first < m->n)
		put_thread(&jobs[first]);
	for (size_t i = 0; i < m->n; i++)
		if (jobs[i].started == 2)
			pthread_join(jobs[i].th, NULL);
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++) {
		if (!jobs[i].started)
			continue;	/* down before: its lack is recorded */
		if (jobs[i].rc == 0)
			created = 1;
		else if (jobs[i].rc == 1)
			existed = 1;
		else {
			m->c[i].failed_puts++;
			add_lack(&m->c[i], name);
			mark_down(m, i, "an upload failed");
		}
	}
	pthread_mutex_unlock(&m->lock);
	free(jobs);
	if (created)
		return 0;
	if (existed)
		return 1;
	errmsg("no copy could store object %s", name);
	return -1;
}

static int m_get(struct store *s, const char *name, uint64_t off, uint64_t len, struct buf *out)
{
	struct multi *m = M(s);
	size_t start = out->len;
	int result = 1, have_damaged = 0;
	size_t served_by = m->n, first_tried = m->n;

	for (size_t i = 0; i < m->n; i++) {
		int rc, skip;

		pthread_mutex_lock(&m->lock);
		skip = m->c[i].down || is_bad(m, name, i);
		pthread_mutex_unlock(&m->lock);
		if (skip)
			continue;
		if (first_tried == m->n)
			first_tried = i;
		buf_truncate(out, start);
		rc = store_get(m->c[i].st, name, off, len, out);
		pthread_mutex_lock(&m->lock);
		if (rc == 0 && off == 0 && len == UINT64_MAX &&
		    !store_content_ok(name, out->p + start, out->len - start)) {
			errmsg("object %s in copy %s is damaged: its content does not match "
			    "its name (run 'twofold repair')", name, store_url(m->c[i].st));
			add_bad(m, name, i);
			have_damaged = 1;
			served_by = i;	/* kept if no copy does better */
			pthread_mutex_unlock(&m->lock);
			continue;
		}
		if (rc == 0) {
			m->c[i].errors = 0;
			m->c[i].served++;
			m->c[i].served_bytes += out->len - start;
			pthread_mutex_unlock(&m->lock);
			served_by = i;
			result = 0;
			break;
		}
		if (rc == 1) {
			m->c[i].errors = 0;
			m->c[i].missing++;
		} else {
			result = -1;
			if (++m->c[i].errors >= DOWN_AFTER)
				mark_down(m, i, "requests keep failing");
		}
		pthread_mutex_unlock(&m->lock);
	}
	if (result != 0 && have_damaged) {
		/* every copy that has it is damaged: hand back the last bytes
		 * so the caller names the damage, as with a single store */
		buf_truncate(out, start);
		result = store_get(m->c[served_by].st, name, off, len, out);
	}
	if (result == 0 && served_by != first_tried)
		info(2, "object %s served by copy %s", name, store_url(m->c[served_by].st));
	if (result == 0) {
		last_store = s;
		last_copy = served_by;
	}
	return result;
}

static int m_stat(struct store *s, const char *name, uint64_t *size)
{
	struct multi *m = M(s);
	int result = 1;

	for (size_t i = 0; i < m->n; i++) {
		int rc;

		if (is_down(m, i))
			continue;
		rc = store_stat(m->c[i].st, name, size);
		if (rc == 0)
			return 0;
		if (rc < 0)
			result = -1;
	}
	return result;
}

struct entry {
	char *name;
	uint64_t size;
};

struct collect {
	struct entry *v;
	size_t n, cap;
};

static int collect(void *arg, const char *name, uint64_t size)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
	}
	c->v[c->n].name = xstrdup(name);
	c->v[c->n++].size = size;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int m_list(struct store *s, const char *prefix, store_list_fn fn, void *arg)
{
	struct multi *m = M(s);
	struct collect c = { 0 };
	int listed = 0, rc = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (is_down(m, i))
			continue;
		if (store_list(m->c[i].st, prefix, collect, &c) != 0) {
			pthread_mutex_lock(&m->lock);
			mark_down(m, i, "listing failed");
			pthread_mutex_unlock(&m->lock);
			continue;
		}
		listed = 1;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof *c.v, entry_cmp);
	for (size_t i = 0; i < c.n && rc == 0 && listed; i++) {
		if (i > 0 && strcmp(c.v[i].name, c.v[i - 1].name) == 0)
			continue;
		rc = fn(arg, c.v[i].name, c.v[i].size);
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i].name);
	free(c.v);
	if (!listed) {
		errmsg("no copy of the repository could be listed");
		return -1;
	}
	return rc;
}

static int m_del(struct store *s, const char *name)
{
	struct multi *m = M(s);
	int deleted = 0, failed = 0;

	for (size_t i = 0; i < m->n; i++) {
		int rc;

		if (is_down(m, i)) {
			failed = 1;
			continue;
		}
		rc = store_delete(m->c[i].st, name);
		deleted |= rc == 0;
		failed |= rc < 0;
	}
	if (failed)
		return -1;
	return deleted ? 0 : 1;
}

static void m_close(struct store *s)
{
	struct multi *m = M(s);

	for (size_t i = 0; i < m->n; i++) {
		store_close(m->c[i].st);
		for (size_t k = 0; k < m->c[i].n_lacks; k++)
			free(m->c[i].lacks[k]);
		free(m->c[i].lacks);
	}
	for (size_t k = 0; k < m->n_bad; k++)
		free(m->bad[k].name);
	free(m->bad);
	free(m->c);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static const struct store_ops multi_ops = {
	.kind = "copies",
	.create = m_create,
	.put = m_put,
	.get = m_get,
	.stat = m_stat,
	.list = m_list,
	.del = m_del,
	.close = m_close,
};

/* One saved environment variable, put back after a copy is opened. */
struct saved_env {
	char *name;
	char *value;	/* NULL: was unset */
};

/* apply_env_file(path, &saved, &n): set the NAME=VALUE lines of a
 * credentials file (blank lines and '#' comments skipped) for the copy
 * about to be opened, remembering what they replace.  -1 after a message. */
static int apply_env_file(const char *path, struct saved_env **saved, size_t *n)
{
	FILE *f = fopen(path, "re");
	char line[8192];
	unsigned lineno = 0;
	int rc = 0;

	if (f == NULL) {
		errmsg_errno("cannot open credentials file %s", path);
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char *eq, *end = line + strcspn(line, "\r\n");
		const char *old;

		lineno++;
		*end = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL || eq == line || strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_") != (size_t)(eq - line)) {
			errmsg("credentials file %s, line %u: expected NAME=VALUE", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		old = getenv(line);
		*saved = xreallocarray(*saved, *n + 1, sizeof **saved);
		(*saved)[*n].name = xstrdup(line);
		(*saved)[*n].value = old ? xstrdup(old) : NULL;
		(*n)++;
		setenv(line, eq + 1, 1);
	}
	explicit_bzero(line, sizeof line);
	fclose(f);
	return rc;
}

static void restore_env(struct saved_env *saved, size_t n)
{
	while (n-- > 0) {
		if (saved[n].value) {
			setenv(saved[n].name, saved[n].value, 1);
			explicit_bzero(saved[n].value, strlen(saved[n].value));
		} else {
			unsetenv(saved[n].name);
		}
		free(saved[n].name);
		free(saved[n].value);
	}
	free(saved);
}

/* open_copy(line): "URL" or "URL<TAB>CREDENTIALS-FILE". */
static struct store *open_copy(char *line)
{
	char *tab = strchr(line, '\t');
	struct saved_env *saved = NULL;
	struct store *st = NULL;
	size_t n = 0;

	if (tab)
		*tab = '\0';
	if (tab == NULL || apply_env_file(tab + 1, &saved, &n) == 0)
		st = store_open(line);
	restore_env(saved, n);
	if (tab)
		*tab = '\t';
	return st;
}

static size_t url_len(const char *line)
{
	return strcspn(line, "\t");
}

int store_multi_open(struct store *s, const char *urls)
{
	struct multi *m = xcalloc(1, sizeof *m);
	char *copy = xstrdup(urls), *save = NULL, *u;
	char **v = NULL;
	size_t n = 0;

	for (u = strtok_r(copy, "\n", &save); u; u = strtok_r(NULL, "\n", &save)) {
		if (*u == '\0')
			continue;
		for (size_t k = 0; k < n; k++) {
			if (url_len(v[k]) == url_len(u) && strncmp(v[k], u, url_len(u)) == 0) {
				errmsg("copy %.*s is named twice", (int)url_len(u), u);
				goto fail;
			}
		}
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = u;
	}
	if (n == 0) {
		errmsg("no repository URL given");
		goto fail;
	}
	m->c = xcalloc(n, sizeof *m->c);
	/* local copies first: they are the cheapest to read */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < n; k++) {
			if (is_cloud(v[k]) != pass)
				continue;
			if ((m->c[m->n].st = open_copy(v[k])) == NULL)
				goto fail;
			m->n++;
		}
	}
	pthread_mutex_init(&m->lock, NULL);
	s->ops = &multi_ops;
	s->priv = m;
	/* messages name the URLs only, never the credentials files */
	free(s->url);
	s->url = NULL;
	for (size_t i = 0; i < m->n; i++) {
		const char *cu = store_url(m->c[i].st);
		size_t have = s->url ? strlen(s->url) : 0;

		s->url = xrealloc(s->url, have + strlen(cu) + 4);
		snprintf(s->url + have, strlen(cu) + 4, "%s%s", have ? " + " : "", cu);
	}
	free(v);
	free(copy);
	return 0;
fail:
	for (size_t i = 0; i < m->n; i++)
		store_close(m->c[i].st);
	free(m->c);
	free(m);
	free(v);
	free(copy);
	return -1;
}

size_t store_copies(const struct store *s)
{
	return s->ops == &multi_ops ? M(s)->n : 1;
}

struct store *store_copy(struct store *s, size_t i)
{
	return s->ops == &multi_ops ? M(s)->c[i].st : s;
}

void store_copy_info(struct store *s, size_t i, struct store_copy_info *ci)
{
	memset(ci, 0, sizeof *ci);
	ci->url = store_url(store_copy(s, i));
	if (s->ops != &multi_ops)
		return;
	{
		struct multi *m = M(s);
		const struct copy *c = &m->c[i];

		pthread_mutex_lock(&m->lock);
		ci->down = c->down;
		ci->served = c->served;
		ci->served_bytes = c->served_bytes;
		ci->missing = c->missing;
		ci->corrupt = c->corrupt;
		ci->failed_puts = c->failed_puts;
		ci->lacks = (const char *const *)c->lacks;
		ci->n_lacks = c->n_lacks;
		pthread_mutex_unlock(&m->lock);
	}
}

int store_distrust(struct store *s, const char *name)
{
	struct multi *m;
	int other = 0;

	if (s->ops != &multi_ops || last_store != s)
		return 1;
	m = M(s);
	pthread_mutex_lock(&m->lock);
	errmsg("object %s from copy %s is damaged; trying another copy", name,
	    store_url(m->c[last_copy].st));
	add_bad(m, name, last_copy);
	for (size_t i = 0; i < m->n; i++)
		other |= !m->c[i].down && !is_bad(m, name, i);
	pthread_mutex_unlock(&m->lock);
	last_store = NULL;
	return other ? 0 : 1;
}

/* ---- comparing and healing copies ---- */

struct name_row {
	char *name;
	uint64_t size;
	uint32_t have;		/* bit i: copy i lists it */
};

struct sync_ctx {
	struct store *s;
	unsigned flags;
	uint32_t targets;	/* copies that may be written */
	store_problem_fn fn;
	void *arg;
	pthread_mutex_t lock;
	struct store_sync_stats *st;	/* one per copy */
	int failed;
};

static void report(struct sync_ctx *c, size_t i, const char *name, int problem)
{
	pthread_mutex_lock(&c->lock);
	if (problem == COPY_MISSING)
		c->st[i].missing++;
	else if (problem == COPY_CORRUPT)
		c->st[i].corrupt++;
	else if (problem == COPY_FIXED)
		c->st[i].fixed++;
	else
		c->failed = 1;
	if (c->fn)
		c->fn(c->arg, store_url(store_copy(c->s, i)), name, problem);
	pthread_mutex_unlock(&c->lock);
}

/* sync_one(ctx, row): check one object on every copy and heal the copies
 * that lack it or hold it damaged, from a copy whose bytes match. */
static void sync_one(void *ctx, void *item, void *scratch)
{
	struct sync_ctx *c = ctx;
	struct name_row *row = item;
	size_t n = store_copies(c->s);
	uint32_t bad = 0;
	struct buf b, good_bytes;
	int have_good = 0;

	(void)scratch;
	if (!(c->flags & COPIES_VERIFY)) {
		/* only the copies that lack it matter: report them, and read
		 * the object only if one of them is to be filled */
		uint32_t lack = 0;

		for (size_t i = 0; i < n; i++)
			if (!(row->have & (1u << i)) && !c->st[i].unreachable)
				lack |= 1u << i;
		if (!(c->flags & COPIES_FIX) || !(lack & c->targets)) {
			for (size_t i = 0; i < n; i++)
				if (lack & (1u << i))
					report(c, i, row->name, COPY_MISSING);
			free(row->name);
			free(row);
			return;
		}
	}
	buf_init(&b, SIZE_MAX);
	buf_init(&good_bytes, SIZE_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!(row->have & (1u << i)))
			continue;
		if (!(c->flags & COPIES_VERIFY) && (have_good || !(c->flags & COPIES_FIX)))
			continue;
		buf_truncate(&b, 0);
		if (store_get(store_copy(c->s, i), row->name, 0, UINT64_MAX, &b) != 0) {
			report(c, i, row->name, COPY_UNREADABLE);
			continue;
		}
		if (!store_content_ok(row->name, b.p, b.len)) {
			bad |= 1u << i;
			report(c, i, row->name, COPY_CORRUPT);
			continue;
		}
		if (!have_good) {
			buf_append(&good_bytes, b.p, b.len);
			have_good = 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int rc;

		if ((row->have & (1u << i) && !(bad & (1u << i))) || c->st[i].unreachable)
			continue;
		if (!(row->have & (1u << i)))
			report(c, i, row->name, COPY_MISSING);
		if (!(c->flags & COPIES_FIX) || !(c->targets & (1u << i)) || !have_good)
			continue;
		rc = 0;
		if (bad & (1u << i))
			rc = store_delete(store_copy(c->s, i), row->name);
		if (rc >= 0)
			rc = store_put(store_copy(c->s, i), row->name, good_bytes.p, good_bytes.len);
		report(c, i, row->name, rc == 0 ? COPY_FIXED : COPY_UNREADABLE);
	}
	buf_free(&b);
	buf_free(&good_bytes);
	free(row->name);
	free(row);
}

int store_copies_sync(struct store *s, unsigned flags, uint32_t targets,
    store_problem_fn fn, void *arg, struct store_sync_stats *st)
{
	size_t n = store_copies(s);
	struct collect *lists = xcalloc(n, sizeof *lists);
	size_t *pos = xcalloc(n, sizeof *pos);
	struct sync_ctx c = { s, flags, targets, fn, arg, PTHREAD_MUTEX_INITIALIZER, st, 0 };
	struct workq_fns wf = { sync_one, NULL, NULL };
	struct workq *q = NULL;
	int rc = 0;

	if (n > 32) {
		errmsg("at most 32 copies are supported");
		rc = -1;
		goto out;
	}
	memset(st, 0, n * sizeof *st);
	for (size_t i = 0; i < n; i++) {
		if (store_list(store_copy(s, i), "", collect, &lists[i]) != 0) {
			errmsg("copy %s cannot be listed: it is left out of this run",
			    store_url(store_copy(s, i)));
			st[i].unreachable = 1;
			c.failed = 1;
		}
		if (lists[i].n > 1)
			qsort(lists[i].v, lists[i].n, sizeof *lists[i].v, entry_cmp);
		st[i].objects = lists[i].n;
		for (size_t k = 0; k < lists[i].n; k++)
			st[i].bytes += lists[i].v[k].size;
	}
	for (size_t i = 0; i < n; i++)
		if (st[i].unreachable)
			c.targets &= ~(1u << i);
	if ((q = workq_start(&wf, &c, workq_threads(), 64u << 20)) == NULL) {
		rc = -1;
		goto out;
	}
	/* merge the sorted listings: one row per name */
	for (;;) {
		const char *least = NULL;
		struct name_row *row;

		for (size_t i = 0; i < n; i++)
			if (pos[i] < lists[i].n && (least == NULL ||
			    strcmp(lists[i].v[pos[i]].name, least) < 0))
				least = lists[i].v[pos[i]].name;
		if (least == NULL)
			break;
		row = xcalloc(1, sizeof *row);
		row->name = xstrdup(least);
		for (size_t i = 0; i < n; i++) {
			if (pos[i] < lists[i].n && strcmp(lists[i].v[pos[i]].name, row->name) == 0) {
				row->have |= 1u << i;
				row->size = lists[i].v[pos[i]].size;
				pos[i]++;
			}
		}
		for (size_t i = 0; i < n; i++)
			if (st[i].unreachable)
				row->have &= ~(1u << i);
		/* locks/ is coordination of the moment (prune plans, access
		 * probes), not content: copying a stale one back would revive
		 * it, so copies are not compared there */
		if (row->have == 0 || strncmp(row->name, "locks/", 6) == 0) {
			free(row->name);
			free(row);
			continue;
		}
		workq_submit(q, row, row->size + 1);
	}
	workq_stop(q);
	rc = c.failed ? 1 : 0;
out:
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < lists[i].n; k++)
			free(lists[i].v[k].name);
		free(lists[i].v);
	}
	free(lists);
	free(pos);
	return rc;
}
