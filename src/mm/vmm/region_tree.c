/*
 * region_tree.c - everything about an address space's tree of regions:
 * the AVL tree, the first-fit search for a hole in it, the pool its nodes
 * come from, and the check of its invariants.
 *
 * ---- The tree ----
 *
 * Regions are kept in an AVL tree keyed by base. Each node also carries
 * three facts about its subtree, recomputed from its children whenever the
 * subtree changes shape (fix()):
 *
 *   min_base   the lowest base in the subtree
 *   max_end    the highest end in the subtree
 *   max_gap    the largest hole between two neighbouring regions of the
 *              subtree: max(left->max_gap, right->max_gap,
 *                           base - left->max_end, right->min_base - end)
 *
 * Because each fact depends only on the node and its two children, the
 * rotations and the path back up after an insert or a removal keep them
 * right in O(log n), and the gap search can skip any subtree whose max_gap
 * is too small. The tree is recursive and has no parent pointers: at most
 * about 1.44 log2(n) frames deep, a few hundred bytes of stack.
 */
#include "mm/vmm/vmm_private.h"
#include "mm/buddy/buddy.h"
#include "lib/kstring.h"

static int height(const struct vm_node *n) { return n ? n->height : 0; }

/* Recompute n's height and subtree facts from its children. */
static void fix(struct vm_node *n)
{
	struct vm_node *l = n->left, *r = n->right;
	va_t end = n->r.base + n->r.len;
	int hl = height(l), hr = height(r);
	n->height = 1 + (hl > hr ? hl : hr);
	n->min_base = l ? l->min_base : n->r.base;
	n->max_end = r ? r->max_end : end;
	n->max_gap = 0;
	if (l)
		n->max_gap = l->max_gap > n->r.base - l->max_end ? l->max_gap : n->r.base - l->max_end;
	if (r && r->max_gap > n->max_gap)
		n->max_gap = r->max_gap;
	if (r && r->min_base - end > n->max_gap)
		n->max_gap = r->min_base - end;
}

static struct vm_node *rotate_right(struct vm_node *n)
{
	struct vm_node *l = n->left;
	n->left = l->right;
	l->right = n;
	fix(n);
	fix(l);
	return l;
}

static struct vm_node *rotate_left(struct vm_node *n)
{
	struct vm_node *r = n->right;
	n->right = r->left;
	r->left = n;
	fix(n);
	fix(r);
	return r;
}

/* Restore |height(left) - height(right)| <= 1 at n; returns the subtree's new root. */
static struct vm_node *balance(struct vm_node *n)
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

/*
 * Add n to the subtree at *t. The caller has checked that it overlaps no
 * region; n's tree fields are set here.
 */
void rt_insert(struct vm_node **t, struct vm_node *n)
{
	if (!*t) {
		n->left = n->right = 0;
		fix(n);
		*t = n;
		return;
	}
	rt_insert(n->r.base < (*t)->r.base ? &(*t)->left : &(*t)->right, n);
	*t = balance(*t);
}

/* Unlink the lowest node of t into *min; returns what is left of t. */
static struct vm_node *remove_min(struct vm_node *t, struct vm_node **min)
{
	if (!t->left) {
		*min = t;
		return t->right;
	}
	t->left = remove_min(t->left, min);
	return balance(t);
}

static struct vm_node *remove(struct vm_node *t, struct vm_node *n)
{
	if (!t)
		MM_PANIC("vmm", "rt_remove: region %lx not in the tree", n->r.base);
	if (n->r.base < t->r.base) {
		t->left = remove(t->left, n);
	} else if (n->r.base > t->r.base) {
		t->right = remove(t->right, n);
	} else {
		/* Splice the successor node itself into t's place: nodes never move. */
		struct vm_node *l = t->left, *r = t->right, *m;
		if (!r)
			return l;
		r = remove_min(r, &m);
		m->left = l, m->right = r;
		return balance(m);
	}
	return balance(t);
}

/* Take n (which is in the tree) out of it. The node is the caller's again. */
void rt_remove(struct vm_node **root, struct vm_node *n)
{
	*root = remove(*root, n);
}

