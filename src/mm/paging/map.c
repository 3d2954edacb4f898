/*
 * map.c - the three edits: pg_map, pg_unmap and pg_protect, and the
 * argument checks they make before they touch a table, so that a refused
 * call has changed nothing.
 *
 * Every edit runs the same way under pg.lock: count the tables it will
 * need without writing, take that many frames from the buddy (the
 * reserve), edit (which cannot fail), flush once; then, with the lock
 * dropped, shoot the other CPUs that may cache what changed and free what
 * it emptied (tlb.c).
 *
 * pg_map cuts the range into pieces, each the largest page that the
 * alignment of va and pa and the length left allow (or the size the
 * caller pins), and walks to each piece's entry twice: once to count,
 * once to write. pg_unmap and pg_protect first split the huge leaves that
 * stick out of either end of the range, so that every leaf the range
 * visitor then meets lies wholly inside it.
 */
#include "mm/paging/pte.h"
#include "mm/trace.h"

/* ---- the checks ---- */

/* Canonical: bits 63..47 (63..56 with 5 levels) all equal. */
bool pg_va_canonical(va_t va)
{
	unsigned shift = 64 - va_bits();
	return (va_t)((int64_t)(va << shift) >> shift) == va;
}

const char *pg_error_str(int e)
{
	static const char *const s[] = {
		"ok", "not aligned", "not canonical", "bad length", "already mapped",
		"not mapped", "beyond physical address width", "out of memory", "unsupported",
		"writable and executable without PG_ALLOW_WX",
	};
	return e <= 0 && e >= PG_E_WX ? s[-e] : "?";
}

/* [va, va+len): non-empty, page aligned, not wrapping, inside one canonical half. */
static int check_range(va_t va, size_t len)
{
	if (len == 0)
		return PG_E_LENGTH;
	if ((va | len) & (PAGE_SIZE - 1))
		return PG_E_ALIGN;
	if (va + len - 1 < va)
		return PG_E_LENGTH;
	va_t last = va + len - 1;
	if (!pg_va_canonical(va) || !pg_va_canonical(last) || upper_half(va) != upper_half(last))
		return PG_E_CANONICAL;
	return 0;
}

/*
 * x86 has no write-only or no-access leaf: PG_READ is required; no unknown
 * bits. W^X: writable and executable only with PG_ALLOW_WX (PG_E_WX).
 */
static int check_prot(unsigned flags)
{
	if (!(flags & PG_READ) ||
	    (flags & ~(PG_PROT_MASK | PG_MAP_REPLACE | PG_SIZE_MASK | PG_ALLOW_WX)))
		return PG_E_UNSUPPORTED;
	if ((flags & (PG_WRITE | PG_EXEC | PG_ALLOW_WX)) == (PG_WRITE | PG_EXEC))
		return PG_E_WX;
	return 0;
}

/*
 * pg_map's arguments: the range; [pa, pa+len) aligned and below
 * 2^phys_bits; the flags; a pinned size that exists on this CPU and fits
 * va, pa and len exactly.
 */
static int check_map(va_t va, pa_t pa, size_t len, unsigned flags)
{
	unsigned pin = flags & PG_SIZE_MASK;
	int err = check_range(va, len);
	if (err)
		return err;
	if (pa & (PAGE_SIZE - 1))
		return PG_E_ALIGN;
	if (pa + len - 1 < pa)
		return PG_E_LENGTH;
	if ((pa + len - 1) >> pg.feat.phys_bits)
		return PG_E_PHYS_RANGE;
	err = check_prot(flags);
	if (err)
		return err;
	if (pin == PG_SIZE_1G && !pg.feat.pdpe1gb)
		return PG_E_UNSUPPORTED;
	if (pin && ((va | pa | len) & (level_size((pin >> 9) - 1) - 1)))
		return PG_E_ALIGN;
	return 0;
}

/* ---- pg_map ---- */

/* 0 (4 KiB), 1 (2 MiB) or 2 (1 GiB): the pinned size, else the largest that fits. */
static unsigned piece_level(va_t va, pa_t pa, size_t left, unsigned flags)
{
	if (flags & PG_SIZE_MASK)
		return ((flags & PG_SIZE_MASK) >> 9) - 1;
	for (unsigned l = pg.feat.pdpe1gb ? 2 : 1; l > 0; l--)
		if (!((va | pa) & (level_size(l) - 1)) && left >= level_size(l))
			return l;
	return 0;
}

