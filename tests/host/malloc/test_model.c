/*
 * test_model.c - the C interface against a reference model: the class a
 * request gets, the edges the glibc manual asks of a replacement malloc
 * (malloc(0), free(NULL), realloc(p, 0), overflow, ENOMEM), and 200,000
 * random calls of every allocating function whose blocks the model keeps
 * as (pointer, size, pattern id): contents, alignment, usable size, no
 * overlap and the heap's own statistics are checked as it runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include "malloc_test.h"

/* Each request gets exactly its class's size (the design); a large one at least its bytes. */
void classes_follow_design(void)
{
	size_t cls[64];
	int n = design_classes(cls, 64);
	printf("#   design: %d classes, %zu .. %zu\n", n, cls[0], cls[n - 1]);
	for (int i = 0; i < n; i++) {
		size_t lo = i ? cls[i - 1] + 1 : 0;
		size_t sizes[] = { lo, cls[i] - 1, cls[i] };
		for (int k = 0; k < 3; k++) {
			void *p = sm_malloc(sizes[k]);
			REQUIRE(p);
			size_t u = sm_malloc_usable_size(p);
			if (u != cls[i])
				printf("#   malloc(%zu): usable %zu, design class %zu\n", sizes[k], u, cls[i]);
			CHECK(u >= sizes[k] && u <= cls[i]);
			sm_free(p);
		}
	}
	/* Small aligned requests take the first class that is a multiple of the alignment. */
	for (size_t a = 32; a <= SMALL_MAX; a *= 2)
		for (size_t m = 1; m <= SMALL_MAX; m = m * 3 + 1) {
			size_t c = design_class(m, a);
			void *p = sm_aligned_alloc(a, m);
			REQUIRE(p);
			CHECK((uintptr_t)p % a == 0);
			if (c && sm_malloc_usable_size(p) > c)
				printf("#   aligned_alloc(%zu, %zu): usable %zu, design class %zu\n",
				       a, m, sm_malloc_usable_size(p), c);
			CHECK(!c || sm_malloc_usable_size(p) <= c);
			CHECK(sm_malloc_usable_size(p) >= m);
			sm_free(p);
		}
	struct sm_stats s = stats();
	CHECK_EQ(s.live_blocks, 0);
	CHECK_EQ(s.live_bytes, 0);
}

static int is_enomem(void *r)
{
	return r == NULL && errno == ENOMEM;
}

/*
 * More than the machine could ever back (4 x its RAM and swap, read from
 * the machine): Linux's overcommit check refuses it, so malloc must say
 * ENOMEM rather than hand out a block that the OOM killer would collect.
 * Under overcommit_memory=1 the kernel accepts anything: nothing to test.
 */
static void beyond_the_machine_is_enomem(void)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	int mode = f && fscanf(f, "%d", &mode) == 1 ? mode : -1;
	if (f)
		fclose(f);
	struct sysinfo si;
	if (mode == 1 || sysinfo(&si)) {
		printf("#   overcommit_memory=%d: the kernel accepts any size, skipped\n", mode);
		return;
	}
	size_t huge = 4 * ((size_t)si.totalram + si.totalswap) * si.mem_unit;
	errno = 0;
	void *p = sm_malloc(huge);
	CHECK(p == NULL && errno == ENOMEM);
	if (p)
		sm_free(p);
}

