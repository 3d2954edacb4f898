/*
 * fork.c - what copy-on-write fork saves, measured in the kernel on
 * process spaces with 1, 16 and 64 MiB resident.
 *
 *   fork_cow_<n>m     vmm_fork of the space: the child maps every frame
 *                     read-only and the parent's PTEs lose their write
 *                     bit; no page is copied. One fork an op.
 *   fork_eager_<n>m   the same space copied the way fork worked before
 *                     copy-on-write, with the VMM's public calls only:
 *                     each region again in a fresh space (anonymous ones
 *                     as VM_ANON: zeroed frames, taken at once), then each
 *                     mapped page memcpy'd through the HHDM. One copy an op.
 *   fork_copy_fault   the first write to a shared page after a fork, in
 *                     the child: vmm_fault copies the frame. Per page.
 *   fork_reuse_fault  then the parent's write to the same page: the frame
 *                     is its alone again (count 1), made writable, no copy.
 *   fork_zero_fault   a demand-zero write fault on a fresh region, the
 *                     cost the copy fault is set against.
 *
 * Each is the best of a few runs, on the same parent space; fewer at 64
 * MiB, since under -icount ring 0 runs at TCG's speed. frames_taken is
 * what the buddy gave (pmm_free_count before and after): the child's
 * tables and nodes for a fork, every page again for an eager copy. No CR3
 * is loaded: vmm_fault is called as the #PF handler calls it, so the trap
 * is not in these figures (bench/vmm.c's vmm_demand_fault has one).
 */
#include "bench/bench.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/vmm/vmm.h"

#define URW (VM_READ | VM_WRITE | VM_USER)
#define UVA 0x10000000UL
#define FAULT_PAGES 4096        /* 16 MiB, as bench/vmm.c's faults */
#define FAULT_RUNS 3
#define MAX_REGIONS 16

static const struct { unsigned mib, runs; } sizes[] = { { 1, 5 }, { 16, 3 }, { 64, 1 } };

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* A process-like space: a heap of pages, each written once (a demand fault). NULL if short of memory. */
static struct vm_space *space_touched(size_t pages)
{
	struct vm_space *s = vmm_space_create();
	struct vm_req r = { .len = pages * PAGE_SIZE, .kind = VM_DEMAND, .flags = URW };
	if (!s)
		return NULL;
	if (vmm_alloc_fixed(s, UVA, &r))
		goto fail;
	for (size_t i = 0; i < pages; i++)
		if (vmm_fault(s, UVA + i * PAGE_SIZE, VM_ACC_WRITE | VM_ACC_USER, 0) != VMF_RESOLVED)
			goto fail;
	return s;
fail:
	vmm_space_destroy(s);
	return NULL;
}

/* ---- the eager copy ------------------------------------------------------- */

struct regions {
	unsigned n;
	bool overflow;
	struct vm_region r[MAX_REGIONS];
};

/* vmm_for_each callback: keep a copy, since fn may not call into the VMM for the space walked. */
static void collect(const struct vm_region *r, void *arg)
{
	struct regions *rs = arg;
	if (rs->n < MAX_REGIONS)
		rs->r[rs->n++] = *r;
	else
		rs->overflow = true;
}

/* Region r of p again in c, at the same address, and a copy of each page p maps in it. */
static int copy_region(struct vm_space *p, struct vm_space *c, const struct vm_region *r, uint64_t *copied)
{
	bool anon = r->kind == VM_ANON || r->kind == VM_DEMAND;
	struct vm_req q = { .len = r->len, .kind = anon ? VM_ANON : r->kind, .flags = r->flags,
			    .cache = r->cache, .pa = r->pa };
	int e = vmm_alloc_fixed(c, r->base, &q);
	if (e || !anon)
		return e;
	pg_root_t from = vmm_space_root(p), to = vmm_space_root(c);
	for (va_t va = r->base; va < r->base + r->len; va += PAGE_SIZE) {
		pa_t spa, dpa;
		if (pg_translate(from, va, &spa, 0, 0))
			continue;               /* never touched: the copy's page stays zero */
		if (pg_translate(to, va, &dpa, 0, 0))
			return VMM_E_NOT_MAPPED;
		memcpy(phys_to_virt(dpa), phys_to_virt(spa), PAGE_SIZE);
		(*copied)++;
	}
	return 0;
}

/* A fork without copy-on-write: a new space with p's regions and its own copy of every page. */
static int fork_eager(struct vm_space *p, struct vm_space **child, uint64_t *copied)
{
	static struct regions rs;       /* off the stack; the bench runs on one CPU */
	rs.n = 0, rs.overflow = false;
	vmm_for_each(p, collect, &rs);
	if (rs.overflow)
		return VMM_E_INVAL;
	struct vm_space *c = vmm_space_create();
	if (!c)
		return VMM_E_NO_MEMORY;
	*copied = 0;
	for (unsigned i = 0; i < rs.n; i++) {
		int e = copy_region(p, c, &rs.r[i], copied);
		if (e) {
			vmm_space_destroy(c);
			return e;
		}
	}
	*child = c;
	return 0;
}

/* ---- fork against the eager copy ------------------------------------------------ */

