/*
 * vmm.c - what the VMM's work costs, measured in the kernel.
 *
 *   vmm_demand_fault           first write to each page of an on-demand
 *                              region of a process space, CR3 loaded: a
 *                              real #PF, vmm_fault, a zeroed frame, the
 *                              mapping, the return. ns per page.
 *   vmm_demand_fault_around15  the same with vmm_set_fault_around(15): one
 *                              fault maps 16 pages.
 *   vmm_kernel_demand_fault    the same in the kernel's large area.
 *   vmm_fault_call             vmm_fault called directly, no trap: the
 *                              VMM's and paging's share of the cost.
 *   vmm_region_alloc_free      vmm_alloc + vmm_free of a 16 KiB on-demand
 *                              region among 1000 others.
 *
 * Each is the best of a few runs. bench/host/linux_fault.c measures
 * Linux's first-touch fault the same way, for comparison.
 */
#include "bench/bench.h"
#include "arch/x86_64/protect.h"
#include "lib/kprintf.h"
#include "mm/arch.h"
#include "mm/vmm/vmm.h"

#define URW (VM_READ | VM_WRITE | VM_USER)
#define PAGES 4096              /* 16 MiB a run */
#define RUNS 5
#define UVA 0x10000000UL

/* Cycles to write the first word of each of n pages from va. */
static uint64_t touch_pages(uintptr_t va, unsigned n)
{
	uint64_t t0 = bench_cycles();
	for (unsigned i = 0; i < n; i++)
		*(volatile uint64_t *)(va + (uintptr_t)i * PAGE_SIZE) = i;
	return bench_cycles() - t0;
}

/* Best of RUNS: a fresh space and region each run, touched with the space in CR3. */
static void bench_process_fault(const char *name, unsigned around)
{
	uint64_t best = ~0ULL, faults = 0;
	unsigned saved = vmm_set_fault_around(around);
	for (int run = 0; run < RUNS; run++) {
		struct vm_space *s = vmm_space_create();
		struct vm_req r = { .len = PAGES * PAGE_SIZE, .kind = VM_DEMAND, .flags = URW };
		if (!s || vmm_alloc_fixed(s, UVA, &r)) {
			kprintf("bench: %s: no memory\n", name);
			if (s)
				vmm_space_destroy(s);
			break;
		}
		vmm_switch(s);
		user_access_begin();
		uint64_t c = touch_pages(UVA, PAGES);
		user_access_end();
		vmm_switch(vmm_kernel_space());
		struct vm_stats st;
		vmm_stats(s, &st);
		if (c < best)
			best = c, faults = st.faults;
		vmm_space_destroy(s);
	}
	vmm_set_fault_around(saved);
	char extra[64];
	ksnprintf(extra, sizeof(extra), "fault_around=%u faults=%lu", around, faults);
	bench_report(name, PAGES, best, extra);
}

static void bench_kernel_fault(void)
{
	struct vm_space *k = vmm_kernel_space();
	uint64_t best = ~0ULL;
	for (int run = 0; run < RUNS; run++) {
		struct vm_req r = { .len = PAGES * PAGE_SIZE, .kind = VM_DEMAND, .flags = VM_READ | VM_WRITE,
				    .lo = VMM_KLARGE_BASE, .hi = VMM_KMMIO_BASE };
		uintptr_t va;
		if (vmm_alloc(k, &r, &va))
			return;
		uint64_t c = touch_pages(va, PAGES);
		best = c < best ? c : best;
		vmm_free(k, va, r.len);
	}
	bench_report("vmm_kernel_demand_fault", PAGES, best, "fault_around=0");
}

static void bench_fault_call(void)
{
	uint64_t best = ~0ULL;
	for (int run = 0; run < RUNS; run++) {
		struct vm_space *s = vmm_space_create();
		struct vm_req r = { .len = PAGES * PAGE_SIZE, .kind = VM_DEMAND, .flags = URW };
		if (!s || vmm_alloc_fixed(s, UVA, &r)) {
			if (s)
				vmm_space_destroy(s);
			return;
		}
		uint64_t t0 = bench_cycles();
		for (unsigned i = 0; i < PAGES; i++)
			vmm_fault(s, UVA + (uintptr_t)i * PAGE_SIZE, VM_ACC_WRITE | VM_ACC_USER, 0);
		uint64_t c = bench_cycles() - t0;
		best = c < best ? c : best;
		vmm_space_destroy(s);
	}
	bench_report("vmm_fault_call", PAGES, best, "trap=no");
}

static void bench_alloc_free(void)
{
	enum { OTHERS = 1000, OPS = 20000 };
	struct vm_space *s = vmm_space_create();
	if (!s)
		return;
	for (unsigned i = 0; i < OTHERS; i++) {
		struct vm_req r = { .len = PAGE_SIZE, .kind = VM_DEMAND, .flags = URW };
		vmm_alloc_fixed(s, UVA + (uintptr_t)i * 8 * PAGE_SIZE, &r);
	}
	uint64_t best = ~0ULL;
	for (int run = 0; run < RUNS; run++) {
		uint64_t t0 = bench_cycles();
		for (unsigned i = 0; i < OPS; i++) {
			struct vm_req r = { .len = 4 * PAGE_SIZE, .kind = VM_DEMAND, .flags = URW };
			uintptr_t va;
			if (vmm_alloc(s, &r, &va) || vmm_free(s, va, r.len))
				break;
		}
		uint64_t c = bench_cycles() - t0;
		best = c < best ? c : best;
	}
	vmm_space_destroy(s);
	bench_report("vmm_region_alloc_free", OPS, best, "regions=1000");
}

void bench_vmm(void)
{
	bench_process_fault("vmm_demand_fault", 0);
	bench_process_fault("vmm_demand_fault_around15", 15);
	bench_kernel_fault();
	bench_fault_call();
	bench_alloc_free();
}
