/* wo_proof: what a write-only key can decrypt, tried exhaustively.
 *
 *   wo_proof REPO WOPASS OWNERPASS MARKER
 *
 * REPO is a local repository; WOPASS opens a write-only key slot, OWNERPASS
 * an owner slot (used only for the control and to learn where every
 * ciphertext lies, which an attacker may be assumed to know too); MARKER
 * is a string that a backed-up file contains.
 *
 * The write-only material is exactly the keyring its slot yields (the slot
 * is opened the way a client opens it; the keyring's accessors say what it
 * holds).  With it, every decryption path of the format is tried on every
 * object: the public-key seal of each pack, index and snapshot (envelope
 * epoch and every epoch the keyring knows), and every symmetric key the
 * keyring can derive (config, dedup) on every sealed region with its real
 * nonce and associated data: pack footers, trailers and each blob (data and
 * tree), index location lists, snapshot bodies.  Each must fail.  What the
 * write-only key may open (config, dedup lists) is opened, and the marker
 * must be in none of the outputs.  The library's own read paths (blobs,
 * trees, snapshots, index locations, pack trailers) must fail as well.
 * Control: the owner key opens the same regions and finds the marker, so
 * the searches are able to succeed.
 *
 * Prints "PASS: what" / "FAIL: what" lines; exit 0 if all passed. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "repo/repo.h"
#include "toolutil.h"

static int failed;

static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", cond ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failed |= !cond;
}

/* Every object of a kind: its name (relative to the repository) and bytes. */
struct obj {
	char name[600];
	struct buf b;
};
struct objs {
	struct obj *v;
	size_t n;
};

static void collect(const char *repo, const char *sub, struct objs *o)
{
	char dir[4096];
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof dir, "%s/%s", repo, sub);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[4400];
		struct obj *x;

		if (e->d_name[0] == '.')
			continue;
		if (strcmp(sub, "data") == 0) {
			char s2[300];

			snprintf(s2, sizeof s2, "data/%s", e->d_name);
			collect(repo, s2, o);
			continue;
		}
		o->v = xreallocarray(o->v, o->n + 1, sizeof *o->v);
		x = &o->v[o->n++];
		snprintf(x->name, sizeof x->name, "%s/%s", sub, e->d_name);
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (tu_read(path, &x->b) != 0) {
			fprintf(stderr, "cannot read %s\n", path);
			exit(2);
		}
	}
	closedir(d);
}

/* Everything any write-only decryption produced. */
static struct buf wo_out;
/* Everything the owner's control decryption produced. */
static struct buf owner_out;

static int contains(const struct buf *b, const char *m)
{
	return b->len >= strlen(m) && memmem(b->p, b->len, m, strlen(m)) != NULL;
}

/* try(s, nonce, ad, adn, ct, n, out): decrypt; on success append the
 * plaintext to out.  1 if it opened. */
static int try(struct seal *s, uint64_t nonce, const uint8_t *ad, size_t adn,
    const uint8_t *ct, size_t n, struct buf *out)
{
	uint8_t *plain;
	int ok;

	if (n < AEAD_TAG_LEN)
		return 0;
	plain = xmalloc(n);
	ok = seal_decrypt(s, nonce, ad, adn, ct, n, plain) == 0;
	if (ok && out)
		buf_append(out, plain, n - AEAD_TAG_LEN);
	free(plain);
	return ok;
}

/* A sealed region of an object: where, with which nonce and AD. */
struct region {
	size_t off, len;
	uint64_t nonce;
	uint8_t ad[1 + ID_LEN];
	size_t adn;		/* 0: the envelope is the AD */
	uint8_t comp;		/* blobs: how the plaintext is compressed */
	uint32_t raw;
	int is_blob;
};

/* regions_of(owner, o, kind, &v): every sealed region of the object,
 * located with the owner key (the write-only side gets them for free). */
