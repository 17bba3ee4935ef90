/* repo_prune.c: backup sessions, prune plans, and prune itself.
 *
 * The protocol is specified in docs/FORMAT.md, "Prune"; in short:
 *
 *   backup:  write locks/session-<sid>-<time>, heartbeat every 10 minutes
 *            with a newer one, read every locks/condemned-* (their blob
 *            IDs are not deduplicated against), load the index, back up,
 *            save the snapshot, write locks/session-<sid>-end.
 *   prune:   take locks/prune-<rand>; mark what the snapshots reference;
 *            repack mostly-unused packs (new packs and index first);
 *            write a plan locks/condemned-<h> (packs to delete, and the
 *            unreferenced blob IDs in them), then list the sessions and
 *            write locks/waitfor-<h> naming the live ones.  A plan whose
 *            sessions have all ended (or died: no marker newer than the
 *            grace period) is executed: index objects that name doomed
 *            packs are superseded by a new index first, then the packs
 *            are deleted, then the superseded index objects, then the
 *            plan and its wait list.
 *
 * Memory: the chunk index (with a flags byte per entry for the marks),
 * a few bytes per pack, and one pack at a time while repacking. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo/repo_internal.h"
#include "util/codec.h"
#include "util/util.h"

#define HEARTBEAT_SEC 600		/* a running backup renews its marker */
/* A marker dated this far in the future is not believed: a host with a
 * write-only key must not hold every plan back forever. */
#define FUTURE_SLACK_NS (INT64_C(3600) * 1000000000)
#define INDEX_FLUSH_LOCS (1u << 18)	/* entries per superseding index */

/* ---- small helpers ---- */

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, ID_LEN);
}

struct idlist {
	uint8_t (*v)[ID_LEN];
	uint32_t n, cap;
};

static void idl_push(struct idlist *l, const uint8_t id[ID_LEN])
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, ID_LEN);
	}
	memcpy(l->v[l->n++], id, ID_LEN);
}

static void idl_sort(struct idlist *l)
{
	uint32_t k = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, ID_LEN, id_cmp);
	for (uint32_t i = 1; i < l->n; i++)
		if (memcmp(l->v[i], l->v[k], ID_LEN) != 0)
			memcpy(l->v[++k], l->v[i], ID_LEN);
	l->n = k + 1;
}

static int idl_has(const struct idlist *l, const uint8_t id[ID_LEN])
{
	return l->n > 0 && bsearch(id, l->v, l->n, ID_LEN, id_cmp) != NULL;
}

static void idl_free(struct idlist *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

struct names {
	char **v;
	uint64_t *sz;
	size_t n, cap;
};

static int names_add(void *arg, const char *name, uint64_t size)
{
	struct names *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
		l->sz = xreallocarray(l->sz, l->cap, sizeof *l->sz);
	}
	l->sz[l->n] = size;
	l->v[l->n++] = xstrdup(name);
	return 0;
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->sz);
	memset(l, 0, sizeof *l);
}

/* name_hash(name, prefix, id): 0 if name is prefix followed by 64 hex
 * digits (an object named by its SHA-256). */
static int name_hash(const char *name, const char *prefix, uint8_t id[ID_LEN])
{
	size_t l = strlen(prefix);

	if (strncmp(name, prefix, l) != 0 || strlen(name + l) != 2 * ID_LEN)
		return -1;
	return hex_decode(name + l, id, ID_LEN);
}

/* ---- sealed, signed prune objects ----
 * plan:  envelope (kind 6) | u32 L | pk-seal(body || root signature) |
 *        salt[32] | u32 M | sym-seal purpose 2 (dedup body)
 * wait:  envelope (kind 7) | u32 L | pk-seal(body || root signature)
 * Both nonce 0, associated data the envelope. */

static int seal_signed(struct repo *r, uint8_t kind, const struct buf *body,
    const struct dedup_entry *ids, uint32_t n_ids, struct buf *obj)
{
	struct envelope env;
	struct seal s = { 0 }, d = { 0 };
	struct buf pl, dd;
	uint8_t hdr[ENVELOPE_LEN], lenb[4], sig[SIG_LEN];
	int rc = -1;

	buf_init(&pl, SIZE_MAX);
	buf_init(&dd, SIZE_MAX);
	env.kind = kind;
	env.epoch = r->cfg.epoch;
	if (keyring_root_sign(r->kr, body->p, body->len, sig) != 0) {
		errmsg("only an owner key can write prune plans");
		goto out;
	}
	if (seal_begin_pk(&s, r->kr, env.epoch, env.seal_hdr) != 0)
		goto out;
	envelope_encode(&env, hdr);
	buf_append(&pl, body->p, body->len);
	buf_append(&pl, sig, SIG_LEN);
	buf_append(obj, hdr, sizeof hdr);
	le32_put(lenb, (uint32_t)(pl.len + AEAD_TAG_LEN));
	buf_append(obj, lenb, 4);
	if (pl.overflow || buf_reserve(obj, pl.len + AEAD_TAG_LEN) == NULL)
		goto out;
	seal_encrypt(&s, 0, hdr, sizeof hdr, pl.p, pl.len, obj->p + obj->len);
	obj->len += pl.len + AEAD_TAG_LEN;
	if (kind == OBJ_PLAN) {
		index_encode_dedup(ids, n_ids, &dd);
		if (dd.overflow || buf_reserve(obj, SEAL_HDR_LEN) == NULL)
			goto out;
		seal_begin_sym(&d, r->kr, SYM_DEDUP, obj->p + obj->len);
		obj->len += SEAL_HDR_LEN;
		le32_put(lenb, (uint32_t)(dd.len + AEAD_TAG_LEN));
		buf_append(obj, lenb, 4);
		if (buf_reserve(obj, dd.len + AEAD_TAG_LEN) == NULL)
			goto out;
		seal_encrypt(&d, 0, hdr, sizeof hdr, dd.p, dd.len, obj->p + obj->len);
		obj->len += dd.len + AEAD_TAG_LEN;
	}
	rc = obj->overflow ? -1 : 0;
out:
	seal_end(&s);
	seal_end(&d);
	buf_free(&pl);
	buf_free(&dd);
	return rc;
}

/* put_locks(r, what, p, n, hash): store as locks/<what>-<sha256 hex>. */
static int put_locks(struct repo *r, const char *what, const uint8_t *p, size_t n, uint8_t hash[ID_LEN])
{
	char name[128], hex[2 * ID_LEN + 1];

	sha256(p, n, hash);
	hex_encode(hash, ID_LEN, hex);
	snprintf(name, sizeof name, "locks/%s-%s", what, hex);
	return store_put(r->store, name, p, n) < 0 ? -1 : 0;
}

/* open_signed(r, name, obj, kind, &body, &n): the owner part of a plan
 * or wait object: decrypted, its root signature verified.  0, R_CORRUPT
 * (message), or -1.  *body is allocated (without the signature). */
static int open_signed(struct repo *r, const char *name, const struct buf *obj, uint8_t kind,
    uint8_t **body, size_t *bn)
{
	struct envelope env;
	struct seal s = { 0 };
	const uint8_t *p = obj->p;
	size_t n = obj->len, off = ENVELOPE_LEN;
	uint8_t root[PK_LEN], *plain = NULL;
	uint32_t L;
	int rc = R_CORRUPT;

	*body = NULL;
	*bn = 0;
	if (envelope_decode(p, n, kind, &env) != 0 || n - off < 4)
		goto bad;
	L = le32_get(p + off);
	off += 4;
	if (L < AEAD_TAG_LEN + SIG_LEN || L > n - off)
		goto bad;
	if (kind == OBJ_WAIT ? n - off != L : n - off - L < SEAL_HDR_LEN + 4)
		goto bad;
	if (seal_open_pk(&s, r->kr, env.epoch, env.seal_hdr) != 0) {
		errmsg("%s is sealed to epoch %u, whose key this key does not hold", name, env.epoch);
		rc = -1;
		goto out;
	}
	plain = xmalloc(L);
	if (seal_decrypt(&s, 0, p, ENVELOPE_LEN, p + off, L, plain) != 0)
		goto bad;
	keyring_root_pk(r->kr, root);
	if (sig_verify(root, plain, L - AEAD_TAG_LEN - SIG_LEN, plain + L - AEAD_TAG_LEN - SIG_LEN) != 0)
		goto bad;
	*body = plain;
	*bn = L - AEAD_TAG_LEN - SIG_LEN;
	plain = NULL;
	rc = 0;
	goto out;
bad:
	errmsg("%s in %s is damaged or forged (it fails authentication, decoding or the "
	    "root key's signature); prune ignores and removes it", name, store_url(r->store));
out:
	seal_end(&s);
	free(plain);
	return rc;
}

