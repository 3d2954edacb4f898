/*
 * demo.c - mode=run's demonstrations: the memory layers at work, with
 * real addresses, for a reader following docs/.
 *
 *   vmm_demo        kernel regions filled on demand by real page faults,
 *                   MMIO, and a process address space made, touched and
 *                   destroyed (the VMMDEMO line)
 *   slab_trace_demo the alloc(5) path: kmalloc(5) on a class with no free
 *                   object, narrated by every layer (mm_trace), then what
 *                   the layers below hold for the new slab, read back
 *
 * Kernel code, not a layer's: it uses the layers' public interfaces only
 * (vmm.h, paging.h, buddy.h, slab.h, and mm/trace.h's switch).
 */
#include "kernel/kernel.h"
#include "arch/x86_64/protect.h"
#include "lib/kprintf.h"
#include "mm/arch.h"
#include "mm/trace.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"
#include "mm/slab/slab.h"

/* ---- the VMM ---- */

#define DEMO_PAGES 32
#define URW (VM_READ | VM_WRITE | VM_USER)

/* A kernel region filled on demand by real faults, and the VGA text buffer as MMIO. */
static void demo_kernel(void)
{
	struct vm_space *k = vmm_kernel_space();
	struct vm_req big = { .len = 16 * PAGE_SIZE, .kind = VM_DEMAND, .flags = VM_READ | VM_WRITE,
			      .lo = VMM_KLARGE_BASE, .hi = VMM_KMMIO_BASE };
	struct vm_req vga = { .len = 2 * PAGE_SIZE, .kind = VM_MMIO, .flags = VM_READ | VM_WRITE,
			      .pa = 0xb8000, .cache = VM_CACHE_UC, .lo = VMM_KMMIO_BASE, .hi = VMM_KMMIO_END };
	uintptr_t va, io;
	if (vmm_alloc(k, &big, &va)) {
		kprintf("vmm demo: kernel regions could not be made\n");
		return;
	}
	if (vmm_alloc(k, &vga, &io)) {
		kprintf("vmm demo: kernel regions could not be made\n");
		vmm_free(k, va, big.len);
		return;
	}
	for (unsigned i = 0; i < 16; i += 2)
		((volatile char *)va)[i * PAGE_SIZE] = 1;
	vmm_report(k, "kernel");
	vmm_free(k, io, vga.len);
	vmm_free(k, va, big.len);
}

/*
 * A process address space: an on-demand region with a guard page above
 * it, touched from the kernel with the space in CR3, so that every first
 * touch is a real #PF through pf_handler.
 */
static void demo_process(void)
{
	uint64_t free0 = pmm_free_count();
	struct vm_space *s = vmm_space_create();
	uintptr_t va;
	struct vm_req r = { .len = DEMO_PAGES * PAGE_SIZE, .kind = VM_DEMAND, .flags = URW };
	struct vm_req g = { .len = PAGE_SIZE, .kind = VM_GUARD };
	if (!s || vmm_alloc(s, &r, &va) || vmm_alloc_fixed(s, va + r.len, &g)) {
		kprintf("vmm demo: the process space could not be made\n");
		if (s)
			vmm_space_destroy(s);
		return;
	}
	vmm_switch(s);
	user_access_begin();            /* SMAP: the kernel touching user pages on purpose */
	uint64_t sum = 0;
	for (unsigned i = 0; i < DEMO_PAGES; i += 2)
		((volatile uint64_t *)(va + i * PAGE_SIZE))[0] = i;       /* write faults */
	for (unsigned i = 0; i < DEMO_PAGES; i++)
		sum += ((volatile uint64_t *)(va + i * PAGE_SIZE))[1];    /* read faults, and zeros */
	user_access_end();
	vmm_switch(vmm_kernel_space());
	kprintf("vmm demo: touched %u pages of %lx-%lx from the kernel, read back sum %lu (zeros)\n",
		DEMO_PAGES, va, va + r.len, sum);
	vmm_report(s, "demo");
	vmm_space_destroy(s);
	kprintf("VMMDEMO free_before=%lu free_after=%lu\n", free0, pmm_free_count());
}

