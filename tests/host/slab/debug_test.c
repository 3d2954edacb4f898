/* debug_test.c - each debugging aid shown to catch its bug, with the heap still sound after. */
#include <string.h>
#include "fixture.h"

static bool all(const uint8_t *p, size_t n, uint8_t b)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != b)
			return false;
	return true;
}

static void debug_fill_and_poison(void)
{
	slab_boot(64, SLAB_DEBUG_POISON);
	void *keep = kmalloc(40);               /* holds the slab: an empty one is unmapped at once */
	uint8_t *p = kmalloc(40);
	REQUIRE(keep && p);
	CHECK(all(p, 40, SLAB_FILL_ALLOC));
	kfree(p);
	CHECK(all(p, 40, SLAB_POISON_FREE));
	CHECK_EQ(slab_error_count(), 0);
	kfree(keep);
	expect_all_back();
}

/* A write to a freed object is found when the object is handed out again. */
static void debug_use_after_free(void)
{
	slab_boot(64, SLAB_DEBUG_POISON);
	void *keep = kmalloc(64);               /* holds the slab, so the freed object stays mapped */
	uint8_t *p = kmalloc(64);
	REQUIRE(keep && p);
	kfree(p);
	p[10] = 0;                              /* the bug */
	uint8_t *q = kmalloc(64);               /* the slab hands out its first free object: p */
	CHECK(q == p);
	CHECK_EQ(slab_error_count(), 1);
	CHECK_EQ(slab_last_error().kind, SLAB_E_USE_AFTER_FREE);
	CHECK_EQ(slab_last_error().addr, (uintptr_t)p);
	CHECK(strcmp(slab_last_error().cache, "kmalloc-64") == 0);
	kfree(q);
	kfree(keep);
	expect_all_back();
}

/* Writing one byte past what was asked (inside the class's slack, or past the slot). */
static void debug_redzone(void)
{
	slab_boot(64, SLAB_DEBUG_REDZONE);
	uint8_t *p = kmalloc(5);
	REQUIRE(p);
	p[5] = 1;                               /* inside kmalloc-8's slack */
	kfree(p);
	CHECK_EQ(slab_last_error().kind, SLAB_E_REDZONE);
	CHECK_EQ(slab_last_error().addr, (uintptr_t)p);
	struct cache *c = cache_create("rz", 100, 0, NULL);
	REQUIRE(c);
	uint8_t *o = cache_alloc(c);
	memset(o, 0, 100 + 8);                  /* 100 rounds to 104: overruns into the trailer */
	cache_free(c, o);
	CHECK_EQ(slab_error_count(), 2);
	CHECK(strcmp(slab_last_error().cache, "rz") == 0);
	uint8_t *ok = kmalloc(5);
	memset(ok, 1, 5);                       /* exactly what was asked: fine */
	kfree(ok);
	CHECK_EQ(slab_error_count(), 2);
	CHECK_EQ(cache_destroy(c), 0);
	expect_all_back();
}

static void debug_double_free(void)
{
	slab_boot(64, SLAB_DEBUG_CHECK);
	void *p = kmalloc(128), *q = kmalloc(128);
	kfree(p);
	kfree(p);                               /* the bug */
	CHECK_EQ(slab_last_error().kind, SLAB_E_DOUBLE_FREE);
	CHECK_EQ(slab_last_error().addr, (uintptr_t)p);
	CHECK_EQ(slab_live_objects(), 1);       /* the heap did not count it twice */
	void *r = kmalloc(128), *s = kmalloc(128);
	CHECK(r != s);                          /* and does not hand it out twice */
	kfree(r);
	kfree(s);
	kfree(q);
	CHECK_EQ(slab_error_count(), 1);
	CHECK_EQ(slab_check(), 0);
	expect_all_back();
}

/* Switching debugging on at run time: objects in magazines go back first. */
static void debug_switch_at_runtime(void)
{
	slab_boot(64, 0);
	void *keep = kmalloc(32), *p = kmalloc(32);
	kfree(p);                               /* sits in a magazine */
	slab_debug_set(SLAB_DEBUG_CHECK | SLAB_DEBUG_POISON);
	kfree(p);                               /* now a double free the slab sees */
	CHECK_EQ(slab_last_error().kind, SLAB_E_DOUBLE_FREE);
	kfree(keep);
	slab_debug_set(0);
	expect_all_back();
}

/* The leak report lists what is live, with the caller when tracked. */
static void debug_leak_report(void)
{
	slab_boot(64, SLAB_DEBUG_TRACK);
	void *a = kmalloc(48), *b = kmalloc(3000), *c = kmalloc(50000);
	kfree(b);
	CHECK_EQ(slab_leak_report(), 2);
	CHECK_EQ(slab_live_objects(), 2);
	kfree(a);
	kfree(c);
	CHECK_EQ(slab_leak_report(), 0);
	expect_all_back();
}

static void debug_fail_nth_and_random(void)
{
	slab_boot(64, 0);
	void *p[10];
	slab_fail_nth(3);
	for (int i = 0; i < 10; i++)
		p[i] = kmalloc(16);
	for (int i = 0; i < 10; i++)
		CHECK(i == 2 ? p[i] == NULL : p[i] != NULL);
	for (int i = 0; i < 10; i++)
		kfree(p[i]);
	unsigned failed = 0;
	slab_fail_random(42, 250);
	for (int i = 0; i < 2000; i++) {
		void *q = kmalloc(16);
		failed += !q;
		kfree(q);
	}
	slab_fail_random(0, 0);
	CHECK(failed > 400 && failed < 600);
	expect_all_back();
}

void debug_tests(void)
{
	RUN(debug_fill_and_poison);
	RUN(debug_use_after_free);
	RUN(debug_redzone);
	RUN(debug_double_free);
	RUN(debug_switch_at_runtime);
	RUN(debug_leak_report);
	RUN(debug_fail_nth_and_random);
}
