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
 * Tables an edit frees are held until the flush, since until then a
 * paging-structure cache may still point into them.
 *
 * SMP: this is where a shootdown to the other CPUs will go.
 */
#include "mm/paging/internal.h"
#include "mm/buddy/buddy.h"

#define CR3_ADDR   0x000ffffffffff000UL
#define CR3_PCID   0xfffUL
#define CR3_NOFLUSH (1UL << 63)
#define PCID_SLOTS 32           /* PCIDs 1..32; a root without a slot takes the oldest */

static struct pcid_slot {
	uint64_t root;
	uint64_t kgen;          /* kernel_gen when this PCID was last clean */
	bool stale;
} slots[PCID_SLOTS];
static unsigned next_victim;
static uint64_t kernel_gen;     /* bumped by every non-global kernel-half change */

uint64_t pg_current_root(void) { return arch_read_cr3() & CR3_ADDR; }

static struct pcid_slot *pcid_find(uint64_t root)
{
	for (unsigned i = 0; i < PCID_SLOTS; i++)
		if (slots[i].root == root)
			return &slots[i];
	return NULL;
}

/* root is going away (or its PCID must not be trusted): forget its slot. */
void pcid_forget(uint64_t root)
{
	struct pcid_slot *s = pcid_find(root);
	if (s)
		s->root = 0;
}

static void flush_now(struct tlb_batch *b, bool current)
{
	if (!current && !b->upper) {
		struct pcid_slot *s = pg_feat.pcid ? pcid_find(b->root) : NULL;
		if (s)
			s->stale = true;
		return;
	}
	if (b->upper && !b->global)
		kernel_gen++;
	if (b->pages > TLB_FULL_FLUSH_PAGES)
		b->global ? arch_flush_tlb_global() : arch_flush_tlb();
	else
		for (unsigned i = 0; i < b->pages; i++)
			arch_invlpg(b->va[i]);
}

void tlb_begin(struct tlb_batch *b, uint64_t root)
{
	b->root = root, b->pages = 0, b->global = false, b->upper = false, b->nfree = 0;
}

/* The leaf for va, which held old, changed. */
void tlb_add(struct tlb_batch *b, uintptr_t va, pte_t old)
{
	b->global |= pte_global(old);
	b->upper |= upper_half(va);
	if (b->pages < TLB_FULL_FLUSH_PAGES)
		b->va[b->pages] = va;
	b->pages++;
}

/* Flush what the batch holds, then free the tables it held back. */
void tlb_finish(struct tlb_batch *b)
{
	if (b->pages || b->nfree)
		flush_now(b, pg_current_root() == b->root);
	for (unsigned i = 0; i < b->nfree; i++)
		pmm_free_page(b->free[i]);
	tlb_begin(b, b->root);
}

/* Free table_pa once no TLB can reach it; a full batch flushes early. */
void tlb_free_table(struct tlb_batch *b, uint64_t table_pa)
{
	if (b->nfree == TLB_BATCH_FREE) {
		/* invlpg, even of one page, also empties the paging-structure caches */
		if (!b->pages)
			b->va[0] = 0, b->pages = 1;
		tlb_finish(b);
	}
	b->free[b->nfree++] = table_pa;
}

void tlb_flush_range(uint64_t root, uintptr_t va, size_t len)
{
	struct tlb_batch b;
	tlb_begin(&b, root);
	for (size_t off = 0; off < len && b.pages <= TLB_FULL_FLUSH_PAGES; off += PAGE_SIZE)
		tlb_add(&b, va + off, 0);
	b.global = upper_half(va);  /* the kernel half may hold global entries */
	tlb_finish(&b);
}

/*
 * Switch to root. With PCID each root keeps its own TLB entries across
 * switches (CR3 bit 63 says keep them) unless they went stale meanwhile.
 */
void pg_switch(uint64_t root)
{
	if (!pg_feat.pcid) {
		arch_write_cr3(root);
		return;
	}
	uint64_t irq = spin_lock_irqsave(&pg_lock);
	struct pcid_slot *s = pcid_find(root);
	if (!s) {
		s = &slots[next_victim];
		next_victim = (next_victim + 1) % PCID_SLOTS;
		*s = (struct pcid_slot){ root, 0, true };
	}
	uint64_t cr3 = root | (uint64_t)(s - slots + 1);
	if (!s->stale && s->kgen == kernel_gen)
		cr3 |= CR3_NOFLUSH;
	s->stale = false, s->kgen = kernel_gen;
	arch_write_cr3(cr3);
	spin_unlock_irqrestore(&pg_lock, irq);
}
