/*
 * fastpath_test.c - the inlined magazine path (slab_private.h): what an
 * interrupt handler that allocates inside it sees, and the one switch that
 * sends every call the full way.
 */
#include "fixture.h"
#include "mm/slab/slab_private.h"

/*
 * busy set, as when an interrupt lands inside mag_fast: the
 * handler's kmalloc and kfree must leave this CPU's magazines alone and
 * work on the slabs, and still be correct.
 */
static void busy_magazines_are_left_alone(void)
{
	slab_boot(32, 0);
	void *warm = kmalloc(64);
	REQUIRE(warm);
	kfree(warm);                            /* the loaded magazine holds it */
	struct cache *c = kmalloc_cache(64);
	struct magazine *l = c->cpu[0].loaded;
	REQUIRE(l && l->rounds);
	unsigned rounds = l->rounds;
	c->cpu[0].busy = 1;
	void *p = kmalloc(64);
	REQUIRE(p);
	CHECK(p != l->obj[rounds - 1]);         /* not the magazine's top object */
	CHECK_EQ(l->rounds, rounds);
	kfree(p);
	CHECK_EQ(l->rounds, rounds);
	CHECK_EQ(slab_error_count(), 0);
	c->cpu[0].busy = 0;
	CHECK_EQ(slab_live_objects(), 0);
	expect_all_back();
}

/*
 * Objects allocated on CPU 0 and freed on CPU 1 park in CPU 1's
 * magazines; CPU 2 flushes them all back to their slabs (mag_flush_all
 * takes each CPU's pair under its busy word), and CPU 1, finding its
 * magazines gone, gets new ones. A flush while a CPU's busy word is held
 * is the SMP test's work (tests/host/smp): here a held word only sends
 * the owner to the slabs, as above.
 */
static void flush_takes_other_cpus_magazines(void)
{
	enum { N = 20 };
	void *p[N];

	slab_boot(32, 0);
	struct cache *c = kmalloc_cache(64);
	for (int i = 0; i < N; i++)
		REQUIRE((p[i] = kmalloc(64)));
	uint64_t parked = mag_rounds(c);        /* what CPU 0's refills left in its magazines */
	fake_cpu_index = 1;
	for (int i = 0; i < N; i++)
		kfree(p[i]);
	CHECK(c->cpu[1].loaded && c->cpu[1].loaded->rounds);
	CHECK_EQ(mag_rounds(c), parked + N);
	CHECK_EQ(slab_live_objects(), 0);
	CHECK_EQ(slab_check(), 0);
	fake_cpu_index = 2;
	mag_flush_all(c);
	CHECK(!c->cpu[1].loaded && !c->cpu[1].prev);
	CHECK_EQ(mag_rounds(c), 0);
	CHECK_EQ(c->out, 0);                    /* every object back in its slab */
	CHECK_EQ(slab_check(), 0);
	fake_cpu_index = 1;
	void *q = kmalloc(64);
	CHECK(q && c->cpu[1].loaded);
	kfree(q);
	fake_cpu_index = 0;
	expect_all_back();
}

/* Hot pairs take the inlined path: the same object again, nothing from the slabs. */
static void hot_pair_reuses_the_magazine(void)
{
	slab_boot(32, 0);
	struct cache *c = kmalloc_cache(100);
	void *p = kmalloc(100);
	REQUIRE(p);
	kfree(p);
	uint64_t out = c->out, grows = c->grows;
	for (int i = 0; i < 1000; i++) {
		void *q = kmalloc(100);
		CHECK(q == p);
		kfree(q);
	}
	CHECK_EQ(c->out, out);                  /* no trip to the slabs */
	CHECK_EQ(c->grows, grows);
	expect_all_back();
}

/* Anything switched on sends every call the full way, where it is seen. */
static void switches_take_the_full_path(void)
{
	slab_boot(32, 0);
	CHECK_EQ(kheap.slowpath, 0);
	slab_fail_nth(5);
	CHECK(kheap.slowpath);
	slab_fail_nth(0);
	slab_trace_set(true);
	CHECK(kheap.slowpath);
	slab_trace_set(false);
	slab_debug_set(SLAB_DEBUG_CHECK);
	CHECK(kheap.slowpath);
	void *keep = kmalloc(24), *p = kmalloc(24);  /* keep holds the slab */
	kfree(p);
	kfree(p);                               /* with magazines bypassed, the slab sees it */
	CHECK_EQ(slab_last_error().kind, SLAB_E_DOUBLE_FREE);
	kfree(keep);
	slab_debug_set(0);
	CHECK_EQ(kheap.slowpath, 0);
	expect_all_back();
}

void fastpath_tests(void)
{
	RUN(busy_magazines_are_left_alone);
	RUN(flush_takes_other_cpus_magazines);
	RUN(hot_pair_reuses_the_magazine);
	RUN(switches_take_the_full_path);
}