/*
 * Pass 1, nothing written. The walk stops where the tree does: a present
 * entry there is in the way (PG_E_EXISTS unless PG_MAP_REPLACE); below an
 * empty entry, or a huge leaf to be split, each level down to the piece
 * needs a new table - one per entry above, which last[] remembers, since
 * pieces come in address order and may share it. *levels collects the
 * levels of the new tables (bit l: a table of level-l entries), for the
 * trace.
 */
static int map_count(pg_root_t root, va_t va, pa_t pa, size_t len, unsigned flags, size_t *need,
		     unsigned *levels)
{
	va_t last[PG_MAX_LEVELS] = { -1UL, -1UL, -1UL, -1UL, -1UL };
	for (size_t off = 0; off < len;) {
		va_t a = va + off;
		unsigned lvl = piece_level(a, pa + off, len - off, flags), at;
		pte_t *e = walk(root, a, lvl, NULL, NULL, &at);
		if (*e && !(flags & PG_MAP_REPLACE))
			return PG_E_EXISTS;     /* present, or a swapped page's entry */
		for (unsigned l = at; l > lvl; l--)
			if (last[l] != a >> level_shift(l)) {
				last[l] = a >> level_shift(l);
				*levels |= 1u << (l - 1);
				(*need)++;
			}
		off += level_size(lvl);
	}
	return 0;
}

/* Pass 2. A leaf written over a table frees that table's subtree after the flush. */
static void map_fill(pg_root_t root, va_t va, pa_t pa, size_t len, unsigned flags,
		     struct reserve *r, struct tlb_batch *b)
{
	for (size_t off = 0; off < len;) {
		va_t a = va + off;
		unsigned lvl = piece_level(a, pa + off, len - off, flags), at;
		pte_t *e = walk(root, a, lvl, r, b, &at);
		pte_t old = *e;
		pte_set(e, pte_leaf_make(pa + off, flags & PG_PROT_MASK, lvl));
		if (pte_present(old) && pte_leaf(old, lvl))
			tlb_add(b, a, old);
		else if (pte_present(old))
			free_subtree(pte_addr(old, lvl), lvl - 1, a, b);
		off += level_size(lvl);
	}
}

/*
 * One line per call when tracing: what was filled, in which pages, and
 * the tables made for it (by level: 0 holds 4 KiB leaves), e.g.
 *   va ffffc00000001000 -> pa 0x2345000, 4 KiB in 4 KiB pages, rw- (a new level-0 table)
 */
static void map_trace(va_t va, pa_t pa, size_t len, unsigned flags, size_t tables, unsigned levels)
{
	char size[24], page[16], made[48] = "no new table";
	int n = 0;
	fmt_size(size, sizeof(size), len);
	fmt_size(page, sizeof(page), level_size(piece_level(va, pa, len, flags)));
	if (tables == 1)
		ksnprintf(made, sizeof(made), "a new level-%d table", __builtin_ctz(levels));
	else if (tables)
		n = ksnprintf(made, sizeof(made), "%lu new tables, levels", tables);
	for (unsigned l = PG_MAX_LEVELS; tables > 1 && l-- > 0;)
		if (levels & (1u << l))
			n += ksnprintf(made + n, sizeof(made) - n, " %u", l);
	MM_TRACE("paging", "va %lx -> pa 0x%lx, %s in %s pages, r%c%c (%s)", va, pa, size, page,
		 flags & PG_WRITE ? 'w' : '-', flags & PG_EXEC ? 'x' : '-', made);
}

/*
 * The common case, one 4 KiB page into an empty entry under tables that
 * exist: one walk, nothing to count, reserve or flush (x86 caches no
 * not-present entry). False if the general path must decide.
 */
static bool map_one_fast(pg_root_t root, va_t va, pa_t pa, unsigned flags)
{
	unsigned at;
	pte_t *e = walk(root, va, 0, NULL, NULL, &at);
	if (at || *e)
		return false;
	pte_set(e, pte_leaf_make(pa, flags & PG_PROT_MASK, 0));
	return true;
}

