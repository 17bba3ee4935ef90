/* main.c: global options and command dispatch. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "util/util.h"
#include "util/workq.h"

static const char usage[] =
"usage: twofold [global options] COMMAND [options] [args]\n"
"\n"
"commands:\n"
"  init                         create a repository\n"
"  backup PATH...               back up files and directories\n"
"  snapshots                    list snapshots\n"
"  ls SNAPSHOT [PATH]           list the files of a snapshot\n"
"  restore SNAPSHOT --target DIR [--include PATH]...\n"
"  check [--read-data] [--copies]  verify the repository (and compare its copies)\n"
"  cat config|snapshot ID|tree ID|index ID   print an object as JSON\n"
"  forget [--keep-last N ...|ID...] [--dry-run] [--prune]   remove snapshots\n"
"  diff SNAPSHOT1 SNAPSHOT2     what changed between two snapshots\n"
"  find [--path] [--snapshot ID] PATTERN...   search every snapshot\n"
"  stats [SNAPSHOT...]          sizes, dedup and compression ratios\n"
"  dump SNAPSHOT PATH           a file to stdout, a directory as a tar\n"
"  prune [--dry-run] [--repack-threshold PCT] [--grace DURATION]\n"
"                               remove unreferenced data (owner key)\n"
"  rekey [--max-size SIZE]      re-encrypt older data under the current key\n"
"                               epoch; retire older epochs when done (owner key)\n"
"  key add|list|remove|revoke|passwd|rotate   manage keys\n"
"\n"
"global options:\n"
"  -r, --repo URL|NAME          repository; repeat for each copy (or\n"
"                               TWOFOLD_REPOSITORY, or a name from the config file)\n"
"  --password-file FILE         passphrase file (or TWOFOLD_PASSWORD_FILE)\n"
"  --password-command CMD       command that prints the passphrase\n"
"  --cache-dir DIR              file cache location (default XDG cache)\n"
"  --no-cache                   read every file, do not use the cache\n"
"  --connections N              parallel workers and store requests (default: cores)\n"
"  --json                       machine-readable output\n"
"  -q, --quiet / -v, --verbose\n"
"  --version, --help\n"
"\n"
"exit codes: 0 ok, 1 error, 3 backup incomplete (unreadable files listed),\n"
"10 check found damaged or missing objects, 11 a copy was rolled back\n"
"(snapshots or config deleted or hidden), 12 done but a copy lacks objects\n"
"(run sync).  See README.md.\n";

struct command {
	const char *name;
	int (*fn)(const struct globals *, int, char **);
};

static const struct command commands[] = {
	{ "init", cmd_init },
	{ "backup", cmd_backup },
	{ "snapshots", cmd_snapshots },
	{ "ls", cmd_ls },
	{ "restore", cmd_restore },
	{ "check", cmd_check },
	{ "cat", cmd_cat },
	{ "key", cmd_key },
	{ "copies", cmd_copies },
	{ "sync", cmd_sync },
	{ "repair", cmd_repair },
	{ "copy", cmd_copy },
	{ "forget", cmd_forget },
	{ "diff", cmd_diff },
	{ "find", cmd_find },
	{ "stats", cmd_stats },
	{ "dump", cmd_dump },
	{ "prune", cmd_prune },
	{ "rekey", cmd_rekey },
};

/* take_value(argc, argv, &i, opt): the value of an option given as
 * "--opt VALUE" or "--opt=VALUE". */
static const char *take_value(int argc, char **argv, int *i, const char *opt)
{
	size_t l = strlen(opt);

	if (strncmp(argv[*i], opt, l) == 0 && argv[*i][l] == '=')
		return argv[*i] + l + 1;
	if (*i + 1 >= argc) {
		errmsg("option %s needs a value", opt);
		exit(EXIT_FATAL);
	}
	return argv[++*i];
}

