/* forge: a test-only attacker built from the twofold library.
 *
 *   forge snapshot SEALKEYS SEALPASS SIGNKEYS SIGNPASS TREE TIME OUTDIR
 *	A snapshot object sealed with the keyring that SEALPASS opens among
 *	the key slots in SEALKEYS (a keys/ folder or a saved copy of one) and
 *	signed by the keyring SIGNPASS opens in SIGNKEYS (another repository's
 *	key, a removed or revoked key: whatever the attacker holds).  Its body
 *	names TREE (64 hex digits) and the time TIME (ns since 1970, chosen by
 *	the attacker).  Written to OUTDIR/<sha256>, the ID printed.
 *	FORGE_EPOCH=N:PKHEX names the epoch and its public key to seal to
 *	(from the config, which every key reads; slots hold no epoch keys).
 *	With FORGE_CLAIM=SLOTHEX:PKHEX in the environment the body names that
 *	slot and public key as its signer (impersonation); the signature is
 *	still made with SIGNKEYS' key.
 *
 *   forge trees REPO PASSFILE OUTSIDE
 *	Three snapshots written with the (owner) key PASSFILE opens, whose
 *	trees are encoded byte by byte here, bypassing the encoder: names
 *	with '/', "..", ".", "", NUL, absolute paths into OUTSIDE, duplicate
 *	names (a symlink to OUTSIDE then a directory or file of the same
 *	name), hard links claiming the device and inode of OUTSIDE/victim or
 *	sharing an identity across a symlinked directory; then a second
 *	snapshot that puts a directory and a file where the first put
 *	symlinks leading out; and a third whose root tree itself is
 *	malformed.  Prints the three IDs, one a line.
 *
 * Exit 0 on success, 2 on usage or setup errors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "repo/repo.h"
#include "toolutil.h"
#include "util/codec.h"

static int forge_snapshot(char **a)
{
	struct keyring *seal_kr = tu_open_keys(a[0], a[1]);
	struct keyring *sign_kr = tu_open_keys(a[2], a[3]);
	struct snapshot s;
	struct envelope env;
	struct seal se = { 0 };
	struct buf body, obj;
	uint8_t sig[SIG_LEN];
	uint64_t t;
	char hex[2 * ID_LEN + 1];
	char *paths[] = { (char *)(uintptr_t)"/forged" };

	if (seal_kr == NULL || sign_kr == NULL) {
		fprintf(stderr, "forge: no key slot opens with the passphrase (%s)\n",
		    seal_kr == NULL ? a[0] : a[2]);
		return 2;
	}
	memset(&s, 0, sizeof s);
	if (hex_decode(a[4], s.tree, ID_LEN) != 0 || parse_u64(a[5], &t) != 0) {
		fprintf(stderr, "forge: bad tree ID or time\n");
		return 2;
	}
	s.time_ns = (int64_t)t;
	s.hostname = (char *)(uintptr_t)"forger";
	s.username = (char *)(uintptr_t)"mallory";
	s.n_paths = 1;
	s.paths = paths;
	s.program = (char *)(uintptr_t)"forge";
	keyring_slot_id(sign_kr, s.signer_slot);
	if (keyring_signer_pk(sign_kr, s.signer_pk) != 0) {
		fprintf(stderr, "forge: the signing key has no signing key pair\n");
		return 2;
	}
	/* FORGE_CLAIM=SLOTHEX:PKHEX: name another key (from the config, which
	 * every role can read) as the signer, impersonating it */
	if (getenv("FORGE_CLAIM") != NULL) {
		const char *c = getenv("FORGE_CLAIM");
		char slot[2 * SLOT_ID_LEN + 1];

		if (strlen(c) != 2 * SLOT_ID_LEN + 1 + 2 * PK_LEN || c[2 * SLOT_ID_LEN] != ':') {
			fprintf(stderr, "forge: FORGE_CLAIM is SLOTHEX:PKHEX\n");
			return 2;
		}
		memcpy(slot, c, 2 * SLOT_ID_LEN);
		slot[2 * SLOT_ID_LEN] = '\0';
		if (hex_decode(slot, s.signer_slot, SLOT_ID_LEN) != 0 ||
		    hex_decode(c + 2 * SLOT_ID_LEN + 1, s.signer_pk, PK_LEN) != 0) {
			fprintf(stderr, "forge: FORGE_CLAIM is SLOTHEX:PKHEX\n");
			return 2;
		}
	}
	/* FORGE_EPOCH=N:PKHEX: the epoch to seal to, as the config (which
	 * every key can read) lists it; slots hold no epoch keys */
	{
		const char *c = getenv("FORGE_EPOCH"), *colon = c ? strchr(c, ':') : NULL;
		uint8_t pk[PK_LEN];
		uint64_t n;
		char num[16];

		if (colon == NULL || (size_t)(colon - c) >= sizeof num) {
			fprintf(stderr, "forge: set FORGE_EPOCH=N:PKHEX (from 'twofold cat config')\n");
			return 2;
		}
		memcpy(num, c, (size_t)(colon - c));
		num[colon - c] = '\0';
		if (parse_u64(num, &n) != 0 || n == 0 || n > UINT32_MAX ||
		    strlen(colon + 1) != 2 * PK_LEN || hex_decode(colon + 1, pk, PK_LEN) != 0 ||
		    keyring_set_epoch_pk(seal_kr, (uint32_t)n, pk) != 0) {
			fprintf(stderr, "forge: FORGE_EPOCH is N:PKHEX\n");
			return 2;
		}
		env.epoch = (uint32_t)n;
	}
	env.kind = OBJ_SNAPSHOT;
	if (seal_begin_pk(&se, seal_kr, env.epoch, env.seal_hdr) != 0)
		return 2;
	buf_init(&body, 1u << 24);
	buf_init(&obj, 1u << 24);
	snapshot_encode(&s, &body);
	if (keyring_sign(sign_kr, body.p, body.len, sig) != 0)
		return 2;
	buf_append(&body, sig, SIG_LEN);
	if (buf_reserve(&obj, ENVELOPE_LEN + body.len + AEAD_TAG_LEN) == NULL)
		return 2;
	envelope_encode(&env, obj.p);
	seal_encrypt(&se, 0, obj.p, ENVELOPE_LEN, body.p, body.len, obj.p + ENVELOPE_LEN);
	obj.len = ENVELOPE_LEN + body.len + AEAD_TAG_LEN;
	seal_end(&se);
	if (tu_put(a[6], obj.p, obj.len, hex) != 0)
		return 2;
	printf("%s\n", hex);
	buf_free(&body);
	buf_free(&obj);
	keyring_free(seal_kr);
	keyring_free(sign_kr);
	return 0;
}

