/*
 * slab.h - the kernel heap: object caches, per-CPU magazines and kmalloc.
 *
 * A cache hands out objects of one size (Bonwick, 1994). It carves them
 * out of slabs, blocks of 1..8 pages that come from the layer below
 * through one file (slab_pages.c). In front of each cache, every CPU keeps
 * two magazines of free objects, and a depot behind them holds more
 * (Bonwick and Adams, 2001), so the common allocate/free touches no lock.
 * kmalloc picks a cache among size classes spaced to keep waste low; larger
 * requests take whole pages. Misuse is reported ("slab: ..." on the
 * console) and the heap stays consistent; running out of memory returns
 * NULL. docs/slab.md explains the design.
 */
#ifndef STRATA_MM_SLAB_H
#define STRATA_MM_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache;

/*
 * Bring the heap up: the internal caches and the kmalloc classes. Needs
 * the layers below running. Starts from nothing each time (host tests call
 * it again after pmm_init); caches from an earlier call are forgotten.
 * Caches are laid out with the debug flags in force now (slab_debug_set):
 * call that first to get redzones and caller tracking on kmalloc.
 */
void slab_init(void);

/* ---- object caches ---------------------------------------------------- */

/*
 * A cache of objects of size bytes, aligned to align (0 means 8; else a
 * power of two up to the page size). ctor, if not NULL, runs once on each
 * object when its slab is made, not on every allocation: objects come back
 * to the cache in their constructed state (Bonwick). name is kept, not
 * copied. Returns NULL for a size of 0 or above SLAB_MAX_OBJECT, a bad
 * alignment, or no memory.
 */
#define SLAB_MAX_OBJECT (16UL << 10)
struct cache *cache_create(const char *name, size_t size, size_t align, void (*ctor)(void *obj));

/* An object, or NULL if no memory could be had. */
void *cache_alloc(struct cache *c);

/*
 * Give obj back to c. NULL does nothing. A pointer that is not an object
 * of c (another cache's, the middle of an object, not heap memory) is
 * reported and ignored.
 */
void cache_free(struct cache *c, void *obj);

/*
 * Give every slab of c back and forget c. Returns 0, or -1 after reporting
 * the objects still live (they, and c, are then kept).
 */
int cache_destroy(struct cache *c);

/* Empty c's magazines into its slabs and give every empty slab back. */
void cache_shrink(struct cache *c);

/* ---- kmalloc ---------------------------------------------------------- */

/*
 * size bytes, aligned to 8 (and to the class size when that is a power of
 * two). kmalloc(0) returns NULL; so does any size the heap cannot give.
 */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
/* n * size zeroed bytes; NULL if the product overflows. */
void *kcalloc(size_t n, size_t size);
/*
 * Resize p, keeping its contents up to the smaller size. krealloc(NULL, n)
 * is kmalloc(n); krealloc(p, 0) frees p and returns NULL. On failure
 * returns NULL and p is untouched.
 */
void *krealloc(void *p, size_t size);
/* size bytes aligned to align (a power of two up to the page size); NULL otherwise. */
void *kmalloc_aligned(size_t size, size_t align);
/* Free what kmalloc and friends returned. kfree(NULL) does nothing; misuse is reported. */
void kfree(void *p);
/* The bytes usable at p (its class size), 0 if p is not a heap object. */
size_t ksize(const void *p);

/* ---- debugging aids --------------------------------------------------- */

/*
 * Runtime switches, also set at build time with -DSLAB_DEBUG=flags. Any
 * of them makes every allocation and free go through the slab layer
 * (magazines are emptied and bypassed) where each object's state lives.
 */
#define SLAB_DEBUG_POISON  (1u << 0)  /* fill on alloc, poison on free, check poison on reuse */
#define SLAB_DEBUG_REDZONE (1u << 1)  /* caches created from now on get redzones */
#define SLAB_DEBUG_TRACK   (1u << 2)  /* record each live object's caller */
#define SLAB_DEBUG_CHECK   (1u << 3)  /* double free / foreign pointer checks on every free */
#define SLAB_DEBUG_ALL     0xfu
void slab_debug_set(unsigned flags);
unsigned slab_debug_get(void);

