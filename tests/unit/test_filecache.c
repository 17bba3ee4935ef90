/* test_filecache: the file cache's table (engine/filecache.h): 100,000
 * paths inserted and each found with its own fields, a path absent, a
 * replacement keeping the count, a save and load that keep every entry
 * and age the unseen ones, a cache image naming a path twice rejected,
 * and a loaded cache of one entry that grows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/filecache.h"
#include "tap.h"
#include "util/codec.h"
#include "util/util.h"

#define N 100000

static void fill(struct fc_entry *e, uint32_t i)
{
	memset(e, 0, sizeof *e);
	e->path = xasprintf("/src/dir%u/file%u.c", i % 97, i);
	e->ino = i;
	e->size = (uint64_t)i * 3;
	e->n_chunks = 1 + i % 3;
	e->chunks = xcalloc(e->n_chunks, ID_LEN);
	e->chunks[0][0] = (uint8_t)i;
	e->seen = i % 2;
}

static int all_found(struct filecache *fc, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		char *p = xasprintf("/src/dir%u/file%u.c", i % 97, i);
		struct fc_entry *e = fc_find(fc, p);

		free(p);
		if (e == NULL || e->ino != i || e->size != (uint64_t)i * 3 ||
		    e->n_chunks != 1 + i % 3 || e->chunks[0][0] != (uint8_t)i)
			return 0;
	}
	return 1;
}

int main(void)
{
	struct filecache fc, back;
	struct fc_entry e;
	char dir[] = "/tmp/twofold-fc-XXXXXX";
	struct buf b;

	memset(&fc, 0, sizeof fc);
	for (uint32_t i = 0; i < N; i++) {
		fill(&e, i);
		fc_put(&fc, &e);
	}
	OK(fc.n == N, "%u entries put, %zu held", N, fc.n);
	OK(fc.cap >= 2 * fc.n, "the table is at most half full (%zu slots)", fc.cap);
	OK(all_found(&fc, N), "every path is found with its own fields");
	OK(fc_find(&fc, "/src/dir0/file97") == NULL && fc_find(&fc, "") == NULL,
	    "paths never put are not found");

	fill(&e, 5);
	e.size = 99;
	fc_put(&fc, &e);
	OK(fc.n == N && fc_find(&fc, "/src/dir5/file5.c")->size == 99,
	    "putting a path again replaces its entry");
	fc_find(&fc, "/src/dir5/file5.c")->size = 15;

	/* save and load: the unseen half ages by one */
	if (mkdtemp(dir) == NULL)
		return 1;
	fc.file = xasprintf("%s/files", dir);
	OK(fc_save(&fc) == 0, "the cache is saved");
	fc_load(&back, dir);
	OK(back.n == N && all_found(&back, N), "the loaded cache holds every entry");
	OK(fc_find(&back, "/src/dir2/file2.c")->age == 1 && fc_find(&back, "/src/dir1/file1.c")->age == 0,
	    "an entry not seen by this backup ages by one; a seen one is at age 0");
	unlink(back.file);
	rmdir(dir);
	fc_free(&back);
	fc_free(&fc);

	/* an image naming one path twice */
	buf_init(&b, SIZE_MAX);
	enc_raw(&b, "TFC2", 4);
	enc_u32(&b, 2);
	for (int k = 0; k < 2; k++) {
		enc_str(&b, "/a");
		for (int f = 0; f < 5; f++)
			enc_u64(&b, 1);
		enc_u8(&b, 0);
		enc_u8(&b, 0);
		enc_u32(&b, 0);
	}
	memset(&fc, 0, sizeof fc);
	OK(fc_decode(&fc, b.p, b.len) != 0, "an image naming a path twice is rejected");
	fc_free(&fc);
	b.len -= 4 + 1 + 1 + 40 + 2 + 4;	/* drop the second entry */
	le32_put(b.p + 4, 1);
	memset(&fc, 0, sizeof fc);
	OK(fc_decode(&fc, b.p, b.len) == 0 && fc.n == 1 && fc_find(&fc, "/a") != NULL,
	    "the same image with one entry decodes");
	for (uint32_t i = 0; i < 3000; i++) {	/* a loaded cache grows */
		fill(&e, i);
		fc_put(&fc, &e);
	}
	OK(fc.n == 3001 && all_found(&fc, 3000) && fc_find(&fc, "/a") != NULL,
	    "a loaded cache of one entry takes 3,000 more");
	fc_free(&fc);
	buf_free(&b);
	return tap_done();
}
