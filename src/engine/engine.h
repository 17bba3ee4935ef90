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
	int64_t time_ns;		/* the snapshot's time; 0: now */
	int use_stdin;			/* back up standard input as one file */
	const char *stdin_name;
	int progress;			/* draw a progress line on stderr */
	int json;			/* print a JSON summary on stdout */
	const char *cache_dir;		/* NULL: $XDG_CACHE_HOME/twofold */
	int no_cache;
	struct backup_prep *prep;	/* engine_backup_prepare's, or NULL */
};

struct backup_result {
	uint8_t snapshot[ID_LEN];
	uint64_t files, dirs, bytes, added_bytes;
	uint64_t files_new, files_changed, files_unchanged;
	uint64_t n_unreadable, n_changed_while_read;
	double seconds;
};

/* engine_backup_prepare(o): start listing and stat'ing the first local
 * source of a backup with options o on a thread, so that the walk runs
 * while the repository opens (the passphrase's KDF takes a core for a
 * while).  Set o->prep to the result (NULL if there is nothing to
 * prepare) before engine_backup, and free it with engine_backup_prep_free
 * after; o must stay in place until then.  Reports only a thread that
 * cannot start: the backup meets the same failures and reports them. */
struct backup_prep *engine_backup_prepare(const struct backup_opts *o);
void engine_backup_prep_free(struct backup_prep *p);
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
/* engine_restore_cloud(r, snap, o): restore the container or bucket (or
 * the part of it) that o->includes[0] names (/azure/ACCOUNT/CONTAINER/...,
 * /s3/BUCKET/...) into the container or bucket o->target
 * (azure://ACCOUNT/CONTAINER[/PREFIX], s3://BUCKET[/PREFIX]): every object
 * with its original name, content, properties and metadata
 * [restore_cloud.c].  engine_restore calls it for such targets.  0, or
 * EXIT_FATAL after messages. */
int engine_restore_cloud(struct repo *r, const struct snap_item *snap, const struct restore_opts *o);

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

/* engine_witness(r, cache_dir, flags): compare what every copy lists now
 * (snapshot objects, newest config) with what it listed before, as kept in
 * CACHE/<repository id>/witness, outside every copy; record this session's
 * unreached objects per copy.  Every finding is printed.  Returns a mask:
 * WITNESS_ROLLBACK (a copy lost, hid or rolled back snapshots, or serves an
 * older config; or all do), WITNESS_LAG (a copy lacks objects: run sync);
 * -1 on error.  flags: WITNESS_SYNCED (the copies were just made whole:
 * forget recorded lacks). */
#define WITNESS_ROLLBACK 1
#define WITNESS_LAG 2
#define WITNESS_SYNCED 4u
#define WITNESS_QUIET 8u		/* record, print nothing */
int engine_witness(struct repo *r, const char *cache_dir, unsigned flags);
/* engine_witness_forgotten(r, cache_dir, hex, n): snapshots this host
 * removed (object name hex): their return would be a rollback. */
int engine_witness_forgotten(struct repo *r, const char *cache_dir, const char *const *hex, size_t n);
/* engine_witness_drop(r, cache_dir, url): forget what copy url served (it
 * is being made anew by 'copy add'). */
int engine_witness_drop(struct repo *r, const char *cache_dir, const char *url);

/* engine_prune(r, o, json, res): repo_prune, then a report on stdout
 * (text, or JSON with json): what was found, repacked, removed, freed. */
int engine_prune(struct repo *r, const struct prune_opts *o, int json, struct prune_result *res);
/* engine_rekey(r, cache_dir, o, json, res): repo_rekey, tell the witness
 * which snapshot IDs were replaced, then a report on stdout. */
int engine_rekey(struct repo *r, const char *cache_dir, const struct rekey_opts *o, int json,
    struct rekey_result *res);

/* snapshot_path_split(path, parts, max): split "/a/b" into components;
 * returns the count or -1 if a component is "." or ".." or too many. */
int snapshot_path_split(char *path, char **parts, int max);

/* ---- retention (retention.c): the pure policy of `forget` ----
 * No repository here: snapshots come in as (time, host, paths, tags) so
 * the rules can be tested against calendars.  Buckets are taken in local
 * time (set TZ for reproducible results). */
enum ret_rule { RET_LAST, RET_HOURLY, RET_DAILY, RET_WEEKLY, RET_MONTHLY, RET_YEARLY, RET_N_RULES };
/* Reason bits of a kept snapshot: 1 << rule for a rule's bucket, the
 * same shifted by RET_OLDEST_SHIFT for "oldest" (the rule could not keep
 * as many as asked, so the group's oldest snapshot is kept as well). */
#define RET_OLDEST_SHIFT 8
#define RET_WITHIN (1u << 16)
#define RET_TAG (1u << 17)
#define RET_UNLIMITED (-1)
#define GROUP_HOST 1u
#define GROUP_PATHS 2u
#define GROUP_TAGS 4u

struct ret_snap {
	int64_t time_ns;
	const char *host;
	char *const *paths;
	uint32_t n_paths;
	char *const *tags;
	uint32_t n_tags;
};
struct ret_within {
	unsigned years, months, days, hours;
};
struct ret_policy {
	int keep[RET_N_RULES];		/* 0 off, RET_UNLIMITED, else a count */
	int has_within;
	struct ret_within within;
	char *const *keep_tags;		/* each "a,b": has all of them; "": no tags */
	size_t n_keep_tags;
};
struct ret_result {
	size_t group;			/* index of the group, 0..n_groups-1 */
	unsigned reasons;		/* 0: remove */
};

