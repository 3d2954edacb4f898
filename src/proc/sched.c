/*
 * sched.c - round-robin scheduling on one CPU, xv6's way: the scheduler
 * runs on the boot stack; a process gives the CPU back by switching to it
 * (yield, wait, exit, the end of its quantum) and it switches to the next
 * runnable process, loading that process's address space, its kernel stack
 * into the TSS (for interrupts from ring 3) and into the per-CPU kstack (for
 * `syscall`). The kernel is not preempted: only an interrupt that arrived
 * in ring 3 switches processes, on its way back out.
 */
#include "proc/proc.h"
#include "mm/arch.h"
#include "arch/x86_64/percpu.h"

static struct proc *current;
static uint64_t scheduler_ctx;          /* the scheduler's RSP while a process runs */
static volatile uint64_t ticks;
static bool need_resched;
static unsigned last;                   /* the slot that ran last: the search starts after it */

struct proc *proc_current(void) { return current; }
uint64_t proc_ticks(void) { return ticks; }

/*
 * A new process's kernel stack, top down: the user frame trap_return
 * restores (every register 0, interrupts on), then what swtch pops: the
 * address of trap_return and six zero callee-saved registers.
 */
void sched_prepare(struct proc *p, uint64_t entry, uint64_t sp)
{
	struct trap_frame f = {
		.rip = entry, .cs = USER_CS, .rflags = 0x202, .rsp = sp, .ss = USER_DS,
	};
	sched_prepare_frame(p, &f);
}

void sched_prepare_frame(struct proc *p, const struct trap_frame *user)
{
	struct trap_frame *f = (struct trap_frame *)(p->kstack_top - sizeof(*f));
	*f = *user;
	uint64_t *k = (uint64_t *)f;
	*--k = (uint64_t)trap_return;
	for (int i = 0; i < 6; i++)
		*--k = 0;
	p->ctx = (uint64_t)k;
}

static void run(struct proc *p)
{
	current = p;
	p->state = P_RUNNING;
	vmm_switch(p->space);
	cpu_set_kernel_stack(p->kstack_top);
	swtch(&scheduler_ctx, p->ctx);
	current = NULL;
}

/* The next runnable slot after the last one run, or NULL. */
static struct proc *pick(void)
{
	for (unsigned i = 1; i <= PROC_MAX; i++) {
		unsigned s = (last + i) % PROC_MAX;
		struct proc *p = proc_slot(s);
		if (p->state == P_RUNNABLE) {
			last = s;
			return p;
		}
	}
	return NULL;
}

/* Zombies nobody will wait for (their parent ended first) are reaped here. */
static void reap_orphans(void)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = proc_slot(i);
		if (p->state == P_ZOMBIE && !p->parent && !p->kernel_reaps)
			proc_reap(p);
	}
}

static bool descends_from(struct proc *p, struct proc *a)
{
	for (; p; p = p->parent)
		if (p == a)
			return true;
	return false;
}

/*
 * A process past its deadline is killed with everything it spawned: each
 * is marked, woken if it waits, and dies on its way back to ring 3 (or out
 * of wait) with KILL_TIMEOUT.
 */
static void check_deadlines(void)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *d = proc_slot(i);
		if (d->state == P_FREE || d->state == P_ZOMBIE || !d->deadline || ticks < d->deadline)
			continue;
		d->deadline = 0;
		for (unsigned j = 0; j < PROC_MAX; j++) {
			struct proc *p = proc_slot(j);
			if (p->state == P_FREE || p->state == P_ZOMBIE || !descends_from(p, d))
				continue;
			proc_mark_killed(p, KILL_TIMEOUT);
		}
	}
}

void sched_loop(bool (*done)(void *arg), void *arg)
{
	for (;;) {
		reap_orphans();
		check_deadlines();
		proc_reclaim_if_low();
		if (done(arg))
			return;
		struct proc *p = pick();
		if (p) {
			need_resched = false;
			run(p);
			continue;
		}
		/* Nothing to run: wait for an interrupt with interrupts on, just for the hlt. */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

void sched_yield(void)
{
	struct proc *p = current;
	p->state = P_RUNNABLE;
	swtch(&p->ctx, scheduler_ctx);
}

void sched_block(void)
{
	swtch(&current->ctx, scheduler_ctx);
}

void sched_tick(struct trap_frame *f)
{
	(void)f;
	ticks++;
	if (current && ticks % PROC_QUANTUM == 0)
		need_resched = true;
}

void sched_user_return(struct trap_frame *f)
{
	if (!current)
		return;
	if (current->kill_pending)
		proc_kill(current->kill_reason, 0, f->rip);
	if (need_resched) {
		need_resched = false;
		sched_yield();
		if (current->kill_pending)      /* killed while it waited for its turn */
			proc_kill(current->kill_reason, 0, f->rip);
	}
}
