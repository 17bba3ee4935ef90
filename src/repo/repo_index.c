/* repo_index.c: the in-memory chunk index and loading of index objects.
 *
 * The index (struct itable) has two parts:
 *
 *   v[0..n)   the entries, struct ient of 52 bytes (a 32-byte ID, four
 *             uint32_t, two bytes, padded to 4), dense, in insertion
 *             order.  The array grows by half while inserting;
 *             itable_compact() trims it to n once the index is loaded.
 *   slot[]    open addressing with linear probing, 1 << bits slots of
 *             32 bits, load kept <= 7/10.  A slot is 0 (empty) or
 *             tag << bits | (entry index + 1).
 *
 * Chunk IDs are keyed hashes, so their bytes are uniformly distributed and
 * the first 8 (h, little-endian) serve as the hash: the low bits choose
 * the home slot, and the top 32 - bits bits of h, kept in the slot's spare
 * high bits, are a tag that rejects almost every other entry met while
 * probing without touching the dense array: a lookup of an absent ID
 * usually reads one cache line of slots and nothing else.  (The tag
 * shrinks as the table grows: 11 bits at a million entries.)
 *
 * Cost per entry: 52 bytes + 4 * slots / n.  slots / n lies between 1/0.7
 * (just before the slots double) and 2/0.7 (just after), so a compacted
 * index costs 57.7 to 63.4 bytes per entry: 60.4 at one million entries
 * (2^21 slots): about 60 MB per TB of unique data in 1 MiB chunks.
 * While inserting, the dense array's spare room adds up to half again.
 *
 * Capacity: at most 2^32 slots (about 3e9 entries). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "repo/repo_internal.h"
#include "util/util.h"

#define ITABLE_MIN_BITS 10
#define ITABLE_MAX_BITS 32
#define ITABLE_MIN_ENTS 1024

static size_t slot_of(const uint8_t id[ID_LEN], size_t cap)
{
	return (size_t)le64_get(id) & (cap - 1);
}

/* itable_pos(t, id): where id's slot is, or the empty slot that ends its
 * probe sequence.  t->bits > 0. */
static inline size_t itable_pos(const struct itable *t, const uint8_t id[ID_LEN])
{
	uint64_t h = le64_get(id);
	size_t mask = ((size_t)1 << t->bits) - 1;
	uint32_t lo = (uint32_t)mask;	/* index + 1 part of a slot */
	uint32_t tag = (uint32_t)(h >> 32) & ~lo;
	size_t i;

	for (i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint32_t s = t->slot[i];

		if (s == 0)
			return i;
		if ((s & ~lo) == tag && memcmp(t->v[(s & lo) - 1].id, id, ID_LEN) == 0)
			return i;
	}
}

struct ient *itable_find(const struct itable *t, const uint8_t id[ID_LEN])
{
	size_t i;
	uint32_t s;

	if (t->bits == 0)
		return NULL;
	i = itable_pos(t, id);
	s = t->slot[i];
	if (s == 0)
		return NULL;
	return &t->v[(s & (uint32_t)(((size_t)1 << t->bits) - 1)) - 1];
}

/* itable_rehash(t, bits): rebuild the slots, 1 << bits of them, from the
 * dense array. */
static void itable_rehash(struct itable *t, unsigned bits)
{
	size_t mask, ncap;
	uint32_t lo, *ns;

	if (bits > ITABLE_MAX_BITS || bits >= sizeof(size_t) * CHAR_BIT - 2) {
		errmsg("the chunk index is full (%zu entries)", t->n);
		abort();
	}
	ncap = (size_t)1 << bits;
	mask = ncap - 1;
	lo = (uint32_t)mask;
	ns = xcalloc(ncap, sizeof *ns);
	for (size_t k = 0; k < t->n; k++) {
		uint64_t h = le64_get(t->v[k].id);
		size_t i;

		for (i = (size_t)h & mask; ns[i]; i = (i + 1) & mask)
			;
		ns[i] = ((uint32_t)(h >> 32) & ~lo) | (uint32_t)(k + 1);
	}
	free(t->slot);
	t->slot = ns;
	t->bits = bits;
}

/* itable_insert(t, id): the entry for id, new (zeroed but for id) or
 * existing. */
struct ient *itable_insert(struct itable *t, const uint8_t id[ID_LEN])
{
	size_t i, mask;
	struct ient *e;