int pg_map(pg_root_t root, va_t va, pa_t pa, size_t len, unsigned flags)
{
	int err = check_map(va, pa, len, flags);
	if (err)
		return err;

	size_t need = 0;
	unsigned levels = 0;
	struct reserve r;
	struct tlb_batch b;
	bool filled = false;
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	if (len == PAGE_SIZE && map_one_fast(root, va, pa, flags))
		goto out;
	err = map_count(root, va, pa, len, flags, &need, &levels);
	if (!err)
		err = reserve_fill(&r, need);
	if (!err) {
		tlb_begin(&b, root);
		map_fill(root, va, pa, len, flags, &r, &b);
		tlb_flush_here(&b);
		reserve_drain(&r);
		filled = true;
	}
out:
	spin_unlock_irqrestore(&pg.lock, irq);
	if (filled)
		tlb_flush_there(&b);
	if (!err && mm_trace)
		map_trace(va, pa, len, flags, need, levels);
	return err;
}

/* ---- pg_unmap and pg_protect ---- */

/* The largest page level va is aligned to: 0 (only 4 KiB) up to the top level. */
static unsigned aligned_level(va_t va)
{
	unsigned k = 0;
	while (k < top_level() && !(va & (level_size(k + 1) - 1)))
		k++;
	return k;
}

/*
 * Tables a range edge at va needs: an edit of a range that starts or
 * ends at va inside a huge leaf splits it down to the level va is aligned
 * to. The walk (with a reserve) does the splitting.
 */
static size_t edge_need(pg_root_t root, va_t va)
{
	unsigned at, k = aligned_level(va);
	pte_t *e = walk(root, va, 0, NULL, NULL, &at);
	return pte_present(*e) && at > k ? at - k : 0;
}

static void range_hole(pte_t *e, unsigned level, va_t va, va_t end, void *missing)
{
	(void)e, (void)level, (void)va, (void)end;
	*(bool *)missing = true;
}

/*
 * The frame pg_unmap and pg_protect share. Under pg.lock: refuse the
 * range unless every page of it is mapped; count the tables needed to
 * split the huge leaves that stick out of either end and take them all
 * before touching anything; split; let v change the leaves inside,
 * recording them in b; flush here. Then, unlocked, the other CPUs (tlb.c).
 */
static int edit_range(pg_root_t root, va_t va, size_t len, const struct visitor *v,
		      struct tlb_batch *b)
{
	va_t end = va + len;    /* the high edge: none if it is 0 or past the half */
	bool end_edge = end != 0 && pg_va_canonical(end) && upper_half(end) == upper_half(va);
	bool missing = false;
	struct visitor holes = { .hole = range_hole, .arg = &missing };
	struct reserve r;
	int err = 0;
	unsigned at;
	tlb_begin(b, root);
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	visit(root, va, end - 1, &holes);
	if (missing)
		err = PG_E_NOT_MAPPED;
	size_t need_lo = err ? 0 : edge_need(root, va);
	size_t need_hi = err || !end_edge ? 0 : edge_need(root, end);
	if (!err)
		err = reserve_fill(&r, need_lo + need_hi);
	if (!err) {
		if (need_lo)
			walk(root, va, aligned_level(va), &r, b, &at);
		if (need_hi)
			walk(root, end, aligned_level(end), &r, b, &at);
		visit(root, va, end - 1, v);
		tlb_flush_here(b);
		reserve_drain(&r);
	}
	spin_unlock_irqrestore(&pg.lock, irq);
	tlb_flush_there(b);
	return err;
}

/* After the edges are split every leaf lies inside the range; one that does not is a bug. */
static void clear_leaf(pte_t *e, unsigned level, va_t va, va_t end, void *b)
{
	if ((va & (level_size(level) - 1)) || end != (va | (level_size(level) - 1)))
		MM_PANIC("paging", "pg_unmap: leaf at %lx sticks out of the range", va);
	tlb_add(b, va, *e);
	pte_set(e, 0);
}

/*
 * True if t has no entry in use (present, or a swap entry). The search
 * starts at hint, the entry just edited: if a table below it survived, or
 * a neighbour is mapped, the answer comes at once.
 */
static bool table_empty(const pte_t *t, unsigned hint)
{
	for (unsigned n = 0; n < PT_ENTRIES; n++)
		if (t[(hint + n) % PT_ENTRIES])
			return false;
	return true;
}

/* True if t has no entry in use but, perhaps, entry i: whether clearing i empties it. */
static bool table_empty_but(const pte_t *t, unsigned i)
{
	for (unsigned n = 1; n < PT_ENTRIES; n++)
		if (t[(i + n) % PT_ENTRIES])
			return false;
	return true;
}

