/* source: cloud data outside the repository, which `backup` reads and
 * `restore --target URL` writes: Azure Blob containers
 * (azure://ACCOUNT/CONTAINER[/PREFIX]) and S3 buckets (s3://BUCKET[/PREFIX]).
 *
 * Listing with properties and user metadata, parallel ranged downloads
 * guarded by If-Match (a changed object is told apart from a failed one),
 * uploads with properties and metadata, and the reversible mapping of
 * object names (any bytes but NUL) to tree paths (docs/FORMAT.md,
 * "Cloud sources").  Credentials come from the same environment
 * variables as the cloud stores; secrets never appear in messages.
 *
 * Depends on util, the HTTP client of store (store/http.h) and the cloud
 * credentials and signing it shares with the cloud stores
 * (store/cloud_auth.h); never on a repository, a key or plaintext of the
 * repository. */
#ifndef TWOFOLD_SOURCE_H
#define TWOFOLD_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"

enum source_kind { SRC_AZURE = 1, SRC_S3 = 2, SRC_TABLE = 3 };

/* Properties and metadata travel as xattr-like (name, value) pairs whose
 * names begin with SRC_XATTR_PREFIX, so that a restore into a directory
 * sets them as user xattrs: */
#define SRC_XATTR_PREFIX "user.twofold."
#define SRC_X_ETAG "user.twofold.etag"		/* the ETag, quoted */
#define SRC_X_META "user.twofold.meta."		/* + the metadata key */
/* and user.twofold.content-type, content-encoding, content-language,
 * cache-control, content-disposition, content-md5 (base64). */

#define SRC_NAME_MAX 4096	/* object names (S3: 1024 bytes, Azure: 1024 chars) */
#define SRC_PROP_MAX 8192	/* one property or metadata value */
#define SRC_PROPS_MAX 256	/* properties and metadata entries per object */

struct src_prop {
	char *name;		/* "user.twofold.content-type" ... */
	char *value;		/* NUL-terminated text */
};

struct src_obj {
	char *name;		/* the full object name, NUL-terminated */
	size_t name_len;
	uint64_t size;
	int64_t mtime_ns;	/* Last-Modified */
	int64_t ctime_ns;	/* Creation-Time (Azure), else Last-Modified */
	char etag[130];		/* quoted: "0x8D..." / "md5hex" */
	struct src_prop *props;	/* sorted by name; the ETag among them */
	uint32_t n_props;
	int props_known;	/* 0: S3 listings carry none (a GET fills them) */
};

/* source_is_url(s): 1 if s names a cloud source (azure://, s3://,
 * azure-table://). */
int source_is_url(const char *s);

struct source;

/* source_open(url): parse the URL and find credentials (as the stores do:
 * AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT + _KEY or
 * _SAS_TOKEN, AZURE_STORAGE_BLOB_ENDPOINT; AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
 * AWS_ENDPOINT_URL[_S3], TWOFOLD_S3_PATH_STYLE).  NULL after a message
 * naming the source.  source_close: NULL-safe. */
struct source *source_open(const char *url);
void source_close(struct source *s);
/* source_url(s): the URL as given, without trailing '/'. */
const char *source_url(const struct source *s);
enum source_kind source_kind(const struct source *s);
/* source_root(s, comps): the snapshot path of the container or bucket as
 * components ("azure", ACCOUNT, CONTAINER or "s3", BUCKET); returns how
 * many (3 or 2).  The strings belong to s. */
int source_root(const struct source *s, const char *comps[3]);
/* source_prefix(s): "" or the URL's prefix with a trailing '/'. */
const char *source_prefix(const struct source *s);

/* source_list(s, &v, &n): every object under the prefix, with size,
 * times, ETag and (Azure) properties and metadata, in the service's
 * order.  0, or -1 after a message (missing container or bucket, wrong
 * key, expired SAS: each said in words, naming the source). */
int source_list(struct source *s, struct src_obj **v, size_t *n);
void src_obj_free(struct src_obj *o);
void src_objs_free(struct src_obj *v, size_t n);

/* source_head(s, o): refresh size, times, ETag and properties of the
 * object named o->name.  0, SRC_GONE if it no longer exists, -1. */
#define SRC_CHANGED (-2)	/* the ETag is no longer the listed one */
#define SRC_GONE (-3)		/* the object was deleted */
int source_head(struct source *s, struct src_obj *o);

