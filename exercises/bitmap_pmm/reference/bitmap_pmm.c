/*
 * bitmap_pmm.c - a reference solution of the bitmap PMM exercise
 * (docs/exercises.md). Reading it before writing your own spoils the
 * exercise; `make exercise-reference` grades it.
 *
 * One bit a frame, 1 = not free, over [0, the highest RAM frame the HHDM
 * reaches). Beside it one 32-bit record a frame says what a set bit is:
 * a hole in the map, a reserved frame (the first MiB, protect[], the
 * metadata), the head of an allocated run (its length and references), or,
 * zero, a frame inside such a run. The bitmap is what allocation searches;
 * the records are what every free is checked against, so a wrong free is
 * refused before a bit changes. Metadata: a bit and 4 bytes a frame.
 *
 * Allocation is first fit: the lowest run of clear bits of the length and
 * alignment asked for, in each range of RAM of the zones the flags allow,
 * so no run spans a hole or a zone. Nothing is split and nothing merges:
 * the free blocks per order that pmm_get_stats reports are counted from
 * the bits, each maximal naturally aligned free block once, as the buddy
 * would hold them. One lock; no per-CPU caches.
 */
#include "mm/buddy/buddy.h"
#include "mm/arch.h"
#include "mm/failure.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "lib/spinlock.h"

#define FIRST_MIB       (0x100000 >> PAGE_SHIFT)
#define REC_HOLE        0xffffffffu     /* not RAM the PMM manages */
#define REC_RESERVED    0xfffffffeu     /* RAM never handed out */
#define REC_PAGES_BITS  19              /* a head: run length 1..2^18 below, references above */
#define REC_PAGES(r)    ((r) & ((1u << REC_PAGES_BITS) - 1))
#define REC_REFS(r)     ((r) >> REC_PAGES_BITS)
#define REC_MAX_REFS    ((REC_RESERVED >> REC_PAGES_BITS) - 1)  /* stays clear of the markers */

static struct {
	struct spinlock lock;
	bool ready;
	uint64_t *bits;                 /* bit pfn set: not free */
	uint32_t *rec;                  /* REC_HOLE, REC_RESERVED, a head, or 0 */
	pfn_t nframes;                  /* frames the bitmap covers */
	pfn_t meta, meta_pages;         /* where bits and rec live */
	uint64_t total, free, reserved, allocated, kernel;
	uint64_t zone_total[NR_ZONES], zone_free[NR_ZONES];
	unsigned fail_in;               /* pmm_fail_nth: allocations until one fails; 0 = off */
	struct pmm_boot boot;
	struct mem_range fw[PMM_MAX_MAP], protect[PMM_MAX_PROTECT], san[PMM_MAX_MAP];
	size_t nsan;
	bool released[PMM_MAX_PROTECT];
} pm;

static const pfn_t zone_start[NR_ZONES + 1] = {
	0, (16ULL << 20) >> PAGE_SHIFT, (4ULL << 30) >> PAGE_SHIFT, UINT64_MAX >> PAGE_SHIFT,
};

static enum zone_id zone_of_pfn(pfn_t p)
{
	return p < zone_start[ZONE_DMA32] ? ZONE_DMA : p < zone_start[ZONE_NORMAL] ? ZONE_DMA32 : ZONE_NORMAL;
}

/* ---- the bitmap ---- */

static bool used(pfn_t p)
{
	return pm.bits[p / 64] >> (p % 64) & 1;
}

/* Set (in use) or clear the bits of [p, p + n), a word at a time. */
static void mark(pfn_t p, uint64_t n, bool in_use)
{
	while (n) {
		unsigned off = p % 64, k = n < 64 - off ? n : 64 - off;
		uint64_t m = (k == 64 ? ~0ULL : (1ULL << k) - 1) << off;
		if (in_use)
			pm.bits[p / 64] |= m;
		else
			pm.bits[p / 64] &= ~m;
		p += k, n -= k;
	}
}

