/*
 * pcp_test.c - pages parked in the per-CPU cache are free pages: no
 * request may fail, and no block may stay unmerged, because of them.
 */
#include <string.h>
#include "fixture.h"
#include "mm/buddy/pmm_state.h"     /* PCP_HIGH */

/* One free DMA page, sitting in the cache: DMA requests must still get it. */
void test_pcp_drain_on_failure(void)
{
	static uint64_t got[8192];
	size_t n = 0;
	uint64_t pa;

	REQUIRE(fixture_small() == 0);
	uint64_t before = pmm_free_count();
	while (n < 8192 && (pa = pmm_alloc(0, PMM_DMA)) != PMM_NO_FRAME)
		got[n++] = pa;
	REQUIRE(n > 2 && n < 8192);
	CHECK_EQ(pmm_free_page(got[--n]), 0);        /* into this CPU's cache */
	pa = pmm_alloc(0, PMM_DMA);
	CHECK(pa != PMM_NO_FRAME && pa < 16 * MiB);
	if (pa != PMM_NO_FRAME)
		got[n++] = pa;
	CHECK_EQ(pmm_free_page(got[--n]), 0);
	pa = pmm_alloc_page(PMM_DMA | PMM_ZERO);
	CHECK(pa != PMM_NO_FRAME && pa < 16 * MiB);
	if (pa != PMM_NO_FRAME)
		got[n++] = pa;
	CHECK_EQ(pmm_free_page(got[--n]), 0);
	pa = pmm_alloc_aligned(1, 0, PMM_DMA);
	CHECK(pa != PMM_NO_FRAME && pa < 16 * MiB);
	if (pa != PMM_NO_FRAME)
		got[n++] = pa;
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(pmm_free(got[i], 0), 0);
	CHECK_EQ(pmm_free_count(), before);
	CHECK_EQ(pmm_check(), 0);
}

/* Every page taken, then two buddies given back through the cache: an order-1 request gets them. */
void test_pcp_drain_for_order(void)
{
	static uint64_t got[40000];
	size_t n = 0;
	uint64_t pa;

	REQUIRE(fixture_small() == 0);
	uint64_t before = pmm_free_count();
	while (n < 40000 && (pa = pmm_alloc_page(0)) != PMM_NO_FRAME)
		got[n++] = pa;
	REQUIRE(pmm_free_count() == 0);
	size_t lo = n;
	for (size_t i = 0; i < n && lo == n; i++)
		for (size_t j = 0; j < n; j++)
			if (!(got[i] & 0x1000) && got[j] == got[i] + 0x1000) {
				lo = i;
				CHECK_EQ(pmm_free_page(got[i]), 0);
				CHECK_EQ(pmm_free_page(got[j]), 0);
				got[i] = got[j] = 0;
				break;
			}
	REQUIRE(lo < n);
	pa = pmm_alloc(1, 0);
	CHECK(pa != PMM_NO_FRAME);
	CHECK_EQ(pmm_check(), 0);
	if (pa != PMM_NO_FRAME)
		CHECK_EQ(pmm_free(pa, 1), 0);
	for (size_t i = 0; i < n; i++)
		if (got[i])
			CHECK_EQ(pmm_free_page(got[i]), 0);
	CHECK_EQ(pmm_free_count(), before);
	CHECK_EQ(pmm_check(), 0);
}

/*
 * The same with the two buddies freed on another CPU: they sit in CPU 1's
 * cache, and CPU 0's order-1 request must empty that cache too (take_block
 * drains every CPU's) rather than say out of memory. Then CPU 2 drains
 * every cache, CPU 1's included, while CPU 1's pages are counted free
 * throughout.
 */