	if (t->bits == 0)
		itable_rehash(t, ITABLE_MIN_BITS);
	i = itable_pos(t, id);
	mask = ((size_t)1 << t->bits) - 1;
	if (t->slot[i] != 0)
		return &t->v[(t->slot[i] & (uint32_t)mask) - 1];
	if ((t->n + 1) * 10 > (mask + 1) * 7) {
		itable_rehash(t, t->bits + 1);
		i = itable_pos(t, id);
		mask = ((size_t)1 << t->bits) - 1;
	}
	if (t->n == t->vcap) {
		size_t ncap = t->vcap < ITABLE_MIN_ENTS ? ITABLE_MIN_ENTS : t->vcap + t->vcap / 2;

		t->v = xreallocarray(t->v, ncap, sizeof *t->v);
		t->vcap = ncap;
	}
	e = &t->v[t->n];
	memset(e, 0, sizeof *e);
	memcpy(e->id, id, ID_LEN);
	t->slot[i] = ((uint32_t)(le64_get(id) >> 32) & ~(uint32_t)mask) | (uint32_t)(t->n + 1);
	t->n++;
	return e;
}

void itable_compact(struct itable *t)
{
	if (t->vcap == t->n)
		return;
	if (t->n == 0) {
		free(t->v);
		t->v = NULL;
	} else {
		t->v = xreallocarray(t->v, t->n, sizeof *t->v);
	}
	t->vcap = t->n;
}

size_t itable_bytes(const struct itable *t)
{
	return t->vcap * sizeof *t->v + (t->bits ? ((size_t)1 << t->bits) * sizeof *t->slot : 0);
}

void itable_free(struct itable *t)
{
	free(t->v);
	free(t->slot);
	memset(t, 0, sizeof *t);
}

uint32_t repo_pack_intern(struct repo *r, const uint8_t id[ID_LEN])
{
	size_t i;

	if ((r->n_packs + 1) * 2 > r->pack_map_cap) {
		size_t ncap = r->pack_map_cap ? r->pack_map_cap * 2 : 256;
		uint32_t *nm = xcalloc(ncap, sizeof *nm);

		for (uint32_t p = 0; p < r->n_packs; p++) {
			for (i = slot_of(r->packs[p], ncap); nm[i]; i = (i + 1) & (ncap - 1))
				;
			nm[i] = p + 1;
		}
		free(r->pack_map);
		r->pack_map = nm;
		r->pack_map_cap = ncap;
	}
	for (i = slot_of(id, r->pack_map_cap); r->pack_map[i]; i = (i + 1) & (r->pack_map_cap - 1))
		if (memcmp(r->packs[r->pack_map[i] - 1], id, ID_LEN) == 0)
			return r->pack_map[i] - 1;
	if (r->n_packs == r->cap_packs) {
		r->cap_packs = r->cap_packs ? r->cap_packs * 2 : 64;
		r->packs = xreallocarray(r->packs, r->cap_packs, ID_LEN);
	}
	memcpy(r->packs[r->n_packs], id, ID_LEN);
	r->pack_map[i] = ++r->n_packs;
	return r->n_packs - 1;
}

void repo_index_free(struct repo *r)
{
	itable_free(&r->idx);
	free(r->packs);
	free(r->pack_map);
	free(r->superseded);
	r->superseded = NULL;
	r->n_superseded = 0;
	r->packs = NULL;
	r->pack_map = NULL;
	r->n_packs = r->cap_packs = 0;
	r->pack_map_cap = 0;
}

int open_dedup_section(struct repo *r, const uint8_t *p, size_t n, size_t off,
    struct dedup_entry **ids, uint32_t *n_ids)
{
	struct seal s = { 0 };
	uint8_t *plain;
	uint32_t M;
	int rc = -1;

	if (off > n || n - off < SEAL_HDR_LEN + 4)
		return -1;
	M = le32_get(p + off + SEAL_HDR_LEN);
	if (M < AEAD_TAG_LEN || M != n - off - SEAL_HDR_LEN - 4)
		return -1;
	seal_open_sym(&s, r->kr, SYM_DEDUP, p + off);
	plain = xmalloc(M);
	if (seal_decrypt(&s, 0, p, ENVELOPE_LEN, p + off + SEAL_HDR_LEN + 4, M, plain) == 0 &&
	    index_decode_dedup(plain, M - AEAD_TAG_LEN, ids, n_ids) == 0)
		rc = 0;
	seal_end(&s);
	free(plain);
	return rc;
}

/* open_index(r, name, obj, b, dedup, nd): decrypt the parts of an index
 * object this key can open.  Locations need an epoch secret key; the
 * dedup list only the symmetric dedup key.  R_CORRUPT on failure. */
static int open_index(struct repo *r, const char *name, const struct buf *obj,
    struct index_body *b, struct dedup_entry **dedup, uint32_t *nd)
{
	struct envelope env;
	struct seal s = { 0 };
	const uint8_t *p = obj->p;
	size_t n = obj->len, off = ENVELOPE_LEN;
	uint32_t L;
	uint8_t *plain = NULL;
	int rc = R_CORRUPT;

