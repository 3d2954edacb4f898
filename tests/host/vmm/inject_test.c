/*
 * inject_test.c - failure injected at every frame and node allocation:
 * the n-th allocation from the buddy fails, for n = 1, 2, ... until a run
 * goes through untouched. Every call that fails must leave its space as
 * it was, and at the end every frame must be back.
 */
#include "vmm_test.h"
#include "mm/buddy/buddy.h"

#define PG 4096UL
#define URW (VM_READ | VM_WRITE | VM_USER)

struct state { uint64_t free; struct vm_stats st; };

static struct state state_of(struct vm_space *s)
{
	struct state x = { pmm_free_count(), { 0 } };
	vmm_stats(s, &x.st);
	return x;
}

/*
 * A call failed: for want of memory, or (once an earlier call failed) for
 * want of the region that call did not make. Nothing may have changed.
 */
static void unchanged(struct vm_space *s, struct state a, int e, unsigned earlier)
{
	struct state b = state_of(s);
	if (!(e == VMM_E_NO_MEMORY || e == (int)VMF_NO_FRAME || (earlier && e == VMM_E_NO_REGION)))
		printf("#   unexpected error %d\n", e);
	CHECK(e == VMM_E_NO_MEMORY || e == (int)VMF_NO_FRAME || (earlier && e == VMM_E_NO_REGION));
	CHECK_EQ(b.free, a.free);
	CHECK_EQ(b.st.regions, a.st.regions);
	CHECK_EQ(b.st.resident, a.st.resident);
	CHECK_EQ(b.st.tables, a.st.tables);
	CHECK_EQ(b.st.node_pages, a.st.node_pages);
	CHECK_EQ(vmm_check(s), 0);
}

#define TRY(s, call) do { \
	struct state st_ = state_of(s); \
	int e_ = (call); \
	if (e_) { unchanged(s, st_, e_, failures); failures++; } \
	} while (0)

/* Everything that takes frames, once. Returns how many calls failed. */
static unsigned scenario(struct vm_space *s)
{
	unsigned failures = 0;
	uintptr_t va;
	struct vm_req anon = { .len = 24 * PG, .kind = VM_ANON, .flags = URW };
	TRY(s, vmm_alloc(s, &anon, &va));
	for (unsigned i = 0; i < 60; i++) {     /* more than the first node page holds */
		struct vm_req d = { .len = 3 * PG, .kind = VM_DEMAND, .flags = URW };
		TRY(s, vmm_alloc_fixed(s, 0x1000000 + i * 0x10000, &d));
	}
	for (unsigned i = 0; i < 6; i++)
		TRY(s, (int)vmm_fault(s, 0x1000000 + i * 0x10000 + PG, VM_ACC_WRITE | VM_ACC_USER, 0));
	TRY(s, (int)vmm_fault(s, 0x7f0000000000, VM_ACC_USER, 0) == VMF_NO_REGION ? 0 : -99);
	for (unsigned i = 0; i < 6; i++) {
		TRY(s, vmm_free(s, 0x1000000 + i * 0x10000 + PG, PG));              /* middle: a split */
		TRY(s, vmm_protect(s, 0x1000000 + (i + 10) * 0x10000 + PG, PG, VM_READ | VM_USER));
	}
	struct vm_req io = { .len = 4 << 20, .kind = VM_MMIO, .flags = URW, .pa = 0xe0000000 };
	TRY(s, vmm_alloc_fixed(s, 0x7f0000000000, &io));
	TRY(s, vmm_free(s, 0x7f0000000000 + (1 << 20), PG));    /* splits a 2 MiB page */
	return failures;
}

static void inject_every_allocation(void)
{
	vmm_test_boot(64);
	uint64_t free0 = pmm_free_count();
	unsigned n, clean_runs = 0;
	for (n = 1; n < 5000 && !check_failed_in_test; n++) {
		pmm_fail_nth(n);
		struct vm_space *s = vmm_space_create();
		unsigned failures = 0;
		if (!s) {
			failures = 1;
			CHECK_EQ(pmm_free_count(), free0);
		} else {
			failures = scenario(s);
		}
		pmm_fail_nth(0);
		if (s)
			vmm_space_destroy(s);
		CHECK_EQ(pmm_free_count(), free0);
		if (check_failed_in_test)
			printf("#   failing allocation %u\n", n);
		if (!failures && ++clean_runs == 3)
			break;
	}
	printf("# %u injection points\n", n);
	CHECK(n > 40);      /* 2 + 24 + 3 tables + 6 + a node page + tables of the MMIO range and its split */
	CHECK_EQ(pmm_check(), 0);
}

/* The kernel's space too: its node pool, its tables, an immediate allocation. */
static void inject_kernel_space(void)
{
	vmm_test_boot(64);
	struct vm_space *k = vmm_kernel_space();
	for (unsigned n = 1; n < 200; n++) {
		uint64_t free0 = pmm_free_count();
		struct state st = state_of(k);
		uintptr_t va;
		struct vm_req r = { .len = 16 * PG, .kind = VM_ANON, .flags = VM_READ | VM_WRITE,
				    .lo = VMM_KHEAP_BASE, .hi = VMM_KLARGE_BASE };
		pmm_fail_nth(n);
		int e = vmm_alloc(k, &r, &va);
		pmm_fail_nth(0);
		if (e) {
			unchanged(k, st, e, 0);
			continue;
		}
		CHECK_EQ(vmm_free(k, va, r.len), 0);
		CHECK_EQ(pmm_free_count(), free0);
		break;
	}
}

void inject_tests(void)
{
	RUN(inject_every_allocation);
	RUN(inject_kernel_space);
}
