/*
 * paging.c - the page-table engine and the protection features on the real
 * CPU: what the tables say is what the MMU does. Every test maps into the
 * kernel root and gives back every frame and table it took.
 */
#include "kernel/ktest.h"
#include "tests/kernel/machine.h"
#include "kernel/kernel.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/protect.h"
#include "arch/x86_64/io.h"
#include "mm/paging/paging.h"
#include "mm/buddy/buddy.h"
#include "mm/arch.h"
#include "lib/kstring.h"

#define T_VA   0xffffe80000000000UL    /* kernel half: the middle of the MMIO area, which the VMM fills from its bottom */
#define T_USER 0x0000100000000000UL    /* a user page, in the kernel root for a moment */

static void do_call(void *p) { ((void (*)(void))p)(); }
static void do_write(void *p) { *(volatile uint8_t *)p = 1; }
static void do_rewrite(void *p) { *(volatile uint8_t *)p = *(volatile uint8_t *)p; }
static void do_read(void *p) { (void)*(volatile uint8_t *)p; }
static void do_user_read(void *p)
{
	user_access_begin();
	(void)*(volatile uint8_t *)p;
	user_access_end();
}

/* A zeroed frame mapped at va with flags; 0 on failure. */
static uint64_t map_frame(uintptr_t va, unsigned flags)
{
	uint64_t pa = pmm_alloc_page(PMM_ZERO);
	if (pa == PMM_NO_FRAME)
		return 0;
	if (pg_map(pg_kernel_root(), va, pa, PAGE_SIZE, flags)) {
		pmm_free_page(pa);
		return 0;
	}
	return pa;
}

static void unmap_frame(uintptr_t va, uint64_t pa)
{
	pg_unmap(pg_kernel_root(), va, PAGE_SIZE);
	pmm_free_page(pa);
}

KTEST(paging, kernel_root_is_live)
{
	KT_ASSERT(pg_kernel_root() != 0);
	KT_EXPECT(pg_current_root() == pg_kernel_root());
	KT_EXPECT(pg_translate(pg_kernel_root(), 0x100000, 0, 0, 0) == PG_E_NOT_MAPPED);
	uint64_t pa;
	KT_EXPECT(pg_translate(pg_kernel_root(), (uintptr_t)kernel_text_start, &pa, 0, 0) == 0);
	KT_EXPECT(pa == (uint64_t)kernel_text_start - PG_KERNEL_BASE);
}

KTEST(paging, fresh_mapping_aliases_hhdm)
{
	uint64_t pa = map_frame(T_VA, PG_READ | PG_WRITE);
	KT_ASSERT(pa);
	volatile uint64_t *v = (uint64_t *)T_VA, *alias = phys_to_virt(pa);
	for (int i = 0; i < 512; i++)
		v[i] = 0x5a5a000000000000UL + i;
	int same = 1;
	for (int i = 0; i < 512; i++)
		same &= alias[i] == 0x5a5a000000000000UL + i;
	alias[7] = 77;
	KT_EXPECT(same);
	KT_EXPECT(v[7] == 77);
	unmap_frame(T_VA, pa);
	struct fault_info f;
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_read, (void *)T_VA, &f) == 1);  /* and gone from the TLB */
}

KTEST(paging, nx_page_faults_on_fetch)
{
	uint64_t pa = map_frame(T_VA, PG_READ | PG_WRITE);
	KT_ASSERT(pa);
	*(volatile uint8_t *)phys_to_virt(pa) = 0xc3;       /* ret */
	struct fault_info f;
	int faulted = ktest_expect_fault(VEC_PF, do_call, (void *)T_VA, &f);
	if (paging_features()->nx) {
		KT_EXPECT(faulted);
		KT_EXPECT(f.error_code & PF_I);
		KT_EXPECT(f.error_code & PF_P);
		KT_EXPECT(f.cr2 == T_VA);
	} else {
		kprintf("    # no NX on this CPU: the page runs, as the report says\n");
		KT_EXPECT(!faulted && !protect_state()->nx);
	}
	/* with PG_EXEC the same page runs */
	KT_EXPECT(pg_protect(pg_kernel_root(), T_VA, PAGE_SIZE, PG_READ | PG_EXEC) == 0);
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_call, (void *)T_VA, &f) == 0);
	unmap_frame(T_VA, pa);
}

