/*
 * pmm_state.h - the buddy layer's one state, `struct pmm`, the per-frame
 * record, and the few lookups every file of the layer makes. Not an
 * interface: nothing outside src/mm/buddy/ includes it (but the white-box
 * host tests, which break records on purpose).
 *
 * Invariants (pmm_check verifies them all, docs/buddy.md explains them):
 *  1. A set bit of a free map is a FREE head of its order, and every FREE
 *     head has its bit; each map's summary levels agree with its leaves.
 *  2. No free block has a free buddy of its order in its section.
 *  3. A section is RESERVED and CACHED frames and blocks: a FREE or
 *     ALLOCATED head followed by 2^order - 1 TAILs.
 *  4. Every excluded frame (first MiB, protected, records) is RESERVED.
 *  5. free (maps + caches) + allocated + reserved = total.
 */
#ifndef STRATA_MM_BUDDY_PMM_STATE_H
#define STRATA_MM_BUDDY_PMM_STATE_H

#include "mm/buddy/buddy.h"
#include "mm/arch.h"
#include "lib/spinlock.h"

/*
 * Every frame of RAM has one of these, 4 bytes, in its section's array
 * indexed by pfn. Only the first frame of a block (its head) says FREE or
 * ALLOCATED and carries the order; the other frames of the block say TAIL.
 * RESERVED is 0 so a zeroed array starts with everything reserved.
 */
enum frame_state {
	FRAME_RESERVED = 0,
	FRAME_FREE,         /* head of a block on a free list */
	FRAME_ALLOCATED,    /* head of a block handed out */
	FRAME_TAIL,         /* inside a free or allocated block */
	FRAME_CACHED,       /* a single page in a per-CPU cache */
};

struct frame {
	uint32_t refs : 24;     /* references to an allocated block */
	uint32_t order : 5;
	uint32_t state : 3;
};
#define FRAME_MAX_REFS ((1u << 24) - 1)

/* One order's free map in a section (freemap.c): where its levels start, how many bits are set. */
struct order_map {
	uint32_t off;               /* word offset of its leaf level in the section's bits */
	uint32_t nr;                /* free blocks of this order in the section */
	uint32_t nbits;             /* blocks of this order the section can hold: its leaves */
};
/* Words the table of a section's order_maps takes at the start of its maps (freemap.c). */
#define ORDER_MAP_WORDS ((sizeof(struct order_map) * (PMM_MAX_ORDER + 1) + 7) / 8)
#define FREEMAP_LEVELS 8        /* 64^7 leaves: more blocks than 52 physical address bits give */

/*
 * One sanitized range of RAM inside one zone, its records and its free
 * maps: holes between sections cost nothing. A range of RAM that crosses
 * 16 MiB or 4 GiB is two sections, so each map's blocks are of one zone.
 */
struct section {
	pfn_t base_pfn;
	uint64_t npages;
	struct frame *frames;
	uint64_t *bits;             /* every order's free map, after map[] */
	struct order_map *map;      /* PMM_MAX_ORDER + 1, after the records (pmm.lock): kept
	                             * in RAM, not here, so the static table of sections stays small */
	enum zone_id zone;
};
#define PMM_MAX_SECTIONS 256
#define SECTION_MAX_PAGES (1ULL << 32)  /* 16 TiB: order_map's 32-bit fields; longer RAM is cut at 16 TiB */

/*
 * pmm.lock: the counts, and free_pages (stored atomically: pmm_free_count
 * reads it without the lock). A zone's sections are consecutive in the
 * sorted table, since a zone is one range of addresses.
 */
struct zone {
	uint64_t nr[PMM_MAX_ORDER + 1];     /* free blocks of each order */
	uint32_t orders;            /* bit o set while nr[o] != 0: a failed request costs one test; stored atomically */
	uint64_t free_pages;        /* in these blocks */
	uint64_t total_pages;       /* written at boot and by pmm_add_range (boot) */
	size_t sec_lo, sec_hi;      /* its sections: pmm.sec[sec_lo, sec_hi) (boot) */
};

