/*
 * slab_pages.c - where slab pages come from: the one file that calls the
 * layers below (the VMM, and the buddy for the owner table's leaves).
 *
 * Everything else in src/mm/slab/ asks this file for "npages of mapped
 * kernel memory" (pages_alloc, pages_free) and for "the slab descriptor of
 * this address" (pages_set_owner, pages_owner). To lift the heap into
 * another kernel, rewrite this file and nothing else.
 *
 * A slab is a VM_ANON region of the kernel's address space, in the heap
 * area [VMM_KHEAP_BASE, VMM_KLARGE_BASE): the VMM picks the address, takes
 * a zeroed frame from the buddy for each page and has paging map it. A
 * large allocation is the same in the large area [VMM_KLARGE_BASE,
 * VMM_KMMIO_BASE). Only the first OWNER_SPAN bytes of each area are asked
 * for, which the owner table (below) covers; the VMM hands out the
 * lowest hole, so the heap stays packed at the bottom of its area.
 *
 * Slabs are aligned to their size rounded up to a power of two, so one
 * never straddles two leaves of the owner table; a large allocation may,
 * and holds every leaf it covers.
 */
#include "mm/slab/slab_private.h"
#include "mm/buddy/buddy.h"
#include "mm/vmm/vmm.h"
#include "mm/trace.h"
#include "lib/kstring.h"

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

/* This file's state: the porter's, apart from the layer's struct kheap. */
static struct {
	struct owner_area heap, large;
	struct spinlock lock;           /* leaf[] and held[] writers */
	uint64_t trips;                 /* regions asked of the VMM since slab_init (atomic) */
} owners = {
	.heap = { .base = VMM_KHEAP_BASE },
	.large = { .base = VMM_KLARGE_BASE },
	.lock = SPINLOCK_INIT("slab owners"),
};

/* pages_owner: see slab_private.h. */
struct slab *pages_owner(const void *va)
{
	uintptr_t v = (uintptr_t)va;
	const struct owner_area *a = &owners.heap;
	uint32_t pfn, tag;

	if (__builtin_expect(v - VMM_KHEAP_BASE >= OWNER_SPAN, 0)) {
		if (v - VMM_KLARGE_BASE >= OWNER_SPAN)
			return NULL;
		a = &owners.large;
	}
	v = (v - (a == &owners.heap ? VMM_KHEAP_BASE : VMM_KLARGE_BASE)) >> PAGE_SHIFT;
	pfn = __atomic_load_n(&a->leaf[v / OWNER_SLOTS], __ATOMIC_ACQUIRE);
	if (!pfn)
		return NULL;
	tag = ((const uint32_t *)phys_to_virt((uint64_t)pfn << PAGE_SHIFT))[v % OWNER_SLOTS];
	return tag ? (struct slab *)(VMM_KHEAP_BASE - SLAB_DESC_ALIGN + (uintptr_t)tag * SLAB_DESC_ALIGN) : NULL;
}

static struct owner_area *area_of(uintptr_t va)
{
	return va - VMM_KHEAP_BASE < OWNER_SPAN ? &owners.heap : &owners.large;
}

/* Take back n holds from the leaves of [va, va + npages pages). Lock held. */
static void unhold(struct owner_area *a, uintptr_t va, size_t npages)
{
	size_t first = (va - a->base) >> PAGE_SHIFT;

	for (size_t i = first; i < first + npages; i++)
		a->held[i / OWNER_SLOTS]--;
}

/*
 * Make sure a leaf covers each page of [va, va + npages pages) and count
 * the pages as held, so no reap frees those leaves. Returns false (with
 * nothing held) if a leaf page could not be had.
 */
static bool hold(struct owner_area *a, uintptr_t va, size_t npages)
{
	size_t first = (va - a->base) >> PAGE_SHIFT, i;
	uint64_t irq = spin_lock_irqsave(&owners.lock);

	for (i = first; i < first + npages; i++) {
		uint32_t *leaf = &a->leaf[i / OWNER_SLOTS];
		if (!*leaf) {
			uint64_t pa = pmm_alloc_page(PMM_ZERO);
			if (pa == PMM_NO_FRAME)
				break;
			__atomic_store_n(leaf, (uint32_t)(pa >> PAGE_SHIFT), __ATOMIC_RELEASE);
		}
		a->held[i / OWNER_SLOTS]++;
	}
	if (i < first + npages)
		unhold(a, va, i - first);
	spin_unlock_irqrestore(&owners.lock, irq);
	return i == first + npages;
}