KTEST(paging, wp_makes_read_only_hold_for_kernel)
{
	KT_ASSERT(read_cr0() & (1UL << 16));
	uint64_t pa = map_frame(T_VA, PG_READ);
	KT_ASSERT(pa);
	struct fault_info f;
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_write, (void *)T_VA, &f) == 1);
	KT_EXPECT((f.error_code & (PF_P | PF_W)) == (PF_P | PF_W));
	KT_EXPECT(*(volatile uint8_t *)phys_to_virt(pa) == 0);
	KT_EXPECT(pg_protect(pg_kernel_root(), T_VA, PAGE_SIZE, PG_READ | PG_WRITE) == 0);
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_write, (void *)T_VA, &f) == 0);  /* the TLB saw it */
	KT_EXPECT(*(volatile uint8_t *)phys_to_virt(pa) == 1);
	unmap_frame(T_VA, pa);
}

KTEST(paging, kernel_text_and_rodata_are_read_only)
{
	struct fault_info f;
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_rewrite, (void *)kernel_text_start, &f) == 1);
	KT_EXPECT((f.error_code & (PF_P | PF_W)) == (PF_P | PF_W));
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_rewrite, (void *)kernel_rodata_start, &f) == 1);
	unsigned flags;
	KT_ASSERT(pg_translate(pg_kernel_root(), (uintptr_t)kernel_data_start, 0, &flags, 0) == 0);
	KT_EXPECT((flags & PG_WRITE) && (!(flags & PG_EXEC) || !paging_features()->nx));
}

/*
 * W^X per frame, not per address: the HHDM alias of the kernel's text and
 * rodata frames is read-only too, and pg_map refuses W+X unless asked
 * with PG_ALLOW_WX (issue 9).
 */
KTEST(paging, kernel_text_read_only_through_hhdm)
{
	struct fault_info f;
	void *text = phys_to_virt((uint64_t)kernel_text_start - PG_KERNEL_BASE);
	void *ro = phys_to_virt((uint64_t)kernel_rodata_start - PG_KERNEL_BASE);
	void *data = phys_to_virt((uint64_t)kernel_data_start - PG_KERNEL_BASE);
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_rewrite, text, &f) == 1);
	KT_EXPECT((f.error_code & (PF_P | PF_W)) == (PF_P | PF_W) && f.cr2 == (uintptr_t)text);
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_rewrite, ro, &f) == 1);
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_rewrite, data, &f) == 0);
	unsigned flags;
	KT_ASSERT(pg_translate(pg_kernel_root(), (uintptr_t)text, 0, &flags, 0) == 0);
	KT_EXPECT(!(flags & PG_WRITE) && (!(flags & PG_EXEC) || !paging_features()->nx));

	uint64_t pa = pmm_alloc_page(PMM_ZERO);
	KT_ASSERT(pa != PMM_NO_FRAME);
	KT_EXPECT(pg_map(pg_kernel_root(), T_VA, pa, PAGE_SIZE, PG_READ | PG_WRITE | PG_EXEC) == PG_E_WX);
	KT_EXPECT(pg_translate(pg_kernel_root(), T_VA, 0, 0, 0) == PG_E_NOT_MAPPED);
	KT_EXPECT(pg_map(pg_kernel_root(), T_VA, pa, PAGE_SIZE,
			 PG_READ | PG_WRITE | PG_EXEC | PG_ALLOW_WX) == 0);
	unmap_frame(T_VA, pa);
}

KTEST(paging, boot_stack_guard_unmapped)
{
	struct fault_info f;
	KT_EXPECT(pg_translate(pg_kernel_root(), (uintptr_t)boot_stack_guard, 0, 0, 0) == PG_E_NOT_MAPPED);
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_read, boot_stack_guard, &f) == 1);
	KT_EXPECT(!(f.error_code & PF_P));
}

