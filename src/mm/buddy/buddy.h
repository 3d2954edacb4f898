/*
 * buddy.h - the physical memory manager: every frame of RAM comes from here.
 *
 * A buddy allocator over the firmware's memory map. pmm_init() sanitizes the
 * map, protects what the kernel still uses, places one small metadata array
 * per range of RAM (4 bytes a frame and a bitmap of free blocks per order,
 * holes cost nothing) and frees the rest as blocks of 2^order pages,
 * naturally aligned, that never span a zone. A per-CPU cache of single
 * pages sits in front. Misuse is reported ("pmm: ..." on the console) and
 * returns an error; running out of memory returns PMM_NO_FRAME; a broken
 * invariant (a record the free map disagrees with, a frame in two states) stops the
 * kernel with "PANIC: pmm: ..." (mm/failure.h). docs/buddy.md explains the
 * design.
 */
#ifndef STRATA_MM_BUDDY_H
#define STRATA_MM_BUDDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "boot/bootinfo.h"
#include "mm/types.h"

#define PMM_NO_FRAME ((pa_t)-1)      /* "no frame": the one failed answer (all ones, so no frame number either) */
#define PMM_MAX_ORDER 18            /* 2^18 pages = 1 GiB, the largest block */

enum zone_id { ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, NR_ZONES };  /* <16 MiB, <4 GiB, above */

/* Flags for allocations. */
#define PMM_ZERO   (1u << 0)        /* zero the block (through the HHDM) */
#define PMM_DMA    (1u << 1)        /* below 16 MiB */
#define PMM_DMA32  (1u << 2)        /* below 4 GiB */

/* What the negative returns mean. Every one is also reported on the console. */
enum pmm_error {
	PMM_E_NO_RAM = -1,          /* pmm_init: the map has no usable RAM */
	PMM_E_TOO_LITTLE = -2,      /* pmm_init: less free RAM than PMM_MIN_FREE_PAGES */
	PMM_E_NO_METADATA = -3,     /* pmm_init: nowhere to put the metadata */
	PMM_E_BAD_BOOT = -4,        /* pmm_init: too many protected ranges */
	PMM_E_NOT_RAM = -5,         /* address is not a frame the PMM manages */
	PMM_E_MISALIGNED = -6,      /* not page aligned, or not aligned to its order */
	PMM_E_BAD_ORDER = -7,       /* order above PMM_MAX_ORDER */
	PMM_E_RESERVED = -8,        /* frame is reserved, never handed out */
	PMM_E_DOUBLE_FREE = -9,     /* frame is already free */
	PMM_E_NOT_ALLOCATED = -10,  /* not the first frame of an allocated block */
	PMM_E_WRONG_ORDER = -11,    /* freed with another order than it was allocated with */
	PMM_E_SHARED = -12,         /* freed while other references remain: pmm_frame_put it */
	PMM_E_NO_SECTION = -13,     /* pmm_add_range: no room for another range of RAM */
};
#define PMM_E_MIN PMM_E_NO_SECTION  /* the lowest value: keep it the last one */

/* A few words for an enum pmm_error (0 is "ok"); "?" for anything else. */
const char *pmm_error_str(int e);

/* The zone a physical address is in, and a zone's name ("DMA", "DMA32", "NORMAL"). */
enum zone_id pmm_zone_of(pa_t pa);
const char *pmm_zone_name(enum zone_id z);

/* pmm_init fails with PMM_E_TOO_LITTLE below this many free pages (1 MiB). */
#define PMM_MIN_FREE_PAGES 256

/*
 * The kind of a protected range, stored in its mem_range.type: the report
 * names them, and kernel_kib in MEMINFO is the sum of the PMM_PROTECT_KERNEL
 * ranges.
 */
enum pmm_protect_kind {
	PMM_PROTECT_OTHER = 0,
	PMM_PROTECT_KERNEL,         /* the kernel image, from linker symbols */
	PMM_PROTECT_BOOTINFO,       /* the Multiboot2 information block */
	PMM_PROTECT_MODULE,         /* a boot module */
	PMM_PROTECT_BOOT_TABLES,    /* the boot stub's page tables and stack */
};

