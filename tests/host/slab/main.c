/*
 * main.c - the slab layer's host test: the code that boots, compiled for
 * Linux under ASan and UBSan, over fake RAM and the real buddy.
 */
#include <stdlib.h>
#include "fixture.h"
#include "mm_boot.h"

uint64_t baseline_free;
/* Frames the VMM keeps for region nodes (region_tree.c's node pool: never given back). */
static uint64_t node_pages(void)
{
	struct vm_stats st;

	vmm_stats(vmm_kernel_space(), &st);
	return st.node_pages;
}

static uint64_t baseline_nodes;
/* The heap's standing regions after slab_init: the magazine cache's one warm slab (cache.c, mag_warm). */
static struct vm_stats baseline_vm;

void slab_boot(size_t ram_mb, unsigned dbg)
{
	host_mm_boot(ram_mb * MiB, true);
	slab_fail_nth(0);
	slab_fail_random(0, 0);
	pmm_fail_nth(0);
	slab_trace_set(false);
	slab_debug_set(dbg);
	slab_init();
	pmm_drain_all_caches();
	baseline_free = pmm_free_count();
	baseline_nodes = node_pages();
	vmm_stats(vmm_kernel_space(), &baseline_vm);
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
	CHECK_EQ(st.regions, baseline_vm.regions);      /* every slab and large region given back */
	CHECK_EQ(st.resident, baseline_vm.resident);
	CHECK_EQ(baseline_vm.regions, 1);       /* but the magazine cache's warm slab, which reap keeps */
	CHECK_EQ(vmm_check(vmm_kernel_space()), 0);
	CHECK_EQ(pmm_check(), 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pages_tests();
	fastpath_tests();
	cache_tests();
	kmalloc_tests();
	model_tests();
	debug_tests();
	inject_tests();
	misuse_tests();
	ws_tests();
	return check_finish();
}