/* ---- trees, byte by byte ---- */

struct raw_node {
	const char *name;
	size_t name_len;	/* SIZE_MAX: strlen(name) */
	uint8_t type;
	const char *link;	/* symlinks */
	const char *content;	/* files: one chunk (NULL: empty file) */
	uint32_t nlink;
	uint64_t dev, ino;
	const uint8_t *subtree;	/* directories */
};

static struct repo *R;

static void add_blob(uint8_t type, const void *p, size_t n, uint8_t id[ID_LEN])
{
	uint64_t stored;

	repo_blob_id(R, p, n, id);
	if (repo_add_blob(R, type, id, p, n, &stored) != 0) {
		fprintf(stderr, "forge: cannot add a blob\n");
		exit(2);
	}
}

/* raw_tree(v, n, id): encode the nodes as given (no sorting, no name
 * checks: the layout of docs/FORMAT.md "Trees") and store the tree blob. */
static void raw_tree(const struct raw_node *v, size_t n, uint8_t id[ID_LEN])
{
	struct buf b;

	buf_init(&b, MAX_BLOB);
	enc_u8(&b, 1);
	enc_u32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct raw_node *x = &v[i];
		size_t len = x->name_len == SIZE_MAX ? strlen(x->name) : x->name_len;
		uint8_t chunk[ID_LEN];

		enc_bytes(&b, x->name, len);
		enc_u8(&b, x->type);
		enc_u8(&b, 0);
		enc_u32(&b, x->type == NODE_DIR ? 0755 : 0644);
		enc_u32(&b, (uint32_t)getuid());
		enc_u32(&b, (uint32_t)getgid());
		enc_str(&b, "");
		enc_str(&b, "");
		enc_i64(&b, 1000000000);	/* mtime */
		enc_i64(&b, 1000000000);	/* atime */
		enc_i64(&b, 1000000000);	/* ctime */
		enc_u64(&b, x->content ? strlen(x->content) : 0);
		enc_u64(&b, x->dev);
		enc_u64(&b, x->ino);
		enc_u32(&b, x->nlink ? x->nlink : 1);
		enc_u64(&b, 0);
		if (x->type == NODE_SYMLINK)
			enc_str(&b, x->link);
		else
			enc_u32(&b, 0);
		enc_u32(&b, 0);		/* xattrs */
		if (x->type == NODE_FILE) {
			if (x->content && x->content[0]) {
				add_blob(BLOB_DATA, x->content, strlen(x->content), chunk);
				enc_u32(&b, 1);
				enc_raw(&b, chunk, ID_LEN);
			} else {
				enc_u32(&b, 0);
			}
		} else if (x->type == NODE_DIR) {
			enc_raw(&b, x->subtree, ID_LEN);
		}
	}
	add_blob(BLOB_TREE, b.p, b.len, id);
	buf_free(&b);
}