/* The first frame in [p, end) whose bit is v, or end. */
static pfn_t find(pfn_t p, pfn_t end, bool v)
{
	while (p < end) {
		uint64_t w = (v ? pm.bits[p / 64] : ~pm.bits[p / 64]) >> (p % 64);
		if (w) {
			p += __builtin_ctzll(w);
			return p < end ? p : end;
		}
		p = (p | 63) + 1;
	}
	return end;
}

/* The lowest multiple of align in [lo, hi) that starts n clear bits, or PMM_NO_FRAME. */
static pfn_t first_fit(pfn_t lo, pfn_t hi, uint64_t n, uint64_t align)
{
	for (pfn_t p = lo;;) {
		p = find(p, hi, 0);
		p = (p + align - 1) & ~(align - 1);
		if (p >= hi || hi - p < n)
			return PMM_NO_FRAME;
		pfn_t busy = find(p, p + n, 1);
		if (busy == p + n)
			return p;
		p = busy + 1;
	}
}

/* The frames of sanitized entry i if it is RAM, cut at the bitmap's end, as [*lo, *hi). */
static bool ram(size_t i, pfn_t *lo, pfn_t *hi)
{
	const struct mem_range *r = &pm.san[i];

	*lo = r->base >> PAGE_SHIFT;                    /* RAM is trimmed to pages */
	*hi = (r->base + r->len) >> PAGE_SHIFT;
	if (*hi > pm.nframes)
		*hi = pm.nframes;
	return r->type == MEM_AVAILABLE && *lo < *hi;
}

/* The same, cut to zone z as well. */
static bool zone_ram(size_t i, int z, pfn_t *lo, pfn_t *hi)
{
	if (!ram(i, lo, hi))
		return false;
	if (*lo < zone_start[z])
		*lo = zone_start[z];
	if (*hi > zone_start[z + 1])
		*hi = zone_start[z + 1];
	return *lo < *hi;
}

/* First fit over the zones the flags allow, in buddy.h's order. */
static pfn_t search(uint64_t n, uint64_t align, unsigned flags)
{
	int z = flags & PMM_DMA ? ZONE_DMA : flags & PMM_DMA32 ? ZONE_DMA32 : ZONE_NORMAL;
	pfn_t lo, hi, p;

	for (; z >= 0; z--)
		for (size_t i = 0; i < pm.nsan; i++)
			if (zone_ram(i, z, &lo, &hi) && (p = first_fit(lo, hi, n, align)) != PMM_NO_FRAME)
				return p;
	return PMM_NO_FRAME;
}

/* ---- pmm_init ---- */

/* The frames protect[k] touches, rounded outward: [*s, *e). */
static void protect_frames(size_t k, pfn_t *s, pfn_t *e)
{
	const struct mem_range *r = &pm.protect[k];
	pa_t end = r->base + r->len < r->base ? UINT64_MAX : r->base + r->len;

	*s = r->base >> PAGE_SHIFT;
	*e = r->len ? (end >> PAGE_SHIFT) + ((end & (PAGE_SIZE - 1)) != 0) : *s;
}

/* True if frame p must stay reserved: the first MiB, the metadata, a range not yet released. */
static bool keep_reserved(pfn_t p)
{
	pfn_t s, e;

	if (p < FIRST_MIB || (p >= pm.meta && p < pm.meta + pm.meta_pages))
		return true;
	for (size_t k = 0; k < pm.boot.protect_len; k++) {
		protect_frames(k, &s, &e);
		if (!pm.released[k] && p >= s && p < e)
			return true;
	}
	return false;
}

/*
 * The highest n frames of RAM above the first MiB that no protected range
 * touches, so the metadata stays out of the DMA zones where RAM allows.
 * Try the top of each range of RAM; below whatever protected range is in
 * the way, try again.
 */
