/*
 * fault_test.c - vmm_fault driven with synthetic faults: every way a fault
 * is resolved and every way it is refused, its explanation, its counters,
 * fault-around, and running out of frames.
 */
#include <string.h>
#include "vmm_test.h"
#include "fake_arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"

#define PG 4096UL
#define URW (VM_READ | VM_WRITE | VM_USER)
#define UW (VM_ACC_WRITE | VM_ACC_USER)
#define BASE 0x40000000UL

static struct vm_space *space_with(enum vm_kind kind, unsigned flags, size_t pages)
{
	struct vm_space *s = vmm_space_create();
	struct vm_req r = { .len = pages * PG, .kind = kind, .flags = flags };
	if (s && vmm_alloc_fixed(s, BASE, &r)) {
		vmm_space_destroy(s);
		return 0;
	}
	return s;
}

static bool page_is_zero(struct vm_space *s, uintptr_t va)
{
	uint64_t pa;
	if (pg_translate(vmm_space_root(s), va, &pa, 0, 0))
		return false;
	const uint8_t *p = phys_to_virt(pa);
	for (size_t i = 0; i < PG; i++)
		if (p[i])
			return false;
	return true;
}

static void fault_demand_once_per_page(void)
{
	vmm_test_boot(64);
	uint64_t free0 = pmm_free_count();
	struct vm_space *s = space_with(VM_DEMAND, URW, 16);
	REQUIRE(s);
	/* Dirty frames the buddy will hand out again: the fault must zero them. */
	for (int i = 0; i < 64; i++) {
		uint64_t pa = pmm_alloc_page(0);
		memset(phys_to_virt(pa), 0xa5, PG);
		pmm_free_page(pa);
	}
	for (unsigned i = 0; i < 16; i++) {
		CHECK_EQ(pg_translate(vmm_space_root(s), BASE + i * PG, 0, 0, 0), PG_E_NOT_MAPPED);
		CHECK_EQ(vmm_fault(s, BASE + i * PG + 123, UW, 0), VMF_RESOLVED);
		CHECK(page_is_zero(s, BASE + i * PG));
	}
	struct vm_stats st;
	vmm_stats(s, &st);
	CHECK_EQ(st.faults, 16);
	CHECK_EQ(st.faults_resolved, 16);
	CHECK_EQ(st.resident, 16);
	unsigned fl;
	CHECK_EQ(pg_translate(vmm_space_root(s), BASE, 0, &fl, 0), 0);
	CHECK_EQ(fl & (PG_READ | PG_WRITE | PG_USER | PG_EXEC), PG_READ | PG_WRITE | PG_USER);
	/* A fault on a page that is there (a stale TLB entry) maps nothing more. */
	uint64_t before = pmm_free_count();
	CHECK_EQ(vmm_fault(s, BASE, UW | VM_ACC_PRESENT, 0), VMF_RESOLVED);
	CHECK_EQ(pmm_free_count(), before);
	vmm_stats(s, &st);
	CHECK_EQ(st.resident, 16);
	CHECK_EQ(st.faults, 17);
	CHECK_EQ(vmm_check(s), 0);
	vmm_space_destroy(s);
	CHECK_EQ(pmm_free_count(), free0);
}

static void expect(struct vm_space *s, uintptr_t va, unsigned acc, enum vm_fault_why want, const char *text)
{
	struct vm_fault f;
	char buf[200];
	uint64_t free0 = pmm_free_count();
	CHECK_EQ(vmm_fault(s, va, acc, &f), want);
	CHECK_EQ(f.why, want);
	CHECK_EQ(f.addr, va);
	CHECK_EQ(pmm_free_count(), free0);
	vmm_fault_explain(&f, buf, sizeof(buf));
	printf("# %s\n", buf);
	CHECK(strstr(buf, text) != 0);
	char hex[32];
	snprintf(hex, sizeof(hex), "%lx", (unsigned long)va);
	CHECK(strstr(buf, hex) != 0);
}

