/*
 * backing.c - where slabs come from: the one file that calls the layers below.
 *
 * Everything else in src/mm/slab/ asks this file for "npages of mapped
 * kernel memory" and for "the slab descriptor of this address". To lift the
 * heap into another kernel, rewrite this file and nothing else.
 *
 * Today's backing: pages from the buddy, reached through the HHDM (the VMM,
 * which is to own the kernel heap area, is not written yet). The owner of a
 * page is kept in the buddy's per-frame private word, encoded in 32 bits as
 * the descriptor's offset from the HHDM base in SLAB_DESC_ALIGN units, plus
 * one so that 0 (what the buddy puts in every frame it hands out) means
 * "no owner": 2^32 x 64 bytes covers 256 GiB of RAM.
 */
#include "mm/slab/internal.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "lib/kprintf.h"

static uintptr_t owner_base(void) { return hhdm_offset; }

/* backing_alloc: see internal.h. */
void *backing_alloc(size_t npages)
{
	uint64_t pa = npages == 1 ? pmm_alloc_page(0) : pmm_alloc_aligned(npages, 0, 0);

	if (pa == PMM_NO_FRAME)
		return NULL;
	return phys_to_virt(pa);
}

/* backing_free: see internal.h. A refusal by the buddy is reported there. */
void backing_free(void *va, size_t npages)
{
	uint64_t pa = virt_to_phys(va);

	if (npages == 1)
		pmm_free_page(pa);
	else
		pmm_free_aligned(pa, npages);
}

static uint32_t encode(const struct slab *owner)
{
	return owner ? (uint32_t)((((uintptr_t)owner - owner_base()) / SLAB_DESC_ALIGN) + 1) : 0;
}

/* backing_set_owner: see internal.h. */
void backing_set_owner(void *va, size_t npages, const struct slab *owner)
{
	uint64_t pa = virt_to_phys(va);

	for (size_t i = 0; i < npages; i++)
		pmm_frame_set_private(pa + i * PAGE_SIZE, encode(owner));
}

/*
 * backing_owner: see internal.h. Any address may arrive here (kfree of a
 * stack pointer), so check it is RAM before asking for its frame's word.
 */
struct slab *backing_owner(const void *va)
{
	uintptr_t v = (uintptr_t)va;
	uint64_t pa = v - hhdm_offset;
	uint32_t tag;

	if (v < hhdm_offset || !pmm_is_ram(pa))
		return NULL;
	tag = pmm_frame_private(pa);
	if (!tag)
		return NULL;
	return (struct slab *)(owner_base() + (uintptr_t)(tag - 1) * SLAB_DESC_ALIGN);
}

static const char *zone_name(uint64_t pa)
{
	/* The buddy's zone limits (buddy.h: DMA < 16 MiB, DMA32 < 4 GiB). */
	return pa < (16ULL << 20) ? "DMA" : pa < (4ULL << 30) ? "DMA32" : "NORMAL";
}

static unsigned order_of(size_t npages)
{
	unsigned o = 0;
	while ((1UL << o) < npages)
		o++;
	return o;
}

/*
 * backing_explain: see internal.h. The HHDM is mapped with the largest
 * pages, so the translation shows a 1 GiB or 2 MiB leaf, not a new PTE.
 */
void backing_explain(const void *va, size_t npages)
{
	uint64_t pa = virt_to_phys(va), tpa = 0;
	uint64_t root = pg_kernel_root() ? pg_kernel_root() : arch_read_cr3() & ~0xfffULL;
	unsigned flags = 0;
	size_t psz = 0;

	kprintf("  vmm:    (no VMM yet) slab pages come straight from the buddy, reached by the HHDM\n");
	kprintf("  buddy:  %zu page(s) = order %u, zone %s, pa 0x%llx, refcount %u\n", npages,
		order_of(npages), zone_name(pa), (unsigned long long)pa, pmm_frame_refcount(pa));
	if (pg_translate(root, (uintptr_t)va, &tpa, &flags, &psz) == 0)
		kprintf("  paging: PML4 at 0x%llx maps va %p -> pa 0x%llx in a %zu KiB leaf, %s%s%s (HHDM, mapped at boot)\n",
			(unsigned long long)root, va, (unsigned long long)tpa, psz >> 10,
			flags & PG_READ ? "r" : "-", flags & PG_WRITE ? "w" : "-", flags & PG_EXEC ? "x" : "-");
	else
		kprintf("  paging: va %p not found in the tables at 0x%llx\n", va, (unsigned long long)root);
}
