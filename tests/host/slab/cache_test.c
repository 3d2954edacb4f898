/* cache_test.c - object caches: layout, constructors, lists, destroy, misuse. */
#include <string.h>
#include "fixture.h"

static unsigned ctor_calls;
static void ctor_pattern(void *obj) { memset(obj, 0x3c, 48); ctor_calls++; }

/* Objects are aligned, distinct, writable; freeing and shrinking gives every frame back. */
static void cache_basic(void)
{
	slab_boot(64, 0);
	struct cache *c = cache_create("test-40", 40, 0, NULL);
	REQUIRE(c);
	void *obj[300];
	for (int i = 0; i < 300; i++) {
		obj[i] = cache_alloc(c);
		REQUIRE(obj[i]);
		CHECK_EQ((uintptr_t)obj[i] % 8, 0);
		memset(obj[i], i, 40);
	}
	for (int i = 0; i < 300; i++)
		for (int j = 0; j < 40; j++)
			if (((uint8_t *)obj[i])[j] != (uint8_t)i) {
				CHECK(!"object overwritten");
				break;
			}
	CHECK_EQ(slab_live_objects(), 300);
	for (int i = 0; i < 300; i++)
		cache_free(c, obj[i]);
	CHECK_EQ(slab_live_objects(), 0);
	CHECK_EQ(cache_destroy(c), 0);
	CHECK_EQ(slab_error_count(), 0);
	expect_all_back();
}

/* Alignment up to a page is honoured, in on-slab and off-slab layouts. */
static void cache_alignment(void)
{
	slab_boot(64, 0);
	for (size_t align = 8; align <= 4096; align <<= 1) {
		struct cache *c = cache_create("aligned", 24, align, NULL);
		REQUIRE(c);
		void *p[20];
		for (int i = 0; i < 20; i++) {
			p[i] = cache_alloc(c);
			REQUIRE(p[i]);
			CHECK_EQ((uintptr_t)p[i] % align, 0);
		}
		for (int i = 0; i < 20; i++)
			cache_free(c, p[i]);
		CHECK_EQ(cache_destroy(c), 0);
	}
	CHECK(!cache_create("bad", 24, 3, NULL));
	CHECK(!cache_create("bad", 24, 8192, NULL));
	CHECK(!cache_create("bad", 0, 8, NULL));
	CHECK(!cache_create("bad", SLAB_MAX_OBJECT + 1, 8, NULL));
	CHECK(cache_alloc(NULL) == NULL);
	expect_all_back();
}

/* The constructor runs once per object when its slab is made; objects come back constructed. */
static void cache_ctor(void)
{
	slab_boot(64, 0);
	ctor_calls = 0;
	struct cache *c = cache_create("ctor", 48, 16, ctor_pattern);
	REQUIRE(c);
	uint8_t *p = cache_alloc(c);
	REQUIRE(p);
	unsigned after_first = ctor_calls;
	CHECK(after_first > 1);                 /* the whole slab was constructed */
	CHECK_EQ(p[0], 0x3c);
	cache_free(c, p);
	for (int i = 0; i < 10; i++) {
		uint8_t *q = cache_alloc(c);
		CHECK_EQ(q[47], 0x3c);
		cache_free(c, q);
	}
	CHECK_EQ(ctor_calls, after_first);      /* no constructor call on reuse */
	CHECK_EQ(cache_destroy(c), 0);
	expect_all_back();
}

/* Large objects are off-slab: a whole slab is objects. Shrinking gives empty slabs back. */
static void cache_offslab_and_shrink(void)
{
	slab_boot(64, 0);
	struct cache *c = cache_create("big", 2048, 0, NULL);
	REQUIRE(c);
	void *p[64];
	for (int i = 0; i < 64; i++)
		REQUIRE((p[i] = cache_alloc(c)));
	CHECK_EQ((uintptr_t)p[0] % 2048, 0);
	struct slab_stats a, b;
	slab_get_stats(&a);
	for (int i = 0; i < 64; i++)
		cache_free(c, p[i]);
	cache_shrink(c);
	slab_get_stats(&b);
	CHECK(b.slab_pages < a.slab_pages);
	CHECK_EQ(slab_check(), 0);
	CHECK_EQ(cache_destroy(c), 0);
	expect_all_back();
}

/* A cache with live objects refuses to go, and says so; then goes once they are freed. */
static void cache_destroy_live(void)
{
	slab_boot(64, 0);
	struct cache *c = cache_create("live", 64, 0, NULL);
	REQUIRE(c);
	void *p = cache_alloc(c);
	unsigned e = slab_error_count();
	CHECK_EQ(cache_destroy(c), -1);
	CHECK_EQ(slab_error_count(), e + 1);
	CHECK_EQ(slab_last_error().kind, SLAB_E_LIVE_OBJECTS);
	cache_free(c, p);
	CHECK_EQ(cache_destroy(c), 0);
	expect_all_back();
}

/* cache_free with the wrong cache, a stack address, or the middle of an object: reported, ignored. */
static void cache_misuse(void)
{
	slab_boot(64, 0);
	struct cache *a = cache_create("a", 64, 0, NULL), *b = cache_create("b", 64, 0, NULL);
	REQUIRE(a && b);
	char *p = cache_alloc(a);
	int local;
	cache_free(b, p);
	CHECK_EQ(slab_last_error().kind, SLAB_E_WRONG_CACHE);
	CHECK_EQ(slab_last_error().addr, (uintptr_t)p);
	cache_free(a, &local);
	CHECK_EQ(slab_last_error().kind, SLAB_E_FOREIGN);
	cache_free(a, p + 8);
	CHECK_EQ(slab_last_error().kind, SLAB_E_FOREIGN);
	CHECK(strcmp(slab_last_error().cache, "a") == 0);
	CHECK_EQ(slab_error_count(), 3);
	CHECK_EQ(slab_live_objects(), 1);
	cache_free(a, p);
	CHECK_EQ(cache_destroy(a), 0);
	CHECK_EQ(cache_destroy(b), 0);
	expect_all_back();
}

void cache_tests(void)
{
	RUN(cache_basic);
	RUN(cache_alignment);
	RUN(cache_ctor);
	RUN(cache_offslab_and_shrink);
	RUN(cache_destroy_live);
	RUN(cache_misuse);
}
