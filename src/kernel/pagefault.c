/*
 * pagefault.c - the #PF glue: every page fault goes to the VMM, which
 * fills in on-demand memory or explains what was wrong (demo.c shows that
 * path working at boot).
 *
 * A fault the VMM cannot resolve is a kernel bug while there are no
 * processes, so it panics with the VMM's explanation. Once processes
 * exist, a fault from user mode (PF_U) ends that process instead.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/io.h"
#include "kernel/kernel.h"
#include "kernel/panic.h"
#include "lib/kprintf.h"
#include "mm/arch.h"
#include "mm/vmm/vmm.h"

/* The CPU's error code in the VMM's portable access bits. */
static unsigned access_of(uint64_t err)
{
	unsigned a = 0;
	if (err & PF_W)
		a |= VM_ACC_WRITE;
	if (err & PF_I)
		a |= VM_ACC_EXEC;
	if (err & PF_U)
		a |= VM_ACC_USER;
	if (err & PF_P)
		a |= VM_ACC_PRESENT;
	return a;
}

static int pf_handler(struct trap_frame *tf)
{
	uint64_t addr = read_cr2();
	struct vm_fault f;
	char why[200];
	if (tf->error_code & PF_RSVD)
		panic("page fault at %lx: a reserved bit is set in a page table (rip %lx)", addr, tf->rip);
	if (vmm_fault(vmm_current(), addr, access_of(tf->error_code), &f) == VMF_RESOLVED)
		return 1;
	vmm_fault_explain(&f, why, sizeof(why));
	panic("%s (rip %lx)", why, tf->rip);
}

/* Install the handler; call once the VMM is up (after vmm_init). */
void pagefault_init(void)
{
	trap_set_handler(VEC_PF, pf_handler);
}
