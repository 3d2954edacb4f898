/*
 * internal.h - what the files of the slab layer share. Not an interface:
 * nothing outside src/mm/slab/ includes it.
 *
 *   cache ──► cpu[0..7]: loaded, prev magazine     (no lock; busy word, see mag_pop)
 *     │
 *     ├─► depot: full and empty magazines          (cache lock)
 *     │
 *     └─► slabs: partial ─ empty ─ full lists      (cache lock)
 *           └─► slab descriptor: bitmap of live objects, first object
 *                 └─► objects, in 1..8 pages from backing.c (the VMM)
 */
#ifndef STRATA_MM_SLAB_INTERNAL_H
#define STRATA_MM_SLAB_INTERNAL_H

#include "mm/slab/slab.h"
#include "mm/arch.h"
#include "mm/vmm/vmm.h"
#include "mm/failure.h"
#include "lib/spinlock.h"

#ifndef SLAB_DEBUG
#define SLAB_DEBUG 0            /* build-time debug flags (slab.h SLAB_DEBUG_*) */
#endif

#define SLAB_MAX_PAGES   8      /* a slab is 1 to 8 pages */
#define SLAB_MIN_ALIGN   8
#define SLAB_EMPTY_KEEP  2      /* empty slabs a cache keeps before giving back */
#define SLAB_MAG_MAX     30     /* rounds in the biggest magazine: 736 bytes with the header */
#define SLAB_MAG_BYTES   1024   /* and about this many bytes of objects in one */
#define SLAB_DESC_ALIGN  64     /* descriptors: on this alignment, which backing.c's encoding uses */
#define KMALLOC_MAX      16384  /* the largest kmalloc class; above it, whole pages */

/* Cache flags; CF_REDZONE and CF_OFFSLAB fix the layout at creation. */
#define CF_OFFSLAB  (1u << 0)   /* descriptor in the descriptor cache, not on the slab */
#define CF_NOMAG    (1u << 1)   /* no magazines (the magazine cache itself) */
#define CF_REDZONE  (1u << 2)   /* each slot has a trailer: redzone, size asked, caller */
#define CF_INTERNAL (1u << 3)   /* the heap's own caches: not counted as live objects */
#define CF_STATIC   (1u << 4)   /* struct cache is static (kmalloc classes), not from cache_cache */

/*
 * A magazine: a stack of objects, each with where its parked bit is (its
 * state word and the bit, see struct slab), so taking one out costs no
 * look-up of its slab: one subtraction clears the bit.
 */
struct magazine {
	struct magazine *next;  /* in the depot */
	unsigned rounds;        /* objects in obj[0..rounds) */
	void *obj[SLAB_MAG_MAX];        /* cache->mag_size of them used */
	uint64_t *word[SLAB_MAG_MAX];   /* obj[k]'s state word */
	uint64_t bit[SLAB_MAG_MAX];     /* and its parked bit in it */
};

/*
 * One CPU's magazines for one cache, on a cache line of its own. busy is
 * set while the inlined fast path (below) works on them with interrupts
 * on: an interrupt handler that finds it set leaves them alone.
 */
struct cpu_mags {
	struct magazine *loaded, *prev;
	unsigned busy;
} __attribute__((aligned(64)));

struct slab_list {
	struct slab *head;      /* circular through next/prev */
	uint64_t nr;
};

/*
 * A slab descriptor. On the slab for small objects (at its end), off it for
 * large ones. It also describes a large allocation (cache large_cache).
 * What each object is, in two maps:
 *
 *   state     a used and a parked bit an object, in pairs of words: for
 *             objects 64k..64k+63, map[2k] holds the used bits and
 *             map[2k+1] the parked ones (see obj_state):
 *               neither      free in the slab
 *               used         live: handed out
 *               used+parked  in a magazine
 *   poisoned  one bit an object: free in the slab and carrying poison (debug.c)
 *
 * Only a live object may be freed: a second free of an object that went
 * into a magazine finds it parked. The pair of words sits together for the
 * free fast path; they are apart because different code writes them: used
 * bits only the slab code, under the cache's lock; parked bits only the
 * magazine code (mag_push, mag_take: see there). Nothing of the heap's bookkeeping is
 * in the free objects themselves, so a write to a freed object cannot
 * corrupt the heap and constructed state survives (Bonwick).
 */
