/*
 * cpus.c - how many CPUs the firmware describes, and how many run.
 *
 * Read at boot, while the boot stub's HHDM still maps the first 64 GiB of
 * physical addresses whatever their type (the final page tables map only
 * RAM, and ACPI tables may live outside it). smp.c starts the others and
 * prints the CPUS line.
 */
#include "kernel/kernel.h"
#include "boot/acpi.h"
#include "lib/kprintf.h"
#include "mm/arch.h"

#define BOOT_HHDM_LIMIT (64ULL << 30)   /* boot.asm, HHDM_GIB */

struct acpi_cpus boot_cpus;

static const void *boot_map(uint64_t pa, size_t len)
{
	if (pa >= BOOT_HHDM_LIMIT || len > BOOT_HHDM_LIMIT - pa)
		return NULL;
	return phys_to_virt(pa);
}

void cpus_report(void)
{
	int e = acpi_find_cpus(boot_info.acpi_rsdp, boot_info.acpi_rsdp_len, boot_map, &boot_cpus);
	if (e) {
		kprintf("ACPI: %s: %s; counting the boot CPU only\n",
			boot_info.acpi_rsdp_len ? "cannot read the MADT" : "the loader passed no RSDP",
			acpi_error_str(e));
		boot_cpus.present = 1;
	} else {
		kprintf("ACPI: MADT lists %u CPUs (%u disabled), local APIC at 0x%x\n",
			boot_cpus.present, boot_cpus.disabled, boot_cpus.lapic_base);
	}
}