/* read_signed(r, name, kind, &body, &n): read the object, then
 * open_signed.  0, R_MISSING, R_CORRUPT or -1. */
static int read_signed(struct repo *r, const char *name, uint8_t kind, uint8_t **body, size_t *n)
{
	struct buf obj;
	int got;

	buf_init(&obj, 1u << 30);
	got = repo_read_object(r, name, &obj);
	if (got == 0)
		got = open_signed(r, name, &obj, kind, body, n);
	buf_free(&obj);
	return got;
}

/* open_condemned(r, name, obj, &ids, &n): the blob IDs a plan condemns,
 * readable with any key (the dedup key).  0 or R_CORRUPT (message). */
static int open_condemned(struct repo *r, const char *name, const struct buf *obj,
    struct dedup_entry **ids, uint32_t *n_ids)
{
	struct envelope env;
	const uint8_t *p = obj->p;
	size_t n = obj->len, off = ENVELOPE_LEN;
	uint32_t L;

	*ids = NULL;
	*n_ids = 0;
	if (envelope_decode(p, n, OBJ_PLAN, &env) == 0 && n - off >= 4) {
		L = le32_get(p + off);
		off += 4;
		if (L <= n - off && open_dedup_section(r, p, n, off + L, ids, n_ids) == 0)
			return 0;
	}
	errmsg("prune plan %s in %s is damaged: its list of condemned blobs cannot be "
	    "read; the backup stops so that it cannot depend on them (the owner's "
	    "'twofold prune' removes damaged plans)", name, store_url(r->store));
	return R_CORRUPT;
}

/* ---- backup sessions ---- */

struct session {
	uint8_t id[SESSION_ID_LEN];
	pthread_t th;
	pthread_mutex_t mu;		/* the fields below */
	pthread_cond_t cv;
	int stop, thread;
	struct repo *r;
	/* stall detection (repo_session_check) */
	int64_t last_mark;		/* wall clock of the last marker written */
	int stalled;
	struct idlist plans;		/* plans read at the start */
	struct idlist index;		/* index objects present after loading */
	struct idlist own_index, own_packs;	/* written by this session */
	struct idlist condemned;	/* blobs the plans read at the start condemn */
};

#define STALL_NS (INT64_C(2) * HEARTBEAT_SEC * 1000000000)

/* session_marked(s): a marker was written just now. */
static void session_marked(struct session *s)
{
	int64_t now = now_ns();

	pthread_mutex_lock(&s->mu);
	if (now - s->last_mark > STALL_NS)
		s->stalled = 1;
	s->last_mark = now;
	pthread_mutex_unlock(&s->mu);
}

void repo_session_note(struct repo *r, int is_pack, const uint8_t id[ID_LEN])
{
	struct session *s = r->session;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	idl_push(is_pack ? &s->own_packs : &s->own_index, id);
	pthread_mutex_unlock(&s->mu);
}

static int put_marker(struct repo *r, const uint8_t sid[SESSION_ID_LEN], const char *what)
{
	char name[128], hex[2 * SESSION_ID_LEN + 1];
	static const char body[] = "twofold session\n";

	hex_encode(sid, SESSION_ID_LEN, hex);
	snprintf(name, sizeof name, "locks/session-%s-%s", hex, what);
	if (store_put(r->store, name, body, sizeof body - 1) < 0) {
		errmsg("cannot write the backup session marker %s: without it a prune "
		    "could remove data this backup uses", name);
		return -1;
	}
	return 0;
}

static int put_heartbeat(struct repo *r, const uint8_t sid[SESSION_ID_LEN])
{
	char t[17];

	snprintf(t, sizeof t, "%016" PRIx64, (uint64_t)now_ns());
	return put_marker(r, sid, t);
}

static void *heartbeat(void *arg)
{
	struct session *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += HEARTBEAT_SEC;
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT && !s->stop) {
			pthread_mutex_unlock(&s->mu);
			if (put_heartbeat(s->r, s->id) == 0)
				session_marked(s);
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct cond_ctx {
	struct repo *r;
	struct dedup_entry *v;
	size_t n;
	int failed;
	struct idlist *plans;	/* the plans read */
};

static int read_condemned(void *arg, const char *name, uint64_t size)
{
	struct cond_ctx *c = arg;
	struct buf obj;
	struct dedup_entry *ids;
	uint32_t n;
	int rc;

	(void)size;
	if (strncmp(name, "locks/condemned-", 16) != 0)
		return 0;
	buf_init(&obj, 1u << 30);
	rc = repo_read_object(c->r, name, &obj);
	if (rc == 1) {		/* executed and removed meanwhile */
		buf_free(&obj);
		return 0;
	}
	if (rc == 0)
		rc = open_condemned(c->r, name, &obj, &ids, &n);
	buf_free(&obj);
	if (rc != 0) {
		c->failed = 1;
		return 1;
	}
	{
		uint8_t h[ID_LEN];

		if (name_hash(name, "locks/condemned-", h) == 0)
			idl_push(c->plans, h);
	}
	c->v = xreallocarray(c->v, c->n + n + 1, sizeof *c->v);
	if (n)
		memcpy(c->v + c->n, ids, (size_t)n * sizeof *ids);
	c->n += n;
	free(ids);
	return 0;
}

/* named_ids: collect the hashes of the names PREFIX<64 hex> a listing
 * yields into a list. */
struct named_ids {
	const char *prefix;
	struct idlist *l;
};

static int named_ids_cb(void *arg, const char *name, uint64_t size)
{
	const struct named_ids *ni = arg;
	uint8_t h[ID_LEN];

	(void)size;
	if (name_hash(name, ni->prefix, h) == 0)
		idl_push(ni->l, h);
	return 0;
}

int repo_session_check(struct repo *r)
{
	struct session *s = r->session;
	struct idlist plans = { 0 }, index = { 0 };
	int64_t gap;
	const char *why = NULL;
	int rc = -1;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	gap = now_ns() - s->last_mark;
	if (gap > STALL_NS || getenv("TWOFOLD_DEBUG_STALL") != NULL)
		s->stalled = 1;
	pthread_mutex_unlock(&s->mu);
	if (!s->stalled)
		return 0;
	/* This backup went silent for longer than two heartbeats (a suspended
	 * machine, a hung process): a prune may have counted it dead and
	 * deleted data it relies on.  Alive again first, then prove that
	 * nothing it relies on can have gone: no plan appeared since the start
	 * (a plan written from now on waits for this session), and every
	 * index object it loaded or wrote and every pack it wrote is still
	 * there (an executed plan removes index objects or packs). */
	if (put_heartbeat(r, s->id) != 0)
		return -1;
	session_marked(s);
	if (store_list(r->store, "locks/", named_ids_cb,
	    &(struct named_ids){ "locks/condemned-", &plans }) < 0 ||
	    store_list(r->store, "index/", named_ids_cb, &(struct named_ids){ "index/", &index }) < 0)
		goto out;
	idl_sort(&plans);
	idl_sort(&index);
	for (uint32_t i = 0; i < plans.n && !why; i++)
		if (!idl_has(&s->plans, plans.v[i]))
			why = "a prune planned deletions meanwhile";
	for (uint32_t i = 0; i < s->index.n && !why; i++)
		if (!idl_has(&index, s->index.v[i]))
			why = "a prune removed an index object it loaded";
	for (uint32_t i = 0; i < s->own_index.n && !why; i++)
		if (!idl_has(&index, s->own_index.v[i]))
			why = "a prune removed an index object it wrote";
	for (uint32_t i = 0; i < s->own_packs.n && !why; i++) {
		char name[80];
		uint64_t sz;
		int got;

		repo_pack_name(s->own_packs.v[i], name);
		got = store_stat(r->store, name, &sz);
		if (got < 0)
			goto out;
		if (got == 1)
			why = "a prune removed a pack it wrote";
	}
	if (why) {
		errmsg("this backup was stalled (no heartbeat for longer than %d minutes) and %s: "
		    "data it relies on may be gone, so its snapshot is not written; run the "
		    "backup again (what is still stored is not uploaded twice)", 2 * HEARTBEAT_SEC / 60, why);
		goto out;
	}
	info(2, "the backup was stalled, but no prune touched what it relies on");
	rc = 0;
out:
	idl_free(&plans);
	idl_free(&index);
	return rc;
}

int repo_session_begin(struct repo *r)
{
	struct session *s;
	struct cond_ctx c = { r, NULL, 0, 0, NULL };
	int rc;

	if (r->session != NULL) {
		errmsg("internal error: a backup session is already open");
		return -1;
	}
	s = xcalloc(1, sizeof *s);
	rand_bytes(s->id, sizeof s->id);
	s->r = r;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	r->session = s;
	c.plans = &s->plans;
	/* The marker first, then the plans, then the index: a prune that
	 * lists sessions after writing its plan either sees this marker (and
	 * waits for this backup) or this backup sees the plan. */
	if (put_heartbeat(r, s->id) != 0)
		return -1;
	s->last_mark = now_ns();
	s->thread = pthread_create(&s->th, NULL, heartbeat, s) == 0;
	/* A rekey retires an old epoch only when no session is live: this
	 * marker is out, so a rotation this run did not see must stop it */
	if (repo_epoch_still_current(r) != 0)
		return -1;
	if (store_list(r->store, "locks/", read_condemned, &c) < 0 || c.failed) {
		free(c.v);
		return -1;
	}
	rc = repo_load_index(r);
	/* what the stall check compares with: listed after loading (an
	 * object deleted while loading belongs to a plan this session read,
	 * or to one that waits for it) */
	if (rc >= 0 && store_list(r->store, "index/", named_ids_cb,
	    &(struct named_ids){ "index/", &s->index }) < 0)
		rc = -1;
	idl_sort(&s->plans);
	idl_sort(&s->index);
	if (rc >= 0) {
		for (size_t i = 0; i < c.n; i++) {
			struct ient *e = itable_find(&r->idx, c.v[i].id);

			if (e)
				e->flags |= IE_CONDEMNED;
			idl_push(&s->condemned, c.v[i].id);
		}
		idl_sort(&s->condemned);
		if (c.n)
			info(2, "%zu blob(s) are condemned by a prune plan: stored again if needed", c.n);
	}
	free(c.v);
	return rc;
}

int repo_session_condemns(const struct repo *r, const uint8_t id[ID_LEN])
{
	return r->session != NULL && idl_has(&r->session->condemned, id);
}

/* end(r, mark): stop the heartbeat; write the end marker if mark. */
static int session_end(struct repo *r, int mark)
{
	struct session *s = r->session;
	int rc = 0;

	if (s == NULL)
		return 0;
	(void)repo_pack_settle(r);	/* the pack writers note packs in s */
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->thread)
		pthread_join(s->th, NULL);
	if (mark)
		rc = put_marker(r, s->id, "end");
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	idl_free(&s->plans);
	idl_free(&s->index);
	idl_free(&s->own_index);
	idl_free(&s->own_packs);
	idl_free(&s->condemned);
	free(s);
	r->session = NULL;
	return rc;
}

