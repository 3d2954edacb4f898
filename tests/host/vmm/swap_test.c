/*
 * swap_test.c - anonymous pages to swap and back (src/mm/vmm/swap.c) over
 * a swap area on a disk in memory: a page written out frees its frame and
 * reads back byte for byte at its next touch, with the region's rights;
 * the counts (resident, swapped, slots, free frames) say so at each step
 * and vmm_check agrees; freeing, destroying and forking a space with pages
 * in swap give every slot back (a fork brings its pages back first); a
 * shared or an object's page is refused; a disk that fails a write leaves
 * the page mapped, one that fails a read gives VMF_SWAP_IO and keeps the
 * page in swap until the disk works again.
 */
#include <stdlib.h>
#include <string.h>
#include "vmm_test.h"
#include "fake_arch.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/swap/swap.h"
#include "abi/syscall.h"
#include "mm/paging/pte.h"          /* white box: to play the CPU setting an accessed bit */

#define PG 4096UL
#define URW (VM_READ | VM_WRITE | VM_USER)
#define UR (VM_READ | VM_USER)
#define UW (VM_ACC_WRITE | VM_ACC_USER)
#define BASE 0x40000000UL
#define DISK_PAGES 256

static uint8_t *disk;
static bool fail_read, fail_write;

static int disk_read(uint64_t page, void *buf)
{
	if (fail_read)
		return -EIO;
	memcpy(buf, disk + page * SWAP_PAGE, SWAP_PAGE);
	return 0;
}

static int disk_write(uint64_t page, const void *buf)
{
	if (fail_write)
		return -EIO;
	memcpy(disk + page * SWAP_PAGE, buf, SWAP_PAGE);
	return 0;
}

static const struct swap_dev mem_disk = { "memdisk", DISK_PAGES, disk_read, disk_write, 0 };

static void boot_with_swap(void)
{
	CHECK_EQ(swap_off(), 0);        /* the last test gave every slot back; before the buddy's reset */
	vmm_test_boot(64);
	free(disk);
	disk = calloc(DISK_PAGES, SWAP_PAGE);
	fail_read = fail_write = false;
	REQUIRE(disk);
	REQUIRE(swap_on(&mem_disk, true) == 0);
}

static uint64_t pa_of(struct vm_space *s, uintptr_t va, unsigned *flags)
{
	uint64_t pa;
	return pg_translate(vmm_space_root(s), va & ~(PG - 1), &pa, flags, 0) ? 0 : pa;
}

/* Fill page i of the region at BASE with its own pattern, through the HHDM. */
static void fill(struct vm_space *s, unsigned i)
{
	REQUIRE(vmm_fault(s, BASE + i * PG, UW, 0) == VMF_RESOLVED);
	uint32_t *w = phys_to_virt(pa_of(s, BASE + i * PG, 0));
	for (unsigned k = 0; k < PG / 4; k++)
		w[k] = i * 0x10001u + k;
}

/* Page i back (faulting it in) and as fill left it: 1, or 0. */
static int intact(struct vm_space *s, unsigned i)
{
	unsigned fl;
	if (!pa_of(s, BASE + i * PG, &fl) && vmm_fault(s, BASE + i * PG, VM_ACC_USER, 0) != VMF_RESOLVED)
		return 0;
	const uint32_t *w = phys_to_virt(pa_of(s, BASE + i * PG, 0));
	for (unsigned k = 0; k < PG / 4; k++)
		if (w[k] != i * 0x10001u + k)
			return 0;
	return 1;
}

static uint64_t slots_used(void)
{
	struct swap_stats st;
	swap_stats(&st);
	return st.used;
}

static struct vm_space *space_with(unsigned pages, enum vm_kind kind)
{
	struct vm_space *s = vmm_space_create();
	struct vm_req r = { .len = pages * PG, .kind = kind, .flags = URW };
	if (!s || vmm_alloc_fixed(s, BASE, &r))
		return 0;
	for (unsigned i = 0; i < pages; i++)
		fill(s, i);
	return s;
}

