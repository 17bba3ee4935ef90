/* cmd_copies.c: the copies of a repository: copies, sync, repair,
 * copy add, and check --copies.  The work is store_copies_sync (through
 * repo_copies_sync): a merge of every copy's listing, object by object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "repo/repo.h"
#include "util/json.h"
#include "util/util.h"

struct problems {
	int json;
	int verbose;		/* print every object, not only counts */
	uint64_t shown;		/* missing objects named so far */
	uint64_t fixed, damaged, missing, unfixed;
};

static void on_problem(void *arg, const char *copy, const char *name, int problem)
{
	struct problems *p = arg;

	switch (problem) {
	case COPY_MISSING:
		p->missing++;
		/* a copy that was away for long lacks thousands: name a few */
		if (p->verbose || p->shown < 50)
			errmsg("copy %s lacks %s", copy, name);
		else if (p->shown == 50)
			errmsg("(more missing objects not named; -v names them all)");
		p->shown++;
		break;
	case COPY_CORRUPT:
		p->damaged++;
		errmsg("copy %s holds %s damaged (its content does not match its name)", copy, name);
		break;
	case COPY_FIXED:
		p->fixed++;
		if (p->verbose)
			info(1, "copied %s to %s", name, copy);
		break;
	default:
		p->unfixed++;
		errmsg("%s on copy %s could not be read or written", name, copy);
		break;
	}
}

static void print_stats(const struct globals *g, struct repo *r, const struct store_sync_stats *st,
    const char *verb)
{
	size_t n = repo_copies(r);

	if (g->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_arr(&j);
		for (size_t i = 0; i < n; i++) {
			json_begin_obj(&j);
			json_kstr(&j, "copy", repo_copy_url(r, i));
			json_key(&j, "reachable");
			json_bool(&j, !st[i].unreachable);
			json_ku64(&j, "objects", st[i].objects);
			json_ku64(&j, "bytes", st[i].bytes);
			json_ku64(&j, "missing", st[i].missing);
			json_ku64(&j, "damaged", st[i].corrupt);
			json_ku64(&j, "repaired", st[i].fixed);
			json_end_obj(&j);
		}
		json_end_arr(&j);
		json_end(&j);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char sz[32];

		if (st[i].unreachable) {
			printf("%-40s  UNREACHABLE\n", repo_copy_url(r, i));
			continue;
		}
		printf("%-40s  %8llu objects  %10s  missing %llu  damaged %llu%s",
		    repo_copy_url(r, i), (unsigned long long)st[i].objects,
		    fmt_bytes(st[i].bytes, sz, sizeof sz), (unsigned long long)st[i].missing,
		    (unsigned long long)st[i].corrupt, verb[0] ? "" : "\n");
		if (verb[0])
			printf("  %s %llu\n", verb, (unsigned long long)st[i].fixed);
	}
}

/* run_print(g, r, flags, targets, verb, print): one pass over the copies,
 * the table printed if print. */
static int run_print(const struct globals *g, struct repo *r, unsigned flags, uint32_t targets,
    const char *verb, int print)
{
	struct store_sync_stats st[32];
	struct problems p = { g->json, g->verbose, 0, 0, 0, 0, 0 };
	int rc;

	rc = repo_copies_sync(r, flags, targets, on_problem, &p, st);
	if (rc < 0)
		return EXIT_FATAL;
	if (print)
		print_stats(g, r, st, verb);
	if (!(flags & COPIES_FIX))
		return rc != 0 || p.missing || p.damaged ? EXIT_INTEGRITY : 0;
	/* what was missing or damaged on a target and is now fixed */
	if (rc != 0 || p.unfixed)
		return EXIT_INTEGRITY;
	return p.missing + p.damaged > p.fixed ? EXIT_INTEGRITY : 0;
}

/* run(g, r, flags, targets, verb): one pass over the copies, printed. */
static int run(const struct globals *g, struct repo *r, unsigned flags, uint32_t targets, const char *verb)
{
	return run_print(g, r, flags, targets, verb, 1);
}

/* copy_mask(r, url): the bit of the copy named url; 0 (with a message) if
 * none. */
static uint32_t copy_mask(struct repo *r, const char *url)
{
	for (size_t i = 0; i < repo_copies(r) && i < 32; i++)
		if (strcmp(repo_copy_url(r, i), url) == 0)
			return 1u << i;
	errmsg("%s is not one of this repository's copies (see 'twofold copies')", url);
	return 0;
}

