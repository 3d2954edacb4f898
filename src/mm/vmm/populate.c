/*
 * populate.c - what stands behind a region's addresses: frames taken and
 * mapped (at allocation, or on a fault), given back, re-protected. With
 * swap.c (pages to swap and back), the only file of the VMM that edits
 * page tables, always through the paging layer and its portable flags;
 * the one place that turns the paging layer's errors into the VMM's
 * (vmm_error_of).
 *
 * VM_ANON, VM_DEMAND, VM_SHARED and VM_PRIVATE pages are single frames
 * mapped with 4 KiB pages, so that any page can be freed alone; VM_MMIO
 * ranges are mapped whole, with the largest pages paging can use.
 */
#include "mm/vmm/vmm_private.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/trace.h"
#include "lib/kstring.h"

static const unsigned cache_bits[] = {
	[VM_CACHE_WB] = PG_CACHE_WB, [VM_CACHE_WT] = PG_CACHE_WT,
	[VM_CACHE_UC] = PG_CACHE_UC, [VM_CACHE_WC] = PG_CACHE_WC,
};

unsigned vm_cache_bits(enum vm_cache cache)
{
	return cache_bits[cache];
}

/*
 * The paging flags for pages of a region of s with these flags and cache
 * type: what a PTE stores, so pg_protect takes them as they are.
 */
unsigned pg_flags_for(const struct vm_space *s, unsigned flags, enum vm_cache cache)
{
	unsigned f = PG_READ | cache_bits[cache];
	if (flags & VM_WRITE)
		f |= PG_WRITE;
	if (flags & VM_EXEC)
		f |= PG_EXEC;
	if ((flags & VM_WRITE) && (flags & VM_EXEC))
		f |= PG_ALLOW_WX;       /* only a region made with VM_ALLOW_WX gets here */
	if (flags & VM_USER)
		f |= PG_USER;
	if (s->kernel)
		f |= PG_GLOBAL;         /* the same in every space: keep it across CR3 loads */
	return f;
}

/*
 * The vmm_error that says what a paging error says. The VMM checks what it
 * passes down, so only PG_E_NO_MEMORY and an MMIO pa beyond the CPU's
 * width come from what a caller asked; the rest mean the tables were
 * edited behind the VMM's back.
 */
static int vmm_error_of(int pg_err)
{
	switch (pg_err) {
	case 0:
		return 0;
	case PG_E_NO_MEMORY:
		return VMM_E_NO_MEMORY;
	case PG_E_WX:
		return VMM_E_WX;
	case PG_E_EXISTS:
		return VMM_E_OVERLAP;           /* a page mapped where no region was */
	case PG_E_NOT_MAPPED:
		return VMM_E_NOT_MAPPED;
	case PG_E_CANONICAL:
		return VMM_E_BOUNDS;
	case PG_E_ALIGN:
	case PG_E_LENGTH:
	case PG_E_PHYS_RANGE:
	case PG_E_UNSUPPORTED:
	default:
		return VMM_E_INVAL;
	}
}

/*
 * Map one zeroed frame at va for region r. Returns 0, or VMM_E_NO_MEMORY
 * (or VMM_E_OVERLAP if a page is mapped there behind the VMM's back) with
 * nothing taken.
 */
int back_page(struct vm_space *s, struct vm_region *r, va_t va)
{
	pa_t pa = pmm_alloc_page(PMM_ZERO);
	if (pa == PMM_NO_FRAME)
		return VMM_E_NO_MEMORY;
	int e = pg_map(s->root, va, pa, PAGE_SIZE, pg_flags_for(s, r->flags, VM_CACHE_WB) | PG_SIZE_4K);
	if (e) {
		pmm_free_page(pa);
		return vmm_error_of(e);
	}
	r->resident++;
	s->resident++;
	MM_TRACE("vmm", "page %lx <- frame pa 0x%llx from the buddy (zeroed), mapped by paging",
		 va, (unsigned long long)pa);
	return 0;
}

/*
 * Back a new region (not yet in the tree): every frame of a VM_ANON one,
 * the device range of a VM_MMIO one. Returns 0, or an error with nothing
 * mapped and nothing taken.
 */
