/* store_azure.c: a store in an Azure Blob Storage container.
 *
 * URL: azure://ACCOUNT/CONTAINER[/PREFIX]; the object NAME is the block
 * blob PREFIX/NAME (or NAME without a prefix).
 *
 * Credentials, first match wins:
 *   AZURE_STORAGE_CONNECTION_STRING  AccountName, AccountKey,
 *       SharedAccessSignature, BlobEndpoint, DefaultEndpointsProtocol,
 *       EndpointSuffix (or UseDevelopmentStorage=true for Azurite on
 *       127.0.0.1:10000);
 *   AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY  Shared Key;
 *   AZURE_STORAGE_SAS_TOKEN  a SAS (service or account) for the container.
 * The endpoint is the connection string's BlobEndpoint, else
 * AZURE_STORAGE_BLOB_ENDPOINT, else PROTOCOL://ACCOUNT.blob.SUFFIX
 * (https, core.windows.net).  An endpoint with a path (an emulator:
 * http://127.0.0.1:10000/devstoreaccount1) gives path-style URLs.
 *
 * Shared Key requests are signed with HMAC-SHA256 over the documented
 * string-to-sign; SAS requests carry the token in the query.  Keys and SAS
 * tokens never appear in messages (only the store URL does).
 *
 * Objects are created with If-None-Match: * (Put Blob up to PUT_MAX bytes,
 * otherwise Put Block in BLOCK_SIZE pieces with random block IDs, so that
 * concurrent writers of one name never mix their blocks, then Put Block
 * List with If-None-Match: *): 409 BlobAlreadyExists means "exists".
 * TWOFOLD_AZURE_PUT_MAX and TWOFOLD_AZURE_BLOCK_SIZE (bytes) change the two
 * sizes, for tests.
 *
 * Thread safety: the state is read-only after store_azure_open, and the
 * http client is shared safely by all threads (http.h). */
#include "store/store_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "store/cloud_auth.h"
#include "store/http.h"
#include "util/util.h"

#define PUT_MAX ((size_t)32 << 20)
#define BLOCK_SIZE ((size_t)8 << 20)
#define LIST_MAX_BYTES ((size_t)64 << 20)

struct az {
	char *account;
	char *container;
	char *prefix;		/* "" or "PREFIX/" */
	char *endpoint;		/* scheme://host[:port][/path], no trailing '/' */
	char *path_base;	/* the endpoint's path ("" or "/devstoreaccount1") */
	struct az_auth au;	/* account key or SAS */
	size_t put_max;		/* larger objects go up in blocks */
	size_t block_size;
	struct http *h;
};

static struct az *A(const struct store *s)
{
	return s->priv;
}

/* Extra request headers. */
struct hdrs {
	const char *if_none_match;
	const char *range;	/* x-ms-range value */
	int block_blob;		/* x-ms-blob-type: BlockBlob */
	const char *content_type;
};

/* ---- requests ---- */

/* sign_head(sts, method, n, hd, date): the Shared Key string-to-sign of
 * a request up to its canonicalized resource, appended to sts. */
static void sign_head(struct buf *sts, const char *method, size_t n,
    const struct hdrs *hd, const char *date)
{
	char clen[32] = "", *line;

	if (n > 0)
		snprintf(clen, sizeof clen, "%zu", n);
	/* VERB, Content-Encoding, Content-Language, Content-Length,
	 * Content-MD5, Content-Type, Date, If-Modified-Since, If-Match,
	 * If-None-Match, If-Unmodified-Since, Range */
	line = xasprintf("%s\n\n\n%s\n\n%s\n\n\n\n%s\n\n\n", method, clen,
	    hd->content_type ? hd->content_type : "",
	    hd->if_none_match ? hd->if_none_match : "");
	buf_append(sts, line, strlen(line));
	free(line);
	/* canonicalized headers, sorted */
	if (hd->block_blob)
		buf_append(sts, "x-ms-blob-type:BlockBlob\n", 25);
	line = xasprintf("x-ms-date:%s\n", date);
	buf_append(sts, line, strlen(line));
	free(line);
	if (hd->range) {
		line = xasprintf("x-ms-range:%s\n", hd->range);
		buf_append(sts, line, strlen(line));
		free(line);
	}
	buf_append(sts, "x-ms-version:" AZ_VERSION "\n", strlen("x-ms-version:" AZ_VERSION "\n"));
}

