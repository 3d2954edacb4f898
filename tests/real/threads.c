/*
 * threads.c - a small pthread program for the user heap under LD_PRELOAD:
 * blocks cross threads and are freed where they did not come from.
 *
 * Stage 1: PAIRS producer/consumer pairs. A producer mallocs blocks of
 * pseudo-random sizes, fills each with a pattern of (pair, seq), and
 * passes it through a queue; its consumer checks the pattern, reallocs
 * some (a realloc by a thread that does not own the block), and frees
 * them all. Stage 2: threads allocate and end with their blocks alive;
 * the main thread frees those blocks after the threads are gone (their
 * heaps are abandoned), then new threads allocate again.
 *
 * Prints a checksum that depends only on sizes and patterns, never on
 * which thread ran when, so a plain run and a preloaded one print the
 * same bytes. Says on stderr which library malloc came from (dladdr).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAIRS  2
#define BLOCKS 200000           /* per producer */
#define QLEN   256
#define ORPHAN_THREADS 4
#define ORPHANS 20000           /* blocks each orphaning thread leaves */

static void fail(const char *what, uint64_t a, uint64_t b)
{
	fprintf(stderr, "threads: %s (%#llx %#llx)\n", what, (unsigned long long)a, (unsigned long long)b);
	exit(1);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Mostly small, some medium, a few large (past any small-size class). */
static size_t pick_size(uint64_t *s)
{
	uint64_t r = xorshift(s);
	switch (r % 64) {
	case 0:
		return 65536 + (r >> 8) % 196608;
	case 1: case 2: case 3:
		return 1024 + (r >> 8) % 31744;
	default:
		return 1 + (r >> 8) % 512;
	}
}

static unsigned char pat(uint64_t tag, size_t i)
{
	return (unsigned char)(tag * 131 + i * 7 + (i >> 9));
}

/* Fill head and tail (all of a small block): enough to see overlap. */
static void fill(unsigned char *p, size_t n, uint64_t tag)
{
	for (size_t i = 0; i < n && i < 256; i++)
		p[i] = pat(tag, i);
	for (size_t i = n > 256 ? n - 256 : 256; i < n; i++)
		p[i] = pat(tag, i);
}

static uint64_t check(const unsigned char *p, size_t n, uint64_t tag)
{
	uint64_t sum = n;
	for (size_t i = 0; i < n && i < 256; i++) {
		if (p[i] != pat(tag, i))
			fail("pattern broken", (uintptr_t)p, i);
		sum += p[i];
	}
	for (size_t i = n > 256 ? n - 256 : 256; i < n; i++) {
		if (p[i] != pat(tag, i))
			fail("pattern broken", (uintptr_t)p, i);
		sum += p[i] * (i & 15);
	}
	return sum;
}

/* What C promises of a block of n bytes: aligned for any type that fits
 * (16 from 16 bytes up; jemalloc gives a 6-byte block 8, and may), and at
 * least n usable bytes. */
static void *checked(void *p, size_t n, const char *what)
{
	if (!p)
		fail(what, n, 0);
	if ((uintptr_t)p & (n >= 16 ? 15 : n >= 8 ? 7 : n >= 4 ? 3 : n >= 2 ? 1 : 0))
		fail(what, (uintptr_t)p, n);
	if (malloc_usable_size(p) < n)
		fail(what, malloc_usable_size(p), n);
	return p;
}

static void *checked_malloc(size_t n)
{
	return checked(malloc(n), n, "malloc");
}

struct msg { unsigned char *p; size_t n; uint64_t tag; };

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t more, room;
	struct msg m[QLEN];
	unsigned head, tail;
};

static struct queue queues[PAIRS];
static uint64_t sums[PAIRS];

static void put(struct queue *q, struct msg m)
{
	pthread_mutex_lock(&q->lock);
	while (q->tail - q->head == QLEN)
		pthread_cond_wait(&q->room, &q->lock);
	q->m[q->tail++ % QLEN] = m;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
}

static struct msg get(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->tail == q->head)
		pthread_cond_wait(&q->more, &q->lock);
	struct msg m = q->m[q->head++ % QLEN];
	pthread_cond_signal(&q->room);
	pthread_mutex_unlock(&q->lock);
	return m;
}

