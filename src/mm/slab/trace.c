/*
 * trace.c - the heap narrating itself: the slab.trace=1 switch and the
 * alloc(5) demonstration of mode=run.
 *
 * The layers below print their own part when the memory layers' shared
 * switch, mm_trace (mm/trace.h), is on; this one prints the heap's.
 */
#include "mm/slab/internal.h"
#include "mm/trace.h"
#include "lib/kprintf.h"

bool slab_tracing;

/* slab_trace_set: see slab.h. */
void slab_trace_set(bool on)
{
	slab_tracing = on;
	mm_trace = on;
	slab_slowpath_update();
}

static uint64_t free_in_slabs(struct cache *c)
{
	return c->nslabs * c->nobj - c->out;
}

static void summary(struct cache *c, void *p, uint64_t grows_before)
{
	struct slab *s = backing_owner(p);
	long idx = s && s->cache == c ? slab_obj_index(c, s, (uintptr_t)p) : -1;

	kprintf("  result: %p is object %ld of %u in the slab at %p (cache %s, %zu bytes for 5 asked); "
		"the cache grew %llu time(s)\n", p, idx, s ? s->nobj : 0, s ? (void *)s->base : NULL,
		c->name, c->size, (unsigned long long)(c->grows - grows_before));
}

/* slab_trace_demo: see slab.h. */
void slab_trace_demo(void)
{
	struct cache *c = kmalloc_cache(5);
	bool was = slab_tracing;
	uint64_t grows;
	void *p;

	kprintf("slab: the alloc(5) path, live: kmalloc(5) on a class with no free object\n");
	slab_reap();
	if (free_in_slabs(c))
		kprintf("  (%s still has %llu free objects in its partial slabs: it will not grow)\n",
			c->name, (unsigned long long)free_in_slabs(c));
	grows = c->grows;
	slab_trace_set(true);
	p = kmalloc(5);
	slab_trace_set(was);
	if (!p) {
		kprintf("  kmalloc(5) returned NULL: out of memory\n");
		return;
	}
	summary(c, p, grows);
	kprintf("slab: and back: kfree, then a reap returns the empty slab\n");
	slab_trace_set(true);
	kfree(p);
	slab_reap();
	slab_trace_set(was);
}
