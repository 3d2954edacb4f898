/*
 * main.c - the slab layer's host test: the code that boots, compiled for
 * Linux under ASan and UBSan, over fake RAM and the real buddy.
 */
#include <stdlib.h>
#include "fixture.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"

uint64_t baseline_free;
static uint64_t rnd_state = 1;

uint64_t rnd(void)
{
	uint64_t x = rnd_state;
	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	rnd_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void rnd_seed(uint64_t s) { rnd_state = s * 0x9E3779B97F4A7C15ULL | 1; }

/*
 * The software MMU's view of the tables: the root in CR3, as the CPU
 * walks it. What the heap touches in the kernel window is loaded from
 * here, so a page the tables do not map crashes the test.
 */
static int mmu_translate(uintptr_t va, uint64_t *pa, bool *writable)
{
	unsigned flags;

	if (pg_translate(pg_current_root(), va, pa, &flags, NULL))
		return -1;
	*writable = flags & PG_WRITE;
	return 0;
}

/* Frames the VMM keeps for region nodes (node_pool.c: never given back). */
static uint64_t node_pages(void)
{
	struct vm_stats st;

	vmm_stats(vmm_kernel_space(), &st);
	return st.node_pages;
}

static uint64_t baseline_nodes;

void slab_boot(size_t ram_mb, unsigned dbg)
{
	static struct mem_range map[1];
	size_t ram = ram_mb * MiB;

	if (fake_ram_size() != ram)
		fake_ram_init(ram);
	map[0] = (struct mem_range){ 1 * MiB, ram - 1 * MiB, MEM_AVAILABLE };
	struct pmm_boot b = { map, 1, NULL, 0, 0 };
	fake_set_phys_bits(46);
	if (pmm_init(&b))
		abort();
	fake_cpuid_reset();
	fake_cpuid_set(0x80000000, 0x80000008, 0, 0, 0);
	fake_cpuid_set(1, 0, 0, 0, 1u << 13);                  /* PGE */
	fake_cpuid_set(0x80000001, 0, 0, 0, 1u << 20);         /* NX */
	fake_cpu = (struct fake_cpu){ 0 };
	struct kernel_layout k = { .nsect = 0 };
	fake_mmu_init(VMM_KERNEL_BASE, VMM_KERNEL_END, mmu_translate);
	if (paging_init(4) || paging_build_kernel(&k) || vmm_init())
		abort();
	slab_fail_nth(0);
	slab_fail_random(0, 0);
	pmm_fail_nth(0);
	slab_trace_set(false);
	slab_debug_set(dbg);
	slab_init();
	pmm_drain_all_caches();
	baseline_free = pmm_free_count();
	baseline_nodes = node_pages();
}

void expect_all_back(void)
{
	slab_fail_nth(0);
	slab_fail_random(0, 0);
	pmm_fail_nth(0);
	slab_reap();
	pmm_drain_all_caches();
	CHECK_EQ(slab_check(), 0);
	CHECK_EQ(slab_live_objects(), 0);
	/*
	 * Every frame back: slabs, large pages, the page tables that mapped
	 * them, the owner table's leaves, the VMM's pages of region nodes.
	 */
	CHECK_EQ(pmm_free_count(), baseline_free);
	CHECK_EQ(node_pages(), baseline_nodes);
	struct vm_stats st;
	vmm_stats(vmm_kernel_space(), &st);
	CHECK_EQ(st.regions, 0);                /* every slab and large region given back */
	CHECK_EQ(st.resident, 0);
	CHECK_EQ(vmm_check(vmm_kernel_space()), 0);
	CHECK_EQ(pmm_check(), 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	backing_tests();
	fastpath_tests();
	cache_tests();
	kmalloc_tests();
	model_tests();
	debug_tests();
	inject_tests();
	return check_finish();
}
