/*
 * acpi.c - libFuzzer over the MADT reader (src/boot/acpi.c).
 *
 * Input: one flag byte, 36 bytes of RSDP, then "physical memory" starting
 * at PHYS_BASE, copied into a buffer exactly as long so ASan sees a read
 * one byte past it; the mapper refuses anything outside. With the flag's
 * bit 0 set, the checksums of the RSDP and of every table its pointers
 * reach are repaired first, so the fuzzer gets past them to the entries.
 * Properties: acpi_find_cpus returns one of its errors, never reads
 * outside what the mapper granted, and counts no more CPUs than the
 * memory has room for entries.
 */
#include <string.h>
#include "fuzz.h"
#include "boot/acpi.h"
#include "acpi_image.h"


/* Repair the table at pa if it lies in memory; returns it (and its length) or NULL. */
static uint8_t *fix_table(uint64_t pa, uint32_t *len)
{
	uint8_t *t = (uint8_t *)acpi_image_map(pa, 36);
	if (!t)
		return NULL;
	memcpy(len, t + 4, 4);
	if (*len < 36 || !acpi_image_map(pa, *len))
		return NULL;
	acpi_fix_sum(t, *len, 9);
	return t;
}

static void fix_all(uint8_t *rsdp)
{
	uint32_t rsdt, len;
	uint64_t xsdt;
	acpi_fix_sum(rsdp, 20, 8);
	acpi_fix_sum(rsdp, 36, 32);
	memcpy(&rsdt, rsdp + 16, 4);
	memcpy(&xsdt, rsdp + 24, 8);
	for (int x = 0; x < 2; x++) {
		uint8_t *root = fix_table(x ? xsdt : rsdt, &len);
		for (uint32_t off = 36; root && len - off >= (x ? 8u : 4u); off += x ? 8 : 4) {
			uint64_t pa = 0;
			uint32_t tlen;
			memcpy(&pa, root + off, x ? 8 : 4);
			fix_table(pa, &tlen);
		}
		if (root)
			fix_table(x ? xsdt : rsdt, &len);   /* entries may overlap the root */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t rsdp[36] = { 0 };
	struct acpi_cpus c;
	if (size < 1 + 36)
		return 0;
	memcpy(rsdp, data + 1, 36);
	acpi_mem_len = size - 37;
	acpi_mem = malloc(acpi_mem_len ? acpi_mem_len : 1);
	memcpy(acpi_mem, data + 37, acpi_mem_len);
	if (data[0] & 1)
		fix_all(rsdp);
	int e = acpi_find_cpus(rsdp, data[0] & 2 ? 20 : 36, acpi_image_map, &c);
	FUZZ_CHECK(e <= 0 && e >= ACPI_E_BAD_ENTRY);
	FUZZ_CHECK(acpi_error_str(e)[0] != '\0');
	FUZZ_CHECK(e || (uint64_t)(c.present + c.disabled) * 8 <= acpi_mem_len);
	free(acpi_mem);
	return 0;
}
