/* http.h (store-internal): HTTP requests for the cloud back ends through
 * libcurl: one connection cache shared by all threads of a store (so
 * connections are reused), timeouts, and retries with exponential backoff
 * and full jitter on transport errors, 408, 429 and 5xx.  Bytes only: no
 * keys of the repository ever reach this layer (cloud credentials do, to
 * sign requests).  Not for use outside src/store, but for src/source
 * (docs/STYLE.md). */
#ifndef TWOFOLD_HTTP_H
#define TWOFOLD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "util/buf.h"

struct http;

/* http_new(): a client; NULL after a message.  http_free: NULL-safe. */
struct http *http_new(void);
void http_free(struct http *h);

struct http_req {
	const char *method;		/* GET PUT HEAD DELETE POST */
	const char *url;
	struct curl_slist *headers;	/* the caller's; not freed here */
	const void *body;		/* PUT/POST body, may be NULL */
	size_t body_len;
	struct buf *out;		/* response body appended; NULL: discard.
					 * An error answer's body (status 300 or
					 * more) only as far as it fits */
	const char *aws_sigv4;		/* CURLOPT_AWS_SIGV4 provider string, or NULL */
	const char *userpwd;		/* "ACCESS:SECRET" for SigV4, or NULL */
	struct buf *resp_headers;	/* every response header line of the last
					 * try is appended as received, or NULL */
};

struct http_resp {
	long status;			/* HTTP status, 0 if none was received */
	uint64_t content_length;	/* from Content-Length, UINT64_MAX if absent */
	char error_code[64];		/* x-ms-error-code, or <Code> of an S3 error body */
	char etag[128];
	char curl_error[CURL_ERROR_SIZE];	/* transport failure text */
	unsigned retry_after;		/* Retry-After in seconds (0: none) */
	int attempts;
};

/* http_do(h, rq, rs): perform the request, retrying what may succeed on a
 * new try (the body is resent whole each time; out is reset to its length
 * before each try).  Returns 0 when an HTTP status was received (any
 * status: the caller interprets it), -1 when every try failed in
 * transport (rs->curl_error says why). */
int http_do(struct http *h, const struct http_req *rq, struct http_resp *rs);

/* Tuning from the environment: TWOFOLD_HTTP_RETRIES retries after the
 * first try (default 5, so 6 tries; 0: none) and TWOFOLD_HTTP_TIMEOUT
 * seconds without progress before a try is given up (default 60). */

/* url_escape(s, keep_slash): percent-encode everything but
 * [A-Za-z0-9-._~] (and '/' if keep_slash); a new string. */
char *url_escape(const char *s, int keep_slash);

/* xml_next(doc, n, tag, from, out, outn): the text of the next <tag>...</tag>
 * at or after offset *from; advances *from past it.  1 found, 0 none.
 * Entities &amp; &lt; &gt; &quot; &apos; are decoded; text longer than
 * outn-1 is an error (-1). */
int xml_next(const char *doc, size_t n, const char *tag, size_t *from, char *out, size_t outn);

#endif
