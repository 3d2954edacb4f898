/*
 * pcp.c - the allocation entry points, and the per-CPU page cache in front
 * of the free maps (buddy.c).
 *
 * Most allocations are single pages. Each CPU keeps a small stack of them
 * behind a lock of its own: no split, no merge, and the lock is the CPU's
 * but for the moment another CPU drains the stack, so taking it costs one
 * uncontended atomic exchange. An empty stack takes PCP_BATCH pages from
 * the free maps under pmm.lock (the stack's lock, then pmm.lock: that order,
 * always); a full one gives its PCP_BATCH coldest back. Cached pages count
 * as free. Requests that need a zone (PMM_DMA, PMM_DMA32) go straight to
 * the free maps, since a cached page may come from any zone. Since cached
 * pages also keep their buddies from merging, a request the maps cannot
 * meet empties every CPU's cache into them and tries again (take_block).
 * Any CPU may drain any cache while its owner runs: the owner finds its
 * stack shorter the next time it takes the lock.
 *
 * Blocks and aligned runs (pmm_alloc, pmm_alloc_aligned) take the lock and
 * go to the free maps: take the smallest block at least max(N, A) pages long;
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

/*
 * count is read without the lock (pmm_free_count): its stores are atomic.
 * A macro, not a function, so that it adds no call to the traced path
 * (tests/path).
 */
#define PCP_SET_COUNT(p, n) __atomic_store_n(&(p)->count, (n), __ATOMIC_RELAXED)

/* Give the n coldest pages (the bottom of the stack) back to the free maps: p->lock and pmm.lock held. */
static void pcp_drain_locked(struct pcp *p, unsigned n)
{
	n = n < p->count ? n : p->count;
	for (unsigned i = 0; i < n; i++)
		core_free_cached(p->pfn[i]);
	PCP_SET_COUNT(p, p->count - n);
	memmove(p->pfn, p->pfn + n, p->count * sizeof(p->pfn[0]));
}

/*
 * The same, taking pmm.lock; p->lock is held. Out of line, like
 * pcp_refill, so that the fast paths around it need few registers.
 */
static __attribute__((noinline)) void pcp_drain(struct pcp *p, unsigned n)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	pcp_drain_locked(p, n);
	spin_unlock_irqrestore(&pmm.lock, irq);
}

/*
 * pmm.maybe_cached says whether a request the free maps cannot meet
 * should drain the caches: set after every refill and after every push
 * onto an empty stack (the fast free path pushes only onto a stack that
 * holds pages already), cleared by pmm_drain_all_caches before it reads
 * the first stack. So it is true whenever some stack holds a page, and a
 * request that cannot be met and finds it false fails at once, without
 * looking at every CPU's stack.
 */
static inline void mark_maybe_cached(void)
{
	if (!__atomic_load_n(&pmm.maybe_cached, __ATOMIC_RELAXED))
		__atomic_store_n(&pmm.maybe_cached, true, __ATOMIC_RELEASE);
}

/*
 * Take PCP_BATCH pages from the free maps. One block of PCP_BATCH pages, cut
 * here, touches no list links; when none is left, single pages. p->lock
 * is held. Returns the order of the pages it took (for the narration).
 */
static __attribute__((noinline)) int pcp_refill(struct pcp *p)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	pfn_t pfn = core_alloc(PCP_BATCH_ORDER, 0);
	unsigned n = p->count;
	int order = 0;

	if (pfn != PMM_NO_FRAME) {
		order = PCP_BATCH_ORDER;
		for (unsigned i = 0; i < PCP_BATCH; i++) {
			pfn_frame(pfn + i)->state = FRAME_CACHED;
			p->pfn[n++] = pfn + PCP_BATCH - 1 - i;   /* lowest address on top */
		}
	}
	while (n < PCP_BATCH && (pfn = core_alloc(0, 0)) != PMM_NO_FRAME) {
		pfn_frame(pfn)->state = FRAME_CACHED;
		p->pfn[n++] = pfn;
	}
	PCP_SET_COUNT(p, n);
	spin_unlock_irqrestore(&pmm.lock, irq);
	if (n)
		mark_maybe_cached();
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
		MM_TRACE("buddy", "frame pa 0x%llx from CPU %u's page cache (%u left), refilled from the free maps: one order-%d block",
			 (unsigned long long)pa, cpu, left, refill);
	else
		MM_TRACE("buddy", "frame pa 0x%llx from CPU %u's page cache (%u left), refilled from the free maps: %u order-0 pages",
			 (unsigned long long)pa, cpu, left, left + 1);
}

/*
 * The common single page: no flag, no failure armed, no narration, this
 * CPU's stack not empty and its lock free at once, the page's record in
 * the section last looked up. Small enough to need no stack frame; a
 * spinning lock, a refill, a trace or a zeroing is the full path's, which
 * does the same with every case handled. Both leave the record ALLOCATED
 * under the stack's lock.
 */
