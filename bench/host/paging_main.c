/*
 * paging_main.c - the page-table engine on the host: one 4 KiB page at a
 * time through pg_map, pg_protect, pg_translate and pg_unmap, its tables
 * present (one page of the table stays mapped), in a tight loop; then the
 * shared bench_paging (bench/paging.c).
 *
 * Host only, like buddy_main.c. With an argument ("loops") only the tight
 * loops run, so that callgrind's count of each call is the per-op cost.
 */
#ifdef STRATA_HOST
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/bench.h"
#include "fake_arch.h"
#include "lib/kprintf.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"

#define L_VA  0x0000400000000000UL
#define L_PA  0x0000000100000000UL
#define L_N   511                       /* pages 1..511 of one table; page 0 keeps it */
#define REPS  400
#define RW    (PG_READ | PG_WRITE)

static void quiet(char c) { (void)c; }

static int boot(uint64_t ram)
{
	static struct mem_range map[1];
	map[0] = (struct mem_range){ 0x100000, ram - 0x100000, MEM_AVAILABLE };
	struct pmm_boot b = { map, 1, NULL, 0, 0 };
	return pmm_init(&b) || paging_init(4);
}

static void fail(const char *op, int err)
{
	fprintf(stderr, "bench_paging_host: %s: %s\n", op, pg_error_str(err));
	exit(1);
}

/* Each op once per page 1..L_N, REPS times; cycles summed per op. */
static void bench_loops(void)
{
	pg_root_t root = pg_root_create();
	uint64_t c[4] = { 0 }, t, sum = 0;
	int err;
	if (root == PG_NO_ROOT || (err = pg_map(root, L_VA, L_PA, PAGE_SIZE, RW)))
		fail("setup", root == PG_NO_ROOT ? PG_E_NO_MEMORY : err);
	for (int r = 0; r < REPS; r++) {
		t = bench_cycles();
		for (uint64_t i = 1; i <= L_N; i++)
			if ((err = pg_map(root, L_VA + i * PAGE_SIZE, L_PA + i * PAGE_SIZE, PAGE_SIZE, RW)))
				fail("map", err);
		c[0] += bench_cycles() - t;
		t = bench_cycles();
		for (uint64_t i = 1; i <= L_N; i++)
			if ((err = pg_protect(root, L_VA + i * PAGE_SIZE, PAGE_SIZE, PG_READ)))
				fail("protect", err);
		c[1] += bench_cycles() - t;
		t = bench_cycles();
		for (uint64_t i = 1; i <= L_N; i++) {
			pa_t pa = 0;
			if ((err = pg_translate(root, L_VA + i * PAGE_SIZE, &pa, NULL, NULL)))
				fail("translate", err);
			sum += pa;
		}
		c[2] += bench_cycles() - t;
		t = bench_cycles();
		for (uint64_t i = 1; i <= L_N; i++)
			if ((err = pg_unmap(root, L_VA + i * PAGE_SIZE, PAGE_SIZE)))
				fail("unmap", err);
		c[3] += bench_cycles() - t;
	}
	bench_report("paging_host_map_4k_tables_present", REPS * L_N, c[0], NULL);
	bench_report("paging_host_protect_4k", REPS * L_N, c[1], NULL);
	bench_report("paging_host_translate_4k", REPS * L_N, c[2], sum ? NULL : "sum=0");
	bench_report("paging_host_unmap_4k_tables_stay", REPS * L_N, c[3], NULL);
	pg_unmap(root, L_VA, PAGE_SIZE);
	pg_root_destroy(root);
}

int main(int argc, char **argv)
{
	(void)argv;
	memset(fake_ram_init(256ULL << 20), 0, 256ULL << 20);
	console_set_sink(quiet);
	if (boot(256ULL << 20)) {
		fprintf(stderr, "bench: pmm_init or paging_init failed\n");
		return 1;
	}
	bench_loops();
	if (argc < 2)
		bench_paging();
	fake_ram_free();
	return 0;
}
#endif
