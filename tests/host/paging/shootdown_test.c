/*
 * shootdown_test.c - TLB maintenance with several CPUs online: which CPUs
 * an edit shoots (those running the root; every other one for the kernel
 * half), with which pages, once per batch; the PCIDs other CPUs keep for a
 * root marked stale; tables freed only after the shootdown returned.
 *
 * A host thread is a CPU: pg_switch on a thread with fake_cpu_index = c
 * is CPU c loading a root (its fake_cpu, and so its CR3, is its own). The
 * main thread is CPU 0. fake_arch records each shootdown.
 */
#include <pthread.h>
#include "fixture.h"

#define VA  0x7f0000000000ULL
#define KVA 0xffffc00000000000ULL
#define PA  0x100000000ULL
#define RW  (PG_READ | PG_WRITE)
#define BATCH_FREE 32   /* the tables a tlb_batch holds (pte.h's TLB_BATCH_FREE) */

struct switch_req {
	unsigned cpu;
	uint64_t root, cr3;
};

static void *switch_thread(void *p)
{
	struct switch_req *r = p;
	fake_cpu_index = r->cpu;
	pg_switch(r->root);
	r->cr3 = fake_cpu.cr3;
	return NULL;
}

/* CPU cpu loads root; the CR3 it wrote. */
static uint64_t switch_on(unsigned cpu, uint64_t root)
{
	struct switch_req r = { cpu, root, 0 };
	pthread_t t;
	if (pthread_create(&t, NULL, switch_thread, &r) || pthread_join(t, NULL))
		abort();
	return r.cr3;
}

static void boot(bool pcid, uint64_t online)
{
	struct cpu_cfg c = cpu_full;
	c.pcid = pcid;
	fixture_boot(64 * MiB, &c);
	fake_online_mask = online;
	fake_shootdowns = (struct fake_shootdowns){ 0 };
	fake_shootdown_hook = NULL;
}

static void done(void)
{
	fake_online_mask = 1;
	fake_shootdown_hook = NULL;
	fake_cpu.cr3 = 0;
}

