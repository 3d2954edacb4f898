/*
 * gap.c - first fit: the lowest hole in an address space that can take a
 * new region, in O(log n) thanks to the max_gap each node carries.
 *
 * The holes of a space are [space_lo, first base), the spaces between
 * neighbours, and [last end, space_hi). A request for len bytes aligned
 * to align needs a hole of len + align - PAGE_SIZE bytes to be sure of
 * fitting whatever the hole's alignment; that is the size searched for
 * (as Linux's vm_unmapped_area does), so one that would only fit by luck
 * of alignment is passed over. The search may be limited to a window
 * [lo, hi) of the space (the kernel's areas); holes are clipped to it.
 *
 * The walk is in address order. A subtree is skipped when it ends below
 * the window, or when neither its leading hole nor its max_gap is big
 * enough. A subtree lying wholly in the window and passing that test
 * surely holds the answer, so the walk only ever backtracks along the two
 * edges of the window: O(log n).
 */
#include "mm/vmm/internal.h"

struct gap_query {
	uintptr_t lo, hi;       /* the window */
	size_t need, align;
	uintptr_t found;
};

/* Does the hole [a, b), clipped to the window, have need bytes? */
static bool try_hole(uintptr_t a, uintptr_t b, struct gap_query *q)
{
	if (a < q->lo)
		a = q->lo;
	if (b > q->hi)
		b = q->hi;
	if (b <= a || b - a < q->need)
		return false;
	q->found = (a + q->align - 1) & ~(q->align - 1);
	return true;
}

/*
 * Search the holes of subtree t in order, the first beginning at *before
 * (the end of the region just below t). On failure *before is t's max_end.
 */
static bool search(struct vm_region *t, uintptr_t *before, struct gap_query *q)
{
	if (!t)
		return false;
	if (*before >= q->hi)
		return false;
	bool lead_ok = t->min_base - *before >= q->need;
	if (t->max_end <= q->lo || (!lead_ok && t->max_gap < q->need)) {
		*before = t->max_end;
		return false;
	}
	if (search(t->left, before, q))
		return true;
	if (try_hole(*before, t->base, q))
		return true;
	*before = region_end(t);
	return search(t->right, before, q);
}

/*
 * The lowest address for len bytes aligned to align (a power of two, at
 * least a page) in a hole of [lo, hi), itself inside the space's bounds
 * [space_lo, space_hi). Sets *va and returns true, or returns false.
 */
bool rt_find_gap(struct vm_region *root, uintptr_t space_lo, uintptr_t space_hi,
		 uintptr_t lo, uintptr_t hi, size_t len, size_t align, uintptr_t *va)
{
	if (hi <= lo || len > hi - lo || align - PAGE_SIZE > (hi - lo) - len)
		return false;
	struct gap_query q = { lo, hi, len + align - PAGE_SIZE, align, 0 };
	uintptr_t before = space_lo;
	if (!search(root, &before, &q) && !try_hole(before, space_hi, &q))
		return false;
	*va = q.found;
	return true;
}
