#include "util/buf.h"

#include <sodium.h>
#include <stdint.h>
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
		/* Double, but jump straight to a larger request: a buffer
		 * reserved once for a known size gets exactly that size. */
		size_t cap = b->cap > SIZE_MAX / 2 ? want : b->cap * 2;

		if (cap < want)
			cap = want;
		if (cap < 256)
			cap = 256;
		if (cap > b->max)
			cap = b->max > want ? b->max : want;
		if (cap == 0)
			cap = 1;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	return b->p + b->len;
}

uint8_t *buf_reserve_aligned(struct buf *b, size_t n, size_t align)
{
	b->len = 0;
	b->overflow = 0;
	if (n > b->max) {
		b->overflow = 1;
		return NULL;
	}
	if (b->p == NULL || b->cap < n || ((uintptr_t)b->p & (align - 1)) != 0) {
		free(b->p);
		b->p = xmalloc_aligned(align, n);
		b->cap = n;
	}
	return b->p;
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

void buf_truncate(struct buf *b, size_t n)
{
	if (n < b->len)
		b->len = n;
	b->overflow = 0;
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

/* utf8_ok(p, n): the length of a valid, printable UTF-8 sequence of two
 * bytes or more at p, or 0 (C1 controls count as not printable). */
static size_t utf8_ok(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1fu;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
		return 0;
	return len;
}

void buf_append_escaped(struct buf *b, const void *vp, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = vp;

	for (size_t i = 0; i < n;) {
		size_t l = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' ? 1 :
		    p[i] >= 0x80 ? utf8_ok(p + i, n - i) : 0;
		char e[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };

		if (l > 0) {
			buf_append(b, p + i, l);
			i += l;
		} else if (p[i] == '\\') {
			buf_append(b, "\\\\", 2);
			i++;
		} else {
			buf_append(b, e, sizeof e);
			i++;
		}
	}
}

char *escape_bytes(const void *p, size_t n)
{
	struct buf b;
	size_t len;

	buf_init(&b, SIZE_MAX);
	buf_append_escaped(&b, p, n);
	buf_append(&b, "", 1);
	return (char *)buf_steal(&b, &len);
}
