/*
 * space.c - address spaces, the kernel's and any number of processes',
 * and the calls that make, cut and change the regions in them.
 *
 * A process space is two frames to begin with: its root table, whose
 * kernel half is a copy of the kernel root's (paging made every one of
 * those entries point to a table that lives forever, so the copy never
 * goes stale), and one page holding the struct vm_space followed by its
 * first region nodes. Everything else it ever holds hangs off those two
 * and goes back to the buddy in vmm_space_destroy().
 *
 * Every region call checks its arguments, then takes every resource it can
 * run out of (region nodes, frames, page tables) before it changes the
 * tree, so a failure leaves the space exactly as it was. Freeing or
 * protecting part of a region first splits it (isolate()), then acts on
 * the piece. Neighbouring regions are never merged: what was allocated
 * separately stays separate in the report.
 *
 * All the VMM's mutable state outside the spaces themselves is here, in
 * one struct (vmm_private.h): the kernel's space, the space each CPU runs,
 * and the fault-around tunable.
 */
#include "mm/vmm/vmm_private.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/trace.h"

struct vmm_state vmm;

/* ---- address spaces ---- */

/* Start the VMM on the kernel's tables. Returns 0, or VMM_E_NO_MEMORY. */
int vmm_init(void)
{
	vmm.kernel = (struct vm_space){
		.lock = SPINLOCK_INIT("vmm kernel"),
		.root = pg_kernel_root(),
		.lo = VMM_KERNEL_BASE, .hi = VMM_KERNEL_END,
		.kernel = true,
	};
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		__atomic_store_n(&vmm.current[i], NULL, __ATOMIC_RELAXED);
	if (!vmm.kernel.root) {
		kprintf("vmm: no kernel root: paging_build_kernel has not run\n");
		return VMM_E_INVAL;
	}
	/* The first node page now, so kernel regions made later do not move the free count. */
	return pool_reserve(&vmm.kernel.pool, 1) ? 0 : VMM_E_NO_MEMORY;
}

struct vm_space *vmm_kernel_space(void) { return &vmm.kernel; }

/* A process space in one page of its own, plus a root table. NULL if out of frames. */
struct vm_space *vmm_space_create(void)
{
	pa_t page = pmm_alloc_page(PMM_ZERO);
	if (page == PMM_NO_FRAME)
		return 0;
	pg_root_t root = pg_root_create_user();
	if (root == PG_NO_ROOT) {
		pmm_free_page(page);
		return 0;
	}
	struct vm_space *s = phys_to_virt(page);
	*s = (struct vm_space){
		.lock = SPINLOCK_INIT("vmm space"),
		.root = root,
		.lo = VMM_USER_BASE, .hi = VMM_USER_END,
		.own_page = true,
	};
	pool_seed(&s->pool, s + 1, PAGE_SIZE - sizeof(*s));
	return s;
}

/*
 * pg_walk callback: the frame of a page of a region with frames goes back
 * to the buddy (or, shared, loses one holder). The space is not in any CR3 and its tables go next, so no
 * mapping outlives the frame where it could be used. The VMM maps such
 * pages one 4 KiB frame at a time and took each from the buddy: anything
 * else means its tables or the buddy's records are not what it made.
 */
static void free_leaf(va_t va, pa_t pa, size_t size, unsigned flags, void *arg)
{
	(void)flags, (void)arg;
	if (size != PAGE_SIZE)
		MM_PANIC("vmm", "anonymous page %lx is mapped by a %zu KiB page", va, size >> 10);
	back_free_frame(va, pa);
}

/*
 * Another CPU whose last vmm_switch was to s, or -1: that CPU runs in it
 * (its tables would be freed under it). A CPU switches to a space only
 * while the space's owner keeps it alive, so no CPU can start running in
 * s during the destroy.
 */
static int running_elsewhere(const struct vm_space *s)
{
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (i != arch_cpu_index() && __atomic_load_n(&vmm.current[i], __ATOMIC_RELAXED) == s)
			return (int)i;
	return -1;
}

/*
 * Frames first (found by walking each region's mappings), then every
 * table at once: pg_root_destroy frees the lower half's tables, so no
 * mapping needs to be taken out one by one (xv6's uvmfree does the same).
 */
