/*
 * slab_debug.c - the heap's switches and debugging aids: poison, fills,
 * redzones, error reports, failure injection and the trace switch.
 *
 * With any SLAB_DEBUG_* flag on, every alloc and free goes through the
 * slab layer, where the bitmaps know each object's state:
 *
 *   free:  redzone intact?  -> poison the object, mark it poisoned
 *   alloc: marked poisoned? -> poison intact? (else: use after free)
 *          -> constructor again, or SLAB_FILL_ALLOC; redzone rewritten
 *
 * An error is reported and the heap carries on consistently: a damaged
 * poison or redzone is rewritten, a double free or a foreign pointer is
 * ignored. The heap's own caches (CF_INTERNAL) are not debugged.
 *
 * The callers enter the hooks only when DEBUG_HOOKS(c) says there is
 * something to do, and fail_injected only when an injection is armed
 * (FAIL_INJECTED): with debugging off, the allocation path does not come
 * here.
 */
#include "mm/slab/slab_private.h"
#include "mm/trace.h"
#include "lib/kstring.h"
#include "lib/prng.h"

/* slowpath_update: see struct kheap. */
void slowpath_update(void)
{
	kheap.slowpath = kheap.debug || mm_trace || kheap.fail_countdown || kheap.fail_per_mille;
	kheap.fast_max = kheap.slowpath ? 0 : KMALLOC_MAX;
	kheap.fast_key = kheap.slowpath ? ~kheap.secret : kheap.secret;
}

/*
 * slab_trace_set: see slab.h. The heap narrates through the memory layers'
 * one switch (mm/trace.h), so the layers below tell their part too; the
 * full path, where the narration is, is taken while it is on.
 */
void slab_trace_set(bool on)
{
	mm_trace = on;
	slowpath_update();
}

/* slab_debug_set: see slab.h. Objects in magazines go back to slabs so the bitmaps are exact. */
void slab_debug_set(unsigned flags)
{
	kheap.debug = flags & SLAB_DEBUG_ALL;
	kheap.debugged |= kheap.debug != 0;
	slowpath_update();
	if (!kheap.debug)
		return;
	for (struct cache *c = kheap.caches; c; c = c->next)
		mag_flush_all(c);
}

unsigned slab_debug_get(void) { return kheap.debug; }

const char *slab_error_str(enum slab_error_kind k)
{
	static const char *const s[] = {
		"no error", "double free", "foreign pointer", "wrong cache", "use after free",
		"redzone overwritten", "corrupt metadata", "live objects",
	};
	return (unsigned)k < sizeof(s) / sizeof(s[0]) ? s[k] : "?";
}

/* Report a misuse: kind, cache, address, and what was seen. */
void slab_error(enum slab_error_kind k, const struct cache *c, const void *addr, const char *detail)
{
	kheap.last = (struct slab_error){ k, c ? c->name : "-", (uintptr_t)addr };
	__atomic_add_fetch(&kheap.nerrors, 1, __ATOMIC_RELAXED);
	MM_MISUSE("slab", "%s at %p in cache %s: %s", slab_error_str(k), addr, kheap.last.cache,
		  detail ? detail : "");
}

unsigned slab_error_count(void) { return kheap.nerrors; }
struct slab_error slab_last_error(void) { return kheap.last; }

void slab_fail_nth(unsigned n)
{
	__atomic_store_n(&kheap.fail_countdown, n, __ATOMIC_RELAXED);
	slowpath_update();
}

void slab_fail_random(uint64_t seed, unsigned per_mille)
{
	kheap.fail_seed = seed ? seed : 1;
	kheap.fail_per_mille = per_mille > 1000 ? 1000 : per_mille;
	slowpath_update();
}

/* Whether this allocation is to fail; each public allocation asks once (FAIL_INJECTED). */
bool fail_injected(void)
{
	unsigned n = __atomic_load_n(&kheap.fail_countdown, __ATOMIC_RELAXED);

	if (n) {
		__atomic_store_n(&kheap.fail_countdown, n - 1, __ATOMIC_RELAXED);
		if (n == 1)
			return true;
	}
	if (!kheap.fail_per_mille)
		return false;
	return (prng_next(&kheap.fail_seed) >> 33) % 1000 < kheap.fail_per_mille;
}