int back_populate(struct vm_space *s, struct vm_region *r)
{
	if (r->kind == VM_MMIO)
		return vmm_error_of(pg_map(s->root, r->base, r->pa, r->len, pg_flags_for(s, r->flags, r->cache)));
	if (r->kind != VM_ANON)
		return 0;
	for (size_t off = 0; off < r->len; off += PAGE_SIZE) {
		int e = back_page(s, r, r->base + off);
		if (e) {
			back_release(s, r, r->base, off);
			return e;
		}
	}
	return 0;
}

/*
 * The mapped pages of a window, gathered by pg_walk (which forbids edits
 * while it runs) and then dealt with. A window of 64 pages keeps the
 * buffer small enough for the kernel stack; empty tables cost the walk
 * almost nothing, so sparse regions stay cheap.
 */
#define WINDOW_PAGES 64
struct leaves {
	unsigned n;
	va_t va[WINDOW_PAGES];
	pa_t pa[WINDOW_PAGES];
};

/* pg_walk callback: one mapped page of an anonymous region (always 4 KiB: back_page). */
static void gather(va_t va, pa_t pa, size_t size, unsigned flags, void *arg)
{
	struct leaves *l = arg;
	(void)flags;
	if (size != PAGE_SIZE)
		MM_PANIC("vmm", "anonymous page %lx is mapped by a %zu KiB page", va, size >> 10);
	if (l->n < WINDOW_PAGES)
		l->va[l->n] = va, l->pa[l->n] = pa, l->n++;
}

/* Map frame pa at va for r with paging flags pf, and count it. */
static int map_counted(struct vm_space *s, struct vm_region *r, va_t va, pa_t pa, unsigned pf)
{
	int e = pg_map(s->root, va, pa, PAGE_SIZE, pf | PG_SIZE_4K);
	if (e)
		return vmm_error_of(e);
	r->resident++;
	s->resident++;
	return 0;
}

/*
 * back_object_page: see vmm_private.h. A VM_SHARED page is the object's
 * frame, made if new. A VM_PRIVATE region never changes the object: a
 * page the object has is mapped read-only (a read) or copied (a write); a
 * hole gets a zeroed frame of the region's own, as VM_DEMAND would.
 */
int back_object_page(struct vm_space *s, struct vm_region *r, va_t va, unsigned access)
{
	uint64_t idx = (r->off + (va - r->base)) / PAGE_SIZE;
	unsigned pf = pg_flags_for(s, r->flags, VM_CACHE_WB);
	bool private = r->kind == VM_PRIVATE;
	pa_t pa;
	int e = vmo_page(r->obj, idx, !private, &pa);
	if (e == VMM_E_NOT_MAPPED)
		return back_page(s, r, va);
	if (e)
		return e;
	if (private && !(access & VM_ACC_WRITE)) {
		pf &= ~PG_WRITE;        /* read in place until the first write copies it */
	} else if (private) {
		pa_t n = pmm_alloc_page(0);
		if (n == PMM_NO_FRAME) {
			vmo_page_put(pa);
			return VMM_E_NO_MEMORY;
		}
		memcpy(phys_to_virt(n), phys_to_virt(pa), PAGE_SIZE);
		vmo_page_put(pa);
		pa = n;
		s->cow_copied++;
	}
	e = map_counted(s, r, va, pa, pf);
	if (e) {
		s->cow_copied -= private && (access & VM_ACC_WRITE);
		back_free_frame(va, pa);
	}
	MM_TRACE("vmm", "page %lx <- frame pa 0x%llx, %s object %p's page %llu", va, (unsigned long long)pa,
		 !private ? "" : pf & PG_WRITE ? "a copy of" : "read-only,", (void *)r->obj,
		 (unsigned long long)idx);
	return e;
}

/*
 * Give back a frame the VMM mapped and has just unmapped. It took the frame
 * from the buddy itself, so a refusal means the two disagree about who owns
 * it: a broken invariant.
 */
void back_free_frame(va_t va, pa_t pa)
{
	unsigned refs = pmm_frame_refcount(pa);
	if (refs > 1) {         /* shared with another space (copy-on-write): one holder fewer */
		pmm_frame_put(pa);
		return;
	}
	int e = pmm_free_page(pa);
	if (e)
		MM_PANIC("vmm", "frame 0x%llx of page %lx was not the VMM's to free (pmm error %d)",
			 (unsigned long long)pa, va, e);
}

