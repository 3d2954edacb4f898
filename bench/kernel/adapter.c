/*
 * adapter.c - the kernel side of bench/bench.h: TSC cycles, printed as ns
 * with the TSC frequency calibrated at boot. Its host twin is
 * bench/host/adapter.c; a layer's benchmark (bench/<layer>.c) runs on either.
 */
#include "bench/bench.h"
#include "kernel/tsc.h"
#include "lib/kprintf.h"

uint64_t bench_cycles(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

uint64_t bench_tsc_khz(void) { return tsc_khz(); }

/* Fixed point with two decimals: the kernel has no floating point. */
void bench_report(const char *name, uint64_t ops, uint64_t cycles, const char *extra)
{
	if (!ops)
		ops = 1;
	uint64_t cyc100 = cycles * 100 / ops;
	uint64_t ns100 = tsc_khz() ? cyc100 * 1000000 / tsc_khz() : 0;
	kprintf("BENCH name=%s ops=%lu ns_per_op=%lu.%02lu cycles_per_op=%lu.%02lu%s%s\n",
		name, ops, ns100 / 100, ns100 % 100, cyc100 / 100, cyc100 % 100,
		extra ? " " : "", extra ? extra : "");
}
