/* forget.c: remove snapshots by ID or by a retention policy (the policy
 * itself is retention.c).  Prints, per group, what is kept with the
 * rules that keep it and what is removed; then removes the snapshot
 * objects unless it is a dry run.  Data stays until prune. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/json.h"
#include "util/util.h"

struct fctx {
	struct repo *r;
	const struct forget_opts *o;
	struct snap_list l;
	const struct snap_item **items;	/* the snapshots the policy sees */
	struct ret_result *res;		/* res[i] for items[i] */
	size_t n, n_groups;
	struct json j;
};

static void join_list(char *const *v, uint32_t n, char *out, size_t size)
{
	size_t l = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < n && l < size; i++)
		l += (size_t)snprintf(out + l, size - l, "%s%s", i ? "," : "", v[i]);
}

/* reasons_text(p, why, out, size): "last snapshot, daily snapshot". */
static void reasons_text(const struct ret_policy *p, unsigned why, char *out, size_t size)
{
	char one[64];
	size_t l = 0;

	out[0] = '\0';
	for (unsigned b = 0; b < 32 && l < size; b++) {
		if (!(why & (1u << b)))
			continue;
		ret_reason_text(p, 1u << b, one, sizeof one);
		l += (size_t)snprintf(out + l, size - l, "%s%s", l ? ", " : "", one);
	}
}

static void snap_line(const struct fctx *c, const struct snap_item *it, unsigned why)
{
	char hex[2 * ID_LEN + 1], t[32], tags[128], paths[256], reasons[256] = "";

	hex_encode(it->id, ID_LEN, hex);
	if (it->status == SNAP_BAD) {
		printf("  %.8s  REJECTED: %s\n", hex, it->why);
		return;
	}
	join_list(it->s.tags, it->s.n_tags, tags, sizeof tags);
	join_list(it->s.paths, it->s.n_paths, paths, sizeof paths);
	if (why)
		reasons_text(&c->o->policy, why, reasons, sizeof reasons);
	printf("  %.8s  %-19s  %-12s  %-12s  %-*s%s%s\n", hex, fmt_time(it->s.time_ns, t, sizeof t),
	    it->s.hostname, tags, why ? 12 : 0, paths, why ? "  " : "", reasons);
}

static void snap_json(struct fctx *c, const struct snap_item *it, unsigned why)
{
	char one[64];

	json_begin_obj(&c->j);
	json_khex(&c->j, "id", it->id, ID_LEN);
	if (it->status != SNAP_BAD) {
		json_key(&c->j, "time");
		json_time(&c->j, it->s.time_ns);
	}
	if (why) {
		json_key(&c->j, "reasons");
		json_begin_arr(&c->j);
		for (unsigned b = 0; b < 32; b++) {
			if (why & (1u << b)) {
				ret_reason_text(&c->o->policy, 1u << b, one, sizeof one);
				json_str(&c->j, one);
			}
		}
		json_end_arr(&c->j);
	}
	json_end_obj(&c->j);
}

static void strlist_json(struct json *j, const char *k, char *const *v, uint32_t n)
{
	json_key(j, k);
	json_begin_arr(j);
	for (uint32_t i = 0; i < n; i++)
		json_str(j, v[i]);
	json_end_arr(j);
}

/* group_header(c, it): what the group has in common. */
static void group_header(struct fctx *c, const struct snap_item *it)
{
	unsigned by = c->o->group_by;
	char paths[512], tags[256];

	if (c->o->json) {
		if (by & GROUP_HOST)
			json_kstr(&c->j, "host", it->s.hostname);
		if (by & GROUP_PATHS)
			strlist_json(&c->j, "paths", it->s.paths, it->s.n_paths);
		if (by & GROUP_TAGS)
			strlist_json(&c->j, "tags", it->s.tags, it->s.n_tags);
		return;
	}
	join_list(it->s.paths, it->s.n_paths, paths, sizeof paths);
	join_list(it->s.tags, it->s.n_tags, tags, sizeof tags);
	printf("snapshots");
	if (by == 0)
		printf(" (all in one group)");
	if (by & GROUP_HOST)
		printf(" of host \"%s\"", it->s.hostname);
	if (by & GROUP_PATHS)
		printf("%s paths \"%s\"", by & GROUP_HOST ? "," : " of", paths);
	if (by & GROUP_TAGS)
		printf("%s tags \"%s\"", by & (GROUP_HOST | GROUP_PATHS) ? "," : " of", tags);
	printf(":\n");
}

