/* test_retention: the forget policy (src/engine/retention.c) against
 * calendars: every rule keeps exactly the documented set.  TZ=UTC, so
 * buckets are UTC days, hours, ISO weeks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "engine/engine.h"
#include "util/idset.h"

#define MAXS 16

static int64_t at(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (end == NULL || *end != '\0') {
		fprintf(stderr, "bad time in test: %s\n", s);
		exit(2);
	}
	return (int64_t)timegm(&tm) * 1000000000;
}

/* A policy case: snapshot times (all one group), the policy, "now", and
 * the kept set as a string of 0/1 in input order. */
struct pcase {
	const char *what;
	const char *times[MAXS];
	int keep[RET_N_RULES];
	const char *within;		/* NULL: none */
	const char *now;		/* NULL: far future */
	const char *want;
};

static const struct pcase cases[] = {
	{ "keep-last 3 keeps the newest three",
	  { "2024-01-01 00:00:00", "2024-01-02 00:00:00", "2024-01-03 00:00:00",
	    "2024-01-04 00:00:00", "2024-01-05 00:00:00" },
	  { 3, 0, 0, 0, 0, 0 }, NULL, NULL, "00111" },
	{ "keep-last 0 with unsorted input keeps by time, not input order",
	  { "2024-01-05 00:00:00", "2024-01-01 00:00:00", "2024-01-03 00:00:00" },
	  { 2, 0, 0, 0, 0, 0 }, NULL, NULL, "101" },
	{ "keep-hourly 2: newest in each of the two newest hours",
	  { "2024-05-01 10:05:00", "2024-05-01 10:55:00", "2024-05-01 11:10:00",
	    "2024-05-01 11:50:00", "2024-05-01 12:00:00" },
	  { 0, 2, 0, 0, 0, 0 }, NULL, NULL, "00011" },
	{ "keep-daily 3: newest per day, only days that have one",
	  { "2024-03-01 08:00:00", "2024-03-01 20:00:00", "2024-03-02 09:00:00",
	    "2024-03-04 10:00:00", "2024-03-04 11:00:00", "2024-03-05 01:00:00" },
	  { 0, 0, 3, 0, 0, 0 }, NULL, NULL, "001011" },
	{ "keep-daily 10 with 4 days: all days, and the oldest snapshot as well",
	  { "2024-03-01 08:00:00", "2024-03-01 20:00:00", "2024-03-02 09:00:00",
	    "2024-03-04 10:00:00", "2024-03-04 11:00:00", "2024-03-05 01:00:00" },
	  { 0, 0, 10, 0, 0, 0 }, NULL, NULL, "111011" },
	{ "keep-daily unlimited: one per day, no oldest",
	  { "2024-03-01 08:00:00", "2024-03-01 20:00:00", "2024-03-02 09:00:00" },
	  { 0, 0, RET_UNLIMITED, 0, 0, 0 }, NULL, NULL, "011" },
	{ "keep-daily at midnight: 23:59:59 and 00:00:00 are different days",
	  { "2024-02-28 23:59:59", "2024-02-29 00:00:00", "2024-02-29 23:59:59", "2024-03-01 00:00:00" },
	  { 0, 0, 3, 0, 0, 0 }, NULL, NULL, "1011" },
	{ "keep-weekly 3 over a year end: 2020-12-28..2021-01-03 is all ISO 2020-W53",
	  { "2020-12-28 12:00:00", "2020-12-31 12:00:00", "2021-01-03 12:00:00",
	    "2021-01-04 00:00:00", "2021-01-10 23:00:00", "2021-01-11 00:00:00" },
	  { 0, 0, 0, 3, 0, 0 }, NULL, NULL, "001011" },
	{ "keep-weekly 2: Sunday and the next Monday are different weeks",
	  { "2024-06-09 23:59:59", "2024-06-10 00:00:00" },
	  { 0, 0, 0, 2, 0, 0 }, NULL, NULL, "11" },
	{ "keep-monthly 3 over month ends and Feb 29",
	  { "2024-01-31 23:59:59", "2024-02-01 00:00:00", "2024-02-29 12:00:00",
	    "2024-03-01 00:00:00", "2024-03-31 23:59:59" },
	  { 0, 0, 0, 0, 3, 0 }, NULL, NULL, "10101" },
	{ "keep-monthly 2",
	  { "2024-01-31 23:59:59", "2024-02-01 00:00:00", "2024-02-29 12:00:00",
	    "2024-03-01 00:00:00", "2024-03-31 23:59:59" },
	  { 0, 0, 0, 0, 2, 0 }, NULL, NULL, "00101" },
	{ "keep-yearly 2 over New Year's Eve",
	  { "2019-12-31 23:59:59", "2020-01-01 00:00:00", "2020-06-01 00:00:00", "2021-01-01 00:00:00" },
	  { 0, 0, 0, 0, 0, 2 }, NULL, NULL, "0011" },
	{ "keep-yearly 5 with 3 years: every year plus the oldest",
	  { "2019-12-31 23:59:59", "2019-06-01 00:00:00", "2020-06-01 00:00:00", "2021-01-01 00:00:00" },
	  { 0, 0, 0, 0, 0, 5 }, NULL, NULL, "1111" },
	{ "keep-last 1 and keep-monthly 2 are OR'ed",
	  { "2024-01-10 00:00:00", "2024-02-10 00:00:00", "2024-03-10 00:00:00", "2024-03-20 00:00:00" },
	  { 1, 0, 0, 0, 2, 0 }, NULL, NULL, "0101" },
	{ "keep-within 2h: the bound itself is outside",
	  { "2024-05-01 07:59:59", "2024-05-01 08:00:00", "2024-05-01 08:00:01", "2024-05-01 10:00:00" },
	  { 0 }, "2h", NULL, "0011" },
	{ "keep-within 1d over Feb 29",
	  { "2024-02-28 23:00:00", "2024-02-29 00:00:00", "2024-02-29 00:00:01", "2024-03-01 00:00:00" },
	  { 0 }, "1d", NULL, "0011" },
	{ "keep-within 1m from March 31 reaches back to March 2 (Feb 31 normalised)",
	  { "2024-03-01 12:00:00", "2024-03-02 12:00:00", "2024-03-02 12:00:01", "2024-03-31 12:00:00" },
	  { 0 }, "1m", NULL, "0011" },
	{ "keep-within 1y from 2024-02-29 reaches back to 2023-03-01",
	  { "2023-02-28 00:00:00", "2023-03-01 00:00:00", "2023-03-01 00:00:01", "2024-02-29 00:00:00" },
	  { 0 }, "1y", NULL, "0011" },
	{ "keep-within 1y2m3d4h from 2024-03-02 00:00 reaches back to 2022-12-29 20:00",
	  { "2022-12-29 19:59:59", "2022-12-29 20:00:00", "2022-12-29 20:00:01", "2024-03-02 00:00:00" },
	  { 0 }, "1y2m3d4h", NULL, "0011" },
	{ "keep-within counts from the newest snapshot not in the future; future ones stay",
	  { "2024-03-01 00:00:00", "2024-03-04 00:00:00", "2024-03-05 00:00:00", "2024-04-01 00:00:00" },
	  { 0 }, "2d", "2024-03-10 00:00:00", "0111" },
};

