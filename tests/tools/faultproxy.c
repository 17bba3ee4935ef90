/* faultproxy: an HTTP/1.1 reverse proxy for tests that injects faults.
 *
 *   faultproxy -u UPSTREAM_PORT [-l PORT] [-p PORTFILE] [-o LOGFILE]
 *              [-s SEED] [-t STALL_SECS] [-g GATE] [-m MAX] [-f FAULT]...
 *
 * Listens on 127.0.0.1:PORT (0, the default: a free port, written to
 * PORTFILE and to stdout) and forwards every request, byte for byte and
 * with its Host header unchanged, to 127.0.0.1:UPSTREAM_PORT.  So a client
 * that signs the Host header (AWS SigV4) and talks to the proxy is
 * verified by the server against the very header it signed.  Requests
 * are framed by Content-Length or chunked transfer coding, responses also
 * by "until close"; connections are kept alive on both sides.  One thread
 * per client connection; every wait is a poll(2) with a time limit.
 *
 * A FAULT is KIND:WHEN[:METHOD[:PATH]]:
 *   KIND   500, 503 or 429 (answered by the proxy; 429 and 503 carry
 *          Retry-After: 1; the request is not forwarded), reset-request
 *          (forward the head and half the body, then reset both
 *          connections), reset-response (forward the whole request, then
 *          the response head and half its body -- nothing if it has no
 *          body -- then reset both), stall (take the request,
 *          answer nothing for STALL_SECS, default 120, or until the client
 *          gives up), refuse (reset the connection at once), or hold
 *          (take the request and forward it, unchanged, only once the
 *          file GATE exists -- or after STALL_SECS -- so that a test can
 *          change the server's state while a client waits for an answer;
 *          the fault line is logged before the wait).
 *   WHEN   N (the Nth matching request, 1-based), every=K (every Kth
 *          matching request) or rate=P (each matching request with
 *          probability P, from SEED).
 *   METHOD only requests with this method match (GET, PUT, ...; * any).
 *   PATH   only requests whose target contains PATH match (e.g. /data/).
 * The first fault that matches a request is applied.  -m MAX: at most
 * MAX faults for one request (the same method and target), so that a
 * client retrying MAX times always gets through.  Expect:
 * 100-continue is answered by the proxy and not forwarded (neither SigV4
 * as libcurl sends it nor Shared Key signs that header).
 *
 * LOGFILE gets one line per request and one per fault:
 *   request N METHOD TARGET LENGTH
 *   fault N KIND METHOD TARGET LENGTH
 * (LENGTH: the request's Content-Length, or - when chunked or absent).
 * SIGTERM or SIGINT prints "faultproxy: N requests, M faults" on stderr and
 * exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define HEAD_MAX	65536
#define BUF_SIZE	65536
#define IO_TIMEOUT_MS	120000
#define MAX_FAULTS	16
#define SEEN_SLOTS	8192	/* requests remembered for -m */

enum kind { K_500, K_503, K_429, K_RESET_REQ, K_RESET_RESP, K_STALL, K_REFUSE, K_HOLD };
static const char *const kind_names[] = {
	"500", "503", "429", "reset-request", "reset-response", "stall", "refuse", "hold",
};

enum when { W_NTH, W_EVERY, W_RATE };

struct fault {
	enum kind kind;
	enum when when;
	unsigned long n;	/* N or K */
	double rate;
	char method[16];	/* empty: any */
	char path[128];		/* empty: any */
	unsigned long seen;	/* matching requests so far */
};

