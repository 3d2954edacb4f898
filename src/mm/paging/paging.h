/*
 * paging.h - the page-table engine: map, unmap, protect and translate on any
 * address space, named by the physical address of its root table.
 *
 * Callers speak in portable flags (PG_READ, PG_WRITE, ...); only pte.h knows
 * the x86 bits. Tables are reached through the HHDM, come zeroed from the
 * buddy, and go back to it when an unmap leaves them empty. Every call
 * checks its arguments first and changes nothing when it fails; the frames
 * a call may need are taken from the buddy before it touches a table, so an
 * edit, once begun, cannot fail half way. docs/paging.md explains the design.
 *
 * A virtual address, 4 levels (5 levels put a PML5 index in bits 56..48):
 *
 *   63      48 47     39 38     30 29     21 20     12 11        0
 *  +----------+---------+---------+---------+---------+-----------+
 *  | sign ext | PML4    | PDPT    | PD      | PT      | offset    |
 *  +----------+---------+---------+---------+---------+-----------+
 *               level 3   level 2   level 1   level 0
 *                         1 GiB     2 MiB     4 KiB    <- a leaf here maps
 *
 * The higher half, the same with 4 and 5 levels (with 5, all of it lies
 * under PML5[511]; PML5[256..511] are the kernel half):
 *
 *  0xffffffffffffffff +---------------------------+
 *                     | kernel image, by section  |  text R-X, rodata R--,
 *  0xffffffff80000000 +---------------------------+  data+bss RW- (4 KiB pages)
 *                     | (VMM: kernel heap, MMIO)  |
 *                     +---------------------------+
 *                     | HHDM: all RAM, RW-, G     |  1 GiB pages where the CPU
 *  0xffff800000000000 +---------------------------+  has them, else 2 MiB
 *                     | non-canonical hole        |
 *  0x0000800000000000 +---------------------------+
 *                     | user half: per process    |  nothing mapped by the kernel;
 *  0x0000000000000000 +---------------------------+  no identity map after boot
 *
 * Every top-level entry of the kernel half (256..511) points to a table
 * made once at boot and never freed, so a root that copied those entries
 * (pg_root_create_user) sees every later kernel mapping.
 */
#ifndef STRATA_MM_PAGING_H
#define STRATA_MM_PAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/types.h"

#define PG_HHDM_BASE   0xffff800000000000UL
#define PG_KERNEL_BASE 0xffffffff80000000UL

/*
 * The PAT MSR the cache-type encoding assumes (PA0..PA7: WB WT UC- UC WC
 * WT UC- UC); protect_init() writes it. pte.h has the table.
 */
#define PG_PAT_MSR_VALUE 0x0007040100070406UL

#define PG_SIZE_4KIB   0x1000UL
#define PG_SIZE_2MIB   0x200000UL
#define PG_SIZE_1GIB   0x40000000UL

/* Portable flags: what a mapping allows. PG_READ (present) is required. */
#define PG_READ        (1u << 0)
#define PG_WRITE       (1u << 1)
#define PG_EXEC        (1u << 2)   /* absent => NX where the CPU has NX */
#define PG_USER        (1u << 3)
#define PG_GLOBAL      (1u << 4)   /* survives CR3 switches (where the CPU has PGE) */
#define PG_CACHE_WB    (0u << 5)
#define PG_CACHE_WT    (1u << 5)
#define PG_CACHE_UC    (2u << 5)
#define PG_CACHE_WC    (3u << 5)
#define PG_CACHE_MASK  (3u << 5)
/* The cache type in flags, by name: "wb", "wt", "uc" or "wc". */
const char *pg_cache_name(unsigned flags);
#define PG_PROT_MASK   (PG_READ | PG_WRITE | PG_EXEC | PG_USER | PG_GLOBAL | PG_CACHE_MASK)

/* Options for pg_map, never stored. */
#define PG_MAP_REPLACE (1u << 8)   /* allow mapping over present entries */
#define PG_SIZE_4K     (1u << 9)   /* pin the page size; default: the largest */
#define PG_SIZE_2M     (2u << 9)   /*   that va, pa and len alignment allow   */
#define PG_SIZE_1G     (3u << 9)   /*   and the CPU supports                  */
#define PG_SIZE_MASK   (3u << 9)
#define PG_ALLOW_WX    (1u << 11)  /* allow a writable and executable mapping */

/* What every call returns: 0, or one of these distinct values; pg_error_str names each. */
enum pg_error {
	PG_OK = 0,
	PG_E_ALIGN = -1,        /* va, pa or len not aligned to the page (or pinned size) */
	PG_E_CANONICAL = -2,    /* va..va+len not inside one canonical half */
	PG_E_LENGTH = -3,       /* len is 0, or va+len / pa+len wraps */
	PG_E_EXISTS = -4,       /* pg_map over a present entry without PG_MAP_REPLACE */
	PG_E_NOT_MAPPED = -5,   /* unmap/protect/translate of an address with no mapping */
	PG_E_PHYS_RANGE = -6,   /* pa+len beyond the CPU's physical address width */
	PG_E_NO_MEMORY = -7,    /* the buddy had no frame for a table */
	PG_E_UNSUPPORTED = -8,  /* flags the CPU or this layer cannot express (1G pages, no PG_READ) */
	PG_E_WX = -9,           /* PG_WRITE with PG_EXEC, without PG_ALLOW_WX */
};
const char *pg_error_str(int e);

