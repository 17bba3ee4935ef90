/* source_table.c: Azure Tables as a source (azure-table://ACCOUNT/TABLE):
 * every entity exported as one canonical JSON line, and JSON lines put
 * back into a table (see source.h and docs/FORMAT.md §15).
 *
 * Requests use the Table service's JSON (odata=fullmetadata) and are
 * signed with Shared Key Lite (HMAC-SHA256 of "Date\nCanonicalizedResource")
 * or carry a SAS.  Query Entities pages are followed through the
 * x-ms-continuation-NextPartitionKey / NextRowKey headers.  An
 * incremental export (src_table_delta) lists only keys and Timestamps
 * ($select) and reads changed entities one by one. */
#include "source/source_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "util/util.h"
#include "util/workq.h"

#define TABLE_VERSION "2019-02-02"
#define PAGE_MAX ((size_t)32 << 20)

/* ---- a small JSON reader: flat objects of scalars ---- */

struct jtok {
	int kind;		/* 's' string, 'n' number, 't' true, 'f' false, 'z' null, 'o' object, 'a' array */
	const char *p;		/* raw token (strings: inside the quotes, still escaped) */
	size_t n;
};

static const char *ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* list_next(q, e, close): after a member or element: 1 at ',' and 0 at
 * close (either skipped), -1 at anything else. */
static int list_next(const char **q, const char *e, char close)
{
	*q = ws(*q, e);
	if (*q < e && (**q == ',' || **q == close))
		return *(*q)++ == ',';
	return -1;
}

/* skip_value(p, e, t): one value; nested objects/arrays are skipped whole
 * (depth-limited).  Returns the end, or NULL if malformed. */
static const char *skip_value(const char *p, const char *e, struct jtok *t, int depth)
{
	p = ws(p, e);
	if (p >= e || depth > 32)
		return NULL;
	t->p = p;
	if (*p == '"') {
		const char *q = p + 1;

		while (q < e && *q != '"') {
			if (*q == '\\') {
				if (q + 1 >= e)
					return NULL;
				q++;
			} else if ((unsigned char)*q < 0x20) {
				return NULL;
			}
			q++;
		}
		if (q >= e)
			return NULL;
		t->kind = 's';
		t->p = p + 1;
		t->n = (size_t)(q - p - 1);
		return q + 1;
	}
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		const char *q = ws(p + 1, e);
		struct jtok sub;

		t->kind = *p == '{' ? 'o' : 'a';
		if (q < e && *q == close) {
			t->n = (size_t)(q + 1 - p);
			return q + 1;
		}
		for (;;) {
			if (close == '}') {
				q = skip_value(q, e, &sub, depth + 1);
				if (q == NULL || sub.kind != 's')
					return NULL;
				q = ws(q, e);
				if (q >= e || *q != ':')
					return NULL;
				q++;
			}
			q = skip_value(q, e, &sub, depth + 1);
			if (q == NULL)
				return NULL;
			q = ws(q, e);
			if (q < e && *q == ',') {
				q++;
				continue;
			}
			if (q < e && *q == close)
				break;
			return NULL;
		}
		t->n = (size_t)(q + 1 - p);
		return q + 1;
	}
	if (e - p >= 4 && memcmp(p, "true", 4) == 0) {
		t->kind = 't';
		t->n = 4;
		return p + 4;
	}
	if (e - p >= 5 && memcmp(p, "false", 5) == 0) {
		t->kind = 'f';
		t->n = 5;
		return p + 5;
	}
	if (e - p >= 4 && memcmp(p, "null", 4) == 0) {
		t->kind = 'z';
		t->n = 4;
		return p + 4;
	}
	{
		const char *q = p;

		if (q < e && *q == '-')
			q++;
		if (q >= e || !isdigit((unsigned char)*q))
			return NULL;
		while (q < e && (isdigit((unsigned char)*q) || *q == '.' || *q == 'e' || *q == 'E' ||
		    *q == '+' || *q == '-'))
			q++;
		t->kind = 'n';
		t->n = (size_t)(q - p);
		return q;
	}
}

/* unescape(t, out): a string token's bytes (\uXXXX as UTF-8, surrogate
 * pairs joined).  0 or -1. */
