/*
 * slab_private.h - what the files of the slab layer share: the shapes of
 * caches, slabs and magazines, the layer's state (struct kheap), and the
 * inlined fast path. Not an interface: nothing outside src/mm/slab/
 * includes it but the white-box host tests.
 *
 *   cache ──► cpu[0..7]: loaded, prev magazine     (its busy word: a try-lock, see mag_fast)
 *     │
 *     ├─► depot: full and empty magazines          (cache lock)
 *     │
 *     └─► slabs: partial ─ empty ─ full lists      (cache lock)
 *           └─► slab descriptor: bitmap of live objects, first object
 *                 └─► objects, in 1..8 pages from slab_pages.c (the layer below)
 */
#ifndef STRATA_MM_SLAB_PRIVATE_H
#define STRATA_MM_SLAB_PRIVATE_H

#include "mm/slab/slab.h"
#include "mm/arch.h"
#include "mm/failure.h"
#include "lib/spinlock.h"

#ifndef SLAB_DEBUG
#define SLAB_DEBUG 0            /* build-time debug flags (slab.h SLAB_DEBUG_*) */
#endif

#define SLAB_MAX_PAGES   8      /* a slab is 1 to 8 pages */
#define SLAB_MIN_ALIGN   8
#define SLAB_EMPTY_KEEP  2      /* empty slabs any cache may keep (empty_max is at least this) */
#ifndef SLAB_INTERVAL
#define SLAB_INTERVAL    1024   /* a working-set interval: ticks of kheap.clock (cache_unlock) */
#endif
#define SLAB_MAG_MAX     30     /* rounds in the biggest magazine: 736 bytes with the header */
#define SLAB_MAG_BYTES   1024   /* and about this many bytes of objects in one */
#define SLAB_DESC_ALIGN  64     /* descriptors: on this alignment, which slab_pages.c's owner table uses */
#define KMALLOC_MAX      16384  /* the largest kmalloc class; above it, whole pages */
#define KMALLOC_CLASSES  40     /* kmalloc.c's class_size[] */

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
 * their lock: whoever swaps it from 0 to 1 may touch loaded, prev and
 * their magazines until it stores 0. The owner takes it on every use (the
 * inlined fast path below, with interrupts on; the slow paths in cache.c,
 * with them off) and never waits: finding it set (an interrupt handler
 * that landed inside the fast path, or another CPU flushing) it goes to
 * the slabs instead. Another CPU (mag_flush_all, mag_rounds, slab_check)
 * waits for it, with its own interrupts on. Lock order: busy words (in
 * CPU order), then the cache's lock.
 */
