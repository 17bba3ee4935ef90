/* retention.c: which snapshots `forget` keeps, and why (see engine.h).
 *
 * Pure functions of the snapshots' times, hosts, paths and tags, the
 * policy and the current time: no repository, so test_retention.c can
 * pin every rule against calendars.  Calendar buckets are taken in local
 * time with localtime_r; ISO weeks are computed here (Monday first, week
 * 1 holds the year's first Thursday). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "util/util.h"

static const char *const rule_names[RET_N_RULES] = {
	"last", "hourly", "daily", "weekly", "monthly", "yearly",
};

int ret_parse_duration(const char *s, struct ret_within *d)
{
	static const char units[] = "ymdh";
	unsigned *field[4] = { &d->years, &d->months, &d->days, &d->hours };
	unsigned seen = 0;

	memset(d, 0, sizeof *d);
	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		unsigned long v = 0;
		const char *u;

		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned long)(*s++ - '0');
			if (v > 1000000)
				return -1;
		}
		if (*s == '\0' || (u = strchr(units, *s)) == NULL)
			return -1;
		if (seen & (1u << (u - units)))
			return -1;
		seen |= 1u << (u - units);
		*field[u - units] = (unsigned)v;
		s++;
	}
	return 0;
}

int ret_parse_group_by(const char *s, unsigned *by)
{
	*by = 0;
	while (*s != '\0') {
		size_t l = strcspn(s, ",");

		if (l == 4 && strncmp(s, "host", 4) == 0)
			*by |= GROUP_HOST;
		else if (l == 5 && strncmp(s, "paths", 5) == 0)
			*by |= GROUP_PATHS;
		else if (l == 4 && strncmp(s, "tags", 4) == 0)
			*by |= GROUP_TAGS;
		else if (l != 0)
			return -1;
		s += l;
		if (*s == ',')
			s++;
	}
	return 0;
}

int ret_policy_empty(const struct ret_policy *p)
{
	for (int r = 0; r < RET_N_RULES; r++)
		if (p->keep[r] != 0)
			return 0;
	return !p->has_within && p->n_keep_tags == 0;
}

static int has_tag(const struct ret_snap *s, const char *t, size_t len)
{
	for (uint32_t i = 0; i < s->n_tags; i++)
		if (strlen(s->tags[i]) == len && memcmp(s->tags[i], t, len) == 0)
			return 1;
	return 0;
}

int ret_has_tags(const struct ret_snap *s, const char *spec)
{
	if (*spec == '\0')
		return s->n_tags == 0;
	while (*spec != '\0') {
		size_t l = strcspn(spec, ",");

		if (l > 0 && !has_tag(s, spec, l))
			return 0;
		spec += l;
		if (*spec == ',')
			spec++;
	}
	return 1;
}

int ret_filter(const struct ret_snap *s, char *const *hosts, size_t nh, char *const *tags, size_t nt)
{
	size_t i;

	for (i = 0; i < nh && strcmp(hosts[i], s->host) != 0; i++)
		;
	if (nh > 0 && i == nh)
		return 0;
	for (i = 0; i < nt && !ret_has_tags(s, tags[i]); i++)
		;
	return nt == 0 || i < nt;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* key_add(b, v, n): n strings as a sorted set, each "<length>:<bytes>",
 * so no two different sets give the same key. */
static void key_add(struct buf *b, char *const *v, size_t n)
{
	char **s = xcalloc(n + 1, sizeof *s);
	char num[24];

	if (n > 0)
		memcpy(s, v, n * sizeof *s);
	qsort(s, n, sizeof *s, str_cmp);
	snprintf(num, sizeof num, "%zu[", n);
	buf_append(b, num, strlen(num));
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(s[i], s[i - 1]) == 0)
			continue;
		snprintf(num, sizeof num, "%zu:", strlen(s[i]));
		buf_append(b, num, strlen(num));
		buf_append(b, s[i], strlen(s[i]));
	}
	buf_append(b, "]", 1);
	free(s);
}

