/* witness.c: what each copy served before, kept outside every copy, so
 * that a copy which loses, hides or rolls back snapshots, or serves an
 * older config, is caught (docs/FORMAT.md, "Copies and the witness").
 *
 * The file CACHE/<repository id>/witness is text:
 *
 *     twofold-witness 1
 *     config SEQ                    newest config sequence seen
 *     copy SEQ URL                  per copy: newest config it listed
 *     snap HEX MASK                 a snapshot object, and (hex bit mask,
 *                                   bit i = i-th copy line) where seen
 *     gone HEX                      a snapshot this host forgot
 *     lack COPYNO NAME              an object a copy did not receive
 *
 * Only object names are kept (no key material, nothing decrypted), so a
 * write-only backup host keeps a witness too. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/filecache.h"
#include "util/util.h"

#define MAX_COPIES 32

struct wsnap {
	char hex[65];
	uint32_t mask;
	int gone;
};

struct wcopy {
	char *url;
	uint64_t seq;
	char **lacks;
	size_t n_lacks;
};

struct witness {
	uint64_t seq;
	struct wcopy c[MAX_COPIES];
	size_t n_copies;
	struct wsnap *s;
	size_t n_snaps;
};

static struct wsnap *find_snap(struct witness *w, const char *hex)
{
	for (size_t i = 0; i < w->n_snaps; i++)
		if (strcmp(w->s[i].hex, hex) == 0)
			return &w->s[i];
	return NULL;
}

static struct wsnap *add_snap(struct witness *w, const char *hex)
{
	struct wsnap *p = find_snap(w, hex);

	if (p)
		return p;
	w->s = xreallocarray(w->s, w->n_snaps + 1, sizeof *w->s);
	p = &w->s[w->n_snaps++];
	memset(p, 0, sizeof *p);
	snprintf(p->hex, sizeof p->hex, "%s", hex);
	return p;
}

static void add_lack(struct wcopy *c, const char *name)
{
	for (size_t i = 0; i < c->n_lacks; i++)
		if (strcmp(c->lacks[i], name) == 0)
			return;
	c->lacks = xreallocarray(c->lacks, c->n_lacks + 1, sizeof *c->lacks);
	c->lacks[c->n_lacks++] = xstrdup(name);
}

static size_t copy_index(struct witness *w, const char *url)
{
	for (size_t i = 0; i < w->n_copies; i++)
		if (strcmp(w->c[i].url, url) == 0)
			return i;
	if (w->n_copies == MAX_COPIES)
		return MAX_COPIES;
	w->c[w->n_copies].url = xstrdup(url);
	return w->n_copies++;
}

static void witness_free(struct witness *w)
{
	for (size_t i = 0; i < w->n_copies; i++) {
		free(w->c[i].url);
		for (size_t k = 0; k < w->c[i].n_lacks; k++)
			free(w->c[i].lacks[k]);
		free(w->c[i].lacks);
	}
	free(w->s);
}

/* witness_dir(r, cache_dir, &path): the directory of the witness file
 * (malloc'ed) and in *path the file's name (malloc'ed). */
static char *witness_dir(struct repo *r, const char *cache_dir, char **path)
{
	char id[33], *dir;

	repo_id_hex(r, id);
	dir = fc_default_dir(id, cache_dir);
	*path = xasprintf("%s/witness", dir);
	return dir;
}

static int is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* load(path, w): 0 (a missing file is an empty witness), -1 if damaged. */
static int load(const char *path, struct witness *w)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	unsigned lineno = 0;

	memset(w, 0, sizeof *w);
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof line, f) != NULL) {
		char *a, *b, *save = NULL;
		uint64_t v;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		a = strtok_r(line, " ", &save);
		b = strtok_r(NULL, " ", &save);
		if (lineno == 1) {
			if (a == NULL || strcmp(a, "twofold-witness") != 0 || b == NULL || strcmp(b, "1") != 0)
				goto bad;
		} else if (a && b && strcmp(a, "config") == 0 && parse_u64(b, &v) == 0) {
			w->seq = v;
		} else if (a && b && strcmp(a, "copy") == 0 && parse_u64(b, &v) == 0 &&
		    (a = strtok_r(NULL, "", &save)) != NULL) {
			size_t i = copy_index(w, a);

			if (i == MAX_COPIES)
				goto bad;
			w->c[i].seq = v;
		} else if (a && b && strcmp(a, "snap") == 0 && is_hex64(b) &&
		    (a = strtok_r(NULL, " ", &save)) != NULL) {
			char *end;
			unsigned long m = strtoul(a, &end, 16);

			if (*end != '\0')
				goto bad;
			add_snap(w, b)->mask |= (uint32_t)m;
		} else if (a && b && strcmp(a, "gone") == 0 && is_hex64(b)) {
			add_snap(w, b)->gone = 1;
		} else if (a && b && strcmp(a, "lack") == 0 && parse_u64(b, &v) == 0 &&
		    v < w->n_copies && (a = strtok_r(NULL, " ", &save)) != NULL) {
			add_lack(&w->c[v], a);
		} else {
			goto bad;
		}
	}
	fclose(f);
	return 0;
