/*
 * ram_range.c - does a physical range touch RAM? For callers that must
 * never name RAM as something else (the VMM's MMIO regions): a device
 * mapping over a frame is an alias the PMM cannot see, so it is refused.
 *
 * Ranges are compared by their last byte, so that nothing wraps: a range
 * that runs past 2^64 ends at 2^64 - 1. One pass over each map, however
 * long the range: a 1 TiB request costs what a page does.
 */
#include "mm/buddy/buddy.h"

/* The last byte of [base, base + len), len > 0, clipped at 2^64 - 1. */
static uint64_t last_byte(uint64_t base, uint64_t len)
{
	return len - 1 > UINT64_MAX - base ? UINT64_MAX : base + len - 1;
}

/* True if an entry of m[0..n) of type MEM_AVAILABLE shares a byte with [pa, last]. */
static bool map_has_ram(const struct mem_range *m, size_t n, uint64_t pa, uint64_t last)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].type == MEM_AVAILABLE && m[i].len &&
		    m[i].base <= last && pa <= last_byte(m[i].base, m[i].len))
			return true;
	return false;
}

/*
 * pmm_range_has_ram: see buddy.h. The sanitized map holds all RAM the PMM
 * manages or keeps reserved (the first MiB, the kernel, the metadata),
 * including RAM hot-added above the boot HHDM; the firmware's own map adds
 * the partial pages the sanitizer trimmed off, which are RAM all the same.
 * Either says RAM: the answer is yes.
 */
bool pmm_range_has_ram(uint64_t pa, uint64_t len)
{
	if (!len)
		return false;
	uint64_t last = last_byte(pa, len);
	size_t nsan;
	const struct mem_range *san = pmm_sanitized_map(&nsan);
	const struct pmm_boot *b = pmm_boot_info();
	return map_has_ram(san, nsan, pa, last) || map_has_ram(b->map, b->map_len, pa, last);
}