static pfn_t place_metadata(uint64_t n)
{
	pfn_t lo, hi, s, e;

	for (size_t i = pm.nsan; i-- > 0;) {
		if (!ram(i, &lo, &hi))
			continue;
		if (lo < FIRST_MIB)
			lo = FIRST_MIB;
		while (hi >= lo + n) {
			pfn_t p = hi - n, below = hi;
			for (size_t k = 0; k < pm.boot.protect_len; k++) {
				protect_frames(k, &s, &e);
				if (s < hi && p < e && s < below)
					below = s;
			}
			if (below == hi)
				return p;
			hi = below;
		}
	}
	return PMM_NO_FRAME;
}

/* Forget everything; every call of pmm_init starts here. */
static void reset(void)
{
	memset(&pm, 0, sizeof(pm));
	pm.lock = (struct spinlock)SPINLOCK_INIT("pmm");
}

/* A failed pmm_init leaves a PMM that manages nothing (the copies of boot stay). */
static int fail(int e)
{
	pm.ready = false, pm.nframes = 0;
	pm.total = pm.free = pm.reserved = pm.allocated = pm.kernel = pm.meta_pages = 0;
	memset(pm.zone_total, 0, sizeof(pm.zone_total));
	memset(pm.zone_free, 0, sizeof(pm.zone_free));
	return e;
}

/* pmm_init: see buddy.h. */
int pmm_init(const struct pmm_boot *boot)
{
	size_t n = boot->map_len < PMM_MAX_MAP ? boot->map_len : PMM_MAX_MAP;
	pfn_t lo, hi, s, e;

	reset();
	if (boot->protect_len > PMM_MAX_PROTECT) {
		kprintf("pmm: %zu protected ranges, at most %d\n", boot->protect_len, PMM_MAX_PROTECT);
		return fail(PMM_E_BAD_BOOT);
	}
	if (n)
		memcpy(pm.fw, boot->map, n * sizeof(*pm.fw));
	if (boot->protect_len)
		memcpy(pm.protect, boot->protect, boot->protect_len * sizeof(*pm.protect));
	pm.boot = (struct pmm_boot){ pm.fw, n, pm.protect, boot->protect_len, boot->reachable };
	pm.nsan = memmap_sanitize(boot->map, boot->map_len, pm.san, PMM_MAX_MAP, arch_phys_bits());

	/* The bitmap ends at the highest RAM frame the HHDM reaches: holes below it cost a bit each. */
	pm.nframes = boot->reachable ? boot->reachable >> PAGE_SHIFT : UINT64_MAX >> PAGE_SHIFT;
	pfn_t top = 0;
	bool left_out = false;
	for (size_t i = 0; i < pm.nsan; i++) {
		const struct mem_range *r = &pm.san[i];
		left_out |= r->type == MEM_AVAILABLE && (r->base + r->len) >> PAGE_SHIFT > pm.nframes;
		if (ram(i, &lo, &hi) && hi > top)
			top = hi;
	}
	if (!top) {
		kprintf("pmm: the memory map has no usable RAM (%zu entries)\n", boot->map_len);
		return fail(PMM_E_NO_RAM);
	}
	if (left_out)
		kprintf("pmm: RAM from 0x%llx is not mapped yet: left out\n",
			(unsigned long long)pm.nframes << PAGE_SHIFT);
	pm.nframes = top;

	uint64_t words = (pm.nframes + 63) / 64;
	pm.meta_pages = (words * 8 + pm.nframes * 4 + PAGE_SIZE - 1) / PAGE_SIZE;
	pm.meta = place_metadata(pm.meta_pages);
	if (pm.meta == PMM_NO_FRAME) {
		kprintf("pmm: no free run of RAM can hold the frame records (%llu KiB)\n",
			(unsigned long long)pm.meta_pages * 4);
		return fail(PMM_E_NO_METADATA);
	}
	pm.bits = phys_to_virt(pm.meta << PAGE_SHIFT);
	pm.rec = (uint32_t *)(pm.bits + words);

	/* Everything in use and a hole; then RAM, reserved where it must stay, free elsewhere. */
	memset(pm.bits, 0xff, words * 8);
	for (pfn_t p = 0; p < pm.nframes; p++)
		pm.rec[p] = REC_HOLE;
	for (size_t i = 0; i < pm.nsan; i++)
		for (int z = 0; z < NR_ZONES; z++)
			if (zone_ram(i, z, &lo, &hi))
				for (pfn_t p = lo; p < hi; p++) {
					bool keep = keep_reserved(p);
					pm.rec[p] = keep ? REC_RESERVED : 0;
					pm.total++, pm.zone_total[z]++;
					if (keep)
						pm.reserved++;
					else
						mark(p, 1, false), pm.free++, pm.zone_free[z]++;
				}
	for (size_t k = 0; k < pm.boot.protect_len; k++) {
		protect_frames(k, &s, &e);
		if (pm.protect[k].type == PMM_PROTECT_KERNEL)
			pm.kernel += e - s;
	}
	if (pm.free < PMM_MIN_FREE_PAGES) {
		kprintf("pmm: too little RAM: %llu KiB free, need %d KiB\n",
			(unsigned long long)pm.free * 4, PMM_MIN_FREE_PAGES * 4);
		return fail(PMM_E_TOO_LITTLE);
	}
	pm.ready = true;
	return 0;
}

