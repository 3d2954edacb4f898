/*
 * acpi_image.h - "physical memory" for the ACPI reader's host test and
 * fuzzer: one heap buffer exactly as long as the tables, at PHYS_BASE. The
 * mapper refuses anything outside it, so AddressSanitizer catches any read
 * past what the mapper granted.
 */
#ifndef STRATA_TESTS_ACPI_IMAGE_H
#define STRATA_TESTS_ACPI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define PHYS_BASE 0x1000        /* physical address of acpi_mem[0] */

static uint8_t *acpi_mem;
static size_t acpi_mem_len;

static inline const void *acpi_image_map(uint64_t pa, size_t len)
{
	if (pa < PHYS_BASE || pa - PHYS_BASE > acpi_mem_len || len > acpi_mem_len - (pa - PHYS_BASE))
		return NULL;
	return acpi_mem + (pa - PHYS_BASE);
}

/* Set the byte at p[at] so that p[0..n) sums to 0, as every ACPI checksum does. */
static inline void acpi_fix_sum(uint8_t *p, size_t n, size_t at)
{
	uint8_t s = 0;
	p[at] = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	p[at] = (uint8_t)-s;
}

#endif
