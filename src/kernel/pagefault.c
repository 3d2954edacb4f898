/*
 * pagefault.c - the #PF glue: every page fault goes to the VMM, which
 * fills in on-demand memory or explains what was wrong; and vmm_demo(),
 * which shows that path working at boot.
 *
 * A fault the VMM cannot resolve is a kernel bug while there are no
 * processes, so it panics with the VMM's explanation. Once processes
 * exist, a fault from user mode (PF_U) ends that process instead.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/protect.h"
#include "kernel/panic.h"
#include "lib/kprintf.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
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

#define DEMO_PAGES 32
#define URW (VM_READ | VM_WRITE | VM_USER)

/* A kernel region filled on demand by real faults, and the VGA text buffer as MMIO. */
static void demo_kernel(void)
{
	struct vm_space *k = vmm_kernel_space();
	struct vm_req big = { .len = 16 * PAGE_SIZE, .kind = VM_DEMAND, .flags = VM_READ | VM_WRITE,
			      .lo = VMM_KLARGE_BASE, .hi = VMM_KMMIO_BASE };
	struct vm_req vga = { .len = 2 * PAGE_SIZE, .kind = VM_MMIO, .flags = VM_READ | VM_WRITE,
			      .pa = 0xb8000, .cache = VM_CACHE_UC, .lo = VMM_KMMIO_BASE, .hi = VMM_KMMIO_END };
	uintptr_t va, io;
	if (vmm_alloc(k, &big, &va) || vmm_alloc(k, &vga, &io)) {
		kprintf("vmm demo: kernel regions could not be made\n");
		return;
	}
	for (unsigned i = 0; i < 16; i += 2)
		((volatile char *)va)[i * PAGE_SIZE] = 1;
	vmm_report(k, "kernel");
	vmm_free(k, io, vga.len);
	vmm_free(k, va, big.len);
}

/*
 * A process address space: an on-demand region with a guard page above
 * it, touched from the kernel with the space in CR3, so that every first
 * touch is a real #PF through pf_handler.
 */
static void demo_process(void)
{
	uint64_t free0 = pmm_free_count();
	struct vm_space *s = vmm_space_create();
	uintptr_t va;
	struct vm_req r = { .len = DEMO_PAGES * PAGE_SIZE, .kind = VM_DEMAND, .flags = URW };
	struct vm_req g = { .len = PAGE_SIZE, .kind = VM_GUARD };
	if (!s || vmm_alloc(s, &r, &va) || vmm_alloc_fixed(s, va + r.len, &g)) {
		kprintf("vmm demo: the process space could not be made\n");
		if (s)
			vmm_space_destroy(s);
		return;
	}
	vmm_switch(s);
	user_access_begin();            /* SMAP: the kernel touching user pages on purpose */
	uint64_t sum = 0;
	for (unsigned i = 0; i < DEMO_PAGES; i += 2)
		((volatile uint64_t *)(va + i * PAGE_SIZE))[0] = i;       /* write faults */
	for (unsigned i = 0; i < DEMO_PAGES; i++)
		sum += ((volatile uint64_t *)(va + i * PAGE_SIZE))[1];    /* read faults, and zeros */
	user_access_end();
	vmm_switch(vmm_kernel_space());
	kprintf("vmm demo: touched %u pages of %lx-%lx from the kernel, read back sum %lu (zeros)\n",
		DEMO_PAGES, va, va + r.len, sum);
	vmm_report(s, "demo");
	vmm_space_destroy(s);
	kprintf("VMMDEMO free_before=%lu free_after=%lu\n", free0, pmm_free_count());
}

/* mode=run: show the VMM at work (after pagefault_init). */
void vmm_demo(void)
{
	demo_kernel();
	demo_process();
}