void interface_edges(void)
{
	beyond_the_machine_is_enomem();
	struct sm_stats s0 = stats();
	void *z[64];

	/* malloc(0): unique, non-NULL, 16-byte aligned, writable for its usable size. */
	for (int i = 0; i < 64; i++) {
		z[i] = sm_malloc(0);
		REQUIRE(z[i]);
		CHECK((uintptr_t)z[i] % 16 == 0);
		memset(z[i], i, sm_malloc_usable_size(z[i]));
		for (int j = 0; j < i; j++)
			CHECK(z[i] != z[j]);
	}
	for (int i = 0; i < 64; i++) {
		CHECK(bytes_not(z[i], 0, sm_malloc_usable_size(z[i]), (uint8_t)i) == SIZE_MAX);
		sm_free(z[i]);
	}

	sm_free(NULL);
	CHECK(sm_malloc_usable_size(NULL) == 0);
	CHECK_EQ(stats().live_blocks, s0.live_blocks);

	/* realloc(NULL, n) is malloc(n); realloc(p, 0) frees and returns NULL. */
	void *p = sm_realloc(NULL, 100);
	REQUIRE(p);
	CHECK_EQ(stats().live_blocks, s0.live_blocks + 1);
	CHECK(sm_realloc(p, 0) == NULL);
	CHECK_EQ(stats().live_blocks, s0.live_blocks);
	p = sm_malloc(200000);
	REQUIRE(p);
	CHECK(sm_realloc(p, 0) == NULL);
	CHECK_EQ(stats().live_blocks, s0.live_blocks);

	/* Overflow in n * size, and requests no OS can meet: NULL, ENOMEM, nothing lost. */
	size_t big = SIZE_MAX / 2, half = (size_t)1 << 32;
	errno = 0; CHECK(is_enomem(sm_calloc(half, half)));
	errno = 0; CHECK(is_enomem(sm_calloc(SIZE_MAX, 2)));
	errno = 0; CHECK(is_enomem(sm_calloc(2, SIZE_MAX / 2 + 1)));
	errno = 0; CHECK(is_enomem(sm_malloc(big)));
	errno = 0; CHECK(is_enomem(sm_malloc(SIZE_MAX)));
	errno = 0; CHECK(is_enomem(sm_malloc(SIZE_MAX - 4096)));
	errno = 0; CHECK(is_enomem(sm_calloc(1, big)));
	errno = 0; CHECK(is_enomem(sm_aligned_alloc(4096, big)));
	errno = 0; CHECK(is_enomem(sm_aligned_alloc(MIB, SIZE_MAX - 100)));
	errno = 0; CHECK(is_enomem(sm_memalign(64, big)));
	errno = 0; CHECK(is_enomem(sm_valloc(big)));
	errno = 0; CHECK(is_enomem(sm_pvalloc(SIZE_MAX - 100)));
	errno = 0; CHECK(is_enomem(sm_reallocarray(NULL, half, half)));
	void *q = (void *)1;
	CHECK(sm_posix_memalign(&q, 64, big) == ENOMEM);
	CHECK(sm_posix_memalign(&q, 24, 64) == EINVAL);     /* not a power of two */
	CHECK(sm_posix_memalign(&q, 4, 64) == EINVAL);      /* not a multiple of sizeof(void *) */
	CHECK_EQ(stats().live_blocks, s0.live_blocks);

	/* A failed realloc or reallocarray leaves the block as it was. */
	p = sm_malloc(300);
	REQUIRE(p);
	pat_fill(p, 0, 300, 7);
	errno = 0; CHECK(is_enomem(sm_realloc(p, big)));
	errno = 0; CHECK(is_enomem(sm_reallocarray(p, half, half)));
	errno = 0; CHECK(is_enomem(sm_reallocarray(p, SIZE_MAX, 3)));
	CHECK(pat_check(p, 0, 300, 7) == SIZE_MAX);
	q = sm_reallocarray(p, 10, 100);
	REQUIRE(q);
	CHECK(pat_check(q, 0, 300, 7) == SIZE_MAX);
	CHECK(sm_malloc_usable_size(q) >= 1000);

	/* realloc stays in place while the new size fits the block's class or pages. */
	size_t u = sm_malloc_usable_size(q);
	CHECK(sm_realloc(q, u) == q);
	sm_free(q);
	p = sm_malloc(100 * KIB);
	REQUIRE(p);
	pat_fill(p, 0, 100 * KIB, 8);
	u = sm_malloc_usable_size(p);
	CHECK(u >= 100 * KIB);
	CHECK(sm_realloc(p, u) == p);
	CHECK(pat_check(p, 0, 100 * KIB, 8) == SIZE_MAX);
	q = sm_realloc(p, 10);          /* large to small: moves, keeps the prefix */
	REQUIRE(q);
	CHECK(pat_check(q, 0, 10, 8) == SIZE_MAX);
	sm_free(q);

	/* Alignments past a segment's size, and a block spanning hundreds of segments' worth. */
	for (size_t a = 2 * MIB; a <= 64 * MIB; a *= 4) {
		p = sm_aligned_alloc(a, 100);
		REQUIRE(p);
		CHECK((uintptr_t)p % a == 0);
		CHECK(sm_malloc_usable_size(p) >= 100);
		memset(p, 1, 100);
		sm_free((char *)p + 16);
		CHECK_EQ(misuse_count, 1);
		misuse_reset();
		sm_free(p);
		CHECK_EQ(misuse_count, 0);
	}
	size_t huge = 1536 * MIB;       /* reserved, never touched but at its ends */
	p = sm_malloc(huge);
	REQUIRE(p);
	CHECK(sm_malloc_usable_size(p) >= huge);
	((char *)p)[0] = 1, ((char *)p)[huge - 1] = 2;
	sm_free((char *)p + 1400 * MIB);        /* a pointer far inside it is still found out */
	CHECK_EQ(misuse_count, 1);
	if (misuse_count)
		CHECK(line_names(0, (char *)p + 1400 * MIB));
	misuse_reset();
	CHECK_EQ(stats().live_blocks, s0.live_blocks + 1);
	sm_free(p);
	CHECK_EQ(misuse_count, 0);

	/* calloc zeroes a block that held data before. */
	for (int i = 0; i < 100; i++) {
		p = sm_malloc(48);
		REQUIRE(p);
		memset(p, 0xee, 48);
		sm_free(p);
		p = sm_calloc(3, 16);
		REQUIRE(p);
		CHECK(bytes_not(p, 0, 48, 0) == SIZE_MAX);
		sm_free(p);
	}
	/* A large block freed and taken again (its segment may be cached): calloc still zeroes. */
	size_t lsz[] = { 200 * KIB, 150 * KIB, 110 * KIB, 200 * KIB, 40 * KIB, 64 * KIB };
	for (unsigned i = 0; i < sizeof(lsz) / sizeof(lsz[0]); i++) {
		p = sm_malloc(lsz[i]);
		REQUIRE(p);
		memset(p, 0xee, sm_malloc_usable_size(p));
		sm_free(p);
		size_t n = lsz[(i + 1) % 6] - 1000;
		p = sm_calloc(1, n);
		REQUIRE(p);
		size_t at = bytes_not(p, 0, n, 0);
		if (at != SIZE_MAX)
			printf("#   calloc(%zu) after a freed %zu: byte %zu not zero\n", n, lsz[i], at);
		CHECK(at == SIZE_MAX);
		memset(p, 0x11, sm_malloc_usable_size(p));
		sm_free(p);
	}
	CHECK_EQ(stats().live_blocks, s0.live_blocks);
	CHECK_EQ(stats().live_bytes, s0.live_bytes);
	CHECK_EQ(misuse_count, 0);
}

