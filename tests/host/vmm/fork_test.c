/*
 * fork_test.c - copy-on-write (src/mm/vmm/fork.c) against what it must
 * do: a fork copies no page and shares every one; a write copies exactly
 * the page written, once; the last holder takes its page back without a
 * copy; mprotect cannot make a shared page writable; every frame comes
 * back when the spaces go, in any order; and a fork that runs out of
 * memory at any allocation leaves every count where it was.
 */
#include <string.h>
#include "vmm_test.h"
#include "fake_arch.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"

#define PG 4096UL
#define URW (VM_READ | VM_WRITE | VM_USER)
#define UW (VM_ACC_WRITE | VM_ACC_USER)
#define BASE 0x40000000UL
#define ANON_PAGES 8
#define DEMAND_PAGES 16
#define DEMAND (BASE + 0x100000)

static uint64_t pa_of(struct vm_space *s, uintptr_t va, unsigned *flags)
{
	uint64_t pa;
	if (pg_translate(vmm_space_root(s), va, &pa, flags, 0))
		return 0;
	return pa;
}

/* A user write to va of s as the CPU would make it: fault first if the tables refuse it. */
static bool write_byte(struct vm_space *s, uintptr_t va, uint8_t v)
{
	unsigned fl;
	uint64_t pa = pa_of(s, va, &fl);
	if (!pa || !(fl & PG_WRITE)) {
		if (vmm_fault(s, va, UW | (pa ? VM_ACC_PRESENT : 0), 0) != VMF_RESOLVED)
			return false;
		pa = pa_of(s, va, &fl);
	}
	if (!pa || !(fl & PG_WRITE))
		return false;
	*(uint8_t *)phys_to_virt(pa + (va & (PG - 1))) = v;
	return true;
}

static uint8_t read_byte(struct vm_space *s, uintptr_t va)
{
	uint64_t pa = pa_of(s, va, 0);
	return pa ? *(uint8_t *)phys_to_virt(pa + (va & (PG - 1))) : 0;
}

/* A space with an anon region (every page written), a guard, and a demand region half touched. */
static struct vm_space *parent_space(void)
{
	struct vm_space *s = vmm_space_create();
	struct vm_req a = { .len = ANON_PAGES * PG, .kind = VM_ANON, .flags = URW };
	struct vm_req g = { .len = PG, .kind = VM_GUARD };
	struct vm_req d = { .len = DEMAND_PAGES * PG, .kind = VM_DEMAND, .flags = URW };
	if (!s || vmm_alloc_fixed(s, BASE, &a) || vmm_alloc_fixed(s, BASE + ANON_PAGES * PG, &g) ||
	    vmm_alloc_fixed(s, DEMAND, &d))
		return 0;
	for (unsigned i = 0; i < ANON_PAGES; i++)
		if (!write_byte(s, BASE + i * PG, (uint8_t)(0x10 + i)))
			return 0;
	for (unsigned i = 0; i < DEMAND_PAGES; i += 2)
		if (!write_byte(s, DEMAND + i * PG + 7, (uint8_t)(0x40 + i)))
			return 0;
	return s;
}

#define RESIDENT (ANON_PAGES + DEMAND_PAGES / 2)

