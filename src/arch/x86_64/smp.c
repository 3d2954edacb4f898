/* smp.c - placeholder until the APs start: one CPU. */
#include "mm/arch.h"

static uint64_t online_mask = 1;

uint64_t arch_cpus_online(void) { return __atomic_load_n(&online_mask, __ATOMIC_ACQUIRE); }
void arch_spin_relax(void) { __builtin_ia32_pause(); }
void arch_tlb_shootdown(uint64_t cpus, const struct arch_tlb_flush *f) { (void)cpus; (void)f; }
