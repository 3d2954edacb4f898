/*
 * backing.c - where slabs come from: the one file that calls the layers below.
 *
 * Everything else in src/mm/slab/ asks this file for "npages of mapped
 * kernel memory" and for "the slab descriptor of this address". To lift the
 * heap into another kernel, rewrite this file and nothing else.
 *
 * A slab is a VM_ANON region of the kernel's address space, in the heap
 * area [VMM_KHEAP_BASE, VMM_KLARGE_BASE): the VMM picks the address, takes
 * a zeroed frame from the buddy for each page and has paging map it. A
 * large allocation is the same in the large area [VMM_KLARGE_BASE,
 * VMM_KMMIO_BASE). Only the first OWNER_SPAN bytes of each area are asked
 * for, which the owner table (internal.h) covers; the VMM hands out the
 * lowest hole, so the heap stays packed at the bottom of its area.
 *
 * Slabs are aligned to their size rounded up to a power of two, so one
 * never straddles two leaves of the owner table; a large allocation may,
 * and holds every leaf it covers.
 */
#include "mm/slab/internal.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

struct owner_area owner_heap = { .base = VMM_KHEAP_BASE };
struct owner_area owner_large = { .base = VMM_KLARGE_BASE };
static struct spinlock owner_lock = SPINLOCK_INIT("slab owners"); /* leaf[] and held[] writers */

static struct owner_area *area_of(uintptr_t va)
{
	return va - VMM_KHEAP_BASE < OWNER_SPAN ? &owner_heap : &owner_large;
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
	uint64_t irq = spin_lock_irqsave(&owner_lock);

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
	spin_unlock_irqrestore(&owner_lock, irq);
	return i == first + npages;
}

static size_t pow2_up(size_t x)
{
	size_t p = PAGE_SIZE;
	while (p < x)
		p <<= 1;
	return p;
}

/* backing_alloc: see internal.h. */
void *backing_alloc(size_t npages, bool large)
{
	struct owner_area *a = large ? &owner_large : &owner_heap;
	size_t len = npages << PAGE_SHIFT;
	struct vm_req r = { .len = len, .align = large ? 0 : pow2_up(len), .kind = VM_ANON,
			    .flags = VM_READ | VM_WRITE, .lo = a->base, .hi = a->base + OWNER_SPAN };
	uintptr_t va;

	if (slab_tracing)
		kprintf("  slab:   asks the VMM for %zu page(s) of the kernel %s area [%lx, %lx)\n",
			npages, large ? "large" : "heap", (unsigned long)r.lo, (unsigned long)r.hi);
	if (vmm_alloc(vmm_kernel_space(), &r, &va))
		return NULL;
	if (!hold(a, va, npages)) {
		vmm_free(vmm_kernel_space(), va, len);
		return NULL;
	}
	return (void *)va;
}

/*
 * backing_free: see internal.h. The heap gives back only what it took, so
 * a refusal by the VMM is a bug in the heap: it stops (mm/failure.h) rather
 * than go on with pages it no longer knows the state of.
 */
void backing_free(void *va, size_t npages)
{
	struct owner_area *a = area_of((uintptr_t)va);
	int e = vmm_free(vmm_kernel_space(), (uintptr_t)va, npages << PAGE_SHIFT);
	uint64_t irq;

	if (e)
		MM_PANIC("slab", "backing_free: the VMM refuses %zu page(s) at %p: %s", npages, va,
			 vmm_error_str(e));
	irq = spin_lock_irqsave(&owner_lock);
	unhold(a, (uintptr_t)va, npages);
	spin_unlock_irqrestore(&owner_lock, irq);
}

static uint32_t *slot_of(struct owner_area *a, uintptr_t va)
{
	size_t i = (va - a->base) >> PAGE_SHIFT;
	uint32_t *leaf = phys_to_virt((uint64_t)a->leaf[i / OWNER_SLOTS] << PAGE_SHIFT);
	return &leaf[i % OWNER_SLOTS];
}

/* backing_set_owner: see internal.h. The pages are held, so their leaves exist. */
void backing_set_owner(void *va, size_t npages, const struct slab *owner)
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

/* backing_reset: see internal.h. The buddy started over: the old leaves are not ours. */
void backing_reset(void)
{
	reset_area(&owner_heap);
	reset_area(&owner_large);
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

/* backing_trim: see internal.h. */
void backing_trim(void)
{
	uint64_t irq = spin_lock_irqsave(&owner_lock);

	trim_area(&owner_heap);
	trim_area(&owner_large);
	spin_unlock_irqrestore(&owner_lock, irq);
}

static const char *zone_name(uint64_t pa)
{
	return pmm_zone_name(pmm_zone_of(pa));
}

/*
 * backing_explain: see internal.h. The VMM has said what it did (under
 * mm_trace); this reads it back from the layers below, after the fact:
 * the region, each page's frame, and the PTE in the kernel's PML4.
 */
void backing_explain(const void *va, size_t npages)
{
	uint64_t root = vmm_space_root(vmm_kernel_space());
	struct vm_region r;

	if (vmm_lookup(vmm_kernel_space(), (uintptr_t)va, &r))
		kprintf("  vmm:    region %lx-%lx of the kernel space, anon rw-, %llu page(s) resident\n",
			(unsigned long)r.base, (unsigned long)(r.base + r.len), (unsigned long long)r.resident);
	for (size_t i = 0; i < npages; i++) {
		uintptr_t v = (uintptr_t)va + i * PAGE_SIZE;
		uint64_t pa = 0;
		unsigned flags = 0;
		size_t psz = 0;
		if (pg_translate(root, v, &pa, &flags, &psz)) {
			kprintf("  paging: va %lx not mapped in the PML4 at 0x%llx\n", (unsigned long)v,
				(unsigned long long)root);
			continue;
		}
		kprintf("  buddy:  frame pa 0x%llx: order 0, zone %s, refcount %u\n", (unsigned long long)pa,
			zone_name(pa), pmm_frame_refcount(pa));
		kprintf("  paging: PML4 at 0x%llx: PTE for va %lx -> pa 0x%llx, %zu KiB page, %s%s%s%s\n",
			(unsigned long long)root, (unsigned long)v, (unsigned long long)pa, psz >> 10,
			flags & PG_READ ? "r" : "-", flags & PG_WRITE ? "w" : "-", flags & PG_EXEC ? "x" : "-",
			flags & PG_GLOBAL ? " global" : "");
	}
}