static int unescape(const struct jtok *t, struct buf *out)
{
	out->len = 0;
	for (size_t i = 0; i < t->n; i++) {
		char c = t->p[i];

		if (c != '\\') {
			buf_append(out, &c, 1);
			continue;
		}
		if (++i >= t->n)
			return -1;
		c = t->p[i];
		switch (c) {
		case '"': case '\\': case '/':
			buf_append(out, &c, 1);
			break;
		case 'b': buf_append(out, "\b", 1); break;
		case 'f': buf_append(out, "\f", 1); break;
		case 'n': buf_append(out, "\n", 1); break;
		case 'r': buf_append(out, "\r", 1); break;
		case 't': buf_append(out, "\t", 1); break;
		case 'u': {
			unsigned long cp = 0;

			for (int k = 0; k < 4; k++) {
				char h = ++i < t->n ? t->p[i] : 0;

				if (!isxdigit((unsigned char)h))
					return -1;
				cp = cp * 16 + (unsigned long)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned long lo = 0;

				if (i + 6 >= t->n || t->p[i + 1] != '\\' || t->p[i + 2] != 'u')
					return -1;
				i += 2;
				for (int k = 0; k < 4; k++) {
					char h = t->p[++i];

					if (!isxdigit((unsigned char)h))
						return -1;
					lo = lo * 16 + (unsigned long)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
				}
				if (lo < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return -1;
			}
			if (cp == 0)
				return -1;	/* NUL: not in our strings */
			src_utf8_put(out, cp);
			break;
		}
		default:
			return -1;
		}
	}
	return out->overflow ? -1 : 0;
}

static void put_jstr(struct buf *o, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	buf_append(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			buf_append(o, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			buf_append(o, e, 6);
		} else {
			buf_append(o, &c, 1);
		}
	}
	buf_append(o, "\"", 1);
}

struct tprop {
	char *name;
	char type[16];		/* Edm.* */
	char *value;		/* decoded string, or the number / true / false text */
	int quoted;		/* the value is written as a JSON string */
};

static int tprop_cmp(const void *x, const void *y)
{
	return strcmp(((const struct tprop *)x)->name, ((const struct tprop *)y)->name);
}

static const char *const edm_types[] = { "Edm.Binary", "Edm.Boolean", "Edm.DateTime",
	"Edm.Double", "Edm.Guid", "Edm.Int32", "Edm.Int64", "Edm.String" };

static int edm_ok(const char *t)
{
	for (size_t i = 0; i < sizeof edm_types / sizeof edm_types[0]; i++)
		if (strcmp(t, edm_types[i]) == 0)
			return 1;
	return 0;
}

/* entity_line(p, e, out): one entity object (odata JSON) as the canonical
 * line: {"PartitionKey":..,"RowKey":..,"Timestamp":.., then every other
 * property sorted by name as "NAME@odata.type":"Edm.X","NAME":VALUE}.
 * Values keep their JSON text (numbers as sent; strings re-escaped). */
int src_table_entity_line(const char *p, size_t n, struct buf *out)
{
	const char *e = p + n, *q = ws(p, e);
	struct tprop *v = NULL;
	size_t nv = 0;
	struct buf k, s;
	char *pk = NULL, *rk = NULL, *ts = NULL;
	int ret = -1, r;

	buf_init(&k, 4096);
	buf_init(&s, SRC_TABLE_VALUE_MAX);
	if (q >= e || *q != '{')
		goto out;
	q = ws(q + 1, e);
	if (q < e && *q == '}') {
		q++;
		goto done;
	}
	for (;;) {
		struct jtok kt, vt;
		char *key;

		q = skip_value(q, e, &kt, 0);
		if (q == NULL || kt.kind != 's' || unescape(&kt, &k) != 0 || buf_append(&k, "", 1) != 0)
			goto out;
		key = (char *)k.p;
		q = ws(q, e);
		if (q >= e || *q != ':')
			goto out;
		q = skip_value(q + 1, e, &vt, 0);
		if (q == NULL)
			goto out;
		if (strncmp(key, "odata.", 6) == 0 || vt.kind == 'o' || vt.kind == 'a' || vt.kind == 'z') {
			/* metadata, nested values, nulls: not properties */
		} else {
			size_t kl = strlen(key);
			int is_type = kl > 11 && strcmp(key + kl - 11, "@odata.type") == 0;
			struct tprop *t = NULL;

			if (is_type)
				key[kl - 11] = '\0';
			if (key[0] == '\0' || strlen(key) > 255)
				goto out;
			for (size_t i = 0; i < nv; i++)
				if (strcmp(v[i].name, key) == 0)
					t = &v[i];
			if (t == NULL) {
				if (nv >= 1024)
					goto out;
				v = xreallocarray(v, nv + 1, sizeof *v);
				t = &v[nv++];
				memset(t, 0, sizeof *t);
				t->name = xstrdup(key);
			}
			if (is_type) {
				if (vt.kind != 's' || unescape(&vt, &s) != 0 || s.len == 0 ||
				    s.len >= sizeof t->type)
					goto out;
				memcpy(t->type, s.p, s.len);
				t->type[s.len] = '\0';
				if (!edm_ok(t->type))
					goto out;
			} else {
				if (t->value)
					goto out;	/* twice */
				if (vt.kind == 's') {
					/* NUL-terminated even when empty */
					if (unescape(&vt, &s) != 0 || buf_append(&s, "", 1) != 0 ||
					    memchr(s.p, '\0', s.len - 1) != NULL)
						goto out;
					t->value = xmemdup(s.p, s.len);
					t->quoted = 1;
				} else {
					/* the token may end the input: copy vt.n bytes only */
					t->value = xmalloc(vt.n + 1);
					memcpy(t->value, vt.p, vt.n);
					t->value[vt.n] = '\0';
				}
				if (!t->type[0]) {
					/* inferred: string, boolean, Int32, Double */
					const char *ty = vt.kind == 's' ? "Edm.String" :
					    vt.kind == 't' || vt.kind == 'f' ? "Edm.Boolean" :
					    strpbrk(t->value, ".eE") ? "Edm.Double" : "Edm.Int32";

					snprintf(t->type, sizeof t->type, "%s", ty);
				}
			}
		}
		r = list_next(&q, e, '}');
		if (r < 0)
			goto out;
		if (r == 0)
			break;
	}
done:
	if (ws(q, e) != e)
		goto out;
	for (size_t i = 0; i < nv; i++) {
		if (v[i].value == NULL)
			goto out;	/* a type without a value */
		if (strcmp(v[i].name, "PartitionKey") == 0)
			pk = v[i].value;
		else if (strcmp(v[i].name, "RowKey") == 0)
			rk = v[i].value;
		else if (strcmp(v[i].name, "Timestamp") == 0)
			ts = v[i].value;
		else if (strcmp(v[i].type, "Edm.Boolean") == 0 ? v[i].quoted :
		    strcmp(v[i].type, "Edm.Int32") == 0 || strcmp(v[i].type, "Edm.Double") == 0 ?
		    v[i].quoted && strcmp(v[i].type, "Edm.Double") != 0 : !v[i].quoted)
			goto out;	/* a value of the wrong JSON kind for its type */
	}
	if (pk == NULL || rk == NULL)
		goto out;
	qsort(v, nv, sizeof *v, tprop_cmp);
	buf_append(out, "{\"PartitionKey\":", 16);
	put_jstr(out, (const uint8_t *)pk, strlen(pk));
	buf_append(out, ",\"RowKey\":", 10);
	put_jstr(out, (const uint8_t *)rk, strlen(rk));
	if (ts) {
		buf_append(out, ",\"Timestamp\":", 13);
		put_jstr(out, (const uint8_t *)ts, strlen(ts));
	}
	for (size_t i = 0; i < nv; i++) {
		const char *nm = v[i].name;

		if (strcmp(nm, "PartitionKey") == 0 || strcmp(nm, "RowKey") == 0 || strcmp(nm, "Timestamp") == 0)
			continue;
		buf_append(out, ",", 1);
		{
			char *tk = xasprintf("%s@odata.type", nm);

			put_jstr(out, (const uint8_t *)tk, strlen(tk));
			free(tk);
		}
		buf_append(out, ":", 1);
		put_jstr(out, (const uint8_t *)v[i].type, strlen(v[i].type));
		buf_append(out, ",", 1);
		put_jstr(out, (const uint8_t *)nm, strlen(nm));
		buf_append(out, ":", 1);
		if (v[i].quoted)
			put_jstr(out, (const uint8_t *)v[i].value, strlen(v[i].value));
		else
			buf_append(out, v[i].value, strlen(v[i].value));
	}
	buf_append(out, "}\n", 2);
	ret = out->overflow ? -1 : 0;
out:
	for (size_t i = 0; i < nv; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
	buf_free(&k);
	buf_free(&s);
	return ret;
}

int src_table_page(const char *doc, size_t n, struct buf *out, size_t *count)
{
	const char *e = doc + n, *q = ws(doc, e);
	struct buf k;
	int ret = -1, seen = 0, r;

	*count = 0;
	buf_init(&k, 4096);
	if (q >= e || *q != '{')
		goto out;
	q++;
	for (;;) {
		struct jtok kt, vt;

		q = skip_value(q, e, &kt, 0);
		if (q == NULL || kt.kind != 's' || unescape(&kt, &k) != 0)
			goto out;
		q = ws(q, e);
		if (q >= e || *q != ':')
			goto out;
		q++;
		if (k.len == 5 && memcmp(k.p, "value", 5) == 0) {
			q = ws(q, e);
			if (q >= e || *q != '[' || seen++)
				goto out;
			q = ws(q + 1, e);
			if (q < e && *q == ']') {
				q++;
			} else {
				for (;;) {
					const char *start = ws(q, e);

					q = skip_value(q, e, &vt, 0);
					if (q == NULL || vt.kind != 'o' ||
					    src_table_entity_line(start, (size_t)(q - start), out) != 0)
						goto out;
					(*count)++;
					r = list_next(&q, e, ']');
					if (r < 0)
						goto out;
					if (r == 0)
						break;
				}
			}
		} else {
			q = skip_value(q, e, &vt, 0);
			if (q == NULL)
				goto out;
		}
		r = list_next(&q, e, '}');
		if (r < 0)
			goto out;
		if (r == 0)
			break;
	}
	ret = seen ? 0 : -1;
out:
	buf_free(&k);
	return ret;
}

/* ---- requests ---- */

#define ACCEPT_FULL "Accept: application/json;odata=fullmetadata"
/* Without metadata: for listings of keys and Timestamps only, whose
 * types are known (an entity's odata.id, editLink, etag and type would
 * be four fifths of the bytes). */
#define ACCEPT_BARE "Accept: application/json;odata=nometadata"

/* table_request(s, accept, ...): src_table_request with that Accept
 * header line. */
static int table_request(struct source *s, const char *accept, const char *method, const char *path,
    const char *query, const void *body, size_t n, struct buf *out, struct buf *rh,
    struct http_resp *rs)
{
	struct curl_slist *hl = NULL;
	char date[64], *url, *line;
	time_t t = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	url = xasprintf("%s%s%s%s%s%s", s->endpoint, path, query && query[0] ? "?" : "",
	    query ? query : "", s->au.sas ? (query && query[0] ? "&" : "?") : "", s->au.sas ? s->au.sas : "");
	line = xasprintf("x-ms-date: %s", date);
	hl = curl_slist_append(hl, line);
	free(line);
	hl = curl_slist_append(hl, "x-ms-version: " TABLE_VERSION);
	hl = curl_slist_append(hl, accept);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "DataServiceVersion: 3.0;NetFx");
	hl = curl_slist_append(hl, "Expect:");
	if (s->au.keylen) {
		char *sts = xasprintf("%s\n/%s%s%s", date, s->account, s->path_base, path);

		hl = az_auth_append(hl, &s->au, "SharedKeyLite", s->account, sts, strlen(sts));
		free(sts);
	}
	rc = cloud_do(s->h, NULL, method, url, hl, body, n, out, rh, rs);
	curl_slist_free_all(hl);
	sodium_memzero(url, strlen(url));
	free(url);
	return rc;
}

int src_table_request(struct source *s, const char *method, const char *path, const char *query,
    const void *body, size_t n, struct buf *out, struct buf *rh, struct http_resp *rs)
{
	return table_request(s, ACCEPT_FULL, method, path, query, body, n, out, rh, rs);
}

/* header_value(h, name, out, on): a response header's value. */
static int header_value(const struct buf *h, const char *name, char *out, size_t on)
{
	const char *p = (const char *)h->p, *e = p + h->len;
	size_t nl = strlen(name);

	while (p < e) {
		const char *eol = memchr(p, '\n', (size_t)(e - p)), *v, *ve;

		if (eol == NULL)
			eol = e;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			v = p + nl + 1;
			while (v < eol && *v == ' ')
				v++;
			ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			if ((size_t)(ve - v) >= on)
				return -1;
			memcpy(out, v, (size_t)(ve - v));
			out[ve - v] = '\0';
			return 1;
		}
		p = eol + 1;
	}
	return 0;
}

