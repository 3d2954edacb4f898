/*
 * hotadd_test.c - RAM above what the HHDM reached at pmm_init, taken
 * later by pmm_add_range: counts, records, merging at the seam, pmm_check.
 */
#include <string.h>
#include "fixture.h"

/*
 * 256 MiB: low RAM, RAM 1..128 MiB, a reserved hole, RAM 160..256 MiB.
 * The HHDM "reaches" 100 MiB + 12 KiB: an odd seam inside the first range.
 */
static const struct mem_range hot_map[] = {
	{ 0, 0x9fc00, MEM_AVAILABLE }, { 0x9fc00, 0x400, MEM_RESERVED },
	{ MiB, 127 * MiB, MEM_AVAILABLE }, { 128 * MiB, 32 * MiB, MEM_RESERVED },
	{ 160 * MiB, 96 * MiB, MEM_AVAILABLE },
};
static const struct mem_range hot_prot[] = {
	{ MiB, 2 * MiB, PMM_PROTECT_KERNEL },
	{ 200 * MiB, 64 * KiB, PMM_PROTECT_MODULE },     /* above the reach: stays reserved when added */
};
#define REACH      (100 * MiB + 12 * KiB)
#define ALL_PAGES  (159 + 127 * MiB / 4096 + 96 * MiB / 4096)
#define LOW_PAGES  (159 + (REACH - MiB) / 4096)
#define ADD1       ((128 * MiB - REACH) / 4096)      /* the rest of the first range */
#define ADD2       (96 * MiB / 4096)

/* Pages of records and free maps an added range keeps at its top. */
static uint64_t recs(uint64_t frames)
{
	uint64_t end = frames == ADD1 ? 128 * MiB / 4096 : 256 * MiB / 4096;
	const uint64_t r[1][2] = { { end - frames, end } };
	return meta_pages(r, 1);
}

static bool in_records(uint64_t pa)
{
	return (pa >= 128 * MiB - recs(ADD1) * 4096 && pa < 128 * MiB) ||
	       (pa >= 256 * MiB - recs(ADD2) * 4096 && pa < 256 * MiB);
}

