/*
 * smp.c - the allocators with 1, 2 and 4 CPUs working at once.
 *
 * Each line is one kind of work on k CPUs started together (a barrier):
 *   page        pmm_alloc_page + pmm_free_page on each CPU (its page cache)
 *   page_locked pmm_alloc(0) + pmm_free(0): straight to the locked lists
 *   page_cross  pages allocated on one CPU, freed on the next
 *   obj         cache_alloc + cache_free of 64 bytes (the magazines)
 *   obj_locked  the same cache with magazines off: the locked slab
 *   obj_cross   objects allocated on one CPU, freed on the next
 *   shootdown   map + unmap of a page in an address space that k-1 other
 *               CPUs are running (halted in it): one invalidation request
 *               each per unmap
 * ops is the total over the k CPUs, cycles the wall time (the slowest
 * CPU), so cycles_per_op is the inverse of the throughput; per_cpu_ns is
 * what one pair took on one CPU. Numbers only: nothing is judged. Under
 * TCG the vCPUs share the host's cores (this machine has 2): with more
 * vCPUs than cores they take turns, and the figures say so.
 */
#include "bench/bench.h"
#include "kernel/smp.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/slab/slab.h"
#include "mm/slab/slab_private.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/trap.h"

#define PAIRS 20000
#define CROSS_BATCH 32
#define SHOOT_OPS 2000
#define SHOOT_VA 0x0000100000000000UL

enum work { W_PAGE, W_PAGE_LOCKED, W_PAGE_CROSS, W_OBJ, W_OBJ_LOCKED, W_OBJ_CROSS };
static const char *const work_name[] = {
	"page", "page_locked", "page_cross", "obj", "obj_locked", "obj_cross",
};

static struct {
	enum work w;
	unsigned k;
	struct cache *c;
	unsigned arrived;
	uint64_t cycles[ARCH_MAX_CPUS];
} job;

/* A single-producer, single-consumer ring of pointers per CPU, for the cross work. */
static struct xring {
	uintptr_t v[CROSS_BATCH * 4];
	unsigned head, tail;
} rings[ARCH_MAX_CPUS];

static bool xput(struct xring *r, uintptr_t v)
{
	unsigned h = r->head;
	if (h - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == CROSS_BATCH * 4)
		return false;
	r->v[h % (CROSS_BATCH * 4)] = v;
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
	return true;
}

static bool xget(struct xring *r, uintptr_t *v)
{
	unsigned t = r->tail;
	if (t == __atomic_load_n(&r->head, __ATOMIC_ACQUIRE))
		return false;
	*v = r->v[t % (CROSS_BATCH * 4)];
	__atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
	return true;
}

static uintptr_t take(enum work w, struct cache *c)
{
	if (w == W_PAGE_CROSS) {
		pa_t pa = pmm_alloc_page(0);
		return pa == PMM_NO_FRAME ? 0 : pa;
	}
	return (uintptr_t)cache_alloc(c);
}

static void give(enum work w, struct cache *c, uintptr_t v)
{
	if (w == W_PAGE_CROSS)
		pmm_free_page(v);
	else
		cache_free(c, (void *)v);
}

/* Allocate here, free on the next CPU: until PAIRS went out and as many came in. */
static void cross(unsigned me)
{
	struct xring *out = &rings[(me + 1) % job.k], *in = &rings[me];
	uint64_t sent = 0, got = 0;
	uintptr_t v;
	while (sent < PAIRS || got < PAIRS) {
		bool moved = false;
		if (sent < PAIRS) {
			v = take(job.w, job.c);
			if (v && xput(out, v))
				sent++, moved = true;
			else if (v)
				give(job.w, job.c, v);
		}
		while (xget(in, &v)) {
			give(job.w, job.c, v);
			got++, moved = true;
		}
		/*
		 * No progress: the next CPU may be waiting for this one to answer a
		 * TLB shootdown (its slab gave pages back) instead of draining its
		 * ring; a CPU running with interrupts off answers only here.
		 */
		if (!moved)
			arch_spin_relax();
	}
}

static void worker(void *arg)
{
	unsigned me = arch_cpu_index();
	(void)arg;
	__atomic_add_fetch(&job.arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&job.arrived, __ATOMIC_ACQUIRE) < job.k)
		arch_spin_relax();
	uint64_t t0 = bench_cycles();
	switch (job.w) {
	case W_PAGE:
		for (int i = 0; i < PAIRS; i++)
			pmm_free_page(pmm_alloc_page(0));
		break;
	case W_PAGE_LOCKED:
		for (int i = 0; i < PAIRS; i++)
			pmm_free(pmm_alloc(0, 0), 0);
		break;
	case W_OBJ:
	case W_OBJ_LOCKED:
		for (int i = 0; i < PAIRS; i++)
			cache_free(job.c, cache_alloc(job.c));
		break;
	case W_PAGE_CROSS:
	case W_OBJ_CROSS:
		cross(me);
		break;
	}
	job.cycles[me] = bench_cycles() - t0;
}