struct src_table_reader {
	struct source *s;
	struct buf lines;	/* exported lines not yet read */
	size_t at;
	char npk[1024], nrk[1024];
	int started, done;
	int keys_only;		/* $select=PartitionKey,RowKey,Timestamp */
	uint64_t entities, pages;
	int64_t newest;		/* the newest Timestamp seen */
};

struct src_table_reader *src_table_open_reader(struct source *s)
{
	struct src_table_reader *r = xcalloc(1, sizeof *r);

	r->s = s;
	buf_init(&r->lines, PAGE_MAX * 2);
	return r;
}

void src_table_close_reader(struct src_table_reader *r)
{
	if (r == NULL)
		return;
	buf_free(&r->lines);
	free(r);
}

uint64_t src_table_entities(const struct src_table_reader *r)
{
	return r->entities;
}

int64_t src_table_newest(const struct src_table_reader *r)
{
	return r->newest;
}

/* note_newest(newest, lines, n): raise *newest to the newest Timestamp of
 * the canonical lines[0..n) (a canonical line holds no unescaped quote
 * inside its strings, so the pattern cannot come from a value). */
static void note_newest(int64_t *newest, const char *lines, size_t n)
{
	for (size_t at = 0; at < n;) {
		const char *l = lines + at;
		const char *nl = memchr(l, '\n', n - at);
		const char *t = nl ? memmem(l, (size_t)(nl - l), ",\"Timestamp\":\"", 14) : NULL;

		if (t) {
			const char *te = memchr(t + 14, '"', (size_t)(nl - t - 14));
			char tmp[64];
			int64_t ns;

			if (te && (size_t)(te - t - 14) < sizeof tmp) {
				memcpy(tmp, t + 14, (size_t)(te - t - 14));
				tmp[te - t - 14] = '\0';
				if (src_parse_time(tmp, &ns) == 0 && ns > *newest)
					*newest = ns;
			}
		}
		if (nl == NULL)
			break;
		at = (size_t)(nl - lines) + 1;
	}
}