int repo_session_end(struct repo *r)
{
	return session_end(r, 1);
}

void repo_session_end_quiet(struct repo *r)
{
	session_end(r, 1);
}

/* ---- the state under locks/ ---- */

struct sess {
	uint8_t id[SESSION_ID_LEN];
	int64_t newest;		/* newest heartbeat, client clock */
	int ended;
	char **names;		/* its marker objects */
	size_t n_names;
};

struct planobj {
	uint8_t hash[ID_LEN];
	char name[128];
	struct prune_plan p;
	int damaged;
	int has_wait, ripe;
	uint32_t waits_for;	/* live sessions it waits for */
	char **waits;		/* its wait objects */
	size_t n_waits;
	uint8_t (*wsess)[SESSION_ID_LEN];	/* the sessions they name */
	uint32_t n_wsess;
};

struct lockstate {
	struct sess *s;
	size_t n_s;
	struct planobj *p;
	size_t n_p;
	struct names stray_waits;	/* wait objects whose plan is gone */
	struct names prune_locks;
	struct names other;
};

static void lockstate_free(struct lockstate *ls)
{
	for (size_t i = 0; i < ls->n_s; i++) {
		for (size_t k = 0; k < ls->s[i].n_names; k++)
			free(ls->s[i].names[k]);
		free(ls->s[i].names);
	}
	free(ls->s);
	for (size_t i = 0; i < ls->n_p; i++) {
		plan_free(&ls->p[i].p);
		for (size_t k = 0; k < ls->p[i].n_waits; k++)
			free(ls->p[i].waits[k]);
		free(ls->p[i].waits);
		free(ls->p[i].wsess);
	}
	free(ls->p);
	names_free(&ls->stray_waits);
	names_free(&ls->prune_locks);
	names_free(&ls->other);
	memset(ls, 0, sizeof *ls);
}

static struct sess *sess_get(struct lockstate *ls, const uint8_t id[SESSION_ID_LEN])
{
	for (size_t i = 0; i < ls->n_s; i++)
		if (memcmp(ls->s[i].id, id, SESSION_ID_LEN) == 0)
			return &ls->s[i];
	ls->s = xreallocarray(ls->s, ls->n_s + 1, sizeof *ls->s);
	memset(&ls->s[ls->n_s], 0, sizeof *ls->s);
	memcpy(ls->s[ls->n_s].id, id, SESSION_ID_LEN);
	ls->s[ls->n_s].newest = INT64_MIN;
	return &ls->s[ls->n_s++];
}

/* sess_alive(s, now, grace): neither ended nor silent for longer than the
 * grace period. */
static int sess_alive(const struct sess *s, int64_t now, int64_t grace)
{
	return !s->ended && s->newest != INT64_MIN && s->newest >= now - grace &&
	    s->newest <= now + FUTURE_SLACK_NS;
}

