/*
 * machine.h - what the self-tests may assume about this machine: only what
 * it reports. Tests ask these before they take a 2 MiB block or look for
 * RAM at an address, and skip with the reason when the machine has none.
 */
#ifndef STRATA_TESTS_KERNEL_MACHINE_H
#define STRATA_TESTS_KERNEL_MACHINE_H

#include "mm/buddy/buddy.h"
#include "mm/arch.h"

/* The largest order with a free block on the lists (after draining this CPU's cache), or -1. */
static inline int largest_free_order(void)
{
	struct pmm_stats s;
	pmm_drain_cache();
	pmm_get_stats(&s);
	for (int o = PMM_MAX_ORDER; o >= 0; o--)
		if (s.free_blocks[o])
			return o;
	return -1;
}

/* The lowest size-aligned window of size bytes at or above from that is all RAM; false if none. */
static inline bool ram_window(uint64_t size, uint64_t from, uint64_t *pa)
{
	size_t n;
	const struct mem_range *m = pmm_sanitized_map(&n);
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = m[i].base > from ? m[i].base : from;
		uint64_t start = (lo + size - 1) & ~(size - 1);
		if (m[i].type == MEM_AVAILABLE && start >= lo &&
		    start < m[i].base + m[i].len && m[i].base + m[i].len - start >= size) {
			*pa = start;
			return true;
		}
	}
	return false;
}

#endif
