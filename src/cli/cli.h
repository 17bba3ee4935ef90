/* cli: the command line.  Uses the public headers of engine, repo,
 * format and util only. */
#ifndef TWOFOLD_CLI_H
#define TWOFOLD_CLI_H

#include <stddef.h>
#include <stdint.h>

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

/* cli_repo_spec(urls, n, &spec, &pwfile): the copies named by the -r
 * values (each a URL, a path or a repository name of the config file), or
 * by TWOFOLD_REPOSITORY when there are none, as a store_open URL list;
 * *pwfile: the config file's password-file, or NULL.  Both malloc'ed.
 * -1 after a message (nothing given, a bad config file). */
int cli_repo_spec(char *const *urls, size_t n, char **spec, char **pwfile);

/* Option parsing shared by the commands (commands.c): list_push appends
 * s (not copied) to a growing array; opt_eq is an exact match; opt_is
 * matches "--name" and "--name=VALUE"; opt_val returns the value of the
 * option at argv[*i] ("--opt=V" or the next argument, advancing *i), or
 * NULL after a message; unknown reports an unknown option and returns
 * EXIT_FATAL. */
void list_push(char ***v, size_t *n, const char *s);
int opt_eq(const char *a, const char *opt);
int opt_is(const char *a, const char *name);
const char *opt_val(int argc, char **argv, int *i);
int unknown(const char *cmd, const char *a);
/* parse_time_arg(s, &ns): "YYYY-MM-DD HH:MM[:SS]" in local time; -1
 * after a message. [lifecycle.c] */
int parse_time_arg(const char *s, int64_t *ns);

struct repo;
/* cli_open_repo(g): get the passphrase and open g->repo; NULL after a
 * message. */
struct repo *cli_open_repo(const struct globals *g);
/* cli_close_repo(g, r, rc, wrote): report copies that missed objects this
 * run, update the witness (if the command wrote, or a copy missed
 * objects), close r, and return the exit code: rc if not 0, else
 * EXIT_ROLLBACK if a copy was found rolled back, EXIT_LAG if a copy
 * missed objects, else 0. */
int cli_close_repo(const struct globals *g, struct repo *r, int rc, int wrote);
/* cli_open_repo_new(g, url): cli_open_repo, where copy url is being made
 * anew (the witness forgets what it served before). */
struct repo *cli_open_repo_new(const struct globals *g, const char *new_copy);
/* cli_rewitness(g, r, flags): run the witness again (after sync or repair
 * made the copies whole); it decides what cli_close_repo reports. */
void cli_rewitness(const struct globals *g, struct repo *r, unsigned flags);
/* cli_rollback_alarm(): 1 if opening found a rolled-back copy: commands
 * that delete must refuse to act on that view. */
int cli_rollback_alarm(void);
/* cli_copies_lag(): 1 if opening found a copy that lacks objects written
 * while it was unreachable. */
int cli_copies_lag(void);

/* Commands: argv[0] is the command name.  Return the process exit code. */
int cmd_init(const struct globals *g, int argc, char **argv);
int cmd_backup(const struct globals *g, int argc, char **argv);
int cmd_snapshots(const struct globals *g, int argc, char **argv);
int cmd_ls(const struct globals *g, int argc, char **argv);
int cmd_restore(const struct globals *g, int argc, char **argv);
int cmd_check(const struct globals *g, int argc, char **argv);
int cmd_cat(const struct globals *g, int argc, char **argv);
int cmd_key(const struct globals *g, int argc, char **argv);
int cmd_copies(const struct globals *g, int argc, char **argv);
int cmd_sync(const struct globals *g, int argc, char **argv);
int cmd_repair(const struct globals *g, int argc, char **argv);
int cmd_copy(const struct globals *g, int argc, char **argv);
/* cli_check_copies(g, r): EXIT_INTEGRITY (with a message per copy) if the
 * reads of this session found a copy lacking or holding damaged objects.
 * cli_compare_copies(g, r): check --copies: read every object of every
 * copy and compare; EXIT_INTEGRITY if any is missing or damaged. */
int cli_check_copies(const struct globals *g, struct repo *r);
/* cli_all_copies_reachable(r, cmd): 0 if every copy answers and lacks
 * nothing this session; else a message per copy (why cmd, which deletes,
 * must wait for sync) and -1. */
int cli_all_copies_reachable(struct repo *r, const char *cmd);
int cli_compare_copies(const struct globals *g, struct repo *r);
int cmd_forget(const struct globals *g, int argc, char **argv);
int cmd_diff(const struct globals *g, int argc, char **argv);
int cmd_find(const struct globals *g, int argc, char **argv);
int cmd_stats(const struct globals *g, int argc, char **argv);
int cmd_dump(const struct globals *g, int argc, char **argv);
int cmd_prune(const struct globals *g, int argc, char **argv);
int cmd_rekey(const struct globals *g, int argc, char **argv);

struct prune_opts;
/* Prune's options, shared with `forget --prune` (cmd_prune.c):
 * prune_default_opts sets the defaults; prune_parse_opt(argc, argv, &i, o)
 * takes --dry-run/-n, --repack-threshold PCT and --grace DURATION at
 * argv[*i] (advancing *i past a value): 1 taken, 0 not a prune option,
 * -1 after a message.  prune_parse_duration(s, &ns): "24h", "30m",
 * "90s", "7d", or seconds; -1 on junk. */
void prune_default_opts(struct prune_opts *o);
int prune_parse_opt(int argc, char **argv, int *i, struct prune_opts *o);
int prune_parse_duration(const char *s, int64_t *ns);

#endif