void test_pcp_drain_other_cpus(void)
{
	static uint64_t got[40000];
	size_t n = 0, lo;
	uint64_t pa;

	REQUIRE(fixture_small() == 0);
	uint64_t before = pmm_free_count();
	while (n < 40000 && (pa = pmm_alloc_page(0)) != PMM_NO_FRAME)
		got[n++] = pa;
	REQUIRE(pmm_free_count() == 0);
	for (lo = 0; lo < n && (got[lo] & 0x1000); lo++)
		;
	size_t hi = n;
	for (size_t j = 0; lo < n && j < n; j++)
		if (got[j] == got[lo] + 0x1000)
			hi = j;
	REQUIRE(lo < n && hi < n);
	fake_cpu_index = 1;
	CHECK_EQ(pmm_free_page(got[lo]), 0);
	CHECK_EQ(pmm_free_page(got[hi]), 0);
	got[lo] = got[hi] = 0;
	fake_cpu_index = 0;
	CHECK_EQ(pmm_free_count(), 2);          /* CPU 1's cached pages are free pages */
	pa = pmm_alloc(1, 0);
	CHECK(pa != PMM_NO_FRAME);
	CHECK_EQ(pmm_check(), 0);
	if (pa != PMM_NO_FRAME)
		CHECK_EQ(pmm_free(pa, 1), 0);
	/* Some pages into CPU 1's cache, then CPU 2 drains them all into the lists. */
	fake_cpu_index = 1;
	for (size_t i = 0; i < 8; i++)
		if (got[i]) {
			CHECK_EQ(pmm_free_page(got[i]), 0);
			got[i] = 0;
		}
	fake_cpu_index = 2;
	struct pmm_stats st;
	pmm_drain_all_caches();
	pmm_get_stats(&st);
	uint64_t listed = 0;
	for (int o = 0; o <= PMM_MAX_ORDER; o++)
		listed += st.free_blocks[o] << o;
	CHECK_EQ(listed, pmm_free_count());     /* nothing left in any cache */
	CHECK_EQ(pmm_check(), 0);
	fake_cpu_index = 0;
	for (size_t i = 0; i < n; i++)
		if (got[i])
			CHECK_EQ(pmm_free_page(got[i]), 0);
	CHECK_EQ(pmm_free_count(), before);
	CHECK_EQ(pmm_check(), 0);
}

#define ARENA      (1 * GiB)
#define WINDOW     (2 * MiB)
#define NWIN       (ARENA / WINDOW)
#define WPAGES     (WINDOW / 4096)

static uint64_t held[ARENA / 4096];
static uint16_t held_in[NWIN], freed_in[NWIN];

/* Free the page by one of the public paths, chosen by k. */
static int free_by(uint64_t pa, unsigned k)
{
	switch (k % 5) {
	case 0: return pmm_free(pa, 0);
	case 1: return pmm_frame_put(pa) == 0 ? 0 : -1;
	case 2: return pmm_free_aligned(pa, 1);
	default: return pmm_free_page(pa);         /* the path the issue saw fail */
	}
}

/*
 * A 1 GiB machine: take every page, give back whole 2 MiB windows page by
 * page in a random interleaving (most through pmm_free_page, some by the
 * other paths), and some windows all but one page. Then every window whose
 * pages are all free must come out as an order-9 block, and no other.
 */
