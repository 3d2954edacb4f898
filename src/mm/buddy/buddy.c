/*
 * buddy.c - the buddy allocator's core: free lists per zone and order.
 *
 * A free block of 2^order pages sits on its zone's list for that order; its
 * first frame's record says FREE and the order, and the list links are
 * written into the block itself. To allocate, take the smallest free block
 * big enough and split it, putting the upper halves back one order lower.
 * To free, look at the buddy (the block's address with bit `order`
 * flipped): while it is a free block of the same order in the same zone
 * and section, take it off its list and merge; then put the result on its list. The
 * functions ending in the core run with pmm.lock held.
 */
#include "mm/buddy/internal.h"
#include "mm/failure.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

struct pmm pmm = { .lock = SPINLOCK_INIT("pmm") };

static struct free_link *pfn_link(uint64_t pfn)
{
	return phys_to_virt(pfn_to_pa(pfn));
}

/* Put the block at pfn on its free list, marking its head FREE. */
void area_push(uint64_t pfn, unsigned order)
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
	z->free_pages += 1ULL << order;
}

/*
 * Take the free block at pfn, whose record the caller found FREE, off its
 * list; its head becomes a TAIL until someone says otherwise. Its links
 * must be those of a list member: anything else is a corrupted list (or a
 * block written to after it was freed), and unlinking through it would
 * write wherever the links point.
 */
static void area_unlink(uint64_t pfn, struct frame *f)
{
	struct zone *z = &pmm.zones[pfn_zone(pfn)];
	struct free_link *l = pfn_link(pfn);

	MM_ASSERT("pmm", l->prev->next == l && l->next->prev == l,
		  "free list of order %u corrupted at 0x%llx (links %p %p): written after free?",
		  (unsigned)f->order, (unsigned long long)pfn_to_pa(pfn), (void *)l->prev, (void *)l->next);
	l->prev->next = l->next;
	l->next->prev = l->prev;
	z->area[f->order].nr--;
	z->free_pages -= 1ULL << f->order;
	f->state = FRAME_TAIL;
}