/* ---- allocation and free ---- */

/* n frames at a multiple of align frames, the head's record set; PMM_NO_FRAME if none. */
static pa_t take(uint64_t n, uint64_t align, unsigned flags)
{
	uint64_t irq = spin_lock_irqsave(&pm.lock);
	pfn_t p = PMM_NO_FRAME;

	if (pm.ready && !(pm.fail_in && --pm.fail_in == 0))
		p = search(n, align, flags);
	if (p != PMM_NO_FRAME) {
		mark(p, n, true);
		pm.rec[p] = 1u << REC_PAGES_BITS | (uint32_t)n;
		pm.free -= n, pm.allocated += n, pm.zone_free[zone_of_pfn(p)] -= n;
	}
	spin_unlock_irqrestore(&pm.lock, irq);
	if (p == PMM_NO_FRAME)
		return PMM_NO_FRAME;
	if (flags & PMM_ZERO)
		memset(phys_to_virt(p << PAGE_SHIFT), 0, n << PAGE_SHIFT);
	return p << PAGE_SHIFT;
}

/* Clear the run headed by p. Called with the lock held. */
static void give_back(pfn_t p)
{
	uint64_t n = REC_PAGES(pm.rec[p]);

	mark(p, n, false);
	pm.rec[p] = 0;
	pm.free += n, pm.allocated -= n, pm.zone_free[zone_of_pfn(p)] += n;
}

/*
 * 0 if pa heads an allocated run of n frames that no one else holds;
 * otherwise report why not (who names the caller) and return the error.
 * align is the alignment in frames the caller's size implies.
 */
