/* repo_pack.c: filling, sealing and writing packs; reading blobs back.
 *
 * A pack's blobs are shuffled before sealing, the trailer listing them is
 * sealed, and the object is padded (Padmé) with random bytes, so that the
 * store sees one opaque object of a rounded size: no chunk or file sizes,
 * no order.  See docs/FORMAT.md, "Packs". */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>

#include "repo/repo_internal.h"
#include "util/codec.h"
#include "util/util.h"
#include "util/workq.h"

void repo_pack_name(const uint8_t id[ID_LEN], char out[80])
{
	object_name("data", id, out, 80);
}

void repo_blob_id(const struct repo *r, const void *p, size_t n, uint8_t id[ID_LEN])
{
	keyring_chunk_id(r->kr, p, n, id);
}

static void blob_ad(uint8_t ad[1 + ID_LEN], uint8_t type, const uint8_t id[ID_LEN])
{
	ad[0] = type;
	memcpy(ad + 1, id, ID_LEN);
}

/* Packs per index object while a backup runs (see flush_index). */
#define INDEX_EVERY 4

/* Packs up to this size are read whole when a blob of them is read. */
#define PACK_READ_WHOLE (32u << 20)
/* A pack's buffer is aligned to this and sized in steps of it: a local
 * store writes its pages without a copy (O_DIRECT needs page alignment),
 * and one buffer serves packs of many sizes. */
#define PACK_ALIGN (1u << 20)

/* A compressor per thread: a zstd context and its output buffer, kept
 * from blob to blob (a fresh buffer would be faulted in page by page). */
struct compressor {
	ZSTD_CCtx *z;
	struct buf out;
};

static pthread_key_t comp_key;
static pthread_once_t comp_once = PTHREAD_ONCE_INIT;

static void comp_free(void *p)
{
	struct compressor *c = p;

	ZSTD_freeCCtx(c->z);
	buf_free(&c->out);
	free(c);
}

static void comp_key_init(void)
{
	if (pthread_key_create(&comp_key, comp_free) != 0)
		abort();
}

static struct compressor *thread_comp(void)
{
	struct compressor *c;

	pthread_once(&comp_once, comp_key_init);
	c = pthread_getspecific(comp_key);
	if (c == NULL) {
		c = xcalloc(1, sizeof *c);
		buf_init(&c->out, SIZE_MAX);
		c->z = ZSTD_createCCtx();
		if (c->z == NULL || pthread_setspecific(comp_key, c) != 0) {
			errmsg("cannot create a zstd context");
			abort();
		}
	}
	return c;
}

static int flush_index(struct repo *r, uint32_t min_packs);

/* note_pack(r, hash, ents, n): pack hash, holding blobs ents[0..n), is
 * stored: point the index at it and record its entries for the next index
 * object.  Lock held. */
static void note_pack(struct repo *r, const uint8_t hash[ID_LEN], const struct pack_entry *ents,
    uint32_t n)
{
	uint32_t pack_no = repo_pack_intern(r, hash);

	if (r->out.n_packs == r->out_cap_packs) {
		r->out_cap_packs = r->out_cap_packs ? r->out_cap_packs * 2 : 16;
		r->out.packs = xreallocarray(r->out.packs, r->out_cap_packs, ID_LEN);
	}
	memcpy(r->out.packs[r->out.n_packs], hash, ID_LEN);
	for (uint32_t i = 0; i < n; i++) {
		struct ient *e = itable_insert(&r->idx, ents[i].id);
		struct index_loc *l;

		e->pack = pack_no;
		e->offset = ents[i].offset;
		e->length = ents[i].length;
		e->raw = ents[i].raw_length;
		e->type = ents[i].type;
		e->comp = ents[i].comp;
		if (r->out.n == r->out_cap_locs) {
			r->out_cap_locs = r->out_cap_locs ? r->out_cap_locs * 2 : 256;
			r->out.locs = xreallocarray(r->out.locs, r->out_cap_locs, sizeof *r->out.locs);
		}
		l = &r->out.locs[r->out.n++];
		l->e = ents[i];
		l->pack = r->out.n_packs;
	}
	r->out.n_packs++;
}

/* A sealed pack on its way to the store. */
struct sealed_pack {
	struct buf obj;
	uint8_t hash[ID_LEN];
	struct pack_entry *ents;
	uint32_t n;
};

