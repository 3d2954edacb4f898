/*
 * tlb.c - the one place that decides how stale translations go away, on
 * this CPU and on the others.
 *
 * An edit collects what it changed in a tlb_batch and flushes once at its
 * end: one invlpg per changed leaf (any size: invlpg drops the entry that
 * holds the address, and every paging-structure cache entry too), or a
 * full flush past TLB_FULL_FLUSH_PAGES leaves, the point where the bench
 * shows a full flush and the refills cost less than the invlpgs.
 *
 * Only a CPU running a root can hold stale entries for its user half, so
 * other roots need nothing - unless PCID keeps their entries alive across
 * switches: then their PCID is marked stale and flushed when it is next
 * switched to. The kernel half is shared by every root, and global entries
 * outlive CR3 writes, so changes there are always flushed.
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
 * The other CPUs (the shootdown). pg.cpu[c].root is the root CPU c last
 * loaded through pg_switch, set under pg.lock, so an edit (also under
 * pg.lock) sees every CPU either still running the root or already
 * switched to the new tables. At the end of a batch on root R, under
 * pg.lock (tlb_flush_here):
 *   - this CPU flushes if R is in its CR3 (or the batch is shared, below);
 *   - with PCID, every online CPU's slot for R but this one's, if R runs
 *     here, is marked stale - those running R too, since one may switch
 *     away before the request arrives and drop the wrong PCID's entries;
 *     PCIDs are per CPU, each CPU handing out its own;
 *   - the CPUs to shoot: for the kernel half, for global entries, and for
 *     the kernel root (an AP may run it before any pg_switch), every other
 *     online CPU; else the other CPUs whose pg.cpu[].root is R. A batch that
 *     only added rights to user pages (pte_relaxes) shoots no one: a stale
 *     entry there costs one spurious fault, which the VMM resolves.
 * Then, with pg.lock dropped (tlb_flush_there): one arch_tlb_shootdown
 * with the batch's pages (or all, past the ceiling), and only once it has
 * returned are the batch's tables freed, and the edit returns, so the
 * caller may free the frames. A CPU that picks R up after the lock is
 * dropped reads the new tables (a CR3 write without the keep bit, or a
 * stale PCID). The shootdown waits outside pg.lock so that every other
 * CPU's edits and switches are not held for the round trip; the one made
 * under it is the early flush of a batch whose free list is full (rare;
 * arch.h allows it: a CPU spinning on the lock answers). With one CPU
 * online the mask is empty and arch_tlb_shootdown is not called. An AP
 * joins through pg_cpu_online, under pg.lock, once its online bit is set.
 * docs/paging.md, "TLB shootdown", has the why of each step.
 */
#include "mm/paging/pte.h"
#include "mm/buddy/buddy.h"
#include "mm/failure.h"

#define CR3_ADDR   0x000ffffffffff000UL
#define CR3_PCID   0xfffUL
#define CR3_NOFLUSH (1UL << 63)

pg_root_t pg_current_root(void) { return arch_read_cr3() & CR3_ADDR; }

static struct pcid_slot *pcid_find(unsigned cpu, pg_root_t root)
{
	struct pcid_slot *s = pg.cpu[cpu].slots;
	for (unsigned i = 0; i < PCID_SLOTS; i++)
		if (s[i].root == root)
			return &s[i];
	return NULL;
}

/* root is going away (or its PCID must not be trusted): forget its slot on every CPU. */
void pcid_forget(pg_root_t root)
{
	for (unsigned c = 0; c < ARCH_MAX_CPUS; c++) {
		struct pcid_slot *s = pcid_find(c, root);
		if (s)
			s->root = 0;
	}
}

/* Under pg.lock: is root in this CPU's CR3, or the last root another CPU loaded? */
bool pg_root_active(pg_root_t root)
{
	unsigned self = arch_cpu_index();
	for (unsigned c = 0; c < ARCH_MAX_CPUS; c++)
		if (c != self && pg.cpu[c].root == root)
			return true;
	return pg_current_root() == root;
}

/* The CPUs of cpus whose slot for root must be flushed when they next load it. */
static void pcid_mark_stale(pg_root_t root, uint64_t cpus)
{
	for (; cpus; cpus &= cpus - 1) {
		struct pcid_slot *s = pcid_find(__builtin_ctzll(cpus), root);
		if (s)
			s->stale = true;
	}
}

/* The CPUs of cpus that run root now. */
static uint64_t cpus_running(pg_root_t root, uint64_t cpus)
{
	uint64_t m = 0;
	for (; cpus; cpus &= cpus - 1)
		if (pg.cpu[__builtin_ctzll(cpus)].root == root)
			m |= cpus & -cpus;
	return m;
}