/* read_locks(r, ls): list locks/ and read every plan and wait object. */
static int read_locks(struct repo *r, struct lockstate *ls)
{
	struct names all = { 0 };
	int rc = -1;

	memset(ls, 0, sizeof *ls);
	if (store_list(r->store, "locks/", names_add, &all) < 0)
		goto out;
	for (size_t i = 0; i < all.n; i++) {
		const char *nm = all.v[i];
		uint8_t h[ID_LEN];

		if (strncmp(nm, "locks/session-", 14) == 0) {
			uint8_t sid[SESSION_ID_LEN];
			const char *rest = nm + 14;
			struct sess *s;
			char hex[2 * SESSION_ID_LEN + 1];

			if (strlen(rest) < 2 * SESSION_ID_LEN + 2 || rest[2 * SESSION_ID_LEN] != '-') {
				names_add(&ls->other, nm, 0);
				continue;
			}
			memcpy(hex, rest, 2 * SESSION_ID_LEN);
			hex[2 * SESSION_ID_LEN] = '\0';
			if (hex_decode(hex, sid, SESSION_ID_LEN) != 0) {
				names_add(&ls->other, nm, 0);
				continue;
			}
			s = sess_get(ls, sid);
			rest += 2 * SESSION_ID_LEN + 1;
			if (strcmp(rest, "end") == 0) {
				s->ended = 1;
			} else if (strlen(rest) == 16) {
				uint8_t tb[8];

				if (hex_decode(rest, tb, 8) == 0) {
					/* 16 hex digits, big-endian as written */
					int64_t t = 0;

					for (int k = 0; k < 8; k++)
						t = (int64_t)((uint64_t)t << 8 | tb[k]);
					if (t > s->newest)
						s->newest = t;
				}
			}
			s->names = xreallocarray(s->names, s->n_names + 1, sizeof *s->names);
			s->names[s->n_names++] = xstrdup(nm);
		} else if (name_hash(nm, "locks/condemned-", h) == 0) {
			struct planobj *p;
			uint8_t *body;
			size_t bn;
			int got;

			ls->p = xreallocarray(ls->p, ls->n_p + 1, sizeof *ls->p);
			p = &ls->p[ls->n_p++];
			memset(p, 0, sizeof *p);
			memcpy(p->hash, h, ID_LEN);
			snprintf(p->name, sizeof p->name, "%s", nm);
			got = read_signed(r, nm, OBJ_PLAN, &body, &bn);
			if (got < 0)
				goto out;
			if (got == 0) {
				if (plan_decode(body, bn, &p->p) != 0) {
					errmsg("prune plan %s is malformed; it is removed", nm);
					got = R_CORRUPT;
				}
				free(body);
			}
			p->damaged = got != 0;
		} else if (strncmp(nm, "locks/prune-", 12) == 0) {
			names_add(&ls->prune_locks, nm, 0);
		} else if (strncmp(nm, "locks/waitfor-", 14) != 0) {
			names_add(&ls->other, nm, 0);
		}
	}
	/* wait objects, now that the plans are known */
	for (size_t i = 0; i < all.n; i++) {
		const char *nm = all.v[i];
		uint8_t h[ID_LEN];
		struct prune_wait w;
		struct planobj *p = NULL;
		uint8_t *body;
		size_t bn;
		int got;

		if (name_hash(nm, "locks/waitfor-", h) != 0)
			continue;
		got = read_signed(r, nm, OBJ_WAIT, &body, &bn);
		if (got < 0)
			goto out;
		if (got == 0) {
			if (wait_decode(body, bn, &w) != 0)
				got = R_CORRUPT;
			free(body);
		}
		if (got != 0) {
			names_add(&ls->stray_waits, nm, 0);
			continue;
		}
		for (size_t k = 0; k < ls->n_p; k++)
			if (memcmp(ls->p[k].hash, w.plan, ID_LEN) == 0 && !ls->p[k].damaged)
				p = &ls->p[k];
		if (p == NULL) {
			names_add(&ls->stray_waits, nm, 0);
			wait_free(&w);
		} else {
			/* the plan waits for the sessions of its wait lists (any
			 * one would do; all of them is simpler and safe) */
			p->has_wait = 1;
			p->waits = xreallocarray(p->waits, p->n_waits + 1, sizeof *p->waits);
			p->waits[p->n_waits++] = xstrdup(nm);
			p->wsess = xreallocarray(p->wsess, p->n_wsess + w.n + 1, SESSION_ID_LEN);
			if (w.n)
				memcpy(p->wsess[p->n_wsess], w.sessions, (size_t)w.n * SESSION_ID_LEN);
			p->n_wsess += w.n;
			wait_free(&w);
		}
	}
	rc = 0;
out:
	names_free(&all);
	return rc;
}

/* live_sessions(r, now, grace, out): the sessions with a marker, no end
 * marker, and a heartbeat within the grace period, listed now. */
static int live_sessions(struct repo *r, int64_t now, int64_t grace, struct lockstate *ls,
    uint8_t (**out)[SESSION_ID_LEN], uint32_t *n)
{
	struct lockstate fresh;

	*out = NULL;
	*n = 0;
	if (read_locks(r, &fresh) != 0) {
		lockstate_free(&fresh);
		return -1;
	}
	*out = xcalloc(fresh.n_s + 1, SESSION_ID_LEN);
	for (size_t i = 0; i < fresh.n_s; i++)
		if (sess_alive(&fresh.s[i], now, grace))
			memcpy((*out)[(*n)++], fresh.s[i].id, SESSION_ID_LEN);
	/* the caller's view of the sessions becomes this newer one */
	for (size_t i = 0; i < fresh.n_s; i++) {
		struct sess *s = sess_get(ls, fresh.s[i].id);

		s->ended = fresh.s[i].ended;
		if (fresh.s[i].newest > s->newest)
			s->newest = fresh.s[i].newest;
	}
	lockstate_free(&fresh);
	return 0;
}

int repo_live_sessions(struct repo *r, int64_t grace_ns, uint32_t *n)
{
	struct lockstate ls;
	uint8_t (*v)[SESSION_ID_LEN] = NULL;
	int rc;

	memset(&ls, 0, sizeof ls);
	rc = live_sessions(r, now_ns(), grace_ns, &ls, &v, n);
	free(v);
	lockstate_free(&ls);
	return rc;
}

static int sid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SESSION_ID_LEN);
}

/* write_wait(r, plan, sessions, n): the wait list of a plan, written
 * after the plan and after listing the sessions. */
static int write_wait(struct repo *r, struct planobj *p, uint8_t (*sess)[SESSION_ID_LEN], uint32_t n)
{
	struct prune_wait w;
	struct buf body, obj;
	uint8_t h[ID_LEN];
	char hex[2 * ID_LEN + 1];
	int rc;

	qsort(sess, n, SESSION_ID_LEN, sid_cmp);
	memset(&w, 0, sizeof w);
	memcpy(w.plan, p->hash, ID_LEN);
	w.created_ns = now_ns();
	w.n = n;
	w.sessions = sess;
	buf_init(&body, SIZE_MAX);
	buf_init(&obj, SIZE_MAX);
	wait_encode(&w, &body);
	rc = seal_signed(r, OBJ_WAIT, &body, NULL, 0, &obj);
	if (rc == 0)
		rc = put_locks(r, "waitfor", obj.p, obj.len, h);
	if (rc == 0) {
		hex_encode(h, ID_LEN, hex);
		p->has_wait = 1;
		p->waits = xreallocarray(p->waits, p->n_waits + 1, sizeof *p->waits);
		p->waits[p->n_waits++] = xasprintf("locks/waitfor-%s", hex);
		p->wsess = xreallocarray(p->wsess, p->n_wsess + n + 1, SESSION_ID_LEN);
		if (n)
			memcpy(p->wsess[p->n_wsess], sess, (size_t)n * SESSION_ID_LEN);
		p->n_wsess += n;
	}
	buf_free(&body);
	buf_free(&obj);
	return rc;
}

/* ---- the prune lock: one prune at a time ---- */

/* wait_for_live(r, grace, ls, p): write plan p's wait list naming the
 * backup sessions live now; p is ripe if there are none. */
static int wait_for_live(struct repo *r, int64_t grace, struct lockstate *ls, struct planobj *p)
{
	uint8_t (*live)[SESSION_ID_LEN] = NULL;
	uint32_t n_live = 0;
	int rc = -1;

	if (live_sessions(r, now_ns(), grace, ls, &live, &n_live) == 0 &&
	    write_wait(r, p, live, n_live) == 0) {
		p->ripe = n_live == 0;
		rc = 0;
	}
	free(live);
	return rc;
}

static void host_tag(char out[17])
{
	char h[256];
	uint8_t d[32];

	if (gethostname(h, sizeof h) != 0)
		snprintf(h, sizeof h, "unknown");
	h[sizeof h - 1] = '\0';
	sha256(h, strlen(h), d);
	hex_encode(d, 8, out);
}

struct lockinfo {
	char host[17];
	long pid;
	int64_t time;
};

static int parse_lock(const struct buf *b, struct lockinfo *li)
{
	char tmp[256], *p, *end;
	size_t n = b->len < sizeof tmp - 1 ? b->len : sizeof tmp - 1;

	if (n)
		memcpy(tmp, b->p, n);
	tmp[n] = '\0';
	memset(li, 0, sizeof *li);
	if (strncmp(tmp, "twofold prune\nhost ", 19) != 0 || strlen(tmp + 19) < 17 || tmp[19 + 16] != '\n')
		return -1;
	memcpy(li->host, tmp + 19, 16);
	p = tmp + 19 + 17;
	if (strncmp(p, "pid ", 4) != 0)
		return -1;
	li->pid = strtol(p + 4, &end, 10);
	if (*end != '\n' || strncmp(end + 1, "time ", 5) != 0)
		return -1;
	li->time = strtoll(end + 6, &end, 10);
	return *end == '\n' ? 0 : -1;
}