/* next_page(r): the next Query Entities page into r->lines.  0, or -1. */
static int next_page(struct src_table_reader *r)
{
	struct source *s = r->s;
	struct http_resp rs;
	struct buf page, rh;
	char *path = xasprintf("/%s()", s->container), *q = NULL, *sel;
	size_t count;
	int rc, ret = -1;

	buf_init(&page, PAGE_MAX);
	buf_init(&rh, (size_t)1 << 20);
	if (r->started && r->npk[0]) {
		char *a = url_escape(r->npk, 0), *b = url_escape(r->nrk, 0);

		q = xasprintf("NextPartitionKey=%s%s%s", a, r->nrk[0] ? "&NextRowKey=" : "", r->nrk[0] ? b : "");
		free(a);
		free(b);
	}
	r->started = 1;
	if (r->keys_only) {
		sel = xasprintf("$select=PartitionKey,RowKey,Timestamp%s%s", q ? "&" : "", q ? q : "");
		free(q);
		q = sel;
	}
	rc = table_request(s, r->keys_only ? ACCEPT_BARE : ACCEPT_FULL, "GET", path, q, NULL, 0, &page,
	    &rh, &rs);
	if (rc != 0 || rs.status != 200) {
		if (rc == 0 && rs.status == 404)
			errmsg("source %s: table %s does not exist in account %s", s->url, s->container, s->account);
		else
			src_fail(s, rc, &rs, NULL, 0, "query the entities of table", s->container);
		goto out;
	}
	r->lines.len = 0;
	r->at = 0;
	if (src_table_page((const char *)page.p, page.len, &r->lines, &count) != 0) {
		errmsg("source %s: the answer to Query Entities is malformed", s->url);
		goto out;
	}
	r->entities += count;
	r->pages++;
	note_newest(&r->newest, (const char *)r->lines.p, r->lines.len);
	if (header_value(&rh, "x-ms-continuation-NextPartitionKey", r->npk, sizeof r->npk) != 1)
		r->npk[0] = '\0';
	if (header_value(&rh, "x-ms-continuation-NextRowKey", r->nrk, sizeof r->nrk) != 1)
		r->nrk[0] = '\0';
	if (r->npk[0] == '\0')
		r->done = 1;
	ret = 0;
out:
	buf_free(&page);
	buf_free(&rh);
	free(path);
	free(q);
	return ret;
}