char *ret_group_key(const struct ret_snap *s, unsigned by)
{
	struct buf b;
	char *host = (char *)(uintptr_t)s->host;

	buf_init(&b, SIZE_MAX);
	if (by & GROUP_HOST)
		key_add(&b, &host, 1);
	if (by & GROUP_PATHS)
		key_add(&b, s->paths, s->n_paths);
	if (by & GROUP_TAGS)
		key_add(&b, s->tags, s->n_tags);
	buf_append(&b, "", 1);
	return (char *)buf_steal(&b, &(size_t){ 0 });
}

/* weeks_in(y): 53 if ISO year y has 53 weeks (it starts on a Thursday,
 * or is a leap year starting on a Wednesday), else 52. */
static int weeks_in(long y)
{
	long p = (y + y / 4 - y / 100 + y / 400) % 7;
	long q = ((y - 1) + (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400) % 7;

	return p == 4 || q == 3 ? 53 : 52;
}

/* iso_week(tm): ISO year * 100 + ISO week. */
static int64_t iso_week(const struct tm *tm)
{
	long year = (long)tm->tm_year + 1900;
	int wday = (tm->tm_wday + 6) % 7;	/* Monday 0 */
	int week = (tm->tm_yday - wday + 10) / 7;

	if (week < 1) {
		year--;
		week = weeks_in(year);
	} else if (week > weeks_in(year)) {
		year++;
		week = 1;
	}
	return (int64_t)year * 100 + week;
}

int64_t ret_bucket(enum ret_rule rule, int64_t time_ns)
{
	time_t t = (time_t)(time_ns / 1000000000 - (time_ns % 1000000000 < 0));
	struct tm tm;
	int64_t y, m, d;

	localtime_r(&t, &tm);
	y = (int64_t)tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	d = tm.tm_mday;
	switch (rule) {
	case RET_HOURLY: return ((y * 100 + m) * 100 + d) * 100 + tm.tm_hour;
	case RET_DAILY: return (y * 100 + m) * 100 + d;
	case RET_WEEKLY: return iso_week(&tm);
	case RET_MONTHLY: return y * 100 + m;
	case RET_YEARLY: return y;
	case RET_LAST:
	case RET_N_RULES:
	default: return 0;
	}
}

/* within_bound(latest, w): latest minus the calendar duration w, in
 * local time (month arithmetic normalised like mktime: March 31 minus a
 * month is March 3 or 2). */
static int64_t within_bound(int64_t latest, const struct ret_within *w)
{
	time_t t = (time_t)(latest / 1000000000);
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_year -= (int)w->years;
	tm.tm_mon -= (int)w->months;
	tm.tm_mday -= (int)w->days;
	tm.tm_hour -= (int)w->hours;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm) * 1000000000 + latest % 1000000000;
}

struct order {
	const struct ret_snap *v;
	const struct ret_result *out;
};

/* by_group_newest(a, b, o): indexes by group, then newest first. */
static int by_group_newest(const void *a, const void *b, void *arg)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct order *o = arg;

	if (o->out[x].group != o->out[y].group)
		return o->out[x].group < o->out[y].group ? -1 : 1;
	if (o->v[x].time_ns != o->v[y].time_ns)
		return o->v[x].time_ns > o->v[y].time_ns ? -1 : 1;
	return x > y ? -1 : x < y;
}

/* apply_group(v, idx, n, p, now, out): the policy on one group, idx
 * holding its members newest first. */
