/*
 * main.c - the VMM's host test: the code that boots, compiled for Linux
 * under ASan and UBSan, over fake RAM, the real buddy and the real paging
 * layer.
 */
#include <stdlib.h>
#include "vmm_test.h"
#include "fake_arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"

static uint64_t rnd_state = 1;

uint64_t rnd(void)
{
	uint64_t x = rnd_state;
	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	rnd_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void rnd_seed(uint64_t s) { rnd_state = s * 0x9E3779B97F4A7C15ULL | 1; }

/* RAM from 1 MiB up, a CPU with NX and PGE, 4 levels, the kernel's tables, the VMM. */
void vmm_test_boot(size_t ram_mb)
{
	static struct mem_range map[1];
	size_t ram = ram_mb << 20;
	if (fake_ram_size() != ram)
		fake_ram_init(ram);
	map[0] = (struct mem_range){ 1 << 20, ram - (1 << 20), MEM_AVAILABLE };
	struct pmm_boot b = { map, 1, NULL, 0, 0 };
	fake_set_phys_bits(46);
	if (pmm_init(&b))
		abort();
	fake_cpuid_reset();
	fake_cpuid_set(1, 0, 0, 0, 1u << 13);
	fake_cpuid_set(0x80000000, 0x80000008, 0, 0, 0);
	fake_cpuid_set(0x80000001, 0, 0, 0, 1u << 20);
	fake_cpu = (struct fake_cpu){ 0 };
	struct kernel_layout k = { .nsect = 0 };
	if (paging_init(4) || paging_build_kernel(&k) || vmm_init())
		abort();
	vmm_fault_around = 0;
}

int main(void)
{
	tree_tests();
	space_tests();
	fault_tests();
	inject_tests();
	return check_finish();
}
