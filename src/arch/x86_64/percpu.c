/* percpu.c - one block per CPU, GS pointing at the running CPU's. */
#include <stddef.h>
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/io.h"

#define MSR_GS_BASE        0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102

_Static_assert(offsetof(struct percpu, index) == ARCH_PERCPU_INDEX, "mm/arch.h reads the index here");
_Static_assert(offsetof(struct percpu, kstack) == PERCPU_KSTACK, "user_entry.asm reads the stack here");
_Static_assert(offsetof(struct percpu, user_rsp) == PERCPU_USER_RSP, "user_entry.asm saves RSP here");

struct percpu percpu_blocks[ARCH_MAX_CPUS];

void percpu_init(unsigned index, uint32_t apic_id)
{
	struct percpu *p = &percpu_blocks[index];
	p->self = p;
	p->index = index;
	p->apic_id = apic_id;
	wrmsr(MSR_GS_BASE, (uint64_t)p);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

void cpu_set_kernel_stack(uint64_t top)
{
	struct percpu *p = this_cpu();
	p->tss.rsp[0] = top;
	p->kstack = top;
}
