/* source_fetch.c: parallel, ordered downloads (see source.h).
 *
 * The objects are cut into parts of at most SRC_PART bytes (0-byte
 * objects have none).  Worker threads take parts in order while the bytes
 * taken but not yet consumed stay under the window, and GET them with
 * If-Match: ETAG (and a Range when the object has more than one part).
 * The consumer reads parts strictly in order, waiting for each; a part is
 * freed as soon as it is consumed, so memory stays under the window plus
 * one part per thread, whatever the objects' sizes. */
#include "source/source_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

enum part_state { P_WAIT = 0, P_RUN, P_OK, P_CHANGED, P_GONE, P_FAIL };

struct part {
	size_t obj;
	uint64_t off;
	size_t len;
	size_t used;		/* consumed */
	int state;
	struct buf data;
	struct src_obj props;	/* S3, first part: from the response */
};

struct src_fetch {
	struct source *s;
	struct src_obj *const *objs;
	size_t n;
	struct part *parts;
	size_t np;
	size_t next;		/* next part to take */
	size_t cur;		/* the consumer's part */
	size_t held;		/* bytes taken, not yet consumed */
	size_t window;
	int stop;
	uint64_t requests;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *th;
	int nth;
};

/* fetch_part(f, p): GET one part into p (not under the lock); returns its
 * state, which the caller publishes under the lock. */
static int fetch_part(struct src_fetch *f, struct part *p)
{
	int st;

	struct source *s = f->s;
	const struct src_obj *o = f->objs[p->obj];
	struct http_resp rs;
	struct buf rh;
	char range[80];
	struct src_hdr h[2];
	size_t nh = 0;
	int rc, whole = p->off == 0 && p->len == o->size;

	/* room for an error body too (a 503 from a proxy is retried, not
	 * taken for an overlong answer); success needs exactly p->len */
	buf_init(&p->data, p->len + 65536);
	buf_init(&rh, (size_t)1 << 20);
	h[nh++] = (struct src_hdr){ "If-Match", o->etag };
	if (!whole) {
		snprintf(range, sizeof range, "bytes=%ju-%ju", (uintmax_t)p->off,
		    (uintmax_t)(p->off + p->len - 1));
		h[nh++] = (struct src_hdr){ s->kind == SRC_AZURE ? "x-ms-range" : "Range", range };
	}
	if (s->kind == SRC_AZURE) {
		rc = src_az_request(s, "GET", o->name, NULL, 0, h, nh, NULL, 0, &p->data,
		    p->off == 0 ? &rh : NULL, &rs);
	} else {
		char *url = src_s3_object_url(s, o->name);

		rc = src_s3_request(s, "GET", url, h, nh, NULL, 0, &p->data,
		    p->off == 0 ? &rh : NULL, &rs);
		free(url);
	}
	__atomic_add_fetch(&f->requests, 1, __ATOMIC_RELAXED);
	if (rc == 0 && (rs.status == 200 || rs.status == 206) && p->data.len == p->len) {
		st = P_OK;
		if (s->kind == SRC_S3 && p->off == 0) {
			if (src_parse_headers(s->kind, (const char *)rh.p, rh.len, &p->props) != 0) {
				char *e = escape_bytes(o->name, o->name_len);

				errmsg("source %s: the response headers of %s are malformed", s->url, e);
				free(e);
				st = P_FAIL;
			}
		}
	} else if (rc == 0 && rs.status == 412) {
		st = P_CHANGED;
	} else if (rc == 0 && rs.status == 404) {
		st = P_GONE;
	} else if (rc == 0 && (rs.status == 200 || rs.status == 206)) {
		char *e = escape_bytes(o->name, o->name_len);

		errmsg("source %s: object %s: got %zu bytes at offset %ju, wanted %zu",
		    s->url, e, p->data.len, (uintmax_t)p->off, p->len);
		free(e);
		st = P_FAIL;
	} else {
		src_fail(s, rc, &rs, p->data.p, p->data.len, "read", o->name);
		st = P_FAIL;
	}
	if (st != P_OK)
		buf_free(&p->data);
	buf_free(&rh);
	return st;
}

static void *worker(void *arg)
{
	struct src_fetch *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct part *p;
		int st;

		while (!f->stop && f->next < f->np &&
		    f->held > 0 && f->held + f->parts[f->next].len > f->window)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->stop || f->next >= f->np)
			break;
		p = &f->parts[f->next++];
		p->state = P_RUN;
		f->held += p->len;
		pthread_mutex_unlock(&f->mu);
		st = fetch_part(f, p);
		pthread_mutex_lock(&f->mu);
		p->state = st;
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

