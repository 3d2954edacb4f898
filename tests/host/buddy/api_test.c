/* Each entry point of buddy.h on the small machine: misuse, zeroing, counts, flags, helpers. */
#include <string.h>
#include <stdio.h>
#include "fixture.h"
#include "mm/trace.h"

/* Expect err from the call, a "pmm: " message naming addr, and a sound, unchanged allocator. */
#define MISUSE(call, err, addr) do { \
	char a_[32]; \
	snprintf(a_, sizeof(a_), "0x%llx", (unsigned long long)(addr)); \
	capture_start(); \
	CHECK_EQ((int64_t)(call), (int64_t)(err)); \
	const char *t_ = capture_text(); \
	CHECK(strncmp(t_, "pmm: ", 5) == 0 && strstr(t_, a_)); \
	capture_count(""); \
	CHECK_EQ(pmm_check(), 0); \
	CHECK_EQ(pmm_free_count(), before); \
} while (0)

void test_misuse(void)
{
	REQUIRE(fixture_small() == 0);
	uint64_t a = pmm_alloc(2, 0), b = pmm_alloc_page(0);
	REQUIRE(a != PMM_NO_FRAME && b != PMM_NO_FRAME);
	uint64_t before = pmm_free_count();

	MISUSE(pmm_free(a, 1), PMM_E_WRONG_ORDER, a);
	/* Misaligned for order 3 where the buddy puts a (0x5004000); a PMM that puts it on an order-3 boundary says wrong order. */
	MISUSE(pmm_free(a, 3), a % (8 * 4096) ? PMM_E_MISALIGNED : PMM_E_WRONG_ORDER, a);
	MISUSE(pmm_free(a + 1, 2), PMM_E_MISALIGNED, a + 1);
	MISUSE(pmm_free(a + 4096, 0), PMM_E_NOT_ALLOCATED, a + 4096);
	MISUSE(pmm_free(a + 4096, 2), PMM_E_MISALIGNED, a + 4096);
	MISUSE(pmm_free(a, 19), PMM_E_BAD_ORDER, a);
	MISUSE(pmm_free(0x50000, 0), PMM_E_RESERVED, 0x50000);        /* first MiB */
	MISUSE(pmm_free(0x200000, 0), PMM_E_RESERVED, 0x200000);      /* kernel */
	MISUSE(pmm_free(0x6100000, 0), PMM_E_RESERVED, 0x6100000);    /* module */
	MISUSE(pmm_free(0x3000000, 0), PMM_E_NOT_RAM, 0x3000000);     /* ACPI hole */
	MISUSE(pmm_free(0x9f000, 0), PMM_E_NOT_RAM, 0x9f000);         /* trimmed partial page */
	MISUSE(pmm_free(0x200000000ULL, 0), PMM_E_NOT_RAM, 0x200000000ULL);
	MISUSE(pmm_free(UINT64_MAX & ~0xfffULL, 0), PMM_E_NOT_RAM, UINT64_MAX & ~0xfffULL);
	MISUSE(pmm_free(0x4000000, 0), PMM_E_DOUBLE_FREE, 0x4000000); /* never allocated: inside a free block */
	MISUSE(pmm_free_page(a), PMM_E_WRONG_ORDER, a);
	MISUSE(pmm_free_page(b + 8), PMM_E_MISALIGNED, b + 8);
	MISUSE(pmm_free_aligned(a, 3), PMM_E_WRONG_ORDER, a);
	MISUSE(pmm_free_aligned(a, 0), PMM_E_BAD_ORDER, a);
	MISUSE(pmm_frame_get(a + 4096), 0, a + 4096);
	MISUSE(pmm_frame_put(0x4000000), 0, 0x4000000);

	CHECK_EQ(pmm_free(a, 2), 0);
	before = pmm_free_count();
	MISUSE(pmm_free(a, 2), PMM_E_DOUBLE_FREE, a);
	MISUSE(pmm_free(a + 8192, 1), PMM_E_DOUBLE_FREE, a + 8192);
	CHECK_EQ(pmm_free_page(b), 0);
	before = pmm_free_count();
	MISUSE(pmm_free_page(b), PMM_E_DOUBLE_FREE, b);                 /* sitting in the cache */
	MISUSE(pmm_free(b, 0), PMM_E_DOUBLE_FREE, b);
	struct mem_range not_protected = { 0x4000000, 0x1000, 0 };
	capture_start();
	pmm_release(&not_protected);
	CHECK(capture_count("pmm: release 0x4000000") == 1);
	CHECK_EQ(pmm_free_count(), before);
	capture_start();
	CHECK_EQ(pmm_alloc(PMM_MAX_ORDER + 1, 0), PMM_NO_FRAME);
	CHECK(capture_count("pmm: alloc: order 19") == 1);
	CHECK_EQ(pmm_check(), 0);
}

