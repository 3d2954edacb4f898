/*
 * buddy.c - the physical memory manager's self-tests on the real firmware map.
 *
 * pmm_init ran at boot. These tests take frames from the live allocator and
 * check each against the firmware map as the firmware gave it (not the
 * sanitized copy, which is what is under test) and against the protected
 * ranges still in use. Each gives back everything it takes.
 */
#include "kernel/ktest.h"
#include "tests/kernel/machine.h"
#include "kernel/kernel.h"
#include "mm/buddy/buddy.h"
#include "mm/arch.h"

#define PATTERN 0x5a17a5e3c0ffee00ULL

/* True if [pa, pa + 4 KiB) overlaps a boot module, as the Multiboot2 tags gave it at boot. */
static bool in_boot_module(uint64_t pa)
{
	for (size_t i = 0; i < boot_modules_len; i++) {
		const struct mem_range *m = &boot_modules[i];
		if (m->len && m->base < pa + PAGE_SIZE && pa < m->base + m->len)
			return true;
	}
	return false;
}

/*
 * True if the 4 KiB frame at pa is RAM by the firmware's own map, in no
 * protected range and in no boot module (every module tag, not only those
 * the parser kept or the protection built from them).
 */
static bool frame_allowed(uint64_t pa)
{
	const struct pmm_boot *b = pmm_boot_info();
	uint64_t covered = 0;

	if (pa < 0x100000 || in_boot_module(pa))
		return false;
	for (size_t i = 0; i < b->map_len; i++) {
		const struct mem_range *r = &b->map[i];
		uint64_t end = r->base + r->len < r->base ? UINT64_MAX : r->base + r->len;
		if (!r->len || end <= pa || r->base >= pa + PAGE_SIZE)
			continue;
		if (r->type != MEM_AVAILABLE)
			return false;
		uint64_t s = r->base > pa ? r->base : pa, e = end < pa + PAGE_SIZE ? end : pa + PAGE_SIZE;
		covered += e - s;
	}
	for (size_t i = 0; i < b->protect_len; i++) {
		const struct mem_range *r = &b->protect[i];
		if (!pmm_protect_released(i) && r->len && r->base < pa + PAGE_SIZE && pa < r->base + r->len)
			return false;
	}
	return covered >= PAGE_SIZE;
}

/* Stamp a frame with words only it can hold; the first word links it to the previous one. */
static void stamp(uint64_t pa, uint64_t prev)
{
	uint64_t *w = phys_to_virt(pa);
	w[0] = prev;
	w[1] = pa ^ PATTERN;
	w[256] = ~pa;
	w[511] = pa * 0x9e3779b97f4a7c15ULL;
}

static bool stamp_intact(uint64_t pa)
{
	const uint64_t *w = phys_to_virt(pa);
	return w[1] == (pa ^ PATTERN) && w[256] == ~pa && w[511] == pa * 0x9e3779b97f4a7c15ULL;
}

/*
 * Every free frame, taken one by one and chained through its own first
 * word: each must be allowed; each pattern must survive every other
 * allocation; all go back and the count is as before.
 */
KTEST(buddy, every_free_frame)
{
	uint64_t before = pmm_free_count(), head = PMM_NO_FRAME, pa, n = 0, outside = 0, broken = 0;

	KT_ASSERT(before > 0);
	while ((pa = pmm_alloc_page(0)) != PMM_NO_FRAME) {
		outside += !frame_allowed(pa);
		stamp(pa, head);
		head = pa;
		n++;
	}
	KT_EXPECT(pmm_free_count() == 0);
	for (pa = head; pa != PMM_NO_FRAME; pa = *(uint64_t *)phys_to_virt(pa))
		broken += !stamp_intact(pa);
	while (head != PMM_NO_FRAME) {
		pa = head;
		head = *(uint64_t *)phys_to_virt(pa);
		KT_EXPECT(pmm_free_page(pa) == 0);
	}
	kprintf("    # buddy: %llu frames taken, %llu outside firmware RAM or protected, %llu patterns broken\n",
		(unsigned long long)n, (unsigned long long)outside, (unsigned long long)broken);
	KT_EXPECT(n == before);
	KT_EXPECT(outside == 0);
	KT_EXPECT(broken == 0);
	KT_EXPECT(pmm_free_count() == before);
	KT_EXPECT(pmm_check() == 0);
}

/* Every order, zeroed, aligned, inside allowed RAM, with each zone limit. */
KTEST(buddy, orders_and_zones)
{
	static const unsigned flags[] = { 0, PMM_DMA32, PMM_DMA };
	uint64_t before = pmm_free_count();

	for (unsigned f = 0; f < 3; f++)
		for (unsigned o = 0; o <= 10; o++) {
			uint64_t pa = pmm_alloc(o, flags[f] | PMM_ZERO), bad = 0;
			if (pa == PMM_NO_FRAME)
				continue;    /* a small machine may lack a block this big in DMA */
			KT_EXPECT(pa % (PAGE_SIZE << o) == 0);
			KT_EXPECT(!(flags[f] & PMM_DMA) || pa + (PAGE_SIZE << o) <= (16ULL << 20));
			KT_EXPECT(!(flags[f] & PMM_DMA32) || pa + (PAGE_SIZE << o) <= (4ULL << 30));
			for (uint64_t p = pa; p < pa + (PAGE_SIZE << o); p += PAGE_SIZE) {
				const uint64_t *w = phys_to_virt(p);
				bad += !frame_allowed(p) || w[0] || w[511];
			}
			KT_EXPECT(bad == 0);
			KT_EXPECT(pmm_free(pa, o) == 0);
		}
	KT_EXPECT(pmm_free_count() == before);
}

