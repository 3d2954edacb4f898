/*
 * linux_fault.c - the host Linux's first-touch fault, measured as
 * bench/vmm.c measures Strata's: map anonymous private memory, write the
 * first word of each page once, ns per page, best of a few runs.
 *
 * Built by `make bench` with bench/host/adapter.c, which prints the line.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include "bench/bench.h"

#define PAGE 4096UL
#define PAGES 4096UL            /* 16 MiB, as in bench/vmm.c */
#define RUNS 5

/* One run: TSC cycles to touch every page of a fresh mapping, or 0. */
static uint64_t run(void)
{
	char *p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	/* No transparent huge pages: one fault per 4 KiB page, as in the kernel. */
	madvise(p, PAGES * PAGE, MADV_NOHUGEPAGE);
	uint64_t c0 = bench_cycles();
	for (unsigned long i = 0; i < PAGES; i++)
		*(volatile uint64_t *)(p + i * PAGE) = i;
	uint64_t cycles = bench_cycles() - c0;
	munmap(p, PAGES * PAGE);
	return cycles;
}

int main(void)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < RUNS; i++) {
		uint64_t c = run();
		if (!c) {
			perror("linux_fault: mmap");
			return 1;
		}
		if (c < best)
			best = c;
	}
	bench_report("linux_first_touch_fault", PAGES, best, "thp=off");
	return 0;
}
