/*
 * unmap.c - pg_unmap: remove the mappings of [va, va+len).
 *
 * Huge leaves that stick out of the range are split first (with frames
 * counted and reserved up front), so every leaf left in the range lies
 * wholly inside it. Then one pass clears the leaves and, on the way back
 * up, frees each table it left empty - except the kernel half's shared
 * tables, which live forever.
 */
#include "mm/paging/internal.h"

/*
 * True if t has no present entry. The search starts at hint, the entry
 * just edited: if a table below it survived, or a neighbour is mapped,
 * the answer comes at once.
 */
static bool table_empty(const pte_t *t, unsigned hint)
{
	for (unsigned n = 0; n < PT_ENTRIES; n++)
		if (pte_present(t[(hint + n) % PT_ENTRIES]))
			return false;
	return true;
}

static void clear_range(pte_t *t, unsigned l, uintptr_t va, uintptr_t last, struct tlb_batch *b)
{
	for (;;) {
		pte_t *e = &t[pt_index(va, l)];
		uintptr_t end = va | (level_size(l) - 1);
		if (end > last)
			end = last;
		pte_t old = *e;
		if (pte_present(old) && pte_leaf(old, l)) {
			if (va & (level_size(l) - 1) || end != (va | (level_size(l) - 1)))
				MM_PANIC("paging", "clear_range: leaf at %lx sticks out of the range", va);
			pte_set(e, 0);
			tlb_add(b, va, old);
		} else if (pte_present(old)) {
			uint64_t child = pte_addr(old, l);
			clear_range(table_at(child), l - 1, va, end, b);
			bool shared = l == top_level() && table_is_shared(pt_index(va, l), child);
			if (!shared && table_empty(table_at(child), pt_index(end, l - 1))) {
				pte_set(e, 0);
				tlb_free_table(b, child, va);
			}
		}
		if (end == last)
			return;
		va = end + 1;
	}
}

static void clear_leaves(uint64_t root, uintptr_t va, uintptr_t last, struct tlb_batch *b, void *arg)
{
	(void)arg;
	clear_range(table_at(root), top_level(), va, last, b);
}

int pg_unmap(uint64_t root, uintptr_t va, size_t len)
{
	int err = check_range(va, len);
	return err ? err : edit_range(root, va, len, clear_leaves, 0);
}
