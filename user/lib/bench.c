/*
 * bench.c - what the ring-3 benchmarks (user/bench/) share: one BENCH
 * line per loop, in the kernel's format (bench/bench.h), from TSC cycles
 * and the TSC rate meminfo gives.
 */
#include "strata.h"

static unsigned long khz;

void bench_set_khz(unsigned long tsc_khz) { khz = tsc_khz; }

/* ns and cycles per op with two decimals, in integers: the programs have no FPU. */
void bench_report(const char *name, unsigned long ops, unsigned long cycles)
{
	unsigned long c100 = cycles * 100 / ops;
	unsigned long ns100 = khz ? c100 * 1000000 / khz : 0;     /* ns = cycles * 10^6 / kHz */
	printf("BENCH name=%s ops=%lu ns_per_op=%lu.%02lu cycles_per_op=%lu.%02lu\n",
	       name, ops, ns100 / 100, ns100 % 100, c100 / 100, c100 % 100);
}