static void swap_out_and_back(void)
{
	boot_with_swap();
	struct vm_space *s = space_with(32, VM_DEMAND);
	REQUIRE(s);
	pmm_drain_all_caches();
	uint64_t free0 = pmm_free_count();
	for (unsigned i = 0; i < 32; i += 2)
		CHECK_EQ(vmm_swap_out(s, BASE + i * PG), 0);
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), free0 + 16);          /* each page's frame is free */
	CHECK_EQ(vmm_swapped(s), 16);
	CHECK_EQ(vmm_resident(s), 16);
	CHECK_EQ(slots_used(), 16);
	CHECK_EQ(vmm_check(s), 0);
	CHECK_EQ(vmm_swap_out(s, BASE), VMM_E_NOT_MAPPED);     /* in swap already */
	struct vm_stats st;
	vmm_stats(s, &st);
	CHECK_EQ(st.swapped, 16);
	/* Back at the next touch, every byte as it was, writable as the region says. */
	for (unsigned i = 0; i < 32; i++)
		CHECK(intact(s, i));
	unsigned fl;
	CHECK(pa_of(s, BASE, &fl) && (fl & PG_WRITE) && (fl & PG_USER));
	CHECK_EQ(vmm_swapped(s), 0);
	CHECK_EQ(slots_used(), 16);                      /* read back: each keeps its slot while clean */
	CHECK_EQ(vmm_check(s), 0);
	CHECK_EQ(vmm_free(s, BASE, 32 * PG), 0);         /* a free gives kept slots back */
	CHECK_EQ(slots_used(), 0);
	CHECK_EQ(vmm_check(s), 0);
	struct vm_req again = { .len = 32 * PG, .kind = VM_DEMAND, .flags = URW };
	REQUIRE(vmm_alloc_fixed(s, BASE, &again) == 0);
	for (unsigned i = 0; i < 32; i++)
		fill(s, i);
	CHECK_EQ(vmm_check(s), 0);
	/* Read-only now: a page back from swap comes back read-only. */
	CHECK_EQ(vmm_swap_out(s, BASE + PG), 0);
	CHECK_EQ(vmm_protect(s, BASE, 32 * PG, UR), 0);        /* a region with a page in swap */
	CHECK(intact(s, 1));
	CHECK(pa_of(s, BASE + PG, &fl) && !(fl & PG_WRITE));
	CHECK_EQ(vmm_space_destroy(s), 0);
}

/* Freeing part of a region, and destroying a space, give back the slots of its pages in swap. */
static void release_gives_slots_back(void)
{
	boot_with_swap();
	pmm_drain_all_caches();
	uint64_t start = pmm_free_count();
	struct vm_space *s = space_with(64, VM_DEMAND);
	REQUIRE(s);
	for (unsigned i = 0; i < 64; i++)
		CHECK_EQ(vmm_swap_out(s, BASE + i * PG), 0);
	CHECK_EQ(slots_used(), 64);
	CHECK_EQ(vmm_free(s, BASE + 8 * PG, 8 * PG), 0);       /* a split, then a free */
	CHECK_EQ(slots_used(), 56);
	CHECK_EQ(vmm_swapped(s), 56);
	CHECK_EQ(vmm_check(s), 0);
	CHECK(intact(s, 20));
	CHECK_EQ(vmm_space_destroy(s), 0);
	CHECK_EQ(slots_used(), 0);
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), start);
}

/* A fork brings the parent's pages in swap back, then shares them as usual. */
static void fork_brings_pages_back(void)
{
	boot_with_swap();
	struct vm_space *p = space_with(16, VM_ANON), *c;
	REQUIRE(p);
	for (unsigned i = 0; i < 16; i++)
		CHECK_EQ(vmm_swap_out(p, BASE + i * PG), 0);
	CHECK_EQ(vmm_check(p), 0);                       /* a VM_ANON region with pages in swap */
	uint64_t shared = 0;
	REQUIRE(vmm_fork(p, &c, &shared) == 0);
	CHECK_EQ(shared, 16);
	CHECK_EQ(vmm_swapped(p), 0);
	CHECK_EQ(slots_used(), 0);
	for (unsigned i = 0; i < 16; i++)
		CHECK(intact(c, i) && intact(p, i));
	/* A shared (copy-on-write) page cannot go: two spaces map it. */
	CHECK_EQ(vmm_swap_out(p, BASE), VMM_E_BUSY);
	CHECK_EQ(vmm_space_destroy(c), 0);
	CHECK_EQ(vmm_space_destroy(p), 0);
}

/* Pages that are not private anonymous ones stay. */
static void only_private_anonymous_pages_go(void)
{
	boot_with_swap();
	struct vm_object o;
	vmo_init(&o, 4 * PG, 0);
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	struct vm_req r = { .len = 4 * PG, .kind = VM_SHARED, .flags = URW, .obj = &o };
	REQUIRE(vmm_alloc_fixed(s, BASE, &r) == 0);
	CHECK_EQ(vmm_fault(s, BASE, UW, 0), VMF_RESOLVED);
	CHECK_EQ(vmm_swap_out(s, BASE), VMM_E_BUSY);
	CHECK_EQ(vmm_swap_out(s, BASE + PG), VMM_E_BUSY);       /* not resident, and not anonymous */
	CHECK_EQ(vmm_swap_out(s, BASE + 64 * PG), VMM_E_NO_REGION);
	CHECK_EQ(vmm_swap_out(vmm_kernel_space(), VMM_KERNEL_BASE), VMM_E_INVAL);
	CHECK_EQ(vmm_space_destroy(s), 0);
	vmo_put(&o);
}