static int lock_take(struct repo *r, char mine[128])
{
	struct names l = { 0 };
	char hex[33], host[17], body[128];
	uint8_t rnd[16];
	int n, rc = -1;

	rand_bytes(rnd, sizeof rnd);
	hex_encode(rnd, sizeof rnd, hex);
	snprintf(mine, 128, "locks/prune-%s", hex);
	host_tag(host);
	n = snprintf(body, sizeof body, "twofold prune\nhost %s\npid %ld\ntime %lld\n", host,
	    (long)getpid(), (long long)now_ns());
	if (store_put(r->store, mine, body, (size_t)n) != 0) {
		errmsg("cannot write the prune lock %s", mine);
		return -1;
	}
	if (store_list(r->store, "locks/", names_add, &l) < 0)
		goto fail;
	for (size_t i = 0; i < l.n; i++) {
		struct buf b;
		struct lockinfo li;
		int got;

		if (strncmp(l.v[i], "locks/prune-", 12) != 0 || strcmp(l.v[i], mine) == 0)
			continue;
		buf_init(&b, 4096);
		got = store_get(r->store, l.v[i], 0, UINT64_MAX, &b);
		if (got == 1) {
			buf_free(&b);
			continue;
		}
		if (got == 0 && parse_lock(&b, &li) == 0 && strcmp(li.host, host) == 0 &&
		    kill((pid_t)li.pid, 0) != 0 && errno == ESRCH) {
			/* this host's prune, and its process is gone */
			info(1, "removing the stale prune lock %s (process %ld has exited)", l.v[i], li.pid);
			buf_free(&b);
			if (store_delete(r->store, l.v[i]) < 0)
				goto fail;
			continue;
		}
		if (got == 0 && parse_lock(&b, &li) == 0)
			errmsg("another prune is running (%s: host tag %s, process %ld, started "
			    "%lld s ago); run one prune at a time.  If that process is dead, "
			    "remove %s from %s", l.v[i], li.host, li.pid,
			    (long long)((now_ns() - li.time) / 1000000000), l.v[i], store_url(r->store));
		else
			errmsg("another prune's lock %s is in %s (unreadable); if no prune "
			    "runs, remove it", l.v[i], store_url(r->store));
		buf_free(&b);
		goto fail;
	}
	rc = 0;
	names_free(&l);
	return rc;
fail:
	names_free(&l);
	store_delete(r->store, mine);
	return -1;
}

/* ---- marking what the snapshots reference ---- */

static int mark_tree(struct repo *r, const uint8_t id[ID_LEN], const char *snap)
{
	struct ient *e = itable_find(&r->idx, id);
	struct tree t;
	char hex[2 * ID_LEN + 1];
	int rc = 0;

	if (e == NULL || e->pack >= r->n_packs) {
		hex_encode(id, ID_LEN, hex);
		errmsg("snapshot %.16s references tree %s, which no index names: prune "
		    "stops without deleting anything (run 'twofold check')", snap, hex);
		return -1;
	}
	if (e->flags & IE_REF)
		return 0;
	e->flags |= IE_REF;
	if (repo_load_tree(r, id, &t) != 0) {
		hex_encode(id, ID_LEN, hex);
		errmsg("tree %s of snapshot %.16s cannot be read: prune stops without "
		    "deleting anything (run 'twofold check')", hex, snap);
		return -1;
	}
	for (uint32_t i = 0; i < t.n && rc == 0; i++) {
		const struct node *n = &t.nodes[i];

		if (n->type == NODE_DIR) {
			rc = mark_tree(r, n->subtree, snap);
			continue;
		}
		for (uint32_t k = 0; k < n->n_chunks; k++) {
			struct ient *c = itable_find(&r->idx, n->chunks[k]);

			if (c == NULL || c->pack >= r->n_packs) {
				hex_encode(n->chunks[k], ID_LEN, hex);
				errmsg("snapshot %.16s references chunk %s, which no index names: "
				    "prune stops without deleting anything (run 'twofold check')", snap, hex);
				rc = -1;
				break;
			}
			c->flags |= IE_REF;
		}
	}
	tree_free(&t);
	return rc;
}

/* mark_all(r, res): reload the index and mark every blob a snapshot
 * references.  Refuses (-1) on a rejected snapshot, a damaged index or a
 * missing blob: prune must know everything that is referenced. */
static int mark_all(struct repo *r, struct prune_result *res)
{
	struct snap_list l;
	int rc;

	/* Snapshots first, then the index: a backup writes its index before
	 * its snapshot, so every snapshot listed here finds its blobs in the
	 * index loaded after. */
	if (repo_list_snapshots(r, &l) != 0)
		return -1;
	repo_index_free(r);
	reader_release(r);	/* its caches are keyed by pack numbers */
	rc = repo_load_index(r);
	if (rc != 0) {
		if (rc > 0)
			errmsg("%d index object(s) are damaged: prune cannot tell which packs "
			    "they describe and stops (run 'twofold check')", rc);
		snap_list_free(&l);
		return -1;
	}
	res->snapshots = 0;
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		char hex[2 * ID_LEN + 1];

		hex_encode(l.v[i].id, ID_LEN, hex);
		if (l.v[i].status == SNAP_BAD) {
			errmsg("snapshot snapshots/%s is rejected (%s): prune cannot know what it "
			    "references and stops; remove it or repair the repository first",
			    hex, l.v[i].why);
			rc = -1;
			break;
		}
		res->snapshots++;
		rc = mark_tree(r, l.v[i].s.tree, hex);
	}
	snap_list_free(&l);
	return rc;
}

/* index_names(r, out): the present index objects that no loaded index
 * supersedes (and, in stale, those that one does). */
static int index_names(struct repo *r, struct names *live, struct names *stale)
{
	struct names all = { 0 };

	if (store_list(r->store, "index/", names_add, &all) < 0) {
		names_free(&all);
		return -1;
	}
	for (size_t i = 0; i < all.n; i++) {
		uint8_t h[ID_LEN];

		if (name_hash(all.v[i], "index/", h) == 0 && repo_is_superseded(r, h))
			names_add(stale, all.v[i], all.sz[i]);
		else
			names_add(live, all.v[i], all.sz[i]);
	}
	names_free(&all);
	return 0;
}

int prune_select(uint64_t size, uint64_t used, unsigned threshold)
{
	if (used == 0)
		return 1;
	if (used < size && (size - used) * 100 >= (uint64_t)threshold * size)
		return 2;
	return 0;
}

/* ---- data/ listing ---- */

struct pk {
	uint8_t id[ID_LEN];
	uint64_t size;
};

struct pklist {
	struct pk *v;
	size_t n, cap;
};

static int pk_add(void *arg, const char *name, uint64_t size)
{
	struct pklist *l = arg;
	const char *slash = strrchr(name, '/');

	if (slash == NULL || strlen(slash + 1) != 2 * ID_LEN)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	if (hex_decode(slash + 1, l->v[l->n].id, ID_LEN) != 0)
		return 0;
	l->v[l->n++].size = size;
	return 0;
}

static const struct pk *pk_find(const struct pklist *l, const uint8_t id[ID_LEN])
{
	return l->n ? bsearch(id, l->v, l->n, sizeof *l->v, id_cmp) : NULL;
}

/* ---- executing ripe plans ---- */

struct need {
	uint8_t id[ID_LEN];
	uint8_t pack[ID_LEN];
};

/* execute(r, deletable, doomed, data, rekey_epoch, res): see the file
 * comment.  deletable: the packs of the ripe plans; doomed: of every plan.
 * With rekey_epoch, index objects sealed to another epoch are rewritten
 * and superseded too. */