/* vmm_demo: see kernel.h. */
void vmm_demo(void)
{
	demo_kernel();
	demo_process();
}

/* ---- the alloc(5) path ---- */

/*
 * What the layers below hold for npages at va, read back after the fact
 * (they said what they did under mm_trace): the VMM's region, and for each
 * page its frame in the buddy and its PTE in the kernel's PML4.
 */
static void explain_pages(const void *va, size_t npages)
{
	uint64_t root = vmm_space_root(vmm_kernel_space());
	struct vm_region r;

	kprintf("  read back from the layers below:\n");
	if (vmm_lookup(vmm_kernel_space(), (uintptr_t)va, &r))
		kprintf("    vmm:    region %lx-%lx of the kernel space, anon rw-, %llu page(s) resident\n",
			(unsigned long)r.base, (unsigned long)(r.base + r.len), (unsigned long long)r.resident);
	for (size_t i = 0; i < npages; i++) {
		uintptr_t v = (uintptr_t)va + i * PAGE_SIZE;
		uint64_t pa = 0;
		unsigned flags = 0;
		size_t psz = 0;
		if (pg_translate(root, v, &pa, &flags, &psz)) {
			kprintf("    paging: va %lx not mapped in the PML4 at 0x%llx\n", (unsigned long)v,
				(unsigned long long)root);
			continue;
		}
		kprintf("    buddy:  frame pa 0x%llx: order 0, zone %s, refcount %u\n", (unsigned long long)pa,
			pmm_zone_name(pmm_zone_of(pa)), pmm_frame_refcount(pa));
		kprintf("    paging: PML4 at 0x%llx: PTE for va %lx -> pa 0x%llx, %zu KiB page, %s%s%s%s\n",
			(unsigned long long)root, (unsigned long)v, (unsigned long long)pa, psz >> 10,
			flags & PG_READ ? "r" : "-", flags & PG_WRITE ? "w" : "-", flags & PG_EXEC ? "x" : "-",
			flags & PG_GLOBAL ? " global" : "");
	}
}

/* Where p landed, in words: which object of which slab, why that one, and that slab's pages. */
static void summary(void *p, uint64_t grows_before)
{
	struct slab_obj_info o;

	if (!slab_obj_info(p, &o)) {
		kprintf("  result: %p, which the heap does not know as an object\n", p);
		return;
	}
	kprintf("  result: %p is object %u of the %u in its %u-page (%u KiB) slab at %p, counting from 0 at "
		"the slab's start (cache %s: %zu bytes for 5 asked)\n", p, o.index, o.cache.nobj,
		o.cache.npages, o.cache.npages * (unsigned)(PAGE_SIZE >> 10), o.slab, o.cache.name, o.cache.size);
	if (o.cache.grows != grows_before)
		kprintf("  why that one: the cache grew %llu time(s); the refill parked objects 0..%u of the new "
			"slab in this CPU's magazine and kmalloc popped the top one; %llu wait there for the "
			"next kmalloc\n", (unsigned long long)(o.cache.grows - grows_before), o.index,
			(unsigned long long)o.cache.parked);
	else
		kprintf("  why that one: the cache did not grow; kmalloc took a free object it already had, "
			"from this CPU's magazine or a partial slab\n");
	explain_pages(o.slab, o.cache.npages);
}

/* slab_trace_demo: see kernel.h. */
void slab_trace_demo(void)
{
	struct slab_cache_info ci;
	bool was = mm_trace;
	void *p;

	kprintf("slab: the alloc(5) path, live: kmalloc(5) on a class with no free object\n");
	slab_reap();
	slab_class_info(5, &ci);
	if (ci.free)
		kprintf("  (%s still has %llu free objects in its partial slabs: it will not grow)\n",
			ci.name, (unsigned long long)ci.free);
	slab_trace_set(true);
	p = kmalloc(5);
	slab_trace_set(was);
	if (!p) {
		kprintf("  kmalloc(5) returned NULL: out of memory\n");
		return;
	}
	summary(p, ci.grows);
	kprintf("slab: and back: kfree, then a reap returns the empty slab\n");
	slab_trace_set(true);
	kfree(p);
	slab_reap();
	slab_trace_set(was);
}