static int is_cloud(const char *url)
{
	return strncmp(url, "azure://", 8) == 0 || strncmp(url, "s3://", 5) == 0;
}

static const char *yes_no(unsigned can, unsigned known, unsigned bit)
{
	return !(known & bit) ? "unknown" : (can & bit) ? "yes" : "no";
}

/* check_access(g, r): what each copy's credential may do; a warning when
 * a backup host (write-only key) holds one that can destroy a copy. */
static int check_access(const struct globals *g, struct repo *r)
{
	static const struct { unsigned bit; const char *name; } what[] = {
		{ ACCESS_LIST, "list" }, { ACCESS_READ, "read" }, { ACCESS_CREATE, "create" },
		{ ACCESS_OVERWRITE, "overwrite" }, { ACCESS_DELETE, "delete" },
	};
	int backup_host = repo_role(r) == ROLE_WRITE, rc = 0;
	struct json j;

	if (g->json) {
		json_init(&j, stdout);
		json_begin_arr(&j);
	}
	for (size_t i = 0; i < repo_copies(r); i++) {
		unsigned can, known;
		char probe[128];
		int reached = repo_copy_access(r, i, &can, &known, probe, sizeof probe) == 0;

		if (g->json) {
			json_begin_obj(&j);
			json_kstr(&j, "copy", repo_copy_url(r, i));
			json_key(&j, "reachable");
			json_bool(&j, reached);
			for (size_t k = 0; k < sizeof what / sizeof what[0]; k++)
				json_kstr(&j, what[k].name, yes_no(can, known, what[k].bit));
			json_end_obj(&j);
		} else {
			printf("%s:", repo_copy_url(r, i));
			for (size_t k = 0; k < sizeof what / sizeof what[0]; k++)
				printf(" %s %s%s", what[k].name, yes_no(can, known, what[k].bit),
				    k + 1 < sizeof what / sizeof what[0] ? "," : "\n");
		}
		if (!reached) {
			errmsg("copy %s cannot be reached", repo_copy_url(r, i));
			rc = EXIT_FATAL;
		}
		if (probe[0])
			info(1, "the probe object %s stays on copy %s (this credential cannot "
			    "delete it; it is harmless)", probe, repo_copy_url(r, i));
		/* a local copy is the host's own disk: only cloud credentials
		 * can be held back from it */
		if (backup_host && is_cloud(repo_copy_url(r, i)) &&
		    (can & (ACCESS_DELETE | ACCESS_OVERWRITE))) {
			errmsg("WARNING: this is a backup host (write-only key), but its credential "
			    "for copy %s can %s objects: whoever steals it can destroy that copy. "
			    "Give backup hosts a credential that can only list, read and create "
			    "(README, \"Least privilege\")", repo_copy_url(r, i),
			    (can & ACCESS_DELETE) ? "delete" : "overwrite");
			if (rc == 0)
				rc = EXIT_ACCESS;
		}
	}
	if (g->json) {
		json_end_arr(&j);
		json_end(&j);
	}
	return rc;
}

int cmd_copies(const struct globals *g, int argc, char **argv)
{
	struct repo *r;
	int rc, access = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--check-access") == 0) {
			access = 1;
		} else {
			errmsg("copies: unknown option %s (usage: twofold copies [--check-access])", argv[i]);
			return EXIT_FATAL;
		}
	}
	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	if (access)
		return cli_close_repo(g, r, check_access(g, r), 0);
	rc = run(g, r, 0, 0, "");
	return cli_close_repo(g, r, rc == EXIT_INTEGRITY ? EXIT_LAG : rc, 0);
}

int cmd_sync(const struct globals *g, int argc, char **argv)
{
	struct repo *r;
	int rc;

	if (argc > 1) {
		errmsg("sync: unknown option %s (see README.md)", argv[1]);
		return EXIT_FATAL;
	}
	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	rc = run(g, r, COPIES_FIX, UINT32_MAX, "copied");
	if (rc == 0)
		cli_rewitness(g, r, WITNESS_SYNCED);
	return cli_close_repo(g, r, rc, 1);
}