static void flush_local(struct tlb_batch *b)
{
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
	b->root = root, b->pages = 0, b->nglobal = 0, b->nrelaxed = 0, b->upper = false;
	b->cpus = 0, b->nfree = 0;
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

/* The same, for a change that only added rights (pte_relaxes): other CPUs need not hear of it. */
void tlb_add_relaxed(struct tlb_batch *b, va_t va, pte_t old)
{
	tlb_add(b, va, old);
	b->nrelaxed++;
}

/*
 * Under pg.lock: flush this CPU, mark the PCIDs other CPUs keep for the
 * root stale, and choose the CPUs tlb_flush_there shoots (b->cpus).
 * Freed tables need a flush even if no leaf changed: one invlpg empties
 * every paging-structure cache of the current PCID.
 */
void tlb_flush_here(struct tlb_batch *b)
{
	if (b->nfree && !b->pages)
		b->va[0] = b->free_va, b->pages = 1;
	if (!b->pages)
		return;
	bool current = pg_current_root() == b->root;
	if (current || b->upper || b->nglobal)
		flush_local(b);
	uint64_t self = 1UL << arch_cpu_index(), others = arch_cpus_online() & ~self;
	if (!b->upper && pg.feat.pcid)
		pcid_mark_stale(b->root, current ? others : others | self);
	if (!others || (b->nrelaxed == b->pages && !b->nfree && !b->upper))
		return;
	bool shared = b->upper || b->nglobal || b->root == pg.kroot;
	b->cpus = shared ? others : cpus_running(b->root, others);
}

/* With pg.lock dropped (or not): the shootdown tlb_flush_here chose, then the tables go. */
void tlb_flush_there(struct tlb_batch *b)
{
	if (b->cpus) {
		bool all = b->pages > TLB_FULL_FLUSH_PAGES;
		struct arch_tlb_flush f = { all ? NULL : b->va, all ? 0 : b->pages, all, b->nglobal > 0 };
		arch_tlb_shootdown(b->cpus, &f);
	}
	for (unsigned i = 0; i < b->nfree; i++)
		pmm_free_page(b->free[i]);
	tlb_begin(b, b->root);
}

/* Both halves at once, pg.lock held: the early flush of a full batch. */
void tlb_finish(struct tlb_batch *b)
{
	tlb_flush_here(b);
	tlb_flush_there(b);
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
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	for (size_t off = 0; off < len && b.pages <= TLB_FULL_FLUSH_PAGES; off += PAGE_SIZE)
		tlb_add(&b, va + off, old);
	tlb_flush_here(&b);
	if (old)
		pg.kernel_gen++;               /* ...and non-global ones, which other PCIDs keep */
	spin_unlock_irqrestore(&pg.lock, irq);
	tlb_flush_there(&b);
}

/* This CPU's CR3 for root: its PCID here, and the keep bit unless that PCID went stale. */
static uint64_t pcid_cr3(unsigned cpu, pg_root_t root)
{
	struct paging_cpu *c = &pg.cpu[cpu];
	struct pcid_slot *s = pcid_find(cpu, root);
	if (!s) {
		s = &c->slots[c->next_victim];
		c->next_victim = (c->next_victim + 1) % PCID_SLOTS;
		*s = (struct pcid_slot){ root, 0, true };
	}
	uint64_t cr3 = root | (uint64_t)(s - c->slots + 1);
	if (!s->stale && s->kgen == pg.kernel_gen)
		cr3 |= CR3_NOFLUSH;
	s->stale = false, s->kgen = pg.kernel_gen;
	return cr3;
}

/*
 * Switch to root, and record that this CPU runs it (under pg.lock, so
 * that an edit sees it). With PCID each root keeps its own TLB entries
 * across switches (CR3 bit 63 says keep them) unless they went stale.
 */
static void switch_locked(pg_root_t root)
{
	unsigned cpu = arch_cpu_index();
	pg.cpu[cpu].root = root;
	arch_write_cr3(pg.feat.pcid ? pcid_cr3(cpu, root) : root);
}

void pg_switch(pg_root_t root)
{
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	switch_locked(root);
	spin_unlock_irqrestore(&pg.lock, irq);
}

/*
 * An AP whose bit is now in arch_cpus_online(). Taking pg.lock orders it
 * against every edit: one made before is in the tables it walks from now
 * on, one made after sees its bit and shoots it. What it cached before,
 * running the kernel's tables from the trampoline, goes (global entries
 * too), and it runs the kernel root as pg knows it.
 */
void pg_cpu_online(void)
{
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	switch_locked(pg.kroot);
	arch_flush_tlb_global();
	spin_unlock_irqrestore(&pg.lock, irq);
}