/*
 * Unmap runs of consecutive pages with one pg_unmap each; a run's frames go
 * back only once it is unmapped. The pages were found mapped by pg_walk
 * just before, in 4 KiB pages, so pg_unmap cannot refuse them: if it does,
 * the tables are not what the VMM made, and freeing the frames would hand
 * out memory that is still mapped.
 */
static void release_window(struct vm_space *s, struct leaves *l)
{
	for (unsigned i = 0, j; i < l->n; i = j) {
		for (j = i + 1; j < l->n && l->va[j] == l->va[j - 1] + PAGE_SIZE; j++)
			;
		int e = pg_unmap(s->root, l->va[i], (j - i) * PAGE_SIZE);
		if (e)
			MM_PANIC("vmm", "back_release: pg_unmap of mapped pages %lx-%lx: %s",
				 l->va[i], l->va[j - 1] + PAGE_SIZE, pg_error_str(e));
		for (unsigned k = i; k < j; k++)
			back_free_frame(l->va[k], l->pa[k]);
	}
}

/*
 * Take away the backing of [va, va + len) inside region r: unmap it (the
 * tables it empties go too) and give anonymous frames back; an MMIO
 * range's frames stay where they are. Returns 0, or VMM_E_NO_MEMORY with
 * nothing changed if an MMIO huge page sticking out needed a table to split.
 */
int back_release(struct vm_space *s, struct vm_region *r, va_t va, size_t len)
{
	if (r->kind == VM_MMIO)
		return vmm_error_of(pg_unmap(s->root, va, len));
	if (r->kind == VM_GUARD)
		return 0;
	swap_release(s, va, len);       /* pages in swap: their entries and slots */
	for (va_t w = va; w < va + len; w += WINDOW_PAGES * PAGE_SIZE) {
		struct leaves l = { 0 };
		size_t wlen = va + len - w < WINDOW_PAGES * PAGE_SIZE ? va + len - w : WINDOW_PAGES * PAGE_SIZE;
		pg_walk(s->root, w, wlen, gather, &l);
		release_window(s, &l);
		r->resident -= l.n;
		s->resident -= l.n;
	}
	return 0;
}

static void count_leaf(va_t va, pa_t pa, size_t size, unsigned flags, void *arg)
{
	(void)va, (void)pa, (void)flags;
	*(uint64_t *)arg += size / PAGE_SIZE;
}

/* Mapped pages in [va, va + len) of s. */
uint64_t back_count(struct vm_space *s, va_t va, size_t len)
{
	uint64_t n = 0;
	pg_walk(s->root, va, len, count_leaf, &n);
	return n;
}

/*
 * Give the mapped pages of [va, va + len) in region r the flags. Returns
 * 0, or VMM_E_NO_MEMORY with nothing changed (MMIO huge page split).
 * Pages filled on a fault (demand, an object's) are re-protected a window
 * at a time, only those mapped; they are 4 KiB pages, so no split is
 * needed and nothing can fail half way.
 */
int back_protect(struct vm_space *s, struct vm_region *r, va_t va, size_t len, unsigned flags)
{
	unsigned pf = pg_flags_for(s, flags, r->cache);
	if (r->kind == VM_MMIO || (r->kind == VM_ANON && !s->swapped && (!(flags & VM_WRITE) || !s->shared)))
		return vmm_error_of(pg_protect(s->root, va, len, pf));
	for (va_t w = va; w < va + len; w += WINDOW_PAGES * PAGE_SIZE) {
		struct leaves l = { 0 };
		size_t wlen = va + len - w < WINDOW_PAGES * PAGE_SIZE ? va + len - w : WINDOW_PAGES * PAGE_SIZE;
		pg_walk(s->root, w, wlen, gather, &l);
		for (unsigned i = 0; i < l.n; i++) {
			/*
			 * A frame held elsewhere too stays read-only, so a write still faults
			 * and copies; but a VM_SHARED region's frames are the object's, meant
			 * to be written in place.
			 */
			bool cow = r->kind != VM_SHARED && pmm_frame_refcount(l.pa[i]) > 1;
			unsigned f = cow ? pf & ~PG_WRITE : pf;
			int e = pg_protect(s->root, l.va[i], PAGE_SIZE, f);
			if (e)      /* a mapped 4 KiB page: nothing to split, nothing to refuse */
				MM_PANIC("vmm", "back_protect: pg_protect of mapped page %lx: %s",
					 l.va[i], pg_error_str(e));
		}
	}
	return 0;
}

