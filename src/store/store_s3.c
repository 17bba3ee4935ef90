/* store_s3.c: a store in an S3 bucket (AWS S3, Ceph RGW, MinIO, ...).
 *
 * URL: s3://BUCKET[/PREFIX]; the object "data/ab/abcd..." is the key
 * "PREFIX/data/ab/abcd..." of BUCKET.  From the environment:
 *   AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL  e.g. http://127.0.0.1:7480 for
 *       non-AWS stores (path-style addressing, BASE/BUCKET/KEY); default
 *       https://s3.REGION.amazonaws.com with virtual-hosted addressing
 *       (https://BUCKET.s3.REGION.amazonaws.com/KEY) unless
 *       TWOFOLD_S3_PATH_STYLE=1 (or the bucket name holds a '.', which
 *       the TLS wildcard certificate would not cover);
 *       TWOFOLD_S3_PATH_STYLE=0 with an endpoint: virtual-hosted
 *       addressing there too, SCHEME://BUCKET.HOST[:PORT]/KEY;
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (sent as
 *       x-amz-security-token);
 *   AWS_REGION or AWS_DEFAULT_REGION (default us-east-1);
 *   TWOFOLD_S3_MULTIPART_THRESHOLD: objects larger than this many bytes go
 *       up by multipart upload (default 64 MiB; tests lower it).
 * Requests are signed with AWS Signature V4 by libcurl (CURLOPT_AWS_SIGV4);
 * every request carries x-amz-content-sha256 with the SHA-256 of its body,
 * so the server also checks the bytes it stores.  Secrets are never
 * printed: messages show the store URL, the bucket and the object only.
 *
 * Create-only: PutObject carries If-None-Match: *, and S3 answers 412 when
 * the key exists (AWS since 2024, Ceph RGW, MinIO).  A retried PUT whose
 * first try succeeded but whose answer was lost also sees 412 and reports
 * "exists", which is harmless: the object holds our bytes.  Large objects
 * use multipart upload (16 MiB parts); CompleteMultipartUpload also carries
 * If-None-Match: *, but not every server honours it there (Ceph 16 ignores
 * it), so the key is checked with HEAD before the upload starts: between
 * that HEAD and the completion a concurrent writer of the same name may be
 * overwritten.  Names are content hashes or otherwise unique, so such a
 * writer stores the same bytes; we accept that small race.  A failed
 * multipart upload is aborted so that no parts linger.
 *
 * S3 has no directories: store_create only makes the bucket (if needed);
 * a repository exists when some key lies under PREFIX/config/.
 *
 * Thread safety: the struct s3 is read-only after store_s3_open; the HTTP
 * client shares its connection cache between threads (http.c). */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "store/cloud_auth.h"
#include "store/http.h"
#include "util/util.h"

#define S3_SINGLE_MAX ((uint64_t)64 << 20)	/* larger: multipart */
#define S3_PART_SIZE ((size_t)16 << 20)
#define S3_LIST_MAX ((size_t)16 << 20)	/* one ListObjectsV2 answer */
#define S3_SMALL_MAX ((size_t)1 << 20)	/* other XML answers */
#define S3_KEY_MAX 2048			/* S3 keys are at most 1024 bytes */

struct s3 {
	struct http *h;
	char *bucket;
	char *prefix;		/* "" or "PREFIX/" */
	char *base;		/* URL of the bucket, no trailing '/' */
	char *bucket_url;	/* for bucket-level requests */
	struct s3_auth au;	/* region, SigV4 provider, credentials */
	uint64_t single_max;
};

static const struct s3 *S(const struct store *s)
{
	return s->priv;
}

/* request(c, method, url, extra, body, n, out, rs): one signed request.
 * extra: a NULL-terminated list of additional header lines, may be NULL.
 * Returns http_do's value. */
static int request(const struct s3 *c, const char *method, const char *url,
    const char *const *extra, const void *body, size_t n, struct buf *out,
    struct http_resp *rs)
{
	struct curl_slist *hl = NULL, *t;
	char line[128];
	int ret, oom = 0;

