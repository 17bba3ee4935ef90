/* repos.c: which repository, and which copies of it, a command works on.
 *
 * -r/--repo may be repeated (one URL per copy); TWOFOLD_REPOSITORY may
 * hold several URLs separated by whitespace; and the config file
 * ($TWOFOLD_CONFIG, else $XDG_CONFIG_HOME/twofold/config, else
 * ~/.config/twofold/config) names repositories:
 *
 *     [home]
 *     copy = /srv/backup/home
 *     copy = azure://acct/home
 *     credentials = /etc/twofold/azure-home.env
 *     password-file = /etc/twofold/home.pass
 *
 * "credentials" belongs to the copy above it: a file of NAME=VALUE lines
 * (AZURE_STORAGE_*, AWS_*) set while that copy is opened.  Secrets stay in
 * those files; neither they nor their paths are stored in the repository.
 * The result is the store URL list of store_open: copies separated by
 * newlines, each "URL" or "URL<TAB>CREDENTIALS-FILE". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/util.h"

static void config_path(char *out, size_t n)
{
	const char *v;

	if ((v = getenv("TWOFOLD_CONFIG")) != NULL && *v)
		snprintf(out, n, "%s", v);
	else if ((v = getenv("XDG_CONFIG_HOME")) != NULL && *v)
		snprintf(out, n, "%s/twofold/config", v);
	else if ((v = getenv("HOME")) != NULL && *v)
		snprintf(out, n, "%s/.config/twofold/config", v);
	else
		out[0] = '\0';
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* lookup(name, spec, pwfile): read the config file's section [name] into
 * spec (copies) and *pwfile.  1 if the file has no such section, 0 found,
 * -1 after a message. */
static int lookup(const char *name, struct buf *spec, char **pwfile)
{
	char path[4096], line[4096];
	FILE *f;
	int in = 0, found = 0, rc = 0, copies = 0;
	unsigned lineno = 0;

	config_path(path, sizeof path);
	if (path[0] == '\0' || (f = fopen(path, "re")) == NULL)
		return 1;
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		char *l = trim(line), *eq, *key, *val;

		lineno++;
		if (*l == '\0' || *l == '#')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');

			if (end == NULL) {
				errmsg("%s, line %u: a section is [NAME]", path, lineno);
				rc = -1;
				break;
			}
			*end = '\0';
			in = strcmp(trim(l + 1), name) == 0;
			found |= in;
			continue;
		}
		if ((eq = strchr(l, '=')) == NULL) {
			errmsg("%s, line %u: expected KEY = VALUE", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(l);
		val = trim(eq + 1);
		if (!in)
			continue;
		if (strcmp(key, "copy") == 0) {
			if (copies++)
				buf_append(spec, "\n", 1);
			buf_append(spec, val, strlen(val));
		} else if (strcmp(key, "credentials") == 0 && copies > 0) {
			buf_append(spec, "\t", 1);
			buf_append(spec, val, strlen(val));
		} else if (strcmp(key, "password-file") == 0) {
			free(*pwfile);
			*pwfile = xstrdup(val);
		} else {
			errmsg("%s, line %u: unknown key '%s' (copy, credentials after a "
			    "copy, password-file)", path, lineno, key);
			rc = -1;
		}
	}
	fclose(f);
	if (rc == 0 && found && copies == 0) {
		errmsg("%s: repository [%s] names no copy (add 'copy = URL')", path, name);
		rc = -1;
	}
	return rc < 0 ? -1 : found ? 0 : 1;
}

/* is_name(s): a repository name of the config file: [A-Za-z0-9_.-]+
 * without a '/' or ':' (anything else is a URL or a path). */
static int is_name(const char *s)
{
	return *s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == strlen(s);
}

int cli_repo_spec(char *const *urls, size_t n, char **spec, char **pwfile)
{
	struct buf b;
	const char *env = getenv("TWOFOLD_REPOSITORY");
	char *envcopy = NULL, *save = NULL, *tok;
	char **list = NULL;
	size_t count = 0;
	int rc = 0;

	*spec = NULL;
	*pwfile = NULL;
	for (size_t i = 0; i < n; i++) {
		list = xreallocarray(list, count + 1, sizeof *list);
		list[count++] = urls[i];
	}
	if (n == 0 && env != NULL) {
		envcopy = xstrdup(env);
		for (tok = strtok_r(envcopy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
			list = xreallocarray(list, count + 1, sizeof *list);
			list[count++] = tok;
		}
	}
	buf_init(&b, 1u << 20);
	for (size_t i = 0; i < count && rc == 0; i++) {
		if (b.len)
			buf_append(&b, "\n", 1);
		if (is_name(list[i]) && (rc = lookup(list[i], &b, pwfile)) != 1)
			continue;
		rc = 0;
		buf_append(&b, list[i], strlen(list[i]));
	}
	free(list);
	free(envcopy);
	if (rc == 0 && b.len == 0) {
		errmsg("no repository given: use -r/--repo URL (repeat it for each "
		    "copy), set TWOFOLD_REPOSITORY, or name one in the config file");
		rc = -1;
	}
	if (rc == 0) {
		buf_append(&b, "", 1);
		*spec = xstrdup((const char *)b.p);
	} else {
		free(*pwfile);
		*pwfile = NULL;
	}
	buf_free(&b);
	return rc;
}
