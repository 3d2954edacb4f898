/*
 * init.c - bringing the heap up from nothing.
 *
 * Three internal caches come first, as static structures, because every
 * other cache needs them: slab descriptors (for off-slab slabs and large
 * allocations), magazines, and struct cache itself (for cache_create).
 * They have no magazines and are not debugged, so the heap never needs
 * itself to serve itself. Then the kmalloc classes.
 */
#include "mm/slab/internal.h"

uint32_t slab_secret;
struct cache *cache_cache, *desc_cache, *mag_cache;
static struct cache desc_c, mag_c, cache_c;

#define INTERNAL (CF_INTERNAL | CF_NOMAG | CF_STATIC)
#define DESC_OBJECT 128         /* an off-slab descriptor: header and three 64-bit bitmaps */

/* slab_init: see slab.h. */
void slab_init(void)
{
	uint64_t t = arch_rdtsc();

	cache_list = NULL;
	large_reset();
	backing_reset();
	slab_errors_reset();
	/* Not a cryptographic secret: enough that a stray pointer rarely passes slab_sound(). */
	slab_secret = (uint32_t)(t ^ (t >> 29) ^ 0x9e3779b9u);
	cache_setup(&desc_c, "slab-desc", DESC_OBJECT, SLAB_DESC_ALIGN, NULL, INTERNAL);
	cache_setup(&mag_c, "magazine", sizeof(struct magazine),
		    64, NULL, INTERNAL);
	cache_setup(&cache_c, "cache", sizeof(struct cache), 64, NULL, INTERNAL);
	desc_cache = &desc_c, mag_cache = &mag_c, cache_cache = &cache_c;
	cache_link(desc_cache);
	cache_link(mag_cache);
	cache_link(cache_cache);
	kmalloc_init();
	slab_slowpath_update();
}
