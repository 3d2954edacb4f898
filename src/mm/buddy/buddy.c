/*
 * buddy.c - the buddy allocator's core: free lists per zone and order.
 *
 * A free block of 2^order pages sits on its zone's list for that order; its
 * first frame's record says FREE and the order, and the list links are
 * written into the block itself. To allocate, take the smallest free block
 * big enough and split it, putting the upper halves back one order lower.
 * To free, look at the buddy (the block's address with bit `order`
 * flipped): while it is a free block of the same order in the same zone
 * and section, take it off its list and merge; then put the result on its list.
 * Everything here runs with pmm.lock held (or at boot, alone); free_pages
 * is stored atomically because pmm_free_count reads it without the lock.
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
const struct section *pfn_section_search(pfn_t pfn)
{
	size_t lo = 0, hi = pmm.nsec;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct section *s = &pmm.sec[mid];
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

static struct free_link *pfn_link(pfn_t pfn)
{
	return phys_to_virt(pfn_to_pa(pfn));
}

/* Put the block at pfn on its free list, marking its head FREE. */
static void area_push(pfn_t pfn, unsigned order)
{
	struct zone *z = &pmm.zones[pfn_zone(pfn)];
	struct free_area *a = &z->area[order];
	struct free_link *l = pfn_link(pfn);
	struct frame *f = pfn_frame(pfn);

	f->state = FRAME_FREE, f->order = order, f->refs = 0;
	l->next = a->head.next, l->prev = &a->head;
	a->head.next->prev = l;
	a->head.next = l;
	a->nr++;
	__atomic_store_n(&z->free_pages, z->free_pages + (1ULL << order), __ATOMIC_RELAXED);
}

/*
 * Take the free block at pfn, whose record the caller found FREE, off its
 * list; its head becomes a TAIL until someone says otherwise. Its links
 * must be those of a list member: anything else is a corrupted list (or a
 * block written to after it was freed), and unlinking through it would
 * write wherever the links point.
 */
static void area_unlink(pfn_t pfn, struct frame *f)
{
	struct zone *z = &pmm.zones[pfn_zone(pfn)];
	struct free_link *l = pfn_link(pfn);

	MM_ASSERT("pmm", l->prev->next == l && l->next->prev == l,
		  "free list of order %u corrupted at 0x%llx (links %p %p): written after free?",
		  (unsigned)f->order, (unsigned long long)pfn_to_pa(pfn), (void *)l->prev, (void *)l->next);
	l->prev->next = l->next;
	l->next->prev = l->prev;
	z->area[f->order].nr--;
	__atomic_store_n(&z->free_pages, z->free_pages - (1ULL << f->order), __ATOMIC_RELAXED);
	f->state = FRAME_TAIL;
}

/* Smallest free block of at least 2^order in zone z, split down to 2^order. */
static pfn_t zone_take(struct zone *z, unsigned order)
{
	for (unsigned o = order; o <= PMM_MAX_ORDER; o++) {
		struct free_area *a = &z->area[o];
		if (!a->nr)
			continue;
		pfn_t pfn = pa_to_pfn(virt_to_phys(a->head.next));
		struct frame *f = pfn_frame(pfn);
		MM_ASSERT("pmm", f && f->state == FRAME_FREE && f->order == o,
			  "free list of order %u holds 0x%llx, %s", o, (unsigned long long)pfn_to_pa(pfn),
			  f ? "whose record is not a free block of that order" : "not RAM");
		area_unlink(pfn, f);
		while (o > order) {
			o--;
			area_push(pfn + (1ULL << o), o);
		}
		mark_allocated(pfn_frame(pfn), order);
		return pfn;
	}
	return PMM_NO_FRAME;
}

/* A frame number of an allocated block of 2^order, or PMM_NO_FRAME. The zone preference is in buddy.h. */
pfn_t core_alloc(unsigned order, unsigned flags)
{
	static const enum zone_id pref[] = { ZONE_NORMAL, ZONE_DMA32, ZONE_DMA };
	unsigned first = (flags & PMM_DMA) ? 2 : (flags & PMM_DMA32) ? 1 : 0;

	for (unsigned i = first; i < NR_ZONES; i++) {
		pfn_t pfn = zone_take(&pmm.zones[pref[i]], order);
		if (pfn != PMM_NO_FRAME)
			return pfn;
	}
	return PMM_NO_FRAME;
}

/*
 * Free the block at pfn, in section s, merging with free buddies of its
 * zone and section. A buddy that is a free block of a higher order would
 * either contain this block (which its record calls allocated) or be
 * misaligned: both are records that lie, so they stop the kernel.
 */
static inline __attribute__((always_inline))
void merge_free(const struct section *s, pfn_t pfn, unsigned order)
{
	enum zone_id z = pfn_zone(pfn);

	section_frame(s, pfn)->state = FRAME_TAIL;
	while (order < PMM_MAX_ORDER) {
		pfn_t b = pfn ^ (1ULL << order);
		struct frame *bf = section_frame(s, b);
		if (!bf || bf->state != FRAME_FREE || pfn_zone(b) != z)
			break;
		if (bf->order != order) {
			MM_ASSERT("pmm", bf->order < order,
				  "free 0x%llx order %u: its buddy 0x%llx is a free block of order %u",
				  (unsigned long long)pfn_to_pa(pfn), order,
				  (unsigned long long)pfn_to_pa(b), (unsigned)bf->order);
			break;
		}
		area_unlink(b, bf);
		pfn &= ~(1ULL << order);
		order++;
	}
	area_push(pfn, order);
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
	const struct section *s = pfn_section(pfn);
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
	for (pfn_t p = start; p < end; p++)
		pfn_frame(p)->state = FRAME_TAIL;
	while (start < end) {
		unsigned o = block_order_at(start, end);
		if (merge)
			core_free(start, o);
		else
			area_push(start, o);
		start += 1ULL << o;
	}
}