static bool all_bytes(uint64_t pa, size_t len, uint8_t v)
{
	const uint8_t *p = phys_to_virt(pa);
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

void test_zero(void)
{
	REQUIRE(fixture_small() == 0);
	uint64_t p = pmm_alloc_page(0);
	memset(phys_to_virt(p), 0xab, 4096);
	CHECK_EQ(pmm_free_page(p), 0);
	uint64_t q = pmm_alloc_page(PMM_ZERO);
	CHECK_EQ(q, p);                             /* the cache hands back the hot page */
	CHECK(all_bytes(q, 4096, 0));
	CHECK_EQ(pmm_free_page(q), 0);
	uint64_t big = pmm_alloc(5, 0);
	memset(phys_to_virt(big), 0xcd, 32 * 4096);
	CHECK_EQ(pmm_free(big, 5), 0);
	big = pmm_alloc(5, PMM_ZERO);
	CHECK(all_bytes(big, 32 * 4096, 0));
	CHECK_EQ(pmm_free(big, 5), 0);
	uint64_t al = pmm_alloc_aligned(7, 0, 0);
	memset(phys_to_virt(al), 0xef, 7 * 4096);
	CHECK_EQ(pmm_free_aligned(al, 7), 0);
	al = pmm_alloc_aligned(7, 0, PMM_ZERO | PMM_DMA);
	CHECK(al < 16 * MiB && all_bytes(al, 7 * 4096, 0));
	CHECK_EQ(pmm_free_aligned(al, 7), 0);
	CHECK_EQ(pmm_check(), 0);
}

void test_refcount(void)
{
	REQUIRE(fixture_small() == 0);
	uint64_t before = pmm_free_count();
	uint64_t p = pmm_alloc_page(0);
	CHECK_EQ(pmm_frame_refcount(p), 1);
	CHECK_EQ(pmm_frame_get(p), 2);
	CHECK_EQ(pmm_frame_get(p), 3);
	CHECK_EQ(pmm_frame_put(p), 2);
	CHECK_EQ(pmm_frame_put(p), 1);
	CHECK_EQ(pmm_free_count(), before - 1);
	CHECK_EQ(pmm_frame_put(p), 0);              /* the last put frees */
	CHECK_EQ(pmm_free_count(), before);
	CHECK_EQ(pmm_frame_refcount(p), 0);
	capture_start();
	CHECK_EQ(pmm_frame_put(p), 0);
	CHECK(capture_count("pmm: frame_put") == 1);
	uint64_t b = pmm_alloc(3, 0);
	CHECK_EQ(pmm_frame_get(b), 2);
	CHECK_EQ(pmm_frame_refcount(b + 4096), 0);
	CHECK_EQ(pmm_frame_put(b), 1);
	CHECK_EQ(pmm_frame_put(b), 0);              /* frees all 8 pages */
	CHECK_EQ(pmm_free_count(), before);
	CHECK_EQ(pmm_check(), 0);
}

/*
 * A free of a shared block is misuse: the other holder's later put would
 * free the page's next owner. Refused, reported, nothing freed, by every
 * free path; the puts then free it as usual.
 */
void test_free_shared(void)
{
	REQUIRE(fixture_small() == 0);
	uint64_t a = pmm_alloc_page(0), b = pmm_alloc(2, 0), c = pmm_alloc_aligned(3, 0, 0);
	REQUIRE(a != PMM_NO_FRAME && b != PMM_NO_FRAME && c != PMM_NO_FRAME);
	CHECK_EQ(pmm_frame_get(a), 2);
	CHECK_EQ(pmm_frame_get(b), 2);
	CHECK_EQ(pmm_frame_get(c), 2);            /* the order-1 block at the front of the 3 pages */
	uint64_t before = pmm_free_count();

	MISUSE(pmm_free_page(a), PMM_E_SHARED, a);
	MISUSE(pmm_free(a, 0), PMM_E_SHARED, a);
	MISUSE(pmm_free(b, 2), PMM_E_SHARED, b);
	MISUSE(pmm_free_aligned(c, 3), PMM_E_SHARED, c);
	CHECK_EQ(pmm_frame_refcount(a), 2);
	CHECK_EQ(pmm_frame_refcount(b), 2);
	/* The other holder still owns a live page, and puts free it once. */
	CHECK_EQ(pmm_frame_put(a), 1);
	CHECK_EQ(pmm_free_page(a), 0);
	CHECK_EQ(pmm_frame_put(b), 1);
	CHECK_EQ(pmm_frame_put(b), 0);
	CHECK_EQ(pmm_frame_put(c), 1);
	CHECK_EQ(pmm_free_aligned(c, 3), 0);
	CHECK_EQ(pmm_frame_put(a), 0);             /* freed already: reported, nothing freed twice */
	CHECK_EQ(pmm_free_count(), before + 1 + 4 + 3);
	CHECK_EQ(pmm_check(), 0);
}

void test_fail_nth(void)
{
	REQUIRE(fixture_small() == 0);
	uint64_t before = pmm_free_count(), a, b, c, d;
	pmm_fail_nth(3);
	a = pmm_alloc(0, 0), b = pmm_alloc_page(0), c = pmm_alloc_aligned(3, 0, 0), d = pmm_alloc(1, 0);
	CHECK(a != PMM_NO_FRAME && b != PMM_NO_FRAME && c == PMM_NO_FRAME && d != PMM_NO_FRAME);
	pmm_free(a, 0), pmm_free_page(b), pmm_free(d, 1);
	pmm_fail_nth(1);
	CHECK_EQ(pmm_alloc_page(0), PMM_NO_FRAME);
	pmm_fail_nth(2);
	pmm_fail_nth(0);                           /* off */
	a = pmm_alloc(0, 0), b = pmm_alloc(0, 0);
	CHECK(a != PMM_NO_FRAME && b != PMM_NO_FRAME);
	pmm_free(a, 0), pmm_free(b, 0);
	CHECK_EQ(pmm_free_count(), before);
	CHECK_EQ(pmm_check(), 0);
}

void test_aligned(void)
{
	REQUIRE(fixture_small() == 0);
	uint64_t before = pmm_free_count();
	struct { size_t n, align; } req[] = {
		{ 1, 0 }, { 5, 0 }, { 3, 65536 }, { 1, 2 * MiB }, { 513, 4096 }, { 300, 1 * MiB }, { 16, 16 * 4096 },
	};
	uint64_t pa[7];
	size_t used = 0;
	for (int i = 0; i < 7; i++) {
		pa[i] = pmm_alloc_aligned(req[i].n, req[i].align, 0);
		REQUIRE(pa[i] != PMM_NO_FRAME);
		if (req[i].align)
			CHECK_EQ(pa[i] % req[i].align, 0);
		used += req[i].n;
		CHECK_EQ(pmm_free_count(), before - used);   /* exactly n pages taken: the rest went back */
		CHECK_EQ(pmm_check(), 0);
	}
	for (int i = 0; i < 7; i++)
		CHECK_EQ(pmm_free_aligned(pa[i], req[i].n), 0);
	CHECK_EQ(pmm_free_count(), before);
	capture_start();
	CHECK_EQ(pmm_alloc_aligned(4, 3 * 4096, 0), PMM_NO_FRAME);
	CHECK(capture_count("not a power of two") == 1);
	CHECK_EQ(pmm_alloc_aligned(0, 0, 0), PMM_NO_FRAME);
	CHECK_EQ(pmm_alloc_aligned((1 << PMM_MAX_ORDER) + 1, 0, 0), PMM_NO_FRAME);
	CHECK_EQ(pmm_alloc_aligned(1, 2 * GiB, 0), PMM_NO_FRAME);
	/* pmm_alloc(k) and an aligned 2^k are the same block shape. */
	uint64_t p = pmm_alloc(4, 0);
	CHECK_EQ(pmm_free_aligned(p, 16), 0);
	CHECK_EQ(pmm_check(), 0);
}

static const struct mem_range zoned_map[] = {
	{ 0, 0x9fc00, MEM_AVAILABLE }, { 0x100000, 63 * MiB, MEM_AVAILABLE },
	{ 4 * GiB, 64 * MiB, MEM_AVAILABLE },
};

/* Zone limits hold, and without a flag NORMAL goes first, then DMA32, then DMA. */
void test_zone_flags(void)
{
	REQUIRE(fixture_boot(4 * GiB + 64 * MiB, zoned_map, 3, NULL, 0) == 0);
	struct pmm_stats s0, s;
	pmm_get_stats(&s0);
	static uint64_t got[20000];
	size_t n = 0;
	uint64_t pa;
	/* DMA until it runs out: NO_FRAME although other zones are free. */
	while ((pa = pmm_alloc(0, PMM_DMA)) != PMM_NO_FRAME && n < 20000) {
		CHECK(pa < 16 * MiB && pa >= MiB);
		got[n++] = pa;
	}
	CHECK_EQ(n, s0.zone_free[ZONE_DMA]);
	CHECK(pmm_free_count() > 0);
	/* Default order: all of NORMAL before any DMA32. */
	for (uint64_t i = 0; i < s0.zone_free[ZONE_NORMAL] / 8; i++) {
		pa = pmm_alloc(3, 0);
		CHECK(pa >= 4 * GiB);
		got[n++] = pa | 3;
	}
	for (uint64_t i = 0; i < s0.zone_free[ZONE_NORMAL] % 8; i++) {     /* what is left of it */
		pa = pmm_alloc(0, 0);
		CHECK(pa >= 4 * GiB);
		got[n++] = pa;
	}
	pmm_get_stats(&s);
	CHECK_EQ(s.zone_free[ZONE_NORMAL], 0);
	pa = pmm_alloc(3, 0);
	CHECK(pa < 4 * GiB && pa >= 16 * MiB);
	got[n++] = pa | 3;
	pa = pmm_alloc(0, PMM_DMA32);
	CHECK(pa < 4 * GiB && pa >= 16 * MiB);
	got[n++] = pa;
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(pmm_free(got[i] & ~0xfffULL, got[i] & 0xfff), 0);
	pmm_get_stats(&s);
	CHECK(same_free_shape(&s, &s0));
	CHECK_EQ(pmm_check(), 0);
}

/* Take every page, one by one; then nothing is left; give all back and the lists are as before. */
void test_exhaust(void)
{
	REQUIRE(fixture_small() == 0);
	struct pmm_stats s0, s;
	pmm_get_stats(&s0);
	static uint64_t got[40000];
	size_t n = 0;
	uint64_t pa;
	while ((pa = pmm_alloc(0, 0)) != PMM_NO_FRAME && n < 40000)
		got[n++] = pa;
	CHECK_EQ(n, s0.free_pages);
	CHECK_EQ(pmm_free_count(), 0);
	CHECK_EQ(pmm_alloc_page(0), PMM_NO_FRAME);
	CHECK_EQ(pmm_alloc_aligned(1, 0, 0), PMM_NO_FRAME);
	CHECK_EQ(pmm_check(), 0);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(pmm_free(got[(i * 7919) % n], 0), 0);   /* 7919 is prime and does not divide n */
	pmm_get_stats(&s);
	CHECK(same_free_shape(&s, &s0));
	CHECK_EQ(pmm_check(), 0);
}

void test_release(void)
{
	REQUIRE(fixture_small() == 0);
	uint64_t before = pmm_free_count();
	pmm_release(&small_prot[1]);                /* boot info: 3 pages */
	CHECK_EQ(pmm_free_count(), before + 3);
	CHECK_EQ(pmm_check(), 0);
	capture_start();
	pmm_release(&small_prot[1]);
	CHECK(capture_count("released already") == 1);
	CHECK_EQ(pmm_free_count(), before + 3);
	pmm_release(&small_prot[2]);                /* the module: 0x301 pages */
	CHECK_EQ(pmm_free_count(), before + 3 + 0x301);
	CHECK_EQ(pmm_check(), 0);

	/* Overlapping ranges: a shared page stays until both are released. */
	static const struct mem_range two[] = {
		{ 0x5000000, 0x3000, PMM_PROTECT_BOOTINFO }, { 0x5002000, 0x2000, PMM_PROTECT_MODULE },
	};
	REQUIRE(fixture_boot(128 * MiB, small_map, small_map_len, two, 2) == 0);
	before = pmm_free_count();
	pmm_release(&two[0]);
	CHECK_EQ(pmm_free_count(), before + 2);
	CHECK_EQ(pmm_free(0x5002000, 0), PMM_E_RESERVED);
	pmm_release(&two[1]);
	CHECK_EQ(pmm_free_count(), before + 4);
	CHECK_EQ(pmm_check(), 0);
}

void test_pcp(void)
{
	REQUIRE(fixture_small() == 0);
	struct pmm_stats s0, s;
	pmm_get_stats(&s0);
	uint64_t before = pmm_free_count(), got[300];
	for (int i = 0; i < 300; i++) {
		got[i] = pmm_alloc_page(0);
		CHECK_EQ(pmm_free_count(), before - i - 1);
	}
	for (int i = 0; i < 300; i++)
		CHECK_EQ(i % 3 ? pmm_free_page(got[i]) : pmm_free(got[i], 0), 0);
	CHECK_EQ(pmm_free_count(), before);
	CHECK_EQ(pmm_check(), 0);                   /* cached pages are counted as free */
	pmm_drain_all_caches();
	pmm_get_stats(&s);
	CHECK(same_free_shape(&s, &s0));
	/* Pages from the raw path go back through the cache and the other way round. */
	uint64_t a = pmm_alloc(0, 0), b = pmm_alloc_page(0);
	CHECK_EQ(pmm_free_page(a), 0);
	CHECK_EQ(pmm_free(b, 0), 0);
	pmm_drain_cache();
	pmm_get_stats(&s);
	CHECK(same_free_shape(&s, &s0));
	CHECK_EQ(pmm_check(), 0);
}

/* mm_trace on: pmm_alloc_page says where each frame came from, in one line. */
void test_trace(void)
{
	REQUIRE(fixture_small() == 0);
	char want[160];
	capture_start();
	mm_trace = 1;
	uint64_t a = pmm_alloc_page(0), b = pmm_alloc_page(0);
	mm_trace = 0;
	const char *t = capture_text();
	snprintf(want, sizeof(want), "  buddy:  frame pa 0x%llx from CPU 0's page cache (15 left), "
		 "refilled from the free maps: one order-4 block\n", (unsigned long long)a);
	CHECK(strstr(t, want) != NULL);
	snprintf(want, sizeof(want), "  buddy:  frame pa 0x%llx from CPU 0's page cache (14 left)\n",
		 (unsigned long long)b);
	CHECK(strstr(t, want) != NULL);
	CHECK_EQ(capture_count("  buddy:  "), 2);
	CHECK_EQ(pmm_free_page(a) | pmm_free_page(b), 0);
	capture_start();
	CHECK_EQ(pmm_free_page(pmm_alloc_page(0)), 0);    /* tracing off: not a word */
	CHECK_EQ(capture_text()[0], 0);
	CHECK_EQ(pmm_check(), 0);
}
