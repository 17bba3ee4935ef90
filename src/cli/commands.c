/* commands.c: one function per command: parse its options, open the
 * repository, call the engine, print. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "repo/repo.h"
#include "util/json.h"
#include "util/util.h"

void list_push(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = (char *)(uintptr_t)s;
}

int opt_eq(const char *a, const char *opt)
{
	return strcmp(a, opt) == 0;
}

const char *opt_val(int argc, char **argv, int *i)
{
	const char *eq = strchr(argv[*i], '=');

	if (strncmp(argv[*i], "--", 2) == 0 && eq)
		return eq + 1;
	if (*i + 1 >= argc) {
		errmsg("option %s needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

/* opt_is(a, name): "--name" or "--name=..." */
int opt_is(const char *a, const char *name)
{
	size_t l = strlen(name);

	return strncmp(a, name, l) == 0 && (a[l] == '\0' || a[l] == '=');
}

int unknown(const char *cmd, const char *a)
{
	errmsg("%s: unknown option %s (see README.md)", cmd, a);
	return EXIT_FATAL;
}

int cmd_init(const struct globals *g, int argc, char **argv)
{
	struct pass pw;
	const char *name = NULL, *v;
	char host[256];
	uint64_t level = 1;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (opt_is(argv[i], "--key-name")) {
			if ((name = opt_val(argc, argv, &i)) == NULL)
				return EXIT_FATAL;
		} else if (opt_is(argv[i], "--compression")) {
			if ((v = opt_val(argc, argv, &i)) == NULL)
				return EXIT_FATAL;
			if (strcmp(v, "off") == 0) {
				level = 0;
			} else if (parse_u64(v, &level) != 0 || level < 1 || level > 19) {
				errmsg("init: --compression takes a zstd level 1..19 or 'off', not %s", v);
				return EXIT_FATAL;
			}
		} else {
			return unknown("init", argv[i]);
		}
	}
	if (name == NULL) {
		if (gethostname(host, sizeof host) != 0)
			snprintf(host, sizeof host, "owner");
		host[sizeof host - 1] = '\0';
		name = host;
	}
	if (pass_get(g, 1, "New repository passphrase: ", &pw) != 0)
		return EXIT_FATAL;
	rc = repo_init(g->repo, pw.p, pw.n, name, (int)level);
	pass_free(&pw);
	return rc == 0 ? 0 : EXIT_FATAL;
}

static int read_exclude_file(const char *path, char ***v, size_t *n, char ***owned, size_t *nowned)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (f == NULL) {
		errmsg_errno("cannot read exclude file %s", path);
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *s = line;

		while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
			s[--len] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		s = xstrdup(s);
		list_push(owned, nowned, s);
		list_push(v, n, s);
	}
	free(line);
	fclose(f);
	return 0;
}

