/*
 * fake_arch.h - the host's stand-in for the CPU and for physical RAM.
 *
 * fake_ram_init() maps a block of host memory and makes it physical
 * addresses [0, size): phys_to_virt() then lands inside the block, so the
 * memory layers read and write "RAM" exactly as they do in the kernel.
 * The block is a memfd, so a frame can also be mapped at a second address.
 *
 * The software MMU (fake_mmu_*) uses that to make the VMM's kernel window
 * (vmm.h: a lower-half window on the host) behave like mapped memory: the
 * window is reserved with no access; a touch faults (SIGSEGV), the handler
 * asks the test's translate hook what the current page tables say and, if
 * the page is mapped, maps the frame there with the PTE's protection and
 * lets the access retry. arch_invlpg and the TLB flushes take the pages
 * away again. It is a TLB: what the heap touches, the tables must map, and
 * what the layers unmap, they must invalidate.
 */
#ifndef STRATA_TESTS_FAKE_ARCH_H
#define STRATA_TESTS_FAKE_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include "mm/arch.h"

void *fake_ram_init(size_t size);
void fake_ram_free(void);
size_t fake_ram_size(void);

/* Program what CPUID answers for a leaf (subleaf 0). Unset leaves read 0. */
void fake_cpuid_set(uint32_t leaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx);
void fake_cpuid_reset(void);
void fake_set_phys_bits(unsigned bits);

/*
 * The kernel's console (kprintf) prints each line as a TAP "# " diagnostic;
 * this ends a line it left open, so the next TAP line starts a line.
 */
void fake_console_end_line(void);

/* What the fake CPU saw, for tests of TLB maintenance. */
struct fake_cpu {
	uint64_t cr3;
	uint64_t invlpg_count, flush_count, global_flush_count;
	uintptr_t last_invlpg;
	int irq_disabled;
};
/* One per host thread: a thread is a CPU. */
extern __thread struct fake_cpu fake_cpu;
/* What arch_cpu_index answers on this thread (0 until a test sets it). */
extern __thread unsigned fake_cpu_index;
/* What arch_cpus_online answers (1: only CPU 0). */
extern uint64_t fake_online_mask;
/*
 * Every arch_tlb_shootdown call. last.va is NULL; the last call's first
 * FAKE_SHOOT_VAS pages are copied to last_va instead.
 */
#define FAKE_SHOOT_VAS 64
struct fake_shootdowns {
	uint64_t calls, cpus_seen, last_cpus;
	struct arch_tlb_flush last;
	uintptr_t last_va[FAKE_SHOOT_VAS];
};
extern struct fake_shootdowns fake_shootdowns;
/* If set, run inside every arch_tlb_shootdown, as the other CPUs would be flushing: what may a test see then? */
extern void (*fake_shootdown_hook)(uint64_t cpus, const struct arch_tlb_flush *f);

/*
 * The translate hook: 0 and *pa, *writable for a mapped va in the current
 * address space, non-zero if it is not mapped. Set by the test (e.g. over
 * pg_translate on fake_cpu.cr3): fake_arch links no paging code itself.
 */
typedef int (*fake_translate_fn)(uintptr_t va, uint64_t *pa, bool *writable);

/*
 * Reserve [lo, hi) (page aligned, no access) and install the fault handler,
 * chaining to the previous one (ASan's) for every fault it does not own.
 * Calling it again with the same window only changes the hook. Exits on
 * failure: a test that cannot set up must not pass.
 */
void fake_mmu_init(uintptr_t lo, uintptr_t hi, fake_translate_fn translate);
/* Pages the MMU has loaded ("TLB fills") since fake_mmu_init. */
extern uint64_t fake_mmu_fills;

/*
 * The TLB model (fake_arch.c has what the SDM says each invalidation
 * drops): a CPU's TLB and paging-structure caches, tagged with the PCID of
 * CR3 (fake_cpu.cr3, low 12 bits, when PCIDE is on). It sees the tables in
 * fake RAM, the invalidations through arch_invlpg, arch_write_cr3 and the
 * flushes, and caches only what fake_tlb_access touched, so it is inert
 * for tests that do not use it.
 */
struct fake_xlate {
	bool ok;
	uint64_t pa, size;
	bool w, u, nx, g;
};
/* Empty the model; the level count (4, 5) and CR4.PCIDE it walks with. */
void fake_tlb_reset(unsigned levels, bool pcide);
/* What the CPU would use for va now: a TLB entry, else a walk (from the lowest cached table) that fills. */
struct fake_xlate fake_tlb_access(uintptr_t va);
/* A fresh walk of the tables in CR3, caching nothing. */
struct fake_xlate fake_tlb_walk(uintptr_t va);
/*
 * Entries usable now (the current PCID's, and global TLB entries) that
 * disagree with the tables: a TLB entry whose page now translates
 * otherwise, a paging-structure cache entry whose table is no longer the
 * one the tables name. 0 after correct maintenance.
 */
unsigned fake_tlb_stale(void);
unsigned fake_tlb_entries(void);
/* Make the CPU walk va right after every invalidation, as speculation may (up to 8 addresses). */
void fake_tlb_speculate(uintptr_t va);

/*
 * mm_panic_at (mm/failure.h) on the host prints "PANIC: <layer>: <what>"
 * and aborts, unless a test is catching: FAKE_PANICS(stmt) runs stmt and is
 * 1 if it panicked (the message is then in fake_panic_msg), 0 if not. A
 * panic leaves the layer's locks as they were: the test starts over after.
 */
extern jmp_buf *fake_panic_jmp;
extern char fake_panic_msg[256];
#define FAKE_PANICS(stmt) ({ \
	jmp_buf j_; int p_ = 0; \
	fake_panic_msg[0] = '\0'; \
	if (setjmp(j_) == 0) { fake_panic_jmp = &j_; stmt; } else p_ = 1; \
	fake_panic_jmp = NULL; p_; })

#endif