static inline __attribute__((always_inline)) bool alloc_page_fast(pa_t *pa)
{
	struct pcp *p;
	struct frame *f;
	uint64_t irq;
	unsigned n;

	if (!pmm.ready || __atomic_load_n(&pmm.fail_countdown, __ATOMIC_RELAXED) || mm_trace)
		return false;
	p = &pmm.pcp[arch_cpu_index()];
	if (!spin_trylock_fast(&p->lock, &irq))
		return false;
	n = p->count;
	f = n ? pfn_frame_hinted(p->pfn[n - 1]) : NULL;
	if (f) {
		PCP_SET_COUNT(p, n - 1);
		*f = (struct frame){ .refs = 1, .order = 0, .state = FRAME_ALLOCATED };
		*pa = pfn_to_pa(p->pfn[n - 1]);
	}
	spin_unlock_fast(&p->lock, irq);
	return f != NULL;
}

static pa_t alloc_page_full(unsigned flags);

/* pmm_alloc_page: see buddy.h. */
pa_t pmm_alloc_page(unsigned flags)
{
	pa_t pa;

	if (!flags && alloc_page_fast(&pa))
		return pa;
	return alloc_page_full(flags);
}

static __attribute__((noinline)) pa_t alloc_page_full(unsigned flags)
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
	cpu = arch_cpu_index();         /* no preemption in the kernel: we stay on it */
	p = &pmm.pcp[cpu];
	irq = spin_lock_irqsave(&p->lock);
	refill = p->count ? NO_REFILL : pcp_refill(p);
	if (p->count) {
		PCP_SET_COUNT(p, p->count - 1);
		pfn = p->pfn[p->count];
		*pfn_frame(pfn) = (struct frame){ .refs = 1, .order = 0, .state = FRAME_ALLOCATED };
		if (mm_trace)
			trace_page(pfn_to_pa(pfn), cpu, p->count, refill);
	}
	spin_unlock_irqrestore(&p->lock, irq);
	if (pfn == PMM_NO_FRAME)
		return PMM_NO_FRAME;
	if (flags & PMM_ZERO)
		memset(phys_to_virt(pfn_to_pa(pfn)), 0, PAGE_SIZE);
	return pfn_to_pa(pfn);
}

/*
 * pmm_free_page: see buddy.h. A page allocated with order 0 and holding
 * one reference is the caller's alone, so its record is checked without
 * a lock, and changed to CACHED under this CPU's cache lock, with the push
 * (so that a check or drain holding the cache locks sees the two agree).
 * Anything else takes pmm.lock to be diagnosed by pmm_free. (Two CPUs
 * freeing one page at the same moment are the callers' race: both may
 * pass the check, as a double free within one CPU cannot.)
 */
/*
 * The common free: the caller's own order-0 page, in the section last
 * looked up, onto this CPU's stack when it has room and its lock is free
 * at once. Frameless, like alloc_page_fast; anything else is the full path's.
 */
static inline __attribute__((always_inline)) bool free_page_fast(pa_t pa)
{
	struct frame *f = (pa & (PAGE_SIZE - 1)) ? NULL : pfn_frame_hinted(pa_to_pfn(pa));
	struct pcp *p;
	uint64_t irq;
	bool room;

	if (!f || f->state != FRAME_ALLOCATED || f->order != 0 || f->refs != 1)
		return false;
	p = &pmm.pcp[arch_cpu_index()];
	if (!spin_trylock_fast(&p->lock, &irq))
		return false;
	room = p->count - 1 < PCP_HIGH - 1;     /* 0 < count < PCP_HIGH: a first page is the full path's */
	if (room) {
		*f = (struct frame){ .refs = 0, .order = 0, .state = FRAME_CACHED };
		p->pfn[p->count] = pa_to_pfn(pa);
		PCP_SET_COUNT(p, p->count + 1);
	}
	spin_unlock_fast(&p->lock, irq);
	return room;
}

static int free_page_full(pa_t pa);

int pmm_free_page(pa_t pa)
{
	return free_page_fast(pa) ? 0 : free_page_full(pa);
}