	s3_content_sha256(body, n, line, sizeof line);
#define ADD(l) do { if ((t = curl_slist_append(hl, (l))) == NULL) oom = 1; else hl = t; } while (0)
	ADD(line);
	if (c->au.token_hdr)
		ADD(c->au.token_hdr);
	for (size_t i = 0; extra && extra[i]; i++)
		ADD(extra[i]);
#undef ADD
	if (oom) {
		curl_slist_free_all(hl);
		memset(rs, 0, sizeof *rs);
		snprintf(rs->curl_error, sizeof rs->curl_error, "out of memory");
		return -1;
	}
	ret = cloud_do(c->h, &c->au, method, url, hl, body, n, out, NULL, rs);
	curl_slist_free_all(hl);
	return ret;
}

/* object_url(c, name): a new string, the URL of the object name. */
static char *object_url(const struct s3 *c, const char *name)
{
	char *key = xasprintf("%s%s", c->prefix, name);
	char *esc = url_escape(key, 1);
	char *url = xasprintf("%s/%s", c->base, esc);

	free(esc);
	free(key);
	return url;
}

/* fail(s, rc, rs, what, perm): report a failed request: what is "read
 * object NAME" or similar; perm the IAM permission it needs.  Turns the
 * S3 error code into advice.  Returns -1. */
static int fail(const struct store *s, int rc, const struct http_resp *rs,
    const char *what, const char *perm)
{
	const struct s3 *c = S(s);
	const char *code = rs->error_code;

	if (rc != 0) {
		errmsg("cannot %s in store %s: %s", what, s->url,
		    rs->curl_error[0] ? rs->curl_error : "network error");
	} else if (strcmp(code, "SignatureDoesNotMatch") == 0 ||
	    strcmp(code, "InvalidAccessKeyId") == 0 ||
	    strcmp(code, "InvalidToken") == 0 || strcmp(code, "ExpiredToken") == 0 ||
	    strcmp(code, "TokenRefreshRequired") == 0) {
		errmsg("cannot %s in store %s: the server rejects the credentials "
		    "(%s): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY%s and AWS_REGION (%s)",
		    what, s->url, code, c->au.token_hdr ? ", AWS_SESSION_TOKEN" : "", c->au.region);
	} else if (strcmp(code, "AccessDenied") == 0 || strcmp(code, "AllAccessDisabled") == 0 ||
	    (rs->status == 403 && code[0] == '\0')) {
		errmsg("cannot %s in store %s: access denied (%s): the credentials "
		    "lack permission %s on bucket %s, or are wrong",
		    what, s->url, code[0] ? code : "HTTP 403", perm, c->bucket);
	} else if (strcmp(code, "NoSuchBucket") == 0) {
		errmsg("cannot %s in store %s: bucket %s does not exist: run "
		    "twofold init to create it, or create it yourself", what, s->url, c->bucket);
	} else if (strcmp(code, "RequestTimeTooSkewed") == 0 ||
	    strcmp(code, "RequestExpired") == 0) {
		errmsg("cannot %s in store %s: the server says this machine's clock "
		    "is wrong (%s): fix the clock (e.g. with NTP)", what, s->url, code);
	} else if (strcmp(code, "PermanentRedirect") == 0 ||
	    strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
	    strcmp(code, "IllegalLocationConstraintException") == 0) {
		errmsg("cannot %s in store %s: %s: bucket %s is probably in another "
		    "region than %s: set AWS_REGION", what, s->url, code, c->bucket, c->au.region);
	} else {
		errmsg("cannot %s in store %s: HTTP status %ld%s%s%s", what, s->url,
		    rs->status, code[0] ? " (" : "", code, code[0] ? ")" : "");
	}
	return -1;
}

/* body_error(out, start, rs): S3 may answer 200 and put an <Error> in the
 * body (CompleteMultipartUpload, CopyObject).  1 (and rs->error_code set)
 * if it did. */
static int body_error(const struct buf *out, size_t start, struct http_resp *rs)
{
	const char *doc = (const char *)out->p + start;
	size_t n = out->len - start, from = 0;

	if (n == 0 || memmem(doc, n, "<Error>", 7) == NULL)
		return 0;
	if (xml_next(doc, n, "Code", &from, rs->error_code, sizeof rs->error_code) != 1)
		snprintf(rs->error_code, sizeof rs->error_code, "InternalError");
	return 1;
}