static void run_case(const struct pcase *c)
{
	struct ret_snap v[MAXS];
	struct ret_result out[MAXS];
	struct ret_policy p;
	size_t n = 0;
	char got[MAXS + 1];
	int64_t now = c->now ? at(c->now) : at("2100-01-01 00:00:00");

	memset(&p, 0, sizeof p);
	memcpy(p.keep, c->keep, sizeof p.keep);
	if (c->within) {
		p.has_within = 1;
		if (ret_parse_duration(c->within, &p.within) != 0)
			OK(0, "parse %s", c->within);
	}
	memset(v, 0, sizeof v);
	while (n < MAXS && c->times[n]) {
		v[n].time_ns = at(c->times[n]);
		v[n].host = "h";
		n++;
	}
	OK(ret_apply(v, n, &p, GROUP_HOST | GROUP_PATHS, now, out) == 1, "%s: one group", c->what);
	for (size_t i = 0; i < n; i++)
		got[i] = out[i].reasons ? '1' : '0';
	got[n] = '\0';
	OK(strcmp(got, c->want) == 0, "%s: kept %s (want %s)", c->what, got, c->want);
}

static void test_reasons(void)
{
	struct ret_snap v[3];
	struct ret_result out[3];
	struct ret_policy p;
	char t[64];

	memset(v, 0, sizeof v);
	memset(&p, 0, sizeof p);
	v[0].time_ns = at("2024-03-01 08:00:00");
	v[1].time_ns = at("2024-03-01 20:00:00");
	v[2].time_ns = at("2024-03-02 09:00:00");
	v[0].host = v[1].host = v[2].host = "h";
	p.keep[RET_LAST] = 1;
	p.keep[RET_DAILY] = 5;
	ret_apply(v, 3, &p, GROUP_HOST, at("2100-01-01 00:00:00"), out);
	OK(out[2].reasons == ((1u << RET_LAST) | (1u << RET_DAILY)), "newest: last and daily");
	OK(out[1].reasons == 1u << RET_DAILY, "newest of the older day: daily only");
	OK(out[0].reasons == 1u << (RET_DAILY + RET_OLDEST_SHIFT), "oldest: 'oldest daily' only");
	ret_reason_text(&p, 1u << (RET_DAILY + RET_OLDEST_SHIFT), t, sizeof t);
	OK(strcmp(t, "oldest daily snapshot") == 0, "reason text: %s", t);
	ret_reason_text(&p, 1u << RET_LAST, t, sizeof t);
	OK(strcmp(t, "last snapshot") == 0, "reason text: %s", t);
	ret_parse_duration("1y2m", &p.within);
	ret_reason_text(&p, RET_WITHIN, t, sizeof t);
	OK(strcmp(t, "within 1y2m") == 0, "reason text: %s", t);
	ret_reason_text(&p, RET_TAG, t, sizeof t);
	OK(strcmp(t, "has tags") == 0, "reason text: %s", t);
}

