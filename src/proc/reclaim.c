/*
 * reclaim.c - memory back from processes when RAM runs short: the
 * reclaimer that the watermarks (pmm_watermarks) call for.
 *
 * Below the low mark, the scheduler loop reclaims until the high mark,
 * between two processes' turns; a page fault that finds no frame (below
 * min) reclaims a batch and tries again before it gives up. Each run takes
 * pages from the processes in turn (a hand of its own over the table, so
 * no process is always the first to lose pages), each through its space's
 * clock (vmm_reclaim: second chances for pages used lately). Only private
 * anonymous pages go, to the swap area; with none, or swap full, nothing
 * can be reclaimed and the fault gives up (reason=oom).
 */
#include "proc/proc.h"
#include "mm/buddy/buddy.h"
#include "mm/swap/swap.h"

#define BATCH 32                /* pages a failed fault asks for before it tries again */

static unsigned hand;           /* the slot the next run starts at */

uint64_t proc_reclaim(uint64_t want)
{
	struct swap_stats st;
	uint64_t got = 0;
	swap_stats(&st);
	if (!st.on || !want)
		return 0;
	swap_count_reclaim();
	for (unsigned k = 0; k < PROC_MAX && got < want; k++) {
		struct proc *p = proc_slot((hand + k) % PROC_MAX);
		if (p->state != P_FREE && p->state != P_ZOMBIE && p->space)
			got += vmm_reclaim(p->space, want - got);
	}
	hand = (hand + 1) % PROC_MAX;
	return got;
}

/* Mark p to die with why at its next chance (its way back to ring 3, or out of wait). */
void proc_mark_killed(struct proc *p, enum strata_kill_reason why)
{
	if (p->kill_pending)
		return;
	p->kill_pending = true;
	p->kill_reason = (uint8_t)why;
	if (p->state == P_WAITING)
		p->state = P_RUNNABLE;
}

/* The live process holding the most frames: what an out-of-memory kill frees most of. */
struct proc *proc_oom_victim(void)
{
	struct proc *best = 0;
	uint64_t most = 0;
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = proc_slot(i);
		if (p->state == P_FREE || p->state == P_ZOMBIE || !p->space || p->kill_pending)
			continue;
		uint64_t r = vmm_resident(p->space);
		if (!best || r > most)
			best = p, most = r;
	}
	return best;
}

/* Below low: reclaim until high. Called by the scheduler loop between turns. */
void proc_reclaim_if_low(void)
{
	static struct pmm_watermarks w;        /* the marks of the RAM there is: taken once */
	if (!w.min)
		pmm_watermarks(&w);
	uint64_t free = pmm_free_count();
	if (free < w.low)
		proc_reclaim(w.high - free);
}

/* A fault found no frame: reclaim a batch; true if any page came free. */
bool proc_reclaim_for_fault(void)
{
	return proc_reclaim(BATCH) > 0;
}
