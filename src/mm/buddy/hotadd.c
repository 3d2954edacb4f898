/*
 * hotadd.c - RAM the PMM takes after pmm_init: pmm_add_range.
 *
 * The boot stub's HHDM maps only the first 64 GiB, so pmm_init leaves out
 * the RAM above (boot->reachable); the sanitized map still lists it. Once
 * the final page tables map all of the map's RAM, pmm_add_range takes it:
 * each range of RAM no section covers becomes a new section, its records
 * at its own top (the added RAM pays for itself and needs no run of free
 * RAM elsewhere), and the rest is freed like pmm_init frees a span.
 * Sections stay sorted; where a new one touches an old one, blocks do not
 * merge across the seam (section_frame).
 */
#include "mm/buddy/internal.h"
#include "mm/failure.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

/*
 * The first run of frames in [*cur, end) that no section covers, in *out;
 * advances *cur past it. False when there is none.
 */
static bool next_unmanaged(uint64_t *cur, uint64_t end, struct pfn_range *out)
{
	for (size_t i = 0; i < pmm.nsec && *cur < end; i++) {
		const struct section *s = &pmm.sec[i];
		if (s->base_pfn + s->npages <= *cur)
			continue;
		if (s->base_pfn > *cur)
			break;
		*cur = s->base_pfn + s->npages;
	}
	if (*cur >= end)
		return false;
	out->start = *cur;
	out->end = end;
	for (size_t i = 0; i < pmm.nsec; i++)
		if (pmm.sec[i].base_pfn > *cur && pmm.sec[i].base_pfn < out->end)
			out->end = pmm.sec[i].base_pfn;
	*cur = out->end;
	return true;
}

/* Insert a section for [start, end) in address order, its records in its own top pages. */
static void insert_section(uint64_t start, uint64_t end, uint64_t rec)
{
	size_t i = pmm.nsec;

	while (i > 0 && pmm.sec[i - 1].base_pfn > start) {
		pmm.sec[i] = pmm.sec[i - 1];
		i--;
	}
	pmm.sec[i] = (struct section){ start, end - start, phys_to_virt(pfn_to_pa(end - rec)) };
	pmm.nsec++;
	__atomic_store_n(&section_hint, i, __ATOMIC_RELAXED);
	pmm.meta[pmm.nmeta++] = (struct pfn_range){ end - rec, end };
	memset(pmm.sec[i].frames, 0, rec << PAGE_SHIFT);           /* all RESERVED */
}

/*
 * Manage frames [start, end): a new section, then free what no exclusion
 * covers. Returns 0, or PMM_E_NO_SECTION if the table of sections is full.
 * A run too short to hold its own records and one frame more is left out.
 */
static int add_section(uint64_t start, uint64_t end)
{
	uint64_t n = end - start, rec = record_pages(n), freed = 0, cur = start;
	struct pfn_range span;

	if (pmm.nsec == PMM_MAX_SECTIONS) {
		kprintf("pmm: more than %d ranges of RAM, left out 0x%llx-0x%llx\n", PMM_MAX_SECTIONS,
			(unsigned long long)pfn_to_pa(start), (unsigned long long)pfn_to_pa(end));
		return PMM_E_NO_SECTION;
	}
	if (n <= rec) {
		kprintf("pmm: 0x%llx-0x%llx too small to hold its own records, left out\n",
			(unsigned long long)pfn_to_pa(start), (unsigned long long)pfn_to_pa(end));
		return 0;
	}
	insert_section(start, end, rec);
	pmm.total_pages += n;
	pmm.metadata_pages += rec;
	zone_account(start, end);
	while (next_free_span(&cur, end, &span)) {
		core_free_range(span.start, span.end, false);    /* nothing around it is free in its section */
		freed += span.end - span.start;
	}
	pmm.reserved_pages += n - freed;
	kprintf("pmm: added 0x%llx-0x%llx (%llu MiB), records %llu KiB at its top\n",
		(unsigned long long)pfn_to_pa(start), (unsigned long long)pfn_to_pa(end),
		(unsigned long long)(n >> (20 - PAGE_SHIFT)), (unsigned long long)(rec << (PAGE_SHIFT - 10)));
	return 0;
}

/* pmm_add_range: see buddy.h. */
int pmm_add_range(uint64_t base, uint64_t len)
{
	uint64_t end = len > UINT64_MAX - base ? UINT64_MAX : base + len, irq;
	struct pfn_range run;
	int err = 0;

	if (!pmm.ready) {
		MM_MISUSE("pmm", "add_range 0x%llx: the PMM is not initialised", (unsigned long long)base);
		return PMM_E_NO_RAM;
	}
	irq = spin_lock_irqsave(&pmm.lock);
	for (size_t i = 0; i < pmm.nsan && !err; i++) {
		const struct mem_range *r = &pmm.san[i];
		uint64_t s = r->base > base ? r->base : base, e = r->base + r->len < end ? r->base + r->len : end;
		uint64_t cur = (s + PAGE_SIZE - 1) >> PAGE_SHIFT;
		if (r->type != MEM_AVAILABLE || s >= e)
			continue;
		while (!err && next_unmanaged(&cur, e >> PAGE_SHIFT, &run))
			err = add_section(run.start, run.end);
	}
	spin_unlock_irqrestore(&pmm.lock, irq);
	return err;
}
