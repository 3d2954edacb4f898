/*
 * smp.c - self-tests with every CPU at once.
 *
 * The stress test runs the same work on each online CPU simultaneously:
 * pages of mixed orders, heap objects of mixed sizes (a share of them
 * handed to the next CPU, which checks and frees them: frees on another
 * CPU than the allocating one), and address spaces created, faulted in
 * and destroyed. Every block and object carries a pattern naming its
 * owner, checked before it is freed. At the end every frame and object is
 * back (the runner's leak check) and the layers' own checks find nothing.
 *
 * The shootdown tests have CPU 1 read a page in a loop while CPU 0 unmaps
 * it or takes its write right away: once the call returns, CPU 1's next
 * access must fault (its catcher expects it). On one CPU they skip.
 */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "kernel/tsc.h"
#include "kernel/panic.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"
#include "mm/slab/slab.h"
#include "arch/x86_64/trap.h"
#include "lib/prng.h"
#include "lib/kstring.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/protect.h"
#include "tests/kernel/machine.h"

#define ROUNDS 400
#define KEEP   32               /* blocks, objects each CPU holds at most */
#define RING   64

/* ---- who ran ------------------------------------------------------------- */

static unsigned ran[ARCH_MAX_CPUS];

static void note_cpu(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&ran[arch_cpu_index()], 1, __ATOMIC_RELAXED);
}

KTEST(smp, work_runs_once_on_every_cpu)
{
	unsigned n = smp_cpus();
	KT_ASSERT(n >= 1 && n <= ARCH_MAX_CPUS);
	KT_EXPECT(__builtin_popcountll(arch_cpus_online()) == (int)n);
	memset(ran, 0, sizeof(ran));
	smp_run_all(note_cpu, 0);
	for (unsigned c = 0; c < ARCH_MAX_CPUS; c++)
		KT_EXPECT(ran[c] == (c < n ? 1u : 0u));
	KT_EXPECT(smp_start_on(0, note_cpu, 0) == -1);         /* the caller is not an AP */
	KT_EXPECT(smp_start_on(n, note_cpu, 0) == -1);         /* nor is a CPU that is not online */
}

/* ---- the stress ---------------------------------------------------------- */

struct ring {                   /* one producer (the CPU before), one consumer (this one) */
	uint64_t *obj[RING];
	unsigned head, tail;        /* head: next to fill; tail: next to take */
	int producer_done;
};

static struct ring rings[ARCH_MAX_CPUS];
static unsigned errors[ARCH_MAX_CPUS];
static unsigned kinds[8];
#define ERR(me, k) (errors[me]++, __atomic_add_fetch(&kinds[k], 1, __ATOMIC_RELAXED))

static uint64_t tag(unsigned cpu, uint64_t i) { return 0x5350000000000000ULL | (uint64_t)cpu << 40 | i; }

static bool ring_put(struct ring *r, uint64_t *o)
{
	unsigned h = r->head, t = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (h - t == RING)
		return false;
	r->obj[h % RING] = o;
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
	return true;
}

static uint64_t *ring_take(struct ring *r)
{
	unsigned t = r->tail, h = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	if (t == h)
		return 0;
	uint64_t *o = r->obj[t % RING];
	__atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
	return o;
}

/* An object is [size words][tag][...][tag]: checked whole before kfree, on any CPU. */
static uint64_t *obj_new(unsigned me, uint64_t i, uint64_t *rnd)
{
	static const size_t sizes[] = { 16, 24, 40, 64, 100, 256, 512, 1000, 2048, 4096 };
	size_t sz = sizes[prng_next(rnd) % 10];
	uint64_t *o = kmalloc(sz);
	if (!o)
		return 0;
	size_t w = sz / 8;
	o[0] = w;
	for (size_t k = 1; k < w; k++)
		o[k] = tag(me, i);
	return o;
}