/* print_set(c, g, keep): the kept (or removed) members of group g. */
static void print_set(struct fctx *c, size_t g, int keep)
{
	size_t count = 0;

	for (size_t i = 0; i < c->n; i++)
		count += c->res[i].group == g && !!c->res[i].reasons == keep;
	if (c->o->json) {
		json_key(&c->j, keep ? "keep" : "remove");
		json_begin_arr(&c->j);
	} else {
		printf("%s %zu snapshot%s%s\n", keep ? "keep" : "remove", count, count == 1 ? "" : "s",
		    count ? ":" : "");
	}
	/* newest first, as the rules see them */
	for (size_t i = c->n; i-- > 0;) {
		if (c->res[i].group != g || !!c->res[i].reasons != keep)
			continue;
		if (c->o->json)
			snap_json(c, c->items[i], c->res[i].reasons);
		else
			snap_line(c, c->items[i], c->res[i].reasons);
	}
	if (c->o->json)
		json_end_arr(&c->j);
}

static void fill_ret(const struct snap_item *it, struct ret_snap *s)
{
	s->time_ns = it->s.time_ns;
	s->host = it->s.hostname;
	s->paths = it->s.paths;
	s->n_paths = it->s.n_paths;
	s->tags = it->s.tags;
	s->n_tags = it->s.n_tags;
}

/* select_items(c): the good snapshots that pass --host and --tag. */
static void select_items(struct fctx *c)
{
	struct ret_snap s;

	c->items = xcalloc(c->l.n + 1, sizeof *c->items);
	for (size_t i = 0; i < c->l.n; i++) {
		if (c->l.v[i].status == SNAP_BAD)
			continue;
		fill_ret(&c->l.v[i], &s);
		if (ret_filter(&s, c->o->hosts, c->o->n_hosts, c->o->tags, c->o->n_tags))
			c->items[c->n++] = &c->l.v[i];
	}
}

/* group_kept(c, g): 0 if group g keeps a snapshot, else -1 with a
 * message naming the group by its newest member. */
static int group_kept(const struct fctx *c, size_t g)
{
	size_t kept = 0, newest = 0;
	char hex[2 * ID_LEN + 1];

	for (size_t i = 0; i < c->n; i++) {
		if (c->res[i].group == g) {
			kept += c->res[i].reasons != 0;
			newest = i;
		}
	}
	if (kept > 0)
		return 0;
	hex_encode(c->items[newest]->id, ID_LEN, hex);
	errmsg("forget: the policy would remove every snapshot of the group of %.8s "
	    "(host %s); nothing was removed.  Add a rule that keeps one (e.g. "
	    "--keep-last 1), or remove them by ID", hex, c->items[newest]->s.hostname);
	return -1;
}

/* plan_policy(c): apply the policy; -1 if it would empty a group. */
static int plan_policy(struct fctx *c)
{
	struct ret_snap *v;
	size_t bad = 0;

	select_items(c);
	for (size_t i = 0; i < c->l.n; i++)
		bad += c->l.v[i].status == SNAP_BAD;
	if (bad > 0)
		info(1, "forget: %zu rejected snapshot(s) are left alone by the policy; "
		    "remove them by ID if they should go", bad);
	v = xcalloc(c->n + 1, sizeof *v);
	for (size_t i = 0; i < c->n; i++)
		fill_ret(c->items[i], &v[i]);
	c->res = xcalloc(c->n + 1, sizeof *c->res);
	c->n_groups = ret_apply(v, c->n, &c->o->policy, c->o->group_by, now_ns(), c->res);
	free(v);
	for (size_t g = 0; g < c->n_groups; g++)
		if (group_kept(c, g) != 0)
			return -1;
	return 0;
}

/* plan_ids(c): the snapshots named on the command line (rejected ones
 * too: removing a forged snapshot is a reason to forget).  Each must
 * match exactly one snapshot. */
static int plan_ids(struct fctx *c)
{
	char hex[2 * ID_LEN + 1];

	c->items = xcalloc(c->o->n_ids + 1, sizeof *c->items);
	c->res = xcalloc(c->o->n_ids + 1, sizeof *c->res);
	c->n_groups = 1;
	for (size_t k = 0; k < c->o->n_ids; k++) {
		const char *spec = c->o->ids[k];
		size_t len = strlen(spec), matches = 0, dup = 0;

		for (size_t i = 0; i < c->l.n; i++) {
			hex_encode(c->l.v[i].id, ID_LEN, hex);
			if (len >= 4 && len <= 64 && strncmp(hex, spec, len) == 0) {
				matches++;
				c->items[c->n] = &c->l.v[i];
			}
		}
		if (matches != 1) {
			errmsg(matches ? "snapshot ID prefix %s is ambiguous: give more digits; nothing was removed"
			    : "no snapshot %s (give at least 4 hex digits; see 'twofold snapshots'); "
			    "nothing was removed", spec);
			return -1;
		}
		for (size_t i = 0; i < c->n; i++)
			dup |= c->items[i] == c->items[c->n];
		if (!dup)
			c->n++;
	}
	return 0;
}