/* The bytes debugging writes, so tests and readers can recognise them. */
#define SLAB_POISON_FREE  0x6b
#define SLAB_FILL_ALLOC   0xa5
#define SLAB_REDZONE_BYTE 0xbb

enum slab_error_kind {
	SLAB_OK = 0,
	SLAB_E_DOUBLE_FREE,     /* freeing an object that is already free */
	SLAB_E_FOREIGN,         /* not an address the heap returned */
	SLAB_E_WRONG_CACHE,     /* cache_free with another cache than the object's */
	SLAB_E_USE_AFTER_FREE,  /* poison of a free object changed */
	SLAB_E_REDZONE,         /* bytes past the object's end changed */
	SLAB_E_CORRUPT,         /* heap metadata failed its check */
	SLAB_E_LIVE_OBJECTS,    /* cache_destroy of a cache still in use */
};
struct slab_error {
	enum slab_error_kind kind;
	const char *cache;      /* name, or "-" if unknown */
	uintptr_t addr;
};
/* How many misuses were reported since slab_init, and the last one. */
unsigned slab_error_count(void);
struct slab_error slab_last_error(void);
const char *slab_error_str(enum slab_error_kind k);

/*
 * Failure injection, for every allocation path of the heap: the n-th
 * allocation from now fails (once; 0 turns it off), or a seeded random
 * share of per_mille/1000 of them fail (0 turns it off).
 */
void slab_fail_nth(unsigned n);
void slab_fail_random(uint64_t seed, unsigned per_mille);

/*
 * Print each live object per cache (address and, with SLAB_DEBUG_TRACK,
 * the caller) and return how many there are. Empties magazines first.
 */
size_t slab_leak_report(void);

/*
 * Verify the invariants of every cache (lists, counts, bitmaps, owners of
 * the pages). Prints each problem; returns how many there were.
 */
unsigned slab_check(void);

/* ---- reports ------------------------------------------------------------ */

struct slab_stats {
	uint64_t live_objects;      /* handed out and not freed (kmalloc, caches, large) */
	uint64_t live_bytes;        /* object sizes of those (class sizes, whole pages) */
	uint64_t slab_pages;        /* pages held by slabs, including the internal caches */
	uint64_t large_pages;       /* pages of allocations above the largest class */
	uint64_t caches;
	uint64_t vmm_trips;         /* regions asked of the VMM since slab_init: slabs and large allocations */
};
void slab_get_stats(struct slab_stats *s);

/* Live objects, for ktest_register_counter("heap_objects", ...). */
uint64_t slab_live_objects(void);

/*
 * The slabinfo table (cache, object size, active/total objects, slabs,
 * pages) and one line for programs:
 *   SLABINFO caches=... objects=... live_kib=... slab_kib=... large_kib=...
 */
void slab_report(void);

/* Shrink every cache: all empty slabs go back to the layer below. */
void slab_reap(void);

/*
 * What the heap knows of a cache (slab_class_info: the kmalloc class that
 * serves size; false above the classes or for size 0) and of an object
 * (slab_obj_info: false if p is not the start of a heap object, or is a
 * large allocation). For demonstrations and debuggers: a snapshot, read
 * without the cache's lock.
 */
struct slab_cache_info {
	const char *name;
	size_t size;            /* object size */
	unsigned npages, nobj;  /* pages a slab, objects a slab */
	uint64_t slabs;
	uint64_t free;          /* objects free in the slabs */
	uint64_t parked;        /* objects sitting in magazines (every CPU's, the depot's) */
	uint64_t grows;         /* slabs made since slab_init */
};
struct slab_obj_info {
	struct slab_cache_info cache;
	void *slab;             /* the slab's first byte */
	unsigned index;         /* the object's place in its slab: 0 is the one at the slab's start */
};
bool slab_class_info(size_t size, struct slab_cache_info *ci);
bool slab_obj_info(const void *p, struct slab_obj_info *oi);
/* The n-th cache of the heap's list (0 first), internal ones included; false past the end. */
bool slab_cache_nth(unsigned n, struct slab_cache_info *ci);

/* ---- tracing ------------------------------------------------------------ */

/*
 * Print each kmalloc/kfree and each slab grown or given back (slab.trace=1),
 * through the memory layers' one switch, mm_trace (mm/trace.h), which this
 * sets: the layers below tell their part too.
 */
void slab_trace_set(bool on);

#endif