struct src_fetch *src_fetch_start(struct source *s, struct src_obj *const *objs, size_t n,
    int threads, size_t window)
{
	struct src_fetch *f = xcalloc(1, sizeof *f);
	size_t cap = 0;

	f->s = s;
	f->objs = objs;
	f->n = n;
	f->window = window < SRC_PART ? SRC_PART : window;
	for (size_t i = 0; i < n; i++) {
		/* an empty S3 object still needs one GET: for its properties */
		int empty = objs[i]->size == 0 && s->kind == SRC_S3 && !objs[i]->props_known;

		for (uint64_t off = 0; off < objs[i]->size || (off == 0 && empty); off += SRC_PART) {
			struct part *p;

			if (f->np == cap) {
				cap = cap ? cap * 2 : 64;
				f->parts = xreallocarray(f->parts, cap, sizeof *f->parts);
			}
			p = &f->parts[f->np++];
			memset(p, 0, sizeof *p);
			p->obj = i;
			p->off = off;
			p->len = objs[i]->size - off < SRC_PART ? (size_t)(objs[i]->size - off) : SRC_PART;
		}
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (threads < 1)
		threads = 1;
	if (threads > 64)
		threads = 64;
	f->th = xcalloc((size_t)threads, sizeof *f->th);
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&f->th[f->nth], NULL, worker, f) != 0)
			break;
		f->nth++;
	}
	if (f->nth == 0) {
		errmsg("source %s: cannot start download threads", s->url);
		src_fetch_stop(f);
		return NULL;
	}
	return f;
}

/* release(f, p): a part is done with (locked). */
static void release(struct src_fetch *f, struct part *p)
{
	f->held -= p->len;
	buf_free(&p->data);
	src_obj_free(&p->props);
	pthread_cond_broadcast(&f->cv);
}

ssize_t src_fetch_read(struct src_fetch *f, size_t i, uint8_t *buf, size_t n)
{
	ssize_t ret;

	pthread_mutex_lock(&f->mu);
	/* skip what belongs to earlier objects (abandoned reads) */
	while (f->cur < f->np && f->parts[f->cur].obj < i) {
		struct part *p = &f->parts[f->cur];

		while (p->state == P_WAIT || p->state == P_RUN) {
			if (p->state == P_WAIT && f->next <= f->cur)
				break;	/* never taken: nothing to wait for */
			pthread_cond_wait(&f->cv, &f->mu);
		}
		if (p->state != P_WAIT)
			release(f, p);
		else if (f->next == f->cur)
			f->next++;	/* take it out of the queue */
		f->cur++;
	}
	if (f->cur >= f->np || f->parts[f->cur].obj != i) {
		pthread_mutex_unlock(&f->mu);
		return 0;
	}
	{
		struct part *p = &f->parts[f->cur];

		while (p->state == P_WAIT || p->state == P_RUN)
			pthread_cond_wait(&f->cv, &f->mu);
		if (p->state == P_CHANGED || p->state == P_GONE || p->state == P_FAIL) {
			ret = p->state == P_CHANGED ? SRC_CHANGED : p->state == P_GONE ? SRC_GONE : -1;
			pthread_mutex_unlock(&f->mu);
			return ret;
		}
		if (p->off == 0 && p->used == 0 && f->s->kind == SRC_S3) {
			/* the properties of the bytes we read */
			struct src_obj *o = f->objs[i];

			for (uint32_t k = 0; k < p->props.n_props; k++)
				src_props_add(o, p->props.props[k].name, p->props.props[k].value,
				    strlen(p->props.props[k].value));
			o->props_known = 1;
		}
		ret = (ssize_t)(p->len - p->used < n ? p->len - p->used : n);
		if (ret > 0)
			memcpy(buf, p->data.p + p->used, (size_t)ret);
		p->used += (size_t)ret;
		if (p->used == p->len) {
			release(f, p);
			f->cur++;
		}
	}
	pthread_mutex_unlock(&f->mu);
	return ret;
}

uint64_t src_fetch_requests(const struct src_fetch *f)
{
	return __atomic_load_n(&f->requests, __ATOMIC_RELAXED);
}

void src_fetch_stop(struct src_fetch *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	for (int i = 0; i < f->nth; i++)
		pthread_join(f->th[i], NULL);
	for (size_t i = 0; i < f->np; i++) {
		buf_free(&f->parts[i].data);
		src_obj_free(&f->parts[i].props);
	}
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f->th);
	free(f->parts);
	free(f);
}
