/*
 * policy_test.c - the VMM's rules that protect the rest of the kernel:
 * the failure policy of mm/failure.h (a broken invariant stops, a caller's
 * misuse is refused and changes nothing), MMIO regions that never alias
 * RAM, and no writable and executable mapping unless asked for.
 *
 * A broken invariant cannot be reached through the VMM's own calls, so the
 * tests break one on purpose: a mapping made behind the VMM's back with the
 * paging layer, in a region the VMM believes it alone fills.
 */
#include <string.h>
#include "vmm_test.h"
#include "fake_arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm_private.h"

#define PG 4096UL
#define MiB (1UL << 20)
#define URW (VM_READ | VM_WRITE | VM_USER)
#define BASE 0x40000000UL               /* 1 GiB: 2 MiB aligned */

static struct vm_space *space_with_demand(size_t len)
{
	struct vm_space *s = vmm_space_create();
	struct vm_req r = { .len = len, .kind = VM_DEMAND, .flags = URW };
	if (s && vmm_alloc_fixed(s, BASE, &r)) {
		vmm_space_destroy(s);
		return 0;
	}
	return s;
}

static bool panicked_in_vmm(void)
{
	return strncmp(fake_panic_msg, "vmm: ", 5) == 0;
}

/* ---- broken invariants stop the kernel ---- */

/*
 * A 2 MiB page in a demand region: the VMM maps only 4 KiB pages there, so
 * freeing (or re-protecting) it meets a state it never made. Before, it
 * went on: unmapped or re-protected one 4 KiB piece of the huge page and
 * gave its first frame to the buddy while the rest stayed mapped.
 */
static void policy_huge_page_in_demand_region_panics(void)
{
	vmm_test_boot(64);
	struct vm_space *s = space_with_demand(4 * MiB);
	REQUIRE(s);
	uint64_t pa = pmm_alloc(9, 0);
	REQUIRE(pa != PMM_NO_FRAME);
	REQUIRE(pg_map(vmm_space_root(s), BASE, pa, 2 * MiB, PG_READ | PG_WRITE | PG_USER | PG_SIZE_2M) == 0);
	CHECK(FAKE_PANICS(vmm_free(s, BASE + 3 * MiB, PG)) == 0);   /* the other half: nothing mapped */
	CHECK(FAKE_PANICS(vmm_free(s, BASE + MiB, PG)) == 1);
	CHECK(panicked_in_vmm());

	vmm_test_boot(64);                      /* the panic left the space locked */
	s = space_with_demand(4 * MiB);
	REQUIRE(s);
	pa = pmm_alloc(9, 0);
	REQUIRE(pa != PMM_NO_FRAME);
	REQUIRE(pg_map(vmm_space_root(s), BASE, pa, 2 * MiB, PG_READ | PG_WRITE | PG_USER | PG_SIZE_2M) == 0);
	CHECK(FAKE_PANICS(vmm_protect(s, BASE + MiB, PG, VM_READ | VM_USER)) == 1);
	CHECK(panicked_in_vmm());
}

/*
 * A page of a demand region maps a frame the buddy holds free: the VMM's
 * idea of what it owns is wrong. Before, pmm_free_page reported a double
 * free and vmm_free went on and returned 0.
 */
/*
 * A demand region of 16 pages whose page 5 maps a frame the buddy holds
 * free, behind the VMM's back; NULL if the set-up failed. The region's
 * tables are made first (by a fault), or pg_map would take the freed
 * frame for one.
 */
static struct vm_space *space_mapping_a_free_frame(void)
{
	vmm_test_boot(64);
	struct vm_space *s = space_with_demand(16 * PG);
	if (!s || vmm_fault(s, BASE, VM_ACC_WRITE | VM_ACC_USER, 0) != VMF_RESOLVED)
		return NULL;
	pa_t pa = pmm_alloc_page(0);
	if (pa == PMM_NO_FRAME || pmm_free_page(pa) ||
	    pg_map(vmm_space_root(s), BASE + 5 * PG, pa, PG, PG_READ | PG_WRITE | PG_USER))
		return NULL;
	return s;
}