static int execute(struct repo *r, const struct idlist *deletable, const struct idlist *doomed,
    const struct pklist *data, uint32_t rekey_epoch, struct prune_result *res)
{
	struct names live = { 0 }, stale = { 0 }, affected = { 0 };
	struct need *need = NULL;
	size_t n_need = 0, cap_need = 0;
	struct idlist kept = { 0 }, supersede = { 0 }, tomb = { 0 };
	struct names tombs = { 0 };
	struct index_body nb;
	uint32_t *bmap = NULL;
	uint32_t cap_packs = 0, cap_locs = 0;
	int rc = -1;

	memset(&nb, 0, sizeof nb);
	if (mark_all(r, res) != 0)
		return -1;
	if (index_names(r, &live, &stale) != 0)
		goto out;
	/* which blobs have a copy that stays; which doomed packs hold
	 * referenced blobs */
	for (size_t i = 0; i < live.n; i++) {
		struct index_body b;
		int hit = 0, got = repo_decode_index(r, live.v[i], &b);

		if (got != 0)
			goto out;	/* mark_all loaded it a moment ago */
		for (uint32_t k = 0; k < b.n; k++) {
			const uint8_t *pid = b.packs[b.locs[k].pack];
			struct ient *e = itable_find(&r->idx, b.locs[k].e.id);

			if (e == NULL)
				continue;
			if (!idl_has(doomed, pid))
				e->flags |= IE_SURV;
			else if (idl_has(deletable, pid) && (e->flags & IE_REF)) {
				if (n_need == cap_need) {
					cap_need = cap_need ? cap_need * 2 : 64;
					need = xreallocarray(need, cap_need, sizeof *need);
				}
				memcpy(need[n_need].id, b.locs[k].e.id, ID_LEN);
				memcpy(need[n_need++].pack, pid, ID_LEN);
			}
		}
		for (uint32_t k = 0; k < b.n_packs && !hit; k++)
			hit = idl_has(deletable, b.packs[k]);
		if (rekey_epoch) {
			uint32_t ep = rekey_epoch;

			if (object_epoch(r->store, live.v[i], OBJ_INDEX, &ep) < 0) {
				index_body_free(&b);
				goto out;
			}
			if (ep != rekey_epoch) {
				hit = 1;
				res->index_rekey++;
			}
		}
		if (hit)
			names_add(&affected, live.v[i], live.sz[i]);
		if (b.n_packs == 0 && b.n_super > 0) {
			/* an earlier prune's index that only supersedes: the new
			 * one takes over its list, so they do not pile up */
			uint8_t h[ID_LEN];

			if (name_hash(live.v[i], "index/", h) == 0) {
				idl_push(&tomb, h);
				for (uint32_t k = 0; k < b.n_super; k++)
					idl_push(&tomb, b.supersedes[k]);
				names_add(&tombs, live.v[i], live.sz[i]);
			}
		}
		index_body_free(&b);
	}
	for (size_t i = 0; i < n_need; i++) {
		const struct ient *e = itable_find(&r->idx, need[i].id);

		if (e && !(e->flags & IE_SURV))
			idl_push(&kept, need[i].pack);
	}
	idl_sort(&kept);
	res->packs_kept += kept.n;
	if (kept.n)
		info(1, "%u pack(s) of the plan are kept: a backup that ran beside the prune uses "
		    "blobs in them", kept.n);

	/* 1. a new index supersedes every index object that names a pack to
	 * delete (keeping its other entries) and every stale one */
	bmap = xcalloc(r->n_packs + 1, sizeof *bmap);
	for (uint32_t i = 0; i < tomb.n; i++)
		idl_push(&supersede, tomb.v[i]);
	for (size_t i = 0; i < tombs.n; i++)
		names_add(&stale, tombs.v[i], tombs.sz[i]);
	for (size_t i = 0; i < stale.n; i++) {
		uint8_t h[ID_LEN];

		if (name_hash(stale.v[i], "index/", h) == 0)
			idl_push(&supersede, h);
	}
	for (size_t i = 0; i <= affected.n; i++) {
		struct index_body b;
		uint8_t h[ID_LEN];

		if (i < affected.n) {
			if (repo_decode_index(r, affected.v[i], &b) != 0 ||
			    name_hash(affected.v[i], "index/", h) != 0)
				goto out;
			for (uint32_t k = 0; k < b.n; k++) {
				const uint8_t *pid = b.packs[b.locs[k].pack];
				uint32_t pn;
				struct index_loc *l;

				if (idl_has(deletable, pid) && !idl_has(&kept, pid))
					continue;
				pn = repo_pack_find(r, pid);
				if (pn == UINT32_MAX)
					continue;
				if (bmap[pn] == 0) {
					if (nb.n_packs == cap_packs) {
						cap_packs = cap_packs ? cap_packs * 2 : 16;
						nb.packs = xreallocarray(nb.packs, cap_packs, ID_LEN);
					}
					memcpy(nb.packs[nb.n_packs++], pid, ID_LEN);
					bmap[pn] = nb.n_packs;
				}
				if (nb.n == cap_locs) {
					cap_locs = cap_locs ? cap_locs * 2 : 256;
					nb.locs = xreallocarray(nb.locs, cap_locs, sizeof *nb.locs);
				}
				l = &nb.locs[nb.n++];
				l->e = b.locs[k].e;
				l->pack = bmap[pn] - 1;
			}
			/* what it superseded stays superseded (a copy that lags
			 * behind must not bring those back) */
			for (uint32_t k = 0; k < b.n_super; k++)
				idl_push(&supersede, b.supersedes[k]);
			index_body_free(&b);
			idl_push(&supersede, h);
			/* deleted in step 3, after every replacement is written */
			names_add(&stale, affected.v[i], affected.sz[i]);
		}
		if ((i == affected.n && supersede.n > 0) || nb.n >= INDEX_FLUSH_LOCS) {
			uint8_t nh[ID_LEN];

			idl_sort(&supersede);
			nb.n_super = supersede.n;
			nb.supersedes = supersede.v;
			if (repo_write_index(r, &nb, nh) != 0)
				goto out;
			res->index_written++;
			/* the superseded objects go once the packs are gone */
			for (uint32_t k = 0; k < nb.n_packs; k++)
				bmap[repo_pack_find(r, nb.packs[k])] = 0;
			nb.n_packs = nb.n = 0;
			nb.n_super = 0;
			nb.supersedes = NULL;
			supersede.n = 0;
		}
	}
	/* 2. the packs */
	for (uint32_t i = 0; i < deletable->n; i++) {
		char name[80];
		const struct pk *pk;
		int got;

		if (idl_has(&kept, deletable->v[i]))
			continue;
		repo_pack_name(deletable->v[i], name);
		pk = pk_find(data, deletable->v[i]);
		got = store_delete(r->store, name);
		if (got < 0)
			goto out;
		if (got == 0 && pk) {
			res->packs_deleted++;
			res->bytes_deleted += pk->size;
		}
	}
	/* 3. the superseded index objects (the stale list now holds them all;
	 * deleting one twice finds it gone) */
	for (size_t i = 0; i < stale.n; i++) {
		int got = store_delete(r->store, stale.v[i]);

		if (got < 0)
			goto out;
		if (got == 0) {
			res->index_deleted++;
			res->bytes_deleted += stale.sz[i];
		}
	}
	rc = 0;
out:
	free(bmap);
	free(nb.packs);
	free(nb.locs);
	free(need);
	idl_free(&kept);
	idl_free(&supersede);
	idl_free(&tomb);
	names_free(&tombs);
	names_free(&live);
	names_free(&stale);
	names_free(&affected);
	return rc;
}

/* ---- one prune run ---- */

struct rep {
	uint32_t pack, offset;
	size_t ent;
};

