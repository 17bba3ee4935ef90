/* source.c: cloud sources — URLs, credentials, signed requests, listing,
 * HEAD, uploads.  See source.h.  Downloads are in source_fetch.c.
 *
 * Azure requests are signed with Shared Key (HMAC-SHA256 over the
 * documented string-to-sign, every x-ms-* header canonicalized) or carry
 * a SAS in the query; S3 requests are signed by libcurl (SigV4) with
 * x-amz-content-sha256 carrying the body's hash.  Messages name the source
 * URL and the object, never a key, secret or SAS. */
#include "source/source_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "util/util.h"

#define LIST_MAX ((size_t)64 << 20)
#define SMALL_MAX ((size_t)1 << 20)

int source_is_url(const char *s)
{
	return strncmp(s, "azure://", 8) == 0 || strncmp(s, "s3://", 5) == 0 ||
	    strncmp(s, "azure-table://", 14) == 0;
}

const char *source_url(const struct source *s)
{
	return s->url;
}

enum source_kind source_kind(const struct source *s)
{
	return s->kind;
}

const char *source_prefix(const struct source *s)
{
	return s->prefix;
}

int source_root(const struct source *s, const char *comps[3])
{
	if (s->kind == SRC_AZURE || s->kind == SRC_TABLE) {
		comps[0] = s->kind == SRC_AZURE ? "azure" : "azure-table";
		comps[1] = s->account;
		comps[2] = s->container;
		return 3;
	}
	comps[0] = "s3";
	comps[1] = s->bucket;
	return 2;
}

/* ---- escaping ---- */

/* src_escape_path(name): percent-encode an object name for a URL path:
 * everything but [A-Za-z0-9-_~] and '/' and '.'; a segment of only dots
 * has its dots encoded too, so that nothing on the way treats it as a
 * relative path step. */