static void policy_mapped_frame_not_allocated_panics(void)
{
	struct vm_space *s = space_mapping_a_free_frame();
	REQUIRE(s);
	CHECK(FAKE_PANICS(vmm_free(s, BASE, 16 * PG)) == 1);
	CHECK(panicked_in_vmm());
}

/* The same through vmm_space_destroy, which gives frames back its own way. */
static void policy_destroy_checks_its_frames(void)
{
	struct vm_space *s = space_mapping_a_free_frame();
	REQUIRE(s);
	CHECK(FAKE_PANICS(vmm_space_destroy(s)) == 1);
	CHECK(panicked_in_vmm());
}

/* Pages never touched are simply not there: freeing them is no error, and every frame comes back. */
static void policy_untouched_demand_pages_are_fine(void)
{
	vmm_test_boot(64);
	uint64_t free0 = pmm_free_count();
	struct vm_space *s = space_with_demand(300 * PG);
	REQUIRE(s);
	for (unsigned i = 0; i < 300; i += 7)
		REQUIRE(vmm_fault(s, BASE + i * PG, VM_ACC_WRITE | VM_ACC_USER, 0) == VMF_RESOLVED);
	CHECK(FAKE_PANICS(CHECK_EQ(vmm_free(s, BASE + 100 * PG, 150 * PG), 0)) == 0);
	CHECK(FAKE_PANICS(CHECK_EQ(vmm_protect(s, BASE, 100 * PG, VM_READ | VM_USER), 0)) == 0);
	CHECK(FAKE_PANICS(CHECK_EQ(vmm_free(s, BASE, 100 * PG), 0)) == 0);
	struct vm_stats st;
	vmm_stats(s, &st);
	CHECK_EQ(st.resident, 7);               /* 252, 259, ..., 294 */
	CHECK(FAKE_PANICS(vmm_space_destroy(s)) == 0);
	CHECK_EQ(pmm_free_count(), free0);
	CHECK_EQ(pmm_check(), 0);
}

/* A node the tree does not hold, removed: the tree and its owner disagree. */
static void policy_remove_of_absent_node_panics(void)
{
	struct vm_node a = { .r = { .base = 0x10000, .len = PG } }, b = { .r = { .base = 0x20000, .len = PG } };
	struct vm_node *root = 0;
	rt_insert(&root, &a);
	CHECK(FAKE_PANICS(rt_remove(&root, &b)) == 1);
	CHECK(panicked_in_vmm());
}

/* ---- misuse is refused and changes nothing ---- */

static void policy_destroy_misuse_is_refused(void)
{
	vmm_test_boot(64);
	struct vm_space *k = vmm_kernel_space();
	struct vm_space *a = vmm_space_create();
	REQUIRE(a);
	uint64_t free0 = pmm_free_count();
	int e = 0;
	CHECK(FAKE_PANICS(e = vmm_space_destroy(k)) == 0);
	CHECK_EQ(e, VMM_E_INVAL);
	CHECK_EQ(vmm_check(k), 0);
	vmm_switch(a);
	CHECK(FAKE_PANICS(e = vmm_space_destroy(a)) == 0);
	CHECK_EQ(e, VMM_E_IN_USE);
	CHECK_EQ(pmm_free_count(), free0);
	CHECK(vmm_current() == a);
	vmm_switch(k);
	CHECK_EQ(vmm_space_destroy(a), 0);
	CHECK_EQ(pmm_free_count(), free0 + 2);
}

/* ---- MMIO never names RAM ---- */