struct pmm_boot {                   /* what the kernel passes to pmm_init */
	const struct mem_range *map; size_t map_len;          /* firmware map, as given */
	const struct mem_range *protect; size_t protect_len;  /* type = enum pmm_protect_kind */
	pa_t reachable;                 /* RAM at or above this is not mapped by the HHDM yet: left for pmm_add_range; 0 = no limit */
};

/*
 * Sanitize the map, protect the first MiB, protect[] and the metadata, and
 * free the rest. May be called again (host tests do) and starts from
 * nothing each time. Returns 0, or a negative enum pmm_error after printing
 * why (no usable RAM, too little, no room for metadata).
 */
int pmm_init(const struct pmm_boot *boot);

/*
 * 2^order pages, naturally aligned, from the zones flags allow (PMM_DMA:
 * DMA only; PMM_DMA32: DMA32 then DMA; neither: NORMAL, DMA32, DMA).
 * Returns the physical address, or PMM_NO_FRAME if no block is free. The
 * first frame's reference count starts at 1.
 */
pa_t pmm_alloc(unsigned order, unsigned flags);

/*
 * Free a block from pmm_alloc with the order it was allocated with; it
 * merges with its buddies. A block whose reference count is above 1 is
 * not freed (PMM_E_SHARED): its holders drop it with pmm_frame_put.
 * Returns 0, or a negative enum pmm_error after reporting the misuse; the
 * free blocks are untouched then.
 */
int pmm_free(pa_t pa, unsigned order);

/* One page through this CPU's cache; same contracts as pmm_alloc/pmm_free with order 0. */
pa_t pmm_alloc_page(unsigned flags);
int pmm_free_page(pa_t pa);

/*
 * npages contiguous pages whose address is a multiple of align_bytes (a
 * power of two; 0 or less than a page means a page). The block is cut to
 * npages and the rest given back. Returns PMM_NO_FRAME if none is free or
 * the request cannot be met (more than 2^PMM_MAX_ORDER pages or alignment).
 * Free it with pmm_free_aligned(pa, npages).
 */
pa_t pmm_alloc_aligned(size_t npages, size_t align_bytes, unsigned flags);
int pmm_free_aligned(pa_t pa, size_t npages);

/*
 * Reference counts for the VMM (copy-on-write, sharing), kept on the first
 * frame of an allocated block. pmm_frame_get adds one and returns the new
 * count; pmm_frame_put drops one and frees the block at 0 (with its own
 * order), returning the new count. Both report and return 0 if pa is not
 * the first frame of an allocated block. pmm_frame_refcount reads it (0 if
 * not allocated).
 */
unsigned pmm_frame_get(pa_t pa);
unsigned pmm_frame_put(pa_t pa);
unsigned pmm_frame_refcount(pa_t pa);

/* True if pa lies in a frame the PMM manages, in any state. */
bool pmm_is_ram(pa_t pa);

struct pmm_stats {
	uint64_t total_pages;       /* RAM frames managed: free + allocated + reserved */
	uint64_t free_pages;        /* in free blocks or in the per-CPU caches */
	uint64_t reserved_pages;    /* first MiB, protected, metadata: never handed out */
	uint64_t allocated_pages;
	uint64_t metadata_bytes;    /* the pages holding per-frame records */
	uint64_t kernel_pages;      /* the PMM_PROTECT_KERNEL ranges */
	uint64_t zone_total[NR_ZONES], zone_free[NR_ZONES];
	uint64_t free_blocks[PMM_MAX_ORDER + 1];  /* free blocks (not the caches) */
};
void pmm_get_stats(struct pmm_stats *s);

/*
 * The free-frame marks reclaim works to (docs/swap.md), scaled to RAM:
 * min is 1/256 of the managed frames (at least 32, at most 16384), low
 * twice that, high three times. Below low, memory is reclaimed until high;
 * below min, an allocation that fails waits for reclaim before it gives up.
 * The buddy only says where they are; the reclaimer above it acts.
 */
struct pmm_watermarks { uint64_t min, low, high; };
void pmm_watermarks(struct pmm_watermarks *w);

/* Free pages, including those in per-CPU caches: a snapshot, read while other CPUs may allocate. */
uint64_t pmm_free_count(void);

