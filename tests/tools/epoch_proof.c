/* epoch_proof: what an old epoch's key material still opens.
 *
 *   epoch_proof KEYS PASSFILE GRANTS N:PKHEX open|none DIR...
 *
 * The attacker's material: the key slots in KEYS (a saved keys/ folder),
 * the passphrase in PASSFILE, the grants in GRANTS (a saved grants/
 * folder), and the public key of epoch N (from a config of the time, which
 * every key reads).  The slot is opened and the grants of epoch N to it
 * accepted exactly as a client does, without any newer config; the
 * keyring must then hold epoch N's secret key (the material is real).
 *
 * Then, for every object in each DIR (a copy of the repository, or the
 * objects of one downloaded): data/ packs, index/ objects, snapshots/ and
 * prune plans and wait lists under locks/, the seal is opened with epoch
 * N's key whatever epoch the envelope names, and the first sealed region
 * (pack footer, index locations, snapshot body, plan body) is decrypted;
 * every other region of an object is sealed under the same object key.
 * "open": at least one object must open (the control, on a repository
 * before rekey).  "none": objects were tried and none opened.
 *
 * Prints PASS/FAIL lines; exit 0 if all passed, 1 if not, 2 on usage. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"
#include "toolutil.h"

static int failed;
static uint64_t tried, opened;

static void check(int cond, const char *what, unsigned long long a, unsigned long long b)
{
	printf("%s: %s (%llu, %llu)\n", cond ? "PASS" : "FAIL", what, a, b);
	failed |= !cond;
}

static void try_object(const struct keyring *kr, uint32_t epoch, const char *path, int kind)
{
	struct envelope env;
	struct seal s = { 0 };
	struct buf b;
	size_t off = 0, len = 0;
	uint64_t nonce = 0;
	uint8_t *plain;

	if (tu_read(path, &b) != 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	if (envelope_decode(b.p, b.len, (uint8_t)kind, &env) != 0 || b.len < ENVELOPE_LEN + 4 + AEAD_TAG_LEN) {
		fprintf(stderr, "%s is not a twofold object of its kind\n", path);
		exit(2);
	}
	if (kind == OBJ_PACK) {
		off = b.len - PACK_FOOTER_LEN;
		len = PACK_FOOTER_LEN;
		nonce = PACK_FOOTER_NONCE;
	} else if (kind == OBJ_SNAPSHOT) {
		off = ENVELOPE_LEN;
		len = b.len - ENVELOPE_LEN;
	} else {
		off = ENVELOPE_LEN + 4;
		len = le32_get(b.p + ENVELOPE_LEN);
		if (len > b.len - off)
			len = b.len - off;
	}
	tried++;
	plain = xmalloc(len);
	if (seal_open_pk(&s, kr, epoch, env.seal_hdr) == 0 &&
	    seal_decrypt(&s, nonce, b.p, ENVELOPE_LEN, b.p + off, len, plain) == 0) {
		printf("opened: %s\n", path);
		opened++;
	}
	seal_end(&s);
	free(plain);
	buf_free(&b);
}

static void walk(const struct keyring *kr, uint32_t epoch, const char *dir, const char *sub)
{
	char path[4096];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof path, "%s/%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char p2[4400], s2[600];
		int kind = 0;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof p2, "%s/%s", path, e->d_name);
		if (strcmp(sub, "data") == 0) {
			snprintf(s2, sizeof s2, "data/%s", e->d_name);
			walk(kr, epoch, dir, s2);
			continue;
		}
		if (strncmp(sub, "data/", 5) == 0)
			kind = OBJ_PACK;
		else if (strcmp(sub, "index") == 0)
			kind = OBJ_INDEX;
		else if (strcmp(sub, "snapshots") == 0)
			kind = OBJ_SNAPSHOT;
		else if (strncmp(e->d_name, "condemned-", 10) == 0)
			kind = OBJ_PLAN;
		else if (strncmp(e->d_name, "waitfor-", 8) == 0)
			kind = OBJ_WAIT;
		if (kind)
			try_object(kr, epoch, p2, kind);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	static const char *const subs[] = { "data", "index", "snapshots", "locks" };
	struct keyring *kr;
	uint8_t pk[PK_LEN], mine[SLOT_ID_LEN];
	uint64_t n;
	const char *colon;
	char num[16];
	DIR *d;
	struct dirent *e;
	int expect_open;

	if (argc < 7 || (strcmp(argv[5], "open") != 0 && strcmp(argv[5], "none") != 0)) {
		fprintf(stderr, "usage: epoch_proof KEYS PASSFILE GRANTS N:PKHEX open|none DIR...\n");
		return 2;
	}
	expect_open = strcmp(argv[5], "open") == 0;
	colon = strchr(argv[4], ':');
	if (colon == NULL || (size_t)(colon - argv[4]) >= sizeof num)
		return 2;
	memcpy(num, argv[4], (size_t)(colon - argv[4]));
	num[colon - argv[4]] = '\0';
	if (crypto_init() != 0 || parse_u64(num, &n) != 0 || n == 0 || n > UINT32_MAX ||
	    strlen(colon + 1) != 2 * PK_LEN || hex_decode(colon + 1, pk, PK_LEN) != 0)
		return 2;
	if ((kr = tu_open_keys(argv[1], argv[2])) == NULL) {
		fprintf(stderr, "epoch_proof: no key slot in %s opens with the passphrase\n", argv[1]);
		return 2;
	}
	if (keyring_set_epoch_pk(kr, (uint32_t)n, pk) != 0)
		return 2;
	keyring_slot_id(kr, mine);
	if ((d = opendir(argv[3])) == NULL) {
		fprintf(stderr, "cannot open %s\n", argv[3]);
		return 2;
	}
	while ((e = readdir(d)) != NULL) {
		char path[4400];
		struct buf b;
		struct grant g;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", argv[3], e->d_name);
		if (tu_read(path, &b) == 0 && grant_decode(b.p, b.len, &g) == 0 &&
		    g.epoch == n && memcmp(g.slot_id, mine, SLOT_ID_LEN) == 0)
			keyring_accept_grant(kr, g.epoch, g.sealed);
		buf_free(&b);
	}
	closedir(d);
	check(keyring_can_decrypt(kr, (uint32_t)n), "the old material holds the epoch's secret key",
	    (unsigned long long)n, 0);
	for (int i = 6; i < argc; i++)
		for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++)
			walk(kr, (uint32_t)n, argv[i], subs[k]);
	if (expect_open)
		check(opened > 0, "control: objects sealed to the epoch open (tried, opened)",
		    (unsigned long long)tried, (unsigned long long)opened);
	else
		check(tried > 0 && opened == 0, "no object opens with it (tried, opened)",
		    (unsigned long long)tried, (unsigned long long)opened);
	keyring_free(kr);
	return failed ? 1 : 0;
}