#define FILE_(nm, c) { nm, SIZE_MAX, NODE_FILE, NULL, c, 0, 0, 0, NULL }
#define LINK_(nm, l) { nm, SIZE_MAX, NODE_SYMLINK, l, NULL, 0, 0, 0, NULL }
#define DIR_(nm, id) { nm, SIZE_MAX, NODE_DIR, NULL, NULL, 0, 0, 0, id }
#define HL_(nm, c, d, i) { nm, SIZE_MAX, NODE_FILE, NULL, c, 2, d, i, NULL }

static void save_snapshot(const uint8_t tree[ID_LEN], const char *path)
{
	struct snapshot s;
	uint8_t id[ID_LEN];
	char hex[2 * ID_LEN + 1];
	char *paths[1];

	paths[0] = (char *)(uintptr_t)path;
	memset(&s, 0, sizeof s);
	s.time_ns = now_ns();
	s.hostname = (char *)(uintptr_t)"forger";
	s.username = (char *)(uintptr_t)"mallory";
	s.n_paths = 1;
	s.paths = paths;
	s.program = (char *)(uintptr_t)"forge";
	memcpy(s.tree, tree, ID_LEN);
	if (repo_flush(R) != 0 || repo_save_snapshot(R, &s, id) != 0) {
		fprintf(stderr, "forge: cannot write the snapshot\n");
		exit(2);
	}
	hex_encode(id, ID_LEN, hex);
	printf("%s\n", hex);
}