/* add_hdr(hl, name, value): append "NAME: VALUE" if value is set. */
static struct curl_slist *add_hdr(struct curl_slist *hl, const char *name, const char *value)
{
	char *line;

	if (value == NULL)
		return hl;
	line = xasprintf("%s: %s", name, value);
	hl = curl_slist_append(hl, line);
	free(line);
	return hl;
}

/* az_request(a, method, blob, q, nq, hd, body, n, out, rs): one request on
 * the container (blob NULL) or on the blob "blob" (the full blob name).
 * Returns http_do's value. */
static int az_request(const struct az *a, const char *method, const char *blob,
    const struct az_qp *q0, size_t nq, const struct hdrs *hd, const void *body,
    size_t n, struct buf *out, struct http_resp *rs)
{
	struct az_qp q[8];
	struct buf url, res;
	struct curl_slist *hl = NULL;
	char date[64], *ebl = NULL;
	int rc;

	if (nq > sizeof q / sizeof q[0])
		nq = sizeof q / sizeof q[0];
	if (nq > 0)
		memcpy(q, q0, nq * sizeof q[0]);
	az_qp_sort(q, nq);
	if (blob)
		ebl = url_escape(blob, 1);
	buf_init(&url, SIZE_MAX);
	buf_init(&res, SIZE_MAX);
	az_url(&url, &a->au, a->endpoint, a->container, ebl, q, nq);

	az_date(date, sizeof date);
	hl = az_date_headers(hl, date);
	if (hd->block_blob)
		hl = curl_slist_append(hl, "x-ms-blob-type: BlockBlob");
	hl = add_hdr(hl, "x-ms-range", hd->range);
	hl = add_hdr(hl, "If-None-Match", hd->if_none_match);
	hl = add_hdr(hl, "Content-Type", hd->content_type);
	if (a->au.keylen) {
		sign_head(&res, method, n, hd, date);
		az_sign_tail(&res, a->account, a->path_base, a->container, ebl, q, nq);
		hl = az_auth_append(hl, &a->au, "SharedKey", a->account, res.p, res.len);
	}

	rc = cloud_do(a->h, NULL, method, (const char *)url.p, hl, body, n, out, NULL, rs);
	curl_slist_free_all(hl);
	buf_wipe_free(&url);
	buf_free(&res);
	free(ebl);
	return rc;
}

/* ---- errors ---- */

/* blob_name(a, name): PREFIX/NAME, a new string. */
static char *blob_name(const struct az *a, const char *name)
{
	return xasprintf("%s%s", a->prefix, name);
}

/* az_error(s, what, name, rs, body, bn): print why "what" (e.g. "cannot
 * read object") failed, with advice.  body/bn: the error response body, if
 * any.  Returns -1. */
