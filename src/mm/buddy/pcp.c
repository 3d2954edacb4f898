/*
 * pcp.c - the per-CPU page cache in front of the buddy lists.
 *
 * Most allocations are single pages. Each CPU keeps a small stack of them,
 * used with only its interrupts off: no lock, no split, no merge. An empty
 * stack takes PCP_BATCH pages from the buddy core under the lock; a full
 * one gives its PCP_BATCH coldest back. Cached pages count as free.
 * Requests that need a zone (PMM_DMA, PMM_DMA32) go straight to the core,
 * since a cached page may come from any zone. Since cached pages also keep
 * their buddies from merging, a request the lists cannot meet empties this
 * CPU's cache into them and tries again (take_block, pcp_drain_locked).
 */
#include "mm/buddy/internal.h"
#include "lib/kstring.h"

struct pcp pcps[ARCH_MAX_CPUS];

/*
 * Take PCP_BATCH pages from the core. One block of PCP_BATCH pages, cut
 * here, touches no list links; when none is left, single pages. Interrupts
 * are off.
 */
static void pcp_refill(struct pcp *p)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	uint64_t pfn = core_alloc(PCP_BATCH_ORDER, 0);

	if (pfn != PMM_NO_FRAME) {
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
}

/* Give the n coldest pages (the bottom of the stack) back to the core, under the lock. */
static void pcp_drain_core(struct pcp *p, unsigned n)
{
	n = n < p->count ? n : p->count;
	for (unsigned i = 0; i < n; i++)
		core_free_cached(p->pfn[i]);
	p->count -= n;
	memmove(p->pfn, p->pfn + n, p->count * sizeof(p->pfn[0]));
}

/* The same, taking the lock. Interrupts are off. */
static void pcp_drain(struct pcp *p, unsigned n)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	pcp_drain_core(p, n);
	spin_unlock_irqrestore(&pmm.lock, irq);
}

/*
 * With pmm.lock held (so interrupts are off): empty this CPU's cache into
 * the lists. False if it was empty, so that a failed allocation retries
 * only when something came back. Other CPUs' caches are theirs alone (they
 * use them without the lock); only pmm_drain_all_caches empties them.
 */
bool pcp_drain_locked(void)
{
	struct pcp *p = &pcps[arch_cpu_index()];

	if (!p->count)
		return false;
	pcp_drain_core(p, p->count);
	return true;
}

/* pmm_alloc_page: see buddy.h. */
uint64_t pmm_alloc_page(unsigned flags)
{
	uint64_t irq, pfn = PMM_NO_FRAME;
	struct pcp *p;

	if (flags & (PMM_DMA | PMM_DMA32))
		return pmm_alloc(0, flags);
	if (!pmm.ready || fail_injected())
		return PMM_NO_FRAME;
	irq = arch_irq_save();
	p = &pcps[arch_cpu_index()];
	if (!p->count)
		pcp_refill(p);
	if (p->count) {
		pfn = p->pfn[--p->count];
		mark_allocated(pfn_frame(pfn), 0);
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
 * changed without the lock;
 * anything else takes the lock to be diagnosed (or, if another CPU changed
 * it meanwhile, freed) by the core.
 */
int pmm_free_page(uint64_t pa)
{
	struct frame *f = (pa & (PAGE_SIZE - 1)) ? NULL : pfn_frame(pa_to_pfn(pa));
	uint64_t irq;
	struct pcp *p;

	if (!f || f->state != FRAME_ALLOCATED || f->order != 0 || f->refs != 1)
		return pmm_free(pa, 0);
	f->refs = 0, f->order = 0, f->state = FRAME_CACHED;    /* one store: the whole word is known */
	irq = arch_irq_save();
	p = &pcps[arch_cpu_index()];
	if (p->count == PCP_HIGH)
		pcp_drain(p, PCP_BATCH);
	p->pfn[p->count++] = pa_to_pfn(pa);
	arch_irq_restore(irq);
	return 0;
}

/* Empty this CPU's cache into the buddy lists. */
void pmm_drain_cache(void)
{
	uint64_t irq = arch_irq_save();
	struct pcp *p = &pcps[arch_cpu_index()];
	pcp_drain(p, p->count);
	arch_irq_restore(irq);
}

/* Empty every CPU's cache; only when no other CPU is allocating (tests, shutdown). */
void pmm_drain_all_caches(void)
{
	uint64_t irq = arch_irq_save();
	for (int c = 0; c < ARCH_MAX_CPUS; c++)
		pcp_drain(&pcps[c], pcps[c].count);
	arch_irq_restore(irq);
}
