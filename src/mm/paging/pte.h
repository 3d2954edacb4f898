/*
 * pte.h - what the files of the paging layer share, and the only file that
 * knows an x86 bit. Not an interface: nothing outside src/mm/paging/
 * includes it.
 *
 * Three parts: the entry format (bits, portable flags <-> bits, the PAT
 * table), the level arithmetic (the 9-bit index, level shifts and sizes,
 * the top level, the canonical width), and the declarations the engine's
 * files share (the walk, the range visitor, the reserve, the TLB batch).
 *
 *   63  62..59  58..52  51........12  11..9  8   7    6   5   4    3    2   1   0
 *  +--+-------+-------+-------------+------+---+----+---+---+----+----+---+---+---+
 *  |NX|  PK   | avail |  address    | avail| G |PS/ | D | A |PCD |PWT |U/S|R/W| P |
 *  |  |       |       |             |      |   |PAT |   |   |    |    |   |   |   |
 *  +--+-------+-------+-------------+------+---+----+---+---+----+----+---+---+---+
 *
 * Bit 7 is PAT in a 4 KiB PTE but PS (a leaf) in a PD or PDPT entry; a huge
 * leaf keeps its PAT bit at 12, the lowest bit of its (aligned) address.
 *
 * Cache types come from the PAT index PAT:PCD:PWT. protect_init() programs
 * the PAT MSR as below (PG_PAT_MSR_VALUE); entries 0..3 are also the power-on values, so WB,
 * WT and UC mean the same before it runs:
 *
 *   index  PAT PCD PWT   type    portable
 *     0     0   0   0    WB      PG_CACHE_WB
 *     1     0   0   1    WT      PG_CACHE_WT
 *     2     0   1   0    UC-     (read back as PG_CACHE_UC)
 *     3     0   1   1    UC      PG_CACHE_UC
 *     4     1   0   0    WC      PG_CACHE_WC
 *     5..7                WT, UC-, UC (unused)
 */
#ifndef STRATA_MM_PAGING_PTE_H
#define STRATA_MM_PAGING_PTE_H

#include <stdbool.h>
#include <stdint.h>
#include "mm/paging/paging.h"
#include "mm/arch.h"
#include "mm/failure.h"
#include "lib/spinlock.h"

typedef uint64_t pte_t;

#define PCID_SLOTS 32           /* PCIDs 1..32; a root without a slot takes the oldest */

/*
 * All of paging's mutable state, in one place (defined in cpu_features.c,
 * set by paging_init and paging_build_kernel). pg.lock guards all of it.
 */
struct pcid_slot {                      /* tlb.c: which root holds which PCID on one CPU */
	pg_root_t root;
	uint64_t kgen;                  /* kernel_gen when this PCID was last clean */
	bool stale;                     /* an edit of root may be cached here: flush on load */
};
struct paging_cpu {                     /* tlb.c: what one CPU runs */
	pg_root_t root;                 /* the root pg_switch loaded here last (0: none yet) */
	unsigned next_victim;           /* the slot a root without one takes next */
	struct pcid_slot slots[PCID_SLOTS];
};
struct paging_state {
	struct paging_features feat;    /* what the CPU offers; the encoding depends on it */
	struct spinlock lock;           /* one lock for every root: the edits are short */
	pg_root_t kroot;                /* the kernel's root, 0 before paging_build_kernel */
	uint64_t kernel_gen;            /* bumped by kernel-half changes other PCIDs may cache */
	struct paging_cpu cpu[ARCH_MAX_CPUS];
};
extern struct paging_state pg;

/* ---- level arithmetic: the one place that knows the 9-bit index ---- */

#define PG_MAX_LEVELS 5
#define PT_ENTRIES 512

/*
 * Level l counts from the leaf up: 0 the PT (4 KiB leaves), 1 the PD
 * (2 MiB), 2 the PDPT (1 GiB), 3 the PML4, 4 the PML5. An entry of level
 * l covers level_size(l) bytes; va selects entry pt_index(va, l).
 */