static int az_error(const struct store *s, int rc, const char *what, const char *name,
    const char *perm, const struct http_resp *rs, const void *body, size_t bn)
{
	const struct az *a = A(s);
	const char *code = rs->error_code;
	char detail[512] = "", msg[512] = "";
	char obj[STORE_NAME_MAX + 32] = "";
	const char *advice = "";
	char adv[512];

	if (name)
		snprintf(obj, sizeof obj, " %s", name);
	if (rc == -1) {
		errmsg("%s%s in store %s: cannot reach %s: %s", what, obj, s->url,
		    a->endpoint, rs->curl_error);
		return -1;
	}
	if (body && bn) {
		size_t from = 0;

		if (xml_next(body, bn, "AuthenticationErrorDetail", &from, detail, sizeof detail) != 1)
			detail[0] = '\0';
		from = 0;
		if (xml_next(body, bn, "Message", &from, msg, sizeof msg) != 1)
			msg[0] = '\0';
		else
			msg[strcspn(msg, "\r\n")] = '\0';
	}
	if (strcmp(code, "ContainerNotFound") == 0) {
		snprintf(adv, sizeof adv, ": container %s does not exist in account %s: "
		    "run twofold init or create it", a->container, a->account);
		advice = adv;
	} else if (strcmp(code, "AuthorizationPermissionMismatch") == 0 ||
	    strcmp(code, "AuthorizationResourceTypeMismatch") == 0 ||
	    strcmp(code, "AuthorizationServiceMismatch") == 0) {
		snprintf(adv, sizeof adv, ": the %s lacks permission for this "
		    "(needed: %s; a backup needs rcl, plus w for objects above TWOFOLD_AZURE_PUT_MAX; prune also d)",
		    a->au.sas ? "SAS" : "credential", perm);
		advice = adv;
	} else if (strstr(detail, "too old") || strstr(detail, "in the future") ||
	    strstr(detail, "time range") || strstr(detail, "out of range") ||
	    strcmp(code, "RequestTimeTooSkewed") == 0) {
		advice = ": the request time was rejected: check this machine's clock "
		    "(Azure allows 15 minutes of skew)";
	} else if (rs->status == 403 || strcmp(code, "AuthenticationFailed") == 0 ||
	    strcmp(code, "AuthorizationFailure") == 0) {
		if (az_sas_expired(&a->au))
			snprintf(adv, sizeof adv, ": the SAS expired at %s: make a new one "
			    "(needed: rcl for backup)", a->au.sas_expiry);
		else if (a->au.sas)
			snprintf(adv, sizeof adv, ": the SAS is wrong, has expired, or lacks "
			    "permission %s (needed: rcl for backup)", perm);
		else
			snprintf(adv, sizeof adv, ": the account key is wrong (not the key of "
			    "account %s), or this machine's clock is off", a->account);
		advice = adv;
	} else if (strcmp(code, "InvalidResourceName") == 0 ||
	    strcmp(code, "InvalidUri") == 0) {
		advice = ": container names are 3 to 63 lowercase letters, digits and hyphens";
	}
	errmsg("%s%s in store %s: HTTP %ld%s%s%s%s%s", what, obj, s->url, rs->status,
	    code[0] ? " " : "", code, advice, msg[0] && !advice[0] ? ": " : "",
	    !advice[0] ? msg : "");
	return -1;
}

/* is_missing(rs): 404 for a missing blob (not a missing container). */
static int is_missing(const struct http_resp *rs)
{
	return rs->status == 404 && strcmp(rs->error_code, "ContainerNotFound") != 0;
}

/* exists(rs): the answer to a create-only write of an existing blob. */
static int exists(const struct http_resp *rs)
{
	return (rs->status == 409 && (strcmp(rs->error_code, "BlobAlreadyExists") == 0 ||
	    rs->error_code[0] == '\0')) ||
	    (rs->status == 412 && (strcmp(rs->error_code, "ConditionNotMet") == 0 ||
	    rs->error_code[0] == '\0'));
}

/* ---- operations ---- */

