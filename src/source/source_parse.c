/* source_parse.c: the answers of the services, parsed with bounds checks
 * everywhere (fuzzed by tests/fuzz/fuzz_source_*.c): List Blobs pages with
 * metadata, ListObjectsV2 pages, response headers, HTTP and ISO dates.
 *
 * The XML reader understands exactly what these answers use: elements
 * with optional attributes, text with the five named entities and
 * numeric character references, self-closing elements; no CDATA, no
 * comments inside the parts read. */
#include "source/source_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/util.h"

/* ---- properties ---- */

int src_props_add(struct src_obj *o, const char *name, const char *value, size_t vlen)
{
	uint32_t i;

	if (vlen > SRC_PROP_MAX || strlen(name) > 255 || memchr(value, '\0', vlen) != NULL)
		return -1;
	for (i = 0; i < o->n_props; i++) {
		int c = strcmp(o->props[i].name, name);

		if (c == 0) {
			free(o->props[i].value);
			o->props[i].value = xmalloc(vlen + 1);
			memcpy(o->props[i].value, value, vlen);
			o->props[i].value[vlen] = '\0';
			return 0;
		}
		if (c > 0)
			break;
	}
	if (o->n_props >= SRC_PROPS_MAX)
		return -1;
	o->props = xreallocarray(o->props, o->n_props + 1, sizeof *o->props);
	memmove(o->props + i + 1, o->props + i, (o->n_props - i) * sizeof *o->props);
	o->props[i].name = xstrdup(name);
	o->props[i].value = xmalloc(vlen + 1);
	memcpy(o->props[i].value, value, vlen);
	o->props[i].value[vlen] = '\0';
	o->n_props++;
	return 0;
}

void src_obj_free(struct src_obj *o)
{
	if (o == NULL)
		return;
	free(o->name);
	for (uint32_t i = 0; i < o->n_props; i++) {
		free(o->props[i].name);
		free(o->props[i].value);
	}
	free(o->props);
	memset(o, 0, sizeof *o);
}

void src_objs_free(struct src_obj *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		src_obj_free(&v[i]);
	free(v);
}

/* set_etag(o, p, n): the ETag, quoted if it is not already. */
static int set_etag(struct src_obj *o, const char *p, size_t n)
{
	if (n == 0 || n + 3 > sizeof o->etag || memchr(p, '"', n) != NULL ||
	    memchr(p, '\n', n) != NULL || memchr(p, '\r', n) != NULL) {
		if (n >= 2 && p[0] == '"' && p[n - 1] == '"' && n < sizeof o->etag &&
		    memchr(p + 1, '"', n - 2) == NULL && memchr(p, '\n', n) == NULL &&
		    memchr(p, '\r', n) == NULL) {
			memcpy(o->etag, p, n);
			o->etag[n] = '\0';
			return src_props_add(o, SRC_X_ETAG, o->etag, n);
		}
		return -1;
	}
	o->etag[0] = '"';
	memcpy(o->etag + 1, p, n);
	o->etag[n + 1] = '"';
	o->etag[n + 2] = '\0';
	return src_props_add(o, SRC_X_ETAG, o->etag, n + 2);
}

/* ---- dates ---- */

static int month_of(const char *m)
{
	static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

	for (int i = 0; i < 12; i++)
		if (strncmp(m, mons[i], 3) == 0)
			return i;
	return -1;
}