/* bucket_missing(s): after a 404 to HEAD (which has no body to say
 * whether the key or the bucket is missing): 1 if the bucket is missing
 * (after a message naming what), 0 if it exists, -1 after a message. */
static int bucket_missing(const struct store *s, const char *what)
{
	const struct s3 *c = S(s);
	struct http_resp rs;
	int rc = request(c, "HEAD", c->bucket_url, NULL, NULL, 0, NULL, &rs);

	if (rc == 0 && rs.status == 404) {
		snprintf(rs.error_code, sizeof rs.error_code, "NoSuchBucket");
		return fail(s, 0, &rs, what, "s3:ListBucket"), 1;
	}
	return 0;	/* exists, or cannot tell: the object is missing */
}

/* ---- put ---- */

static int put_single(struct store *s, const char *name, const void *p, size_t n)
{
	const struct s3 *c = S(s);
	static const char *const hdr[] = {
		"If-None-Match: *", "Content-Type: application/octet-stream", NULL,
	};
	char *url = object_url(c, name), *what;
	struct http_resp rs;
	struct buf out;
	int rc, ret = -1;

	buf_init(&out, S3_SMALL_MAX);
	for (int conflict = 0;; conflict++) {
		out.len = 0;
		rc = request(c, "PUT", url, hdr, p ? p : "", n, &out, &rs);
		/* 409 ConditionalRequestConflict: another conditional write
		 * of this key is in flight; AWS asks us to try again */
		if (rc == 0 && rs.status == 409 && conflict < 5 &&
		    strcmp(rs.error_code, "ConditionalRequestConflict") == 0) {
			struct timespec ts = { 0, 200000000L << (conflict < 2 ? conflict : 2) };

			nanosleep(&ts, NULL);
			continue;
		}
		break;
	}
	if (rc == 0 && rs.status >= 200 && rs.status < 300)
		ret = 0;
	else if (rc == 0 && rs.status == 412)
		ret = 1;
	else {
		what = xasprintf("write object %s", name);
		fail(s, rc, &rs, what, "s3:PutObject");
		free(what);
	}
	buf_free(&out);
	free(url);
	return ret;
}

static void mp_abort(const struct store *s, const char *name, const char *url,
    const char *upload_id)
{
	const struct s3 *c = S(s);
	char *id = url_escape(upload_id, 0);
	char *u = xasprintf("%s?uploadId=%s", url, id);
	struct http_resp rs;
	int rc = request(c, "DELETE", u, NULL, NULL, 0, NULL, &rs);

	if (rc != 0 || (rs.status != 204 && rs.status != 200 && rs.status != 404))
		errmsg("store %s: could not abort the multipart upload of object %s "
		    "(upload ID %s); a bucket lifecycle rule for incomplete uploads "
		    "removes its parts", s->url, name, upload_id);
	free(u);
	free(id);
}