int cmd_backup(const struct globals *g, int argc, char **argv)
{
	struct backup_opts o;
	struct backup_result res;
	struct repo *r;
	char **owned = NULL, hex[2 * ID_LEN + 1], a[32], b[32];
	size_t nowned = 0;
	int rc = EXIT_FATAL;

	memset(&o, 0, sizeof o);
	o.stdin_name = "stdin";
	for (int i = 1; i < argc; i++) {
		const char *a1 = argv[i], *v;

		if (opt_is(a1, "--exclude") || opt_eq(a1, "-e")) {
			if ((v = opt_val(argc, argv, &i)) == NULL)
				goto out;
			list_push(&o.excludes, &o.n_excludes, v);
		} else if (opt_is(a1, "--exclude-file")) {
			if ((v = opt_val(argc, argv, &i)) == NULL ||
			    read_exclude_file(v, &o.excludes, &o.n_excludes, &owned, &nowned) != 0)
				goto out;
		} else if (opt_eq(a1, "--exclude-caches")) {
			o.exclude_caches = 1;
		} else if (opt_eq(a1, "--one-file-system") || opt_eq(a1, "-x")) {
			o.one_file_system = 1;
		} else if (opt_is(a1, "--tag")) {
			if ((v = opt_val(argc, argv, &i)) == NULL)
				goto out;
			list_push(&o.tags, &o.n_tags, v);
		} else if (opt_is(a1, "--host")) {
			if ((o.host = opt_val(argc, argv, &i)) == NULL)
				goto out;
		} else if (opt_is(a1, "--time")) {
			if ((v = opt_val(argc, argv, &i)) == NULL || parse_time_arg(v, &o.time_ns) != 0)
				goto out;
		} else if (opt_eq(a1, "--stdin")) {
			o.use_stdin = 1;
		} else if (opt_is(a1, "--stdin-filename")) {
			if ((o.stdin_name = opt_val(argc, argv, &i)) == NULL)
				goto out;
		} else if (opt_eq(a1, "--")) {
			for (i++; i < argc; i++)
				list_push(&o.paths, &o.n_paths, argv[i]);
		} else if (a1[0] == '-' && a1[1] != '\0') {
			rc = unknown("backup", a1);
			goto out;
		} else {
			list_push(&o.paths, &o.n_paths, a1);
		}
	}
	if (!o.use_stdin && o.n_paths == 0) {
		errmsg("backup: give at least one PATH, or --stdin");
		goto out;
	}
	if (o.use_stdin && o.n_paths) {
		errmsg("backup: --stdin takes no PATH (name the file with --stdin-filename)");
		goto out;
	}
	o.progress = g->progress;
	o.json = g->json;
	o.cache_dir = g->cache_dir;
	o.no_cache = g->no_cache;
	o.prep = engine_backup_prepare(&o);
	if ((r = cli_open_repo(g)) == NULL)
		goto out;
	rc = engine_backup(r, &o, &res);
	if (rc < 0) {
		cli_close_repo(g, r, rc, 1);
		errmsg("backup failed; no snapshot was written (earlier snapshots are untouched)");
		rc = EXIT_FATAL;
		goto out;
	}
	rc = cli_close_repo(g, r, rc, 1);
	hex_encode(res.snapshot, ID_LEN, hex);
	if (g->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_kstr(&j, "snapshot", hex);
		json_ku64(&j, "files", res.files);
		json_ku64(&j, "dirs", res.dirs);
		json_ku64(&j, "bytes", res.bytes);
		json_ku64(&j, "added_bytes", res.added_bytes);
		json_ku64(&j, "files_new", res.files_new);
		json_ku64(&j, "files_changed", res.files_changed);
		json_ku64(&j, "files_unchanged", res.files_unchanged);
		json_ku64(&j, "unreadable", res.n_unreadable);
		json_ku64(&j, "changed_while_read", res.n_changed_while_read);
		json_key(&j, "seconds");
		fprintf(stdout, "%.3f", res.seconds);
		json_end_obj(&j);
		json_end(&j);
	} else {
		info(1, "%llu files (%llu new, %llu changed, %llu unchanged), %llu dirs, %s; "
		    "added %s in %.2f s",
		    (unsigned long long)res.files, (unsigned long long)res.files_new,
		    (unsigned long long)res.files_changed, (unsigned long long)res.files_unchanged,
		    (unsigned long long)res.dirs, fmt_bytes(res.bytes, a, sizeof a),
		    fmt_bytes(res.added_bytes, b, sizeof b), res.seconds);
		if (res.n_unreadable)
			errmsg("%llu source path(s) could not be read and are missing from the "
			    "snapshot (listed above); exit status 3", (unsigned long long)res.n_unreadable);
		printf("%s\n", hex);
	}
out:
	engine_backup_prep_free(o.prep);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(o.excludes);
	free(o.tags);
	free(o.paths);
	return rc;
}

static void json_strlist(struct json *j, const char *k, char **v, uint32_t n)
{
	json_key(j, k);
	json_begin_arr(j);
	for (uint32_t i = 0; i < n; i++)
		json_str(j, v[i]);
	json_end_arr(j);
}

