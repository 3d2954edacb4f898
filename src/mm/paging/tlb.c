/*
 * tlb.c - the one place that decides how stale translations go away.
 *
 * An edit collects what it changed in a tlb_batch and flushes once at its
 * end: one invlpg per changed leaf (any size: invlpg drops the entry that
 * holds the address, and every paging-structure cache entry too), or a
 * full flush past TLB_FULL_FLUSH_PAGES leaves, the point where the bench
 * shows a full flush and the refills cost less than the invlpgs.
 *
 * Only the current address space can hold stale entries for the user
 * half, so other roots need nothing - unless PCID keeps their entries
 * alive across switches: then their PCID is marked stale and flushed when
 * it is next switched to. The kernel half is shared by every root, and
 * global entries outlive CR3 writes, so changes there are always flushed.
 *
 * With PCID, what invlpg leaves in the other PCIDs (Intel SDM vol. 3,
 * 4.10.4.1) is their non-global TLB entries and all their paging-structure
 * caches, which ignore G. So a kernel-half edit that changed a non-global
 * leaf or freed a table bumps pg.kernel_gen, and every PCID is flushed when
 * it next runs; a CR4.PGE toggle has already emptied them all.
 *
 * Tables an edit frees are held until the flush, since until then a
 * paging-structure cache may still point into them; a flush always comes
 * before they are freed, even when no leaf changed.
 *
 * SMP: this is where a shootdown to the other CPUs will go.
 */
#include "mm/paging/pte.h"
#include "mm/buddy/buddy.h"
#include "mm/failure.h"

#define CR3_ADDR   0x000ffffffffff000UL
#define CR3_PCID   0xfffUL
#define CR3_NOFLUSH (1UL << 63)

pg_root_t pg_current_root(void) { return arch_read_cr3() & CR3_ADDR; }

static struct pcid_slot *pcid_find(pg_root_t root)
{
	for (unsigned i = 0; i < PCID_SLOTS; i++)
		if (pg.slots[i].root == root)
			return &pg.slots[i];
	return NULL;
}

/* root is going away (or its PCID must not be trusted): forget its slot. */
void pcid_forget(pg_root_t root)
{
	struct pcid_slot *s = pcid_find(root);
	if (s)
		s->root = 0;
}

static void flush_now(struct tlb_batch *b, bool current)
{
	if (!current && !b->upper) {
		struct pcid_slot *s = pg.feat.pcid ? pcid_find(b->root) : NULL;
		if (s)
			s->stale = true;
		return;
	}
	bool all = b->pages > TLB_FULL_FLUSH_PAGES;
	if (all)
		b->nglobal ? arch_flush_tlb_global() : arch_flush_tlb();
	else
		for (unsigned i = 0; i < b->pages; i++)
			arch_invlpg(b->va[i]);
	bool local = b->nglobal < b->pages;
	if (b->upper && (local || b->nfree) && !(all && b->nglobal))
		pg.kernel_gen++;
}

void tlb_begin(struct tlb_batch *b, pg_root_t root)
{
	b->root = root, b->pages = 0, b->nglobal = 0, b->upper = false, b->nfree = 0;
}

/* The leaf for va, which held old, changed. */
void tlb_add(struct tlb_batch *b, va_t va, pte_t old)
{
	b->nglobal += pte_global(old);
	b->upper |= upper_half(va);
	if (b->pages < TLB_FULL_FLUSH_PAGES)
		b->va[b->pages] = va;
	b->pages++;
}

/*
 * Flush what the batch holds, then free the tables it held back. Freed
 * tables need a flush even if no leaf changed: one invlpg empties every
 * paging-structure cache of the current PCID.
 */
void tlb_finish(struct tlb_batch *b)
{
	if (b->nfree && !b->pages)
		b->va[0] = b->free_va, b->pages = 1;
	if (b->pages)
		flush_now(b, pg_current_root() == b->root);
	for (unsigned i = 0; i < b->nfree; i++)
		pmm_free_page(b->free[i]);
	tlb_begin(b, b->root);
}

/* Free table_pa, which translated va, once no TLB can reach it; a full batch flushes early. */
void tlb_free_table(struct tlb_batch *b, pa_t table_pa, va_t va)
{
	MM_ASSERT("paging", table_pa != pg.kroot, "the kernel root %lx is being freed", table_pa);
	if (b->nfree == TLB_BATCH_FREE)
		tlb_finish(b);
	b->upper |= upper_half(va);
	b->free_va = va;
	b->free[b->nfree++] = table_pa;
}

void tlb_flush_range(pg_root_t root, va_t va, size_t len)
{
	struct tlb_batch b;
	tlb_begin(&b, root);
	pte_t old = upper_half(va) ? PTE_G : 0;    /* the kernel half may hold global entries */
	for (size_t off = 0; off < len && b.pages <= TLB_FULL_FLUSH_PAGES; off += PAGE_SIZE)
		tlb_add(&b, va + off, old);
	tlb_finish(&b);
	if (old)
		pg.kernel_gen++;               /* ...and non-global ones, which other PCIDs keep */
}

/*
 * Switch to root. With PCID each root keeps its own TLB entries across
 * switches (CR3 bit 63 says keep them) unless they went stale meanwhile.
 */
void pg_switch(pg_root_t root)
{
	if (!pg.feat.pcid) {
		arch_write_cr3(root);
		return;
	}
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	struct pcid_slot *s = pcid_find(root);
	if (!s) {
		s = &pg.slots[pg.next_victim];
		pg.next_victim = (pg.next_victim + 1) % PCID_SLOTS;
		*s = (struct pcid_slot){ root, 0, true };
	}
	uint64_t cr3 = root | (uint64_t)(s - pg.slots + 1);
	if (!s->stale && s->kgen == pg.kernel_gen)
		cr3 |= CR3_NOFLUSH;
	s->stale = false, s->kgen = pg.kernel_gen;
	arch_write_cr3(cr3);
	spin_unlock_irqrestore(&pg.lock, irq);
}
