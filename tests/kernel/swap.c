/*
 * swap.c - the swap area on the disk QEMU gives (harness boot
 * "swap-bios-128M-tcg": a fresh 16 MiB image, swap.format=1, so the boot
 * wrote the header): the area is on and as large as the disk; its header,
 * read back from the disk, is taken again; damaged on the disk, it is
 * refused and the disk left as it was; pages go out to slots and come back
 * byte for byte; a full area says so; every misuse is refused; and a
 * process space's pages go out to the disk, their frames free, and come
 * back at their touch, a disk that fails a read keeping the page in swap.
 * Without a disk every test skips (swap.require=1 makes that a failure).
 */
#include "kernel/ktest.h"
#include "kernel/kernel.h"
#include "kernel/cmdline.h"
#include "abi/syscall.h"
#include "mm/swap/swap.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"
#include "lib/kstring.h"

#define NO_AREA "no swap area on this machine (the harness's swap boot gives a disk and swap.format=1)"

static bool area_up(void)
{
	struct swap_stats st;
	swap_stats(&st);
	return st.on;
}

#define NEED_AREA() do { \
	if (!area_up()) { \
		KT_ASSERT(cmdline_int("swap.require", 0) != 1);   /* the swap: lines above say why */ \
		KT_SKIP(NO_AREA); \
	} \
} while (0)

/* A page's worth of a pattern that differs with the seed in every word. */
static void fill(uint64_t *w, uint64_t seed)
{
	for (unsigned i = 0; i < SWAP_PAGE / 8; i++) {
		uint64_t x = seed * 0x9e3779b97f4a7c15ull + i;
		x ^= x >> 31, x *= 0xbf58476d1ce4e5b9ull, x ^= x >> 29;
		w[i] = x;
	}
}

KTEST(swap, area_is_on_and_fills_the_disk)
{
	NEED_AREA();
	const struct swap_dev *dev = swap_boot_dev();
	struct swap_stats st;
	swap_stats(&st);
	KT_ASSERT(dev);
	KT_EXPECT(st.pages == dev->pages - 1);  /* every page but the header is a slot */
	KT_EXPECT(st.used == 0);
	KT_EXPECT(swap_on(dev, false) == -EBUSY);
}

/* Off, then on again without format: the header the boot wrote is read back from the disk. */
KTEST(swap, header_on_the_disk_is_taken_again)
{
	NEED_AREA();
	const struct swap_dev *dev = swap_boot_dev();
	KT_ASSERT(swap_off() == 0);
	KT_EXPECT(swap_on(dev, false) == 0);
	KT_EXPECT(area_up());
}

/* One byte of the header changed on the disk: refused, the disk untouched; put back, taken. */
KTEST(swap, damaged_header_refused)
{
	NEED_AREA();
	const struct swap_dev *dev = swap_boot_dev();
	pa_t f = pmm_alloc_page(PMM_ZERO), g = pmm_alloc_page(PMM_ZERO);
	KT_ASSERT(f != PMM_NO_FRAME && g != PMM_NO_FRAME);
	uint8_t *page = phys_to_virt(f), *after = phys_to_virt(g);
	KT_EXPECT(dev->read(0, page) == 0);
	KT_ASSERT(swap_off() == 0);
	page[100] ^= 0x40;                       /* past the fields: only the CRC sees it */
	KT_EXPECT(dev->write(0, page) == 0);
	KT_EXPECT(swap_on(dev, false) == -EINVAL);
	KT_EXPECT(!area_up());
	KT_EXPECT(dev->read(0, after) == 0);
	KT_EXPECT(memcmp(page, after, SWAP_PAGE) == 0);  /* refused, and not written over */
	page[100] ^= 0x40;
	KT_EXPECT(dev->write(0, page) == 0);
	KT_EXPECT(swap_on(dev, false) == 0);
	pmm_free_page(f);
	pmm_free_page(g);
}

