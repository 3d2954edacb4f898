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

static void reprotect_range(uint64_t root, uintptr_t va, uintptr_t last, struct tlb_batch *b, void *arg)
{
	struct reprotect p = { *(unsigned *)arg, b };
	for_each_leaf(root, va, last, reprotect_leaf, &p);
}

int pg_protect(uint64_t root, uintptr_t va, size_t len, unsigned flags)
{
	int err = check_range(va, len);
	if (!err && (flags & ~(PG_PROT_MASK | PG_ALLOW_WX)))
		err = PG_E_UNSUPPORTED;
	if (!err)
		err = check_prot(flags);
	flags &= PG_PROT_MASK;
	return err ? err : edit_range(root, va, len, reprotect_range, &flags);
}
