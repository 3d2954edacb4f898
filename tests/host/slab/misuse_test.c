/*
 * misuse_test.c - the failure policy of the slab layer (mm/failure.h), with
 * the default flags, magazines on:
 *
 *   a caller's misuse (double free through a magazine, a wild, interior or
 *   foreign pointer, an internal object) is reported, changes nothing, and
 *   the heap stays consistent: every frame comes back;
 *   a broken invariant (a corrupted descriptor, slab list, bitmap or owner
 *   table) stops with "PANIC: slab: ...".
 */
#include <string.h>
#include "fixture.h"
#include "mm/slab/slab_private.h"
#include "mm/vmm/vmm.h"

static unsigned errors_since(unsigned before) { return slab_error_count() - before; }

/*
 * kfree(p) twice, with p going into the loaded magazine each time. The
 * second must be reported and ignored: else two kmallocs return p, and the
 * flush drops the slab's count twice, so a slab with a live object in it
 * is given back.
 */
static void double_free_through_magazine(void)
{
	slab_boot(32, 0);
	void *keep = kmalloc(64), *p = kmalloc(64);
	REQUIRE(keep && p);
	unsigned before = slab_error_count();
	kfree(p);
	kfree(p);
	CHECK_EQ(errors_since(before), 1);
	CHECK_EQ(slab_last_error().kind, SLAB_E_DOUBLE_FREE);
	CHECK_EQ(slab_last_error().addr, (uintptr_t)p);
	void *a = kmalloc(64), *b = kmalloc(64);
	CHECK(a != b);
	CHECK(a != keep && b != keep);
	kfree(a);
	kfree(b);
	CHECK_EQ(slab_check(), 0);
	kfree(keep);
	expect_all_back();
}

/* The same with other frees in between: p is not on top of the magazine. */
static void double_free_deep_in_magazine(void)
{
	slab_boot(32, 0);
	void *p[8];
	for (int i = 0; i < 8; i++)
		REQUIRE(p[i] = kmalloc(32));
	unsigned before = slab_error_count();
	kfree(p[0]);
	for (int i = 1; i < 8; i++)
		kfree(p[i]);
	kfree(p[0]);
	kfree(p[3]);
	CHECK_EQ(errors_since(before), 2);
	void *q[8];
	for (int i = 0; i < 8; i++) {
		q[i] = kmalloc(32);
		for (int j = 0; j < i; j++)
			CHECK(q[i] != q[j]);
	}
	for (int i = 0; i < 8; i++)
		kfree(q[i]);
	expect_all_back();
}

/*
 * A double free of an object whose magazine went to the depot, and of one
 * that cache_free sends through the full path: each seen, nothing given
 * back twice, and a slab with a live object stays mapped through a reap.
 */
static void double_free_then_reap_keeps_live_slab(void)
{
	slab_boot(32, 0);
	struct cache *c = kmalloc_cache(128);
	enum { N = 100 };
	void *p[N];
	for (int i = 0; i < N; i++)
		REQUIRE(p[i] = kmalloc(128));
	unsigned before = slab_error_count();
	for (int i = 1; i < N; i++)             /* p[0] stays live */
		kfree(p[i]);
	for (int i = 1; i < N; i++)             /* every one again, wherever it sits now */
		kfree(p[i]);
	CHECK_EQ(errors_since(before), N - 1);
	CHECK_EQ(slab_live_objects(), 1);
	slab_reap();
	CHECK_EQ(slab_check(), 0);
	CHECK_EQ(c->out, 1);
	memset(p[0], 0x5a, 128);                /* still mapped */
	kfree(p[0]);
	expect_all_back();
}

/* A cache with a constructor: a double free goes through cache_free's fast path too. */
static void ctor_init(void *obj) { memset(obj, 0x11, 48); }

