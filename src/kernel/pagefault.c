/*
 * pagefault.c - the #PF glue: every page fault goes to the VMM, which
 * fills in on-demand memory or explains what was wrong (demo.c shows that
 * path working at boot).
 *
 * A fault from user mode (PF_U) is the process layer's: resolved, or the
 * process is killed (src/proc/fault.c). A kernel fault at a user address
 * during copy_from_user/copy_to_user is judged with the process's rights
 * and, if the VMM cannot resolve it, makes the copy return -EFAULT. Any
 * other fault the VMM cannot resolve is a kernel bug: it panics with the
 * VMM's explanation.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/io.h"
#include "kernel/kernel.h"
#include "kernel/panic.h"
#include "lib/kprintf.h"
#include "mm/arch.h"
#include "mm/vmm/vmm.h"
#include "proc/proc.h"
#include "proc/uaccess.h"

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
	if (tf->error_code & PF_U) {
		proc_user_page_fault(tf, addr, access_of(tf->error_code));
		return 1;
	}
	if (addr < VMM_USER_END && uaccess_active()) {
		struct proc *p = proc_current();
		if (p && !(tf->error_code & PF_RSVD) &&
		    vmm_fault(p->space, addr, access_of(tf->error_code) | VM_ACC_USER, NULL) == VMF_RESOLVED) {
			proc_resident(p);
			return 1;
		}
		uaccess_fault(addr);    /* does not return */
	}
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