static int check_freeable(pa_t pa, uint64_t n, uint64_t align, const char *who)
{
	unsigned long long a = pa;
	pfn_t p = pa >> PAGE_SHIFT;
	uint32_t r;

	if (pa & (PAGE_SIZE - 1)) {
		MM_MISUSE("pmm", "%s 0x%llx: address is not page aligned", who, a);
		return PMM_E_MISALIGNED;
	}
	if (!pmm_is_ram(pa)) {
		MM_MISUSE("pmm", "%s 0x%llx: not RAM the PMM manages", who, a);
		return PMM_E_NOT_RAM;
	}
	if (p & (align - 1)) {
		MM_MISUSE("pmm", "%s 0x%llx: address is not aligned to %llu pages", who, a, (unsigned long long)align);
		return PMM_E_MISALIGNED;
	}
	r = pm.rec[p];
	if (r == REC_RESERVED) {
		MM_MISUSE("pmm", "%s 0x%llx: frame is reserved", who, a);
		return PMM_E_RESERVED;
	}
	if (!used(p)) {
		MM_MISUSE("pmm", "%s 0x%llx: double free: frame is already free", who, a);
		return PMM_E_DOUBLE_FREE;
	}
	if (r == 0) {
		MM_MISUSE("pmm", "%s 0x%llx: not the start of a block: inside an allocated one", who, a);
		return PMM_E_NOT_ALLOCATED;
	}
	if (REC_PAGES(r) != n) {
		MM_MISUSE("pmm", "%s 0x%llx: wrong size: allocated as %u pages, freed as %llu",
			  who, a, REC_PAGES(r), (unsigned long long)n);
		return PMM_E_WRONG_ORDER;
	}
	if (REC_REFS(r) > 1) {
		MM_MISUSE("pmm", "%s 0x%llx: still shared (%u references): drop yours with pmm_frame_put",
			  who, a, REC_REFS(r));
		return PMM_E_SHARED;
	}
	return 0;
}

/* Free the run at pa of n frames if check_freeable allows. */
static int free_run(pa_t pa, uint64_t n, uint64_t align, const char *who)
{
	uint64_t irq = spin_lock_irqsave(&pm.lock);
	int r = check_freeable(pa, n, align, who);

	if (r == 0)
		give_back(pa >> PAGE_SHIFT);
	spin_unlock_irqrestore(&pm.lock, irq);
	return r;
}

/* pmm_alloc: see buddy.h. */
pa_t pmm_alloc(unsigned order, unsigned flags)
{
	if (order > PMM_MAX_ORDER) {
		MM_MISUSE("pmm", "alloc: order %u is above the largest, %u", order, PMM_MAX_ORDER);
		return PMM_NO_FRAME;
	}
	return take(1ULL << order, 1ULL << order, flags);
}

/* pmm_free: see buddy.h. */
int pmm_free(pa_t pa, unsigned order)
{
	if (order > PMM_MAX_ORDER) {
		MM_MISUSE("pmm", "free 0x%llx: order %u is above the largest, %u",
			  (unsigned long long)pa, order, PMM_MAX_ORDER);
		return PMM_E_BAD_ORDER;
	}
	return free_run(pa, 1ULL << order, 1ULL << order, "free");
}

pa_t pmm_alloc_page(unsigned flags) { return pmm_alloc(0, flags); }
int pmm_free_page(pa_t pa) { return pmm_free(pa, 0); }

/* pmm_alloc_aligned: see buddy.h. Exactly npages, so nothing is cut off. */
pa_t pmm_alloc_aligned(size_t npages, size_t align_bytes, unsigned flags)
{
	uint64_t align = align_bytes > PAGE_SIZE ? align_bytes >> PAGE_SHIFT : 1;

	if (align_bytes & (align_bytes - 1)) {
		MM_MISUSE("pmm", "alloc_aligned: alignment 0x%zx is not a power of two", align_bytes);
		return PMM_NO_FRAME;
	}
	if (npages == 0 || npages > (1ULL << PMM_MAX_ORDER) || align > (1ULL << PMM_MAX_ORDER))
		return PMM_NO_FRAME;
	return take(npages, align, flags);
}

/* pmm_free_aligned: see buddy.h. */
int pmm_free_aligned(pa_t pa, size_t npages)
{
	if (npages == 0 || npages > (1ULL << PMM_MAX_ORDER)) {
		MM_MISUSE("pmm", "free_aligned 0x%llx: %zu pages is not a size it hands out",
			  (unsigned long long)pa, npages);
		return PMM_E_BAD_ORDER;
	}
	return free_run(pa, npages, 1, "free_aligned");
}

/* ---- references ---- */