int cmd_repair(const struct globals *g, int argc, char **argv)
{
	struct repo *r;
	const char *only = NULL;
	uint32_t targets = UINT32_MAX;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--copy") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strncmp(argv[i], "--copy=", 7) == 0)
			only = argv[i] + 7;
		else {
			errmsg("repair: unknown option %s (usage: twofold repair [--copy URL])", argv[i]);
			return EXIT_FATAL;
		}
	}
	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	if (repo_copies(r) < 2) {
		errmsg("repair needs a second copy to repair from: give every copy with -r");
		return cli_close_repo(g, r, EXIT_FATAL, 0);
	}
	if (only && (targets = copy_mask(r, only)) == 0)
		return cli_close_repo(g, r, EXIT_FATAL, 0);
	rc = run(g, r, COPIES_VERIFY | COPIES_FIX, targets, "repaired");
	if (rc == 0)
		cli_rewitness(g, r, only ? 0 : WITNESS_SYNCED);
	return cli_close_repo(g, r, rc, 1);
}

/* copy add URL: make the new copy, fill it from the others, verify. */
int cmd_copy(const struct globals *g, int argc, char **argv)
{
	struct globals g2 = *g;
	struct repo *r;
	char *spec;
	uint32_t target;
	int rc;

	if (argc != 3 || strcmp(argv[1], "add") != 0) {
		errmsg("usage: twofold -r EXISTING-COPY... copy add NEW-URL");
		return EXIT_FATAL;
	}
	if (strchr(g->repo, '\n') == NULL && strcmp(g->repo, argv[2]) == 0) {
		errmsg("copy add: %s is the repository itself; give the existing copies with -r", argv[2]);
		return EXIT_FATAL;
	}
	if (repo_create_copy(argv[2]) != 0)
		return EXIT_FATAL;
	spec = xasprintf("%s\n%s", g->repo, argv[2]);
	g2.repo = spec;
	if ((r = cli_open_repo_new(&g2, argv[2])) == NULL) {
		free(spec);
		return EXIT_FATAL;
	}
	rc = EXIT_FATAL;
	if ((target = copy_mask(r, argv[2])) != 0) {
		rc = run(&g2, r, COPIES_FIX, target, "copied");
		if (rc == 0)
			rc = run(&g2, r, COPIES_VERIFY, 0, "");
	}
	if (rc == 0)
		info(1, "copy %s is complete and verified; name it with -r on every "
		    "command from now on (or add 'copy = %s' to the config file)", argv[2], argv[2]);
	rc = cli_close_repo(&g2, r, rc, 1);
	free(spec);
	return rc;
}

static int any_object(void *arg, const char *name, uint64_t size)
{
	(void)arg;
	(void)name;
	(void)size;
	return 1;
}

int cli_all_copies_reachable(struct repo *r, const char *cmd)
{
	int rc = 0;

	if (cli_copies_lag()) {
		errmsg("%s: a copy lacks objects written while it was unreachable (named "
		    "above): run 'twofold sync' first, then %s again", cmd, cmd);
		return -1;
	}
	for (size_t i = 0; i < repo_copies(r); i++) {
		struct store_copy_info ci;

		repo_copy_info(r, i, &ci);
		if (ci.down || ci.n_lacks || repo_copy_list(r, i, "config/", any_object, NULL) < 0) {
			errmsg("%s: copy %s is unreachable or behind: removing objects now would "
			    "leave them on that copy, and a later sync would bring them back; run "
			    "'twofold sync' once it is back, then %s again", cmd, ci.url, cmd);
			rc = -1;
		}
	}
	return rc;
}

int cli_check_copies(const struct globals *g, struct repo *r)
{
	int rc = 0;

	(void)g;
	/* what the reads of check found while failing over */
	for (size_t i = 0; i < repo_copies(r); i++) {
		struct store_copy_info ci;

		repo_copy_info(r, i, &ci);
		if (ci.corrupt || (repo_copies(r) > 1 && ci.missing)) {
			errmsg("copy %s: %llu object(s) missing and %llu damaged were read from "
			    "another copy (run 'twofold check --copies', then 'twofold repair')",
			    ci.url, (unsigned long long)ci.missing, (unsigned long long)ci.corrupt);
			rc = EXIT_INTEGRITY;
		}
	}
	return rc;
}

int cli_compare_copies(const struct globals *g, struct repo *r)
{
	/* with --json, check's own report is the JSON on stdout */
	return run_print(g, r, COPIES_VERIFY, 0, "", !g->json);
}