/* RAM is [1 MiB, 64 MiB) on the host (mm_boot.h); nothing else is. */
static void policy_pmm_range_has_ram(void)
{
	vmm_test_boot(64);
	CHECK(!pmm_range_has_ram(0, MiB));
	CHECK(pmm_range_has_ram(0, MiB + 1));
	CHECK(pmm_range_has_ram(MiB - 1, 2));
	CHECK(pmm_range_has_ram(64 * MiB - 1, 1));
	CHECK(!pmm_range_has_ram(64 * MiB, 64 * MiB));
	CHECK(pmm_range_has_ram(0, 1UL << 40));
	CHECK(!pmm_range_has_ram(5 * MiB, 0));                   /* no byte at all */
	CHECK(pmm_range_has_ram(5 * MiB, UINT64_MAX));           /* wraps: up to 2^64 */
	CHECK(pmm_range_has_ram(0, UINT64_MAX));
	CHECK(!pmm_range_has_ram(UINT64_MAX - PG + 1, 2 * PG));  /* wraps past 2^64 above RAM */
	CHECK(!pmm_range_has_ram(UINT64_MAX, 1));

	/*
	 * RAM the HHDM cannot reach yet is left out of the PMM (reachable),
	 * but it is still RAM: no device alias of it either.
	 */
	static const struct mem_range map[] = {
		{ MiB, 15 * MiB, MEM_AVAILABLE }, { 16 * MiB, 16 * MiB, MEM_RESERVED },
		{ 32 * MiB, 32 * MiB, MEM_AVAILABLE },
	};
	struct pmm_boot b = { map, 3, NULL, 0, 48 * MiB };
	REQUIRE(pmm_init(&b) == 0);
	CHECK(!pmm_range_has_ram(16 * MiB, 16 * MiB));           /* reserved, not RAM */
	CHECK(pmm_range_has_ram(16 * MiB, 16 * MiB + 1));
	CHECK(pmm_range_has_ram(15 * MiB, PG));
	CHECK(pmm_range_has_ram(56 * MiB, PG));                  /* above reachable */
	CHECK(!pmm_is_ram(56 * MiB));                            /* ... which the PMM does not manage */
	CHECK(!pmm_range_has_ram(64 * MiB, 1UL << 30));
	vmm_test_boot(64);
}

/*
 * An MMIO region over every byte of RAM, whose first and last pages are
 * not RAM: before, only those two pages were checked and it was made,
 * a user-writable alias of every frame (page tables included).
 */
static void policy_mmio_spanning_ram_is_refused(void)
{
	vmm_test_boot(64);
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	uint64_t free0 = pmm_free_count();
	struct vm_req io = { .len = 128 * MiB, .kind = VM_MMIO, .flags = URW, .pa = 0, .cache = VM_CACHE_UC };
	REQUIRE(!pmm_is_ram(io.pa) && !pmm_is_ram(io.pa + io.len - PG));
	uintptr_t va = 0;
	CHECK_EQ(vmm_alloc(s, &io, &va), VMM_E_INVAL);
	CHECK_EQ(vmm_alloc_fixed(s, BASE, &io), VMM_E_INVAL);
	io.pa = 63 * MiB, io.len = 2 * MiB;                     /* the last MiB of RAM and beyond */
	CHECK_EQ(vmm_alloc_fixed(s, BASE, &io), VMM_E_INVAL);
	struct vm_stats st;
	vmm_stats(s, &st);
	CHECK_EQ(st.regions, 0);
	CHECK_EQ(pmm_free_count(), free0);
	/* Next to RAM, but not on it: fine. */
	io.pa = 0, io.len = MiB;
	CHECK_EQ(vmm_alloc_fixed(s, BASE, &io), 0);
	io.pa = 64 * MiB, io.len = 64 * MiB;
	CHECK_EQ(vmm_alloc_fixed(s, BASE + MiB, &io), 0);
	CHECK_EQ(vmm_space_destroy(s), 0);
}

/* ---- W^X: writable and executable only when asked for ---- */

