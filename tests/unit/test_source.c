/* test_source.c: cloud sources without a server — name <-> tree path
 * encoding (pinned examples, round trips, rejects), List Blobs and
 * ListObjectsV2 pages, response headers, dates, URLs. */
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "source/source.h"
#include "tap.h"

/* enc(name): the components joined with '|' (a new string). */
static char *enc(const char *name)
{
	char **c;
	size_t n;
	struct buf b;
	size_t l;

	if (src_name_encode(name, strlen(name), &c, &n) != 0)
		return NULL;
	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_append(&b, "|", 1);
		buf_append(&b, c[i], strlen(c[i]));
	}
	buf_append(&b, "", 1);
	src_comps_free(c, n);
	return (char *)buf_steal(&b, &l);
}

static int roundtrip(const char *name)
{
	char **c;
	size_t n;
	struct buf b;
	int ok;

	if (src_name_encode(name, strlen(name), &c, &n) != 0)
		return 0;
	ok = 1;
	for (size_t i = 0; i < n; i++)
		if (!name_valid((const uint8_t *)c[i], strlen(c[i])))
			ok = 0;
	buf_init(&b, 1 << 20);
	if (src_name_decode((const char *const *)c, n, &b) != 0 || b.len != strlen(name) ||
	    memcmp(b.p, name, b.len) != 0)
		ok = 0;
	buf_free(&b);
	src_comps_free(c, n);
	return ok;
}

static int dec_fails(const char *const *c, size_t n)
{
	struct buf b;
	int r;

	buf_init(&b, 1 << 20);
	r = src_name_decode(c, n, &b);
	buf_free(&b);
	return r != 0;
}

