/*
 * slab_bench.c - the host driver of bench/slab.c, for the allocator
 * comparison (scripts/bench_alloc.sh).
 *
 * Built twice: with the Strata heap over fake RAM (the loops call kmalloc),
 * and with BENCH_SLAB_LIBC (the loops call malloc, which LD_PRELOAD turns
 * into jemalloc, mimalloc or tcmalloc). Compiled only for the host: the
 * kernel build, which takes every .c under bench/, sees an empty file.
 */
#ifdef STRATA_HOST
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <x86intrin.h>
#include "bench/bench.h"

void bench_slab(void);

uint64_t bench_cycles(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* TSC ticks per millisecond, against the monotonic clock over 100 ms. */
uint64_t bench_tsc_khz(void)
{
	static uint64_t khz;
	if (!khz) {
		double t0 = now_ns();
		uint64_t c0 = bench_cycles();
		while (now_ns() - t0 < 100e6)
			;
		khz = (uint64_t)((bench_cycles() - c0) / ((now_ns() - t0) / 1e6));
	}
	return khz;
}

void bench_report(const char *name, uint64_t ops, uint64_t cycles, const char *extra)
{
	double cyc = (double)cycles / (ops ? ops : 1);
	printf("BENCH name=%s ops=%llu ns_per_op=%.2f cycles_per_op=%.2f%s%s\n", name,
	       (unsigned long long)ops, cyc * 1e6 / bench_tsc_khz(), cyc, extra ? " " : "",
	       extra ? extra : "");
	fflush(stdout);
}

#ifdef BENCH_SLAB_LIBC
int main(void)
{
	bench_tsc_khz();
	bench_slab();
	return 0;
}
#else
#include <stdlib.h>
#include "fake_arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"
#include "mm/slab/slab.h"

/* The software MMU's walk of the current tables (as in the host tests). */
static int mmu_translate(uintptr_t va, uint64_t *pa, bool *writable)
{
	unsigned flags;
	if (pg_translate(pg_current_root(), va, pa, &flags, NULL))
		return -1;
	*writable = flags & PG_WRITE;
	return 0;
}

/*
 * 1 GiB of fake RAM, the buddy, the kernel's tables, the VMM and a fresh
 * heap: the kernel's stack at boot, the heap's pages reached through the
 * software MMU like the host tests.
 */
int main(void)
{
	static struct mem_range map[1];
	size_t ram = 1UL << 30;
	struct kernel_layout k = { .nsect = 0 };
	fake_ram_init(ram);
	map[0] = (struct mem_range){ 1 << 20, ram - (1 << 20), MEM_AVAILABLE };
	struct pmm_boot b = { map, 1, NULL, 0, 0 };
	if (pmm_init(&b))
		abort();
	fake_cpuid_set(0x80000000, 0x80000008, 0, 0, 0);
	fake_cpuid_set(1, 0, 0, 0, 1u << 13);
	fake_cpuid_set(0x80000001, 0, 0, 0, 1u << 20);
	fake_mmu_init(VMM_KERNEL_BASE, VMM_KERNEL_END, mmu_translate);
	if (paging_init(4) || paging_build_kernel(&k) || vmm_init())
		abort();
	slab_init();
	bench_tsc_khz();
	bench_slab();
	return 0;
}
#endif
#endif
