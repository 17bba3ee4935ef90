/* buf: a growable byte buffer with a hard maximum size.  Depends on util. */
#ifndef TWOFOLD_BUF_H
#define TWOFOLD_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max;	/* growing past max is an error, not a realloc */
	int overflow;	/* set once an append would pass max */
};

/* buf_init(b, max): an empty buffer that may grow to max bytes. */
void buf_init(struct buf *b, size_t max);
/* buf_reserve(b, n): make room for n more bytes.  Returns a pointer to the
 * free space, or NULL (and sets b->overflow) if len+n would pass max. */
uint8_t *buf_reserve(struct buf *b, size_t n);
/* buf_reserve_aligned(b, n, align): make an emptied buffer hold n bytes
 * at a multiple of align; its memory is kept when it already does.  Returns
 * b->p, or NULL (and sets b->overflow) if n would pass max. */
uint8_t *buf_reserve_aligned(struct buf *b, size_t n, size_t align);
/* buf_append(b, p, n): append n bytes; -1 past max. */
int buf_append(struct buf *b, const void *p, size_t n);
/* buf_truncate(b, n): keep the first n <= len bytes, memory and all, and
 * clear the overflow flag: the buffer is reused from there. */
void buf_truncate(struct buf *b, size_t n);
/* buf_free(b): release memory; b is empty afterwards.  NULL-safe. */
void buf_free(struct buf *b);
/* buf_wipe_free(b): zero the contents (sodium_memzero), then free. */
void buf_wipe_free(struct buf *b);
/* buf_steal(b, &len): hand the bytes to the caller, leave b empty. */
uint8_t *buf_steal(struct buf *b, size_t *len);

/* buf_append_escaped(b, p, n): bytes as printable text, for messages and
 * listings: control bytes, bytes that are not valid printable UTF-8 and
 * backslashes become \xNN and \\. */
void buf_append_escaped(struct buf *b, const void *p, size_t n);
/* escape_bytes(p, n): the same as a new NUL-terminated string. */
char *escape_bytes(const void *p, size_t n);

#endif
