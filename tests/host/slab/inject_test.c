/*
 * inject_test.c - failure injection across every allocation path: the
 * n-th frame from the buddy, or the n-th heap allocation, fails, for each
 * n the workload reaches. No crash, no leak, the heap sound.
 */
#include <string.h>
#include "fixture.h"

static void ctor(void *p) { memset(p, 7, 16); }

/* Every path once: classes, large, calloc, realloc, aligned, caches, magazines. */
static void workload(void)
{
	void *p[64] = { 0 };
	unsigned n = 0;
	static const size_t sizes[] = { 5, 24, 100, 500, 1000, 2100, 4096, 7000, 9000, 70000 };

	for (unsigned r = 0; r < 3; r++)
		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			p[n++] = kmalloc(sizes[i]);
	p[n++] = kcalloc(10, 300);
	p[n++] = kmalloc_aligned(100, 256);
	p[n++] = kzalloc(33);
	for (unsigned i = 0; i < n; i += 3) {
		void *q = krealloc(p[i], 3000);
		if (q || !p[i])
			p[i] = q;
	}
	struct cache *c = cache_create("inject", 16, 0, ctor);
	if (c) {
		void *o[200];
		for (int i = 0; i < 200; i++)
			o[i] = cache_alloc(c);
		for (int i = 0; i < 200; i++)
			cache_free(c, o[i]);
		CHECK_EQ(cache_destroy(c), 0);
	}
	for (unsigned i = 0; i < n; i++)
		kfree(p[i]);
}

static void inject_each(unsigned dbg)
{
	for (unsigned nth = 1; nth <= 80 && !check_failed_in_test; nth++) {
		slab_boot(32, dbg);
		pmm_fail_nth(nth);
		workload();
		CHECK_EQ(slab_error_count(), 0);
		expect_all_back();
		slab_boot(32, dbg);
		slab_fail_nth(nth);
		workload();
		CHECK_EQ(slab_error_count(), 0);
		expect_all_back();
	}
}

static void inject_buddy_and_heap(void) { inject_each(0); }
static void inject_buddy_and_heap_debug(void) { inject_each(SLAB_DEBUG_ALL); }

/* Out of memory for real: allocate until NULL, then give it all back. */
static void inject_exhaustion(void)
{
	slab_boot(16, 0);
	void **list = NULL;
	size_t n = 0;
	for (;;) {
		void **node = kmalloc(n % 3 == 0 ? 3000 : 200);
		if (!node)
			break;
		node[0] = list;
		list = node;
		n++;
	}
	CHECK(n > 1000);
	while (list) {
		void **next = list[0];
		kfree(list);
		list = next;
	}
	CHECK_EQ(slab_leak_report(), 0);
	expect_all_back();
}

void inject_tests(void)
{
	RUN(inject_buddy_and_heap);
	RUN(inject_buddy_and_heap_debug);
	RUN(inject_exhaustion);
}
