/*
 * pte.h - the x86 page-table entry: the only file that knows its bits.
 *
 * Every other file of the engine asks these helpers whether an entry is
 * present, a leaf or a table, and turns portable flags into bits and back.
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
#include "mm/failure.h"

typedef uint64_t pte_t;

/* The features the encoding depends on, set by paging_init. */
extern struct paging_features pg_feat;

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
	if (level > 2 || (level == 2 && !pg_feat.pdpe1gb))
		MM_PANIC("paging", "entry %lx at level %u has PS set: no such page size",
			 (unsigned long)e, level);
	return true;
}

/* The frame or table e points to; a huge leaf's bit 12 is its PAT bit, not address. */
static inline uint64_t pte_addr(pte_t e, unsigned level)
{
	uint64_t a = e & PTE_ADDR;
	return level && (e & PTE_PS) ? a & ~PTE_PAT_HUGE : a;
}

/*
 * An entry pointing to a table. It allows everything: the leaf decides
 * (x86 takes the strictest of all levels, so the leaf's word is final).
 */
static inline pte_t pte_table(uint64_t table_pa) { return table_pa | PTE_P | PTE_W | PTE_U; }

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
static inline pte_t pte_leaf_make(uint64_t pa, unsigned flags, unsigned level)
{
	pte_t e = pa | PTE_P | pte_cache_bits(flags, level);
	if (flags & PG_WRITE)
		e |= PTE_W;
	if (flags & PG_USER)
		e |= PTE_U;
	if ((flags & PG_GLOBAL) && pg_feat.pge)
		e |= PTE_G;
	if (!(flags & PG_EXEC) && pg_feat.nx)
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
	return bits | (pte_addr(e, level) + ((uint64_t)i << (12 + 9 * (level - 1))));
}

/* The leaf e with new portable flags; its address and A/D bits stay. */
static inline pte_t pte_reprotect(pte_t e, unsigned flags, unsigned level)
{
	return pte_leaf_make(pte_addr(e, level), flags, level) | (e & (PTE_A | PTE_D));
}

/* Global entries survive CR3 writes: changing one needs invlpg in every address space. */
static inline bool pte_global(pte_t e) { return e & PTE_G; }

/*
 * Stores to live tables are single 64-bit writes, so a CPU walking the
 * table concurrently sees the old entry or the new one, never half.
 */
static inline void pte_set(pte_t *p, pte_t e) { __atomic_store_n(p, e, __ATOMIC_RELAXED); }

#endif