static void *producer(void *arg)
{
	int pair = (int)(intptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ull * (pair + 1);
	for (uint64_t seq = 0; seq < BLOCKS; seq++) {
		size_t n = pick_size(&s);
		uint64_t tag = (uint64_t)pair << 32 | seq;
		unsigned char *p = checked_malloc(n);
		fill(p, n, tag);
		put(&queues[pair], (struct msg){ p, n, tag });
	}
	put(&queues[pair], (struct msg){ NULL, 0, 0 });
	return NULL;
}

/* Checks and frees what its producer sends; grows every 8th block first,
 * and keeps a few of its own blocks alive to mix local and remote frees. */
static void *consumer(void *arg)
{
	int pair = (int)(intptr_t)arg;
	uint64_t sum = 0, s = 0x243f6a8885a308d3ull * (pair + 1);
	void *mine[64] = { 0 };
	for (uint64_t k = 0;; k++) {
		struct msg m = get(&queues[pair]);
		if (!m.p)
			break;
		sum += check(m.p, m.n, m.tag);
		if (m.tag % 8 == 0) {
			size_t n2 = m.n + m.n / 2 + 1;
			unsigned char *q = checked(realloc(m.p, n2), n2, "realloc");
			sum += check(q, m.n < 256 ? m.n : 256, m.tag);    /* the head moved intact */
			m.p = q;
		}
		free(m.p);
		int i = k % 64;
		free(mine[i]);
		mine[i] = checked_malloc(pick_size(&s) % 2048 + 1);
	}
	for (int i = 0; i < 64; i++)
		free(mine[i]);
	sums[pair] = sum;
	return NULL;
}

static void *orphans[ORPHAN_THREADS][ORPHANS];
static size_t orphan_n[ORPHAN_THREADS][ORPHANS];

/* Allocates ORPHANS blocks and ends, leaving them to the main thread. */
static void *orphaner(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t s = 0xdeadbeefcafef00dull + t;
	for (int i = 0; i < ORPHANS; i++) {
		size_t n = pick_size(&s);
		if (i % 3 == 0) {
			unsigned char *p = calloc(1, n);
			if (!p || p[0] || p[n - 1] || p[n / 2])
				fail("calloc not zeroed", (uintptr_t)p, n);
			free(p);
		}
		orphans[t][i] = checked_malloc(n);
		orphan_n[t][i] = n;
		fill(orphans[t][i], n, (uint64_t)t << 40 | i);
	}
	return NULL;
}

static uint64_t orphan_round(int round)
{
	pthread_t th[ORPHAN_THREADS];
	uint64_t sum = 0;
	for (int t = 0; t < ORPHAN_THREADS; t++)
		pthread_create(&th[t], NULL, orphaner, (void *)(intptr_t)t);
	for (int t = 0; t < ORPHAN_THREADS; t++)
		pthread_join(th[t], NULL);
	/* Free in an order unlike the allocation's: every 7th first. */
	for (int t = 0; t < ORPHAN_THREADS; t++)
		for (int k = 0; k < 7; k++)
			for (int i = k; i < ORPHANS; i += 7) {
				sum += check(orphans[t][i], orphan_n[t][i], (uint64_t)t << 40 | i);
				free(orphans[t][i]);
			}
	printf("orphan round %d sum %016llx\n", round, (unsigned long long)sum);
	return sum;
}

static void aligned_checks(void)
{
	for (size_t a = 16; a <= 1 << 20; a <<= 1) {
		void *p = NULL;
		if (posix_memalign(&p, a, a / 2 + 3) || ((uintptr_t)p & (a - 1)))
			fail("posix_memalign", (uintptr_t)p, a);
		memset(p, 0x11, a / 2 + 3);
		free(p);
		p = aligned_alloc(a, a * 2);
		if (!p || ((uintptr_t)p & (a - 1)))
			fail("aligned_alloc", (uintptr_t)p, a);
		free(p);
	}
	printf("aligned ok\n");
}

int main(void)
{
	Dl_info info;
	if (dladdr((void *)malloc, &info) && info.dli_fname)
		fprintf(stderr, "malloc from %s\n", info.dli_fname);
	if (dladdr((void *)free, &info) && info.dli_fname)
		fprintf(stderr, "free from %s\n", info.dli_fname);

	pthread_t p[PAIRS], c[PAIRS];
	for (int i = 0; i < PAIRS; i++) {
		pthread_mutex_init(&queues[i].lock, NULL);
		pthread_cond_init(&queues[i].more, NULL);
		pthread_cond_init(&queues[i].room, NULL);
		pthread_create(&c[i], NULL, consumer, (void *)(intptr_t)i);
		pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i);
	}
	uint64_t total = 0;
	for (int i = 0; i < PAIRS; i++) {
		pthread_join(p[i], NULL);
		pthread_join(c[i], NULL);
		printf("pair %d sum %016llx\n", i, (unsigned long long)sums[i]);
		total += sums[i];
	}
	for (int r = 0; r < 3; r++)
		total += orphan_round(r);
	aligned_checks();
	printf("checksum %016llx\n", (unsigned long long)total);
	return 0;
}