static int is_opt(const char *a, const char *opt)
{
	size_t l = strlen(opt);

	return strncmp(a, opt, l) == 0 && (a[l] == '\0' || (opt[1] == '-' && a[l] == '='));
}

int main(int argc, char **argv)
{
	struct globals g;
	char **rest, **repos, *spec = NULL, *pwfile = NULL;
	int nrest = 0, i, rc;
	size_t nrepos = 0;

	memset(&g, 0, sizeof g);
	/* Pack-sized buffers come and go on several threads: a fixed mmap
	 * threshold hands them back to the system when freed, instead of
	 * glibc raising the threshold and keeping them in per-thread arenas. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	/* and the main arena keeps up to 16 MiB free at its top: the walker
	 * allocates chunks there that the workers free, and memory given back
	 * and taken again is faulted in page by page */
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	if (crypto_init() != 0) {
		errmsg("cannot initialise libsodium");
		return EXIT_FATAL;
	}
	rest = xcalloc((size_t)argc + 1, sizeof *rest);
	repos = xcalloc((size_t)argc + 1, sizeof *repos);
	/* Global options may appear anywhere; everything else is kept in
	 * order for the command.  "--" ends option parsing. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			while (i < argc)
				rest[nrest++] = argv[i++];
			break;
		}
		if (is_opt(a, "-r") || is_opt(a, "--repo"))
			repos[nrepos++] = (char *)(uintptr_t)take_value(argc, argv, &i,
			    a[1] == 'r' ? "-r" : "--repo");
		else if (is_opt(a, "--password-file"))
			g.password_file = take_value(argc, argv, &i, "--password-file");
		else if (is_opt(a, "--password-command"))
			g.password_command = take_value(argc, argv, &i, "--password-command");
		else if (is_opt(a, "--cache-dir"))
			g.cache_dir = take_value(argc, argv, &i, "--cache-dir");
		else if (is_opt(a, "--connections")) {
			uint64_t v;
			const char *val = take_value(argc, argv, &i, "--connections");

			if (parse_u64(val, &v) != 0 || v < 1 || v > 64) {
				errmsg("--connections takes a number from 1 to 64, not %s", val);
				free(repos);
				free(rest);
				return EXIT_FATAL;
			}
			workq_override = (int)v;
		} else if (strcmp(a, "--no-cache") == 0)
			g.no_cache = 1;
		else if (strcmp(a, "--json") == 0)
			g.json = 1;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			g.quiet = 1;
		else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
			g.verbose++;
		else if (strcmp(a, "--version") == 0 && nrest == 0) {
			printf("twofold %s\n", TWOFOLD_VERSION);
			free(repos);
			free(rest);
			return 0;
		} else if ((strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) && nrest == 0) {
			fputs(usage, stdout);
			free(repos);
			free(rest);
			return 0;
		} else
			rest[nrest++] = argv[i];
	}
	util_verbosity = g.quiet ? 0 : 1 + g.verbose;
	g.progress = !g.quiet && !g.json && isatty(2);
	rc = EXIT_FATAL;
	if (nrest == 0) {
		fputs(usage, stderr);
		goto out;
	}
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		if (strcmp(rest[0], commands[k].name) != 0)
			continue;
		if (cli_repo_spec(repos, nrepos, &spec, &pwfile) != 0)
			goto out;
		g.repo = spec;
		/* a config file's password-file yields to the options and
		 * the environment */
		if (pwfile && !g.password_file && !g.password_command &&
		    !getenv("TWOFOLD_PASSWORD_FILE"))
			g.password_file = pwfile;
		rc = commands[k].fn(&g, nrest, rest);
		fflush(stdout);
		if (ferror(stdout)) {
			errmsg("cannot write to standard output");
			rc = EXIT_FATAL;
		}
		rc = rc < 0 ? EXIT_FATAL : rc;
		goto out;
	}
	errmsg("unknown command '%s' (see 'twofold --help')", rest[0]);
out:
	free(spec);
	free(pwfile);
	free(repos);
	free(rest);
	return rc;
}
