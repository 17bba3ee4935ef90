/* lifecycle.c: `forget`, `diff`, `find`, `stats` and `dump`: parse
 * options, open the repository, resolve snapshots, call the engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "repo/repo.h"
#include "util/util.h"

int parse_time_arg(const char *s, int64_t *ns)
{
	static const char *const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M" };

	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		struct tm tm;
		const char *end;
		time_t t;

		memset(&tm, 0, sizeof tm);
		end = strptime(s, formats[i], &tm);
		if (end == NULL || *end != '\0')
			continue;
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == (time_t)-1)
			break;
		*ns = (int64_t)t * 1000000000;
		return 0;
	}
	errmsg("--time takes a local time \"YYYY-MM-DD HH:MM:SS\", not \"%s\"", s);
	return -1;
}

/* A repository opened with its snapshots listed (and index loaded). */
struct session {
	struct repo *r;
	struct snap_list l;
};

static int session_open(const struct globals *g, struct session *s, int load_index)
{
	memset(s, 0, sizeof *s);
	if ((s->r = cli_open_repo(g)) == NULL)
		return -1;
	if (repo_list_snapshots(s->r, &s->l) != 0 || (load_index && repo_load_index(s->r) < 0)) {
		repo_close(s->r);
		return -1;
	}
	return 0;
}

/* session_close(g, s, rc): the exit code, which the copies' state may
 * change (see cli_close_repo). */
static int session_close(const struct globals *g, struct session *s, int rc)
{
	snap_list_free(&s->l);
	return cli_close_repo(g, s->r, rc, 0);
}

/* pick(s, specs, n, &items, &count): the snapshots named (or every good
 * one when n is 0).  -1 after a message. */
static int pick(const struct session *s, char **specs, size_t n,
    const struct snap_item ***items, size_t *count)
{
	*count = 0;
	*items = xcalloc(n ? n : s->l.n + 1, sizeof **items);
	for (size_t i = 0; i < n; i++)
		if (repo_find_snapshot(specs[i], &s->l, &(*items)[(*count)++]) != 0)
			return -1;
	for (size_t i = 0; n == 0 && i < s->l.n; i++)
		if (s->l.v[i].status != SNAP_BAD)
			(*items)[(*count)++] = &s->l.v[i];
	return 0;
}

/* ---- forget ---- */

static const char *const keep_opts[RET_N_RULES] = {
	"--keep-last", "--keep-hourly", "--keep-daily", "--keep-weekly", "--keep-monthly", "--keep-yearly",
};