static void obj_free(unsigned me, uint64_t *o)
{
	size_t w = o[0];
	uint64_t t = o[1];
	if (w < 2 || w > 512 || t >> 48 != 0x5350)
		ERR(me, 2);
	else
		for (size_t k = 1; k < w; k++)
			if (o[k] != t) {
				ERR(me, 3);
				break;
			}
	kfree(o);
}

struct block { pa_t pa; unsigned order; };

static void block_fill(pa_t pa, unsigned order, uint64_t t)
{
	uint64_t *p = phys_to_virt(pa);
	size_t last = ((PAGE_SIZE << order) / 8) - 1;
	p[0] = t, p[last] = t;
}

static bool block_ok(pa_t pa, unsigned order, uint64_t t)
{
	uint64_t *p = phys_to_virt(pa);
	size_t last = ((PAGE_SIZE << order) / 8) - 1;
	return p[0] == t && p[last] == t;
}

/* A space with a demand region, faulted in page by page through the VMM, then destroyed. */
static void space_round(unsigned me, uint64_t i)
{
	struct vm_space *s = vmm_space_create();
	if (!s)
		return;
	struct vm_req r = { .len = 8 * PAGE_SIZE, .kind = VM_DEMAND, .flags = VM_READ | VM_WRITE | VM_USER };
	va_t va;
	if (!vmm_alloc(s, &r, &va))
		for (unsigned p = 0; p < 8; p++) {
			pa_t pa;
			if (vmm_fault(s, va + p * PAGE_SIZE, VM_ACC_WRITE | VM_ACC_USER, 0) != VMF_RESOLVED)
				continue;       /* out of frames: allowed */
			if (pg_translate(vmm_space_root(s), va + p * PAGE_SIZE, &pa, 0, 0))
				ERR(me, 4);
			else
				*(uint64_t *)phys_to_virt(pa) = tag(me, i);
		}
	if (vmm_space_destroy(s))
		ERR(me, 5);
}

static void stress(void *arg)
{
	unsigned me = arch_cpu_index(), n = smp_cpus(), next = (me + 1) % n;
	uint64_t rnd = 0x9e3779b97f4a7c15ULL * (me + 1);
	struct block blocks[KEEP];
	uint64_t *objs[KEEP];
	unsigned nb = 0, no = 0;
	(void)arg;

	for (uint64_t i = 0; i < ROUNDS; i++) {
		unsigned order = prng_next(&rnd) % 4;
		pa_t pa = order ? pmm_alloc(order, 0) : pmm_alloc_page(0);
		if (pa != PMM_NO_FRAME) {
			if (nb == KEEP) {       /* free a random one to make room */
				unsigned k = prng_next(&rnd) % KEEP;
				if (!block_ok(blocks[k].pa, blocks[k].order, tag(me, k)))
					ERR(me, 6);
				blocks[k].order ? pmm_free(blocks[k].pa, blocks[k].order) : pmm_free_page(blocks[k].pa);
				if (k != --nb) {        /* the last one moves into the hole: its tag follows */
					blocks[k] = blocks[nb];
					block_fill(blocks[k].pa, blocks[k].order, tag(me, k));
				}
			}
			blocks[nb] = (struct block){ pa, order };
			block_fill(pa, order, tag(me, nb));
			nb++;
		}
		uint64_t *o = obj_new(me, i, &rnd);
		if (o) {
			if (n > 1 && prng_next(&rnd) % 2 && ring_put(&rings[next], o))
				o = 0;          /* the next CPU frees it */
			else if (no == KEEP)
				obj_free(me, o);
			else
				objs[no++] = o;
		}
		for (uint64_t *x; (x = ring_take(&rings[me]));)
			obj_free(me, x);
		if (no && prng_next(&rnd) % 3 == 0)
			obj_free(me, objs[--no]);
		if (i % 50 == 0)
			space_round(me, i);
	}
	for (unsigned k = 0; k < nb; k++) {
		if (!block_ok(blocks[k].pa, blocks[k].order, tag(me, k)))
			ERR(me, 7);
		blocks[k].order ? pmm_free(blocks[k].pa, blocks[k].order) : pmm_free_page(blocks[k].pa);
	}
	while (no)
		obj_free(me, objs[--no]);
	__atomic_store_n(&rings[next].producer_done, 1, __ATOMIC_RELEASE);
	if (n > 1)
		while (!__atomic_load_n(&rings[me].producer_done, __ATOMIC_ACQUIRE) ||
		       rings[me].tail != __atomic_load_n(&rings[me].head, __ATOMIC_ACQUIRE)) {
			uint64_t *x = ring_take(&rings[me]);
			if (x)
				obj_free(me, x);
			else
				arch_spin_relax();
		}
}

