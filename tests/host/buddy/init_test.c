/* pmm_init over fake RAM: crafted maps, exact accounting, failures, the report. */
#include <string.h>
#include "fixture.h"

/* The small machine, page by page: see fixture.c. */
#define SMALL_TOTAL    (159 + 0x2f00 + 0x4df0)
static const uint64_t small_ram[][2] = { { 0, 159 }, { 0x100, 0x3000 }, { 0x3200, 0x8000 } };
#define SMALL_META     meta_pages(small_ram, 3)  /* records and free maps, one run */
#define SMALL_KERNEL   0x213                    /* 0x212345 bytes, rounded up */
#define SMALL_RESERVED (159 + SMALL_KERNEL + 3 + 0x301 + SMALL_META)

void test_init_small(void)
{
	struct pmm_stats s;

	REQUIRE(fixture_small() == 0);
	CHECK_EQ(pmm_check(), 0);
	pmm_get_stats(&s);
	CHECK_EQ(s.total_pages, SMALL_TOTAL);
	CHECK_EQ(s.reserved_pages, SMALL_RESERVED);
	CHECK_EQ(s.free_pages, SMALL_TOTAL - SMALL_RESERVED);
	CHECK_EQ(s.allocated_pages, 0);
	CHECK_EQ(s.kernel_pages, SMALL_KERNEL);
	CHECK_EQ(s.metadata_bytes, SMALL_META * 4096);
	CHECK_EQ(s.zone_total[ZONE_DMA], 159 + 3840);
	CHECK_EQ(s.zone_total[ZONE_DMA32], SMALL_TOTAL - 159 - 3840);
	CHECK_EQ(s.zone_total[ZONE_NORMAL], 0);
	CHECK_EQ(pmm_free_count(), s.free_pages);
	CHECK(s.metadata_bytes * 1000 <= s.total_pages * 4096 * 2);   /* <= 0.2 % */
	printf("# metadata: %" PRIu64 " bytes for %" PRIu64 " MiB of RAM = %.3f %%\n", s.metadata_bytes,
	       s.total_pages >> 8, 100.0 * s.metadata_bytes / (s.total_pages * 4096.0));
	CHECK(pmm_is_ram(0x1000) && pmm_is_ram(0x7fef000) && !pmm_is_ram(0x3000000) &&
	      !pmm_is_ram(0x9f000) && !pmm_is_ram(0x8000000));
	/* The copies kept for self-tests. */
	const struct pmm_boot *b = pmm_boot_info();
	CHECK_EQ(b->map_len, small_map_len);
	CHECK_EQ(b->protect_len, small_prot_len);
	CHECK_EQ(b->map[3].base, 0x100000);
	size_t n;
	const struct mem_range *san = pmm_sanitized_map(&n);
	CHECK_EQ(n, 7);
	CHECK(san[0].base == 0 && san[0].len == 0x9f000 && san[0].type == MEM_AVAILABLE);
}

static const struct mem_range seabios_4g[] = {
	{ 0x0, 0x9fc00, MEM_AVAILABLE }, { 0x9fc00, 0x400, MEM_RESERVED }, { 0xf0000, 0x10000, MEM_RESERVED },
	{ 0x100000, 0xbfee0000, MEM_AVAILABLE }, { 0xbffe0000, 0x20000, MEM_RESERVED },
	{ 0xfeffc000, 0x4000, MEM_RESERVED }, { 0xfffc0000, 0x40000, MEM_RESERVED },
	{ 0x100000000, 0x40000000, MEM_AVAILABLE }, { 0xfd00000000, 0x300000000, MEM_RESERVED },
};

/* QEMU -m 4G under SeaBIOS: the PCI hole and the 1012 GiB range cost no metadata. */
void test_init_seabios_4g(void)
{
	static const struct mem_range kernel[] = { { 0x100000, 0x400000, PMM_PROTECT_KERNEL } };
	struct pmm_stats s;
	const uint64_t total = 159 + 0xbfee0 + 0x40000;

	REQUIRE(fixture_boot(5 * GiB, seabios_4g, 9, kernel, 1) == 0);
	CHECK_EQ(pmm_check(), 0);
	pmm_get_stats(&s);
	CHECK_EQ(s.total_pages, total);
	static const uint64_t ram[][2] = { { 0, 159 }, { 0x100, 0xbffe0 }, { 0x100000, 0x140000 } };
	CHECK_EQ(s.metadata_bytes, meta_pages(ram, 3) * 4096);        /* 4 MiB, not 4 GiB */
	CHECK(s.metadata_bytes * 1000 <= s.total_pages * 4096 * 2);
	printf("# metadata: %" PRIu64 " KiB for %" PRIu64 " MiB of RAM = %.3f %%\n", s.metadata_bytes >> 10,
	       s.total_pages >> 8, 100.0 * s.metadata_bytes / (s.total_pages * 4096.0));
	CHECK_EQ(s.zone_total[ZONE_NORMAL], 0x40000);
	uint64_t hi = pmm_alloc(0, 0), lo = pmm_alloc(0, PMM_DMA32), dma = pmm_alloc(0, PMM_DMA);
	CHECK(hi >= 4 * GiB && lo < 4 * GiB && lo >= 16 * MiB && dma < 16 * MiB && dma >= MiB);
	uint64_t huge = pmm_alloc(PMM_MAX_ORDER, 0);
	CHECK(huge != PMM_NO_FRAME && huge % GiB == 0);
	CHECK_EQ(pmm_free(huge, PMM_MAX_ORDER), 0);
	CHECK_EQ(pmm_free(hi, 0) | pmm_free(lo, 0) | pmm_free(dma, 0), 0);
	CHECK_EQ(pmm_check(), 0);
	/* The same machine with the HHDM covering only the first 2 GiB: the rest is clipped. */
	struct pmm_boot b = { seabios_4g, 9, kernel, 1, 2 * GiB };
	capture_start();
	REQUIRE(pmm_init(&b) == 0);
	CHECK(capture_count("not yet mapped") == 2);
	pmm_get_stats(&s);
	CHECK_EQ(s.total_pages, 159 + (2 * GiB - MiB) / 4096);
	CHECK_EQ(pmm_check(), 0);
}