static int forge_trees(char **a)
{
	size_t pn;
	char *pass = tu_pass(a[1], &pn);
	const char *out = a[2];
	char abs_name[4096], victim[4096], up[4096];
	struct stat vst;
	int wrong;
	uint8_t t_abs[ID_LEN], t_dot[ID_LEN], t_dotdot[ID_LEN], t_dup[ID_LEN], t_empty[ID_LEN],
	    t_linkdir[ID_LEN], t_linkfile[ID_LEN], t_nul[ID_LEN], t_slash[ID_LEN], t_good[ID_LEN],
	    t_hl[ID_LEN], t_hl2[ID_LEN], t_hl3[ID_LEN], t_pwn[ID_LEN], root[ID_LEN];

	R = repo_open(a[0], pass, pn, &wrong);
	free(pass);
	if (R == NULL || repo_load_index(R) < 0)
		return 2;
	snprintf(abs_name, sizeof abs_name, "%s/pwned-abs", out);
	snprintf(victim, sizeof victim, "%s/victim", out);
	snprintf(up, sizeof up, "%s", out);
	if (stat(victim, &vst) != 0) {
		perror(victim);
		return 2;
	}

	{	/* what a directory entry that escaped would hold */
		const struct raw_node v[] = { FILE_("pwned-dir", "pwned\n") };
		raw_tree(v, 1, t_pwn);
	}
	{
		const struct raw_node v[] = { FILE_(abs_name, "pwned\n") };
		raw_tree(v, 1, t_abs);
	}
	{
		const struct raw_node v[] = { FILE_(".", "pwned\n") };
		raw_tree(v, 1, t_dot);
	}
	{
		const struct raw_node v[] = { DIR_("..", t_pwn) };
		raw_tree(v, 1, t_dotdot);
	}
	{
		const struct raw_node v[] = { FILE_("x", "first\n"), FILE_("x", "pwned\n") };
		raw_tree(v, 2, t_dup);
	}
	{
		const struct raw_node v[] = { FILE_("", "pwned\n") };
		raw_tree(v, 1, t_empty);
	}
	{	/* a symlink out, then a directory of the same name through it */
		const struct raw_node v[] = { LINK_("a", out), DIR_("a", t_pwn) };
		raw_tree(v, 2, t_linkdir);
	}
	{	/* a symlink to the victim, then a file of the same name */
		const struct raw_node v[] = { LINK_("a", victim), FILE_("a", "pwned\n") };
		raw_tree(v, 2, t_linkfile);
	}
	{
		struct raw_node v[] = { FILE_("a\0b", "pwned\n") };
		v[0].name_len = 3;
		raw_tree(v, 1, t_nul);
	}
	{
		const struct raw_node v[] = { FILE_("../../outside/pwned-slash", "pwned\n") };
		raw_tree(v, 1, t_slash);
	}
	{	/* valid: a file, and a symlink out that must be made, not followed */
		const struct raw_node v[] = { FILE_("ok.txt", "good content\n"), LINK_("up", up) };
		raw_tree(v, 2, t_good);
	}
	{	/* two names claiming the identity of OUTSIDE/victim: they become
		 * links of each other, never of the victim */
		const struct raw_node v[] = {
			HL_("h1", "hardlink content\n", (uint64_t)vst.st_dev, (uint64_t)vst.st_ino),
			HL_("h2", "hardlink content\n", (uint64_t)vst.st_dev, (uint64_t)vst.st_ino),
		};
		raw_tree(v, 2, t_hl);
	}
	{	/* a symlink out next to a hard-linked file... */
		const struct raw_node v[] = { LINK_("a", out), HL_("b", "linked across\n", 7, 7) };
		raw_tree(v, 2, t_hl2);
	}
	{	/* ...linked from another directory */
		const struct raw_node v[] = { HL_("c", "linked across\n", 7, 7) };
		raw_tree(v, 1, t_hl3);
	}
	{	/* the root: sorted and valid, so its good entries restore */
		const struct raw_node v[] = {
			DIR_("bad-abs", t_abs), DIR_("bad-dot", t_dot), DIR_("bad-dotdot", t_dotdot),
			DIR_("bad-dup", t_dup), DIR_("bad-empty", t_empty), DIR_("bad-linkdir", t_linkdir),
			DIR_("bad-linkfile", t_linkfile), DIR_("bad-nul", t_nul), DIR_("bad-slash", t_slash),
			DIR_("good", t_good), DIR_("hl", t_hl), DIR_("hl2", t_hl2), DIR_("hl3", t_hl3),
		};
		raw_tree(v, sizeof v / sizeof v[0], root);
	}
	save_snapshot(root, "/evil");

	/* Second snapshot, restored over the first: a directory where
	 * good/up was a symlink out, a file where hl2/a was one. */
	{
		uint8_t g[ID_LEN], h[ID_LEN];
		const struct raw_node gv[] = { FILE_("ok.txt", "good content\n"), DIR_("up", t_pwn) };
		const struct raw_node hv[] = { FILE_("a", "pwned\n") };

		raw_tree(gv, 2, g);
		raw_tree(hv, 1, h);
		{
			const struct raw_node v[] = { DIR_("good", g), DIR_("hl2", h) };
			raw_tree(v, 2, root);
		}
	}
	save_snapshot(root, "/evil2");

	/* Third: the root itself names "..". */
	{
		const struct raw_node v[] = { DIR_("..", t_pwn), FILE_("fine", "fine\n") };
		raw_tree(v, 2, root);
	}
	save_snapshot(root, "/evil3");
	repo_close(R);
	return 0;
}

int main(int argc, char **argv)
{
	if (crypto_init() != 0)
		return 2;
	if (argc == 9 && strcmp(argv[1], "snapshot") == 0)
		return forge_snapshot(argv + 2);
	if (argc == 5 && strcmp(argv[1], "trees") == 0)
		return forge_trees(argv + 2);
	fprintf(stderr, "usage: forge snapshot SEALKEYS SEALPASS SIGNKEYS SIGNPASS TREE TIME OUTDIR\n"
	    "       forge trees REPO PASSFILE OUTSIDE\n");
	return 2;
}
