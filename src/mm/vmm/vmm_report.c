/*
 * vmm_report.c - what an address space holds, for people (vmm_report) and
 * for programs (vmm_stats, the VMM line); the names of errors, kinds and
 * flags; and the checks tests lean on.
 */
#include "mm/vmm/vmm_private.h"
#include "mm/paging/paging.h"
#include "mm/buddy/buddy.h"
#include "mm/swap/swap.h"

static const char *const error_text[] = {
	"ok", "invalid argument", "outside the bounds", "overlaps a region",
	"out of virtual space", "out of memory", "no region holds the range",
	"a guard region has no protection",
	"writable and executable without VM_ALLOW_WX", "the space is in use (in CR3)",
	"a page of the region is not mapped", "the region's object may not be written through it",
};

const char *vmm_error_str(int e)
{
	return e <= 0 && -e < (int)(sizeof(error_text) / sizeof(error_text[0])) ? error_text[-e] : "?";
}

static const char *const kind_name[] = {
	[VM_ANON] = "anon", [VM_DEMAND] = "demand", [VM_MMIO] = "mmio", [VM_GUARD] = "guard",
	[VM_SHARED] = "shared", [VM_PRIVATE] = "private",
};

const char *vmm_kind_name(enum vm_kind k) { return k <= VM_KIND_LAST ? kind_name[k] : "?"; }

/* "rwxu", with dashes for what is not allowed. */
void vmm_flags_str(unsigned flags, char out[5])
{
	out[0] = flags & VM_READ ? 'r' : '-';
	out[1] = flags & VM_WRITE ? 'w' : '-';
	out[2] = flags & VM_EXEC ? 'x' : '-';
	out[3] = flags & VM_USER ? 'u' : '-';
	out[4] = '\0';
}

/*
 * Page tables below the root that hold a mapping: pg_walk gives leaves in
 * address order, and a table is new whenever the bits above its span
 * change. Paging frees tables an unmap leaves empty, so that is all of them.
 */
struct table_count {
	unsigned levels;
	va_t last[5];
	bool seen[5];
	uint64_t n;
};

static void count_tables(va_t va, pa_t pa, size_t size, unsigned flags, void *arg)
{
	struct table_count *t = arg;
	(void)pa, (void)flags;
	unsigned leaf = size >= (1UL << 30) ? 2 : size >= (1UL << 21) ? 1 : 0;
	for (unsigned l = leaf; l + 1 < t->levels; l++) {
		uintptr_t id = va >> (PAGE_SHIFT + 9 * (l + 1));
		if (!t->seen[l] || t->last[l] != id)
			t->n++;
		t->seen[l] = true, t->last[l] = id;
	}
}

static uint64_t tables_of(struct vm_space *s)
{
	struct table_count t = { .levels = paging_features()->levels };
	pg_walk(s->root, s->lo, s->hi - s->lo, count_tables, &t);
	return t.n + !s->kernel;        /* a process's root is its own */
}

static void count_shared(va_t va, pa_t pa, size_t size, unsigned flags, void *arg)
{
	(void)va, (void)size, (void)flags;
	if (pmm_frame_refcount(pa) > 1)
		(*(uint64_t *)arg)++;
}

static void stats_locked(struct vm_space *s, struct vm_stats *st)
{
	*st = (struct vm_stats){
		.regions = s->nregions, .resident = s->resident,
		.tables = tables_of(s),
		.node_pages = s->pool.npages + s->own_page,
		.faults = s->faults, .faults_resolved = s->resolved,
		.cow_copied = s->cow_copied, .cow_reused = s->cow_reused, .swapped = s->swapped,
	};
	for (struct vm_node *n = rt_first_ending_after(s->tree, 0); n;
	     n = rt_first_ending_after(s->tree, region_end(&n->r))) {
		if (n->r.kind == VM_MMIO)
			st->mmio_pages += n->r.len / PAGE_SIZE;
		else if (n->r.kind == VM_SHARED)
			st->object_pages += n->r.resident;
		else if ((s->shared || n->r.kind == VM_PRIVATE) && n->r.kind != VM_GUARD)
			pg_walk(s->root, n->r.base, n->r.len, count_shared, &st->shared);
	}
}

/* s's counters, read under its lock. */
void vmm_stats(struct vm_space *s, struct vm_stats *st)
{
	uint64_t flags = spin_lock_irqsave(&s->lock);
	stats_locked(s, st);
	spin_unlock_irqrestore(&s->lock, flags);
}

