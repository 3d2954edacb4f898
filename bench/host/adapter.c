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

static uint64_t tsc(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

/*
 * Built with -DBENCH_CALLGRIND (scripts/bench_instr.sh), for a run under
 * valgrind --tool=callgrind --collect-atstart=no: each bench_cycles()
 * switches callgrind's counting on or off (a benchmark reads it in pairs,
 * around what it measures), and bench_report() dumps the count under the
 * benchmark's name, so each dump holds the instructions of exactly the
 * timed part of one benchmark.
 */
#ifdef BENCH_CALLGRIND
#include <valgrind/callgrind.h>
#define COUNT_TOGGLE()    CALLGRIND_TOGGLE_COLLECT
#define COUNT_DUMP(name)  CALLGRIND_DUMP_STATS_AT(name)
#else
#define COUNT_TOGGLE()    ((void)0)
#define COUNT_DUMP(name)  ((void)(name))
#endif

uint64_t bench_cycles(void)
{
	COUNT_TOGGLE();
	return tsc();
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
		uint64_t c0 = tsc();
		while (now_ns() - t0 < 100e6)
			;
		khz = (uint64_t)((tsc() - c0) / ((now_ns() - t0) / 1e6));
	}
	return khz;
}

void bench_report(const char *name, uint64_t ops, uint64_t cycles, const char *extra)
{
	double cyc = (double)cycles / (ops ? ops : 1);

	COUNT_DUMP(name);
	printf("BENCH name=%s ops=%llu ns_per_op=%.2f cycles_per_op=%.2f%s%s\n", name,
	       (unsigned long long)ops, cyc * 1e6 / bench_tsc_khz(), cyc, extra ? " " : "",
	       extra ? extra : "");
	fflush(stdout);
}
