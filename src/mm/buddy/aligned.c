/*
 * aligned.c - N pages aligned to A, over the buddy allocator.
 *
 * Take the smallest block at least max(N, A) pages long: being naturally
 * aligned, it is aligned to A. Keep its first N pages as the blocks of N's
 * binary digits, largest first (N = 5: an order-2 block, then an order-0
 * one), and free the rest (take_block, in buddy.c, which pmm_alloc shares).
 * Each kept block is an ordinary allocated block,
 * so pmm_free_aligned cuts N the same way and frees each; pmm_alloc(k)
 * and pmm_alloc_aligned(2^k, 0) are interchangeable.
 */
#include "mm/buddy/internal.h"
#include "mm/failure.h"
#include "lib/kprintf.h"

static unsigned order_for(uint64_t pages)
{
	unsigned o = 0;
	while ((1ULL << o) < pages)
		o++;
	return o;
}

/* pmm_alloc_aligned: see buddy.h. */
uint64_t pmm_alloc_aligned(size_t npages, size_t align_bytes, unsigned flags)
{
	uint64_t align = align_bytes > PAGE_SIZE ? align_bytes >> PAGE_SHIFT : 1;
	unsigned order;

	if (align_bytes & (align_bytes - 1)) {
		MM_MISUSE("pmm", "alloc_aligned: alignment 0x%zx is not a power of two", align_bytes);
		return PMM_NO_FRAME;
	}
	if (npages == 0 || npages > (1ULL << PMM_MAX_ORDER) || align > (1ULL << PMM_MAX_ORDER))
		return PMM_NO_FRAME;
	order = order_for(npages > align ? npages : align);
	return take_block(order, npages, flags);
}

/* pmm_free_aligned: see buddy.h. Every block is checked before any is freed. */
int pmm_free_aligned(uint64_t pa, size_t npages)
{
	uint64_t irq, off;
	int r = 0;

	if (npages == 0 || npages > (1ULL << PMM_MAX_ORDER)) {
		MM_MISUSE("pmm", "free_aligned 0x%llx: %zu pages is not a size it hands out",
			(unsigned long long)pa, npages);
		return PMM_E_BAD_ORDER;
	}
	irq = spin_lock_irqsave(&pmm.lock);
	off = 0;
	for (int o = PMM_MAX_ORDER; o >= 0 && !r; o--)
		if (npages & (1ULL << o)) {
			r = check_freeable(pa + (off << PAGE_SHIFT), (unsigned)o, "free_aligned");
			off += 1ULL << o;
		}
	off = 0;
	for (int o = PMM_MAX_ORDER; o >= 0 && !r; o--)
		if (npages & (1ULL << o)) {
			core_free(pa_to_pfn(pa) + off, (unsigned)o);
			off += 1ULL << o;
		}
	spin_unlock_irqrestore(&pmm.lock, irq);
	return r;
}
