#include "util/workq.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/util.h"

#define MAX_THREADS 64

struct witem {
	void *item;
	size_t cost;
	struct witem *next;
};

struct workq {
	struct workq_fns fns;
	void *ctx;
	pthread_mutex_t mu;
	pthread_cond_t work, space, idle;
	struct witem *head, *tail;
	size_t cost, max_cost;	/* of items queued or running */
	size_t inflight;
	int stop;
	pthread_t th[MAX_THREADS];
	int nth;
};

int workq_override;

int workq_threads(void)
{
	const char *env = getenv("TWOFOLD_THREADS");
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t want;

	if (workq_override > 0)
		return workq_override > MAX_THREADS ? MAX_THREADS : workq_override;
	if (env && parse_u64(env, &want) == 0 && want >= 1)
		n = want > MAX_THREADS ? MAX_THREADS : (long)want;
	if (n < 1)
		n = 1;
	return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static void *worker(void *arg)
{
	struct workq *q = arg;
	void *scratch = q->fns.scratch_new ? q->fns.scratch_new(q->ctx) : NULL;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct witem *w;

		while (q->head == NULL && !q->stop)
			pthread_cond_wait(&q->work, &q->mu);
		if (q->head == NULL)
			break;
		w = q->head;
		q->head = w->next;
		if (q->head == NULL)
			q->tail = NULL;
		pthread_mutex_unlock(&q->mu);
		q->fns.run(q->ctx, w->item, scratch);
		pthread_mutex_lock(&q->mu);
		q->cost -= w->cost;
		q->inflight--;
		free(w);
		pthread_cond_signal(&q->space);
		if (q->inflight == 0)
			pthread_cond_broadcast(&q->idle);
	}
	pthread_mutex_unlock(&q->mu);
	if (q->fns.scratch_free)
		q->fns.scratch_free(scratch);
	return NULL;
}

struct workq *workq_start(const struct workq_fns *fns, void *ctx, int nthreads, size_t max_cost)
{
	struct workq *q = xcalloc(1, sizeof *q);

	q->fns = *fns;
	q->ctx = ctx;
	q->max_cost = max_cost;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->space, NULL);
	pthread_cond_init(&q->idle, NULL);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&q->th[q->nth], NULL, worker, q) == 0)
			q->nth++;
	if (q->nth == 0) {
		errmsg("cannot start worker threads");
		workq_stop(q);
		return NULL;
	}
	return q;
}

void workq_submit(struct workq *q, void *item, size_t cost)
{
	struct witem *w = xcalloc(1, sizeof *w);

	w->item = item;
	w->cost = cost;
	pthread_mutex_lock(&q->mu);
	while (q->inflight > 0 && q->cost + cost > q->max_cost)
		pthread_cond_wait(&q->space, &q->mu);
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	q->cost += cost;
	q->inflight++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
}

void workq_wait(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->inflight > 0)
		pthread_cond_wait(&q->idle, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

void workq_stop(struct workq *q)
{
	if (q == NULL)
		return;
	workq_wait(q);
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nth; i++)
		pthread_join(q->th[i], NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->space);
	pthread_cond_destroy(&q->idle);
	free(q);
}
