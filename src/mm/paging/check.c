/*
 * check.c - the argument checks every entry point makes before it touches
 * a table, so that a refused call has changed nothing.
 */
#include "mm/paging/internal.h"

/* [va, va+len): non-empty, page aligned, not wrapping, inside one canonical half. */
int check_range(uintptr_t va, size_t len)
{
	if (len == 0)
		return PG_E_LENGTH;
	if ((va | len) & (PAGE_SIZE - 1))
		return PG_E_ALIGN;
	if (va + len - 1 < va)
		return PG_E_LENGTH;
	uintptr_t last = va + len - 1;
	if (!pg_va_canonical(va) || !pg_va_canonical(last) || upper_half(va) != upper_half(last))
		return PG_E_CANONICAL;
	return 0;
}

/* [pa, pa+len) aligned and below 2^phys_bits. */
int check_phys(uint64_t pa, size_t len)
{
	if (pa & (PAGE_SIZE - 1))
		return PG_E_ALIGN;
	if (pa + len - 1 < pa)
		return PG_E_LENGTH;
	if ((pa + len - 1) >> pg_feat.phys_bits)
		return PG_E_PHYS_RANGE;
	return 0;
}

/*
 * x86 has no write-only or no-access leaf: PG_READ is required; no unknown
 * bits. W^X: writable and executable only with PG_ALLOW_WX (PG_E_WX).
 */
int check_prot(unsigned flags)
{
	if (!(flags & PG_READ) ||
	    (flags & ~(PG_PROT_MASK | PG_MAP_REPLACE | PG_SIZE_MASK | PG_ALLOW_WX)))
		return PG_E_UNSUPPORTED;
	if ((flags & (PG_WRITE | PG_EXEC | PG_ALLOW_WX)) == (PG_WRITE | PG_EXEC))
		return PG_E_WX;
	return 0;
}

/* True if va+len is an address in va's half, i.e. the range has an edge there to split at. */
bool end_in_half(uintptr_t va, size_t len)
{
	uintptr_t end = va + len;
	return end != 0 && pg_va_canonical(end) && upper_half(end) == upper_half(va);
}

/* True if every page of [va, va+len) is mapped, at any size. */
bool range_mapped(uint64_t root, uintptr_t va, size_t len)
{
	uintptr_t end = va + len;           /* may be 0: the top of the space */
	while (va != end) {
		unsigned level;
		pte_t *e = walk_find(root, va, &level);
		if (!e)
			return false;
		uintptr_t next = (va & ~(level_size(level) - 1)) + level_size(level);
		if (next - va >= end - va)  /* past the end (also when next or end is 0) */
			return true;
		va = next;
	}
	return true;
}
