/*
 * syscall.c - system calls: the table, and the calls that are not about
 * memory (those are in usermem.c). Numbers, arguments and errors are
 * src/abi/syscall.h's, shared with user/.
 *
 * syscall_entry (user_entry.asm) hands over the whole user frame. The
 * result goes back in RAX; RCX and R11 are set to the RIP and RFLAGS that
 * sysret will load, and a RIP outside the user half (which sysret would
 * fault on in ring 0) ends the process instead.
 */
#include "proc/proc.h"
#include "proc/uaccess.h"
#include "abi/syscall.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "mm/buddy/buddy.h"
#include "mm/slab/slab.h"
#include "kernel/tsc.h"
#include "mm/swap/swap.h"

/* ---- write: the console ------------------------------------------------- */

/* A test program's lines sit inside its case of the user suite: 8 spaces in. */
void proc_write_console(struct proc *p, const char *buf, size_t len)
{
	char line[256 + 9];
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (p->nest && p->line_start) {
			memcpy(line + n, "        ", 8);
			n += 8;
		}
		line[n++] = buf[i];
		p->line_start = buf[i] == '\n';
		if (n >= sizeof(line) - 9) {
			line[n] = '\0';
			kprintf("%s", line);
			n = 0;
		}
	}
	line[n] = '\0';
	if (n)
		kprintf("%s", line);
}

static long sys_write(uint64_t fd, uint64_t buf, uint64_t len)
{
	char chunk[256];
	if (fd != 1 && fd != 2)
		return file_write(fd, buf, len);
	if (!user_range_ok(buf, len))
		return -EFAULT;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
		if (copy_from_user(chunk, buf + done, n))
			return done ? (long)done : -EFAULT;
		proc_write_console(proc_current(), chunk, n);
		done += n;
	}
	return (long)len;
}

/* ---- processes ------------------------------------------------------------------ */

static long sys_exit(uint64_t status)
{
	proc_exit((int)(status & 0xff));
}

static long sys_getpid(void) { return proc_current()->pid; }

static long sys_yield(void)
{
	sched_yield();
	return 0;
}

/* argv from user memory into one kernel buffer: the strings, then argc pointers to them. */
struct spawn_args {
	char path[STRATA_PATH_MAX + 1];
	char strings[STRATA_ARG_MAX];
	char *argv[STRATA_ARGC_MAX + 1];
	unsigned argc;
};

static long copy_argv(struct spawn_args *a, uint64_t uargv)
{
	size_t used = 0;
	if (!uargv) {
		a->argv[0] = a->path, a->argc = 1;
		return 0;
	}
	for (a->argc = 0;; a->argc++) {
		uint64_t ptr;
		if (copy_from_user(&ptr, uargv + a->argc * 8, 8))
			return -EFAULT;
		if (!ptr)
			return 0;
		if (a->argc == STRATA_ARGC_MAX || used == sizeof(a->strings))
			return -E2BIG;
		long n = copy_string_from_user(a->strings + used, ptr, sizeof(a->strings) - used);
		if (n == -ENAMETOOLONG)
			return -E2BIG;
		if (n < 0)
			return n;
		a->argv[a->argc] = a->strings + used;
		used += n + 1;
	}
}

/* spawn's and exec's path and argv, copied into a new spawn_args (the caller kfrees it): 0, or an errno. */
static long spawn_args_in(uint64_t upath, uint64_t uargv, struct spawn_args **out)
{
	struct spawn_args *a = kmalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	long r = copy_string_from_user(a->path, upath, sizeof(a->path));
	if (r >= 0)
		r = copy_argv(a, uargv);
	if (r < 0) {
		kfree(a);
		return r;
	}
	*out = a;
	return 0;
}

static long sys_spawn(uint64_t upath, uint64_t uargv)
{
	struct spawn_args *a;
	long r = spawn_args_in(upath, uargv, &a);
	if (r)
		return r;
	r = proc_spawn(a->path, a->argc, a->argv, proc_current());
	kfree(a);
	return r;
}

static long sys_exec(uint64_t upath, uint64_t uargv, struct trap_frame *f)
{
	struct spawn_args *a;
	long r = spawn_args_in(upath, uargv, &a);
	if (r)
		return r;
	r = proc_exec(proc_current(), a->path, a->argc, a->argv, f);
	kfree(a);
	return r;
}

static struct proc *find_child(struct proc *parent, long pid, bool zombie)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *c = proc_slot(i);
		if (c->state != P_FREE && c->parent == parent && (pid == -1 || c->pid == pid) &&
		    (!zombie || c->state == P_ZOMBIE))
			return c;
	}
	return NULL;
}

