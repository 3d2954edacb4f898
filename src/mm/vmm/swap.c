/*
 * swap.c - anonymous pages out to the swap area and back, and the clock
 * that chooses them: the VMM's half of swapping (the area, its slots and
 * the slots kept for clean pages are mm/swap/; who is asked to reclaim,
 * and when, is src/proc/reclaim.c; docs/swap.md).
 *
 *   out:  a slot taken -> the PTE becomes a swap entry holding it (the TLB
 *         entry shot down: no CPU writes the page any more) -> the frame
 *         written to the slot -> the frame freed. A failed write maps the
 *         frame back over its entry and gives the slot back.
 *   in:   a not-present fault finds a swap entry -> a frame -> the slot read
 *         into it -> mapped over the entry with the region's rights -> the
 *         slot freed, or, for a read fault, kept: while the page stays clean
 *         in that frame, its next swap-out writes nothing. A failed read is
 *         VMF_SWAP_IO: the page stays in swap.
 *
 * Only a frame the space holds alone goes out (refcount 1): a copy-on-write
 * page shared with another space, or an object's, would need every space
 * that maps it changed at once, which takes a reverse map Strata does not
 * have. So a swapped page is always a private anonymous page, and the fork
 * that would share it brings it back first (swap_in_range).
 */
#include "mm/vmm/vmm_private.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/swap/swap.h"
#include "mm/trace.h"

static bool anonymous(const struct vm_region *r) { return r->kind == VM_ANON || r->kind == VM_DEMAND; }

static int swap_out_locked(struct vm_space *s, va_t va)
{
	struct vm_node *n = rt_find(s->tree, va);
	pa_t pa, got;
	unsigned pf;
	uint64_t slot, kept_pa = 0;
	bool kept = false, dirty = true;
	if (!n)
		return VMM_E_NO_REGION;
	if (!anonymous(&n->r))
		return VMM_E_BUSY;
	if (pg_translate(s->root, va, &pa, &pf, 0))
		return VMM_E_NOT_MAPPED;
	if (pmm_frame_refcount(pa) != 1)
		return VMM_E_BUSY;
	/* A slot kept since the page came back: the write goes there, if one is needed. */
	if (s->kept && swap_unkeep(s, va, &slot, &kept_pa))
		kept = true, s->kept--;
	else if (swap_slot_take(&slot))
		return VMM_E_IO;
	/* The entry before the write: once the PTE says "in swap", no CPU can change the frame. */
	if (pg_swap_out(s->root, va, slot, &got, &dirty) || got != pa)
		MM_PANIC("vmm", "swap out of mapped page %lx refused by the tables", va);
	/* Clean: not written since it was read from the slot, into this same frame. */
	bool clean = kept && !dirty && kept_pa == pa;
	if (clean) {
		swap_count_clean();
	} else if (swap_write_slot(slot, phys_to_virt(pa))) {
		if (pg_map(s->root, va, pa, PAGE_SIZE, pf | PG_SIZE_4K | PG_MAP_REPLACE |
			   ((pf & PG_WRITE) && (pf & PG_EXEC) ? PG_ALLOW_WX : 0)))
			MM_PANIC("vmm", "page %lx cannot go back over its own swap entry", va);
		swap_free_slot(slot);
		return VMM_E_IO;
	}
	pmm_free_page(pa);
	n->r.resident--, s->resident--;
	s->swapped++;
	MM_TRACE("vmm", "page %lx: frame pa 0x%llx %s swap slot %llu, freed", va, (unsigned long long)pa,
		 clean ? "clean, its bytes still in" : "written to",
		 (unsigned long long)slot);
	return 0;
}

int vmm_swap_out(struct vm_space *s, va_t va)
{
	if (s->kernel) {
		MM_MISUSE("vmm", "vmm_swap_out: the kernel's memory is never swapped");
		return VMM_E_INVAL;
	}
	va &= ~(PAGE_SIZE - 1);
	uint64_t flags = spin_lock_irqsave(&s->lock);
	int e = swap_out_locked(s, va);
	spin_unlock_irqrestore(&s->lock, flags);
	return e;
}

/*
 * Page va of r is in swap at slot (the fault found its entry): bring it
 * back. 0, VMM_E_NO_MEMORY (no frame: the page stays in swap) or VMM_E_IO.
 */
int swap_in_page(struct vm_space *s, struct vm_region *r, va_t va, uint64_t slot, bool keep)
{
	pa_t pa = pmm_alloc_page(0);
	unsigned pf = pg_flags_for(s, r->flags, VM_CACHE_WB) | PG_SIZE_4K | PG_MAP_REPLACE;
	if (pa == PMM_NO_FRAME)
		return VMM_E_NO_MEMORY;
	if (swap_read_page(slot, phys_to_virt(pa))) {
		pmm_free_page(pa);
		return VMM_E_IO;
	}
	int e = pg_map(s->root, va, pa, PAGE_SIZE, pf);
	if (e) {
		pmm_free_page(pa);
		return VMM_E_NO_MEMORY;         /* over an entry in a table that exists: none is made */
	}
	if (keep && swap_keep(s, va, slot, pa))
		s->kept++;
	else if (!keep)
		swap_free_slot(slot);           /* (a slot swap_keep cannot keep it frees) */
	r->resident++, s->resident++;
	s->swapped--;
	MM_TRACE("vmm", "page %lx: swap slot %llu read back into frame pa 0x%llx", va,
		 (unsigned long long)slot, (unsigned long long)pa);
	return 0;
}

