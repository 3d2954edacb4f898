/* kmalloc_test.c - kmalloc and friends: every size, absurd sizes, alignment, realloc. */
#include <string.h>
#include "fixture.h"

/* Every size up to 3 pages: aligned, usable for ksize bytes, distinct. */
static void kmalloc_every_size(void)
{
	slab_boot(64, 0);
	for (size_t sz = 1; sz <= 12288; sz += sz < 600 ? 1 : 37) {
		uint8_t *p = kmalloc(sz);
		REQUIRE(p);
		size_t usable = ksize(p);
		CHECK(usable >= sz);
		CHECK(usable - sz <= sz / 4 + 8 || usable % 4096 == 0);    /* classes keep waste low */
		CHECK_EQ((uintptr_t)p % 8, 0);
		if ((usable & (usable - 1)) == 0 && usable <= 4096)
			CHECK_EQ((uintptr_t)p % usable, 0);
		memset(p, 0xee, usable);
		kfree(p);
	}
	expect_all_back();
}

/* 0, SIZE_MAX, overflowing kcalloc: NULL, no report, nothing taken. */
static void kmalloc_absurd(void)
{
	slab_boot(64, 0);
	CHECK(kmalloc(0) == NULL);
	CHECK(kmalloc(SIZE_MAX) == NULL);
	CHECK(kmalloc(SIZE_MAX / 2) == NULL);
	CHECK(kzalloc(0) == NULL);
	CHECK(kcalloc(SIZE_MAX / 2, 3) == NULL);
	CHECK(kcalloc((size_t)1 << 32, (size_t)1 << 32) == NULL);
	CHECK(kcalloc(0, 8) == NULL);
	CHECK(kmalloc(128 * MiB) == NULL);      /* more than the fake RAM */
	CHECK(kmalloc_aligned(16, 3) == NULL);
	CHECK(kmalloc_aligned(16, 8192) == NULL);
	CHECK(kmalloc_aligned(16, 0) == NULL);
	kfree(NULL);
	CHECK_EQ(slab_error_count(), 0);
	expect_all_back();
}

static void kmalloc_zeroing(void)
{
	slab_boot(64, 0);
	uint8_t *p = kmalloc(200);
	memset(p, 0xff, 200);
	kfree(p);
	uint8_t *z = kzalloc(200), *c = kcalloc(25, 8);
	REQUIRE(z && c);
	for (int i = 0; i < 200; i++)
		if (z[i] || c[i]) {
			CHECK(!"not zeroed");
			break;
		}
	kfree(z);
	kfree(c);
	uint8_t *big = kcalloc(3, 10000);
	REQUIRE(big);
	CHECK_EQ(big[29999], 0);
	kfree(big);
	expect_all_back();
}

/* krealloc keeps the contents, moves when it must, and frees at size 0. */
static void kmalloc_realloc(void)
{
	slab_boot(64, 0);
	uint8_t *p = krealloc(NULL, 10);
	REQUIRE(p);
	for (int i = 0; i < 10; i++)
		p[i] = (uint8_t)i;
	for (size_t sz = 11; sz < 40000; sz = sz * 3 / 2) {
		p = krealloc(p, sz);
		REQUIRE(p);
		for (int i = 0; i < 10; i++)
			CHECK_EQ(p[i], i);
	}
	p = krealloc(p, 5);
	REQUIRE(p);
	CHECK_EQ(p[4], 4);
	CHECK(ksize(p) < 64);                   /* shrinking far moves it to a small class */
	CHECK(krealloc(p, 0) == NULL);
	CHECK_EQ(slab_live_objects(), 0);
	expect_all_back();
}

static void kmalloc_aligned_all(void)
{
	slab_boot(64, 0);
	for (size_t align = 1; align <= 4096; align <<= 1)
		for (size_t sz = 1; sz < 9000; sz = sz * 2 + 3) {
			void *p = kmalloc_aligned(sz, align);
			REQUIRE(p);
			CHECK_EQ((uintptr_t)p % align, 0);
			CHECK(ksize(p) >= sz);
			memset(p, 1, sz);
			kfree(p);
		}
	expect_all_back();
}

/* Whole pages above the largest class: page aligned, counted, given back. */
static void kmalloc_large(void)
{
	slab_boot(64, 0);
	void *p = kmalloc(100000);
	REQUIRE(p);
	CHECK_EQ((uintptr_t)p % 4096, 0);
	CHECK_EQ(ksize(p), 25 * 4096);
	struct slab_stats s;
	slab_get_stats(&s);
	CHECK_EQ(s.large_pages, 25);
	CHECK_EQ(s.live_objects, 1);
	kfree((char *)p + 4096);
	CHECK_EQ(slab_last_error().kind, SLAB_E_FOREIGN);
	kfree(p);
	expect_all_back();
}

/* kfree of what the heap never returned: reported, nothing changes. */
static void kmalloc_foreign(void)
{
	slab_boot(64, 0);
	static int in_data;
	int on_stack;
	char *p = kmalloc(64);
	kfree(&on_stack);
	CHECK_EQ(slab_last_error().kind, SLAB_E_FOREIGN);
	kfree(&in_data);
	kfree(p + 1);
	kfree(p + 64);                          /* the next object, never handed out */
	CHECK_EQ(slab_last_error().kind, SLAB_E_DOUBLE_FREE);
	CHECK_EQ(slab_error_count(), 4);
	CHECK_EQ(ksize(&on_stack), 0);
	CHECK_EQ(slab_live_objects(), 1);
	kfree(p);
	expect_all_back();
}

/*
 * The trace switch prints and changes nothing; the alloc(5) demonstration's
 * steps (src/kernel/demo.c) run on the host too, with the queries it reads.
 */
static void kmalloc_trace(void)
{
	struct slab_cache_info ci;
	struct slab_obj_info o;

	slab_boot(64, 0);
	slab_trace_set(true);
	void *p = kmalloc(5), *q = kmalloc(20000);
	CHECK(!slab_obj_info(q, &o));           /* a large allocation is no slab object */
	kfree(p);
	kfree(q);
	slab_trace_set(false);
	slab_reap();
	REQUIRE(slab_class_info(5, &ci));
	CHECK_EQ(ci.free, 0);
	CHECK_EQ(ci.slabs, 0);
	CHECK(!slab_class_info(0, &ci) && !slab_class_info(20000, &ci));
	slab_trace_set(true);
	p = kmalloc(5);
	slab_trace_set(false);
	REQUIRE(slab_obj_info(p, &o));
	CHECK_EQ(o.cache.size, 8);
	CHECK_EQ(o.cache.grows, ci.grows + 1);
	CHECK_EQ(o.cache.parked + 1, o.index + 1);      /* the refill parked 0..index; p was the top */
	CHECK(p == (char *)o.slab + o.index * 8);
	slab_trace_set(true);
	kfree(p);
	slab_reap();
	slab_trace_set(false);
	slab_report();
	CHECK_EQ(slab_error_count(), 0);
	expect_all_back();
}

void kmalloc_tests(void)
{
	RUN(kmalloc_every_size);
	RUN(kmalloc_absurd);
	RUN(kmalloc_zeroing);
	RUN(kmalloc_realloc);
	RUN(kmalloc_aligned_all);
	RUN(kmalloc_large);
	RUN(kmalloc_foreign);
	RUN(kmalloc_trace);
}