static long sys_wait(uint64_t pid, uint64_t ustatus)
{
	struct proc *p = proc_current();
	long want = (long)pid;
	if (want < -1 || want == 0)
		return -ECHILD;
	for (;;) {
		if (!find_child(p, want, false))
			return -ECHILD;
		struct proc *c = find_child(p, want, true);
		if (c) {
			int status = c->status;
			if (ustatus && copy_to_user(ustatus, &status, sizeof(status)))
				return -EFAULT;         /* the child stays, to be waited for again */
			long got = c->pid;
			proc_reap(c);
			return got;
		}
		p->state = P_WAITING;
		p->wait_for = want;
		sched_block();
		if (p->kill_pending)
			proc_kill(p->kill_reason, 0, 0);
	}
}

static long sys_meminfo(uint64_t uout)
{
	struct proc *p = proc_current();
	struct vm_stats st;
	struct pmm_stats ps;
	struct swap_stats sw;
	vmm_stats(p->space, &st);
	pmm_get_stats(&ps);
	swap_stats(&sw);
	struct strata_meminfo m = {
		.resident_kib = proc_resident(p) * 4, .peak_kib = p->peak * 4,
		.faults = st.faults, .limit_kib = PROC_LIMIT_KIB,
		.committed_kib = usermem_committed(p->space) / 1024, .brk = p->brk,
		.free_kib = pmm_free_count() * 4, .total_kib = ps.total_pages * 4,
		.processes = proc_count(), .tsc_khz = tsc_khz(),
		.shared_kib = st.shared * 4, .cow_copied = st.cow_copied, .cow_reused = st.cow_reused,
		.swap_kib = sw.pages * 4, .swap_used_kib = sw.used * 4, .swap_out = sw.out, .swap_in = sw.in, .swap_errors = sw.errors,
		.swap_clean = sw.clean, .swap_kept_kib = sw.kept * 4,
		.swapped_kib = st.swapped * 4,
	};
	return copy_to_user(uout, &m, sizeof(m));
}

/* ---- dispatch ------------------------------------------------------------------------ */

/* One case a call: each takes the arguments it has, as their own types say. */
static long call(uint64_t n, struct trap_frame *f)
{
	switch (n) {
	case SYS_exit:     return sys_exit(f->rdi);
	case SYS_write:    return sys_write(f->rdi, f->rsi, f->rdx);
	case SYS_getpid:   return sys_getpid();
	case SYS_yield:    return sys_yield();
	case SYS_spawn:    return sys_spawn(f->rdi, f->rsi);
	case SYS_wait:     return sys_wait(f->rdi, f->rsi);
	case SYS_mmap:     return sys_mmap(f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9);
	case SYS_munmap:   return sys_munmap(f->rdi, f->rsi);
	case SYS_mprotect: return sys_mprotect(f->rdi, f->rsi, f->rdx);
	case SYS_brk:      return sys_brk(f->rdi);
	case SYS_meminfo:  return sys_meminfo(f->rdi);
	case SYS_ps:       proc_list(); return 0;
	case SYS_fork:     return proc_fork(proc_current(), f);
	case SYS_open:     return sys_open(f->rdi, f->rsi);
	case SYS_close:    return sys_close(f->rdi);
	case SYS_read:     return sys_read(f->rdi, f->rsi, f->rdx);
	case SYS_lseek:    return sys_lseek(f->rdi, f->rsi, f->rdx);
	case SYS_ftruncate: return sys_ftruncate(f->rdi, f->rsi);
	case SYS_unlink:   return sys_unlink(f->rdi);
	case SYS_msync:    return sys_msync(f->rdi, f->rsi, f->rdx);
	case SYS_exec:     return sys_exec(f->rdi, f->rsi, f);
	default:           return -ENOSYS;
	}
}

/* The flags a program may keep across sysret: the arithmetic ones, DF and TF; IF always on. */
#define USER_RFLAGS_KEPT 0xdd5UL
#define RFLAGS_IF 0x200UL

void syscall_dispatch(struct trap_frame *f)
{
	uint64_t n = f->rax;
	f->rax = (uint64_t)call(n, f);
	struct proc *p = proc_current();
	if (p->kill_pending)
		proc_kill(p->kill_reason, 0, f->rip);
	if (f->rip >= VMM_USER_END)
		proc_kill(KILL_EXCEPTION, f->rip, f->rip);
	f->rcx = f->rip;
	f->r11 = (f->rflags & USER_RFLAGS_KEPT) | RFLAGS_IF;
}
