/* run_all.c - mode=bench: every layer's benchmarks, in layer order. */
#include "kernel/kernel.h"
#include "bench/bench.h"
#include "lib/kprintf.h"

/* What a benchmark loop costs with nothing in it: the floor under every number. */
static void bench_empty_loop(void)
{
	enum { N = 1000000 };
	uint64_t t0 = bench_cycles();
	for (volatile int i = 0; i < N; i++)
		;
	bench_report("empty_loop", N, bench_cycles() - t0, 0);
}

void bench_run_all(void)
{
	kprintf("bench: TSC at %lu kHz\n", bench_tsc_khz());
	bench_empty_loop();
	bench_buddy();
	bench_paging();
	bench_vmm();
	bench_slab();
}
