/*
 * test_threads.c - many heaps at once: eight threads pass half of their
 * blocks to the next through a locked queue, which checks and frees them
 * (frees from another thread: the lock-free thread_free path); the
 * threads end at different times, so blocks of an ended thread's heap are
 * freed after it is gone (abandoned pages), and a second wave of threads
 * adopts those pages. A quarter of the blocks passed on are realloc'ed by
 * their receiver first. Then a producer/consumer pair, where every free is
 * remote: memory stays bounded only if the producer collects them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include "malloc_test.h"


#define NT      8
#define ROUNDS  12
#define PER     400
#define QCAP    (1 << 15)
#ifndef STRESS_RUNS
#define STRESS_RUNS 3
#endif

struct item { void *p; size_t n; uint64_t id; };

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item v[QCAP];
	size_t head, tail;      /* taken at head, put at tail; tail - head items */
	int closed;
};

static struct queue q[NT + 1];
static atomic_int thread_errors;
static pthread_mutex_t say_mu = PTHREAD_MUTEX_INITIALIZER;

static void bad(const char *what, const struct item *it, size_t at)
{
	if (atomic_fetch_add(&thread_errors, 1) < 10) {
		pthread_mutex_lock(&say_mu);
		printf("#   %s: block %p (%zu bytes, id %lx) at %zu\n", what, it->p, it->n,
		       (unsigned long)it->id, at);
		pthread_mutex_unlock(&say_mu);
	}
}

static void q_init(struct queue *k)
{
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	k->head = k->tail = 0;
	k->closed = 0;
}