static int az_put(struct store *s, const char *name, const void *p, size_t n)
{
	const struct az *a = A(s);
	struct hdrs hd = { 0 };
	struct http_resp rs;
	struct buf err;
	char *bn = blob_name(a, name);
	int rc, ret = -1;

	buf_init(&err, (size_t)1 << 20);
	if (n <= a->put_max) {
		hd.if_none_match = "*";
		hd.block_blob = 1;
		hd.content_type = "application/octet-stream";
		rc = az_request(a, "PUT", bn, NULL, 0, &hd, p, n, &err, &rs);
		if (rc == 0 && rs.status == 201)
			ret = 0;
		else if (rc == 0 && exists(&rs))
			ret = 1;
		else
			az_error(s, rc, "cannot create object", name, "c", &rs,
			    err.p, err.len);
	} else {
		uint8_t rnd[9];
		char tag[19], id[64];
		size_t bs = a->block_size, nb = (n + bs - 1) / bs;
		struct buf list;
		uint64_t size;

		/* skip the upload when the object is already there */
		rc = s->ops->stat(s, name, &size);
		if (rc != 1) {
			free(bn);
			buf_free(&err);
			return rc == 0 ? 1 : -1;
		}
		randombytes_buf(rnd, sizeof rnd);
		hex_encode(rnd, sizeof rnd, tag);
		/* same-length IDs: 18 hex + '-' + 8 digits = 27 bytes */
		buf_init(&list, SIZE_MAX);
		buf_append(&list, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>", 50);
		for (size_t i = 0; i < nb; i++) {
			char raw[48];
			size_t off = i * bs, len = n - off < bs ? n - off : bs;
			struct az_qp q[2] = { { "comp", "block" }, { "blockid", id } };
			char *line;

			snprintf(raw, sizeof raw, "%s-%08zu", tag, i);
			sodium_bin2base64(id, sizeof id, (const uint8_t *)raw, strlen(raw),
			    sodium_base64_VARIANT_ORIGINAL);
			memset(&hd, 0, sizeof hd);
			hd.content_type = "application/octet-stream";
			err.len = 0;
			rc = az_request(a, "PUT", bn, q, 2, &hd, (const uint8_t *)p + off, len, &err, &rs);
			if (rc != 0 || rs.status != 201) {
				az_error(s, rc, "cannot upload a block of object", name, "w",
				    &rs, err.p, err.len);
				goto big_out;
			}
			line = xasprintf("<Latest>%s</Latest>", id);
			buf_append(&list, line, strlen(line));
			free(line);
		}
		buf_append(&list, "</BlockList>", 12);
		memset(&hd, 0, sizeof hd);
		hd.if_none_match = "*";
		hd.content_type = "application/xml";
		{
			struct az_qp q[1] = { { "comp", "blocklist" } };

			err.len = 0;
			rc = az_request(a, "PUT", bn, q, 1, &hd, list.p, list.len, &err, &rs);
		}
		if (rc == 0 && rs.status == 201)
			ret = 0;
		else if (rc == 0 && exists(&rs))
			ret = 1;
		else
			az_error(s, rc, "cannot commit the blocks of object", name, "c and w",
			    &rs, err.p, err.len);
big_out:
		buf_free(&list);
	}
	buf_free(&err);
	free(bn);
	return ret;
}

static int az_stat(struct store *s, const char *name, uint64_t *size)
{
	const struct az *a = A(s);
	struct hdrs hd = { 0 };
	struct http_resp rs;
	char *bn = blob_name(a, name);
	int rc = az_request(a, "HEAD", bn, NULL, 0, &hd, NULL, 0, NULL, &rs);

	free(bn);
	if (rc == 0 && rs.status == 200 && rs.content_length != UINT64_MAX) {
		*size = rs.content_length;
		return 0;
	}
	if (rc == 0 && is_missing(&rs))
		return 1;
	if (rc == 0 && rs.status == 404 && rs.error_code[0] == '\0') {
		/* HEAD carries no body; a missing container also says 404 */
		return 1;
	}
	return az_error(s, rc, "cannot stat object", name, "r", &rs, NULL, 0);
}

static int truncated(const struct store *s, const char *name, uint64_t size, uint64_t end)
{
	errmsg("object %s in %s is truncated: has %ju bytes, wanted up to %ju",
	    name, s->url, (uintmax_t)size, (uintmax_t)end);
	return -1;
}

static int az_get(struct store *s, const char *name, uint64_t off, uint64_t len, struct buf *out)
{
	const struct az *a = A(s);
	struct hdrs hd = { 0 };
	struct http_resp rs;
	char range[64];
	size_t start = out->len;
	uint64_t got, size;
	char *bn;
	int rc;

	if (len == 0 || (off > 0 && len == UINT64_MAX)) {
		/* a range that may be empty: Azure answers 416 to "bytes=SIZE-" */
		rc = az_stat(s, name, &size);
		if (rc != 0)
			return rc;
		if (off > size)
			return truncated(s, name, size, off);
		if (len == UINT64_MAX)
			len = size - off;
		if (len == 0)
			return 0;
		if (len > size - off)
			return truncated(s, name, size, off + len);
	}
	if (len != UINT64_MAX && len > UINT64_MAX - off)
		return truncated(s, name, 0, UINT64_MAX);
	if (len != UINT64_MAX) {
		snprintf(range, sizeof range, "bytes=%ju-%ju", (uintmax_t)off,
		    (uintmax_t)(off + len - 1));
		hd.range = range;
	}
	bn = blob_name(a, name);
	rc = az_request(a, "GET", bn, NULL, 0, &hd, NULL, 0, out, &rs);
	free(bn);
	if (rc == 0 && (rs.status == 200 || rs.status == 206)) {
		got = out->len - start;
		if ((len != UINT64_MAX && got != len) ||
		    (rs.content_length != UINT64_MAX && got != rs.content_length)) {
			out->len = start;
			errmsg("object %s in %s is truncated: got %ju bytes, wanted %ju",
			    name, s->url, (uintmax_t)got,
			    (uintmax_t)(len != UINT64_MAX ? len : rs.content_length));
			return -1;
		}
		if (rs.status == 200 && off != 0) {
			out->len = start;
			errmsg("object %s in %s: the server ignored the range", name, s->url);
			return -1;
		}
		return 0;
	}
	if (rc == 0 && rs.status == 416) {
		out->len = start;
		rc = az_stat(s, name, &size);
		if (rc != 0)
			return rc;
		return truncated(s, name, size, off + len);
	}
	if (rc == 0 && is_missing(&rs)) {
		out->len = start;
		return 1;
	}
	if (rc == -1 && rs.curl_error[0] && strstr(rs.curl_error, "larger than expected")) {
		out->len = start;
		errmsg("object %s in store %s does not fit in the buffer (%zu of at most %zu bytes used)",
		    name, s->url, start, out->max);
		return -1;
	}
	az_error(s, rc, "cannot read object", name, "r", &rs,
	    out->len > start ? out->p + start : NULL, out->len - start);
	out->len = start;
	return -1;
}

static int az_delete(struct store *s, const char *name)
{
	const struct az *a = A(s);
	struct hdrs hd = { 0 };
	struct http_resp rs;
	struct buf err;
	char *bn = blob_name(a, name);
	int rc, ret;

	buf_init(&err, (size_t)1 << 20);
	rc = az_request(a, "DELETE", bn, NULL, 0, &hd, NULL, 0, &err, &rs);
	free(bn);
	if (rc == 0 && (rs.status == 202 || rs.status == 200))
		ret = 0;
	else if (rc == 0 && is_missing(&rs))
		ret = 1;
	else
		ret = az_error(s, rc, "cannot delete object", name, "d", &rs, err.p, err.len);
	buf_free(&err);
	return ret;
}

/* az_list_raw(s, prefix, max1, fn, arg): list the blobs whose names begin
 * with PREFIX/prefix; call fn with the object name.  max1: stop after the
 * first page of at most one blob (existence test). */
static int az_list_raw(struct store *s, const char *prefix, int max1, store_list_fn fn, void *arg)
{
	const struct az *a = A(s);
	struct hdrs hd = { 0 };
	struct http_resp rs;
	struct buf page;
	char *full = blob_name(a, prefix);
	char *marker = NULL;
	size_t pl = strlen(a->prefix);
	char name[2048], num[32], next[2048];
	int rc, ret = 0;

	buf_init(&page, LIST_MAX_BYTES);
	for (;;) {
		struct az_qp q[5];
		size_t nq = 0, from = 0;

		q[nq++] = (struct az_qp){ "restype", "container" };
		q[nq++] = (struct az_qp){ "comp", "list" };
		q[nq++] = (struct az_qp){ "maxresults", max1 ? "1" : "5000" };
		if (full[0])
			q[nq++] = (struct az_qp){ "prefix", full };
		if (marker)
			q[nq++] = (struct az_qp){ "marker", marker };
		page.len = 0;
		rc = az_request(a, "GET", NULL, q, nq, &hd, NULL, 0, &page, &rs);
		if (rc != 0 || rs.status != 200) {
			ret = az_error(s, rc, "cannot list", prefix[0] ? prefix : "objects", "l",
			    &rs, page.p, page.len);
			break;
		}
		for (;;) {
			uint64_t size;
			int r = xml_next((const char *)page.p, page.len, "Name", &from, name, sizeof name);

			if (r == 0)
				break;
			if (r < 0 || xml_next((const char *)page.p, page.len, "Content-Length",
			    &from, num, sizeof num) != 1 || parse_u64(num, &size) != 0) {
				errmsg("cannot list %s in store %s: the server's answer is malformed",
				    prefix[0] ? prefix : "objects", s->url);
				ret = -1;
				goto out;
			}
			if (strncmp(name, a->prefix, pl) != 0 || !store_name_ok(name + pl))
				continue;	/* not an object of ours */
			ret = fn(arg, name + pl, size);
			if (ret != 0)
				goto out;
		}
		from = 0;
		if (max1 || xml_next((const char *)page.p, page.len, "NextMarker", &from,
		    next, sizeof next) != 1 || next[0] == '\0')
			break;
		free(marker);
		marker = xstrdup(next);
	}
out:
	free(marker);
	free(full);
	buf_free(&page);
	return ret;
}

static int az_list(struct store *s, const char *prefix, store_list_fn fn, void *arg)
{
	return az_list_raw(s, prefix, 0, fn, arg);
}

static int found_one(void *arg, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	*(int *)arg = 1;
	return 0;
}

static int az_create(struct store *s)
{
	const struct az *a = A(s);
	struct hdrs hd = { 0 };
	struct http_resp rs;
	struct az_qp q[1] = { { "restype", "container" } };
	struct buf err;
	int rc, found = 0;

	buf_init(&err, (size_t)1 << 20);
	hd.content_type = "application/octet-stream";
	rc = az_request(a, "PUT", NULL, q, 1, &hd, NULL, 0, &err, &rs);
	if (!(rc == 0 && (rs.status == 201 ||
	    (rs.status == 409 && strcmp(rs.error_code, "ContainerAlreadyExists") == 0)))) {
		/* a SAS for the container cannot create it: fine if it exists */
		if (rc == 0 && rs.status == 403) {
			if (az_list_raw(s, "config/", 1, found_one, &found) == 0) {
				buf_free(&err);
				return found;
			}
		}
		az_error(s, rc, "cannot create container", a->container, "c (account SAS)",
		    &rs, err.p, err.len);
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	/* a repository: any object under config/ */
	rc = az_list_raw(s, "config/", 1, found_one, &found);
	if (rc != 0)
		return -1;
	return found;
}

static void az_close(struct store *s)
{
	struct az *a = A(s);

	http_free(a->h);
	az_auth_wipe(&a->au);
	free(a->account);
	free(a->container);
	free(a->prefix);
	free(a->endpoint);
	free(a->path_base);
	free(a);
	s->priv = NULL;
}

/* az_overwrite: Put Blob without If-None-Match (the access probe only). */
static int az_overwrite(struct store *s, const char *name, const void *p, size_t n)
{
	const struct az *a = A(s);
	struct hdrs hd = { 0 };
	struct http_resp rs;
	struct buf err;
	char *bn = blob_name(a, name);
	int rc;

	buf_init(&err, (size_t)1 << 20);
	hd.block_blob = 1;
	hd.content_type = "application/octet-stream";
	rc = az_request(a, "PUT", bn, NULL, 0, &hd, p, n, &err, &rs);
	buf_free(&err);
	free(bn);
	return rc == 0 && rs.status == 201 ? 0 : -1;
}

static const struct store_ops azure_ops = {
	.kind = "azure",
	.create = az_create,
	.put = az_put,
	.get = az_get,
	.stat = az_stat,
	.list = az_list,
	.del = az_delete,
	.overwrite = az_overwrite,
	.close = az_close,
};

/* ---- open ---- */

/* env_size(var, def, lo, hi): a size from the environment, clamped. */
static size_t env_size(const char *var, size_t def, size_t lo, size_t hi)
{
	const char *v = getenv(var);
	uint64_t n;

	if (v == NULL || parse_u64(v, &n) != 0)
		return def;
	return n < lo ? lo : n > hi ? hi : (size_t)n;
}

/* store_creds(s, c): the credentials of the environment, with what a
 * store needs of them checked.  0 or -1 after a message. */
static int store_creds(const struct store *s, struct az_creds *c)
{
	if (az_creds_env("store", s->url, 0, c) != 0)
		return -1;
	if (c->from_conn && !c->key && !c->sas) {
		errmsg("store %s: AZURE_STORAGE_CONNECTION_STRING has neither AccountKey "
		    "nor SharedAccessSignature", s->url);
		return -1;
	}
	if (c->from_conn && c->key && !c->account) {
		errmsg("store %s: AZURE_STORAGE_CONNECTION_STRING has an AccountKey "
		    "but no AccountName", s->url);
		return -1;
	}
	if (!c->key && !c->sas) {
		errmsg("store %s: no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, "
		    "AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, or AZURE_STORAGE_SAS_TOKEN",
		    s->url);
		return -1;
	}
	return 0;
}

int store_azure_open(struct store *s, const char *rest)
{
	const char *slash, *slash2;
	struct az_creds c = { 0 };
	struct az *a;
	char *urlacct, *container, *prefix, *endpoint, *path_base, *p;
	size_t n;
	int ret = -1;

	slash = strchr(rest, '/');
	if (slash == NULL || slash == rest || slash[1] == '\0' || slash[1] == '/') {
		errmsg("store URL %s: expected azure://ACCOUNT/CONTAINER[/PREFIX]", s->url);
		return -1;
	}
	urlacct = xmemdup(rest, (size_t)(slash - rest) + 1);
	urlacct[slash - rest] = '\0';
	slash2 = strchr(slash + 1, '/');
	if (slash2) {
		container = xmemdup(slash + 1, (size_t)(slash2 - slash));
		container[slash2 - slash - 1] = '\0';
		prefix = xstrdup(slash2 + 1);
	} else {
		container = xstrdup(slash + 1);
		prefix = xstrdup("");
	}
	n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		prefix[--n] = '\0';
	if (!az_container_ok(container)) {
		errmsg("store URL %s: container name %s is not valid: 3 to 63 lowercase "
		    "letters, digits and single hyphens", s->url, container);
		goto fail;
	}
	if (strstr(prefix, "//") || strstr(prefix, "/./") || strstr(prefix, "/../") ||
	    strcmp(prefix, "..") == 0 || strncmp(prefix, "../", 3) == 0 || n > 512) {
		errmsg("store URL %s: the prefix %s is not a clean path", s->url, prefix);
		goto fail;
	}

	if (store_creds(s, &c) != 0)
		goto fail;
	if (c.account && strcmp(c.account, urlacct) != 0) {
		errmsg("store %s: the URL names account %s but the credentials are for "
		    "account %s", s->url, urlacct, c.account);
		goto fail;
	}
	for (p = urlacct; *p; p++) {
		if (!isalnum((unsigned char)*p)) {
			errmsg("store URL %s: account name %s is not valid (letters and digits)",
			    s->url, urlacct);
			goto fail;
		}
	}
	if (az_endpoint("store", s->url, &c, urlacct, 0, &endpoint, &path_base) != 0)
		goto fail;

	a = xcalloc(1, sizeof *a);
	a->account = urlacct;
	a->container = container;
	a->prefix = prefix[0] ? xasprintf("%s/", prefix) : xstrdup("");
	a->endpoint = endpoint;
	a->path_base = path_base;
	a->put_max = env_size("TWOFOLD_AZURE_PUT_MAX", PUT_MAX, 0, (size_t)256 << 20);
	a->block_size = env_size("TWOFOLD_AZURE_BLOCK_SIZE", BLOCK_SIZE, (size_t)64 << 10,
	    (size_t)256 << 20);
	s->priv = a;
	urlacct = container = NULL;
	if (az_auth_set("store", s->url, &c, &a->au) != 0 || (a->h = http_new()) == NULL) {
		az_close(s);
		goto fail;
	}
	s->ops = &azure_ops;
	ret = 0;
fail:
	free(urlacct);
	free(container);
	free(prefix);
	az_creds_free(&c);
	return ret;
}