static void snapshot_json(struct json *j, const struct snap_item *it)
{
	const struct snapshot *s = &it->s;

	json_begin_obj(j);
	json_khex(j, "id", it->id, ID_LEN);
	json_key(j, "short_id");
	json_hex(j, it->id, 4);
	json_key(j, "status");
	json_str(j, it->status == SNAP_OK ? "ok" : it->status == SNAP_REVOKED_OK ?
	    "ok-revoked-key" : "rejected");
	if (it->status == SNAP_BAD) {
		json_kstr(j, "reason", it->why);
		json_end_obj(j);
		return;
	}
	if (it->status == SNAP_REVOKED_OK)
		json_kstr(j, "note", "revoked signer, made before revocation");
	json_key(j, "time");
	json_time(j, s->time_ns);
	json_kstr(j, "hostname", s->hostname);
	json_kstr(j, "username", s->username);
	json_strlist(j, "paths", s->paths, s->n_paths);
	json_strlist(j, "tags", s->tags, s->n_tags);
	json_khex(j, "tree", s->tree, ID_LEN);
	json_ku64(j, "files", s->files);
	json_ku64(j, "dirs", s->dirs);
	json_ku64(j, "bytes", s->bytes);
	json_ku64(j, "added_bytes", s->added_bytes);
	json_strlist(j, "unreadable", s->unreadable, s->n_unreadable);
	json_strlist(j, "changed_while_read", s->changed, s->n_changed);
	json_strlist(j, "copies", s->copies, s->n_copies);
	json_khex(j, "signer", s->signer_slot, SLOT_ID_LEN);
	json_kstr(j, "program", s->program);
	json_end_obj(j);
}

int cmd_snapshots(const struct globals *g, int argc, char **argv)
{
	struct repo *r;
	struct snap_list l;
	size_t bad = 0;

	if (argc > 1)
		return unknown("snapshots", argv[1]);
	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	if (repo_list_snapshots(r, &l) != 0) {
		repo_close(r);
		return EXIT_FATAL;
	}
	if (g->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_arr(&j);
		for (size_t i = 0; i < l.n; i++)
			snapshot_json(&j, &l.v[i]);
		json_end_arr(&j);
		json_end(&j);
	} else {
		printf("%-8s  %-19s  %-16s  %-12s  %10s  %s\n", "ID", "Time", "Host", "Tags", "Size", "Paths");
		for (size_t i = 0; i < l.n; i++) {
			const struct snap_item *it = &l.v[i];
			char hex[2 * ID_LEN + 1], t[32], sz[32], tags[256] = "";
			size_t tl = 0;

			hex_encode(it->id, ID_LEN, hex);
			if (it->status == SNAP_BAD) {
				printf("%.8s  REJECTED: %s\n", hex, it->why);
				continue;
			}
			for (uint32_t k = 0; k < it->s.n_tags && tl < sizeof tags; k++)
				tl += (size_t)snprintf(tags + tl, sizeof tags - tl, "%s%s", k ? "," : "", it->s.tags[k]);
			printf("%.8s  %-19s  %-16s  %-12s  %10s  %s%s\n", hex,
			    fmt_time(it->s.time_ns, t, sizeof t), it->s.hostname, tags,
			    fmt_bytes(it->s.bytes, sz, sizeof sz), it->s.n_paths ? it->s.paths[0] : "",
			    it->status == SNAP_REVOKED_OK ? "  (revoked signer, made before revocation)" : "");
			for (uint32_t k = 1; k < it->s.n_paths; k++)
				printf("%*s%s\n", 74, "", it->s.paths[k]);
		}
		printf("%zu snapshots\n", l.n);
	}
	for (size_t i = 0; i < l.n; i++)
		bad += l.v[i].status == SNAP_BAD;
	snap_list_free(&l);
	if (bad)
		errmsg("%zu snapshot(s) rejected (forged, altered, or signed by a key the "
		    "config does not allow); run 'twofold check'", bad);
	return cli_close_repo(g, r, bad ? EXIT_INTEGRITY : 0, 0);
}

