/*
 * pcp.c - the allocation entry points, and the per-CPU page cache in front
 * of the buddy lists (buddy.c).
 *
 * Most allocations are single pages. Each CPU keeps a small stack of them,
 * used with only its interrupts off: no lock, no split, no merge. An empty
 * stack takes PCP_BATCH pages from the lists under the lock; a full one
 * gives its PCP_BATCH coldest back. Cached pages count as free. Requests
 * that need a zone (PMM_DMA, PMM_DMA32) go straight to the lists, since a
 * cached page may come from any zone. Since cached pages also keep their
 * buddies from merging, a request the lists cannot meet empties this CPU's
 * cache into them and tries again (take_block).
 *
 * Blocks and aligned runs (pmm_alloc, pmm_alloc_aligned) take the lock and
 * go to the lists: take the smallest block at least max(N, A) pages long;
 * being naturally aligned, it is aligned to A. Keep its first N pages as
 * the blocks of N's binary digits, largest first (N = 5: an order-2 block,
 * then an order-0 one), and free the rest. Each kept block is an ordinary
 * allocated block, so pmm_free_aligned cuts N the same way and frees each;
 * pmm_alloc(k) and pmm_alloc_aligned(2^k, 0) are interchangeable.
 */
#include "mm/buddy/pmm_state.h"
#include "mm/failure.h"
#include "mm/trace.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

/* fail_injected's slow path, taken only while a failure is armed. */
static bool fail_tick(void)
{
	unsigned n = __atomic_load_n(&pmm.fail_countdown, __ATOMIC_RELAXED);
	while (n)
		if (__atomic_compare_exchange_n(&pmm.fail_countdown, &n, n - 1, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return n == 1;
	return false;
}

/* Consume one tick of pmm_fail_nth; true for the allocation that must fail. */
static inline bool fail_injected(void)
{
	return __atomic_load_n(&pmm.fail_countdown, __ATOMIC_RELAXED) && fail_tick();
}

void pmm_fail_nth(unsigned n)
{
	__atomic_store_n(&pmm.fail_countdown, n, __ATOMIC_RELAXED);
}

/* Give the n coldest pages (the bottom of the stack) back to the lists, under the lock. */
static void pcp_drain_locked(struct pcp *p, unsigned n)
{
	n = n < p->count ? n : p->count;
	for (unsigned i = 0; i < n; i++)
		core_free_cached(p->pfn[i]);
	p->count -= n;
	memmove(p->pfn, p->pfn + n, p->count * sizeof(p->pfn[0]));
}

/*
 * The same, taking the lock. Interrupts are off. Out of line, like
 * pcp_refill, so that the fast paths around it need few registers.
 */
static __attribute__((noinline)) void pcp_drain(struct pcp *p, unsigned n)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	pcp_drain_locked(p, n);
	spin_unlock_irqrestore(&pmm.lock, irq);
}

/*
 * Take PCP_BATCH pages from the lists. One block of PCP_BATCH pages, cut
 * here, touches no list links; when none is left, single pages. Interrupts
 * are off. Returns the order of the pages it took (for the narration).
 */
static __attribute__((noinline)) int pcp_refill(struct pcp *p)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	pfn_t pfn = core_alloc(PCP_BATCH_ORDER, 0);
	int order = 0;

	if (pfn != PMM_NO_FRAME) {
		order = PCP_BATCH_ORDER;
		for (unsigned i = 0; i < PCP_BATCH; i++) {
			pfn_frame(pfn + i)->state = FRAME_CACHED;
			p->pfn[p->count++] = pfn + PCP_BATCH - 1 - i;   /* lowest address on top */
		}
	}
	while (p->count < PCP_BATCH && (pfn = core_alloc(0, 0)) != PMM_NO_FRAME) {
		pfn_frame(pfn)->state = FRAME_CACHED;
		p->pfn[p->count++] = pfn;
	}
	spin_unlock_irqrestore(&pmm.lock, irq);
	return order;
}

#define NO_REFILL (-1)

