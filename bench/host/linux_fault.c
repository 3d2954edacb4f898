/*
 * linux_fault.c - the host Linux's first-touch fault, measured as
 * bench/vmm.c measures Strata's: map anonymous private memory, write the
 * first word of each page once, ns per page, best of a few runs.
 *
 *   cc -O2 -o build/host/linux_fault bench/host/linux_fault.c && build/host/linux_fault
 *
 * Prints BENCH name=linux_first_touch_fault ... like bench_report().
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <x86intrin.h>

#define PAGE 4096UL
#define PAGES 4096UL            /* 16 MiB, as in bench/vmm.c */
#define RUNS 5

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* One run: ns and TSC cycles to touch every page of a fresh mapping. */
static int run(uint64_t *ns, uint64_t *cycles)
{
	char *p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	/* No transparent huge pages: one fault per 4 KiB page, as in the kernel. */
	madvise(p, PAGES * PAGE, MADV_NOHUGEPAGE);
	uint64_t t0 = now_ns(), c0 = __rdtsc();
	for (unsigned long i = 0; i < PAGES; i++)
		*(volatile uint64_t *)(p + i * PAGE) = i;
	*cycles = __rdtsc() - c0;
	*ns = now_ns() - t0;
	munmap(p, PAGES * PAGE);
	return 0;
}

int main(void)
{
	uint64_t best_ns = UINT64_MAX, best_cyc = 0;
	for (int i = 0; i < RUNS; i++) {
		uint64_t ns, cyc;
		if (run(&ns, &cyc)) {
			perror("linux_fault: mmap");
			return 1;
		}
		if (ns < best_ns)
			best_ns = ns, best_cyc = cyc;
	}
	uint64_t ns100 = best_ns * 100 / PAGES, cyc100 = best_cyc * 100 / PAGES;
	printf("BENCH name=linux_first_touch_fault ops=%lu ns_per_op=%lu.%02lu cycles_per_op=%lu.%02lu thp=off\n",
	       PAGES, (unsigned long)(ns100 / 100), (unsigned long)(ns100 % 100),
	       (unsigned long)(cyc100 / 100), (unsigned long)(cyc100 % 100));
	return 0;
}