/* The poisoned bitmap of s (struct slab), after its state pairs. */
static uint64_t *poisoned_map(const struct cache *c, struct slab *s)
{
	return s->map + 2 * c->words;
}

static bool map_test(const uint64_t *m, unsigned i) { return m[i / 64] >> (i % 64) & 1; }
static void map_set(uint64_t *m, unsigned i) { m[i / 64] |= 1ULL << (i % 64); }
static void map_clear(uint64_t *m, unsigned i) { m[i / 64] &= ~(1ULL << (i % 64)); }

static size_t size8(const struct cache *c) { return (c->size + 7) & ~(size_t)7; }

/* First byte of [p, p+n) that is not b, or NULL. */
static const uint8_t *not_filled(const void *p, size_t n, uint8_t b)
{
	const uint8_t *q = p;
	for (size_t i = 0; i < n; i++)
		if (q[i] != b)
			return q + i;
	return NULL;
}

static void redzone_write(struct cache *c, void *obj, size_t asked, void *caller)
{
	struct trailer *t = obj_trailer(c, obj);

	memset(&t->redzone, SLAB_REDZONE_BYTE, sizeof(t->redzone));
	t->asked = (uint32_t)asked, t->pad = 0, t->caller = caller;
	memset((uint8_t *)obj + asked, SLAB_REDZONE_BYTE, size8(c) - asked);
}

static bool redzone_intact(struct cache *c, void *obj)
{
	struct trailer *t = obj_trailer(c, obj);

	if (t->asked > c->size || not_filled(&t->redzone, sizeof(t->redzone), SLAB_REDZONE_BYTE))
		return false;
	return !not_filled((uint8_t *)obj + t->asked, size8(c) - t->asked, SLAB_REDZONE_BYTE);
}

static void poison(struct cache *c, struct slab *s, unsigned idx, void *obj)
{
	memset(obj, SLAB_POISON_FREE, c->size);
	map_set(poisoned_map(c, s), idx);
}

/* A new slab: objects poisoned and redzoned if debugging wants it. Lock not held. */
void debug_on_create(struct cache *c, struct slab *s)
{
	if (c->flags & CF_INTERNAL)
		return;
	for (unsigned i = 0; i < s->nobj; i++) {
		void *obj = slab_obj(c, s, i);
		if (kheap.debug & SLAB_DEBUG_POISON)
			poison(c, s, i, obj);
		if (c->flags & CF_REDZONE)
			redzone_write(c, obj, c->size, NULL);
	}
}

/* An object just taken from s: check its poison, then make it ready. Lock held. */
void debug_on_alloc(struct cache *c, struct slab *s, unsigned idx, void *obj, void *caller, size_t asked)
{
	uint64_t *poisoned = poisoned_map(c, s);

	if (c->flags & CF_INTERNAL)
		return;
	if (map_test(poisoned, idx)) {
		const uint8_t *bad = not_filled(obj, c->size, SLAB_POISON_FREE);
		if (bad)
			slab_error(SLAB_E_USE_AFTER_FREE, c, obj, "poison changed while it was free");
		map_clear(poisoned, idx);
		if (c->ctor)
			c->ctor(obj);   /* the poison wiped the constructed state */
	}
	if ((kheap.debug & SLAB_DEBUG_POISON) && !c->ctor)
		memset(obj, SLAB_FILL_ALLOC, asked);
	if (c->flags & CF_REDZONE)
		redzone_write(c, obj, asked, kheap.debug & SLAB_DEBUG_TRACK ? caller : NULL);
}

/* An object about to go back to s: check its redzone, poison it. Lock held. */
void debug_on_free(struct cache *c, struct slab *s, unsigned idx, void *obj)
{
	if (c->flags & CF_INTERNAL)
		return;
	if ((c->flags & CF_REDZONE) && !redzone_intact(c, obj)) {
		slab_error(SLAB_E_REDZONE, c, obj, "bytes past the end of the object were written");
		redzone_write(c, obj, c->size, NULL);
	}
	if (kheap.debug & SLAB_DEBUG_POISON)
		poison(c, s, idx, obj);
}
