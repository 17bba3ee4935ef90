/* cli: the command line.  Uses the public headers of engine, repo,
 * format and util only. */
#ifndef TWOFOLD_CLI_H
#define TWOFOLD_CLI_H

#include <stddef.h>

struct globals {
	const char *repo;
	const char *password_file;
	const char *password_command;
	const char *cache_dir;
	int no_cache;
	int json;
	int quiet;
	int verbose;
	int progress;		/* stderr is a terminal and not quiet */
};

/* A passphrase in guarded memory (sodium_malloc); free with pass_free. */
struct pass {
	char *p;
	size_t n;
};

/* pass_get(g, confirm, prompt, pw): from --password-file,
 * TWOFOLD_PASSWORD_FILE, --password-command, or the terminal (asked twice
 * when confirm).  -1 with a message naming the options otherwise. */
int pass_get(const struct globals *g, int confirm, const char *prompt, struct pass *pw);
/* pass_from_file(path, pw): the first line of a file. */
int pass_from_file(const char *path, struct pass *pw);
void pass_free(struct pass *pw);

struct repo;
/* cli_open_repo(g): get the passphrase and open g->repo; NULL after a
 * message. */
struct repo *cli_open_repo(const struct globals *g);

/* Commands: argv[0] is the command name.  Return the process exit code. */
int cmd_init(const struct globals *g, int argc, char **argv);
int cmd_backup(const struct globals *g, int argc, char **argv);
int cmd_snapshots(const struct globals *g, int argc, char **argv);
int cmd_ls(const struct globals *g, int argc, char **argv);
int cmd_restore(const struct globals *g, int argc, char **argv);
int cmd_check(const struct globals *g, int argc, char **argv);
int cmd_cat(const struct globals *g, int argc, char **argv);
int cmd_key(const struct globals *g, int argc, char **argv);

#endif
