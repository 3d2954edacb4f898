/*
 * vmm.c - the VMM in the kernel, with real page faults: pages filled on
 * demand, address spaces switched, the kernel half shared, guard pages,
 * MMIO. Every test gives back every frame (the runner checks).
 */
#include "kernel/ktest.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/protect.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"

#define PG PAGE_SIZE
#define URW (VM_READ | VM_WRITE | VM_USER)
#define UVA 0x400000UL

/* A process space with an on-demand region of pages at UVA. */
static struct vm_space *space_with_demand(size_t pages)
{
	struct vm_space *s = vmm_space_create();
	struct vm_req r = { .len = pages * PG, .kind = VM_DEMAND, .flags = URW };
	if (s && vmm_alloc_fixed(s, UVA, &r)) {
		vmm_space_destroy(s);
		return 0;
	}
	return s;
}

static uint64_t faults_of(struct vm_space *s)
{
	struct vm_stats st;
	vmm_stats(s, &st);
	return st.faults;
}

KTEST(vmm, demand_faults_once_per_page_and_reads_zeros)
{
	enum { N = 32 };
	unsigned around = vmm_set_fault_around(0);
	struct vm_space *s = space_with_demand(N);
	KT_ASSERT(s);
	int zeros = 1;
	uint64_t f0 = faults_of(s), f1, f2;
	vmm_switch(s);
	user_access_begin();
	for (unsigned i = 0; i < N; i++) {
		const volatile uint64_t *p = (const volatile uint64_t *)(UVA + i * PG);
		for (unsigned w = 0; w < PG / 8; w += 61)
			zeros &= p[w] == 0;
	}
	f1 = faults_of(s);
	for (unsigned i = 0; i < N; i++)
		*(volatile uint64_t *)(UVA + i * PG) = i;       /* present and writable: no fault */
	user_access_end();
	vmm_switch(vmm_kernel_space());
	f2 = faults_of(s);
	struct vm_stats st;
	vmm_stats(s, &st);
	vmm_space_destroy(s);
	vmm_set_fault_around(around);
	KT_EXPECT(zeros);
	KT_EXPECT(f1 - f0 == N);
	KT_EXPECT(f2 == f1);
	KT_EXPECT(st.resident == N);
}

KTEST(vmm, two_spaces_same_address_different_frames)
{
	struct vm_space *a = space_with_demand(1), *b = space_with_demand(1);
	KT_ASSERT(a && b);
	static volatile uint64_t kernel_word = 0x5eed;
	uint64_t ka, kb, seen_a, seen_b, kern_a, kern_b;
	vmm_switch(a);
	user_access_begin();
	*(volatile uint64_t *)UVA = 0xaaaa;
	kern_a = kernel_word;
	user_access_end();
	vmm_switch(b);
	user_access_begin();
	*(volatile uint64_t *)UVA = 0xbbbb;
	kern_b = kernel_word;
	user_access_end();
	vmm_switch(a);
	user_access_begin();
	seen_a = *(volatile uint64_t *)UVA;
	user_access_end();
	vmm_switch(b);
	user_access_begin();
	seen_b = *(volatile uint64_t *)UVA;
	user_access_end();
	vmm_switch(vmm_kernel_space());
	uint64_t pa_a = 0, pa_b = 0;
	int ea = pg_translate(vmm_space_root(a), UVA, &pa_a, 0, 0);
	int eb = pg_translate(vmm_space_root(b), UVA, &pa_b, 0, 0);
	pg_translate(vmm_space_root(a), (uintptr_t)&kernel_word, &ka, 0, 0);
	pg_translate(vmm_space_root(b), (uintptr_t)&kernel_word, &kb, 0, 0);
	vmm_space_destroy(a);
	vmm_space_destroy(b);
	KT_EXPECT(seen_a == 0xaaaa && seen_b == 0xbbbb);
	KT_EXPECT(ea == 0 && eb == 0 && pa_a != pa_b);
	KT_EXPECT(kern_a == 0x5eed && kern_b == 0x5eed);
	KT_EXPECT(ka == kb);
}