/* num(p, k, &v): exactly k digits. */
static int num(const char *p, int k, int *v)
{
	*v = 0;
	for (int i = 0; i < k; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

int src_parse_time(const char *s, int64_t *ns)
{
	struct tm tm;
	int y, mo, d, h, mi, se, frac = 0;
	size_t n = strlen(s);
	time_t t;

	memset(&tm, 0, sizeof tm);
	if (n == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' && s[11] == ' ' &&
	    s[16] == ' ' && s[19] == ':' && s[22] == ':' && strcmp(s + 25, " GMT") == 0) {
		/* Mon, 23 Nov 2026 13:01:22 GMT */
		if (num(s + 5, 2, &d) || (mo = month_of(s + 8)) < 0 || num(s + 12, 4, &y) ||
		    num(s + 17, 2, &h) || num(s + 20, 2, &mi) || num(s + 23, 2, &se))
			return -1;
	} else if (n >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
	    s[16] == ':' && s[n - 1] == 'Z') {
		/* 2026-11-23T13:01:22[.123[456[789]]]Z */
		if (num(s, 4, &y) || num(s + 5, 2, &mo) || num(s + 8, 2, &d) ||
		    num(s + 11, 2, &h) || num(s + 14, 2, &mi) || num(s + 17, 2, &se))
			return -1;
		mo -= 1;
		if (n > 20) {
			size_t k = n - 21;

			if (s[19] != '.' || k < 1 || k > 9)
				return -1;
			if (num(s + 20, (int)k, &frac))
				return -1;
			for (size_t z = k; z < 9; z++)
				frac *= 10;
		} else if (n != 20) {
			return -1;
		}
	} else {
		return -1;
	}
	if (y < 1970 || y > 9999 || mo < 0 || mo > 11 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

/* ---- a small XML reader ---- */

struct elem {
	const char *name;	/* the tag name */
	size_t nlen;
	const char *attrs;	/* what follows the name inside the tag */
	size_t alen;
	const char *body;	/* between the tags; NULL if self-closing */
	size_t blen;
	const char *end;	/* just past the element */
};

/* next_elem(p, e, &el): the next element starting at or after p (in the
 * same parent), skipping text, <?...?> and <!...>.  Its body is found
 * by the first matching close tag (the answers read here do not nest an
 * element inside one of the same name).  1 found, 0 none (a close tag or
 * the end came first), -1 malformed. */
static int next_elem(const char *p, const char *e, struct elem *el)
{
	for (;;) {
		const char *lt = memchr(p, '<', (size_t)(e - p)), *gt, *q;

		if (lt == NULL || lt + 1 >= e)
			return 0;
		if (lt[1] == '/')
			return 0;
		gt = memchr(lt, '>', (size_t)(e - lt));
		if (gt == NULL)
			return -1;
		if (lt[1] == '?' || lt[1] == '!') {
			p = gt + 1;
			continue;
		}
		q = lt + 1;
		while (q < gt && !isspace((unsigned char)*q) && *q != '/')
			q++;
		el->name = lt + 1;
		el->nlen = (size_t)(q - el->name);
		if (el->nlen == 0)
			return -1;
		el->attrs = q;
		el->alen = (size_t)(gt - q);
		if (gt[-1] == '/') {
			el->alen = el->alen ? el->alen - 1 : 0;
			el->body = NULL;
			el->blen = 0;
			el->end = gt + 1;
			return 1;
		}
		/* find </name> */
		for (const char *s = gt + 1; s + el->nlen + 3 <= e; s++) {
			s = memchr(s, '<', (size_t)(e - s));
			if (s == NULL || s + el->nlen + 3 > e)
				break;
			if (s[1] == '/' && memcmp(s + 2, el->name, el->nlen) == 0 &&
			    s[2 + el->nlen] == '>') {
				el->body = gt + 1;
				el->blen = (size_t)(s - el->body);
				el->end = s + el->nlen + 3;
				return 1;
			}
		}
		return -1;
	}
}

static int is(const struct elem *el, const char *name)
{
	return el->nlen == strlen(name) && memcmp(el->name, name, el->nlen) == 0;
}

void src_utf8_put(struct buf *out, unsigned long cp)
{
	uint8_t u[4];
	size_t ul;

	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		ul = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		ul = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | cp >> 12);
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		ul = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | cp >> 18);
		u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		ul = 4;
	}
	buf_append(out, u, ul);
}

/* text(el, out): the decoded text of an element without child elements
 * (entities and character references decoded).  0, or -1. */
static int text(const struct elem *el, struct buf *out)
{
	const char *p = el->body, *e = el->body + el->blen;

	out->len = 0;
	if (p == NULL) {
		/* self-closing: empty, NUL-terminated, not counted */
		if (buf_append(out, "", 1) != 0)
			return -1;
		out->len = 0;
		return 0;
	}
	while (p < e) {
		if (*p == '<')
			return -1;
		if (*p == '&') {
			static const struct { const char *s; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
				{ "&quot;", '"' }, { "&apos;", '\'' },
			};
			const char *semi = memchr(p, ';', (size_t)(e - p) < 12 ? (size_t)(e - p) : 12);
			size_t k;

			if (semi == NULL)
				return -1;
			for (k = 0; k < sizeof ents / sizeof ents[0]; k++)
				if ((size_t)(semi + 1 - p) == strlen(ents[k].s) &&
				    memcmp(p, ents[k].s, strlen(ents[k].s)) == 0)
					break;
			if (k < sizeof ents / sizeof ents[0]) {
				buf_append(out, &ents[k].c, 1);
			} else if (p[1] == '#') {
				unsigned long cp = 0;
				const char *d = p + 2;
				int hex = d < semi && (*d == 'x' || *d == 'X');

				if (hex)
					d++;
				if (d == semi)
					return -1;
				for (; d < semi; d++) {
					int v = hex ? (isxdigit((unsigned char)*d) ?
					    (isdigit((unsigned char)*d) ? *d - '0' : (tolower((unsigned char)*d) - 'a' + 10)) : -1) :
					    (isdigit((unsigned char)*d) ? *d - '0' : -1);

					if (v < 0 || cp > 0x10ffff)
						return -1;
					cp = cp * (hex ? 16 : 10) + (unsigned long)v;
				}
				if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
					return -1;
				src_utf8_put(out, cp);
			} else {
				return -1;
			}
			p = semi + 1;
		} else {
			buf_append(out, p, 1);
			p++;
		}
	}
	if (buf_append(out, "", 1) != 0 || out->overflow)
		return -1;
	out->len--;	/* NUL-terminated, not counted */
	return 0;
}

/* pct_decode(b): %XX in place (Azure's <Name Encoded="true">). */
static int pct_decode(struct buf *b)
{
	size_t o = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (b->p[i] == '%') {
			char h[3];
			char *end;

			if (i + 2 >= b->len || !isxdigit(b->p[i + 1]) || !isxdigit(b->p[i + 2]))
				return -1;
			h[0] = (char)b->p[i + 1];
			h[1] = (char)b->p[i + 2];
			h[2] = 0;
			b->p[o++] = (uint8_t)strtoul(h, &end, 16);
			i += 2;
		} else {
			b->p[o++] = b->p[i];
		}
	}
	b->len = o;
	b->p[o] = 0;
	return 0;
}