/* ret_parse_duration(s, d): "1y2m3d4h": numbers with units y, m, d, h,
 * each at most once, in any order; -1 on anything else. */
int ret_parse_duration(const char *s, struct ret_within *d);
/* ret_parse_group_by(s, by): "host,paths,tags" (any subset, "" for one
 * group) into GROUP_* bits; -1 on an unknown word. */
int ret_parse_group_by(const char *s, unsigned *by);
/* ret_policy_empty(p): 1 if p keeps nothing at all (forget refuses). */
int ret_policy_empty(const struct ret_policy *p);
/* ret_has_tags(s, spec): 1 if s has every tag of "a,b" ("" = untagged). */
int ret_has_tags(const struct ret_snap *s, const char *spec);
/* ret_filter(s, hosts, nh, tags, nt): 1 if s passes --host (any of hosts;
 * none given: all) and --tag (any spec per ret_has_tags; none: all). */
int ret_filter(const struct ret_snap *s, char *const *hosts, size_t nh, char *const *tags, size_t nt);
/* ret_group_key(s, by): a new string that is equal for two snapshots
 * exactly when they are in the same group (paths and tags as sets). */
char *ret_group_key(const struct ret_snap *s, unsigned by);
/* ret_apply(v, n, p, by, now_ns, out): group v[0..n) by `by`, apply p to
 * each group and fill out[i] for v[i].  Groups are numbered in the order
 * of their keys.  Within a group, newest first: keep-last keeps the
 * newest N; each calendar rule keeps the newest snapshot of each of the
 * newest N hours/days/ISO weeks/months/years that hold one; keep-within
 * keeps those newer than the group's latest (not in the future) minus
 * the duration, and everything in the future; keep-tag those with the
 * tags.  Rules are OR'ed.  Returns the number of groups. */
size_t ret_apply(const struct ret_snap *v, size_t n, const struct ret_policy *p,
    unsigned by, int64_t now_ns, struct ret_result *out);
/* ret_bucket(rule, time_ns): the calendar bucket of a time (local time):
 * e.g. 2021010315 hourly, 202053 weekly (ISO year and week). */
int64_t ret_bucket(enum ret_rule rule, int64_t time_ns);
/* ret_reason_text(p, bit, buf, n): "daily snapshot", "oldest weekly
 * snapshot", "within 1y2m", "has tags" for one reason bit. */
void ret_reason_text(const struct ret_policy *p, unsigned bit, char *buf, size_t n);

/* ---- forget, diff, find, stats, dump (forget.c, diff.c, find.c,
 * stats.c, dump.c) ---- */
struct forget_opts {
	struct ret_policy policy;
	unsigned group_by;		/* GROUP_* bits */
	char **hosts;			/* --host: only these hosts */
	size_t n_hosts;
	char **tags;			/* --tag: only snapshots with one of these */
	size_t n_tags;
	char **ids;			/* explicit snapshots; the policy is not used */
	size_t n_ids;
	int dry_run;
	int json;
	const char *cache_dir;		/* where the witness lives (NULL: default) */
};
/* engine_forget(r, o, &removed): owner only.  Remove the snapshots given
 * by ID, or those the policy does not keep (per group, printing what is
 * kept and why, and what is removed).  Refuses an empty policy and a
 * policy that would remove every snapshot of a group.  Rejected
 * snapshots are never touched by a policy (remove them by ID).  Only
 * the snapshot objects go; their data stays until prune.  *removed: how
 * many were (or, with dry_run, would be) removed.  0, or -1 after a
 * message. */
int engine_forget(struct repo *r, const struct forget_opts *o, size_t *removed);

struct diff_opts {
	int json;			/* one JSON object per line */
};
/* engine_diff(r, a, b, o): what changed from snapshot a to b: "+" added,
 * "-" removed, "M" content changed, "T" type changed, "U" metadata only
 * (mode, owner, mtime, xattrs; not atime or ctime), then counts.
 * Subtrees with equal IDs are skipped unread.  0, or -1 if a tree could
 * not be read (named on stderr). */
int engine_diff(struct repo *r, const struct snap_item *a, const struct snap_item *b,
    const struct diff_opts *o);

struct find_opts {
	char **patterns;		/* fnmatch; any may match */
	size_t n_patterns;
	int full_path;			/* match the whole path, not the name */
	int json;
};
/* engine_find(r, snaps, n, o): every entry of the n snapshots whose name
 * (or path) matches: snapshot, path, size, mtime.  0, or -1 if a tree
 * could not be read. */
int engine_find(struct repo *r, const struct snap_item *const *snaps, size_t n,
    const struct find_opts *o);

struct stats_opts {
	int json;
};
/* engine_stats(r, snaps, n, o): restore size and file count of the n
 * snapshots, the unique blobs they reference with their raw and stored
 * sizes (dedup and compression ratios), and the size of the store by
 * object kind.  The index must be loaded.  0, or -1. */
int engine_stats(struct repo *r, const struct snap_item *const *snaps, size_t n,
    const struct stats_opts *o);

/* engine_dump(r, snap, path): a file's content, or a directory (or "/")
 * as a POSIX tar (pax for long names and large values; hardlinks as
 * hardlinks) to stdout.  Damaged data is named on stderr and written as
 * zeros so the archive stays well-formed.  0, or -1. */
int engine_dump(struct repo *r, const struct snap_item *snap, const char *path);

#endif