/* The disk fails: a write leaves the page mapped; a read keeps it in swap until the disk works. */
static void disk_errors_lose_nothing(void)
{
	boot_with_swap();
	struct vm_space *s = space_with(4, VM_DEMAND);
	REQUIRE(s);
	uint64_t pa = pa_of(s, BASE, 0);
	fail_write = true;
	CHECK_EQ(vmm_swap_out(s, BASE), VMM_E_IO);
	fail_write = false;
	CHECK_EQ(pa_of(s, BASE, 0), pa);                 /* still there, same frame */
	CHECK_EQ(slots_used(), 0);
	CHECK(intact(s, 0));
	CHECK_EQ(vmm_swap_out(s, BASE + PG), 0);
	fail_read = true;
	struct vm_fault f;
	CHECK_EQ(vmm_fault(s, BASE + PG, VM_ACC_USER, &f), VMF_SWAP_IO);
	char line[160];
	vmm_fault_explain(&f, line, sizeof(line));
	CHECK(strstr(line, "swap") != NULL);
	CHECK_EQ(vmm_swapped(s), 1);                     /* the page is still in swap */
	fail_read = false;
	CHECK(intact(s, 1));
	CHECK_EQ(vmm_check(s), 0);
	/* A full area: the page stays where it is. */
	static uint64_t taken[DISK_PAGES];
	unsigned n = 0, room = DISK_PAGES - 1 - slots_used();   /* page 1 keeps its slot */
	while (n < DISK_PAGES && swap_slot_take(&taken[n]) == 0)
		n++;
	CHECK_EQ(n, room);
	CHECK_EQ(vmm_swap_out(s, BASE + 2 * PG), VMM_E_IO);
	CHECK(intact(s, 2));
	while (n > 0)
		CHECK_EQ(swap_free_slot(taken[--n]), 0);
	CHECK_EQ(vmm_check(s), 0);
	CHECK_EQ(vmm_space_destroy(s), 0);
}

/* What the CPU does when it writes through the entry of va: set its dirty bit. */
static void touch_dirty(struct vm_space *s, uintptr_t va)
{
	unsigned at;
	pte_t *e = walk(vmm_space_root(s), va, 0, NULL, NULL, &at);
	REQUIRE(!at && pte_present(*e));
	*e |= PTE_A | PTE_D;
}

static struct swap_stats stats(void)
{
	struct swap_stats st;
	swap_stats(&st);
	return st;
}

/*
 * Clean pages: a page read back by a read fault keeps its slot, and goes
 * out again with no write while it stays clean in the same frame; a page
 * written since (dirty bit), or whose frame changed (a copy-on-write copy,
 * even with its dirty bit still clear), is written to the kept slot; a
 * write fault frees the slot; a free and destroy give kept slots back.
 */
static void clean_pages_keep_their_slot(void)
{
	boot_with_swap();
	struct vm_space *s = space_with(8, VM_DEMAND), *c;
	REQUIRE(s);
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(vmm_swap_out(s, BASE + i * PG), 0);
	for (unsigned i = 0; i < 8; i++)
		CHECK(intact(s, i));                     /* read faults */
	struct swap_stats a = stats();
	CHECK_EQ(a.kept, 8);
	CHECK_EQ(a.used, 8);
	CHECK_EQ(vmm_check(s), 0);
	/* Page 0 written (the CPU sets D), the other seven not. */
	uint32_t *w0 = phys_to_virt(pa_of(s, BASE, 0));
	w0[5] = 0xdeadbeef;
	touch_dirty(s, BASE);
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(vmm_swap_out(s, BASE + i * PG), 0);
	struct swap_stats b = stats();
	CHECK_EQ(b.out - a.out, 1);                      /* only the dirty page written */
	CHECK_EQ(b.clean - a.clean, 7);
	CHECK_EQ(b.kept, 0);
	CHECK_EQ(b.used, 8);                             /* the same slots, holding them */
	for (unsigned i = 1; i < 8; i++)
		CHECK(intact(s, i));
	/* A write fault: the page will be dirty at once, so its slot goes. */
	CHECK_EQ(vmm_fault(s, BASE, UW, 0), VMF_RESOLVED);
	w0 = phys_to_virt(pa_of(s, BASE, 0));
	CHECK_EQ(w0[5], 0xdeadbeef);                     /* the write came back from the disk */
	CHECK_EQ(stats().kept, 7);
	CHECK_EQ(stats().used, 7);
	CHECK_EQ(vmm_check(s), 0);
	/* A copy-on-write copy: a new frame whose D is clear until the CPU's write lands. */
	REQUIRE(vmm_fork(s, &c, 0) == 0);
	CHECK_EQ(vmm_fault(s, BASE + PG, UW, 0), VMF_RESOLVED);    /* the parent's copy */
	uint32_t *w1 = phys_to_virt(pa_of(s, BASE + PG, 0));
	w1[7] = 0xfeedface;                              /* the write, D not yet set */
	CHECK_EQ(vmm_space_destroy(c), 0);
	uint64_t out0 = stats().out;
	CHECK_EQ(vmm_swap_out(s, BASE + PG), 0);
	CHECK_EQ(stats().out - out0, 1);                 /* another frame: written, never trusted */
	CHECK_EQ(vmm_fault(s, BASE + PG, VM_ACC_USER, 0), VMF_RESOLVED);
	w1 = phys_to_virt(pa_of(s, BASE + PG, 0));
	CHECK_EQ(w1[7], 0xfeedface);
	CHECK_EQ(vmm_check(s), 0);
	CHECK_EQ(vmm_free(s, BASE + 2 * PG, 2 * PG), 0);     /* kept slots of a freed range go */
	CHECK_EQ(stats().kept, 5);
	CHECK_EQ(vmm_check(s), 0);
	CHECK_EQ(vmm_space_destroy(s), 0);
	CHECK_EQ(stats().kept, 0);
	CHECK_EQ(slots_used(), 0);
}