/*
 * Where pmm_alloc_page's frame came from, while mm_trace is on. left is
 * what the cache holds now; refill is the order of the pages the empty
 * cache took first, or NO_REFILL.
 */
static __attribute__((noinline)) void trace_page(pa_t pa, unsigned cpu, unsigned left, int refill)
{
	if (refill == NO_REFILL)
		MM_TRACE("buddy", "frame pa 0x%llx from CPU %u's page cache (%u left)",
			 (unsigned long long)pa, cpu, left);
	else if (refill)
		MM_TRACE("buddy", "frame pa 0x%llx from CPU %u's page cache (%u left), refilled from the free lists: one order-%d block",
			 (unsigned long long)pa, cpu, left, refill);
	else
		MM_TRACE("buddy", "frame pa 0x%llx from CPU %u's page cache (%u left), refilled from the free lists: %u order-0 pages",
			 (unsigned long long)pa, cpu, left, left + 1);
}

/* pmm_alloc_page: see buddy.h. */
pa_t pmm_alloc_page(unsigned flags)
{
	pfn_t pfn = PMM_NO_FRAME;
	uint64_t irq;
	unsigned cpu;
	struct pcp *p;
	int refill;

	if (flags & (PMM_DMA | PMM_DMA32))
		return pmm_alloc(0, flags);
	if (!pmm.ready || fail_injected())
		return PMM_NO_FRAME;
	irq = arch_irq_save();
	cpu = arch_cpu_index();
	p = &pmm.pcp[cpu];
	refill = p->count ? NO_REFILL : pcp_refill(p);
	if (p->count) {
		pfn = p->pfn[--p->count];
		*pfn_frame(pfn) = (struct frame){ .refs = 1, .order = 0, .state = FRAME_ALLOCATED };
		if (mm_trace)
			trace_page(pfn_to_pa(pfn), cpu, p->count, refill);
	}
	arch_irq_restore(irq);
	if (pfn == PMM_NO_FRAME)
		return PMM_NO_FRAME;
	if (flags & PMM_ZERO)
		memset(phys_to_virt(pfn_to_pa(pfn)), 0, PAGE_SIZE);
	return pfn_to_pa(pfn);
}

/*
 * pmm_free_page: see buddy.h. A page allocated with order 0 and holding
 * one reference is the caller's alone, so its record is checked and
 * changed without the lock; anything else takes the lock to be diagnosed
 * (or, if another CPU changed it meanwhile, freed) by pmm_free.
 */
int pmm_free_page(pa_t pa)
{
	struct frame *f = (pa & (PAGE_SIZE - 1)) ? NULL : pfn_frame(pa_to_pfn(pa));
	uint64_t irq;
	struct pcp *p;

	if (!f || f->state != FRAME_ALLOCATED || f->order != 0 || f->refs != 1)
		return pmm_free(pa, 0);
	*f = (struct frame){ .refs = 0, .order = 0, .state = FRAME_CACHED };    /* one store: the whole word is known */
	irq = arch_irq_save();
	p = &pmm.pcp[arch_cpu_index()];
	if (p->count == PCP_HIGH)
		pcp_drain(p, PCP_BATCH);
	p->pfn[p->count++] = pa_to_pfn(pa);
	arch_irq_restore(irq);
	return 0;
}

/* Mark [pfn, pfn+npages) allocated as N's binary blocks; free the rest of the 2^order block. */
static void cut_block(pfn_t pfn, unsigned order, uint64_t npages)
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
 * again before the answer is out of memory. Other CPUs' caches are theirs
 * alone (they use them without the lock); only pmm_drain_all_caches
 * empties them. Returns the physical address or PMM_NO_FRAME.
 */