static int set_name(struct src_obj *o, const struct buf *t)
{
	if (t->len == 0 || t->len > SRC_NAME_MAX || memchr(t->p, '\0', t->len) != NULL)
		return -1;
	o->name = xmemdup(t->p, t->len + 1);
	o->name[t->len] = '\0';
	o->name_len = t->len;
	return 0;
}

static int parse_u64n(const struct buf *t, uint64_t *v)
{
	return t->len == 0 || t->len > 20 ? -1 : parse_u64((const char *)t->p, v);
}

/* lower_dash(name, n, out, on): "Content-Type" -> "content-type". */
static void lower(const char *p, size_t n, char *out, size_t on)
{
	size_t k = 0;

	for (; k < n && k + 1 < on; k++)
		out[k] = (char)tolower((unsigned char)p[k]);
	out[k] = '\0';
}

/* The properties kept, by their name in List Blobs and in headers. */
static const char *const prop_names[] = {
	"Content-Type", "Content-Encoding", "Content-Language", "Cache-Control",
	"Content-Disposition", "Content-MD5",
};

static int azure_blob(const struct elem *blob, struct buf *t, struct src_obj *o)
{
	const char *p = blob->body, *e = blob->body ? blob->body + blob->blen : NULL;
	struct elem el;
	int r, have_size = 0, have_mtime = 0, have_etag = 0;

	if (p == NULL)
		return -1;
	while ((r = next_elem(p, e, &el)) == 1) {
		p = el.end;
		if (is(&el, "Name")) {
			if (o->name || text(&el, t) != 0)
				return -1;
			if (el.alen && memmem(el.attrs, el.alen, "Encoded=\"true\"", 14) && pct_decode(t))
				return -1;
			if (set_name(o, t) != 0)
				return -1;
		} else if (is(&el, "Properties")) {
			const char *q = el.body, *qe = el.body ? el.body + el.blen : NULL;
			struct elem pr;
			int r2;

			if (q == NULL)
				continue;
			while ((r2 = next_elem(q, qe, &pr)) == 1) {
				char xn[96], low[64];

				q = pr.end;
				if (text(&pr, t) != 0)
					return -1;
				if (is(&pr, "Content-Length")) {
					if (parse_u64n(t, &o->size) != 0)
						return -1;
					have_size = 1;
				} else if (is(&pr, "Last-Modified")) {
					if (src_parse_time((const char *)t->p, &o->mtime_ns) != 0)
						return -1;
					have_mtime = 1;
				} else if (is(&pr, "Creation-Time")) {
					if (src_parse_time((const char *)t->p, &o->ctime_ns) != 0)
						return -1;
				} else if (is(&pr, "Etag")) {
					if (set_etag(o, (const char *)t->p, t->len) != 0)
						return -1;
					have_etag = 1;
				} else {
					for (size_t k = 0; k < sizeof prop_names / sizeof prop_names[0]; k++) {
						if (!is(&pr, prop_names[k]) || t->len == 0)
							continue;
						lower(prop_names[k], strlen(prop_names[k]), low, sizeof low);
						snprintf(xn, sizeof xn, SRC_XATTR_PREFIX "%s", low);
						if (src_props_add(o, xn, (const char *)t->p, t->len) != 0)
							return -1;
					}
				}
			}
			if (r2 < 0)
				return -1;
		} else if (is(&el, "Metadata")) {
			const char *q = el.body, *qe = el.body ? el.body + el.blen : NULL;
			struct elem md;
			int r2;

			if (q == NULL)
				continue;
			while ((r2 = next_elem(q, qe, &md)) == 1) {
				char xn[320];

				q = md.end;
				if (md.nlen > 255 || text(&md, t) != 0)
					return -1;
				snprintf(xn, sizeof xn, SRC_X_META "%.*s", (int)md.nlen, md.name);
				if (src_props_add(o, xn, (const char *)t->p, t->len) != 0)
					return -1;
			}
			if (r2 < 0)
				return -1;
		}
	}
	if (r < 0 || o->name == NULL || !have_size || !have_mtime || !have_etag)
		return -1;
	if (o->ctime_ns == 0)
		o->ctime_ns = o->mtime_ns;
	o->props_known = 1;
	return 0;
}