static int put_multipart(struct store *s, const char *name, const void *p, size_t n)
{
	const struct s3 *c = S(s);
	const uint8_t *b = p;
	char *url = object_url(c, name), *u = NULL, *id = NULL, *what = NULL;
	char upload_id[1024];
	size_t nparts = (n + S3_PART_SIZE - 1) / S3_PART_SIZE, from = 0;
	char (*etags)[128] = NULL;
	struct http_resp rs;
	struct buf out, body;
	int rc, ret = -1, started = 0;

	buf_init(&out, S3_SMALL_MAX);
	buf_init(&body, S3_SMALL_MAX);

	/* exists already?  (see the comment at the top about the race) */
	rc = request(c, "HEAD", url, NULL, NULL, 0, NULL, &rs);
	if (rc == 0 && rs.status == 200) {
		ret = 1;
		goto out;
	}
	if (rc != 0 || rs.status != 404) {
		what = xasprintf("look up object %s", name);
		fail(s, rc, &rs, what, "s3:GetObject");
		goto out;
	}

	u = xasprintf("%s?uploads=", url);
	{
		static const char *const hdr[] = { "Content-Type: application/octet-stream", NULL };

		rc = request(c, "POST", u, hdr, NULL, 0, &out, &rs);
	}
	free(u);
	u = NULL;
	if (rc != 0 || rs.status != 200) {
		what = xasprintf("start a multipart upload of object %s", name);
		fail(s, rc, &rs, what, "s3:PutObject");
		goto out;
	}
	if (xml_next((const char *)out.p, out.len, "UploadId", &from, upload_id, sizeof upload_id) != 1 ||
	    upload_id[0] == '\0') {
		errmsg("store %s: no upload ID in the answer to a multipart upload of object %s",
		    s->url, name);
		goto out;
	}
	started = 1;
	id = url_escape(upload_id, 0);
	etags = xcalloc(nparts, sizeof *etags);
	for (size_t i = 0; i < nparts; i++) {
		size_t off = i * S3_PART_SIZE;
		size_t len = n - off < S3_PART_SIZE ? n - off : S3_PART_SIZE;

		u = xasprintf("%s?partNumber=%zu&uploadId=%s", url, i + 1, id);
		rc = request(c, "PUT", u, NULL, b + off, len, NULL, &rs);
		free(u);
		u = NULL;
		if (rc != 0 || rs.status != 200 || rs.etag[0] == '\0') {
			if (rc == 0 && rs.status == 200)
				rs.status = 0;	/* reported below as "HTTP status 0" */
			what = xasprintf("upload part %zu of %zu of object %s", i + 1, nparts, name);
			fail(s, rc, &rs, what, "s3:PutObject");
			goto out;
		}
		memcpy(etags[i], rs.etag, sizeof etags[i]);
	}
	buf_append(&body, "<CompleteMultipartUpload>", 25);
	for (size_t i = 0; i < nparts; i++) {
		char part[256];
		const char *e = etags[i];
		int k;

		/* the ETag as received, quotes and all; escape nothing else */
		if (strpbrk(e, "<>&") != NULL) {
			errmsg("store %s: strange ETag for part %zu of object %s", s->url, i + 1, name);
			goto out;
		}
		k = snprintf(part, sizeof part, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
		    i + 1, e);
		if (k < 0 || (size_t)k >= sizeof part || buf_append(&body, part, (size_t)k) != 0) {
			errmsg("store %s: cannot build the part list of object %s", s->url, name);
			goto out;
		}
	}
	if (buf_append(&body, "</CompleteMultipartUpload>", 26) != 0) {
		errmsg("store %s: cannot build the part list of object %s", s->url, name);
		goto out;
	}
	u = xasprintf("%s?uploadId=%s", url, id);
	{
		static const char *const hdr[] = {
			"If-None-Match: *", "Content-Type: application/xml", NULL,
		};

		out.len = 0;
		rc = request(c, "POST", u, hdr, body.p, body.len, &out, &rs);
	}
	if (rc == 0 && rs.status == 200 && body_error(&out, 0, &rs))
		rs.status = 500;	/* an error inside a 200 answer */
	if (rc == 0 && rs.status == 200) {
		started = 0;
		ret = 0;
	} else if (rc == 0 && rs.status == 412) {
		ret = 1;	/* a concurrent writer won; abort ours */
	} else if (rc == 0 && rs.status == 404 && strcmp(rs.error_code, "NoSuchUpload") == 0) {
		/* a retry of a completion that went through the first time */
		struct http_resp hs;

		if (request(c, "HEAD", url, NULL, NULL, 0, NULL, &hs) == 0 && hs.status == 200 &&
		    hs.content_length == n) {
			started = 0;
			ret = 0;
		} else {
			what = xasprintf("complete the multipart upload of object %s", name);
			fail(s, rc, &rs, what, "s3:PutObject");
		}
	} else {
		what = xasprintf("complete the multipart upload of object %s", name);
		fail(s, rc, &rs, what, "s3:PutObject");
	}
out:
	if (started)
		mp_abort(s, name, url, upload_id);
	free(etags);
	free(id);
	free(u);
	free(what);
	free(url);
	buf_free(&out);
	buf_free(&body);
	return ret;
}