static pa_t take_block(unsigned order, uint64_t npages, unsigned flags)
{
	struct pcp *p;
	uint64_t irq;
	pfn_t pfn;

	if (!pmm.ready || fail_injected())
		return PMM_NO_FRAME;
	irq = spin_lock_irqsave(&pmm.lock);
	pfn = core_alloc(order, flags);
	p = &pmm.pcp[arch_cpu_index()];
	if (pfn == PMM_NO_FRAME && p->count) {
		pcp_drain_locked(p, p->count);
		pfn = core_alloc(order, flags);
	}
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
pa_t pmm_alloc(unsigned order, unsigned flags)
{
	if (order > PMM_MAX_ORDER) {
		MM_MISUSE("pmm", "alloc: order %u is above the largest, %u", order, PMM_MAX_ORDER);
		return PMM_NO_FRAME;
	}
	return take_block(order, 1ULL << order, flags);
}

/* pmm_free: see buddy.h. */
int pmm_free(pa_t pa, unsigned order)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	int r = check_freeable(pa, order, "free");

	if (r == 0)
		core_free(pa_to_pfn(pa), order);
	spin_unlock_irqrestore(&pmm.lock, irq);
	return r;
}

static unsigned order_for(uint64_t pages)
{
	unsigned o = 0;
	while ((1ULL << o) < pages)
		o++;
	return o;
}

/* pmm_alloc_aligned: see buddy.h. */
pa_t pmm_alloc_aligned(size_t npages, size_t align_bytes, unsigned flags)
{
	uint64_t align = align_bytes > PAGE_SIZE ? align_bytes >> PAGE_SHIFT : 1;
	unsigned order;

	if (align_bytes & (align_bytes - 1)) {
		MM_MISUSE("pmm", "alloc_aligned: alignment 0x%zx is not a power of two", align_bytes);
		return PMM_NO_FRAME;
	}
	if (npages == 0 || npages > (1ULL << PMM_MAX_ORDER) || align > (1ULL << PMM_MAX_ORDER))
		return PMM_NO_FRAME;
	order = order_for(npages > align ? npages : align);
	return take_block(order, npages, flags);
}

/* pmm_free_aligned: see buddy.h. Every block is checked before any is freed. */
int pmm_free_aligned(pa_t pa, size_t npages)
{
	uint64_t irq, off;
	int r = 0;

	if (npages == 0 || npages > (1ULL << PMM_MAX_ORDER)) {
		MM_MISUSE("pmm", "free_aligned 0x%llx: %zu pages is not a size it hands out",
			(unsigned long long)pa, npages);
		return PMM_E_BAD_ORDER;
	}
	irq = spin_lock_irqsave(&pmm.lock);
	off = 0;
	for (int o = PMM_MAX_ORDER; o >= 0 && !r; o--)
		if (npages & (1ULL << o)) {
			r = check_freeable(pa + (off << PAGE_SHIFT), (unsigned)o, "free_aligned");
			off += 1ULL << o;
		}
	off = 0;
	for (int o = PMM_MAX_ORDER; o >= 0 && !r; o--)
		if (npages & (1ULL << o)) {
			core_free(pa_to_pfn(pa) + off, (unsigned)o);
			off += 1ULL << o;
		}
	spin_unlock_irqrestore(&pmm.lock, irq);
	return r;
}

/* Empty this CPU's cache into the buddy lists. */
void pmm_drain_cache(void)
{
	uint64_t irq = arch_irq_save();
	struct pcp *p = &pmm.pcp[arch_cpu_index()];
	pcp_drain(p, p->count);
	arch_irq_restore(irq);
}

/* Empty every CPU's cache; only when no other CPU is allocating (tests, shutdown). */
void pmm_drain_all_caches(void)
{
	uint64_t irq = arch_irq_save();
	for (int c = 0; c < ARCH_MAX_CPUS; c++)
		pcp_drain(&pmm.pcp[c], pmm.pcp[c].count);
	arch_irq_restore(irq);
}

/* Free pages: on the lists and in every CPU's cache. A snapshot, not under the lock. */
uint64_t pmm_free_count(void)
{
	uint64_t n = 0;
	for (int z = 0; z < NR_ZONES; z++)
		n += __atomic_load_n(&pmm.zones[z].free_pages, __ATOMIC_RELAXED);
	for (int c = 0; c < ARCH_MAX_CPUS; c++)
		n += __atomic_load_n(&pmm.pcp[c].count, __ATOMIC_RELAXED);
	return n;
}
