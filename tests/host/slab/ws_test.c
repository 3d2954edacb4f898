/*
 * ws_test.c - the working sets: a depot and a cache's empty slabs keep
 * what a loop takes again, give back what stays idle for an interval of
 * the heap's clock, and give everything idle back when pages run out.
 * White-box: reads struct cache (slab_private.h).
 */
#include "fixture.h"
#include "mm/slab/slab_private.h"

#define BURST 3000

static void *objs[BURST];

static uint64_t vmm_trips(void)
{
	struct slab_stats st;

	slab_get_stats(&st);
	return st.vmm_trips;
}

static void burst(struct cache *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		objs[i] = cache_alloc(c);
		CHECK(objs[i] != NULL);
		*(volatile char *)objs[i] = 1;
	}
	for (unsigned i = n; i-- > 0; )
		cache_free(c, objs[i]);
}

/* The heap's clock run on by a class with no magazines: each pair is two slab transactions. */
static void tick(unsigned intervals)
{
	for (unsigned i = 0; i < intervals * SLAB_INTERVAL; i++)
		kfree(kmalloc(12000));
}

/* Rounds of BURST objects after the first reach neither the slabs' growth nor the VMM. */
static void ws_depot_keeps_a_loop(void)
{
	slab_boot(128, 0);
	struct cache *c = cache_create("ws-loop", 64, 0, NULL);
	CHECK(c != NULL);
	/* As many as the depot may hold (its share of RAM) and this CPU's two magazines. */
	unsigned n = (c->depot_max + 2) * c->mag_size;
	n = n < BURST ? n : BURST;
	CHECK(n > 1000);
	burst(c, n);
	uint64_t grows = c->grows, trips = vmm_trips();
	for (int r = 0; r < 20; r++)
		burst(c, n);
	CHECK_EQ(c->grows, grows);
	CHECK_EQ(vmm_trips(), trips);
	CHECK(c->depot_nfull * c->mag_size + 2 * c->mag_size >= n);     /* the objects wait in the depot */
	CHECK_EQ(slab_check(), 0);
	cache_destroy(c);
	expect_all_back();
}

/* A burst nobody takes again: its magazines go back after one idle interval, its slabs after the next. */
static void ws_idle_burst_decays(void)
{
	slab_boot(32, 0);
	struct cache *c = cache_create("ws-idle", 64, 0, NULL);
	CHECK(c != NULL);
	void *one = cache_alloc(c);             /* one live object: the cache stays */
	burst(c, BURST);
	uint64_t slabs = c->nslabs;
	CHECK(c->depot_nfull > 10);
	CHECK(slabs > 10);
	for (int round = 0; round < 3; round++) {
		tick(1);
		/* One use that reaches the depot and the slabs: more than this CPU's two magazines hold. */
		burst(c, 3 * c->mag_size);
	}
	CHECK(c->depot_nfull <= 3);
	CHECK(c->nslabs < slabs / 4);
	CHECK_EQ(slab_check(), 0);
	cache_free(c, one);
	cache_destroy(c);
	expect_all_back();
}

/*
 * Out of pages, the heap takes its idle memory back before it fails: after
 * a burst left a full depot in one cache, another still gets as many pages'
 * worth of objects as on a heap that held nothing idle.
 */
static unsigned exhaust(void)
{
	void **list = NULL;
	unsigned n = 0;

	for (;;) {
		void **node = kmalloc(4096);
		if (!node)
			break;
		node[0] = list;
		list = node;
		n++;
	}
	while (list) {
		void **next = list[0];
		kfree(list);
		list = next;
	}
	return n;
}

static void ws_reclaim_before_failing(void)
{
	slab_boot(16, 0);
	unsigned clean = exhaust();
	slab_reap();
	struct cache *c = cache_create("ws-idle", 64, 0, NULL);
	CHECK(c != NULL);
	burst(c, BURST);
	uint64_t idle = c->nslabs;
	CHECK(idle > 10);
	unsigned with_idle = exhaust();
	/* At most what this CPU's own two magazines of c pin (60 objects: a slab or two) is lost. */
	CHECK(with_idle + 4 >= clean);
	CHECK(c->nslabs < idle);
	CHECK_EQ(slab_check(), 0);
	cache_destroy(c);
	expect_all_back();
}

void ws_tests(void)
{
	RUN(ws_depot_keeps_a_loop);
	RUN(ws_idle_burst_decays);
	RUN(ws_reclaim_before_failing);
}