static void fork_shares_then_copies(void)
{
	vmm_test_boot(64);
	struct vm_space *p = parent_space(), *c;
	REQUIRE(p);
	uint64_t before = pmm_free_count(), shared = 0;
	REQUIRE(vmm_fork(p, &c, &shared) == 0);
	CHECK_EQ(shared, RESIDENT);
	CHECK_EQ(vmm_check(p), 0);
	CHECK_EQ(vmm_check(c), 0);
	/* No frame copied: what the fork took is the child's tables and its own page. */
	struct vm_stats sp, sc;
	vmm_stats(p, &sp);
	vmm_stats(c, &sc);
	CHECK_EQ(before - pmm_free_count(), sc.tables + sc.node_pages);
	CHECK_EQ(sp.shared, RESIDENT);
	CHECK_EQ(sc.shared, RESIDENT);
	CHECK_EQ(sc.resident, RESIDENT);
	CHECK_EQ(sc.regions, 3);
	for (unsigned i = 0; i < ANON_PAGES; i++) {
		unsigned fp, fc;
		uint64_t a = pa_of(p, BASE + i * PG, &fp), b = pa_of(c, BASE + i * PG, &fc);
		CHECK(a && a == b);
		CHECK(!(fp & PG_WRITE) && !(fc & PG_WRITE));
		CHECK_EQ(pmm_frame_refcount(a), 2);
		CHECK_EQ(read_byte(c, BASE + i * PG), 0x10 + i);
	}
	CHECK(!pa_of(c, DEMAND + PG, 0));                       /* untouched stays untouched */
	/* The guard came along: a touch there is still refused. */
	CHECK_EQ(vmm_fault(c, BASE + ANON_PAGES * PG, VM_ACC_USER, 0), VMF_GUARD);

	/* The child writes page 3: it alone gets a copy, the parent keeps the frame. */
	uint64_t old = pa_of(p, BASE + 3 * PG, 0), free0 = pmm_free_count();
	CHECK(write_byte(c, BASE + 3 * PG + 1, 0xee));
	uint64_t mine = pa_of(c, BASE + 3 * PG, 0);
	CHECK(mine && mine != old);
	CHECK_EQ(free0 - pmm_free_count(), 1);
	CHECK_EQ(read_byte(c, BASE + 3 * PG), 0x13);            /* the copy holds the old bytes */
	CHECK_EQ(read_byte(c, BASE + 3 * PG + 1), 0xee);
	CHECK_EQ(read_byte(p, BASE + 3 * PG + 1), 0);           /* the parent sees none of it */
	CHECK_EQ(pmm_frame_refcount(old), 1);
	CHECK_EQ(pmm_frame_refcount(mine), 1);
	/* The parent writes the same page: its frame is its alone now, taken back without a copy. */
	free0 = pmm_free_count();
	CHECK(write_byte(p, BASE + 3 * PG + 2, 0xdd));
	CHECK_EQ(pa_of(p, BASE + 3 * PG, 0), old);
	CHECK_EQ(free0, pmm_free_count());
	CHECK_EQ(read_byte(c, BASE + 3 * PG + 2), 0);
	vmm_stats(p, &sp);
	vmm_stats(c, &sc);
	CHECK_EQ(sc.cow_copied, 1);
	CHECK_EQ(sp.cow_copied, 0);
	CHECK_EQ(sp.cow_reused, 1);
	CHECK_EQ(sp.shared, RESIDENT - 1);
	/* A demand page the parent touches after the fork is its own, not the child's. */
	CHECK(write_byte(p, DEMAND + PG, 0x77));
	CHECK(!pa_of(c, DEMAND + PG, 0));
	CHECK_EQ(vmm_check(p), 0);
	CHECK_EQ(vmm_check(c), 0);
	CHECK_EQ(vmm_space_destroy(c), 0);
	for (unsigned i = 0; i < ANON_PAGES; i++)
		CHECK_EQ(pmm_frame_refcount(pa_of(p, BASE + i * PG, 0)), 1);
	/* Every shared page is the parent's alone again: writes take them back, none is copied. */
	free0 = pmm_free_count();
	for (unsigned i = 0; i < ANON_PAGES; i++)
		CHECK(write_byte(p, BASE + i * PG + 3, 1));
	CHECK_EQ(free0, pmm_free_count());
	CHECK_EQ(vmm_space_destroy(p), 0);
}