/* Put one item; a bounded queue (cap) makes the caller wait for room. */
static void q_put(struct queue *k, struct item it, size_t cap)
{
	pthread_mutex_lock(&k->mu);
	while (k->tail - k->head >= cap)
		pthread_cond_wait(&k->cv, &k->mu);
	k->v[k->tail++ % QCAP] = it;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

/* Take one item; wait if told to, until one comes or the queue is closed. Returns 0 if none. */
static int q_take(struct queue *k, struct item *it, int wait)
{
	int got = 0;
	pthread_mutex_lock(&k->mu);
	while (wait && k->tail == k->head && !k->closed)
		pthread_cond_wait(&k->cv, &k->mu);
	if (k->tail != k->head) {
		*it = k->v[k->head++ % QCAP];
		got = 1;
		pthread_cond_broadcast(&k->cv);
	}
	pthread_mutex_unlock(&k->mu);
	return got;
}

static void q_close(struct queue *k)
{
	pthread_mutex_lock(&k->mu);
	k->closed = 1;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

static size_t tsize(uint64_t *rs)
{
	uint64_t r = rnd_next(rs) % 100, x = rnd_next(rs);
	if (r < 60)
		return x % 257;
	if (r < 90)
		return 257 + x % 4096;
	if (r < 98)
		return 4096 + x % SMALL_MAX;
	return SMALL_MAX + x % (200 * KIB);
}

static struct item make(uint64_t *rs, uint64_t id)
{
	struct item it = { NULL, tsize(rs), id };
	it.p = (rnd_next(rs) & 3) ? sm_malloc(it.n) : sm_calloc(1, it.n);
	if (!it.p) {
		bad("no block", &it, 0);
		return it;
	}
	if (sm_malloc_usable_size(it.p) < it.n || (uintptr_t)it.p % 16)
		bad("usable size or alignment", &it, sm_malloc_usable_size(it.p));
	pat_fill(it.p, 0, it.n, it.id);
	return it;
}

static void drop(const struct item *it)
{
	if (!it->p)
		return;
	size_t at = pat_check(it->p, 0, it->n, it->id);
	if (at != SIZE_MAX)
		bad("changed", it, at);
	sm_free(it->p);
}

/* realloc a block another thread allocated: its prefix must come along. */
static void regrow(struct item *it, uint64_t *rs)
{
	size_t n = tsize(rs), at = pat_check(it->p, 0, it->n, it->id);
	if (at != SIZE_MAX)
		bad("changed before realloc", it, at);
	void *q = sm_realloc(it->p, n ? n : 1);
	if (!q) {
		bad("realloc failed", it, n);
		return;
	}
	size_t keep = n < it->n ? n : it->n;
	it->p = q;
	if ((at = pat_check(q, 0, keep, it->id)) != SIZE_MAX)
		bad("realloc lost the prefix", it, at);
	pat_fill(q, keep, n ? n : 1, it->id);
	it->n = n ? n : 1;
}

static void *ring_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t rs = 0x1234567ULL * (t + 1) + 99;
	static _Thread_local struct item keep[PER];
	int nkeep = 0;
	struct item in;
	/* Thread t runs ROUNDS + 2t rounds: thread 0 ends first, its last blocks still queued. */
	for (int r = 0; r < ROUNDS + 2 * t; r++) {
		for (int i = 0; i < PER; i++) {
			struct item it = make(&rs, (uint64_t)t << 48 | (uint64_t)r << 24 | i);
			if (i & 1)
				q_put(&q[(t + 1) % NT], it, QCAP);
			else if (nkeep < PER)
				keep[nkeep++] = it;
			else
				drop(&it);
		}
		while (q_take(&q[t], &in, 0)) {
			if (in.p && (rnd_next(&rs) & 3) == 0)
				regrow(&in, &rs);
			drop(&in);
		}
		/* Free a random half of what it keeps, so its pages hold blocks of mixed ages. */
		for (int i = 0; i < nkeep; )
			if (rnd_next(&rs) & 1) {
				drop(&keep[i]);
				keep[i] = keep[--nkeep];
			} else
				i++;
	}
	/* What it still keeps goes to the next thread too: freed after this one ended. */
	for (int i = 0; i < nkeep; i++)
		q_put(&q[(t + 1) % NT], keep[i], QCAP);
	return NULL;
}

static void *adopt_thread(void *arg)
{
	uint64_t rs = 777 + (uintptr_t)arg;
	struct item v[PER];
	for (int r = 0; r < 20; r++) {
		for (int i = 0; i < PER; i++)
			v[i] = make(&rs, (uint64_t)(uintptr_t)arg << 48 | (uint64_t)r << 24 | i);
		for (int i = 0; i < PER; i++)
			drop(&v[i]);
	}
	return NULL;
}

static void stress_once(int run)
{
	pthread_t th[NT];
	struct item in;
	for (int t = 0; t < NT; t++)
		q_init(&q[t]);
	for (int t = 0; t < NT; t++)
		REQUIRE(pthread_create(&th[t], NULL, ring_thread, (void *)(intptr_t)t) == 0);
	for (int t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	struct sm_stats mid = stats();
	int left = 0;
	for (int t = 0; t < NT; t++)
		while (q_take(&q[t], &in, 0)) {
			drop(&in);
			left++;
		}
	/* A second wave: new heaps that find the abandoned pages. */
	for (int t = 0; t < NT; t++)
		REQUIRE(pthread_create(&th[t], NULL, adopt_thread, (void *)(intptr_t)t) == 0);
	for (int t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	struct sm_stats s = stats();
	printf("#   run %d: %d blocks of ended threads freed by main (%lu live then); "
	       "after: %lu live, %lu segments, %lu KiB reserved\n", run, left,
	       (unsigned long)mid.live_blocks, (unsigned long)s.live_blocks,
	       (unsigned long)s.segments, (unsigned long)(s.reserved_bytes / KIB));
	CHECK(left > 0);
	CHECK_EQ(mid.live_blocks, left);
	CHECK_EQ(s.live_blocks, 0);
	CHECK_EQ(s.live_bytes, 0);
}

void threads_cross_free_and_abandon(void)
{
	atomic_store(&thread_errors, 0);
	for (int run = 0; run < STRESS_RUNS; run++)
		stress_once(run);
	CHECK_EQ(atomic_load(&thread_errors), 0);
	sm_trim();
	struct sm_stats s = stats();
	printf("#   after sm_trim: %lu segments, %lu KiB reserved, %lu KiB committed\n",
	       (unsigned long)s.segments, (unsigned long)(s.reserved_bytes / KIB),
	       (unsigned long)(s.committed_bytes / KIB));
	CHECK_EQ(s.live_blocks, 0);
	CHECK(s.reserved_bytes <= 16 * SEG_SIZE);      /* bounded, though the bug leaves some */
	CHECK(s.segments <= 1 && s.committed_bytes <= 3 * PAGE_SIZE);
	CHECK_EQ(misuse_count, 0);
}

/* ---- one producer, one consumer ---- */

#define PC_BLOCKS 200000
#define PC_CAP    1024

static uint64_t pc_peak_reserved;

static void *producer(void *arg)
{
	(void)arg;
	uint64_t rs = 4242;
	for (int i = 0; i < PC_BLOCKS; i++) {
		struct item it = { NULL, 1 + rnd_next(&rs) % 2048, (uint64_t)i };
		it.p = sm_malloc(it.n);
		if (!it.p) {
			bad("no block", &it, 0);
			continue;
		}
		pat_fill(it.p, 0, it.n, it.id);
		q_put(&q[NT], it, PC_CAP);
		if (i % 5000 == 0) {
			struct sm_stats s = stats();
			if (s.reserved_bytes > pc_peak_reserved)
				pc_peak_reserved = s.reserved_bytes;
		}
	}
	q_close(&q[NT]);
	return NULL;
}

static void *consumer(void *arg)
{
	struct item it;
	int *n = arg;
	while (q_take(&q[NT], &it, 1)) {
		drop(&it);
		++*n;
	}
	return NULL;
}

void producer_consumer(void)
{
	atomic_store(&thread_errors, 0);
	for (int run = 0; run < 3; run++) {
		pthread_t p, c;
		int consumed = 0;
		q_init(&q[NT]);
		pc_peak_reserved = 0;
		uint64_t before = stats().reserved_bytes;
		REQUIRE(pthread_create(&c, NULL, consumer, &consumed) == 0);
		REQUIRE(pthread_create(&p, NULL, producer, NULL) == 0);
		pthread_join(p, NULL);
		pthread_join(c, NULL);
		struct sm_stats s = stats();
		pc_peak_reserved -= pc_peak_reserved > before ? before : pc_peak_reserved;
		printf("#   run %d: %d consumed, peak %lu KiB reserved over the start, %lu live after\n",
		       run, consumed, (unsigned long)(pc_peak_reserved / KIB), (unsigned long)s.live_blocks);
		CHECK_EQ(consumed, PC_BLOCKS);
		CHECK_EQ(s.live_blocks, 0);
		/* At most 1024 blocks of 2 KiB in flight: the remote frees are reused, not piled up. */
		CHECK(pc_peak_reserved <= 8 * SEG_SIZE);
	}
	CHECK_EQ(atomic_load(&thread_errors), 0);
	CHECK_EQ(misuse_count, 0);
}

/* ---- pages of an ended thread, emptied by others' frees, go back at sm_trim ---- */

#define ONE_PAGE ((int)(PAGE_SIZE / KIB))

static void *fill_one_page(void *arg)
{
	void **v = arg;
	for (int i = 0; i < ONE_PAGE; i++)
		v[i] = sm_malloc(KIB);
	return NULL;
}

void abandoned_pages_trimmed(void)
{
	void *v[ONE_PAGE];
	pthread_t t;
	sm_trim();
	struct sm_stats s0 = stats();
	REQUIRE(pthread_create(&t, NULL, fill_one_page, v) == 0);
	pthread_join(t, NULL);          /* its heap is abandoned, the page full */
	CHECK_EQ(stats().live_blocks, s0.live_blocks + ONE_PAGE);
	for (int i = 0; i < ONE_PAGE; i++)
		sm_free(v[i]);
	sm_trim();
	struct sm_stats s = stats();
	printf("#   before: %lu segments, %lu KiB committed; after the thread's blocks were freed "
	       "and sm_trim: %lu segments, %lu KiB committed, %lu live\n",
	       (unsigned long)s0.segments, (unsigned long)(s0.committed_bytes / KIB),
	       (unsigned long)s.segments, (unsigned long)(s.committed_bytes / KIB),
	       (unsigned long)s.live_blocks);
	CHECK_EQ(s.live_blocks, s0.live_blocks);
	CHECK(s.committed_bytes <= s0.committed_bytes && s.segments <= s0.segments);
}
