/*
 * walk.c - the tree, followed and grown: the walk, the range visitor
 * built on the same steps, and the frames tables come from and go back to.
 *
 * A walk starts at the top level (3, or 4 with five levels) and takes the
 * entry that va's index selects at each level until it meets a leaf (a
 * 4 KiB PTE, or a PD/PDPT entry with PS set), an empty entry, or the level
 * asked for. Every operation of the engine is one of these two traversals:
 * one address (pg_map's pieces, pg_translate, an edge split) or a range
 * (unmap, protect, pg_walk, pg_dump, the table frees).
 */
#include "mm/paging/pte.h"
#include "mm/buddy/buddy.h"

/*
 * The reserve. An edit first counts the tables it will create (new
 * levels, splits of huge pages), fills a reserve with that many zeroed
 * frames, and only then changes the tree, taking from the reserve.
 * Running out of memory is thus found before anything changed, and there
 * is nothing to undo. Unused frames go back when the edit ends.
 */

/* Take n zeroed frames. Returns 0, or PG_E_NO_MEMORY having taken none. */
int reserve_fill(struct reserve *r, size_t n)
{
	r->head = 0, r->n = 0;
	while (r->n < n) {
		pa_t pa = pmm_alloc_page(PMM_ZERO);
		if (pa == PMM_NO_FRAME) {
			reserve_drain(r);
			return PG_E_NO_MEMORY;
		}
		*(pa_t *)phys_to_virt(pa) = r->head;
		r->head = pa, r->n++;
	}
	return 0;
}

/* One zeroed frame. The count was wrong if there is none: a bug. */
static pa_t reserve_take(struct reserve *r)
{
	if (!r->n)
		MM_PANIC("paging", "reserve_take: the edit needs more tables than it counted");
	pa_t pa = r->head;
	pa_t *link = phys_to_virt(pa);
	r->head = *link, r->n--;
	*link = 0;
	return pa;
}

/* Give back what the edit did not use. */
void reserve_drain(struct reserve *r)
{
	while (r->n)
		pmm_free_page(reserve_take(r));
}

/*
 * Replace the huge leaf *e at level with a table (table_pa, zeroed) of 512
 * leaves one level down that map the same memory with the same bits.
 * What va translates to does not change, but the TLB may hold the old
 * leaf: it is recorded in b.
 */
static void split_huge(pte_t *e, unsigned level, va_t va, pa_t table_pa, struct tlb_batch *b)
{
	pte_t old = *e, *t = table_at(table_pa);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		t[i] = pte_split_child(old, level, i);
	pte_set(e, pte_table(table_pa));
	tlb_add(b, va & ~(level_size(level) - 1), old);
}

/* walk: see pte.h. */
pte_t *walk(pg_root_t root, va_t va, unsigned level, struct reserve *r, struct tlb_batch *b,
	    unsigned *at)
{
	pte_t *t = table_at(root);
	for (unsigned l = top_level(); l > level; l--) {
		pte_t *e = &t[pt_index(va, l)];
		if (!pte_present(*e)) {
			if (!r) {
				*at = l;
				return e;
			}
			pte_set(e, pte_table(reserve_take(r)));
		} else if (pte_leaf(*e, l)) {
			if (!r) {
				*at = l;
				return e;
			}
			split_huge(e, l, va, reserve_take(r), b);
		}
		t = table_at(pte_addr(*e, l));
	}
	*at = level;
	return &t[pt_index(va, level)];
}

/*
 * The entries of table t (of level l) that overlap [va, last], in address
 * order. The recursion clips the range to each entry, so a child table
 * sees only its own part.
 */
static void visit_table(pte_t *t, unsigned l, va_t va, va_t last, const struct visitor *v)
{
	for (;;) {
		pte_t *e = &t[pt_index(va, l)];
		va_t end = va | (level_size(l) - 1);
		if (end > last)
			end = last;
		if (!pte_present(*e)) {
			if (v->hole)
				v->hole(e, l, va, end, v->arg);
		} else if (pte_leaf(*e, l)) {
			if (v->leaf)
				v->leaf(e, l, va, end, v->arg);
		} else if (!v->enter || v->enter(e, l, va, end, v->arg)) {
			visit_table(table_at(pte_addr(*e, l)), l - 1, va, end, v);
			if (v->leave)
				v->leave(e, l, va, end, v->arg);
		}
		if (end == last)
			return;
		va = end + 1;
	}
}

/* visit: see pte.h. */
void visit(pg_root_t root, va_t va, va_t last, const struct visitor *v)
{
	visit_table(table_at(root), top_level(), va, last, v);
}

/* table_is_shared: the tables under the kernel half's top-level entries, made once at boot. */
bool table_is_shared(unsigned top_index, pa_t table_pa)
{
	if (!pg.kroot || top_index < PT_ENTRIES / 2)
		return false;
	pte_t e = table_at(pg.kroot)[top_index];
	return pte_present(e) && pte_addr(e, top_level()) == table_pa;
}

/*
 * Freeing a subtree: each leaf below is recorded as changed, since the
 * TLB may hold any of them (a 2 MiB page written over a table leaves 512
 * small entries to drop, not one), and each table goes after the flush.
 */
static void free_leaf(pte_t *e, unsigned level, va_t va, va_t end, void *b)
{
	(void)level, (void)end;
	tlb_add(b, va, *e);
}

static void free_table(pte_t *e, unsigned level, va_t va, va_t end, void *b)
{
	(void)end;
	tlb_free_table(b, pte_addr(*e, level), va);
}

static bool not_shared(pte_t *e, unsigned level, va_t va, va_t end, void *b)
{
	(void)end, (void)b;
	return level != top_level() || !table_is_shared(pt_index(va, level), pte_addr(*e, level));
}

/* The table at table_pa (entries of level, translating from va) and every table below it. */
void free_subtree(pa_t table_pa, unsigned level, va_t va, struct tlb_batch *b)
{
	struct visitor v = { .leaf = free_leaf, .leave = free_table, .arg = b };
	visit_table(table_at(table_pa), level, va, va + level_size(level + 1) - 1, &v);
	tlb_free_table(b, table_pa, va);
}

/* Every table below root that the kernel root does not share; root itself stays. */
void free_tables(pg_root_t root, struct tlb_batch *b)
{
	struct visitor v = { .leaf = free_leaf, .enter = not_shared, .leave = free_table, .arg = b };
	visit(root, 0, lower_half_last(), &v);
	visit(root, ~lower_half_last(), ~0UL, &v);
}
