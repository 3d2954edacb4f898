/*
 * reserve.c - the frames an edit will need, taken from the buddy before
 * the edit begins.
 *
 * An edit first counts the tables it will create (new levels, splits of
 * huge pages), fills a reserve with that many zeroed frames, and only then
 * changes the tree, taking from the reserve. Running out of memory is thus
 * found before anything changed, and there is nothing to undo. Unused
 * frames go back when the edit ends.
 */
#include "mm/paging/internal.h"
#include "mm/buddy/buddy.h"

/* Take n zeroed frames. Returns 0, or PG_E_NO_MEMORY having taken none. */
int reserve_fill(struct reserve *r, size_t n)
{
	r->head = 0, r->n = 0;
	while (r->n < n) {
		uint64_t pa = pmm_alloc_page(PMM_ZERO);
		if (pa == PMM_NO_FRAME) {
			reserve_drain(r);
			return PG_E_NO_MEMORY;
		}
		*(uint64_t *)phys_to_virt(pa) = r->head;
		r->head = pa, r->n++;
	}
	return 0;
}

/* One zeroed frame. The count was wrong if there is none: a bug. */
uint64_t reserve_take(struct reserve *r)
{
	if (!r->n)
		MM_PANIC("paging", "reserve_take: the edit needs more tables than it counted");
	uint64_t pa = r->head;
	uint64_t *link = phys_to_virt(pa);
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