int vmm_space_destroy(struct vm_space *s)
{
	int cpu;

	if (s->kernel || !s->own_page) {
		MM_MISUSE("vmm", "vmm_space_destroy: refusing to destroy the kernel's space");
		return VMM_E_INVAL;
	}
	if (pg_current_root() == s->root) {
		MM_MISUSE("vmm", "vmm_space_destroy: space %p is in CR3: switch away first", (void *)s);
		return VMM_E_IN_USE;
	}
	if ((cpu = running_elsewhere(s)) >= 0) {
		MM_MISUSE("vmm", "vmm_space_destroy: space %p is CPU %d's: it must switch away first",
			  (void *)s, cpu);
		return VMM_E_IN_USE;
	}
	for (struct vm_node *n = rt_first_ending_after(s->tree, 0); n;
	     n = rt_first_ending_after(s->tree, region_end(&n->r))) {
		if (kind_has_frames(n->r.kind)) {
			swap_release(s, n->r.base, n->r.len);   /* the slots of pages in swap */
			pg_walk(s->root, n->r.base, n->r.len, free_leaf, 0);
		}
		if (kind_has_object(n->r.kind))
			vmo_put(n->r.obj);
	}
	__atomic_store_n(&vmm.current[arch_cpu_index()], NULL, __ATOMIC_RELAXED);      /* if it was the last one here */
	pg_root_destroy(s->root);
	pool_release(&s->pool);
	pmm_free_page(virt_to_phys(s));
	return 0;
}

/* Make s the running address space. */
void vmm_switch(struct vm_space *s)
{
	pg_switch(s->root);
	__atomic_store_n(&vmm.current[arch_cpu_index()], s, __ATOMIC_RELAXED);
}

/* The space in CR3: the last one switched to, unless CR3 was changed behind our back. */
struct vm_space *vmm_current(void)
{
	struct vm_space *s = __atomic_load_n(&vmm.current[arch_cpu_index()], __ATOMIC_RELAXED);
	if (s && s->root == pg_current_root())
		return s;
	return &vmm.kernel;
}

pg_root_t vmm_space_root(const struct vm_space *s) { return s->root; }

unsigned vmm_set_fault_around(unsigned pages)
{
	return __atomic_exchange_n(&vmm.fault_around, pages, __ATOMIC_RELAXED);
}

/* ---- making regions ---- */

/*
 * Flags a region of s may have: VM_READ always (x86 has no write-only or
 * unreadable page; a guard region is the way to forbid access), VM_USER
 * in a process space and never in the kernel's, and never VM_WRITE with
 * VM_EXEC unless VM_ALLOW_WX says the caller means it (W^X). One region of
 * a process space may lack VM_USER: VM_READ alone, which the process may
 * not touch at all (PROT_NONE) while its pages stay, mapped for the kernel
 * only, until it is given VM_USER back. Returns 0, VMM_E_INVAL or VMM_E_WX.
 */
static int check_flags(const struct vm_space *s, unsigned flags)
{
	if ((flags & ~(VM_PROT | VM_ALLOW_WX | VM_MAYWRITE)) || !(flags & VM_READ))
		return VMM_E_INVAL;
	if (s->kernel ? (flags & VM_USER) : !(flags & VM_USER) && flags != VM_READ)
		return VMM_E_INVAL;
	if ((flags & VM_WRITE) && (flags & VM_EXEC) && !(flags & VM_ALLOW_WX))
		return VMM_E_WX;
	return 0;
}