/* Pages out to slots (neighbours, next-fit) and back, byte for byte; then every slot free. */
KTEST(swap, pages_go_out_and_come_back)
{
	NEED_AREA();
	enum { N = 64 };
	static uint64_t slot[N];
	pa_t f = pmm_alloc_page(0), g = pmm_alloc_page(0);
	KT_ASSERT(f != PMM_NO_FRAME && g != PMM_NO_FRAME);
	uint64_t *w = phys_to_virt(f), *r = phys_to_virt(g);
	struct swap_stats st0, st;
	swap_stats(&st0);
	for (unsigned i = 0; i < N; i++) {
		fill(w, i + 1);
		KT_EXPECT(swap_write_page(w, &slot[i]) == 0);
		if (i)
			KT_EXPECT(slot[i] == slot[i - 1] + 1);
	}
	unsigned bad = 0;
	for (unsigned i = N; i-- > 0;) {
		fill(w, i + 1);
		memset(r, 0xaa, SWAP_PAGE);
		KT_EXPECT(swap_read_page(slot[i], r) == 0);
		bad += memcmp(w, r, SWAP_PAGE) != 0;
	}
	KT_EXPECT(bad == 0);
	swap_stats(&st);
	KT_EXPECT(st.used == st0.used + N);
	KT_EXPECT(st.out == st0.out + N && st.in == st0.in + N);
	KT_EXPECT(swap_off() == -EBUSY);        /* slots in use */
	for (unsigned i = 0; i < N; i++)
		KT_EXPECT(swap_free_slot(slot[i]) == 0);
	swap_stats(&st);
	KT_EXPECT(st.used == st0.used);
	pmm_free_page(f);
	pmm_free_page(g);
}

/* Every slot taken: -ENOSPC, and the area still works once they go. */
KTEST(swap, full_area_says_so)
{
	NEED_AREA();
	struct swap_stats st;
	swap_stats(&st);
	uint64_t n = st.pages - st.used, first = 0, s = 0;
	pa_t f = pmm_alloc_page(PMM_ZERO);
	KT_ASSERT(f != PMM_NO_FRAME);
	void *page = phys_to_virt(f);
	/* Take every slot (a 16 MiB disk: 4095 writes of a page). */
	for (uint64_t i = 0; i < n; i++) {
		int e = swap_write_page(page, &s);
		KT_ASSERT(e == 0);
		if (!i)
			first = s;
	}
	KT_EXPECT(swap_write_page(page, &s) == -ENOSPC);
	swap_stats(&st);
	KT_EXPECT(st.used == st.pages);
	/* Give them all back: every slot of the area is this test's now. */
	uint64_t freed = 0;
	for (uint64_t x = 1; x <= st.pages; x++)
		freed += swap_free_slot(x) == 0;
	KT_EXPECT(freed == n);
	KT_EXPECT(first >= 1);
	KT_EXPECT(swap_write_page(page, &s) == 0);
	KT_EXPECT(swap_free_slot(s) == 0);
	pmm_free_page(f);
}

KTEST(swap, misuse_refused)
{
	NEED_AREA();
	KT_EXPECT(swap_free_slot(0) == -EINVAL);
	KT_EXPECT(swap_free_slot(~0ull) == -EINVAL);
	pa_t f = pmm_alloc_page(PMM_ZERO);
	KT_ASSERT(f != PMM_NO_FRAME);
	KT_EXPECT(swap_read_page(1, phys_to_virt(f)) == -EINVAL);     /* holds no page */
	pmm_free_page(f);
}

/* ---- the VMM's half: pages of a process space through the disk ---- */

#define SPACE_BASE 0x40000000UL

/* A process-like space with `pages` demand pages, each filled with its own pattern. */
static struct vm_space *filled_space(unsigned pages)
{
	struct vm_space *s = vmm_space_create();
	struct vm_req r = { .len = pages * PAGE_SIZE, .kind = VM_DEMAND, .flags = VM_READ | VM_WRITE | VM_USER };
	if (!s || vmm_alloc_fixed(s, SPACE_BASE, &r))
		return s;
	for (unsigned i = 0; i < pages; i++) {
		pa_t pa;
		if (vmm_fault(s, SPACE_BASE + i * PAGE_SIZE, VM_ACC_WRITE | VM_ACC_USER, 0) != VMF_RESOLVED ||
		    pg_translate(vmm_space_root(s), SPACE_BASE + i * PAGE_SIZE, &pa, 0, 0))
			break;
		fill(phys_to_virt(pa), i + 100);
	}
	return s;
}