static void double_cache_free(void)
{
	slab_boot(32, 0);
	struct cache *c = cache_create("dbl", 48, 0, ctor_init);
	REQUIRE(c);
	void *a = cache_alloc(c), *b = cache_alloc(c);
	unsigned before = slab_error_count();
	cache_free(c, a);
	cache_free(c, a);
	CHECK_EQ(errors_since(before), 1);
	CHECK_EQ(slab_last_error().kind, SLAB_E_DOUBLE_FREE);
	void *x = cache_alloc(c), *y = cache_alloc(c);
	CHECK(x != y && x != b && y != b);
	CHECK_EQ(((uint8_t *)x)[0], 0x11);     /* constructed state kept */
	cache_free(c, x);
	cache_free(c, y);
	cache_free(c, b);
	CHECK_EQ(cache_destroy(c), 0);
	expect_all_back();
}

/*
 * Wild, interior and foreign pointers with magazines on: each reported,
 * nothing freed, and the live object's neighbours untouched.
 */
static void wild_pointers_reported(void)
{
	slab_boot(32, 0);
	char *p = kmalloc(96), *big = kmalloc(40000);
	REQUIRE(p && big);
	struct slab *s = pages_owner(p);
	static char in_data[16];
	char on_stack[16];
	unsigned before = slab_error_count();
	void *wild[] = {
		on_stack, in_data, p + 1, p + 95, p - 8,
		(void *)s,                                      /* its descriptor (on-slab) */
		(char *)s + 8,
		big + 8, big + 4096,
		(void *)(VMM_KHEAP_BASE + (3UL << 30)),         /* heap area, no slab */
		(void *)(VMM_KLARGE_BASE - 64),                 /* just below the large area */
		(void *)~0UL,
	};
	for (size_t i = 0; i < sizeof(wild) / sizeof(wild[0]); i++) {
		kfree(wild[i]);
		CHECK_EQ(errors_since(before), i + 1);
	}
	CHECK_EQ(slab_live_objects(), 2);
	CHECK_EQ(slab_check(), 0);
	kfree(p);
	kfree(big);
	expect_all_back();
}

/*
 * kfree of one of the heap's own objects (a magazine in use): an object
 * kmalloc never returned. Freeing it would let the magazine be reused under
 * the CPU that still loads it.
 */
static void internal_object_is_foreign(void)
{
	slab_boot(32, 0);
	void *p = kmalloc(64);
	kfree(p);                               /* loads a magazine */
	struct magazine *m = kmalloc_cache(64)->cpu[0].loaded;
	REQUIRE(m);
	unsigned before = slab_error_count();
	kfree(m);
	CHECK_EQ(errors_since(before), 1);
	CHECK_EQ(slab_last_error().kind, SLAB_E_FOREIGN);
	CHECK_EQ(slab_check(), 0);
	expect_all_back();
}

/* ---- broken invariants: PANIC ---- */

static bool panicked_in_slab(int p)
{
	return p && strncmp(fake_panic_msg, "slab: ", 6) == 0;
}

/* An overrun of the last object writes the on-slab descriptor: the next free of that slab stops. */
static void corrupt_descriptor_panics(void)
{
	slab_boot(32, 0);
	void *p = kmalloc(64);
	struct slab *s = pages_owner(p);
	REQUIRE(s);
	s->magic ^= 1;
	CHECK(panicked_in_slab(FAKE_PANICS(kfree(p))));
}

/* A slab list whose links do not agree: found when the slab moves, not followed. */
static void corrupt_list_panics(void)
{
	slab_boot(32, 0);
	void *a = kmalloc(64), *b = kmalloc(64);
	struct cache *c = kmalloc_cache(64);
	struct slab *s = pages_owner(a);
	REQUIRE(s && s->list == LIST_PARTIAL);
	slab_debug_set(SLAB_DEBUG_CHECK);       /* frees go straight to the slab */
	s->prev = (struct slab *)c;             /* a link to something that is no slab */
	int p = FAKE_PANICS({ kfree(a); kfree(b); });
	CHECK(panicked_in_slab(p));
	slab_debug_set(0);
}