/* Swap entries of a window, gathered (pg_walk_swap forbids edits while it runs). */
#define WINDOW 64
struct entries {
	unsigned n;
	va_t va[WINDOW];
	uint64_t slot[WINDOW];
};

static void gather(va_t va, uint64_t slot, void *arg)
{
	struct entries *l = arg;
	if (l->n < WINDOW)
		l->va[l->n] = va, l->slot[l->n] = slot, l->n++;
}

/* Bring every page of r in swap back (a fork shares pages, never swap entries). */
int swap_in_range(struct vm_space *s, struct vm_region *r)
{
	if (!s->swapped || !anonymous(r))
		return 0;
	for (va_t w = r->base; w < region_end(r); w += WINDOW * PAGE_SIZE) {
		struct entries l = { 0 };
		size_t len = region_end(r) - w < WINDOW * PAGE_SIZE ? region_end(r) - w : WINDOW * PAGE_SIZE;
		pg_walk_swap(s->root, w, len, gather, &l);
		for (unsigned i = 0; i < l.n; i++) {
			int e = swap_in_page(s, r, l.va[i], l.slot[i], false);
			if (e)
				return e;
		}
	}
	return 0;
}

/* The pages of [va, va + len) in swap go: their entries, and their slots; slots kept too. */
void swap_release(struct vm_space *s, va_t va, size_t len)
{
	if (s->kept)
		s->kept -= swap_drop_kept(s, va, len);
	if (!s->swapped)
		return;
	for (va_t w = va; w < va + len; w += WINDOW * PAGE_SIZE) {
		struct entries l = { 0 };
		size_t wlen = va + len - w < WINDOW * PAGE_SIZE ? va + len - w : WINDOW * PAGE_SIZE;
		pg_walk_swap(s->root, w, wlen, gather, &l);
		for (unsigned i = 0; i < l.n; i++) {
			if (pg_swap_drop(s->root, l.va[i], 0))
				MM_PANIC("vmm", "swap entry of %lx vanished under the space's lock", l.va[i]);
			swap_free_slot(l.slot[i]);
			s->swapped--;
		}
	}
}

/* ---- reclaim: the clock ---- */

struct hand {
	unsigned n;
	va_t va[WINDOW];
};

static void resident_page(va_t va, pa_t pa, size_t size, unsigned flags, void *arg)
{
	struct hand *h = arg;
	(void)pa, (void)size, (void)flags;
	if (h->n < WINDOW)
		h->va[h->n++] = va;
}

/*
 * One window of the hand, from *at in region r: each resident page seen
 * (*seen) gets its second chance or goes out (*out). Returns false when
 * swap refuses (full, or the disk failed): no point in going on.
 */
static bool sweep(struct vm_space *s, struct vm_region *r, va_t *at, uint64_t want,
		  uint64_t *out, uint64_t *seen)
{
	struct hand h = { 0 };
	size_t len = region_end(r) - *at < WINDOW * PAGE_SIZE ? region_end(r) - *at : WINDOW * PAGE_SIZE;
	pg_walk(s->root, *at, len, resident_page, &h);
	*at += len;
	for (unsigned i = 0; i < h.n && *out < want; i++) {
		(*seen)++;
		if (pg_test_clear_accessed(s->root, h.va[i]) != 0)
			continue;                       /* used since the hand last passed */
		int e = swap_out_locked(s, h.va[i]);
		if (e == VMM_E_IO)
			return false;
		*out += !e;
		if (*out == want)
			*at = h.va[i] + PAGE_SIZE;      /* the next call starts after it */
	}
	return true;
}

uint64_t vmm_reclaim(struct vm_space *s, uint64_t want)
{
	uint64_t out = 0, seen = 0;
	if (s->kernel || !want)
		return 0;
	uint64_t flags = spin_lock_irqsave(&s->lock);
	uint64_t limit = 2 * s->resident;       /* two turns: every page's second chance spent */
	va_t at = s->clock;
	uint64_t seen_at_wrap = UINT64_MAX;
	bool go = true;
	while (go && out < want && seen < limit) {
		struct vm_node *n = rt_first_ending_after(s->tree, at);
		if (!n) {
			if (seen == seen_at_wrap)
				break;                  /* a whole turn found no page to look at */
			seen_at_wrap = seen;
			at = 0;
			continue;
		}
		if (at < n->r.base)
			at = n->r.base;
		if (!anonymous(&n->r)) {
			at = region_end(&n->r);
			continue;
		}
		go = sweep(s, &n->r, &at, want, &out, &seen);
	}
	s->clock = at;
	spin_unlock_irqrestore(&s->lock, flags);
	if (out)
		MM_TRACE("vmm", "reclaim: %llu page(s) written out after %llu looked at",
			 (unsigned long long)out, (unsigned long long)seen);
	return out;
}

uint64_t vmm_swapped(struct vm_space *s)
{
	uint64_t flags = spin_lock_irqsave(&s->lock);
	uint64_t n = s->swapped;
	spin_unlock_irqrestore(&s->lock, flags);
	return n;
}