static void fault_refusals_explained(void)
{
	vmm_test_boot(64);
	uint64_t free0 = pmm_free_count();
	struct vm_space *s = space_with(VM_DEMAND, VM_READ | VM_USER, 4);
	REQUIRE(s);
	struct vm_req g = { .len = PG, .kind = VM_GUARD };
	struct vm_req x = { .len = PG, .kind = VM_DEMAND, .flags = VM_READ | VM_EXEC | VM_USER };
	struct vm_req a = { .len = PG, .kind = VM_ANON, .flags = URW };
	REQUIRE(vmm_alloc_fixed(s, BASE + 4 * PG, &g) == 0);
	REQUIRE(vmm_alloc_fixed(s, BASE + 8 * PG, &x) == 0);
	REQUIRE(vmm_alloc_fixed(s, BASE + 12 * PG, &a) == 0);

	expect(s, BASE - 1, VM_ACC_USER, VMF_NO_REGION, "no region");
	expect(s, 0, VM_ACC_USER, VMF_NO_REGION, "no region");                 /* null pointer */
	expect(s, BASE + 4 * PG + 8, VM_ACC_USER, VMF_GUARD, "guard");
	expect(s, BASE + 8, UW, VMF_WRITE_RO, "read-only region");
	expect(s, BASE + 8, VM_ACC_EXEC | VM_ACC_USER, VMF_EXEC_NX, "no-execute");
	CHECK_EQ(vmm_fault(s, BASE + 8 * PG, VM_ACC_EXEC | VM_ACC_USER, 0), VMF_RESOLVED);
	/* The kernel touching a present user page faults only because of SMAP. */
	expect(s, BASE + 12 * PG, VM_ACC_WRITE | VM_ACC_PRESENT, VMF_KERNEL_USER, "SMAP");
	/* A page missing from a region that is not on demand is a bug, and said to be one. */
	uint64_t pa;
	REQUIRE(pg_translate(vmm_space_root(s), BASE + 12 * PG, &pa, 0, 0) == 0);
	REQUIRE(pg_unmap(vmm_space_root(s), BASE + 12 * PG, PG) == 0);
	uint64_t f1 = pmm_free_count();
	CHECK_EQ(vmm_fault(s, BASE + 12 * PG, UW, 0), VMF_NOT_DEMAND);
	CHECK_EQ(pmm_free_count(), f1);
	REQUIRE(pg_map(vmm_space_root(s), BASE + 12 * PG, pa, PG, PG_READ | PG_WRITE | PG_USER) == 0);
	/* User mode at a kernel address: judged by the kernel's space, whichever is current. */
	struct vm_req k = { .len = PG, .kind = VM_DEMAND, .flags = VM_READ | VM_WRITE };
	REQUIRE(vmm_alloc_fixed(vmm_kernel_space(), VMM_KHEAP_BASE, &k) == 0);
	expect(s, VMM_KHEAP_BASE, UW, VMF_USER_KERNEL, "user access to a kernel region");
	expect(s, VMM_KHEAP_BASE - PG, 0, VMF_NO_REGION, "no region");        /* the HHDM is not ours */
	CHECK_EQ(vmm_free(vmm_kernel_space(), VMM_KHEAP_BASE, PG), 0);

	struct vm_stats st;
	vmm_stats(s, &st);
	/* On the host (vmm.h) the page below the kernel window is the process's: one more here. */
	CHECK_EQ(st.faults, VMM_KHEAP_BASE >> 63 ? 8 : 9);
	CHECK_EQ(st.faults_resolved, 1);
	CHECK_EQ(vmm_check(s), 0);
	vmm_space_destroy(s);
	CHECK_EQ(pmm_free_count(), free0);
}

static void fault_out_of_frames(void)
{
	vmm_test_boot(64);
	struct vm_space *s = space_with(VM_DEMAND, URW, 4);
	REQUIRE(s);
	/* 1: the frame itself; 2..4: the tables under it (a fresh part of the space). */
	for (unsigned n = 1; n <= 4; n++) {
		uint64_t free0 = pmm_free_count();
		pmm_fail_nth(n);
		struct vm_fault f;
		CHECK_EQ(vmm_fault(s, BASE, UW, &f), VMF_NO_FRAME);
		pmm_fail_nth(0);
		CHECK_EQ(pmm_free_count(), free0);
		CHECK_EQ(pg_translate(vmm_space_root(s), BASE, 0, 0, 0), PG_E_NOT_MAPPED);
		CHECK_EQ(vmm_check(s), 0);
	}
	CHECK_EQ(vmm_fault(s, BASE, UW, 0), VMF_RESOLVED);
	vmm_space_destroy(s);
}

static void fault_around_maps_neighbours(void)
{
	vmm_test_boot(64);
	struct vm_space *s = space_with(VM_DEMAND, URW, 20);
	REQUIRE(s);
	vmm_set_fault_around(7);
	struct vm_stats st;
	CHECK_EQ(vmm_fault(s, BASE + 2 * PG, UW, 0), VMF_RESOLVED);     /* maps 2..9 */
	vmm_stats(s, &st);
	CHECK_EQ(st.resident, 8);
	CHECK_EQ(pg_translate(vmm_space_root(s), BASE + 1 * PG, 0, 0, 0), PG_E_NOT_MAPPED);
	CHECK_EQ(vmm_fault(s, BASE + 0 * PG, UW, 0), VMF_RESOLVED);     /* 0, 1, skips 2..8 */
	vmm_stats(s, &st);
	CHECK_EQ(st.resident, 10);
	CHECK_EQ(vmm_fault(s, BASE + 16 * PG, UW, 0), VMF_RESOLVED);    /* 16..19: stops at the end */
	vmm_stats(s, &st);
	CHECK_EQ(st.resident, 14);
	CHECK_EQ(pg_translate(vmm_space_root(s), BASE + 20 * PG, 0, 0, 0), PG_E_NOT_MAPPED);
	CHECK_EQ(st.faults, 3);
	/* Out of frames for the neighbours is no failure: the page asked for is there. */
	pmm_fail_nth(2);
	CHECK_EQ(vmm_fault(s, BASE + 10 * PG, UW, 0), VMF_RESOLVED);
	pmm_fail_nth(0);
	vmm_stats(s, &st);
	CHECK_EQ(st.resident, 15);
	CHECK_EQ(vmm_check(s), 0);
	vmm_set_fault_around(0);
	vmm_space_destroy(s);
}