char *src_escape_path(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(name);
	char *out = xmalloc(3 * n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		int dots = 0;

		if (c == '.') {
			size_t a = i, b = i;

			while (a > 0 && name[a - 1] == '.')
				a--;
			while (b < n && name[b] == '.')
				b++;
			dots = (a == 0 || name[a - 1] == '/') && (b == n || name[b] == '/');
		}
		if ((isalnum(c) || c == '-' || c == '_' || c == '~' || c == '/' || c == '.') && !dots) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* ---- Azure requests ---- */

static int hdr_cmp(const void *x, const void *y)
{
	return strcmp(((const struct src_hdr *)x)->k, ((const struct src_hdr *)y)->k);
}

static const char *hval(const struct src_hdr *h, size_t nh, const char *name)
{
	for (size_t i = 0; i < nh; i++)
		if (strcasecmp(h[i].k, name) == 0)
			return h[i].v;
	return NULL;
}

/* sign_head(sts, method, n, h0, nh, xh, nx): the Shared Key
 * string-to-sign up to its canonicalized resource: the verb, the standard
 * headers of h0, then the x-ms-* headers xh (names lower-cased, sorted). */
static void sign_head(struct buf *sts, const char *method, size_t n, const struct src_hdr *h0,
    size_t nh, struct src_hdr *xh, size_t nx)
{
	static const char *const std[] = { "Content-Encoding", "Content-Language", NULL,
		"Content-MD5", "Content-Type", "Date", "If-Modified-Since", "If-Match",
		"If-None-Match", "If-Unmodified-Since", "Range" };
	char clen[32] = "", *line;

	if (n > 0)
		snprintf(clen, sizeof clen, "%zu", n);
	buf_append(sts, method, strlen(method));
	buf_append(sts, "\n", 1);
	for (size_t i = 0; i < sizeof std / sizeof std[0]; i++) {
		const char *v = std[i] ? hval(h0, nh, std[i]) : clen;

		if (v)
			buf_append(sts, v, strlen(v));
		buf_append(sts, "\n", 1);
	}
	/* canonicalized headers: lower-case names, sorted */
	for (size_t i = 0; i < nx; i++) {
		char *k = xstrdup(xh[i].k);

		for (char *c = k; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		xh[i].k = k;
	}
	qsort(xh, nx, sizeof *xh, hdr_cmp);
	for (size_t i = 0; i < nx; i++) {
		line = xasprintf("%s:%s\n", xh[i].k, xh[i].v);
		buf_append(sts, line, strlen(line));
		free(line);
		free((char *)(uintptr_t)xh[i].k);
	}
}

int src_az_request(struct source *s, const char *method, const char *blob,
    const struct az_qp *q0, size_t nq, const struct src_hdr *h0, size_t nh,
    const void *body, size_t n, struct buf *out, struct buf *rh, struct http_resp *rs)
{
	struct az_qp *q = xcalloc(nq + 1, sizeof *q);
	struct src_hdr *xh = xcalloc(nh + 3, sizeof *xh);
	struct buf url, sts;
	struct curl_slist *hl = NULL;
	char date[64], *eb = NULL, *line;
	size_t nx = 0;
	int rc;

	if (nq)
		memcpy(q, q0, nq * sizeof *q);
	az_qp_sort(q, nq);
	if (blob)
		eb = src_escape_path(blob);
	buf_init(&url, SIZE_MAX);
	buf_init(&sts, SIZE_MAX);
	az_url(&url, &s->au, s->endpoint, s->container, eb, q, nq);

	az_date(date, sizeof date);
	xh[nx++] = (struct src_hdr){ "x-ms-date", date };
	xh[nx++] = (struct src_hdr){ "x-ms-version", AZ_VERSION };
	for (size_t i = 0; i < nh; i++) {
		line = xasprintf("%s: %s", h0[i].k, h0[i].v);
		hl = curl_slist_append(hl, line);
		free(line);
		if (strncasecmp(h0[i].k, "x-ms-", 5) == 0)
			xh[nx++] = h0[i];
	}
	hl = az_date_headers(hl, date);
	if (s->au.keylen) {
		sign_head(&sts, method, n, h0, nh, xh, nx);
		az_sign_tail(&sts, s->account, s->path_base, s->container, eb, q, nq);
		hl = az_auth_append(hl, &s->au, "SharedKey", s->account, sts.p, sts.len);
	}
	rc = cloud_do(s->h, NULL, method, (const char *)url.p, hl, body, n, out, rh, rs);
	curl_slist_free_all(hl);
	buf_wipe_free(&url);
	buf_free(&sts);
	free(eb);
	free(q);
	free(xh);
	return rc;
}

/* ---- S3 requests ---- */

int src_s3_request(struct source *s, const char *method, const char *url,
    const struct src_hdr *h, size_t nh, const void *body, size_t n, struct buf *out,
    struct buf *rh, struct http_resp *rs)
{
	struct curl_slist *hl = NULL;
	char hash[128], *line;
	int rc;

	s3_content_sha256(body, n, hash, sizeof hash);
	hl = curl_slist_append(hl, hash);
	if (s->s3.token_hdr)
		hl = curl_slist_append(hl, s->s3.token_hdr);
	for (size_t i = 0; i < nh; i++) {
		line = xasprintf("%s: %s", h[i].k, h[i].v);
		hl = curl_slist_append(hl, line);
		free(line);
	}
	rc = cloud_do(s->h, &s->s3, method, url, hl, body, n, out, rh, rs);
	curl_slist_free_all(hl);
	return rc;
}

/* src_s3_object_url(s, name): the URL of the object name (a new string). */
char *src_s3_object_url(const struct source *s, const char *name)
{
	char *e = src_escape_path(name);
	char *url = xasprintf("%s/%s", s->base, e);

	free(e);
	return url;
}

/* ---- errors ---- */

int src_fail(struct source *s, int rc, const struct http_resp *rs, const void *body, size_t bn,
    const char *what, const char *obj)
{
	const char *code = rs->error_code;
	char detail[512] = "", adv[600] = "";
	char *o = NULL;

	if (obj) {
		char *e = escape_bytes(obj, strlen(obj));

		o = xasprintf(" %s", e);
		free(e);
	}
	if (rc != 0) {
		errmsg("source %s: cannot %s%s: %s", s->url, what, o ? o : "",
		    rs->curl_error[0] ? rs->curl_error : "network error");
		free(o);
		return -1;
	}
	if (body && bn) {
		size_t from = 0;

		if (xml_next(body, bn, "AuthenticationErrorDetail", &from, detail, sizeof detail) != 1)
			detail[0] = '\0';
		if (code[0] == '\0') {
			from = 0;
			xml_next(body, bn, "Code", &from, (char *)(uintptr_t)rs->error_code,
			    sizeof rs->error_code);
		}
	}
	if (s->kind == SRC_AZURE || s->kind == SRC_TABLE) {
		if (strcmp(code, "ContainerNotFound") == 0)
			snprintf(adv, sizeof adv, ": container %s does not exist in account %s",
			    s->container, s->account);
		else if (strncmp(code, "AuthorizationPermissionMismatch", 31) == 0 ||
		    strcmp(code, "AuthorizationResourceTypeMismatch") == 0)
			snprintf(adv, sizeof adv, ": the %s lacks a permission (a backup needs "
			    "r and l; a restore into a container c and w)", s->au.sas ? "SAS" : "credential");
		else if (rs->status == 403 && az_sas_expired(&s->au))
			snprintf(adv, sizeof adv, ": the SAS expired at %s: make a new one", s->au.sas_expiry);
		else if (rs->status == 403 && s->au.sas)
			snprintf(adv, sizeof adv, ": the SAS is wrong, has expired, or lacks a "
			    "permission (a backup needs r and l)");
		else if (rs->status == 403)
			snprintf(adv, sizeof adv, ": the account key is wrong (not the key of "
			    "account %s), or this machine's clock is off", s->account);
		else if (rs->status == 404 && code[0] == '\0' && obj == NULL)
			snprintf(adv, sizeof adv, ": container %s does not exist in account %s",
			    s->container, s->account);
	} else {
		if (strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "InvalidAccessKeyId") == 0 ||
		    strcmp(code, "ExpiredToken") == 0 || strcmp(code, "InvalidToken") == 0)
			snprintf(adv, sizeof adv, ": the server rejects the credentials: check "
			    "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY%s and AWS_REGION (%s)",
			    s->s3.token_hdr ? ", AWS_SESSION_TOKEN" : "", s->s3.region);
		else if (strcmp(code, "AccessDenied") == 0 || (rs->status == 403 && code[0] == '\0'))
			snprintf(adv, sizeof adv, ": access denied: the credentials lack "
			    "permission on bucket %s (a backup needs s3:ListBucket and "
			    "s3:GetObject; a restore s3:PutObject)", s->bucket);
		else if (strcmp(code, "NoSuchBucket") == 0)
			snprintf(adv, sizeof adv, ": bucket %s does not exist", s->bucket);
		else if (strcmp(code, "RequestTimeTooSkewed") == 0)
			snprintf(adv, sizeof adv, ": this machine's clock is off: fix it");
	}
	errmsg("source %s: cannot %s%s: HTTP %ld%s%s%s", s->url, what, o ? o : "", rs->status,
	    code[0] ? " " : "", code, adv);
	free(o);
	return -1;
}

/* ---- open ---- */

static int open_azure(struct source *s, const char *rest)
{
	const char *slash = strchr(rest, '/'), *e;
	struct az_creds c = { 0 };
	int ret = -1;

	if (slash == NULL || slash == rest || slash[1] == '\0' || slash[1] == '/') {
		errmsg("source %s: expected azure://ACCOUNT/CONTAINER[/PREFIX] or "
		    "azure-table://ACCOUNT/TABLE", s->url);
		return -1;
	}
	s->account = xmemdup(rest, (size_t)(slash - rest) + 1);
	s->account[slash - rest] = '\0';
	e = strchr(slash + 1, '/');
	s->container = e ? xmemdup(slash + 1, (size_t)(e - slash)) : xstrdup(slash + 1);
	if (e)
		s->container[e - slash - 1] = '\0';
	s->prefix = e && e[1] ? xasprintf("%s/", e + 1) : xstrdup("");
	for (const char *p = s->account; *p; p++)
		if (!isalnum((unsigned char)*p)) {
			errmsg("source %s: account name %s is not valid (letters and digits)",
			    s->url, s->account);
			return -1;
		}
	if (s->kind == SRC_TABLE) {
		size_t tl = strlen(s->container);
		int okn = tl >= 3 && tl <= 63 && isalpha((unsigned char)s->container[0]);

		for (size_t i = 0; i < tl; i++)
			okn = okn && isalnum((unsigned char)s->container[i]);
		if (!okn || s->prefix[0]) {
			errmsg("source %s: expected azure-table://ACCOUNT/TABLE, the table name 3 to "
			    "63 letters and digits, beginning with a letter", s->url);
			return -1;
		}
	} else if (!az_container_ok(s->container)) {
		errmsg("source %s: container name %s is not valid: 3 to 63 lowercase letters, "
		    "digits and single hyphens", s->url, s->container);
		return -1;
	}
	if (az_creds_env("source", s->url, s->kind == SRC_TABLE, &c) != 0)
		goto out;
	if (!c.key && !c.sas) {
		errmsg("source %s: no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, "
		    "AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, or AZURE_STORAGE_SAS_TOKEN "
		    "(a SAS with permissions r and l is enough to back up)", s->url);
		goto out;
	}
	if (c.account && strcmp(c.account, s->account) != 0) {
		errmsg("source %s: the URL names account %s but the credentials are for account %s",
		    s->url, s->account, c.account);
		goto out;
	}
	if (az_endpoint("source", s->url, &c, s->account, s->kind == SRC_TABLE, &s->endpoint,
	    &s->path_base) != 0 || az_auth_set("source", s->url, &c, &s->au) != 0)
		goto out;
	ret = 0;
out:
	az_creds_free(&c);
	return ret;
}

static int open_s3(struct source *s, const char *rest)
{
	const char *slash = strchr(rest, '/');
	size_t bl = slash ? (size_t)(slash - rest) : strlen(rest);
	struct s3_env e;
	int path_style;

	s3_env_read(&e);
	if (bl == 0 || bl > 255) {
		errmsg("source %s: expected s3://BUCKET[/PREFIX]", s->url);
		return -1;
	}
	s->bucket = xmemdup(rest, bl + 1);
	s->bucket[bl] = '\0';
	for (const char *p = s->bucket; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_')) {
			errmsg("source %s: bucket name %s is not valid", s->url, s->bucket);
			return -1;
		}
	s->prefix = slash && slash[1] ? xasprintf("%s/", slash + 1) : xstrdup("");
	if (e.akey == NULL || e.secret == NULL) {
		errmsg("source %s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
		    "AWS_ENDPOINT_URL for a store other than AWS)", s->url);
		return -1;
	}
	if (strchr(e.akey, ':') || strpbrk(e.akey, "\r\n") || strpbrk(e.secret, "\r\n") ||
	    (e.token && strpbrk(e.token, "\r\n")) || strpbrk(e.region, "\r\n/:") ||
	    (e.endpoint && (strpbrk(e.endpoint, "\r\n?#") ||
	    (strncmp(e.endpoint, "http://", 7) != 0 && strncmp(e.endpoint, "https://", 8) != 0)))) {
		errmsg("source %s: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, "
		    "AWS_REGION or AWS_ENDPOINT_URL holds characters that cannot be right", s->url);
		return -1;
	}
	s3_auth_set(&e, &s->s3);
	s->base = s3_base(&e, s->bucket, &path_style);
	return 0;
}

struct source *source_open(const char *url)
{
	struct source *s = xcalloc(1, sizeof *s);
	size_t n;
	int rc;

	s->url = xstrdup(url);
	for (n = strlen(s->url); n > 0 && s->url[n - 1] == '/'; n--)
		s->url[n - 1] = '\0';
	if (strncmp(s->url, "azure://", 8) == 0) {
		s->kind = SRC_AZURE;
		rc = open_azure(s, s->url + 8);
	} else if (strncmp(s->url, "azure-table://", 14) == 0) {
		s->kind = SRC_TABLE;
		rc = open_azure(s, s->url + 14);
	} else if (strncmp(s->url, "s3://", 5) == 0) {
		s->kind = SRC_S3;
		rc = open_s3(s, s->url + 5);
	} else {
		errmsg("source %s: not a cloud source (azure://ACCOUNT/CONTAINER or s3://BUCKET)", url);
		rc = -1;
	}
	if (rc == 0 && (s->h = http_new()) == NULL)
		rc = -1;
	if (rc != 0) {
		source_close(s);
		return NULL;
	}
	return s;
}

void source_close(struct source *s)
{
	if (s == NULL)
		return;
	http_free(s->h);
	az_auth_wipe(&s->au);
	s3_auth_wipe(&s->s3);
	free(s->url);
	free(s->account);
	free(s->container);
	free(s->prefix);
	free(s->endpoint);
	free(s->path_base);
	free(s->bucket);
	free(s->base);
	free(s);
}

/* ---- list ---- */

static int list_azure(struct source *s, struct src_obj **v, size_t *n)
{
	struct buf page;
	char *marker = NULL, next[4096];
	int ret = 0;

	buf_init(&page, LIST_MAX);
	for (;;) {
		struct az_qp q[6];
		size_t nq = 0;
		struct http_resp rs;
		int rc;

		q[nq++] = (struct az_qp){ "restype", "container" };
		q[nq++] = (struct az_qp){ "comp", "list" };
		q[nq++] = (struct az_qp){ "include", "metadata" };
		q[nq++] = (struct az_qp){ "maxresults", "5000" };
		if (s->prefix[0])
			q[nq++] = (struct az_qp){ "prefix", s->prefix };
		if (marker)
			q[nq++] = (struct az_qp){ "marker", marker };
		page.len = 0;
		rc = src_az_request(s, "GET", NULL, q, nq, NULL, 0, NULL, 0, &page, NULL, &rs);
		if (rc != 0 || rs.status != 200) {
			ret = src_fail(s, rc, &rs, page.p, page.len, "list the blobs", NULL);
			break;
		}
		if (src_parse_azure_list((const char *)page.p, page.len, v, n, next, sizeof next) != 0) {
			errmsg("source %s: the answer to List Blobs is malformed", s->url);
			ret = -1;
			break;
		}
		if (next[0] == '\0')
			break;
		free(marker);
		marker = xstrdup(next);
	}
	free(marker);
	buf_free(&page);
	return ret;
}

static int list_s3(struct source *s, struct src_obj **v, size_t *n)
{
	struct buf page;
	char *token = xmalloc(4096), *pesc = url_escape(s->prefix, 0);
	int ret = 0, trunc;

	buf_init(&page, LIST_MAX);
	token[0] = '\0';
	for (;;) {
		struct http_resp rs;
		char *url, *tesc = NULL;
		int rc;

		if (token[0]) {
			tesc = url_escape(token, 0);
			url = xasprintf("%s?continuation-token=%s&list-type=2&max-keys=1000&prefix=%s",
			    s->base, tesc, pesc);
		} else {
			url = xasprintf("%s?list-type=2&max-keys=1000&prefix=%s", s->base, pesc);
		}
		page.len = 0;
		rc = src_s3_request(s, "GET", url, NULL, 0, NULL, 0, &page, NULL, &rs);
		free(url);
		free(tesc);
		if (rc != 0 || rs.status != 200) {
			ret = src_fail(s, rc, &rs, page.p, page.len, "list the objects", NULL);
			break;
		}
		if (src_parse_s3_list((const char *)page.p, page.len, v, n, &trunc, token, 4096) != 0) {
			errmsg("source %s: the answer to ListObjectsV2 is malformed", s->url);
			ret = -1;
			break;
		}
		if (!trunc)
			break;
	}
	buf_free(&page);
	free(token);
	free(pesc);
	return ret;
}

int source_list(struct source *s, struct src_obj **v, size_t *n)
{
	int rc;

	*v = NULL;
	*n = 0;
	rc = s->kind == SRC_AZURE ? list_azure(s, v, n) : list_s3(s, v, n);
	if (rc != 0) {
		src_objs_free(*v, *n);
		*v = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- HEAD ---- */

int source_head(struct source *s, struct src_obj *o)
{
	struct http_resp rs;
	struct buf rh;
	struct src_obj fresh;
	int rc;

	buf_init(&rh, SMALL_MAX);
	if (s->kind == SRC_AZURE) {
		rc = src_az_request(s, "HEAD", o->name, NULL, 0, NULL, 0, NULL, 0, NULL, &rh, &rs);
	} else {
		char *url = src_s3_object_url(s, o->name);

		rc = src_s3_request(s, "HEAD", url, NULL, 0, NULL, 0, NULL, &rh, &rs);
		free(url);
	}
	if (rc == 0 && rs.status == 404) {
		buf_free(&rh);
		return SRC_GONE;
	}
	if (rc != 0 || rs.status != 200) {
		buf_free(&rh);
		return src_fail(s, rc, &rs, NULL, 0, "read the properties of", o->name);
	}
	memset(&fresh, 0, sizeof fresh);
	if (src_parse_headers(s->kind, (const char *)rh.p, rh.len, &fresh) != 0 || fresh.etag[0] == '\0') {
		char *e = escape_bytes(o->name, o->name_len);

		errmsg("source %s: the properties of %s are malformed", s->url, e);
		free(e);
		src_obj_free(&fresh);
		buf_free(&rh);
		return -1;
	}
	buf_free(&rh);
	fresh.name = o->name;
	fresh.name_len = o->name_len;
	if (s->kind != SRC_AZURE || fresh.ctime_ns == 0)
		fresh.ctime_ns = fresh.mtime_ns;
	o->name = NULL;
	src_obj_free(o);
	*o = fresh;
	return 0;
}

/* ---- uploads ---- */

/* The property names source_put sends, and as which header. */
static const struct {
	const char *x;		/* after SRC_XATTR_PREFIX */
	const char *az;		/* Azure header on Put Blob / Put Block List */
	const char *s3;		/* S3 header on PutObject / CreateMultipartUpload */
} put_props[] = {
	{ "content-type", "x-ms-blob-content-type", "Content-Type" },
	{ "content-encoding", "x-ms-blob-content-encoding", "Content-Encoding" },
	{ "content-language", "x-ms-blob-content-language", "Content-Language" },
	{ "cache-control", "x-ms-blob-cache-control", "Cache-Control" },
	{ "content-disposition", "x-ms-blob-content-disposition", "Content-Disposition" },
	{ "content-md5", "x-ms-blob-content-md5", NULL },
};

static int token_ok(const char *k)
{
	if (*k == '\0')
		return 0;
	for (; *k; k++)
		if (!(isalnum((unsigned char)*k) || *k == '-' || *k == '_'))
			return 0;
	return 1;
}

/* put_headers(s, props, n, &h, &strs): the headers carrying props. */
static size_t put_headers(struct source *s, const char *name, const struct src_prop *props,
    uint32_t n, struct src_hdr **h, char ***strs, size_t *nstrs)
{
	size_t nh = 0, pl = strlen(SRC_XATTR_PREFIX), ml = strlen(SRC_X_META);

	*h = xcalloc((size_t)n + 4, sizeof **h);
	*strs = xcalloc((size_t)n + 1, sizeof **strs);
	*nstrs = 0;
	for (uint32_t i = 0; i < n; i++) {
		const char *x = props[i].name, *v = props[i].value;

		if (strncmp(x, SRC_XATTR_PREFIX, pl) != 0 || strpbrk(v, "\r\n") != NULL)
			continue;
		if (strncmp(x, SRC_X_META, ml) == 0) {
			const char *k = x + ml;

			if (!token_ok(k) || (s->kind == SRC_AZURE && isdigit((unsigned char)k[0]))) {
				char *e = escape_bytes(name, strlen(name));

				errmsg("warning: source %s: object %s: metadata key %s cannot be "
				    "sent; left out", s->url, e, k);
				free(e);
				continue;
			}
			(*strs)[*nstrs] = xasprintf("%s%s", s->kind == SRC_AZURE ? "x-ms-meta-" :
			    "x-amz-meta-", k);
			(*h)[nh++] = (struct src_hdr){ (*strs)[(*nstrs)++], v };
			continue;
		}
		for (size_t k = 0; k < sizeof put_props / sizeof put_props[0]; k++) {
			const char *hn = s->kind == SRC_AZURE ? put_props[k].az : put_props[k].s3;

			if (strcmp(x + pl, put_props[k].x) == 0 && hn && v[0])
				(*h)[nh++] = (struct src_hdr){ hn, v };
		}
	}
	return nh;
}

static int fill_all(int (*fill)(void *, uint8_t *, size_t), void *arg, uint8_t *p, size_t n)
{
	return n ? fill(arg, p, n) : 0;
}

static int put_azure(struct source *s, const char *full, const char *name,
    struct src_hdr *h, size_t nh, uint64_t size, int (*fill)(void *, uint8_t *, size_t),
    void *arg)
{
	struct http_resp rs;
	struct buf err;
	uint8_t *data = xmalloc(size < SRC_PART ? (size_t)size + 1 : SRC_PART);
	int rc, ret = -1;

	buf_init(&err, SMALL_MAX);
	h[nh++] = (struct src_hdr){ "Content-Type", "application/octet-stream" };
	if (size <= SRC_PART) {
		if (fill_all(fill, arg, data, (size_t)size) != 0)
			goto out;
		h[nh++] = (struct src_hdr){ "x-ms-blob-type", "BlockBlob" };
		rc = src_az_request(s, "PUT", full, NULL, 0, h, nh, data, (size_t)size, &err, NULL, &rs);
		if (rc == 0 && rs.status == 201)
			ret = 0;
		else
			src_fail(s, rc, &rs, err.p, err.len, "create blob", name);
	} else {
		struct buf list;
		uint64_t off = 0;
		size_t i = 0;
		struct src_hdr ct = { "Content-Type", "application/octet-stream" };

		buf_init(&list, SIZE_MAX);
		buf_append(&list, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>", 50);
		for (; off < size; i++) {
			size_t len = size - off < SRC_PART ? (size_t)(size - off) : SRC_PART;
			char raw[32], id[64], *line;
			struct az_qp q[2] = { { "comp", "block" }, { "blockid", id } };

			snprintf(raw, sizeof raw, "twofold-%010zu", i);
			sodium_bin2base64(id, sizeof id, (const uint8_t *)raw, strlen(raw),
			    sodium_base64_VARIANT_ORIGINAL);
			if (fill(arg, data, len) != 0) {
				buf_free(&list);
				goto out;
			}
			err.len = 0;
			rc = src_az_request(s, "PUT", full, q, 2, &ct, 1, data, len, &err, NULL, &rs);
			if (rc != 0 || rs.status != 201) {
				src_fail(s, rc, &rs, err.p, err.len, "upload a block of blob", name);
				buf_free(&list);
				goto out;
			}
			line = xasprintf("<Latest>%s</Latest>", id);
			buf_append(&list, line, strlen(line));
			free(line);
			off += len;
		}
		buf_append(&list, "</BlockList>", 12);
		{
			struct az_qp q[1] = { { "comp", "blocklist" } };

			h[nh - 1].v = "application/xml";
			err.len = 0;
			rc = src_az_request(s, "PUT", full, q, 1, h, nh, list.p, list.len, &err, NULL, &rs);
		}
		if (rc == 0 && rs.status == 201)
			ret = 0;
		else
			src_fail(s, rc, &rs, err.p, err.len, "commit the blocks of blob", name);
		buf_free(&list);
	}
out:
	free(data);
	buf_free(&err);
	return ret;
}

static int put_s3(struct source *s, const char *full, const char *name,
    struct src_hdr *h, size_t nh, uint64_t size, int (*fill)(void *, uint8_t *, size_t),
    void *arg)
{
	char *url = src_s3_object_url(s, full), *u = NULL;
	struct http_resp rs;
	struct buf out;
	uint8_t *data = xmalloc(size < SRC_PART ? (size_t)size + 1 : SRC_PART);
	int rc, ret = -1, have_ct = hval(h, nh, "Content-Type") != NULL;
	char upload_id[1024];
	struct buf body;
	char (*etags)[130] = NULL;
	size_t np = 0;

	buf_init(&out, SMALL_MAX);
	buf_init(&body, SIZE_MAX);
	if (!have_ct)
		h[nh++] = (struct src_hdr){ "Content-Type", "binary/octet-stream" };
	if (size <= SRC_PART) {
		if (fill_all(fill, arg, data, (size_t)size) != 0)
			goto out;
		rc = src_s3_request(s, "PUT", url, h, nh, data, (size_t)size, &out, NULL, &rs);
		if (rc == 0 && rs.status == 200)
			ret = 0;
		else
			src_fail(s, rc, &rs, out.p, out.len, "create object", name);
		goto out;
	}
	u = xasprintf("%s?uploads=", url);
	rc = src_s3_request(s, "POST", u, h, nh, NULL, 0, &out, NULL, &rs);
	free(u);
	u = NULL;
	{
		size_t from = 0;

		if (rc != 0 || rs.status != 200 || xml_next((const char *)out.p, out.len, "UploadId",
		    &from, upload_id, sizeof upload_id) != 1 || upload_id[0] == '\0') {
			src_fail(s, rc, &rs, out.p, out.len, "start a multipart upload of", name);
			goto out;
		}
	}
	{
		char *idesc = url_escape(upload_id, 0);
		uint64_t off = 0;

		for (np = 0; off < size; np++) {
			size_t len = size - off < SRC_PART ? (size_t)(size - off) : SRC_PART;
			struct src_hdr ct = { "Content-Type", "application/octet-stream" };

			if (fill(arg, data, len) != 0)
				break;
			u = xasprintf("%s?partNumber=%zu&uploadId=%s", url, np + 1, idesc);
			out.len = 0;
			rc = src_s3_request(s, "PUT", u, &ct, 1, data, len, &out, NULL, &rs);
			free(u);
			u = NULL;
			if (rc != 0 || rs.status != 200 || rs.etag[0] == '\0') {
				src_fail(s, rc, &rs, out.p, out.len, "upload a part of", name);
				break;
			}
			etags = xreallocarray(etags, np + 1, sizeof *etags);
			snprintf(etags[np], sizeof etags[np], "%s", rs.etag);
			off += len;
		}
		if (off == size) {
			buf_append(&body, "<CompleteMultipartUpload>", 25);
			for (size_t i = 0; i < np; i++) {
				char *line = xasprintf("<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
				    i + 1, etags[i]);

				buf_append(&body, line, strlen(line));
				free(line);
			}
			buf_append(&body, "</CompleteMultipartUpload>", 26);
			u = xasprintf("%s?uploadId=%s", url, idesc);
			out.len = 0;
			{
				struct src_hdr ct = { "Content-Type", "application/xml" };

				rc = src_s3_request(s, "POST", u, &ct, 1, body.p, body.len, &out, NULL, &rs);
			}
			if (rc == 0 && rs.status == 200 && memmem(out.p, out.len, "<Error>", 7) == NULL)
				ret = 0;
			else
				src_fail(s, rc, &rs, out.p, out.len, "complete the multipart upload of", name);
		}
		if (ret != 0) {
			free(u);
			u = xasprintf("%s?uploadId=%s", url, idesc);
			src_s3_request(s, "DELETE", u, NULL, 0, NULL, 0, NULL, NULL, &rs);
		}
		free(idesc);
	}
out:
	free(etags);
	free(u);
	free(url);
	free(data);
	buf_free(&out);
	buf_free(&body);
	return ret;
}

int source_put(struct source *s, const char *name, const struct src_prop *props, uint32_t n,
    uint64_t size, int (*fill)(void *arg, uint8_t *p, size_t k), void *arg)
{
	struct src_hdr *h;
	char **strs, *full = xasprintf("%s%s", s->prefix, name);
	size_t nh, ns;
	int rc;

	nh = put_headers(s, name, props, n, &h, &strs, &ns);
	if (s->kind == SRC_AZURE)
		rc = put_azure(s, full, full, h, nh, size, fill, arg);
	else
		rc = put_s3(s, full, full, h, nh, size, fill, arg);
	for (size_t i = 0; i < ns; i++)
		free(strs[i]);
	free(strs);
	free(h);
	free(full);
	return rc;
}