KTEST(smp, stress_every_cpu_at_once)
{
	memset(rings, 0, sizeof(rings));
	memset(errors, 0, sizeof(errors));
	unsigned e0 = slab_error_count();
	smp_run_all(stress, 0);
	for (unsigned c = 0; c < smp_cpus(); c++)
		KT_EXPECT(errors[c] == 0);
	for (unsigned k = 0; k < 8; k++)
		if (kinds[k])
			kprintf("    # stress: check %u failed %u times\n", k, kinds[k]);
	KT_EXPECT(slab_error_count() == e0);
	pmm_drain_all_caches();
	KT_EXPECT(pmm_check() == 0);
	KT_EXPECT(slab_check() == 0);
	slab_reap();
}

/* ---- shootdown ----------------------------------------------------------- */

#define SD_VA 0xffffe80000200000UL      /* kernel half, in the MMIO area's unused middle */

static volatile int sd_stage;           /* 0 idle, 1 reading, 2 stop */
static volatile uint64_t sd_reads;
static struct fault_info sd_fault;
static int sd_faulted;
static int sd_write;

static void reader_loop(void *arg)
{
	(void)arg;
	volatile uint64_t *p = (volatile uint64_t *)SD_VA;
	while (__atomic_load_n(&sd_stage, __ATOMIC_ACQUIRE) == 1) {
		if (sd_write)
			*p = 1;
		else
			(void)*p;
		sd_reads++;
	}
}

static void reader(void *arg)
{
	sd_faulted = ktest_expect_fault(VEC_PF, reader_loop, arg, &sd_fault);
}

/* Map a page, start CPU 1 on it, cut it off with edit(), and see CPU 1 fault at once. */
static void shootdown_case(int write, int (*edit)(void))
{
	if (smp_cpus() < 2)
		KT_SKIP("one CPU");
	pa_t pa = pmm_alloc_page(PMM_ZERO);
	KT_ASSERT(pa != PMM_NO_FRAME);
	KT_ASSERT(pg_map(pg_kernel_root(), SD_VA, pa, PAGE_SIZE, PG_READ | PG_WRITE) == 0);
	sd_reads = 0, sd_faulted = 0, sd_write = write;
	__atomic_store_n(&sd_stage, 1, __ATOMIC_RELEASE);
	KT_ASSERT(smp_start_on(1, reader, 0) == 0);
	while (sd_reads < 1000)         /* CPU 1 has the translation cached by now */
		arch_spin_relax();
	KT_EXPECT(edit() == 0);
	uint64_t after = sd_reads;
	/* The edit returned: CPU 1 must fault on its very next access (give it 2 s to get there). */
	uint64_t t0 = arch_rdtsc(), limit = tsc_khz() * 2000;
	while (arch_rdtsc() - t0 < limit && !__atomic_load_n(&sd_faulted, __ATOMIC_ACQUIRE))
		arch_spin_relax();
	__atomic_store_n(&sd_stage, 2, __ATOMIC_RELEASE);
	smp_wait(1);
	KT_EXPECT(sd_faulted == 1);
	KT_EXPECT(sd_fault.cr2 == SD_VA);
	KT_EXPECT(sd_reads <= after + 1);       /* at most the access under way when the flush came */
	pg_unmap(pg_kernel_root(), SD_VA, PAGE_SIZE);
	pmm_free_page(pa);
}

