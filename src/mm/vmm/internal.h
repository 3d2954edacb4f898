/*
 * internal.h - what the files of the VMM share. Not an interface: nothing
 * outside src/mm/vmm/ includes it, except the host tests of the tree.
 */
#ifndef STRATA_MM_VMM_INTERNAL_H
#define STRATA_MM_VMM_INTERNAL_H

#include "mm/vmm/vmm.h"
#include "mm/arch.h"
#include "lib/spinlock.h"
#include "lib/kprintf.h"
#include "mm/failure.h"

/*
 * Region nodes come from pages of the buddy, never from the heap: the heap
 * is built on the VMM. Free nodes are chained through ->left. Pages the
 * pool grew are chained through their first node-sized slot.
 */
struct node_pool {
	struct vm_region *free;
	uint64_t pages;         /* physical address of the newest grown page, 0 if none */
	unsigned npages;        /* grown pages */
	unsigned nfree;
	unsigned nidle;         /* grown pages none of whose nodes is in use */
	uintptr_t seed;         /* the page pool_seed gave (not a grown page), 0 if none */
};

struct vm_space {
	struct spinlock lock;
	uint64_t root;          /* physical address of the top-level table */
	uintptr_t lo, hi;       /* regions lie inside [lo, hi) */
	struct vm_region *tree; /* root of the region tree */
	uint64_t nregions;
	struct node_pool pool;
	uint64_t resident;      /* pages of VM_ANON and VM_DEMAND regions that are mapped */
	uint64_t faults, resolved;
	bool kernel;
	bool own_page;          /* the struct lives in a page of its own (process spaces) */
};

static inline uintptr_t region_end(const struct vm_region *r) { return r->base + r->len; }

/* ---- fault.c: names for reports ---- */
const char *vmm_kind_name(enum vm_kind k);
void vmm_flags_str(unsigned flags, char out[5]);

/* ---- region_tree.c: an AVL tree keyed by base, augmented with gaps ---- */
void rt_insert(struct vm_region **root, struct vm_region *n);
void rt_remove(struct vm_region **root, struct vm_region *n);
struct vm_region *rt_find(struct vm_region *root, uintptr_t va);
struct vm_region *rt_first_ending_after(struct vm_region *root, uintptr_t va);

/* ---- gap.c ---- */
bool rt_find_gap(struct vm_region *root, uintptr_t space_lo, uintptr_t space_hi,
		 uintptr_t lo, uintptr_t hi, size_t len, size_t align, uintptr_t *va);

/* ---- tree_check.c ---- */
unsigned rt_check(struct vm_region *root, uintptr_t space_lo, uintptr_t space_hi);

/* ---- backing.c: the only file that edits page tables ---- */
/* The paging cache-type bits (PG_CACHE_*) of a region cache type. */
unsigned vm_cache_bits(enum vm_cache cache);
unsigned pg_flags_for(const struct vm_space *s, unsigned flags, enum vm_cache cache);
int back_page(struct vm_space *s, struct vm_region *r, uintptr_t va);
int back_populate(struct vm_space *s, struct vm_region *r);
int back_release(struct vm_space *s, struct vm_region *r, uintptr_t va, size_t len);
int back_protect(struct vm_space *s, struct vm_region *r, uintptr_t va, size_t len, unsigned flags);
uint64_t back_count(struct vm_space *s, uintptr_t va, size_t len);
void back_free_frame(uintptr_t va, uint64_t pa);

/* ---- node_pool.c ---- */
void pool_seed(struct node_pool *p, void *mem, size_t size);
struct vm_region *pool_get(struct node_pool *p);
void pool_put(struct node_pool *p, struct vm_region *n);
bool pool_reserve(struct node_pool *p, unsigned n);
void pool_release(struct node_pool *p);
void pool_trim(struct node_pool *p);

#endif
