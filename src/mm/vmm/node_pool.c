/*
 * node_pool.c - where region nodes come from before (and without) a heap.
 *
 * The slab heap is built on the VMM, so the VMM cannot take its own
 * bookkeeping from it. Each address space keeps a pool of nodes: first
 * the spare room of the page its struct lives in (pool_seed), then whole
 * pages from the buddy, taken one at a time as the pool runs dry. Pages
 * stay with the space until it is destroyed (pool_release); a space that
 * once had many regions keeps their pages. Callers that need several
 * nodes for one operation reserve them first (pool_reserve), so the
 * operation cannot fail half way.
 */
#include "mm/vmm/internal.h"
#include "mm/buddy/buddy.h"
#include "lib/kstring.h"

/* Chain size bytes at mem onto the free list as nodes. */
void pool_seed(struct node_pool *p, void *mem, size_t size)
{
	struct vm_region *n = mem;
	for (size_t i = 0; i < size / sizeof(*n); i++) {
		n[i].left = p->free;
		p->free = &n[i];
		p->nfree++;
	}
}

/* One more page from the buddy: its first slot links the pool's pages. */
static bool grow(struct node_pool *p)
{
	uint64_t pa = pmm_alloc_page(0);
	if (pa == PMM_NO_FRAME)
		return false;
	uint64_t *link = phys_to_virt(pa);
	*link = p->pages;
	p->pages = pa;
	p->npages++;
	pool_seed(p, (char *)link + sizeof(struct vm_region), PAGE_SIZE - sizeof(struct vm_region));
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
	p->free = n->left;
	p->nfree--;
	memset(n, 0, sizeof(*n));
	return n;
}

void pool_put(struct node_pool *p, struct vm_region *n)
{
	n->left = p->free;
	p->free = n;
	p->nfree++;
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
}
