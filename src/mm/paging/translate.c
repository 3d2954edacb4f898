/*
 * translate.c - reading an address space: one address, a range, a dump.
 */
#include "mm/paging/internal.h"

int pg_translate(uint64_t root, uintptr_t va, uint64_t *pa, unsigned *flags, size_t *page_size)
{
	if (!pg_va_canonical(va))
		return PG_E_CANONICAL;
	unsigned level;
	uint64_t irq = spin_lock_irqsave(&pg_lock);
	pte_t *e = walk_find(root, va, &level);
	pte_t v = e ? *e : 0;
	spin_unlock_irqrestore(&pg_lock, irq);
	if (!e)
		return PG_E_NOT_MAPPED;
	if (pa)
		*pa = pte_addr(v, level) + (va & (level_size(level) - 1));
	if (flags)
		*flags = pte_flags(v, level);
	if (page_size)
		*page_size = level_size(level);
	return 0;
}

struct walk_call {
	pg_walk_fn fn;
	void *arg;
};

static void walk_leaf(pte_t *e, unsigned level, uintptr_t va, void *arg)
{
	struct walk_call *c = arg;
	c->fn(va, pte_addr(*e, level), level_size(level), pte_flags(*e, level), c->arg);
}

/* The last byte of va's canonical half. */
static uintptr_t half_last(uintptr_t va)
{
	return upper_half(va) ? ~0UL : (1UL << (pg_feat.levels == 5 ? 56 : 47)) - 1;
}

void pg_walk(uint64_t root, uintptr_t va, size_t len, pg_walk_fn fn, void *arg)
{
	if (!pg_va_canonical(va))
		return;
	uintptr_t last = half_last(va);
	if (len && va + len - 1 >= va && va + len - 1 < last)
		last = va + len - 1;
	struct walk_call c = { fn, arg };
	for_each_leaf(root, va, last, walk_leaf, &c);
}
