/*
 * fault.c - page faults: fill in memory on demand, explain everything else.
 *
 * The path, for a fault at addr:
 *
 *   kernel half?  --yes-->  look it up in the kernel's space (shared by all)
 *   region at addr?  no --> VMF_NO_REGION
 *   guard region?  yes --> VMF_GUARD
 *   user access to a region without VM_USER --> VMF_USER_KERNEL
 *   write / fetch the region forbids        --> VMF_WRITE_RO / VMF_EXEC_NX
 *   kernel access to a present user page    --> VMF_KERNEL_USER (SMAP, SMEP)
 *   write to a read-only copy-on-write page --> its own copy (fork.c), or the frame back
 *   (after a fork, or in a VM_PRIVATE region)   if no other space holds it: VMF_RESOLVED
 *   page already mapped, tables allow it    --> resolved: a stale TLB entry, flushed
 *   page already mapped, tables refuse it   --> VMF_MISMATCH (a bug, never a loop)
 *   an object's region (VM_SHARED, VM_PRIVATE) --> the object's page (made if new; for a
 *                                               write to VM_PRIVATE a copy): VMF_RESOLVED, or
 *                                               VMF_BEYOND_END past the object's end, VMF_NO_FRAME
 *   a swap entry (an anonymous page in swap) --> read back (swap.c): VMF_RESOLVED,
 *                                               VMF_SWAP_IO if the disk fails, VMF_NO_FRAME
 *   region not on demand                    --> VMF_NOT_DEMAND
 *   zeroed frame, mapped (and a few after it, see vmm_set_fault_around)
 *                                           --> VMF_RESOLVED, or VMF_NO_FRAME
 */
#include "mm/vmm/vmm_private.h"
#include "mm/paging/paging.h"

/* Does the region allow this access at all? VMF_RESOLVED if so. */
static enum vm_fault_why judge(const struct vm_region *r, unsigned access)
{
	if (!r)
		return VMF_NO_REGION;
	if (r->kind == VM_GUARD)
		return VMF_GUARD;
	if ((access & VM_ACC_USER) && !(r->flags & VM_USER))
		return VMF_USER_KERNEL;
	if ((access & VM_ACC_WRITE) && !(r->flags & VM_WRITE))
		return VMF_WRITE_RO;
	if ((access & VM_ACC_EXEC) && !(r->flags & VM_EXEC))
		return VMF_EXEC_NX;
	/* Allowed, and present: only SMAP or SMEP refuse the kernel a user page. */
	if ((access & VM_ACC_PRESENT) && !(access & VM_ACC_USER) && (r->flags & VM_USER))
		return VMF_KERNEL_USER;
	return VMF_RESOLVED;
}

/* Map up to vmm.fault_around unmapped pages after va, as long as frames come easily. */
static void fault_around(struct vm_space *s, struct vm_region *r, va_t va)
{
	unsigned around = __atomic_load_n(&vmm.fault_around, __ATOMIC_RELAXED);

	for (unsigned i = 0; i < around; i++) {
		va += PAGE_SIZE;
		if (va >= region_end(r))
			return;
		if (pg_translate(s->root, va, 0, 0, 0) == 0)
			continue;
		if (back_page(s, r, va))
			return;
	}
}

/* Does a mapping with these paging flags allow the access? */
static bool mapping_allows(unsigned pf, unsigned access)
{
	if ((access & VM_ACC_WRITE) && !(pf & PG_WRITE))
		return false;
	if ((access & VM_ACC_EXEC) && !(pf & PG_EXEC))
		return false;
	return !(access & VM_ACC_USER) || (pf & PG_USER);
}

