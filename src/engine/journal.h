/* journal.h (engine-internal): the pack journal, kept outside the
 * repository in CACHE/<repo id>/journal/ (docs/FORMAT.md, "Pack journal").
 * A backup writes one record per pack before it uploads the pack, and
 * removes it once an index object names the pack; the next backup of the
 * repository indexes the packs a killed or failed run left unindexed
 * instead of uploading their blobs again. */
#ifndef TWOFOLD_JOURNAL_H
#define TWOFOLD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "format/format.h"
#include "repo/repo.h"
#include "util/buf.h"

/* One record: a pack and the blobs its trailer lists. */
struct jrec {
	uint8_t id[ID_LEN];	/* the pack's name (SHA-256 of its bytes) */
	uint64_t size;		/* bytes of the pack object */
	uint32_t n;
	struct pack_entry *e;	/* n >= 1 entries, as in the trailer */
};

/* jrec_encode(id, size, e, n, out): "TFJ1" | raw[32] pack id | u64 size |
 * u64 trailer offset | the trailer plaintext (docs/FORMAT.md, "Packs":
 * u32 count, 46 bytes per blob).  n >= 1. */
void jrec_encode(const uint8_t id[ID_LEN], uint64_t size, const struct pack_entry *e,
    uint32_t n, struct buf *out);
/* jrec_decode(p, n, rec): parse one record (bounds-checked; the entries
 * must lie back to back from the envelope to the trailer offset, which
 * lies inside the pack; no trailing bytes).  0, or -1 if malformed.
 * rec->e is the caller's to free (NULL on failure). */
int jrec_decode(const uint8_t *p, size_t n, struct jrec *rec);

struct journal;
/* journal_start(r, dir, &j): in dir (created if needed): take the journal
 * of this repository (a lock held until journal_end), index the packs it
 * names that are still usable (repo_adopt_pack; then repo_flush), forget
 * the others, and record every pack r stores from now on.  Call after
 * repo_session_begin, before adding blobs.  A journal that cannot be
 * used (another backup of the repository holds it, the directory cannot
 * be made) is not an error: *j is NULL, with a message.  0, or -1 if the
 * index of the adopted packs could not be written. */
int journal_start(struct repo *r, const char *dir, struct journal **j);
/* journal_end(r, j): stop recording, release the journal (its records of
 * packs not indexed stay for the next run).  NULL-safe. */
void journal_end(struct repo *r, struct journal *j);

#endif
