/*
 * reprotect.c - pg_protect: new protection and cache type for a range.
 *
 * As in pg_unmap, huge leaves sticking out of the range are split first,
 * so that the pages outside keep what they had. Each leaf inside is
 * rewritten with its own address and the new flags; only leaves that
 * really change are flushed.
 */
#include "mm/paging/internal.h"

struct reprotect {
	unsigned flags;
	struct tlb_batch *b;
};

static void reprotect_leaf(pte_t *e, unsigned level, uintptr_t va, void *arg)
{
	struct reprotect *p = arg;
	pte_t old = *e, new = pte_reprotect(old, p->flags, level);
	if (new != old) {
		pte_set(e, new);
		tlb_add(p->b, va, old);
	}
}

int pg_protect(uint64_t root, uintptr_t va, size_t len, unsigned flags)
{
	int err = check_range(va, len);
	if (!err && (check_prot(flags) || (flags & ~PG_PROT_MASK)))
		err = PG_E_UNSUPPORTED;
	if (err)
		return err;

	bool end_edge = end_in_half(va, len);
	struct reserve r;
	struct tlb_batch b;
	uint64_t irq = spin_lock_irqsave(&pg_lock);
	if (!range_mapped(root, va, len))
		err = PG_E_NOT_MAPPED;
	size_t need_lo = err ? 0 : edge_need(root, va);
	size_t need_hi = err || !end_edge ? 0 : edge_need(root, va + len);
	if (!err)
		err = reserve_fill(&r, need_lo + need_hi);
	if (!err) {
		tlb_begin(&b, root);
		if (need_lo)
			edge_split(root, va, &r, &b);
		if (need_hi)
			edge_split(root, va + len, &r, &b);
		struct reprotect p = { flags, &b };
		for_each_leaf(root, va, va + len - 1, reprotect_leaf, &p);
		tlb_finish(&b);
		reserve_drain(&r);
	}
	spin_unlock_irqrestore(&pg_lock, irq);
	return err;
}