/* give_back(r, obj): keep a pack's buffer for the next pack, or free it. */
static void give_back(struct repo *r, struct buf *obj)
{
	if (obj->p == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	if (r->n_spare < REPO_SPARES) {
		r->spare[r->n_spare++] = *obj;
		memset(obj, 0, sizeof *obj);
	}
	pthread_mutex_unlock(&r->lock);
	buf_free(obj);
}

static void sealed_free(struct repo *r, struct sealed_pack *sp)
{
	give_back(r, &sp->obj);
	free(sp->ents);
	free(sp);
}

/* store_pack(r, sp): store a sealed pack, then, under the lock, point the
 * index at it and record its entries for the next index object; frees
 * sp. */
static int store_pack(struct repo *r, struct sealed_pack *sp)
{
	char name[80];
	int rc = -1;

	repo_pack_name(sp->hash, name);
	if (store_put(r->store, name, sp->obj.p, sp->obj.len) >= 0) {
		repo_session_note(r, 1, sp->hash);
		pthread_mutex_lock(&r->lock);
		note_pack(r, sp->hash, sp->ents, sp->n);
		pthread_mutex_unlock(&r->lock);
		rc = flush_index(r, INDEX_EVERY);
	}
	sealed_free(r, sp);
	return rc;
}

/* The pack writers: a workq that stores sealed packs, one thread per
 * worker (workq_threads(): --connections), so uploads run as many at once
 * as before.  The thread that sealed a pack goes back to hashing and
 * compressing while the store takes it (a store write blocks: O_DIRECT to
 * a disk, an upload; with the sealing thread waiting in it a core sat
 * idle).  Each writer holds one pack: a thread that seals a pack while
 * every writer is storing one waits in workq_submit (max_cost n). */
static void pack_writer(void *ctx, void *item, void *scratch)
{
	struct repo *r = ctx;

	(void)scratch;
	/* After a failure the backup fails: the packs still coming are
	 * dropped, not stored. */
	if (__atomic_load_n(&r->w_failed, __ATOMIC_RELAXED))
		sealed_free(r, item);
	else if (store_pack(r, item) != 0)
		__atomic_store_n(&r->w_failed, 1, __ATOMIC_RELAXED);
}

static const struct workq_fns writer_fns = { pack_writer, NULL, NULL };

/* hand_off(r, sp): give a sealed pack to the writers (storing it here if
 * no thread can be started).  -1 if an earlier pack failed to store. */
static int hand_off(struct repo *r, struct sealed_pack *sp)
{
	struct workq *q;

	if (__atomic_load_n(&r->w_failed, __ATOMIC_RELAXED)) {
		sealed_free(r, sp);
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	if (r->writers == NULL) {
		int n = workq_threads();

		r->writers = workq_start(&writer_fns, r, n, (size_t)n);
	}
	q = r->writers;
	pthread_mutex_unlock(&r->lock);
	if (q == NULL)
		return store_pack(r, sp);
	workq_submit(q, sp, 1);
	return 0;
}

int repo_pack_settle(struct repo *r)
{
	struct workq *q;

	pthread_mutex_lock(&r->lock);
	q = r->writers;
	pthread_mutex_unlock(&r->lock);
	if (q != NULL)
		workq_wait(q);
	return __atomic_load_n(&r->w_failed, __ATOMIC_RELAXED) ? -1 : 0;
}

/* write_pack(r, v, n): seal blobs v[0..n) (taken from the open pack, owned
 * by this call) into one pack object and hand it to the pack writers
 * (store_pack).  Sealing and hashing run outside the lock, so several
 * threads can seal packs at once. */
static int write_pack(struct repo *r, struct pending_blob *v, uint32_t n)
{
	struct pack_entry *ents;
	struct envelope env;
	struct seal s = { 0 };
	struct buf obj, trailer;
	struct sealed_pack *sp;
	uint8_t hash[32], footer[PACK_FOOTER_PLAIN], ad[1 + ID_LEN];
	uint64_t off, total, padded;
	int rc = -1;

	if (n == 0) {
		free(v);
		return 0;
	}
	/* Shuffle so the order of blobs tells nothing about the files. */
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = randombytes_uniform(i + 1);
		struct pending_blob t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
	env.kind = OBJ_PACK;
	env.epoch = r->cfg.epoch;
	ents = xcalloc(n, sizeof *ents);
	pthread_mutex_lock(&r->lock);
	if (r->n_spare > 0)
		obj = r->spare[--r->n_spare];
	else
		buf_init(&obj, SIZE_MAX);
	pthread_mutex_unlock(&r->lock);
	buf_init(&trailer, SIZE_MAX);
	if (seal_begin_pk(&s, r->kr, env.epoch, env.seal_hdr) != 0) {
		errmsg("the key holds no public key for epoch %u", env.epoch);
		goto out;
	}
	total = ENVELOPE_LEN;
	for (uint32_t i = 0; i < n; i++)
		total += v[i].len + AEAD_TAG_LEN;
	/* One buffer for the whole object; each blob's plaintext is freed as
	 * soon as it is sealed into it, so a pack costs its size once. */
	/* the trailer: u32 count and 46 bytes per blob, sealed */
	padded = padme(total + 4 + (uint64_t)n * 46 + AEAD_TAG_LEN + PACK_FOOTER_LEN);
	if (buf_reserve_aligned(&obj, (padded + PACK_ALIGN - 1) & ~(uint64_t)(PACK_ALIGN - 1),
	    PACK_ALIGN) == NULL)
		goto out;
	envelope_encode(&env, obj.p);
	off = ENVELOPE_LEN;
	for (uint32_t i = 0; i < n; i++) {
		struct pending_blob *b = &v[i];

		ents[i].type = b->type;
		ents[i].comp = b->comp;
		memcpy(ents[i].id, b->id, ID_LEN);
		ents[i].offset = (uint32_t)off;
		ents[i].length = b->len + AEAD_TAG_LEN;
		ents[i].raw_length = b->raw;
		blob_ad(ad, b->type, b->id);
		/* The blob's offset is its nonce: unique and increasing. */
		seal_encrypt(&s, off, ad, sizeof ad, b->data, b->len, obj.p + off);
		off += b->len + AEAD_TAG_LEN;
		free(b->data);
		b->data = NULL;
	}
	obj.len = off;
	pack_trailer_encode(ents, n, &trailer);
	if (trailer.overflow || buf_reserve(&obj, trailer.len + AEAD_TAG_LEN) == NULL)
		goto out;
	seal_encrypt(&s, PACK_TRAILER_NONCE, obj.p, ENVELOPE_LEN, trailer.p, trailer.len, obj.p + off);
	obj.len += trailer.len + AEAD_TAG_LEN;
	pack_footer_encode(off, (uint32_t)(trailer.len + AEAD_TAG_LEN), footer);
	padded = padme(obj.len + PACK_FOOTER_LEN);
	if (buf_reserve(&obj, padded - obj.len) == NULL)
		goto out;
	rand_bytes(obj.p + obj.len, padded - PACK_FOOTER_LEN - obj.len);
	obj.len = padded - PACK_FOOTER_LEN;
	seal_encrypt(&s, PACK_FOOTER_NONCE, obj.p, ENVELOPE_LEN, footer, sizeof footer, obj.p + obj.len);
	obj.len += PACK_FOOTER_LEN;
	/* Named by its SHA-256; the journal hears of it before the upload
	 * starts, so no pack can land without a record of it (a record of a
	 * pack that did not land is forgotten by the next run). */
	sha256(obj.p, obj.len, hash);
	if (r->hooks.sealed)
		r->hooks.sealed(r->hooks.arg, hash, obj.len, ents, n);
	sp = xcalloc(1, sizeof *sp);
	sp->obj = obj;
	memcpy(sp->hash, hash, ID_LEN);
	sp->ents = ents;
	sp->n = n;
	memset(&obj, 0, sizeof obj);
	ents = NULL;
	rc = hand_off(r, sp);
out:
	for (uint32_t i = 0; i < n; i++)
		free(v[i].data);
	free(v);
	seal_end(&s);
	free(ents);
	give_back(r, &obj);
	buf_free(&trailer);
	return rc;
}

/* take_open(r, &n): detach the open pack's blobs (lock held). */
static struct pending_blob *take_open(struct repo *r, uint32_t *n)
{
	struct pending_blob *v = r->open;

	*n = (uint32_t)r->n_open;
	r->open = NULL;
	r->n_open = r->cap_open = 0;
	r->open_bytes = 0;
	return v;
}

/* add_blob(r, type, id, p, n, give, stored, force): see repo_add_blob,
 * repo_add_blob_give and repo_add_blob_force; give may be NULL. */
static int add_blob(struct repo *r, uint8_t type, const uint8_t id[ID_LEN],
    const uint8_t *p, size_t n, uint8_t **give, uint64_t *stored, int force)
{
	struct pending_blob b;
	struct pending_blob *full = NULL;
	struct ient *e;
	uint32_t nfull = 0;

	*stored = 0;
	if (n > MAX_BLOB) {
		errmsg("blob of %zu bytes is larger than the format allows", n);
		return -1;
	}
	/* Claim the ID first, so two threads never store the same blob.  A
	 * blob a prune plan condemns is stored again (docs/FORMAT.md,
	 * "Prune"): the condemned copy may be deleted. */
	pthread_mutex_lock(&r->lock);
	e = itable_find(&r->idx, id);
	if (e != NULL && !force && !(e->flags & IE_CONDEMNED)) {
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	if (e == NULL)
		e = itable_insert(&r->idx, id);
	e->flags &= (uint8_t)~IE_CONDEMNED;
	e->pack = PACK_OPEN;
	e->type = type;
	e->raw = (uint32_t)n;
	pthread_mutex_unlock(&r->lock);

	memset(&b, 0, sizeof b);
	b.type = type;
	memcpy(b.id, id, ID_LEN);
	b.raw = (uint32_t)n;
	b.comp = COMP_NONE;
	if (r->cfg.compression && n >= 64) {
		struct compressor *c = thread_comp();
		size_t z = 0;

		c->out.len = 0;
		if (buf_reserve(&c->out, ZSTD_compressBound(n)) != NULL)
			z = ZSTD_compressCCtx(c->z, c->out.p, c->out.cap, p, n, r->cfg.level);
		/* Keep it compressed only when that saves at least 1/32. */
		if (z != 0 && !ZSTD_isError(z) && z < n - n / 32) {
			b.comp = COMP_ZSTD;
			b.len = (uint32_t)z;
			b.data = xmemdup(c->out.p, z);
		}
	}
	if (b.comp == COMP_NONE) {
		if (give != NULL) {
			b.data = *give;
			*give = NULL;
		} else {
			b.data = xmemdup(p, n);
		}
		b.len = (uint32_t)n;
	}
	*stored = b.len;

	pthread_mutex_lock(&r->lock);
	if (r->n_open == r->cap_open) {
		r->cap_open = r->cap_open ? r->cap_open * 2 : 64;
		r->open = xreallocarray(r->open, r->cap_open, sizeof *r->open);
	}
	r->open[r->n_open++] = b;
	r->open_bytes += b.len;
	if (r->open_bytes >= r->cfg.pack_size)
		full = take_open(r, &nfull);
	pthread_mutex_unlock(&r->lock);
	return full ? write_pack(r, full, nfull) : 0;
}

int repo_add_blob(struct repo *r, uint8_t type, const uint8_t id[ID_LEN],
    const uint8_t *p, size_t n, uint64_t *stored)
{
	return add_blob(r, type, id, p, n, NULL, stored, 0);
}

int repo_add_blob_give(struct repo *r, uint8_t type, const uint8_t id[ID_LEN],
    uint8_t **p, size_t n, uint64_t *stored)
{
	return add_blob(r, type, id, *p, n, p, stored, 0);
}

int repo_add_blob_force(struct repo *r, uint8_t type, const uint8_t id[ID_LEN],
    const uint8_t *p, size_t n, uint64_t *stored)
{
	return add_blob(r, type, id, p, n, NULL, stored, 1);
}

/* write_index(r, b): seal and store an index object for body b. */
static int write_index(struct repo *r, const struct index_body *b)
{
	return repo_write_index(r, b, NULL);
}

int repo_write_index(struct repo *r, const struct index_body *b, uint8_t hash_out[32])
{
	struct envelope env;
	struct seal s = { 0 }, d = { 0 };
	struct buf loc, dd, obj;
	struct dedup_entry *de;
	uint8_t hdr[ENVELOPE_LEN], lenb[4], h[32];
	int rc = -1;

	if (b->n_packs == 0 && b->n_super == 0)
		return 0;
	env.kind = OBJ_INDEX;
	env.epoch = r->cfg.epoch;
	if (seal_begin_pk(&s, r->kr, env.epoch, env.seal_hdr) != 0)
		return -1;
	envelope_encode(&env, hdr);
	buf_init(&loc, SIZE_MAX);
	buf_init(&dd, SIZE_MAX);
	buf_init(&obj, SIZE_MAX);
	index_encode_locations(b, &loc);
	de = xcalloc(b->n ? b->n : 1, sizeof *de);
	for (uint32_t i = 0; i < b->n; i++) {
		de[i].type = b->locs[i].e.type;
		memcpy(de[i].id, b->locs[i].e.id, ID_LEN);
	}
	index_encode_dedup(de, b->n, &dd);
	free(de);
	if (loc.overflow || dd.overflow)
		goto out;
	buf_append(&obj, hdr, sizeof hdr);
	le32_put(lenb, (uint32_t)(loc.len + AEAD_TAG_LEN));
	buf_append(&obj, lenb, 4);
	if (buf_reserve(&obj, loc.len + AEAD_TAG_LEN) == NULL)
		goto out;
	seal_encrypt(&s, 0, hdr, sizeof hdr, loc.p, loc.len, obj.p + obj.len);
	obj.len += loc.len + AEAD_TAG_LEN;
	if (buf_reserve(&obj, SEAL_HDR_LEN) == NULL)
		goto out;
	seal_begin_sym(&d, r->kr, SYM_DEDUP, obj.p + obj.len);
	obj.len += SEAL_HDR_LEN;
	le32_put(lenb, (uint32_t)(dd.len + AEAD_TAG_LEN));
	buf_append(&obj, lenb, 4);
	if (buf_reserve(&obj, dd.len + AEAD_TAG_LEN) == NULL)
		goto out;
	seal_encrypt(&d, 0, hdr, sizeof hdr, dd.p, dd.len, obj.p + obj.len);
	obj.len += dd.len + AEAD_TAG_LEN;
	if (put_object(r, "index", obj.p, obj.len, h, NULL, 0) != 0)
		goto out;
	repo_session_note(r, 0, h);
	if (hash_out)
		memcpy(hash_out, h, 32);
	rc = 0;
out:
	seal_end(&s);
	seal_end(&d);
	buf_free(&loc);
	buf_free(&dd);
	buf_free(&obj);
	return rc;
}

/* flush_index(r, min_packs): once at least min_packs packs wait for an
 * index, take them (under the lock) and write their index object, then
 * tell the pack journal (r->hooks).  Run every INDEX_EVERY packs during a
 * backup, so the index objects stay few; the packs written since are in
 * the backup's pack journal, from which the next run indexes them if this
 * one is interrupted (docs/FORMAT.md, "Pack journal"). */
static int flush_index(struct repo *r, uint32_t min_packs)
{
	struct index_body b;
	int rc;

	pthread_mutex_lock(&r->lock);
	if (r->out.n_packs == 0 || r->out.n_packs < min_packs) {
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	b = r->out;
	memset(&r->out, 0, sizeof r->out);
	r->out_cap_packs = r->out_cap_locs = 0;
	pthread_mutex_unlock(&r->lock);
	rc = write_index(r, &b);
	if (rc == 0 && r->hooks.indexed)
		r->hooks.indexed(r->hooks.arg, (const uint8_t (*)[ID_LEN])b.packs, b.n_packs);
	free(b.packs);
	free(b.locs);
	return rc;
}

int repo_flush(struct repo *r)
{
	struct pending_blob *v;
	uint32_t n;

	pthread_mutex_lock(&r->lock);
	v = take_open(r, &n);
	pthread_mutex_unlock(&r->lock);
	if (write_pack(r, v, n) != 0 || repo_pack_settle(r) != 0)
		return -1;
	return flush_index(r, 1);
}

void repo_set_pack_hooks(struct repo *r, const struct repo_pack_hooks *h)
{
	static const struct repo_pack_hooks none;

	(void)repo_pack_settle(r);	/* the writers call the hooks */
	r->hooks = h ? *h : none;
}

static int entries_equal(const struct pack_entry *a, const struct pack_entry *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].type != b[i].type || a[i].comp != b[i].comp || a[i].offset != b[i].offset ||
		    a[i].length != b[i].length || a[i].raw_length != b[i].raw_length ||
		    memcmp(a[i].id, b[i].id, ID_LEN) != 0)
			return 0;
	return 1;
}

int repo_adopt_pack(struct repo *r, const uint8_t id[ID_LEN], uint64_t size,
    const struct pack_entry *e, uint32_t n)
{
	struct pack_entry *te = NULL;
	uint32_t tn = 0, known;
	char name[80];
	int rc;

	repo_pack_name(id, name);
	pthread_mutex_lock(&r->lock);
	known = repo_pack_find(r, id);
	pthread_mutex_unlock(&r->lock);
	if (known != UINT32_MAX) {
		info(2, "pack %s is indexed already", name);
		return 1;
	}
	/* A plan that condemns its blobs deletes the pack (FORMAT.md 14.4):
	 * they are stored again instead. */
	for (uint32_t i = 0; i < n; i++)
		if (repo_session_condemns(r, e[i].id)) {
			info(1, "pack %s of an interrupted backup is condemned by a prune plan: "
			    "its blobs are stored again", name);
			return 1;
		}
	for (size_t c = 0; c < store_copies(r->store); c++) {
		struct store *s = store_copy(r->store, c);
		uint64_t sz;

		rc = store_stat(s, name, &sz);
		if (rc < 0)
			return -1;
		if (rc == 1 || sz != size) {
			info(1, "pack %s of an interrupted backup is %s %s: its blobs are stored again",
			    name, rc == 1 ? "missing from" : "of another size in", store_url(s));
			return 1;
		}
	}
	/* A key that can open the pack checks its trailer too; a write-only
	 * key trusts the local record for what the pack holds. */
	if (keyring_role(r->kr) != ROLE_WRITE) {
		rc = repo_pack_entries(r, id, &te, &tn);
		if (rc < 0) {
			free(te);
			return -1;
		}
		if (rc > 0 || tn != n || !entries_equal(te, e, n)) {
			errmsg("warning: pack %s does not hold what the pack journal says; not "
			    "used (its blobs are stored again)", name);
			free(te);
			return 1;
		}
		free(te);
	}
	pthread_mutex_lock(&r->lock);
	note_pack(r, id, e, n);
	pthread_mutex_unlock(&r->lock);
	repo_session_note(r, 1, id);
	return 0;
}

void repo_pack_free(struct repo *r)
{
	workq_stop(r->writers);	/* stores what waits, then stops */
	r->writers = NULL;
	for (size_t i = 0; i < r->n_open; i++)
		free(r->open[i].data);
	free(r->open);
	r->open = NULL;
	r->n_open = r->cap_open = 0;
	while (r->n_spare > 0)
		buf_free(&r->spare[--r->n_spare]);
	free(r->out.packs);
	free(r->out.locs);
	memset(&r->out, 0, sizeof r->out);
}

static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

static void reader_free(void *p)
{
	struct reader *rd = p;

	if (rd == NULL)
		return;
	for (int i = 0; i < SEAL_CACHE; i++)
		seal_end(&rd->seals[i].seal);
	ZSTD_freeDCtx(rd->zd);
	for (int i = 0; i < READER_PACKS; i++)
		buf_free(&rd->held[i].b);
	buf_free(&rd->plain);
	buf_free(&rd->out);
	free(rd);
}

static void reader_key_init(void)
{
	if (pthread_key_create(&reader_key, reader_free) != 0)
		abort();
}

/* thread_reader(r): this thread's reader for r, made or reset on demand. */
static struct reader *thread_reader(const struct repo *r)
{
	struct reader *rd;

	pthread_once(&reader_once, reader_key_init);
	rd = pthread_getspecific(reader_key);
	if (rd != NULL && rd->serial == r->serial)
		return rd;
	reader_free(rd);
	rd = xcalloc(1, sizeof *rd);
	rd->serial = r->serial;
	for (int i = 0; i < SEAL_CACHE; i++)
		rd->seals[i].pack = UINT32_MAX;
	rd->miss_pack = UINT32_MAX;
	for (int i = 0; i < READER_PACKS; i++) {
		rd->held[i].no = UINT32_MAX;
		buf_init(&rd->held[i].b, SIZE_MAX);
	}
	buf_init(&rd->plain, SIZE_MAX);
	buf_init(&rd->out, SIZE_MAX);
	rd->zd = ZSTD_createDCtx();
	if (rd->zd == NULL || pthread_setspecific(reader_key, rd) != 0) {
		errmsg("cannot create a zstd context");
		abort();
	}
	return rd;
}

void reader_release(const struct repo *r)
{
	struct reader *rd;

	pthread_once(&reader_once, reader_key_init);
	rd = pthread_getspecific(reader_key);
	if (rd != NULL && rd->serial == r->serial) {
		reader_free(rd);
		pthread_setspecific(reader_key, NULL);
	}
}

/* pack_seal(r, pack, whole, n, &s): the opened seal of a pack, from a small
 * cache; its header is read from whole (the pack's bytes, n of them) when
 * given, else fetched. */
static int pack_seal(struct repo *r, uint32_t pack, const uint8_t *whole, size_t n,
    struct seal **out)
{
	struct reader *rd = thread_reader(r);
	struct seal_cache_ent *victim = &rd->seals[0];
	struct envelope env;
	struct buf hdr;
	char name[80];
	int rc = 0;

	for (int i = 0; i < SEAL_CACHE; i++) {
		if (rd->seals[i].pack == pack) {
			rd->seals[i].tick = ++rd->tick;
			*out = &rd->seals[i].seal;
			return 0;
		}
		if (rd->seals[i].tick < victim->tick)
			victim = &rd->seals[i];
	}
	pthread_mutex_lock(&r->lock);
	repo_pack_name(r->packs[pack], name);
	pthread_mutex_unlock(&r->lock);
	buf_init(&hdr, ENVELOPE_LEN);
	if (whole != NULL && n >= ENVELOPE_LEN)
		buf_append(&hdr, whole, ENVELOPE_LEN);
	else
		rc = store_get(r->store, name, 0, ENVELOPE_LEN, &hdr);
	if (rc == 1)
		errmsg("pack %s is missing from %s", name, store_url(r->store));
	if (rc != 0)
		goto out;
	if (envelope_decode(hdr.p, hdr.len, OBJ_PACK, &env) != 0) {
		errmsg("pack %s in %s has a damaged header", name, store_url(r->store));
		rc = R_CORRUPT;
		goto out;
	}
	seal_end(&victim->seal);
	victim->pack = UINT32_MAX;
	if (seal_open_pk(&victim->seal, r->kr, env.epoch, env.seal_hdr) != 0) {
		errmsg("pack %s is sealed to epoch %u, whose secret key this key does "
		    "not hold (a write-only key cannot read data)", name, env.epoch);
		rc = -1;
		goto out;
	}
	victim->pack = pack;
	victim->tick = ++rd->tick;
	*out = &victim->seal;
out:
	buf_free(&hdr);
	return rc;
}

/* forget_seal(r, pack): drop a cached seal (its header may be damaged). */
static void forget_seal(struct repo *r, uint32_t pack)
{
	struct reader *rd = thread_reader(r);

	for (int i = 0; i < SEAL_CACHE; i++) {
		if (rd->seals[i].pack == pack) {
			seal_end(&rd->seals[i].seal);
			rd->seals[i].pack = UINT32_MAX;
		}
	}
}

/* open_blob(r, name, s, type, id, comp, raw, ct, n, out): decrypt,
 * decompress and verify one blob.  0 or R_CORRUPT (with a message). */
static int open_blob(struct repo *r, const char *name, struct seal *s, uint64_t off,
    uint8_t type, const uint8_t id[ID_LEN], uint8_t comp, uint32_t raw,
    const uint8_t *ct, size_t n, struct buf *out)
{
	uint8_t ad[1 + ID_LEN], check[ID_LEN];
	uint8_t *plain, *dst;
	size_t pn = n - AEAD_TAG_LEN;
	char hex[2 * ID_LEN + 1];

	hex_encode(id, ID_LEN, hex);
	if (n < AEAD_TAG_LEN || raw > MAX_BLOB)
		goto bad;
	blob_ad(ad, type, id);
	if ((dst = buf_reserve(out, raw)) == NULL) {
		errmsg("blob %s is too large", hex);
		return -1;
	}
	if (comp == COMP_ZSTD) {
		struct reader *rd = thread_reader(r);
		size_t z;

		buf_truncate(&rd->plain, 0);
		if ((plain = buf_reserve(&rd->plain, pn ? pn : 1)) == NULL ||
		    seal_decrypt(s, off, ad, sizeof ad, ct, n, plain) != 0)
			goto bad;
		z = ZSTD_decompressDCtx(rd->zd, dst, raw, plain, pn);
		if (ZSTD_isError(z) || z != raw)
			goto bad;
	} else if (pn != raw || seal_decrypt(s, off, ad, sizeof ad, ct, n, dst) != 0) {
		goto bad;
	}
	repo_blob_id(r, dst, raw, check);
	if (!ct_equal(check, id, ID_LEN))
		goto bad;
	out->len += raw;
	return 0;
bad:
	errmsg("blob %s in pack %s is damaged (authentication, decompression or ID "
	    "check failed)", hex, name);
	return R_CORRUPT;
}

/* held_pack(rd, pack): the slot holding pack, or (pack UINT32_MAX) the
 * least recently used one, to be filled. */
static struct held_pack *held_pack(struct reader *rd, uint32_t pack)
{
	struct held_pack *lru = &rd->held[0];

	for (int i = 0; i < READER_PACKS; i++) {
		if (pack != UINT32_MAX && rd->held[i].no == pack)
			return &rd->held[i];
		if (rd->held[i].tick < lru->tick)
			lru = &rd->held[i];
	}
	return pack == UINT32_MAX ? lru : NULL;
}

int repo_read_blob(struct repo *r, const uint8_t id[ID_LEN], struct buf *out)
{
	const struct ient *found;
	struct ient ent, *e = &ent;
	struct held_pack *hp;
	struct reader *rd;
	struct seal *s;
	struct buf ct;
	char name[80], hex[2 * ID_LEN + 1];
	int rc;

	/* A copy of the entry: other threads may grow the table meanwhile. */
	pthread_mutex_lock(&r->lock);
	found = itable_find(&r->idx, id);
	if (found)
		ent = *found;
	if (found == NULL || ent.pack >= r->n_packs) {
		pthread_mutex_unlock(&r->lock);
		hex_encode(id, ID_LEN, hex);
		errmsg("blob %s is not in any index of %s", hex, store_url(r->store));
		return R_MISSING;
	}
	repo_pack_name(r->packs[ent.pack], name);
	pthread_mutex_unlock(&r->lock);
	rd = thread_reader(r);
	hp = held_pack(rd, e->pack);
	if (hp == NULL && (r->cfg.pack_size > PACK_READ_WHOLE || rd->miss_pack != e->pack)) {
		/* Just the blob: the pack is not one this thread holds,
		 * and this is the first blob in a row wanted from it (a
		 * deduplicated blob in an older pack, say), or packs are too
		 * large to read whole.  Damage found on one copy sends us to
		 * the next. */
		int tries = 0;

		rd->miss_pack = e->pack;
		do {
			if (tries++ > 0)
				forget_seal(r, e->pack);
			buf_init(&ct, SIZE_MAX);
			rc = pack_seal(r, e->pack, NULL, 0, &s);
			if (rc == 0)
				rc = store_get(r->store, name, e->offset, e->length, &ct);
			if (rc == 0)
				rc = open_blob(r, name, s, e->offset, e->type, e->id, e->comp, e->raw, ct.p, ct.len, out);
			buf_free(&ct);
		} while (rc == R_CORRUPT && store_distrust(r->store, name) == 0);
	} else {
		/* the whole pack (checked against its name by the store, and
		 * so by every copy in turn) gives the header too; it is kept
		 * for the blobs after this one */
		rc = 0;
		if (hp == NULL) {
			hp = held_pack(rd, UINT32_MAX);
			hp->no = UINT32_MAX;
			rd->miss_pack = UINT32_MAX;
			buf_truncate(&hp->b, 0);
			rc = store_get(r->store, name, 0, UINT64_MAX, &hp->b);
			if (rc == 0) {
				hp->no = e->pack;
				/* a header read alone was not checked */
				forget_seal(r, e->pack);
			}
		}
		hp->tick = ++rd->tick;
		if (rc == 0)
			rc = pack_seal(r, e->pack, hp->b.p, hp->b.len, &s);
		if (rc == 0 && ((uint64_t)e->offset + e->length > hp->b.len)) {
			errmsg("pack %s in %s is truncated: blob at %u+%u lies past its end",
			    name, store_url(r->store), e->offset, e->length);
			rc = R_CORRUPT;
		} else if (rc == 0) {
			rc = open_blob(r, name, s, e->offset, e->type, e->id, e->comp, e->raw,
			    hp->b.p + e->offset, e->length, out);
		}
	}
	if (rc == 1) {
		errmsg("pack %s is missing from %s", name, store_url(r->store));
		rc = R_MISSING;
	}
	return rc;
}

/* parse_pack_tail(r, name, p, size, ...): footer and trailer from the
 * bytes of a whole pack (or its tail, base = offset of p). */
static int read_entries(struct repo *r, const char *name, struct seal *s, const uint8_t *env_bytes,
    const uint8_t *tail, uint64_t base, uint64_t size, struct pack_entry **e, uint32_t *n)
{
	uint8_t footer[PACK_FOOTER_PLAIN];
	uint64_t toff;
	uint32_t tlen;
	uint8_t *plain;
	int rc = R_CORRUPT;

	if (seal_decrypt(s, PACK_FOOTER_NONCE, env_bytes, ENVELOPE_LEN,
	    tail + (size - PACK_FOOTER_LEN - base), PACK_FOOTER_LEN, footer) != 0 ||
	    pack_footer_decode(footer, sizeof footer, size, &toff, &tlen) != 0 ||
	    toff < base || tlen < AEAD_TAG_LEN) {
		errmsg("pack %s in %s has a damaged footer", name, store_url(r->store));
		return R_CORRUPT;
	}
	plain = xmalloc(tlen);
	if (seal_decrypt(s, PACK_TRAILER_NONCE, env_bytes, ENVELOPE_LEN, tail + (toff - base), tlen, plain) != 0 ||
	    pack_trailer_decode(plain, tlen - AEAD_TAG_LEN, toff, e, n) != 0)
		errmsg("pack %s in %s has a damaged trailer", name, store_url(r->store));
	else
		rc = 0;
	free(plain);
	return rc;
}

static int open_pack_seal(struct repo *r, const char *name, const uint8_t *env_bytes, size_t n, struct seal *s)
{
	struct envelope env;

	if (envelope_decode(env_bytes, n, OBJ_PACK, &env) != 0) {
		errmsg("pack %s in %s has a damaged header", name, store_url(r->store));
		return R_CORRUPT;
	}
	if (seal_open_pk(s, r->kr, env.epoch, env.seal_hdr) != 0) {
		errmsg("pack %s: this key cannot open epoch %u", name, env.epoch);
		return -1;
	}
	return 0;
}

int repo_pack_entries(struct repo *r, const uint8_t id[ID_LEN], struct pack_entry **e, uint32_t *n)
{
	char name[80];
	uint64_t size, tail_off;
	struct buf head, tail;
	struct seal s = { 0 };
	int rc;

	*e = NULL;
	*n = 0;
	repo_pack_name(id, name);
	rc = store_stat(r->store, name, &size);
	if (rc == 1) {
		errmsg("pack %s is missing from %s", name, store_url(r->store));
		return R_MISSING;
	}
	if (rc != 0)
		return -1;
	if (size < ENVELOPE_LEN + PACK_FOOTER_LEN) {
		errmsg("pack %s in %s is truncated (%llu bytes)", name, store_url(r->store),
		    (unsigned long long)size);
		return R_CORRUPT;
	}
	buf_init(&head, ENVELOPE_LEN);
	buf_init(&tail, SIZE_MAX);
	/* The trailer is at most a few hundred KiB; read a generous tail. */
	tail_off = size > (4u << 20) ? size - (4u << 20) : ENVELOPE_LEN;
	if ((rc = store_get(r->store, name, 0, ENVELOPE_LEN, &head)) != 0 ||
	    (rc = store_get(r->store, name, tail_off, size - tail_off, &tail)) != 0)
		goto out;
	if ((rc = open_pack_seal(r, name, head.p, head.len, &s)) != 0)
		goto out;
	rc = read_entries(r, name, &s, head.p, tail.p, tail_off, size, e, n);
	if (rc == R_CORRUPT && tail_off > ENVELOPE_LEN) {
		/* a trailer larger than the tail read: read the whole pack */
		buf_free(&tail);
		buf_init(&tail, SIZE_MAX);
		if ((rc = store_get(r->store, name, ENVELOPE_LEN, size - ENVELOPE_LEN, &tail)) == 0)
			rc = read_entries(r, name, &s, head.p, tail.p, ENVELOPE_LEN, size, e, n);
	}
out:
	if (rc == 1)
		rc = R_MISSING;
	seal_end(&s);
	buf_free(&head);
	buf_free(&tail);
	return rc;
}

int repo_pack_verify(struct repo *r, const uint8_t id[ID_LEN], uint32_t *bad)
{
	char name[80];
	struct reader *rd = thread_reader(r);
	struct held_pack *hp = held_pack(rd, UINT32_MAX);
	struct buf *obj = &hp->b, *out = &rd->out;
	struct pack_entry *e = NULL;
	struct seal s = { 0 };
	uint32_t n = 0;
	uint8_t h[32];
	int rc;

	*bad = 0;
	repo_pack_name(id, name);
	/* a held pack's buffer: no longer that pack */
	hp->no = UINT32_MAX;
	buf_truncate(obj, 0);
	rc = store_get(r->store, name, 0, UINT64_MAX, obj);
	if (rc == 1) {
		errmsg("pack %s is missing from %s", name, store_url(r->store));
		rc = R_MISSING;
		goto out;
	}
	if (rc != 0)
		goto out;
	sha256(obj->p, obj->len, h);
	if (memcmp(h, id, 32) != 0) {
		errmsg("pack %s in %s is damaged: its content does not match its name",
		    name, store_url(r->store));
		rc = R_CORRUPT;
		goto out;
	}
	if (obj->len < ENVELOPE_LEN + PACK_FOOTER_LEN) {
		rc = R_CORRUPT;
		goto out;
	}
	if ((rc = open_pack_seal(r, name, obj->p, obj->len, &s)) != 0)
		goto out;
	if ((rc = read_entries(r, name, &s, obj->p, obj->p, 0, obj->len, &e, &n)) != 0)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		buf_truncate(out, 0);
		if (open_blob(r, name, &s, e[i].offset, e[i].type, e[i].id, e[i].comp, e[i].raw_length,
		    obj->p + e[i].offset, e[i].length, out) != 0)
			(*bad)++;
	}
out:
	seal_end(&s);
	free(e);
	return rc;
}