static void policy_wx_refused_unless_asked(void)
{
	vmm_test_boot(64);
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	uint64_t free0 = pmm_free_count();
	uintptr_t va = 0;
	unsigned wx = URW | VM_EXEC;
	static const enum vm_kind kinds[] = { VM_ANON, VM_DEMAND, VM_MMIO };
	for (unsigned i = 0; i < 3; i++) {
		struct vm_req r = { .len = 4 * PG, .kind = kinds[i], .flags = wx, .pa = 0x800000000 };
		CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_WX);
		CHECK_EQ(vmm_alloc_fixed(s, BASE, &r), VMM_E_WX);
	}
	struct vm_stats st;
	vmm_stats(s, &st);
	CHECK_EQ(st.regions, 0);
	CHECK_EQ(pmm_free_count(), free0);

	/* Nor by protecting a region into it. */
	struct vm_req d = { .len = 4 * PG, .kind = VM_DEMAND, .flags = URW };
	REQUIRE(vmm_alloc_fixed(s, BASE, &d) == 0);
	REQUIRE(vmm_fault(s, BASE, VM_ACC_WRITE | VM_ACC_USER, 0) == VMF_RESOLVED);
	CHECK_EQ(vmm_protect(s, BASE, 4 * PG, wx), VMM_E_WX);
	CHECK_EQ(vmm_protect(s, BASE + PG, PG, wx), VMM_E_WX);
	unsigned fl = 0;
	CHECK_EQ(pg_translate(vmm_space_root(s), BASE, 0, &fl, 0), 0);
	CHECK((fl & PG_WRITE) && !(fl & PG_EXEC));
	vmm_stats(s, &st);
	CHECK_EQ(st.regions, 1);
	/* Write or execute, each alone, stays fine. */
	CHECK_EQ(vmm_protect(s, BASE, 4 * PG, VM_READ | VM_EXEC | VM_USER), 0);
	CHECK_EQ(vmm_space_destroy(s), 0);
}

/* Asked for: the region is made and its pages are mapped writable and executable. */
static void policy_wx_when_asked(void)
{
	vmm_test_boot(64);
	uint64_t free0 = pmm_free_count();
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	unsigned wx = URW | VM_EXEC | VM_ALLOW_WX;
	struct vm_req a = { .len = 2 * PG, .kind = VM_ANON, .flags = wx };
	struct vm_req d = { .len = 2 * PG, .kind = VM_DEMAND, .flags = wx };
	struct vm_req io = { .len = PG, .kind = VM_MMIO, .flags = wx, .pa = 0x800000000 };
	uintptr_t va[3];
	REQUIRE(vmm_alloc(s, &a, &va[0]) == 0);
	REQUIRE(vmm_alloc(s, &d, &va[1]) == 0);
	REQUIRE(vmm_alloc(s, &io, &va[2]) == 0);
	CHECK_EQ(vmm_fault(s, va[1], VM_ACC_EXEC | VM_ACC_USER, 0), VMF_RESOLVED);
	for (unsigned i = 0; i < 3; i++) {
		unsigned fl = 0;
		CHECK_EQ(pg_translate(vmm_space_root(s), va[i], 0, &fl, 0), 0);
		CHECK((fl & PG_WRITE) && (fl & PG_EXEC));
		struct vm_region r;
		CHECK(vmm_lookup(s, va[i], &r) && r.flags == wx);
	}
	/* Protecting into W+X asks the same way; out of it needs nothing. */
	CHECK_EQ(vmm_protect(s, va[0], PG, URW), 0);
	CHECK_EQ(vmm_protect(s, va[0], PG, URW | VM_EXEC), VMM_E_WX);
	CHECK_EQ(vmm_protect(s, va[0], PG, wx), 0);
	CHECK_EQ(vmm_space_destroy(s), 0);
	CHECK_EQ(pmm_free_count(), free0);
}

/* ---- the paging layer's errors come back as the VMM errors that say the same ---- */

