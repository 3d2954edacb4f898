/*
 * proc.h - processes: programs from the ramdisk running in ring 3, each in
 * an address space of its own, and the scheduler that takes turns between
 * them. docs/processes.md explains the design.
 *
 * A process is a VMM address space (its lower half its own, the kernel
 * half shared), a kernel stack with a guard page below it, and a slot in
 * a fixed table. It is created by spawn (from the kernel or another
 * process), runs until it calls exit or the kernel kills it for a fault
 * it cannot resolve, and is reaped by its parent's wait (or by the kernel
 * if it has none): only then is its kernel stack freed, so that every
 * frame it held is back in the buddy once wait returns.
 *
 * One CPU runs processes for now: the scheduler runs on the boot stack,
 * processes switch to it and it switches to the next runnable one, round
 * robin, on yield, wait, exit or the timer (a quantum of PROC_QUANTUM
 * ticks); with nothing to run it halts until the next interrupt. The
 * kernel itself is not preempted: system calls run with interrupts off.
 */
#ifndef STRATA_PROC_PROC_H
#define STRATA_PROC_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/vmm/vmm.h"
#include "arch/x86_64/trap.h"
#include "proc/initrd.h"
#include "abi/syscall.h"

#define PROC_MAX         64             /* live processes, zombies included */
#define PROC_KSTACK_SIZE (16 * 1024)    /* the kernel stack; a guard page lies below it */
#define PROC_NAME_MAX    32
#define PROC_LIMIT_KIB   (32 * 1024)    /* each process's memory limit (meminfo.limit_kib) */
#define PROC_HZ          100            /* timer ticks a second */
#define PROC_QUANTUM     2              /* ticks a process runs before the next one's turn */

enum proc_state { P_FREE, P_RUNNABLE, P_RUNNING, P_WAITING, P_ZOMBIE };

struct proc {
	int pid;
	enum proc_state state;
	char name[PROC_NAME_MAX];       /* the program's file name, without its directory */
	struct vm_space *space;
	va_t kstack;                    /* the guard page; the stack is the PROC_KSTACK_SIZE above */
	uint64_t kstack_top;
	uint64_t ctx;                   /* the kernel RSP while switched out (swtch) */
	struct proc *parent;            /* NULL: the kernel's */
	bool kernel_reaps;              /* spawned by the kernel: proc_run reaps it */
	int status;                     /* wait()'s status, once a zombie */
	long wait_for;                  /* P_WAITING: the pid waited for, or -1 */
	va_t brk_base, brk;             /* the program break: [brk_base, page_up(brk)) is mapped */
	uint64_t peak;                  /* the most pages resident at once */
	uint64_t faults;                /* faults counted at exit (the space is gone after) */
	uint64_t old_faults;            /* faults of the spaces exec replaced */
	uint64_t deadline;              /* the tick at which it is killed (KILL_TIMEOUT); 0: never */
	bool kill_pending;              /* killed (the timer, oom): ends on its way back to ring 3 */
	uint8_t kill_reason;            /* ... with this reason (KILL_TIMEOUT, KILL_OOM) */
	bool nest;                      /* indent its output: a test program under KTAP */
	bool line_start;                /* its next byte of output starts a line */
	struct file *files[STRATA_OPEN_MAX];    /* open files by descriptor (file.c); 0-2 are the console */
};

/* The ramdisk GRUB loaded (the module named "initrd"), and the system calls' set-up. */
void proc_init(const struct initrd *rd);
const struct initrd *proc_initrd(void);

/* The process running now, or NULL in the scheduler. */
struct proc *proc_current(void);

/*
 * A process from the ramdisk: path, argv (argc strings, kernel memory),
 * child of parent (NULL: the kernel's). Returns its pid, or a negated
 * errno: -ENOENT, -ENOEXEC (the console says what is wrong with the
 * ELF), -ENOMEM, -EAGAIN (table full). A failure leaves nothing behind.
 */
int proc_spawn(const char *path, unsigned argc, char *const argv[], struct proc *parent);
/*
 * A copy of parent (fork): its memory shared copy-on-write (vmm_fork), its
 * program break and output, and a kernel stack that returns to ring 3
 * where f (parent's system-call frame) does, with RAX 0. Prints a FORK line.
 * Returns the child's pid, or -EAGAIN (table full), -ENOMEM; a failure
 * leaves nothing behind.
 */
int proc_fork(struct proc *parent, const struct trap_frame *f);
/* exec: p runs path's program from now, in a new space (f: the frame it returns to); an error changes nothing. */
int proc_exec(struct proc *p, const char *path, unsigned argc, char *const argv[], struct trap_frame *f);
struct proc *proc_by_pid(int pid);
struct proc *proc_slot(unsigned i);     /* the table's slot i (any state), NULL past the end */
unsigned proc_count(void);              /* slots in use, zombies included */
void proc_reap(struct proc *p);         /* free a zombie's kernel stack and slot */