ssize_t src_table_read(struct src_table_reader *r, uint8_t *p, size_t n)
{
	while (r->at == r->lines.len) {
		if (r->done)
			return 0;
		if (next_page(r) != 0)
			return -1;
	}
	if (n > r->lines.len - r->at)
		n = r->lines.len - r->at;
	memcpy(p, r->lines.p + r->at, n);
	r->at += n;
	return (ssize_t)n;
}

/* ---- restore: lines into a table ---- */

/* odata_lit(k): the OData string literal 'k' (every ' doubled). */
static char *odata_lit(const char *k)
{
	struct buf b;
	size_t l;

	buf_init(&b, SIZE_MAX);
	buf_append(&b, "'", 1);
	for (; *k; k++) {
		buf_append(&b, k, 1);
		if (*k == '\'')
			buf_append(&b, "'", 1);
	}
	buf_append(&b, "'", 2);	/* and the NUL */
	return (char *)buf_steal(&b, &l);
}

/* key_lit(k): odata_lit(k), percent-encoded for the URL path. */
static char *key_lit(const char *k)
{
	char *s = odata_lit(k), *e = url_escape(s, 0);

	free(s);
	return e;
}

/* entity_path(s, pk, rk): "/TABLE(PartitionKey='pk',RowKey='rk')" for
 * the URL. */
static char *entity_path(const struct source *s, const char *pk, const char *rk)
{
	char *a = key_lit(pk), *b = key_lit(rk);
	char *path = xasprintf("/%s(PartitionKey=%s,RowKey=%s)", s->container, a, b);

	free(a);
	free(b);
	return path;
}

int src_table_create(struct source *s)
{
	struct http_resp rs;
	char *body = xasprintf("{\"TableName\":\"%s\"}", s->container);
	int rc = src_table_request(s, "POST", "/Tables", NULL, body, strlen(body), NULL, NULL, &rs);

	free(body);
	if (rc == 0 && (rs.status == 201 || rs.status == 204 || rs.status == 409))
		return 0;
	return src_fail(s, rc, &rs, NULL, 0, "create table", s->container);
}

int src_table_put_line(struct source *s, const char *line, size_t n)
{
	const char *e = line + n, *q;
	struct jtok kt, vt;
	struct buf k, body;
	char *pk = NULL, *rk = NULL;
	int ret = -1, first = 1;

	buf_init(&k, 4096);
	buf_init(&body, (size_t)4 << 20);
	/* every member but Timestamp goes into the body as it is */
	q = ws(line, e);
	if (q >= e || *q != '{')
		goto out;
	q++;
	buf_append(&body, "{", 1);
	for (;;) {
		const char *ks, *ve;

		ks = ws(q, e);
		q = skip_value(q, e, &kt, 0);
		if (q == NULL || kt.kind != 's' || unescape(&kt, &k) != 0 || buf_append(&k, "", 1) != 0)
			goto out;
		q = ws(q, e);
		if (q >= e || *q != ':')
			goto out;
		ve = skip_value(q + 1, e, &vt, 0);
		if (ve == NULL || vt.kind == 'o' || vt.kind == 'a')
			goto out;
		if (strcmp((char *)k.p, "PartitionKey") == 0 || strcmp((char *)k.p, "RowKey") == 0) {
			struct buf v;

			buf_init(&v, 4096);
			if (vt.kind != 's' || unescape(&vt, &v) != 0 || buf_append(&v, "", 1) != 0) {
				buf_free(&v);
				goto out;
			}
			if (strcmp((char *)k.p, "PartitionKey") == 0 && pk == NULL)
				pk = xstrdup((char *)v.p);
			else if (rk == NULL)
				rk = xstrdup((char *)v.p);
			buf_free(&v);
		}
		if (strcmp((char *)k.p, "Timestamp") != 0 && strcmp((char *)k.p, "Timestamp@odata.type") != 0) {
			if (!first)
				buf_append(&body, ",", 1);
			buf_append(&body, ks, (size_t)(ve - ks));
			first = 0;
		}
		q = ws(ve, e);
		if (q < e && *q == ',') {
			q++;
			continue;
		}
		if (q < e && *q == '}')
			break;
		goto out;
	}
	buf_append(&body, "}", 1);
	if (pk == NULL || rk == NULL || body.overflow)
		goto out;
	{
		char *path = entity_path(s, pk, rk);
		struct http_resp rs;
		int rc;

		/* Insert Or Replace Entity */
		rc = src_table_request(s, "PUT", path, NULL, body.p, body.len, NULL, NULL, &rs);
		if (rc == 0 && (rs.status == 204 || rs.status == 201 || rs.status == 200))
			ret = 0;
		else
			src_fail(s, rc, &rs, NULL, 0, "write an entity into table", s->container);
		free(path);
	}
	if (ret != 0)
		ret = -2;	/* reported */
out:
	if (ret == -1)
		errmsg("source %s: a line of the backed-up table is malformed", s->url);
	free(pk);
	free(rk);
	buf_free(&k);
	buf_free(&body);
	return ret == 0 ? 0 : -1;
}

