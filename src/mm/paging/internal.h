/*
 * internal.h - what the files of the paging layer share. Not an interface:
 * nothing outside src/mm/paging/ includes it.
 */
#ifndef STRATA_MM_PAGING_INTERNAL_H
#define STRATA_MM_PAGING_INTERNAL_H

#include "mm/paging/paging.h"
#include "mm/paging/pte.h"
#include "mm/arch.h"
#include "lib/kprintf.h"
#include "lib/spinlock.h"
#include "mm/failure.h"

#define PG_MAX_LEVELS 5
#define PT_ENTRIES 512

/* Level l: 0 the PT (4 KiB leaves), 1 the PD, 2 the PDPT, 3 the PML4, 4 the PML5. */
static inline unsigned level_shift(unsigned l) { return PAGE_SHIFT + 9 * l; }
static inline uint64_t level_size(unsigned l) { return 1UL << level_shift(l); }
static inline unsigned pt_index(uintptr_t va, unsigned l) { return (va >> level_shift(l)) & 511; }
static inline unsigned top_level(void) { return pg_feat.levels - 1; }
static inline pte_t *table_at(uint64_t pa) { return phys_to_virt(pa); }
static inline bool upper_half(uintptr_t va) { return va >> 63; }

/* One lock for every root: the engine's edits are short. */
extern struct spinlock pg_lock;
extern uint64_t pg_kroot;

/* ---- reserve.c: frames committed before an edit begins ---- */
struct reserve {
	uint64_t head;          /* frames linked through their first word */
	size_t n;
};
int reserve_fill(struct reserve *r, size_t n);
uint64_t reserve_take(struct reserve *r);
void reserve_drain(struct reserve *r);

/* ---- tlb.c: what an edit changed, flushed once at its end ---- */
#define TLB_BATCH_FREE 32
struct tlb_batch {
	uint64_t root;
	unsigned pages;         /* leaves changed; above the threshold: full flush */
	unsigned nglobal;       /* of them, global entries (fewer than pages: a local one too) */
	bool upper;             /* the kernel half changed */
	uintptr_t va[TLB_FULL_FLUSH_PAGES];
	unsigned nfree;         /* tables to free once no TLB can reach them */
	uintptr_t free_va;      /* an address the last of them translated */
	uint64_t free[TLB_BATCH_FREE];
};
void tlb_begin(struct tlb_batch *b, uint64_t root);
void tlb_add(struct tlb_batch *b, uintptr_t va, pte_t old);
void tlb_free_table(struct tlb_batch *b, uint64_t table_pa, uintptr_t va);
void tlb_finish(struct tlb_batch *b);
void pcid_forget(uint64_t root);

/* ---- walk.c: following and growing the tree ---- */
pte_t *walk_find(uint64_t root, uintptr_t va, unsigned *level);
pte_t *walk_make(uint64_t root, uintptr_t va, unsigned level, struct reserve *r,
		 struct tlb_batch *b);
void split_huge(pte_t *e, unsigned level, uint64_t table_pa);
size_t edge_need(uint64_t root, uintptr_t va);
void edge_split(uint64_t root, uintptr_t va, struct reserve *r, struct tlb_batch *b);
bool table_is_shared(unsigned top_index, uint64_t table_pa);
typedef void (*leaf_fn)(pte_t *e, unsigned level, uintptr_t va, void *arg);
void for_each_leaf(uint64_t root, uintptr_t va, uintptr_t last, leaf_fn fn, void *arg);
void free_subtree(uint64_t table_pa, unsigned level, uintptr_t va, struct tlb_batch *b);
uintptr_t top_va(unsigned index);

/* ---- check.c: argument checks every entry point shares ---- */
int check_range(uintptr_t va, size_t len);
int check_phys(uint64_t pa, size_t len);
int check_prot(unsigned flags);
bool range_mapped(uint64_t root, uintptr_t va, size_t len);
bool end_in_half(uintptr_t va, size_t len);

/* pg_unmap and pg_protect: check, split the edges, apply to [va, last], flush (edit.c). */
typedef void (*edit_fn)(uint64_t root, uintptr_t va, uintptr_t last, struct tlb_batch *b, void *arg);
int edit_range(uint64_t root, uintptr_t va, size_t len, edit_fn apply, void *arg);

#endif