static void apply_group(const struct ret_snap *v, const size_t *idx, size_t n,
    const struct ret_policy *p, int64_t now, struct ret_result *out)
{
	int left[RET_N_RULES];
	int64_t last[RET_N_RULES], bound = 0;
	int have_last[RET_N_RULES] = { 0 };
	size_t k;

	memcpy(left, p->keep, sizeof left);
	for (k = 0; k < n && v[idx[k]].time_ns > now; k++)
		;
	if (p->has_within && k < n)
		bound = within_bound(v[idx[k]].time_ns, &p->within);
	for (k = 0; k < n; k++) {
		const struct ret_snap *s = &v[idx[k]];
		unsigned why = 0;

		for (size_t t = 0; t < p->n_keep_tags; t++)
			if (ret_has_tags(s, p->keep_tags[t]))
				why |= RET_TAG;
		if (p->has_within && (s->time_ns > now || s->time_ns > bound))
			why |= RET_WITHIN;
		for (int r = 0; r < RET_N_RULES; r++) {
			int64_t b = r == RET_LAST ? (int64_t)k : ret_bucket((enum ret_rule)r, s->time_ns);

			if (left[r] == 0 || (have_last[r] && b == last[r]))
				continue;
			why |= 1u << r;
			last[r] = b;
			have_last[r] = 1;
			if (left[r] > 0)
				left[r]--;
		}
		out[idx[k]].reasons = why;
	}
	/* A rule that found fewer buckets than asked also keeps the oldest
	 * snapshot, so the earliest state survives. */
	for (int r = RET_HOURLY; r < RET_N_RULES && n > 0; r++)
		if (left[r] > 0 && !(out[idx[n - 1]].reasons & (1u << r)))
			out[idx[n - 1]].reasons |= 1u << (r + RET_OLDEST_SHIFT);
}

size_t ret_apply(const struct ret_snap *v, size_t n, const struct ret_policy *p,
    unsigned by, int64_t now_ns, struct ret_result *out)
{
	char **keys = xcalloc(n + 1, sizeof *keys), **sorted = xcalloc(n + 1, sizeof *sorted);
	size_t *idx = xcalloc(n + 1, sizeof *idx), n_groups = 0, i, start;

	for (i = 0; i < n; i++)
		sorted[i] = keys[i] = ret_group_key(&v[i], by);
	qsort(sorted, n, sizeof *sorted, str_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(sorted[i], sorted[n_groups - 1]) != 0)
			sorted[n_groups++] = sorted[i];
	for (i = 0; i < n; i++) {
		char **g = bsearch(&keys[i], sorted, n_groups, sizeof *sorted, str_cmp);

		out[i].group = (size_t)(g - sorted);
		out[i].reasons = 0;
		idx[i] = i;
	}
	qsort_r(idx, n, sizeof *idx, by_group_newest, &(struct order){ v, out });
	for (start = 0; start < n; start = i) {
		for (i = start; i < n && out[idx[i]].group == out[idx[start]].group; i++)
			;
		apply_group(v, idx + start, i - start, p, now_ns, out);
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(sorted);
	free(idx);
	return n_groups;
}

void ret_reason_text(const struct ret_policy *p, unsigned bit, char *buf, size_t n)
{
	const struct ret_within *w = &p->within;
	size_t l;

	for (int r = 0; r < RET_N_RULES; r++) {
		if (bit == 1u << r) {
			snprintf(buf, n, "%s snapshot", rule_names[r]);
			return;
		}
		if (bit == 1u << (r + RET_OLDEST_SHIFT)) {
			snprintf(buf, n, "oldest %s snapshot", rule_names[r]);
			return;
		}
	}
	if (bit == RET_TAG) {
		snprintf(buf, n, "has tags");
	} else if (bit == RET_WITHIN) {
		snprintf(buf, n, "within ");
		l = strlen(buf);
		if (w->years && l < n)
			l += (size_t)snprintf(buf + l, n - l, "%uy", w->years);
		if (w->months && l < n)
			l += (size_t)snprintf(buf + l, n - l, "%um", w->months);
		if (w->days && l < n)
			l += (size_t)snprintf(buf + l, n - l, "%ud", w->days);
		if (w->hours && l < n)
			snprintf(buf + l, n - l, "%uh", w->hours);
	} else {
		snprintf(buf, n, "?");
	}
}
