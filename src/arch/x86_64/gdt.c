/*
 * gdt.c - the kernel's final GDT and its TSS.
 *
 * Long mode ignores segment bases and limits, so the GDT exists for the
 * privilege levels and for the TSS, whose Interrupt Stack Table gives the
 * double fault a stack of its own: a kernel stack overflow then ends in a
 * report, not in a triple fault.
 */
#include <stdint.h>
#include "arch/x86_64/trap.h"

#define IST_STACK_SIZE 16384

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static struct tss tss;
static uint8_t ist_double_fault[IST_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t ist_nmi[IST_STACK_SIZE] __attribute__((aligned(16)));

/* null, kernel code 0x08, kernel data 0x10, user data 0x1b, user code 0x23, TSS 0x28 */
static uint64_t gdt[7] = {
	0,
	0x00af9a000000ffff,
	0x00cf92000000ffff,
	0x00cff2000000ffff,
	0x00affa000000ffff,
	0, 0,
};

static void set_tss_descriptor(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
	gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89UL << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[6] = base >> 32;
}

void tss_set_rsp0(uint64_t rsp0) { tss.rsp[0] = rsp0; }

void gdt_init(void)
{
	tss.ist[0] = (uint64_t)(ist_double_fault + IST_STACK_SIZE);
	tss.ist[1] = (uint64_t)(ist_nmi + IST_STACK_SIZE);
	tss.iomap_base = sizeof(tss);
	set_tss_descriptor();
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) ptr = {
		sizeof(gdt) - 1, (uint64_t)gdt,
	};
	__asm__ volatile(
		"lgdt %0\n\t"
		"mov $0x10, %%ax\n\t"
		"mov %%ax, %%ds\n\t"
		"mov %%ax, %%es\n\t"
		"mov %%ax, %%ss\n\t"
		"pushq $0x08\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"mov $0x28, %%ax\n\t"
		"ltr %%ax"
		: : "m"(ptr) : "rax", "memory");
}
