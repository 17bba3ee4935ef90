/* util: memory, messages, hex, small helpers.  Depends on nothing but libc. */
#ifndef TWOFOLD_UTIL_H
#define TWOFOLD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define TWOFOLD_VERSION "0.1.0"

/* Exit codes, documented in README.md. */
#define EXIT_FATAL 1
#define EXIT_PARTIAL 3     /* backup finished, some sources unreadable */
#define EXIT_INTEGRITY 10  /* check found damaged or missing objects */
#define EXIT_ROLLBACK 11   /* a copy hides or rolled back snapshots */
#define EXIT_LAG 12        /* done, but a copy lacks objects: run sync */
#define EXIT_ACCESS 13     /* a backup host holds a credential that can delete */

/* Verbosity: 0 quiet, 1 normal, 2 verbose.  Set by the CLI. */
extern int util_verbosity;

/* warnx(fmt, ...): print "twofold: MESSAGE\n" to stderr. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* errmsg_errno(fmt, ...): the same, followed by ": strerror(errno)". */
void errmsg_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* info(level, fmt, ...): print to stderr when util_verbosity >= level. */
void info(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* xmalloc(n) / xcalloc(n, m) / xrealloc(p, n): allocate or abort with a
 * message; xcalloc and xreallocarray check n*m for overflow. */
void *xmalloc(size_t n);
/* xmalloc_aligned(align, n): n bytes at a multiple of align (a power of
 * two, at least sizeof(void *)); free() releases them. */
void *xmalloc_aligned(size_t align, size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t m);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t n);
/* xasprintf(fmt, ...): a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* hex_encode(in, n, out): write 2n lowercase hex digits and a NUL to out
 * (which holds 2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* hex_decode(s, out, n): parse exactly 2n hex digits of s into out.
 * Returns 0, or -1 if s is not exactly that. */
int hex_decode(const char *s, uint8_t *out, size_t n);

/* parse_u64(s, &v): strict decimal parse; -1 on junk or overflow. */
int parse_u64(const char *s, uint64_t *v);

/* now_ns(): wall-clock time in nanoseconds since the epoch. */
int64_t now_ns(void);
/* mono_sec(): monotonic seconds, for rates and ETAs. */
double mono_sec(void);

/* fmt_bytes(n, buf, size): "1.23 MiB" style. Returns buf. */
char *fmt_bytes(uint64_t n, char *buf, size_t size);

/* Little-endian integer access. */
static inline void le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}
static inline void le64_put(uint8_t *p, uint64_t v)
{
	le32_put(p, (uint32_t)v); le32_put(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

#endif