static void print_plan(struct fctx *c)
{
	if (c->o->json) {
		json_init(&c->j, stdout);
		json_begin_obj(&c->j);
		json_key(&c->j, "dry_run");
		json_bool(&c->j, c->o->dry_run);
		json_key(&c->j, "groups");
		json_begin_arr(&c->j);
	}
	for (size_t g = 0; g < c->n_groups; g++) {
		size_t first = 0;

		while (first < c->n && c->res[first].group != g)
			first++;
		if (c->o->json) {
			json_begin_obj(&c->j);
			if (c->o->n_ids == 0 && first < c->n)
				group_header(c, c->items[first]);
		} else if (c->o->n_ids == 0 && first < c->n) {
			group_header(c, c->items[first]);
		}
		if (c->o->n_ids == 0)
			print_set(c, g, 1);
		print_set(c, g, 0);
		if (c->o->json)
			json_end_obj(&c->j);
		else
			putchar('\n');
	}
}

/* remove_planned(c, &removed): write a signed forget record naming every
 * snapshot not kept (so other hosts' witnesses take their absence for a
 * forget, not a rollback), delete them, then tell this host's witness
 * they are gone on purpose (their return would be a rollback). */
static int remove_planned(struct fctx *c, size_t *removed)
{
	char **gone = xcalloc(c->n + 1, sizeof *gone);
	uint8_t (*ids)[ID_LEN] = xcalloc(c->n + 1, ID_LEN);
	size_t n_ids = 0;
	int rc = 0;

	for (size_t i = 0; i < c->n; i++)
		if (c->res[i].reasons == 0)
			memcpy(ids[n_ids++], c->items[i]->id, ID_LEN);
	if (!c->o->dry_run && repo_record_forget(c->r, (const uint8_t (*)[ID_LEN])ids, n_ids) != 0) {
		free(ids);
		free(gone);
		return -1;
	}
	free(ids);
	for (size_t i = 0; i < c->n; i++) {
		if (c->res[i].reasons != 0)
			continue;
		if (!c->o->dry_run && repo_delete_snapshot(c->r, c->items[i]->id) != 0) {
			rc = -1;
			continue;
		}
		gone[*removed] = xmalloc(2 * ID_LEN + 1);
		hex_encode(c->items[i]->id, ID_LEN, gone[*removed]);
		++*removed;
	}
	if (!c->o->dry_run && *removed > 0 &&
	    engine_witness_forgotten(c->r, c->o->cache_dir, (const char *const *)gone, *removed) != 0) {
		errmsg("forget: could not record the removed snapshots in the witness file; "
		    "the next command may report them as rolled back");
		rc = -1;
	}
	for (size_t i = 0; i < *removed; i++)
		free(gone[i]);
	free(gone);
	return rc;
}

int engine_forget(struct repo *r, const struct forget_opts *o, size_t *removed)
{
	struct fctx c;
	int rc = -1;

	memset(&c, 0, sizeof c);
	c.r = r;
	c.o = o;
	*removed = 0;
	if (repo_need(r, CAN_OWNER, "forget snapshots") != 0)
		return -1;
	if (o->n_ids == 0 && ret_policy_empty(&o->policy)) {
		errmsg("forget: no policy given (--keep-last, --keep-daily, ..., --keep-within, "
		    "--keep-tag) and no snapshot IDs: refusing to remove anything");
		return -1;
	}
	if (repo_list_snapshots(r, &c.l) != 0)
		return -1;
	if ((o->n_ids ? plan_ids(&c) : plan_policy(&c)) != 0)
		goto out;
	print_plan(&c);
	rc = remove_planned(&c, removed);
	if (o->json) {
		json_end_arr(&c.j);
		json_ku64(&c.j, "removed", *removed);
		json_end_obj(&c.j);
		json_end(&c.j);
	} else if (o->dry_run) {
		printf("would remove %zu snapshot%s (dry run: nothing was changed)\n", *removed,
		    *removed == 1 ? "" : "s");
	} else {
		printf("removed %zu snapshot%s; run prune to free their data\n", *removed,
		    *removed == 1 ? "" : "s");
	}
out:
	free(c.items);
	free(c.res);
	snap_list_free(&c.l);
	return rc;
}