/* ---- copy-on-write (fork.c): the table edits ---- */

/*
 * Protect a window's pages of p read-only, in runs of consecutive pages
 * (one pg_protect, one flush, a run). They were found mapped, in 4 KiB
 * pages, just before: a refusal is a broken invariant.
 */
static void protect_runs(struct vm_space *p, const struct leaves *l, unsigned pf)
{
	for (unsigned i = 0, j; i < l->n; i = j) {
		for (j = i + 1; j < l->n && l->va[j] == l->va[j - 1] + PAGE_SIZE; j++)
			;
		int e = pg_protect(p->root, l->va[i], (j - i) * PAGE_SIZE, pf);
		if (e)
			MM_PANIC("vmm", "back_share: pg_protect of mapped pages %lx-%lx: %s",
				 l->va[i], l->va[j - 1] + PAGE_SIZE, pg_error_str(e));
	}
}

/* back_share: see fork.c. */
int back_share(struct vm_space *p, struct vm_space *c, struct vm_region *pr, struct vm_region *cr,
	       uint64_t *shared)
{
	if (pr->kind == VM_GUARD)
		return 0;
	if (pr->kind == VM_MMIO)
		return back_populate(c, cr);
	/* A page in swap comes back first: a fork shares frames, never a swap entry. */
	int back = swap_in_range(p, pr);
	if (back)
		return back;
	/* A shared region stays writable in both: its frames are the object's, not copied. */
	bool cow = pr->kind != VM_SHARED;
	unsigned pf = pg_flags_for(p, cow ? pr->flags & ~VM_WRITE : pr->flags, VM_CACHE_WB);
	for (va_t w = pr->base; w < region_end(pr); w += WINDOW_PAGES * PAGE_SIZE) {
		struct leaves l = { 0 };
		size_t wlen = region_end(pr) - w < WINDOW_PAGES * PAGE_SIZE ? region_end(pr) - w
									  : WINDOW_PAGES * PAGE_SIZE;
		pg_walk(p->root, w, wlen, gather, &l);
		for (unsigned i = 0; i < l.n; i++) {
			int e = pg_map(c->root, l.va[i], l.pa[i], PAGE_SIZE, pf | PG_SIZE_4K);
			if (e)
				return vmm_error_of(e);
			pmm_frame_get(l.pa[i]);
			cr->resident++, c->resident++;
			(*shared)++;
		}
		if (cow && (pr->flags & VM_WRITE))
			protect_runs(p, &l, pf);
	}
	return 0;
}

/* back_cow: see fork.c. */
int back_cow(struct vm_space *s, struct vm_region *r, va_t va, pa_t pa)
{
	unsigned pf = pg_flags_for(s, r->flags, VM_CACHE_WB);

	if (pmm_frame_refcount(pa) == 1) {      /* the others let it go: ours alone again, no copy */
		int e = pg_protect(s->root, va, PAGE_SIZE, pf);
		if (!e)
			s->cow_reused++;
		MM_TRACE("vmm", "page %lx: copy-on-write, the last holder of frame pa 0x%llx takes it back writable",
			 va, (unsigned long long)pa);
		return vmm_error_of(e);
	}
	pa_t n = pmm_alloc_page(0);
	if (n == PMM_NO_FRAME)
		return VMM_E_NO_MEMORY;
	memcpy(phys_to_virt(n), phys_to_virt(pa), PAGE_SIZE);
	int e = pg_map(s->root, va, n, PAGE_SIZE, pf | PG_SIZE_4K | PG_MAP_REPLACE);
	if (e) {
		pmm_free_page(n);
		return vmm_error_of(e);
	}
	back_free_frame(va, pa);
	s->cow_copied++;
	MM_TRACE("vmm", "page %lx: copy-on-write, frame pa 0x%llx copied to pa 0x%llx",
		 va, (unsigned long long)pa, (unsigned long long)n);
	return 0;
}