/* A count that disagrees with the bitmap: found on the next put. */
static void corrupt_bitmap_panics(void)
{
	slab_boot(32, 0);
	void *a = kmalloc(64);
	struct slab *s = pages_owner(a);
	REQUIRE(s);
	slab_debug_set(SLAB_DEBUG_CHECK);
	s->inuse = 0;                           /* says empty; the bitmap says one is out */
	CHECK(panicked_in_slab(FAKE_PANICS(kfree(a))));
	slab_debug_set(0);
}

/* An object in a magazine that its slab does not count as out: found on the flush. */
static void corrupt_magazine_panics(void)
{
	slab_boot(32, 0);
	void *a = kmalloc(64), *keep = kmalloc(64);
	struct slab *s = pages_owner(a);
	struct cache *c = kmalloc_cache(64);
	REQUIRE(s && keep);
	kfree(a);                               /* in the magazine */
	unsigned i = (unsigned)slab_obj_index(c, s, (uintptr_t)a);
	*used_word(s, i) &= ~obj_bit(i);
	CHECK(panicked_in_slab(FAKE_PANICS(cache_shrink(c))));
}

/*
 * An owner slot naming a descriptor that is not heap memory: the look-up
 * stops before reading it. (ksize takes the full look-up; kfree's fast path
 * trusts the table, which no object overrun can reach.)
 */
static void corrupt_owner_slot_panics(void)
{
	slab_boot(32, 0);
	void *p = kmalloc(64);
	struct slab *s = pages_owner(p);
	REQUIRE(s);
	void *page = (void *)((uintptr_t)p & ~(PAGE_SIZE - 1));
	pages_set_owner(page, 1, (struct slab *)(VMM_KHEAP_BASE + (5UL << 30)));
	CHECK(panicked_in_slab(FAKE_PANICS(ksize(p))));
	pages_set_owner(page, 1, s);
	CHECK_EQ(ksize(p), 64);
	kfree(p);
	expect_all_back();
}

/* slab_check sees an object marked parked that no magazine holds. */
static void check_sees_stray_parked_bit(void)
{
	slab_boot(32, 0);
	void *p = kmalloc(64);
	struct slab *s = pages_owner(p);
	REQUIRE(s);
	unsigned i = (unsigned)slab_obj_index(kmalloc_cache(64), s, (uintptr_t)p);
	CHECK_EQ(slab_check(), 0);
	*parked_word(s, i) |= obj_bit(i);
	CHECK(slab_check() > 0);
	unsigned before = slab_error_count();
	kfree(p);                               /* looks parked: refused, not pushed twice */
	CHECK_EQ(errors_since(before), 1);
	*parked_word(s, i) &= ~obj_bit(i);
	kfree(p);
	CHECK_EQ(errors_since(before), 1);
	expect_all_back();
}

/* The VMM refusing to take back a slab's pages is a heap bug: it stops, it does not go on. */
static void pages_free_refused_panics(void)
{
	slab_boot(32, 0);
	void *never = (void *)(VMM_KHEAP_BASE + (5UL << 30));
	CHECK(panicked_in_slab(FAKE_PANICS(pages_free(never, 1))));
}

void misuse_tests(void)
{
	RUN(double_free_through_magazine);
	RUN(double_free_deep_in_magazine);
	RUN(double_free_then_reap_keeps_live_slab);
	RUN(double_cache_free);
	RUN(wild_pointers_reported);
	RUN(internal_object_is_foreign);
	RUN(corrupt_descriptor_panics);
	RUN(corrupt_list_panics);
	RUN(corrupt_bitmap_panics);
	RUN(corrupt_magazine_panics);
	RUN(corrupt_owner_slot_panics);
	RUN(check_sees_stray_parked_bit);
	RUN(pages_free_refused_panics);
}
