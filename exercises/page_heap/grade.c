/*
 * grade.c - grades exercises/page_heap/ over the host's memory stack
 * (tests/host/common/mm_boot.h: fake RAM, the kernel's tables, the VMM,
 * the software MMU that maps a page on a touch only where our PTEs say).
 */
#include <stdint.h>
#include "check.h"
#include "mm_boot.h"
#include "page_heap.h"

#define PG 4096UL

static uint64_t baseline;

static void boot(void)
{
	host_mm_boot(64 << 20, true);
	pmm_drain_all_caches();
	baseline = pmm_free_count();
}

/* The guard page is the first page at or after the object's end. */
static uintptr_t guard_of(void *p, size_t size)
{
	return ((uintptr_t)p + size + PG - 1) & ~(PG - 1);
}

static void one_size(size_t size)
{
	struct vm_region r, g;
	uint8_t *p = ph_alloc(size);
	REQUIRE(p);
	uintptr_t guard = guard_of(p, size);
	CHECK((uintptr_t)p % PH_ALIGN == 0);
	CHECK(guard - ((uintptr_t)p + size) < PH_ALIGN);                /* the end is against the guard */
	CHECK((uintptr_t)p >= VMM_KLARGE_BASE && guard < VMM_KMMIO_BASE);
	REQUIRE(vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r));
	CHECK_EQ(r.kind, VM_ANON);
	CHECK_EQ(r.base + r.len, guard);                                 /* pages of its own, ending at the guard */
	CHECK_EQ(r.len, (size + PG - 1) & ~(PG - 1));
	REQUIRE(vmm_lookup(vmm_kernel_space(), guard, &g));
	CHECK_EQ(g.kind, VM_GUARD);
	CHECK_EQ(g.base, guard);
	CHECK(pg_translate(vmm_space_root(vmm_kernel_space()), guard, NULL, NULL, NULL) != 0);  /* never mapped */
	for (size_t i = 0; i < size; i++)
		CHECK(p[i] == 0);               /* zeroed, and every byte reachable through the MMU */
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)i;
	CHECK_EQ(ph_free(p), 0);
	CHECK(!vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r));
	CHECK(!vmm_lookup(vmm_kernel_space(), guard, &g));
}

static void test_sizes_against_the_guard(void)
{
	static const size_t sizes[] = { 1, 15, 16, 100, 4095, 4096, 4097, 3 * 4096 + 7 };
	boot();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		one_size(sizes[i]);
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), baseline);                            /* every frame back, tables too */
	CHECK_EQ(vmm_check(vmm_kernel_space()), 0);
}

static void test_many_live_at_once(void)
{
	enum { N = 64 };
	void *p[N];
	boot();
	for (int i = 0; i < N; i++)
		CHECK((p[i] = ph_alloc(24 + i)) != NULL);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			CHECK(p[i] != p[j]);
	for (int i = N - 1; i >= 0; i--)
		CHECK_EQ(ph_free(p[i]), 0);
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), baseline);
}

static void test_misuse(void)
{
	boot();
	CHECK(ph_alloc(0) == NULL);
	uint8_t *p = ph_alloc(64);
	REQUIRE(p);
	CHECK_EQ(ph_free(p + 1), -1);                   /* not an object's start */
	CHECK_EQ(ph_free(p + 16), -1);                  /* aligned, in its first page, but still not its start */
	CHECK_EQ(ph_free((void *)(VMM_KLARGE_BASE + 123 * PG)), -1);     /* nothing there */
	struct vm_region r;
	CHECK(vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r) && r.kind == VM_ANON);  /* the refusals changed nothing */
	CHECK_EQ(ph_free(p), 0);
	CHECK_EQ(ph_free(p), -1);                       /* twice */
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), baseline);
}

int main(void)
{
	RUN(test_sizes_against_the_guard);
	RUN(test_many_live_at_once);
	RUN(test_misuse);
	return check_finish();
}
