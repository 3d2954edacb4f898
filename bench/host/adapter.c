/*
 * adapter.c - bench/bench.h on the host: TSC cycles, turned into ns with a
 * TSC frequency measured against the monotonic clock. Linked into every
 * host benchmark; the kernel build leaves bench/host/ out and links its
 * twin, bench/kernel/adapter.c.
 */
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <x86intrin.h>
#include "bench/bench.h"

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
