/* test_util: buf, codec, hex, parse_u64, json. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/json.h"
#include "util/util.h"

static void test_buf(void)
{
	struct buf b;
	uint8_t big[300];

	buf_init(&b, 10);
	OK(buf_reserve(&b, 0) != NULL, "reserve 0 on an empty buffer is not an error");
	OK(buf_append(&b, "0123456789", 10) == 0 && b.len == 10, "append up to max");
	OK(buf_append(&b, "x", 1) == -1 && b.overflow, "append past max fails and marks overflow");
	OK(buf_append(&b, "", 0) == -1, "an overflowed buffer stays failed");
	buf_truncate(&b, 4);
	OK(!b.overflow && b.len == 4 && memcmp(b.p, "0123", 4) == 0, "truncate keeps the first bytes and clears overflow");
	buf_truncate(&b, 9);
	OK(b.len == 4 && buf_append(&b, "ab", 2) == 0 && b.len == 6, "truncate never lengthens; the buffer is usable again");
	buf_free(&b);
	buf_init(&b, 1000);
	memset(big, 7, sizeof big);
	OK(buf_append(&b, big, 300) == 0 && buf_append(&b, big, 300) == 0 && b.len == 600 &&
	    b.p[599] == 7, "growth keeps contents");
	buf_wipe_free(&b);
	OK(b.p == NULL && b.len == 0, "wipe_free empties");
	buf_init(&b, 1u << 20);
	OK(buf_reserve_aligned(&b, 5000, 4096) == b.p && ((uintptr_t)b.p & 4095) == 0 && b.cap >= 5000,
	    "reserve_aligned: room at a page boundary");
	{
		uint8_t *first = b.p;

		b.len = 100;
		OK(buf_reserve_aligned(&b, 4000, 4096) == first && b.len == 0,
		    "reserve_aligned keeps memory that fits, and empties the buffer");
	}
	OK(buf_reserve_aligned(&b, 70000, 65536) != NULL && ((uintptr_t)b.p & 65535) == 0 && b.cap >= 70000,
	    "reserve_aligned grows, at the new alignment");
	OK(buf_reserve_aligned(&b, (1u << 20) + 1, 4096) == NULL && b.overflow, "reserve_aligned past max fails");
	OK(buf_reserve_aligned(&b, 10, 4096) != NULL && !b.overflow, "... and the buffer is usable again");
	buf_free(&b);
}

static void test_codec(void)
{
	struct buf b;
	struct dec d;
	static const uint8_t want[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
		0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x02, 0x00, 0x00, 0x00, 'h', 'i', 0xfe,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t n;
	const uint8_t *p;
	char *s;

	buf_init(&b, 1024);
	enc_u8(&b, 1);
	enc_u16(&b, 0x0302);
	enc_u32(&b, 0x07060504);
	enc_u64(&b, 0x0f0e0d0c0b0a0908ULL);
	enc_str(&b, "hi");
	enc_i64(&b, -2);
	OK(b.len == sizeof want && memcmp(b.p, want, sizeof want) == 0, "encoding is little-endian, strings length-prefixed");
	dec_init(&d, b.p, b.len);
	OK(dec_u8(&d) == 1 && dec_u16(&d) == 0x0302 && dec_u32(&d) == 0x07060504 &&
	    dec_u64(&d) == 0x0f0e0d0c0b0a0908ULL, "integers decode");
	s = dec_str(&d, 10);
	OK(s && strcmp(s, "hi") == 0, "string decodes");
	free(s);
	OK(dec_i64(&d) == -2 && dec_end(&d), "i64 decodes and nothing is left");
	for (size_t cut = 0; cut < b.len; cut++) {
		dec_init(&d, b.p, cut);
		(void)dec_u8(&d); (void)dec_u16(&d); (void)dec_u32(&d); (void)dec_u64(&d);
		s = dec_str(&d, 10);
		free(s);
		(void)dec_i64(&d);
		if (dec_ok(&d))
			break;
	}
	OK(1, "no truncation crashes");
	dec_init(&d, b.p, b.len - 1);
	(void)dec_u8(&d); (void)dec_u16(&d); (void)dec_u32(&d); (void)dec_u64(&d);
	s = dec_str(&d, 10);
	free(s);
	(void)dec_i64(&d);
	OK(!dec_ok(&d), "a truncated input fails");
	dec_init(&d, b.p + 15, 6);
	s = dec_str(&d, 1);
	OK(s == NULL && !dec_ok(&d), "a string over its limit fails");
	dec_init(&d, "\x02\0\0\0a\0", 6);
	s = dec_str(&d, 10);
	OK(s == NULL && !dec_ok(&d), "a string with NUL fails");
	dec_init(&d, "\x00\x00\x00\x00", 4);
	p = dec_bytes(&d, &n, 10);
	OK(p != NULL && n == 0 && dec_end(&d), "empty bytes are non-NULL");
	dec_init(&d, "\x01\x02", 2);
	(void)dec_u8(&d);
	OK(!dec_end(&d), "trailing bytes are rejected by dec_end");
	buf_free(&b);
}

static void test_hex(void)
{
	uint8_t in[3] = { 0x00, 0xab, 0xff }, out[3];
	char h[7];
	uint64_t v;

	hex_encode(in, 3, h);
	OK(strcmp(h, "00abff") == 0, "hex_encode");
	OK(hex_decode("00ABff", out, 3) == 0 && memcmp(in, out, 3) == 0, "hex_decode");
	OK(hex_decode("00abf", out, 3) == -1 && hex_decode("00abffa", out, 3) == -1 &&
	    hex_decode("00abgf", out, 3) == -1, "hex_decode rejects bad length and digits");
	OK(parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX, "parse_u64 max");
	OK(parse_u64("18446744073709551616", &v) == -1 && parse_u64("", &v) == -1 &&
	    parse_u64("1x", &v) == -1 && parse_u64("-1", &v) == -1, "parse_u64 rejects junk and overflow");
}

static void test_json(void)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	struct json j;
	static const uint8_t odd[] = { 'a', '\n', '"', 0xff, 0xc3, 0xa9 };

	json_init(&j, f);
	json_begin_obj(&j);
	json_kstr(&j, "k", "v");
	json_key(&j, "odd");
	json_strn(&j, odd, sizeof odd);
	json_key(&j, "a");
	json_begin_arr(&j);
	json_u64(&j, 1);
	json_i64(&j, -1);
	json_bool(&j, 1);
	json_null(&j);
	json_end_arr(&j);
	json_key(&j, "t");
	json_time(&j, 1000000000LL * 86400 + 5);
	json_end_obj(&j);
	json_end(&j);
	fclose(f);
	OK(strcmp(out, "{\"k\":\"v\",\"odd\":\"a\\n\\\"\\u00ff\xc3\xa9\",\"a\":[1,-1,true,null],"
	    "\"t\":\"1970-01-02T00:00:00.000000005Z\"}\n") == 0, "json output: %s", out);
	free(out);
}

int main(void)
{
	test_buf();
	test_codec();
	test_hex();
	test_json();
	return tap_done();
}