static size_t regions_of(struct repo *owner, const struct obj *o, int kind, struct region **v)
{
	const uint8_t *p = o->b.p;
	size_t n = o->b.len, k = 0;
	struct region *r = xcalloc(2, sizeof *r);
	struct pack_entry *e = NULL;
	uint32_t cnt = 0;

	if (kind == OBJ_PACK) {
		uint8_t id[ID_LEN];

		if (hex_decode(strrchr(o->name, '/') + 1, id, ID_LEN) == 0 &&
		    repo_pack_entries(owner, id, &e, &cnt) == 0)
			r = xreallocarray(r, (size_t)cnt + 2, sizeof *r);
		else
			cnt = 0;
	}
	*v = r;
	if (kind == OBJ_SNAPSHOT) {
		r[k++] = (struct region){ ENVELOPE_LEN, n - ENVELOPE_LEN, 0, { 0 }, 0, 0, 0, 0 };
	} else if (kind == OBJ_INDEX) {
		uint32_t L = le32_get(p + ENVELOPE_LEN);

		r[k++] = (struct region){ ENVELOPE_LEN + 4, L, 0, { 0 }, 0, 0, 0, 0 };
	} else if (kind == OBJ_PACK) {
		r[k++] = (struct region){ n - PACK_FOOTER_LEN, PACK_FOOTER_LEN, PACK_FOOTER_NONCE,
		    { 0 }, 0, 0, 0, 0 };
		if (e != NULL) {
			uint64_t end = ENVELOPE_LEN;

			for (uint32_t i = 0; i < cnt; i++) {
				struct region *x = &r[k++];

				x->off = e[i].offset;
				x->len = e[i].length;
				x->nonce = e[i].offset;
				x->ad[0] = e[i].type;
				memcpy(x->ad + 1, e[i].id, ID_LEN);
				x->adn = 1 + ID_LEN;
				x->comp = e[i].comp;
				x->raw = e[i].raw_length;
				x->is_blob = 1;
				end = (uint64_t)e[i].offset + e[i].length;
			}
			/* the trailer starts where the last blob ends; its
			 * length is the footer's to say: the owner opens it */
			{
				struct seal s = { 0 };
				struct envelope env;
				uint8_t footer[PACK_FOOTER_PLAIN];
				uint64_t toff;
				uint32_t tlen;

				if (envelope_decode(p, n, OBJ_PACK, &env) == 0 &&
				    seal_open_pk(&s, repo_keyring(owner), env.epoch, env.seal_hdr) == 0 &&
				    seal_decrypt(&s, PACK_FOOTER_NONCE, p, ENVELOPE_LEN, p + n - PACK_FOOTER_LEN,
				    PACK_FOOTER_LEN, footer) == 0 &&
				    pack_footer_decode(footer, sizeof footer, n, &toff, &tlen) == 0 && toff == end)
					r[k++] = (struct region){ toff, tlen, PACK_TRAILER_NONCE, { 0 }, 0, 0, 0, 0 };
				seal_end(&s);
			}
			free(e);
		}
	}
	return k;
}

/* open_region(s, p, x, out): decrypt one region; blobs are decompressed
 * into out so a marker in a compressed chunk is found. */
static int open_region(struct seal *s, const uint8_t *p, const struct region *x, struct buf *out)
{
	struct buf tmp;
	int ok;

	buf_init(&tmp, 1u << 30);
	ok = try(s, x->nonce, x->adn ? x->ad : p, x->adn ? x->adn : ENVELOPE_LEN, p + x->off, x->len, &tmp);
	if (ok && x->is_blob && x->comp == COMP_ZSTD) {
		uint8_t *d = xmalloc(x->raw ? x->raw : 1);
		size_t z = ZSTD_decompress(d, x->raw, tmp.p, tmp.len);

		if (!ZSTD_isError(z))
			buf_append(out, d, z);
		free(d);
	} else if (ok) {
		buf_append(out, tmp.p, tmp.len);
	}
	buf_free(&tmp);
	return ok;
}

