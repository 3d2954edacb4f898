/*
 * fake_arch.h - the host's stand-in for the CPU and for physical RAM.
 *
 * fake_ram_init() maps a block of host memory and makes it physical
 * addresses [0, size): phys_to_virt() then lands inside the block, so the
 * memory layers read and write "RAM" exactly as they do in the kernel.
 */
#ifndef STRATA_TESTS_FAKE_ARCH_H
#define STRATA_TESTS_FAKE_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include "mm/arch.h"

void *fake_ram_init(size_t size);
void fake_ram_free(void);
size_t fake_ram_size(void);

/* Program what CPUID answers for a leaf (subleaf 0). Unset leaves read 0. */
void fake_cpuid_set(uint32_t leaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx);
void fake_cpuid_reset(void);
void fake_set_phys_bits(unsigned bits);

/* What the fake CPU saw, for tests of TLB maintenance. */
struct fake_cpu {
	uint64_t cr3;
	uint64_t invlpg_count, flush_count, global_flush_count;
	uintptr_t last_invlpg;
	int irq_disabled;
};
extern struct fake_cpu fake_cpu;

#endif
