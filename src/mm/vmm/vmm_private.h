/*
 * vmm_private.h - what the files of the VMM share. Not an interface:
 * nothing outside src/mm/vmm/ includes it, except the white-box host tests (tree.c, policy_test.c).
 */
#ifndef STRATA_MM_VMM_PRIVATE_H
#define STRATA_MM_VMM_PRIVATE_H

#include "mm/vmm/vmm.h"
#include "mm/arch.h"
#include "lib/spinlock.h"
#include "lib/kprintf.h"
#include "mm/failure.h"

/*
 * A region as the VMM keeps it: the public struct vm_region, and the links
 * and subtree facts of the AVL tree it is in (region_tree.c). The tree
 * fields are the tree's alone; everyone else reads and writes n->r.
 */
struct vm_node {
	struct vm_region r;
	struct vm_node *left, *right;   /* a free node in the pool: ->left is the next */
	int height;                     /* AVL: leaves are 1 */
	va_t min_base;                  /* lowest base in this subtree */
	va_t max_end;                   /* highest end in this subtree */
	size_t max_gap;                 /* largest hole between two regions of this subtree */
};

/*
 * Region nodes come from pages of the buddy, never from the heap: the heap
 * is built on the VMM. Free nodes are chained through ->left. Pages the
 * pool grew are chained through their first node-sized slot.
 */
struct node_pool {
	struct vm_node *free, *free_tail;
	pa_t pages;             /* the newest grown page, 0 if none */
	pa_t keep;              /* without a seed: the grown page trim keeps, whose nodes go first */
	unsigned npages;        /* grown pages */
	unsigned nfree;
	unsigned nidle;         /* grown pages none of whose nodes is in use */
	uintptr_t seed;         /* the page pool_seed gave (not a grown page), 0 if none */
};

/*
 * An address space. lock guards the tree, the regions in it (and their
 * pages' mappings and frames), the node pool and the counters; root, lo,
 * hi, kernel and own_page are written when the space is made and read-only
 * after. vmm_space_destroy works without the lock: by then the space is
 * its caller's alone (no CPU runs in it: checked).
 */
struct vm_space {
	struct spinlock lock;
	pg_root_t root;
	va_t lo, hi;            /* regions lie inside [lo, hi) */
	struct vm_node *tree;   /* root of the region tree */
	uint64_t nregions;
	struct node_pool pool;
	uint64_t resident;      /* pages of regions with frames (kind_has_frames) that are mapped */
	uint64_t faults, resolved;
	uint64_t cow_copied, cow_reused;        /* copy-on-write faults: a frame copied, or taken back alone */
	uint64_t swapped;                       /* pages in swap: swap entries in its tables */
	uint64_t kept;                          /* resident pages whose slot is kept while clean (swap.h) */
	va_t clock;                             /* vmm_reclaim's hand: where the next scan starts */
	bool kernel;
	bool shared;            /* forked, or made by a fork: some frames may be another space's too */
	bool own_page;          /* the struct lives in a page of its own (process spaces) */
};

/*
 * All of the VMM's mutable state outside the spaces themselves (space.c).
 * current[c] is written by CPU c (vmm_switch) and by vmm_space_destroy,
 * read by any CPU (is the space in use?): atomic loads and stores.
 * fault_around is a switch set at boot or by tests, read by every fault:
 * atomic too.
 */
struct vmm_state {
	struct vm_space kernel;
	struct vm_space *current[ARCH_MAX_CPUS];        /* the last vmm_switch on each CPU */
	unsigned fault_around;                          /* vmm_set_fault_around */
};
extern struct vmm_state vmm;

static inline va_t region_end(const struct vm_region *r) { return r->base + r->len; }

/* Kinds whose pages are single frames the VMM holds a reference of (not MMIO, not guards). */
static inline bool kind_has_frames(enum vm_kind k)
{
	return k == VM_ANON || k == VM_DEMAND || k == VM_SHARED || k == VM_PRIVATE;
}

/* Kinds that map a vm_object's pages. */
static inline bool kind_has_object(enum vm_kind k) { return k == VM_SHARED || k == VM_PRIVATE; }

/* ---- region_tree.c: the tree of regions, its gaps, its nodes ---- */
void rt_insert(struct vm_node **root, struct vm_node *n);
void rt_remove(struct vm_node **root, struct vm_node *n);
struct vm_node *rt_find(struct vm_node *root, va_t va);
struct vm_node *rt_first_ending_after(struct vm_node *root, va_t va);
bool rt_find_gap(struct vm_node *root, va_t space_lo, va_t space_hi,
		 va_t lo, va_t hi, size_t len, size_t align, va_t *va);
unsigned rt_check(struct vm_node *root, va_t space_lo, va_t space_hi);
void pool_seed(struct node_pool *p, void *mem, size_t size);
struct vm_node *pool_get(struct node_pool *p);
void pool_put(struct node_pool *p, struct vm_node *n);
bool pool_reserve(struct node_pool *p, unsigned n);
void pool_release(struct node_pool *p);
void pool_trim(struct node_pool *p, struct vm_node **root);

/* ---- populate.c: the file that edits page tables (with swap.c) ---- */
unsigned vm_cache_bits(enum vm_cache cache);   /* the PG_CACHE_* bits of a cache type */
/* The paging flags for a page of a region of s with these flags and cache type. */
unsigned pg_flags_for(const struct vm_space *s, unsigned flags, enum vm_cache cache);
int back_page(struct vm_space *s, struct vm_region *r, va_t va);
int back_populate(struct vm_space *s, struct vm_region *r);
int back_release(struct vm_space *s, struct vm_region *r, va_t va, size_t len);
int back_protect(struct vm_space *s, struct vm_region *r, va_t va, size_t len, unsigned flags);
uint64_t back_count(struct vm_space *s, va_t va, size_t len);
void back_free_frame(va_t va, pa_t pa);
/*
 * Copy-on-write (fork.c says how): share pr's mapped pages of p with c,
 * read-only in both, each frame counted once more (*shared counts them);
 * and break the sharing of page va (frame pa) of r on a write.
 */
int back_share(struct vm_space *p, struct vm_space *c, struct vm_region *pr, struct vm_region *cr,
	       uint64_t *shared);
int back_cow(struct vm_space *s, struct vm_region *r, va_t va, pa_t pa);
/*
 * Map page va of an object's region from the object (the object's frame,
 * or for a write to a VM_PRIVATE region a copy of it). 0, VMM_E_BOUNDS
 * (past the object's end) or VMM_E_NO_MEMORY.
 */
int back_object_page(struct vm_space *s, struct vm_region *r, va_t va, unsigned access);

/* ---- swap.c: pages in swap, for the fault, the release, destroy and fork ---- */
int swap_in_page(struct vm_space *s, struct vm_region *r, va_t va, uint64_t slot, bool keep);
int swap_in_range(struct vm_space *s, struct vm_region *r);
void swap_release(struct vm_space *s, va_t va, size_t len);

/* ---- vmm_report.c: names for reports and explanations ---- */
const char *vmm_kind_name(enum vm_kind k);
void vmm_flags_str(unsigned flags, char out[5]);

#endif
