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
"  check [--read-data]          verify the repository\n"
"  cat config|snapshot ID|tree ID|index ID   print an object as JSON\n"
"  key add|list|remove|passwd   manage keys\n"
"\n"
"global options:\n"
"  -r, --repo URL               repository (or TWOFOLD_REPOSITORY)\n"
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
"10 check found damaged or missing objects.  See README.md.\n";

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
	char **rest;
	int nrest = 0, i;

	memset(&g, 0, sizeof g);
	/* Pack-sized buffers come and go on several threads: a fixed mmap
	 * threshold hands them back to the system when freed, instead of
	 * glibc raising the threshold and keeping them in per-thread arenas. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	if (crypto_init() != 0) {
		errmsg("cannot initialise libsodium");
		return EXIT_FATAL;
	}
	rest = xcalloc((size_t)argc + 1, sizeof *rest);
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
			g.repo = take_value(argc, argv, &i, a[1] == 'r' ? "-r" : "--repo");
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
			free(rest);
			return 0;
		} else if ((strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) && nrest == 0) {
			fputs(usage, stdout);
			free(rest);
			return 0;
		} else
			rest[nrest++] = argv[i];
	}
	util_verbosity = g.quiet ? 0 : 1 + g.verbose;
	g.progress = !g.quiet && !g.json && isatty(2);
	if (g.repo == NULL)
		g.repo = getenv("TWOFOLD_REPOSITORY");
	if (nrest == 0) {
		fputs(usage, stderr);
		free(rest);
		return EXIT_FATAL;
	}
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		if (strcmp(rest[0], commands[k].name) == 0) {
			int rc;

			if (g.repo == NULL || *g.repo == '\0') {
				errmsg("no repository given: use -r/--repo URL or set TWOFOLD_REPOSITORY");
				free(rest);
				return EXIT_FATAL;
			}
			rc = commands[k].fn(&g, nrest, rest);
			free(rest);
			fflush(stdout);
			if (ferror(stdout)) {
				errmsg("cannot write to standard output");
				return EXIT_FATAL;
			}
			return rc < 0 ? EXIT_FATAL : rc;
		}
	}
	errmsg("unknown command '%s' (see 'twofold --help')", rest[0]);
	free(rest);
	return EXIT_FATAL;
}