/* The record of the run pa heads, or NULL after reporting why not. Lock held. */
static uint32_t *head(pa_t pa, const char *who)
{
	pfn_t p = pa >> PAGE_SHIFT;

	if (!(pa & (PAGE_SIZE - 1)) && pmm_is_ram(pa) && used(p) && pm.rec[p] && pm.rec[p] != REC_RESERVED)
		return &pm.rec[p];
	MM_MISUSE("pmm", "%s 0x%llx: not the first frame of an allocated block", who, (unsigned long long)pa);
	return NULL;
}

unsigned pmm_frame_get(pa_t pa)
{
	uint64_t irq = spin_lock_irqsave(&pm.lock);
	uint32_t *r = head(pa, "frame_get");
	unsigned n = 0;

	if (r && REC_REFS(*r) == REC_MAX_REFS)
		MM_MISUSE("pmm", "frame_get 0x%llx: reference count saturated", (unsigned long long)pa);
	else if (r)
		*r += 1u << REC_PAGES_BITS;
	if (r)
		n = REC_REFS(*r);
	spin_unlock_irqrestore(&pm.lock, irq);
	return n;
}

unsigned pmm_frame_put(pa_t pa)
{
	uint64_t irq = spin_lock_irqsave(&pm.lock);
	uint32_t *r = head(pa, "frame_put");
	unsigned n = 0;

	if (r && REC_REFS(*r) == 1)
		give_back(pa >> PAGE_SHIFT);
	else if (r)
		*r -= 1u << REC_PAGES_BITS, n = REC_REFS(*r);
	spin_unlock_irqrestore(&pm.lock, irq);
	return n;
}

unsigned pmm_frame_refcount(pa_t pa)
{
	pfn_t p = pa >> PAGE_SHIFT;

	if ((pa & (PAGE_SIZE - 1)) || !pmm_is_ram(pa) || !used(p) || pm.rec[p] == REC_RESERVED)
		return 0;
	return REC_REFS(pm.rec[p]);
}

bool pmm_is_ram(pa_t pa)
{
	pfn_t p = pa >> PAGE_SHIFT;
	return p < pm.nframes && pm.rec[p] != REC_HOLE;
}

/* ---- boot memory given back ---- */

/* pmm_release: see buddy.h. */
void pmm_release(const struct mem_range *r)
{
	uint64_t irq = spin_lock_irqsave(&pm.lock);
	size_t k, found = pm.boot.protect_len;
	pfn_t s, e;

	for (k = 0; k < pm.boot.protect_len; k++)
		if (pm.protect[k].base == r->base && pm.protect[k].len == r->len &&
		    (found == pm.boot.protect_len || !pm.released[k]))
			found = k;
	if (found == pm.boot.protect_len || pm.released[found]) {
		MM_MISUSE("pmm", "release 0x%llx-0x%llx: %s", (unsigned long long)r->base,
			  (unsigned long long)(r->base + r->len),
			  found == pm.boot.protect_len ? "not a protected range" : "released already");
		spin_unlock_irqrestore(&pm.lock, irq);
		return;
	}
	pm.released[found] = true;
	protect_frames(found, &s, &e);
	for (pfn_t p = s; p < e && p < pm.nframes; p++)
		if (pm.rec[p] == REC_RESERVED && !keep_reserved(p)) {
			pm.rec[p] = 0;
			mark(p, 1, false);
			pm.free++, pm.reserved--, pm.zone_free[zone_of_pfn(p)]++;
		}
	spin_unlock_irqrestore(&pm.lock, irq);
}

/* ---- statistics and checks ---- */

/* Count the free frames of [lo, hi) as the buddy would hold them: each maximal aligned block once. */
static void count_blocks(pfn_t lo, pfn_t hi, uint64_t *blocks)
{
	for (pfn_t p = find(lo, hi, 0); p < hi; p = find(p, hi, 0)) {
		pfn_t end = find(p, hi, 1);
		while (p < end) {
			unsigned o = 0;
			while (o < PMM_MAX_ORDER && (p & ((2ULL << o) - 1)) == 0 && p + (2ULL << o) <= end)
				o++;
			blocks[o]++;
			p += 1ULL << o;
		}
	}
}