/* The large area's top-level entry had no mapping when p copied the kernel half. */
KTEST(vmm, kernel_mapping_made_later_is_visible)
{
	struct vm_space *p = vmm_space_create();
	KT_ASSERT(p);
	struct vm_space *k = vmm_kernel_space();
	struct vm_req r = { .len = 4 * PG, .kind = VM_DEMAND, .flags = VM_READ | VM_WRITE,
			    .lo = VMM_KLARGE_BASE + (1UL << 40), .hi = VMM_KMMIO_BASE };
	uintptr_t va = 0;
	int e = vmm_alloc(k, &r, &va);
	uint64_t seen = 0;
	if (!e) {
		*(volatile uint64_t *)(va + PG) = 0x1234abcd;   /* a kernel demand fault */
		vmm_switch(p);
		seen = *(volatile uint64_t *)(va + PG);
		vmm_switch(vmm_kernel_space());
		vmm_free(k, va, r.len);
	}
	vmm_space_destroy(p);
	KT_ASSERT(e == 0);
	KT_EXPECT(seen == 0x1234abcd);
}

static void touch(void *p) { *(volatile char *)p = 1; }

KTEST(vmm, guard_page_is_caught_and_explained)
{
	struct vm_space *s = space_with_demand(2);
	KT_ASSERT(s);
	struct vm_req g = { .len = PG, .kind = VM_GUARD };
	int e = vmm_alloc_fixed(s, UVA + 2 * PG, &g);
	struct fault_info f = { 0 };
	int caught = 0;
	if (!e) {
		vmm_switch(s);
		user_access_begin();
		caught = ktest_expect_fault(VEC_PF, touch, (void *)(UVA + 2 * PG), &f);
		user_access_end();
		vmm_switch(vmm_kernel_space());
	}
	struct vm_fault why = { 0 };
	vmm_fault(s, f.cr2, VM_ACC_WRITE, &why);
	vmm_space_destroy(s);
	KT_ASSERT(e == 0);
	KT_EXPECT(caught == 1);
	KT_EXPECT(f.cr2 == UVA + 2 * PG);
	KT_EXPECT(!(f.error_code & PF_P) && (f.error_code & PF_W));
	KT_EXPECT(why.why == VMF_GUARD && why.in_region && why.region.kind == VM_GUARD);

	/* And in the kernel's own half. */
	struct vm_req kg = { .len = PG, .kind = VM_GUARD, .lo = VMM_KHEAP_BASE, .hi = VMM_KLARGE_BASE };
	uintptr_t kva;
	KT_ASSERT(vmm_alloc(vmm_kernel_space(), &kg, &kva) == 0);
	caught = ktest_expect_fault(VEC_PF, touch, (void *)kva, &f);
	vmm_free(vmm_kernel_space(), kva, PG);
	KT_EXPECT(caught == 1 && f.cr2 == kva);
}

/*
 * The local APIC is a device every x86_64 machine has (the VGA text buffer
 * is not decoded under OVMF). Its version register reads 0x1X on every
 * integrated APIC: a read through an uncached MMIO mapping must see it.
 */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1UL << 10)
#define APIC_VERSION 0x30

KTEST(vmm, mmio_is_uncached_and_frees_no_frame)
{
	struct vm_space *k = vmm_kernel_space();
	uint64_t base_msr = rdmsr(MSR_APIC_BASE), apic = base_msr & ~0xfffUL & ((1UL << 52) - 1);
	uint64_t free0 = pmm_free_count();
	struct vm_req r = { .len = PG, .kind = VM_MMIO, .flags = VM_READ | VM_WRITE, .pa = apic,
			    .cache = VM_CACHE_UC, .lo = VMM_KMMIO_BASE, .hi = VMM_KMMIO_END };
	uintptr_t va;
	KT_ASSERT(!pmm_is_ram(apic));
	KT_ASSERT(vmm_alloc(k, &r, &va) == 0);
	uint64_t pa = 0;
	unsigned fl = 0;
	int e = pg_translate(vmm_space_root(k), va, &pa, &fl, 0);
	uint32_t version = 0x10;
	if (base_msr & APIC_BASE_X2APIC)
		kprintf("    # x2APIC mode: the MMIO window is not decoded, its contents are not checked\n");
	else
		version = *(volatile uint32_t *)(va + APIC_VERSION);
	uint64_t free_mapped = pmm_free_count();
	KT_EXPECT(vmm_free(k, va, PG) == 0);
	KT_EXPECT(e == 0 && pa == apic);
	KT_EXPECT((fl & PG_CACHE_MASK) == PG_CACHE_UC);
	KT_EXPECT((version & 0xf0) == 0x10);
	KT_EXPECT(free0 - free_mapped <= 3);            /* tables only: no frame for the device */
	KT_EXPECT(pmm_free_count() == free0);
}

