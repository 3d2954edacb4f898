/*
 * fault.c - what the kernel does when a process faults: a page fault the
 * VMM resolves (demand-zero heap, stack, bss) costs the process nothing
 * but time; any other fault, or any other CPU exception from ring 3, ends
 * that process with a KILL line that says why, and the kernel goes on.
 */
#include "proc/proc.h"
#include "lib/kprintf.h"

/* The VMM's explanation, as the reason a process dies. */
static enum strata_kill_reason reason_of(enum vm_fault_why why, uint64_t addr)
{
	bool kernel_half = addr >= VMM_USER_END;
	switch (why) {
	case VMF_NO_REGION:     return kernel_half ? KILL_KERNEL_ADDRESS : KILL_UNMAPPED;
	case VMF_USER_KERNEL:   return kernel_half ? KILL_KERNEL_ADDRESS : KILL_NO_ACCESS;
	case VMF_GUARD:         return KILL_GUARD;
	case VMF_WRITE_RO:      return KILL_WRITE_RO;
	case VMF_EXEC_NX:       return KILL_EXEC_NX;
	case VMF_NO_FRAME:      return KILL_OOM;
	case VMF_BEYOND_END:    return KILL_SIGBUS;
	case VMF_SWAP_IO:       return KILL_SWAP_IO;
	default:                return KILL_EXCEPTION;
	}
}

extern char syscall_entry[];

/*
 * A `syscall` that arrived at syscall_entry still in ring 3: this host's
 * KVM (kvm-pvm) does that, and the fetch of the kernel page faults. The
 * CPU did the rest of its work (RCX = the user's RIP, R11 = RFLAGS, RAX
 * the number), so the kernel finishes what the instruction began: the
 * call runs here, and iretq returns to the instruction after it, as
 * sysret would have (docs/processes.md).
 */
static bool syscall_stuck_in_ring3(struct trap_frame *f, uint64_t addr)
{
	if (addr != (uint64_t)syscall_entry || f->rip != addr)
		return false;
	f->rip = f->rcx;
	f->rflags = f->r11 | 0x200;
	f->cs = USER_CS, f->ss = USER_DS;
	syscall_dispatch(f);
	return true;
}

/*
 * Out of memory, nothing left to reclaim: the process with the largest
 * resident set goes. If that is another, it is marked (it dies at its next
 * chance, freeing its frames) and p gives it the CPU; true, and p's fault
 * is retried. False if p is the largest: p dies (reason=oom).
 */
static bool oom_kill_other(struct proc *p, uint64_t addr)
{
	struct proc *v = proc_oom_victim();
	if (!v || v == p)
		return false;
	kprintf("oom: pid %d (%s, %lu KiB resident) killed for pid %d's fault at 0x%lx\n", v->pid, v->name,
		(unsigned long)vmm_resident(v->space) * 4, p->pid, addr);
	proc_mark_killed(v, KILL_OOM);
	for (int i = 0; i < 4 && v->state != P_ZOMBIE && v->state != P_FREE; i++)
		sched_yield();
	if (p->kill_pending)
		proc_kill(p->kill_reason, addr, 0);
	return true;
}

void proc_user_page_fault(struct trap_frame *f, uint64_t addr, unsigned access)
{
	struct proc *p = proc_current();
	if (p && syscall_stuck_in_ring3(f, addr))
		return;
	if (!p) {
		kprintf("fault: a user-mode page fault with no process running (rip 0x%lx)\n", f->rip);
		return;
	}
	if (f->error_code & PF_RSVD)
		proc_kill(KILL_RESERVED_BIT, addr, f->rip);
	struct vm_fault vf;
	enum vm_fault_why why = vmm_fault(p->space, addr, access, &vf);
	/* No frame: reclaim a batch (to swap) and try again, while reclaim finds pages. */
	for (int tries = 0; why == VMF_NO_FRAME && tries < 8 && proc_reclaim_for_fault(); tries++)
		why = vmm_fault(p->space, addr, access, &vf);
	if (why == VMF_NO_FRAME && oom_kill_other(p, addr))
		return;                 /* the fault comes again, with the victim's frames free */
	if (why == VMF_RESOLVED) {
		proc_resident(p);
		return;
	}
	if (why == VMF_MISMATCH || why == VMF_NOT_DEMAND) {
		/* Not the program's doing: say what the VMM saw before the process goes. */
		char line[200];
		vmm_fault_explain(&vf, line, sizeof(line));
		kprintf("fault: pid %d: %s\n", p->pid, line);
	}
	proc_kill(reason_of(why, addr), addr, f->rip);
}

void proc_user_trap(struct trap_frame *f)
{
	enum strata_kill_reason r;
	switch (f->vector) {
	case VEC_DE: r = KILL_DIVIDE; break;
	case VEC_UD: case VEC_NM: r = KILL_INVALID_OP; break;
	case VEC_GP: r = KILL_GP; break;
	default: r = KILL_EXCEPTION; break;
	}
	if (r == KILL_EXCEPTION)
		kprintf("fault: pid %d: %s (vector %lu, error 0x%lx)\n", proc_current()->pid,
			trap_name(f->vector), f->vector, f->error_code);
	proc_kill(r, 0, f->rip);
}
