/*
 * early.c - what may not be handed out, and the early allocator that
 * places the per-frame records before the buddy lists exist.
 *
 * Three things are excluded from the free lists: the first MiB (real-mode
 * data, the EBDA), every protect[] range not yet released, and the pages
 * holding the records. Free spans are what is left of a section between
 * them. The early allocator is a search over those spans: it takes the
 * highest span that fits, so the records stay out of the DMA zones.
 */
#include "mm/buddy/internal.h"
#include "lib/kstring.h"

static uint64_t range_end_pfn(const struct mem_range *r)
{
	uint64_t end = r->base + r->len;
	if (end < r->base)
		return UINT64_MAX >> PAGE_SHIFT;
	return (end + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/* True if pfn may not be freed; *until is the end of what excludes it. */
bool pfn_excluded(uint64_t pfn, uint64_t *until)
{
	if (pfn < FIRST_MIB_PFN) {
		*until = FIRST_MIB_PFN;
		return true;
	}
	for (size_t i = 0; i < pmm.boot.protect_len; i++) {
		const struct mem_range *r = &pmm.protect[i];
		if (!pmm.released[i] && r->len && pfn >= r->base >> PAGE_SHIFT && pfn < range_end_pfn(r)) {
			*until = range_end_pfn(r);
			return true;
		}
	}
	for (size_t i = 0; i < pmm.nmeta; i++) {
		if (pfn >= pmm.meta[i].start && pfn < pmm.meta[i].end) {
			*until = pmm.meta[i].end;
			return true;
		}
	}
	return false;
}

/* The first excluded frame above pfn, or limit if none comes sooner. */
uint64_t next_exclusion(uint64_t pfn, uint64_t limit)
{
	for (size_t i = 0; i < pmm.boot.protect_len; i++) {
		uint64_t s = pmm.protect[i].base >> PAGE_SHIFT;
		if (!pmm.released[i] && pmm.protect[i].len && s > pfn && s < limit)
			limit = s;
	}
	for (size_t i = 0; i < pmm.nmeta; i++)
		if (pmm.meta[i].start > pfn && pmm.meta[i].start < limit)
			limit = pmm.meta[i].start;
	return limit;
}

/*
 * The next free span at or after *cur and before end, in *out; advances
 * *cur past it. False when there is none.
 */
bool next_free_span(uint64_t *cur, uint64_t end, struct pfn_range *out)
{
	uint64_t until;

	while (*cur < end && pfn_excluded(*cur, &until))
		*cur = until;
	if (*cur >= end)
		return false;
	out->start = *cur;
	out->end = next_exclusion(*cur, end);
	*cur = out->end;
	return true;
}

/* The highest npages-long run of free frames, or PMM_NO_FRAME. */
static uint64_t early_alloc(uint64_t npages)
{
	uint64_t best = PMM_NO_FRAME;
	struct pfn_range span;

	for (size_t i = 0; i < pmm.nsec; i++) {
		uint64_t cur = pmm.sec[i].base_pfn, end = cur + pmm.sec[i].npages;
		while (next_free_span(&cur, end, &span))
			if (span.end - span.start >= npages)
				best = span.end - npages;
	}
	if (best != PMM_NO_FRAME) {
		pmm.meta[pmm.nmeta].start = best;
		pmm.meta[pmm.nmeta++].end = best + npages;
	}
	return best;
}

uint64_t record_pages(uint64_t frames)
{
	return (frames * sizeof(struct frame) + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/*
 * Give every section its array of records, zeroed (all RESERVED): one run
 * for all of them if one fits, else one run per section. Returns 0 or
 * PMM_E_NO_METADATA.
 */
int early_place_metadata(void)
{
	uint64_t frames = 0, pfn;

	for (size_t i = 0; i < pmm.nsec; i++)
		frames += pmm.sec[i].npages;
	pfn = early_alloc(record_pages(frames));
	if (pfn != PMM_NO_FRAME) {
		struct frame *f = phys_to_virt(pfn_to_pa(pfn));
		for (size_t i = 0; i < pmm.nsec; i++) {
			pmm.sec[i].frames = f;
			f += pmm.sec[i].npages;
		}
	} else {
		for (size_t i = 0; i < pmm.nsec; i++) {
			pfn = early_alloc(record_pages(pmm.sec[i].npages));
			if (pfn == PMM_NO_FRAME)
				return PMM_E_NO_METADATA;
			pmm.sec[i].frames = phys_to_virt(pfn_to_pa(pfn));
		}
	}
	for (size_t i = 0; i < pmm.nmeta; i++) {
		pmm.metadata_pages += pmm.meta[i].end - pmm.meta[i].start;
		memset(phys_to_virt(pfn_to_pa(pmm.meta[i].start)), 0,
		       (pmm.meta[i].end - pmm.meta[i].start) << PAGE_SHIFT);
	}
	return 0;
}
