/*
 * internal.h - what the files of the slab layer share. Not an interface:
 * nothing outside src/mm/slab/ includes it.
 *
 *   cache ──► cpu[0..7]: loaded, prev magazine     (interrupts off, no lock)
 *     │
 *     ├─► depot: full and empty magazines          (cache lock)
 *     │
 *     └─► slabs: partial ─ empty ─ full lists      (cache lock)
 *           └─► slab descriptor: bitmap of live objects, first object
 *                 └─► objects, in 1..8 pages from backing.c
 */
#ifndef STRATA_MM_SLAB_INTERNAL_H
#define STRATA_MM_SLAB_INTERNAL_H

#include "mm/slab/slab.h"
#include "mm/arch.h"
#include "lib/spinlock.h"

#ifndef SLAB_DEBUG
#define SLAB_DEBUG 0            /* build-time debug flags (slab.h SLAB_DEBUG_*) */
#endif

#define SLAB_MAX_ORDER   3      /* a slab is 1, 2, 4 or 8 pages */
#define SLAB_MIN_ALIGN   8
#define SLAB_EMPTY_KEEP  1      /* empty slabs a cache keeps before giving back */
#define SLAB_MAG_MAX     62     /* rounds in the biggest magazine: 64 words with the header */
#define SLAB_MAG_BYTES   8192   /* and about this many bytes of objects in one */
#define SLAB_DESC_ALIGN  64     /* descriptors: on this alignment, which backing.c's encoding uses */

/* Cache flags; CF_REDZONE and CF_OFFSLAB fix the layout at creation. */
#define CF_OFFSLAB  (1u << 0)   /* descriptor in the descriptor cache, not on the slab */
#define CF_NOMAG    (1u << 1)   /* no magazines (the magazine cache itself) */
#define CF_REDZONE  (1u << 2)   /* each slot has a trailer: redzone, size asked, caller */
#define CF_INTERNAL (1u << 3)   /* the heap's own caches: not counted as live objects */
#define CF_STATIC   (1u << 4)   /* struct cache is static (kmalloc classes), not from cache_cache */

struct magazine {
	struct magazine *next;  /* in the depot */
	unsigned rounds;        /* objects in obj[0..rounds) */
	void *obj[];            /* cache->mag_size slots */
};

/* One CPU's magazines for one cache, on a cache line of its own. */
struct cpu_mags {
	struct magazine *loaded, *prev;
} __attribute__((aligned(64)));

struct slab_list {
	struct slab *head;      /* circular through next/prev */
	uint64_t nr;
};

/*
 * A slab descriptor. On the slab for small objects (at its end), off it for
 * large ones. It also describes a large allocation (cache NULL). The
 * bitmap says which objects are out of the slab; a second one, which free
 * objects carry poison. Nothing of the heap's bookkeeping is in the free
 * objects themselves, so a write to a freed object cannot corrupt the heap
 * and constructed state survives (Bonwick).
 */
struct slab {
	uint32_t magic;         /* slab_magic(this): checked on every lookup */
	uint16_t inuse, nobj;
	struct slab *next, *prev;
	struct cache *cache;    /* NULL: a large allocation */
	uintptr_t base;         /* first page; objects start here */
	uint32_t npages;
	uint16_t hint;          /* no zero bit in map words below this */
	uint8_t list;           /* LIST_* it is on */
	uint8_t poisoned_any;
	size_t large_size;      /* large allocations: size asked */
	void *large_caller;
	uint64_t map[];         /* used bits [0, words), then poisoned bits [words, 2*words) */
};
enum { LIST_NONE, LIST_PARTIAL, LIST_EMPTY, LIST_FULL };

/* Slot trailer of CF_REDZONE caches, after the object rounded up to 8. */
struct trailer {
	uint64_t redzone;       /* SLAB_REDZONE_BYTE x 8 */
	uint32_t asked;         /* bytes the caller asked for: the rest of the object is redzone too */
	uint32_t pad;
	void *caller;
};

struct cache {
	struct cpu_mags cpu[ARCH_MAX_CPUS];
	const char *name;
	size_t size;            /* object size: usable bytes */
	size_t stride;          /* slot: size, plus the trailer with CF_REDZONE */
	size_t align;
	void (*ctor)(void *obj);
	unsigned flags;
	unsigned order, nobj, words;    /* slab order, objects a slab, bitmap words */
	unsigned desc_size;
	uint32_t recip;         /* ceil(2^32 / stride): object index without a division */
	unsigned mag_size;
	struct spinlock lock;   /* slab lists, depot, counters below */
	struct slab_list partial, empty, full;
	struct magazine *depot_full, *depot_empty;
	uint64_t depot_rounds;  /* objects in depot_full magazines */
	uint64_t nslabs, out;   /* slabs; objects out of slabs (live + in magazines) */
	uint64_t grows, reaps;
	struct cache *next;     /* every cache, for reports */
};

/* ---- invariants: small, always on, because a corrupt heap must stop ---- */

extern uint32_t slab_secret;

static inline uint32_t slab_magic(const struct slab *s)
{
	return slab_secret ^ (uint32_t)((uintptr_t)s >> 6) ^ 0x51ab51abu;
}

static inline bool slab_sound(const struct slab *s)
{
	return s->magic == slab_magic(s);
}