/* ---- parallel downloads in a fixed order ----
 * src_fetch_start(s, objs, n, threads, window): download the objects
 * objs[0..n) (which must stay valid) with `threads` connections, in
 * parts of at most SRC_PART bytes, each GET carrying If-Match with the
 * listed ETag, at most `window` bytes held at once.  The consumer reads
 * them in that order with src_fetch_read; S3 objects get their
 * properties from the first part's response (props_known set).
 * NULL after a message. */
#define SRC_PART ((size_t)8 << 20)
struct src_fetch;
struct src_fetch *src_fetch_start(struct source *s, struct src_obj *const *objs, size_t n,
    int threads, size_t window);
/* src_fetch_read(f, i, p, n): the next bytes of object i (objects before
 * i are skipped).  Returns the count (> 0), 0 at the object's end,
 * SRC_CHANGED (its ETag changed after the listing: HTTP 412), SRC_GONE
 * (deleted: 404), or -1 after a message naming the object. */
ssize_t src_fetch_read(struct src_fetch *f, size_t i, uint8_t *p, size_t n);
/* src_fetch_requests(f): GET requests made so far. */
uint64_t src_fetch_requests(const struct src_fetch *f);
/* src_fetch_stop(f): stop and free; NULL-safe. */
void src_fetch_stop(struct src_fetch *f);

/* ---- uploads (restore to a container or bucket) ----
 * source_put(s, name, props, n, size, fill, arg): create or replace the
 * object PREFIX/name with `size` bytes that fill(arg, p, k) provides in
 * order (k bytes each call; returns 0 or -1), and with the properties
 * and metadata of props (the ETag and unknown names are ignored).  Up to
 * SRC_PART bytes: one request; larger: blocks / multipart parts of
 * SRC_PART.  0, or -1 after a message naming the object. */
int source_put(struct source *s, const char *name, const struct src_prop *props, uint32_t n,
    uint64_t size, int (*fill)(void *arg, uint8_t *p, size_t k), void *arg);

/* ---- names <-> tree paths (source_name.c) ----
 * src_name_encode(name, len, &comps, &n): the tree path of an object
 * name: split at '/', each segment escaped ('%', NUL, control bytes as
 * %XX; "." and ".." as %2E / %2E%2E; an empty segment as "%-"), and
 * segments longer than SRC_SEG_MAX bytes cut into pieces of which all
 * but the last end in "%+".  Every component is a valid tree name.
 * comps: an array of n new strings.  0, or -1 if name is empty. */
#define SRC_SEG_MAX 250
int src_name_encode(const char *name, size_t len, char ***comps, size_t *n);
/* src_name_decode(comps, n, out): the object name of a tree path (the
 * components below the container or bucket); a last component ending in
 * "%!" (a file beside a directory of the same name) loses it.  0, or -1
 * (with out emptied) if a component is not a valid encoding. */
int src_name_decode(const char *const *comps, size_t n, struct buf *out);
void src_comps_free(char **comps, size_t n);

/* ---- parsers (source_parse.c; fuzzed) ----
 * src_parse_azure_list(doc, n, &v, &nv, next, nextn): append the blobs
 * of one List Blobs page (with include=metadata) to v; the NextMarker
 * into next ("" on the last page).  src_parse_s3_list: one
 * ListObjectsV2 page; *truncated and the NextContinuationToken.
 * src_parse_headers(kind, h, n, o): properties, metadata, size, times
 * and ETag of a GET or HEAD response's header lines.
 * src_parse_time(s, &ns): RFC 1123 ("Mon, 23 Nov 2026 13:01:22 GMT") or
 * ISO 8601 ("2026-11-23T13:01:22.123Z").  All: 0, or -1 on malformed
 * input (v keeps what was appended before). */
int src_parse_azure_list(const char *doc, size_t n, struct src_obj **v, size_t *nv,
    char *next, size_t nextn);
int src_parse_s3_list(const char *doc, size_t n, struct src_obj **v, size_t *nv,
    int *truncated, char *token, size_t tokn);
int src_parse_headers(enum source_kind kind, const char *h, size_t n, struct src_obj *o);
int src_parse_time(const char *s, int64_t *ns);
/* src_props_add(o, name, value, vlen): add or replace one property
 * (kept sorted).  -1 past SRC_PROPS_MAX or SRC_PROP_MAX. */