/*
 * Run the scheduler until the kernel's child pid has ended, and every
 * process it left without a parent too; reap it and return its wait()
 * status. timeout_ticks > 0 kills it (KILL_TIMEOUT) if it runs longer, and
 * with it every process it spawned or forked.
 */
int proc_run(int pid, uint64_t timeout_ticks);

/* End the current process: exit(status), or killed (status = reason << 8). Does not return. */
__attribute__((noreturn)) void proc_exit(int status);
__attribute__((noreturn)) void proc_kill(enum strata_kill_reason why, uint64_t addr, uint64_t rip);
/* The reason= word of a KILL line ("guard", "oom", ...). */
const char *proc_kill_name(unsigned why);

/* The timer's ticks since proc_init. */
uint64_t proc_ticks(void);

/* sched.c */
void sched_yield(void);                 /* give the CPU to the next runnable process */
void sched_block(void);                 /* current->state already says why; run others */
void sched_loop(bool (*done)(void *arg), void *arg);
/* Give p's kernel stack a frame that enters ring 3 at entry, with RSP sp and every other register 0. */
void sched_prepare(struct proc *p, uint64_t entry, uint64_t sp);
/* The same with the user frame given: a forked child's copy of its parent's. */
void sched_prepare_frame(struct proc *p, const struct trap_frame *user);
/* Called by the timer: count a tick, note a quantum or deadline passed. */
void sched_tick(struct trap_frame *f);
/* After an interrupt from ring 3: act on what sched_tick noted. */
void sched_user_return(struct trap_frame *f);

/* The pages p has resident now, with its peak brought up to date. */
uint64_t proc_resident(struct proc *p);

/* fault.c: a page fault from ring 3 (resolved, or the process is killed), and any other exception. */
void proc_user_page_fault(struct trap_frame *f, uint64_t addr, unsigned access);
void proc_user_trap(struct trap_frame *f);

/* exec.c: lay out a program in s (segments, stack, argv); -ENOEXEC or -ENOMEM leave s to be destroyed. */
struct exec_info { uint64_t entry, sp, brk_base; };
int exec_load(struct vm_space *s, const char *path, const struct initrd_file *f,
	      unsigned argc, char *const argv[], struct exec_info *out);

/* syscall.c: one system call from the frame syscall_entry built (RAX in, RAX out). */
void syscall_dispatch(struct trap_frame *f);

/* syscall.c: the output of write(), indented for a nested test program. */
void proc_write_console(struct proc *p, const char *buf, size_t len);

/* usermem.c: the bytes that count against the limit: every region of s but guards. */
uint64_t usermem_committed(struct vm_space *s);
/* usermem.c: the memory system calls, for the current process (src/abi/syscall.h says what they do). */
long sys_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd, uint64_t off);
long sys_munmap(uint64_t addr, uint64_t len);
long sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot);
long sys_brk(uint64_t addr);
long sys_msync(uint64_t addr, uint64_t len, uint64_t flags);

/* reclaim.c: pages back from processes (to swap) when free frames run short. */
uint64_t proc_reclaim(uint64_t want);   /* pages written out */
struct proc *proc_oom_victim(void);     /* the process with the largest resident set */
void proc_mark_killed(struct proc *p, enum strata_kill_reason why);   /* it ends at its next chance */
void proc_reclaim_if_low(void);         /* below the low mark: until the high one */
bool proc_reclaim_for_fault(void);      /* a batch for a fault that found no frame */

/* file.c: open files, and the calls on them. */
struct inode;
long sys_open(uint64_t upath, uint64_t flags);
long sys_close(uint64_t fd);
long sys_read(uint64_t fd, uint64_t buf, uint64_t len);
long file_write(uint64_t fd, uint64_t buf, uint64_t len);
long sys_lseek(uint64_t fd, uint64_t off, uint64_t whence);
long sys_ftruncate(uint64_t fd, uint64_t len);
long sys_unlink(uint64_t upath);
int file_for_mmap(uint64_t fd, bool shared_write, struct inode **ino, bool *writable);
void files_fork(struct proc *parent, struct proc *child);
void files_close_all(struct proc *p);

/* A ps-like listing: one line a live process. */
void proc_list(void);

/* mode=run: run /init and everything it spawns. Returns /init's wait() status, or -errno. */
int proc_run_init(void);

/* mode=test: the `user` suite, KTAP case by case, as suite number index. Returns 1 if all passed. */
int user_suite_run(unsigned index);

#endif
