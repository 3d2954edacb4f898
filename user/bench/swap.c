/*
 * swap.c - /bench/swap: a working set through RAM alone, then through swap,
 * timed from ring 3 with the TSC (mode=bench bench=swap on a small machine
 * with a disk: the harness's bench-swap boot). One BENCH line each:
 *   swap_ws_fits      write then read a working set of half the free RAM,
 *                     per page: no page goes to swap
 *   swap_ws_over      the same with 1.5 times the free RAM (within the
 *                     per-process limit): pages go out and come back; the
 *                     line carries the pages written out and read back, the
 *                     pages a second each way, and the pages written per
 *                     page reclaimed (a page read back and not written
 *                     since keeps its slot and goes out again unwritten)
 *   swap_ws_reread    the same set written once and read three times: the
 *                     later passes find clean pages, which cost a read only
 * Under TCG the figures are emulation's; the ratio of the two lines is the
 * point (docs/swap.md).
 */
#include "strata.h"

#define MIB (1024UL * 1024)

static unsigned long khz;

/* Cycles to write every word of n bytes at p, then read them back, reads times. */
static unsigned long churn(volatile unsigned long *p, unsigned long n, unsigned reads, unsigned long *bad)
{
	unsigned long t = bench_rdtsc();
	for (unsigned long i = 0; i < n / sizeof(long); i++)
		p[i] = i * 0x9e3779b97f4a7c15UL;
	for (unsigned r = 0; r < reads; r++)
		for (unsigned long i = 0; i < n / sizeof(long); i++)
			*bad += p[i] != i * 0x9e3779b97f4a7c15UL;
	return bench_rdtsc() - t;
}

static void run(const char *name, unsigned long bytes, unsigned reads)
{
	struct strata_meminfo a, b;
	unsigned long bad = 0, pages = bytes / PAGE_SIZE;
	volatile unsigned long *p = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err((long)p)) {
		printf("bench: swap: mmap of %lu KiB failed: %ld\n", bytes / 1024, (long)p);
		return;
	}
	meminfo(&a);
	unsigned long cycles = churn(p, bytes, reads, &bad);
	meminfo(&b);
	munmap((void *)p, bytes);
	unsigned long out = b.swap_out - a.swap_out, in = b.swap_in - a.swap_in;
	unsigned long clean = b.swap_clean - a.swap_clean, reclaimed = out + clean;
	unsigned long w100 = reclaimed ? out * 100 / reclaimed : 0;
	unsigned long ms = khz ? cycles / khz : 0;
	unsigned long c100 = cycles * 100 / pages, ns100 = khz ? c100 * 1000000 / khz : 0;
	printf("BENCH name=%s ops=%lu ns_per_op=%lu.%02lu cycles_per_op=%lu.%02lu kib=%lu ms=%lu out=%lu in=%lu "
	       "clean=%lu out_per_s=%lu in_per_s=%lu written_per_reclaimed=%lu.%02lu bad_words=%lu\n",
	       name, pages, ns100 / 100, ns100 % 100, c100 / 100, c100 % 100, bytes / 1024, ms, out, in,
	       clean, ms ? out * 1000 / ms : 0, ms ? in * 1000 / ms : 0, w100 / 100, w100 % 100, bad);
}

int main(void)
{
	struct strata_meminfo m;
	meminfo(&m);
	khz = m.tsc_khz;
	if (!m.swap_kib) {
		printf("bench: swap: no swap area (the harness's bench-swap boot has a disk)\n");
		return 0;
	}
	unsigned long room = (m.limit_kib - m.committed_kib) * 1024 - 2 * MIB;
	unsigned long fits = m.free_kib * 1024 / 2, over = m.free_kib * 1024 * 3 / 2;
	if (over > room)
		over = room;
	printf("bench: swap: free RAM %lu KiB, swap %lu KiB\n", m.free_kib, m.swap_kib);
	run("swap_ws_fits", fits & ~(PAGE_SIZE - 1), 1);
	run("swap_ws_over", over & ~(PAGE_SIZE - 1), 1);
	run("swap_ws_reread", over & ~(PAGE_SIZE - 1), 3);
	return 0;
}