/* Protection changes reach pages already faulted in, and faults after them. */
static void fault_after_protect(void)
{
	vmm_test_boot(64);
	struct vm_space *s = space_with(VM_DEMAND, URW, 8);
	REQUIRE(s);
	CHECK_EQ(vmm_fault(s, BASE + 3 * PG, UW, 0), VMF_RESOLVED);
	CHECK_EQ(vmm_protect(s, BASE + 2 * PG, 4 * PG, VM_READ | VM_USER), 0);
	unsigned fl;
	CHECK_EQ(pg_translate(vmm_space_root(s), BASE + 3 * PG, 0, &fl, 0), 0);
	CHECK(!(fl & PG_WRITE));
	CHECK_EQ(vmm_fault(s, BASE + 3 * PG, UW | VM_ACC_PRESENT, 0), VMF_WRITE_RO);
	CHECK_EQ(vmm_fault(s, BASE + 1 * PG, UW, 0), VMF_RESOLVED);
	CHECK_EQ(vmm_fault(s, BASE + 6 * PG, UW, 0), VMF_RESOLVED);
	CHECK_EQ(vmm_fault(s, BASE + 5 * PG, VM_ACC_USER, 0), VMF_RESOLVED);
	CHECK_EQ(pg_translate(vmm_space_root(s), BASE + 5 * PG, 0, &fl, 0), 0);
	CHECK(!(fl & PG_WRITE));
	struct vm_region r;
	CHECK(vmm_lookup(s, BASE + 4 * PG, &r));
	CHECK_EQ(r.base, BASE + 2 * PG);
	CHECK_EQ(r.len, 4 * PG);
	CHECK_EQ(r.resident, 2);
	CHECK_EQ(vmm_check(s), 0);
	/* Tables changed behind the VMM's back: said to be a bug, never "resolved" (a loop). */
	REQUIRE(pg_protect(vmm_space_root(s), BASE + 1 * PG, PG, PG_READ | PG_USER) == 0);
	CHECK_EQ(vmm_fault(s, BASE + 1 * PG, UW | VM_ACC_PRESENT, 0), VMF_MISMATCH);
	vmm_space_destroy(s);
}

/*
 * PROT_NONE: a process region of VM_READ alone. The process may not touch
 * it, resident or not; its pages stay, kernel-only, and come back to the
 * process with VM_USER.
 */
static void fault_no_access_region(void)
{
	vmm_test_boot(64);
	struct vm_space *s = space_with(VM_DEMAND, URW, 4);
	REQUIRE(s);
	CHECK_EQ(vmm_fault(s, BASE, UW, 0), VMF_RESOLVED);
	uint64_t pa0;
	REQUIRE(pg_translate(vmm_space_root(s), BASE, &pa0, 0, 0) == 0);
	CHECK_EQ(vmm_protect(s, BASE, 4 * PG, VM_READ), 0);
	unsigned fl;
	CHECK_EQ(pg_translate(vmm_space_root(s), BASE, 0, &fl, 0), 0);
	CHECK(!(fl & PG_USER));
	expect(s, BASE + 8, VM_ACC_USER | VM_ACC_PRESENT, VMF_USER_KERNEL, "user");
	expect(s, BASE + PG, VM_ACC_USER, VMF_USER_KERNEL, "user");
	CHECK_EQ(vmm_protect(s, BASE, 4 * PG, URW), 0);
	uint64_t pa1;
	CHECK_EQ(pg_translate(vmm_space_root(s), BASE, &pa1, &fl, 0), 0);
	CHECK_EQ(pa1, pa0);                     /* the same frame: the data stayed */
	CHECK(fl & PG_USER);
	/* Without VM_USER only VM_READ alone is allowed in a process space. */
	struct vm_req r = { .len = PG, .kind = VM_DEMAND, .flags = VM_READ | VM_WRITE };
	CHECK_EQ(vmm_alloc_fixed(s, BASE + 8 * PG, &r), VMM_E_INVAL);
	r.flags = VM_READ;
	CHECK_EQ(vmm_alloc_fixed(s, BASE + 8 * PG, &r), VMM_OK);
	CHECK_EQ(vmm_check(s), 0);
	vmm_space_destroy(s);
}

void fault_tests(void)
{
	RUN(fault_demand_once_per_page);
	RUN(fault_refusals_explained);
	RUN(fault_out_of_frames);
	RUN(fault_around_maps_neighbours);
	RUN(fault_after_protect);
	RUN(fault_no_access_region);
}
