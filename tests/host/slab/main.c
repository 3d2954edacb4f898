/*
 * main.c - the slab layer's host test: the code that boots, compiled for
 * Linux under ASan and UBSan, over fake RAM and the real buddy.
 */
#include <stdlib.h>
#include "fixture.h"
#include "mm/paging/paging.h"

uint64_t baseline_free;
static uint64_t rnd_state = 1;

uint64_t rnd(void)
{
	uint64_t x = rnd_state;
	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	rnd_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void rnd_seed(uint64_t s) { rnd_state = s * 0x9E3779B97F4A7C15ULL | 1; }

void slab_boot(size_t ram_mb, unsigned dbg)
{
	static struct mem_range map[1];
	size_t ram = ram_mb * MiB;

	if (fake_ram_size() != ram)
		fake_ram_init(ram);
	map[0] = (struct mem_range){ 1 * MiB, ram - 1 * MiB, MEM_AVAILABLE };
	struct pmm_boot b = { map, 1, NULL, 0, 0 };
	fake_set_phys_bits(46);
	if (pmm_init(&b))
		abort();
	fake_cpuid_reset();
	fake_cpuid_set(0x80000000, 0x80000008, 0, 0, 0);
	fake_cpu = (struct fake_cpu){ 0 };
	if (paging_init(4))
		abort();
	slab_fail_nth(0);
	slab_fail_random(0, 0);
	pmm_fail_nth(0);
	slab_trace_set(false);
	slab_debug_set(dbg);
	slab_init();
	pmm_drain_all_caches();
	baseline_free = pmm_free_count();
}

void expect_all_back(void)
{
	slab_fail_nth(0);
	slab_fail_random(0, 0);
	pmm_fail_nth(0);
	slab_reap();
	pmm_drain_all_caches();
	CHECK_EQ(slab_check(), 0);
	CHECK_EQ(slab_live_objects(), 0);
	CHECK_EQ(pmm_free_count(), baseline_free);
	CHECK_EQ(pmm_check(), 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	cache_tests();
	kmalloc_tests();
	model_tests();
	debug_tests();
	inject_tests();
	return check_finish();
}
