/* source_name.c: object names <-> tree paths (see source.h and
 * docs/FORMAT.md, "Cloud sources").
 *
 * An object name is any bytes but NUL; a tree name is 1..255 bytes without
 * '/' or NUL and is not "." or "..".  The name is split at every '/' into
 * segments; each segment is escaped and, when long, cut into pieces:
 *   '%', control bytes (0x01-0x1f, 0x7f)  ->  %XX (upper-case hex)
 *   the segment "." / ".."                ->  %2E / %2E%2E
 *   the empty segment ("a//b", "dir/")    ->  %-
 *   pieces of a segment longer than SRC_SEG_MAX bytes end in %+ except
 *   the last (a %XX triple is never cut)
 * and a file whose path is also a directory (objects "a" and "a/b") gets
 * "%!" appended to its last component by the caller.  Since every literal
 * '%' is escaped, the markers %- %+ %! cannot come from a name. */
#include "source/source.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static const char hexd[] = "0123456789ABCDEF";

static int must_escape(unsigned char c)
{
	return c == '%' || c < 0x20 || c == 0x7f;
}

static void push(char ***v, size_t *n, const char *p, size_t len, const char *suffix)
{
	size_t sl = suffix ? strlen(suffix) : 0;
	char *s = xmalloc(len + sl + 1);

	memcpy(s, p, len);
	if (sl)
		memcpy(s + len, suffix, sl);
	s[len + sl] = '\0';
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = s;
}

/* encode_segment(p, len, v, n): the components of one segment. */
static void encode_segment(const char *p, size_t len, char ***v, size_t *n)
{
	char *e;
	size_t el = 0, at = 0;

	if (len == 0) {
		push(v, n, "%-", 2, NULL);
		return;
	}
	if (len == 1 && p[0] == '.') {
		push(v, n, "%2E", 3, NULL);
		return;
	}
	if (len == 2 && p[0] == '.' && p[1] == '.') {
		push(v, n, "%2E%2E", 6, NULL);
		return;
	}
	e = xmalloc(3 * len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (must_escape(c)) {
			e[el++] = '%';
			e[el++] = hexd[c >> 4];
			e[el++] = hexd[c & 15];
		} else {
			e[el++] = (char)c;
		}
	}
	while (el - at > SRC_SEG_MAX) {
		size_t cut = at + SRC_SEG_MAX;

		/* the last piece at least 3 bytes: never "." or ".." */
		if (el - cut < 3)
			cut = el - 3;
		/* not inside a UTF-8 sequence (nicer names, not needed) */
		for (size_t k = 0; k < 3 && cut > at + 3 && ((unsigned char)e[cut] & 0xc0) == 0x80; k++)
			cut--;
		/* never inside %XX (every '%' in e starts one): back up to
		 * the triple's start */
		if (e[cut - 1] == '%')
			cut -= 1;
		else if (e[cut - 2] == '%')
			cut -= 2;
		push(v, n, e + at, cut - at, "%+");
		at = cut;
	}
	push(v, n, e + at, el - at, NULL);
	free(e);
}

int src_name_encode(const char *name, size_t len, char ***comps, size_t *n)
{
	size_t start = 0;

	*comps = NULL;
	*n = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '/') {
			encode_segment(name + start, i - start, comps, n);
			start = i + 1;
		}
	}
	return 0;
}

void src_comps_free(char **comps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(comps[i]);
	free(comps);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* decode_segment(p, len, out): one joined, still escaped segment. */
static int decode_segment(const char *p, size_t len, struct buf *out)
{
	if (len == 2 && p[0] == '%' && p[1] == '-')
		return 0;	/* the empty segment */
	if (len == 0)
		return -1;
	if (len == 3 && memcmp(p, "%2E", 3) == 0)
		return buf_append(out, ".", 1);
	if (len == 6 && memcmp(p, "%2E%2E", 6) == 0)
		return buf_append(out, "..", 2);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '%') {
			int hi, lo;
			unsigned char c;

			if (i + 2 >= len)
				return -1;
			hi = hexval(p[i + 1]);
			lo = hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			if (c == 0)
				return -1;
			/* only what the encoder escapes, so the encoding is
			 * unique: a second spelling would be a second name */
			if (!must_escape(c))
				return -1;
			buf_append(out, &c, 1);
			i += 2;
		} else if (must_escape((unsigned char)p[i]) || p[i] == '/') {
			return -1;
		} else {
			buf_append(out, p + i, 1);
		}
	}
	return 0;
}

int src_name_decode(const char *const *comps, size_t n, struct buf *out)
{
	struct buf seg;
	size_t start = out->len;
	int rc = -1;

	buf_init(&seg, (size_t)64 << 10);
	if (n == 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *c = comps[i];
		size_t l = strlen(c);
		int more = 0;

		if (l == 0)
			goto out;
		if (l >= 2 && c[l - 2] == '%' && c[l - 1] == '+') {
			if (i + 1 == n || l == 2)
				goto out;	/* a piece must be followed by more */
			more = 1;
			l -= 2;
		} else if (i + 1 == n && l >= 2 && c[l - 2] == '%' && c[l - 1] == '!') {
			l -= 2;
			if (l == 0)
				goto out;
		}
		if (buf_append(&seg, c, l) != 0)
			goto out;
		if (more)
			continue;
		/* "." and ".." are written escaped; a literal one is not ours */
		if ((seg.len == 1 && seg.p[0] == '.') ||
		    (seg.len == 2 && seg.p[0] == '.' && seg.p[1] == '.'))
			goto out;
		if (decode_segment((const char *)seg.p, seg.len, out) != 0)
			goto out;
		seg.len = 0;
		if (i + 1 < n)
			buf_append(out, "/", 1);
	}
	if (out->overflow)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		out->len = start;
	buf_free(&seg);
	return rc;
}