static int s3_put(struct store *s, const char *name, const void *p, size_t n)
{
	if ((uint64_t)n > S(s)->single_max)
		return put_multipart(s, name, p, n);
	return put_single(s, name, p, n);
}

/* ---- stat, get, delete ---- */

static int s3_stat(struct store *s, const char *name, uint64_t *size)
{
	const struct s3 *c = S(s);
	char *url = object_url(c, name), *what = xasprintf("stat object %s", name);
	struct http_resp rs;
	int rc = request(c, "HEAD", url, NULL, NULL, 0, NULL, &rs), ret;

	if (rc == 0 && rs.status == 200 && rs.content_length != UINT64_MAX) {
		*size = rs.content_length;
		ret = 0;
	} else if (rc == 0 && rs.status == 200) {
		errmsg("cannot %s in store %s: the answer has no Content-Length", what, s->url);
		ret = -1;
	} else if (rc == 0 && rs.status == 404) {
		ret = bucket_missing(s, what) ? -1 : 1;
	} else {
		ret = fail(s, rc, &rs, what, "s3:GetObject");
	}
	free(what);
	free(url);
	return ret;
}

static int truncated(const struct store *s, const char *name, uint64_t size, uint64_t end)
{
	errmsg("object %s in %s is truncated: has %ju bytes, wanted up to %ju",
	    name, s->url, (uintmax_t)size, (uintmax_t)end);
	return -1;
}

static int s3_get(struct store *s, const char *name, uint64_t off, uint64_t len, struct buf *out)
{
	const struct s3 *c = S(s);
	size_t start = out->len;
	uint64_t got, size;
	char range[80], *url, *what;
	const char *hdr[2] = { NULL, NULL };
	struct http_resp rs;
	int rc, ret = -1;

	if (len == 0) {
		/* nothing to read; the range must still lie inside */
		rc = s3_stat(s, name, &size);
		if (rc != 0)
			return rc;
		return off > size ? truncated(s, name, size, off) : 0;
	}
	if (len != UINT64_MAX && len > UINT64_MAX - off)
		return truncated(s, name, 0, UINT64_MAX);
	if (len != UINT64_MAX && len > out->max - out->len) {
		errmsg("object %s in store %s: %ju bytes do not fit in the buffer "
		    "(%zu of at most %zu bytes used)", name, s->url,
		    (uintmax_t)len, out->len, out->max);
		return -1;
	}
	if (off != 0 || len != UINT64_MAX) {
		if (len == UINT64_MAX)
			snprintf(range, sizeof range, "Range: bytes=%ju-", (uintmax_t)off);
		else
			snprintf(range, sizeof range, "Range: bytes=%ju-%ju",
			    (uintmax_t)off, (uintmax_t)(off + len - 1));
		hdr[0] = range;
	}
	url = object_url(c, name);
	what = xasprintf("read object %s", name);
	rc = request(c, "GET", url, hdr, NULL, 0, out, &rs);
	if (rc != 0 && out->overflow) {
		errmsg("object %s in store %s does not fit in the buffer (at most %zu bytes)",
		    name, s->url, out->max);
		goto done;
	}
	if (rc == 0 && rs.status == 404 && strcmp(rs.error_code, "NoSuchBucket") != 0) {
		ret = 1;
		goto done;
	}
	if (rc == 0 && rs.status == 416) {
		/* the range starts at or past the end */
		out->len = start;
		if (s3_stat(s, name, &size) != 0)
			goto done;
		if (len == UINT64_MAX && off == size)
			ret = 0;	/* nothing left to read */
		else
			truncated(s, name, size, len == UINT64_MAX ? off : off + len);
		goto done;
	}
	if (rc != 0 || (rs.status != 200 && rs.status != 206)) {
		out->len = start;
		fail(s, rc, &rs, what, "s3:GetObject");
		goto done;
	}
	got = out->len - start;
	if (rs.status == 200 && hdr[0] != NULL) {
		/* the server ignored the range: cut it out of the whole object */
		uint64_t keep;

		if (off > got || (len != UINT64_MAX && len > got - off)) {
			out->len = start;
			truncated(s, name, got, len == UINT64_MAX ? off : off + len);
			goto done;
		}
		keep = len == UINT64_MAX ? got - off : len;
		memmove(out->p + start, out->p + start + off, (size_t)keep);
		out->len = start + (size_t)keep;
		got = keep;
	}
	if (rs.content_length != UINT64_MAX && rs.status == 206 && rs.content_length != got) {
		out->len = start;
		errmsg("object %s in store %s: the answer was cut short (%ju of %ju bytes)",
		    name, s->url, (uintmax_t)got, (uintmax_t)rs.content_length);
		goto done;
	}
	if (len != UINT64_MAX && got != len) {
		out->len = start;
		truncated(s, name, off + got, off + len);
		goto done;
	}
	ret = 0;
done:
	free(what);
	free(url);
	return ret;
}