static void test_iso_weeks(void)
{
	static const struct { const char *t; int64_t week; } w[] = {
		{ "2020-12-31 12:00:00", 202053 }, { "2021-01-03 23:59:59", 202053 },
		{ "2021-01-04 00:00:00", 202101 }, { "2015-12-31 00:00:00", 201553 },
		{ "2016-01-03 00:00:00", 201553 }, { "2016-01-04 00:00:00", 201601 },
		{ "2019-12-30 00:00:00", 202001 }, { "2008-12-29 00:00:00", 200901 },
		{ "2010-01-03 00:00:00", 200953 }, { "2026-12-31 00:00:00", 202653 },
		{ "2027-01-01 00:00:00", 202653 }, { "2024-12-30 00:00:00", 202501 },
		{ "2024-02-29 00:00:00", 202409 }, { "2023-01-01 00:00:00", 202252 },
	};

	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		int64_t got = ret_bucket(RET_WEEKLY, at(w[i].t));

		OK(got == w[i].week, "ISO week of %s is %lld (got %lld)", w[i].t, (long long)w[i].week,
		    (long long)got);
	}
	OK(ret_bucket(RET_HOURLY, at("2024-02-29 13:59:59")) == 2024022913, "hourly bucket");
	OK(ret_bucket(RET_DAILY, at("2024-02-29 23:59:59")) == 20240229, "daily bucket");
	OK(ret_bucket(RET_MONTHLY, at("2024-02-29 23:59:59")) == 202402, "monthly bucket");
	OK(ret_bucket(RET_YEARLY, at("2024-12-31 23:59:59")) == 2024, "yearly bucket");
}

static void test_tags(void)
{
	static char a[] = "a", b[] = "b", ab[] = "a,b", empty[] = "";
	static char *t_a[] = { a }, *t_ab[] = { b, a }, *t_b[] = { b };
	struct ret_snap v[4];
	struct ret_result out[4];
	struct ret_policy p;
	char *both[] = { ab }, *either[] = { a, b }, *none[] = { empty };
	char got[5];

	memset(v, 0, sizeof v);
	for (int i = 0; i < 4; i++) {
		v[i].time_ns = at("2024-01-01 00:00:00") + i;
		v[i].host = "h";
	}
	v[0].tags = t_a, v[0].n_tags = 1;
	v[1].tags = t_ab, v[1].n_tags = 2;
	/* v[2]: untagged */
	v[3].tags = t_b, v[3].n_tags = 1;
	memset(&p, 0, sizeof p);
	p.keep_tags = both;
	p.n_keep_tags = 1;
	ret_apply(v, 4, &p, GROUP_HOST, at("2100-01-01 00:00:00"), out);
	for (int i = 0; i < 4; i++)
		got[i] = out[i].reasons == RET_TAG ? '1' : out[i].reasons ? '?' : '0';
	got[4] = '\0';
	OK(strcmp(got, "0100") == 0, "keep-tag a,b needs both tags (%s)", got);
	p.keep_tags = either;
	p.n_keep_tags = 2;
	ret_apply(v, 4, &p, GROUP_HOST, at("2100-01-01 00:00:00"), out);
	for (int i = 0; i < 4; i++)
		got[i] = out[i].reasons ? '1' : '0';
	OK(strcmp(got, "1101") == 0, "keep-tag a, keep-tag b: either (%s)", got);
	p.keep_tags = none;
	p.n_keep_tags = 1;
	ret_apply(v, 4, &p, GROUP_HOST, at("2100-01-01 00:00:00"), out);
	for (int i = 0; i < 4; i++)
		got[i] = out[i].reasons ? '1' : '0';
	OK(strcmp(got, "0010") == 0, "keep-tag '' keeps the untagged (%s)", got);
	OK(ret_filter(&v[1], NULL, 0, both, 1) && !ret_filter(&v[0], NULL, 0, both, 1),
	    "--tag a,b filters on both");
	OK(ret_filter(&v[2], NULL, 0, NULL, 0), "no filter passes everything");
}

