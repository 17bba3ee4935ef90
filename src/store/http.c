/* http.c: see http.h.  One CURLSH shares the connection cache (and DNS)
 * between the easy handles of all threads; each request uses a fresh easy
 * handle, which is cheap next to the network and keeps threads apart. */
#include "store/http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "util/util.h"

struct http {
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	int tries;
	long timeout;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_ok;

static void global_init(void)
{
	global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static void lock_cb(CURL *c, curl_lock_data d, curl_lock_access a, void *p)
{
	struct http *h = p;

	(void)c;
	(void)a;
	pthread_mutex_lock(&h->locks[d]);
}

static void unlock_cb(CURL *c, curl_lock_data d, void *p)
{
	struct http *h = p;

	(void)c;
	pthread_mutex_unlock(&h->locks[d]);
}

static long env_num(const char *name, long def, long lo, long hi)
{
	const char *v = getenv(name);
	uint64_t n;

	if (v == NULL || parse_u64(v, &n) != 0 || (long)n < lo || (long)n > hi)
		return def;
	return (long)n;
}

struct http *http_new(void)
{
	struct http *h;

	pthread_once(&global_once, global_init);
	if (!global_ok) {
		errmsg("cannot initialise libcurl");
		return NULL;
	}
	h = xcalloc(1, sizeof *h);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->locks[i], NULL);
	h->share = curl_share_init();
	if (h->share == NULL) {
		free(h);
		errmsg("cannot initialise libcurl");
		return NULL;
	}
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, lock_cb);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, unlock_cb);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	/* retries after the first try: 0 disables them */
	h->tries = (int)env_num("TWOFOLD_HTTP_RETRIES", 5, 0, 100) + 1;
	h->timeout = env_num("TWOFOLD_HTTP_TIMEOUT", 60, 1, 86400);
	return h;
}

void http_free(struct http *h)
{
	if (h == NULL)
		return;
	curl_share_cleanup(h->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->locks[i]);
	free(h);
}

/* An error answer's body (its status is 300 or more) goes to err, not to
 * the caller's buffer: a buffer sized for the object (42 bytes for a pack
 * header) must not turn a 503 that would be retried into "too large".  Up
 * to ERR_BODY_MAX bytes are kept, for messages and error codes. */
#define ERR_BODY_MAX 65536

struct sink {
	struct buf *out;
	struct buf err;
	CURL *c;		/* the transfer, for its status so far */
	int overflow;
};

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	long status = 0;
	size_t room;

	curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300) {
		room = ERR_BODY_MAX - s->err.len;
		buf_append(&s->err, p, size * n < room ? size * n : room);
		return size * n;
	}
	if (s->out == NULL)
		return size * n;
	if (buf_append(s->out, p, size * n) != 0) {
		s->overflow = 1;
		return 0;
	}
	return size * n;
}

/* The longest Retry-After honoured: a server asking for more is treated
 * as down (the tries run out) rather than stalling a backup for hours. */
#define RETRY_AFTER_MAX 30

/* header(line, name): the value of "Name: value" when line is that header. */
static const char *header(const char *line, size_t n, const char *name, size_t *vn)
{
	size_t l = strlen(name);
	const char *v;

	if (n <= l || strncasecmp(line, name, l) != 0 || line[l] != ':')
		return NULL;
	v = line + l + 1;
	while (v < line + n && (*v == ' ' || *v == '\t'))
		v++;
	*vn = (size_t)(line + n - v);
	while (*vn > 0 && (v[*vn - 1] == '\r' || v[*vn - 1] == '\n' || v[*vn - 1] == ' '))
		(*vn)--;
	return v;
}

static void copy_value(char *dst, size_t dn, const char *v, size_t vn)
{
	if (vn >= dn)
		vn = dn - 1;
	memcpy(dst, v, vn);
	dst[vn] = '\0';
}

/* What header_cb writes to: the response, and all header lines if the
 * caller asked for them (http_req.resp_headers). */