/* mprotect to writable in a forked space: a shared page must still fault, and copy. */
static void fork_protect_keeps_sharing(void)
{
	vmm_test_boot(64);
	struct vm_space *p = parent_space(), *c;
	REQUIRE(p);
	REQUIRE(vmm_fork(p, &c, 0) == 0);
	CHECK_EQ(vmm_protect(p, BASE, ANON_PAGES * PG, VM_READ | VM_USER), 0);
	CHECK_EQ(vmm_protect(p, BASE, ANON_PAGES * PG, URW), 0);
	CHECK_EQ(vmm_protect(c, DEMAND, DEMAND_PAGES * PG, URW), 0);
	unsigned fl;
	CHECK(pa_of(p, BASE + 5 * PG, &fl) && !(fl & PG_WRITE));
	CHECK(pa_of(c, DEMAND + 2 * PG, &fl) && !(fl & PG_WRITE));
	CHECK(write_byte(p, BASE + 5 * PG, 0x99));
	CHECK(pa_of(p, BASE + 5 * PG, 0) != pa_of(c, BASE + 5 * PG, 0));
	CHECK_EQ(read_byte(c, BASE + 5 * PG), 0x15);
	CHECK_EQ(vmm_check(p), 0);
	vmm_space_destroy(p);                                   /* the parent first this time */
	CHECK_EQ(read_byte(c, BASE + 5 * PG), 0x15);
	CHECK(write_byte(c, BASE + 5 * PG, 0x55));              /* the last holder: no copy */
	vmm_space_destroy(c);
}

/* A chain of forks, the spaces destroyed middle first: every frame back. */
static void fork_chain_gives_back(void)
{
	vmm_test_boot(64);
	pmm_drain_all_caches();
	uint64_t start = pmm_free_count();
	struct vm_space *s[4];
	s[0] = parent_space();
	REQUIRE(s[0]);
	for (int i = 1; i < 4; i++) {
		REQUIRE(vmm_fork(s[i - 1], &s[i], 0) == 0);
		CHECK(write_byte(s[i], BASE + (unsigned)i * PG, (uint8_t)i));
	}
	CHECK_EQ(pmm_frame_refcount(pa_of(s[3], BASE + 7 * PG, 0)), 4);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(read_byte(s[i], BASE + 2 * PG), i >= 2 ? 2 : 0x12);
	int order[4] = { 1, 3, 0, 2 };
	for (int k = 0; k < 4; k++) {
		CHECK_EQ(vmm_space_destroy(s[order[k]]), 0);
		for (int j = k + 1; j < 4; j++)
			CHECK_EQ(vmm_check(s[order[j]]), 0);
	}
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), start);
	CHECK_EQ(pmm_check(), 0);
}

/* Failure at each allocation a fork makes: -NO_MEMORY, and every count as it was. */
static void fork_out_of_memory_leaves_nothing(void)
{
	vmm_test_boot(64);
	struct vm_space *p = parent_space();
	REQUIRE(p);
	uint64_t pas[ANON_PAGES];
	for (unsigned i = 0; i < ANON_PAGES; i++)
		pas[i] = pa_of(p, BASE + i * PG, 0);
	unsigned failed = 0;
	for (unsigned nth = 1; nth <= 40; nth++) {
		pmm_drain_all_caches();
		uint64_t before = pmm_free_count();
		struct vm_space *c = (struct vm_space *)1;
		pmm_fail_nth(nth);
		int e = vmm_fork(p, &c, 0);
		pmm_fail_nth(0);
		if (e) {
			failed++;
			CHECK_EQ(e, VMM_E_NO_MEMORY);
			CHECK(c == NULL);
		} else {
			CHECK_EQ(vmm_space_destroy(c), 0);
		}
		pmm_drain_all_caches();
		CHECK_EQ(pmm_free_count(), before);
		for (unsigned i = 0; i < ANON_PAGES; i++) {
			CHECK_EQ(pa_of(p, BASE + i * PG, 0), pas[i]);
			CHECK_EQ(pmm_frame_refcount(pas[i]), 1);
		}
		CHECK_EQ(vmm_check(p), 0);
	}
	CHECK(failed >= 3);             /* the space's page, its root, tables: each was refused once */
	for (unsigned i = 0; i < ANON_PAGES; i++)
		CHECK_EQ(read_byte(p, BASE + i * PG), 0x10 + i);
	vmm_space_destroy(p);
}

void fork_tests(void)
{
	RUN(fork_shares_then_copies);
	RUN(fork_protect_keeps_sharing);
	RUN(fork_chain_gives_back);
	RUN(fork_out_of_memory_leaves_nothing);
}