static enum vm_fault_why handle(struct vm_space *s, struct vm_region *r, va_t addr, unsigned access)
{
	enum vm_fault_why why = judge(r, access);
	if (why != VMF_RESOLVED)
		return why;
	va_t va = addr & ~(PAGE_SIZE - 1);
	unsigned pf;
	pa_t pa;
	if (pg_translate(s->root, va, &pa, &pf, 0) == 0) {
		/*
		 * A write the region allows to a page mapped read-only, in a space
		 * that took part in a fork: copy-on-write (fork.c). In any other
		 * space such a page is the tables edited behind the VMM's back.
		 */
		if ((s->shared || r->kind == VM_PRIVATE) && (access & VM_ACC_WRITE) && !(pf & PG_WRITE) &&
		    mapping_allows(pf, access & ~VM_ACC_WRITE) && r->kind != VM_MMIO && r->kind != VM_SHARED)
			return back_cow(s, r, va, pa) ? VMF_NO_FRAME : VMF_RESOLVED;
		/* Resolving a fault the tables will raise again would loop for ever. */
		if (!mapping_allows(pf, access))
			return VMF_MISMATCH;
		tlb_flush_range(s->root, va, PAGE_SIZE);
		return VMF_RESOLVED;
	}
	uint64_t slot;
	if ((r->kind == VM_ANON || r->kind == VM_DEMAND) && s->swapped && !pg_swap_entry(s->root, va, &slot)) {
		/* swap.c: the page comes back; a read keeps its slot while the page stays clean */
		int e = swap_in_page(s, r, va, slot, !(access & VM_ACC_WRITE));
		return e == VMM_E_IO ? VMF_SWAP_IO : e ? VMF_NO_FRAME : VMF_RESOLVED;
	}
	if (kind_has_object(r->kind)) {
		int e = back_object_page(s, r, va, access);
		return e == VMM_E_BOUNDS ? VMF_BEYOND_END : e ? VMF_NO_FRAME : VMF_RESOLVED;
	}
	if (r->kind != VM_DEMAND)
		return VMF_NOT_DEMAND;
	if (back_page(s, r, va))
		return VMF_NO_FRAME;
	fault_around(s, r, va);
	return VMF_RESOLVED;
}

/*
 * Handle a fault at addr, with access the VM_ACC_* bits, in s (the kernel's
 * space for an address in the higher half). Returns VMF_RESOLVED, or why
 * not, with the explanation in *f if f is not NULL.
 */
enum vm_fault_why vmm_fault(struct vm_space *s, va_t addr, unsigned access, struct vm_fault *f)
{
	if (addr >> 63 || (addr >= VMM_KERNEL_BASE && addr < VMM_KERNEL_END))
		s = &vmm.kernel;            /* the second test: the host's window (vmm.h) */
	uint64_t flags = spin_lock_irqsave(&s->lock);
	s->faults++;
	struct vm_node *n = rt_find(s->tree, addr);
	struct vm_region *r = n ? &n->r : 0;
	enum vm_fault_why why = handle(s, r, addr, access);
	if (why == VMF_RESOLVED)
		s->resolved++;
	if (f) {
		*f = (struct vm_fault){ .addr = addr, .access = access, .why = why, .in_region = r != 0 };
		if (r)
			f->region = *r;
	}
	spin_unlock_irqrestore(&s->lock, flags);
	return why;
}

static const char *const why_text[] = {
	[VMF_RESOLVED] = "resolved",
	[VMF_NO_REGION] = "no region at this address",
	[VMF_GUARD] = "guard page touched",
	[VMF_WRITE_RO] = "write to a read-only region",
	[VMF_EXEC_NX] = "instruction fetch from a no-execute region",
	[VMF_USER_KERNEL] = "user access to a kernel region",
	[VMF_KERNEL_USER] = "kernel access to user memory outside user_access_begin/end (SMAP/SMEP)",
	[VMF_NOT_DEMAND] = "page missing from a region that is not filled on demand",
	[VMF_NO_FRAME] = "out of frames to fill an on-demand page",
	[VMF_MISMATCH] = "the page tables refuse what the region allows (a VMM bug)",
	[VMF_BEYOND_END] = "page past the end of the mapped object",
	[VMF_SWAP_IO] = "the page is in swap and the disk could not give it back",
};

/* One line: what was wrong, where, by which access, and in which region. */
void vmm_fault_explain(const struct vm_fault *f, char *buf, size_t size)
{
	const char *what = f->why <= VMF_SWAP_IO ? why_text[f->why] : "?";
	const char *acc = f->access & VM_ACC_EXEC ? "fetch" : f->access & VM_ACC_WRITE ? "write" : "read";
	const char *mode = f->access & VM_ACC_USER ? "user" : "kernel";
	if (!f->in_region) {
		ksnprintf(buf, size, "vmm: %s: %s %s at %lx", what, mode, acc, f->addr);
		return;
	}
	char fl[5];
	vmm_flags_str(f->region.flags, fl);
	ksnprintf(buf, size, "vmm: %s: %s %s at %lx in %s region %lx-%lx %s",
		  what, mode, acc, f->addr, vmm_kind_name(f->region.kind),
		  f->region.base, region_end(&f->region), fl);
}
