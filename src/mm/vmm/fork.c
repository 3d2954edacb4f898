/*
 * fork.c - copy-on-write: a new address space that shares every page of
 * another, and the write fault that ends the sharing of one page.
 *
 * vmm_fork(parent) gives a child space with the same regions. For each
 * mapped page of an anonymous region (VM_ANON, VM_DEMAND) the child maps
 * the parent's frame, and the frame's reference count (the buddy's,
 * pmm_frame_get) goes up by one; in both spaces the page is mapped
 * read-only, the parent's losing its write right (and its TLB entries on
 * every CPU, which pg_protect flushes). No page is copied at fork:
 *
 *     parent PTE (r-) ---\
 *                         +--> frame, refcount 2
 *     child PTE  (r-) ---/
 *
 * A write to such a page faults (vmm_fault): the region allows the write,
 * the tables refuse it, and the frame is shared. back_cow then copies the
 * frame into a new one mapped writable for the writer, and puts the old
 * one (refcount 1: the other space's alone); or, if the count is 1 already
 * (the other space wrote first, or exited), takes the page back writable
 * without a copy. A frame goes back to the buddy when its count reaches 0:
 * back_free_frame puts a shared frame rather than freeing it.
 *
 * A VM_PRIVATE region (a private file mapping) is shared in the same way;
 * a VM_SHARED region's pages stay writable in both, since they are one
 * object's and meant to be seen by both. MMIO regions are mapped again
 * over the same device range; guard regions are copied as they are. A fork that runs out of memory destroys the
 * child, which puts each frame it had taken: every count is back where it
 * was (the parent's pages stay read-only, and its next write to each takes
 * it back without a copy).
 */
#include "mm/vmm/vmm_private.h"
#include "mm/paging/paging.h"
#include "mm/trace.h"

/* The child's copy of region r: a node from its pool, in its tree. */
static struct vm_node *region_copy(struct vm_space *c, const struct vm_region *r)
{
	struct vm_node *n = pool_get(&c->pool);
	if (!n)
		return NULL;
	n->r = *r;
	n->r.resident = 0;
	if (n->r.obj)
		vmo_get(n->r.obj);      /* dropped again by the child's destroy, if the fork fails */
	rt_insert(&c->tree, n);
	c->nregions++;
	return n;
}

/* vmm_fork: see vmm.h. */
int vmm_fork(struct vm_space *p, struct vm_space **child, uint64_t *shared)
{
	struct vm_space *c;
	uint64_t n = 0, flags;
	int e = 0;

	*child = NULL;
	if (p->kernel) {
		MM_MISUSE("vmm", "vmm_fork: the kernel's space is shared by every space already");
		return VMM_E_INVAL;
	}
	if (!(c = vmm_space_create()))
		return VMM_E_NO_MEMORY;
	flags = spin_lock_irqsave(&p->lock);
	for (struct vm_node *pn = rt_first_ending_after(p->tree, 0); pn && !e;
	     pn = rt_first_ending_after(p->tree, region_end(&pn->r))) {
		struct vm_node *cn = region_copy(c, &pn->r);
		e = cn ? back_share(p, c, &pn->r, &cn->r, &n) : VMM_E_NO_MEMORY;
	}
	if (!e)
		p->shared = c->shared = true;
	spin_unlock_irqrestore(&p->lock, flags);
	if (e) {
		vmm_space_destroy(c);
		return e;
	}
	MM_TRACE("vmm", "fork: a new space shares %llu page(s), copy-on-write", (unsigned long long)n);
	*child = c;
	if (shared)
		*shared = n;
	return 0;
}
