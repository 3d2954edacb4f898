/*
 * multiboot2.h - what the bootloader passed, parsed and copied out.
 *
 * mb2_parse() walks the Multiboot2 information block tag by tag, checking
 * every length against the block's total_size before it reads, and copies
 * what Strata uses into struct mb2_info. The copy matters: the block lives
 * in RAM that the physical memory manager gives back after boot.
 */
#ifndef STRATA_BOOT_MULTIBOOT2_H
#define STRATA_BOOT_MULTIBOOT2_H

#include <stddef.h>
#include <stdint.h>
#include "boot/bootinfo.h"

#define MB2_BOOT_MAGIC 0x36d76289u

#define MB2_MAX_MMAP    512
#define MB2_MAX_MODULES 16
#define MB2_CMDLINE_MAX 4096            /* GRUB passes lines longer than 256 bytes */
#define MB2_NAME_MAX    64
#define MB2_RSDP_MAX    36              /* an ACPI 2.0 RSDP */

enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_BOOTLOADER = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_MMAP = 6,
	MB2_TAG_ELF_SECTIONS = 9,
	MB2_TAG_ACPI_OLD = 14,          /* a copy of the ACPI 1.0 RSDP */
	MB2_TAG_ACPI_NEW = 15,          /* a copy of the ACPI 2.0+ RSDP */
	MB2_TAG_EFI_MMAP = 17,
};

struct mb2_module {
	uint64_t start, end;            /* physical, end exclusive */
	char name[MB2_NAME_MAX];
};

struct mb2_info {
	uint64_t total_size;
	char cmdline[MB2_CMDLINE_MAX];
	size_t cmdline_len;             /* the whole line's length; >= MB2_CMDLINE_MAX: cut */
	char bootloader[MB2_NAME_MAX];
	struct mem_range mmap[MB2_MAX_MMAP];
	size_t mmap_len;
	size_t mmap_dropped;            /* entries beyond MB2_MAX_MMAP */
	int has_mmap;
	/*
	 * The first MB2_MAX_MODULES modules, with names, for reports. There may
	 * be more (modules_total counts every module tag): whoever must see them
	 * all (the PMM's protection) walks the block with mb2_next_module().
	 */
	struct mb2_module modules[MB2_MAX_MODULES];
	size_t modules_len;
	size_t modules_total;
	/* The EFI map is noted (where, how many descriptors), not interpreted. */
	int has_efi_mmap;
	uint32_t efi_desc_size, efi_desc_count;
	/* The RSDP as the loader copied it (tag 15 preferred over 14); len 0 if none. */
	uint8_t acpi_rsdp[MB2_RSDP_MAX];
	uint32_t acpi_rsdp_len;
	unsigned tag_count;
};

enum mb2_error {
	MB2_OK = 0,
	MB2_ERR_NULL,            /* no block at all */
	MB2_ERR_TRUNCATED,       /* shorter than its header, or than total_size says */
	MB2_ERR_TOTAL_SIZE,      /* total_size below 16 or above what may be read */
	MB2_ERR_TAG_SIZE,        /* a tag smaller than 8 bytes or than its fixed fields */
	MB2_ERR_TAG_OVERRUN,     /* a tag running past the end of the block */
	MB2_ERR_NO_END,          /* no end tag before the block ends */
	MB2_ERR_STRING,          /* a string tag not terminated inside the tag */
	MB2_ERR_MMAP_ENTRY,      /* memory map entry size zero, unaligned or too small */
};

/*
 * Parse the block at `block`, of which at most `readable` bytes may be
 * read. Returns MB2_OK and fills *out, or an error with *out holding what
 * was parsed before it; mb2_error_str() says what was wrong.
 */
enum mb2_error mb2_parse(const void *block, size_t readable, struct mb2_info *out);
const char *mb2_error_str(enum mb2_error e);

/*
 * Every module tag of a block that mb2_parse() accepted, in order, read
 * from the block itself: *cursor starts at 0. Returns 1 and sets *start and
 * *end (physical, end exclusive, as the tag says) or 0 after the last one.
 */
int mb2_next_module(const void *block, size_t *cursor, uint64_t *start, uint64_t *end);

/*
 * The ranges that cover every module of an accepted block, for the PMM to
 * protect: rounded out to 4 KiB pages, sorted, disjoint, not touching, at
 * most cap of them (none if cap is 0). Modules that overlap or share a page share a
 * span; when there are more spans than cap, the two with the smallest gap
 * between them are merged (the pages between are kept too: a few pages lost
 * until reboot, never a module overwritten). out needs cap + 1 entries (one
 * is scratch); type is PMM's "module" kind, MB2_SPAN_TYPE. Returns the
 * number of spans; *st (if given) counts modules, their pages and the pages
 * the spans keep.
 */
#define MB2_SPAN_TYPE 3         /* PMM_PROTECT_MODULE (mm/buddy/buddy.h) */
struct mb2_spans {
	size_t modules;         /* module tags seen */
	uint64_t bytes;         /* bytes of their pages, each module rounded out alone */
	uint64_t kept;          /* bytes the spans cover */
};
size_t mb2_module_spans(const void *block, struct mem_range *out, size_t cap, struct mb2_spans *st);

#endif