/*
 * A range of RAM of this machine's map with a page that is not RAM on
 * either side: an MMIO request from the page below to the page above has
 * both ends outside RAM and RAM in between. 0 if the map has none.
 */
static size_t ram_between_non_ram(uint64_t *pa)
{
	size_t n;
	const struct mem_range *m = pmm_sanitized_map(&n);
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = m[i].base & ~(PG - 1), hi = (m[i].base + m[i].len + PG - 1) & ~(PG - 1);
		if (m[i].type != MEM_AVAILABLE || lo < PG || pmm_range_has_ram(lo - PG, PG) ||
		    pmm_range_has_ram(hi, PG))
			continue;
		*pa = lo - PG;
		return hi + PG - *pa;
	}
	return 0;
}

KTEST(vmm, mmio_over_ram_is_refused)
{
	struct vm_space *k = vmm_kernel_space();
	uint64_t pa = 0;
	size_t len = ram_between_non_ram(&pa);
	if (!len) {
		kprintf("    # no range of RAM with non-RAM pages around it in this map: nothing to try\n");
		return;
	}
	struct vm_req r = { .len = len, .kind = VM_MMIO, .flags = VM_READ | VM_WRITE, .pa = pa,
			    .cache = VM_CACHE_UC, .lo = VMM_KMMIO_BASE, .hi = VMM_KMMIO_END };
	uintptr_t va = 0;
	int e = vmm_alloc(k, &r, &va);
	if (e == 0)
		vmm_free(k, va, len);
	KT_EXPECT(!pmm_is_ram(pa) && !pmm_is_ram(pa + len - PG));
	KT_EXPECT(e == VMM_E_INVAL);
	r.len = PG;                                     /* the page below alone: no RAM, fine */
	e = vmm_alloc(k, &r, &va);
	if (e == 0)
		vmm_free(k, va, PG);
	KT_EXPECT(e == 0);
}

/* W^X in the kernel's space too: refused unless asked for. */
KTEST(vmm, writable_executable_needs_asking)
{
	struct vm_space *k = vmm_kernel_space();
	struct vm_req r = { .len = PG, .kind = VM_ANON, .flags = VM_READ | VM_WRITE | VM_EXEC,
			    .lo = VMM_KLARGE_BASE, .hi = VMM_KMMIO_BASE };
	uintptr_t va = 0;
	int e = vmm_alloc(k, &r, &va);
	if (e == 0)
		vmm_free(k, va, PG);
	KT_EXPECT(e == VMM_E_WX);
	r.flags |= VM_ALLOW_WX;
	e = vmm_alloc(k, &r, &va);
	unsigned fl = 0;
	if (e == 0) {
		pg_translate(vmm_space_root(k), va, 0, &fl, 0);
		vmm_free(k, va, PG);
	}
	KT_ASSERT(e == 0);
	KT_EXPECT((fl & PG_WRITE) && (fl & PG_EXEC));
}

KTEST(vmm, create_and_destroy_1000_spaces)
{
	uint64_t free0 = pmm_free_count();
	unsigned made = 0;
	for (unsigned i = 0; i < 1000; i++) {
		struct vm_space *s = space_with_demand(4);
		if (!s)
			break;
		vmm_fault(s, UVA + (i % 4) * PG, VM_ACC_WRITE | VM_ACC_USER, 0);
		vmm_space_destroy(s);
		made++;
	}
	KT_EXPECT(made == 1000);
	KT_EXPECT(pmm_free_count() == free0);
}

KTEST(vmm, region_tree_is_sound)
{
	KT_EXPECT(vmm_check(vmm_kernel_space()) == 0);
}