bad:
	fclose(f);
	errmsg("witness file %s is damaged (line %u): it is started afresh, so "
	    "rollbacks before now cannot be detected", path, lineno);
	witness_free(w);
	memset(w, 0, sizeof *w);
	return 0;
}

static int save(const char *path, const struct witness *w)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int rc = -1;

	if (f == NULL) {
		errmsg_errno("cannot write the witness file %s", tmp);
		if (fd >= 0)
			close(fd);
		free(tmp);
		return -1;
	}
	fprintf(f, "twofold-witness 1\nconfig %llu\n", (unsigned long long)w->seq);
	for (size_t i = 0; i < w->n_copies; i++)
		fprintf(f, "copy %llu %s\n", (unsigned long long)w->c[i].seq, w->c[i].url);
	for (size_t i = 0; i < w->n_snaps; i++) {
		if (w->s[i].gone)
			fprintf(f, "gone %s\n", w->s[i].hex);
		else
			fprintf(f, "snap %s %x\n", w->s[i].hex, w->s[i].mask);
	}
	for (size_t i = 0; i < w->n_copies; i++)
		for (size_t k = 0; k < w->c[i].n_lacks; k++)
			fprintf(f, "lack %zu %s\n", i, w->c[i].lacks[k]);
	if (fflush(f) == 0 && fsync(fileno(f)) == 0 && !ferror(f))
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		errmsg_errno("cannot write the witness file %s", path);
	free(tmp);
	return rc;
}

/* What one copy lists now. */
struct listing {
	char (*hex)[65];
	size_t n;
	uint64_t seq;
	int ok;
};

static int list_snap(void *arg, const char *name, uint64_t size)
{
	struct listing *l = arg;
	const char *hex = name + strlen("snapshots/");

	(void)size;
	if (strncmp(name, "snapshots/", 10) != 0 || !is_hex64(hex))
		return 0;
	l->hex = xreallocarray(l->hex, l->n + 1, sizeof *l->hex);
	snprintf(l->hex[l->n++], 65, "%s", hex);
	return 0;
}

static int list_config(void *arg, const char *name, uint64_t size)
{
	struct listing *l = arg;
	char *end;
	unsigned long long v;

	(void)size;
	if (strncmp(name, "config/", 7) != 0)
		return 0;
	v = strtoull(name + 7, &end, 16);
	if (*end == '-' && v > l->seq)
		l->seq = v;
	return 0;
}

/* The snapshots forget records name, loaded when first needed. */
struct forgotten {
	int loaded;
	char (*hex)[65];
	size_t n;
};

static void add_forgotten(void *arg, const uint8_t id[ID_LEN])
{
	struct forgotten *f = arg;

	f->hex = xreallocarray(f->hex, f->n + 1, sizeof *f->hex);
	hex_encode(id, ID_LEN, f->hex[f->n++]);
}

/* was_forgotten(r, f, hex): 1 if a valid forget record names hex. */
static int was_forgotten(struct repo *r, struct forgotten *f, const char *hex)
{
	if (!f->loaded) {
		f->loaded = 1;
		repo_forgotten(r, add_forgotten, f);
	}
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->hex[i], hex) == 0)
			return 1;
	return 0;
}

static int listed(const struct listing *l, const char *hex)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->hex[i], hex) == 0)
			return 1;
	return 0;
}

/* say(flags, ...): a finding, unless the caller asked for quiet. */
#define say(...) do { if (!(flags & WITNESS_QUIET)) errmsg(__VA_ARGS__); } while (0)

