/* kernel.h - what kmain shares with the rest of src/kernel/. */
#ifndef STRATA_KERNEL_KERNEL_H
#define STRATA_KERNEL_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include "boot/multiboot2.h"
#include "boot/acpi.h"

enum kernel_mode { MODE_RUN, MODE_TEST, MODE_BENCH, MODE_SHELL };

/* The bootloader's information, copied out of the Multiboot2 block. */
extern struct mb2_info boot_info;
extern uint64_t boot_info_pa;
/* Every boot module's range as the tags gave it (type unused); see mm_boot.c. */
extern struct mem_range *boot_modules;
extern size_t boot_modules_len;

/* Linker symbols (src/boot/linker.ld); the kernel_phys_* are physical. */
extern char kernel_phys_start[], kernel_phys_end[];
extern char kernel_text_start[], kernel_text_end[];
extern char kernel_rodata_start[], kernel_rodata_end[];
extern char kernel_data_start[], kernel_data_end[];
extern char boot_tables_start[], boot_tables_end[];
extern char boot_stack_guard[], boot_stack_bottom[], boot_stack_top[];
extern uint32_t boot_cpu_flags;

/* The 64-bit entry, called by the boot stub (src/boot/) in the higher half. */
void kmain(uint64_t mbi_pa, uint32_t magic);
void boot_report(void);
void cpus_report(void);          /* cpus.c: the MADT's CPUs, read while the boot HHDM maps ACPI */
extern struct acpi_cpus boot_cpus;
/* kstack.c: a kernel stack of size bytes above a guard page; returns the guard's address or 0. */
uint64_t kstack_alloc(size_t size);
void kstack_free(uint64_t base, size_t size);
void mm_boot(void);
void mm_report(void);             /* mode=run: each layer's boot report, buddy to VMM */
void pagefault_init(void);
/* demo.c: mode=run's demonstrations (after pagefault_init and slab_init). */
void vmm_demo(void);            /* the VMM at work: regions, real faults, a process space */
void slab_trace_demo(void);     /* the alloc(5) path, narrated down to the PTE, and back */
void bench_run_all(void);
/* swap_boot.c: the virtio-blk disk as the swap area (swap.format=1 writes its header). */
struct swap_dev;
const struct swap_dev *swap_boot_dev(void);     /* NULL without a disk */
void swap_boot(void);
void oracle_run(void);          /* oracle.c: oracle=1, the tables for QEMU to check (docs/oracle.md) */
void picture_report(void);      /* picture.c: the PIC lines a picture of memory is drawn from */

#endif
