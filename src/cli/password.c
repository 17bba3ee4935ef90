/* password.c: getting passphrases without putting them in argv or logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "repo/repo.h"
#include "util/util.h"

#define PASS_MAX 4096

void pass_free(struct pass *pw)
{
	if (pw->p)
		sodium_free(pw->p);
	pw->p = NULL;
	pw->n = 0;
}

/* read_line(fd, pw): up to PASS_MAX bytes until newline or EOF. */
static int read_line(int fd, struct pass *pw)
{
	pw->p = sodium_malloc(PASS_MAX + 1);
	pw->n = 0;
	if (pw->p == NULL)
		return -1;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		if (pw->n == PASS_MAX) {
			pass_free(pw);
			errmsg("passphrase longer than %d bytes", PASS_MAX);
			return -1;
		}
		pw->p[pw->n++] = ch;
	}
	if (pw->n && pw->p[pw->n - 1] == '\r')
		pw->n--;
	pw->p[pw->n] = '\0';
	return 0;
}

int pass_from_file(const char *path, struct pass *pw)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		errmsg_errno("cannot read password file %s", path);
		return -1;
	}
	rc = read_line(fd, pw);
	close(fd);
	if (rc == 0 && pw->n == 0) {
		errmsg("password file %s is empty", path);
		pass_free(pw);
		return -1;
	}
	return rc;
}

static int from_command(const char *cmd, struct pass *pw)
{
	FILE *f = popen(cmd, "r");
	int rc, st;

	if (f == NULL) {
		errmsg_errno("cannot run --password-command");
		return -1;
	}
	rc = read_line(fileno(f), pw);
	st = pclose(f);
	if (rc == 0 && (st != 0 || pw->n == 0)) {
		errmsg("--password-command failed (status %d) or printed nothing", st);
		pass_free(pw);
		return -1;
	}
	return rc;
}

static int from_tty(const char *prompt, struct pass *pw)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	if (write(fd, prompt, strlen(prompt)) < 0) {
		close(fd);
		return -1;
	}
	tcgetattr(fd, &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	rc = read_line(fd, pw);
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* the prompt line stays unfinished; harmless */
	}
	close(fd);
	return rc;
}

int pass_get(const struct globals *g, int confirm, const char *prompt, struct pass *pw)
{
	const char *file = g->password_file ? g->password_file : getenv("TWOFOLD_PASSWORD_FILE");
	struct pass again = { 0 };

	memset(pw, 0, sizeof *pw);
	if (file && *file)
		return pass_from_file(file, pw);
	if (g->password_command)
		return from_command(g->password_command, pw);
	if (!isatty(0) || from_tty(prompt, pw) != 0) {
		errmsg("no password given: use --password-file FILE, TWOFOLD_PASSWORD_FILE "
		    "or --password-command CMD (or run on a terminal)");
		return -1;
	}
	if (pw->n == 0) {
		errmsg("empty passphrase refused");
		pass_free(pw);
		return -1;
	}
	if (!confirm)
		return 0;
	if (from_tty("Enter it again: ", &again) != 0 || again.n != pw->n ||
	    sodium_memcmp(again.p, pw->p, pw->n) != 0) {
		errmsg("the passphrases do not match; nothing was changed");
		pass_free(&again);
		pass_free(pw);
		return -1;
	}
	pass_free(&again);
	return 0;
}

static int open_alarm;	/* the witness found a rollback when opening */
static int open_lag;	/* ... or a copy that lacks objects (run sync) */

struct repo *cli_open_repo_new(const struct globals *g, const char *new_copy)
{
	struct pass pw;
	struct repo *r;
	int wrong;

	if (pass_get(g, 0, "Repository passphrase: ", &pw) != 0)
		return NULL;
	r = repo_open(g->repo, pw.p, pw.n, &wrong);
	pass_free(&pw);
	if (r == NULL)
		return NULL;
	if (repo_key_is_revoked(r)) {
		errmsg("the key you opened the repository with was revoked by its owner: "
		    "nothing it does is accepted any more (ask the owner for a new key)");
		repo_close(r);
		return NULL;
	}
	if (new_copy)
		engine_witness_drop(r, g->cache_dir, new_copy);
	cli_rewitness(g, r, 0);
	return r;
}

struct repo *cli_open_repo(const struct globals *g)
{
	return cli_open_repo_new(g, NULL);
}

void cli_rewitness(const struct globals *g, struct repo *r, unsigned flags)
{
	int w = engine_witness(r, g->cache_dir, flags);

	open_alarm = w > 0 && (w & WITNESS_ROLLBACK);
	open_lag = w > 0 && (w & WITNESS_LAG);
}

int cli_copies_lag(void)
{
	return open_lag;
}

int cli_rollback_alarm(void)
{
	return open_alarm;
}

int cli_close_repo(const struct globals *g, struct repo *r, int rc, int wrote)
{
	int w = 0, lag = 0;

	if (r == NULL)
		return rc;
	for (size_t i = 0; i < repo_copies(r); i++) {
		struct store_copy_info ci;

		repo_copy_info(r, i, &ci);
		if (ci.n_lacks == 0)
			continue;
		errmsg("warning: copy %s was unreachable: %zu object%s of this run %s "
		    "missing there; run 'twofold sync' when it is back", ci.url,
		    ci.n_lacks, ci.n_lacks == 1 ? "" : "s", ci.n_lacks == 1 ? "is" : "are");
		lag = 1;
	}
	if (wrote || lag)
		w = engine_witness(r, g->cache_dir, WITNESS_QUIET);
	repo_close(r);
	if (rc != 0)
		return rc;
	if (open_alarm || (w > 0 && (w & WITNESS_ROLLBACK)))
		return EXIT_ROLLBACK;
	return lag ? EXIT_LAG : 0;
}
