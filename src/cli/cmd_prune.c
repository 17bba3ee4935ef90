/* cmd_prune.c: twofold prune [--dry-run] [--repack-threshold PCT]
 * [--grace DURATION]; twofold rekey [--max-size SIZE] [--grace D]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "util/util.h"

/* prune_parse_duration(s, &ns): "0", "90s", "30m", "24h", "7d" (a bare number
 * is seconds).  -1 on junk or overflow. */
int prune_parse_duration(const char *s, int64_t *ns)
{
	char num[32];
	size_t l = strlen(s);
	uint64_t v, mul = 1;

	if (l == 0 || l >= sizeof num)
		return -1;
	memcpy(num, s, l + 1);
	switch (num[l - 1]) {
	case 's': mul = 1; num[--l] = '\0'; break;
	case 'm': mul = 60; num[--l] = '\0'; break;
	case 'h': mul = 3600; num[--l] = '\0'; break;
	case 'd': mul = 86400; num[--l] = '\0'; break;
	default: break;
	}
	if (parse_u64(num, &v) != 0 || v > (uint64_t)INT64_MAX / 1000000000 / mul)
		return -1;
	*ns = (int64_t)(v * mul * 1000000000);
	return 0;
}

int prune_parse_opt(int argc, char **argv, int *i, struct prune_opts *o)
{
	const char *a = argv[*i], *v = NULL;
	size_t l;

	if (strcmp(a, "--dry-run") == 0 || strcmp(a, "-n") == 0) {
		o->dry_run = 1;
		return 1;
	}
	if (strncmp(a, "--repack-threshold", l = strlen("--repack-threshold")) == 0 ||
	    strncmp(a, "--grace", l = strlen("--grace")) == 0) {
		if (a[l] == '=')
			v = a + l + 1;
		else if (a[l] == '\0' && *i + 1 < argc)
			v = argv[++*i];
		else if (a[l] != '\0')
			return 0;
		if (v == NULL) {
			errmsg("option %s needs a value", a);
			return -1;
		}
		if (l == strlen("--grace")) {
			if (prune_parse_duration(v, &o->grace_ns) != 0) {
				errmsg("prune: --grace takes a duration like 24h, 30m, 90s or 0, not %s", v);
				return -1;
			}
		} else {
			uint64_t p;

			if (parse_u64(v, &p) != 0 || p > 100) {
				errmsg("prune: --repack-threshold takes a percentage 0..100, not %s", v);
				return -1;
			}
			o->repack_threshold = (unsigned)p;
		}
		return 1;
	}
	return 0;
}

void prune_default_opts(struct prune_opts *o)
{
	memset(o, 0, sizeof *o);
	o->repack_threshold = PRUNE_DEFAULT_THRESHOLD;
	o->grace_ns = PRUNE_DEFAULT_GRACE_NS;
}

int cmd_prune(const struct globals *g, int argc, char **argv)
{
	struct prune_opts o;
	struct prune_result res;
	struct repo *r;
	int rc;

	prune_default_opts(&o);
	for (int i = 1; i < argc; i++) {
		rc = prune_parse_opt(argc, argv, &i, &o);
		if (rc < 0)
			return EXIT_FATAL;
		if (rc == 0) {
			errmsg("prune: unknown option %s (see README.md)", argv[i]);
			return EXIT_FATAL;
		}
	}
	if (o.grace_ns > 0 && o.grace_ns < (int64_t)1800 * 1000000000)
		info(1, "warning: --grace is shorter than 30 minutes: a backup that runs "
		    "beside this prune and stalls that long could lose data it deduplicated");
	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	if (!o.dry_run && cli_rollback_alarm()) {
		errmsg("prune: a copy was found rolled back (snapshots hidden or deleted): "
		    "prune would delete data those snapshots need; resolve that first");
		return cli_close_repo(g, r, EXIT_FATAL, 0);
	}
	/* deleting while a copy is unreachable would leave the objects there
	 * (and a later sync could bring them back) */
	if (!o.dry_run && cli_all_copies_reachable(r, "prune") != 0)
		return cli_close_repo(g, r, EXIT_FATAL, 0);
	rc = engine_prune(r, &o, g->json, &res) == 0 ? 0 : EXIT_FATAL;
	return cli_close_repo(g, r, rc, !o.dry_run);
}

/* parse_size(s, &v): "500M", "2G", "1024" (bytes), K/M/G/T binary. */
static int parse_size(const char *s, uint64_t *v)
{
	char num[32];
	size_t l = strlen(s);
	unsigned shift = 0;

	if (l == 0 || l >= sizeof num)
		return -1;
	memcpy(num, s, l + 1);
	switch (num[l - 1]) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	default: break;
	}
	if (shift)
		num[--l] = '\0';
	if (parse_u64(num, v) != 0 || *v > (UINT64_MAX >> shift))
		return -1;
	*v <<= shift;
	return 0;
}

int cmd_rekey(const struct globals *g, int argc, char **argv)
{
	struct prune_opts po;
	struct rekey_opts o;
	struct rekey_result res;
	struct repo *r;
	int rc;

	prune_default_opts(&po);
	memset(&o, 0, sizeof o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "--max-size", 10) == 0 && (a[10] == '\0' || a[10] == '=')) {
			const char *v = a[10] == '=' ? a + 11 : (i + 1 < argc ? argv[++i] : NULL);

			if (v == NULL || parse_size(v, &o.budget) != 0) {
				errmsg("rekey: --max-size takes a size like 500M or 2G");
				return EXIT_FATAL;
			}
			continue;
		}
		rc = prune_parse_opt(argc, argv, &i, &po);
		if (rc < 0)
			return EXIT_FATAL;
		if (rc == 0 || po.dry_run) {
			errmsg("rekey: unknown option %s (see README.md)", a);
			return EXIT_FATAL;
		}
	}
	o.repack_threshold = po.repack_threshold;
	o.grace_ns = po.grace_ns;
	if ((r = cli_open_repo(g)) == NULL)
		return EXIT_FATAL;
	if (cli_rollback_alarm()) {
		errmsg("rekey: a copy was found rolled back (snapshots hidden or deleted): "
		    "rekey would delete data those snapshots need; resolve that first");
		return cli_close_repo(g, r, EXIT_FATAL, 0);
	}
	/* retiring an epoch must reach every copy */
	if (cli_all_copies_reachable(r, "rekey") != 0)
		return cli_close_repo(g, r, EXIT_FATAL, 0);
	rc = engine_rekey(r, g->cache_dir, &o, g->json, &res) == 0 ? 0 : EXIT_FATAL;
	rekey_result_free(&res);
	return cli_close_repo(g, r, rc, 1);
}
