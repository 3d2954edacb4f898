/*
 * buddy_main.c - the buddy benchmarks on the host, over fake RAM, plus
 * pmm_init's start-up time (which the kernel cannot measure): per GiB over
 * 8 GiB (buddy_init_per_gib) and over 1, 4 and 16 GiB (buddy_init_1g,
 * buddy_init_4g, buddy_init_16g: ns_per_op per GiB, us_total per init).
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
static void to_stderr(char c) { fputc(c, stderr); }

static int boot(uint64_t ram)
{
	static struct mem_range map[2];
	static const struct mem_range kernel = { 0x100000, 0x400000, PMM_PROTECT_KERNEL };
	map[0] = (struct mem_range){ 0, 0x9fc00, MEM_AVAILABLE };
	map[1] = (struct mem_range){ 0x100000, ram - 0x100000, MEM_AVAILABLE };
	struct pmm_boot b = { map, 2, &kernel, 1, ram };
	return pmm_init(&b);
}

/*
 * pmm_init over gib GiB of fake RAM, reps times after one untimed run (which
 * also faults the records in). ns_per_op is per GiB; with_total adds
 * us_total=<microseconds for one whole pmm_init>.
 */
static void bench_init(const char *name, unsigned gib, int reps, int with_total)
{
	uint64_t ram = (uint64_t)gib << 30, cycles, t0;
	char extra[48];

	fake_ram_init(ram);
	console_set_sink(quiet);
	if (boot(ram)) {
		fprintf(stderr, "bench: pmm_init over %u GiB failed\n", gib);
		return;
	}
	t0 = bench_cycles();
	for (int i = 0; i < reps; i++)
		boot(ram);
	cycles = bench_cycles() - t0;
	snprintf(extra, sizeof(extra), "us_total=%.1f",
		 (double)cycles * 1000.0 / (double)bench_tsc_khz() / reps);
	bench_report(name, (uint64_t)gib * reps, cycles, with_total ? extra : NULL);
}

int main(void)
{
	bench_init("buddy_init_per_gib", 8, 5, 0);    /* the old line: 8 GiB, per GiB */
	bench_init("buddy_init_1g", 1, 5, 1);
	bench_init("buddy_init_4g", 4, 5, 1);
	bench_init("buddy_init_16g", 16, 5, 1);
	/* Fault the fake RAM in first: the kernel's RAM does not page-fault. */
	memset(fake_ram_init(2ULL << 30), 0, 2ULL << 30);
	if (boot(2ULL << 30)) {
		fprintf(stderr, "bench: pmm_init failed\n");
		return 1;
	}
	/* pmm_init's report stays quiet; what the benches say (a lost page, a misuse) shows. */
	console_set_sink(to_stderr);
	bench_buddy();
	fake_ram_free();
	return 0;
}
#endif
