/*
 * percpu.h - what each CPU keeps for itself, reached through GS.
 *
 * In the kernel, IA32_GS_BASE holds the address of the running CPU's
 * struct percpu, whose first word points at itself; so %gs:0 is "this
 * CPU" and %gs:8 its index, one load each (mm/arch.h's arch_cpu_index).
 * In ring 3 GS belongs to the program: every way in from ring 3 swaps
 * the two bases (swapgs) and every way out swaps them back, so a program
 * that loads GS changes only its own.
 *
 * The first four fields are read by assembly (user_entry.asm) at fixed
 * offsets; the static asserts in percpu.c pin them.
 */
#ifndef STRATA_ARCH_PERCPU_H
#define STRATA_ARCH_PERCPU_H

#include <stdbool.h>
#include <stdint.h>
#include "mm/arch.h"

#define PERCPU_KSTACK   16
#define PERCPU_USER_RSP 24

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct percpu {
	struct percpu *self;            /* %gs:0 */
	uint32_t index;                 /* %gs:8, ARCH_PERCPU_INDEX */
	uint32_t apic_id;
	uint64_t kstack;                /* %gs:16: where syscall_entry moves RSP */
	uint64_t user_rsp;              /* %gs:24: the user's RSP while it does */
	uint64_t gdt[7];                /* gdt.c: this CPU's GDT, its TSS descriptor */
	struct tss tss;
	uint64_t stack_top;             /* the CPU's boot stack (the BSP's is boot.asm's) */
	volatile bool online;           /* set by the CPU itself once it runs C with its tables */
};

extern struct percpu percpu_blocks[ARCH_MAX_CPUS];

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/* Point GS at block index (and the user's base, for the first swapgs, at 0). */
void percpu_init(unsigned index, uint32_t apic_id);

/* arch smp.c: this CPU joins the online mask; the IPI vectors' handlers. */
void smp_mark_online(unsigned cpu);
void smp_ipi_init(void);
extern uint64_t smp_flushes_done[ARCH_MAX_CPUS];

/* The stack interrupts and system calls from ring 3 start on, on this CPU. */
void cpu_set_kernel_stack(uint64_t top);

#endif