static int s3_delete(struct store *s, const char *name)
{
	const struct s3 *c = S(s);
	char *url = object_url(c, name), *what = xasprintf("delete object %s", name);
	struct http_resp rs;
	int rc, ret = -1;

	/* S3 answers 204 to a DELETE of a missing key: look first */
	rc = request(c, "HEAD", url, NULL, NULL, 0, NULL, &rs);
	if (rc == 0 && rs.status == 404) {
		ret = bucket_missing(s, what) ? -1 : 1;
		goto out;
	}
	if (rc != 0 || rs.status != 200) {
		fail(s, rc, &rs, what, "s3:GetObject");
		goto out;
	}
	rc = request(c, "DELETE", url, NULL, NULL, 0, NULL, &rs);
	if (rc == 0 && (rs.status == 204 || rs.status == 200))
		ret = 0;
	else
		fail(s, rc, &rs, what, "s3:DeleteObject");
out:
	free(what);
	free(url);
	return ret;
}

/* ---- list ---- */

/* list_keys(s, prefix, max_keys, fn, arg): ListObjectsV2 over every key
 * starting with PREFIX/prefix; fn gets names relative to PREFIX.  Keys
 * that are no valid object names are skipped.  0, fn's non-zero value,
 * or -1 after a message. */
static int list_keys(struct store *s, const char *prefix, int max_keys, store_list_fn fn, void *arg)
{
	const struct s3 *c = S(s);
	char *full = xasprintf("%s%s", c->prefix, prefix);
	char *pesc = url_escape(full, 0);
	char *what = xasprintf("list %s* in bucket %s", full, c->bucket);
	char *token = xmalloc(S3_KEY_MAX), *key = xmalloc(S3_KEY_MAX);
	size_t plen = strlen(c->prefix);
	struct buf out;
	int ret = 0;

	buf_init(&out, S3_LIST_MAX);
	token[0] = '\0';
	for (;;) {
		char *url, *tesc = NULL, sz[32], trunc[16];
		const char *doc;
		struct http_resp rs;
		size_t from = 0, n;
		int rc, more;

		if (token[0]) {
			tesc = url_escape(token, 0);
			url = xasprintf("%s?continuation-token=%s&list-type=2&max-keys=%d&prefix=%s",
			    c->bucket_url, tesc, max_keys, pesc);
		} else {
			url = xasprintf("%s?list-type=2&max-keys=%d&prefix=%s",
			    c->bucket_url, max_keys, pesc);
		}
		out.len = 0;
		rc = request(c, "GET", url, NULL, NULL, 0, &out, &rs);
		free(url);
		free(tesc);
		if (rc != 0 || rs.status != 200) {
			ret = fail(s, rc, &rs, what, "s3:ListBucket");
			break;
		}
		doc = (const char *)out.p;
		n = out.len;
		for (;;) {
			uint64_t size;
			int r = xml_next(doc, n, "Key", &from, key, S3_KEY_MAX);

			if (r == 0)
				break;
			if (r < 0 || xml_next(doc, n, "Size", &from, sz, sizeof sz) != 1 ||
			    parse_u64(sz, &size) != 0) {
				errmsg("cannot %s in store %s: the server's answer is malformed",
				    what, s->url);
				ret = -1;
				break;
			}
			if (strncmp(key, c->prefix, plen) != 0 ||
			    strncmp(key + plen, prefix, strlen(prefix)) != 0 ||
			    !store_name_ok(key + plen))
				continue;	/* not an object of this store */
			ret = fn(arg, key + plen, size);
			if (ret != 0)
				break;
		}
		if (ret != 0)
			break;
		from = 0;
		more = xml_next(doc, n, "IsTruncated", &from, trunc, sizeof trunc) == 1 &&
		    strcmp(trunc, "true") == 0;
		if (!more)
			break;
		from = 0;
		if (xml_next(doc, n, "NextContinuationToken", &from, token, S3_KEY_MAX) != 1 ||
		    token[0] == '\0') {
			errmsg("cannot %s in store %s: the answer is truncated but has no "
			    "continuation token", what, s->url);
			ret = -1;
			break;
		}
	}
	buf_free(&out);
	free(key);
	free(token);
	free(what);
	free(pesc);
	free(full);
	return ret;
}

