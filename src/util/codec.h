/* codec: the primitive field encoding of every twofold object (see
 * docs/FORMAT.md, "Field encoding").  Integers are little-endian fixed
 * width; byte strings are a u32 length followed by the bytes.
 *
 * Writers append to a struct buf and never fail individually: an overflow
 * is recorded in the buffer and reported once by the caller.
 * Readers check the remaining length before every field; after the first
 * failure every further read fails too, so a decoder may read all fields
 * and test dec_ok()/dec_end() once.  Depends on util, buf. */
#ifndef TWOFOLD_CODEC_H
#define TWOFOLD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

void enc_u8(struct buf *b, uint8_t v);
void enc_u16(struct buf *b, uint16_t v);
void enc_u32(struct buf *b, uint32_t v);
void enc_u64(struct buf *b, uint64_t v);
void enc_i64(struct buf *b, int64_t v);
/* enc_raw(b, p, n): n bytes, no length. */
void enc_raw(struct buf *b, const void *p, size_t n);
/* enc_bytes(b, p, n): u32 length n, then n bytes (n < 2^32). */
void enc_bytes(struct buf *b, const void *p, size_t n);
/* enc_str(b, s): enc_bytes of a NUL-terminated string (without the NUL). */
void enc_str(struct buf *b, const char *s);

struct dec {
	const uint8_t *p;
	size_t left;
	int bad;	/* set by the first read past the end or invalid value */
};

void dec_init(struct dec *d, const void *p, size_t n);
uint8_t dec_u8(struct dec *d);
uint16_t dec_u16(struct dec *d);
uint32_t dec_u32(struct dec *d);
uint64_t dec_u64(struct dec *d);
int64_t dec_i64(struct dec *d);
/* dec_raw(d, out, n): copy n bytes; zeroes out on failure. */
void dec_raw(struct dec *d, void *out, size_t n);
/* dec_bytes(d, &n, max): a length-prefixed string; returns a pointer into
 * the input (not copied) and its length, or NULL if the length passes max
 * or the input.  A zero-length string returns a non-NULL pointer. */
const uint8_t *dec_bytes(struct dec *d, size_t *n, size_t max);
/* dec_str(d, max): a length-prefixed string copied into a new NUL-terminated
 * allocation; NULL (and d->bad) if longer than max or if it holds a NUL. */
char *dec_str(struct dec *d, size_t max);
/* dec_fail(d): mark the input bad (a decoder found an invalid value). */
void dec_fail(struct dec *d);
/* dec_ok(d): 1 if no read failed so far. */
int dec_ok(const struct dec *d);
/* dec_end(d): 1 if no read failed and no bytes are left (trailing bytes
 * are an error in every twofold object). */
int dec_end(const struct dec *d);

#endif