static void test_groups(void)
{
	static char a[] = "/a", b[] = "/b", c[] = "/c", x[] = "x", h2[] = "h2";
	static char *pa[] = { a, b }, *pb[] = { b, a }, *pc[] = { c };
	static char *tx[] = { x };
	struct ret_snap v[5];
	struct ret_result out[5];
	struct ret_policy p;
	char *hosts[] = { h2 };
	size_t g;

	memset(v, 0, sizeof v);
	memset(&p, 0, sizeof p);
	p.keep[RET_LAST] = 1;
	for (int i = 0; i < 5; i++)
		v[i].time_ns = at("2024-01-01 00:00:00") + (int64_t)i * 1000000000;
	v[0].host = "h1", v[0].paths = pa, v[0].n_paths = 2;
	v[1].host = "h1", v[1].paths = pb, v[1].n_paths = 2, v[1].tags = tx, v[1].n_tags = 1;
	v[2].host = "h2", v[2].paths = pa, v[2].n_paths = 2;
	v[3].host = "h1", v[3].paths = pc, v[3].n_paths = 1;
	v[4].host = "h2", v[4].paths = pa, v[4].n_paths = 2;
	g = ret_apply(v, 5, &p, GROUP_HOST | GROUP_PATHS, at("2100-01-01 00:00:00"), out);
	OK(g == 3, "host,paths: 3 groups (paths as a set) (got %zu)", g);
	OK(out[0].group == out[1].group && out[2].group == out[4].group && out[0].group != out[3].group &&
	    out[0].group != out[2].group, "host,paths: members");
	OK(!out[0].reasons && out[1].reasons && !out[2].reasons && out[3].reasons && out[4].reasons,
	    "host,paths: keep-last 1 per group");
	g = ret_apply(v, 5, &p, GROUP_HOST, at("2100-01-01 00:00:00"), out);
	OK(g == 2 && out[3].reasons && out[4].reasons && !out[0].reasons && !out[1].reasons &&
	    !out[2].reasons, "host: newest per host");
	g = ret_apply(v, 5, &p, 0, at("2100-01-01 00:00:00"), out);
	OK(g == 1 && out[4].reasons && !out[3].reasons, "no grouping: one group");
	g = ret_apply(v, 5, &p, GROUP_TAGS, at("2100-01-01 00:00:00"), out);
	OK(g == 2 && out[1].reasons && out[4].reasons && !out[3].reasons, "tags: tagged and untagged");
	OK(ret_filter(&v[2], hosts, 1, NULL, 0) && !ret_filter(&v[0], hosts, 1, NULL, 0), "--host filters");
}

static void test_parsing(void)
{
	struct ret_within w;
	struct ret_policy p;
	unsigned by;
	static const char *bad[] = { "", "d", "1", "1x", "1d1d", "-1d", "1d ", "99999999d" };

	OK(ret_parse_duration("1y2m3d4h", &w) == 0 && w.years == 1 && w.months == 2 && w.days == 3 &&
	    w.hours == 4, "duration 1y2m3d4h");
	OK(ret_parse_duration("36h", &w) == 0 && w.hours == 36 && w.days == 0, "duration 36h");
	OK(ret_parse_duration("2d1y", &w) == 0 && w.years == 1 && w.days == 2, "units in any order");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		OK(ret_parse_duration(bad[i], &w) == -1, "duration '%s' is refused", bad[i]);
	OK(ret_parse_group_by("host,paths", &by) == 0 && by == (GROUP_HOST | GROUP_PATHS), "group-by host,paths");
	OK(ret_parse_group_by("tags", &by) == 0 && by == GROUP_TAGS, "group-by tags");
	OK(ret_parse_group_by("", &by) == 0 && by == 0, "group-by ''");
	OK(ret_parse_group_by("host,path", &by) == -1, "group-by with an unknown word is refused");
	memset(&p, 0, sizeof p);
	OK(ret_policy_empty(&p), "no rule: empty policy");
	p.keep[RET_YEARLY] = 1;
	OK(!ret_policy_empty(&p), "keep-yearly 1: not empty");
}

static void test_idset(void)
{
	struct idset s = { 0 };
	uint8_t id[32];
	size_t pos = 0, seen = 0;

	for (int i = 1; i <= 3000; i++) {
		memset(id, 0, sizeof id);
		memcpy(id, &i, sizeof i);
		id[31] = 1;
		idset_add(&s, id);
	}
	memset(id, 0, sizeof id);
	OK(idset_add(&s, id) == 0, "the zero ID is never stored");
	id[31] = 1;
	id[0] = 5;
	OK(idset_add(&s, id) == 0 && idset_has(&s, id), "a member is not added twice");
	while (idset_next(&s, &pos) != NULL)
		seen++;
	OK(s.n == 3000 && seen == 3000, "3000 members, all visited (%zu)", seen);
	idset_free(&s);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i]);
	test_reasons();
	test_iso_weeks();
	test_tags();
	test_groups();
	test_parsing();
	test_idset();
	return tap_done();
}
