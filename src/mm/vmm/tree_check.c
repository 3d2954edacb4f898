/*
 * tree_check.c - every invariant of a region tree, recomputed from
 * scratch: the host tests run it after each step of their random
 * sequences, and vmm_check() offers it to the kernel.
 */
#include "mm/vmm/internal.h"

struct walk {
	uintptr_t prev_end;     /* end of the last region visited, in order */
	bool any;
	uintptr_t space_lo, space_hi;
	unsigned problems;
};

static void problem(struct walk *w, const struct vm_region *n, const char *what)
{
	kprintf("vmm: check: region %lx+%lx: %s\n", n->base, n->len, what);
	w->problems++;
}

static void check_node(struct walk *w, const struct vm_region *n)
{
	if (!n->len || (n->base | n->len) & (PAGE_SIZE - 1))
		problem(w, n, "empty or not page aligned");
	if (n->base < w->space_lo || n->len > w->space_hi - n->base)
		problem(w, n, "outside the space's bounds");
	if (w->any && n->base < w->prev_end)
		problem(w, n, "out of order or overlapping its predecessor");
	w->prev_end = region_end(n);
	w->any = true;
}

/*
 * Check subtree n; returns its height, and its true min_base, max_end and
 * max_gap through the pointers, to compare with what n says.
 */
static int check(struct walk *w, const struct vm_region *n,
		 uintptr_t *min_base, uintptr_t *max_end, size_t *max_gap)
{
	uintptr_t lmin = 0, lmax = 0, rmin = 0, rmax = 0;
	size_t lgap = 0, rgap = 0, gap = 0;
	int hl = n->left ? check(w, n->left, &lmin, &lmax, &lgap) : 0;
	check_node(w, n);
	int hr = n->right ? check(w, n->right, &rmin, &rmax, &rgap) : 0;
	if (n->left)
		gap = lgap > n->base - lmax ? lgap : n->base - lmax;
	if (n->right) {
		size_t g = rgap > rmin - region_end(n) ? rgap : rmin - region_end(n);
		gap = g > gap ? g : gap;
	}
	*min_base = n->left ? lmin : n->base;
	*max_end = n->right ? rmax : region_end(n);
	*max_gap = gap;
	int h = 1 + (hl > hr ? hl : hr);
	if (hl - hr > 1 || hr - hl > 1)
		problem(w, n, "out of balance");
	if (n->height != h)
		problem(w, n, "wrong height");
	if (n->min_base != *min_base || n->max_end != *max_end || n->max_gap != gap)
		problem(w, n, "wrong gap augmentation");
	return h;
}

/* Check the tree at root against the space's bounds; returns the number of problems. */
unsigned rt_check(struct vm_region *root, uintptr_t space_lo, uintptr_t space_hi)
{
	struct walk w = { 0, false, space_lo, space_hi, 0 };
	uintptr_t a, b;
	size_t g;
	if (root)
		check(&w, root, &a, &b, &g);
	return w.problems;
}