int src_props_add(struct src_obj *o, const char *name, const char *value, size_t vlen);

/* ---- Azure Tables (source_table.c): azure-table://ACCOUNT/TABLE ----
 * A table is backed up as one file of JSON lines, one entity a line, in
 * the service's order (PartitionKey, RowKey): {"PartitionKey":..,
 * "RowKey":..,"Timestamp":.., then every other property sorted by name as
 * "NAME@odata.type":"Edm.TYPE","NAME":VALUE} (docs/FORMAT.md §15).
 * src_table_open_reader(s) / src_table_read(r, p, n): the lines, fetched
 * page by page (continuation headers followed); read returns bytes, 0 at
 * the end, -1 after a message.  src_table_entities: how many so far.
 * src_table_create(s): create the table (an existing one is fine).
 * src_table_put_line(s, line, n): Insert Or Replace the entity of one
 * line (its Timestamp is the service's to set).  0 or -1 after a message.
 * src_table_entity_line(p, n, out) / src_table_page(doc, n, out, &count):
 * one entity object / one Query Entities answer into canonical lines
 * (fuzzed).  0 or -1 on malformed input. */
struct src_table_reader;
struct src_table_reader *src_table_open_reader(struct source *s);
ssize_t src_table_read(struct src_table_reader *r, uint8_t *p, size_t n);
uint64_t src_table_entities(const struct src_table_reader *r);
/* src_table_newest(r): the newest entity Timestamp read so far (ns). */
int64_t src_table_newest(const struct src_table_reader *r);
void src_table_close_reader(struct src_table_reader *r);
int src_table_create(struct source *s);
int src_table_put_line(struct source *s, const char *line, size_t n);
int src_table_entity_line(const char *p, size_t n, struct buf *out);
int src_table_page(const char *doc, size_t n, struct buf *out, size_t *count);

/* ---- incremental tables ----
 * src_table_delta(s, prev, n, max_pct, threads, out, d): the table's export (as
 * src_table_read gives it) into out, from prev[0..n) -- the export of an
 * earlier snapshot of the same table -- and the service: Query Entities
 * with $select=PartitionKey,RowKey,Timestamp lists every entity; one with
 * the same keys and the same Timestamp as a line of prev keeps that line,
 * the rest (new or changed) are read one by one (Query Entity, `threads`
 * requests in flight, all held until the export is assembled), and
 * entities missing from the listing (deleted) are dropped.  An entity
 * whose Timestamp is not the listed one when it is read, or that is gone
 * by then, was written during the backup: a warning names it and its
 * "(PartitionKey='..',RowKey='..')" (OData literals, ' doubled) goes into
 * d->changed; the line read is stored, a gone one is left out.  Returns
 * 0, 1 when it is cheaper or safer to read the whole table (prev is not
 * canonical lines, or more than max_pct percent of the entities are to
 * be read; out is untouched), or -1 after a message.
 * src_table_delta_free(d): d's list. */
struct src_table_delta {
	uint64_t listed;	/* entities listed */
	uint64_t reused;	/* lines kept from prev */
	uint64_t fetched;	/* Query Entity requests (single-entity GETs) */
	uint64_t list_pages;	/* projected Query Entities requests */
	char **changed;		/* entities written during the backup */
	size_t n_changed;
	int64_t newest;		/* the newest Timestamp in out (ns) */
};
int src_table_delta(struct source *s, const char *prev, size_t n, unsigned max_pct, int threads,
    struct buf *out, struct src_table_delta *d);
void src_table_delta_free(struct src_table_delta *d);
/* src_table_line_key(line, n, pk, rk, ts): the PartitionKey, RowKey and
 * Timestamp ("" if absent) of one canonical line (without its newline):
 * its first members, as src_table_entity_line writes them; the line must
 * be one JSON object with nothing after it.  Each buf gets the decoded
 * text, NUL-terminated (not counted in len; keys may be empty, as in
 * Azure).  0, or -1 (all three empty) on anything else (fuzzed). */
#define SRC_TABLE_VALUE_MAX ((size_t)1 << 20)	/* one value of a line; max for those bufs */
int src_table_line_key(const char *line, size_t n, struct buf *pk, struct buf *rk, struct buf *ts);

#endif
