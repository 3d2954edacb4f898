/*
 * bench.h - what a benchmark reports, identical in the kernel and on the host.
 *
 * A benchmark measures cycles with the TSC and calls bench_report(); the
 * build it runs in turns cycles into nanoseconds (the kernel with the TSC
 * frequency calibrated at boot, the host with one calibrated against the
 * monotonic clock) and prints one line:
 *   BENCH name=<name> ops=<n> ns_per_op=<x.yy> cycles_per_op=<x.yy> [extra]
 * Benchmarks print numbers; they never pass or fail.
 */
#ifndef STRATA_BENCH_H
#define STRATA_BENCH_H

#include <stdint.h>
#include "lib/prng.h"

uint64_t bench_cycles(void);          /* serialising TSC read */
uint64_t bench_tsc_khz(void);         /* TSC ticks per millisecond */
/* extra: further "key=value" pairs, or NULL. */
void bench_report(const char *name, uint64_t ops, uint64_t cycles, const char *extra);

/*
 * Every layer's benchmarks, one entry each (bench/<layer>.c), run in layer
 * order by mode=bench (bench/kernel/run_all.c) or by a host benchmark.
 */
void bench_buddy(void);
void bench_paging(void);
void bench_vmm(void);
void bench_fork(void);            /* copy-on-write fork against an eager copy */
void bench_slab(void);
void bench_smp(void);            /* kernel only: bench/kernel/smp.c */

/* The tree's PRNG, so kernel and host draw the same sequences. */
static inline uint64_t bench_rand(uint64_t *state)
{
	return prng_next(state);
}

#endif