static const char AZ[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><EnumerationResults><Blobs>"
    "<Blob><Name>d/a&amp;b.txt</Name><Properties>"
    "<Creation-Time>Mon, 23 Nov 2026 13:00:00 GMT</Creation-Time>"
    "<Last-Modified>Mon, 23 Nov 2026 13:11:43 GMT</Last-Modified><Etag>0x1F8</Etag>"
    "<Content-Length>17</Content-Length><Content-Type>text/plain</Content-Type>"
    "<Content-Encoding /><Content-MD5>F/2g==</Content-MD5></Properties>"
    "<Metadata><Color>r&#233;d</Color></Metadata></Blob>"
    "<Blob><Name Encoded=\"true\">x%01y</Name><Properties><Last-Modified>Mon, 23 Nov 2026 13:11:43 GMT</Last-Modified>"
    "<Etag>\"0x2\"</Etag><Content-Length>0</Content-Length></Properties></Blob>"
    "</Blobs><NextMarker>m2</NextMarker></EnumerationResults>";

static const char S3[] =
    "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k/1</Key>"
    "<LastModified>2026-11-23T13:40:01.123Z</LastModified><ETag>&quot;abc&quot;</ETag>"
    "<Size>5</Size><Owner><ID>x</ID></Owner></Contents></ListBucketResult>";

static const char *prop(const struct src_obj *o, const char *name)
{
	for (uint32_t i = 0; i < o->n_props; i++)
		if (strcmp(o->props[i].name, name) == 0)
			return o->props[i].value;
	return NULL;
}

int main(void)
{
	char *s;
	struct src_obj *v = NULL, o;
	size_t n = 0;
	char next[64];
	int trunc;
	int64_t ns;

	/* ---- names */
	OK((s = enc("a/b/c.txt")) && strcmp(s, "a|b|c.txt") == 0, "plain names split at '/'");
	free(s);
	OK((s = enc("odd//x/")) && strcmp(s, "odd|%-|x|%-") == 0, "empty segments are %%-");
	free(s);
	OK((s = enc("./../...")) && strcmp(s, "%2E|%2E%2E|...") == 0, ". and .. are escaped, ... is not");
	free(s);
	OK((s = enc("50%\x01\x7f")) && strcmp(s, "50%25%01%7F") == 0, "'%%' and control bytes are %%XX");
	free(s);
	{
		char name[700];

		memset(name, 'L', 600);
		name[600] = '\0';
		s = enc(name);
		OK(s && strlen(s) == 600 + 2 * 2 + 2 && strstr(s, "%+|") != NULL,
		    "a 600-byte segment is cut into pieces ending in %%+");
		free(s);
		OK(roundtrip(name), "and joins back");
		memset(name, '%', 300);
		name[300] = '\0';
		OK(roundtrip(name), "escapes are never cut");
	}
	OK(roundtrip("sp ace/per%cent&amp=eq?q#h+plus/\xc3\xbc\xe2\x82\xac"), "odd bytes round-trip");
	OK(roundtrip("/"), "\"/\" round-trips");
	OK(roundtrip("a/../b/./c//"), "dots and slashes round-trip");
	{
		const char *c1[] = { "both%!" };
		const char *c2[] = { "a%+", "b" };
		struct buf b;

		buf_init(&b, 1000);
		OK(src_name_decode(c1, 1, &b) == 0 && b.len == 4 && memcmp(b.p, "both", 4) == 0,
		    "a file beside a directory loses its %%! mark");
		b.len = 0;
		OK(src_name_decode(c2, 2, &b) == 0 && b.len == 2 && memcmp(b.p, "ab", 2) == 0,
		    "pieces join without '/'");
		buf_free(&b);
	}
	{
		const char *bad1[] = { "%G0" }, *bad2[] = { "x%+" }, *bad3[] = { ".." },
		    *bad4[] = { "%41" }, *bad5[] = { "a%00" }, *bad6[] = { "%" };

		OK(dec_fails(bad1, 1) && dec_fails(bad2, 1) && dec_fails(bad3, 1) &&
		    dec_fails(bad4, 1) && dec_fails(bad5, 1) && dec_fails(bad6, 1),
		    "bad hex, a dangling piece, a literal .., a needless escape, NUL, a lone %% are rejected");
	}

	/* ---- List Blobs */
	OK(src_parse_azure_list(AZ, strlen(AZ), &v, &n, next, sizeof next) == 0 && n == 2,
	    "List Blobs: two blobs");
	if (n == 2) {
		OK(strcmp(v[0].name, "d/a&b.txt") == 0 && v[0].size == 17 &&
		    strcmp(v[0].etag, "\"0x1F8\"") == 0, "name, size, quoted ETag");
		OK(v[0].mtime_ns == INT64_C(1795439503) * 1000000000 &&
		    v[0].ctime_ns == INT64_C(1795438800) * 1000000000, "Last-Modified and Creation-Time");
		OK(prop(&v[0], "user.twofold.content-type") && strcmp(prop(&v[0], "user.twofold.content-type"), "text/plain") == 0 &&
		    prop(&v[0], "user.twofold.content-encoding") == NULL &&
		    strcmp(prop(&v[0], "user.twofold.meta.Color"), "r\xc3\xa9" "d") == 0,
		    "properties (empty ones left out) and metadata with character references");
		OK(strcmp(v[1].name, "x\001y") == 0 && v[1].size == 0 && strcmp(v[1].etag, "\"0x2\"") == 0,
		    "an Encoded name is percent-decoded");
		OK(strcmp(next, "m2") == 0, "NextMarker");
	}
	src_objs_free(v, n);
	v = NULL;
	n = 0;
	OK(src_parse_azure_list(AZ, 300, &v, &n, next, sizeof next) != 0, "a cut page is rejected");
	src_objs_free(v, n);
	v = NULL;
	n = 0;

	/* ---- ListObjectsV2 */
	OK(src_parse_s3_list(S3, strlen(S3), &v, &n, &trunc, next, sizeof next) == 0 && n == 1 &&
	    !trunc && strcmp(v[0].name, "k/1") == 0 && v[0].size == 5 && strcmp(v[0].etag, "\"abc\"") == 0 &&
	    v[0].mtime_ns == INT64_C(1795441201123000000), "ListObjectsV2: key, size, ETag, millisecond time");
	src_objs_free(v, n);

	/* ---- headers and dates */
	memset(&o, 0, sizeof o);
	{
		static const char h[] = "HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n"
		    "Content-Range: bytes 0-9/100\r\nContent-Type: a/b\r\nETag: \"e\"\r\n"
		    "x-amz-meta-k: v v\r\nLast-Modified: Mon, 23 Nov 2026 13:11:43 GMT\r\n\r\n";

		OK(src_parse_headers(SRC_S3, h, strlen(h), &o) == 0 && o.size == 100 &&
		    strcmp(o.etag, "\"e\"") == 0 && strcmp(prop(&o, "user.twofold.meta.k"), "v v") == 0 &&
		    strcmp(prop(&o, "user.twofold.content-type"), "a/b") == 0,
		    "GET headers: size from Content-Range, ETag, metadata, content type");
	}
	src_obj_free(&o);
	OK(src_parse_time("2026-11-23T13:40:01Z", &ns) == 0 && ns == INT64_C(1795441201) * 1000000000 &&
	    src_parse_time("2026-11-23T13:40:01.1234567891Z", &ns) != 0 &&
	    src_parse_time("Mon, 32 Nov 2026 13:11:43 GMT", &ns) != 0, "dates: ISO, too many digits, day 32");
	{
		static const char ent[] = "{\"odata.etag\":\"W/x\",\"RowKey\":\"r\",\"PartitionKey\":\"p\","
		    "\"Z\":\"\\u00e9\",\"I\":-5,\"D\":2.0,\"B\":true,\"L@odata.type\":\"Edm.Int64\",\"L\":\"9\","
		    "\"Timestamp@odata.type\":\"Edm.DateTime\",\"Timestamp\":\"2026-11-23T13:54:48.8304877Z\"}";
		static const char want[] = "{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Timestamp\":\"2026-11-23T13:54:48.8304877Z\","
		    "\"B@odata.type\":\"Edm.Boolean\",\"B\":true,\"D@odata.type\":\"Edm.Double\",\"D\":2.0,"
		    "\"I@odata.type\":\"Edm.Int32\",\"I\":-5,\"L@odata.type\":\"Edm.Int64\",\"L\":\"9\","
		    "\"Z@odata.type\":\"Edm.String\",\"Z\":\"\xc3\xa9\"}\n";
		struct buf b;

		buf_init(&b, 1 << 20);
		OK(src_table_entity_line(ent, strlen(ent), &b) == 0 && b.len == strlen(want) &&
		    memcmp(b.p, want, b.len) == 0, "a table entity becomes its canonical line (types inferred or kept)");
		b.len = 0;
		OK(src_table_entity_line("{\"PartitionKey\":\"p\"}", 18, &b) != 0, "an entity without RowKey is rejected");
		{
			struct buf pk, rk, ts;
			static const char esc[] = "{\"PartitionKey\":\"it's \\u00e9\",\"RowKey\":\"a\\\"b\","
			    "\"B@odata.type\":\"Edm.Boolean\",\"B\":true}";
			static const char *const bad[] = {
				"{\"RowKey\":\"r\",\"PartitionKey\":\"p\"}",	/* order */
				"{\"PartitionKey\":\"p\"}",			/* no RowKey */
				"{\"PartitionKey\":\"p\",\"RowKey\":1}",		/* not a string */
				"{\"PartitionKey\":\"p\",\"RowKey\":\"r\"}x",	/* trailing bytes */
				"{\"PartitionKey\":\"p\",\"RowKey\":\"r\"} ",	/* trailing blank */
				" {\"PartitionKey\":\"p\",\"RowKey\":\"r\"}",	/* leading blank */
				"{\"PartitionKey\":\"p\",\"RowKey\":\"r\",",	/* cut */
				"{\"PartitionKey\":\"p\\u0000\",\"RowKey\":\"r\"}",	/* NUL */
				"{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Timestamp\":5}",
			};
			int all = 1;

			buf_init(&pk, 4096);
			buf_init(&rk, 4096);
			buf_init(&ts, 256);
			OK(src_table_line_key((const char *)b.p, 0, &pk, &rk, &ts) != 0 && pk.len == 0,
			    "an empty line has no keys");
			b.len = 0;
			OK(src_table_entity_line(ent, strlen(ent), &b) == 0 &&
			    src_table_line_key((const char *)b.p, b.len - 1, &pk, &rk, &ts) == 0 &&
			    strcmp((char *)pk.p, "p") == 0 && strcmp((char *)rk.p, "r") == 0 &&
			    strcmp((char *)ts.p, "2026-11-23T13:54:48.8304877Z") == 0,
			    "a canonical line's keys and Timestamp are read back");
			OK(src_table_line_key(esc, strlen(esc), &pk, &rk, &ts) == 0 &&
			    strcmp((char *)pk.p, "it's \xc3\xa9") == 0 && strcmp((char *)rk.p, "a\"b") == 0 &&
			    ts.len == 0 && ts.p[0] == '\0', "escaped keys are decoded; no Timestamp is empty");
			for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
				if (src_table_line_key(bad[i], strlen(bad[i]), &pk, &rk, &ts) == 0 || pk.len || rk.len) {
					printf("# accepted: %s\n", bad[i]);
					all = 0;
				}
			OK(all, "lines out of order, without RowKey, with non-string or NUL keys, cut or with bytes around are rejected");
			buf_free(&pk);
			buf_free(&rk);
			buf_free(&ts);
		}
		buf_free(&b);
	}
	OK(source_is_url("azure://a/b") && source_is_url("s3://b") && !source_is_url("/azure/x"),
	    "cloud source URLs are told from paths");
	return tap_done();
}
