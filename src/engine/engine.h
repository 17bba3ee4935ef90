/* engine: the commands' work on an opened repository — backup, restore,
 * check, ls.  Uses repo (never a store or key directly) and format's
 * tree/snapshot structures.  Depends on util, format, repo. */
#ifndef TWOFOLD_ENGINE_H
#define TWOFOLD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

struct backup_opts {
	char **paths;
	size_t n_paths;
	char **excludes;		/* fnmatch patterns */
	size_t n_excludes;
	int exclude_caches;		/* skip dirs with a valid CACHEDIR.TAG */
	int one_file_system;
	char **tags;
	size_t n_tags;
	const char *host;		/* NULL: gethostname() */
	int use_stdin;			/* back up standard input as one file */
	const char *stdin_name;
	int progress;			/* draw a progress line on stderr */
	int json;			/* print a JSON summary on stdout */
	const char *cache_dir;		/* NULL: $XDG_CACHE_HOME/twofold */
	int no_cache;
};

struct backup_result {
	uint8_t snapshot[ID_LEN];
	uint64_t files, dirs, bytes, added_bytes;
	uint64_t files_new, files_changed, files_unchanged;
	uint64_t n_unreadable, n_changed_while_read;
	double seconds;
};

/* engine_backup(r, o, res): back up, save the snapshot.  0 if complete,
 * EXIT_PARTIAL if some sources could not be read (listed on stderr and in
 * the snapshot), -1 on a fatal error (no snapshot is written; packs that
 * were written are unreferenced and harmless). */
int engine_backup(struct repo *r, const struct backup_opts *o, struct backup_result *res);

struct restore_opts {
	const char *target;		/* created if missing */
	char **includes;		/* snapshot paths ("/home/a/x") to restore */
	size_t n_includes;
	int json;			/* JSON summary on stdout */
	int progress;
	int numeric_ids;		/* do not map user/group names */
};

/* engine_restore(r, snap, o): restore a snapshot's tree into o->target.
 * Never writes outside the target and never follows a symlink (every
 * path is resolved with openat(O_NOFOLLOW) from the target's directory
 * descriptor).  Files that cannot be restored (damaged or missing data)
 * are reported by name while the rest is restored.  0 if everything was
 * restored, EXIT_FATAL otherwise. */
int engine_restore(struct repo *r, const struct snap_item *snap, const struct restore_opts *o);

struct check_opts {
	int read_data;			/* decrypt and verify every blob */
	int json;
};

/* engine_check(r, o): verify every structure and reference; every
 * problem is printed naming its object.  0 if clean, EXIT_INTEGRITY if
 * anything is damaged or missing, -1 on error. */
int engine_check(struct repo *r, const struct check_opts *o);

struct ls_opts {
	const char *path;		/* NULL: everything */
	int json;
	int long_format;
	int recursive;			/* default on */
};
/* engine_ls(r, snap, o): list a snapshot's entries under path. */
int engine_ls(struct repo *r, const struct snap_item *snap, const struct ls_opts *o);

/* snapshot_path_split(path, parts, max): split "/a/b" into components;
 * returns the count or -1 if a component is "." or ".." or too many. */
int snapshot_path_split(char *path, char **parts, int max);

#endif