/* find_child(p, e, name, &el): the first child element named name. */
static int find_child(const char *p, const char *e, const char *name, struct elem *el)
{
	int r;

	while ((r = next_elem(p, e, el)) == 1) {
		if (is(el, name))
			return 1;
		p = el->end;
	}
	return r;
}

int src_parse_azure_list(const char *doc, size_t n, struct src_obj **v, size_t *nv,
    char *next, size_t nextn)
{
	const char *e = doc + n, *p;
	struct elem root, blobs, el;
	struct buf t;
	int r, ret = -1;

	next[0] = '\0';
	buf_init(&t, (size_t)64 << 10);
	if (find_child(doc, e, "EnumerationResults", &root) != 1 || root.body == NULL)
		goto out;
	p = root.body;
	e = root.body + root.blen;
	while ((r = next_elem(p, e, &el)) == 1) {
		p = el.end;
		if (is(&el, "Blobs") && el.body) {
			const char *q = el.body, *qe = el.body + el.blen;

			blobs = el;
			while ((r = next_elem(q, qe, &el)) == 1) {
				struct src_obj o;

				q = el.end;
				if (!is(&el, "Blob"))
					continue;	/* BlobPrefix: not with a delimiter */
				memset(&o, 0, sizeof o);
				if (azure_blob(&el, &t, &o) != 0) {
					src_obj_free(&o);
					goto out;
				}
				*v = xreallocarray(*v, *nv + 1, sizeof **v);
				(*v)[(*nv)++] = o;
			}
			if (r < 0)
				goto out;
			(void)blobs;
		} else if (is(&el, "NextMarker")) {
			if (text(&el, &t) != 0 || t.len + 1 > nextn)
				goto out;
			memcpy(next, t.p, t.len + 1);
		}
	}
	if (r < 0)
		goto out;
	ret = 0;
out:
	buf_free(&t);
	return ret;
}

