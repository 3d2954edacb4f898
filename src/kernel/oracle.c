/*
 * oracle.c - oracle=1 (with mode=run): every leaf mapping of an address
 * space as the kernel's tables hold it, printed while the CPU sits in
 * that space, so that a harness can ask QEMU's monitor what the MMU sees
 * there (`info tlb`, `info mem`) and compare (tests/oracle/, docs/oracle.md).
 *
 * Three spaces in turn, each one printed, announced and waited in:
 *
 *   ORACLE map va=<hex> pa=<hex> size=<hex> page=<hex> flags=<rwxug> cache=<wb|wt|uc|wc>
 *   ...
 *   ORACLE ready space=kernel cr3=<hex> levels=4 maps=<lines>
 *     (the harness reads the monitor, then sends a byte on COM1)
 *   ORACLE go space=kernel
 *
 * then the same for space=process (one the VMM builds with a page of each
 * kind) and space=program (a program spawn loaded from the file system),
 * and `ORACLE done`; then mode=run goes on.
 * A map line is a run of leaves of one page size and one set of flags,
 * contiguous in va and in pa; flags are r, w, x, u (user) and g (global),
 * '-' where absent.
 */
#include "kernel/kernel.h"
#include "kernel/cmdline.h"
#include "kernel/tsc.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/protect.h"
#include "lib/kprintf.h"
#include "mm/arch.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"
#include "proc/proc.h"

#define COM1_DATA 0x3f8
#define COM1_LSR  0x3fd
#define LSR_DATA_READY 0x01
#define WAIT_SECONDS 60         /* no harness answering: go on rather than hang */

struct run {
	va_t va;
	pa_t pa;
	size_t size, page;
	unsigned flags;
	unsigned lines;
};

static void run_print(struct run *r)
{
	if (!r->size)
		return;
	unsigned f = r->flags;
	kprintf("ORACLE map va=%lx pa=%lx size=%lx page=%lx flags=r%c%c%c%c cache=%s\n",
		r->va, r->pa, r->size, r->page, f & PG_WRITE ? 'w' : '-', f & PG_EXEC ? 'x' : '-',
		f & PG_USER ? 'u' : '-', f & PG_GLOBAL ? 'g' : '-', pg_cache_name(f));
	r->lines++;
}

/* pg_walk's callback: extend the run, or print it and start another. */
static void run_add(va_t va, pa_t pa, size_t size, unsigned flags, void *arg)
{
	struct run *r = arg;
	if (r->size && va == r->va + r->size && pa == r->pa + r->size && size == r->page &&
	    flags == r->flags) {
		r->size += size;
		return;
	}
	run_print(r);
	r->va = va, r->pa = pa, r->size = size, r->page = size, r->flags = flags;
}

/* Every leaf of root, both halves, as map lines; returns how many lines. */
static unsigned dump_leaves(pg_root_t root)
{
	struct run r = { 0 };
	pg_walk(root, 0, 0, run_add, &r);
	run_print(&r);
	r.size = 0;
	pg_walk(root, PG_HHDM_BASE, 0, run_add, &r);
	run_print(&r);
	return r.lines;
}

/* A byte on COM1, or give up after WAIT_SECONDS: polled, the UART has no interrupt here. */
static bool wait_for_byte(void)
{
	uint64_t limit = arch_rdtsc() + tsc_khz() * 1000 * WAIT_SECONDS;
	while (arch_rdtsc() < limit) {
		if (inb(COM1_LSR) & LSR_DATA_READY) {
			(void)inb(COM1_DATA);
			return true;
		}
		__asm__ volatile("pause");
	}
	return false;
}

/* Print s's leaves with s in CR3, then stay in it until the harness has looked. */
static void show_space(struct vm_space *s, const char *name)
{
	vmm_switch(s);
	pg_root_t root = vmm_space_root(s);
	unsigned n = dump_leaves(root);
	kprintf("ORACLE ready space=%s cr3=%lx levels=%u maps=%u\n", name, pg_current_root(),
		paging_features()->levels, n);
	bool answered = wait_for_byte();
	kprintf("ORACLE go space=%s%s\n", name, answered ? "" : " (no answer: timed out)");
}

