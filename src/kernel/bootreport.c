/* bootreport.c - says what the bootloader passed: command line, loader, memory map. */
#include "kernel/kernel.h"
#include "lib/kprintf.h"

void boot_report(void)
{
	kprintf("Bootloader: %s\n", boot_info.bootloader[0] ? boot_info.bootloader : "(not given)");
	kprintf("Command line: %s\n", boot_info.cmdline);
	kprintf("Multiboot2 information at 0x%lx, %lu bytes, %u tags%s\n", boot_info_pa,
		boot_info.total_size, boot_info.tag_count,
		boot_info.has_efi_mmap ? ", with an EFI memory map" : "");
	if (boot_info.has_efi_mmap)
		kprintf("EFI memory map: %u descriptors of %u bytes (the Multiboot2 map is used)\n",
			boot_info.efi_desc_count, boot_info.efi_desc_size);
	for (size_t i = 0; i < boot_info.modules_len; i++)
		kprintf("Module %zu: 0x%lx-0x%lx %s\n", i, boot_info.modules[i].start,
			boot_info.modules[i].end, boot_info.modules[i].name);
	if (boot_info.modules_total > boot_info.modules_len)
		kprintf("  ... and %zu more modules, not named here but protected all the same\n",
			boot_info.modules_total - boot_info.modules_len);
	mem_map_print("Memory map from the bootloader", boot_info.mmap, boot_info.mmap_len);
	if (boot_info.mmap_dropped)
		kprintf("  ... %zu more entries dropped (more than %d)\n", boot_info.mmap_dropped, MB2_MAX_MMAP);
	cpus_report();
}
