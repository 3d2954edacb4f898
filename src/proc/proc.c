/*
 * proc.c - the process table: spawn, exit, kill, reap.
 *
 * The table is a fixed array (PROC_MAX slots) so that creating a process
 * takes no heap object that could leak; what a process owns lives in its
 * address space (every user frame, table and region node) and in its
 * kernel stack (a region of the kernel's space). Exit gives back the space
 * at once; the kernel stack goes at reap, when the process no longer runs
 * on it.
 */
#include "proc/proc.h"
#include "kernel/kernel.h"
#include "abi/syscall.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"

static struct proc procs[PROC_MAX];
static int next_pid = 1;
static struct initrd ramdisk;

const struct initrd *proc_initrd(void) { return &ramdisk; }

struct proc *proc_by_pid(int pid)
{
	for (unsigned i = 0; i < PROC_MAX; i++)
		if (procs[i].state != P_FREE && procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

struct proc *proc_slot(unsigned i) { return i < PROC_MAX ? &procs[i] : NULL; }

/* ---- kernel stacks (kernel/kstack.c) ------------------------------------ */

static int proc_kstack_alloc(struct proc *p)
{
	va_t va = kstack_alloc(PROC_KSTACK_SIZE);
	if (!va)
		return -ENOMEM;
	p->kstack = va;
	p->kstack_top = va + PAGE_SIZE + PROC_KSTACK_SIZE;
	return 0;
}

static void proc_kstack_free(struct proc *p)
{
	kstack_free(p->kstack, PROC_KSTACK_SIZE);
	p->kstack = p->kstack_top = 0;
}

/* ---- spawn ------------------------------------------------------------------ */

static void set_name(struct proc *p, const char *path)
{
	const char *base = path;
	for (const char *c = path; *c; c++)
		if (*c == '/' && c[1])
			base = c + 1;
	size_t n = strlen(base);
	if (n >= PROC_NAME_MAX)
		n = PROC_NAME_MAX - 1;
	memcpy(p->name, base, n);
	p->name[n] = '\0';
}

static struct proc *slot_alloc(void)
{
	for (unsigned i = 0; i < PROC_MAX; i++)
		if (procs[i].state == P_FREE)
			return &procs[i];
	return NULL;
}

int proc_spawn(const char *path, unsigned argc, char *const argv[], struct proc *parent)
{
	struct initrd_file f;
	if (!initrd_find(&ramdisk, path, &f))
		return -ENOENT;
	struct proc *p = slot_alloc();
	if (!p)
		return -EAGAIN;
	*p = (struct proc){ .state = P_FREE };
	struct vm_space *s = vmm_space_create();
	if (!s)
		return -ENOMEM;
	struct exec_info ex;
	int e = exec_load(s, path, &f, argc, argv, &ex);
	if (!e)
		e = proc_kstack_alloc(p);
	if (e) {
		vmm_space_destroy(s);
		return e;
	}
	p->space = s;
	p->pid = next_pid++;
	set_name(p, path);
	p->parent = parent;
	p->kernel_reaps = !parent;
	p->brk_base = p->brk = ex.brk_base;
	p->nest = parent ? parent->nest : false;
	p->line_start = true;
	proc_resident(p);
	sched_prepare(p, ex.entry, ex.sp);
	p->state = P_RUNNABLE;
	return p->pid;
}

/* ---- fork ------------------------------------------------------------------- */

/* The flags a program keeps across a system call (syscall.c keeps the same): IF always on. */
#define FORK_RFLAGS_KEPT 0xdd5UL

int proc_fork(struct proc *parent, const struct trap_frame *f)
{
	struct proc *p = slot_alloc();
	struct vm_space *s;
	uint64_t shared = 0;
	if (!p)
		return -EAGAIN;
	*p = (struct proc){ .state = P_FREE };
	if (vmm_fork(parent->space, &s, &shared))
		return -ENOMEM;
	if (proc_kstack_alloc(p)) {
		vmm_space_destroy(s);
		return -ENOMEM;
	}
	p->space = s;
	p->pid = next_pid++;
	memcpy(p->name, parent->name, sizeof(p->name));
	p->parent = parent;
	p->brk_base = parent->brk_base, p->brk = parent->brk;
	p->nest = parent->nest;
	p->deadline = parent->deadline;        /* a runaway's children die with it */
	p->line_start = true;
	proc_resident(p);
	/* The child returns from the same `syscall`, as sysret would: RCX, R11 set, RAX 0. */
	struct trap_frame cf = *f;
	cf.rax = 0;
	cf.rflags = (f->rflags & FORK_RFLAGS_KEPT) | 0x200;
	cf.rcx = cf.rip, cf.r11 = cf.rflags;
	sched_prepare_frame(p, &cf);
	p->state = P_RUNNABLE;
	kprintf("FORK pid=%d child=%d shared=%llu copied=0\n", parent->pid, p->pid,
		(unsigned long long)shared);
	return p->pid;
}

uint64_t proc_resident(struct proc *p)
{
	uint64_t r = p->space ? vmm_resident(p->space) : 0;
	if (r > p->peak)
		p->peak = r;
	return r;
}

/* ---- exit, kill, reap ---------------------------------------------------------- */

/* Free what remains of a zombie: its kernel stack and its slot. */
void proc_reap(struct proc *p)
{
	proc_kstack_free(p);
	p->state = P_FREE;
}

/* Children of an ending process belong to the kernel now; it reaps those already ended. */
static void orphan_children(struct proc *p)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *c = &procs[i];
		if (c->state == P_FREE || c->parent != p)
			continue;
		c->parent = NULL;
		if (c->state == P_ZOMBIE && !c->kernel_reaps)
			proc_reap(c);
	}
}