static int rep_cmp(const void *a, const void *b)
{
	const struct rep *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

enum { ACT_KEEP = 0, ACT_DELETE = 1, ACT_REPACK = 2 };

/* walk_locs(r, live, n_old, fn, arg): fn(r, arg, loc, pack number) for
 * every location of every index object named in live whose pack is one
 * of the n_old packs the index knows.  -1 if an index cannot be read. */
typedef void (*loc_fn)(struct repo *r, void *arg, const struct index_loc *l,
    const uint8_t pack_id[ID_LEN], uint32_t pn);

static int walk_locs(struct repo *r, const struct names *live, uint32_t n_old, loc_fn fn, void *arg)
{
	for (size_t i = 0; i < live->n; i++) {
		struct index_body b;

		if (repo_decode_index(r, live->v[i], &b) != 0)
			return -1;
		for (uint32_t k = 0; k < b.n; k++) {
			const struct index_loc *l = &b.locs[k];
			uint32_t pn = repo_pack_find(r, b.packs[l->pack]);

			if (pn < n_old)
				fn(r, arg, l, b.packs[l->pack], pn);
		}
		index_body_free(&b);
	}
	return 0;
}

/* prefer_kept: a blob with copies in several packs counts as used where
 * the index locates it; when that is a pack an earlier plan dooms, use a
 * copy that stays instead (otherwise that copy would look unused and be
 * doomed too).  arg: the doomed packs and n_old. */
struct doomed {
	const struct idlist *pending;
	uint32_t n_old;
};

static void prefer_kept(struct repo *r, void *arg, const struct index_loc *l,
    const uint8_t pack_id[ID_LEN], uint32_t pn)
{
	const struct doomed *d = arg;
	struct ient *e = itable_find(&r->idx, l->e.id);

	if (e == NULL || e->pack >= d->n_old || !idl_has(d->pending, r->packs[e->pack]) ||
	    idl_has(d->pending, pack_id))
		return;
	e->pack = pn;
	e->offset = l->e.offset;
	e->length = l->e.length;
	e->raw = l->e.raw_length;
	e->comp = l->e.comp;
}

/* count_use: bytes per pack in all, and bytes of referenced blobs. */
struct use {
	uint64_t *total, *used;
};

static void count_use(struct repo *r, void *arg, const struct index_loc *l,
    const uint8_t pack_id[ID_LEN], uint32_t pn)
{
	const struct use *u = arg;
	const struct ient *e = itable_find(&r->idx, l->e.id);

	(void)pack_id;
	u->total[pn] += l->e.length;
	if (e && (e->flags & IE_REF) && e->pack == pn && e->offset == l->e.offset)
		u->used[pn] += l->e.length;
}

/* repack(r, act, res): copy the referenced blobs of the packs to repack
 * into new packs, one old pack read at a time, then write the open pack
 * and the new packs' index. */
static int repack(struct repo *r, const uint8_t *act, uint32_t n_old, struct prune_result *res)
{
	struct rep *v = NULL;
	size_t n = 0, cap = 0;
	struct buf b;
	int rc = 0;

	for (size_t i = 0; i < r->idx.n; i++) {
		const struct ient *e = &r->idx.v[i];

		if (!(e->flags & IE_REF) || e->pack >= n_old || act[e->pack] != ACT_REPACK)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[n].pack = e->pack;
		v[n].offset = e->offset;
		v[n++].ent = i;
	}
	if (n)
		qsort(v, n, sizeof *v, rep_cmp);
	buf_init(&b, MAX_BLOB);
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint8_t id[ID_LEN], type;
		uint64_t stored;

		memcpy(id, r->idx.v[v[i].ent].id, ID_LEN);
		type = r->idx.v[v[i].ent].type;
		buf_truncate(&b, 0);
		if (repo_read_blob(r, id, &b) != 0) {
			errmsg("prune stops before deleting anything: a blob to repack cannot be "
			    "read (run 'twofold check')");
			rc = -1;
			break;
		}
		rc = repo_add_blob_force(r, type, id, b.p, b.len, &stored);
		res->blobs_repacked++;
		res->bytes_repacked += b.len;
	}
	buf_free(&b);
	free(v);
	if (rc == 0)
		rc = repo_flush(r);
	return rc;
}