/* Page i of s, brought back if it is in swap, as filled_space wrote it. */
static bool page_intact(struct vm_space *s, unsigned i, uint64_t *scratch)
{
	va_t va = SPACE_BASE + i * PAGE_SIZE;
	pa_t pa;
	if (pg_translate(vmm_space_root(s), va, &pa, 0, 0) &&
	    (vmm_fault(s, va, VM_ACC_USER, 0) != VMF_RESOLVED || pg_translate(vmm_space_root(s), va, &pa, 0, 0)))
		return false;
	fill(scratch, i + 100);
	return !memcmp(phys_to_virt(pa), scratch, SWAP_PAGE);
}

/* 256 pages (1 MiB) out to the disk, their frames free, and back at their touch, byte for byte. */
KTEST(swap, process_pages_through_the_disk)
{
	NEED_AREA();
	enum { N = 256 };
	pa_t f = pmm_alloc_page(0);
	KT_ASSERT(f != PMM_NO_FRAME);
	struct vm_space *s = filled_space(N);
	KT_ASSERT(s && vmm_resident(s) == N);
	uint64_t free0 = pmm_free_count();
	unsigned out = 0;
	for (unsigned i = 0; i < N; i++)
		out += vmm_swap_out(s, SPACE_BASE + i * PAGE_SIZE) == 0;
	KT_EXPECT(out == N);
	KT_EXPECT(vmm_resident(s) == 0 && vmm_swapped(s) == N);
	KT_EXPECT(pmm_free_count() >= free0 + N - 8);   /* the frames are free (less any cached per CPU) */
	KT_EXPECT(vmm_check(s) == 0);
	unsigned bad = 0;
	for (unsigned i = N; i-- > 0;)                   /* backwards: no read-ahead to help */
		bad += !page_intact(s, i, phys_to_virt(f));
	KT_EXPECT(bad == 0);
	KT_EXPECT(vmm_swapped(s) == 0);
	/* Read back, every page keeps its slot while clean: half out again, written by no one. */
	struct swap_stats st, st0;
	swap_stats(&st0);
	KT_EXPECT(st0.kept == N && st0.used == N);
	for (unsigned i = 0; i < N; i += 2)
		vmm_swap_out(s, SPACE_BASE + i * PAGE_SIZE);
	swap_stats(&st);
	KT_EXPECT(st.out == st0.out && st.clean == st0.clean + N / 2);
	KT_EXPECT(st.kept == N / 2 && st.used == N);
	KT_EXPECT(vmm_check(s) == 0);
	bad = 0;
	for (unsigned i = 0; i < N; i += 2)
		bad += !page_intact(s, i, phys_to_virt(f));
	KT_EXPECT(bad == 0);
	/* The space goes: the slots of its pages in swap and those kept with it. */
	KT_EXPECT(vmm_space_destroy(s) == 0);
	swap_stats(&st);
	KT_EXPECT(st.used == 0 && st.kept == 0);
	pmm_free_page(f);
}

/* The real disk behind a switch that fails reads: a page stays in swap until reads work again. */
static bool fail_reads;
static const struct swap_dev *real;
static int flaky_read(uint64_t page, void *buf) { return fail_reads ? -EIO : real->read(page, buf); }
static int flaky_write(uint64_t page, const void *buf) { return real->write(page, buf); }

KTEST(swap, read_error_keeps_the_page_in_swap)
{
	NEED_AREA();
	real = swap_boot_dev();
	struct swap_dev flaky = { "flaky", real->pages, flaky_read, flaky_write, real->flush };
	KT_ASSERT(swap_off() == 0);
	KT_ASSERT(swap_on(&flaky, false) == 0);
	pa_t f = pmm_alloc_page(0);
	struct vm_space *s = filled_space(4);
	KT_ASSERT(s && f != PMM_NO_FRAME);
	KT_EXPECT(vmm_swap_out(s, SPACE_BASE + PAGE_SIZE) == 0);
	fail_reads = true;
	KT_EXPECT(vmm_fault(s, SPACE_BASE + PAGE_SIZE, VM_ACC_USER, 0) == VMF_SWAP_IO);
	KT_EXPECT(vmm_swapped(s) == 1);
	fail_reads = false;
	KT_EXPECT(page_intact(s, 1, phys_to_virt(f)));
	KT_EXPECT(vmm_space_destroy(s) == 0);
	pmm_free_page(f);
	KT_EXPECT(swap_off() == 0);
	KT_EXPECT(swap_on(real, false) == 0);
}