static void wake_parent(struct proc *p)
{
	struct proc *w = p->parent;
	if (w && w->state == P_WAITING && (w->wait_for == -1 || w->wait_for == p->pid))
		w->state = P_RUNNABLE;
}

void proc_exit(int status)
{
	struct proc *p = proc_current();
	struct vm_stats st;
	uint64_t resident = proc_resident(p);
	vmm_stats(p->space, &st);
	p->faults = st.faults;
	char code[16];
	if (status >> 8)
		ksnprintf(code, sizeof(code), "killed");
	else
		ksnprintf(code, sizeof(code), "%d", status & 0xff);
	kprintf("PROC pid=%d name=%s exit=%s resident_kib=%lu peak_kib=%lu faults=%lu\n",
		p->pid, p->name, code, resident * 4, p->peak * 4, p->faults);
	/* The space cannot be destroyed while it is in CR3. */
	vmm_switch(vmm_kernel_space());
	vmm_space_destroy(p->space);
	p->space = NULL;
	orphan_children(p);
	p->status = status;
	p->state = P_ZOMBIE;
	wake_parent(p);
	sched_block();
	for (;;)
		;       /* a zombie is never run again */
}

#define KILL_NAME_(name, num, text) [num] = text,
static const char *const kill_names[] = { [0] = "none", STRATA_KILL_REASONS(KILL_NAME_) };
#undef KILL_NAME_

const char *proc_kill_name(unsigned why)
{
	return why < sizeof(kill_names) / sizeof(kill_names[0]) && kill_names[why] ? kill_names[why] : "?";
}

void proc_kill(enum strata_kill_reason why, uint64_t addr, uint64_t rip)
{
	struct proc *p = proc_current();
	kprintf("KILL pid=%d name=%s addr=0x%lx rip=0x%lx reason=%s\n", p->pid, p->name, addr, rip,
		proc_kill_name(why));
	proc_exit((int)why << 8);
}

/* ---- the kernel's children ------------------------------------------------------- */

/* Processes whose parent ended first (a fork's child outliving its parent). */
static bool orphans_live(void)
{
	for (unsigned i = 0; i < PROC_MAX; i++)
		if (procs[i].state != P_FREE && !procs[i].parent && !procs[i].kernel_reaps)
			return true;
	return false;
}

/* The kernel's child has ended and so has every process it left behind. */
static bool ended(void *arg)
{
	struct proc *p = arg;
	return p->state == P_ZOMBIE && !orphans_live();
}

int proc_run(int pid, uint64_t timeout_ticks)
{
	struct proc *p = proc_by_pid(pid);
	if (!p || !p->kernel_reaps)
		return -ECHILD;
	if (timeout_ticks)
		p->deadline = proc_ticks() + timeout_ticks;
	sched_loop(ended, p);
	int status = p->status;
	proc_reap(p);
	return status;
}

static const char *const state_name[] = {
	[P_FREE] = "free", [P_RUNNABLE] = "runnable", [P_RUNNING] = "running",
	[P_WAITING] = "waiting", [P_ZOMBIE] = "zombie",
};

void proc_list(void)
{
	kprintf("  %5s %5s %-10s %-16s %12s %10s\n", "pid", "ppid", "state", "name", "resident", "peak");
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = &procs[i];
		if (p->state == P_FREE)
			continue;
		uint64_t r = p->space ? proc_resident(p) : 0;
		kprintf("  %5d %5d %-10s %-16s %9lu KiB %6lu KiB\n", p->pid, p->parent ? p->parent->pid : 0,
			state_name[p->state], p->name, r * 4, p->peak * 4);
	}
}

unsigned proc_count(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < PROC_MAX; i++)
		n += procs[i].state != P_FREE;
	return n;
}

void proc_init(const struct initrd *rd)
{
	ramdisk = *rd;
	syscall_init();
	irq_init();
	irq_set_handler(0, sched_tick);
	trap_set_user_hooks(proc_user_trap, sched_user_return);
	pit_start(PROC_HZ);
}
