/* cloud_auth.h (store-internal; also used by src/source): the credentials
 * and request signing that the cloud stores (store_azure.c, store_s3.c)
 * and the cloud sources (src/source) share, so that both read the same
 * environment variables the same way and sign requests alike.
 *
 * Secrets (account keys, SAS tokens, S3 secrets) live in the structures
 * below and are wiped when freed; no function here prints one: messages
 * name the caller's URL only.  No key of a repository ever reaches this
 * layer. */
#ifndef TWOFOLD_CLOUD_AUTH_H
#define TWOFOLD_CLOUD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "store/http.h"

/* ---- Azure ---- */

#define AZ_VERSION "2025-11-05"

/* az_container_ok(c): 1 if c is a valid container name: 3 to 63
 * lowercase letters, digits and single hyphens, not at either end. */
int az_container_ok(const char *c);

/* Credentials as found in the environment (all new strings or NULL). */
struct az_creds {
	char *account, *key, *sas, *endpoint, *protocol, *suffix;
	int from_conn;		/* they came from AZURE_STORAGE_CONNECTION_STRING */
};

/* az_creds_free(c): wipe key and SAS, free every string. */
void az_creds_free(struct az_creds *c);

/* az_creds_env(who, url, table, c): credentials, first match wins:
 * AZURE_STORAGE_CONNECTION_STRING (AccountName, AccountKey,
 * SharedAccessSignature, BlobEndpoint — TableEndpoint if table —,
 * DefaultEndpointsProtocol, EndpointSuffix, UseDevelopmentStorage=true
 * for the emulator on 127.0.0.1:10000, or 10002 if table); an AccountKey
 * drops a SharedAccessSignature.  Else AZURE_STORAGE_ACCOUNT +
 * AZURE_STORAGE_KEY, else AZURE_STORAGE_SAS_TOKEN (+ the account if set).
 * With none set, c stays empty (no key, no SAS): the caller says what to
 * set.  0, or -1 after a message "WHO URL: ...". */
int az_creds_env(const char *who, const char *url, int table, struct az_creds *c);

/* az_endpoint(who, url, c, account, table, &endpoint, &path_base): the
 * endpoint: c->endpoint, else AZURE_STORAGE_BLOB_ENDPOINT (or
 * AZURE_STORAGE_TABLE_ENDPOINT if table), else
 * PROTOCOL://ACCOUNT.blob|table.SUFFIX (https, core.windows.net), without
 * trailing '/'; path_base is its path ("" or "/devstoreaccount1").  Both
 * new strings.  0, or -1 after a message if it is not http(s)://HOST. */
int az_endpoint(const char *who, const char *url, const struct az_creds *c,
    const char *account, int table, char **endpoint, char **path_base);

/* What signs a request: a decoded account key (Shared Key) or a SAS. */
struct az_auth {
	uint8_t key[128];	/* decoded account key */
	size_t keylen;		/* 0: SAS */
	char *sas;		/* SAS query, without '?'; NULL: Shared Key */
	char sas_expiry[64];	/* the SAS's se=, decoded, or "" */
	int64_t sas_expires;	/* se= in seconds since the epoch, or 0 */
};

/* az_auth_set(who, url, c, au): the key of c decoded from base64, or else
 * its SAS (leading '?' dropped) with the expiry it names.  0, or -1 after
 * a message if the key is not base64.  az_auth_wipe: wipe and free. */
int az_auth_set(const char *who, const char *url, const struct az_creds *c, struct az_auth *au);
void az_auth_wipe(struct az_auth *au);
/* az_sas_expired(au): 1 if au holds a SAS whose se= lies in the past. */
int az_sas_expired(const struct az_auth *au);

/* One query parameter: name and raw (unescaped) value. */
struct az_qp {
	const char *k, *v;
};

/* az_qp_sort(q, nq): sort by name, as URLs and signatures want them. */
void az_qp_sort(struct az_qp *q, size_t nq);