int src_parse_s3_list(const char *doc, size_t n, struct src_obj **v, size_t *nv,
    int *truncated, char *token, size_t tokn)
{
	const char *e = doc + n, *p;
	struct elem root, el;
	struct buf t;
	int r, ret = -1;

	*truncated = 0;
	token[0] = '\0';
	buf_init(&t, (size_t)64 << 10);
	if (find_child(doc, e, "ListBucketResult", &root) != 1 || root.body == NULL)
		goto out;
	p = root.body;
	e = root.body + root.blen;
	while ((r = next_elem(p, e, &el)) == 1) {
		p = el.end;
		if (is(&el, "Contents") && el.body) {
			const char *q = el.body, *qe = el.body + el.blen;
			struct elem c;
			struct src_obj o;
			int r2, hs = 0, hm = 0, he = 0;

			memset(&o, 0, sizeof o);
			while ((r2 = next_elem(q, qe, &c)) == 1) {
				q = c.end;
				if (is(&c, "Owner") || is(&c, "RestoreStatus") || is(&c, "ChecksumAlgorithm"))
					continue;
				if (text(&c, &t) != 0)
					r2 = -1;
				else if (is(&c, "Key"))
					r2 = o.name == NULL && set_name(&o, &t) == 0 ? 1 : -1;
				else if (is(&c, "Size"))
					r2 = parse_u64n(&t, &o.size) == 0 && (hs = 1) ? 1 : -1;
				else if (is(&c, "LastModified"))
					r2 = src_parse_time((const char *)t.p, &o.mtime_ns) == 0 && (hm = 1) ? 1 : -1;
				else if (is(&c, "ETag"))
					r2 = set_etag(&o, (const char *)t.p, t.len) == 0 && (he = 1) ? 1 : -1;
				if (r2 < 0)
					break;
			}
			if (r2 < 0 || o.name == NULL || !hs || !hm || !he) {
				src_obj_free(&o);
				goto out;
			}
			o.ctime_ns = o.mtime_ns;
			*v = xreallocarray(*v, *nv + 1, sizeof **v);
			(*v)[(*nv)++] = o;
		} else if (is(&el, "IsTruncated")) {
			if (text(&el, &t) != 0)
				goto out;
			*truncated = strcmp((const char *)t.p, "true") == 0;
		} else if (is(&el, "NextContinuationToken")) {
			if (text(&el, &t) != 0 || t.len + 1 > tokn)
				goto out;
			memcpy(token, t.p, t.len + 1);
		}
	}
	if (r < 0)
		goto out;
	if (*truncated && token[0] == '\0')
		goto out;
	ret = 0;
out:
	buf_free(&t);
	return ret;
}

