/*
 * region_tree.c - an address space's regions in an AVL tree keyed by base.
 *
 * Each node also carries three facts about its subtree, recomputed from its
 * children whenever the subtree changes shape (fix()):
 *
 *   min_base   the lowest base in the subtree
 *   max_end    the highest end in the subtree
 *   max_gap    the largest hole between two neighbouring regions of the
 *              subtree: max(left->max_gap, right->max_gap,
 *                           base - left->max_end, right->min_base - end)
 *
 * Because each fact depends only on the node and its two children, the
 * rotations and the path back up after an insert or a removal keep them
 * right in O(log n), and gap.c can skip any subtree whose max_gap is too
 * small. The tree is recursive and has no parent pointers: at most about
 * 1.44 log2(n) frames deep, a few hundred bytes of stack.
 */
#include "mm/vmm/internal.h"

static int height(const struct vm_region *n) { return n ? n->height : 0; }
static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Recompute n's height and subtree facts from its children. */
static void fix(struct vm_region *n)
{
	struct vm_region *l = n->left, *r = n->right;
	int hl = height(l), hr = height(r);
	n->height = 1 + (hl > hr ? hl : hr);
	n->min_base = l ? l->min_base : n->base;
	n->max_end = r ? r->max_end : region_end(n);
	n->max_gap = 0;
	if (l)
		n->max_gap = max_sz(l->max_gap, n->base - l->max_end);
	if (r)
		n->max_gap = max_sz(n->max_gap, max_sz(r->max_gap, r->min_base - region_end(n)));
}

static struct vm_region *rotate_right(struct vm_region *n)
{
	struct vm_region *l = n->left;
	n->left = l->right;
	l->right = n;
	fix(n);
	fix(l);
	return l;
}

static struct vm_region *rotate_left(struct vm_region *n)
{
	struct vm_region *r = n->right;
	n->right = r->left;
	r->left = n;
	fix(n);
	fix(r);
	return r;
}

/* Restore |height(left) - height(right)| <= 1 at n; returns the subtree's new root. */
static struct vm_region *balance(struct vm_region *n)
{
	int bf = height(n->left) - height(n->right);
	if (bf > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bf < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	fix(n);
	return n;
}

static struct vm_region *insert(struct vm_region *t, struct vm_region *n)
{
	if (!t)
		return n;
	if (n->base < t->base)
		t->left = insert(t->left, n);
	else
		t->right = insert(t->right, n);
	return balance(t);
}

/*
 * Add n to the tree. The caller has checked that it overlaps no region;
 * n's tree fields are set here.
 */
void rt_insert(struct vm_region **root, struct vm_region *n)
{
	n->left = n->right = 0;
	fix(n);
	*root = insert(*root, n);
}

/* Unlink the lowest node of t into *min; returns what is left of t. */
static struct vm_region *remove_min(struct vm_region *t, struct vm_region **min)
{
	if (!t->left) {
		*min = t;
		return t->right;
	}
	t->left = remove_min(t->left, min);
	return balance(t);
}

static struct vm_region *remove(struct vm_region *t, struct vm_region *n)
{
	if (!t)
		MM_PANIC("vmm", "rt_remove: region %lx not in the tree", n->base);
	if (n->base < t->base) {
		t->left = remove(t->left, n);
	} else if (n->base > t->base) {
		t->right = remove(t->right, n);
	} else {
		/* Splice the successor node itself into t's place: nodes never move. */
		struct vm_region *l = t->left, *r = t->right, *m;
		if (!r)
			return l;
		r = remove_min(r, &m);
		m->left = l, m->right = r;
		return balance(m);
	}
	return balance(t);
}

/* Take n (which is in the tree) out of it. The node is the caller's again. */
void rt_remove(struct vm_region **root, struct vm_region *n)
{
	*root = remove(*root, n);
}

/* The region containing va, or NULL. */
struct vm_region *rt_find(struct vm_region *root, uintptr_t va)
{
	struct vm_region *n = root;
	while (n) {
		if (va < n->base)
			n = n->left;
		else if (va >= region_end(n))
			n = n->right;
		else
			return n;
	}
	return 0;
}

/*
 * The lowest region whose end is above va, or NULL: the one containing va
 * if any, else the next one up. Used to test a range for overlap and to
 * walk the regions in order.
 */
struct vm_region *rt_first_ending_after(struct vm_region *root, uintptr_t va)
{
	struct vm_region *n = root, *best = 0;
	while (n) {
		if (region_end(n) > va) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}