/* An edit of a user half reaches exactly the other CPUs running that root, once, with its pages. */
void test_shootdown_user(void)
{
	boot(false, 0x7);
	uint64_t r = pg_root_create(), s = pg_root_create(), t = pg_root_create();
	pg_switch(s);                   /* CPU 0 runs s, CPU 1 runs r, CPU 2 runs s */
	switch_on(1, r);
	switch_on(2, s);
	CHECK_EQ(pg_map(r, VA, PA, 8 * 4096, RW | PG_SIZE_4K), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 0);             /* new entries: nothing to drop anywhere */

	CHECK_EQ(pg_unmap(r, VA + 4096, 2 * 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 1);
	CHECK_EQ(fake_shootdowns.last_cpus, 1u << 1);
	CHECK(!fake_shootdowns.last.all && !fake_shootdowns.last.global);
	CHECK_EQ(fake_shootdowns.last.n, 2);
	CHECK_EQ(fake_shootdowns.last_va[0], VA + 4096);
	CHECK_EQ(fake_shootdowns.last_va[1], VA + 2 * 4096);
	CHECK_EQ(fake_cpu.invlpg_count, 0);             /* r is not in CPU 0's CR3 */

	/* reducing rights is the same; adding them, or a new page, tells no one */
	CHECK_EQ(pg_protect(r, VA, 4096, PG_READ), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 2);
	CHECK_EQ(fake_shootdowns.last_cpus, 1u << 1);
	CHECK_EQ(fake_shootdowns.last_va[0], VA);
	CHECK_EQ(pg_protect(r, VA + 3 * 4096, 4096, PG_READ | PG_EXEC), PG_OK);     /* W lost, X gained */
	CHECK_EQ(fake_shootdowns.calls, 3);
	CHECK_EQ(pg_protect(r, VA + 3 * 4096, 4096, PG_READ | PG_USER | PG_EXEC), PG_OK);
	CHECK_EQ(pg_protect(r, VA, 4096, RW), PG_OK);
	CHECK_EQ(pg_map(r, VA + 4096, PA, 4096, RW), PG_OK);
	CHECK_EQ(pg_map(r, VA + 2 * 4096, PA, 4096, RW | PG_MAP_REPLACE), PG_OK);   /* was empty */
	CHECK_EQ(fake_shootdowns.calls, 3);
	CHECK_EQ(pg_protect(r, VA + 3 * 4096, 4096, PG_READ | PG_EXEC), PG_OK);     /* U -> S */
	CHECK_EQ(fake_shootdowns.calls, 4);
	CHECK_EQ(pg_map(r, VA + 4096, PA + 4096, 4096, RW | PG_MAP_REPLACE), PG_OK); /* another frame */
	CHECK_EQ(fake_shootdowns.calls, 5);

	/* s runs here and on CPU 2: CPU 0 flushes itself, CPU 2 is shot */
	CHECK_EQ(pg_map(s, VA, PA, 4096, RW), PG_OK);
	CHECK_EQ(pg_unmap(s, VA, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 6);
	CHECK_EQ(fake_shootdowns.last_cpus, 1u << 2);
	CHECK_EQ(fake_cpu.invlpg_count, 1);

	/* t runs nowhere: nobody to tell */
	CHECK_EQ(pg_map(t, VA, PA, 4096, RW), PG_OK);
	CHECK_EQ(pg_unmap(t, VA, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 6);

	/* past the ceiling: one call, a full flush */
	CHECK_EQ(pg_unmap(r, VA, 8 * 4096), PG_OK);
	CHECK_EQ(pg_map(r, VA, PA, 2 * TLB_FULL_FLUSH_PAGES * 4096, RW | PG_SIZE_4K), PG_OK);
	uint64_t n = fake_shootdowns.calls;
	CHECK_EQ(pg_unmap(r, VA, 2 * TLB_FULL_FLUSH_PAGES * 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, n + 1);
	CHECK(fake_shootdowns.last.all && !fake_shootdowns.last.global);
	CHECK_EQ(fake_shootdowns.last.n, 0);
	CHECK_EQ(fake_shootdowns.cpus_seen & 1, 0);     /* never the caller */

	/* one CPU online: the mask is empty, arch_tlb_shootdown is not called */
	fake_online_mask = 1;
	CHECK_EQ(pg_map(r, VA, PA, 4096, RW), PG_OK);
	CHECK_EQ(pg_unmap(r, VA, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, n + 1);
	fake_online_mask = 0x7;

	/* global entries outlive CR3 writes: a user-half one goes on every CPU, this one too */
	CHECK_EQ(pg_map(t, VA, PA, 4096, RW | PG_GLOBAL), PG_OK);
	uint64_t inv = fake_cpu.invlpg_count;
	CHECK_EQ(pg_unmap(t, VA, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, n + 2);
	CHECK_EQ(fake_shootdowns.last_cpus, 0x6);
	CHECK(fake_shootdowns.last.global);
	CHECK_EQ(fake_cpu.invlpg_count, inv + 1);

	switch_on(1, s);
	pg_switch(s);
	pg_root_destroy(r);
	pg_root_destroy(t);
	switch_on(1, 0);
	switch_on(2, 0);
	fake_cpu.cr3 = 0;
	pg_root_destroy(s);
	done();
}

/* The kernel half is in every root: every other online CPU, whatever it runs. */
void test_shootdown_kernel_half(void)
{
	boot(false, 0x7);
	uint64_t r = pg_root_create();
	pg_switch(r);
	CHECK_EQ(pg_map(r, KVA, PA, 3 * 4096, RW | PG_SIZE_4K), PG_OK);
	CHECK_EQ(pg_map(r, KVA + 3 * 4096, PA, 4096, RW | PG_GLOBAL), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 0);
	CHECK_EQ(pg_unmap(r, KVA, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 1);
	CHECK_EQ(fake_shootdowns.last_cpus, 0x6);       /* CPUs 1 and 2 never switched to r */
	CHECK(!fake_shootdowns.last.global);
	CHECK_EQ(pg_protect(r, KVA + 4096, 4096, RW | PG_EXEC | PG_ALLOW_WX), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 2);             /* even an upgrade: kernel faults are not retried */
	CHECK_EQ(pg_unmap(r, KVA + 3 * 4096, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 3);
	CHECK(fake_shootdowns.last.global);
	CHECK_EQ(fake_shootdowns.last_va[0], KVA + 3 * 4096);
	CHECK_EQ(pg_unmap(r, KVA + 4096, 2 * 4096), PG_OK);
	fake_cpu.cr3 = 0;
	pg_root_destroy(r);
	done();
}

static uint64_t free_at_shootdown;

static void count_free(uint64_t cpus, const struct arch_tlb_flush *f)
{
	(void)cpus, (void)f;
	free_at_shootdown = pmm_free_count();
}

/* The tables an unmap empties go back to the buddy only after the other CPUs flushed. */
void test_shootdown_frees_after(void)
{
	boot(false, 0x3);
	uint64_t r = pg_root_create(), s = pg_root_create();
	pg_switch(s);
	switch_on(1, r);
	CHECK_EQ(pg_map(r, VA, PA, 4096, RW), PG_OK);  /* a PDPT, a PD and a PT for it */
	uint64_t before = pmm_free_count();
	fake_shootdown_hook = count_free;
	CHECK_EQ(pg_unmap(r, VA, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 1);
	CHECK_EQ(free_at_shootdown, before);            /* nothing freed while CPU 1 may walk them */
	CHECK_EQ(pmm_free_count(), before + 3);
	/* a 2 MiB page written over a PT: the PT too waits for the shootdown */
	CHECK_EQ(pg_map(r, VA, PA, 4096, RW), PG_OK);
	before = pmm_free_count();
	CHECK_EQ(pg_map(r, VA, PA, 2 * MiB, RW | PG_MAP_REPLACE), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 2);
	CHECK_EQ(free_at_shootdown, before);
	CHECK_EQ(pmm_free_count(), before + 1);
	/* more tables than a batch holds: the full batch is flushed early, one shootdown each */
	CHECK_EQ(pg_unmap(r, VA, 2 * MiB), PG_OK);
	const unsigned n = BATCH_FREE + 1;              /* n PTs, a PD, a PDPT */
	CHECK_EQ(pg_map(r, VA, PA, n * 2 * MiB, PG_READ | PG_SIZE_4K), PG_OK);
	before = pmm_free_count();
	uint64_t calls = fake_shootdowns.calls;
	CHECK_EQ(pg_unmap(r, VA, n * 2 * MiB), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, calls + 2);
	CHECK_EQ(fake_shootdowns.cpus_seen, 1u << 1);
	CHECK_EQ(free_at_shootdown, before + BATCH_FREE);       /* the last call: the first batch's are back */
	CHECK_EQ(pmm_free_count(), before + n + 2);
	fake_shootdown_hook = NULL;
	switch_on(1, s);
	pg_root_destroy(r);
	switch_on(1, 0);
	fake_cpu.cr3 = 0;
	pg_root_destroy(s);
	done();
}

/* Each CPU hands out its own PCIDs; an edit marks a root's PCID stale on every CPU that keeps one. */
void test_shootdown_pcid(void)
{
	const uint64_t keep = 1ULL << 63;
	boot(true, 0x3);
	uint64_t r = pg_root_create(), s = pg_root_create();
	pg_switch(r);                                   /* CPU 0: r 1, s 2 */
	pg_switch(s);
	CHECK_EQ(fake_cpu.cr3, s | 2);
	CHECK_EQ(switch_on(1, s), s | 1);               /* CPU 1: s 1, r 2 */
	CHECK_EQ(switch_on(1, r), r | 2);
	CHECK_EQ(switch_on(1, s), s | 1 | keep);
	CHECK_EQ(pg_map(r, VA, PA, 4096, RW), PG_OK);

	/* r runs nowhere: no shootdown, but both CPUs' PCIDs for r are stale */
	CHECK_EQ(pg_unmap(r, VA, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 0);
	CHECK_EQ(switch_on(1, r), r | 2);               /* flushed on load */
	CHECK_EQ(switch_on(1, s), s | 1 | keep);        /* s untouched */
	CHECK_EQ(switch_on(1, r), r | 2 | keep);        /* clean again */
	pg_switch(r);
	CHECK_EQ(fake_cpu.cr3, r | 1);                  /* CPU 0's own slot was marked too */

	/* r runs on both: CPU 0 flushes itself, CPU 1 is shot and marked (it may switch away first) */
	CHECK_EQ(pg_map(r, VA, PA, 4096, RW), PG_OK);
	CHECK_EQ(pg_unmap(r, VA, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, 1);
	CHECK_EQ(fake_shootdowns.last_cpus, 1u << 1);
	pg_switch(s);
	pg_switch(r);
	CHECK_EQ(fake_cpu.cr3, r | 1 | keep);           /* CPU 0 flushed at once: nothing stale here */
	CHECK_EQ(switch_on(1, s), s | 1 | keep);
	CHECK_EQ(switch_on(1, r), r | 2);               /* ...but CPU 1's PCID for r was marked */

	/* a root destroyed is forgotten on every CPU: its frame, reused, starts clean everywhere */
	CHECK_EQ(switch_on(1, s), s | 1 | keep);
	pg_switch(s);
	pg_root_destroy(r);
	uint64_t r2 = pg_root_create();
	CHECK_EQ(r2, r);                                /* the buddy hands the frame back: the case to test */
	uint64_t cr3 = switch_on(1, r2);
	CHECK(!(cr3 & keep));
	CHECK((cr3 & 0xfff) != 2);                      /* CPU 1 gave r's PCID up: r2 gets a new one */
	pg_switch(r2);
	CHECK(!(fake_cpu.cr3 & keep));

	/* a root another CPU runs is not destroyed */
	pg_switch(s);
	uint64_t before = pmm_free_count();
	pg_root_destroy(r2);                            /* CPU 1 runs it */
	CHECK_EQ(pmm_free_count(), before);
	switch_on(1, s);
	pg_root_destroy(r2);
	CHECK_EQ(pmm_free_count(), before + 1);
	switch_on(1, 0);
	fake_cpu.cr3 = 0;
	pg_root_destroy(s);
	done();
}
