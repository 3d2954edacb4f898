/*
 * swap.h - the swap area: where anonymous pages go when RAM runs short,
 * and the slots they take there. docs/swap.md explains the design.
 *
 * A swap area is a run of 4 KiB pages on a disk. Page 0 is the header
 * below; pages 1 to pages - 1 are slots, each holding one swapped-out
 * page. The header says what the area is, so a disk that is not one is
 * never written to by mistake:
 *
 *   offset  size  field
 *        0    16  magic, "STRATA-SWAP" and five NULs
 *       16     4  version (1)
 *       20     4  page size (4096)
 *       24     8  pages in the area, the header's included
 *       32     4  CRC-32 (IEEE, as zlib's crc32) of the whole 4 KiB page, this field taken as 0
 *       36  4060  zero
 *
 * All fields little-endian. swap_header_check refuses anything else with
 * the reason, and the caller says it on the console: a bad header is never
 * overwritten unless the command line asks (swap.format=1).
 *
 * Slots are handed out next-fit from a cursor, so pages swapped out one
 * after another land in neighbouring slots (one long write, and a read
 * of the neighbours is the read-ahead). Slot 0 is never handed out: 0
 * means "no slot". Pure code over memory the caller gives: it runs on the
 * host too (tests/host/swap).
 */
#ifndef STRATA_MM_SWAP_H
#define STRATA_MM_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWAP_PAGE        4096
#define SWAP_MAGIC       "STRATA-SWAP"
#define SWAP_VERSION     1
#define SWAP_MIN_PAGES   2              /* the header and one slot */
#define SWAP_MAX_PAGES   (1ULL << 40)   /* what a swapped page's PTE can name (docs/swap.md) */

enum swap_error {
	SWAP_OK = 0,
	SWAP_E_MAGIC = -1,      /* not a swap area: no magic */
	SWAP_E_VERSION = -2,    /* a swap area of another version */
	SWAP_E_PAGE_SIZE = -3,  /* made for another page size */
	SWAP_E_CHECKSUM = -4,   /* the header is damaged */
	SWAP_E_SIZE = -5,       /* fewer than SWAP_MIN_PAGES, more than the disk holds, or past SWAP_MAX_PAGES */
	SWAP_E_SLOT = -6,       /* free of a slot out of range or not in use (misuse) */
	SWAP_E_FULL = -7,       /* the table of kept slots is as full as it may be */
};
const char *swap_error_str(int e);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32 and the ZIP format) of n bytes. */
uint32_t swap_crc32(const void *p, size_t n);

/* Write the header of an area of `pages` pages into page (SWAP_PAGE bytes). 0 or SWAP_E_SIZE. */
int swap_header_format(void *page, uint64_t pages);

/*
 * Check the header in page, read from a disk of disk_pages pages: 0 and
 * *pages set, or the swap_error that says what is wrong.
 */
int swap_header_check(const void *page, uint64_t disk_pages, uint64_t *pages);

/* ---- slots ---------------------------------------------------------------- */

struct swap_slots {
	uint64_t *bits;         /* a bit per page of the area, set: in use (bit 0, the header, always) */
	uint64_t pages;
	uint64_t used;          /* slots in use, the header not counted */
	uint64_t cursor;        /* where the next search starts */
};

/* Bytes of bitmap an area of `pages` pages needs. */
size_t swap_slots_bytes(uint64_t pages);

/* Start with every slot free; bits is swap_slots_bytes(pages) bytes. */
void swap_slots_init(struct swap_slots *s, uint64_t *bits, uint64_t pages);

/* A free slot, now in use; 0 if every slot is. */
uint64_t swap_slot_alloc(struct swap_slots *s);

/* Give slot back: 0, or SWAP_E_SLOT (reported; nothing changed) if it is out of range or free. */
int swap_slot_free(struct swap_slots *s, uint64_t slot);

bool swap_slot_in_use(const struct swap_slots *s, uint64_t slot);

static inline uint64_t swap_slots_free(const struct swap_slots *s) { return s->pages - 1 - s->used; }

/* Count the bitmap against `used`; prints each problem, returns how many. */
unsigned swap_slots_check(const struct swap_slots *s);

/* ---- slots kept for clean pages (kept.c) ---------------------------------------------- */

/*
 * A page of an address space (owner, va) read back from swap into frame
 * pa, its slot still holding the same bytes: while the page stays clean
 * in that frame, reclaim drops the frame without a write. owner NULL: an
 * empty entry.
 */
struct swap_kept_entry {
	const void *owner;
	uint64_t va, slot, pa;
};
struct swap_kept {
	struct swap_kept_entry *e;
	uint64_t cap;           /* entries, a power of two */
	uint64_t n;             /* in use: at most 3/4 of cap */
};

