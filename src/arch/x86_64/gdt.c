/*
 * gdt.c - each CPU's GDT and TSS.
 *
 * Long mode ignores segment bases and limits, so the GDT exists for the
 * privilege levels and for the TSS, whose Interrupt Stack Table gives the
 * double fault and the NMI stacks of their own: a kernel stack overflow
 * then ends in a report, not in a triple fault, and an NMI (a panic on
 * another CPU stopping this one) never lands on a half-used stack. Every
 * CPU has its own TSS (its rsp0 is the kernel stack of what it runs), so
 * its own GDT to hold the descriptor.
 */
#include <stdint.h>
#include "arch/x86_64/trap.h"
#include "arch/x86_64/percpu.h"

#define IST_STACK_SIZE 16384

static uint8_t ist_double_fault[ARCH_MAX_CPUS][IST_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t ist_nmi[ARCH_MAX_CPUS][IST_STACK_SIZE] __attribute__((aligned(16)));

/* null, kernel code 0x08, kernel data 0x10, user data 0x1b, user code 0x23, TSS 0x28 */
static const uint64_t gdt_template[5] = {
	0,
	0x00af9a000000ffff,
	0x00cf92000000ffff,
	0x00cff2000000ffff,
	0x00affa000000ffff,
};

static void set_tss_descriptor(uint64_t *gdt, const struct tss *tss)
{
	uint64_t base = (uint64_t)tss, limit = sizeof(*tss) - 1;
	gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89UL << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[6] = base >> 32;
}


/* Load the running CPU's GDT and TSS (percpu_init has pointed GS at its block). */
void gdt_init(void)
{
	struct percpu *p = this_cpu();
	for (int i = 0; i < 5; i++)
		p->gdt[i] = gdt_template[i];
	p->tss.ist[0] = (uint64_t)(ist_double_fault[p->index] + IST_STACK_SIZE);
	p->tss.ist[1] = (uint64_t)(ist_nmi[p->index] + IST_STACK_SIZE);
	p->tss.iomap_base = sizeof(p->tss);
	set_tss_descriptor(p->gdt, &p->tss);
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) ptr = {
		sizeof(p->gdt) - 1, (uint64_t)p->gdt,
	};
	/* Loading a data selector into GS would clear its base: GS is left alone. */
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