static int s3_list(struct store *s, const char *prefix, store_list_fn fn, void *arg)
{
	return list_keys(s, prefix, 1000, fn, arg);
}

/* ---- create ---- */

static int s3_create(struct store *s)
{
	const struct s3 *c = S(s);
	struct http_resp rs;
	struct buf out;
	char *body = NULL, *what;
	int rc, found = 0;

	/* the bucket may exist already (and the credentials may lack
	 * s3:CreateBucket): look for a repository first */
	{
		char *full = xasprintf("%sconfig/", c->prefix);
		char *pesc = url_escape(full, 0);
		char *url = xasprintf("%s?list-type=2&max-keys=1&prefix=%s", c->bucket_url, pesc);
		char key[S3_KEY_MAX];
		size_t from = 0;

		buf_init(&out, S3_LIST_MAX);
		rc = request(c, "GET", url, NULL, NULL, 0, &out, &rs);
		if (rc == 0 && rs.status == 200)
			found = xml_next((const char *)out.p, out.len, "Key", &from, key, sizeof key) != 0;
		free(url);
		free(pesc);
		free(full);
		buf_free(&out);
	}
	if (rc == 0 && rs.status == 200)
		return found ? 1 : 0;
	if (rc != 0 || rs.status != 404 || strcmp(rs.error_code, "NoSuchBucket") != 0) {
		what = xasprintf("look for a repository in bucket %s", c->bucket);
		fail(s, rc, &rs, what, "s3:ListBucket");
		free(what);
		return -1;
	}
	if (strcmp(c->au.region, "us-east-1") != 0)
		body = xasprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		    "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>", c->au.region);
	buf_init(&out, S3_SMALL_MAX);
	{
		static const char *const hdr[] = { "Content-Type: application/xml", NULL };

		rc = request(c, "PUT", c->bucket_url, body ? hdr : NULL,
		    body ? body : "", body ? strlen(body) : 0, &out, &rs);
	}
	buf_free(&out);
	free(body);
	if (rc == 0 && (rs.status == 200 ||
	    (rs.status == 409 && strcmp(rs.error_code, "BucketAlreadyOwnedByYou") == 0)))
		return 0;
	if (rc == 0 && rs.status == 409 && strcmp(rs.error_code, "BucketAlreadyExists") == 0) {
		errmsg("cannot create bucket %s for store %s: the name is taken by "
		    "another account (bucket names are global): choose another", c->bucket, s->url);
		return -1;
	}
	what = xasprintf("create bucket %s", c->bucket);
	if (rc == 0 && strcmp(rs.error_code, "NoSuchBucket") == 0)
		rs.error_code[0] = '\0';
	fail(s, rc, &rs, what, "s3:CreateBucket");
	free(what);
	return -1;
}

/* ---- open, close ---- */

static void s3_free(struct s3 *c)
{
	if (c == NULL)
		return;
	http_free(c->h);
	free(c->bucket);
	free(c->prefix);
	free(c->base);
	free(c->bucket_url);
	s3_auth_wipe(&c->au);
	free(c);
}

static void s3_close(struct store *s)
{
	s3_free(s->priv);
	s->priv = NULL;
}