static void run(enum work w, unsigned k, struct cache *c)
{
	char name[48], extra[64];
	memset(rings, 0, sizeof(rings));
	job.w = w, job.k = k, job.c = c, job.arrived = 0;
	for (unsigned cpu = 1; cpu < k; cpu++)
		smp_start_on(cpu, worker, 0);
	worker(0);
	uint64_t wall = 0, sum = 0;
	for (unsigned cpu = 0; cpu < k; cpu++) {
		smp_wait(cpu);
		wall = job.cycles[cpu] > wall ? job.cycles[cpu] : wall;
		sum += job.cycles[cpu];
	}
	uint64_t per_cpu_ns = sum * 1000000 / bench_tsc_khz() / ((uint64_t)PAIRS * k);
	ksnprintf(name, sizeof(name), "smp_%s_cpus%u", work_name[w], k);
	ksnprintf(extra, sizeof(extra), "cpus=%u per_cpu_ns=%lu", k, per_cpu_ns);
	bench_report(name, (uint64_t)PAIRS * k, wall, extra);
}

/* ---- shootdown ----------------------------------------------------------- */

static pg_root_t shoot_root;
static int shoot_stop;

/*
 * Run the benchmark's root until told to stop, halted between requests:
 * each invalidation IPI wakes the CPU, its handler answers. Halting, not
 * spinning, leaves the host's cores to the CPUs that work (this machine
 * has fewer cores than the 4-CPU line has vCPUs).
 */
static void sit_in_root(void *arg)
{
	(void)arg;
	pg_switch(shoot_root);
	__atomic_add_fetch(&job.arrived, 1, __ATOMIC_ACQ_REL);
	for (;;) {
		__asm__ volatile("cli");
		if (__atomic_load_n(&shoot_stop, __ATOMIC_ACQUIRE))
			break;
		__asm__ volatile("sti; hlt" : : : "memory");
	}
	__asm__ volatile("sti");
	pg_switch(pg_kernel_root());
}

static void shootdown(unsigned k)
{
	char name[48], extra[32];
	pa_t pa = pmm_alloc_page(PMM_ZERO);
	shoot_root = pg_root_create_user();
	if (pa == PMM_NO_FRAME || !shoot_root) {
		kprintf("bench: smp: no memory for the shootdown benchmark\n");
		goto out;
	}
	shoot_stop = 0, job.arrived = 1;
	for (unsigned cpu = 1; cpu < k; cpu++)
		smp_start_on(cpu, sit_in_root, 0);
	while (__atomic_load_n(&job.arrived, __ATOMIC_ACQUIRE) < k)
		arch_spin_relax();
	uint64_t t0 = bench_cycles();
	for (int i = 0; i < SHOOT_OPS; i++) {
		pg_map(shoot_root, SHOOT_VA, pa, PAGE_SIZE, PG_READ | PG_WRITE | PG_USER);
		pg_unmap(shoot_root, SHOOT_VA, PAGE_SIZE);
	}
	uint64_t cycles = bench_cycles() - t0;
	__atomic_store_n(&shoot_stop, 1, __ATOMIC_RELEASE);
	for (unsigned cpu = 1; cpu < k; cpu++) {
		apic_send(percpu_blocks[cpu].apic_id, APIC_DM_FIXED | VEC_IPI_CALL);     /* wake it to see stop */
		smp_wait(cpu);
	}
	ksnprintf(name, sizeof(name), "smp_shootdown_cpus%u", k);
	ksnprintf(extra, sizeof(extra), "cpus=%u", k);
	bench_report(name, SHOOT_OPS, cycles, extra);
out:
	if (shoot_root)
		pg_root_destroy(shoot_root);
	if (pa != PMM_NO_FRAME)
		pmm_free_page(pa);
}

void bench_smp(void)
{
	unsigned n = smp_cpus();
	struct cache *mag = cache_create("bench smp", 64, 0, 0);
	struct cache *nomag = cache_create("bench smp locked", 64, 0, 0);
	if (!mag || !nomag) {
		kprintf("bench: smp: no memory for the caches\n");
		goto out;
	}
	nomag->flags |= CF_NOMAG;       /* before its first object: it never loads a magazine */
	kprintf("bench: smp: %u CPUs online\n", n);
	for (unsigned k = 1; k <= n && k <= 4; k *= 2) {
		run(W_PAGE, k, 0);
		run(W_PAGE_LOCKED, k, 0);
		run(W_OBJ, k, mag);
		run(W_OBJ_LOCKED, k, nomag);
		if (k > 1) {
			run(W_PAGE_CROSS, k, 0);
			run(W_OBJ_CROSS, k, mag);
		}
		shootdown(k);
	}
out:
	if (mag)
		cache_destroy(mag);
	if (nomag)
		cache_destroy(nomag);
	pmm_drain_all_caches();
}