/* ---- headers ---- */

int src_parse_headers(enum source_kind kind, const char *h, size_t n, struct src_obj *o)
{
	const char *p = h, *e = h + n;
	const char *meta = kind == SRC_AZURE ? "x-ms-meta-" : "x-amz-meta-";
	size_t ml = strlen(meta);
	int have_len = 0;

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p)), *colon, *v, *ve;
		size_t kl;

		if (nl == NULL)
			nl = e;
		ve = nl;
		if (ve > p && ve[-1] == '\r')
			ve--;
		colon = memchr(p, ':', (size_t)(ve - p));
		if (colon == NULL || ((size_t)(ve - p) >= 5 && strncmp(p, "HTTP/", 5) == 0)) {
			p = nl + 1;
			continue;
		}
		kl = (size_t)(colon - p);
		v = colon + 1;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (kl > ml && strncasecmp(p, meta, ml) == 0) {
			char xn[320];

			if (kl - ml > 255)
				return -1;
			snprintf(xn, sizeof xn, SRC_X_META "%.*s", (int)(kl - ml), p + ml);
			/* S3 and Azure answer metadata names in lower case (Azure
			 * keeps the case in listings); keep what was said */
			if (src_props_add(o, xn, v, (size_t)(ve - v)) != 0)
				return -1;
		} else if (kl == 4 && strncasecmp(p, "ETag", 4) == 0) {
			if (set_etag(o, v, (size_t)(ve - v)) != 0)
				return -1;
		} else if (kl == 13 && strncasecmp(p, "Last-Modified", 13) == 0) {
			char tmp[64];

			if ((size_t)(ve - v) >= sizeof tmp)
				return -1;
			memcpy(tmp, v, (size_t)(ve - v));
			tmp[ve - v] = '\0';
			if (src_parse_time(tmp, &o->mtime_ns) != 0)
				return -1;
		} else if (kl == 18 && strncasecmp(p, "x-ms-creation-time", 18) == 0) {
			char tmp[64];

			if ((size_t)(ve - v) >= sizeof tmp)
				return -1;
			memcpy(tmp, v, (size_t)(ve - v));
			tmp[ve - v] = '\0';
			if (src_parse_time(tmp, &o->ctime_ns) != 0)
				return -1;
		} else if (kl == 14 && strncasecmp(p, "Content-Length", 14) == 0 && !have_len) {
			char tmp[32];

			if ((size_t)(ve - v) >= sizeof tmp)
				return -1;
			memcpy(tmp, v, (size_t)(ve - v));
			tmp[ve - v] = '\0';
			if (parse_u64(tmp, &o->size) != 0)
				return -1;
		} else if (kl == 13 && strncasecmp(p, "Content-Range", 13) == 0) {
			/* bytes A-B/TOTAL: the object's size */
			const char *sl = memchr(v, '/', (size_t)(ve - v));
			char tmp[32];

			if (sl == NULL || (size_t)(ve - sl - 1) >= sizeof tmp)
				return -1;
			memcpy(tmp, sl + 1, (size_t)(ve - sl - 1));
			tmp[ve - sl - 1] = '\0';
			if (parse_u64(tmp, &o->size) != 0)
				return -1;
			have_len = 1;
		} else {
			for (size_t k = 0; k < sizeof prop_names / sizeof prop_names[0]; k++) {
				char xn[96], low[64];

				if (kl != strlen(prop_names[k]) || strncasecmp(p, prop_names[k], kl) != 0)
					continue;
				if (ve == v)
					break;
				lower(prop_names[k], kl, low, sizeof low);
				snprintf(xn, sizeof xn, SRC_XATTR_PREFIX "%s", low);
				if (src_props_add(o, xn, v, (size_t)(ve - v)) != 0)
					return -1;
			}
		}
		p = nl + 1;
	}
	o->props_known = 1;
	return 0;
}
