/* toolutil.h: helpers shared by the test-only programs in tests/tools
 * (header-only: each tool is one .c file linked with the library). */
#ifndef TWOFOLD_TOOLUTIL_H
#define TWOFOLD_TOOLUTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "format/format.h"
#include "util/buf.h"
#include "util/util.h"

/* tu_read(path, out): the whole file into out (max 1 GiB); -1 if unreadable. */
static inline int tu_read(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	uint8_t tmp[65536];
	size_t r;

	buf_init(out, 1u << 30);
	if (f == NULL)
		return -1;
	while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(out, tmp, r);
	fclose(f);
	return out->overflow ? -1 : 0;
}

/* tu_pass(path, &n): the first line of a passphrase file (malloc'd). */
static inline char *tu_pass(const char *path, size_t *n)
{
	struct buf b;
	char *s;

	if (tu_read(path, &b) != 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	s = xmalloc(b.len + 1);
	memcpy(s, b.p, b.len);
	s[b.len] = '\0';
	s[strcspn(s, "\r\n")] = '\0';
	*n = strlen(s);
	buf_free(&b);
	return s;
}

/* tu_open_keys(dir, passfile): the keyring of the key slot in dir (a
 * repository's keys/ folder, or a saved copy of it) that the passphrase
 * opens: slot header decoded, payload unwrapped, keyring imported, exactly
 * as a client does, but without consulting any config.  NULL if none. */
static inline struct keyring *tu_open_keys(const char *dir, const char *passfile)
{
	size_t pn;
	char *pass = tu_pass(passfile, &pn);
	struct keyring *kr = NULL;
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		fprintf(stderr, "cannot open %s\n", dir);
		exit(2);
	}
	while (kr == NULL && (e = readdir(d)) != NULL) {
		char path[4096];
		struct buf obj, payload;
		struct keyslot ks;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (tu_read(path, &obj) != 0 || keyslot_decode(obj.p, obj.len, &ks) != 0) {
			buf_free(&obj);
			continue;
		}
		buf_init(&payload, 1u << 20);
		if (slot_unwrap(pass, pn, &ks.kdf, obj.p, KEYSLOT_HDR_LEN, ks.wrapped,
		    ks.wrapped_len, &payload) == 0)
			kr = keyring_import(payload.p, payload.len);
		buf_wipe_free(&payload);
		buf_free(&obj);
	}
	closedir(d);
	free(pass);
	return kr;
}

/* tu_put(dir, p, n, hex): store p under dir/<sha256 hex>, create-only. */
static inline int tu_put(const char *dir, const uint8_t *p, size_t n, char hex[2 * ID_LEN + 1])
{
	uint8_t h[32];
	char path[4096];
	int fd;

	sha256(p, n, h);
	hex_encode(h, 32, hex);
	snprintf(path, sizeof path, "%s/%s", dir, hex);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

#endif
