/* stages: the limit of each stage of a first backup on this machine, with
 * twofold's own code and parameters, one stage at a time on every core.
 *
 *   stages [-j THREADS] [-l LEVEL] [-n RUNS] TREE OUTDIR
 *
 * Walks TREE (one thread, lstat, like the backup's lister), reads every
 * regular file into memory, then runs each stage over all of it on
 * THREADS threads (default: workq_threads(), i.e. every core): chunking
 * (the repository's default 512 KiB / 1 MiB / 8 MiB), chunk IDs
 * (HMAC-SHA256), zstd at LEVEL (default 1, the repository default) on the
 * unique chunks with the backup's keep-if-it-saves-1/32 rule, sealing
 * into 16 MiB packs (one X25519 key agreement per pack, AES-256-GCM, and
 * the SHA-256 that names the pack), and writing the packs through the
 * local store (temporary file, fsync, link, directory fsync) into a new
 * store at OUTDIR, which must not exist; the caller removes it.  Each
 * stage runs RUNS times (default 3); prints one line per stage (the
 * median seconds, MB/s of its input), then the slowest stage and the sum
 * of all stages.  bench/run.sh prints it among this machine's limits;
 * twofold's pipeline runs the same stages at once.
 *
 * A stage bound by one lock or one disk shows it here; a stage that
 * scales shows THREADS times one core's rate. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "chunker/chunker.h"
#include "crypto/crypto.h"
#include "format/format.h"
#include "repo/repo.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/util.h"
#include "util/workq.h"

#define PACK_SIZE (16u << 20)

struct file {
	char *path;
	size_t off, size;
};

struct chunk {
	size_t off;		/* in the arena */
	uint32_t len;
	uint32_t stored;	/* bytes after compression (== len if kept raw) */
	uint8_t id[ID_LEN];
	uint8_t *out;		/* compressed bytes, or NULL: raw */
};

struct pack {
	size_t first, n;	/* indices into uniq */
	size_t bytes;
	uint8_t *obj;
	char name[80];
};

static struct file *files;
static size_t nfiles, cap_files, total;
static uint8_t *arena;
static struct chunk *chunks;
static size_t nchunks;
static size_t *uniq;		/* indices of the first chunk with each ID */
static size_t nuniq;
static struct pack *packs;
static size_t npacks;
static struct chunker ck;
static struct keyring *kr;
static struct store *st;
static int level = 1;
static atomic_int failed;

static int add_file(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)f;
	if (type != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	if (nfiles == cap_files) {
		cap_files = cap_files ? cap_files * 2 : 4096;
		files = xreallocarray(files, cap_files, sizeof *files);
	}
	files[nfiles].path = xstrdup(path);
	files[nfiles].off = total;
	files[nfiles].size = (size_t)sb->st_size;
	total += (size_t)sb->st_size;
	nfiles++;
	return 0;
}

