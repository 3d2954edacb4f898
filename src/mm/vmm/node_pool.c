/*
 * node_pool.c - where region nodes come from before (and without) a heap.
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
 */
#include "mm/vmm/internal.h"
#include "mm/buddy/buddy.h"
#include "lib/kstring.h"

/* The first node-sized slot of a grown page. */
struct pool_page {
	uint64_t next;          /* physical address of the next grown page, 0 at the end */
	unsigned inuse;         /* its nodes handed out */
};
_Static_assert(sizeof(struct pool_page) <= sizeof(struct vm_region), "pool_page fits a slot");

static struct pool_page *page_of(const struct node_pool *p, const struct vm_region *n)
{
	uintptr_t page = (uintptr_t)n & ~(PAGE_SIZE - 1);
	return page == p->seed ? 0 : (struct pool_page *)page;
}

static void chain_nodes(struct node_pool *p, void *mem, size_t size)
{
	struct vm_region *n = mem;
	for (size_t i = 0; i < size / sizeof(*n); i++) {
		n[i].left = p->free;
		p->free = &n[i];
		p->nfree++;
	}
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
	uint64_t pa = pmm_alloc_page(0);
	if (pa == PMM_NO_FRAME)
		return false;
	struct pool_page *pg = phys_to_virt(pa);
	pg->next = p->pages, pg->inuse = 0;
	p->pages = pa;
	p->npages++;
	p->nidle++;
	chain_nodes(p, (char *)pg + sizeof(struct vm_region), PAGE_SIZE - sizeof(struct vm_region));
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
struct vm_region *pool_get(struct node_pool *p)
{
	if (!pool_reserve(p, 1))
		return 0;
	struct vm_region *n = p->free;
	struct pool_page *pg = page_of(p, n);
	p->free = n->left;
	p->nfree--;
	if (pg && pg->inuse++ == 0)
		p->nidle--;
	memset(n, 0, sizeof(*n));
	return n;
}

void pool_put(struct node_pool *p, struct vm_region *n)
{
	struct pool_page *pg = page_of(p, n);
	n->left = p->free;
	p->free = n;
	p->nfree++;
	if (pg && --pg->inuse == 0)
		p->nidle++;
}

/* Take the nodes of the grown page at pa off the free list and give the page back. */
static void drop_page(struct node_pool *p, uint64_t pa)
{
	struct pool_page *pg = phys_to_virt(pa);
	for (struct vm_region **pp = &p->free; *pp;)
		if ((struct pool_page *)page_of(p, *pp) == pg) {
			*pp = (*pp)->left;
			p->nfree--;
		} else {
			pp = &(*pp)->left;
		}
	p->npages--;
	p->nidle--;
	pmm_free_page(pa);
}

/*
 * Give back every grown page with no node in use (see above for the one
 * kept). Only between operations: a reservation may count on those nodes.
 */
void pool_trim(struct node_pool *p)
{
	uint64_t *link = &p->pages;
	while (p->nidle && *link && (p->seed || p->npages > 1)) {
		struct pool_page *pg = phys_to_virt(*link);
		if (pg->inuse) {
			link = &pg->next;
			continue;
		}
		uint64_t pa = *link;
		*link = pg->next;
		drop_page(p, pa);
	}
}

/* Give every grown page back to the buddy. Every node of the pool is dead after this. */
void pool_release(struct node_pool *p)
{
	while (p->pages) {
		uint64_t pa = p->pages;
		p->pages = *(uint64_t *)phys_to_virt(pa);
		pmm_free_page(pa);
	}
	p->npages = 0;
	p->free = 0;
	p->nfree = 0;
	p->nidle = 0;
}
