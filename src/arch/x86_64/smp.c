/*
 * smp.c - requests between CPUs: the TLB shootdown, the wake-up, the stop.
 *
 * A CPU asks others to flush by publishing one request of its own (it
 * makes at most one at a time: arch_tlb_shootdown waits for it) with a
 * mask of the CPUs that still owe it the flush, then sends each a fixed
 * IPI. A CPU answers every request whose mask has its bit: in the IPI's
 * handler, and also whenever it waits, for its own request or for a lock
 * (arch_spin_relax). So no lock guards the requests, and two CPUs that
 * shoot at each other with interrupts off both make progress.
 *
 *   CPU A (unmap)                       CPU B (running the space)
 *   req[A].f = &flush
 *   req[A].pending = {B}   (release)
 *   IPI VEC_IPI_CALL -> B  ---------->  handler, or B's own wait loop:
 *   wait: pending == 0,                 pending has B (acquire): do f
 *         answering others meanwhile    clear B in req[A].pending (release)
 *   return: B has flushed               EOI
 */
#include "arch/x86_64/apic.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/trap.h"
#include "mm/arch.h"

static uint64_t online_mask = 1;

static struct request {
	const struct arch_tlb_flush *f;
	uint64_t pending;
} __attribute__((aligned(64))) req[ARCH_MAX_CPUS];

/* Shootdowns this CPU carried out for others (the bench and tests read it). */
uint64_t smp_flushes_done[ARCH_MAX_CPUS];

uint64_t arch_cpus_online(void) { return __atomic_load_n(&online_mask, __ATOMIC_ACQUIRE); }

void smp_mark_online(unsigned cpu) { __atomic_or_fetch(&online_mask, 1ULL << cpu, __ATOMIC_RELEASE); }

static void do_flush(const struct arch_tlb_flush *f)
{
	if (f->all)
		f->global ? arch_flush_tlb_global() : arch_flush_tlb();
	else
		for (unsigned i = 0; i < f->n; i++)
			arch_invlpg(f->va[i]);
}

/* Carry out every request that names this CPU. */
static void answer(void)
{
	unsigned me = arch_cpu_index();
	uint64_t bit = 1ULL << me;
	for (unsigned c = 0; c < ARCH_MAX_CPUS; c++) {
		if (!(__atomic_load_n(&req[c].pending, __ATOMIC_ACQUIRE) & bit))
			continue;
		do_flush(req[c].f);
		smp_flushes_done[me]++;
		__atomic_and_fetch(&req[c].pending, ~bit, __ATOMIC_RELEASE);
	}
}

void arch_spin_relax(void)
{
	__builtin_ia32_pause();
	answer();
}

void arch_tlb_shootdown(uint64_t cpus, const struct arch_tlb_flush *f)
{
	unsigned me = arch_cpu_index();
	cpus &= arch_cpus_online() & ~(1ULL << me);
	if (!cpus)
		return;
	struct request *r = &req[me];
	r->f = f;
	__atomic_store_n(&r->pending, cpus, __ATOMIC_RELEASE);
	for (unsigned c = 0; c < ARCH_MAX_CPUS; c++)
		if (cpus >> c & 1)
			apic_send(percpu_blocks[c].apic_id, APIC_DM_FIXED | VEC_IPI_CALL);
	while (__atomic_load_n(&r->pending, __ATOMIC_ACQUIRE))
		arch_spin_relax();
}

/* VEC_IPI_CALL: flush what was asked; the wake-up of an idle CPU is this too. */
static void on_ipi_call(struct trap_frame *f)
{
	(void)f;
	answer();
	apic_eoi();
}

static void on_spurious(struct trap_frame *f) { (void)f; }   /* no EOI for a spurious vector */

void smp_ipi_init(void)
{
	trap_set_vector_handler(VEC_IPI_CALL, on_ipi_call);
	trap_set_vector_handler(VEC_SPURIOUS, on_spurious);
}