/* The region containing va, or NULL. */
struct vm_node *rt_find(struct vm_node *root, va_t va)
{
	struct vm_node *n = root;
	while (n) {
		if (va < n->r.base)
			n = n->left;
		else if (va >= region_end(&n->r))
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
struct vm_node *rt_first_ending_after(struct vm_node *root, va_t va)
{
	struct vm_node *n = root, *best = 0;
	while (n) {
		if (region_end(&n->r) > va) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

/*
 * ---- First fit ----
 *
 * The lowest hole of a space that can take a new region, in O(log n)
 * thanks to the max_gap each node carries. The holes of a space are
 * [space_lo, first base), the spaces between neighbours, and [last end,
 * space_hi). A request for len bytes aligned to align needs a hole of
 * len + align - PAGE_SIZE bytes to be sure of fitting whatever the hole's
 * alignment; that is the size searched for (as Linux's vm_unmapped_area
 * does), so one that would only fit by luck of alignment is passed over.
 * The search may be limited to a window [lo, hi) of the space (the
 * kernel's areas); holes are clipped to it.
 *
 * The walk is in address order; the holes are where the tree has no
 * child. A subtree is entered only when it ends inside the window and
 * its leading hole or its max_gap is big enough; otherwise only the hole
 * after it is tried. A subtree lying wholly in the window and passing that
 * test surely holds the answer, so the walk only ever backtracks along the
 * two edges of the window: O(log n).
 */
struct gap_query {
	va_t lo, hi;            /* the window */
	size_t need, align;
	va_t found;
};

/*
 * Search the holes of subtree t in order: the first begins at *before (the
 * end of the region just below t), the last ends at after (the base of the
 * region just above t, or the space's end); an empty subtree is the one
 * hole [*before, after). On failure *before is where t's regions end.
 */
static bool search(struct vm_node *t, va_t *before, va_t after, struct gap_query *q)
{
	if (*before >= q->hi)
		return false;
	if (t && t->max_end > q->lo && (t->min_base - *before >= q->need || t->max_gap >= q->need)) {
		if (search(t->left, before, t->r.base, q))
			return true;
		*before = region_end(&t->r);
		return search(t->right, before, after, q);
	}
	/* No hole before or inside t will do: the one after it, clipped to the window. */
	if (t)
		*before = t->max_end;
	va_t a = *before > q->lo ? *before : q->lo, b = after < q->hi ? after : q->hi;
	if (b <= a || b - a < q->need)
		return false;
	q->found = (a + q->align - 1) & ~(q->align - 1);
	return true;
}

/*
 * The lowest address for len bytes aligned to align (a power of two, at
 * least a page) in a hole of [lo, hi), itself inside the space's bounds
 * [space_lo, space_hi). Sets *va and returns true, or returns false.
 */
bool rt_find_gap(struct vm_node *root, va_t space_lo, va_t space_hi,
		 va_t lo, va_t hi, size_t len, size_t align, va_t *va)
{
	if (hi <= lo || len > hi - lo || align - PAGE_SIZE > (hi - lo) - len)
		return false;
	struct gap_query q = { lo, hi, len + align - PAGE_SIZE, align, 0 };
	va_t before = space_lo;
	if (!search(root, &before, space_hi, &q))
		return false;
	*va = q.found;
	return true;
}

/*
 * ---- The node pool: where nodes come from before (and without) a heap ----
 *
 * The slab heap is built on the VMM, so the VMM cannot take its own
 * bookkeeping from it. Each address space keeps a pool of nodes: first
 * the spare room of the page its struct lives in (pool_seed), then whole
 * pages from the buddy, taken one at a time as the pool runs dry. Callers
 * that need several nodes for one operation reserve them first
 * (pool_reserve), so the operation cannot fail half way.
 *
 * The kernel heap makes a region per slab, so the kernel's pool rises and
 * falls with the heap. Each grown page counts its nodes in use, and once
 * an operation is over (never during one, which may hold a reservation)
 * pool_trim gives back the pages with none in use - but the last page of
 * a pool that has no seed page (the kernel's, reserved by vmm_init), so
 * the free count comes back to where it was. Every page goes at
 * pool_release.
 *
 * Which free node is handed out decides which pages can drain: nodes of
 * the page that stays (the seed, or `keep`) go to the head of the free
 * list, nodes of the other pages to its tail. So live nodes gather in the
 * page that stays, the extra pages empty as soon as the live set fits in
 * it again, and trim gives them back; handed out newest-first instead, a
 * long-lived region could pin a second page after every burst.
 */

/* The first node-sized slot of a grown page. */
struct pool_page {
	pa_t next;              /* the next grown page, 0 at the end */
	unsigned inuse;         /* its nodes handed out */
};
_Static_assert(sizeof(struct pool_page) <= sizeof(struct vm_node), "pool_page fits a slot");

/* The grown page holding n, or NULL for a node of the seed page. */
static struct pool_page *page_of(const struct node_pool *p, const struct vm_node *n)
{
	uintptr_t page = (uintptr_t)n & ~(PAGE_SIZE - 1);
	return page == p->seed ? 0 : (struct pool_page *)page;
}

static void push_head(struct node_pool *p, struct vm_node *n)
{
	n->left = p->free;
	p->free = n;
	if (!p->free_tail)
		p->free_tail = n;
	p->nfree++;
}

static void push_tail(struct node_pool *p, struct vm_node *n)
{
	n->left = 0;
	if (p->free_tail)
		p->free_tail->left = n;
	else
		p->free = n;
	p->free_tail = n;
	p->nfree++;
}

static void chain_nodes(struct node_pool *p, void *mem, size_t size)
{
	struct vm_node *n = mem;
	for (size_t i = 0; i < size / sizeof(*n); i++)
		push_head(p, &n[i]);
}

/* True for a node of the page that stays: the seed, or `keep`. */
static bool in_kept_page(const struct node_pool *p, const struct pool_page *pg)
{
	return !pg || (p->keep && pg == phys_to_virt(p->keep));
}

/* Chain size bytes at mem (in a page of its own that is not a grown one) onto the free list. */
void pool_seed(struct node_pool *p, void *mem, size_t size)
{
	p->seed = (uintptr_t)mem & ~(PAGE_SIZE - 1);
	chain_nodes(p, mem, size);
}

/* One more page from the buddy: its first slot links the pool's pages. */
static bool grow(struct node_pool *p)
{
	pa_t pa = pmm_alloc_page(0);
	if (pa == PMM_NO_FRAME)
		return false;
	struct pool_page *pg = phys_to_virt(pa);
	pg->next = p->pages, pg->inuse = 0;
	if (!p->seed && !p->keep)
		p->keep = pa;
	p->pages = pa;
	p->npages++;
	p->nidle++;
	chain_nodes(p, (char *)pg + sizeof(struct vm_node), PAGE_SIZE - sizeof(struct vm_node));
	return true;
}

/* Make sure n nodes can be had without failing. Returns false if the buddy is out of frames. */
bool pool_reserve(struct node_pool *p, unsigned n)
{
	while (p->nfree < n)
		if (!grow(p))
			return false;
	return true;
}

/* A zeroed node, or NULL if no frame could be had for more. */
struct vm_node *pool_get(struct node_pool *p)
{
	if (!p->nfree && !grow(p))
		return 0;
	struct vm_node *n = p->free;
	struct pool_page *pg = page_of(p, n);
	p->free = n->left;
	if (!p->free)
		p->free_tail = 0;
	p->nfree--;
	if (pg && pg->inuse++ == 0)
		p->nidle--;
	memset(n, 0, sizeof(*n));
	return n;
}

void pool_put(struct node_pool *p, struct vm_node *n)
{
	struct pool_page *pg = page_of(p, n);
	if (in_kept_page(p, pg))
		push_head(p, n);
	else
		push_tail(p, n);
	if (pg && --pg->inuse == 0)
		p->nidle++;
}

/* Take the nodes of the grown page at pa off the free list and give the page back. */
static void drop_page(struct node_pool *p, pa_t pa)
{
	struct pool_page *pg = phys_to_virt(pa);
	p->free_tail = 0;
	for (struct vm_node **pp = &p->free; *pp;)
		if (page_of(p, *pp) == pg) {
			*pp = (*pp)->left;
			p->nfree--;
		} else {
			p->free_tail = *pp;
			pp = &(*pp)->left;
		}
	if (p->keep == pa)
		p->keep = 0;
	p->npages--;
	p->nidle--;
	pmm_free_page(pa);
}

#define NODES_PER_PAGE (PAGE_SIZE / sizeof(struct vm_node) - 1)

/* A free node of the kept page off the free list (they gather at its head), or NULL. */
static struct vm_node *take_kept(struct node_pool *p)
{
	struct pool_page *kp = phys_to_virt(p->keep);
	struct vm_node *prev = 0;
	for (struct vm_node *n = p->free; n; prev = n, n = n->left) {
		if (page_of(p, n) != kp)
			continue;
		if (prev)
			prev->left = n->left;
		else
			p->free = n->left;
		if (p->free_tail == n)
			p->free_tail = prev;
		p->nfree--;
		kp->inuse++;
		return n;
	}
	return 0;
}

/* Post-order over the tree: each node outside the kept page moves into it while there is room. */
static void relocate(struct node_pool *p, struct vm_node **link)
{
	struct vm_node *n = *link, *m;
	if (!n)
		return;
	relocate(p, &n->left);
	relocate(p, &n->right);
	if (in_kept_page(p, page_of(p, n)) || !(m = take_kept(p)))
		return;
	*m = *n;
	*link = m;
	pool_put(p, n);
}

/*
 * After a burst, the live nodes of a pool without a seed may be spread
 * over several pages though they would fit in one. When they all fit in
 * the kept page, move them there (a node is only referred to by its
 * parent's link, and only during an operation), so trim can give the
 * others back. Nothing moves while they do not fit: no thrashing.
 */
static void compact(struct node_pool *p, struct vm_node **root)
{
	unsigned live = 0;
	for (pa_t pa = p->pages; pa; pa = ((struct pool_page *)phys_to_virt(pa))->next)
		live += ((struct pool_page *)phys_to_virt(pa))->inuse;
	struct pool_page *kp = phys_to_virt(p->keep);
	if (live <= NODES_PER_PAGE && kp->inuse < live)
		relocate(p, root);
}

/*
 * Give back every grown page with no node in use (see above for the one
 * kept), after moving live nodes into the kept page when they fit. Only
 * between operations: a reservation may count on those nodes, and the
 * caller may hold a node.
 */
void pool_trim(struct node_pool *p, struct vm_node **root)
{
	if (!p->seed && p->keep && p->npages > 1)       /* only a pool that grew can spread */
		compact(p, root);
	pa_t *link = &p->pages;
	while (p->nidle && *link && (p->seed || p->npages > 1)) {
		struct pool_page *pg = phys_to_virt(*link);
		if (pg->inuse) {
			link = &pg->next;
			continue;
		}
		pa_t pa = *link;
		*link = pg->next;
		drop_page(p, pa);
	}
	if (!p->seed && !p->keep && p->pages) {        /* the kept page went: the oldest stays now */
		pa_t last = p->pages;
		while (((struct pool_page *)phys_to_virt(last))->next)
			last = ((struct pool_page *)phys_to_virt(last))->next;
		p->keep = last;
	}
}

/* Give every grown page back to the buddy. Every node of the pool is dead after this. */
void pool_release(struct node_pool *p)
{
	while (p->pages) {
		pa_t pa = p->pages;
		p->pages = ((struct pool_page *)phys_to_virt(pa))->next;
		pmm_free_page(pa);
	}
	p->npages = 0;
	p->free = p->free_tail = 0;
	p->keep = 0;
	p->nfree = 0;
	p->nidle = 0;
}

/*
 * ---- The check ----
 *
 * Every invariant of a region tree, recomputed from scratch: the host
 * tests run it after each step of their random sequences, and vmm_check()
 * offers it to the kernel.
 */
struct walk {
	va_t prev_end;          /* end of the last region visited, in order */
	bool any;
	va_t space_lo, space_hi;
	unsigned problems;
};

static void problem(struct walk *w, const struct vm_node *n, const char *what)
{
	kprintf("vmm: check: region %lx+%lx: %s\n", n->r.base, n->r.len, what);
	w->problems++;
}

static void check_node(struct walk *w, const struct vm_node *n)
{
	if (!n->r.len || (n->r.base | n->r.len) & (PAGE_SIZE - 1))
		problem(w, n, "empty or not page aligned");
	if (n->r.base < w->space_lo || n->r.len > w->space_hi - n->r.base)
		problem(w, n, "outside the space's bounds");
	if (w->any && n->r.base < w->prev_end)
		problem(w, n, "out of order or overlapping its predecessor");
	w->prev_end = region_end(&n->r);
	w->any = true;
}

/*
 * Check subtree n; returns its height, and its true min_base, max_end and
 * max_gap through the pointers, to compare with what n says.
 */
static int check(struct walk *w, const struct vm_node *n,
		 va_t *min_base, va_t *max_end, size_t *max_gap)
{
	va_t lmin = 0, lmax = 0, rmin = 0, rmax = 0, end = region_end(&n->r);
	size_t lgap = 0, rgap = 0, gap = 0;
	int hl = n->left ? check(w, n->left, &lmin, &lmax, &lgap) : 0;
	check_node(w, n);
	int hr = n->right ? check(w, n->right, &rmin, &rmax, &rgap) : 0;
	if (n->left)
		gap = lgap > n->r.base - lmax ? lgap : n->r.base - lmax;
	if (n->right) {
		size_t g = rgap > rmin - end ? rgap : rmin - end;
		gap = g > gap ? g : gap;
	}
	*min_base = n->left ? lmin : n->r.base;
	*max_end = n->right ? rmax : end;
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
unsigned rt_check(struct vm_node *root, va_t space_lo, va_t space_hi)
{
	struct walk w = { 0, false, space_lo, space_hi, 0 };
	va_t a, b;
	size_t g;
	if (root)
		check(&w, root, &a, &b, &g);
	return w.problems;
}
