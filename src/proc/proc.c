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
#include "mm/slab/slab.h"
#include "fs/fs.h"

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

/* fs_copy_fn for a kernel buffer. */
static int kcopy(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	return 0;
}

/*
 * A program's file, read whole from the file system into a buffer of the
 * heap that *f describes (kfree(f->data) after): 0, -ENOENT, -ENOEXEC
 * (larger than PROGRAM_MAX), -ENOMEM, -EINVAL (a bad path).
 */
#define PROGRAM_MAX (16UL << 20)
static int program_read(const char *path, struct initrd_file *f)
{
	struct inode *ino;
	ksnprintf(f->path, sizeof(f->path), "%s%s", path[0] == '/' ? "" : "/", path);
	int e = fs_open(f->path, false, false, &ino);
	if (e)
		return e == -EINVAL ? -ENOENT : e;      /* a name no file can have: as execve says it */
	uint64_t size = fs_size(ino);
	uint8_t *buf = size <= PROGRAM_MAX ? kmalloc(size ? size : 1) : NULL;
	long n = buf ? fs_read(ino, 0, buf, size, kcopy) : 0;
	fs_put(ino);
	if (!buf || n != (long)size) {
		kfree(buf);
		return size > PROGRAM_MAX ? -ENOEXEC : n < 0 ? (int)n : -ENOMEM;
	}
	f->data = buf, f->size = size;
	return 0;
}

/* A new space holding the program at path, laid out with its arguments: 0 and *out, or an error. */
static int program_space(const char *path, unsigned argc, char *const argv[], struct vm_space **out,
			 struct exec_info *ex)
{
	struct initrd_file f;
	int e = program_read(path, &f);
	if (e)
		return e;
	struct vm_space *s = vmm_space_create();
	e = s ? exec_load(s, path, &f, argc, argv, ex) : -ENOMEM;
	kfree((void *)f.data);
	if (e && s)
		vmm_space_destroy(s);
	*out = e ? NULL : s;
	return e;
}

int proc_spawn(const char *path, unsigned argc, char *const argv[], struct proc *parent)
{
	struct proc *p = slot_alloc();
	if (!p)
		return -EAGAIN;
	*p = (struct proc){ .state = P_FREE };
	struct vm_space *s;
	struct exec_info ex;
	int e = program_space(path, argc, argv, &s, &ex);
	if (e)
		return e;
	if ((e = proc_kstack_alloc(p))) {
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

/* ---- exec ------------------------------------------------------------------- */

/*
 * Replace p's program by path's: a new space is laid out first, so any
 * error leaves p running its old program with its old memory. Then p runs
 * in the new one, the old one goes, and f is set to enter the program as
 * spawn would (every register zero but the stack pointer). Open files
 * stay open.
 */
int proc_exec(struct proc *p, const char *path, unsigned argc, char *const argv[], struct trap_frame *f)
{
	struct vm_space *s, *old = p->space;
	struct exec_info ex;
	int e = program_space(path, argc, argv, &s, &ex);
	if (e)
		return e;
	struct vm_stats st;
	vmm_stats(old, &st);
	p->old_faults += st.faults;
	vmm_switch(s);
	p->space = s;
	vmm_space_destroy(old);
	set_name(p, path);
	p->brk_base = p->brk = ex.brk_base;
	p->peak = 0;
	proc_resident(p);
	*f = (struct trap_frame){ .rip = ex.entry, .cs = f->cs, .rflags = 0x202, .rsp = ex.sp, .ss = f->ss };
	return 0;
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
	files_fork(parent, p);
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
	p->faults = p->old_faults + st.faults;
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
	files_close_all(p);
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
	kprintf("  %5s %5s %-10s %-16s %12s %10s %10s %10s %6s %10s\n", "pid", "ppid", "state", "name",
		"resident", "peak", "shared", "object", "copied", "swapped");
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = &procs[i];
		struct vm_stats st = { 0 };
		if (p->state == P_FREE)
			continue;
		uint64_t r = p->space ? proc_resident(p) : 0, swapped = 0;
		if (p->space) {
			vmm_stats(p->space, &st);
			swapped = vmm_swapped(p->space);
		}
		/* shared: copy-on-write pages held elsewhere too (another process, a file's page cache);
		 * object: pages of shared memory and MAP_SHARED files; swapped: its pages in swap now */
		kprintf("  %5d %5d %-10s %-16s %9lu KiB %6lu KiB %6lu KiB %6lu KiB %6lu %6lu KiB\n", p->pid,
			p->parent ? p->parent->pid : 0, state_name[p->state], p->name, r * 4, p->peak * 4,
			st.shared * 4, st.object_pages * 4, st.cow_copied, swapped * 4);
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
	int files = fs_init(rd);
	struct fs_stats st;
	fs_stats(&st);
	if (files < 0)
		kprintf("fs: the ramdisk's files could not all be copied in (%d)\n", files);
	kprintf("fs: %lu files, %lu KiB in the page cache\n", st.files, st.pages * 4);
	syscall_init();
	irq_init();
	irq_set_handler(0, sched_tick);
	trap_set_user_hooks(proc_user_trap, sched_user_return);
	pit_start(PROC_HZ);
}
