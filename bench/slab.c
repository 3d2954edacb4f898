/*
 * slab.c - the kernel heap's benchmarks, the same code in the kernel and on
 * the host. On the host, bench/host/slab_bench.c also builds it with
 * BENCH_SLAB_LIBC, where the loops call malloc/free, to run under glibc,
 * jemalloc, mimalloc and tcmalloc (scripts/bench_alloc.sh).
 *
 *   slab_hot_<size>     kmalloc + kfree of one size, back to back (a pair per op)
 *   slab_lifo_4096      4096 objects allocated, freed newest first (a pair per op)
 *   slab_random_4096    the same, freed in random order
 *   slab_mixed_warmup   a trace of mixed sizes (mostly small), 4096 slots, from cold
 *   slab_mixed_steady   the same trace again, the heap warm: the figure to compare
 *   slab_efficiency     peak bytes asked / peak bytes taken from the buddy, same trace
 *
 * Every object is touched once, as a caller would, so no compiler can drop
 * a pair.
 */
#include <stddef.h>
#include <stdint.h>
#include "bench/bench.h"

#ifdef BENCH_SLAB_LIBC
#include <stdlib.h>
#include <stdio.h>
#define BENCH_ALLOC(n) malloc(n)
#define BENCH_FREE(p)  free(p)
#define BENCH_WHO      "alloc=libc"
#else
#include "mm/slab/slab.h"
#include "mm/buddy/buddy.h"
#include "lib/kprintf.h"
#define BENCH_ALLOC(n) kmalloc(n)
#define BENCH_FREE(p)  kfree(p)
#define BENCH_WHO      "alloc=strata"
#endif

#ifdef BENCH_SLAB_LIBC
#define TRIPS_BEGIN()
static void report(const char *name, uint64_t ops, uint64_t t) { bench_report(name, ops, t, BENCH_WHO); }
#else
/* Each line says how many regions the heap asked of the VMM while it ran: 0 means the loop never left the heap. */
static uint64_t trips0;
static uint64_t trips(void)
{
	struct slab_stats st;
	slab_get_stats(&st);
	return st.vmm_trips;
}
#define TRIPS_BEGIN() (trips0 = trips())
static void report(const char *name, uint64_t ops, uint64_t t)
{
	char extra[48];
	ksnprintf(extra, sizeof(extra), BENCH_WHO " vmm_trips=%llu", (unsigned long long)(trips() - trips0));
	bench_report(name, ops, t, extra);
}
#endif

#define LIVE 4096
static void *slot[LIVE];
static uint32_t slot_size[LIVE];
static uint16_t order[LIVE];

static void touch(void *p) { *(volatile char *)p = 1; }

static void name_size(char *buf, const char *prefix, size_t sz)
{
	char digits[24];
	int n = 0, i = 0;
	do digits[n++] = (char)('0' + sz % 10); while (sz /= 10);
	while (*prefix)
		buf[i++] = *prefix++;
	while (n)
		buf[i++] = digits[--n];
	buf[i] = 0;
}

static void bench_hot(size_t sz, unsigned n)
{
	char name[40];
	for (unsigned i = 0; i < 1000; i++) {           /* warm: magazines loaded */
		void *p = BENCH_ALLOC(sz);
		touch(p);
		BENCH_FREE(p);
	}
	TRIPS_BEGIN();
	uint64_t t0 = bench_cycles();
	for (unsigned i = 0; i < n; i++) {
		void *p = BENCH_ALLOC(sz);
		touch(p);
		BENCH_FREE(p);
	}
	uint64_t t = bench_cycles() - t0;
	name_size(name, "slab_hot_", sz);
	report(name, n, t);
}

static void shuffle(uint64_t *seed)
{
	for (unsigned i = 0; i < LIVE; i++)
		order[i] = (uint16_t)i;
	for (unsigned i = LIVE - 1; i > 0; i--) {
		unsigned j = (unsigned)(bench_rand(seed) % (i + 1));
		uint16_t t = order[i];
		order[i] = order[j], order[j] = t;
	}
}