static size_t pow2_up(size_t x)
{
	size_t p = PAGE_SIZE;
	while (p < x)
		p <<= 1;
	return p;
}

/* pages_trips: see slab_private.h. */
uint64_t pages_trips(void)
{
	return __atomic_load_n(&owners.trips, __ATOMIC_RELAXED);
}

/* pages_ram_bytes: see slab_private.h. */
uint64_t pages_ram_bytes(void)
{
	struct pmm_stats st;

	pmm_get_stats(&st);
	return st.total_pages << PAGE_SHIFT;
}

/* pages_alloc: see slab_private.h. */
void *pages_alloc(size_t npages, bool large)
{
	struct owner_area *a = large ? &owners.large : &owners.heap;
	size_t len = npages << PAGE_SHIFT;
	struct vm_req r = { .len = len, .align = large ? 0 : pow2_up(len), .kind = VM_ANON,
			    .flags = VM_READ | VM_WRITE, .lo = a->base, .hi = a->base + OWNER_SPAN };
	uintptr_t va;

	MM_TRACE("slab", "asks the VMM for %zu page(s) of the kernel %s area [%lx, %lx)",
		 npages, large ? "large" : "heap", (unsigned long)r.lo, (unsigned long)r.hi);
	__atomic_fetch_add(&owners.trips, 1, __ATOMIC_RELAXED);
	if (vmm_alloc(vmm_kernel_space(), &r, &va))
		return NULL;
	if (!hold(a, va, npages)) {
		vmm_free(vmm_kernel_space(), va, len);
		return NULL;
	}
	return (void *)va;
}

/*
 * pages_free: see slab_private.h. The heap gives back only what it took, so
 * a refusal by the VMM is a bug in the heap: it stops (mm/failure.h) rather
 * than go on with pages it no longer knows the state of.
 */
void pages_free(void *va, size_t npages)
{
	struct owner_area *a = area_of((uintptr_t)va);
	int e = vmm_free(vmm_kernel_space(), (uintptr_t)va, npages << PAGE_SHIFT);
	uint64_t irq;

	if (e)
		MM_PANIC("slab", "pages_free: the VMM refuses %zu page(s) at %p: %s", npages, va,
			 vmm_error_str(e));
	irq = spin_lock_irqsave(&owners.lock);
	unhold(a, (uintptr_t)va, npages);
	spin_unlock_irqrestore(&owners.lock, irq);
}

static uint32_t *slot_of(struct owner_area *a, uintptr_t va)
{
	size_t i = (va - a->base) >> PAGE_SHIFT;
	uint32_t *leaf = phys_to_virt((uint64_t)a->leaf[i / OWNER_SLOTS] << PAGE_SHIFT);
	return &leaf[i % OWNER_SLOTS];
}

/* pages_set_owner: see slab_private.h. The pages are held, so their leaves exist. */
void pages_set_owner(void *va, size_t npages, const struct slab *owner)
{
	struct owner_area *a = area_of((uintptr_t)va);
	uint32_t tag = owner ? (uint32_t)(((uintptr_t)owner - VMM_KHEAP_BASE) / SLAB_DESC_ALIGN + 1) : 0;

	for (size_t i = 0; i < npages; i++)
		__atomic_store_n(slot_of(a, (uintptr_t)va + i * PAGE_SIZE), tag, __ATOMIC_RELEASE);
}

static void reset_area(struct owner_area *a)
{
	memset(a->leaf, 0, sizeof(a->leaf));
	memset(a->held, 0, sizeof(a->held));
}

/* pages_reset: see slab_private.h. The buddy started over: the old leaves are not ours. */
void pages_reset(void)
{
	reset_area(&owners.heap);
	reset_area(&owners.large);
	owners.trips = 0;
}

static void trim_area(struct owner_area *a)
{
	for (size_t t = 0; t < OWNER_TOP; t++)
		if (a->leaf[t] && !a->held[t]) {
			uint64_t pa = (uint64_t)a->leaf[t] << PAGE_SHIFT;
			__atomic_store_n(&a->leaf[t], 0, __ATOMIC_RELEASE);
			pmm_free_page(pa);
		}
}

/* pages_trim: see slab_private.h. */
void pages_trim(void)
{
	uint64_t irq = spin_lock_irqsave(&owners.lock);

	trim_area(&owners.heap);
	trim_area(&owners.large);
	spin_unlock_irqrestore(&owners.lock, irq);
}