/*
 * Tables edited behind the VMM's back, a pa the CPU cannot address, no
 * frame for a table: each paging error reaches the caller as the vmm_error
 * of the same meaning (before, all but PG_E_NO_MEMORY were VMM_E_INVAL),
 * and the call changes nothing.
 */
static void policy_paging_errors_translated(void)
{
	vmm_test_boot(64);
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	pg_root_t root = vmm_space_root(s);
	struct vm_req anon = { .len = 4 * PG, .kind = VM_ANON, .flags = URW };
	struct vm_stats st;

	/* PG_E_EXISTS: a page mapped where the region's third page goes. */
	pa_t pa = pmm_alloc_page(0);
	REQUIRE(pa != PMM_NO_FRAME);
	REQUIRE(pg_map(root, BASE + 2 * PG, pa, PG, PG_READ | PG_USER) == 0);
	uint64_t free0 = pmm_free_count();
	CHECK_EQ(vmm_alloc_fixed(s, BASE, &anon), VMM_E_OVERLAP);
	CHECK_EQ(pmm_free_count(), free0);
	vmm_stats(s, &st);
	CHECK_EQ(st.regions, 0);
	CHECK_EQ(st.resident, 0);
	REQUIRE(pg_unmap(root, BASE + 2 * PG, PG) == 0);
	REQUIRE(pmm_free_page(pa) == 0);

	/* PG_E_NOT_MAPPED: a page of an anonymous region unmapped behind its back. */
	REQUIRE(vmm_alloc_fixed(s, BASE, &anon) == 0);
	unsigned fl = 0;
	REQUIRE(pg_translate(root, BASE + PG, &pa, &fl, 0) == 0);
	REQUIRE(pg_unmap(root, BASE + PG, PG) == 0);
	CHECK_EQ(vmm_protect(s, BASE, 4 * PG, VM_READ | VM_USER), VMM_E_NOT_MAPPED);
	CHECK_EQ(pg_translate(root, BASE, 0, &fl, 0), 0);
	CHECK(fl & PG_WRITE);                                   /* nothing re-protected */
	REQUIRE(pg_map(root, BASE + PG, pa, PG, PG_READ | PG_WRITE | PG_USER) == 0);
	CHECK_EQ(vmm_check(s), 0);

	/* PG_E_PHYS_RANGE: device memory beyond the CPU's 46 physical address bits. */
	struct vm_req io = { .len = PG, .kind = VM_MMIO, .flags = URW, .pa = 1UL << 50, .cache = VM_CACHE_UC };
	free0 = pmm_free_count();
	CHECK_EQ(vmm_alloc_fixed(s, BASE + 16 * PG, &io), VMM_E_INVAL);

	/* PG_E_NO_MEMORY: no frame for the tables of a range far from the others. */
	io.pa = 0xe0000000, io.len = 4 << 20;
	pmm_fail_nth(1);
	CHECK_EQ(vmm_alloc_fixed(s, 0x7f0000000000, &io), VMM_E_NO_MEMORY);
	pmm_fail_nth(0);
	CHECK_EQ(pmm_free_count(), free0);
	vmm_stats(s, &st);
	CHECK_EQ(st.regions, 1);
	CHECK_EQ(vmm_space_destroy(s), 0);
}

void policy_tests(void)
{
	RUN(policy_huge_page_in_demand_region_panics);
	RUN(policy_mapped_frame_not_allocated_panics);
	RUN(policy_destroy_checks_its_frames);
	RUN(policy_untouched_demand_pages_are_fine);
	RUN(policy_remove_of_absent_node_panics);
	RUN(policy_destroy_misuse_is_refused);
	RUN(policy_pmm_range_has_ram);
	RUN(policy_mmio_spanning_ram_is_refused);
	RUN(policy_wx_refused_unless_asked);
	RUN(policy_wx_when_asked);
	RUN(policy_paging_errors_translated);
}