/* LIVE objects of sz, freed newest first or in random order; rounds times. */
static void bench_live(const char *name, size_t sz, int random, unsigned rounds)
{
	uint64_t seed = 7, t = 0;
	for (unsigned r = 0; r <= rounds; r++) {        /* round 0 warms */
		shuffle(&seed);
		if (r == 1)
			TRIPS_BEGIN();
		uint64_t t0 = r ? bench_cycles() : 0;     /* bench_cycles in pairs around what is timed */
		for (unsigned i = 0; i < LIVE; i++) {
			slot[i] = BENCH_ALLOC(sz);
			touch(slot[i]);
		}
		for (unsigned i = 0; i < LIVE; i++) {
			unsigned k = random ? order[i] : LIVE - 1 - i;
			BENCH_FREE(slot[k]);
			slot[k] = NULL;
		}
		if (r)
			t += bench_cycles() - t0;
	}
	report(name, (uint64_t)LIVE * rounds, t);
}

/* Mostly small, some medium, few large: like a kernel's requests. */
static uint32_t mixed_size(uint64_t *seed)
{
	uint64_t r = bench_rand(seed);
	switch (r % 32) {
	case 0: return 4096 + (uint32_t)(bench_rand(seed) % 12288);
	case 1: case 2: case 3: return 512 + (uint32_t)(bench_rand(seed) % 3584);
	case 4: case 5: case 6: case 7: case 8: case 9: return 128 + (uint32_t)(bench_rand(seed) % 384);
	default: return 8 + (uint32_t)(bench_rand(seed) % 120);
	}
}

#ifndef BENCH_SLAB_LIBC
/* Bytes the heap has taken from the buddy since base (free pages counted fresh). */
static uint64_t taken(uint64_t base_free)
{
	uint64_t f = pmm_free_count();
	return f < base_free ? (base_free - f) * 4096 : 0;
}
#endif

/*
 * The mixed trace: each step frees or fills one random slot. With measure,
 * tracks peak bytes asked and peak bytes taken (not timed then).
 */
static void mixed_trace(const char *name, unsigned steps, int measure)
{
	uint64_t seed = 11, asked = 0, peak_asked = 0, peak_taken = 0, t0, t;
#ifndef BENCH_SLAB_LIBC
	slab_reap();
	pmm_drain_all_caches();
	uint64_t base_free = pmm_free_count();
#endif
	TRIPS_BEGIN();
	t0 = bench_cycles();
	for (unsigned s = 0; s < steps; s++) {
		unsigned i = (unsigned)(bench_rand(&seed) % LIVE);
		if (slot[i]) {
			BENCH_FREE(slot[i]);
			slot[i] = NULL;
			asked -= slot_size[i];
		} else {
			slot_size[i] = mixed_size(&seed);
			slot[i] = BENCH_ALLOC(slot_size[i]);
			touch(slot[i]);
			asked += slot_size[i];
		}
		if (measure && asked > peak_asked)
			peak_asked = asked;
#ifndef BENCH_SLAB_LIBC
		if (measure && (s & 63) == 0) {
			uint64_t k = taken(base_free);
			peak_taken = k > peak_taken ? k : peak_taken;
		}
#endif
	}
	t = bench_cycles() - t0;
	for (unsigned i = 0; i < LIVE; i++) {
		BENCH_FREE(slot[i]);
		slot[i] = NULL;
	}
	if (!measure) {
		report(name, steps, t);
		return;
	}
#ifndef BENCH_SLAB_LIBC
	char extra[96];
	uint64_t pct100 = peak_taken ? peak_asked * 10000 / peak_taken : 0;
	ksnprintf(extra, sizeof(extra), "peak_asked_kib=%llu peak_taken_kib=%llu efficiency=%llu.%02llu%%",
		  (unsigned long long)(peak_asked >> 10), (unsigned long long)(peak_taken >> 10),
		  (unsigned long long)(pct100 / 100), (unsigned long long)(pct100 % 100));
	bench_report("slab_efficiency", steps, t, extra);
	slab_reap();
#endif
}

void bench_slab(void)
{
	static const size_t sizes[] = { 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096 };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bench_hot(sizes[i], 1000000);
	bench_live("slab_lifo_4096", 64, 0, 100);
	bench_live("slab_random_4096", 64, 1, 100);
	mixed_trace("slab_mixed_warmup", 10000, 0);    /* named apart: a median over both inflates every allocator */
	mixed_trace("slab_mixed_steady", 1000000, 0);
	mixed_trace(NULL, 1000000, 1);                 /* reports slab_efficiency */
}