static inline unsigned level_shift(unsigned l) { return PAGE_SHIFT + 9 * l; }
static inline uint64_t level_size(unsigned l) { return 1UL << level_shift(l); }
static inline unsigned pt_index(va_t va, unsigned l) { return (va >> level_shift(l)) & (PT_ENTRIES - 1); }
static inline unsigned top_level(void) { return pg.feat.levels - 1; }

/* Bits of a canonical address, 48 or 57; the lower half ends at 2^(va_bits-1) - 1. */
static inline unsigned va_bits(void) { return level_shift(top_level()) + 9; }
static inline va_t lower_half_last(void) { return (1UL << (va_bits() - 1)) - 1; }
static inline bool upper_half(va_t va) { return va >> 63; }

static inline pte_t *table_at(pa_t pa) { return phys_to_virt(pa); }

/* ---- the entry format ---- */

#define PTE_P        (1UL << 0)
#define PTE_W        (1UL << 1)
#define PTE_U        (1UL << 2)
#define PTE_PWT      (1UL << 3)
#define PTE_PCD      (1UL << 4)
#define PTE_A        (1UL << 5)
#define PTE_D        (1UL << 6)
#define PTE_PS       (1UL << 7)     /* levels 1 and 2: this entry is a leaf */
#define PTE_PAT_4K   (1UL << 7)     /* level 0 */
#define PTE_G        (1UL << 8)
#define PTE_PAT_HUGE (1UL << 12)    /* levels 1 and 2 */
#define PTE_NX       (1UL << 63)
#define PTE_ADDR     0x000ffffffffff000UL

static inline bool pte_present(pte_t e) { return e & PTE_P; }

/*
 * A swap entry: a 4 KiB page's entry with P clear, which the CPU ignores
 * whole (a fault on it is a not-present #PF), holding a value of the VMM's
 * (a swap slot) for when the page comes back:
 *
 *   63      52 51                                12 11  10  9  8       1  0
 *  +----------+------------------------------------+--------+----------+---+
 *  |    0     |            value (40 bits)         | 0 | 0 | 1 |   0    | 0 |
 *  +----------+------------------------------------+--------+----------+---+
 *                                                             mark       P
 *
 * Bit 9, one the CPU leaves to software, marks it, so an entry is 0
 * (empty), present, or a swap entry; tables count a swap entry as in use.
 */
#define PTE_SWAP_MARK (1UL << 9)
static inline bool pte_is_swap(pte_t e) { return !(e & PTE_P) && (e & PTE_SWAP_MARK); }
static inline pte_t pte_swap_make(uint64_t value) { return value << 12 | PTE_SWAP_MARK; }
static inline uint64_t pte_swap_value(pte_t e) { return (e & PTE_ADDR) >> 12; }

/*
 * A leaf maps memory; anything else present points to the next table.
 * PS above level 2 (a 512 GiB page), or at level 2 without 1 GiB pages, is
 * a reserved bit: the table is corrupt, and no walk may go on. The check
 * costs only on the leaf path.
 */
static inline bool pte_leaf(pte_t e, unsigned level)
{
	if (level == 0)
		return true;
	if (!(e & PTE_PS))
		return false;
	if (level > 2 || (level == 2 && !pg.feat.pdpe1gb))
		MM_PANIC("paging", "entry %lx at level %u has PS set: no such page size",
			 (unsigned long)e, level);
	return true;
}

/* The frame or table e points to; a huge leaf's bit 12 is its PAT bit, not address. */
static inline pa_t pte_addr(pte_t e, unsigned level)
{
	pa_t a = e & PTE_ADDR;
	return level && (e & PTE_PS) ? a & ~PTE_PAT_HUGE : a;
}

