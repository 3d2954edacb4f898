/*
 * arch.h - the few CPU operations the memory layers need.
 *
 * This header is the seam between src/mm/ and the machine. The kernel
 * implements it with instructions (src/arch/x86_64/cpu.c); the host tests
 * implement it with fakes (tests/host/common/fake_arch.c), so the code under
 * src/mm/ compiles unchanged for both.
 */
#ifndef STRATA_MM_ARCH_H
#define STRATA_MM_ARCH_H

#include <stdint.h>
#include "mm/types.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE  4096UL

/*
 * Every byte of RAM is reachable at hhdm_offset + its physical address:
 * 0xffff800000000000 in the kernel, the base of the block standing in for
 * RAM on the host.
 */
extern uintptr_t hhdm_offset;

static inline void *phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)(pa + hhdm_offset); }
static inline uint64_t virt_to_phys(const void *va) { return (uint64_t)(uintptr_t)va - hhdm_offset; }

/* CPUID: out[0..3] = eax, ebx, ecx, edx. */
void arch_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

uint64_t arch_read_cr3(void);
void arch_write_cr3(uint64_t cr3);
void arch_invlpg(uintptr_t va);
void arch_flush_tlb(void);          /* everything but global entries */
void arch_flush_tlb_global(void);   /* global entries too */
uint64_t arch_rdtsc(void);

/* Interrupt state: save-and-disable, then restore what was saved. */
uint64_t arch_irq_save(void);
void arch_irq_restore(uint64_t flags);

/* Index of the running CPU (0 until SMP brings up the others). */
unsigned arch_cpu_index(void);
#define ARCH_MAX_CPUS 8

/* Physical address bits the CPU implements (CPUID 0x80000008), 36 if unknown. */
unsigned arch_phys_bits(void);

#endif