/* A table the unmap emptied goes, unless it is one of the kernel half's shared tables. */
static void clear_table(pte_t *e, unsigned level, va_t va, va_t end, void *b)
{
	pa_t child = pte_addr(*e, level);
	if (level == top_level() && table_is_shared(pt_index(va, level), child))
		return;
	if (table_empty(table_at(child), pt_index(end, level - 1))) {
		pte_set(e, 0);
		tlb_free_table(b, child, va);
	}
}

/*
 * The common case of an edit: one 4 KiB page, mapped by a 4 KiB leaf.
 * One walk under pg.lock; leaf() changes the entry (recording it in b).
 * Nothing to split, no hole to report; with empty_ok false, the leaf's
 * table must keep another present entry, so no table is emptied (the
 * general path frees those). False, with nothing changed, if the general
 * path must decide.
 */
static bool edit_one_fast(pg_root_t root, va_t va, visit_fn leaf, void *arg, struct tlb_batch *b,
			  bool empty_ok)
{
	unsigned at;
	bool done = false;
	tlb_begin(b, root);
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	pte_t *e = walk(root, va, 0, NULL, NULL, &at);
	if (!at && pte_present(*e)) {
		pte_t *t = (pte_t *)((uintptr_t)e & ~(uintptr_t)(PAGE_SIZE - 1));
		unsigned i = (unsigned)(e - t);
		done = empty_ok || !table_empty_but(t, i);
	}
	if (done) {
		leaf(e, 0, va, va + PAGE_SIZE - 1, arg);
		tlb_flush_here(b);
	}
	spin_unlock_irqrestore(&pg.lock, irq);
	if (done)
		tlb_flush_there(b);
	return done;
}

int pg_unmap(pg_root_t root, va_t va, size_t len)
{
	struct tlb_batch b;
	struct visitor v = { .leaf = clear_leaf, .leave = clear_table, .arg = &b };
	int err = check_range(va, len);
	if (err)
		return err;
	if (len == PAGE_SIZE && edit_one_fast(root, va, clear_leaf, &b, &b, false))
		return 0;
	return edit_range(root, va, len, &v, &b);
}

/*
 * Each leaf inside gets its own address and the new flags; only real
 * changes are flushed, and one that only adds rights (pte_relaxes) need
 * not reach the other CPUs.
 */
struct reprotect {
	struct tlb_batch *b;
	unsigned flags;
};

static void reprotect_leaf(pte_t *e, unsigned level, va_t va, va_t end, void *arg)
{
	struct reprotect *p = arg;
	pte_t old = *e, new = pte_reprotect(old, p->flags, level);
	(void)end;
	if (new == old)
		return;
	pte_set(e, new);
	if (pte_relaxes(old, new))
		tlb_add_relaxed(p->b, va & ~(level_size(level) - 1), old);
	else
		tlb_add(p->b, va & ~(level_size(level) - 1), old);
}

int pg_protect(pg_root_t root, va_t va, size_t len, unsigned flags)
{
	struct tlb_batch b;
	struct reprotect p = { &b, flags & PG_PROT_MASK };
	struct visitor v = { .leaf = reprotect_leaf, .arg = &p };
	int err = check_range(va, len);
	if (!err && (flags & ~(PG_PROT_MASK | PG_ALLOW_WX)))
		err = PG_E_UNSUPPORTED;
	if (!err)
		err = check_prot(flags);
	if (err)
		return err;
	if (len == PAGE_SIZE && edit_one_fast(root, va, reprotect_leaf, &p, &b, true))
		return 0;
	return edit_range(root, va, len, &v, &b);
}

/* ---- swap entries (paging.h) ---- */

/* The one-page edits below go through edit_one_fast: one walk, the leaf, its flush. */
struct one_page {
	struct tlb_batch *b;
	uint64_t value;         /* swap out: the entry's value */
	pa_t pa;                /* swap out: the page's frame */
	bool dirty;             /* swap out: its entry's D bit */
	int accessed;           /* test_clear_accessed: the bit was set */
};

static void swap_out_leaf(pte_t *e, unsigned level, va_t va, va_t end, void *arg)
{
	struct one_page *o = arg;
	(void)level, (void)end;
	/*
	 * One exchange: a CPU whose TLB holds the entry with D clear must set D
	 * in memory before it writes (Intel SDM vol. 3, 4.8), and finds the swap
	 * entry instead, so the D taken here is final.
	 */
	pte_t old = __atomic_exchange_n(e, pte_swap_make(o->value), __ATOMIC_SEQ_CST);
	o->pa = pte_addr(old, 0);
	o->dirty = old & PTE_D;
	tlb_add(o->b, va, old);
}