static struct fault faults[MAX_FAULTS];
static int nfaults;
static int upstream_port;
static int stall_secs = 120;
static const char *gate;		/* -g: the file that ends a hold */
static unsigned long max_per_request;	/* 0: no limit */
static struct { uint64_t h; unsigned long n; } faulted[SEEN_SLOTS];
static uint64_t rng_state = 1;
static unsigned long nrequests, nfaulted;
static FILE *log_fp;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t stop;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("faultproxy: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* rnd(): a uniform double in [0, 1) (splitmix64); under mu. */
static double rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

static int parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

/* parse_fault(spec): add KIND:WHEN[:METHOD[:PATH]] to faults[]. */
static void parse_fault(const char *spec)
{
	char tmp[256], *kind, *when, *method, *path = NULL;
	struct fault *f;
	size_t k;

	if (nfaults == MAX_FAULTS)
		die("at most %d faults", MAX_FAULTS);
	if (strlen(spec) >= sizeof tmp)
		die("fault %s: too long", spec);
	memcpy(tmp, spec, strlen(spec) + 1);
	f = &faults[nfaults];
	kind = tmp;
	when = strchr(kind, ':');
	if (when == NULL)
		die("fault %s: expected KIND:WHEN[:METHOD]", spec);
	*when++ = '\0';
	method = strchr(when, ':');
	if (method != NULL) {
		*method++ = '\0';
		path = strchr(method, ':');
		if (path != NULL)
			*path++ = '\0';
		if (strlen(method) >= sizeof f->method || method[0] == '\0')
			die("fault %s: bad method", spec);
		if (strcmp(method, "*") != 0)
			memcpy(f->method, method, strlen(method) + 1);
	}
	if (path != NULL) {
		if (strlen(path) >= sizeof f->path || path[0] == '\0')
			die("fault %s: bad path", spec);
		memcpy(f->path, path, strlen(path) + 1);
	}
	for (k = 0; k < sizeof kind_names / sizeof kind_names[0]; k++)
		if (strcmp(kind, kind_names[k]) == 0)
			break;
	if (k == sizeof kind_names / sizeof kind_names[0])
		die("fault %s: unknown kind %s", spec, kind);
	f->kind = (enum kind)k;
	if (strncmp(when, "every=", 6) == 0) {
		f->when = W_EVERY;
		if (parse_ulong(when + 6, &f->n) != 0 || f->n == 0)
			die("fault %s: every=K needs K >= 1", spec);
	} else if (strncmp(when, "rate=", 5) == 0) {
		char *end;

		f->when = W_RATE;
		errno = 0;
		f->rate = strtod(when + 5, &end);
		if (errno != 0 || *end != '\0' || end == when + 5 || !(f->rate >= 0 && f->rate <= 1))
			die("fault %s: rate=P needs 0 <= P <= 1", spec);
	} else {
		f->when = W_NTH;
		if (parse_ulong(when, &f->n) != 0 || f->n == 0)
			die("fault %s: WHEN is N, every=K or rate=P", spec);
	}
	nfaults++;
}

/* faulted_count(method, target): the number of faults this request has had
 * so far (an FNV-1a hash of both in an open-addressed table; a full table
 * forgets nothing but stops counting new requests); under mu. */
static unsigned long *faulted_count(const char *method, const char *target)
{
	static unsigned long spare;
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[2] = { method, target };

	for (int k = 0; k < 2; k++) {
		for (const char *c = parts[k]; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
		h = (h ^ ' ') * 0x100000001b3ULL;
	}
	if (h == 0)
		h = 1;
	for (size_t i = 0, j = h % SEEN_SLOTS; i < SEEN_SLOTS; i++, j = (j + 1) % SEEN_SLOTS) {
		if (faulted[j].h == h)
			return &faulted[j].n;
		if (faulted[j].h == 0) {
			faulted[j].h = h;
			return &faulted[j].n;
		}
	}
	spare = 0;
	return &spare;
}

/* decide(method, target, len, &num): count the request, log it, and pick
 * the fault to apply (-1: none). */
static int decide(const char *method, const char *target, const char *len, unsigned long *num)
{
	int pick = -1;

	pthread_mutex_lock(&mu);
	*num = ++nrequests;
	for (int i = 0; i < nfaults; i++) {
		struct fault *f = &faults[i];
		int hit = 0;

		if ((f->method[0] && strcmp(f->method, method) != 0) ||
		    (f->path[0] && strstr(target, f->path) == NULL))
			continue;
		f->seen++;
		switch (f->when) {
		case W_NTH: hit = f->seen == f->n; break;
		case W_EVERY: hit = f->seen % f->n == 0; break;
		case W_RATE: hit = rnd() < f->rate; break;
		}
		if (hit && pick < 0)
			pick = i;
	}
	if (pick >= 0 && max_per_request > 0) {
		unsigned long *n = faulted_count(method, target);

		if (*n >= max_per_request)
			pick = -1;
		else
			(*n)++;
	}
	if (log_fp) {
		fprintf(log_fp, "request %lu %s %s %s\n", *num, method, target, len);
		if (pick >= 0)
			fprintf(log_fp, "fault %lu %s %s %s %s\n", *num, kind_names[faults[pick].kind],
			    method, target, len);
		fflush(log_fp);
	}
	if (pick >= 0)
		nfaulted++;
	pthread_mutex_unlock(&mu);
	return pick < 0 ? -1 : (int)faults[pick].kind;
}

/* ---- buffered sockets ---- */

struct sock {
	int fd;
	size_t len;		/* bytes in buf */
	char buf[BUF_SIZE];
};

/* wait_in(fd, ms): 1 readable (or hung up), 0 timeout, -1 error. */
static int wait_in(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* fill(s): read more into s->buf.  >0 bytes, 0 EOF, -1 error/timeout/full. */
static ssize_t fill(struct sock *s)
{
	ssize_t r;

	if (s->len == sizeof s->buf)
		return -1;
	if (wait_in(s->fd, IO_TIMEOUT_MS) <= 0)
		return -1;
	do
		r = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		s->len += (size_t)r;
	return r;
}

static void consume(struct sock *s, size_t n)
{
	memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* reset(fd): close with a TCP RST. */
static void reset(int fd)
{
	struct linger l = { 1, 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

/* read_head(s, head, &n): move one message head (through the empty line)
 * from s into head, NUL-terminated.  1 ok, 0 EOF before any byte, -1 error. */
static int read_head(struct sock *s, char *head, size_t *n)
{
	for (;;) {
		char *e = s->len >= 4 ? memmem(s->buf, s->len, "\r\n\r\n", 4) : NULL;

		if (e != NULL) {
			*n = (size_t)(e + 4 - s->buf);
			if (*n >= HEAD_MAX)
				return -1;
			memcpy(head, s->buf, *n);
			head[*n] = '\0';
			consume(s, *n);
			return 1;
		}
		if (s->len >= HEAD_MAX - 1)
			return -1;
		ssize_t r = fill(s);

		if (r == 0 && s->len == 0)
			return 0;
		if (r <= 0)
			return -1;
	}
}

/* ---- message heads ---- */

struct msg {
	char method[16];
	char target[2048];
	int status;		/* responses */
	long long clen;		/* -1: none */
	int chunked;
	int close;		/* Connection: close */
	int expect;		/* Expect: 100-continue */
};

/* hdr_value(line, name): the value of "Name: value", or NULL. */
static const char *hdr_value(const char *line, const char *name)
{
	size_t l = strlen(name);

	if (strncasecmp(line, name, l) != 0 || line[l] != ':')
		return NULL;
	line += l + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/* parse_head(head, m, request, out, &outn): parse the start line and the
 * framing headers; copy the head to out without an Expect header.  0 ok,
 * -1 malformed. */
static int parse_head(char *head, struct msg *m, int request, char *out, size_t *outn)
{
	char *line = head, *eol;
	int first = 1;

	memset(m, 0, sizeof *m);
	m->clen = -1;
	*outn = 0;
	while ((eol = strstr(line, "\r\n")) != NULL) {
		size_t ll = (size_t)(eol - line);
		const char *v;
		int keep = 1;

		*eol = '\0';
		if (first) {
			first = 0;
			if (request) {
				char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

				if (sp2 == NULL || (size_t)(sp1 - line) >= sizeof m->method ||
				    (size_t)(sp2 - sp1 - 1) >= sizeof m->target)
					return -1;
				memcpy(m->method, line, (size_t)(sp1 - line));
				memcpy(m->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
			} else {
				if (strncmp(line, "HTTP/1.", 7) != 0 || ll < 12)
					return -1;
				m->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
			}
		} else if (ll == 0) {
			/* the end */
		} else if ((v = hdr_value(line, "Content-Length")) != NULL) {
			char *end;

			errno = 0;
			m->clen = strtoll(v, &end, 10);
			if (errno != 0 || end == v || m->clen < 0)
				return -1;
		} else if ((v = hdr_value(line, "Transfer-Encoding")) != NULL) {
			m->chunked = strcasestr(v, "chunked") != NULL;
		} else if ((v = hdr_value(line, "Connection")) != NULL) {
			m->close = strcasestr(v, "close") != NULL;
		} else if ((v = hdr_value(line, "Expect")) != NULL) {
			m->expect = strcasecmp(v, "100-continue") == 0;
			keep = 0;
		}
		if (keep) {
			memcpy(out + *outn, line, ll);
			memcpy(out + *outn + ll, "\r\n", 2);
			*outn += ll + 2;
		}
		line = eol + 2;
	}
	if (first)
		return -1;
	if (m->chunked)
		m->clen = -1;
	return 0;
}

/* ---- bodies ---- */

enum fstate { F_LEN, F_CSIZE, F_CDATA, F_CCRLF, F_TRAILER, F_CLOSE, F_DONE };

struct framer {
	enum fstate st;
	unsigned long long left;	/* F_LEN, F_CDATA */
	char line[256];			/* chunk-size or trailer line */
	size_t ll;
};

static void framer_init(struct framer *f, const struct msg *m, int until_close)
{
	memset(f, 0, sizeof *f);
	if (m->chunked) {
		f->st = F_CSIZE;
	} else if (m->clen >= 0) {
		f->st = m->clen > 0 ? F_LEN : F_DONE;
		f->left = (unsigned long long)m->clen;
	} else {
		f->st = until_close ? F_CLOSE : F_DONE;
	}
}

/* feed(f, p, n): how many of the n bytes belong to the body; -1 if the
 * chunked coding is malformed. */
static long feed(struct framer *f, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && f->st != F_DONE) {
		switch (f->st) {
		case F_CLOSE:
			return (long)n;
		case F_LEN:
		case F_CDATA: {
			size_t k = n - i < f->left ? n - i : (size_t)f->left;

			i += k;
			f->left -= k;
			if (f->left == 0)
				f->st = f->st == F_LEN ? F_DONE : F_CCRLF;
			if (f->st == F_CCRLF)
				f->left = 2;
			break;
		}
		case F_CCRLF:
			i++;
			if (--f->left == 0)
				f->st = F_CSIZE;
			break;
		case F_CSIZE:
		case F_TRAILER: {
			char c = p[i++];

			if (c != '\n') {
				if (f->ll + 1 >= sizeof f->line)
					return -1;
				f->line[f->ll++] = c;
				break;
			}
			if (f->ll > 0 && f->line[f->ll - 1] == '\r')
				f->ll--;
			f->line[f->ll] = '\0';
			if (f->st == F_TRAILER) {
				if (f->ll == 0)
					f->st = F_DONE;
			} else {
				char *end;

				errno = 0;
				f->left = strtoull(f->line, &end, 16);
				if (errno != 0 || end == f->line)
					return -1;
				f->st = f->left == 0 ? F_TRAILER : F_CDATA;
			}
			f->ll = 0;
			break;
		}
		case F_DONE:
			break;
		}
	}
	return (long)i;
}

/* relay(src, dst, f, limit): copy the body framed by f from src to dst
 * (dst -1: discard), at most limit bytes (then return 1 early).  0 the whole
 * body, 1 limit reached, -1 error (EOF before the end, except F_CLOSE). */
static int relay(struct sock *src, int dst, struct framer *f, unsigned long long limit)
{
	unsigned long long done = 0;

	while (f->st != F_DONE) {
		if (src->len == 0) {
			ssize_t r = fill(src);

			if (r == 0 && f->st == F_CLOSE)
				return 0;
			if (r <= 0)
				return -1;
		}
		size_t avail = src->len;

		if (limit - done < avail)
			avail = (size_t)(limit - done);
		long k = feed(f, src->buf, avail);

		if (k < 0)
			return -1;
		if (dst >= 0 && write_all(dst, src->buf, (size_t)k) != 0)
			return -1;
		consume(src, (size_t)k);
		done += (unsigned long long)k;
		if (done >= limit && f->st != F_DONE)
			return 1;
	}
	return 0;
}

/* ---- connections ---- */

static int connect_upstream(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	a.sin_port = htons((uint16_t)upstream_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int send_status(int fd, int kind)
{
	char r[512];
	const char *line = kind == K_500 ? "500 Internal Server Error" :
	    kind == K_503 ? "503 Service Unavailable" : "429 Too Many Requests";
	const char *code = kind == K_500 ? "InternalError" :
	    kind == K_503 ? "ServiceUnavailable" : "SlowDown";
	char body[160];
	int bn = snprintf(body, sizeof body, "<?xml version=\"1.0\"?><Error><Code>%s</Code>"
	    "<Message>injected by faultproxy</Message></Error>", code);
	int n = snprintf(r, sizeof r, "HTTP/1.1 %s\r\nContent-Type: application/xml\r\n"
	    "Content-Length: %d\r\n%s\r\n%s", line, bn, kind == K_500 ? "" : "Retry-After: 1\r\n", body);

	return write_all(fd, r, (size_t)n);
}

struct client {
	struct sock c;		/* from the client */
	struct sock u;		/* from the upstream */
	char head[HEAD_MAX];
	char out[HEAD_MAX];
};

static void serve(struct client *cl)
{
	struct msg rq, rs;
	struct framer f;
	size_t n, on;
	int cfd = cl->c.fd;

	cl->u.fd = -1;
	for (;;) {
		unsigned long num;
		char lenbuf[32];
		int kind, r;

		/* idle: wait for the next request; if the upstream closes its
		 * side meanwhile, close ours too, as the server would */
		while (cl->c.len == 0) {
			struct pollfd p[2] = { { .fd = cfd, .events = POLLIN },
			    { .fd = cl->u.fd, .events = POLLIN } };

			r = poll(p, cl->u.fd >= 0 ? 2 : 1, IO_TIMEOUT_MS);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				goto out;
			if (cl->u.fd >= 0 && p[1].revents)
				goto out;
			if (p[0].revents)
				break;
		}
		r = read_head(&cl->c, cl->head, &n);
		if (r <= 0 || parse_head(cl->head, &rq, 1, cl->out, &on) != 0)
			goto out;
		if (rq.clen >= 0)
			snprintf(lenbuf, sizeof lenbuf, "%lld", rq.clen);
		else
			snprintf(lenbuf, sizeof lenbuf, "-");
		kind = decide(rq.method, rq.target, lenbuf, &num);
		if (kind == K_REFUSE) {
			reset(cl->u.fd);
			reset(cfd);
			return;
		}
		if (kind == K_HOLD) {
			/* forwarded unchanged once the gate file exists */
			for (int t = 0; t < stall_secs * 20 && !stop; t++) {
				if (gate && access(gate, F_OK) == 0)
					break;
				nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
			}
			/* a fresh upstream connection: the server may have
			 * closed an idle one meanwhile */
			if (cl->u.fd >= 0)
				close(cl->u.fd);
			cl->u.fd = -1;
			kind = -1;
		}
		if (rq.expect && write_all(cfd, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0)
			goto out;
		framer_init(&f, &rq, 0);
		if (kind == K_500 || kind == K_503 || kind == K_429 || kind == K_STALL) {
			if (relay(&cl->c, -1, &f, ULLONG_MAX) != 0)
				goto out;
			if (kind == K_STALL) {
				/* hold until the client gives up (EOF) or time is up */
				for (int t = 0; t < stall_secs * 10 && !stop; t++) {
					char junk[4096];

					if (wait_in(cfd, 100) > 0 && read(cfd, junk, sizeof junk) <= 0)
						break;
				}
				goto out;
			}
			if (send_status(cfd, kind) != 0 || rq.close)
				goto out;
			continue;
		}
		if (cl->u.fd < 0) {
			cl->u.fd = connect_upstream();
			cl->u.len = 0;
			if (cl->u.fd < 0)
				goto out;	/* the client sees the connection close */
		}
		if (write_all(cl->u.fd, cl->out, on) != 0)
			goto out;
		if (kind == K_RESET_REQ) {
			/* half the body (at least one byte when there is one) */
			unsigned long long half = rq.clen > 0 ? (unsigned long long)(rq.clen + 1) / 2 : 1;

			if (rq.clen != 0)
				relay(&cl->c, cl->u.fd, &f, half);
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);	/* let the server take them */
			reset(cl->u.fd);
			reset(cfd);
			return;
		}
		if (relay(&cl->c, cl->u.fd, &f, ULLONG_MAX) != 0)
			goto out;
		/* the response, skipping interim 1xx answers */
		do {
			r = read_head(&cl->u, cl->head, &n);
			if (r <= 0 || parse_head(cl->head, &rs, 0, cl->out, &on) != 0)
				goto out;
		} while (rs.status >= 100 && rs.status < 200);
		if (strcmp(rq.method, "HEAD") == 0 || rs.status == 204 || rs.status == 304) {
			rs.chunked = 0;
			rs.clen = 0;
		}
		framer_init(&f, &rs, 1);
		if (kind == K_RESET_RESP) {
			/* the head and half the body; nothing at all when there
			 * is no body (else the answer would arrive whole) */
			unsigned long long half = rs.clen > 0 ? (unsigned long long)rs.clen / 2 : 0;

			if (half > 0 && write_all(cfd, cl->out, on) == 0)
				relay(&cl->u, cfd, &f, half);
			reset(cl->u.fd);
			reset(cfd);
			return;
		}
		if (write_all(cfd, cl->out, on) != 0 || relay(&cl->u, cfd, &f, ULLONG_MAX) != 0)
			goto out;
		if (f.st == F_DONE && rs.close == 0 && rq.close == 0)
			continue;
		goto out;
	}
out:
	if (cl->u.fd >= 0)
		close(cl->u.fd);
	close(cfd);
}

static void *conn_main(void *arg)
{
	struct client *cl = arg;

	serve(cl);
	free(cl);
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: faultproxy -u UPSTREAM_PORT [-l PORT] [-p PORTFILE] [-o LOGFILE]\n"
	    "                  [-s SEED] [-t STALL_SECS] [-g GATE] [-m MAX] [-f KIND:WHEN[:METHOD[:PATH]]]...\n"
	    "  KIND: 500 503 429 reset-request reset-response stall refuse hold\n"
	    "  WHEN: N | every=K | rate=P\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *portfile = NULL, *logname = NULL;
	unsigned long v;
	int lport = 0, lfd, one = 1, opt;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	struct sigaction sa;
	pthread_attr_t attr;

	while ((opt = getopt(argc, argv, "u:l:p:o:s:t:g:m:f:")) != -1) {
		switch (opt) {
		case 'u':
			if (parse_ulong(optarg, &v) != 0 || v == 0 || v > 65535)
				die("bad upstream port %s", optarg);
			upstream_port = (int)v;
			break;
		case 'l':
			if (parse_ulong(optarg, &v) != 0 || v > 65535)
				die("bad port %s", optarg);
			lport = (int)v;
			break;
		case 'p': portfile = optarg; break;
		case 'o': logname = optarg; break;
		case 'g': gate = optarg; break;
		case 's':
			if (parse_ulong(optarg, &v) != 0)
				die("bad seed %s", optarg);
			rng_state = v;
			break;
		case 't':
			if (parse_ulong(optarg, &v) != 0 || v > 86400)
				die("bad stall time %s", optarg);
			stall_secs = (int)v;
			break;
		case 'm':
			if (parse_ulong(optarg, &max_per_request) != 0)
				die("bad maximum %s", optarg);
			break;
		case 'f': parse_fault(optarg); break;
		default: usage();
		}
	}
	if (upstream_port == 0 || optind != argc)
		usage();
	if (logname && (log_fp = fopen(logname, "a")) == NULL)
		die("%s: %s", logname, strerror(errno));

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	a.sin_port = htons((uint16_t)lport);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0)
		die("cannot listen on 127.0.0.1:%d: %s", lport, strerror(errno));
	if (getsockname(lfd, (struct sockaddr *)&a, &al) != 0)
		die("getsockname: %s", strerror(errno));
	lport = ntohs(a.sin_port);
	if (portfile) {
		char tmp[PATH_MAX];
		FILE *pf;

		if (snprintf(tmp, sizeof tmp, "%s.tmp", portfile) >= (int)sizeof tmp)
			die("%s: name too long", portfile);
		if ((pf = fopen(tmp, "w")) == NULL || fprintf(pf, "%d\n", lport) < 0 ||
		    fclose(pf) != 0 || rename(tmp, portfile) != 0)
			die("%s: %s", portfile, strerror(errno));
	}
	printf("%d\n", lport);
	fflush(stdout);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!stop) {
		struct client *cl;
		pthread_t t;
		int cfd;

		if (wait_in(lfd, 200) <= 0)
			continue;
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		cl = calloc(1, sizeof *cl);
		if (cl == NULL) {
			close(cfd);
			continue;
		}
		cl->c.fd = cfd;
		if (pthread_create(&t, &attr, conn_main, cl) != 0) {
			close(cfd);
			free(cl);
		}
	}
	pthread_mutex_lock(&mu);
	fprintf(stderr, "faultproxy: %lu requests, %lu faults\n", nrequests, nfaulted);
	if (log_fp)
		fclose(log_fp);
	log_fp = NULL;
	pthread_mutex_unlock(&mu);
	return 0;
}