void test_init_no_ram(void)
{
	static const struct mem_range reserved_only[] = {
		{ 0, 0x100000, MEM_RESERVED }, { 0x100000, 0x1000000, MEM_NVS }, { 0x2000000, 0x800, MEM_AVAILABLE },
	};
	CHECK_EQ(fixture_boot(64 * MiB, reserved_only, 3, NULL, 0), PMM_E_NO_RAM);
	CHECK(capture_count("pmm: the memory map has no usable RAM") == 1);
	CHECK_EQ(fixture_boot(64 * MiB, NULL, 0, NULL, 0), PMM_E_NO_RAM);
	CHECK_EQ(pmm_alloc(0, 0), PMM_NO_FRAME);
	CHECK_EQ(pmm_alloc_page(0), PMM_NO_FRAME);
	CHECK_EQ(pmm_free_count(), 0);
	CHECK_EQ(pmm_free(0x200000, 0), PMM_E_NOT_RAM);
}

void test_init_too_little(void)
{
	static const struct mem_range two_mib[] = { { 0, 0x200000, MEM_AVAILABLE } };
	static const struct mem_range sixty_four[] = { { 0, 64 * MiB, MEM_AVAILABLE } };
	static const struct mem_range everything[] = { { 0x100000, 63 * MiB, PMM_PROTECT_MODULE } };
	static const struct mem_range nearly[] = { { 0x100000, 63 * MiB - 0x40000, PMM_PROTECT_MODULE } };
	static struct mem_range many[PMM_MAX_PROTECT + 1];

	/* 2 MiB: the first MiB and a page of records leave 255 pages. */
	CHECK_EQ(fixture_boot(64 * MiB, two_mib, 1, NULL, 0), PMM_E_TOO_LITTLE);
	CHECK(capture_count("pmm: too little RAM") == 1);
	CHECK_EQ(pmm_alloc(0, 0), PMM_NO_FRAME);
	CHECK_EQ(fixture_boot(64 * MiB, sixty_four, 1, everything, 1), PMM_E_NO_METADATA);
	CHECK(capture_count("pmm: no free run of RAM can hold the frame records") == 1);
	/* 64 pages left, 16 of them for the records. */
	CHECK_EQ(fixture_boot(64 * MiB, sixty_four, 1, nearly, 1), PMM_E_TOO_LITTLE);
	CHECK_EQ(fixture_boot(64 * MiB, sixty_four, 1, many, PMM_MAX_PROTECT + 1), PMM_E_BAD_BOOT);
	/* Just enough: 513 pages, 256 of them the first MiB, 1 for records, 256 free. */
	static const struct mem_range enough[] = { { 0, 0x201000, MEM_AVAILABLE } };
	CHECK_EQ(fixture_boot(64 * MiB, enough, 1, NULL, 0), 0);
	CHECK_EQ(pmm_free_count(), 256);
	CHECK_EQ(pmm_check(), 0);
}

void test_report(void)
{
	REQUIRE(fixture_small() == 0);
	capture_echo = true;
	pmm_report();
	capture_echo = false;
	const char *t = capture_text();
	char want[200];
	snprintf(want, sizeof(want), "MEMINFO usable_kib=%d free_kib=%d reserved_kib=%d kernel_kib=%d metadata_kib=%d\n",
		 (int)SMALL_TOTAL * 4, (int)(SMALL_TOTAL - SMALL_RESERVED) * 4, (int)SMALL_RESERVED * 4,
		 SMALL_KERNEL * 4, (int)SMALL_META * 4);
	CHECK(strstr(t, want) != NULL);
	CHECK(strstr(t, "pmm: sanitized memory map, 7 entries:") != NULL);
	uint64_t milli = (SMALL_META * 100000 + SMALL_TOTAL / 2) / SMALL_TOTAL;    /* thousandths of a percent */
	snprintf(want, sizeof(want), "%d.%03d %% of RAM", (int)(milli / 1000), (int)(milli % 1000));
	CHECK(strstr(t, want) != NULL);
	for (const char *p = t, *nl; (nl = strchr(p, '\n')); p = nl + 1)
		CHECK(nl - p <= 80 || strncmp(p, "MEMINFO", 7) == 0);   /* tables fit the console */
	capture_count("");
}
