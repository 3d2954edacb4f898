/*
 * count.c - how many frames an address space's tables take: a read-only
 * count for reports (the picture of memory, docs/picture.md). The buddy
 * keeps no owner per frame, so this layer counts its own.
 */
#include "mm/paging/pte.h"

/* Tables below the table at pa, which sits at level l (0 holds 4 KiB leaves). */
static uint64_t count_below(pa_t pa, unsigned l)
{
	const pte_t *t = table_at(pa);
	uint64_t n = 0;

	if (l == 0)
		return 0;
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (pte_present(t[i]) && !pte_leaf(t[i], l))
			n += 1 + count_below(pte_addr(t[i], l), l - 1);
	return n;
}

/* pg_table_count: see paging.h. Under pg.lock, so no edit frees a table mid-count. */
uint64_t pg_table_count(pg_root_t root)
{
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	uint64_t n = 1 + count_below(root, top_level());
	spin_unlock_irqrestore(&pg.lock, irq);
	return n;
}
