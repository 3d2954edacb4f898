/*
 * root.c - address spaces: making, sharing and destroying roots.
 *
 * The kernel half (top-level entries 256..511) of every root points to the
 * same tables, made once by kernel_half_init() and never freed: a kernel
 * mapping made later lands in one of them and so appears in every address
 * space at once, with no top-level entry to copy around.
 */
#include "mm/paging/internal.h"
#include "mm/buddy/buddy.h"
#include "lib/kstring.h"

uint64_t pg_kroot;

uint64_t pg_kernel_root(void) { return pg_kroot; }

pg_root_t pg_root_create(void)
{
	pa_t pa = pmm_alloc_page(PMM_ZERO);
	return pa == PMM_NO_FRAME ? PG_NO_ROOT : pa;
}

pg_root_t pg_root_create_user(void)
{
	pg_root_t root = pg_root_create();
	if (root == PG_NO_ROOT || !pg_kroot)
		return root;
	uint64_t irq = spin_lock_irqsave(&pg_lock);
	memcpy(table_at(root) + PT_ENTRIES / 2, table_at(pg_kroot) + PT_ENTRIES / 2,
	       PT_ENTRIES / 2 * sizeof(pte_t));
	spin_unlock_irqrestore(&pg_lock, irq);
	return root;
}

/*
 * Give every empty top-level entry of the kernel half of root a zeroed
 * table. Returns 0, or PG_E_NO_MEMORY having added none.
 */
int kernel_half_init(uint64_t root)
{
	pte_t *t = table_at(root);
	size_t need = 0;
	for (unsigned i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		need += !pte_present(t[i]);
	struct reserve r;
	if (reserve_fill(&r, need))
		return PG_E_NO_MEMORY;
	for (unsigned i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		if (!pte_present(t[i]))
			pte_set(&t[i], pte_table(reserve_take(&r)));
	return 0;
}

/* Free every table below root that the kernel root does not share, then root. */
static void root_free(uint64_t root)
{
	struct tlb_batch b;
	pte_t *t = table_at(root);
	tlb_begin(&b, root);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uint64_t child = pte_addr(t[i], top_level());
		if (pte_present(t[i]) && !table_is_shared(i, child))
			free_subtree(child, top_level() - 1, top_va(i), &b);
	}
	tlb_free_table(&b, root, 0);
	tlb_finish(&b);
}

void pg_root_destroy(uint64_t root)
{
	if (root == pg_kroot || root == pg_current_root() || !root || (root & (PAGE_SIZE - 1))) {
		MM_MISUSE("paging", "pg_root_destroy: %lx is the kernel's, the current or no root; kept",
			  root);
		return;
	}
	uint64_t irq = spin_lock_irqsave(&pg_lock);
	pcid_forget(root);
	root_free(root);
	spin_unlock_irqrestore(&pg_lock, irq);
}
