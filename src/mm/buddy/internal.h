/*
 * internal.h - what the files of the buddy layer share. Not an interface:
 * nothing outside src/mm/buddy/ includes it.
 */
#ifndef STRATA_MM_BUDDY_INTERNAL_H
#define STRATA_MM_BUDDY_INTERNAL_H

#include "mm/buddy/buddy.h"
#include "mm/arch.h"
#include "lib/spinlock.h"

/*
 * Every frame of RAM has one of these, 8 bytes. Only the first frame of a
 * block (its head) says FREE or ALLOCATED and carries the order; the other
 * frames of the block say TAIL. RESERVED is 0 so a zeroed array starts
 * with everything reserved.
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
	uint32_t private;       /* the layer above's word */
};
#define FRAME_MAX_REFS ((1u << 24) - 1)

/* One sanitized range of RAM and its records: holes between sections cost nothing. */
struct section {
	uint64_t base_pfn, npages;
	struct frame *frames;
};
#define PMM_MAX_SECTIONS 256

/* Free-list links live in the free block itself, reached through the HHDM. */
struct free_link {
	struct free_link *next, *prev;
};

struct free_area {
	struct free_link head;      /* circular; head.next is the first block */
	uint64_t nr;
};

struct zone {
	struct free_area area[PMM_MAX_ORDER + 1];
	uint64_t free_pages;        /* on these lists */
	uint64_t total_pages;
};

struct pfn_range {
	uint64_t start, end;        /* [start, end) in frames */
};

struct pmm {
	struct spinlock lock;
	bool ready;
	struct zone zones[NR_ZONES];
	struct section sec[PMM_MAX_SECTIONS];
	size_t nsec;
	struct pfn_range meta[PMM_MAX_SECTIONS];    /* where the records live */
	size_t nmeta;
	uint64_t total_pages, reserved_pages, metadata_pages, kernel_pages;
	unsigned fail_countdown;
	struct pmm_boot boot;                       /* points at the copies below */
	struct mem_range fw[PMM_MAX_MAP];
	size_t fw_dropped;                          /* firmware entries beyond the copy */
	struct mem_range san[PMM_MAX_MAP];
	size_t nsan;
	struct mem_range protect[PMM_MAX_PROTECT];
	bool released[PMM_MAX_PROTECT];
};
extern struct pmm pmm;

#define PCP_HIGH  64    /* a CPU's cache holds at most this many pages */
#define PCP_BATCH_ORDER 4
#define PCP_BATCH (1u << PCP_BATCH_ORDER)   /* and refills or drains this many at a time */
struct pcp {
	unsigned count;
	uint64_t pfn[PCP_HIGH];
};
extern struct pcp pcps[ARCH_MAX_CPUS];

/* section.c: the section holding frame pfn, or NULL if the PMM does not manage it. */
const struct section *pfn_section_search(uint64_t pfn);
extern size_t section_hint;

/* Lookups cluster (a block, its buddy, the next page): try the last section hit first. */
static inline const struct section *pfn_section(uint64_t pfn)
{
	size_t h = __atomic_load_n(&section_hint, __ATOMIC_RELAXED);
	const struct section *s = &pmm.sec[h];

	if (pfn - s->base_pfn < s->npages)
		return s;
	return pfn_section_search(pfn);
}

/* The record of frame pfn, or NULL if the PMM does not manage it. */
struct frame *pfn_frame_search(uint64_t pfn);
static inline struct frame *pfn_frame(uint64_t pfn)
{
	size_t h = __atomic_load_n(&section_hint, __ATOMIC_RELAXED);
	const struct section *s = &pmm.sec[h];

	if (pfn - s->base_pfn < s->npages)
		return &s->frames[pfn - s->base_pfn];
	return pfn_frame_search(pfn);
}

/*
 * The record of frame pfn if it lies in section s, else NULL. A block
 * never spans two sections (their records are separate arrays), so a
 * buddy outside its block's section is no buddy, even where two sections
 * touch (RAM added by pmm_add_range next to RAM pmm_init took).
 */
static inline struct frame *section_frame(const struct section *s, uint64_t pfn)
{
	return pfn - s->base_pfn < s->npages ? &s->frames[pfn - s->base_pfn] : NULL;
}

static inline void mark_allocated(struct frame *f, unsigned order)
{
	f->state = FRAME_ALLOCATED, f->order = order, f->refs = 1, f->private = 0;
}

#define FIRST_MIB_PFN   (0x100000 >> PAGE_SHIFT)
#define DMA_END_PFN     ((16ULL << 20) >> PAGE_SHIFT)
#define DMA32_END_PFN   ((4ULL << 30) >> PAGE_SHIFT)

static inline uint64_t pa_to_pfn(uint64_t pa) { return pa >> PAGE_SHIFT; }
static inline uint64_t pfn_to_pa(uint64_t pfn) { return pfn << PAGE_SHIFT; }

static inline enum zone_id pfn_zone(uint64_t pfn)
{
	if (pfn < DMA_END_PFN)
		return ZONE_DMA;
	return pfn < DMA32_END_PFN ? ZONE_DMA32 : ZONE_NORMAL;
}

/* buddy.c: the core, called with pmm.lock held */
void area_push(uint64_t pfn, unsigned order);
uint64_t core_alloc(unsigned order, unsigned flags);
void core_free(uint64_t pfn, unsigned order);
void core_free_cached(uint64_t pfn);       /* a page from a per-CPU cache: must be CACHED */
void core_free_range(uint64_t start, uint64_t end, bool merge);
bool fail_tick(void);
uint64_t take_block(unsigned order, uint64_t npages, unsigned flags);  /* takes the lock */

/* Consume one tick of pmm_fail_nth; true for the allocation that must fail. */
static inline bool fail_injected(void)
{
	return __atomic_load_n(&pmm.fail_countdown, __ATOMIC_RELAXED) && fail_tick();
}

/* pcp.c: with pmm.lock held, empty this CPU's cache into the lists; false if it was empty. */
bool pcp_drain_locked(void);

/* misuse.c */
int check_freeable(uint64_t pa, unsigned order, const char *who);

/* early.c */
bool pfn_excluded(uint64_t pfn, uint64_t *until);
uint64_t next_exclusion(uint64_t pfn, uint64_t limit);
bool next_free_span(uint64_t *cur, uint64_t end, struct pfn_range *out);
int early_place_metadata(void);
uint64_t record_pages(uint64_t frames);     /* pages holding the records of that many frames */

/* init.c */
void zone_account(uint64_t start, uint64_t end);

/* report.c */

#endif