struct hsink {
	struct http_resp *rs;
	struct buf *all;
};

static size_t header_cb(char *line, size_t size, size_t n, void *arg)
{
	struct hsink *hs = arg;
	struct http_resp *rs = hs->rs;
	size_t len = size * n, vn;
	const char *v;
	char tmp[32];
	uint64_t cl;

	if ((v = header(line, len, "Content-Length", &vn)) != NULL && vn < sizeof tmp) {
		copy_value(tmp, sizeof tmp, v, vn);
		if (parse_u64(tmp, &cl) == 0)
			rs->content_length = cl;
	} else if ((v = header(line, len, "x-ms-error-code", &vn)) != NULL) {
		copy_value(rs->error_code, sizeof rs->error_code, v, vn);
	} else if ((v = header(line, len, "ETag", &vn)) != NULL) {
		copy_value(rs->etag, sizeof rs->etag, v, vn);
	} else if ((v = header(line, len, "Retry-After", &vn)) != NULL && vn < sizeof tmp) {
		/* seconds only; an HTTP-date falls back to our own backoff */
		copy_value(tmp, sizeof tmp, v, vn);
		if (parse_u64(tmp, &cl) == 0)
			rs->retry_after = cl > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (unsigned)cl;
	}
	if (hs->all != NULL) {
		/* a status line starts a new response (redirects, 100) */
		if (len >= 5 && strncmp(line, "HTTP/", 5) == 0)
			hs->all->len = 0;
		buf_append(hs->all, line, len);
	}
	return len;
}

static int retryable_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int retryable_status(long st)
{
	return st == 408 || st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

/* backoff(try, at_least): full jitter over an exponentially growing
 * window, 0..min(10 s, 0.2 s * 2^try), but never less than the server's
 * Retry-After (at_least seconds, capped at RETRY_AFTER_MAX). */
static void backoff(int try, unsigned at_least)
{
	double cap = 0.2 * (double)(1u << (try < 10 ? try : 10));
	double s;
	struct timespec ts;

	if (cap > 10)
		cap = 10;
	s = cap * ((double)randombytes_uniform(1000001) / 1e6);
	if (s < (double)at_least)
		s = (double)at_least;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* error_answer(rs, sink, out, start): an error status is final: its
 * error code from the body, and the body for the caller in out as far as
 * it fits. */
static void error_answer(struct http_resp *rs, const struct sink *sk, struct buf *out, size_t start)
{
	size_t from = 0, room;

	if (rs->error_code[0] == '\0' && sk->err.len > 0 &&
	    xml_next((const char *)sk->err.p, sk->err.len, "Code", &from,
	    rs->error_code, sizeof rs->error_code) != 1)
		rs->error_code[0] = '\0';
	if (out == NULL)
		return;
	buf_truncate(out, start);
	room = out->max - out->len;
	buf_append(out, sk->err.p, sk->err.len < room ? sk->err.len : room);
}

int http_do(struct http *h, const struct http_req *rq, struct http_resp *rs)
{
	size_t start = rq->out ? rq->out->len : 0;
	struct sink sink = { rq->out, { 0 }, NULL, 0 };
	int ret = -1;

	buf_init(&sink.err, ERR_BODY_MAX);
	for (int try = 0; try < h->tries; try++) {
		CURL *c = curl_easy_init();
		struct hsink hsink = { rs, rq->resp_headers };
		CURLcode cc;

		memset(rs, 0, sizeof *rs);
		rs->content_length = UINT64_MAX;
		rs->attempts = try + 1;
		sink.c = c;
		sink.overflow = 0;
		buf_truncate(&sink.err, 0);
		if (rq->out)
			buf_truncate(rq->out, start);
		if (rq->resp_headers)
			rq->resp_headers->len = 0;
		if (c == NULL) {
			snprintf(rs->curl_error, sizeof rs->curl_error, "cannot create a curl handle");
			goto out;
		}
		curl_easy_setopt(c, CURLOPT_SHARE, h->share);
		curl_easy_setopt(c, CURLOPT_URL, rq->url);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, rs->curl_error);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
		/* no progress for `timeout` seconds: give up this try */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->timeout);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, rq->headers);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &hsink);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		if (rq->aws_sigv4) {
			curl_easy_setopt(c, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
			curl_easy_setopt(c, CURLOPT_USERPWD, rq->userpwd);
		}
		if (strcmp(rq->method, "HEAD") == 0) {
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		} else if (strcmp(rq->method, "GET") != 0) {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
			if (rq->body != NULL || strcmp(rq->method, "PUT") == 0 ||
			    strcmp(rq->method, "POST") == 0) {
				curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
				curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
			}
		}
		cc = curl_easy_perform(c);
		/* a status whose answer was cut off is no answer */
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
		curl_easy_cleanup(c);
		if (cc == CURLE_WRITE_ERROR && sink.overflow) {
			snprintf(rs->curl_error, sizeof rs->curl_error, "response larger than expected");
			goto out;
		}
		if (cc == CURLE_OK && !retryable_status(rs->status)) {
			if (rs->status >= 300)
				error_answer(rs, &sink, rq->out, start);
			ret = 0;
			goto out;
		}
		if (cc != CURLE_OK && !retryable_curl(cc)) {
			if (rs->curl_error[0] == '\0')
				snprintf(rs->curl_error, sizeof rs->curl_error, "%s", curl_easy_strerror(cc));
			goto out;
		}
		if (cc != CURLE_OK && rs->curl_error[0] == '\0')
			snprintf(rs->curl_error, sizeof rs->curl_error, "%s", curl_easy_strerror(cc));
		if (try + 1 < h->tries) {
			/* the URL without its query: a SAS token lives there */
			info(2, "%s %.*s: %s; retrying", rq->method, (int)strcspn(rq->url, "?"),
			    rq->url, cc != CURLE_OK ? rs->curl_error : "server busy or failing");
			backoff(try, rs->retry_after);
		}
	}
	/* the last try's answer stands: a 5xx status, or a transport error */
	if (rs->status != 0) {
		error_answer(rs, &sink, rq->out, start);
		ret = 0;
	}