static __attribute__((noinline)) int free_page_full(pa_t pa)
{
	struct frame *f = (pa & (PAGE_SIZE - 1)) ? NULL : pfn_frame(pa_to_pfn(pa));
	uint64_t irq;
	struct pcp *p;

	if (!f || f->state != FRAME_ALLOCATED || f->order != 0 || f->refs != 1)
		return pmm_free(pa, 0);
	p = &pmm.pcp[arch_cpu_index()];
	irq = spin_lock_irqsave(&p->lock);
	*f = (struct frame){ .refs = 0, .order = 0, .state = FRAME_CACHED };    /* one store: the whole word is known */
	if (p->count == PCP_HIGH)
		pcp_drain(p, PCP_BATCH);
	p->pfn[p->count] = pa_to_pfn(pa);
	PCP_SET_COUNT(p, p->count + 1);
	mark_maybe_cached();
	spin_unlock_irqrestore(&p->lock, irq);
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

/* A 2^order block cut to npages, or PMM_NO_FRAME. */
static pfn_t take_from_maps(unsigned order, uint64_t npages, unsigned flags)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	pfn_t pfn = core_alloc(order, flags);

	if (pfn != PMM_NO_FRAME && npages < (1ULL << order))
		cut_block(pfn, order, npages);
	spin_unlock_irqrestore(&pmm.lock, irq);
	return pfn;
}

/* False only if no CPU's cache has held a page since pmm_drain_all_caches last began. */
static bool caches_hold_pages(void)
{
	return __atomic_load_n(&pmm.maybe_cached, __ATOMIC_ACQUIRE);
}

/*
 * What pmm_alloc and pmm_alloc_aligned share: take a 2^order block, keep
 * its first npages (all of it for pmm_alloc), zero them if asked. Pages in
 * the per-CPU caches are free pages too: when the maps have no block,
 * every cache goes back to them (where its pages merge) and the maps are
 * tried again before the answer is out of memory. pmm.lock is dropped for
 * the drain, which takes each cache's lock first. A request no zone can
 * meet and no cache can help fails without taking a lock. Returns the
 * physical address or PMM_NO_FRAME.
 */
static pa_t take_block(unsigned order, uint64_t npages, unsigned flags)
{
	pfn_t pfn;

	if (!pmm.ready || fail_injected())
		return PMM_NO_FRAME;
	pfn = core_may_fit(order, flags) ? take_from_maps(order, npages, flags) : PMM_NO_FRAME;
	if (pfn == PMM_NO_FRAME && caches_hold_pages()) {
		pmm_drain_all_caches();
		pfn = take_from_maps(order, npages, flags);
	}
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

/* Empty CPU c's cache into the free maps: its lock, then pmm.lock. */
static void drain_cpu(unsigned c)
{
	struct pcp *p = &pmm.pcp[c];
	uint64_t irq = spin_lock_irqsave(&p->lock);

	if (p->count)
		pcp_drain(p, p->count);
	spin_unlock_irqrestore(&p->lock, irq);
}

/* Empty this CPU's cache into the free maps. */
void pmm_drain_cache(void)
{
	drain_cpu(arch_cpu_index());
}

/*
 * Empty every CPU's cache, while they run: each cache under its own lock,
 * one at a time, so an owner waits at most for one drain of its stack.
 * A page freed into a cache already drained stays there: the result is
 * every page that was cached when the call began, not an empty cache.
 */
void pmm_drain_all_caches(void)
{
	__atomic_store_n(&pmm.maybe_cached, false, __ATOMIC_SEQ_CST);   /* before any stack is read */
	for (unsigned c = 0; c < ARCH_MAX_CPUS; c++)
		drain_cpu(c);
}

/*
 * Every cache's lock in CPU order, then pmm.lock: the whole PMM holds
 * still (pmm_check, pmm_get_stats). Returns the interrupt state to give
 * pmm_unlock_all.
 */
uint64_t pmm_lock_all(void)
{
	uint64_t irq = arch_irq_save();

	/* Interrupts are off already. CPU order; each CPU's lock its own subclass for the checker. */
	for (int c = 0; c < ARCH_MAX_CPUS; c++)
		(void)spin_lock_irqsave_nested(&pmm.pcp[c].lock, (unsigned)c);
	(void)spin_lock_irqsave(&pmm.lock);
	return irq;
}

void pmm_unlock_all(uint64_t irq)
{
	uint64_t off = arch_irq_save();

	spin_unlock_irqrestore(&pmm.lock, off);
	for (int c = ARCH_MAX_CPUS - 1; c >= 0; c--)
		spin_unlock_irqrestore(&pmm.pcp[c].lock, off);
	arch_irq_restore(irq);
}

/*
 * Free pages: on the free maps and in every CPU's cache. A snapshot: the
 * counters are read one by one without a lock, with atomic loads, while
 * other CPUs may be moving pages between them.
 */
uint64_t pmm_free_count(void)
{
	uint64_t n = 0;
	for (int z = 0; z < NR_ZONES; z++)
		n += __atomic_load_n(&pmm.zones[z].free_pages, __ATOMIC_RELAXED);
	for (int c = 0; c < ARCH_MAX_CPUS; c++)
		n += __atomic_load_n(&pmm.pcp[c].count, __ATOMIC_RELAXED);
	return n;
}