size_t swap_kept_bytes(uint64_t cap);
void swap_kept_init(struct swap_kept *k, struct swap_kept_entry *mem, uint64_t cap);
/* Keep slot for (owner, va): 0, SWAP_E_FULL (keep none), SWAP_E_SLOT (misuse: kept already, or no owner or slot). */
int swap_kept_add(struct swap_kept *k, const void *owner, uint64_t va, uint64_t slot, uint64_t pa);
/* The slot and frame kept for (owner, va), removed: true, or false if none. */
bool swap_kept_take(struct swap_kept *k, const void *owner, uint64_t va, uint64_t *slot, uint64_t *pa);
/* Remove owner's entries in [va, va + len), calling fn(slot, arg) for each: how many. */
uint64_t swap_kept_drop(struct swap_kept *k, const void *owner, uint64_t va, uint64_t len,
			void (*fn)(uint64_t slot, void *arg), void *arg);
/* Entries of owner (NULL: every entry), counted over the whole table: for checks. */
uint64_t swap_kept_count(const struct swap_kept *k, const void *owner);

/* ---- the area (area.c) -------------------------------------------------------------- */

/*
 * The disk under the area, as the kernel's glue gives it (a block driver
 * sits above the memory layers, so it is handed down, not called up):
 * read and write one 4 KiB page by its index on the device, 0 or a
 * negative errno.
 */
struct swap_dev {
	const char *name;
	uint64_t pages;                         /* 4 KiB pages the device holds */
	int (*read)(uint64_t page, void *buf);
	int (*write)(uint64_t page, const void *buf);
	int (*flush)(void);                     /* NULL: writes are durable when they complete */
};

/*
 * Use dev for swap: read its header and check it (swap_header_check). A
 * device without a valid header is refused with the reason on the console
 * and left untouched, unless format is set: then a header for the whole
 * device is written (and flushed) first. The slot bitmap comes from the
 * buddy. Returns 0, -EINVAL (no valid header, and none written: the
 * console says why), -EBUSY (an area is on already), or a device's or the
 * buddy's errno (-EIO, -ENOMEM), with nothing held.
 */
int swap_on(const struct swap_dev *dev, bool format);

/* Stop using the area: refused (-EBUSY) while a slot is in use; the bitmap goes back. */
int swap_off(void);

/*
 * A page out to the area: a slot taken (next-fit) and written. 0 and
 * *slot; -ENOSPC when every slot is taken; -ENODEV with no area; the
 * device's errno (the slot given back).
 */
int swap_write_page(const void *page, uint64_t *slot);

/* The two halves of swap_write_page, for a caller that must act between them (the VMM). */
int swap_slot_take(uint64_t *slot);                     /* 0, -ENODEV, -ENOSPC */
int swap_write_slot(uint64_t slot, const void *page);   /* 0, -ENODEV, -EINVAL, or the device's errno */

/* Slot's page back into page: 0, -ENODEV, -EINVAL (a slot not in use), or the device's errno. */
int swap_read_page(uint64_t slot, void *page);

/* Give slot back: 0, -ENODEV, or -EINVAL (misuse, reported). */
int swap_free_slot(uint64_t slot);

/*
 * Slots kept for clean pages (the table above, the area's). swap_keep:
 * page va of owner, just read from slot into frame pa, keeps the slot
 * (true) or, the table full, the slot is freed (false). swap_unkeep: the
 * slot kept for va, out of the table and the caller's again (still in
 * use). swap_drop_kept: owner's kept slots in [va, va + len) freed, how
 * many. swap_kept_of: how many owner keeps (a scan: for checks).
 * swap_count_clean: a page reclaimed with no write, for the SWAP line.
 */
bool swap_keep(const void *owner, uint64_t va, uint64_t slot, uint64_t pa);
bool swap_unkeep(const void *owner, uint64_t va, uint64_t *slot, uint64_t *pa);
uint64_t swap_drop_kept(const void *owner, uint64_t va, uint64_t len);
uint64_t swap_kept_of(const void *owner);
void swap_count_clean(void);
/* Keep no slot from now on (swap.keep=0: the same work measured with every page rewritten). */
void swap_keep_off(void);

struct swap_stats {
	bool on;
	uint64_t pages;         /* slots, the header not counted */
	uint64_t used;
	uint64_t out, in;       /* pages written out and read back, since boot */
	uint64_t reclaim_runs;
	uint64_t errors;        /* reads and writes the device failed */
	uint64_t kept;          /* slots kept for clean pages in RAM (counted in used) */
	uint64_t clean;         /* pages reclaimed without a write: their kept slot held them */
};
void swap_stats(struct swap_stats *st);

/* A reclaimer ran (counted in reclaim_runs). */
void swap_count_reclaim(void);

/* One line for programs: SWAP size_kib= used_kib= out= in= reclaim_runs= errors= kept= clean= (0s when off). */
void swap_report(void);

#endif