/* ---- incremental: only new and changed entities are read ---- */

/* str_clear(b): b as the empty NUL-terminated string. */
static void str_clear(struct buf *b)
{
	buf_truncate(b, 0);
	buf_append(b, "", 1);
	b->len = 0;
}

int src_table_line_key(const char *line, size_t n, struct buf *pk, struct buf *rk, struct buf *ts)
{
	static const char *const names[3] = { "PartitionKey", "RowKey", "Timestamp" };
	struct buf *dst[3] = { pk, rk, ts };
	const char *e = line + n, *q;
	struct jtok t, kt, vt;
	struct buf k;
	int ret = -1, got = 0;

	for (int i = 0; i < 3; i++)
		str_clear(dst[i]);
	/* the whole line is one well-formed object, nothing around it */
	if (n == 0 || line[0] != '{')
		return -1;
	q = skip_value(line, e, &t, 0);
	if (q != e || t.kind != 'o')
		return -1;
	buf_init(&k, 4096);
	q = line + 1;
	for (int i = 0; i < 3; i++) {
		q = skip_value(q, e, &kt, 0);
		if (q == NULL || kt.kind != 's' || unescape(&kt, &k) != 0)
			goto out;
		if (k.len != strlen(names[i]) || memcmp(k.p, names[i], k.len) != 0) {
			if (i < 2)
				goto out;
			break;	/* no Timestamp */
		}
		q = ws(q, e);
		if (q >= e || *q != ':')
			goto out;
		q = skip_value(q + 1, e, &vt, 0);
		if (q == NULL || vt.kind != 's' || unescape(&vt, dst[i]) != 0 ||
		    buf_append(dst[i], "", 1) != 0)
			goto out;
		dst[i]->len--;		/* NUL-terminated, not counted */
		got = i + 1;
		q = ws(q, e);
		if (q >= e || (*q != ',' && *q != '}'))
			goto out;
		if (*q++ == '}')
			break;
	}
	ret = got >= 2 ? 0 : -1;	/* both keys (empty ones too, as in Azure) */
out:
	if (ret != 0)
		for (int i = 0; i < 3; i++)
			str_clear(dst[i]);
	buf_free(&k);
	return ret;
}

/* An entity of the listing or of the earlier export: its keys as
 * "PK\0RK\0", its Timestamp, and (earlier export) where its line is. */
struct tent {
	char *key;		/* PartitionKey, NUL, RowKey, NUL */
	size_t klen;		/* both keys and both NULs */
	char *ts;
	size_t off, len;	/* the line (with its newline) in the export */
};

static uint64_t key_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3u;
	return h;
}

/* index_lines(doc, n, &v, &nv): every canonical line of doc as a tent
 * (keys, Timestamp, where).  0, or -1 if a line is not canonical or the
 * last one has no newline. */
static int index_lines(const char *doc, size_t n, struct tent **v, size_t *nv)
{
	struct buf pk, rk, ts;
	int ret = 0;

	*v = NULL;
	*nv = 0;
	buf_init(&pk, SRC_TABLE_VALUE_MAX);
	buf_init(&rk, SRC_TABLE_VALUE_MAX);
	buf_init(&ts, SRC_TABLE_VALUE_MAX);
	for (size_t at = 0; at < n && ret == 0;) {
		const char *nl = memchr(doc + at, '\n', n - at);
		size_t len;
		struct tent *t;

		if (nl == NULL || src_table_line_key(doc + at, (size_t)(nl - doc - at), &pk, &rk, &ts) != 0) {
			ret = -1;
			break;
		}
		len = (size_t)(nl - doc - at) + 1;
		if (*nv % 1024 == 0)
			*v = xreallocarray(*v, *nv + 1024, sizeof **v);
		t = &(*v)[(*nv)++];
		t->klen = pk.len + rk.len + 2;
		t->key = xmalloc(t->klen);
		memcpy(t->key, pk.p, pk.len + 1);
		memcpy(t->key + pk.len + 1, rk.p, rk.len + 1);
		t->ts = xmemdup(ts.p, ts.len + 1);
		t->off = at;
		t->len = len;
		at += len;
	}
	buf_free(&pk);
	buf_free(&rk);
	buf_free(&ts);
	return ret;
}

