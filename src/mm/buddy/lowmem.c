/*
 * lowmem.c - lending pages of the first MiB.
 *
 * The buddy never frees the first MiB (pmm_boot.c): the firmware keeps
 * its data there, and real-mode code can only run there. One user needs
 * it anyway: an application processor starts in real mode at a page the
 * startup IPI names (vector << 12, so below 1 MiB). Such a page is lent,
 * not allocated: it must be RAM in the sanitized map, no protected range
 * (boot modules, the boot information) may touch it, page 0 (the real-
 * mode interrupt table and BIOS data) is never lent, and its frame record
 * stays RESERVED, so the buddy's invariants do not change while it is out.
 * Lent pages are remembered here, under pmm.lock.
 */
#include "mm/buddy/pmm_state.h"
#include "mm/failure.h"

static uint64_t lent[FIRST_MIB_PFN / 64];

static bool is_ram(pfn_t pfn)
{
	pa_t pa = pfn_to_pa(pfn);
	for (size_t i = 0; i < pmm.nsan; i++)
		if (pmm.san[i].type == MEM_AVAILABLE && pa >= pmm.san[i].base &&
		    pa + PAGE_SIZE <= pmm.san[i].base + pmm.san[i].len)
			return true;
	return false;
}

static bool is_protected(pfn_t pfn)
{
	pa_t pa = pfn_to_pa(pfn);
	for (size_t i = 0; i < pmm.boot.protect_len; i++) {
		const struct mem_range *r = &pmm.protect[i];
		if (!pmm.released[i] && r->len && pa < r->base + r->len && pa + PAGE_SIZE > r->base)
			return true;
	}
	return false;
}

static bool is_lent(pfn_t pfn) { return lent[pfn / 64] >> (pfn % 64) & 1; }

/* pmm_lend_low_page: see buddy.h. Prefers 0x8000 and up, where loaders leave nothing. */
pa_t pmm_lend_low_page(void)
{
	static const pfn_t from[2] = { 8, 1 };
	pa_t pa = PMM_NO_FRAME;
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	for (int pass = 0; pass < 2 && pa == PMM_NO_FRAME; pass++)
		for (pfn_t pfn = from[pass]; pfn < FIRST_MIB_PFN; pfn++)
			if (is_ram(pfn) && !is_protected(pfn) && !is_lent(pfn)) {
				lent[pfn / 64] |= 1ULL << (pfn % 64);
				pa = pfn_to_pa(pfn);
				break;
			}
	spin_unlock_irqrestore(&pmm.lock, irq);
	return pa;
}

/* pmm_return_low_page: see buddy.h. */
int pmm_return_low_page(pa_t pa)
{
	pfn_t pfn = pa_to_pfn(pa);
	int r = 0;
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	if ((pa & (PAGE_SIZE - 1)) || pfn >= FIRST_MIB_PFN || !is_lent(pfn)) {
		MM_MISUSE("pmm", "return_low_page 0x%llx: not a page it lent", (unsigned long long)pa);
		r = PMM_E_NOT_ALLOCATED;
	} else {
		lent[pfn / 64] &= ~(1ULL << (pfn % 64));
	}
	spin_unlock_irqrestore(&pmm.lock, irq);
	return r;
}

/* Pages lent now (the self-tests check that start-up gave them back). */
unsigned pmm_low_pages_lent(void)
{
	unsigned n = 0;
	for (size_t i = 0; i < sizeof(lent) / sizeof(lent[0]); i++)
		n += __builtin_popcountll(lent[i]);
	return n;
}