int engine_witness(struct repo *r, const char *cache_dir, unsigned flags)
{
	struct witness w;
	struct listing now[MAX_COPIES];
	size_t map[MAX_COPIES];
	char *dir, *path;
	size_t n = repo_copies(r);
	int result = 0;
	uint64_t seq = repo_config(r)->seq;
	struct forgotten forgot = { 0, NULL, 0 };

	if (n > MAX_COPIES)
		n = MAX_COPIES;
	dir = witness_dir(r, cache_dir, &path);
	if (fc_mkdir_p(dir) != 0) {
		errmsg_errno("cannot create %s for the witness file", dir);
		free(dir);
		free(path);
		return -1;
	}
	load(path, &w);
	memset(now, 0, sizeof now);
	if (seq < w.seq) {
		say("ROLLBACK: every copy serves config %llu, but config %llu was seen "
		    "before: the newer config was deleted or rolled back; do not trust "
		    "what the copies serve (see README, \"Rollback\")",
		    (unsigned long long)seq, (unsigned long long)w.seq);
		result |= WITNESS_ROLLBACK;
	} else {
		w.seq = seq;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_copy_info ci;
		const char *url = repo_copy_url(r, i);
		size_t wi = copy_index(&w, url);

		map[i] = wi;
		if (wi == MAX_COPIES)
			continue;
		repo_copy_info(r, i, &ci);
		for (size_t k = 0; k < ci.n_lacks; k++)
			add_lack(&w.c[wi], ci.lacks[k]);
		if (flags & WITNESS_SYNCED) {
			for (size_t k = 0; k < w.c[wi].n_lacks; k++)
				free(w.c[wi].lacks[k]);
			w.c[wi].n_lacks = 0;
		}
		if (ci.down || repo_copy_list(r, i, "snapshots/", list_snap, &now[i]) != 0 ||
		    repo_copy_list(r, i, "config/", list_config, &now[i]) != 0)
			continue;
		now[i].ok = 1;
		if (now[i].seq < w.c[wi].seq) {
			say("ROLLBACK: copy %s serves config %llu, but it served config %llu "
			    "before: its newer config was deleted (run 'twofold repair')", url,
			    (unsigned long long)now[i].seq, (unsigned long long)w.c[wi].seq);
			result |= WITNESS_ROLLBACK;
		} else {
			w.c[wi].seq = now[i].seq;
		}
	}
	/* every snapshot witnessed before: still where it was seen? */
	for (size_t k = 0; k < w.n_snaps; k++) {
		struct wsnap *s = &w.s[k];

		for (size_t i = 0; i < n; i++) {
			if (!s->gone && now[i].ok && map[i] != MAX_COPIES &&
			    (s->mask & (1u << map[i])) && !listed(&now[i], s->hex) &&
			    was_forgotten(r, &forgot, s->hex))
				s->gone = 1;	/* an owner forgot it, on any host */
			if (!now[i].ok || map[i] == MAX_COPIES)
				continue;
			if (s->gone && listed(&now[i], s->hex)) {
				say("ROLLBACK: snapshot %.16s, forgotten before, is back on copy %s: "
				    "the copy was rolled back (run 'twofold forget %.16s' again)",
				    s->hex, repo_copy_url(r, i), s->hex);
				result |= WITNESS_ROLLBACK;
			} else if (!s->gone && (s->mask & (1u << map[i])) && !listed(&now[i], s->hex)) {
				say("ROLLBACK: snapshot %.16s was on copy %s and is gone from it: "
				    "it was deleted or hidden (run 'twofold repair' to put it back "
				    "from another copy)", s->hex, repo_copy_url(r, i));
				result |= WITNESS_ROLLBACK;
			}
		}
	}
	/* remember what every copy lists now */
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; now[i].ok && k < now[i].n; k++) {
			struct wsnap *s = add_snap(&w, now[i].hex[k]);

			if (!s->gone)
				s->mask |= 1u << map[i];
		}
		free(now[i].hex);
	}
	for (size_t i = 0; i < n; i++) {
		size_t wi = map[i];

		if (wi == MAX_COPIES || w.c[wi].n_lacks == 0)
			continue;
		say("copy %s lacks %zu object%s written while it was unreachable "
		    "(first: %s): run 'twofold sync'", w.c[wi].url, w.c[wi].n_lacks,
		    w.c[wi].n_lacks == 1 ? "" : "s", w.c[wi].lacks[0]);
		result |= WITNESS_LAG;
	}
	if (save(path, &w) != 0)
		result = -1;
	witness_free(&w);
	free(forgot.hex);
	free(dir);
	free(path);
	return result;
}

int engine_witness_forgotten(struct repo *r, const char *cache_dir, const char *const *hex, size_t n)
{
	struct witness w;
	char *dir, *path;
	int rc;

	dir = witness_dir(r, cache_dir, &path);
	load(path, &w);
	for (size_t i = 0; i < n; i++)
		if (is_hex64(hex[i]))
			add_snap(&w, hex[i])->gone = 1;
	rc = fc_mkdir_p(dir) == 0 ? save(path, &w) : -1;
	witness_free(&w);
	free(dir);
	free(path);
	return rc;
}

int engine_witness_drop(struct repo *r, const char *cache_dir, const char *url)
{
	struct witness w;
	char *dir, *path;
	int rc = 0;

	dir = witness_dir(r, cache_dir, &path);
	load(path, &w);
	for (size_t i = 0; i < w.n_copies; i++) {
		if (strcmp(w.c[i].url, url) != 0)
			continue;
		w.c[i].seq = 0;
		for (size_t k = 0; k < w.c[i].n_lacks; k++)
			free(w.c[i].lacks[k]);
		w.c[i].n_lacks = 0;
		for (size_t k = 0; k < w.n_snaps; k++)
			w.s[k].mask &= ~(1u << i);
		rc = save(path, &w);
	}
	witness_free(&w);
	free(dir);
	free(path);
	return rc;
}