/*
 * A process space with pages of each kind the tables can hold: user
 * read-write, read-only and read-execute anonymous pages; a part made
 * read-only afterwards (a split region); demand pages, some faulted in by
 * real #PFs; a page for the kernel only (PROT_NONE); a guard page; MMIO
 * write-through and uncached 4 KiB pages (the VGA window) and a 2 MiB
 * write-combining page (above RAM). Returns NULL if it could not be made.
 */
static struct vm_space *process_space(void)
{
	const unsigned u = VM_READ | VM_USER;
	struct vm_req reqs[] = {
		{ .len = 4 * PAGE_SIZE, .kind = VM_ANON, .flags = u | VM_WRITE },
		{ .len = 2 * PAGE_SIZE, .kind = VM_ANON, .flags = u },
		{ .len = 2 * PAGE_SIZE, .kind = VM_ANON, .flags = u | VM_EXEC },
		{ .len = 8 * PAGE_SIZE, .kind = VM_DEMAND, .flags = u | VM_WRITE },
		{ .len = PAGE_SIZE, .kind = VM_GUARD },
		{ .len = PAGE_SIZE, .kind = VM_ANON, .flags = VM_READ },
		{ .len = PAGE_SIZE, .kind = VM_MMIO, .flags = u | VM_WRITE, .pa = 0xb8000, .cache = VM_CACHE_WT },
		{ .len = PAGE_SIZE, .kind = VM_MMIO, .flags = u, .pa = 0xb9000, .cache = VM_CACHE_UC },
		{ .len = PG_SIZE_2MIB, .align = PG_SIZE_2MIB, .kind = VM_MMIO, .flags = u | VM_WRITE,
		  .pa = 0xfd000000, .cache = VM_CACHE_WC },
	};
	va_t va[sizeof(reqs) / sizeof(reqs[0])];
	struct vm_space *s = vmm_space_create();
	if (!s)
		return NULL;
	for (unsigned i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		if (vmm_alloc(s, &reqs[i], &va[i])) {
			kprintf("oracle: region %u of the process space could not be made\n", i);
			vmm_space_destroy(s);
			return NULL;
		}
	if (vmm_protect(s, va[0] + PAGE_SIZE, PAGE_SIZE, u)) {
		kprintf("oracle: vmm_protect failed\n");
		vmm_space_destroy(s);
		return NULL;
	}
	vmm_switch(s);
	user_access_begin();            /* SMAP: the kernel touching user pages on purpose */
	((volatile char *)va[3])[0] = 1;                        /* a write fault */
	((volatile char *)va[3])[5 * PAGE_SIZE] = 1;
	(void)((volatile char *)va[3])[2 * PAGE_SIZE];          /* a read fault */
	user_access_end();
	vmm_switch(vmm_kernel_space());
	return s;
}

/*
 * A real program's space, as spawn leaves it before its first instruction:
 * its ELF segments from the file system, its stack and guard. Shown, then
 * the program runs to its end (exit 0) and is reaped.
 */
static void show_program(void)
{
	char *argv[] = { "/bin/exitcode", "0", NULL };
	int pid = proc_spawn(argv[0], 2, argv, NULL);
	if (pid < 0) {
		kprintf("oracle: %s could not be spawned (%d)\n", argv[0], pid);
		return;
	}
	show_space(proc_by_pid(pid)->space, "program");
	vmm_switch(vmm_kernel_space());
	proc_run(pid, 10 * PROC_HZ);
}

/* oracle=1: see the top of the file. Returns at once without the option. */
void oracle_run(void)
{
	if (cmdline_int("oracle", 0) != 1)
		return;
	show_space(vmm_kernel_space(), "kernel");
	struct vm_space *s = process_space();
	if (s) {
		show_space(s, "process");
		vmm_switch(vmm_kernel_space());
		vmm_space_destroy(s);
	}
	show_program();
	kprintf("ORACLE done%s\n", s ? "" : " (no process space)");
}
