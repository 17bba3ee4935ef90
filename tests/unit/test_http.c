/* test_http: url_escape and xml_next, and http_do against a scripted
 * server on 127.0.0.1 (a thread here) for what real servers seldom do on
 * cue: an error answer larger than the caller's buffer, an answer cut off
 * mid-body.  The back ends are tested against real servers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "store/http.h"

/* The scripted server: one connection per answer, closed after it. */
static int lfd;
static const char *const *script;

static void *serve(void *arg)
{
	char req[4096];

	(void)arg;
	for (const char *const *a = script; *a != NULL; a++) {
		int fd = accept(lfd, NULL, NULL);
		size_t got = 0;
		ssize_t n;

		if (fd < 0)
			break;
		/* a GET: the request ends with its header block */
		while (got < sizeof req - 1 && (n = read(fd, req + got, sizeof req - 1 - got)) > 0) {
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		if (write(fd, *a, strlen(*a)) < 0)
			perror("write");
		close(fd);
	}
	return NULL;
}

/* get(script, max, &out, &rs): GET through the script with a buffer of
 * at most max bytes; http_do's result. */
static int get(const char *const *answers, size_t max, struct buf *out, struct http_resp *rs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	struct http *h = http_new();
	struct http_req rq = { .method = "GET", .out = out };
	char url[64];
	pthread_t t;
	int rc;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (h == NULL || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(lfd, 8) != 0 || getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
		perror("scripted server");
		exit(1);
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%u/obj", ntohs(sa.sin_port));
	rq.url = url;
	script = answers;
	pthread_create(&t, NULL, serve, NULL);
	buf_init(out, max);
	rc = http_do(h, &rq, rs);
	/* an answer the client did not come back for is accepted here */
	shutdown(lfd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(lfd);
	http_free(h);
	return rc;
}

#define BUSY_XML "<?xml version=\"1.0\"?><Error><Code>ServiceUnavailable</Code><Message>" \
	"Please reduce your request rate; this message is longer than the forty-two " \
	"bytes of a pack header, which is the point of it.</Message></Error>"
#define MISSING_XML "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>" \
	"The specified key does not exist, and this message is longer than the buffer.</Message></Error>"

/* answer(status, body): an HTTP/1.1 answer with its Content-Length */
static const char *answer(const char *status, const char *body)
{
	static char buf[4][512];
	static int next;
	char *a = buf[next++ % 4];

	snprintf(a, sizeof buf[0], "HTTP/1.1 %s\r\nContent-Type: application/xml\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status, strlen(body), body);
	return a;
}

static void scripted(void)
{
	const char *busy_then_ok[] = { answer("503 Slow Down", BUSY_XML), answer("200 OK", "0123456789"), NULL };
	const char *missing[] = { answer("404 Not Found", MISSING_XML), NULL };
	/* Content-Length 100, twenty bytes sent */
	static const char *const cut_off[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly twenty bytes...",
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly twenty bytes...",
		NULL
	};
	const char *too_large[] = { answer("200 OK", "01234567890123456789"), NULL };
	struct http_resp rs;
	struct buf out;
	int rc;

	setenv("TWOFOLD_HTTP_RETRIES", "1", 1);
	rc = get(busy_then_ok, 10, &out, &rs);
	OK(rc == 0 && rs.status == 200 && rs.attempts == 2 && out.len == 10 &&
	    memcmp(out.p, "0123456789", 10) == 0,
	    "a 503 whose body exceeds the buffer is retried, and the retry's answer fills it "
	    "(rc %d, status %ld, %d tries, %zu bytes)", rc, rs.status, rs.attempts, out.len);
	buf_free(&out);
	rc = get(missing, 10, &out, &rs);
	OK(rc == 0 && rs.status == 404 && strcmp(rs.error_code, "NoSuchKey") == 0 && out.len <= 10,
	    "a 404 whose body exceeds the buffer is an answer, with the body's error code "
	    "(rc %d, status %ld, code '%s')", rc, rs.status, rs.error_code);
	buf_free(&out);
	rc = get(cut_off, 1000, &out, &rs);
	OK(rc == -1 && rs.status == 0 && rs.attempts == 2,
	    "an answer cut off mid-body, twice, is a transport failure, not a status "
	    "(rc %d, status %ld, %d tries)", rc, rs.status, rs.attempts);
	buf_free(&out);
	rc = get(too_large, 10, &out, &rs);
	OK(rc == -1 && strstr(rs.curl_error, "larger than expected") != NULL,
	    "a successful answer larger than the buffer fails (%s)", rs.curl_error);
	buf_free(&out);
}

int main(void)
{
	static const char doc[] = "<R><Key>a/b&amp;c</Key><Size>12</Size><Key>x&lt;y&gt;</Key>"
	    "<Bad>unterminated";
	char out[32], *e;
	size_t from = 0;

	e = url_escape("a b/c+d=e~_.-", 0);
	OK(strcmp(e, "a%20b%2Fc%2Bd%3De~_.-") == 0, "url_escape encodes all but unreserved (%s)", e);
	free(e);
	e = url_escape("data/ab/cd", 1);
	OK(strcmp(e, "data/ab/cd") == 0, "url_escape can keep slashes");
	free(e);
	OK(xml_next(doc, sizeof doc - 1, "Key", &from, out, sizeof out) == 1 &&
	    strcmp(out, "a/b&c") == 0, "first Key, entity decoded");
	OK(xml_next(doc, sizeof doc - 1, "Key", &from, out, sizeof out) == 1 &&
	    strcmp(out, "x<y>") == 0, "second Key");
	OK(xml_next(doc, sizeof doc - 1, "Key", &from, out, sizeof out) == 0, "no third Key");
	from = 0;
	OK(xml_next(doc, sizeof doc - 1, "Size", &from, out, sizeof out) == 1 &&
	    strcmp(out, "12") == 0, "Size");
	from = 0;
	OK(xml_next(doc, sizeof doc - 1, "Bad", &from, out, sizeof out) == -1, "an unterminated element is an error");
	from = 0;
	OK(xml_next(doc, sizeof doc - 1, "Key", &from, out, 3) == -1, "text longer than the buffer is an error");
	scripted();
	return tap_done();
}
