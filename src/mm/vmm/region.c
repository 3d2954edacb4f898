/*
 * region.c - the calls that make, cut and change regions.
 *
 * Every call checks its arguments, then takes every resource it can run
 * out of (region nodes, frames, page tables) before it changes the tree,
 * so a failure leaves the space exactly as it was. Freeing or protecting
 * part of a region first splits it (isolate()), then acts on the piece.
 * Neighbouring regions are never merged: what was allocated separately
 * stays separate in the report.
 */
#include "mm/vmm/internal.h"
#include "mm/buddy/buddy.h"
#include "lib/kstring.h"
#include "mm/trace.h"

static bool page_aligned(uintptr_t x) { return !(x & (PAGE_SIZE - 1)); }

/*
 * Flags a region of s may have: VM_READ always (x86 has no write-only or
 * unreadable page; a guard region is the way to forbid access), VM_USER
 * in a process space and never in the kernel's, and never VM_WRITE with
 * VM_EXEC unless VM_ALLOW_WX says the caller means it (W^X). Returns 0,
 * VMM_E_INVAL or VMM_E_WX.
 */
static int check_flags(const struct vm_space *s, unsigned flags)
{
	if ((flags & ~(VM_PROT | VM_ALLOW_WX)) || !(flags & VM_READ))
		return VMM_E_INVAL;
	if (!(flags & VM_USER) != s->kernel)
		return VMM_E_INVAL;
	if ((flags & VM_WRITE) && (flags & VM_EXEC) && !(flags & VM_ALLOW_WX))
		return VMM_E_WX;
	return 0;
}

static int check_req(const struct vm_space *s, const struct vm_req *r)
{
	if (!r->len || !page_aligned(r->len) || r->kind > VM_GUARD)
		return VMM_E_INVAL;
	int e = r->kind == VM_GUARD ? 0 : check_flags(s, r->flags);
	if (e)
		return e;
	if (r->kind == VM_MMIO) {
		if (!page_aligned(r->pa) || r->cache > VM_CACHE_WC || r->pa + r->len < r->pa)
			return VMM_E_INVAL;
		/*
		 * RAM is the buddy's: an MMIO region over any byte of it would be
		 * an alias the buddy cannot see (of page tables, say), so every
		 * byte is checked, against the memory map, not page by page.
		 */
		if (pmm_range_has_ram(r->pa, r->len))
			return VMM_E_INVAL;
	}
	if (r->len > s->hi - s->lo)
		return VMM_E_BOUNDS;
	return 0;
}

/* Make the region for r at va (checked to be free), back it and add it. */
static int region_add(struct vm_space *s, uintptr_t va, const struct vm_req *r)
{
	struct vm_region *n = pool_get(&s->pool);
	if (!n)
		return VMM_E_NO_MEMORY;
	n->base = va, n->len = r->len, n->kind = r->kind;
	n->flags = r->kind == VM_GUARD ? 0 : r->flags;
	n->cache = r->kind == VM_MMIO ? r->cache : VM_CACHE_WB;
	n->pa = r->kind == VM_MMIO ? r->pa : 0;
	if (mm_trace)
		kprintf("  vmm:    %s space: region %lx-%lx (%s, %zu KiB) created at va %lx\n",
			s->kernel ? "kernel" : "process", va, va + r->len, vmm_kind_name(r->kind),
			r->len >> 10, va);
	int e = back_populate(s, n);
	if (e) {
		pool_put(&s->pool, n);
		if (mm_trace)
			kprintf("  vmm:    ... not created: %s\n", vmm_error_str(e));
		return e;
	}
	rt_insert(&s->tree, n);
	s->nregions++;
	return 0;
}

/*
 * Allocate a region for r in the first hole of [r->lo, r->hi) (the whole
 * space if both are 0) that holds it at any alignment. Sets *va, returns
 * 0 or VMM_E_INVAL, _WX, _BOUNDS, _NO_SPACE, _NO_MEMORY.
 */
int vmm_alloc(struct vm_space *s, const struct vm_req *r, uintptr_t *va)
{
	int e = check_req(s, r);
	if (e)
		return e;
	size_t align = r->align < PAGE_SIZE ? PAGE_SIZE : r->align;
	uintptr_t lo = r->lo, hi = r->hi;
	if (!lo && !hi)
		lo = s->lo, hi = s->hi;
	if (align & (align - 1))
		return VMM_E_INVAL;
	if (lo < s->lo || hi > s->hi || lo >= hi || !page_aligned(lo) || !page_aligned(hi))
		return VMM_E_BOUNDS;
	uint64_t flags = spin_lock_irqsave(&s->lock);
	uintptr_t at;
	if (!rt_find_gap(s->tree, s->lo, s->hi, lo, hi, r->len, align, &at))
		e = VMM_E_NO_SPACE;
	else if (!(e = region_add(s, at, r)))
		*va = at;
	pool_trim(&s->pool);
	spin_unlock_irqrestore(&s->lock, flags);
	return e;
}

/* Allocate a region for r at exactly va. 0, or VMM_E_OVERLAP and the rest. */
int vmm_alloc_fixed(struct vm_space *s, uintptr_t va, const struct vm_req *r)
{
	int e = check_req(s, r);
	if (e)
		return e;
	if (!page_aligned(va))
		return VMM_E_INVAL;
	if (va < s->lo || va > s->hi - r->len)
		return VMM_E_BOUNDS;
	uint64_t flags = spin_lock_irqsave(&s->lock);
	struct vm_region *n = rt_first_ending_after(s->tree, va);
	if (n && n->base < va + r->len)
		e = VMM_E_OVERLAP;
	else
		e = region_add(s, va, r);
	pool_trim(&s->pool);
	spin_unlock_irqrestore(&s->lock, flags);
	return e;
}