/* with_snapshot(g, spec, fn, arg): open, load the index and snapshot list,
 * resolve spec, call fn. */
static int with_snapshot(const struct globals *g, const char *spec,
    int (*fn)(struct repo *, const struct snap_item *, void *), void *arg)
{
	struct repo *r;
	struct snap_list l;
	const struct snap_item *it;
	int rc = EXIT_FATAL;

	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	if (repo_list_snapshots(r, &l) != 0) {
		repo_close(r);
		return EXIT_FATAL;
	}
	if (repo_find_snapshot(spec, &l, &it) == 0 && repo_load_index(r) >= 0)
		rc = fn(r, it, arg);
	snap_list_free(&l);
	return cli_close_repo(g, r, rc < 0 ? EXIT_FATAL : rc, 0);
}

static int do_ls(struct repo *r, const struct snap_item *it, void *arg)
{
	return engine_ls(r, it, arg);
}

int cmd_ls(const struct globals *g, int argc, char **argv)
{
	struct ls_opts o;
	const char *spec = NULL;

	memset(&o, 0, sizeof o);
	o.json = g->json;
	o.recursive = 1;
	for (int i = 1; i < argc; i++) {
		if (opt_eq(argv[i], "-l") || opt_eq(argv[i], "--long"))
			o.long_format = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return unknown("ls", argv[i]);
		else if (spec == NULL)
			spec = argv[i];
		else if (o.path == NULL)
			o.path = argv[i];
		else
			return unknown("ls", argv[i]);
	}
	if (spec == NULL) {
		errmsg("ls: name a snapshot (an ID prefix or 'latest')");
		return EXIT_FATAL;
	}
	return with_snapshot(g, spec, do_ls, &o);
}

static int do_restore(struct repo *r, const struct snap_item *it, void *arg)
{
	return engine_restore(r, it, arg);
}

int cmd_restore(const struct globals *g, int argc, char **argv)
{
	struct restore_opts o;
	const char *spec = NULL;
	int rc;

	memset(&o, 0, sizeof o);
	o.json = g->json;
	o.progress = g->progress;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (opt_is(a, "--target") || opt_eq(a, "-t")) {
			if ((o.target = opt_val(argc, argv, &i)) == NULL)
				goto fail;
		} else if (opt_is(a, "--include") || opt_eq(a, "-i")) {
			if ((v = opt_val(argc, argv, &i)) == NULL)
				goto fail;
			list_push(&o.includes, &o.n_includes, v);
		} else if (opt_eq(a, "--numeric-owner")) {
			o.numeric_ids = 1;
		} else if (a[0] == '-' && a[1] != '\0') {
			free(o.includes);
			return unknown("restore", a);
		} else if (spec == NULL) {
			spec = a;
		} else {
			free(o.includes);
			return unknown("restore", a);
		}
	}
	if (spec == NULL || o.target == NULL) {
		errmsg("restore: usage: twofold restore SNAPSHOT --target DIR [--include PATH]...");
		goto fail;
	}
	rc = with_snapshot(g, spec, do_restore, &o);
	free(o.includes);
	return rc;
fail:
	free(o.includes);
	return EXIT_FATAL;
}

int cmd_check(const struct globals *g, int argc, char **argv)
{
	struct check_opts o;
	struct repo *r;
	int rc, copies = 0;

	memset(&o, 0, sizeof o);
	o.json = g->json;
	for (int i = 1; i < argc; i++) {
		if (opt_eq(argv[i], "--read-data"))
			o.read_data = 1;
		else if (opt_eq(argv[i], "--copies"))
			copies = 1;
		else
			return unknown("check", argv[i]);
	}
	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	rc = engine_check(r, &o);
	if (rc == 0)
		rc = cli_check_copies(g, r);
	if (copies) {
		int c = cli_compare_copies(g, r);

		if (rc == 0)
			rc = c;
	}
	return cli_close_repo(g, r, rc < 0 ? EXIT_FATAL : rc, 0);
}