/* ---- random calls against the model ---- */

#define OPS      200000
#define MAX_LIVE 3000

struct blk {
	uint8_t *p;
	size_t n;               /* bytes asked for (and filled) */
	size_t usable;
	uint64_t id;
};

static struct blk live[MAX_LIVE];
static int nlive;
static uint64_t next_id, live_usable;
static size_t boundaries[200];
static int nboundaries;
static uint64_t rs;

static size_t rsize(void)
{
	uint64_t r = rnd_next(&rs) % 1000, x = rnd_next(&rs);
	if (r < 350)
		return x % 129;                         /* 0 .. 128 */
	if (r < 650)
		return 129 + x % (1024 - 128);
	if (r < 820)
		return 1025 + x % (8 * KIB);
	if (r < 900)
		return 8 * KIB + x % (SMALL_MAX - 8 * KIB + 2);
	if (r < 975)
		return boundaries[x % nboundaries];
	return SMALL_MAX + x % (300 * KIB - SMALL_MAX + 1);   /* large */
}

static size_t ralign(void)
{
	uint64_t r = rnd_next(&rs) % 100;
	if (r < 80)
		return (size_t)8 << rnd_next(&rs) % 10;        /* 8 .. 4 KiB */
	return (size_t)8 << rnd_next(&rs) % 18;            /* 8 .. 1 MiB */
}

static int failures;

#define MCHECK(c, ...) do { if (!(c)) { \
	if (failures++ < 20) { printf("#   op %d: %s: ", op, #c); printf(__VA_ARGS__); printf("\n"); } \
	check_failed_in_test = 1; } } while (0)