	memset(b, 0, sizeof *b);
	if (dedup) {
		*dedup = NULL;
		*nd = 0;
	}
	if (envelope_decode(p, n, OBJ_INDEX, &env) != 0 || n - off < 4)
		goto bad;
	L = le32_get(p + off);
	off += 4;
	if (L < AEAD_TAG_LEN || L > n - off || n - off - L < SEAL_HDR_LEN + 4)
		goto bad;
	if (dedup == NULL || keyring_can_decrypt(r->kr, env.epoch)) {
		if (seal_open_pk(&s, r->kr, env.epoch, env.seal_hdr) != 0) {
			errmsg("index %s is sealed to epoch %u, whose key this key "
			    "does not hold", name, env.epoch);
			goto out;
		}
		plain = xmalloc(L);
		if (seal_decrypt(&s, 0, p, ENVELOPE_LEN, p + off, L, plain) != 0 ||
		    index_decode_locations(plain, L - AEAD_TAG_LEN, b) != 0)
			goto bad;
		seal_end(&s);
		rc = 0;
		goto out;
	}
	if (open_dedup_section(r, p, n, off + L, dedup, nd) != 0)
		goto bad;
	rc = 0;
	goto out;
bad:
	errmsg("index %s in %s is damaged or forged: it fails authentication or "
	    "decoding (run 'twofold check')", name, store_url(r->store));
out:
	seal_end(&s);
	free(plain);
	return rc;
}

int repo_decode_index(struct repo *r, const char *name, struct index_body *b)
{
	struct buf obj;
	int rc;

	buf_init(&obj, 1u << 30);
	rc = repo_read_object(r, name, &obj);
	if (rc == 0)
		rc = open_index(r, name, &obj, b, NULL, NULL);
	buf_free(&obj);
	return rc;
}

struct load_ctx {
	struct repo *r;
	int skipped;
	int failed;
	/* superseding (docs/FORMAT.md, "Prune"): the index objects loaded
	 * and those they supersede; skip: sorted names not to load */
	uint8_t (*loaded)[ID_LEN];
	uint32_t n_loaded, cap_loaded;
	uint8_t (*super)[ID_LEN];
	uint32_t n_super, cap_super;
	const uint8_t (*skip)[ID_LEN];
	uint32_t n_skip;
};

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, ID_LEN);
}

static int ids_has(const uint8_t (*v)[ID_LEN], uint32_t n, const uint8_t id[ID_LEN])
{
	return n > 0 && bsearch(id, v, n, ID_LEN, id_cmp) != NULL;
}

static void ids_push(uint8_t (**v)[ID_LEN], uint32_t *n, uint32_t *cap, const uint8_t id[ID_LEN])
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xreallocarray(*v, *cap, ID_LEN);
	}
	memcpy((*v)[(*n)++], id, ID_LEN);
}

/* ids_sort_unique(v, &n): sort and drop duplicates. */
static void ids_sort_unique(uint8_t (*v)[ID_LEN], uint32_t *n)
{
	uint32_t k = 0;

	if (*n == 0)
		return;
	qsort(v, *n, ID_LEN, id_cmp);
	for (uint32_t i = 1; i < *n; i++)
		if (memcmp(v[i], v[k], ID_LEN) != 0)
			memcpy(v[++k], v[i], ID_LEN);
	*n = k + 1;
}

uint32_t repo_pack_find(const struct repo *r, const uint8_t id[ID_LEN])
{
	if (r->pack_map_cap == 0)
		return UINT32_MAX;
	for (size_t i = slot_of(id, r->pack_map_cap); r->pack_map[i]; i = (i + 1) & (r->pack_map_cap - 1))
		if (memcmp(r->packs[r->pack_map[i] - 1], id, ID_LEN) == 0)
			return r->pack_map[i] - 1;
	return UINT32_MAX;
}

int repo_is_superseded(const struct repo *r, const uint8_t id[ID_LEN])
{
	return ids_has((const uint8_t (*)[ID_LEN])r->superseded, r->n_superseded, id);
}

static void add_body(struct repo *r, const struct index_body *b)
{
	uint32_t *map = xcalloc(b->n_packs ? b->n_packs : 1, sizeof *map);

	for (uint32_t i = 0; i < b->n_packs; i++)
		map[i] = repo_pack_intern(r, b->packs[i]);
	for (uint32_t i = 0; i < b->n; i++) {
		const struct index_loc *l = &b->locs[i];
		struct ient *e = itable_insert(&r->idx, l->e.id);

		if (e->pack != 0 || e->length != 0)
			continue;	/* first location wins; duplicates are harmless */
		e->pack = map[l->pack];
		e->offset = l->e.offset;
		e->length = l->e.length;
		e->raw = l->e.raw_length;
		e->type = l->e.type;
		e->comp = l->e.comp;
	}
	free(map);
}

