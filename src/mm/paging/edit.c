/*
 * edit.c - the frame that pg_unmap and pg_protect share.
 *
 * Under pg_lock: refuse the range unless every page of it is mapped;
 * count the tables needed to split the huge leaves that stick out of
 * either end and take them all from the buddy before touching anything
 * (so running out of frames changes nothing); split; let the caller change
 * the leaves inside; flush what changed.
 */
#include "mm/paging/internal.h"

int edit_range(uint64_t root, uintptr_t va, size_t len, edit_fn apply, void *arg)
{
	bool end_edge = end_in_half(va, len);
	struct reserve r;
	struct tlb_batch b;
	int err = 0;
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
		apply(root, va, va + len - 1, &b, arg);
		tlb_finish(&b);
		reserve_drain(&r);
	}
	spin_unlock_irqrestore(&pg_lock, irq);
	return err;
}
