/*
 * malloc.c - /bench/malloc: the user heap (user/lib/malloc/) timed from
 * ring 3 with the TSC, the same loops as the host's. One BENCH line each
 * (the format of bench/bench.h; an op is one malloc and its free):
 *   malloc_hot_N     malloc(N) then free, again and again (N = 16 ... 32768)
 *   malloc_lifo      4096 blocks of 64 bytes, freed last first
 *   malloc_random    4096 blocks of 16-1024 bytes, freed in a random order
 *   malloc_mixed     a trace: random sizes (mostly small, some up to 128 KiB),
 *                    frees and reallocs (by up to 2x) over 1024 live slots
 * Under this host's KVM ring 3 runs natively; under TCG the cycles are
 * the emulator's.
 */
#include "strata.h"
#include "malloc/strata_malloc.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int bench_hot(size_t size)
{
	const unsigned long n = 200000;
	char name[32];
	snprintf(name, sizeof(name), "malloc_hot_%lu", size);
	free(malloc(size));                     /* the page is there before timing */
	unsigned long t = bench_rdtsc();
	for (unsigned long i = 0; i < n; i++) {
		volatile char *p = malloc(size);
		if (!p)
			return 1;
		p[0] = 1;
		free((void *)p);
	}
	bench_report(name, n, bench_rdtsc() - t);
	return 0;
}

#define BATCH 4096
static void *blk[BATCH];
static unsigned order[BATCH];

static int bench_lifo(void)
{
	const unsigned rounds = 50;
	unsigned long t = bench_rdtsc();
	for (unsigned r = 0; r < rounds; r++) {
		for (int i = 0; i < BATCH; i++)
			if (!(blk[i] = malloc(64)))
				return 1;
		for (int i = BATCH - 1; i >= 0; i--)
			free(blk[i]);
	}
	bench_report("malloc_lifo", (unsigned long)rounds * BATCH, bench_rdtsc() - t);
	return 0;
}

static int bench_random(void)
{
	const unsigned rounds = 50;
	unsigned long c = 0;
	for (unsigned r = 0; r < rounds; r++) {
		/* The order is drawn outside the timed part. */
		for (unsigned i = 0; i < BATCH; i++)
			order[i] = i;
		for (unsigned i = BATCH - 1; i > 0; i--) {
			unsigned j = (unsigned)(rnd() % (i + 1)), x = order[i];
			order[i] = order[j], order[j] = x;
		}
		unsigned long t = bench_rdtsc();
		for (int i = 0; i < BATCH; i++)
			if (!(blk[i] = malloc(16 + (order[i] * 7919u) % 1009)))
				return 1;
		for (int i = 0; i < BATCH; i++)
			free(blk[order[i]]);
		c += bench_rdtsc() - t;
	}
	bench_report("malloc_random", (unsigned long)rounds * BATCH, c);
	return 0;
}

#define LIVE 1024
static size_t trace_size(void)
{
	unsigned r = rnd() % 100;
	if (r < 80)
		return 8 + rnd() % 248;
	if (r < 97)
		return 256 + rnd() % 3840;
	return 4096 + rnd() % (128 * 1024);
}

/* The trace could not go on: say where, and what the process holds. */
static int trace_failed(unsigned long op, size_t n)
{
	struct strata_meminfo m;
	struct sm_stats st;
	meminfo(&m);
	sm_stats(&st);
	printf("bench: malloc_mixed: op %lu of %lu bytes failed (errno %d), committed %lu KiB of %lu;"
	       " heap: %lu segments, %lu KiB reserved, %lu KiB committed, %lu blocks of %lu KiB live\n",
	       op, n, errno, m.committed_kib, m.limit_kib, st.segments, st.reserved_bytes >> 10,
	       st.committed_bytes >> 10, st.live_blocks, st.live_bytes >> 10);
	return 1;
}

/*
 * Each op allocates, frees or reallocs a slot; each block's first byte is
 * written, as a program would. A realloc grows or shrinks a block by up to
 * a factor of two, as a program's buffers do. (With reallocs to any size
 * this trace ran out of the 32 MiB limit holding 2 MiB of requests:
 * api.c keeps a large block in place for any smaller size.)
 */
static int bench_mixed(void)
{
	const unsigned long n = 200000;
	static char *live[LIVE];
	static size_t len[LIVE];
	unsigned long t = bench_rdtsc();
	for (unsigned long i = 0; i < n; i++) {
		unsigned s = (unsigned)(rnd() % LIVE);
		size_t sz;
		if (!live[s]) {
			if (!(live[s] = malloc(sz = trace_size())))
				return trace_failed(i, sz);
			live[s][0] = 1;
			len[s] = sz;
		} else if (rnd() % 4 == 0) {
			sz = rnd() & 1 ? len[s] / 2 + 1 : len[s] * 2;
			if (sz > 128 * 1024)
				sz = len[s] / 2 + 1;
			char *q = realloc(live[s], sz);
			if (!q)
				return trace_failed(i, sz);
			live[s] = q;
			len[s] = sz;
		} else {
			free(live[s]);
			live[s] = 0;
		}
	}
	for (int s = 0; s < LIVE; s++)
		free(live[s]), live[s] = 0;
	bench_report("malloc_mixed", n, bench_rdtsc() - t);
	return 0;
}

int main(void)
{
	static const size_t sizes[] = { 16, 64, 256, 1024, 4096, 32768 };
	struct strata_meminfo m;
	int bad = 0;

	if (meminfo(&m))
		return 1;
	bench_set_khz(m.tsc_khz);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bad |= bench_hot(sizes[i]);
	bad |= bench_lifo() | bench_random() | bench_mixed();
	meminfo(&m);
	printf("bench: malloc peak resident %lu KiB\n", m.peak_kib);
	return bad;
}