static void read_one(size_t i, void *scratch)
{
	struct file *f = &files[i];
	size_t got = 0;
	int fd = open(f->path, O_RDONLY | O_NOATIME | O_CLOEXEC);

	(void)scratch;
	if (fd == -1)
		fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		errmsg_errno("stages: cannot open %s", f->path);
		atomic_store(&failed, 1);
		return;
	}
	while (got < f->size) {
		ssize_t r = read(fd, arena + f->off + got, f->size - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	f->size = got;	/* a file that shrank meanwhile */
}

/* chunk_one: boundaries only; the chunk list is built afterwards in file
 * order, so this stage stores the lengths in a per-file list. */
static uint32_t **cuts;
static size_t *ncuts;

static void chunk_one(size_t i, void *scratch)
{
	const struct file *f = &files[i];
	const uint8_t *p = arena + f->off;
	size_t left = f->size, cap = 0, n = 0;
	uint32_t *v = NULL;

	(void)scratch;
	while (left > 0) {
		size_t c = chunker_next(&ck, p, left);

		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[n++] = (uint32_t)c;
		p += c;
		left -= c;
	}
	cuts[i] = v;
	ncuts[i] = n;
}

static void hash_one(size_t i, void *scratch)
{
	(void)scratch;
	keyring_chunk_id(kr, arena + chunks[i].off, chunks[i].len, chunks[i].id);
}

/* As the backup: a context and an output buffer per thread (the workq
 * scratch), the result copied out when it is kept. */
struct scratch {
	ZSTD_CCtx *zc;
	struct buf zout;
};

static void *scratch_new(void *ctx)
{
	struct scratch *t = xcalloc(1, sizeof *t);

	(void)ctx;
	buf_init(&t->zout, SIZE_MAX);
	return t;
}

static void scratch_free(void *p)
{
	struct scratch *t = p;

	ZSTD_freeCCtx(t->zc);
	buf_free(&t->zout);
	free(t);
}

static void compress_one(size_t i, void *scratch)
{
	struct scratch *t = scratch;
	struct chunk *c = &chunks[uniq[i]];
	size_t z;

	c->stored = c->len;
	if (level == 0 || c->len < 64)
		return;
	if (t->zc == NULL && (t->zc = ZSTD_createCCtx()) == NULL) {
		errmsg("stages: cannot create a zstd context");
		exit(1);
	}
	if (buf_reserve(&t->zout, ZSTD_compressBound(c->len)) == NULL)
		return;
	z = ZSTD_compressCCtx(t->zc, t->zout.p, t->zout.cap, arena + c->off, c->len, level);
	if (!ZSTD_isError(z) && z < c->len - c->len / 32) {
		c->out = xmemdup(t->zout.p, z);
		c->stored = (uint32_t)z;
	}
}

static void seal_one(size_t i, void *scratch)
{
	struct pack *p = &packs[i];
	struct seal s = { 0 };
	uint8_t hdr[SEAL_HDR_LEN], hash[32];
	size_t off = 0;

	(void)scratch;
	if (seal_begin_pk(&s, kr, 1, hdr) != 0) {
		errmsg("stages: cannot seal");
		atomic_store(&failed, 1);
		return;
	}
	for (size_t k = p->first; k < p->first + p->n; k++) {
		const struct chunk *c = &chunks[uniq[k]];
		const uint8_t *in = c->out ? c->out : arena + c->off;

		seal_encrypt(&s, off, c->id, ID_LEN, in, c->stored, p->obj + off);
		off += c->stored + 16;
	}
	seal_end(&s);
	sha256(p->obj, p->bytes, hash);
	repo_pack_name(hash, p->name);
}

static void write_one(size_t i, void *scratch)
{
	(void)scratch;
	if (store_put(st, packs[i].name, packs[i].obj, packs[i].bytes) != 0)
		atomic_store(&failed, 1);
}

/* Between the runs of a stage, untimed: undo what a run left. */
static void chunk_reset(void)
{
	for (size_t i = 0; i < nfiles; i++)
		free(cuts[i]);
}

static void compress_reset(void)
{
	for (size_t i = 0; i < nuniq; i++) {
		free(chunks[uniq[i]].out);
		chunks[uniq[i]].out = NULL;
	}
}

static void write_reset(void)
{
	for (size_t i = 0; i < npacks; i++)
		if (store_delete(st, packs[i].name) != 0)
			atomic_store(&failed, 1);
}

typedef void stage_fn(size_t i, void *scratch);

struct job {
	stage_fn *fn;
};

/* an item is its index plus one (never NULL) */
static void run_item(void *ctx, void *item, void *scratch)
{
	const struct job *j = ctx;

	if (!atomic_load(&failed))
		j->fn((size_t)((uintptr_t)item - 1), scratch);
}

static int threads, runs = 3;
static const char *slowest;
static double slowest_s, sum_s;

/* run_once(fn, n): fn over 0..n-1 on a workq of every thread, as the
 * backup feeds its workers; the seconds taken. */
static double run_once(stage_fn *fn, size_t n)
{
	static const struct workq_fns fns = { run_item, scratch_new, scratch_free };
	struct job j = { fn };
	int64_t t0 = now_ns();
	struct workq *q = workq_start(&fns, &j, threads, 64);

	if (q == NULL)
		exit(1);
	for (size_t i = 0; i < n; i++)
		workq_submit(q, (void *)(uintptr_t)(i + 1), 1);
	workq_stop(q);
	return (double)(now_ns() - t0) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* stage(name, fn, reset, n, in_bytes): run fn over 0..n-1 on every thread
 * runs times (reset, if any, between them), print the median, note it. */
static void stage(const char *name, stage_fn *fn, void (*reset)(void), size_t n, size_t in_bytes)
{
	double t[16], s;

	for (int k = 0; k < runs; k++) {
		if (k > 0 && reset != NULL)
			reset();
		t[k] = run_once(fn, n);
		if (atomic_load(&failed)) {
			errmsg("stages: the %s stage failed", name);
			exit(1);
		}
	}
	qsort(t, (size_t)runs, sizeof t[0], cmp_double);
	s = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
	printf("%-9s %8.3f s %9.0f MB/s\n", name, s, s > 0 ? (double)in_bytes / 1e6 / s : 0.0);
	sum_s += s;
	if (s > slowest_s) {
		slowest_s = s;
		slowest = name;
	}
}

static int cmp_id(const void *a, const void *b)
{
	const struct chunk *x = &chunks[*(const size_t *)a], *y = &chunks[*(const size_t *)b];
	int c = memcmp(x->id, y->id, ID_LEN);

	if (c != 0)
		return c;
	return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

static void usage(void)
{
	fprintf(stderr, "usage: stages [-j THREADS] [-l LEVEL] [-n RUNS (1..16)] TREE OUTDIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt;
	uint64_t gear[256];
	size_t stored = 0, ubytes = 0, j = 0;
	int64_t t0;

	while ((opt = getopt(argc, argv, "j:l:n:")) != -1) {
		switch (opt) {
		case 'j': threads = atoi(optarg); break;
		case 'l': level = atoi(optarg); break;
		case 'n': runs = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 2 || level < 0 || level > 19 || runs < 1 || runs > 16)
		usage();
	if (crypto_init() != 0)
		return 1;
	if (threads <= 0)
		threads = workq_threads();
	if (threads > 64)
		threads = 64;
	st = store_open(argv[optind + 1]);
	if (st == NULL || store_create(st) != 0) {
		errmsg("stages: cannot create a store at %s (it must not exist)", argv[optind + 1]);
		return 1;
	}

	t0 = now_ns();
	if (nftw(argv[optind], add_file, 64, FTW_PHYS) != 0) {
		errmsg_errno("stages: cannot walk %s", argv[optind]);
		return 1;
	}
	printf("%zu files, %.1f MB, %d threads, zstd level %d, median of %d runs\n", nfiles,
	    (double)total / 1e6, threads, level, runs);
	printf("%-9s %8.3f s (one thread, as the backup's lister; not summed)\n", "walk",
	    (double)(now_ns() - t0) / 1e9);
	/* touched first: the backup reads into buffers it reuses */
	arena = xmalloc(total ? total : 1);
	memset(arena, 0, total);
	stage("read", read_one, NULL, nfiles, total);

	kr = keyring_new_repo();
	keyring_gear_table(kr, gear);
	if (chunker_init(&ck, gear, 512u << 10, 1u << 20, 8u << 20) != 0)
		return 1;
	cuts = xcalloc(nfiles + 1, sizeof *cuts);
	ncuts = xcalloc(nfiles + 1, sizeof *ncuts);
	stage("chunk", chunk_one, chunk_reset, nfiles, total);
	for (size_t i = 0; i < nfiles; i++)
		nchunks += ncuts[i];
	chunks = xcalloc(nchunks + 1, sizeof *chunks);
	for (size_t i = 0; i < nfiles; i++) {
		size_t off = files[i].off;

		for (size_t k = 0; k < ncuts[i]; k++) {
			chunks[j].off = off;
			chunks[j++].len = cuts[i][k];
			off += cuts[i][k];
		}
		free(cuts[i]);
	}
	stage("hash", hash_one, NULL, nchunks, total);

	/* dedup, not timed (one hash table lookup per chunk in the backup) */
	uniq = xcalloc(nchunks + 1, sizeof *uniq);
	for (size_t i = 0; i < nchunks; i++)
		uniq[i] = i;
	qsort(uniq, nchunks, sizeof *uniq, cmp_id);
	for (size_t i = 0; i < nchunks; i++)
		if (nuniq == 0 || memcmp(chunks[uniq[i]].id, chunks[uniq[nuniq - 1]].id, ID_LEN) != 0)
			uniq[nuniq++] = uniq[i];
	for (size_t i = 0; i < nuniq; i++)
		ubytes += chunks[uniq[i]].len;
	printf("%zu chunks, %zu unique (%.1f MB)\n", nchunks, nuniq, (double)ubytes / 1e6);
	stage("compress", compress_one, compress_reset, nuniq, ubytes);

	/* packs of at least PACK_SIZE sealed bytes, in ID order */
	packs = xcalloc(nuniq + 1, sizeof *packs);
	for (size_t i = 0; i < nuniq; i++) {
		struct pack *p = &packs[npacks];
		size_t b = chunks[uniq[i]].stored + 16u;

		if (p->n == 0)
			p->first = i;
		p->n++;
		p->bytes += b;
		stored += b;
		if (p->bytes >= PACK_SIZE)
			npacks++;
	}
	if (nuniq > 0 && packs[npacks].n > 0)
		npacks++;
	/* the backup seals into a page-aligned pack buffer it reuses: no page
	 * faults, and the local store writes it with O_DIRECT */
	for (size_t i = 0; i < npacks; i++) {
		packs[i].obj = xmalloc_aligned(4096, packs[i].bytes);
		memset(packs[i].obj, 0, packs[i].bytes);
	}
	stage("seal", seal_one, NULL, npacks, stored);
	stage("write", write_one, write_reset, npacks, stored);
	printf("%zu packs, %.1f MB\n", npacks, (double)stored / 1e6);
	printf("slowest stage: %s, %.3f s; all stages one after another: %.3f s\n", slowest, slowest_s, sum_s);
	store_close(st);
	keyring_free(kr);
	compress_reset();
	for (size_t i = 0; i < npacks; i++)
		free(packs[i].obj);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].path);
	free(packs);
	free(uniq);
	free(chunks);
	free(cuts);
	free(ncuts);
	free(arena);
	free(files);
	return 0;
}