static inline uintptr_t slab_end(const struct slab *s)
{
	return s->base + ((uintptr_t)s->npages << PAGE_SHIFT);
}

/* Index of the object at p in s, or -1 if p is not the start of one. */
static inline long slab_obj_index(const struct cache *c, const struct slab *s, uintptr_t p)
{
	uintptr_t off = p - s->base;
	if (p < s->base || off >= (uintptr_t)c->nobj * c->stride)
		return -1;
	uintptr_t i = (uintptr_t)(((uint64_t)off * c->recip) >> 32);
	return i * c->stride == off ? (long)i : -1;
}

static inline bool map_test(const uint64_t *m, unsigned i) { return m[i / 64] >> (i % 64) & 1; }
static inline void map_set(uint64_t *m, unsigned i) { m[i / 64] |= 1ULL << (i % 64); }
static inline void map_clear(uint64_t *m, unsigned i) { m[i / 64] &= ~(1ULL << (i % 64)); }

static inline void *slab_obj(const struct cache *c, const struct slab *s, unsigned i)
{
	return (void *)(s->base + (uintptr_t)i * c->stride);
}

static inline struct trailer *obj_trailer(const struct cache *c, void *obj)
{
	return (struct trailer *)((uintptr_t)obj + ((c->size + 7) & ~(size_t)7));
}

/* ---- backing.c: the one file that calls the layer below ---- */

/* npages of mapped kernel memory (page aligned, not zeroed), or NULL. */
void *backing_alloc(size_t npages);
/* Give back what backing_alloc returned, with the same npages. */
void backing_free(void *va, size_t npages);
/* Record owner (a descriptor, SLAB_DESC_ALIGN aligned) for each page; NULL clears. */
void backing_set_owner(void *va, size_t npages, const struct slab *owner);
/* The descriptor recorded for va's page, or NULL if va is not heap memory. */
struct slab *backing_owner(const void *va);
/* Print what the layers below know of va: pa, frame, PTE. For traces. */
void backing_explain(const void *va, size_t npages);

/* ---- slab.c: slabs of one cache, called with c->lock held unless said ---- */

struct slab *slab_create(struct cache *c);          /* lock not held */
void slab_destroy(struct cache *c, struct slab *s); /* lock not held; s on no list */
void *slab_take(struct cache *c, struct slab *s, unsigned *idx);
void slab_put(struct cache *c, struct slab *s, unsigned idx);
void list_add(struct slab_list *l, struct slab *s, uint8_t which);
void list_del(struct cache *c, struct slab *s);
struct slab_list *list_of(struct cache *c, uint8_t which);
/* Up to n objects into out from partial/empty slabs; lock not held; may grow. */
unsigned slab_alloc_bulk(struct cache *c, void **out, unsigned n, void *caller, size_t asked);
/* Objects back to their slabs; lock not held; returns empties beyond the reserve. */
void slab_free_bulk(struct cache *c, void *const *objs, unsigned n);
/* The slab holding obj and its index, or NULL after reporting misuse. */
struct slab *slab_of(struct cache *expect, const void *obj, unsigned *idx, const char *who);
/* One object back, checked for double free and by debugging. Lock not held. */
void slab_free_one(struct cache *c, struct slab *s, unsigned idx, void *obj);
/* Give back empty slabs beyond keep. Lock not held. */
void slab_trim(struct cache *c, uint64_t keep);

/* ---- magazine.c ---- */
void *mag_alloc(struct cache *c);
bool mag_free(struct cache *c, void *obj);
void mag_flush_all(struct cache *c);     /* every CPU's and the depot's objects to slabs */
uint64_t mag_rounds(struct cache *c);    /* objects sitting in magazines */
void mag_init(void);

/* ---- cache.c ---- */
extern struct cache *cache_list;
extern struct cache *cache_cache, *desc_cache, *mag_cache;
extern struct spinlock cache_list_lock;
int cache_setup(struct cache *c, const char *name, size_t size, size_t align,
		void (*ctor)(void *), unsigned flags);
void *cache_alloc_caller(struct cache *c, void *caller, size_t asked);
void cache_free_checked(struct cache *c, void *obj, const char *who);
bool cache_bypass_mags(const struct cache *c);
void cache_link(struct cache *c);
uint64_t cache_report_live(struct cache *c);   /* prints live objects, returns how many */

/* ---- debug.c ---- */
extern unsigned slab_debug;
void slab_error(enum slab_error_kind k, const struct cache *c, const void *addr, const char *detail);
bool fail_injected(void);
void slab_errors_reset(void);
void debug_on_alloc(struct cache *c, struct slab *s, unsigned idx, void *obj, void *caller, size_t asked);
void debug_on_free(struct cache *c, struct slab *s, unsigned idx, void *obj);
void debug_on_create(struct cache *c, struct slab *s);

/* ---- kmalloc.c / large.c ---- */
void kmalloc_init(void);
struct cache *kmalloc_cache(size_t size);    /* the class of size, NULL above the classes */
void *large_alloc(size_t size, void *caller);
void large_free(struct slab *s);
extern uint64_t large_live, large_pages;
uint64_t large_report_live(void);
void large_reset(void);

/* ---- trace.c ---- */
extern bool slab_tracing;

#endif