void test_pcp_windows_merge(void)
{
	static const struct mem_range map[] = {
		{ 0, 0x9fc00, MEM_AVAILABLE }, { MiB, ARENA - MiB, MEM_AVAILABLE },
	};
	static const struct mem_range kernel[] = { { MiB, 3 * MiB, PMM_PROTECT_KERNEL } };
	size_t n = 0, nfree = 0, whole = 0, got9 = 0;
	uint64_t pa, seed = 0x9e3779b97f4a7c15ULL;

	REQUIRE(fixture_boot(ARENA, map, 2, kernel, 1) == 0);
	uint64_t before = pmm_free_count();
	memset(held_in, 0, sizeof(held_in));
	memset(freed_in, 0, sizeof(freed_in));
	while (n < ARENA / 4096 && (pa = pmm_alloc_page(0)) != PMM_NO_FRAME) {
		held[n++] = pa;
		held_in[pa / WINDOW]++;
	}
	REQUIRE(pmm_free_count() == 0);
	/* Pick the pages to give back: windows 2 of 3 in full, every 7th of those less one page. */
	for (size_t i = 0; i < n; i++) {
		uint64_t w = held[i] / WINDOW;
		bool give = w % 3 != 0 && !(w % 7 == 1 && held[i] % WINDOW == WINDOW - 4096);
		if (give) {
			uint64_t t = held[nfree];
			held[nfree++] = held[i], held[i] = t;
		}
	}
	for (size_t i = nfree; i > 1; i--) {             /* random interleaving of the windows */
		size_t j = rnd_next(&seed) % i;
		uint64_t t = held[i - 1];
		held[i - 1] = held[j], held[j] = t;
	}
	for (size_t i = 0; i < nfree; i++) {
		CHECK_EQ(free_by(held[i], (unsigned)rnd_next(&seed)), 0);
		freed_in[held[i] / WINDOW]++;
	}
	for (size_t w = 0; w < NWIN; w++)
		whole += freed_in[w] == WPAGES;
	CHECK_EQ(pmm_free_count(), nfree);
	CHECK_EQ(pmm_check(), 0);
	static uint64_t blocks[NWIN];
	while (got9 < NWIN && (pa = pmm_alloc(9, 0)) != PMM_NO_FRAME) {
		CHECK_EQ(freed_in[pa / WINDOW], WPAGES);
		blocks[got9++] = pa;
	}
	printf("# %zu of %zu windows all free, %zu came out as order-9 blocks\n",
	       whole, (size_t)NWIN, got9);
	CHECK(whole > NWIN / 2);
	CHECK_EQ(got9, whole);
	CHECK_EQ(pmm_check(), 0);
	for (size_t i = 0; i < got9; i++)
		CHECK_EQ(pmm_free(blocks[i], 9), 0);
	for (size_t i = nfree; i < n; i++)
		CHECK_EQ(pmm_free_page(held[i]), 0);
	CHECK_EQ(pmm_free_count(), before);
	CHECK_EQ(pmm_check(), 0);
}

/*
 * The cache's fast halves (pcp.c) take only pages whose record is in the
 * section last looked up; the others, and the cases they leave (an empty or
 * full stack, a flag, tracing), go the full way. Pages of two sections in
 * turn, through a full and an empty stack: every page comes back once, the
 * records agree with the stacks, and a double free is still caught.
 */
void test_pcp_fast_and_full(void)
{
	static uint64_t got[4 * PCP_HIGH];
	size_t n = 0;

	REQUIRE(fixture_small() == 0);
	uint64_t before = pmm_free_count();
	for (size_t i = 0; i < 2 * PCP_HIGH; i++) {
		got[n++] = pmm_alloc(0, PMM_DMA);               /* below 16 MiB: its own section */
		got[n++] = pmm_alloc_page(0);                   /* through the cache */
		REQUIRE(got[n - 2] != PMM_NO_FRAME && got[n - 1] != PMM_NO_FRAME);
	}
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(pmm_free_page(got[i]), 0);             /* fills and drains the stack */
	CHECK_EQ(pmm_check(), 0);
	CHECK_EQ(pmm_free_count(), before);
	capture_start();
	CHECK_EQ(pmm_free_page(got[0]), PMM_E_DOUBLE_FREE);
	CHECK_EQ(pmm_free_page(got[1]), PMM_E_DOUBLE_FREE);
	CHECK(capture_count("double free") == 2);
	for (size_t i = 0; i < n; i++) {                    /* and out again, empty stack included */
		got[i] = pmm_alloc_page(0);
		REQUIRE(got[i] != PMM_NO_FRAME);
		CHECK_EQ(pmm_frame_refcount(got[i]), 1);
	}
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(pmm_free_page(got[i]), 0);
	pmm_drain_cache();
	CHECK_EQ(pmm_check(), 0);
	CHECK_EQ(pmm_free_count(), before);
}
