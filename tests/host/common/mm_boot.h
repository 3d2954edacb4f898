/*
 * mm_boot.h - the memory stack started on the host the way kmain starts it:
 * fake RAM with one range of RAM from 1 MiB up, a CPU with NX and PGE,
 * 4-level paging with the kernel's tables, then the VMM.
 *
 * A header of static functions, so that the tests of the lower layers,
 * which do not link paging or the VMM, never see it.
 */
#ifndef STRATA_TESTS_MM_BOOT_H
#define STRATA_TESTS_MM_BOOT_H

#include <stdbool.h>
#include <stdlib.h>
#include "fake_arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"

/* The software MMU's walk: the tables of the root in CR3, as the CPU walks them. */
static inline int host_mmu_translate(uintptr_t va, uint64_t *pa, bool *writable)
{
	unsigned flags;
	if (pg_translate(pg_current_root(), va, pa, &flags, NULL))
		return -1;
	*writable = flags & PG_WRITE;
	return 0;
}

/*
 * Start buddy, paging and VMM over ram bytes of fake RAM; with mmu, the
 * VMM's kernel areas become touchable through the software MMU. Aborts
 * if a layer refuses: every test after it would be meaningless.
 */
static inline void host_mm_boot(size_t ram, bool mmu)
{
	static struct mem_range map[1];
	if (fake_ram_size() != ram)
		fake_ram_init(ram);
	map[0] = (struct mem_range){ 1 << 20, ram - (1 << 20), MEM_AVAILABLE };
	struct pmm_boot b = { map, 1, NULL, 0, 0 };
	fake_set_phys_bits(46);
	if (pmm_init(&b))
		abort();
	fake_cpuid_reset();
	fake_cpuid_set(0x80000000, 0x80000008, 0, 0, 0);
	fake_cpuid_set(1, 0, 0, 0, 1u << 13);                  /* PGE */
	fake_cpuid_set(0x80000001, 0, 0, 0, 1u << 20);         /* NX */
	fake_cpu = (struct fake_cpu){ 0 };
	if (mmu)
		fake_mmu_init(VMM_KERNEL_BASE, VMM_KERNEL_END, host_mmu_translate);
	struct kernel_layout k = { .nsect = 0 };
	if (paging_init(4) || paging_build_kernel(&k) || vmm_init())
		abort();
}

#endif