int repo_prune(struct repo *r, const struct prune_opts *o, struct prune_result *res)
{
	struct lockstate ls;
	struct pklist data = { 0 };
	struct idlist pending = { 0 }, doomed = { 0 }, deletable = { 0 };
	struct dedup_entry *cond = NULL;
	size_t n_cond = 0, cap_cond = 0;
	uint8_t *act = NULL;
	uint64_t *total = NULL, *used = NULL;
	uint32_t n_old = 0;
	uint64_t rekeyed = 0;
	char lockname[128] = "";
	int64_t now;
	int rc = -1, locked = 0;

	memset(res, 0, sizeof *res);
	memset(&ls, 0, sizeof ls);
	if (repo_need(r, CAN_OWNER, "prune") != 0)
		return -1;
	if (!o->dry_run) {
		if (lock_take(r, lockname) != 0)
			return -1;
		locked = 1;
	}
	if (read_locks(r, &ls) != 0)
		goto out;
	now = now_ns();
	for (size_t i = 0; i < ls.n_s; i++)
		if (!ls.s[i].ended && ls.s[i].newest != INT64_MIN && ls.s[i].newest > now + FUTURE_SLACK_NS)
			errmsg("warning: backup session marker %s is dated more than an hour in the "
			    "future: that host's clock is wrong (or the marker forged); prune does not "
			    "wait for it", ls.s[i].n_names ? ls.s[i].names[0] : "?");
	for (size_t i = 0; i < ls.n_p; i++)
		if (!ls.p[i].damaged)
			for (uint32_t k = 0; k < ls.p[i].p.n_packs; k++)
				idl_push(&pending, ls.p[i].p.packs[k]);
	idl_sort(&pending);

	/* ---- phase 1: mark, sweep, repack, plan ---- */
	info(1, "marking what the snapshots reference");
	if (mark_all(r, res) != 0)
		goto out;
	if (store_list(r->store, "data/", pk_add, &data) < 0)
		goto out;
	if (data.n)
		qsort(data.v, data.n, sizeof *data.v, id_cmp);
	n_old = r->n_packs;
	act = xcalloc(n_old + 1, 1);
	total = xcalloc(n_old + 1, sizeof *total);
	used = xcalloc(n_old + 1, sizeof *used);
	{
		struct names live = { 0 }, stale = { 0 };

		if (index_names(r, &live, &stale) != 0) {
			names_free(&live);
			names_free(&stale);
			goto out;
		}
		/* A blob with copies in several packs counts as used where the
		 * index locates it; when that is a pack an earlier plan dooms,
		 * use a copy that stays instead (otherwise that copy would look
		 * unused and be doomed too). */
		if ((pending.n && walk_locs(r, &live, n_old, prefer_kept,
		    &(struct doomed){ &pending, n_old }) != 0) ||
		    walk_locs(r, &live, n_old, count_use, &(struct use){ total, used }) != 0) {
			names_free(&live);
			names_free(&stale);
			goto out;
		}
		names_free(&live);
		names_free(&stale);
	}
	res->packs = n_old;
	res->blobs = r->idx.n;
	for (size_t i = 0; i < r->idx.n; i++)
		res->blobs_referenced += (r->idx.v[i].flags & IE_REF) != 0;
	for (uint32_t p = 0; p < n_old; p++) {
		if (pk_find(&data, r->packs[p]) == NULL || idl_has(&pending, r->packs[p]))
			continue;	/* missing (check's business) or already planned */
		act[p] = (uint8_t)prune_select(total[p], used[p], o->repack_threshold);
		if (o->rekey_epoch && act[p] == ACT_KEEP &&
		    (o->rekey_budget == 0 || rekeyed < o->rekey_budget)) {
			char name[80];
			uint32_t ep = o->rekey_epoch;

			repo_pack_name(r->packs[p], name);
			if (object_epoch(r->store, name, OBJ_PACK, &ep) < 0)
				goto out;
			if (ep != o->rekey_epoch) {
				act[p] = used[p] ? ACT_REPACK : ACT_DELETE;
				res->packs_rekey++;
				rekeyed += pk_find(&data, r->packs[p])->size;
			}
		}
		if (act[p] == ACT_DELETE) {
			res->packs_unused++;
			res->bytes_unused += pk_find(&data, r->packs[p])->size;
		} else if (act[p] == ACT_REPACK) {
			res->packs_repack++;
			res->bytes_unused += total[p] - used[p];
		}
	}
	for (size_t i = 0; i < data.n; i++) {
		if (repo_pack_find(r, data.v[i].id) != UINT32_MAX || idl_has(&pending, data.v[i].id))
			continue;
		res->packs_orphan++;
		res->bytes_unused += data.v[i].size;
	}
	for (size_t i = 0; i < ls.n_p; i++) {
		struct planobj *p = &ls.p[i];

		if (p->damaged)
			continue;
		p->ripe = p->has_wait;
		for (uint32_t k = 0; k < p->n_wsess && p->ripe; k++) {
			const struct sess *s = NULL;

			for (size_t j = 0; j < ls.n_s; j++)
				if (memcmp(ls.s[j].id, p->wsess[k], SESSION_ID_LEN) == 0)
					s = &ls.s[j];
			if (s && sess_alive(s, now, o->grace_ns))
				p->ripe = 0;
		}
	}
	if (o->dry_run) {
		for (size_t i = 0; i < ls.n_p; i++)
			if (!ls.p[i].damaged)
				res->plans_waiting++;
		rc = 0;
		goto out;
	}

	/* repack: new packs and their index before anything is deleted */
	if (res->packs_repack) {
		info(1, "repacking %" PRIu64 " pack(s)", res->packs_repack);
		if (repack(r, act, n_old, res) != 0)
			goto out;
		for (uint32_t p = n_old; p < r->n_packs; p++) {
			char name[80];
			uint64_t sz;

			repo_pack_name(r->packs[p], name);
			if (store_stat(r->store, name, &sz) == 0)
				res->bytes_written += sz;
		}
	}
	/* the plan: doomed packs, and the unreferenced blob IDs in them */
	for (size_t i = 0; i < r->idx.n; i++) {
		const struct ient *e = &r->idx.v[i];

		if ((e->flags & IE_REF) || e->pack >= n_old || act[e->pack] == ACT_KEEP)
			continue;
		if (n_cond == cap_cond) {
			cap_cond = cap_cond ? cap_cond * 2 : 256;
			cond = xreallocarray(cond, cap_cond, sizeof *cond);
		}
		cond[n_cond].type = e->type;
		memcpy(cond[n_cond++].id, e->id, ID_LEN);
	}
	{
		struct idlist packs = { 0 };

		for (uint32_t p = 0; p < n_old; p++)
			if (act[p] != ACT_KEEP)
				idl_push(&packs, r->packs[p]);
		for (size_t i = 0; i < data.n; i++) {
			struct pack_entry *e = NULL;
			uint32_t ne = 0;
			int got;

			if (repo_pack_find(r, data.v[i].id) != UINT32_MAX || idl_has(&pending, data.v[i].id))
				continue;
			/* a pack no index names: a backup's that died, or one that
			 * is still running (the wait list covers that) */
			got = repo_pack_entries(r, data.v[i].id, &e, &ne);
			if (got < 0) {
				idl_free(&packs);
				goto out;
			}
			if (got > 0) {
				info(1, "note: pack without index is unreadable; left alone");
				continue;
			}
			for (uint32_t k = 0; k < ne; k++) {
				const struct ient *x = itable_find(&r->idx, e[k].id);

				if (x && (x->flags & IE_REF))
					continue;
				if (n_cond == cap_cond) {
					cap_cond = cap_cond ? cap_cond * 2 : 256;
					cond = xreallocarray(cond, cap_cond, sizeof *cond);
				}
				cond[n_cond].type = e[k].type;
				memcpy(cond[n_cond++].id, e[k].id, ID_LEN);
			}
			free(e);
			idl_push(&packs, data.v[i].id);
		}
		idl_sort(&packs);
		if (packs.n) {
			struct prune_plan pl;
			struct buf body, obj;
			struct planobj *p;
			char hex[2 * ID_LEN + 1];
			int wrc;

			pl.created_ns = now_ns();
			pl.n_packs = packs.n;
			pl.packs = packs.v;
			buf_init(&body, SIZE_MAX);
			buf_init(&obj, SIZE_MAX);
			plan_encode(&pl, &body);
			ls.p = xreallocarray(ls.p, ls.n_p + 1, sizeof *ls.p);
			p = &ls.p[ls.n_p++];
			memset(p, 0, sizeof *p);
			wrc = seal_signed(r, OBJ_PLAN, &body, cond, (uint32_t)n_cond, &obj);
			if (wrc == 0)
				wrc = put_locks(r, "condemned", obj.p, obj.len, p->hash);
			buf_free(&body);
			buf_free(&obj);
			p->p.created_ns = pl.created_ns;
			p->p.n_packs = packs.n;
			p->p.packs = packs.v;	/* owned by the plan now */
			memset(&packs, 0, sizeof packs);
			if (wrc != 0)
				goto out;
			hex_encode(p->hash, ID_LEN, hex);
			snprintf(p->name, sizeof p->name, "locks/condemned-%s", hex);
			res->plans_made++;
			res->blobs_condemned = n_cond;
			/* the sessions, listed after the plan is stored */
			if (wait_for_live(r, o->grace_ns, &ls, p) != 0)
				goto out;
		}
		idl_free(&packs);
	}
	/* plans a crash left without a wait list get one now */
	for (size_t i = 0; i < ls.n_p; i++)
		if (!ls.p[i].damaged && !ls.p[i].has_wait && wait_for_live(r, o->grace_ns, &ls, &ls.p[i]) != 0)
			goto out;

	/* ---- phase 2: execute the ripe plans ---- */
	for (size_t i = 0; i < ls.n_p; i++) {
		const struct planobj *p = &ls.p[i];

		if (p->damaged)
			continue;
		for (uint32_t k = 0; k < p->p.n_packs; k++) {
			idl_push(&doomed, p->p.packs[k]);
			if (p->ripe)
				idl_push(&deletable, p->p.packs[k]);
		}
		if (p->ripe)
			res->plans_done++;
		else
			res->plans_waiting++;
	}
	idl_sort(&doomed);
	idl_sort(&deletable);
	if (res->plans_done || o->rekey_epoch) {
		if (res->plans_done)
			info(1, "executing %" PRIu64 " plan(s): %u pack(s)", res->plans_done, deletable.n);
		if (execute(r, &deletable, &doomed, &data, o->rekey_epoch, res) != 0)
			goto out;
	}
	/* the executed plans (plan first: a wait list without its plan is
	 * ignored), stray wait lists, damaged plans, finished sessions */
	for (size_t i = 0; i < ls.n_p; i++) {
		struct planobj *p = &ls.p[i];

		if (!p->ripe && !p->damaged)
			continue;
		if (store_delete(r->store, p->name) < 0)
			goto out;
		for (size_t k = 0; k < p->n_waits; k++)
			if (store_delete(r->store, p->waits[k]) < 0)
				goto out;
	}
	for (size_t i = 0; i < ls.stray_waits.n; i++)
		if (store_delete(r->store, ls.stray_waits.v[i]) < 0)
			goto out;
	now = now_ns();
	for (size_t i = 0; i < ls.n_s; i++) {
		const struct sess *s = &ls.s[i];
		int blocking = 0;

		if (sess_alive(s, now, o->grace_ns))
			continue;
		/* keep the markers of sessions a waiting plan names: they
		 * tell later runs when those sessions ended */
		for (size_t k = 0; k < ls.n_p && !blocking; k++)
			for (uint32_t j = 0; j < ls.p[k].n_wsess && !ls.p[k].ripe && !blocking; j++)
				blocking = memcmp(ls.p[k].wsess[j], s->id, SESSION_ID_LEN) == 0;
		if (blocking)
			continue;
		for (size_t k = 0; k < s->n_names; k++)
			if (store_delete(r->store, s->names[k]) < 0)
				goto out;
	}
	rc = 0;
out:
	if (locked)
		store_delete(r->store, lockname);
	lockstate_free(&ls);
	free(data.v);
	idl_free(&pending);
	idl_free(&doomed);
	idl_free(&deletable);
	free(cond);
	free(act);
	free(total);
	free(used);
	return rc;
}
