/*
 * init.c - from the firmware map to free lists, and giving boot memory back.
 *
 * pmm_init: copy what the kernel passed, sanitize the map, make one
 * section per range of RAM the HHDM reaches (the rest waits for
 * pmm_add_range, hotadd.c), place the records (early.c), then free every
 * span no exclusion covers. Nothing is allocated; all state is in `pmm`,
 * rebuilt from nothing on every call.
 */
#include "mm/buddy/internal.h"
#include "mm/failure.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

static void reset(void)
{
	memset(&pmm, 0, sizeof(pmm));
	memset(pcps, 0, sizeof(pcps));
	section_hint = 0;
	pmm.lock = (struct spinlock)SPINLOCK_INIT("pmm");
	for (int z = 0; z < NR_ZONES; z++)
		for (int o = 0; o <= PMM_MAX_ORDER; o++) {
			struct free_link *h = &pmm.zones[z].area[o].head;
			h->next = h->prev = h;
		}
}

/* Keep copies: the report and the self-tests read them after boot memory is gone. */
static int copy_boot(const struct pmm_boot *b)
{
	size_t n = b->map_len < PMM_MAX_MAP ? b->map_len : PMM_MAX_MAP;

	if (b->protect_len > PMM_MAX_PROTECT) {
		kprintf("pmm: %zu protected ranges, at most %d: refusing to guess which to drop\n",
			b->protect_len, PMM_MAX_PROTECT);
		return PMM_E_BAD_BOOT;
	}
	if (n)
		memcpy(pmm.fw, b->map, n * sizeof(*pmm.fw));
	if (b->protect_len)
		memcpy(pmm.protect, b->protect, b->protect_len * sizeof(*pmm.protect));
	pmm.fw_dropped = b->map_len - n;
	pmm.boot = (struct pmm_boot){ pmm.fw, n, pmm.protect, b->protect_len, b->reachable };
	return 0;
}

/*
 * The part of RAM range r below reachable (rounded down to a page), in
 * frames; false if none of it is. What lies above is RAM the HHDM does not
 * map yet: it stays in the sanitized map, the truth about RAM, and
 * pmm_add_range takes it once the final page tables map it.
 */
static bool below_reachable(const struct mem_range *r, uint64_t reachable, struct pfn_range *out)
{
	uint64_t lim = reachable ? reachable >> PAGE_SHIFT : UINT64_MAX;

	out->start = r->base >> PAGE_SHIFT;
	out->end = (r->base + r->len) >> PAGE_SHIFT;
	if (out->end > lim) {
		kprintf("pmm: not yet mapped, left out: 0x%llx-0x%llx\n",
			(unsigned long long)pfn_to_pa(out->start > lim ? out->start : lim),
			(unsigned long long)(r->base + r->len));
		out->end = lim;
	}
	return out->start < out->end;
}

/* Count frames [start, end) into the zones they lie in. */
void zone_account(uint64_t start, uint64_t end)
{
	for (uint64_t p = start; p < end; ) {
		uint64_t lim = pfn_zone(p) == ZONE_DMA ? DMA_END_PFN :
			       pfn_zone(p) == ZONE_DMA32 ? DMA32_END_PFN : UINT64_MAX;
		uint64_t e = end < lim ? end : lim;
		pmm.zones[pfn_zone(p)].total_pages += e - p;
		p = e;
	}
}

/* One section per range of RAM the HHDM reaches, with its share of each zone's total. */
static void build_sections(uint64_t reachable)
{
	struct pfn_range f;

	for (size_t i = 0; i < pmm.nsan; i++) {
		const struct mem_range *r = &pmm.san[i];
		if (r->type != MEM_AVAILABLE || !below_reachable(r, reachable, &f))
			continue;
		if (pmm.nsec == PMM_MAX_SECTIONS) {
			kprintf("pmm: more than %d ranges of RAM, left out 0x%llx-0x%llx\n",
				PMM_MAX_SECTIONS, (unsigned long long)r->base,
				(unsigned long long)(r->base + r->len));
			continue;
		}
		struct section *s = &pmm.sec[pmm.nsec++];
		s->base_pfn = f.start;
		s->npages = f.end - f.start;
		pmm.total_pages += s->npages;
		zone_account(f.start, f.end);
	}
}