/*
 * Failure injection for tests of the layers above: the n-th allocation
 * (pmm_alloc, pmm_alloc_page, pmm_alloc_aligned) from now returns
 * PMM_NO_FRAME; 0 turns it off. It fires once.
 */
void pmm_fail_nth(unsigned n);

/*
 * Give a protected range back once the kernel no longer needs it. r must
 * equal one of the protect[] ranges given to pmm_init; pages it shares with
 * other protected ranges, the first MiB or the metadata stay reserved.
 * Reports and does nothing otherwise.
 */
void pmm_release(const struct mem_range *r);

/*
 * Hot-add: take the RAM in [base, base + len) that the sanitized map calls
 * available and the PMM does not manage yet: what pmm_init left out at or
 * above boot->reachable, once phys_to_virt reaches it (the final page
 * tables map all of the sanitized map's RAM). Each such range becomes a
 * section whose records sit in its own top pages; the rest is freed.
 * pmm_add_range(0, UINT64_MAX) takes everything left. Prints one line per
 * range added. Returns 0 (also when there was nothing to add), or a
 * negative enum pmm_error after saying why (PMM_E_NO_SECTION: the table of
 * ranges is full; what was added before that stays). Only while no other
 * CPU uses the PMM (boot): the lock-free paths read the sections.
 */
int pmm_add_range(pa_t base, uint64_t len);

/*
 * The boot report: the firmware map, the sanitized map with totals, zones,
 * free blocks per order, reserved memory, metadata, and one line
 *   MEMINFO usable_kib=... free_kib=... reserved_kib=... kernel_kib=... metadata_kib=...
 */
void pmm_report(void);

/*
 * Sanitize a firmware map into out (at most out_cap entries; a longer
 * result keeps its lowest entries). The output is sorted, non-overlapping,
 * with adjacent same-type entries merged; where RAM overlaps another type
 * the other type wins (and among the others: bad > NVS > reserved > ACPI);
 * RAM is trimmed inward to 4 KiB; unknown types become MEM_RESERVED; empty
 * entries are dropped; everything is clipped at 2^phys_bits (values outside
 * 12..63 mean 52), so entries that wrap past 2^64 end there. Allocates
 * nothing. Returns the number of entries written.
 */
size_t memmap_sanitize(const struct mem_range *in, size_t n, struct mem_range *out,
		       size_t out_cap, unsigned phys_bits);

/* ---- for tests and for the layers that check their own work ---- */

/*
 * Copies of what pmm_init was given (firmware map possibly truncated to
 * PMM_MAX_MAP entries) and the sanitized map: all of the firmware's RAM,
 * including RAM at or above reachable that the PMM does not manage until
 * pmm_add_range takes it (pmm_is_ram says which frames it manages now).
 */
#define PMM_MAX_MAP 512
#define PMM_MAX_PROTECT 32
const struct pmm_boot *pmm_boot_info(void);
const struct mem_range *pmm_sanitized_map(size_t *len);
/* True once protect[i] of pmm_boot_info() was given back by pmm_release. */
bool pmm_protect_released(size_t i);

/*
 * Verify every invariant (free maps agree with the records, merged, every
 * frame in exactly one state, protected frames reserved, counters match).
 * Prints each problem and returns how many there were; 0 means sound.
 */
unsigned pmm_check(void);

/* Return the pages in this CPU's cache, or in every CPU's cache (safe while the others run). */
void pmm_drain_cache(void);
void pmm_drain_all_caches(void);

/*
 * True if any byte of [pa, pa + len) is RAM: RAM the PMM manages, RAM it
 * keeps reserved, or RAM the firmware reports that it left out (beyond the
 * HHDM's reach). Overflow-safe: a range running past 2^64 ends there; len
 * 0 is no byte. O(entries of the maps), for the VMM's MMIO check.
 */
bool pmm_range_has_ram(pa_t pa, uint64_t len);

/*
 * A page of the first MiB, which the buddy never hands out, lent for
 * real-mode code (an application processor's start-up, lowmem.c): RAM in
 * the map, touched by no protected range, not page 0. PMM_NO_FRAME if
 * none is left. Return it with pmm_return_low_page.
 */
pa_t pmm_lend_low_page(void);
int pmm_return_low_page(pa_t pa);
unsigned pmm_low_pages_lent(void);

#endif