struct slab {
	uint32_t magic;         /* slab_magic(this): checked on every lookup */
	uint16_t inuse, nobj;
	struct slab *next, *prev;
	struct cache *cache;    /* &large_cache: a large allocation */
	uintptr_t base;         /* first page; objects start here */
	uint32_t npages;
	uint16_t hint;          /* no free object in the words of objects below 64 * hint */
	uint8_t list;           /* LIST_* it is on */
	uint8_t poisoned_any;
	size_t large_size;      /* large allocations: size asked */
	void *large_caller;
	uint64_t map[];         /* state pairs [0, 2*words), poisoned [2*words, 3*words) */
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
	unsigned npages, nobj, words;   /* pages a slab, objects a slab, bitmap words */
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

/*
 * Non-zero when an allocation or free must take the full path: debugging,
 * tracing or failure injection is on. The inlined fast paths test this one
 * word; slab_slowpath_update (debug.c) recomputes it whenever one changes.
 */
extern unsigned slab_slowpath;
void slab_slowpath_update(void);

/*
 * The same switch, folded into words the fast paths read anyway, so they
 * test nothing extra: kmalloc's fast path takes sizes below
 * slab_fast_max (0 while slab_slowpath), and kfree's checks descriptors
 * against slab_fast_key (slab_secret, or its complement, which no
 * descriptor matches, while slab_slowpath). The full path checks against
 * slab_secret itself.
 */
extern size_t slab_fast_max;
extern uint32_t slab_fast_key;

/* ---- invariants: small, always on, because a corrupt heap must stop ---- */

extern uint32_t slab_secret;

static inline uint32_t slab_magic(const struct slab *s)
{
	return slab_secret ^ (uint32_t)((uintptr_t)s >> 6);
}

static inline bool slab_sound(const struct slab *s)
{
	return s->magic == slab_magic(s);
}

static inline uintptr_t slab_end(const struct slab *s)
{
	return s->base + ((uintptr_t)s->npages << PAGE_SHIFT);
}

/*
 * Index of the object at p in s, or -1 if p is not the start of one. For
 * the start of an object, off < nobj * stride, where the reciprocal gives
 * the exact quotient. For any other p (below base, off wraps to a huge
 * value) the quotient may be anything, and then fails i * stride == off:
 * one check covers both bounds.
 */
static inline long slab_obj_index(const struct cache *c, const struct slab *s, uintptr_t p)
{
	uintptr_t off = p - s->base;
	uintptr_t i = (uintptr_t)((off * c->recip) >> 32);
	return i < c->nobj && i * c->stride == off ? (long)i : -1;
}

static inline bool map_test(const uint64_t *m, unsigned i) { return m[i / 64] >> (i % 64) & 1; }
static inline void map_set(uint64_t *m, unsigned i) { m[i / 64] |= 1ULL << (i % 64); }
static inline void map_clear(uint64_t *m, unsigned i) { m[i / 64] &= ~(1ULL << (i % 64)); }

/* An object's state (struct slab): obj_state() is 0, ST_USED or ST_USED | ST_PARKED. */
#define ST_USED    1u
#define ST_PARKED  2u

static inline uint64_t obj_bit(unsigned i) { return 1ULL << (i % 64); }
static inline uint64_t *used_word(struct slab *s, unsigned i) { return &s->map[2 * (i / 64)]; }
static inline uint64_t *parked_word(struct slab *s, unsigned i) { return &s->map[2 * (i / 64) + 1]; }
static inline unsigned obj_state(const struct slab *s, unsigned i)
{
	const uint64_t *w = &s->map[2 * (i / 64)];
	return (unsigned)(w[0] >> (i % 64) & 1) | (unsigned)(w[1] >> (i % 64) & 1) << 1;
}
static inline uint64_t *poisoned_map(const struct cache *c, struct slab *s)
{
	return s->map + 2 * c->words;
}

/* obj goes on top of m (which has room), parked: bit set in its parked word w. */
static inline void mag_put(struct magazine *m, void *obj, uint64_t *w, uint64_t bit)
{
	unsigned k = m->rounds++;

	*w |= bit;
	m->obj[k] = obj, m->word[k] = w, m->bit[k] = bit;
}

/* The top object of m (which has one), no longer parked: live again. */
static inline void *mag_take(struct magazine *m)
{
	unsigned k = --m->rounds;

	*m->word[k] -= m->bit[k];       /* the bit is set: clears it */
	return m->obj[k];
}

static inline void *slab_obj(const struct cache *c, const struct slab *s, unsigned i)
{
	return (void *)(s->base + (uintptr_t)i * c->stride);
}

static inline struct trailer *obj_trailer(const struct cache *c, void *obj)
{
	return (struct trailer *)((uintptr_t)obj + ((c->size + 7) & ~(size_t)7));
}

/* ---- backing.c: the one file that calls the layer below ---- */

/*
 * npages of mapped kernel memory (page aligned) from the VMM, or NULL: a
 * slab (1..SLAB_MAX_PAGES, aligned to its size rounded up to a power of two) in the heap area, or
 * with large, whole pages in the large area.
 */
void *backing_alloc(size_t npages, bool large);
/* Give back what backing_alloc returned, with the same npages. */
void backing_free(void *va, size_t npages);
/* Record owner (a descriptor, SLAB_DESC_ALIGN aligned) for each page; NULL clears. */
void backing_set_owner(void *va, size_t npages, const struct slab *owner);
/* Print what the layers below know of va: region, frame, PTE. For traces. */
void backing_explain(const void *va, size_t npages);
/* Forget the owner table (slab_init), or give back its pages that own nothing (reap). */
void backing_reset(void);
void backing_trim(void);

/*
 * The owner table: the slab descriptor of every page of the two areas the
 * heap takes from the VMM, found in O(1) without a lock, so kfree can ask
 * it on every call. Two levels per area: a fixed array of leaf pages
 * (their frame numbers, 0 = none) and, in each leaf, one 32-bit slot per
 * page: the descriptor's offset from VMM_KHEAP_BASE in SLAB_DESC_ALIGN
 * units, plus one, so that 0 (a zeroed leaf) means "no owner". Every
 * descriptor lives in the heap area (on its slab, or from the descriptor
 * cache), which this encoding covers 2^32 x 64 bytes of.
 *
 * Leaves come from the buddy as the areas grow and go back at reap time
 * when no page of theirs is held. A lookup reads them through the HHDM, so
 * even a stale leaf is memory that can be read; what it says is checked
 * (slab_sound) before it is believed.
 */
#define OWNER_SPAN  (64UL << 30)                /* bytes of each area the heap uses */

#define OWNER_SLOTS (PAGE_SIZE / sizeof(uint32_t))
#define OWNER_TOP   (OWNER_SPAN / PAGE_SIZE / OWNER_SLOTS)
struct owner_area {
	uint32_t leaf[OWNER_TOP];       /* pfn of the leaf page, 0 if none (first: kfree reads it) */
	uint16_t held[OWNER_TOP];       /* pages of the leaf's range the heap holds */
	uintptr_t base;
};
extern struct owner_area owner_heap, owner_large;

/* The descriptor recorded for va's page, or NULL if va is not heap memory. */
static inline struct slab *backing_owner(const void *va)
{
	uintptr_t v = (uintptr_t)va;
	const struct owner_area *a = &owner_heap;
	uint32_t pfn, tag;

	if (__builtin_expect(v - VMM_KHEAP_BASE >= OWNER_SPAN, 0)) {
		if (v - VMM_KLARGE_BASE >= OWNER_SPAN)
			return NULL;
		a = &owner_large;
	}
	v = (v - (a == &owner_heap ? VMM_KHEAP_BASE : VMM_KLARGE_BASE)) >> PAGE_SHIFT;
	pfn = __atomic_load_n(&a->leaf[v / OWNER_SLOTS], __ATOMIC_ACQUIRE);
	if (!pfn)
		return NULL;
	tag = ((const uint32_t *)phys_to_virt((uint64_t)pfn << PAGE_SHIFT))[v % OWNER_SLOTS];
	return tag ? (struct slab *)(VMM_KHEAP_BASE - SLAB_DESC_ALIGN + (uintptr_t)tag * SLAB_DESC_ALIGN) : NULL;
}

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
/* Fill empty magazine m with up to n objects, parked; lock not held; may grow. Interrupts off. */
void slab_alloc_parked(struct cache *c, struct magazine *m, unsigned n);
/* m's objects back to their slabs, m emptied; lock not held; gives back empties beyond the reserve. */
void slab_free_bulk(struct cache *c, struct magazine *m);
/* The slab holding obj and its index, or NULL after reporting misuse. */
struct slab *slab_of(struct cache *expect, const void *obj, unsigned *idx, const char *who);
/* One object back, checked for double free and by debugging. Lock not held. */
void slab_free_one(struct cache *c, struct slab *s, unsigned idx, void *obj);
/* Give back empty slabs beyond keep. Lock not held. */
void slab_trim(struct cache *c, uint64_t keep);

/* ---- the fast paths, inlined into kmalloc and kfree ---- */

/*
 * Pop an object from CPU cpu's (this CPU's) loaded magazine into *obj; false if it is
 * empty or busy: the caller then takes the full path. No interrupt masking:
 * busy keeps an interrupt handler off these magazines for the few
 * instructions the pop takes (it finds busy set and goes to the slabs),
 * and a handler that ran before busy was set has finished before we read
 * anything. No preemption in the kernel keeps us on this CPU.
 */
static inline bool mag_pop(struct cache *c, unsigned cpu, void **obj)
{
	struct cpu_mags *m = &c->cpu[cpu];
	struct magazine *l;
	bool ok = false;

	if (__builtin_expect(m->busy, 0))
		return false;
	m->busy = 1;
	__asm__ volatile("" ::: "memory");
	l = m->loaded;
	if (__builtin_expect(l && l->rounds, 1)) {
		*obj = mag_take(l);
		ok = true;
	}
	__asm__ volatile("" ::: "memory");
	m->busy = 0;
	return ok;
}

/*
 * Park obj, whose used word is w (its parked word is w[1]) and bit b, on
 * CPU cpu's loaded magazine if it is live; false if it is not, or the
 * magazine is full or busy: take the full path, which tells them apart.
 * Parked words are written only inside this busy window (here, mag_pop) or
 * by the magazine code with interrupts off and the window closed, so an
 * interrupt handler never interleaves with the read-modify-write here; the
 * used words, which handlers may write through the slabs meanwhile, are
 * only read. (With SMP, CPUs parking objects of one slab share its parked
 * words: that write must then be atomic.)
 */
static inline bool mag_push(struct cache *c, unsigned cpu, void *obj, uint64_t *w, uint64_t b)
{
	struct cpu_mags *m = &c->cpu[cpu];
	struct magazine *l;
	bool ok = false;

	if (__builtin_expect(m->busy, 0))
		return false;
	m->busy = 1;
	__asm__ volatile("" ::: "memory");
	l = m->loaded;
	if (__builtin_expect(l && l->rounds < c->mag_size && (w[0] & ~w[1] & b), 1)) {     /* used, not parked */
		mag_put(l, obj, &w[1], b);
		ok = true;
	}
	__asm__ volatile("" ::: "memory");
	m->busy = 0;
	return ok;
}

/*
 * The free fast path: obj is the start of a live object of a cache with
 * magazines (expect's, if not NULL), and went into one. false: take the
 * full path, which checks again and reports any misuse.
 */
static inline bool free_fast(struct cache *expect, void *obj)
{
	unsigned cpu = arch_cpu_index();        /* first: then little is live across the call */
	struct slab *s = backing_owner(obj);
	struct cache *c;
	long i;

	if (__builtin_expect(!s || s->magic != (slab_fast_key ^ (uint32_t)((uintptr_t)s >> 6)), 0))
		return false;
	c = s->cache;
	if (__builtin_expect(expect && c != expect, 0))
		return false;
	/*
	 * Caches without magazines (CF_NOMAG, CF_REDZONE) have no loaded one:
	 * the push fails. large_cache has no objects: the index fails.
	 */
	i = slab_obj_index(c, s, (uintptr_t)obj);
	return i >= 0 && mag_push(c, cpu, obj, used_word(s, (unsigned)i), obj_bit((unsigned)i));
}

/* ---- magazine.c ---- */
void *mag_alloc(struct cache *c);
bool mag_free(struct cache *c, struct slab *s, unsigned idx, void *obj);
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
/*
 * The cache a large allocation's descriptor names: no objects (nobj 0), so
 * the free fast path's index check sends it the full way with no test of
 * its own. It is on no cache list.
 */
extern struct cache large_cache;
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