/* az_date(out, n): the time now in RFC 1123 ("Mon, 23 Nov 2026 13:01:22 GMT"). */
void az_date(char *out, size_t n);

/* az_url(url, au, endpoint, container, eblob, q, nq):
 * ENDPOINT/CONTAINER[/EBLOB]?Q (values escaped; q sorted by name), with
 * the SAS of au appended, NUL-terminated, appended to url.  eblob: the
 * blob name already escaped, or NULL for the container. */
void az_url(struct buf *url, const struct az_auth *au, const char *endpoint,
    const char *container, const char *eblob, const struct az_qp *q, size_t nq);

/* az_sign_tail(sts, account, path_base, container, eblob, q, nq): append
 * the canonicalized resource of a Shared Key string-to-sign. */
void az_sign_tail(struct buf *sts, const char *account, const char *path_base,
    const char *container, const char *eblob, const struct az_qp *q, size_t nq);

/* az_auth_append(hl, au, scheme, account, sts, n): hl with the header
 * "Authorization: SCHEME ACCOUNT:BASE64(HMAC-SHA256(key, sts))" appended
 * (scheme: "SharedKey" or "SharedKeyLite"; au must hold a key).  The
 * signature is wiped from everything but the list. */
struct curl_slist *az_auth_append(struct curl_slist *hl, const struct az_auth *au,
    const char *scheme, const char *account, const void *sts, size_t n);

/* az_date_headers(hl, date): hl with "x-ms-date: DATE", "x-ms-version:
 * AZ_VERSION" and "Expect:" (no 100-continue) appended. */
struct curl_slist *az_date_headers(struct curl_slist *hl, const char *date);

/* ---- S3 (SigV4 by libcurl) ---- */

/* The S3 settings of the environment (pointers into it, or NULL):
 * AWS_ENDPOINT_URL_S3 else AWS_ENDPOINT_URL; AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; AWS_REGION else
 * AWS_DEFAULT_REGION else "us-east-1"; TWOFOLD_S3_PATH_STYLE. */
struct s3_env {
	const char *endpoint, *akey, *secret, *token, *region, *path_style;
};
void s3_env_read(struct s3_env *e);

/* What signs S3 requests (new strings; userpwd and token_hdr secret). */
struct s3_auth {
	char *region;
	char *sigv4;		/* "aws:amz:REGION:s3" */
	char *userpwd;		/* "ACCESS:SECRET" */
	char *token_hdr;	/* "x-amz-security-token: ..." or NULL */
};
/* s3_auth_set(e, au): au from the (checked) settings e.  s3_auth_wipe:
 * wipe the secrets and free. */
void s3_auth_set(const struct s3_env *e, struct s3_auth *au);
void s3_auth_wipe(struct s3_auth *au);

/* s3_base(e, bucket, &path_style): the URL of the bucket, without
 * trailing '/': ENDPOINT/BUCKET path-style (with an endpoint, with
 * TWOFOLD_S3_PATH_STYLE=1, or a '.' in the bucket; =0 keeps only the last),
 * else SCHEME://BUCKET.HOST (the endpoint, or https://s3.REGION.amazonaws.com).
 * A new string; *path_style says which. */
char *s3_base(const struct s3_env *e, const char *bucket, int *path_style);

/* s3_content_sha256(body, n, line, size): "x-amz-content-sha256: HASH"
 * into line (at least 96 bytes), HASH the body's SHA-256 in hex (that of
 * the empty string when body is NULL). */
void s3_content_sha256(const void *body, size_t n, char *line, size_t size);

/* cloud_do(h, au, method, url, hl, body, n, out, rh, rs): one request
 * carrying the header lines hl (the caller's); au: signed by libcurl
 * with SigV4, or NULL (Azure: signed or not by the caller).  http_do's
 * value. */
int cloud_do(struct http *h, const struct s3_auth *au, const char *method,
    const char *url, struct curl_slist *hl, const void *body, size_t n, struct buf *out,
    struct buf *rh, struct http_resp *rs);

#endif