/*
 * An entry pointing to a table. It allows everything: the leaf decides
 * (x86 takes the strictest of all levels, so the leaf's word is final).
 */
static inline pte_t pte_table(pa_t table_pa) { return table_pa | PTE_P | PTE_W | PTE_U; }

static inline pte_t pte_cache_bits(unsigned flags, unsigned level)
{
	pte_t pat = level ? PTE_PAT_HUGE : PTE_PAT_4K;
	switch (flags & PG_CACHE_MASK) {
	case PG_CACHE_WT: return PTE_PWT;
	case PG_CACHE_UC: return PTE_PCD | PTE_PWT;
	case PG_CACHE_WC: return pat;
	default:          return 0;
	}
}

/* A leaf at level (0: 4 KiB, 1: 2 MiB, 2: 1 GiB) mapping pa with portable flags. */
static inline pte_t pte_leaf_make(pa_t pa, unsigned flags, unsigned level)
{
	pte_t e = pa | PTE_P | pte_cache_bits(flags, level);
	if (flags & PG_WRITE)
		e |= PTE_W;
	if (flags & PG_USER)
		e |= PTE_U;
	if ((flags & PG_GLOBAL) && pg.feat.pge)
		e |= PTE_G;
	if (!(flags & PG_EXEC) && pg.feat.nx)
		e |= PTE_NX;
	if (level)
		e |= PTE_PS;
	return e;
}

/* The portable flags of a leaf: what the CPU will enforce (no NX => PG_EXEC). */
static inline unsigned pte_flags(pte_t e, unsigned level)
{
	static const unsigned cache[8] = {
		PG_CACHE_WB, PG_CACHE_WT, PG_CACHE_UC, PG_CACHE_UC,
		PG_CACHE_WC, PG_CACHE_WT, PG_CACHE_UC, PG_CACHE_UC,
	};
	unsigned f = PG_READ;
	unsigned pat = (e & (level ? PTE_PAT_HUGE : PTE_PAT_4K)) ? 4 : 0;
	if (e & PTE_W)
		f |= PG_WRITE;
	if (e & PTE_U)
		f |= PG_USER;
	if (e & PTE_G)
		f |= PG_GLOBAL;
	if (!(e & PTE_NX))
		f |= PG_EXEC;
	return f | cache[pat | (e & PTE_PCD ? 2 : 0) | (e & PTE_PWT ? 1 : 0)];
}

/*
 * Entry i of the table that replaces the huge leaf e at level: the same
 * bits (A, D, protection keys included) for 1/512 of the memory, one
 * level down. The PAT bit moves if the children are 4 KiB pages.
 */
static inline pte_t pte_split_child(pte_t e, unsigned level, unsigned i)
{
	pte_t bits = e & ~(PTE_ADDR | PTE_PS);
	if ((e & PTE_PAT_HUGE) && level == 1)
		bits |= PTE_PAT_4K;
	else if (e & PTE_PAT_HUGE)
		bits |= PTE_PAT_HUGE | PTE_PS;
	else if (level > 1)
		bits |= PTE_PS;
	return bits | (pte_addr(e, level) + i * level_size(level - 1));
}

/* The leaf e with new portable flags; its address and A/D bits stay. */
static inline pte_t pte_reprotect(pte_t e, unsigned flags, unsigned level)
{
	return pte_leaf_make(pte_addr(e, level), flags, level) | (e & (PTE_A | PTE_D));
}

/*
 * True if new only adds rights to old: W or U set, NX cleared, nothing
 * else changed (A and D aside). A TLB still holding old then causes at
 * most one spurious fault per CPU (Intel SDM vol. 3, 4.10.4.3), which the
 * VMM's fault path resolves: no other CPU needs to be told.
 */
static inline bool pte_relaxes(pte_t old, pte_t new)
{
	pte_t gained = new & ~old & ~(PTE_A | PTE_D), lost = old & ~new & ~(PTE_A | PTE_D);
	return pte_present(old) && !(gained & ~(PTE_W | PTE_U)) && !(lost & ~PTE_NX);
}