/* One fork (eager or not) of p, destroyed at once: its cycles, or 0 on failure; *taken the frames it held. */
static uint64_t fork_once(struct vm_space *p, bool eager, uint64_t *n, int64_t *taken)
{
	struct vm_space *c;
	uint64_t free0 = pmm_free_count();
	uint64_t t0 = bench_cycles();
	int e = eager ? fork_eager(p, &c, n) : vmm_fork(p, &c, n);
	uint64_t t = bench_cycles() - t0;
	if (e) {
		kprintf("bench: fork: %s fork failed: %s\n", eager ? "eager" : "cow", vmm_error_str(e));
		return 0;
	}
	*taken = (int64_t)(free0 - pmm_free_count());
	vmm_space_destroy(c);
	return t;
}

static void bench_fork_size(unsigned mib, unsigned runs)
{
	size_t pages = (size_t)mib << (20 - PAGE_SHIFT);
	struct vm_space *p = space_touched(pages);
	if (!p) {
		kprintf("bench: fork_%um: no memory for the parent\n", mib);
		return;
	}
	uint64_t resident = vmm_resident(p), cow = ~0ULL, eager = ~0ULL, shared = 0, copied = 0;
	int64_t cow_taken = 0, eager_taken = 0;
	for (unsigned run = 0; run < runs; run++) {
		uint64_t c = fork_once(p, false, &shared, &cow_taken);
		uint64_t e = c ? fork_once(p, true, &copied, &eager_taken) : 0;
		if (!e)
			goto out;
		cow = min64(cow, c), eager = min64(eager, e);
	}
	char name[32], extra[128];
	ksnprintf(name, sizeof(name), "fork_cow_%um", mib);
	ksnprintf(extra, sizeof(extra), "resident_pages=%lu shared=%lu frames_taken=%ld copied=0 runs=%u",
		  resident, shared, cow_taken, runs);
	bench_report(name, 1, cow, extra);
	/* The gain, in tenths: eager cycles over copy-on-write cycles. */
	uint64_t x10 = cow ? eager * 10 / cow : 0;
	ksnprintf(name, sizeof(name), "fork_eager_%um", mib);
	ksnprintf(extra, sizeof(extra), "resident_pages=%lu frames_taken=%ld copied=%lu runs=%u eager_over_cow=%lu.%lu",
		  resident, eager_taken, copied, runs, x10 / 10, x10 % 10);
	bench_report(name, 1, eager, extra);
out:
	vmm_space_destroy(p);
}

/* ---- the first write after fork ----------------------------------------------------- */

/* Cycles for a write fault on each of FAULT_PAGES pages from UVA in s; 0 if one was not resolved. */
static uint64_t write_faults(struct vm_space *s, unsigned access)
{
	uint64_t t0 = bench_cycles();
	for (unsigned i = 0; i < FAULT_PAGES; i++)
		if (vmm_fault(s, UVA + (va_t)i * PAGE_SIZE, VM_ACC_WRITE | VM_ACC_USER | access, 0) != VMF_RESOLVED)
			return 0;
	return bench_cycles() - t0;
}

static void bench_cow_faults(void)
{
	struct vm_space *p = space_touched(FAULT_PAGES);
	uint64_t copy = ~0ULL, reuse = ~0ULL, zero = ~0ULL, copied = 0, reused = 0;
	if (!p) {
		kprintf("bench: fork: no memory for the fault runs\n");
		return;
	}
	for (unsigned run = 0; run < FAULT_RUNS; run++) {
		struct vm_space *c, *z;
		struct vm_stats cs, ps0, ps;
		if (vmm_fork(p, &c, 0))
			break;
		vmm_stats(p, &ps0);
		/* The child writes first: every page copied; then the parent's frames are its alone. */
		uint64_t tc = write_faults(c, VM_ACC_PRESENT);
		uint64_t tr = tc ? write_faults(p, VM_ACC_PRESENT) : 0;
		vmm_stats(c, &cs);
		vmm_stats(p, &ps);
		vmm_space_destroy(c);
		struct vm_req r = { .len = FAULT_PAGES * PAGE_SIZE, .kind = VM_DEMAND, .flags = URW };
		if (!(z = vmm_space_create()))
			break;
		uint64_t tz = vmm_alloc_fixed(z, UVA, &r) ? 0 : write_faults(z, 0);
		vmm_space_destroy(z);
		if (!tc || !tr || !tz) {
			kprintf("bench: fork: a write fault was not resolved\n");
			break;
		}
		copy = min64(copy, tc), reuse = min64(reuse, tr), zero = min64(zero, tz);
		copied = cs.cow_copied, reused = ps.cow_reused - ps0.cow_reused;
	}
	vmm_space_destroy(p);
	if (zero == ~0ULL)
		return;
	char extra[96];
	ksnprintf(extra, sizeof(extra), "cow_copied=%lu trap=no", copied);
	bench_report("fork_copy_fault", FAULT_PAGES, copy, extra);
	ksnprintf(extra, sizeof(extra), "cow_reused=%lu trap=no", reused);
	bench_report("fork_reuse_fault", FAULT_PAGES, reuse, extra);
	bench_report("fork_zero_fault", FAULT_PAGES, zero, "trap=no");
}

void bench_fork(void)
{
	uint64_t free0 = pmm_free_count();
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bench_fork_size(sizes[i].mib, sizes[i].runs);
	bench_cow_faults();
	uint64_t free1 = pmm_free_count();
	if (free1 != free0)
		kprintf("bench: fork: a frame was lost (free pages %lu before, %lu after)\n", free0, free1);
}