/* What the CPU does when it loads the entry of va: set its accessed bit. */
static void touch_accessed(struct vm_space *s, uintptr_t va)
{
	unsigned at;
	pte_t *e = walk(vmm_space_root(s), va, 0, NULL, NULL, &at);
	REQUIRE(!at && pte_present(*e));
	*e |= PTE_A;
}

/*
 * The clock: pages used since the hand passed get a second chance, the
 * others go out, and the hand goes on from where it stopped, round the
 * space, until every page comes back intact.
 */
static void reclaim_gives_second_chances(void)
{
	boot_with_swap();
	struct vm_space *s = space_with(32, VM_DEMAND), *c;
	REQUIRE(s);
	for (unsigned i = 0; i < 16; i++)
		touch_accessed(s, BASE + i * PG);
	CHECK_EQ(vmm_reclaim(s, 8), 8);
	for (unsigned i = 0; i < 32; i++)        /* the used half kept; 16-23 out */
		CHECK_EQ(pa_of(s, BASE + i * PG, 0) == 0, i >= 16 && i < 24);
	CHECK_EQ(vmm_reclaim(s, 8), 8);          /* the hand goes on: 24-31 */
	CHECK_EQ(pa_of(s, BASE + 24 * PG, 0), 0);
	CHECK_EQ(pa_of(s, BASE + 31 * PG, 0), 0);
	CHECK(pa_of(s, BASE, 0) != 0);
	CHECK_EQ(vmm_reclaim(s, 8), 8);          /* round again: their second chance is spent */
	CHECK_EQ(pa_of(s, BASE, 0), 0);
	CHECK(pa_of(s, BASE + 8 * PG, 0) != 0);
	CHECK_EQ(vmm_swapped(s), 24);
	CHECK_EQ(vmm_check(s), 0);
	CHECK_EQ(vmm_reclaim(s, 100), 8);        /* all that is left; two turns at most */
	CHECK_EQ(vmm_resident(s), 0);
	CHECK_EQ(vmm_reclaim(s, 1), 0);          /* nothing resident */
	for (unsigned i = 0; i < 32; i++)
		CHECK(intact(s, i));
	/* Shared with a child (copy-on-write): nothing can go. */
	REQUIRE(vmm_fork(s, &c, 0) == 0);
	CHECK_EQ(vmm_reclaim(s, 4), 0);
	CHECK_EQ(vmm_reclaim(c, 4), 0);
	CHECK_EQ(vmm_space_destroy(c), 0);
	CHECK_EQ(vmm_reclaim(s, 4), 4);          /* its own again */
	CHECK_EQ(vmm_space_destroy(s), 0);
	CHECK_EQ(slots_used(), 0);
}

void swap_tests(void)
{
	RUN(reclaim_gives_second_chances);
	RUN(swap_out_and_back);
	RUN(clean_pages_keep_their_slot);
	RUN(release_gives_slots_back);
	RUN(fork_brings_pages_back);
	RUN(only_private_anonymous_pages_go);
	RUN(disk_errors_lose_nothing);
	swap_off();
	free(disk);
	disk = 0;
}
