/*
 * map.c - pg_map: make [va, va+len) translate to [pa, pa+len).
 *
 * The range is cut into pieces, each the largest page that the alignment
 * of va and pa and the length left allow (or the size the caller pins).
 * Pass 1 walks the tree without changing it: it finds a present entry in
 * the way (an error without PG_MAP_REPLACE) and counts the tables pass 2
 * will create. The reserve then takes that many frames, and pass 2 writes
 * the leaves; nothing in pass 2 can fail.
 */
#include "mm/paging/internal.h"

/* 0 (4 KiB), 1 (2 MiB) or 2 (1 GiB): the pinned size, else the largest that fits. */
static unsigned piece_level(uintptr_t va, uint64_t pa, size_t left, unsigned flags)
{
	if (flags & PG_SIZE_MASK)
		return ((flags & PG_SIZE_MASK) >> 9) - 1;
	for (unsigned l = pg_feat.pdpe1gb ? 2 : 1; l > 0; l--)
		if (!((va | pa) & (level_size(l) - 1)) && left >= level_size(l))
			return l;
	return 0;
}

/* A pinned size must exist on this CPU and fit va, pa and len exactly. */
static int check_size(uintptr_t va, uint64_t pa, size_t len, unsigned flags)
{
	unsigned pin = flags & PG_SIZE_MASK;
	if (pin == PG_SIZE_1G && !pg_feat.pdpe1gb)
		return PG_E_UNSUPPORTED;
	if (pin && ((va | pa | len) & (level_size((pin >> 9) - 1) - 1)))
		return PG_E_ALIGN;
	return 0;
}

/*
 * Pass 1. Below an entry that is empty, or a huge leaf to be split, every
 * level down to the piece needs a new table: one per region of the entry
 * above, which last[] remembers since pieces come in address order.
 */
static int map_count(uint64_t root, uintptr_t va, uint64_t pa, size_t len, unsigned flags,
		     size_t *need)
{
	uintptr_t last[PG_MAX_LEVELS] = { -1UL, -1UL, -1UL, -1UL, -1UL };
	bool replace = flags & PG_MAP_REPLACE;
	for (size_t off = 0; off < len;) {
		uintptr_t a = va + off;
		unsigned lvl = piece_level(a, pa + off, len - off, flags);
		pte_t *t = table_at(root);
		for (unsigned l = top_level(); l > lvl; l--) {
			if (t) {
				pte_t e = t[pt_index(a, l)];
				if (pte_present(e) && !pte_leaf(e, l)) {
					t = table_at(pte_addr(e, l));
					continue;
				}
				if (pte_present(e) && !replace)
					return PG_E_EXISTS;
				t = NULL;
			}
			if (last[l] != a >> level_shift(l)) {
				last[l] = a >> level_shift(l);
				(*need)++;
			}
		}
		if (t && pte_present(t[pt_index(a, lvl)]) && !replace)
			return PG_E_EXISTS;
		off += level_size(lvl);
	}
	return 0;
}

/* Pass 2. A leaf written over a table frees that table's subtree after the flush. */
static void map_pieces(uint64_t root, uintptr_t va, uint64_t pa, size_t len, unsigned flags,
		       struct reserve *r, struct tlb_batch *b)
{
	unsigned prot = flags & PG_PROT_MASK;
	for (size_t off = 0; off < len;) {
		uintptr_t a = va + off;
		unsigned lvl = piece_level(a, pa + off, len - off, flags);
		pte_t *e = walk_make(root, a, lvl, r, b);
		pte_t old = *e;
		pte_set(e, pte_leaf_make(pa + off, prot, lvl));
		if (pte_present(old) && pte_leaf(old, lvl))
			tlb_add(b, a, old);
		else if (pte_present(old))
			free_subtree(pte_addr(old, lvl), lvl - 1, a, b);
		off += level_size(lvl);
	}
}

/*
 * The common case: one 4 KiB page into an empty entry under tables that
 * exist. One walk, nothing to reserve or flush. Returns false if the
 * general path must decide (a table missing, a huge page, a present entry).
 */
static bool map_one_fast(uint64_t root, uintptr_t va, uint64_t pa, unsigned flags)
{
	pte_t *t = table_at(root);
	for (unsigned l = top_level(); l > 0; l--) {
		pte_t e = t[pt_index(va, l)];
		if (!pte_present(e) || pte_leaf(e, l))
			return false;
		t = table_at(pte_addr(e, l));
	}
	pte_t *e = &t[pt_index(va, 0)];
	if (pte_present(*e))
		return false;
	pte_set(e, pte_leaf_make(pa, flags & PG_PROT_MASK, 0));
	return true;
}

int pg_map(uint64_t root, uintptr_t va, uint64_t pa, size_t len, unsigned flags)
{
	int err = check_range(va, len);
	if (!err)
		err = check_phys(pa, len);
	if (!err)
		err = check_prot(flags);
	if (!err)
		err = check_size(va, pa, len, flags);
	if (err)
		return err;

	size_t need = 0;
	struct reserve r;
	struct tlb_batch b;
	uint64_t irq = spin_lock_irqsave(&pg_lock);
	if (len == PAGE_SIZE && map_one_fast(root, va, pa, flags)) {
		spin_unlock_irqrestore(&pg_lock, irq);
		return 0;
	}
	err = map_count(root, va, pa, len, flags, &need);
	if (!err)
		err = reserve_fill(&r, need);
	if (!err) {
		tlb_begin(&b, root);
		map_pieces(root, va, pa, len, flags, &r, &b);
		tlb_finish(&b);
		reserve_drain(&r);
	}
	spin_unlock_irqrestore(&pg_lock, irq);
	return err;
}
