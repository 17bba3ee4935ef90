/* test_workq: every item runs once, on a worker, with its own scratch;
 * the cost bound holds; wait really waits. */
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "util/workq.h"

struct ctx {
	long sum;
	int running, max_running;
	int scratch_made;
};

static void run(void *c_, void *item, void *scratch)
{
	struct ctx *c = c_;
	int now = __atomic_add_fetch(&c->running, 1, __ATOMIC_SEQ_CST);
	int seen = __atomic_load_n(&c->max_running, __ATOMIC_SEQ_CST);

	while (now > seen && !__atomic_compare_exchange_n(&c->max_running, &seen, now, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	if (*(int *)scratch != 42)
		abort();
	if ((long)(intptr_t)item % 97 == 0)
		usleep(100);
	__atomic_add_fetch(&c->sum, (long)(intptr_t)item, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&c->running, 1, __ATOMIC_SEQ_CST);
}

static void *mk(void *c_)
{
	struct ctx *c = c_;
	int *p = malloc(sizeof *p);

	*p = 42;
	__atomic_add_fetch(&c->scratch_made, 1, __ATOMIC_SEQ_CST);
	return p;
}

int main(void)
{
	static const struct workq_fns fns = { run, mk, free };
	struct ctx c = { 0, 0, 0, 0 };
	struct workq *q = workq_start(&fns, &c, 3, 2);
	long want = 0;

	OK(q != NULL, "three workers start");
	for (long i = 1; i <= 20000; i++) {
		workq_submit(q, (void *)(intptr_t)i, 1);
		want += i;
	}
	workq_wait(q);
	OK(__atomic_load_n(&c.sum, __ATOMIC_SEQ_CST) == want, "every item ran exactly once before wait returned");
	OK(c.max_running <= 2, "at most max_cost items in flight (saw %d)", c.max_running);
	workq_submit(q, (void *)(intptr_t)5, 100);
	workq_wait(q);
	OK(c.sum == want + 5, "an item costing more than the bound is still admitted");
	workq_stop(q);
	OK(c.scratch_made == 3, "one scratch per worker (%d)", c.scratch_made);
	workq_stop(NULL);
	OK(1, "workq_stop(NULL) is harmless");
	return tap_done();
}