static int load_one(void *arg, const char *name, uint64_t size)
{
	struct load_ctx *c = arg;
	struct repo *r = c->r;
	struct buf obj;
	struct index_body b;
	struct dedup_entry *d = NULL;
	uint32_t nd = 0;
	int rc;

	(void)size;
	{
		const char *slash = strrchr(name, '/');
		uint8_t h[ID_LEN];

		if (slash && hex_decode(slash + 1, h, ID_LEN) == 0) {
			if (ids_has(c->skip, c->n_skip, h))
				return 0;	/* superseded: its replacement is loaded */
			ids_push(&c->loaded, &c->n_loaded, &c->cap_loaded, h);
		}
	}
	buf_init(&obj, 1u << 30);
	rc = repo_read_object(r, name, &obj);
	if (rc == 0)
		rc = open_index(r, name, &obj, &b, &d, &nd);
	buf_free(&obj);
	if (rc < 0) {
		c->failed = 1;
		return 1;
	}
	if (rc > 0) {
		c->skipped++;
		return 0;
	}
	if (d == NULL) {
		for (uint32_t i = 0; i < b.n_super; i++)
			ids_push(&c->super, &c->n_super, &c->cap_super, b.supersedes[i]);
		add_body(r, &b);
		index_body_free(&b);
		return 0;
	}
	for (uint32_t i = 0; i < nd; i++) {
		struct ient *e = itable_insert(&r->idx, d[i].id);

		if (e->length == 0) {
			e->pack = PACK_KNOWN;
			e->type = d[i].type;
		}
	}
	free(d);
	return 0;
}

/* repo_load_index: index objects that another loaded index supersedes
 * (prune wrote the replacement and has not yet deleted them, or was
 * interrupted) must not be used: they name packs that may be gone.  They
 * are rare, so the index is loaded once, and only if a loaded object
 * turns out to be superseded is it loaded again without those. */
int repo_load_index(struct repo *r)
{
	struct load_ctx c;
	int rc = 0, again = 0;

	memset(&c, 0, sizeof c);
	c.r = r;
	if (store_list(r->store, "index/", load_one, &c) < 0 || c.failed)
		rc = -1;
	ids_sort_unique(c.super, &c.n_super);
	for (uint32_t i = 0; rc == 0 && i < c.n_loaded && !again; i++)
		again = ids_has((const uint8_t (*)[ID_LEN])c.super, c.n_super, c.loaded[i]);
	if (again) {
		repo_index_free(r);
		free(c.loaded);
		c.loaded = NULL;
		c.n_loaded = c.cap_loaded = 0;
		c.skipped = 0;
		c.skip = (const uint8_t (*)[ID_LEN])c.super;
		c.n_skip = c.n_super;
		c.super = NULL;
		c.n_super = c.cap_super = 0;
		if (store_list(r->store, "index/", load_one, &c) < 0 || c.failed)
			rc = -1;
		/* keep the first pass's list: it holds the second's too */
		free(c.super);
		c.super = (uint8_t (*)[ID_LEN])(uintptr_t)c.skip;
		c.n_super = c.n_skip;
	}
	free(r->superseded);
	r->superseded = c.super;
	r->n_superseded = c.n_super;
	free(c.loaded);
	itable_compact(&r->idx);	/* the loaded index costs ~60 bytes an entry */
	return rc < 0 ? rc : c.skipped;
}

int repo_has_blob(struct repo *r, uint8_t type, const uint8_t id[ID_LEN])
{
	int found;

	(void)type;
	pthread_mutex_lock(&r->lock);
	{
		const struct ient *e = itable_find(&r->idx, id);

		/* a condemned blob may be deleted by a prune: not a duplicate */
		found = e != NULL && !(e->flags & IE_CONDEMNED);
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}

int repo_blob_size(const struct repo *r, const uint8_t id[ID_LEN], uint32_t *raw)
{
	const struct ient *e = itable_find(&r->idx, id);

	if (e == NULL || e->pack == PACK_KNOWN)
		return R_MISSING;
	*raw = e->raw;
	return 0;
}

uint64_t repo_index_entries(const struct repo *r)
{
	return r->idx.n;
}

int repo_for_each_blob(const struct repo *r, repo_blob_fn fn, void *arg)
{
	static const uint8_t none[ID_LEN];

	for (size_t i = 0; i < r->idx.n; i++) {
		const struct ient *e = &r->idx.v[i];
		int rc = fn(arg, e->id, e->type, e->pack < r->n_packs ? r->packs[e->pack] : none);

		if (rc)
			return rc;
	}
	return 0;
}

void repo_index_packs(const struct repo *r, const uint8_t (**ids)[ID_LEN], uint32_t *n)
{
	*ids = (const uint8_t (*)[ID_LEN])r->packs;
	*n = r->n_packs;
}