/* Smallest free block of at least 2^order in zone z, split down to 2^order. */
static uint64_t zone_take(struct zone *z, unsigned order)
{
	for (unsigned o = order; o <= PMM_MAX_ORDER; o++) {
		struct free_area *a = &z->area[o];
		if (!a->nr)
			continue;
		uint64_t pfn = pa_to_pfn(virt_to_phys(a->head.next));
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
uint64_t core_alloc(unsigned order, unsigned flags)
{
	static const enum zone_id pref[] = { ZONE_NORMAL, ZONE_DMA32, ZONE_DMA };
	unsigned first = (flags & PMM_DMA) ? 2 : (flags & PMM_DMA32) ? 1 : 0;

	for (unsigned i = first; i < NR_ZONES; i++) {
		uint64_t pfn = zone_take(&pmm.zones[pref[i]], order);
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
void merge_free(const struct section *s, uint64_t pfn, unsigned order)
{
	enum zone_id z = pfn_zone(pfn);

	section_frame(s, pfn)->state = FRAME_TAIL;
	while (order < PMM_MAX_ORDER) {
		uint64_t b = pfn ^ (1ULL << order);
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
void core_free(uint64_t pfn, unsigned order)
{
	merge_free(pfn_section(pfn), pfn, order);
}

/*
 * Free a page leaving a per-CPU cache: its record must say CACHED, or the
 * page is in two places at once (checked from the same lookup the merge
 * uses, so the check costs one compare).
 */
void core_free_cached(uint64_t pfn)
{
	const struct section *s = pfn_section(pfn);
	struct frame *f = s ? section_frame(s, pfn) : NULL;

	MM_ASSERT("pmm", f && f->state == FRAME_CACHED,
		  "cache drain 0x%llx: page in a per-CPU cache is %s",
		  (unsigned long long)pfn_to_pa(pfn), f ? "not marked cached" : "not RAM");
	merge_free(s, pfn, 0);
}

/* The largest block that starts at pfn, ends by end and stays in one zone. */
static unsigned block_order_at(uint64_t pfn, uint64_t end)
{
	uint64_t lim = pfn < DMA_END_PFN ? DMA_END_PFN : pfn < DMA32_END_PFN ? DMA32_END_PFN : end;
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
void core_free_range(uint64_t start, uint64_t end, bool merge)
{
	for (uint64_t p = start; p < end; p++)
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

/* fail_injected's slow path, taken only while a failure is armed. */
bool fail_tick(void)
{
	unsigned n = __atomic_load_n(&pmm.fail_countdown, __ATOMIC_RELAXED);
	while (n)
		if (__atomic_compare_exchange_n(&pmm.fail_countdown, &n, n - 1, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return n == 1;
	return false;
}

void pmm_fail_nth(unsigned n)
{
	__atomic_store_n(&pmm.fail_countdown, n, __ATOMIC_RELAXED);
}

/* Mark [pfn, pfn+npages) allocated as N's binary blocks; free the rest of the 2^order block. */
static void cut_block(uint64_t pfn, unsigned order, uint64_t npages)
{
	uint64_t off = 0;

	for (int o = (int)order; o >= 0; o--) {
		if (!(npages & (1ULL << o)))
			continue;
		mark_allocated(pfn_frame(pfn + off), (unsigned)o);
		off += 1ULL << o;
	}
	if (off < (1ULL << order))
		core_free_range(pfn + off, pfn + (1ULL << order), true);
}

/*
 * What pmm_alloc and pmm_alloc_aligned share: take a 2^order block, keep
 * its first npages (all of it for pmm_alloc), zero them if asked. Pages in
 * this CPU's cache are free pages too: when the lists have no block, the
 * cache goes back to them (where its pages merge) and the lists are tried
 * again before the answer is out of memory. Returns the physical address
 * or PMM_NO_FRAME.
 */
uint64_t take_block(unsigned order, uint64_t npages, unsigned flags)
{
	uint64_t pfn, irq;

	if (!pmm.ready || fail_injected())
		return PMM_NO_FRAME;
	irq = spin_lock_irqsave(&pmm.lock);
	pfn = core_alloc(order, flags);
	if (pfn == PMM_NO_FRAME && pcp_drain_locked())
		pfn = core_alloc(order, flags);
	if (pfn != PMM_NO_FRAME && npages < (1ULL << order))
		cut_block(pfn, order, npages);
	spin_unlock_irqrestore(&pmm.lock, irq);
	if (pfn == PMM_NO_FRAME)
		return PMM_NO_FRAME;
	if (flags & PMM_ZERO)
		memset(phys_to_virt(pfn_to_pa(pfn)), 0, npages << PAGE_SHIFT);
	return pfn_to_pa(pfn);
}

/* pmm_alloc: see buddy.h. */
uint64_t pmm_alloc(unsigned order, unsigned flags)
{
	if (order > PMM_MAX_ORDER) {
		MM_MISUSE("pmm", "alloc: order %u is above the largest, %u", order, PMM_MAX_ORDER);
		return PMM_NO_FRAME;
	}
	return take_block(order, 1ULL << order, flags);
}

/* pmm_free: see buddy.h. */
int pmm_free(uint64_t pa, unsigned order)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	int r = check_freeable(pa, order, "free");

	if (r == 0)
		core_free(pa_to_pfn(pa), order);
	spin_unlock_irqrestore(&pmm.lock, irq);
	return r;
}

/* Free pages: on the lists and in every CPU's cache. A snapshot, not under the lock. */
uint64_t pmm_free_count(void)
{
	uint64_t n = 0;
	for (int z = 0; z < NR_ZONES; z++)
		n += __atomic_load_n(&pmm.zones[z].free_pages, __ATOMIC_RELAXED);
	for (int c = 0; c < ARCH_MAX_CPUS; c++)
		n += __atomic_load_n(&pcps[c].count, __ATOMIC_RELAXED);
	return n;
}

const char *pmm_error_str(int e)
{
	static const char *const s[] = {
		"ok", "no usable RAM", "too little RAM", "no room for the frame records",
		"too many protected ranges", "not RAM the PMM manages", "misaligned",
		"order too large", "reserved frame", "double free", "not an allocated block",
		"wrong order", "still shared", "too many ranges of RAM",
	};
	_Static_assert(sizeof(s) / sizeof(s[0]) == 1 - PMM_E_MIN, "one text per enum pmm_error");
	return e <= 0 && e >= PMM_E_MIN ? s[-e] : "?";
}