struct cpu_mags {
	struct magazine *loaded, *prev;     /* busy */
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
 *   poisoned  one bit an object: free in the slab and carrying poison (slab_debug.c)
 *
 * Only a live object may be freed: a second free of an object that went
 * into a magazine finds it parked. The pair of words sits together for the
 * free fast path; they are apart because different code writes them: used
 * bits only the slab code, under the cache's lock; parked bits only the
 * magazine code (mag_fast, mag_take: see there). Nothing of the heap's bookkeeping is
 * in the free objects themselves, so a write to a freed object cannot
 * corrupt the heap and constructed state survives (Bonwick).
 */
struct slab {
	uint32_t magic;         /* slab_magic(this): checked on every lookup */
	uint16_t inuse, nobj;
	struct slab *next, *prev;
	struct cache *cache;    /* &kheap.large_cache: a large allocation */
	uintptr_t base;         /* first page; objects start here */
	uint32_t npages;
	uint16_t hint;          /* no free object in the words of objects below 64 * hint */
	uint8_t list;           /* LIST_* it is on */
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
	/* Written by cache_setup before the cache is published, read-only after: name..mag_size. */
	struct spinlock lock;   /* slab lists, depot, counters below, the used bits and counts of the slabs */
	struct slab_list partial, empty, full;
	struct magazine *depot_full, *depot_empty;
	uint64_t depot_rounds;  /* objects in depot_full magazines */
	uint32_t depot_nfull, depot_nempty;     /* magazines on each depot list */
	/*
	 * The working set (cache.c, ws_interval): the fewest full and empty
	 * magazines the depot held, and the fewest empty slabs the cache
	 * had, since the heap's clock read ws_since. What was never taken in
	 * an interval is idle, and goes back at its end.
	 */
	uint32_t ws_full_min, ws_empty_min;
	uint64_t ws_slabs_min, ws_since;
	uint32_t depot_max;     /* full magazines the depot may hold: its share of RAM (kheap.depot_bytes) */
	uint32_t empty_max;     /* empty slabs kept at most: the same share */
	uint64_t nslabs, out;   /* slabs; objects out of slabs (live + in magazines): read as snapshots */
	uint64_t grows, reaps;
	struct cache *next;     /* every cache, for reports: kheap.caches_lock */
};

/*
 * The layer's state: every mutable variable of the heap but the porter's
 * owner table (slab_pages.c), in one place. slab_init (cache.c) sets it
 * up from nothing.
 */
struct kheap {
	/*
	 * Non-zero when an allocation or free must take the full path:
	 * debugging, tracing or failure injection is on. slowpath_update
	 * (slab_debug.c) recomputes it, and the two words below, whenever one
	 * changes. The inlined fast paths test nothing extra: kmalloc's takes
	 * sizes below fast_max (0 while slowpath), kfree's checks descriptors
	 * against fast_key (secret, or its complement, which no descriptor
	 * matches, while slowpath). The full path checks against secret.
	 */
	/*
	 * The switches and the words they derive: set by slab_init, the
	 * debug and trace switches and failure injection, which the kernel
	 * and the tests use at boot or with one CPU working on the heap;
	 * read by every CPU without a lock. (Turning debugging on while other
	 * CPUs allocate would mix objects kept in magazines with bypassing
	 * paths: not supported.)
	 */
	unsigned slowpath;
	size_t fast_max;
	uint32_t fast_key;
	uint32_t secret;        /* mixed into each descriptor's magic: slab_magic; written once by slab_init */
	uint64_t depot_bytes;   /* objects' bytes a cache's depot may hold: slab_init, from RAM */
	uint64_t clock;         /* the heap's clock: transactions of every cache with its depot or slabs (atomic) */

	unsigned debug;         /* SLAB_DEBUG_* in force */
	bool debugged;          /* debug was on since slab_init: objects may carry poison */
	unsigned fail_countdown, fail_per_mille;        /* failure injection (slab.h) */
	uint64_t fail_seed;
	unsigned nerrors;       /* misuses reported, and the last one: atomic count; last is a best effort */
	struct slab_error last;

	struct spinlock caches_lock;
	struct cache *caches;   /* every cache on the list, for reports; caches_lock */
	struct cache desc_cache, mag_cache, cache_cache;        /* the internal caches */

	/* kmalloc.c: the classes, and the class of each size by (size + 7) / 8 as an offset in classes[] */
	struct cache classes[KMALLOC_CLASSES];
	char names[KMALLOC_CLASSES][16];
	uint16_t class_off[KMALLOC_MAX / 8 + 1];