/* A new block from any of the allocating calls; align is 0 for the unaligned ones. */
static void *alloc_one(size_t *n, size_t *align, int *zeroed)
{
	uint64_t r = rnd_next(&rs) % 100;
	void *p = NULL;
	*align = 0;
	*zeroed = 0;
	if (r < 40)
		return sm_malloc(*n);
	if (r < 55) {
		size_t k = 1 + rnd_next(&rs) % 8;
		*n = *n / k * k;
		*zeroed = 1;
		return sm_calloc(k, *n / k);
	}
	if (r < 60)
		return sm_realloc(NULL, *n);
	*align = ralign();
	if (r < 72)
		return sm_aligned_alloc(*align, *n);
	if (r < 84)
		return sm_posix_memalign(&p, *align, *n) ? NULL : p;
	if (r < 92)
		return sm_memalign(*align, *n);
	*align = OS_PAGE;
	if (r < 96)
		return sm_valloc(*n);
	*n = (*n + OS_PAGE - 1) / OS_PAGE * OS_PAGE;   /* pvalloc rounds to whole pages */
	return sm_pvalloc(*n);
}

/* The usable size of a fresh block of n bytes: at least n, and what its class allows. */
static void check_block(int op, void *p, size_t n, size_t align, size_t u, int plain)
{
	/* plain: malloc, calloc or a realloc that moved, whose bound is tighter than any class. */
	size_t a = align > 16 ? align : 16;
	MCHECK((uintptr_t)p % a == 0, "%p not aligned to %zu", p, a);
	MCHECK(u >= n, "usable %zu < %zu", u, n);
	size_t c = design_class(n, align);
	if (plain && n <= SMALL_MAX)
		MCHECK(u <= n + n / 4 + 16, "malloc(%zu): usable %zu", n, u);
	if (c)
		MCHECK(u <= c, "request %zu align %zu: usable %zu > class %zu", n, align, u, c);
	else    /* its pages, after a header or the alignment; a cached segment up to twice that */
		MCHECK(u <= 2 * ((n + OS_PAGE - 1) / OS_PAGE * OS_PAGE + (align > PAGE_SIZE ? align : PAGE_SIZE)),
		       "large %zu align %zu: usable %zu", n, align, u);
}

static void add_block(int op)
{
	size_t n = rsize(), align;
	int zeroed;
	void *p = alloc_one(&n, &align, &zeroed);
	MCHECK(p, "no block for %zu bytes at %zu", n, align);
	if (!p)
		return;
	size_t u = sm_malloc_usable_size(p);
	check_block(op, p, n, align, u, align == 0);
	if (zeroed)
		MCHECK(bytes_not(p, 0, n, 0) == SIZE_MAX, "calloc %zu not zero", n);
	struct blk *b = &live[nlive++];
	*b = (struct blk){ p, n, u, next_id++ };
	pat_fill(p, 0, n, b->id);
	live_usable += u;
}

static void check_contents(int op, struct blk *b, size_t upto)
{
	size_t bad = pat_check(b->p, 0, upto, b->id);
	MCHECK(bad == SIZE_MAX, "block %p (%zu bytes, id %lu) changed at %zu",
	       (void *)b->p, b->n, (unsigned long)b->id, bad);
}

static void free_block(int op, int i)
{
	struct blk *b = &live[i];
	check_contents(op, b, b->n);
	sm_free(b->p);
	live_usable -= b->usable;
	*b = live[--nlive];
}

static void realloc_block(int op, int i)
{
	struct blk *b = &live[i];
	size_t n = rsize();
	check_contents(op, b, b->n);
	uint8_t *q = sm_realloc(b->p, n);
	if (n == 0) {
		MCHECK(q == NULL, "realloc(p, 0) returned %p", (void *)q);
		live_usable -= b->usable;
		*b = live[--nlive];
		return;
	}
	MCHECK(q, "realloc to %zu failed", n);
	if (!q)
		return;
	/* In place while the new size fits: the same class, or a large block's pages. */
	if (n <= b->usable && (n > SMALL_MAX ? n >= b->usable / 2 : design_class(n, 16) == b->usable))
		MCHECK(q == b->p, "realloc %zu -> %zu (usable %zu) moved", b->n, n, b->usable);
	int moved = q != b->p;
	size_t keep = n < b->n ? n : b->n;
	b->p = q;
	check_contents(op, b, keep);
	live_usable -= b->usable;
	b->usable = sm_malloc_usable_size(q);
	live_usable += b->usable;
	if (moved)
		check_block(op, q, n, 0, b->usable, 1);
	else
		MCHECK(b->usable >= n, "realloc in place to %zu: usable %zu", n, b->usable);
	pat_fill(q, keep, n, b->id);
	b->n = n;
}

static int by_addr(const void *a, const void *b)
{
	const struct blk *x = a, *y = b;
	return x->p < y->p ? -1 : x->p > y->p;
}