/* s3_overwrite: PutObject without If-None-Match (the access probe only). */
static int s3_overwrite(struct store *s, const char *name, const void *p, size_t n)
{
	const struct s3 *c = S(s);
	static const char *const hdr[] = { "Content-Type: application/octet-stream", NULL };
	char *url = object_url(c, name);
	struct http_resp rs;
	struct buf out;
	int rc;

	buf_init(&out, S3_SMALL_MAX);
	rc = request(c, "PUT", url, hdr, p ? p : "", n, &out, &rs);
	buf_free(&out);
	free(url);
	return rc == 0 && rs.status >= 200 && rs.status < 300 ? 0 : -1;
}

static const struct store_ops s3_ops = {
	.kind = "s3",
	.create = s3_create,
	.put = s3_put,
	.get = s3_get,
	.stat = s3_stat,
	.list = s3_list,
	.del = s3_delete,
	.overwrite = s3_overwrite,
	.close = s3_close,
};

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

static int bucket_ok(const char *b, size_t n)
{
	if (n < 1 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = b[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_'))
			return 0;
	}
	return 1;
}

/* header_ok(v): no CR, LF or NUL that could split a header line. */
static int header_ok(const char *v)
{
	return strpbrk(v, "\r\n") == NULL;
}

int store_s3_open(struct store *s, const char *rest)
{
	const char *slash = strchr(rest, '/');
	size_t bl = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *th = env("TWOFOLD_S3_MULTIPART_THRESHOLD");
	struct s3_env e;
	char *pfx;
	struct s3 *c;
	size_t pl;
	uint64_t v;
	int path_style;

	s3_env_read(&e);
	if (!bucket_ok(rest, bl)) {
		errmsg("store URL %s: expected s3://BUCKET[/PREFIX] with a bucket name "
		    "of letters, digits, '.', '-' and '_'", s->url);
		return -1;
	}
	/* the prefix, without leading or trailing slashes, must itself be
	 * a valid object name so that every key is one */
	pfx = xstrdup(slash ? slash + 1 : "");
	pl = strlen(pfx);
	while (pl > 0 && pfx[pl - 1] == '/')
		pfx[--pl] = '\0';
	if (pl > 0 && (!store_name_ok(pfx) || pl > 512)) {
		errmsg("store URL %s: the prefix %s must be a path of [a-z0-9/_.-] "
		    "with no empty component and none beginning with '.'", s->url, pfx);
		free(pfx);
		return -1;
	}
	if (e.akey == NULL || e.secret == NULL) {
		errmsg("store %s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
		    "(and AWS_ENDPOINT_URL for a store other than AWS)", s->url);
		free(pfx);
		return -1;
	}
	if (strchr(e.akey, ':') != NULL || !header_ok(e.akey) || !header_ok(e.secret) ||
	    (e.token && !header_ok(e.token)) || !bucket_ok(e.region, strlen(e.region)) ||
	    (e.endpoint && (!header_ok(e.endpoint) || strpbrk(e.endpoint, "?#") != NULL))) {
		errmsg("store %s: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
		    "AWS_SESSION_TOKEN, AWS_REGION or AWS_ENDPOINT_URL holds characters "
		    "that cannot be right", s->url);
		free(pfx);
		return -1;
	}
	if (e.endpoint && strncmp(e.endpoint, "http://", 7) != 0 &&
	    strncmp(e.endpoint, "https://", 8) != 0) {
		errmsg("store %s: AWS_ENDPOINT_URL %s must begin with http:// or https://",
		    s->url, e.endpoint);
		free(pfx);
		return -1;
	}
	c = xcalloc(1, sizeof *c);
	c->bucket = xmemdup(rest, bl + 1);
	c->bucket[bl] = '\0';
	c->prefix = pl ? xasprintf("%s/", pfx) : xstrdup("");
	free(pfx);
	s3_auth_set(&e, &c->au);
	c->single_max = S3_SINGLE_MAX;
	if (th != NULL && parse_u64(th, &v) == 0 && v > 0)
		c->single_max = v;
	c->base = s3_base(&e, c->bucket, &path_style);
	c->bucket_url = path_style ? xstrdup(c->base) : xasprintf("%s/", c->base);
	c->h = http_new();
	if (c->h == NULL) {
		s3_free(c);
		return -1;
	}
	s->ops = &s3_ops;
	s->priv = c;
	return 0;
}