struct pfn_range {
	pfn_t start, end;           /* [start, end) in frames */
};

#define PCP_HIGH  64    /* a CPU's cache holds at most this many pages */
#define PCP_BATCH_ORDER 4
#define PCP_BATCH (1u << PCP_BATCH_ORDER)   /* and refills or drains this many at a time */

/*
 * A CPU's stack of single free pages. Its lock is taken by the owner on
 * every use (uncontended: one atomic exchange) and by a CPU draining it
 * (pmm_drain_all_caches, pmm_check, pmm_get_stats). Lock order: a pcp
 * lock, then pmm.lock; several pcp locks only in CPU order. count is
 * written under the lock and read without it as a snapshot
 * (pmm_free_count), so its stores are atomic.
 */
struct pcp {
	struct spinlock lock;       /* count, pfn[], and the records of the pages in pfn[] */
	unsigned count;
	pfn_t pfn[PCP_HIGH];
};

/*
 * All of the layer's state. pmm_init clears it and builds it again, so a
 * test can boot the PMM many times over. What protects each part:
 *
 *   lock        the zones (counts), the sections' free maps, and the records of blocks
 *               that are FREE or ALLOCATED (state, order, refs)
 *   pcp[c].lock CPU c's cache and the records of the pages in it (CACHED);
 *               taken before lock, never after it
 *   the owner   an ALLOCATED order-0 page with one reference is its
 *               holder's alone: pmm_free_page reads its record unlocked
 *   boot        sections, meta, the boot copies, total/metadata/kernel
 *               pages: written by pmm_init and pmm_add_range while no
 *               other CPU uses the PMM, read-only after
 *   atomic      section_hint (a hint any CPU may store), fail_countdown,
 *               maybe_cached
 */
struct pmm {
	struct spinlock lock;
	bool ready;                                 /* boot */
	struct zone zones[NR_ZONES];                /* lock */
	struct pcp pcp[ARCH_MAX_CPUS];              /* pcp[c].lock */
	struct section sec[PMM_MAX_SECTIONS];       /* boot; sorted by base_pfn */
	size_t nsec;
	size_t section_hint;                        /* atomic; the last section a lookup hit: always < PMM_MAX_SECTIONS */
	struct pfn_range meta[PMM_MAX_SECTIONS];    /* boot; where the records live */
	size_t nmeta;
	uint64_t total_pages, metadata_pages, kernel_pages;     /* boot */
	uint64_t reserved_pages;                    /* boot, and pmm_release under lock */
	unsigned fail_countdown;                    /* atomic; pmm_fail_nth */
	bool maybe_cached;                          /* atomic; some CPU's cache may hold a page (pcp.c) */
	struct pmm_boot boot;                       /* boot; points at the copies below */
	struct mem_range fw[PMM_MAX_MAP];
	size_t fw_dropped;                          /* firmware entries beyond the copy */
	struct mem_range san[PMM_MAX_MAP];
	size_t nsan;
	struct mem_range protect[PMM_MAX_PROTECT];
	bool released[PMM_MAX_PROTECT];             /* lock (pmm_release) */
};
extern struct pmm pmm;

#define FIRST_MIB_PFN   ((pfn_t)(0x100000 >> PAGE_SHIFT))
#define DMA_END_PFN     ((pfn_t)((16ULL << 20) >> PAGE_SHIFT))
#define DMA32_END_PFN   ((pfn_t)((4ULL << 30) >> PAGE_SHIFT))

static inline pfn_t pa_to_pfn(pa_t pa) { return pa >> PAGE_SHIFT; }
static inline pa_t pfn_to_pa(pfn_t pfn) { return pfn << PAGE_SHIFT; }

static inline enum zone_id pfn_zone(pfn_t pfn)
{
	if (pfn < DMA_END_PFN)
		return ZONE_DMA;
	return pfn < DMA32_END_PFN ? ZONE_DMA32 : ZONE_NORMAL;
}

/* buddy.c: the section holding frame pfn, or NULL if the PMM does not manage it. */
struct section *pfn_section_search(pfn_t pfn);

