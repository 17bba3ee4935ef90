#include "util/codec.h"

#include <string.h>

#include "util/util.h"

void enc_u8(struct buf *b, uint8_t v)
{
	buf_append(b, &v, 1);
}

void enc_u16(struct buf *b, uint16_t v)
{
	uint8_t t[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	buf_append(b, t, 2);
}

void enc_u32(struct buf *b, uint32_t v)
{
	uint8_t t[4];

	le32_put(t, v);
	buf_append(b, t, 4);
}

void enc_u64(struct buf *b, uint64_t v)
{
	uint8_t t[8];

	le64_put(t, v);
	buf_append(b, t, 8);
}

void enc_i64(struct buf *b, int64_t v)
{
	enc_u64(b, (uint64_t)v);
}

void enc_raw(struct buf *b, const void *p, size_t n)
{
	buf_append(b, p, n);
}

void enc_bytes(struct buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->overflow = 1;
		return;
	}
	enc_u32(b, (uint32_t)n);
	buf_append(b, p, n);
}

void enc_str(struct buf *b, const char *s)
{
	enc_bytes(b, s, strlen(s));
}

void dec_init(struct dec *d, const void *p, size_t n)
{
	d->p = p;
	d->left = n;
	d->bad = 0;
}

static const uint8_t *take(struct dec *d, size_t n)
{
	const uint8_t *p;

	if (d->bad || n > d->left) {
		d->bad = 1;
		return NULL;
	}
	p = d->p;
	d->p += n;
	d->left -= n;
	return p;
}

uint8_t dec_u8(struct dec *d)
{
	const uint8_t *p = take(d, 1);

	return p ? p[0] : 0;
}

uint16_t dec_u16(struct dec *d)
{
	const uint8_t *p = take(d, 2);

	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t dec_u32(struct dec *d)
{
	const uint8_t *p = take(d, 4);

	return p ? le32_get(p) : 0;
}

uint64_t dec_u64(struct dec *d)
{
	const uint8_t *p = take(d, 8);

	return p ? le64_get(p) : 0;
}

int64_t dec_i64(struct dec *d)
{
	return (int64_t)dec_u64(d);
}

void dec_raw(struct dec *d, void *out, size_t n)
{
	const uint8_t *p = take(d, n);

	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

const uint8_t *dec_bytes(struct dec *d, size_t *n, size_t max)
{
	uint32_t len = dec_u32(d);
	const uint8_t *p;

	*n = 0;
	if (d->bad)
		return NULL;
	if (len > max) {
		d->bad = 1;
		return NULL;
	}
	p = take(d, len);
	if (p)
		*n = len;
	return p;
}

char *dec_str(struct dec *d, size_t max)
{
	size_t n;
	const uint8_t *p = dec_bytes(d, &n, max);
	char *s;

	if (p == NULL)
		return NULL;
	if (memchr(p, 0, n) != NULL) {
		d->bad = 1;
		return NULL;
	}
	s = xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

void dec_fail(struct dec *d)
{
	d->bad = 1;
}

int dec_ok(const struct dec *d)
{
	return !d->bad;
}

int dec_end(const struct dec *d)
{
	return !d->bad && d->left == 0;
}
