/* json: a minimal streaming JSON writer to a FILE.  Strings are bytes:
 * valid UTF-8 passes through, control characters are escaped, and bytes
 * that are not valid UTF-8 are written as \u00XX of the byte (so a name
 * that is not UTF-8 stays distinguishable).  Depends on nothing. */
#ifndef TWOFOLD_JSON_H
#define TWOFOLD_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *f;
	int depth;
	int need_comma[64];
	int after_key;
};

void json_init(struct json *j, FILE *f);
void json_begin_obj(struct json *j);
void json_end_obj(struct json *j);
void json_begin_arr(struct json *j);
void json_end_arr(struct json *j);
/* json_key(j, k): the next value belongs to key k (in an object). */
void json_key(struct json *j, const char *k);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const void *p, size_t n);
void json_hex(struct json *j, const uint8_t *p, size_t n);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_bool(struct json *j, int v);
/* json_double(j, v, prec): v with prec decimals (not NaN or infinite). */
void json_double(struct json *j, double v, int prec);
void json_null(struct json *j);
/* json_time(j, ns): RFC 3339 UTC with nanoseconds. */
void json_time(struct json *j, int64_t ns);
/* json_end(j): finish the document with a newline. */
void json_end(struct json *j);

/* Shorthands for "key": value in an object. */
void json_kstr(struct json *j, const char *k, const char *s);
void json_ku64(struct json *j, const char *k, uint64_t v);
void json_khex(struct json *j, const char *k, const uint8_t *p, size_t n);

/* fmt_time(ns, buf, n): "2026-11-23 09:30:53" in local time. */
char *fmt_time(int64_t ns, char *buf, size_t n);

#endif
