/*
 * buddy.c - the buddy allocator's core: free blocks per zone and order.
 *
 * A free block of 2^order pages is a set bit in its section's free map of
 * that order (freemap.c); its first frame's record says FREE and the
 * order. Nothing is written into free pages. To allocate, take the lowest
 * free block of the smallest order big enough and split it, giving the
 * upper halves back one order lower. To free, look at the buddy (the
 * block's address with bit `order` flipped): while it is a free block of
 * the same order in the same section, take it out and merge; then mark
 * the result free. Everything here runs with pmm.lock held (or at boot,
 * alone); free_pages is stored atomically because pmm_free_count reads it
 * without the lock.
 *
 * Records exist only for RAM: one array per sanitized range of RAM (a
 * section), so the PCI hole or a reserved range at 1 TiB costs nothing.
 * Sections are sorted by address; a binary search finds one, and the last
 * hit is tried first (pfn_section and pfn_frame, in pmm_state.h) because
 * lookups cluster.
 */
#include "mm/buddy/pmm_state.h"
#include "mm/failure.h"
#include "lib/kprintf.h"

struct pmm pmm = { .lock = SPINLOCK_INIT("pmm") };

/* pfn_section's and pfn_frame's slow path: a binary search of the sections. */
struct section *pfn_section_search(pfn_t pfn)
{
	size_t lo = 0, hi = pmm.nsec;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct section *s = &pmm.sec[mid];
		if (pfn < s->base_pfn)
			hi = mid;
		else if (pfn - s->base_pfn < s->npages) {
			__atomic_store_n(&pmm.section_hint, mid, __ATOMIC_RELAXED);
			return s;
		} else
			lo = mid + 1;
	}
	return NULL;
}

/* Put the block at pfn, in section s, among the free blocks, marking its head FREE. */
static void area_push(struct section *s, pfn_t pfn, unsigned order)
{
	struct zone *z = &pmm.zones[s->zone];

	*section_frame(s, pfn) = (struct frame){ .refs = 0, .order = order, .state = FRAME_FREE };
	freemap_set(s, order, pfn);
	z->nr[order]++;
	if (!(z->orders & (1u << order)))
		__atomic_store_n(&z->orders, z->orders | 1u << order, __ATOMIC_RELAXED);
	__atomic_store_n(&z->free_pages, z->free_pages + (1ULL << order), __ATOMIC_RELAXED);
}

/*
 * Take the free block at pfn, whose record f the caller found FREE, out of
 * the free blocks; its head becomes a TAIL until someone says otherwise.
 * Its bit must be set: a FREE record the map does not know is a record
 * written by someone else, and taking it would hand out a block twice.
 */
static void area_unlink(struct section *s, pfn_t pfn, struct frame *f)
{
	struct zone *z = &pmm.zones[s->zone];
	unsigned o = f->order;

	MM_ASSERT("pmm", freemap_clear(s, o, pfn),
		  "free block of order %u at 0x%llx is not in the free map: its record was overwritten?",
		  o, (unsigned long long)pfn_to_pa(pfn));
	if (--z->nr[o] == 0)
		__atomic_store_n(&z->orders, z->orders & ~(1u << o), __ATOMIC_RELAXED);
	__atomic_store_n(&z->free_pages, z->free_pages - (1ULL << o), __ATOMIC_RELAXED);
	f->state = FRAME_TAIL;
}

/* The lowest free block of exactly 2^order in zone z, its section in *sp, or PMM_NO_FRAME. */
static pfn_t zone_first(enum zone_id z, unsigned order, struct section **sp)
{
	const struct zone *zn = &pmm.zones[z];

	if (!(zn->orders & (1u << order)))
		return PMM_NO_FRAME;
	for (size_t i = zn->sec_lo; i < zn->sec_hi; i++) {
		struct section *s = &pmm.sec[i];
		if (!s->map[order].nr)
			continue;
		pfn_t pfn = freemap_first(s, order);
		MM_ASSERT("pmm", pfn != PMM_NO_FRAME,
			  "free map of order %u of section 0x%llx counts %llu blocks and shows none",
			  order, (unsigned long long)pfn_to_pa(s->base_pfn), (unsigned long long)s->map[order].nr);
		*sp = s;
		return pfn;
	}
	MM_ASSERT("pmm", false, "zone %u counts %llu free blocks of order %u that no section has",
		  (unsigned)z, (unsigned long long)zn->nr[order], order);
	return PMM_NO_FRAME;
}

pfn_t zone_first_free(enum zone_id z, unsigned order)
{
	struct section *s;
	return zone_first(z, order, &s);
}

/*
 * Smallest free block of at least 2^order in zone z, the lowest of its
 * order, split down to 2^order. Which orders have blocks is one word: a
 * zone that cannot meet the request says so without looking further.
 */
static pfn_t zone_take(enum zone_id z, unsigned order)
{
	uint32_t fit = pmm.zones[z].orders >> order;
	struct section *s;
	struct frame *f;
	unsigned o;
	pfn_t pfn;

	if (!fit)
		return PMM_NO_FRAME;
	o = order + (unsigned)__builtin_ctz(fit);
	pfn = zone_first(z, o, &s);
	f = section_frame(s, pfn);
	MM_ASSERT("pmm", f && f->state == FRAME_FREE && f->order == o,
		  "free map of order %u holds 0x%llx, whose record is not a free block of that order",
		  o, (unsigned long long)pfn_to_pa(pfn));
	area_unlink(s, pfn, f);
	while (o > order) {
		o--;
		area_push(s, pfn + (1ULL << o), o);
	}
	mark_allocated(f, order);
	return pfn;
}

