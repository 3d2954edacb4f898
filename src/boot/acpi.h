/*
 * acpi.h - the CPUs the firmware describes, read from ACPI's MADT.
 *
 * The RSDP (a copy the loader put in the Multiboot2 information) names the
 * RSDT or XSDT; one of their entries is the MADT ("APIC"), whose Local APIC
 * and Local x2APIC entries list the processors. Every table is checked
 * (signature, length, checksum) before a byte of it is trusted, so a broken
 * table gives an error, never a wild read.
 */
#ifndef STRATA_BOOT_ACPI_H
#define STRATA_BOOT_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS 256

struct acpi_cpus {
	unsigned present;               /* enabled or online-capable processors */
	unsigned disabled;              /* listed but neither */
	uint32_t apic_id[ACPI_MAX_CPUS];/* of the first ACPI_MAX_CPUS present */
	uint32_t lapic_base;            /* the MADT's local APIC address */
};

enum acpi_error {
	ACPI_OK = 0,
	ACPI_E_NO_RSDP = -1,            /* no RSDP, or a bad signature or checksum */
	ACPI_E_BAD_TABLE = -2,          /* an RSDT/XSDT/MADT with a bad length or checksum */
	ACPI_E_NO_MADT = -3,            /* no "APIC" table */
	ACPI_E_BAD_ENTRY = -4,          /* a MADT entry running past its table */
};

/*
 * Returns a pointer through which len bytes at physical pa may be read, or
 * NULL if they may not (the kernel: through the boot HHDM; a host test: a
 * crafted image).
 */
typedef const void *(*acpi_map_fn)(uint64_t pa, size_t len);

/* Count the CPUs of the MADT reached from the RSDP copy rsdp[0..len). */
int acpi_find_cpus(const uint8_t *rsdp, size_t len, acpi_map_fn map, struct acpi_cpus *out);
const char *acpi_error_str(int e);

#endif
