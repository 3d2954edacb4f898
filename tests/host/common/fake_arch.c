#include <stdlib.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <x86intrin.h>
#include "fake_arch.h"
#include "lib/kprintf.h"

uintptr_t hhdm_offset;
struct fake_cpu fake_cpu;

static void *ram;
static size_t ram_size;
static unsigned phys_bits = 46;

#define FAKE_LEAVES 16
static struct { uint32_t leaf, r[4]; int used; } leaves[FAKE_LEAVES];

static void host_putc(char c) { putchar(c); }

void *fake_ram_init(size_t size)
{
	fake_ram_free();
	ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED) {
		perror("fake_ram_init: mmap");
		exit(2);
	}
	ram_size = size;
	hhdm_offset = (uintptr_t)ram;
	console_set_sink(host_putc);
	return ram;
}

void fake_ram_free(void)
{
	if (ram)
		munmap(ram, ram_size);
	ram = NULL, ram_size = 0;
}

size_t fake_ram_size(void) { return ram_size; }

void fake_cpuid_set(uint32_t leaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	for (int i = 0; i < FAKE_LEAVES; i++) {
		if (!leaves[i].used || leaves[i].leaf == leaf) {
			leaves[i].used = 1, leaves[i].leaf = leaf;
			leaves[i].r[0] = eax, leaves[i].r[1] = ebx, leaves[i].r[2] = ecx, leaves[i].r[3] = edx;
			return;
		}
	}
	abort();
}

void fake_cpuid_reset(void) { memset(leaves, 0, sizeof(leaves)); }
void fake_set_phys_bits(unsigned bits) { phys_bits = bits; }

void arch_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	(void)subleaf;
	out[0] = out[1] = out[2] = out[3] = 0;
	for (int i = 0; i < FAKE_LEAVES; i++)
		if (leaves[i].used && leaves[i].leaf == leaf)
			memcpy(out, leaves[i].r, sizeof(leaves[i].r));
}

uint64_t arch_read_cr3(void) { return fake_cpu.cr3; }
void arch_write_cr3(uint64_t cr3) { fake_cpu.cr3 = cr3; fake_cpu.flush_count++; }
void arch_invlpg(uintptr_t va) { fake_cpu.invlpg_count++; fake_cpu.last_invlpg = va; }
void arch_flush_tlb(void) { fake_cpu.flush_count++; }
void arch_flush_tlb_global(void) { fake_cpu.global_flush_count++; }
uint64_t arch_rdtsc(void) { return __rdtsc(); }

uint64_t arch_irq_save(void)
{
	uint64_t was = fake_cpu.irq_disabled;
	fake_cpu.irq_disabled = 1;
	return was;
}

void arch_irq_restore(uint64_t flags) { fake_cpu.irq_disabled = (int)flags; }
unsigned arch_cpu_index(void) { return 0; }
unsigned arch_phys_bits(void) { return phys_bits; }
