/* cpu.c - the kernel's implementation of mm/arch.h, one instruction each. */
#include "mm/arch.h"
#include "arch/x86_64/io.h"

uintptr_t hhdm_offset = 0xffff800000000000UL;

void arch_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3])
			 : "a"(leaf), "c"(subleaf));
}

uint64_t arch_read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

void arch_write_cr3(uint64_t cr3) { __asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory"); }
void arch_invlpg(uintptr_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }
void arch_flush_tlb(void) { arch_write_cr3(arch_read_cr3()); }

/* Toggling CR4.PGE drops global entries as well. */
void arch_flush_tlb_global(void)
{
	uint64_t cr4 = read_cr4();
	if (cr4 & (1UL << 7)) {
		write_cr4(cr4 & ~(1UL << 7));
		write_cr4(cr4);
	} else {
		arch_flush_tlb();
	}
}

uint64_t arch_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

unsigned arch_phys_bits(void)
{
	uint32_t r[4];
	arch_cpuid(0x80000000, 0, r);
	if (r[0] < 0x80000008)
		return 36;
	arch_cpuid(0x80000008, 0, r);
	return r[0] & 0xff;
}