out:
	buf_free(&sink.err);
	return ret;
}

char *url_escape(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(3 * n + 1), *o = out;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
		    (keep_slash && ch == '/')) {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}

int xml_next(const char *doc, size_t n, const char *tag, size_t *from, char *out, size_t outn)
{
	size_t tl = strlen(tag), i, j, k = 0;

	for (i = *from; i + tl + 2 <= n; i++) {
		if (doc[i] != '<' || strncmp(doc + i + 1, tag, tl) != 0 || doc[i + 1 + tl] != '>')
			continue;
		i += tl + 2;
		for (j = i; j + tl + 3 <= n; j++)
			if (doc[j] == '<' && doc[j + 1] == '/' && strncmp(doc + j + 2, tag, tl) == 0 &&
			    doc[j + 2 + tl] == '>')
				break;
		if (j + tl + 3 > n)
			return -1;	/* unterminated */
		for (size_t p = i; p < j;) {
			static const struct { const char *e; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
				{ "&quot;", '"' }, { "&apos;", '\'' },
			};
			char ch = doc[p];
			size_t adv = 1;

			if (ch == '&') {
				size_t e;

				for (e = 0; e < sizeof ents / sizeof ents[0]; e++) {
					size_t el = strlen(ents[e].e);

					if (p + el <= j && strncmp(doc + p, ents[e].e, el) == 0) {
						ch = ents[e].c;
						adv = el;
						break;
					}
				}
			}
			if (k + 1 >= outn)
				return -1;
			out[k++] = ch;
			p += adv;
		}
		out[k] = '\0';
		*from = j + tl + 3;
		return 1;
	}
	return 0;
}