static void check_no_overlap(int op)
{
	static struct blk sorted[MAX_LIVE];
	memcpy(sorted, live, sizeof(live[0]) * nlive);
	qsort(sorted, nlive, sizeof(sorted[0]), by_addr);
	for (int i = 1; i < nlive; i++)
		MCHECK(sorted[i - 1].p + sorted[i - 1].usable <= sorted[i].p,
		       "%p+%zu overlaps %p", (void *)sorted[i - 1].p, sorted[i - 1].usable,
		       (void *)sorted[i].p);
}

static void check_stats(int op)
{
	struct sm_stats s = stats();
	MCHECK(s.live_blocks == (uint64_t)nlive, "stats live_blocks %lu, model %d",
	       (unsigned long)s.live_blocks, nlive);
	MCHECK(s.live_bytes == live_usable, "stats live_bytes %lu, model %lu",
	       (unsigned long)s.live_bytes, (unsigned long)live_usable);
	MCHECK(s.committed_bytes >= live_usable, "committed %lu < live %lu",
	       (unsigned long)s.committed_bytes, (unsigned long)live_usable);
	MCHECK(s.reserved_bytes >= s.committed_bytes, "reserved %lu < committed %lu",
	       (unsigned long)s.reserved_bytes, (unsigned long)s.committed_bytes);
}

/* The odd calls mixed in: free(NULL), malloc(0), overflow, huge requests. */
static void odd_call(int op)
{
	uint64_t r = rnd_next(&rs) % 4;
	errno = 0;
	if (r == 0)
		sm_free(NULL);
	else if (r == 1)
		MCHECK(is_enomem(sm_calloc(SIZE_MAX / 3, 5)), "calloc overflow");
	else if (r == 2)
		MCHECK(is_enomem(sm_malloc(SIZE_MAX / 2)), "huge malloc");
	else
		MCHECK(is_enomem(sm_aligned_alloc(ralign(), SIZE_MAX / 2)), "huge aligned_alloc");
}

void random_against_model(void)
{
	size_t cls[64];
	int nc = design_classes(cls, 64);
	nboundaries = 0;
	for (int i = 0; i < nc; i++)
		for (int d = -1; d <= 1; d++)
			boundaries[nboundaries++] = cls[i] + d;
	for (int d = -1; d <= 1; d++)           /* large sizes at whole OS pages */
		boundaries[nboundaries++] = 40 * KIB + d, boundaries[nboundaries++] = 256 * KIB + d;
	rs = 0x5eed1234;
	nlive = 0, next_id = 1, live_usable = 0, failures = 0;
	struct sm_stats s0 = stats();
	REQUIRE(s0.live_blocks == 0);

	for (int op = 0; op < OPS && failures < 20; op++) {
		uint64_t r = rnd_next(&rs) % 100;
		/* The live set swings between empty-ish and full, so pages empty and refill. */
		int target = (op / 20000) % 2 ? MAX_LIVE / 10 : MAX_LIVE - 10;
		if (nlive >= MAX_LIVE - 1 || (r < 50 && nlive > target))
			r = 60;
		if (r < 50 || nlive == 0)
			add_block(op);
		else if (r < 80)
			free_block(op, rnd_next(&rs) % nlive);
		else if (r < 97)
			realloc_block(op, rnd_next(&rs) % nlive);
		else
			odd_call(op);
		if (op % 1000 == 0)
			check_stats(op);
		if (op % 10000 == 0)
			check_no_overlap(op);
	}
	check_no_overlap(OPS);
	check_stats(OPS);
	while (nlive)
		free_block(OPS, nlive - 1);
	sm_trim();
	struct sm_stats s = stats();
	printf("#   %lu blocks made; after trim: %lu segments, %lu reserved, %lu committed, "
	       "OS calls %lu reserve %lu release %lu decommit\n", (unsigned long)next_id - 1,
	       (unsigned long)s.segments, (unsigned long)s.reserved_bytes,
	       (unsigned long)s.committed_bytes, (unsigned long)s.os_reserves,
	       (unsigned long)s.os_releases, (unsigned long)s.os_decommits);
	CHECK_EQ(s.live_blocks, 0);
	CHECK_EQ(s.live_bytes, 0);
	CHECK(s.segments <= 1);
	CHECK(s.reserved_bytes <= SEG_SIZE);
	CHECK(s.committed_bytes <= 4 * PAGE_SIZE);
	CHECK_EQ(misuse_count, 0);
}
