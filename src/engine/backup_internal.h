/* backup_internal.h: what backup.c lends to backup_source.c (cloud
 * sources) — the chunking pipeline, the counters and the lists of the
 * snapshot.  Not for use outside src/engine. */
#ifndef TWOFOLD_BACKUP_INTERNAL_H
#define TWOFOLD_BACKUP_INTERNAL_H

#include <sys/types.h>

#include "engine/engine.h"

struct bctx;

/* bk_reader: fill p with up to n bytes; > 0 bytes, 0 at the end, < 0 an
 * error code that bk_stream hands back. */
typedef ssize_t (*bk_reader)(void *arg, uint8_t *p, size_t n);

/* bk_stream(c, rd, arg, n): read to the end through rd, cut chunks and
 * hand them to the workers; n->size and (at the next bk_save_tree) its
 * chunk IDs are set.  0, or the reader's negative code (the file's
 * pending chunks are dropped). */
int bk_stream(struct bctx *c, bk_reader rd, void *arg, struct node *n);
/* bk_save_tree(c, t, id): wait for the workers, give pending files their
 * chunks, store tree t.  0 or -1. */
int bk_save_tree(struct bctx *c, const struct tree *t, uint8_t id[ID_LEN]);
/* bk_collect(c): wait for the workers and give pending files their
 * chunk IDs now (before a node is moved elsewhere).  0 or -1. */
int bk_collect(struct bctx *c);
struct repo *bk_repo(struct bctx *c);
const struct backup_opts *bk_opts(struct bctx *c);
struct backup_result *bk_result(struct bctx *c);
/* bk_unreadable(c, path) / bk_changed(c, path): list in the snapshot. */
void bk_unreadable(struct bctx *c, const char *path);
void bk_changed(struct bctx *c, const char *path);
/* bk_progress(c, bytes): bytes done without reading them (reused). */
void bk_progress(struct bctx *c, uint64_t bytes);
void bk_add_total(struct bctx *c, uint64_t bytes);

/* ---- backup_source.c ---- */
/* bsrc_backup(c, urls, n, &nodes, &nn): back up the cloud sources urls
 * into top-level nodes ("azure", "s3") for the snapshot's root tree.
 * 0, 1 if a source could not be read at all (reported; left out), -1 on
 * a fatal error. */
int bsrc_backup(struct bctx *c, char *const *urls, size_t n, struct node **nodes, size_t *nn);

#endif
