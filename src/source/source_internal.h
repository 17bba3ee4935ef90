/* source_internal.h: what the files of src/source share.  Not for use
 * outside src/source. */
#ifndef TWOFOLD_SOURCE_INTERNAL_H
#define TWOFOLD_SOURCE_INTERNAL_H

#include "source/source.h"
#include "store/cloud_auth.h"
#include "store/http.h"

struct source {
	enum source_kind kind;
	char *url;
	char *prefix;		/* "" or "PREFIX/" */
	struct http *h;
	/* Azure */
	char *account, *container;
	char *endpoint;		/* scheme://host[:port][/path], no trailing '/' */
	char *path_base;	/* the endpoint's path ("" or "/devstoreaccount1") */
	struct az_auth au;	/* account key or SAS */
	/* S3 */
	char *bucket, *base;
	struct s3_auth s3;	/* region, SigV4 provider, credentials */
};

struct src_hdr {
	const char *k, *v;
};

/* src_az_request(s, method, blob, q, nq, h, nh, body, n, out, rh, rs): one
 * Azure request on the container (blob NULL) or the blob with that full
 * name; signed with Shared Key or carrying the SAS.  http_do's value. */
int src_az_request(struct source *s, const char *method, const char *blob,
    const struct az_qp *q, size_t nq, const struct src_hdr *h, size_t nh,
    const void *body, size_t n, struct buf *out, struct buf *rh, struct http_resp *rs);
/* src_s3_request(s, method, url, h, nh, body, n, out, rh, rs): SigV4. */
int src_s3_request(struct source *s, const char *method, const char *url,
    const struct src_hdr *h, size_t nh, const void *body, size_t n, struct buf *out,
    struct buf *rh, struct http_resp *rs);
char *src_s3_object_url(const struct source *s, const char *name);
char *src_escape_path(const char *name);
/* src_fail(s, rc, rs, body, bn, what, obj): "source URL: cannot WHAT OBJ:
 * HTTP ... advice".  -1. */
int src_fail(struct source *s, int rc, const struct http_resp *rs, const void *body, size_t bn,
    const char *what, const char *obj);
/* src_table_request(s, method, path, query, body, n, out, rh, rs): one
 * Table service request (path below the endpoint, e.g. "/Tables"),
 * Shared Key Lite or SAS. */
int src_table_request(struct source *s, const char *method, const char *path, const char *query,
    const void *body, size_t n, struct buf *out, struct buf *rh, struct http_resp *rs);

/* src_utf8_put(out, cp): append code point cp (at most 0x10ffff, not a
 * surrogate) to out as UTF-8. */
void src_utf8_put(struct buf *out, unsigned long cp);

#endif
