/*
 * paging.c - the page-table engine's costs, the same code in the kernel and
 * on the host: 4 KiB maps and unmaps across 1 GiB of virtual space, with
 * the tables there already and without; translate; and, in the kernel
 * only, one invlpg against a full flush - the numbers behind
 * TLB_FULL_FLUSH_PAGES.
 *
 * The range is in the user half of a root that is not current, so the
 * engine's own work is measured, not TLB maintenance. Mapping never
 * touches the target frames: any physical address will do.
 */
#include "bench/bench.h"
#include "mm/paging/paging.h"
#include "mm/buddy/buddy.h"
#include "mm/arch.h"
#include "lib/kprintf.h"

#define B_VA    0x0000400000000000UL
#define B_PA    0x0000000100000000UL
#define B_LEN   (1UL << 30)
#define B_PAGES (B_LEN / PAGE_SIZE)
#define RW      (PG_READ | PG_WRITE | PG_SIZE_4K)

/* Map (or unmap) every page whose index i has (i % 512 != 0) == rest; returns cycles. */
static uint64_t each_page(pg_root_t root, bool map, int which, uint64_t *ops)
{
	uint64_t t0 = bench_cycles(), n = 0;
	for (uint64_t i = 0; i < B_PAGES; i++) {
		if (which >= 0 && (i % 512 != 0) != which)
			continue;
		int err = map ? pg_map(root, B_VA + i * PAGE_SIZE, B_PA + i * PAGE_SIZE, PAGE_SIZE, RW)
			      : pg_unmap(root, B_VA + i * PAGE_SIZE, PAGE_SIZE);
		if (err) {
			kprintf("bench_paging: %s page %lu: %s\n", map ? "map" : "unmap", i, pg_error_str(err));
			break;
		}
		n++;
	}
	*ops = n;
	return bench_cycles() - t0;
}

static void bench_translate(pg_root_t root)
{
	enum { N = 1000000 };
	uint64_t s = 42, pa, sum = 0;
	uint64_t t0 = bench_cycles();
	for (int i = 0; i < N; i++) {
		pg_translate(root, B_VA + (bench_rand(&s) % B_PAGES) * PAGE_SIZE, &pa, NULL, NULL);
		sum += pa;
	}
	bench_report("paging_translate", N, bench_cycles() - t0, sum ? NULL : "sum=0");
}

static void bench_range(pg_root_t root)
{
	uint64_t t0 = bench_cycles();
	int err = pg_map(root, B_VA, B_PA, B_LEN, RW);
	uint64_t t1 = bench_cycles();
	if (!err)
		err = pg_unmap(root, B_VA, B_LEN);
	uint64_t t2 = bench_cycles();
	if (err)
		kprintf("bench_paging: 1 GiB range: %s\n", pg_error_str(err));
	bench_report("paging_map_1g_one_call_per_4k", B_PAGES, t1 - t0, NULL);
	bench_report("paging_unmap_1g_one_call_per_4k", B_PAGES, t2 - t1, NULL);
}

#ifndef STRATA_HOST
/* One page dropped and touched again, against the whole TLB dropped and one page touched. */
static void bench_flush(void)
{
	enum { N = 20000 };
	volatile uint8_t *p = phys_to_virt(0x100000);
	volatile uint8_t *q[TLB_FULL_FLUSH_PAGES];
	char extra[48];
	for (unsigned i = 0; i < TLB_FULL_FLUSH_PAGES; i++)
		q[i] = phys_to_virt(0x100000 + i * PAGE_SIZE * 513UL % 0x200000);
	uint64_t t0 = bench_cycles();
	for (int i = 0; i < N; i++) {
		arch_invlpg((uintptr_t)p);
		(void)*p;
	}
	uint64_t t1 = bench_cycles();
	for (int i = 0; i < N; i++) {
		arch_flush_tlb();
		(void)*p;
	}
	uint64_t t2 = bench_cycles();
	for (int i = 0; i < N / 10; i++) {
		for (unsigned k = 0; k < TLB_FULL_FLUSH_PAGES; k++)
			arch_invlpg((uintptr_t)q[k]);
		for (unsigned k = 0; k < TLB_FULL_FLUSH_PAGES; k++)
			(void)*q[k];
	}
	uint64_t t3 = bench_cycles();
	for (int i = 0; i < N / 10; i++) {
		arch_flush_tlb();
		for (unsigned k = 0; k < TLB_FULL_FLUSH_PAGES; k++)
			(void)*q[k];
	}
	uint64_t t4 = bench_cycles();
	ksnprintf(extra, sizeof(extra), "pages=%u", TLB_FULL_FLUSH_PAGES);
	bench_report("tlb_invlpg_one_page", N, t1 - t0, NULL);
	bench_report("tlb_full_flush", N, t2 - t1, NULL);
	bench_report("tlb_invlpg_threshold_pages", N / 10, t3 - t2, extra);
	bench_report("tlb_full_flush_threshold_pages", N / 10, t4 - t3, extra);
}
#endif

void bench_paging(void)
{
	pg_root_t root = pg_root_create();
	uint64_t ops, free0 = pmm_free_count();
	if (root == PG_NO_ROOT) {
		kprintf("bench_paging: no frame for a root\n");
		return;
	}
	uint64_t c = each_page(root, true, -1, &ops);
	bench_report("paging_map_4k_new_tables", ops, c, NULL);
	bench_translate(root);
	c = each_page(root, false, -1, &ops);
	bench_report("paging_unmap_4k_freeing_tables", ops, c, NULL);
	each_page(root, true, 0, &ops);          /* one page per table keeps the tables */
	c = each_page(root, true, 1, &ops);
	bench_report("paging_map_4k_tables_present", ops, c, NULL);
	c = each_page(root, false, 1, &ops);
	bench_report("paging_unmap_4k_tables_stay", ops, c, NULL);
	each_page(root, false, 0, &ops);
	bench_range(root);
	if (pmm_free_count() != free0)
		kprintf("bench_paging: %ld frames not given back\n", (long)(free0 - pmm_free_count()));
	pg_root_destroy(root);
#ifndef STRATA_HOST
	bench_flush();
#endif
}