/*
 * Cut r at x (inside it): r keeps [base, x), a new node from the pool
 * (reserved by the caller, so it cannot fail) takes [x, end) with the same
 * kind, flags and cache, and its share of the resident pages.
 */
static struct vm_region *split_at(struct vm_space *s, struct vm_region *r, uintptr_t x)
{
	struct vm_region *t = pool_get(&s->pool);
	if (!t)
		MM_PANIC("vmm", "split_at: the node reserved for the split of %lx is gone", r->base);
	t->base = x, t->len = region_end(r) - x;
	t->kind = r->kind, t->flags = r->flags, t->cache = r->cache;
	t->pa = r->kind == VM_MMIO ? r->pa + (x - r->base) : 0;
	if (r->kind == VM_ANON || r->kind == VM_DEMAND)
		t->resident = back_count(s, t->base, t->len);
	r->resident -= t->resident;
	rt_remove(&s->tree, r);         /* r's end moves: its subtree facts must be redone */
	r->len = x - r->base;
	rt_insert(&s->tree, r);
	rt_insert(&s->tree, t);
	s->nregions++;
	return t;
}

/* Split r so that [va, va + len), inside it, is a region of its own; returns that region. */
static struct vm_region *isolate(struct vm_space *s, struct vm_region *r, uintptr_t va, size_t len)
{
	if (va > r->base)
		r = split_at(s, r, va);
	if (va + len < region_end(r))
		split_at(s, r, va + len);
	return r;
}

/* Nodes isolate() will take for [va, va + len) of r. */
static unsigned nodes_needed(const struct vm_region *r, uintptr_t va, size_t len)
{
	return (va > r->base) + (va + len < region_end(r));
}

/* The region holding all of [va, va + len), or NULL. */
static struct vm_region *holding(struct vm_space *s, uintptr_t va, size_t len)
{
	struct vm_region *r = rt_find(s->tree, va);
	if (!r || len > region_end(r) - va)
		return 0;
	return r;
}

static int free_locked(struct vm_space *s, uintptr_t va, size_t len)
{
	struct vm_region *r = holding(s, va, len);
	if (!r)
		return VMM_E_NO_REGION;
	if (!pool_reserve(&s->pool, nodes_needed(r, va, len)))
		return VMM_E_NO_MEMORY;
	int e = back_release(s, r, va, len);
	if (e)
		return e;
	r = isolate(s, r, va, len);
	rt_remove(&s->tree, r);
	pool_put(&s->pool, r);
	s->nregions--;
	return 0;
}

/*
 * Free [va, va + len), which lies inside one region. Returns 0, or
 * VMM_E_INVAL, VMM_E_NO_REGION, VMM_E_NO_MEMORY with nothing changed.
 */
int vmm_free(struct vm_space *s, uintptr_t va, size_t len)
{
	if (!len || !page_aligned(va) || !page_aligned(len))
		return VMM_E_INVAL;
	uint64_t flags = spin_lock_irqsave(&s->lock);
	int e = free_locked(s, va, len);
	pool_trim(&s->pool);
	spin_unlock_irqrestore(&s->lock, flags);
	if (mm_trace && !e)
		kprintf("  vmm:    %s space: %lx-%lx freed: unmapped, frames back to the buddy\n",
			s->kernel ? "kernel" : "process", va, va + len);
	return e;
}

static int protect_locked(struct vm_space *s, uintptr_t va, size_t len, unsigned prot)
{
	struct vm_region *r = holding(s, va, len);
	if (!r)
		return VMM_E_NO_REGION;
	if (r->kind == VM_GUARD)
		return VMM_E_GUARD;
	if (!pool_reserve(&s->pool, nodes_needed(r, va, len)))
		return VMM_E_NO_MEMORY;
	int e = back_protect(s, r, va, len, prot);
	if (e)
		return e;
	r = isolate(s, r, va, len);
	r->flags = prot;
	return 0;
}

/*
 * Give [va, va + len), inside one region, the protection prot. Returns 0,
 * or VMM_E_INVAL, VMM_E_WX, VMM_E_NO_REGION, VMM_E_GUARD, VMM_E_NO_MEMORY
 * with nothing changed.
 */
int vmm_protect(struct vm_space *s, uintptr_t va, size_t len, unsigned prot)
{
	if (!len || !page_aligned(va) || !page_aligned(len))
		return VMM_E_INVAL;
	int e = check_flags(s, prot);
	if (e)
		return e;
	uint64_t flags = spin_lock_irqsave(&s->lock);
	e = protect_locked(s, va, len, prot);
	pool_trim(&s->pool);
	spin_unlock_irqrestore(&s->lock, flags);
	return e;
}

/* Copy the region holding va into *out; false if there is none. */
bool vmm_lookup(struct vm_space *s, uintptr_t va, struct vm_region *out)
{
	uint64_t flags = spin_lock_irqsave(&s->lock);
	struct vm_region *r = rt_find(s->tree, va);
	if (r)
		*out = *r;
	spin_unlock_irqrestore(&s->lock, flags);
	return r != 0;
}
