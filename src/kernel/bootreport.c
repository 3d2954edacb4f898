/* bootreport.c - says what the bootloader passed: command line, loader, memory map. */
#include "kernel/kernel.h"
#include "lib/kprintf.h"

static void print_map(void)
{
	uint64_t avail = 0, other = 0;
	kprintf("Memory map from the bootloader (%zu entries%s):\n", boot_info.mmap_len,
		boot_info.mmap_dropped ? ", some dropped" : "");
	kprintf("  %-18s  %-18s  %12s  %s\n", "base", "end", "size KiB", "type");
	for (size_t i = 0; i < boot_info.mmap_len; i++) {
		const struct mem_range *r = &boot_info.mmap[i];
		kprintf("  0x%016lx  0x%016lx  %12lu  %s\n", r->base, r->base + r->len,
			r->len >> 10, mem_type_name(r->type));
		if (r->type == MEM_AVAILABLE)
			avail += r->len;
		else
			other += r->len;
	}
	kprintf("mmap total: available %lu KiB (%lu MiB), other %lu KiB\n",
		avail >> 10, avail >> 20, other >> 10);
}

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
	print_map();
}