static int unmap_it(void) { return pg_unmap(pg_kernel_root(), SD_VA, PAGE_SIZE); }
static int read_only(void) { return pg_protect(pg_kernel_root(), SD_VA, PAGE_SIZE, PG_READ); }

KTEST(smp, unmap_reaches_every_cpu)
{
	shootdown_case(0, unmap_it);
}

KTEST(smp, write_protect_reaches_every_cpu)
{
	shootdown_case(1, read_only);
}

/* ---- the same in a user address space that CPU 1 runs ---------------------- */

#define SD_UVA 0x0000000040000000UL

static pg_root_t sd_root;

static void user_reader_loop(void *arg)
{
	(void)arg;
	volatile uint64_t *p = (volatile uint64_t *)SD_UVA;
	user_access_begin();            /* SMAP: the kernel reads a user page on purpose */
	while (__atomic_load_n(&sd_stage, __ATOMIC_ACQUIRE) == 1) {
		(void)*p;
		sd_reads++;
	}
	user_access_end();
}

static void user_reader(void *arg)
{
	pg_switch(sd_root);
	sd_faulted = ktest_expect_fault(VEC_PF, user_reader_loop, arg, &sd_fault);
	user_access_end();              /* the fault left the loop with AC still set */
	pg_switch(pg_kernel_root());
}

KTEST(smp, unmap_in_a_space_another_cpu_runs)
{
	if (smp_cpus() < 2)
		KT_SKIP("one CPU");
	pa_t pa = pmm_alloc_page(PMM_ZERO);
	KT_ASSERT(pa != PMM_NO_FRAME);
	sd_root = pg_root_create_user();
	KT_ASSERT(sd_root);
	KT_ASSERT(pg_map(sd_root, SD_UVA, pa, PAGE_SIZE, PG_READ | PG_WRITE | PG_USER) == 0);
	sd_reads = 0, sd_faulted = 0;
	__atomic_store_n(&sd_stage, 1, __ATOMIC_RELEASE);
	KT_ASSERT(smp_start_on(1, user_reader, 0) == 0);
	while (sd_reads < 1000)
		arch_spin_relax();
	KT_EXPECT(pg_unmap(sd_root, SD_UVA, PAGE_SIZE) == 0);
	uint64_t after = sd_reads, t0 = arch_rdtsc(), limit = tsc_khz() * 2000;
	while (arch_rdtsc() - t0 < limit && !__atomic_load_n(&sd_faulted, __ATOMIC_ACQUIRE))
		arch_spin_relax();
	__atomic_store_n(&sd_stage, 2, __ATOMIC_RELEASE);
	smp_wait(1);
	KT_EXPECT(sd_faulted == 1);
	KT_EXPECT(sd_fault.cr2 == SD_UVA);
	KT_EXPECT(sd_reads <= after + 1);
	pg_root_destroy(sd_root);
	pmm_free_page(pa);
}

/* ---- the local APIC timer on every CPU ------------------------------------ */

static unsigned ticks[ARCH_MAX_CPUS];

static void on_timer(struct trap_frame *f)
{
	(void)f;
	__atomic_add_fetch(&ticks[arch_cpu_index()], 1, __ATOMIC_RELAXED);
	apic_eoi();
}

/* A one-shot of 1 ms in the calibrated rate fires on this CPU, after at least most of 1 ms. */
static void one_shot(void *arg)
{
	uint64_t *late = arg, per_ms = smp_apic_timer_khz();
	unsigned me = arch_cpu_index();
	uint64_t t0 = arch_rdtsc(), limit = tsc_khz() * 1000;
	apic_timer_oneshot((uint32_t)per_ms, VEC_APIC_TIMER);
	__asm__ volatile("sti");
	while (!__atomic_load_n(&ticks[me], __ATOMIC_ACQUIRE) && arch_rdtsc() - t0 < limit)
		__builtin_ia32_pause();
	late[me] = arch_rdtsc() - t0;
}