void pmm_get_stats(struct pmm_stats *s)
{
	uint64_t irq = spin_lock_irqsave(&pm.lock);
	pfn_t lo, hi;

	*s = (struct pmm_stats){
		.total_pages = pm.total, .free_pages = pm.free, .reserved_pages = pm.reserved,
		.allocated_pages = pm.allocated, .metadata_bytes = pm.meta_pages * PAGE_SIZE,
		.kernel_pages = pm.kernel,
	};
	for (int z = 0; z < NR_ZONES; z++) {
		s->zone_total[z] = pm.zone_total[z], s->zone_free[z] = pm.zone_free[z];
		for (size_t i = 0; pm.ready && i < pm.nsan; i++)
			if (zone_ram(i, z, &lo, &hi))
				count_blocks(lo, hi, s->free_blocks);      /* zones cut the runs, as the buddy's sections */
	}
	spin_unlock_irqrestore(&pm.lock, irq);
}

uint64_t pmm_free_count(void) { return pm.free; }

void pmm_watermarks(struct pmm_watermarks *w)
{
	uint64_t min = pm.total / 256;

	min = min < 32 ? 32 : min > 16384 ? 16384 : min;
	*w = (struct pmm_watermarks){ min, 2 * min, 3 * min };
}

void pmm_fail_nth(unsigned n) { pm.fail_in = n; }

static unsigned problem(unsigned bad, const char *what, pfn_t p)
{
	if (bad < 8)
		kprintf("pmm: check: %s at 0x%llx\n", what, (unsigned long long)p << PAGE_SHIFT);
	return 1;
}

/*
 * pmm_check: see buddy.h. Holes are all in use; in RAM every set bit is
 * reserved or in an allocated run, runs do not overlap or leave their
 * range of RAM; protected frames are reserved; the counters match.
 */
unsigned pmm_check(void)
{
	uint64_t irq = spin_lock_irqsave(&pm.lock);
	uint64_t free = 0, alloc = 0, resv = 0, zfree[NR_ZONES] = { 0 };
	unsigned bad = 0;
	pfn_t lo, hi, gap = 0, s, e;

	for (size_t i = 0; pm.ready && i < pm.nsan; i++)
		for (int z = 0; z < NR_ZONES; z++) {
			if (!zone_ram(i, z, &lo, &hi))
				continue;
			if (find(gap, lo, 0) != lo)
				bad += problem(bad, "a free bit outside RAM", find(gap, lo, 0));
			pfn_t run_end = lo;
			for (pfn_t p = lo; p < hi; p++) {
				uint32_t r = pm.rec[p];
				if (r == REC_HOLE || (r && !used(p)))
					bad += problem(bad, "a record the bitmap disagrees with", p);
				else if (p < run_end && r)
					bad += problem(bad, "a record inside an allocated run", p);
				else if (r == REC_RESERVED)
					resv++;
				else if (r && (REC_PAGES(r) == 0 || REC_PAGES(r) > hi - p || REC_REFS(r) == 0))
					bad += problem(bad, "an allocated run of no size, or past its range", p);
				else if (r)
					run_end = p + REC_PAGES(r), alloc += REC_PAGES(r);
				else if (!used(p))
					free++, zfree[z]++;
				else if (p >= run_end)
					bad += problem(bad, "a frame in use by no run", p);
			}
			gap = hi;
		}
	if (pm.ready && find(gap, pm.nframes, 0) != pm.nframes)
		bad += problem(bad, "a free bit outside RAM", find(gap, pm.nframes, 0));
	for (pfn_t p = 0; pm.ready && p < pm.nframes && p < FIRST_MIB; p++)
		if (pm.rec[p] != REC_HOLE && pm.rec[p] != REC_RESERVED)
			bad += problem(bad, "a frame of the first MiB not reserved", p);
	for (size_t k = 0; pm.ready && k < pm.boot.protect_len; k++) {
		protect_frames(k, &s, &e);
		for (pfn_t p = s; !pm.released[k] && p < e && p < pm.nframes; p++)
			if (pm.rec[p] != REC_HOLE && pm.rec[p] != REC_RESERVED)
				bad += problem(bad, "a protected frame not reserved", p);
	}
	if (free != pm.free || alloc != pm.allocated || resv != pm.reserved ||
	    free + alloc + resv != pm.total)
		bad += problem(bad, "counters that do not match the bitmap", 0);
	for (int z = 0; z < NR_ZONES; z++)
		if (zfree[z] != pm.zone_free[z])
			bad += problem(bad, "a zone's free count that does not match", zone_start[z]);
	spin_unlock_irqrestore(&pm.lock, irq);
	return bad;
}