	/*
	 * Large allocations: their descriptors name large_cache, which has no
	 * objects (nobj 0), so the free fast path's index check sends them the
	 * full way with no test of its own. It is on no cache list.
	 */
	struct cache large_cache;
	struct spinlock large_lock;
	struct slab *large_head;        /* every live one, for the leak report; large_lock */
	uint64_t large_live, large_pages;
};
extern struct kheap kheap;

/*
 * Whether an object's debugging hooks (slab_debug.c) have anything to do:
 * debugging is or was on (poison may be left to check), or c has redzones.
 * Tested by the callers, so the hooks are not entered otherwise.
 */
#define DEBUG_HOOKS(c)  (kheap.debugged || ((c)->flags & CF_REDZONE))
/* Whether an allocation is to fail (failure injection): fail_injected only when armed. */
#define FAIL_INJECTED() ((kheap.fail_countdown || kheap.fail_per_mille) && fail_injected())
/* Magazines stand aside while debugging, so every object's state is kept on its slab. */
#define BYPASS_MAGS(c)  (((c)->flags & (CF_NOMAG | CF_REDZONE)) || kheap.debug)

/* ---- invariants: small, always on, because a corrupt heap must stop ---- */

static inline uint32_t slab_magic(const struct slab *s)
{
	return kheap.secret ^ (uint32_t)((uintptr_t)s >> 6);
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

/*
 * obj goes on top of m (which has room), parked: bit set in its parked
 * word w. Atomic: objects of one slab park in several CPUs' magazines, so
 * CPUs share the word (each owning its own bits in it).
 */
static inline void mag_put(struct magazine *m, void *obj, uint64_t *w, uint64_t bit)
{
	unsigned k = m->rounds++;

	__atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
	m->obj[k] = obj, m->word[k] = w, m->bit[k] = bit;
}

/* The top object of m (which has one), no longer parked: live again. */
static inline void *mag_take(struct magazine *m)
{
	unsigned k = --m->rounds;

	__atomic_fetch_sub(m->word[k], m->bit[k], __ATOMIC_RELAXED);   /* the bit is set: clears it */
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

/* ---- slab_pages.c: where slab pages come from (the porter's file) ---- */

/*
 * npages of mapped, zeroed kernel memory (page aligned), or NULL: a slab
 * (1..SLAB_MAX_PAGES, aligned to its size rounded up to a power of two),
 * or with large, whole pages for a large allocation.
 */
void *pages_alloc(size_t npages, bool large);
/* Give back what pages_alloc returned, with the same npages. */
void pages_free(void *va, size_t npages);
/* Record owner (a descriptor, SLAB_DESC_ALIGN aligned) for each page; NULL clears. */
void pages_set_owner(void *va, size_t npages, const struct slab *owner);
/* The descriptor recorded for va's page, or NULL if va is not heap memory. O(1), no lock. */
struct slab *pages_owner(const void *va);
/* Regions asked of the VMM since slab_init: slabs made and large allocations. */
uint64_t pages_trips(void);
/* Bytes of RAM the machine has: what the heap sizes its reserves by. */
uint64_t pages_ram_bytes(void);
/* Forget every owner (slab_init), or give back the bookkeeping that owns nothing (reap). */
void pages_reset(void);
void pages_trim(void);

/* ---- slab.c: slabs of one cache, called with c->lock held unless said ---- */

/*
 * Up to n objects from partial then empty slabs, growing the cache if
 * needed: into out, or with mag, parked into that magazine (out unused).
 * How many were had. Lock not held; with mag, interrupts off.
 */
unsigned slab_alloc_bulk(struct cache *c, void **out, struct magazine *mag, unsigned n, void *caller,
			 size_t asked);
/* m's objects back to their slabs, m emptied; lock not held; gives back empties beyond the reserve. */
void slab_free_bulk(struct cache *c, struct magazine *m);
/* The slab holding obj and its index, or NULL after reporting misuse. */
struct slab *slab_of(struct cache *expect, const void *obj, unsigned *idx, const char *who);
/* One object back, checked for double free and by debugging. Lock not held. */
void slab_free_one(struct cache *c, struct slab *s, unsigned idx, void *obj);
/* Give back empty slabs beyond keep. Lock not held. */
void slab_trim(struct cache *c, uint64_t keep);
/*
 * Release c->lock after a transaction with the depot or the slabs, and
 * tick the heap's clock (kheap.clock). Empty slabs beyond empty_max go
 * back now; at the end of a working-set interval, what stayed idle all
 * through it (ws_interval).
 */
void cache_unlock(struct cache *c, uint64_t irq);
/* The empty slabs kept all through the interval (ws_slabs_min), unhooked: lock held; and given back: not held. */
struct slab *slabs_unhook_idle(struct cache *c);
void slabs_give_back(struct cache *c, struct slab *chain);
/*
 * What the heap holds idle, given back when pages cannot be had (slab.c,
 * kmalloc.c): every cache's depot and empty slabs, but no CPU's
 * magazines, which the caller may hold. True if a slab went back, so a
 * second try may succeed. (slab_report.c)
 */
bool slab_reclaim(void);
struct slab_list *list_of(struct cache *c, uint8_t which);

/* ---- the fast path, inlined into kmalloc, kfree, cache_alloc and cache_free ---- */

/*
 * Pop an object into *obj (w NULL) or push *obj on CPU cpu's (this
 * CPU's) loaded magazine, holding its busy word; false if the
 * magazine is busy, empty (pop) or full (push), or the object pushed is
 * not live: the caller then takes the full path, which tells them apart.
 *
 * No interrupt masking: busy keeps an interrupt handler off these
 * magazines for the few instructions this takes (it finds busy set and
 * goes to the slabs), and a handler that ran before busy was set has
 * finished before we read anything. The same word keeps another CPU's
 * flush off them: it is taken with an atomic exchange (uncontended, the
 * line is this CPU's), so the flush, which waits for it, and we never
 * both hold it. No preemption in the kernel keeps us on this CPU. A push
 * is given obj's used word w (its parked word is w[1]) and bit b. The
 * parked bit is set and cleared atomically (mag_put, mag_take: other
 * CPUs own other bits of the word); the used words, which other CPUs and
 * handlers write through the slabs under the cache lock, are only read,
 * and obj's own used bit, for a live object its holder frees, holds still.
 */
static inline bool mag_fast(struct cache *c, unsigned cpu, void **obj, uint64_t *w, uint64_t b)
{
	struct cpu_mags *m = &c->cpu[cpu];
	struct magazine *l;
	bool ok;

	if (__builtin_expect(__atomic_exchange_n(&m->busy, 1, __ATOMIC_ACQUIRE), 0))
		return false;
	l = m->loaded;
	if (!w) {                       /* pop */
		ok = __builtin_expect(l && l->rounds, 1);
		if (ok)
			*obj = mag_take(l);
	} else {                        /* push, if used and not parked */
		ok = __builtin_expect(l && l->rounds < c->mag_size && (w[0] & ~w[1] & b), 1);
		if (ok)
			mag_put(l, *obj, &w[1], b);
	}
	__atomic_store_n(&m->busy, 0, __ATOMIC_RELEASE);
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
	struct slab *s = pages_owner(obj);
	struct cache *c;
	long i;

	if (__builtin_expect(!s || s->magic != (kheap.fast_key ^ (uint32_t)((uintptr_t)s >> 6)), 0))
		return false;
	c = s->cache;
	if (__builtin_expect(expect && c != expect, 0))
		return false;
	/*
	 * Caches without magazines (CF_NOMAG, CF_REDZONE) have no loaded one:
	 * the push fails. large_cache has no objects: the index fails.
	 */
	i = slab_obj_index(c, s, (uintptr_t)obj);
	return i >= 0 && mag_fast(c, cpu, &obj, used_word(s, (unsigned)i), obj_bit((unsigned)i));
}

/* ---- cache.c: caches, their magazines and depot; slab_init ---- */
int cache_setup(struct cache *c, const char *name, size_t size, size_t align,
		void (*ctor)(void *), unsigned flags);
void cache_link(struct cache *c);
void *cache_alloc_caller(struct cache *c, void *caller, size_t asked);
void cache_free_checked(struct cache *c, void *obj, const char *who);
uint64_t cache_report_live(struct cache *c);   /* prints live objects, returns how many */
void mag_flush_all(struct cache *c);     /* every CPU's and the depot's objects to slabs, while they run */
/* The depot's magazines back, their objects to the slabs; no CPU's magazines touched, so the caller may hold its own. */
void depot_drain(struct cache *c);
/*
 * What stayed idle through a working-set interval: magazines of the depot
 * and empty slabs, unhooked by ws_interval (c->lock held) and given back
 * by ws_give_back (no lock held), the magazines' objects first.
 */
struct ws_idle {
	struct magazine *full, *empty;
	struct slab *slabs;
};
void ws_interval(struct cache *c, struct ws_idle *idle);
void ws_give_back(struct cache *c, struct ws_idle *idle);
uint64_t mag_rounds(struct cache *c);    /* objects sitting in magazines (a snapshot); no lock held */
/* Every CPU's busy word of c, in CPU order (waiting for each), and back: mag_rounds exact. */
void mags_hold_all(struct cache *c);
void mags_release_all(struct cache *c);
uint64_t mag_rounds_held(struct cache *c);      /* mag_rounds with them held */

/* ---- slab_debug.c ---- */
void slowpath_update(void);
void slab_error(enum slab_error_kind k, const struct cache *c, const void *addr, const char *detail);
bool fail_injected(void);               /* through FAIL_INJECTED() */
/* The hooks, through DEBUG_HOOKS(c): a new slab (lock not held), an object taken, one going back (lock held). */
void debug_on_create(struct cache *c, struct slab *s);
void debug_on_alloc(struct cache *c, struct slab *s, unsigned idx, void *obj, void *caller, size_t asked);
void debug_on_free(struct cache *c, struct slab *s, unsigned idx, void *obj);

/* ---- kmalloc.c ---- */
void kmalloc_init(void);
struct cache *kmalloc_cache(size_t size);    /* the class of size, NULL above the classes */
void large_free(struct slab *s);
uint64_t large_report_live(void);

#endif
