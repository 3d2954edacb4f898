/*
 * bootinfo.h - what the boot layer hands to the memory layers.
 *
 * The boot layer turns the Multiboot2 information into these plain tables
 * before anything allocates, so the layers above never parse firmware data
 * themselves and host tests can craft any map they like.
 */
#ifndef STRATA_BOOT_BOOTINFO_H
#define STRATA_BOOT_BOOTINFO_H

#include <stddef.h>
#include <stdint.h>

/* Memory map types, numbered as in the Multiboot2 specification (tag 6). */
enum mem_type {
	MEM_AVAILABLE = 1,
	MEM_RESERVED = 2,
	MEM_ACPI_RECLAIMABLE = 3,
	MEM_NVS = 4,
	MEM_BAD = 5,
};

struct mem_range {
	uint64_t base;
	uint64_t len;
	uint32_t type;      /* enum mem_type; unknown values mean reserved */
};

const char *mem_type_name(uint32_t type);

/* A map as a table, with a total per type (sizes wrap where the map does). */
void mem_map_print(const char *title, const struct mem_range *m, size_t n);

#endif