/* Lookups cluster (a block, its buddy, the next page): try the last section hit first. */
static inline struct section *pfn_section(pfn_t pfn)
{
	size_t h = __atomic_load_n(&pmm.section_hint, __ATOMIC_RELAXED);
	struct section *s = &pmm.sec[h];

	if (pfn - s->base_pfn < s->npages)
		return s;
	return pfn_section_search(pfn);
}

/* The record of frame pfn, or NULL if the PMM does not manage it (pfn_section, unrolled). */
static inline struct frame *pfn_frame(pfn_t pfn)
{
	size_t h = __atomic_load_n(&pmm.section_hint, __ATOMIC_RELAXED);
	const struct section *s = &pmm.sec[h];

	if (pfn - s->base_pfn < s->npages)
		return &s->frames[pfn - s->base_pfn];
	s = pfn_section_search(pfn);
	return s ? &s->frames[pfn - s->base_pfn] : NULL;
}

/* The record of frame pfn if it lies in the last section a lookup hit, else NULL: no call, for fast paths. */
static inline struct frame *pfn_frame_hinted(pfn_t pfn)
{
	size_t h = __atomic_load_n(&pmm.section_hint, __ATOMIC_RELAXED);
	const struct section *s = &pmm.sec[h];

	return pfn - s->base_pfn < s->npages ? &s->frames[pfn - s->base_pfn] : NULL;
}

/*
 * The record of frame pfn if it lies in section s, else NULL. A block
 * never spans two sections (their records are separate arrays), so a
 * buddy outside its block's section is no buddy, even where two sections
 * touch (RAM added by pmm_add_range next to RAM pmm_init took).
 */
static inline struct frame *section_frame(const struct section *s, pfn_t pfn)
{
	return pfn - s->base_pfn < s->npages ? &s->frames[pfn - s->base_pfn] : NULL;
}

/* One store: the head of a block just handed out, with its one reference. */
static inline void mark_allocated(struct frame *f, unsigned order)
{
	*f = (struct frame){ .refs = 1, .order = order, .state = FRAME_ALLOCATED };
}

/* freemap.c: the free maps, called with pmm.lock held (or at boot). */
uint64_t freemap_words(pfn_t base, uint64_t npages);
void freemap_layout(struct section *s);
void freemap_set(struct section *s, unsigned o, pfn_t pfn);
bool freemap_clear(struct section *s, unsigned o, pfn_t pfn);
bool freemap_test(const struct section *s, unsigned o, pfn_t pfn);
pfn_t freemap_first(const struct section *s, unsigned o);
unsigned freemap_check(const struct section *s, unsigned (*each)(const struct section *, unsigned, pfn_t),
		       unsigned (*problem)(const char *, pfn_t, uint64_t));

/* buddy.c: the free blocks, called with pmm.lock held. */
pfn_t core_alloc(unsigned order, unsigned flags);  /* an ALLOCATED block, or PMM_NO_FRAME */
bool core_may_fit(unsigned order, unsigned flags); /* without the lock: might core_alloc succeed? */
void core_free(pfn_t pfn, unsigned order);
void core_free_cached(pfn_t pfn);       /* a page from a per-CPU cache: must be CACHED */
void core_free_range(pfn_t start, pfn_t end, bool merge);
pfn_t zone_first_free(enum zone_id z, unsigned order);     /* the block core_alloc takes next, or PMM_NO_FRAME */

/* pcp.c: every cache lock, then pmm.lock, and back: the whole PMM still. */
uint64_t pmm_lock_all(void);
void pmm_unlock_all(uint64_t irq);

/* frame.c: 0 if pa may be freed with this order, else the misuse, reported. */
int check_freeable(pa_t pa, unsigned order, const char *who);

/* pmm_boot.c: what may never be freed (first MiB, protected, records), for pmm_check. */
bool pfn_excluded(pfn_t pfn, pfn_t *until);
pfn_t next_exclusion(pfn_t pfn, pfn_t limit);

#endif
