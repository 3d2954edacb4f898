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

#include <stdbool.h>
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

/*
 * Interrupt state: save-and-disable, then restore what was saved. Inline
 * in the kernel, where every spinlock of every layer takes one pair: a
 * call and a return around three instructions cost as much again.
 */
#ifdef STRATA_HOST
uint64_t arch_irq_save(void);
void arch_irq_restore(uint64_t flags);
#else
static inline uint64_t arch_irq_save(void)
{
	uint64_t flags;
	__asm__ volatile("pushfq; pop %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void arch_irq_restore(uint64_t flags)
{
	if (flags & (1UL << 9))         /* IF */
		__asm__ volatile("sti" : : : "memory");
}
#endif

/*
 * Index of the running CPU: 0 is the boot CPU, the others are numbered as
 * they come online. In the kernel it is one load through GS (the per-CPU
 * block, src/arch/x86_64/percpu.h, keeps its index at ARCH_PERCPU_INDEX).
 * The kernel never moves a running thread of kernel code to another CPU,
 * so the value may be read once and kept.
 */
#define ARCH_MAX_CPUS 8
#define ARCH_PERCPU_INDEX 8
#ifdef STRATA_HOST
unsigned arch_cpu_index(void);
#else
static inline unsigned arch_cpu_index(void)
{
	unsigned v;
	__asm__("movl %%gs:%c1, %0" : "=r"(v) : "i"(ARCH_PERCPU_INDEX));
	return v;
}
#endif

/* The CPUs that run (bit i for index i). Bits are only ever added. */
uint64_t arch_cpus_online(void);

/*
 * What one CPU must drop from its TLB: n pages (va[0..n)), or everything
 * (all), global entries too (global). Another CPU may run a different
 * address space by the time it gets the request; dropping entries of the
 * wrong one is harmless, and the paging layer has already marked the
 * right one stale for when it comes back (tlb.c).
 */
struct arch_tlb_flush {
	const uintptr_t *va;
	unsigned n;
	bool all, global;
};

/*
 * Have every CPU in cpus (never the caller's own) carry out f, and return
 * once all have. Callable with interrupts off and with locks held: a CPU
 * that waits here or spins on a lock (arch_spin_relax) still answers
 * other CPUs' requests, so two CPUs shooting at each other cannot deadlock.
 */
void arch_tlb_shootdown(uint64_t cpus, const struct arch_tlb_flush *f);

/* The body of every spin-wait loop: a pause, and any flush another CPU asked of this one. */
void arch_spin_relax(void);

/* Physical address bits the CPU implements (CPUID 0x80000008), 36 if unknown. */
unsigned arch_phys_bits(void);

#endif
