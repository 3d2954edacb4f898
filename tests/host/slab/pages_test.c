/*
 * pages_test.c - the heap over the VMM: slabs and large allocations are
 * regions of the kernel's areas, mapped in the kernel's tables, loaded by
 * the software MMU (fake_arch.c), and gone from both when given back.
 */
#include "fixture.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"

static bool mapped(const void *p)
{
	return pg_translate(vmm_space_root(vmm_kernel_space()), (uintptr_t)p, NULL, NULL, NULL) == 0;
}

/* kmalloc(5) grows a slab: a region in the heap area, mapped, touched through the MMU. */
static void slab_is_a_vmm_region(void)
{
	slab_boot(32, 0);
	uint64_t fills = fake_mmu_fills;
	char *p = kmalloc(5);
	struct vm_region r;
	REQUIRE(p);
	CHECK((uintptr_t)p >= VMM_KHEAP_BASE && (uintptr_t)p < VMM_KLARGE_BASE);
	REQUIRE(vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r));
	CHECK_EQ(r.kind, VM_ANON);
	CHECK_EQ(r.flags, VM_READ | VM_WRITE);
	CHECK(mapped(p));
	p[0] = 42;
	CHECK(fake_mmu_fills > fills);          /* the touch went through the tables */
	kfree(p);
	slab_reap();
	CHECK(!vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r));
	CHECK(!mapped(p));
	expect_all_back();
}

/* Above the classes: whole pages in the large area, each one mapped. */
static void large_is_a_vmm_region(void)
{
	slab_boot(32, 0);
	size_t sz = 5 * 4096 + 1;
	char *p = kmalloc(sz);
	struct vm_region r;
	REQUIRE(p);
	CHECK((uintptr_t)p >= VMM_KLARGE_BASE && (uintptr_t)p < VMM_KMMIO_BASE);
	REQUIRE(vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r));
	CHECK_EQ(r.base, (uintptr_t)p);
	CHECK_EQ(r.len, 6 * 4096);
	for (size_t i = 0; i < sz; i += 4096)
		p[i] = (char)i;
	p[sz - 1] = 1;
	CHECK_EQ(ksize(p), 6 * 4096);
	kfree(p);
	CHECK(!vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r));
	CHECK(!mapped(p));
	expect_all_back();
}

/* Pointers into the areas that no slab owns are foreign, found without touching them. */
static void holes_are_foreign(void)
{
	slab_boot(32, 0);
	void *p = kmalloc(64);
	REQUIRE(p);
	unsigned before = slab_error_count();
	kfree((void *)(VMM_KHEAP_BASE + (1UL << 30)));          /* in the area, never mapped */
	CHECK_EQ(slab_error_count(), before + 1);
	CHECK_EQ(slab_last_error().kind, SLAB_E_FOREIGN);
	kfree((void *)(VMM_KLARGE_BASE + 4096));                /* the large area, empty */
	CHECK_EQ(slab_error_count(), before + 2);
	kfree((void *)(VMM_KMMIO_BASE + 8));                    /* beyond the heap's areas */
	CHECK_EQ(slab_error_count(), before + 3);
	CHECK_EQ(slab_last_error().kind, SLAB_E_FOREIGN);
	kfree(p);
	expect_all_back();
}

void pages_tests(void)
{
	RUN(slab_is_a_vmm_region);
	RUN(large_is_a_vmm_region);
	RUN(holes_are_foreign);
}
