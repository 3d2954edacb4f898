/*
 * walk.c - following the tree from a root, and growing it.
 *
 * A walk starts at the top level (3, or 4 with five levels) and takes the
 * entry that va's index selects at each level until it meets a leaf (a
 * 4 KiB PTE, or a PD/PDPT entry with PS set) or an empty entry.
 */
#include "mm/paging/internal.h"
#include "mm/buddy/buddy.h"

/* The present leaf that maps va, and its level; NULL if va is not mapped. */
pte_t *walk_find(uint64_t root, uintptr_t va, unsigned *level)
{
	pte_t *t = table_at(root);
	for (unsigned l = top_level();; l--) {
		pte_t *e = &t[pt_index(va, l)];
		if (!pte_present(*e))
			return NULL;
		if (pte_leaf(*e, l)) {
			*level = l;
			return e;
		}
		t = table_at(pte_addr(*e, l));
	}
}

/*
 * Replace the huge leaf *e at level with a table (table_pa, zeroed) of 512
 * leaves one level down that map the same memory with the same bits.
 * What va translates to does not change.
 */
void split_huge(pte_t *e, unsigned level, uint64_t table_pa)
{
	pte_t *t = table_at(table_pa);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		t[i] = pte_split_child(*e, level, i);
	pte_set(e, pte_table(table_pa));
}

/*
 * The entry for va at level, making missing tables and splitting huge
 * leaves on the way down with frames from r (counted by the caller).
 */
pte_t *walk_make(uint64_t root, uintptr_t va, unsigned level, struct reserve *r,
		 struct tlb_batch *b)
{
	pte_t *t = table_at(root);
	for (unsigned l = top_level(); l > level; l--) {
		pte_t *e = &t[pt_index(va, l)];
		if (!pte_present(*e)) {
			pte_set(e, pte_table(reserve_take(r)));
		} else if (pte_leaf(*e, l)) {
			pte_t old = *e;
			split_huge(e, l, reserve_take(r));
			tlb_add(b, va & ~(level_size(l) - 1), old);
		}
		t = table_at(pte_addr(*e, l));
	}
	return &t[pt_index(va, level)];
}

/* The lowest level whose pages va is aligned to, below level. */
static unsigned aligned_level(uintptr_t va, unsigned level)
{
	unsigned k = level - 1;
	while (k > 0 && (va & (level_size(k) - 1)))
		k--;
	return k;
}

/*
 * Tables edge_split(va) will take: an edit of a range that starts or ends
 * at va inside a huge leaf splits it down to the level va is aligned to.
 */
size_t edge_need(uint64_t root, uintptr_t va)
{
	unsigned level;
	pte_t *e = walk_find(root, va, &level);
	if (!e || level == 0 || !(va & (level_size(level) - 1)))
		return 0;
	return level - aligned_level(va, level);
}

/* Split the huge leaves around va until a leaf boundary falls on va. */
void edge_split(uint64_t root, uintptr_t va, struct reserve *r, struct tlb_batch *b)
{
	unsigned level;
	pte_t *e;
	while ((e = walk_find(root, va, &level)) && level > 0 && (va & (level_size(level) - 1))) {
		pte_t old = *e;
		split_huge(e, level, reserve_take(r));
		tlb_add(b, va & ~(level_size(level) - 1), old);
	}
}

/*
 * True for the tables under the kernel half's top-level entries: made once
 * at boot, shared by every root, never freed.
 */
bool table_is_shared(unsigned top_index, uint64_t table_pa)
{
	if (!pg_kroot || top_index < PT_ENTRIES / 2)
		return false;
	pte_t e = table_at(pg_kroot)[top_index];
	return pte_present(e) && pte_addr(e, top_level()) == table_pa;
}

/*
 * Free the table at table_pa (entries of level, translating from va) and
 * every table below it, after the flush. Each leaf below is recorded as
 * changed: the TLB may hold any of them (a 2 MiB page written over a
 * table leaves 512 small entries to drop, not one).
 */
void free_subtree(uint64_t table_pa, unsigned level, uintptr_t va, struct tlb_batch *b)
{
	pte_t *t = table_at(table_pa);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uintptr_t a = va + i * level_size(level);
		if (!pte_present(t[i]))
			continue;
		if (pte_leaf(t[i], level))
			tlb_add(b, a, t[i]);
		else
			free_subtree(pte_addr(t[i], level), level - 1, a, b);
	}
	tlb_free_table(b, table_pa, va);
}

/* The first address that top-level entry index translates (sign-extended). */
uintptr_t top_va(unsigned index)
{
	unsigned bits = level_shift(top_level()) + 9;
	return (uintptr_t)((int64_t)((uint64_t)index << (64 - 9)) >> (64 - bits));
}

/*
 * Call fn for every present leaf of the table t (entries of level) that
 * overlaps [va, last], in address order. The recursion clips the range
 * to each entry, so a child sees only its own part.
 */
static void leaves_in(pte_t *t, unsigned l, uintptr_t va, uintptr_t last, leaf_fn fn, void *arg)
{
	for (;;) {
		pte_t *e = &t[pt_index(va, l)];
		uintptr_t end = va | (level_size(l) - 1);
		if (end > last)
			end = last;
		if (pte_present(*e) && pte_leaf(*e, l))
			fn(e, l, va & ~(level_size(l) - 1), arg);
		else if (pte_present(*e))
			leaves_in(table_at(pte_addr(*e, l)), l - 1, va, end, fn, arg);
		if (end == last)
			return;
		va = end + 1;
	}
}

void for_each_leaf(uint64_t root, uintptr_t va, uintptr_t last, leaf_fn fn, void *arg)
{
	leaves_in(table_at(root), top_level(), va, last, fn, arg);
}