/*
 * Read the CPU's paging features (CPUID through arch_cpuid: NX, 1 GiB
 * pages, PGE, PCID, the physical width) and adopt the level count the boot
 * stub chose (4, or 5 with CR4.LA57). Call once before anything else; host
 * tests call it again after changing the fake CPUID. Returns 0, or
 * PG_E_UNSUPPORTED for a level count other than 4 or 5.
 */
int paging_init(unsigned levels);

struct paging_features {
	unsigned levels;        /* 4 or 5 */
	unsigned phys_bits;
	bool nx, pdpe1gb, pge, pcid;
};
const struct paging_features *paging_features(void);

/* True if va is canonical for the level count in use. */
bool pg_va_canonical(va_t va);

/* ---- address spaces ------------------------------------------------- */

/*
 * A root is the physical address of a top-level table (what CR3 holds);
 * PG_NO_ROOT is "no root": no frame was free for one.
 */
typedef pa_t pg_root_t;
#define PG_NO_ROOT ((pg_root_t)-1)

/* A new, zeroed root table, or PG_NO_ROOT. */
pg_root_t pg_root_create(void);

/*
 * A new root sharing the kernel half (top-level entries 256..511 copied
 * from the kernel root), for a process. PG_NO_ROOT if no frame is free.
 */
pg_root_t pg_root_create_user(void);

/*
 * Free every table of root that is not shared with the kernel root, and
 * the root itself. Mapped frames are the caller's: they are not freed.
 * Refuses (with a report: misuse) to destroy the kernel root, the current
 * root, a root another CPU last switched to, or an address that is no
 * root (0, not page aligned).
 */
void pg_root_destroy(pg_root_t root);

/* The kernel's root, built by paging_build_kernel; 0 before that. */
pg_root_t pg_kernel_root(void);

/* ---- the engine ------------------------------------------------------ */

/*
 * Map [va, va+len) to [pa, pa+len) with flags (PG_* protection, a cache
 * type, and the PG_MAP_, PG_SIZE_ and PG_ALLOW_WX options). Returns 0, or
 * a negative enum pg_error with nothing changed: PG_E_EXISTS if any page
 * is present (unless PG_MAP_REPLACE), PG_E_WX for PG_WRITE | PG_EXEC
 * without PG_ALLOW_WX, PG_E_NO_MEMORY if a table could not be had.
 */
int pg_map(pg_root_t root, va_t va, pa_t pa, size_t len, unsigned flags);

/*
 * Remove every mapping in [va, va+len), splitting huge pages that stick
 * out of the range, and free the tables left empty. The mapped frames are
 * not freed. Returns 0, or an error with nothing changed: PG_E_NOT_MAPPED
 * if any page of the range is not mapped, PG_E_NO_MEMORY if a split
 * needed a table that could not be had.
 */
int pg_unmap(pg_root_t root, va_t va, size_t len);

/*
 * Give every page of [va, va+len) the protection and cache type in flags,
 * keeping its physical address; huge pages that stick out are split.
 * Returns 0, or an error with nothing changed (as pg_unmap; PG_E_WX as
 * pg_map, PG_ALLOW_WX being the one option allowed here).
 */
int pg_protect(pg_root_t root, va_t va, size_t len, unsigned flags);

/*
 * Look va up. On success returns 0 and fills whichever of *pa (the byte's
 * physical address), *flags (portable) and *page_size are not NULL.
 * Returns PG_E_NOT_MAPPED or PG_E_CANONICAL otherwise.
 */
int pg_translate(pg_root_t root, va_t va, pa_t *pa, unsigned *flags, size_t *page_size);

/*
 * Call fn once for every leaf that overlaps [va, va+len), in address order,
 * with the whole leaf: its first va, its pa, its size and portable flags.
 * fn must not edit root. len 0 means up to the end of va's half.
 */
typedef void (*pg_walk_fn)(va_t va, pa_t pa, size_t size, unsigned flags, void *arg);
void pg_walk(pg_root_t root, va_t va, size_t len, pg_walk_fn fn, void *arg);

/* ---- swap entries --------------------------------------------------- */

/*
 * A page swapped out leaves a swap entry in its place: not present to the
 * CPU, holding a value of the caller's up to PG_SWAP_MAX (a swap slot; the
 * bit layout is in pte.h and docs/paging.md). A table holding one is not
 * empty, so no unmap frees it; pg_map over one is PG_E_EXISTS unless
 * PG_MAP_REPLACE (the page coming back); pg_unmap and pg_protect of a
 * range holding one are PG_E_NOT_MAPPED, as for a hole. pg_root_destroy
 * drops them with the tables: the caller takes its values out first.
 */
