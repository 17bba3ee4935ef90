#include "util/buf.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

uint8_t *buf_reserve(struct buf *b, size_t n)
{
	size_t want;

	if (b->overflow || n > b->max - b->len) {
		b->overflow = 1;
		return NULL;
	}
	want = b->len + n;
	if (want > b->cap || b->p == NULL) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < want)
			cap = cap > SIZE_MAX / 2 ? want : cap * 2;
		if (cap > b->max)
			cap = b->max > want ? b->max : want;
		if (cap == 0)
			cap = 1;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	return b->p + b->len;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	uint8_t *d = buf_reserve(b, n);

	if (d == NULL)
		return -1;
	if (n)
		memcpy(d, p, n);
	b->len += n;
	return 0;
}

void buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->overflow = 0;
}

void buf_wipe_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->p)
		sodium_memzero(b->p, b->cap);
	buf_free(b);
}

uint8_t *buf_steal(struct buf *b, size_t *len)
{
	uint8_t *p = b->p;

	*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}