/* Global entries survive CR3 writes: changing one needs invlpg in every address space. */
static inline bool pte_global(pte_t e) { return e & PTE_G; }

/*
 * Stores to live tables are single 64-bit writes, so a CPU walking the
 * table concurrently sees the old entry or the new one, never half.
 */
static inline void pte_set(pte_t *p, pte_t e) { __atomic_store_n(p, e, __ATOMIC_RELAXED); }

/* ---- what the engine's files share ---- */


/* walk.c: frames committed before an edit begins, so that it cannot fail half way. */
struct reserve {
	pa_t head;              /* frames linked through their first word */
	size_t n;
};
int reserve_fill(struct reserve *r, size_t n);
void reserve_drain(struct reserve *r);

/*
 * tlb.c: what an edit changed, flushed once at its end: tlb_finish, or,
 * to send the shootdown after pg.lock is dropped, tlb_flush_here under
 * the lock and tlb_flush_there after it.
 */
#define TLB_BATCH_FREE 32
struct tlb_batch {
	pg_root_t root;
	unsigned pages;         /* leaves changed; above the threshold: full flush */
	unsigned nglobal;       /* of them, global entries (fewer than pages: a local one too) */
	unsigned nrelaxed;      /* of them, changes that only added rights (pte_relaxes) */
	bool upper;             /* the kernel half changed */
	uint64_t cpus;          /* tlb_flush_here: the other CPUs that must flush */
	va_t va[TLB_FULL_FLUSH_PAGES];
	unsigned nfree;         /* tables to free once no TLB can reach them */
	va_t free_va;           /* an address the last of them translated */
	pa_t free[TLB_BATCH_FREE];
};
void tlb_begin(struct tlb_batch *b, pg_root_t root);
void tlb_add(struct tlb_batch *b, va_t va, pte_t old);
void tlb_add_relaxed(struct tlb_batch *b, va_t va, pte_t old);
void tlb_free_table(struct tlb_batch *b, pa_t table_pa, va_t va);
void tlb_finish(struct tlb_batch *b);
void tlb_flush_here(struct tlb_batch *b);
void tlb_flush_there(struct tlb_batch *b);
bool pg_root_active(pg_root_t root);
void pcid_forget(pg_root_t root);

/*
 * walk.c: the walk. The entry for va at level, and in *at the level it
 * is at. Without r the walk stops early at an empty entry or a leaf above
 * level (*at says where); with r it makes the missing tables from r and
 * splits the huge leaves in the way (recorded in b), so *at == level.
 */
pte_t *walk(pg_root_t root, va_t va, unsigned level, struct reserve *r, struct tlb_batch *b,
	    unsigned *at);

/*
 * walk.c: the range visitor. Every entry where the tree stops inside
 * [va, last] - a present leaf or an empty entry - is handed to leaf() or
 * hole(); a table is entered if enter() is NULL or says so, and handed to
 * leave() once its entries are done. Each call gets the entry, its level
 * and the part [va, end] of the range that the entry covers, in address
 * order. NULL members are skipped.
 */
typedef void (*visit_fn)(pte_t *e, unsigned level, va_t va, va_t end, void *arg);
struct visitor {
	visit_fn leaf, hole, leave;
	bool (*enter)(pte_t *e, unsigned level, va_t va, va_t end, void *arg);
	void *arg;
};
void visit(pg_root_t root, va_t va, va_t last, const struct visitor *v);

/*
 * walk.c: tables going back to the buddy, after the flush (through b).
 * The kernel half's shared tables never go: table_is_shared says which.
 */
bool table_is_shared(unsigned top_index, pa_t table_pa);
void free_subtree(pa_t table_pa, unsigned level, va_t va, struct tlb_batch *b);
void free_tables(pg_root_t root, struct tlb_batch *b);

#endif