static int check_req(const struct vm_space *s, const struct vm_req *r)
{
	if (!r->len || r->len & (PAGE_SIZE - 1) || r->kind > VM_KIND_LAST)
		return VMM_E_INVAL;
	/* An object's region needs the object and a window of it; no other kind has one. */
	bool object = r->kind == VM_SHARED || r->kind == VM_PRIVATE;
	if (object != (r->obj != 0) || (object && (r->off & (PAGE_SIZE - 1) || r->off + r->len < r->off ||
						    (r->off + r->len) / PAGE_SIZE > VMO_MAX_PAGES)))
		return VMM_E_INVAL;
	int e = r->kind == VM_GUARD ? 0 : check_flags(s, r->flags);
	if (e)
		return e;
	if (r->kind == VM_MMIO) {
		if (r->pa & (PAGE_SIZE - 1) || r->cache > VM_CACHE_WC || r->pa + r->len < r->pa)
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
static int region_add(struct vm_space *s, va_t va, const struct vm_req *r)
{
	struct vm_node *n = pool_get(&s->pool);
	if (!n)
		return VMM_E_NO_MEMORY;
	n->r.base = va, n->r.len = r->len, n->r.kind = r->kind;
	n->r.flags = r->kind == VM_GUARD ? 0 : r->flags;
	if (r->kind == VM_SHARED && (r->flags & VM_WRITE))
		n->r.flags |= VM_MAYWRITE;      /* writable now: writable later too */
	n->r.cache = r->kind == VM_MMIO ? r->cache : VM_CACHE_WB;
	n->r.pa = r->kind == VM_MMIO ? r->pa : 0;
	n->r.obj = r->obj, n->r.off = r->obj ? r->off : 0;      /* check_req: only objects' regions */
	MM_TRACE("vmm", "%s space: region %lx-%lx (%s, %zu KiB) created at va %lx",
		 s->kernel ? "kernel" : "process", va, va + r->len, vmm_kind_name(r->kind),
		 r->len >> 10, va);
	int e = back_populate(s, &n->r);
	if (e) {
		pool_put(&s->pool, n);
		MM_TRACE("vmm", "... not created: %s", vmm_error_str(e));
		return e;
	}
	if (n->r.obj)
		vmo_get(n->r.obj);
	rt_insert(&s->tree, n);
	s->nregions++;
	return 0;
}

/*
 * Allocate a region for r in the first hole of [r->lo, r->hi) (the whole
 * space if both are 0) that holds it at any alignment. Sets *va, returns
 * 0 or VMM_E_INVAL, _WX, _BOUNDS, _NO_SPACE, _NO_MEMORY.
 */
int vmm_alloc(struct vm_space *s, const struct vm_req *r, va_t *va)
{
	int e = check_req(s, r);
	if (e)
		return e;
	size_t align = r->align < PAGE_SIZE ? PAGE_SIZE : r->align;
	va_t lo = r->lo, hi = r->hi;
	if (!lo && !hi)
		lo = s->lo, hi = s->hi;
	if (align & (align - 1))
		return VMM_E_INVAL;
	if (lo < s->lo || hi > s->hi || lo >= hi || (lo | hi) & (PAGE_SIZE - 1))
		return VMM_E_BOUNDS;
	uint64_t flags = spin_lock_irqsave(&s->lock);
	va_t at;
	if (!rt_find_gap(s->tree, s->lo, s->hi, lo, hi, r->len, align, &at))
		e = VMM_E_NO_SPACE;
	else if (!(e = region_add(s, at, r)))
		*va = at;
	pool_trim(&s->pool, &s->tree);
	spin_unlock_irqrestore(&s->lock, flags);
	return e;
}

/* Allocate a region for r at exactly va. 0, or VMM_E_OVERLAP and the rest. */
int vmm_alloc_fixed(struct vm_space *s, va_t va, const struct vm_req *r)
{
	int e = check_req(s, r);
	if (e)
		return e;
	if (va & (PAGE_SIZE - 1))
		return VMM_E_INVAL;
	if (va < s->lo || va > s->hi - r->len)
		return VMM_E_BOUNDS;
	uint64_t flags = spin_lock_irqsave(&s->lock);
	struct vm_node *n = rt_first_ending_after(s->tree, va);
	if (n && n->r.base < va + r->len)
		e = VMM_E_OVERLAP;
	else
		e = region_add(s, va, r);
	pool_trim(&s->pool, &s->tree);
	spin_unlock_irqrestore(&s->lock, flags);
	return e;
}

/* ---- cutting and changing regions ---- */

/*
 * Cut n at x (inside it): n keeps [base, x), a new node from the pool
 * (reserved by the caller, so it cannot fail) takes [x, end) with the same
 * kind, flags and cache, and its share of the resident pages.
 */
static struct vm_node *split_at(struct vm_space *s, struct vm_node *n, va_t x)
{
	struct vm_node *t = pool_get(&s->pool);
	if (!t)
		MM_PANIC("vmm", "split_at: the node reserved for the split of %lx is gone", n->r.base);
	t->r.base = x, t->r.len = region_end(&n->r) - x;
	t->r.kind = n->r.kind, t->r.flags = n->r.flags, t->r.cache = n->r.cache;
	t->r.pa = n->r.kind == VM_MMIO ? n->r.pa + (x - n->r.base) : 0;
	t->r.obj = n->r.obj;
	t->r.off = n->r.obj ? n->r.off + (x - n->r.base) : 0;
	t->r.resident = 0;
	if (t->r.obj)
		vmo_get(t->r.obj);
	if (kind_has_frames(n->r.kind))
		t->r.resident = back_count(s, t->r.base, t->r.len);
	n->r.resident -= t->r.resident;
	rt_remove(&s->tree, n);         /* n's end moves: its subtree facts must be redone */
	n->r.len = x - n->r.base;
	rt_insert(&s->tree, n);
	rt_insert(&s->tree, t);
	s->nregions++;
	return t;
}

/* Split n so that [va, va + len), inside it, is a region of its own; returns that region. */
static struct vm_node *isolate(struct vm_space *s, struct vm_node *n, va_t va, size_t len)
{
	if (va > n->r.base)
		n = split_at(s, n, va);
	if (va + len < region_end(&n->r))
		split_at(s, n, va + len);
	return n;
}

/* Nodes isolate() will take for [va, va + len) of n. */
static unsigned nodes_needed(const struct vm_node *n, va_t va, size_t len)
{
	return (va > n->r.base) + (va + len < region_end(&n->r));
}

/* The region holding all of [va, va + len), or NULL. */
static struct vm_node *holding(struct vm_space *s, va_t va, size_t len)
{
	struct vm_node *n = rt_find(s->tree, va);
	if (!n || len > region_end(&n->r) - va)
		return 0;
	return n;
}

/* *put: the object the freed region held, to be put once the lock is dropped (its release may call the heap). */
static int free_locked(struct vm_space *s, va_t va, size_t len, struct vm_object **put)
{
	struct vm_node *n = holding(s, va, len);
	if (!n)
		return VMM_E_NO_REGION;
	if (!pool_reserve(&s->pool, nodes_needed(n, va, len)))
		return VMM_E_NO_MEMORY;
	int e = back_release(s, &n->r, va, len);
	if (e)
		return e;
	n = isolate(s, n, va, len);
	rt_remove(&s->tree, n);
	*put = n->r.obj;
	pool_put(&s->pool, n);
	s->nregions--;
	return 0;
}

/*
 * Free [va, va + len), which lies inside one region. Returns 0, or
 * VMM_E_INVAL, VMM_E_NO_REGION, VMM_E_NO_MEMORY with nothing changed.
 */
int vmm_free(struct vm_space *s, va_t va, size_t len)
{
	if (!len || (va | len) & (PAGE_SIZE - 1))
		return VMM_E_INVAL;
	struct vm_object *put = 0;
	uint64_t flags = spin_lock_irqsave(&s->lock);
	int e = free_locked(s, va, len, &put);
	pool_trim(&s->pool, &s->tree);
	spin_unlock_irqrestore(&s->lock, flags);
	if (put)
		vmo_put(put);
	if (!e)
		MM_TRACE("vmm", "%s space: %lx-%lx freed: unmapped, frames back to the buddy",
			 s->kernel ? "kernel" : "process", va, va + len);
	return e;
}

static int protect_locked(struct vm_space *s, va_t va, size_t len, unsigned prot)
{
	struct vm_node *n = holding(s, va, len);
	if (!n)
		return VMM_E_NO_REGION;
	if (n->r.kind == VM_GUARD)
		return VMM_E_GUARD;
	if (n->r.kind == VM_SHARED && (prot & VM_WRITE) && !(n->r.flags & VM_MAYWRITE))
		return VMM_E_ACCESS;    /* the object's owner did not allow writes through it */
	if (!pool_reserve(&s->pool, nodes_needed(n, va, len)))
		return VMM_E_NO_MEMORY;
	int e = back_protect(s, &n->r, va, len, prot);
	if (e)
		return e;
	n = isolate(s, n, va, len);
	n->r.flags = prot | (n->r.flags & VM_MAYWRITE);
	return 0;
}

/*
 * Give [va, va + len), inside one region, the protection prot. Returns 0,
 * or VMM_E_INVAL, VMM_E_WX, VMM_E_NO_REGION, VMM_E_GUARD, VMM_E_NO_MEMORY
 * with nothing changed.
 */
int vmm_protect(struct vm_space *s, va_t va, size_t len, unsigned prot)
{
	if (!len || (va | len) & (PAGE_SIZE - 1))
		return VMM_E_INVAL;
	int e = check_flags(s, prot);
	if (e)
		return e;
	uint64_t flags = spin_lock_irqsave(&s->lock);
	e = protect_locked(s, va, len, prot);
	pool_trim(&s->pool, &s->tree);
	spin_unlock_irqrestore(&s->lock, flags);
	return e;
}

/* Copy the region holding va into *out; false if there is none. */
bool vmm_lookup(struct vm_space *s, va_t va, struct vm_region *out)
{
	uint64_t flags = spin_lock_irqsave(&s->lock);
	struct vm_node *n = rt_find(s->tree, va);
	if (n)
		*out = n->r;
	spin_unlock_irqrestore(&s->lock, flags);
	return n != 0;
}
