/*
 * malloc.c - the user heap (user/lib/malloc/, docs/user_heap.md) in ring
 * 3: random sequences against a model of what each block must hold,
 * the aligned calls, realloc and calloc, errors, the statistics back to
 * nothing once all is freed, pages given back to the kernel after a
 * burst, and a double free reported by the misuse hook. The kernel's
 * `user` suite then checks that exit gave back every frame.
 *
 * Mind the 32 MiB a process may map: large blocks (above 32 KiB) get
 * their own mapping, small ones live in 1 MiB segments.
 */
#include "ktap.h"
#include "malloc/strata_malloc.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Mostly small, some medium, a few large (up to 200 KiB). */
static size_t rnd_size(void)
{
	unsigned r = rnd() % 100;
	if (r < 70)
		return rnd() % 257;
	if (r < 90)
		return 257 + rnd() % (4096 - 257);
	if (r < 98)
		return 4096 + rnd() % (32768 - 4096);
	return 32768 + rnd() % (200 * 1024 - 32768);
}

/* Any of the bytes [0, n) of p not c: its offset, or -1. */
static long first_not(const unsigned char *p, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return (long)i;
	return -1;
}

static int aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* ---- the model: slots with a block, its size and the byte it is filled with ---- */

#define SLOTS 192
/*
 * Bytes the live blocks may hold at most: a quarter of the free RAM when
 * the sequence starts (set there), so an 8 MiB machine runs the same
 * kinds of calls as a large one without the heap's pages outgrowing RAM
 * (a fault then finds no frame, and that is the kernel's oom kill).
 */
static size_t live, budget = (size_t)-1;

static struct slot {
	unsigned char *p;
	size_t n;
	unsigned char tag;
} slot[SLOTS];

/* No live block but s overlaps [p, p + n). */
static int overlaps(int s, const unsigned char *p, size_t n)
{
	size_t len = n ? n : 1;
	for (int i = 0; i < SLOTS; i++) {
		if (i == s || !slot[i].p)
			continue;
		size_t l = slot[i].n ? slot[i].n : 1;
		if (p < slot[i].p + l && slot[i].p < p + len)
			return 1;
	}
	return 0;
}

/* A fresh block for slot s, by one of the allocating calls. */
static void model_alloc(int s)
{
	size_t n = rnd_size(), a = 16;
	unsigned how = rnd() % 6;
	void *p = 0;

	if (how == 0) {
		p = calloc(1, n);
		if (p && first_not(p, n, 0) >= 0)
			ktap_fail("calloc(%lu) not zero at %ld", n, first_not(p, n, 0));
	} else if (how == 1) {
		a = 1UL << (4 + rnd() % 9);             /* 16 .. 4096 */
		n = (n + a - 1) & ~(a - 1);             /* aligned_alloc wants a multiple */
		p = aligned_alloc(a, n);
	} else if (how == 2) {
		a = 1UL << (3 + rnd() % 14);            /* 8 .. 64 KiB */
		if (posix_memalign(&p, a, n))
			p = 0;
	} else if (how == 3) {
		a = 1UL << (4 + rnd() % 10);
		p = memalign(a, n);
	} else {
		p = malloc(n);
	}
	if (!p) {
		ktap_fail("alloc call %u of %lu (align %lu) gave NULL", how, n, a);
		return;
	}
	if (!aligned(p, a < 16 ? 16 : a))
		ktap_fail("call %u: %p not aligned to %lu", how, p, a);
	if (malloc_usable_size(p) < n)
		ktap_fail("usable size %lu < %lu", malloc_usable_size(p), n);
	if (overlaps(s, p, n))
		ktap_fail("%p (+%lu) overlaps a live block", p, n);
	slot[s].p = p, slot[s].n = n, slot[s].tag = (unsigned char)(rnd() | 1);
	live += n;
	memset(p, slot[s].tag, n);
}

static void model_free(int s)
{
	free(slot[s].p);
	live -= slot[s].n;
	slot[s].p = 0;
}

/* Slot s's block still holds its bytes. */
static void model_check(int s)
{
	long off = first_not(slot[s].p, slot[s].n, slot[s].tag);
	if (off >= 0)
		ktap_fail("block %p (%lu) changed at +%ld", slot[s].p, slot[s].n, off);
}

/* realloc to a random size: the common prefix is kept, the rest refilled. */
static void model_realloc(int s)
{
	size_t n = rnd_size();
	unsigned char *p = realloc(slot[s].p, n);
	size_t keep = n < slot[s].n ? n : slot[s].n;

	if (!p && n) {
		ktap_fail("realloc(%lu -> %lu) gave NULL", slot[s].n, n);
		return;
	}
	if (!n) {                               /* glibc's realloc(p, 0): freed */
		live -= slot[s].n;
		slot[s].p = 0;
		return;
	}
	if (!aligned(p, 16))
		ktap_fail("realloc gave %p, not 16-aligned", p);
	if (first_not(p, keep, slot[s].tag) >= 0)
		ktap_fail("realloc %lu -> %lu lost byte %ld", slot[s].n, n, first_not(p, keep, slot[s].tag));
	if (malloc_usable_size(p) < n)
		ktap_fail("usable size %lu < %lu after realloc", malloc_usable_size(p), n);
	if (overlaps(s, p, n))
		ktap_fail("realloc: %p (+%lu) overlaps a live block", p, n);
	live += n - slot[s].n;
	slot[s].p = p, slot[s].n = n;
	memset(p, slot[s].tag, n);
}

