/* test_prune.c: prune's pure parts: which packs to delete, repack or
 * keep (prune_select), and the plan and wait bodies (known bytes, round
 * trips, rejected inputs). */
#include <string.h>

#include "format/format.h"
#include "repo/repo.h"
#include "tap.h"

int main(void)
{
	struct prune_plan p, q;
	struct prune_wait w, x;
	uint8_t packs[3][ID_LEN], sess[2][SESSION_ID_LEN];
	struct buf b;

	/* selection: used == 0 deletes whatever the threshold */
	OK(prune_select(1000, 0, 10) == 1, "unused pack is deleted");
	OK(prune_select(0, 0, 10) == 1, "empty pack is deleted");
	OK(prune_select(1000, 1000, 0) == 0, "fully used pack is kept, even at threshold 0");
	OK(prune_select(1000, 999, 0) == 2, "threshold 0 repacks any waste");
	OK(prune_select(1000, 900, 10) == 2, "exactly 10%% unused at 10 repacks");
	OK(prune_select(1000, 901, 10) == 0, "9.9%% unused at 10 is kept");
	OK(prune_select(1000, 1, 100) == 0, "threshold 100 never repacks a used pack");
	OK(prune_select(UINT64_C(1) << 40, UINT64_C(1) << 39, 50) == 2, "no overflow on large packs");

	/* plan body: known bytes */
	for (int i = 0; i < 3; i++)
		memset(packs[i], i + 1, ID_LEN);
	memset(&p, 0, sizeof p);
	p.created_ns = 0x0102030405060708;
	p.n_packs = 3;
	p.packs = packs;
	buf_init(&b, 4096);
	plan_encode(&p, &b);
	OK(b.len == 1 + 8 + 4 + 3 * ID_LEN && b.p[0] == 1 && b.p[1] == 0x08 && b.p[8] == 0x01 &&
	    b.p[9] == 3 && b.p[13] == 1 && b.p[13 + 32] == 2, "plan body bytes");
	OK(plan_decode(b.p, b.len, &q) == 0 && q.n_packs == 3 && q.created_ns == p.created_ns &&
	    memcmp(q.packs, packs, sizeof packs) == 0, "plan round trip");
	plan_free(&q);
	OK(plan_decode(b.p, b.len - 1, &q) != 0, "truncated plan rejected");
	memcpy(b.p + 13 + 32, b.p + 13, ID_LEN);	/* packs[1] == packs[0] */
	OK(plan_decode(b.p, b.len, &q) != 0, "plan with repeated pack rejected");
	buf_free(&b);

	/* wait body */
	memset(sess[0], 5, SESSION_ID_LEN);
	memset(sess[1], 6, SESSION_ID_LEN);
	memset(&w, 0, sizeof w);
	memcpy(w.plan, packs[2], ID_LEN);
	w.created_ns = 42;
	w.n = 2;
	w.sessions = sess;
	buf_init(&b, 4096);
	wait_encode(&w, &b);
	OK(b.len == 1 + ID_LEN + 8 + 4 + 2 * SESSION_ID_LEN, "wait body length");
	OK(wait_decode(b.p, b.len, &x) == 0 && x.n == 2 && x.created_ns == 42 &&
	    memcmp(x.plan, packs[2], ID_LEN) == 0 && memcmp(x.sessions, sess, sizeof sess) == 0,
	    "wait round trip");
	wait_free(&x);
	b.p[0] = 2;
	OK(wait_decode(b.p, b.len, &x) != 0, "unknown wait version rejected");
	b.p[0] = 1;
	b.p[1 + ID_LEN + 8] = 0xff;	/* count far beyond the bytes */
	OK(wait_decode(b.p, b.len, &x) != 0, "wait count beyond the input rejected");
	buf_free(&b);
	return tap_done();
}