#define PG_SWAP_MAX ((1ULL << 40) - 1)

/*
 * The mapped 4 KiB page at va becomes a swap entry holding value; its
 * frame is in *pa (not freed) and every CPU's TLB entry for va is gone.
 * *dirty (if not NULL): the entry's dirty bit as it was swapped out, so a
 * write no CPU had finished when the entry changed cannot be missed.
 * Returns 0, or PG_E_ALIGN, PG_E_CANONICAL, PG_E_NOT_MAPPED (nothing mapped
 * there, or a swap entry), PG_E_UNSUPPORTED (a huge page, or value past
 * PG_SWAP_MAX) with nothing changed.
 */
int pg_swap_out(pg_root_t root, va_t va, uint64_t value, pa_t *pa, bool *dirty);

/*
 * The accessed bit of the mapped 4 KiB page at va: 1 if the CPU set it
 * since the last call, which clears it (and drops va from every CPU's TLB,
 * so the next touch sets it again); 0 if it was clear; PG_E_NOT_MAPPED if
 * no 4 KiB page is mapped there. What a clock over pages reads.
 */
int pg_test_clear_accessed(pg_root_t root, va_t va);

/* The value of the swap entry at va into *value: 0, or PG_E_NOT_MAPPED if va holds none. */
int pg_swap_entry(pg_root_t root, va_t va, uint64_t *value);

/*
 * Remove the swap entry at va (its value into *value, if not NULL) and the
 * tables that leaves empty. 0, or PG_E_NOT_MAPPED if va holds none.
 */
int pg_swap_drop(pg_root_t root, va_t va, uint64_t *value);

/* Call fn for every swap entry in [va, va+len) (len 0: to the end of va's half), in address order; fn must not edit root. */
typedef void (*pg_swap_fn)(va_t va, uint64_t value, void *arg);
void pg_walk_swap(pg_root_t root, va_t va, size_t len, pg_swap_fn fn, void *arg);

/*
 * Print the mappings of [from, to) merged into ranges of equal flags and
 * page size, like QEMU's `info mem`, one line each:
 *   ffff800000000000-ffff800100000000  4G  rw- g wb  1G x4   pa 0
 */
void pg_dump(pg_root_t root, va_t from, va_t to);

/*
 * Frames root's tables take, the root included: every table reachable from
 * it, the kernel half's shared ones too. Read-only, for reports (count.c).
 */
uint64_t pg_table_count(pg_root_t root);

/* ---- TLB -------------------------------------------------------------- */

/*
 * The one place that decides how to invalidate, here and on the other
 * CPUs: one invlpg per page up to TLB_FULL_FLUSH_PAGES pages, else a full
 * flush, on this CPU if root is in its CR3 or the range is in the kernel
 * half, and, by one shootdown, on the other CPUs that may cache it (those
 * running root; every online CPU for the kernel half). With PCID, the
 * root's PCID on the CPUs not running it is marked to be flushed when it
 * is next switched to. Returns once every CPU has flushed. The engine
 * calls it for its own edits; docs/paging.md has the protocol.
 */
#define TLB_FULL_FLUSH_PAGES 32
void tlb_flush_range(pg_root_t root, va_t va, size_t len);

/*
 * Make root the current address space of this CPU (with this CPU's own
 * PCID for it where the CPU has PCID), and record that it runs here, so
 * that edits of root reach this CPU. Every CPU loads its roots through it.
 */
void pg_switch(pg_root_t root);

/*
 * Each application processor calls this once, after its bit is set in
 * arch_cpus_online() and before it touches memory another CPU may unmap:
 * from then on every edit that may be cached there reaches it. It drops
 * everything the AP cached before (global entries too) and loads the
 * kernel root through pg_switch.
 */
void pg_cpu_online(void);

/* The root in CR3, without PCID bits. */
pg_root_t pg_current_root(void);

/* ---- the kernel's tables ---------------------------------------------- */

struct kernel_section {
	va_t va_start, va_end;          /* page aligned */
	pa_t pa_start;
	unsigned flags;                 /* PG_READ | PG_WRITE / PG_EXEC ... */
};

struct kernel_layout {
	struct kernel_section sect[4];  /* text, rodata, data+bss: W^X */
	unsigned nsect;
	va_t guard[4];                  /* pages left unmapped (stack guards) */
	unsigned nguard;
};

/*
 * Build the kernel's final tables with the engine and switch CR3 to them:
 * every top-level entry of the kernel half pointing to a table of its own;
 * the HHDM over every range of the buddy's sanitized map that is RAM, ACPI
 * or NVS (write-back, RW, NX, global, largest pages); each section of k in
 * 4 KiB pages with its flags (plus global); the guard pages unmapped;
 * nothing in the user half. Returns 0, or a negative enum pg_error with
 * the new tables freed and CR3 unchanged.
 */
int paging_build_kernel(const struct kernel_layout *k);

#endif