static int parse_count(const char *opt, const char *v, int *out)
{
	uint64_t n;

	if (strcmp(v, "unlimited") == 0) {
		*out = RET_UNLIMITED;
		return 0;
	}
	if (parse_u64(v, &n) != 0 || n > 1000000) {
		errmsg("forget: %s takes a count (0..1000000) or 'unlimited', not %s", opt, v);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/* forget_opt(o, argc, argv, &i): one option of forget; 1 if it is not
 * one, -1 on a bad value. */
static int forget_opt(struct forget_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v;

	if (opt_eq(a, "--dry-run") || opt_eq(a, "-n")) {
		o->dry_run = 1;
		return 0;
	}
	for (int r = 0; r < RET_N_RULES; r++)
		if (opt_is(a, keep_opts[r]))
			return (v = opt_val(argc, argv, i)) == NULL ? -1 : parse_count(keep_opts[r], v, &o->policy.keep[r]);
	if (opt_is(a, "--keep-within")) {
		if ((v = opt_val(argc, argv, i)) == NULL)
			return -1;
		if (ret_parse_duration(v, &o->policy.within) != 0) {
			errmsg("forget: --keep-within takes a duration like 1y2m3d4h, not %s", v);
			return -1;
		}
		o->policy.has_within = 1;
	} else if (opt_is(a, "--keep-tag")) {
		if ((v = opt_val(argc, argv, i)) == NULL)
			return -1;
		list_push((char ***)(uintptr_t)&o->policy.keep_tags, &o->policy.n_keep_tags, v);
	} else if (opt_is(a, "--group-by")) {
		if ((v = opt_val(argc, argv, i)) == NULL)
			return -1;
		if (ret_parse_group_by(v, &o->group_by) != 0) {
			errmsg("forget: --group-by takes host,paths,tags (any of them, or ''), not %s", v);
			return -1;
		}
	} else if (opt_is(a, "--host")) {
		if ((v = opt_val(argc, argv, i)) == NULL)
			return -1;
		list_push(&o->hosts, &o->n_hosts, v);
	} else if (opt_is(a, "--tag")) {
		if ((v = opt_val(argc, argv, i)) == NULL)
			return -1;
		list_push(&o->tags, &o->n_tags, v);
	} else {
		return 1;
	}
	return 0;
}

static void forget_opts_free(struct forget_opts *o)
{
	free((void *)(uintptr_t)o->policy.keep_tags);
	free(o->hosts);
	free(o->tags);
	free(o->ids);
}

int cmd_forget(const struct globals *g, int argc, char **argv)
{
	struct prune_opts po;
	int prune = 0;
	struct forget_opts o;
	struct repo *r;
	size_t removed;
	int rc = EXIT_FATAL;

	memset(&o, 0, sizeof o);
	o.group_by = GROUP_HOST | GROUP_PATHS;
	o.json = g->json;
	prune_default_opts(&po);
	for (int i = 1; i < argc; i++) {
		int k;

		/* --prune [--repack-threshold PCT] [--grace DURATION]: prune
		 * after forgetting (cmd_prune.c) */
		if (opt_eq(argv[i], "--prune")) {
			prune = 1;
			continue;
		}
		if (opt_is(argv[i], "--repack-threshold") || opt_is(argv[i], "--grace")) {
			if (prune_parse_opt(argc, argv, &i, &po) < 0)
				goto out;
			continue;
		}
		k = forget_opt(&o, argc, argv, &i);
		if (k < 0)
			goto out;
		if (k == 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			rc = unknown("forget", argv[i]);
			goto out;
		}
		list_push(&o.ids, &o.n_ids, argv[i]);
	}
	if (o.n_ids && !ret_policy_empty(&o.policy)) {
		errmsg("forget: give snapshot IDs or a policy (--keep-*), not both");
		goto out;
	}
	if (!o.n_ids && ret_policy_empty(&o.policy)) {
		errmsg("forget: no policy given: use --keep-last N, --keep-hourly/-daily/-weekly/"
		    "-monthly/-yearly N, --keep-within 1y2m3d4h or --keep-tag T, or name snapshot IDs");
		goto out;
	}
	o.cache_dir = g->cache_dir;
	if ((r = cli_open_repo(g)) == NULL)
		goto out;
	if (!o.dry_run && cli_rollback_alarm()) {
		errmsg("forget: a copy was found rolled back (snapshots hidden or deleted): the "
		    "policy would judge an incomplete list; resolve that first (or use --dry-run)");
		rc = cli_close_repo(g, r, EXIT_FATAL, 0);
		goto out;
	}
	if (!o.dry_run && cli_all_copies_reachable(r, "forget") != 0) {
		rc = cli_close_repo(g, r, EXIT_FATAL, 0);
		goto out;
	}
	rc = engine_forget(r, &o, &removed) == 0 ? 0 : EXIT_FATAL;
	if (rc == 0 && prune) {
		struct prune_result pres;

		po.dry_run = o.dry_run;
		if (engine_prune(r, &po, g->json, &pres) != 0)
			rc = EXIT_FATAL;
	}
	rc = cli_close_repo(g, r, rc, !o.dry_run && (removed > 0 || prune));
out:
	forget_opts_free(&o);
	return rc;
}

/* ---- diff ---- */

int cmd_diff(const struct globals *g, int argc, char **argv)
{
	struct diff_opts o = { g->json };
	struct session s;
	const struct snap_item *a, *b;
	int rc = EXIT_FATAL;

	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return unknown("diff", argv[i]);
	if (argc != 3) {
		errmsg("diff: usage: twofold diff SNAPSHOT1 SNAPSHOT2");
		return EXIT_FATAL;
	}
	if (session_open(g, &s, 1) != 0)
		return EXIT_FATAL;
	if (repo_find_snapshot(argv[1], &s.l, &a) == 0 && repo_find_snapshot(argv[2], &s.l, &b) == 0)
		rc = engine_diff(s.r, a, b, &o) == 0 ? 0 : EXIT_FATAL;
	return session_close(g, &s, rc);
}

/* ---- find ---- */

int cmd_find(const struct globals *g, int argc, char **argv)
{
	struct find_opts o;
	struct session s;
	char **specs = NULL;
	size_t n_specs = 0, n = 0;
	const struct snap_item **items = NULL;
	int rc = EXIT_FATAL;

	memset(&o, 0, sizeof o);
	o.json = g->json;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (opt_eq(a, "--path")) {
			o.full_path = 1;
		} else if (opt_is(a, "--snapshot") || opt_eq(a, "-s")) {
			if ((v = opt_val(argc, argv, &i)) == NULL)
				goto out;
			list_push(&specs, &n_specs, v);
		} else if (a[0] == '-' && a[1] != '\0') {
			rc = unknown("find", a);
			goto out;
		} else {
			list_push(&o.patterns, &o.n_patterns, a);
		}
	}
	if (o.n_patterns == 0) {
		errmsg("find: usage: twofold find [--path] [--snapshot ID]... PATTERN...");
		goto out;
	}
	if (session_open(g, &s, 1) != 0)
		goto out;
	if (pick(&s, specs, n_specs, &items, &n) == 0)
		rc = engine_find(s.r, items, n, &o) == 0 ? 0 : EXIT_FATAL;
	rc = session_close(g, &s, rc);
out:
	free(items);
	free(specs);
	free(o.patterns);
	return rc;
}

/* ---- stats ---- */

int cmd_stats(const struct globals *g, int argc, char **argv)
{
	struct stats_opts o = { g->json };
	struct session s;
	const struct snap_item **items = NULL;
	size_t n = 0;
	int rc = EXIT_FATAL;

	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return unknown("stats", argv[i]);
	if (session_open(g, &s, 1) != 0)
		return EXIT_FATAL;
	if (pick(&s, argv + 1, (size_t)argc - 1, &items, &n) == 0)
		rc = engine_stats(s.r, items, n, &o) == 0 ? 0 : EXIT_FATAL;
	free(items);
	return session_close(g, &s, rc);
}

/* ---- dump ---- */

int cmd_dump(const struct globals *g, int argc, char **argv)
{
	struct session s;
	const struct snap_item *it;
	int rc = EXIT_FATAL;

	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return unknown("dump", argv[i]);
	if (argc != 3) {
		errmsg("dump: usage: twofold dump SNAPSHOT PATH (a file's content, or a "
		    "directory as a tar, to stdout)");
		return EXIT_FATAL;
	}
	if (session_open(g, &s, 1) != 0)
		return EXIT_FATAL;
	if (repo_find_snapshot(argv[1], &s.l, &it) == 0)
		rc = engine_dump(s.r, it, argv[2]) == 0 ? 0 : EXIT_FATAL;
	return session_close(g, &s, rc);
}
