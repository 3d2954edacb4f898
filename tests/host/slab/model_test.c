/*
 * model_test.c - long random sequences against a reference model.
 *
 * The model remembers every live object: where, how big, which cache, and
 * the byte it was filled with. Every free and realloc checks the contents;
 * every so often all live objects are checked for alignment and overlap.
 */
#include <string.h>
#include "fixture.h"

#define SLOTS 2048
#define NCACHES 3

struct obj {
	uint8_t *p;
	size_t size;
	int cache;          /* -1: kmalloc */
	uint8_t fill;
};
static struct obj live[SLOTS];
static struct cache *caches[NCACHES];
static const size_t cache_size[NCACHES] = { 24, 200, 3000 };

/* Mostly small, some medium, a few large: the shape of a kernel's requests. */
static size_t random_size(void)
{
	uint64_t r = rnd();
	switch (r % 16) {
	case 0: return 1 + rnd() % 40000;
	case 1: case 2: return 1 + rnd() % 4096;
	case 3: case 4: case 5: return 1 + rnd() % 512;
	default: return 1 + rnd() % 128;
	}
}

static bool contents_ok(const struct obj *o)
{
	for (size_t i = 0; i < o->size; i++)
		if (o->p[i] != o->fill)
			return false;
	return true;
}

static void fill(struct obj *o)
{
	o->fill = (uint8_t)rnd();
	memset(o->p, o->fill, o->size);
}

static int cmp_ptr(const void *a, const void *b)
{
	const struct obj *x = a, *y = b;
	return x->p < y->p ? -1 : x->p > y->p;
}

/* No two live objects overlap (by their usable sizes); each is aligned. */
static void check_layout(void)
{
	static struct obj sorted[SLOTS];
	size_t n = 0;
	for (int i = 0; i < SLOTS; i++)
		if (live[i].p)
			sorted[n++] = live[i];
	qsort(sorted, n, sizeof(sorted[0]), cmp_ptr);
	for (size_t i = 0; i + 1 < n; i++)
		if (sorted[i].p + ksize(sorted[i].p) > sorted[i + 1].p) {
			CHECK(!"live objects overlap");
			return;
		}
	for (size_t i = 0; i < n; i++)
		CHECK_EQ((uintptr_t)sorted[i].p % 8, 0);
}

static void do_free(struct obj *o)
{
	CHECK(contents_ok(o));
	if (o->cache < 0)
		kfree(o->p);
	else
		cache_free(caches[o->cache], o->p);
	o->p = NULL;
}

static void do_alloc(struct obj *o)
{
	if (rnd() % 4 == 0) {
		o->cache = (int)(rnd() % NCACHES);
		o->size = cache_size[o->cache];
		o->p = cache_alloc(caches[o->cache]);
	} else {
		o->cache = -1;
		o->size = random_size();
		o->p = rnd() % 8 ? kmalloc(o->size) : kzalloc(o->size);
	}
	if (o->p)
		fill(o);
}

static void do_realloc(struct obj *o)
{
	size_t nsz = random_size(), keep = nsz < o->size ? nsz : o->size;
	CHECK(contents_ok(o));
	uint8_t *n = krealloc(o->p, nsz);
	if (!n)
		return;         /* failure: the old object stands */
	for (size_t i = 0; i < keep; i++)
		if (n[i] != o->fill) {
			CHECK(!"krealloc lost contents");
			break;
		}
	o->p = n, o->size = nsz;
	fill(o);
}

static void run_model(uint64_t seed, unsigned steps, unsigned dbg, unsigned fail_per_mille)
{
	slab_boot(128, dbg);
	rnd_seed(seed);
	memset(live, 0, sizeof(live));
	for (int i = 0; i < NCACHES; i++)
		REQUIRE((caches[i] = cache_create("model", cache_size[i], 0, NULL)));
	slab_fail_random(seed, fail_per_mille);
	for (unsigned step = 0; step < steps && !check_failed_in_test; step++) {
		struct obj *o = &live[rnd() % SLOTS];
		unsigned op = rnd() % 100;
		if (!o->p)
			do_alloc(o);
		else if (op < 15 && o->cache < 0)
			do_realloc(o);
		else
			do_free(o);
		if (step % 5000 == 0)
			check_layout();
		if (step % 20011 == 0)
			slab_reap();
	}
	slab_fail_random(0, 0);
	check_layout();
	CHECK_EQ(slab_check(), 0);
	for (int i = 0; i < SLOTS; i++)
		if (live[i].p)
			do_free(&live[i]);
	for (int i = 0; i < NCACHES; i++)
		CHECK_EQ(cache_destroy(caches[i]), 0);
	CHECK_EQ(slab_error_count(), 0);
	expect_all_back();
}

static void model_plain(void) { run_model(1, 300000, 0, 0); }
static void model_plain_seed2(void) { run_model(2, 300000, 0, 0); }
static void model_debug_all(void) { run_model(3, 100000, SLAB_DEBUG_ALL, 0); }
static void model_random_failures(void) { run_model(4, 200000, 0, 100); }
static void model_debug_failures(void) { run_model(5, 60000, SLAB_DEBUG_ALL, 150); }

void model_tests(void)
{
	RUN(model_plain);
	RUN(model_plain_seed2);
	RUN(model_debug_all);
	RUN(model_random_failures);
	RUN(model_debug_failures);
}
