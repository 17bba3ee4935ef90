#include "util/json.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof *j);
	j->f = f;
}

static void pre(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = 1;
}

static void open_(struct json *j, int c)
{
	pre(j);
	fputc(c, j->f);
	if (j->depth < 63)
		j->depth++;
	j->need_comma[j->depth] = 0;
}

static void close_(struct json *j, int c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_begin_obj(struct json *j) { open_(j, '{'); }
void json_end_obj(struct json *j) { close_(j, '}'); }
void json_begin_arr(struct json *j) { open_(j, '['); }
void json_end_arr(struct json *j) { close_(j, ']'); }

/* utf8_len(p, n): length of a valid UTF-8 sequence at p, or 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void raw_str(FILE *f, const uint8_t *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t l;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", f);
			i++;
		} else if (c == '\t') {
			fputs("\\t", f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if ((l = utf8_len(p + i, n - i)) > 0) {
			fwrite(p + i, 1, l, f);
			i += l;
		} else {
			fprintf(f, "\\u%04x", c);
			i++;
		}
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *k)
{
	pre(j);
	raw_str(j->f, (const uint8_t *)k, strlen(k));
	fputc(':', j->f);
	j->after_key = 1;
}

void json_strn(struct json *j, const void *p, size_t n)
{
	pre(j);
	raw_str(j->f, p, n);
}

void json_str(struct json *j, const char *s)
{
	json_strn(j, s, strlen(s));
}

void json_hex(struct json *j, const uint8_t *p, size_t n)
{
	pre(j);
	fputc('"', j->f);
	for (size_t i = 0; i < n; i++)
		fprintf(j->f, "%02x", p[i]);
	fputc('"', j->f);
}

void json_u64(struct json *j, uint64_t v)
{
	pre(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_i64(struct json *j, int64_t v)
{
	pre(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_bool(struct json *j, int v)
{
	pre(j);
	fputs(v ? "true" : "false", j->f);
}

void json_double(struct json *j, double v, int prec)
{
	pre(j);
	fprintf(j->f, "%.*f", prec, v == v && v - v == 0 ? v : 0.0);
}

void json_null(struct json *j)
{
	pre(j);
	fputs("null", j->f);
}

void json_time(struct json *j, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	char b[64];

	if (frac < 0) {
		frac += 1000000000;
		t--;
	}
	gmtime_r(&t, &tm);
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	pre(j);
	fprintf(j->f, "\"%s.%09ldZ\"", b, frac);
}

void json_end(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

void json_kstr(struct json *j, const char *k, const char *s)
{
	json_key(j, k);
	json_str(j, s);
}

void json_ku64(struct json *j, const char *k, uint64_t v)
{
	json_key(j, k);
	json_u64(j, v);
}

void json_khex(struct json *j, const char *k, const uint8_t *p, size_t n)
{
	json_key(j, k);
	json_hex(j, p, n);
}

char *fmt_time(int64_t ns, char *buf, size_t n)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}