/* ---- the rest of buddy.h ---- */

const struct pmm_boot *pmm_boot_info(void) { return &pm.boot; }

const struct mem_range *pmm_sanitized_map(size_t *len)
{
	*len = pm.nsan;
	return pm.san;
}

bool pmm_protect_released(size_t i) { return i < pm.boot.protect_len && pm.released[i]; }

void pmm_report(void)
{
	kprintf("pmm: bitmap PMM over %llu frames: %llu KiB of RAM, %llu KiB free, metadata %llu KiB\n",
		(unsigned long long)pm.nframes, (unsigned long long)pm.total * 4,
		(unsigned long long)pm.free * 4, (unsigned long long)pm.meta_pages * 4);
	kprintf("MEMINFO usable_kib=%llu free_kib=%llu reserved_kib=%llu kernel_kib=%llu metadata_kib=%llu\n",
		(unsigned long long)pm.total * 4, (unsigned long long)pm.free * 4,
		(unsigned long long)pm.reserved * 4, (unsigned long long)pm.kernel * 4,
		(unsigned long long)pm.meta_pages * 4);
}

bool pmm_range_has_ram(pa_t pa, uint64_t len)
{
	pa_t end = pa + len < pa ? UINT64_MAX : pa + len;

	for (size_t i = 0; len && i < pm.nsan; i++)
		if (pm.san[i].type == MEM_AVAILABLE && pa < pm.san[i].base + pm.san[i].len && pm.san[i].base < end)
			return true;
	return false;
}

/* Not part of the exercise: no per-CPU caches, no hot-add, no pages lent from the first MiB. */
void pmm_drain_cache(void) { }
void pmm_drain_all_caches(void) { }
int pmm_add_range(pa_t base, uint64_t len) { (void)base, (void)len; return 0; }
pa_t pmm_lend_low_page(void) { return PMM_NO_FRAME; }
int pmm_return_low_page(pa_t pa) { (void)pa; return PMM_E_NOT_RAM; }
unsigned pmm_low_pages_lent(void) { return 0; }

enum zone_id pmm_zone_of(pa_t pa)
{
	return zone_of_pfn(pa >> PAGE_SHIFT);
}

const char *pmm_zone_name(enum zone_id z)
{
	return z == ZONE_DMA ? "DMA" : z == ZONE_DMA32 ? "DMA32" : z == ZONE_NORMAL ? "NORMAL" : "?";
}

const char *pmm_error_str(int e)
{
	static const char *const s[] = {
		"ok", "no usable RAM", "too little RAM", "no room for the metadata",
		"too many protected ranges", "not RAM the PMM manages", "misaligned",
		"order too large", "reserved frame", "double free", "not an allocated block",
		"wrong order", "still shared", "too many ranges of RAM",
	};
	_Static_assert(sizeof(s) / sizeof(s[0]) == 1 - PMM_E_MIN, "one text per enum pmm_error");
	return e <= 0 && e >= PMM_E_MIN ? s[-e] : "?";
}
