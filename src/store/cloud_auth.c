/* cloud_auth.c: credentials and request signing of the cloud stores and
 * sources.  See cloud_auth.h. */
#include "store/cloud_auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "util/util.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- Azure credentials ---- */

int az_container_ok(const char *c)
{
	size_t n = strlen(c);

	if (n < 3 || n > 63 || c[0] == '-' || c[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!(islower((unsigned char)c[i]) || isdigit((unsigned char)c[i]) || c[i] == '-'))
			return 0;
		if (c[i] == '-' && c[i + 1] == '-')
			return 0;
	}
	return 1;
}


static void wipe_str(char **p)
{
	if (*p) {
		sodium_memzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void az_creds_free(struct az_creds *c)
{
	wipe_str(&c->key);
	wipe_str(&c->sas);
	free(c->account);
	free(c->endpoint);
	free(c->protocol);
	free(c->suffix);
	memset(c, 0, sizeof *c);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* conn_field(c, k, kl, table): where the value of connection string key
 * k (kl bytes) goes, or NULL to drop it. */
static char **conn_field(struct az_creds *c, const char *k, size_t kl, int table)
{
	static const struct {
		const char *name;
		size_t off;
	} f[] = {
		{ "AccountName", offsetof(struct az_creds, account) },
		{ "AccountKey", offsetof(struct az_creds, key) },
		{ "SharedAccessSignature", offsetof(struct az_creds, sas) },
		{ "DefaultEndpointsProtocol", offsetof(struct az_creds, protocol) },
		{ "EndpointSuffix", offsetof(struct az_creds, suffix) },
	};
	const char *ep = table ? "TableEndpoint" : "BlobEndpoint";

	if (kl == strlen(ep) && strncasecmp(k, ep, kl) == 0)
		return &c->endpoint;
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (kl == strlen(f[i].name) && strncasecmp(k, f[i].name, kl) == 0)
			return (char **)(void *)((char *)c + f[i].off);
	return NULL;
}

/* parse_conn(who, url, cs, table, c): a connection string "K=V;K=V".
 * 0 or -1 after a message. */
static int parse_conn(const char *who, const char *url, const char *cs, int table,
    struct az_creds *c)
{
	const char *p = cs;
	int dev = 0;

	while (*p) {
		const char *end = strchr(p, ';'), *eq;
		size_t n = end ? (size_t)(end - p) : strlen(p), kl;
		char *v, **field;

		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		if (n == 0) {
			if (!end)
				break;
			p = end + 1;
			continue;
		}
		eq = memchr(p, '=', n);
		if (eq == NULL) {
			errmsg("%s %s: AZURE_STORAGE_CONNECTION_STRING is malformed (a part "
			    "without '=')", who, url);
			return -1;
		}
		kl = (size_t)(eq - p);
		v = xmemdup(eq + 1, n - kl);
		v[n - kl - 1] = '\0';
		if ((field = conn_field(c, p, kl, table)) != NULL) {
			wipe_str(field);
			*field = v;
			v = NULL;
		} else if (kl == strlen("UseDevelopmentStorage") &&
		    strncasecmp(p, "UseDevelopmentStorage", kl) == 0 && strcasecmp(v, "true") == 0) {
			dev = 1;
		}
		wipe_str(&v);
		if (!end)
			break;
		p = end + 1;
	}
	if (dev) {
		if (!c->account)
			c->account = xstrdup("devstoreaccount1");
		if (!c->key && !c->sas)
			c->key = xstrdup(DEV_KEY);
		if (!c->endpoint)
			c->endpoint = xasprintf("http://127.0.0.1:%d/%s", table ? 10002 : 10000,
			    c->account);
	}
	return 0;
}

int az_creds_env(const char *who, const char *url, int table, struct az_creds *c)
{
	const char *e;

	if ((e = env("AZURE_STORAGE_CONNECTION_STRING")) != NULL) {
		c->from_conn = 1;
		if (parse_conn(who, url, e, table, c) != 0)
			return -1;
		if (c->key && c->sas)
			wipe_str(&c->sas);	/* the key wins: it can do everything */
	} else if ((e = env("AZURE_STORAGE_KEY")) != NULL) {
		if (env("AZURE_STORAGE_ACCOUNT") == NULL) {
			errmsg("%s %s: AZURE_STORAGE_KEY is set but AZURE_STORAGE_ACCOUNT is not",
			    who, url);
			return -1;
		}
		c->account = xstrdup(env("AZURE_STORAGE_ACCOUNT"));
		c->key = xstrdup(e);
	} else if ((e = env("AZURE_STORAGE_SAS_TOKEN")) != NULL) {
		if (env("AZURE_STORAGE_ACCOUNT"))
			c->account = xstrdup(env("AZURE_STORAGE_ACCOUNT"));
		c->sas = xstrdup(e);
	}
	return 0;
}

int az_endpoint(const char *who, const char *url, const struct az_creds *c,
    const char *account, int table, char **endpoint, char **path_base)
{
	const char *var = table ? "AZURE_STORAGE_TABLE_ENDPOINT" : "AZURE_STORAGE_BLOB_ENDPOINT";
	char *ep, *p;
	size_t n;

	if (c->endpoint)
		ep = xstrdup(c->endpoint);
	else if (env(var))
		ep = xstrdup(env(var));
	else
		ep = xasprintf("%s://%s.%s.%s", c->protocol ? c->protocol : "https", account,
		    table ? "table" : "blob", c->suffix ? c->suffix : "core.windows.net");
	for (n = strlen(ep); n > 0 && ep[n - 1] == '/'; n--)
		ep[n - 1] = '\0';
	p = strstr(ep, "://");
	if (p == NULL || p[3] == '\0' || (strncmp(ep, "http://", 7) != 0 &&
	    strncmp(ep, "https://", 8) != 0)) {
		errmsg("%s %s: the blob endpoint %s is not an http:// or https:// URL", who, url, ep);
		free(ep);
		return -1;
	}
	p = strchr(p + 3, '/');
	*path_base = xstrdup(p ? p : "");
	*endpoint = ep;
	return 0;
}

/* ---- Azure SAS and Shared Key ---- */

static int digits(const char *p, int k)
{
	int v = 0;

	for (int i = 0; i < k; i++) {
		if (!isdigit((unsigned char)p[i]))
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* sas_se(sas, v, vn): the SAS's se= value, percent-decoded, into v.
 * Its length; 0 if there is none. */
static size_t sas_se(const char *sas, char *v, size_t vn)
{
	const char *p = sas, *e;
	size_t o = 0;

	while (strncmp(p, "se=", 3) != 0) {
		p = strchr(p, '&');
		if (p == NULL)
			return 0;
		p++;
	}
	p += 3;
	e = p + strcspn(p, "&");
	while (p < e && o + 1 < vn) {
		if (*p == '%' && e - p >= 3 && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			char hx[3] = { p[1], p[2], 0 };

			v[o++] = (char)strtol(hx, NULL, 16);
			p += 3;
		} else {
			v[o++] = *p++;
		}
	}
	v[o] = '\0';
	return o;
}

/* sas_expiry(au): find se=YYYY-MM-DD[THH:MM[:SS]Z] in the SAS (not a
 * secret), for the "expired" advice. */
static void sas_expiry(struct az_auth *au)
{
	char v[64];
	size_t o = sas_se(au->sas, v, sizeof v);
	struct tm tm;

	if (o < 10 || !isdigit((unsigned char)v[0]))
		return;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = digits(v, 4) - 1900;
	tm.tm_mon = digits(v + 5, 2) - 1;
	tm.tm_mday = digits(v + 8, 2);
	if (o >= 16 && v[10] == 'T') {
		tm.tm_hour = digits(v + 11, 2);
		tm.tm_min = digits(v + 14, 2);
		if (o >= 19)
			tm.tm_sec = digits(v + 17, 2);
	}
	au->sas_expires = (int64_t)timegm(&tm);
	snprintf(au->sas_expiry, sizeof au->sas_expiry, "%s", v);
}

int az_auth_set(const char *who, const char *url, const struct az_creds *c, struct az_auth *au)
{
	if (c->key) {
		size_t kl = 0;

		if (sodium_base642bin(au->key, sizeof au->key, c->key, strlen(c->key), " \t\r\n",
		    &kl, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || kl == 0) {
			errmsg("%s %s: the account key is not valid base64", who, url);
			sodium_memzero(au->key, sizeof au->key);
			return -1;
		}
		au->keylen = kl;
	} else {
		const char *t = c->sas;

		while (*t == '?')
			t++;
		au->sas = xstrdup(t);
		sas_expiry(au);
	}
	return 0;
}

void az_auth_wipe(struct az_auth *au)
{
	sodium_memzero(au->key, sizeof au->key);
	au->keylen = 0;
	wipe_str(&au->sas);
}

int az_sas_expired(const struct az_auth *au)
{
	return au->sas && au->sas_expires && au->sas_expires < (int64_t)time(NULL);
}

static int qp_cmp(const void *x, const void *y)
{
	return strcmp(((const struct az_qp *)x)->k, ((const struct az_qp *)y)->k);
}

void az_qp_sort(struct az_qp *q, size_t nq)
{
	qsort(q, nq, sizeof *q, qp_cmp);
}

void az_date(char *out, size_t n)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
	    tm.tm_mday, mons[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
}

static void append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void az_url(struct buf *url, const struct az_auth *au, const char *endpoint,
    const char *container, const char *eblob, const struct az_qp *q, size_t nq)
{
	char *line = xasprintf("%s/%s%s%s", endpoint, container, eblob ? "/" : "",
	    eblob ? eblob : "");

	append_str(url, line);
	free(line);
	for (size_t i = 0; i < nq; i++) {
		char *ev = url_escape(q[i].v, 0);

		line = xasprintf("%c%s=%s", i == 0 ? '?' : '&', q[i].k, ev);
		append_str(url, line);
		free(line);
		free(ev);
	}
	if (au->sas) {
		append_str(url, nq ? "&" : "?");
		append_str(url, au->sas);
	}
	buf_append(url, "", 1);
}

void az_sign_tail(struct buf *sts, const char *account, const char *path_base,
    const char *container, const char *eblob, const struct az_qp *q, size_t nq)
{
	char *line = xasprintf("/%s%s/%s%s%s", account, path_base, container,
	    eblob ? "/" : "", eblob ? eblob : "");

	append_str(sts, line);
	free(line);
	for (size_t i = 0; i < nq; i++) {
		line = xasprintf("\n%s:%s", q[i].k, q[i].v);
		append_str(sts, line);
		free(line);
	}
}

struct curl_slist *az_auth_append(struct curl_slist *hl, const struct az_auth *au,
    const char *scheme, const char *account, const void *sts, size_t n)
{
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];
	char *line;

	crypto_auth_hmacsha256_init(&st, au->key, au->keylen);
	crypto_auth_hmacsha256_update(&st, sts, n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
	line = xasprintf("Authorization: %s %s:%s", scheme, account, b64);
	hl = curl_slist_append(hl, line);
	sodium_memzero(line, strlen(line));
	free(line);
	sodium_memzero(&st, sizeof st);
	return hl;
}

struct curl_slist *az_date_headers(struct curl_slist *hl, const char *date)
{
	char *line = xasprintf("x-ms-date: %s", date);

	hl = curl_slist_append(hl, line);
	free(line);
	hl = curl_slist_append(hl, "x-ms-version: " AZ_VERSION);
	return curl_slist_append(hl, "Expect:");
}

/* ---- S3 ---- */

void s3_env_read(struct s3_env *e)
{
	e->endpoint = env("AWS_ENDPOINT_URL_S3");
	if (e->endpoint == NULL)
		e->endpoint = env("AWS_ENDPOINT_URL");
	e->akey = env("AWS_ACCESS_KEY_ID");
	e->secret = env("AWS_SECRET_ACCESS_KEY");
	e->token = env("AWS_SESSION_TOKEN");
	e->region = env("AWS_REGION");
	if (e->region == NULL)
		e->region = env("AWS_DEFAULT_REGION");
	if (e->region == NULL)
		e->region = "us-east-1";
	e->path_style = env("TWOFOLD_S3_PATH_STYLE");
}

void s3_auth_set(const struct s3_env *e, struct s3_auth *au)
{
	au->region = xstrdup(e->region);
	au->sigv4 = xasprintf("aws:amz:%s:s3", e->region);
	au->userpwd = xasprintf("%s:%s", e->akey, e->secret);
	au->token_hdr = e->token ? xasprintf("x-amz-security-token: %s", e->token) : NULL;
}

void s3_auth_wipe(struct s3_auth *au)
{
	free(au->region);
	free(au->sigv4);
	wipe_str(&au->userpwd);
	wipe_str(&au->token_hdr);
	au->region = au->sigv4 = NULL;
}

char *s3_base(const struct s3_env *e, const char *bucket, int *path_style)
{
	const char *ps = e->path_style;
	char *ep, *base;

	/* path-style with an endpoint, unless TWOFOLD_S3_PATH_STYLE=0 */
	if (ps && strcmp(ps, "0") == 0)
		*path_style = strchr(bucket, '.') != NULL;
	else
		*path_style = e->endpoint != NULL || (ps && strcmp(ps, "1") == 0) ||
		    strchr(bucket, '.') != NULL;
	ep = e->endpoint ? xstrdup(e->endpoint) : xasprintf("https://s3.%s.amazonaws.com", e->region);
	for (size_t n = strlen(ep); n > 0 && ep[n - 1] == '/'; n--)
		ep[n - 1] = '\0';
	if (*path_style) {
		base = xasprintf("%s/%s", ep, bucket);
	} else {
		/* virtual-hosted: the bucket becomes the first label of the
		 * endpoint's host, SCHEME://BUCKET.HOST[:PORT][/PATH] */
		const char *host = strstr(ep, "://") + 3;

		base = xasprintf("%.*s%s.%s", (int)(host - ep), ep, bucket, host);
	}
	free(ep);
	return base;
}

void s3_content_sha256(const void *body, size_t n, char *line, size_t size)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hash[65];

	if (body == NULL)
		snprintf(hash, sizeof hash, "%s", EMPTY_SHA256);
	else if (EVP_Digest(body, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		/* cannot happen with a working libcrypto; the server then
		 * checks nothing but the signature still covers the headers */
		snprintf(hash, sizeof hash, "%s", "UNSIGNED-PAYLOAD");
	else
		hex_encode(md, 32, hash);
	snprintf(line, size, "x-amz-content-sha256: %s", hash);
}

int cloud_do(struct http *h, const struct s3_auth *au, const char *method,
    const char *url, struct curl_slist *hl, const void *body, size_t n, struct buf *out,
    struct buf *rh, struct http_resp *rs)
{
	struct http_req rq;

	memset(&rq, 0, sizeof rq);
	rq.method = method;
	rq.url = url;
	rq.headers = hl;
	rq.body = body;
	rq.body_len = n;
	rq.out = out;
	rq.resp_headers = rh;
	if (au) {
		rq.aws_sigv4 = au->sigv4;
		rq.userpwd = au->userpwd;
	}
	return http_do(h, &rq, rs);
}