static void free_all(void)
{
	for (int i = 0; i < SLOTS; i++) {
		if (slot[i].p) {
			model_check(i);
			model_free(i);
		}
	}
}

static void t_random(void)
{
	struct strata_meminfo m;
	meminfo(&m);
	budget = m.free_kib * 1024 / 4;
	printf("# live blocks hold at most %lu KiB (a quarter of the free RAM)\n", budget / 1024);
	for (int op = 0; op < 20000 && !ktap_failed(); op++) {
		int s = (int)(rnd() % SLOTS);
		if (!slot[s].p) {
			if (live < budget)
				model_alloc(s);
		} else if (rnd() % 3 == 0 && live < budget) {
			model_check(s);
			model_realloc(s);
		} else {
			model_check(s);
			model_free(s);
		}
	}
	free_all();
	T_EQ(live, 0);
}

static void t_edges(void)
{
	void *a = malloc(0), *b = malloc(0);

	T_EXPECT(a && b && a != b);
	T_EXPECT(aligned(a, 16));
	free(a);
	free(b);
	free(0);
	for (size_t n = 1; n <= 40000; n += n / 8 + 1) {
		unsigned char *p = malloc(n);
		T_EXPECT(p && aligned(p, 16));
		if (!p)
			return;
		size_t u = malloc_usable_size(p);
		T_EXPECT(u >= n);
		memset(p, 0x5a, u);                     /* all of it is ours */
		free(p);
	}
	T_EQ(malloc_usable_size(0), 0);
}

static void t_realloc(void)
{
	unsigned char *p = realloc(0, 10);
	size_t n = 10;

	T_EXPECT(p);
	if (!p)
		return;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)i;
	/* Grow to 200 KiB through every kind of block, then shrink back. */
	while (n < 200 * 1024) {
		size_t m = n * 2 + 7;
		unsigned char *q = realloc(p, m);
		T_EXPECT(q);
		if (!q)
			break;
		for (size_t i = 0; i < n; i++)
			if (q[i] != (unsigned char)i) {
				ktap_fail("grow %lu -> %lu: byte %lu lost", n, m, i);
				break;
			}
		for (size_t i = n; i < m; i++)
			q[i] = (unsigned char)i;
		p = q, n = m;
	}
	while (n > 8) {
		size_t m = n / 3;
		unsigned char *q = realloc(p, m);
		T_EXPECT(q);
		if (!q)
			break;
		for (size_t i = 0; i < m; i++)
			if (q[i] != (unsigned char)i) {
				ktap_fail("shrink %lu -> %lu: byte %lu lost", n, m, i);
				break;
			}
		p = q, n = m;
	}
	/* Within the block's usable size, realloc stays in place. */
	size_t u = malloc_usable_size(p);
	T_EQ(realloc(p, u), p);
	T_EQ(realloc(p, 0), 0);                 /* frees, as glibc's does */
}

static void t_calloc(void)
{
	/* Dirty a block, free it, and calloc the same size: its memory is zero. */
	for (size_t n = 24; n <= 150 * 1024; n *= 5) {
		unsigned char *p = malloc(n);
		T_EXPECT(p);
		memset(p, 0xff, n);
		free(p);
		p = calloc(n, 1);
		T_EXPECT(p);
		if (p && first_not(p, n, 0) >= 0)
			ktap_fail("calloc(%lu) byte %ld not zero", n, first_not(p, n, 0));
		free(p);
	}
	errno = 0;
	T_EQ(calloc((size_t)-1 / 2, 3), 0);             /* n * size overflows */
	T_EQ(errno, ENOMEM);
	void *q = malloc(16);
	errno = 0;
	T_EQ(reallocarray(q, (size_t)1 << 40, (size_t)1 << 40), 0);
	T_EQ(errno, ENOMEM);
	free(q);                                        /* the failed call kept it */
}

static void t_nomem(void)
{
	errno = 0;
	T_EQ(malloc(64UL << 20), 0);                    /* past the 32 MiB limit */
	T_EQ(errno, ENOMEM);
	errno = 0;
	T_EQ(malloc((size_t)-1), 0);
	T_EQ(errno, ENOMEM);
	void *p = 0;
	T_EQ(posix_memalign(&p, 24, 100), EINVAL);      /* not a power of two */
	T_EQ(posix_memalign(&p, 64, (size_t)-1), ENOMEM);
}