/* Misuse is refused, reported, and changes nothing. */
KTEST(buddy, misuse_is_refused)
{
	uint64_t before = pmm_free_count(), pa = pmm_alloc(1, 0);

	KT_ASSERT(pa != PMM_NO_FRAME);
	KT_EXPECT(pmm_free(pa, 0) == PMM_E_WRONG_ORDER);
	KT_EXPECT(pmm_free(pa + PAGE_SIZE, 0) == PMM_E_NOT_ALLOCATED);
	KT_EXPECT(pmm_free(pa + 12, 1) == PMM_E_MISALIGNED);
	int r = pmm_free(0x1000, 0);               /* the first MiB: reserved, or not RAM at all */
	KT_EXPECT(r == PMM_E_RESERVED || r == PMM_E_NOT_RAM);
	KT_EXPECT(pmm_free(pa, 1) == 0);
	KT_EXPECT(pmm_free(pa, 1) == PMM_E_DOUBLE_FREE);
	KT_EXPECT(pmm_free_count() == before);
	KT_EXPECT(pmm_check() == 0);
}

KTEST(buddy, refcount_and_aligned)
{
	uint64_t before = pmm_free_count(), pa = pmm_alloc_page(0);

	KT_ASSERT(pa != PMM_NO_FRAME);
	KT_EXPECT(pmm_frame_get(pa) == 2);
	KT_EXPECT(pmm_frame_put(pa) == 1);
	KT_EXPECT(pmm_frame_put(pa) == 0);
	/* 2 MiB alignment where a free block allows it, else the largest there is. */
	int o = largest_free_order();
	uint64_t align = PAGE_SIZE << (o > 9 ? 9 : o);
	KT_ASSERT(o >= 2);
	pa = pmm_alloc_aligned(3, align, 0);
	KT_ASSERT(pa != PMM_NO_FRAME);
	KT_EXPECT(pa % align == 0);
	KT_EXPECT(pmm_free_count() == before - 3);
	KT_EXPECT(pmm_free_aligned(pa, 3) == 0);
	KT_EXPECT(pmm_free_count() == before);
}

/* A shared frame is not freed by a plain free: the holders put it. */
KTEST(buddy, shared_free_refused)
{
	uint64_t before = pmm_free_count(), pa = pmm_alloc_page(0);

	KT_ASSERT(pa != PMM_NO_FRAME);
	KT_EXPECT(pmm_frame_get(pa) == 2);
	KT_EXPECT(pmm_free_page(pa) == PMM_E_SHARED);
	KT_EXPECT(pmm_free(pa, 0) == PMM_E_SHARED);
	KT_EXPECT(pmm_frame_refcount(pa) == 2);
	KT_EXPECT(pmm_frame_put(pa) == 1);
	KT_EXPECT(pmm_frame_put(pa) == 0);
	KT_EXPECT(pmm_free_count() == before);
}

KTEST(buddy, metadata_is_small)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	size_t n, ranges = 0;
	const struct mem_range *m = pmm_sanitized_map(&n);
	for (size_t i = 0; i < n; i++)
		ranges += m[i].type == MEM_AVAILABLE;
	KT_EXPECT(s.free_pages + s.allocated_pages + s.reserved_pages == s.total_pages);
	/*
	 * 4 bytes a frame is 0.1 %; the free maps add about 2 bits a frame (a
	 * bit per block of every order) and a few words per section and order.
	 * A range is up to three sections (cut at 16 MiB and 4 GiB, and one
	 * more where a range was hot-added across the boot HHDM's end), each
	 * rounded up to a page: on a small machine more than the 0.1 % itself;
	 * 0.2 % bounds all of it.
	 */
	KT_EXPECT(s.metadata_bytes <= s.total_pages * 4 + s.total_pages / 3 + (ranges + 3) * 2 * PAGE_SIZE);
	if (s.total_pages * PAGE_SIZE >= (64ULL << 20))
		KT_EXPECT(s.metadata_bytes * 1000 <= s.total_pages * PAGE_SIZE * 2);
}

/*
 * All of the firmware's RAM is managed: the firmware map as given, sanitized
 * here again (whole pages only), has exactly total_pages pages of RAM. RAM
 * above the boot stub's 64 GiB HHDM counts too: pmm_add_range took it once
 * the final page tables mapped it. A suite of its own, so that a machine
 * bigger than its host's RAM can run it (`ktest=buddy_ram`) without
 * every_free_frame writing every frame.
 */
KTEST(buddy_ram, manages_all_ram)
{
	static struct mem_range san[PMM_MAX_MAP];
	const struct pmm_boot *b = pmm_boot_info();
	size_t n = memmap_sanitize(b->map, b->map_len, san, PMM_MAX_MAP, arch_phys_bits());
	uint64_t ram = 0, top = 0;
	struct pmm_stats s;

	for (size_t i = 0; i < n; i++)
		if (san[i].type == MEM_AVAILABLE) {
			ram += san[i].len >> PAGE_SHIFT;
			top = san[i].base + san[i].len;
		}
	pmm_get_stats(&s);
	kprintf("    # buddy: firmware RAM %llu KiB up to 0x%llx, managed %llu KiB\n",
		(unsigned long long)ram * 4, (unsigned long long)top,
		(unsigned long long)s.total_pages * 4);
	KT_EXPECT(n < PMM_MAX_MAP);
	KT_EXPECT(s.total_pages == ram);
	KT_EXPECT(pmm_is_ram(top - PAGE_SIZE));
}