static void tents_free(struct tent *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].ts);
	}
	free(v);
}

/* An open-addressing index of tents by their keys. */
struct tmap {
	const struct tent **slot;
	size_t cap;
};

static void tmap_build(struct tmap *m, const struct tent *v, size_t n)
{
	m->cap = 64;
	while (m->cap < 2 * n + 2)
		m->cap *= 2;
	m->slot = xcalloc(m->cap, sizeof *m->slot);
	for (size_t i = 0; i < n; i++) {
		size_t k = (size_t)key_hash(v[i].key, v[i].klen) & (m->cap - 1);

		while (m->slot[k] != NULL)
			k = (k + 1) & (m->cap - 1);
		m->slot[k] = &v[i];
	}
}

static const struct tent *tmap_get(const struct tmap *m, const struct tent *x)
{
	size_t k = (size_t)key_hash(x->key, x->klen) & (m->cap - 1);

	for (; m->slot[k] != NULL; k = (k + 1) & (m->cap - 1))
		if (m->slot[k]->klen == x->klen && memcmp(m->slot[k]->key, x->key, x->klen) == 0)
			return m->slot[k];
	return NULL;
}

/* list_keys(s, &v, &nv, &pages): every entity's keys and Timestamp, in
 * the service's order, from Query Entities with
 * $select=PartitionKey,RowKey,Timestamp.  0, or -1 after a message. */
static int list_keys(struct source *s, struct tent **v, size_t *nv, uint64_t *pages)
{
	struct src_table_reader *r = src_table_open_reader(s);
	int ret = 0;

	r->keys_only = 1;
	*v = NULL;
	*nv = 0;
	while (ret == 0 && !r->done) {
		struct tent *got;
		size_t ng;

		if (next_page(r) != 0) {
			ret = -1;
			break;
		}
		if (index_lines((const char *)r->lines.p, r->lines.len, &got, &ng) != 0) {
			errmsg("source %s: the answer to Query Entities is malformed", s->url);
			ret = -1;
			break;
		}
		*v = xreallocarray(*v, *nv + ng + 1, sizeof **v);
		if (ng)
			memcpy(*v + *nv, got, ng * sizeof *got);
		*nv += ng;
		free(got);
	}
	*pages = r->pages;
	src_table_close_reader(r);
	return ret;
}

/* fetch_entity(s, t, body, line, ts): Query Entity for the keys of t, as
 * a canonical line into line, its Timestamp into ts.  0, SRC_GONE (it no
 * longer exists), or -1 after a message. */
static int fetch_entity(struct source *s, const struct tent *t, struct buf *body, struct buf *line,
    struct buf *ts)
{
	const char *pk = t->key, *rk = t->key + strlen(t->key) + 1;
	char *path = entity_path(s, pk, rk);
	struct http_resp rs;
	struct buf gpk, grk;
	int rc, ret = -1;

	body->len = 0;
	line->len = 0;
	buf_init(&gpk, SRC_TABLE_VALUE_MAX);
	buf_init(&grk, SRC_TABLE_VALUE_MAX);
	rc = src_table_request(s, "GET", path, NULL, NULL, 0, body, NULL, &rs);
	if (rc == 0 && rs.status == 404) {
		ret = SRC_GONE;
	} else if (rc != 0 || rs.status != 200) {
		src_fail(s, rc, &rs, NULL, 0, "read an entity of table", s->container);
	} else if (src_table_entity_line((const char *)body->p, body->len, line) != 0 ||
	    src_table_line_key((const char *)line->p, line->len - 1, &gpk, &grk, ts) != 0 ||
	    strcmp((char *)gpk.p, pk) != 0 || strcmp((char *)grk.p, rk) != 0) {
		errmsg("source %s: the answer to Query Entity is malformed", s->url);
	} else {
		ret = 0;
	}
	free(path);
	buf_free(&gpk);
	buf_free(&grk);
	return ret;
}

/* changed_entity(s, d, t, gone): warn that t was written (or deleted)
 * after the listing and note it in d's "changed while read" list as
 * (PartitionKey='..',RowKey='..'). */
static void changed_entity(const struct source *s, struct src_table_delta *d, const struct tent *t,
    int gone)
{
	char *a = odata_lit(t->key), *b = odata_lit(t->key + strlen(t->key) + 1);
	char *e = xasprintf("(PartitionKey=%s,RowKey=%s)", a, b);

	if (gone)
		errmsg("warning: %s%s was deleted during the backup; left out", s->url, e);
	else
		errmsg("warning: %s%s changed while it was read (its Timestamp is no longer the "
		    "listed one); stored as it is now", s->url, e);
	d->changed = xreallocarray(d->changed, d->n_changed + 1, sizeof *d->changed);
	d->changed[d->n_changed++] = e;
	free(a);
	free(b);
}

