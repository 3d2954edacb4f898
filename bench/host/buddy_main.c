/*
 * buddy_main.c - the buddy benchmarks on the host, over fake RAM, plus
 * pmm_init's start-up time per GiB (which the kernel cannot measure).
 *
 * Host only: the #ifdef keeps the kernel build (which compiles every .c
 * under bench/) from seeing it. Build it without sanitizers from
 * bench/host/buddy_main.c, bench/buddy.c, src/mm/buddy/ (every .c),
 * src/boot/bootinfo.c, src/lib/kprintf.c and tests/host/common/fake_arch.c
 * with -O2 -DSTRATA_HOST -Isrc -I. -Itests/host/common.
 */
#ifdef STRATA_HOST
#include <stdio.h>
#include <string.h>
#include "bench/bench.h"
#include "fake_arch.h"
#include "lib/kprintf.h"
#include "mm/buddy/buddy.h"

static void quiet(char c) { (void)c; }

static int boot(uint64_t ram)
{
	static struct mem_range map[2];
	static const struct mem_range kernel = { 0x100000, 0x400000, PMM_PROTECT_KERNEL };
	map[0] = (struct mem_range){ 0, 0x9fc00, MEM_AVAILABLE };
	map[1] = (struct mem_range){ 0x100000, ram - 0x100000, MEM_AVAILABLE };
	struct pmm_boot b = { map, 2, &kernel, 1, ram };
	return pmm_init(&b);
}

/* pmm_init over 8 GiB, a few times (the first run also faults the records in). */
static void bench_init(void)
{
	enum { GIB = 8, REPS = 5 };
	fake_ram_init((uint64_t)GIB << 30);
	console_set_sink(quiet);
	boot((uint64_t)GIB << 30);
	uint64_t t0 = bench_cycles();
	for (int i = 0; i < REPS; i++)
		boot((uint64_t)GIB << 30);
	bench_report("buddy_init_per_gib", GIB * REPS, bench_cycles() - t0, NULL);
}

int main(void)
{
	bench_init();
	/* Fault the fake RAM in first: the kernel's RAM does not page-fault. */
	memset(fake_ram_init(2ULL << 30), 0, 2ULL << 30);
	if (boot(2ULL << 30)) {
		fprintf(stderr, "bench: pmm_init failed\n");
		return 1;
	}
	console_set_sink(quiet);
	bench_buddy();
	fake_ram_free();
	return 0;
}
#endif
