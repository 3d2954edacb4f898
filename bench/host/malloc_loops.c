/*
 * malloc_loops.c - the user heap's loops on Linux, for any malloc by
 * LD_PRELOAD (scripts/bench_malloc.sh runs it once per allocator):
 * hot malloc/free pairs per size, LIFO and random-order batches, a
 * producer/consumer pair of threads, and a mixed-size trace over a live
 * set. Prints "BENCH name=<loop> ns_per_op=<ns>", an op being one malloc
 * and its free. Every block is touched, so no loop measures an allocator
 * that hands out memory nobody writes.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 4096

/* Keeps the compiler from pairing a malloc with its free and dropping both. */
#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void report(const char *name, double ns, double ops)
{
	printf("BENCH name=%s ns_per_op=%.2f\n", name, ns / ops);
	fflush(stdout);
}

static uint64_t rng = 0x853c49e6748fea9bull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void *xmalloc(size_t n)
{
	char *p = malloc(n);
	if (!p) {
		fprintf(stderr, "malloc_loops: malloc(%zu) failed\n", n);
		exit(1);
	}
	p[0] = (char)n;
	return p;
}

/* The same size allocated and freed at once: the allocator's fastest path. */
static void hot(size_t size, long iters)
{
	char name[32];
	for (long i = 0; i < iters / 10; i++)      /* warm: the class has a page */
		free(xmalloc(size));
	double t = now_ns();
	for (long i = 0; i < iters; i++) {
		void *p = xmalloc(size);
		KEEP(p);
		free(p);
	}
	snprintf(name, sizeof name, "hot_%zu", size);
	report(name, now_ns() - t, iters);
}

/* BATCH blocks of small mixed sizes, freed last first (a stack's order). */
static void lifo(int rounds)
{
	static void *p[BATCH];
	double t = now_ns();
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < BATCH; i++)
			p[i] = xmalloc(16 + (i * 37) % 240);
		for (int i = BATCH - 1; i >= 0; i--)
			free(p[i]);
	}
	report("lifo_4096", now_ns() - t, (double)rounds * BATCH);
}

/* BATCH blocks freed in a random order: free lists end up shuffled. */
static void random_order(int rounds)
{
	static void *p[BATCH];
	static int order[BATCH];
	for (int i = 0; i < BATCH; i++)
		order[i] = i;
	double t = now_ns();
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < BATCH; i++)
			p[i] = xmalloc(16 + (i * 37) % 240);
		for (int i = BATCH - 1; i > 0; i--) {       /* Fisher-Yates, untimed cost is tiny */
			int j = next() % (i + 1), k = order[i];
			order[i] = order[j];
			order[j] = k;
		}
		for (int i = 0; i < BATCH; i++)
			free(p[order[i]]);
	}
	report("random_4096", now_ns() - t, (double)rounds * BATCH);
}

/* A producer mallocs, a consumer frees, through a single-producer
 * single-consumer ring: every free is a free from another thread. */
#define RING 1024
static void *_Atomic ring[RING];

/* A waiting side gives its core away now and then: on a 2-core host the
 * two threads share it with whatever else runs. */
static void spin(unsigned *n)
{
	__builtin_ia32_pause();
	if (++*n % 64 == 0)
		sched_yield();
}
static long pc_blocks;

static void *pc_producer(void *arg)
{
	(void)arg;
	for (long i = 0; i < pc_blocks; i++) {
		void *p = xmalloc(16 + (i * 53) % 496);
		void *_Atomic *slot = &ring[i % RING];
		unsigned n = 0;
		while (atomic_load_explicit(slot, memory_order_acquire))
			spin(&n);
		atomic_store_explicit(slot, p, memory_order_release);
	}
	return NULL;
}

static void *pc_consumer(void *arg)
{
	(void)arg;
	for (long i = 0; i < pc_blocks; i++) {
		void *_Atomic *slot = &ring[i % RING];
		void *p;
		unsigned n = 0;
		while (!(p = atomic_load_explicit(slot, memory_order_acquire)))
			spin(&n);
		atomic_store_explicit(slot, NULL, memory_order_release);
		free(p);
	}
	return NULL;
}

static void prodcons(long blocks)
{
	pthread_t a, b;
	pc_blocks = blocks;
	double t = now_ns();
	pthread_create(&b, NULL, pc_consumer, NULL);
	pthread_create(&a, NULL, pc_producer, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	report("prodcons_2thr", now_ns() - t, blocks);
}

/* A live set of 16384 blocks; each step frees a random one and allocates
 * in its place a size from a program-like mix: mostly small, some pages,
 * a few large. Sizes and slots come from a fixed seed: the same trace for
 * every allocator. */
static size_t mixed_size(uint64_t r)
{
	switch (r % 100) {
	case 0:
		return 40000 + (r >> 8) % 200000;
	case 1: case 2: case 3: case 4: case 5:
		return 512 + (r >> 8) % 7680;
	default:
		return 8 + (r >> 8) % 248;
	}
}

static void mixed(long steps)
{
	enum { LIVE = 16384 };
	static void *live[LIVE];
	rng = 0x2545f4914f6cdd1dull;
	for (int i = 0; i < LIVE; i++)
		live[i] = xmalloc(mixed_size(next()));
	double t = now_ns();
	for (long s = 0; s < steps; s++) {
		uint64_t r = next();
		int i = r % LIVE;
		free(live[i]);
		live[i] = xmalloc(mixed_size(r >> 14));
	}
	double dt = now_ns() - t;
	for (int i = 0; i < LIVE; i++)
		free(live[i]);
	report("mixed_trace", dt, steps);
}

int main(int argc, char **argv)
{
	double scale = argc > 1 ? atof(argv[1]) : 1.0;     /* 1.0: ~2 s in all with glibc; bench_malloc.sh passes 0.5 */
	static const size_t sizes[] = { 16, 64, 256, 1024, 4096, 32768 };
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		hot(sizes[i], (long)(5e6 * scale));
	lifo((int)(600 * scale));
	random_order((int)(300 * scale));
	prodcons((long)(2e6 * scale));
	mixed((long)(3e6 * scale));
	return 0;
}