void test_hotadd(void)
{
	static uint64_t got[ALL_PAGES];
	struct pmm_stats s0, s;
	size_t n = 0, nsan;
	uint64_t pa, bad = 0, above = 0;

	fake_ram_init(256 * MiB);
	capture_start();
	struct pmm_boot b = { hot_map, 5, hot_prot, 2, REACH };
	REQUIRE(pmm_init(&b) == 0);
	CHECK(capture_count("not yet mapped") == 2);
	pmm_get_stats(&s0);
	CHECK_EQ(s0.total_pages, LOW_PAGES);
	CHECK(!pmm_is_ram(REACH) && !pmm_is_ram(200 * MiB) && pmm_is_ram(REACH - 4096));
	/* The sanitized map is still the truth about RAM: all of it, not only what is managed. */
	const struct mem_range *san = pmm_sanitized_map(&nsan);
	uint64_t ram = 0;
	for (size_t i = 0; i < nsan; i++)
		ram += san[i].type == MEM_AVAILABLE ? san[i].len : 0;
	CHECK_EQ(ram / 4096, ALL_PAGES);
	uint64_t held = pmm_alloc(3, 0), held_page = pmm_alloc_page(0);   /* a live allocator */
	REQUIRE(held != PMM_NO_FRAME && held_page != PMM_NO_FRAME);

	capture_start();
	CHECK_EQ(pmm_add_range(0, UINT64_MAX), 0);
	CHECK(capture_count("pmm: added") == 2);
	CHECK_EQ(pmm_check(), 0);
	pmm_get_stats(&s);
	CHECK_EQ(s.total_pages, ALL_PAGES);
	CHECK_EQ(s.metadata_bytes, s0.metadata_bytes + (recs(ADD1) + recs(ADD2)) * 4096);
	CHECK_EQ(s.reserved_pages, s0.reserved_pages + recs(ADD1) + recs(ADD2) + 16);   /* + the module */
	CHECK_EQ(s.free_pages, s0.free_pages - 9 + ADD1 + ADD2 - recs(ADD1) - recs(ADD2) - 16);
	CHECK_EQ(s.zone_total[ZONE_DMA32], ALL_PAGES - 159 - 3840);
	CHECK(pmm_is_ram(REACH) && pmm_is_ram(200 * MiB) && pmm_is_ram(256 * MiB - 4096));
	CHECK(!pmm_is_ram(130 * MiB) && !pmm_is_ram(256 * MiB));
	CHECK_EQ(pmm_free(200 * MiB, 0), PMM_E_RESERVED);

	/* Again: nothing is left to add. A reserved range is never RAM. */
	capture_start();
	CHECK_EQ(pmm_add_range(0, UINT64_MAX), 0);
	CHECK_EQ(pmm_add_range(128 * MiB, 32 * MiB), 0);
	CHECK(capture_count("pmm: added") == 0);
	pmm_get_stats(&s0);
	CHECK_EQ(s0.total_pages, ALL_PAGES);

	/* Every free page, added or not, is allowed RAM and never a record; all come back. */
	while (n < ALL_PAGES && (pa = pmm_alloc_page(0)) != PMM_NO_FRAME) {
		bad += !page_allowed(pa, hot_map, 5, hot_prot, 2) || in_records(pa);
		above += pa >= REACH;
		got[n++] = pa;
	}
	CHECK_EQ(n, s0.free_pages);
	CHECK_EQ(bad, 0);
	CHECK_EQ(above, ADD1 + ADD2 - recs(ADD1) - recs(ADD2) - 16);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(pmm_free_page(got[(i * 7919) % n]), 0);
	CHECK_EQ(pmm_free(held, 3), 0);
	CHECK_EQ(pmm_free_page(held_page), 0);
	pmm_drain_all_caches();
	CHECK_EQ(pmm_check(), 0);                   /* merged everywhere, and never across the seam */
	/*
	 * Large blocks come from the added RAM too: the 32 MiB blocks are
	 * 32..64, 64..96 and 160..192 MiB (96..128 holds the seam and records,
	 * 192..224 the module).
	 */
	uint64_t big[4], nbig = 0, mask = 0;
	while (nbig < 4 && (pa = pmm_alloc(13, 0)) != PMM_NO_FRAME)
		big[nbig++] = pa, mask |= 1ULL << (pa / (32 * MiB));
	CHECK_EQ(nbig, 3);
	CHECK_EQ(mask, (1 << 1) | (1 << 2) | (1 << 5));
	for (uint64_t i = 0; i < nbig; i++)
		CHECK_EQ(pmm_free(big[i], 13), 0);

	/* The report counts it all: usable_kib is the firmware's RAM. */
	char want[64];
	snprintf(want, sizeof(want), "MEMINFO usable_kib=%llu ", (unsigned long long)ALL_PAGES * 4);
	capture_start();
	pmm_report();
	CHECK(strstr(capture_text(), want) != NULL);
	capture_count("");
	CHECK_EQ(pmm_check(), 0);
}

/* Added RAM that touches a section taken at init at a seam no block may cross. */
void test_hotadd_seam(void)
{
	static const struct mem_range map[] = { { MiB, 63 * MiB, MEM_AVAILABLE } };
	const uint64_t reach = 32 * MiB + 4096;
	/* Protected up to the seam, so the records go below it and its frames free only at release. */
	static const struct mem_range mod[] = { { 32 * MiB - 60 * KiB, 64 * KiB, PMM_PROTECT_MODULE } };
	fake_ram_init(64 * MiB);
	capture_start();
	struct pmm_boot b = { map, 1, mod, 1, reach };
	REQUIRE(pmm_init(&b) == 0);
	CHECK_EQ(pmm_add_range(reach, 16 * MiB), 0);       /* part of the rest first */
	CHECK_EQ(pmm_check(), 0);
	CHECK(pmm_is_ram(reach + 16 * MiB - 4096) && !pmm_is_ram(reach + 16 * MiB));
	CHECK_EQ(pmm_add_range(0, UINT64_MAX), 0);
	CHECK_EQ(pmm_check(), 0);
	pmm_release(&mod[0]);                              /* 32 MiB's buddy lies across the seam */
	CHECK_EQ(pmm_check(), 0);
	struct pmm_stats s;
	pmm_get_stats(&s);
	CHECK_EQ(s.total_pages, 63 * MiB / 4096);
	/* Free pages on both sides of each seam, one by one: no merge across (pmm_check says). */
	static uint64_t got[16384];
	size_t n = 0;
	uint64_t pa;
	while (n < 16384 && (pa = pmm_alloc(0, 0)) != PMM_NO_FRAME)
		got[n++] = pa;
	CHECK_EQ(pmm_free_count(), 0);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(pmm_free(got[n - 1 - i], 0), 0);
	CHECK_EQ(pmm_check(), 0);
	capture_count("");
}
