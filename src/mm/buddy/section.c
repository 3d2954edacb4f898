/*
 * section.c - from a frame number to its record.
 *
 * Records exist only for RAM: one array per sanitized range of RAM (a
 * section), so the PCI hole or a reserved range at 1 TiB costs nothing.
 * Sections are sorted by address; a binary search finds one, and the last
 * hit is tried first because lookups cluster (a block, its buddy).
 */
#include "mm/buddy/internal.h"

size_t section_hint;     /* always a valid index into pmm.sec (0 when there are none) */

/* pfn_section's slow path: a binary search of the sections. */
const struct section *pfn_section_search(uint64_t pfn)
{
	size_t lo = 0, hi = pmm.nsec;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct section *s = &pmm.sec[mid];
		if (pfn < s->base_pfn)
			hi = mid;
		else if (pfn - s->base_pfn < s->npages) {
			__atomic_store_n(&section_hint, mid, __ATOMIC_RELAXED);
			return s;
		} else
			lo = mid + 1;
	}
	return NULL;
}

/* pfn_frame's slow path. */
struct frame *pfn_frame_search(uint64_t pfn)
{
	const struct section *s = pfn_section_search(pfn);
	return s ? &s->frames[pfn - s->base_pfn] : NULL;
}
