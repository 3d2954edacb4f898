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
#include "bench/bench.h"

void bench_slab(void);

#ifdef BENCH_SLAB_LIBC
int main(void)
{
	bench_tsc_khz();
	bench_slab();
	return 0;
}
#else
#include <stdlib.h>
#include "mm_boot.h"
#include "mm/slab/slab.h"

/*
 * 1 GiB of fake RAM, the buddy, the kernel's tables, the VMM and a fresh
 * heap: the kernel's stack at boot, the heap's pages reached through the
 * software MMU like the host tests.
 */
int main(void)
{
	host_mm_boot(1UL << 30, true);
	slab_init();
	bench_tsc_khz();
	bench_slab();
	return 0;
}
#endif
#endif