uint64_t vmm_resident(struct vm_space *s)
{
	uint64_t flags = spin_lock_irqsave(&s->lock);
	uint64_t n = s->resident;
	spin_unlock_irqrestore(&s->lock, flags);
	return n;
}

void vmm_for_each(struct vm_space *s, void (*fn)(const struct vm_region *r, void *arg), void *arg)
{
	uint64_t flags = spin_lock_irqsave(&s->lock);
	for (struct vm_node *n = rt_first_ending_after(s->tree, 0); n;
	     n = rt_first_ending_after(s->tree, region_end(&n->r))) {
		struct vm_region copy = n->r;
		fn(&copy, arg);
	}
	spin_unlock_irqrestore(&s->lock, flags);
}

static void print_region(const struct vm_region *r, void *arg)
{
	char fl[5];
	(void)arg;
	vmm_flags_str(r->flags, fl);
	kprintf("  %016lx-%016lx %-6s %s %s %8lu KiB %7lu resident", r->base, region_end(r),
		vmm_kind_name(r->kind), fl, pg_cache_name(vm_cache_bits(r->cache)), r->len >> 10, r->resident);
	if (r->kind == VM_MMIO)
		kprintf("  pa %lx", r->pa);
	kprintf("\n");
}

/* The regions of s and its counters, ending with one VMM line for programs. */
void vmm_report(struct vm_space *s, const char *name)
{
	struct vm_stats st;
	kprintf("vmm: address space %s [%lx, %lx), root %lx:\n", name, s->lo, s->hi, s->root);
	if (!s->nregions)
		kprintf("  (no regions)\n");
	vmm_for_each(s, print_region, 0);
	vmm_stats(s, &st);
	kprintf("VMM space=%s regions=%lu resident=%lu mmio_pages=%lu tables=%lu node_pages=%lu faults=%lu resolved=%lu"
		" shared=%lu cow_copied=%lu cow_reused=%lu object_pages=%lu swapped=%lu\n",
		name, st.regions, st.resident, st.mmio_pages, st.tables, st.node_pages,
		st.faults, st.faults_resolved, st.shared, st.cow_copied, st.cow_reused, st.object_pages,
		st.swapped);
}

static void count_swapped(va_t va, uint64_t slot, void *arg)
{
	(void)va, (void)slot;
	(*(uint64_t *)arg)++;
}

/*
 * The tree's invariants, and the counters against the page tables: each
 * region's resident count is what is mapped in it, and they add up.
 */
unsigned vmm_check(struct vm_space *s)
{
	uint64_t flags = spin_lock_irqsave(&s->lock);
	unsigned problems = rt_check(s->tree, s->lo, s->hi);
	uint64_t total = 0, n = 0, swapped = 0;
	for (struct vm_node *node = rt_first_ending_after(s->tree, 0); node;
	     node = rt_first_ending_after(s->tree, region_end(&node->r)), n++) {
		const struct vm_region *r = &node->r;
		uint64_t mapped = back_count(s, r->base, r->len), out = 0;
		bool anon = kind_has_frames(r->kind);
		pg_walk_swap(s->root, r->base, r->len, count_swapped, &out);
		if (out && r->kind != VM_ANON && r->kind != VM_DEMAND) {
			kprintf("vmm: check: region %lx (%s) holds %lu swap entries\n", r->base,
				vmm_kind_name(r->kind), out);
			problems++;
		}
		swapped += out;
		if ((anon && mapped != r->resident) || (r->kind == VM_ANON && mapped + out != r->len / PAGE_SIZE) ||
		    (r->kind == VM_GUARD && mapped) || (r->kind == VM_MMIO && mapped != r->len / PAGE_SIZE)) {
			kprintf("vmm: check: region %lx: %lu pages mapped, %lu counted\n", r->base, mapped, r->resident);
			problems++;
		}
		total += anon ? r->resident : 0;
	}
	if (swapped != s->swapped) {
		kprintf("vmm: check: %lu swap entries in the tables, %lu counted\n", swapped, s->swapped);
		problems++;
	}
	uint64_t kept = swap_kept_of(s);                /* a scan of swap's table */
	if (kept != s->kept) {
		kprintf("vmm: check: swap keeps %lu slots for the space, %lu counted\n", kept, s->kept);
		problems++;
	}
	if (total != s->resident || n != s->nregions) {
		kprintf("vmm: check: space counts %lu resident in %lu regions, regions hold %lu in %lu\n",
			s->resident, s->nregions, total, n);
		problems++;
	}
	spin_unlock_irqrestore(&s->lock, flags);
	return problems;
}
