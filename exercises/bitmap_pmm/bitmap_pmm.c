/*
 * bitmap_pmm.c - exercise: a bitmap physical memory manager behind
 * src/mm/buddy/buddy.h (docs/exercises.md, "A bitmap PMM").
 *
 * One bit a frame, 1 = in use, over [0, highest RAM address). Everything
 * here is a stub that fails, so `make exercise-bitmap-pmm` builds and
 * reports the grading tests as failed; replace each TODO. The sanitizer
 * (memmap_sanitize) is src/mm/buddy/memmap.c's, linked as it is.
 *
 * Contracts are buddy.h's: read each function's comment there first.
 * Misuse prints "pmm: ..." and returns a negative enum pmm_error with the
 * state unchanged; out of memory returns PMM_NO_FRAME, never a panic.
 */
#include "mm/buddy/buddy.h"
#include "mm/arch.h"
#include "lib/kprintf.h"

/*
 * pmm_init: sanitize boot->map (memmap_sanitize), find the highest RAM
 * address, place the bitmap (and one refcount per frame) in a free run of
 * RAM that touches no protected range, mark everything used, then clear
 * the bits of available RAM above 1 MiB outside boot->protect and outside
 * the bitmap itself. Fail with PMM_E_NO_RAM / PMM_E_TOO_LITTLE /
 * PMM_E_NO_METADATA as buddy.h says, printing why.
 */
int pmm_init(const struct pmm_boot *boot)
{
	(void)boot;
	kprintf("pmm: the bitmap PMM is not written yet (exercises/bitmap_pmm)\n");
	return PMM_E_NO_RAM;            /* TODO */
}

/* pmm_alloc: 2^order frames, naturally aligned: scan for 2^order clear bits at a multiple of 2^order. */
pa_t pmm_alloc(unsigned order, unsigned flags)
{
	(void)order, (void)flags;
	return PMM_NO_FRAME;            /* TODO: zones (flags), PMM_ZERO, refcount 1, pmm_fail_nth */
}

int pmm_free(pa_t pa, unsigned order)
{
	(void)pa, (void)order;
	return PMM_E_NOT_RAM;           /* TODO: the misuse checks of buddy.h, then clear the bits */
}

pa_t pmm_alloc_page(unsigned flags) { return pmm_alloc(0, flags); }
int pmm_free_page(pa_t pa) { return pmm_free(pa, 0); }

pa_t pmm_alloc_aligned(size_t npages, size_t align_bytes, unsigned flags)
{
	(void)npages, (void)align_bytes, (void)flags;
	return PMM_NO_FRAME;            /* TODO: a run of npages clear bits at a multiple of align */
}

int pmm_free_aligned(pa_t pa, size_t npages)
{
	(void)pa, (void)npages;
	return PMM_E_NOT_RAM;           /* TODO */
}

unsigned pmm_frame_get(pa_t pa) { (void)pa; return 0; }            /* TODO */
unsigned pmm_frame_put(pa_t pa) { (void)pa; return 0; }            /* TODO: frees at 0 */
unsigned pmm_frame_refcount(pa_t pa) { (void)pa; return 0; }       /* TODO */
bool pmm_is_ram(pa_t pa) { (void)pa; return false; }               /* TODO */

/* free_blocks[]: count each maximal naturally aligned run of free frames once, as the buddy would hold it. */
void pmm_get_stats(struct pmm_stats *s) { *s = (struct pmm_stats){ 0 }; }     /* TODO */
uint64_t pmm_free_count(void) { return 0; }                                  /* TODO */
void pmm_watermarks(struct pmm_watermarks *w) { *w = (struct pmm_watermarks){ 0 }; }
void pmm_fail_nth(unsigned n) { (void)n; }                                   /* TODO */
void pmm_release(const struct mem_range *r) { (void)r; }                     /* TODO */
int pmm_add_range(pa_t base, uint64_t len) { (void)base, (void)len; return 0; }
void pmm_report(void) { }
const struct pmm_boot *pmm_boot_info(void) { return NULL; }                  /* TODO */
const struct mem_range *pmm_sanitized_map(size_t *len) { *len = 0; return NULL; }
bool pmm_protect_released(size_t i) { (void)i; return false; }
unsigned pmm_check(void) { return 1; }          /* TODO: every bit agrees with the refcounts */
void pmm_drain_cache(void) { }                  /* no per-CPU caches: nothing to drain */
void pmm_drain_all_caches(void) { }
bool pmm_range_has_ram(pa_t pa, uint64_t len) { (void)pa, (void)len; return false; }
pa_t pmm_lend_low_page(void) { return PMM_NO_FRAME; }
int pmm_return_low_page(pa_t pa) { (void)pa; return PMM_E_NOT_RAM; }
unsigned pmm_low_pages_lent(void) { return 0; }

enum zone_id pmm_zone_of(pa_t pa)
{
	return pa < (16ULL << 20) ? ZONE_DMA : pa < (4ULL << 30) ? ZONE_DMA32 : ZONE_NORMAL;
}

const char *pmm_zone_name(enum zone_id z)
{
	return z == ZONE_DMA ? "DMA" : z == ZONE_DMA32 ? "DMA32" : z == ZONE_NORMAL ? "NORMAL" : "?";
}

const char *pmm_error_str(int e)
{
	(void)e;
	return "?";                     /* TODO: a few words for each enum pmm_error, "ok" for 0 */
}