/* The zones a request may take from, in the order it tries them (buddy.h): pref[zone_first_pref(flags)...]. */
static const enum zone_id pref[] = { ZONE_NORMAL, ZONE_DMA32, ZONE_DMA };

static unsigned zone_first_pref(unsigned flags)
{
	return (flags & PMM_DMA) ? 2 : (flags & PMM_DMA32) ? 1 : 0;
}

/*
 * True if some zone the request may use had a block of at least 2^order
 * when looked at: read without the lock (orders is stored atomically), so
 * that a request that cannot be met fails without taking it. A block freed
 * at the same moment may be missed, as it would be by a request a moment
 * earlier.
 */
bool core_may_fit(unsigned order, unsigned flags)
{
	uint32_t m = __atomic_load_n(&pmm.zones[ZONE_DMA].orders, __ATOMIC_RELAXED);

	if (!(flags & PMM_DMA)) {
		m |= __atomic_load_n(&pmm.zones[ZONE_DMA32].orders, __ATOMIC_RELAXED);
		if (!(flags & PMM_DMA32))
			m |= __atomic_load_n(&pmm.zones[ZONE_NORMAL].orders, __ATOMIC_RELAXED);
	}
	return m >> order;
}

/* A frame number of an allocated block of 2^order, or PMM_NO_FRAME. The zone preference is in buddy.h. */
pfn_t core_alloc(unsigned order, unsigned flags)
{
	for (unsigned i = zone_first_pref(flags); i < NR_ZONES; i++) {
		pfn_t pfn = zone_take(pref[i], order);
		if (pfn != PMM_NO_FRAME)
			return pfn;
	}
	return PMM_NO_FRAME;
}

/*
 * Free the block at pfn, in section s, merging with free buddies of its
 * section (one zone: sections never cross one). A buddy that is a free
 * block of a higher order would either contain this block (which its
 * record calls allocated) or be misaligned: both are records that lie, so
 * they stop the kernel. Only records and map words are touched, never the
 * pages.
 */
static inline __attribute__((always_inline))
void merge_free(struct section *s, pfn_t pfn, unsigned order)
{
	section_frame(s, pfn)->state = FRAME_TAIL;
	while (order < PMM_MAX_ORDER) {
		pfn_t b = pfn ^ (1ULL << order);
		struct frame *bf = section_frame(s, b);
		if (!bf || bf->state != FRAME_FREE)
			break;
		if (bf->order != order) {
			MM_ASSERT("pmm", bf->order < order,
				  "free 0x%llx order %u: its buddy 0x%llx is a free block of order %u",
				  (unsigned long long)pfn_to_pa(pfn), order,
				  (unsigned long long)pfn_to_pa(b), (unsigned)bf->order);
			break;
		}
		area_unlink(s, b, bf);
		pfn &= ~(1ULL << order);
		order++;
	}
	area_push(s, pfn, order);
}

/* Free the block at pfn; the caller has checked it. */
void core_free(pfn_t pfn, unsigned order)
{
	merge_free(pfn_section(pfn), pfn, order);
}

/*
 * Free a page leaving a per-CPU cache: its record must say CACHED, or the
 * page is in two places at once (checked from the same lookup the merge
 * uses, so the check costs one compare).
 */
void core_free_cached(pfn_t pfn)
{
	struct section *s = pfn_section(pfn);
	struct frame *f = s ? section_frame(s, pfn) : NULL;

	MM_ASSERT("pmm", f && f->state == FRAME_CACHED,
		  "cache drain 0x%llx: page in a per-CPU cache is %s",
		  (unsigned long long)pfn_to_pa(pfn), f ? "not marked cached" : "not RAM");
	merge_free(s, pfn, 0);
}

/* The largest block that starts at pfn, ends by end and stays in one zone. */
static unsigned block_order_at(pfn_t pfn, pfn_t end)
{
	pfn_t lim = pfn < DMA_END_PFN ? DMA_END_PFN : pfn < DMA32_END_PFN ? DMA32_END_PFN : end;
	unsigned o = pfn ? (unsigned)__builtin_ctzll(pfn) : PMM_MAX_ORDER;

	lim = lim < end ? lim : end;
	o = o < PMM_MAX_ORDER ? o : PMM_MAX_ORDER;
	while (pfn + (1ULL << o) > lim)
		o--;
	return o;
}

/*
 * Free every frame of [start, end) (reserved frames, or the unused end of
 * an allocated block) as the largest aligned blocks that fit. merge is
 * false at init, where the blocks of one span are already as merged as
 * they can be and nothing around them is free yet.
 */
void core_free_range(pfn_t start, pfn_t end, bool merge)
{
	struct section *s = pfn_section(start);

	for (pfn_t p = start; p < end; p++)
		section_frame(s, p)->state = FRAME_TAIL;
	while (start < end) {
		unsigned o = block_order_at(start, end);
		if (merge)
			merge_free(s, start, o);
		else
			area_push(s, start, o);
		start += 1ULL << o;
	}
}
