/* workq: a fixed pool of worker threads fed by a bounded queue.  The
 * backup, restore and check pipelines use it: one thread produces items,
 * every core consumes them.  Depends on util (and pthreads). */
#ifndef TWOFOLD_WORKQ_H
#define TWOFOLD_WORKQ_H

#include <stddef.h>

struct workq;

/* The work: run(ctx, item, scratch) on a worker thread; scratch is the
 * thread's own, made by scratch_new(ctx) (may be NULL) and released by
 * scratch_free (may be NULL). */
struct workq_fns {
	void (*run)(void *ctx, void *item, void *scratch);
	void *(*scratch_new)(void *ctx);
	void (*scratch_free)(void *scratch);
};

/* workq_threads(): worker threads to use: workq_override if set (the
 * CLI's --connections), else TWOFOLD_THREADS if set (1..64), else the
 * number of online cores.  Store requests run on the workers (and the
 * producing thread), so this also bounds parallel transfers. */
extern int workq_override;
int workq_threads(void);
/* workq_start(fns, ctx, nthreads, max_cost): start the workers; items
 * queued or running may cost at most max_cost together (one item is
 * always admitted).  NULL (after a message) if no thread could start. */
struct workq *workq_start(const struct workq_fns *fns, void *ctx, int nthreads, size_t max_cost);
/* workq_submit(q, item, cost): queue an item; blocks while the queue is
 * full.  The item belongs to run() from here on. */
void workq_submit(struct workq *q, void *item, size_t cost);
/* workq_wait(q): until every submitted item has run. */
void workq_wait(struct workq *q);
/* workq_stop(q): wait, stop the threads, free; NULL-safe. */
void workq_stop(struct workq *q);

#endif