KTEST(paging, smep_stops_fetch_from_user_page)
{
	uint64_t pa = map_frame(T_USER, PG_READ | PG_EXEC | PG_USER);
	KT_ASSERT(pa);
	*(volatile uint8_t *)phys_to_virt(pa) = 0xc3;
	struct fault_info f;
	int faulted = ktest_expect_fault(VEC_PF, do_call, (void *)T_USER, &f);
	if (protect_state()->smep) {
		KT_EXPECT(read_cr4() & (1UL << 20));
		KT_EXPECT(faulted && (f.error_code & PF_I) && (f.error_code & PF_P));
	} else {
		kprintf("    # no SMEP on this CPU; checking it is off and the fetch runs\n");
		KT_EXPECT(!(read_cr4() & (1UL << 20)) && !faulted);
	}
	unmap_frame(T_USER, pa);
}

KTEST(paging, smap_stops_access_to_user_page)
{
	uint64_t pa = map_frame(T_USER, PG_READ | PG_WRITE | PG_USER);
	KT_ASSERT(pa);
	struct fault_info f;
	int faulted = ktest_expect_fault(VEC_PF, do_read, (void *)T_USER, &f);
	if (protect_state()->smap) {
		KT_EXPECT(read_cr4() & (1UL << 21));
		KT_EXPECT(faulted && (f.error_code & PF_P) && !(f.error_code & PF_U));
	} else {
		kprintf("    # no SMAP on this CPU; checking it is off and the read goes through\n");
		KT_EXPECT(!(read_cr4() & (1UL << 21)) && !faulted);
	}
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_user_read, (void *)T_USER, &f) == 0);
	unmap_frame(T_USER, pa);
}

KTEST(paging, huge_split_keeps_contents)
{
	if (largest_free_order() < 9)
		KT_SKIP("no free 2 MiB block on this machine");
	uint64_t pa = pmm_alloc(9, 0);                      /* 2 MiB, naturally aligned */
	KT_ASSERT(pa != PMM_NO_FRAME);
	uint64_t *hh = phys_to_virt(pa);
	for (unsigned i = 0; i < 512; i++)
		hh[i * 512] = 0xabc0000 + i;
	int ok = pg_map(pg_kernel_root(), T_VA, pa, 2UL << 20, PG_READ | PG_WRITE) == 0;
	size_t sz = 0;
	pg_translate(pg_kernel_root(), T_VA, 0, 0, &sz);
	KT_EXPECT(ok && sz == (2UL << 20));
	volatile uint64_t *v = (uint64_t *)T_VA;
	(void)v[0];                                          /* a 2 MiB TLB entry */
	KT_EXPECT(ok && pg_protect(pg_kernel_root(), T_VA + 5 * PAGE_SIZE, PAGE_SIZE, PG_READ) == 0);
	KT_EXPECT(ok && pg_unmap(pg_kernel_root(), T_VA + 9 * PAGE_SIZE, PAGE_SIZE) == 0);
	int same = 1;
	for (unsigned i = 0; ok && i < 512; i++)
		if (i != 9)
			same &= v[i * 512] == 0xabc0000 + i;
	KT_EXPECT(same);
	struct fault_info f;
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_write, (void *)(T_VA + 5 * PAGE_SIZE), &f) == 1);
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_read, (void *)(T_VA + 9 * PAGE_SIZE), &f) == 1);
	KT_EXPECT(ktest_expect_fault(VEC_PF, do_write, (void *)(T_VA + 6 * PAGE_SIZE), &f) == 0);
	if (ok) {
		pg_unmap(pg_kernel_root(), T_VA, 9 * PAGE_SIZE);
		pg_unmap(pg_kernel_root(), T_VA + 10 * PAGE_SIZE, (2UL << 20) - 10 * PAGE_SIZE);
	}
	pmm_free(pa, 9);
}

KTEST(paging, hhdm_uses_large_pages)
{
	size_t sz = 0;
	unsigned flags = 0;
	uint64_t pa;
	if (!ram_window(2UL << 20, (uint64_t)kernel_phys_end, &pa))
		KT_SKIP("no 2 MiB-aligned 2 MiB of RAM above the kernel image on this machine");
	KT_ASSERT(pg_translate(pg_kernel_root(), PG_HHDM_BASE + pa, 0, &flags, &sz) == 0);
	KT_EXPECT(sz >= (2UL << 20));
	KT_EXPECT((flags & PG_WRITE) && (!(flags & PG_EXEC) || !paging_features()->nx));
	KT_EXPECT(paging_features()->levels == ((read_cr4() & (1UL << 12)) ? 5u : 4u));
}