KTEST(smp, apic_timer_fires_on_every_cpu)
{
	static uint64_t took[ARCH_MAX_CPUS];
	if (!smp_apic_timer_khz())
		KT_SKIP("no calibrated local APIC timer");
	memset(ticks, 0, sizeof(ticks));
	trap_set_vector_handler(VEC_APIC_TIMER, on_timer);
	uint64_t irq = arch_irq_save();
	smp_run_all(one_shot, took);
	arch_irq_restore(irq);
	trap_set_vector_handler(VEC_APIC_TIMER, 0);
	for (unsigned c = 0; c < smp_cpus(); c++) {
		KT_EXPECT(ticks[c] == 1);
		/* Timers and TSC were calibrated against each other: 1 ms of one is most of 1 ms of the other. */
		KT_EXPECT(took[c] >= tsc_khz() / 2);
	}
}

/* ---- the start-up page ---------------------------------------------------- */

KTEST(smp, startup_page_is_lent_and_given_back)
{
	KT_EXPECT(pmm_low_pages_lent() == 0);           /* start-up gave its page back */
	pa_t a = pmm_lend_low_page(), b = pmm_lend_low_page();
	if (a == PMM_NO_FRAME)
		KT_SKIP("no RAM below 1 MiB in the map");
	KT_EXPECT(a != 0 && a < 0x100000 && !(a & (PAGE_SIZE - 1)));
	KT_EXPECT(b != a);
	KT_EXPECT(pmm_low_pages_lent() == (b == PMM_NO_FRAME ? 1u : 2u));
	size_t n;
	const struct mem_range *m = pmm_sanitized_map(&n);
	bool ram = false;
	for (size_t i = 0; i < n; i++)
		ram |= m[i].type == MEM_AVAILABLE && m[i].base <= a && a + PAGE_SIZE <= m[i].base + m[i].len;
	KT_EXPECT(ram);
	KT_EXPECT(pmm_return_low_page(a) == 0);
	KT_EXPECT(pmm_return_low_page(a) != 0);          /* twice: misuse, reported */
	KT_EXPECT(pmm_return_low_page(0x200000) != 0);   /* not below 1 MiB */
	if (b != PMM_NO_FRAME)
		KT_EXPECT(pmm_return_low_page(b) == 0);
	KT_EXPECT(pmm_low_pages_lent() == 0);
}

/* ---- the panic path (suite smp_panic: only with ktest.smp_panic=1) -------- */

/* Print numbered lines until an NMI stops this CPU. */
static void chatter(void *arg)
{
	(void)arg;
	unsigned me = arch_cpu_index();
	for (uint64_t i = 0;; i++)
		kprintf("chatter cpu=%u line=%lu\n", me, i);
}

static void panic_soon(void *arg)
{
	(void)arg;
	uint64_t t0 = arch_rdtsc();
	while (arch_rdtsc() - t0 < tsc_khz() * 50)
		__builtin_ia32_pause();
	panic("smp_panic: a deliberate panic on CPU %u while the other CPUs print", arch_cpu_index());
}

/*
 * CPU 1 panics while every other CPU prints as fast as it can. The harness
 * (judge panic_once) wants one report, from CPU 1, with no other CPU's
 * line after it: the others were stopped before the report began.
 */
KTEST(smp_panic, panic_on_one_cpu_stops_the_others)
{
	if (smp_cpus() < 2)
		KT_SKIP("one CPU");
	for (unsigned c = 2; c < smp_cpus(); c++)
		smp_start_on(c, chatter, 0);
	smp_start_on(1, panic_soon, 0);
	chatter(0);
}