static void t_page_calls(void)
{
	void *v = valloc(100), *pv = pvalloc(100);

	T_EXPECT(v && aligned(v, PAGE_SIZE));
	T_EXPECT(pv && aligned(pv, PAGE_SIZE));
	T_EXPECT(malloc_usable_size(pv) >= PAGE_SIZE);  /* pvalloc rounds up to a page */
	free(v);
	free(pv);
}

/* Everything freed and trimmed: the statistics say the heap holds nothing. */
static void t_stats_empty(void)
{
	struct sm_stats st;
	void *p[64];

	for (int i = 0; i < 64; i++)
		p[i] = malloc((size_t)i * 700);
	sm_stats(&st);
	T_EXPECT(st.live_blocks >= 64);
	T_EXPECT(st.segments >= 1);
	for (int i = 0; i < 64; i++)
		free(p[i]);
	sm_trim();
	sm_stats(&st);
	T_EQ(st.live_blocks, 0);
	T_EQ(st.live_bytes, 0);
	T_EQ(st.segments, 0);
	T_EQ(st.committed_bytes, 0);
	T_EQ(st.reserved_bytes, 0);
}

/*
 * A burst of 1 KiB blocks, 4 MiB of them or half the free RAM if that is
 * less (an 8 MiB machine has about 4 MiB free here), takes frames; freed
 * and trimmed, the kernel has them back.
 */
static void t_pages_back(void)
{
	enum { MAX = 4096 };
	static char *p[MAX];
	struct strata_meminfo m0, m1, m2;
	unsigned long N;

	memset(p, 0, sizeof(p));                        /* its own pages resident first */
	sm_trim();
	meminfo(&m0);
	N = m0.free_kib / 2 < MAX ? m0.free_kib / 2 : MAX;
	for (unsigned long i = 0; i < N; i++) {
		p[i] = malloc(1024);
		T_EXPECT(p[i]);
		if (!p[i])
			return;
		memset(p[i], i, 1024);
	}
	meminfo(&m1);
	for (unsigned long i = 0; i < N; i++)
		free(p[i]);
	sm_trim();
	meminfo(&m2);
	printf("# %lu blocks; resident KiB: %lu before, %lu after the burst, %lu freed and trimmed; committed %lu %lu %lu\n", N,
	       m0.resident_kib, m1.resident_kib, m2.resident_kib,
	       m0.committed_kib, m1.committed_kib, m2.committed_kib);
	T_EXPECT(m1.resident_kib >= m0.resident_kib + N);
	T_EQ(m2.resident_kib, m0.resident_kib);
	T_EQ(m2.committed_kib, m0.committed_kib);
}

static char misuse_line[160];
static int misuse_calls;

static void catch_misuse(const char *line)
{
	misuse_calls++;
	snprintf(misuse_line, sizeof(misuse_line), "%s", line);
}

/* One misuse: exactly one report naming p, and the heap still works. */
static void expect_misuse(const char *what, void *p, void (*act)(void *))
{
	char want[64];
	struct sm_stats a, b;

	misuse_calls = 0;
	misuse_line[0] = 0;
	sm_stats(&a);
	act(p);
	sm_stats(&b);
	snprintf(want, sizeof(want), "strata_malloc: %s 0x%lx", what, (unsigned long)p);
	T_EQ(misuse_calls, 1);
	if (strcmp(misuse_line, want))
		ktap_fail("reported \"%s\", want \"%s\"", misuse_line, want);
	T_EQ(b.live_blocks, a.live_blocks);             /* the heap was not touched */
}

static void do_free(void *p) { free(p); }

static void t_double_free(void)
{
	sm_set_misuse_hook(catch_misuse);
	char *p = malloc(64), *q = malloc(64);
	free(p);
	expect_misuse("double free of", p, do_free);
	char *r = malloc(64);                           /* the heap goes on */
	T_EXPECT(r && r != q);
	free(q);
	free(r);
	sm_set_misuse_hook(0);
	printf("# %s\n", misuse_line);
}

static void t_invalid_free(void)
{
	char local[32];
	sm_set_misuse_hook(catch_misuse);
	char *p = malloc(64);
	misuse_calls = 0;
	free(local);
	T_EQ(misuse_calls, 1);
	T_EXPECT(misuse_calls == 0 || !strncmp(misuse_line, "strata_malloc: ", 15));
	misuse_calls = 0;
	free(p + 8);                                    /* not a block's start */
	T_EQ(misuse_calls, 1);
	free(p);
	sm_set_misuse_hook(0);
}

static const struct ktap_case cases[] = {
	{ "edges", t_edges },
	{ "random_model", t_random },
	{ "realloc_grow_shrink", t_realloc },
	{ "calloc_zero", t_calloc },
	{ "out_of_memory", t_nomem },
	{ "valloc_pvalloc", t_page_calls },
	{ "stats_empty", t_stats_empty },
	{ "pages_back", t_pages_back },
	{ "double_free", t_double_free },
	{ "invalid_free", t_invalid_free },
};

int main(void)
{
	stack_touch(32);
	return ktap_run(cases, ARRAY_SIZE(cases));
}