/* One entity to read, on a worker: its line and Timestamp, fetch_entity's
 * result. */
struct fjob {
	struct source *s;
	const struct tent *t;
	struct buf line, ts;
	int rc;
};

static void fjob_run(void *ctx, void *item, void *scratch)
{
	struct fjob *j = item;
	struct buf body;

	(void)ctx;
	(void)scratch;
	buf_init(&body, (size_t)8 << 20);
	j->rc = fetch_entity(j->s, j->t, &body, &j->line, &j->ts);
	buf_free(&body);
}

/* fetch_all(s, now, nnow, need, threads): read the entities of now that
 * are not reused (off SIZE_MAX), `threads` at a time.  The jobs, in the
 * order of now, or NULL after a message. */
static struct fjob *fetch_all(struct source *s, const struct tent *now, size_t nnow, size_t need,
    int threads)
{
	static const struct workq_fns fns = { fjob_run, NULL, NULL };
	struct fjob *jobs = xcalloc(need + 1, sizeof *jobs);
	struct workq *q = workq_start(&fns, NULL, threads, (size_t)threads * 2);
	size_t k = 0;

	if (q == NULL) {
		free(jobs);
		return NULL;
	}
	for (size_t i = 0; i < nnow; i++) {
		if (now[i].off != SIZE_MAX)
			continue;
		jobs[k].s = s;
		jobs[k].t = &now[i];
		buf_init(&jobs[k].line, (size_t)8 << 20);
		buf_init(&jobs[k].ts, SRC_TABLE_VALUE_MAX);
		workq_submit(q, &jobs[k++], 1);
	}
	workq_stop(q);
	return jobs;
}

int src_table_delta(struct source *s, const char *prev, size_t n, unsigned max_pct, int threads,
    struct buf *out, struct src_table_delta *d)
{
	struct tent *old = NULL, *now = NULL;
	size_t nold = 0, nnow = 0, need = 0, k = 0;
	struct tmap m = { NULL, 0 };
	struct fjob *jobs = NULL;
	int ret = -1;

	memset(d, 0, sizeof *d);
	if (index_lines(prev, n, &old, &nold) != 0) {
		info(1, "%s: the earlier snapshot's export is not canonical; reading the whole table",
		    s->url);
		tents_free(old, nold);
		return 1;
	}
	if (list_keys(s, &now, &nnow, &d->list_pages) != 0)
		goto out;
	tmap_build(&m, old, nold);
	for (size_t i = 0; i < nnow; i++) {
		const struct tent *o = tmap_get(&m, &now[i]);

		/* reused: same keys, same (non-empty) Timestamp */
		now[i].off = o && now[i].ts[0] && strcmp(o->ts, now[i].ts) == 0 ? (size_t)(o - old) : SIZE_MAX;
		need += now[i].off == SIZE_MAX;
	}
	d->listed = nnow;
	if (need > 0 && need * 100 > (uint64_t)max_pct * nnow) {
		info(1, "%s: %zu of %zu entities are new or changed; reading the whole table", s->url,
		    need, nnow);
		ret = 1;
		goto out;
	}
	jobs = fetch_all(s, now, nnow, need, threads);
	if (jobs == NULL)
		goto out;
	d->fetched = need;
	ret = 0;
	for (size_t i = 0; i < nnow && ret == 0; i++) {
		const struct tent *o;
		struct fjob *j;

		if (now[i].off != SIZE_MAX) {
			o = &old[now[i].off];
			buf_append(out, prev + o->off, o->len);
			note_newest(&d->newest, prev + o->off, o->len);
			d->reused++;
			continue;
		}
		j = &jobs[k++];
		if (j->rc == SRC_GONE) {
			changed_entity(s, d, &now[i], 1);	/* deleted after the listing */
		} else if (j->rc != 0) {
			ret = -1;
		} else {
			if (strcmp((const char *)j->ts.p, now[i].ts) != 0)
				changed_entity(s, d, &now[i], 0);	/* written after the listing */
			buf_append(out, j->line.p, j->line.len);
			note_newest(&d->newest, (const char *)j->line.p, j->line.len);
		}
	}
	if (ret == 0 && out->overflow) {
		info(1, "%s: the table is too large to assemble in memory; reading it whole", s->url);
		buf_truncate(out, 0);
		ret = 1;
	}
out:
	for (size_t i = 0; jobs && i < need; i++) {
		buf_free(&jobs[i].line);
		buf_free(&jobs[i].ts);
	}
	free(jobs);
	free(m.slot);
	tents_free(old, nold);
	tents_free(now, nnow);
	return ret;
}

void src_table_delta_free(struct src_table_delta *d)
{
	for (size_t i = 0; i < d->n_changed; i++)
		free(d->changed[i]);
	free(d->changed);
	memset(d, 0, sizeof *d);
}