/* Why a one-page edit found no 4 KiB leaf: nothing (or a swap entry) there, or a huge page. */
static int no_4k_leaf(pg_root_t root, va_t va)
{
	return pg_translate(root, va, NULL, NULL, NULL) ? PG_E_NOT_MAPPED : PG_E_UNSUPPORTED;
}

int pg_swap_out(pg_root_t root, va_t va, uint64_t value, pa_t *pa, bool *dirty)
{
	struct tlb_batch b;
	struct one_page o = { .b = &b, .value = value };
	if (va & (PAGE_SIZE - 1))
		return PG_E_ALIGN;
	if (!pg_va_canonical(va))
		return PG_E_CANONICAL;
	if (value > PG_SWAP_MAX)
		return PG_E_UNSUPPORTED;
	if (!edit_one_fast(root, va, swap_out_leaf, &o, &b, true))
		return no_4k_leaf(root, va);
	*pa = o.pa;
	if (dirty)
		*dirty = o.dirty;
	return 0;
}

/* Cleared with the TLB entry dropped: a CPU sets A only when it loads the entry. */
static void clear_accessed_leaf(pte_t *e, unsigned level, va_t va, va_t end, void *arg)
{
	struct one_page *o = arg;
	(void)level, (void)end;
	if (!(*e & PTE_A))
		return;
	o->accessed = 1;
	tlb_add(o->b, va, *e);
	__atomic_and_fetch(e, ~PTE_A, __ATOMIC_RELAXED);
}

int pg_test_clear_accessed(pg_root_t root, va_t va)
{
	struct tlb_batch b;
	struct one_page o = { .b = &b };
	if (!pg_va_canonical(va))
		return PG_E_NOT_MAPPED;
	va &= ~(PAGE_SIZE - 1);
	if (!edit_one_fast(root, va, clear_accessed_leaf, &o, &b, true))
		return PG_E_NOT_MAPPED;
	return o.accessed;
}

int pg_swap_entry(pg_root_t root, va_t va, uint64_t *value)
{
	unsigned at;
	if (!pg_va_canonical(va))
		return PG_E_NOT_MAPPED;
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	pte_t e = *walk(root, va, 0, NULL, NULL, &at);
	spin_unlock_irqrestore(&pg.lock, irq);
	if (at || !pte_is_swap(e))
		return PG_E_NOT_MAPPED;
	*value = pte_swap_value(e);
	return 0;
}

int pg_swap_drop(pg_root_t root, va_t va, uint64_t *value)
{
	struct tlb_batch b;
	struct visitor v = { .leave = clear_table, .arg = &b };
	unsigned at;
	int err = 0;
	if (!pg_va_canonical(va))
		return PG_E_NOT_MAPPED;
	va &= ~(PAGE_SIZE - 1);
	tlb_begin(&b, root);
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	pte_t *e = walk(root, va, 0, NULL, NULL, &at);
	if (at || !pte_is_swap(*e)) {
		err = PG_E_NOT_MAPPED;
	} else {
		if (value)
			*value = pte_swap_value(*e);
		pte_set(e, 0);          /* nothing to flush: the CPU caches no not-present entry */
		visit(root, va, va + PAGE_SIZE - 1, &v);        /* the tables it leaves empty go */
		tlb_flush_here(&b);
	}
	spin_unlock_irqrestore(&pg.lock, irq);
	if (!err)
		tlb_flush_there(&b);
	return err;
}

struct swap_walk {
	pg_swap_fn fn;
	void *arg;
};

static void swap_hole(pte_t *e, unsigned level, va_t va, va_t end, void *arg)
{
	struct swap_walk *w = arg;
	(void)end;
	if (!level && pte_is_swap(*e))
		w->fn(va, pte_swap_value(*e), w->arg);
}

void pg_walk_swap(pg_root_t root, va_t va, size_t len, pg_swap_fn fn, void *arg)
{
	if (!pg_va_canonical(va))
		return;
	va_t last = upper_half(va) ? ~0UL : lower_half_last();     /* as pg_walk: va's half at most */
	if (len && va + len - 1 >= va && va + len - 1 < last)
		last = va + len - 1;
	struct swap_walk w = { fn, arg };
	struct visitor v = { .hole = swap_hole, .arg = &w };
	visit(root, va, last, &v);
}