static void free_all_spans(void)
{
	struct pfn_range span;

	for (size_t i = 0; i < pmm.nsec; i++) {
		uint64_t cur = pmm.sec[i].base_pfn, end = cur + pmm.sec[i].npages;
		while (next_free_span(&cur, end, &span))
			core_free_range(span.start, span.end, false);
	}
}

static uint64_t core_free_pages(void)
{
	uint64_t n = 0;
	for (int z = 0; z < NR_ZONES; z++)
		n += pmm.zones[z].free_pages;
	return n;
}

static int fail(int err)
{
	memset(pmm.sec, 0, sizeof(pmm.sec));     /* no frame lookup may succeed now */
	pmm.nsec = 0;
	pmm.ready = false;
	return err;
}

/* pmm_init: see buddy.h. */
int pmm_init(const struct pmm_boot *boot)
{
	uint64_t free;
	int err;

	reset();
	if ((err = copy_boot(boot)))
		return fail(err);
	pmm.nsan = memmap_sanitize(boot->map, boot->map_len, pmm.san, PMM_MAX_MAP, arch_phys_bits());
	if (pmm.nsan == PMM_MAX_MAP)
		kprintf("pmm: sanitized map fills all %d entries; the rest is left out\n", PMM_MAX_MAP);
	build_sections(boot->reachable);
	if (!pmm.nsec) {
		kprintf("pmm: the memory map has no usable RAM (%zu entries)\n", boot->map_len);
		return fail(PMM_E_NO_RAM);
	}
	if ((err = early_place_metadata())) {
		kprintf("pmm: no free run of RAM can hold the frame records\n");
		return fail(err);
	}
	for (size_t i = 0; i < pmm.boot.protect_len; i++)
		if (pmm.protect[i].type == PMM_PROTECT_KERNEL)
			pmm.kernel_pages += (pmm.protect[i].len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	free_all_spans();
	free = core_free_pages();
	pmm.reserved_pages = pmm.total_pages - free;
	if (free < PMM_MIN_FREE_PAGES) {
		kprintf("pmm: too little RAM: %llu KiB free after reserving %llu KiB, need %d KiB\n",
			(unsigned long long)free * 4, (unsigned long long)pmm.reserved_pages * 4,
			PMM_MIN_FREE_PAGES * 4);
		return fail(PMM_E_TOO_LITTLE);
	}
	pmm.ready = true;
	return 0;
}

/* Free the frames of r no other exclusion covers. Called with the lock held. */
static uint64_t release_frames(const struct mem_range *r)
{
	uint64_t start = r->base >> PAGE_SHIFT, end = (r->base + r->len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	uint64_t n = 0;
	struct pfn_range span;

	for (size_t i = 0; i < pmm.nsec; i++) {
		uint64_t s = pmm.sec[i].base_pfn, e = s + pmm.sec[i].npages;
		uint64_t cur = s > start ? s : start, lim = e < end ? e : end;
		while (next_free_span(&cur, lim, &span)) {
			for (uint64_t p = span.start; p < span.end; p++) {
				if (pfn_frame(p)->state != FRAME_RESERVED)
					continue;
				core_free_range(p, p + 1, true);
				n++;
			}
		}
	}
	return n;
}

/* pmm_release: see buddy.h. */
void pmm_release(const struct mem_range *r)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock), n;
	size_t i;

	for (i = 0; i < pmm.boot.protect_len; i++)
		if (!pmm.released[i] && pmm.protect[i].base == r->base && pmm.protect[i].len == r->len)
			break;
	if (i == pmm.boot.protect_len) {
		spin_unlock_irqrestore(&pmm.lock, irq);
		MM_MISUSE("pmm", "release 0x%llx-0x%llx: not a protected range (or released already)",
			(unsigned long long)r->base, (unsigned long long)(r->base + r->len));
		return;
	}
	pmm.released[i] = true;
	n = release_frames(r);
	pmm.reserved_pages -= n;
	spin_unlock_irqrestore(&pmm.lock, irq);
}

const struct pmm_boot *pmm_boot_info(void)
{
	return &pmm.boot;
}

const struct mem_range *pmm_sanitized_map(size_t *len)
{
	*len = pmm.nsan;
	return pmm.san;
}

bool pmm_protect_released(size_t i)
{
	return i < pmm.boot.protect_len && pmm.released[i];
}
