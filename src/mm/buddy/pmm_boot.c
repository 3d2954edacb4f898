/*
 * pmm_boot.c - from the firmware map to free blocks: pmm_init, the RAM
 * taken later (pmm_add_range), boot memory given back (pmm_release), and
 * what the maps say about a physical range (pmm_range_has_ram).
 *
 * pmm_init: copy what the kernel passed, sanitize the map (memmap.c), make
 * one section per range of RAM the HHDM reaches, place the records, then
 * free every span no exclusion covers. Nothing is allocated; all state is
 * in `pmm`, rebuilt from nothing on every call.
 *
 * Three things are never freed: the first MiB (real-mode
 * data, the EBDA), every protect[] range not yet released, and the pages
 * holding the records. Free spans are what is left of a section between
 * them. The records are placed before any block is free, by a search over
 * those spans: it takes the highest span that fits, so the records stay
 * out of the DMA zones.
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
#include "mm/buddy/pmm_state.h"
#include "mm/failure.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

/* The layer's one init: all of its state is in pmm (pmm_state.h). */
static void reset(void)
{
	memset(&pmm, 0, sizeof(pmm));
	pmm.lock = (struct spinlock)SPINLOCK_INIT("pmm");
	for (int c = 0; c < ARCH_MAX_CPUS; c++)
		pmm.pcp[c].lock = (struct spinlock)SPINLOCK_INIT("pmm pcp");
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

/* ---- exclusions, and the records placed before any block is free ---- */

static pfn_t range_end_pfn(const struct mem_range *r)
{
	pa_t end = r->base + r->len;
	if (end < r->base)
		return UINT64_MAX >> PAGE_SHIFT;
	return (end + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/* True if pfn may not be freed; *until is the end of what excludes it. */
bool pfn_excluded(pfn_t pfn, pfn_t *until)
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
pfn_t next_exclusion(pfn_t pfn, pfn_t limit)
{
	for (size_t i = 0; i < pmm.boot.protect_len; i++) {
		pfn_t s = pmm.protect[i].base >> PAGE_SHIFT;
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
static bool next_free_span(pfn_t *cur, pfn_t end, struct pfn_range *out)
{
	pfn_t until;

	while (*cur < end && pfn_excluded(*cur, &until))
		*cur = until;
	if (*cur >= end)
		return false;
	out->start = *cur;
	out->end = next_exclusion(*cur, end);
	*cur = out->end;
	return true;
}

/* The highest npages-long run of free frames, zeroed and counted as metadata, or PMM_NO_FRAME. */
static pfn_t early_alloc(uint64_t npages)
{
	pfn_t best = PMM_NO_FRAME;
	struct pfn_range span;

	for (size_t i = 0; i < pmm.nsec; i++) {
		pfn_t cur = pmm.sec[i].base_pfn, end = cur + pmm.sec[i].npages;
		while (next_free_span(&cur, end, &span))
			if (span.end - span.start >= npages)
				best = span.end - npages;
	}
	if (best != PMM_NO_FRAME) {
		pmm.meta[pmm.nmeta].start = best;
		pmm.meta[pmm.nmeta++].end = best + npages;
		pmm.metadata_pages += npages;
		memset(phys_to_virt(pfn_to_pa(best)), 0, npages << PAGE_SHIFT);
	}
	return best;
}

/*
 * A section's metadata, in 8-byte words: its records (4 bytes a frame,
 * rounded up to a word), then its free maps (freemap.c).
 */
static uint64_t record_words(uint64_t npages)
{
	return (npages * sizeof(struct frame) + 7) / 8;
}

static uint64_t meta_words(pfn_t base, uint64_t npages)
{
	return record_words(npages) + freemap_words(base, npages);
}

static uint64_t words_to_pages(uint64_t words)
{
	return (words * 8 + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/* Point s at its zeroed metadata, which starts at w: records first, then the maps. */
static void section_place(struct section *s, uint64_t *w)
{
	s->frames = (struct frame *)w;
	s->bits = w + record_words(s->npages);
	freemap_layout(s);
}

/*
 * Give every section its records and free maps, zeroed (all RESERVED, no
 * block free): one run for all of them if one fits, else one run per
 * section. Returns 0 or PMM_E_NO_METADATA.
 */
static int early_place_metadata(void)
{
	uint64_t words = 0;
	pfn_t pfn;

	for (size_t i = 0; i < pmm.nsec; i++)
		words += meta_words(pmm.sec[i].base_pfn, pmm.sec[i].npages);
	pfn = early_alloc(words_to_pages(words));
	if (pfn != PMM_NO_FRAME) {
		uint64_t *w = phys_to_virt(pfn_to_pa(pfn));
		for (size_t i = 0; i < pmm.nsec; i++) {
			section_place(&pmm.sec[i], w);
			w += meta_words(pmm.sec[i].base_pfn, pmm.sec[i].npages);
		}
	} else {
		for (size_t i = 0; i < pmm.nsec; i++) {
			pfn = early_alloc(words_to_pages(meta_words(pmm.sec[i].base_pfn, pmm.sec[i].npages)));
			if (pfn == PMM_NO_FRAME)
				return PMM_E_NO_METADATA;
			section_place(&pmm.sec[i], phys_to_virt(pfn_to_pa(pfn)));
		}
	}
	return 0;
}

/* ---- pmm_init ---- */

/*
 * The part of RAM range r below reachable (rounded down to a page), in
 * frames; false if none of it is. What lies above is RAM the HHDM does not
 * map yet: it stays in the sanitized map, the truth about RAM, and
 * pmm_add_range takes it once the final page tables map it.
 */
static bool below_reachable(const struct mem_range *r, pa_t reachable, struct pfn_range *out)
{
	pfn_t lim = reachable ? reachable >> PAGE_SHIFT : UINT64_MAX;

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

/*
 * Where a section starting at pfn must stop: the end of pfn's zone, the
 * next 16 TiB boundary (SECTION_MAX_PAGES), or end, whichever is first.
 */
static pfn_t zone_piece_end(pfn_t pfn, pfn_t end)
{
	pfn_t lim = pfn_zone(pfn) == ZONE_DMA ? DMA_END_PFN :
		    pfn_zone(pfn) == ZONE_DMA32 ? DMA32_END_PFN : end;
	pfn_t cut = (pfn | (SECTION_MAX_PAGES - 1)) + 1;

	lim = cut < lim ? cut : lim;
	return end < lim ? end : lim;
}

/*
 * Which of the sorted sections each zone owns. A zone is one range of
 * addresses and no section crosses a zone's edge, so they are consecutive.
 */
static void index_zones(void)
{
	for (int z = 0; z < NR_ZONES; z++)
		pmm.zones[z].sec_lo = pmm.zones[z].sec_hi = 0;
	for (size_t i = pmm.nsec; i-- > 0; ) {
		struct zone *z = &pmm.zones[pmm.sec[i].zone];
		if (!z->sec_hi)
			z->sec_hi = i + 1;
		z->sec_lo = i;
	}
}

/* Sections for the RAM the HHDM reaches: one per range and zone, each counted into its zone. */
static void build_sections(pa_t reachable)
{
	struct pfn_range f;

	for (size_t i = 0; i < pmm.nsan; i++) {
		const struct mem_range *r = &pmm.san[i];
		if (r->type != MEM_AVAILABLE || !below_reachable(r, reachable, &f))
			continue;
		for (pfn_t p = f.start, e; p < f.end; p = e) {
			e = zone_piece_end(p, f.end);
			if (pmm.nsec == PMM_MAX_SECTIONS) {
				kprintf("pmm: more than %d ranges of RAM, left out 0x%llx-0x%llx\n",
					PMM_MAX_SECTIONS, (unsigned long long)pfn_to_pa(p),
					(unsigned long long)pfn_to_pa(f.end));
				break;
			}
			struct section *s = &pmm.sec[pmm.nsec++];
			s->base_pfn = p;
			s->npages = e - p;
			s->zone = pfn_zone(p);
			pmm.total_pages += s->npages;
			pmm.zones[s->zone].total_pages += s->npages;
		}
	}
	index_zones();
}

static void free_all_spans(void)
{
	struct pfn_range span;

	for (size_t i = 0; i < pmm.nsec; i++) {
		pfn_t cur = pmm.sec[i].base_pfn, end = cur + pmm.sec[i].npages;
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
	pfn_t start = r->base >> PAGE_SHIFT, end = (r->base + r->len + PAGE_SIZE - 1) >> PAGE_SHIFT;
	uint64_t n = 0;
	struct pfn_range span;

	for (size_t i = 0; i < pmm.nsec; i++) {
		pfn_t s = pmm.sec[i].base_pfn, e = s + pmm.sec[i].npages;
		pfn_t cur = s > start ? s : start, lim = e < end ? e : end;
		while (next_free_span(&cur, lim, &span)) {
			for (pfn_t p = span.start; p < span.end; p++) {
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

/* ---- hot-add: RAM beyond the boot HHDM ---- */

/*
 * The first run of frames in [*cur, end) that no section covers, in *out;
 * advances *cur past it. False when there is none.
 */
static bool next_unmanaged(pfn_t *cur, pfn_t end, struct pfn_range *out)
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

/* Insert a section for [start, end) in address order, its records and maps in its own top pages. */
static void insert_section(pfn_t start, pfn_t end, uint64_t rec)
{
	size_t i = pmm.nsec;
	uint64_t *meta = phys_to_virt(pfn_to_pa(end - rec));

	while (i > 0 && pmm.sec[i - 1].base_pfn > start) {
		pmm.sec[i] = pmm.sec[i - 1];
		i--;
	}
	memset(meta, 0, rec << PAGE_SHIFT);             /* all RESERVED, nothing free */
	pmm.sec[i] = (struct section){ .base_pfn = start, .npages = end - start, .zone = pfn_zone(start) };
	section_place(&pmm.sec[i], meta);
	pmm.nsec++;
	index_zones();
	__atomic_store_n(&pmm.section_hint, i, __ATOMIC_RELAXED);
	pmm.meta[pmm.nmeta++] = (struct pfn_range){ end - rec, end };
}

/*
 * Manage frames [start, end): a new section, then free what no exclusion
 * covers. Returns 0, or PMM_E_NO_SECTION if the table of sections is full.
 * A run too short to hold its own records and one frame more is left out.
 */
static int add_section(pfn_t start, pfn_t end)
{
	uint64_t n = end - start, rec = words_to_pages(meta_words(start, n)), freed = 0;
	pfn_t cur = start;
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
	pmm.zones[pfn_zone(start)].total_pages += n;
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
int pmm_add_range(pa_t base, uint64_t len)
{
	pa_t end = len > UINT64_MAX - base ? UINT64_MAX : base + len;
	uint64_t irq;
	struct pfn_range run;
	int err = 0;

	if (!pmm.ready) {
		MM_MISUSE("pmm", "add_range 0x%llx: the PMM is not initialised", (unsigned long long)base);
		return PMM_E_NO_RAM;
	}
	irq = spin_lock_irqsave(&pmm.lock);
	for (size_t i = 0; i < pmm.nsan && !err; i++) {
		const struct mem_range *r = &pmm.san[i];
		pa_t s = r->base > base ? r->base : base, e = r->base + r->len < end ? r->base + r->len : end;
		pfn_t cur = (s + PAGE_SIZE - 1) >> PAGE_SHIFT;
		if (r->type != MEM_AVAILABLE || s >= e)
			continue;
		while (!err && next_unmanaged(&cur, e >> PAGE_SHIFT, &run))
			for (pfn_t p = run.start, pe; !err && p < run.end; p = pe) {
				pe = zone_piece_end(p, run.end);        /* a section stays in one zone */
				err = add_section(p, pe);
			}
	}
	spin_unlock_irqrestore(&pmm.lock, irq);
	return err;
}

/* ---- what the maps say ---- */

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

/* The last byte of [base, base + len), len > 0, clipped at 2^64 - 1. */
static pa_t last_byte(pa_t base, uint64_t len)
{
	return len - 1 > UINT64_MAX - base ? UINT64_MAX : base + len - 1;
}

/* True if an entry of m[0..n) of type MEM_AVAILABLE shares a byte with [pa, last]. */
static bool map_has_ram(const struct mem_range *m, size_t n, pa_t pa, pa_t last)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].type == MEM_AVAILABLE && m[i].len &&
		    m[i].base <= last && pa <= last_byte(m[i].base, m[i].len))
			return true;
	return false;
}

/*
 * pmm_range_has_ram: see buddy.h. The sanitized map holds all RAM the PMM
 * manages or keeps reserved (the first MiB, the kernel, the metadata),
 * including RAM hot-added above the boot HHDM; the firmware's own map adds
 * the partial pages the sanitizer trimmed off, which are RAM all the same.
 * Either says RAM: the answer is yes.
 */
bool pmm_range_has_ram(pa_t pa, uint64_t len)
{
	if (!len)
		return false;
	pa_t last = last_byte(pa, len);
	return map_has_ram(pmm.san, pmm.nsan, pa, last) || map_has_ram(pmm.fw, pmm.boot.map_len, pa, last);
}