int main(int argc, char **argv)
{
	const char *repo, *marker;
	struct repo *wo, *own;
	const struct keyring *kr;
	const struct config *cfg;
	struct objs packs = { 0 }, idx = { 0 }, snaps = { 0 }, cfgs = { 0 };
	struct objs *kinds[3] = { &packs, &idx, &snaps };
	const int kind_of[3] = { OBJ_PACK, OBJ_INDEX, OBJ_SNAPSHOT };
	char *pw;
	size_t pn;
	int wrong;
	uint64_t pk_tries = 0, pk_opened = 0, sym_tries = 0, sym_opened = 0, regions = 0, owner_opened = 0;
	uint32_t blobs_tried = 0, blobs_read = 0, trees_read = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: wo_proof REPO WOPASS OWNERPASS MARKER\n");
		return 2;
	}
	repo = argv[1];
	marker = argv[4];
	if (crypto_init() != 0)
		return 2;
	buf_init(&wo_out, 1u << 30);
	buf_init(&owner_out, 1u << 30);

	pw = tu_pass(argv[2], &pn);
	wo = repo_open(repo, pw, pn, &wrong);
	free(pw);
	pw = tu_pass(argv[3], &pn);
	own = repo_open(repo, pw, pn, &wrong);
	free(pw);
	if (wo == NULL || own == NULL) {
		fprintf(stderr, "wo_proof: cannot open %s with both passphrases\n", repo);
		return 2;
	}
	kr = repo_keyring(wo);
	cfg = repo_config(wo);

	/* 1. What the write-only keyring holds, by its accessors. */
	check(keyring_role(kr) == ROLE_WRITE, "the slot WOPASS opens is a write-only key");
	{
		int any = 0;

		for (uint32_t i = 0; i < cfg->n_epochs; i++)
			any |= keyring_can_decrypt(kr, cfg->epochs[i].number);
		for (uint32_t e = 0; e <= keyring_epoch(kr) + 1; e++)
			any |= keyring_can_decrypt(kr, e);
		check(!any && cfg->n_epochs > 0, "the write-only keyring holds no epoch secret key "
		    "(keyring_can_decrypt is 0 for all %u epochs of the config)", cfg->n_epochs);
		check(keyring_can_decrypt(repo_keyring(own), cfg->epoch),
		    "control: the owner keyring holds the current epoch's secret key");
	}
	{
		uint8_t sig[SIG_LEN], pk[PK_LEN];
		struct buf pay;
		struct keyring *copy;
		/* version, role, slot id, root pk, no root sk, three keys,
		 * signer sk, no box key; epoch keys are never in a payload */
		size_t expect = 1 + 1 + SLOT_ID_LEN + PK_LEN + 1 + 3 * 32 + 1 + 64 + 1;

		check(keyring_root_sign(kr, "x", 1, sig) != 0, "the write-only keyring cannot sign a config "
		    "(no root secret key)");
		check(keyring_signer_pk(kr, pk) == 0, "the write-only keyring has its own snapshot signing key");
		/* The slot payload it would write back: its length is fixed. */
		buf_init(&pay, 1u << 20);
		check(keyring_export(kr, &pay) == 0, "export of the write-only keyring");
		check(pay.len == expect, "its slot payload is %zu bytes: the public parts only, no epoch, "
		    "box or root secret key (expected %zu)", pay.len, expect);
		copy = keyring_import(pay.p, pay.len);
		check(copy != NULL && keyring_role(copy) == ROLE_WRITE && !keyring_can_decrypt(copy, cfg->epoch),
		    "the payload re-imports as a write-only keyring without the epoch secret key");
		keyring_free(copy);
		buf_wipe_free(&pay);
	}

	/* 2. Every object, every path. */
	collect(repo, "data", &packs);
	collect(repo, "index", &idx);
	collect(repo, "snapshots", &snaps);
	collect(repo, "config", &cfgs);
	check(packs.n > 0 && idx.n > 0 && snaps.n > 0 && cfgs.n > 0,
	    "the repository holds packs (%zu), indexes (%zu), snapshots (%zu), configs (%zu)",
	    packs.n, idx.n, snaps.n, cfgs.n);
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < kinds[k]->n; i++) {
			const struct obj *o = &kinds[k]->v[i];
			const uint8_t *p = o->b.p;
			struct envelope env;
			struct region *rg;
			size_t nr;
			struct seal s = { 0 };

			if (envelope_decode(p, o->b.len, (uint8_t)kind_of[k], &env) != 0) {
				check(0, "%s has a valid envelope", o->name);
				continue;
			}
			nr = regions_of(own, o, kind_of[k], &rg);
			regions += nr;
			/* public-key seal: the envelope's epoch and every epoch
			 * the write-only keyring knows */
			for (uint32_t e = 0; e <= keyring_epoch(kr) + 1; e++) {
				struct seal t = { 0 };

				pk_tries++;
				if (seal_open_pk(&t, kr, e == 0 ? env.epoch : e, env.seal_hdr) == 0) {
					pk_opened++;
					for (size_t j = 0; j < nr; j++)
						pk_opened += open_region(&t, p, &rg[j], &wo_out);
				}
				seal_end(&t);
			}
			/* every symmetric key the write-only keyring derives, on
			 * every region, with the object's own header as salt */
			for (int purpose = SYM_CONFIG; purpose <= SYM_DEDUP; purpose++) {
				seal_open_sym(&s, kr, (enum sym_purpose)purpose, env.seal_hdr);
				for (size_t j = 0; j < nr; j++) {
					sym_tries++;
					sym_opened += open_region(&s, p, &rg[j], &wo_out);
				}
				seal_end(&s);
			}
			/* control: the owner opens every region */
			if (seal_open_pk(&s, repo_keyring(own), env.epoch, env.seal_hdr) == 0)
				for (size_t j = 0; j < nr; j++)
					owner_opened += open_region(&s, p, &rg[j], &owner_out);
			seal_end(&s);
			free(rg);
		}
	}
	check(pk_tries > 0 && pk_opened == 0, "no pack, index or snapshot opens with the public-key "
	    "seal and the write-only keyring (%llu tries over every epoch)", (unsigned long long)pk_tries);
	check(sym_tries > 0 && sym_opened == 0, "no sealed region (pack footers, trailers, data and tree "
	    "blobs, index locations, snapshot bodies: %llu) opens with the config or dedup key "
	    "(%llu tries)", (unsigned long long)regions, (unsigned long long)sym_tries);
	check(owner_opened == regions, "control: the owner key opens all %llu of those regions "
	    "(opened %llu)", (unsigned long long)regions, (unsigned long long)owner_opened);

	/* 3. What the write-only key may open: configs and dedup lists. */
	{
		size_t ok_cfg = 0, ok_dedup = 0;

		for (size_t i = 0; i < cfgs.n; i++) {
			const struct obj *o = &cfgs.v[i];
			struct seal s = { 0 };

			if (o->b.len < CONFIG_HDR_LEN + AEAD_TAG_LEN)
				continue;
			seal_open_sym(&s, kr, SYM_CONFIG, o->b.p + 14);
			ok_cfg += try(&s, 0, o->b.p, CONFIG_HDR_LEN, o->b.p + CONFIG_HDR_LEN,
			    o->b.len - CONFIG_HDR_LEN, &wo_out);
			seal_end(&s);
		}
		for (size_t i = 0; i < idx.n; i++) {
			const struct obj *o = &idx.v[i];
			const uint8_t *p = o->b.p;
			size_t off = ENVELOPE_LEN + 4 + le32_get(p + ENVELOPE_LEN);
			struct seal s = { 0 };

			if (off + SEAL_HDR_LEN + 4 > o->b.len)
				continue;
			seal_open_sym(&s, kr, SYM_DEDUP, p + off);
			ok_dedup += try(&s, 0, p, ENVELOPE_LEN, p + off + SEAL_HDR_LEN + 4,
			    o->b.len - off - SEAL_HDR_LEN - 4, &wo_out);
			seal_end(&s);
		}
		check(ok_cfg == cfgs.n && ok_dedup == idx.n, "the write-only key opens what it needs: "
		    "%zu/%zu configs, %zu/%zu dedup lists", ok_cfg, cfgs.n, ok_dedup, idx.n);
	}

	/* 4. The library's read paths, with the write-only repository. */
	check(repo_load_index(wo) >= 0, "the write-only key loads the dedup lists");
	{
		struct snap_list l;

		check(repo_list_snapshots(wo, &l) != 0, "repo_list_snapshots fails for the write-only key");
	}
	check(repo_load_index(own) >= 0, "control: the owner loads the index");
	{
		const uint8_t (*pk)[ID_LEN];
		uint32_t np;

		repo_index_packs(own, &pk, &np);
		for (uint32_t i = 0; i < np; i++) {
			struct pack_entry *e;
			uint32_t cnt;

			if (repo_pack_entries(wo, pk[i], &e, &cnt) == 0) {
				blobs_read += 1000000;	/* must not happen */
				free(e);
			}
			if (repo_pack_entries(own, pk[i], &e, &cnt) != 0)
				continue;
			for (uint32_t j = 0; j < cnt; j++) {
				struct buf b;
				struct tree t;

				buf_init(&b, MAX_BLOB);
				blobs_tried++;
				if (repo_read_blob(wo, e[j].id, &b) == 0) {
					blobs_read++;
					buf_append(&wo_out, b.p, b.len);
				}
				if (e[j].type == BLOB_TREE && repo_load_tree(wo, e[j].id, &t) == 0) {
					trees_read++;
					tree_free(&t);
				}
				buf_free(&b);
			}
			free(e);
		}
		check(np > 0 && blobs_tried > 0 && blobs_read == 0 && trees_read == 0,
		    "repo_pack_entries, repo_read_blob and repo_load_tree fail for the write-only key "
		    "(%u packs, %u blobs tried)", np, blobs_tried);
	}
	{
		struct index_body b;
		size_t opened = 0;
		char name[700];

		for (size_t i = 0; i < idx.n; i++) {
			snprintf(name, sizeof name, "%s", idx.v[i].name);
			if (repo_decode_index(wo, name, &b) == 0) {
				opened++;
				index_body_free(&b);
			}
		}
		check(idx.n > 0 && opened == 0, "repo_decode_index (location lists) fails for the write-only key");
	}

	/* 5. The marker. */
	check(contains(&owner_out, marker), "control: the owner's decryption yields the marker");
	check(wo_out.len > 0 && !contains(&wo_out, marker), "the marker is in none of the %zu bytes the "
	    "write-only key decrypted", wo_out.len);
	{
		char *hex = xmalloc(2 * strlen(marker) + 1);

		hex_encode((const uint8_t *)marker, strlen(marker), hex);
		check(!contains(&wo_out, hex), "nor is its hex form");
		free(hex);
	}
	repo_close(wo);
	repo_close(own);
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < kinds[k]->n; i++)
			buf_free(&kinds[k]->v[i].b);
		free(kinds[k]->v);
	}
	for (size_t i = 0; i < cfgs.n; i++)
		buf_free(&cfgs.v[i].b);
	free(cfgs.v);
	buf_free(&wo_out);
	buf_free(&owner_out);
	return failed ? 1 : 0;
}
