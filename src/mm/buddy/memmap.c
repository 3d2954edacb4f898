/*
 * memmap.c - the memory map sanitizer.
 *
 * Firmware maps come unsorted, overlapping, unaligned, with zero-length and
 * wrapping entries. Rather than sort and then repair, we sweep: starting at
 * the lowest address, find the next address where any entry starts or ends;
 * everything between is covered by the same set of entries, so one type
 * (the strongest of them) describes it. Consecutive pieces of one type
 * merge as they are emitted, so the output comes out sorted, disjoint and
 * merged by construction. It is O(n^2) in the number of entries, no
 * recursion, no scratch memory: a few thousand entries take milliseconds,
 * and real maps have dozens.
 */
#include "mm/buddy/buddy.h"
#include "mm/arch.h"

/* Which type wins where entries overlap: RAM loses to everything. */
static unsigned type_rank(uint32_t type)
{
	switch (type) {
	case MEM_AVAILABLE:        return 1;
	case MEM_ACPI_RECLAIMABLE: return 2;
	case MEM_NVS:              return 4;
	case MEM_BAD:              return 5;
	default:                   return 3;   /* reserved, and anything unknown */
	}
}

static const uint32_t rank_type[] = {
	0, MEM_AVAILABLE, MEM_ACPI_RECLAIMABLE, MEM_RESERVED, MEM_NVS, MEM_BAD,
};

static uint64_t phys_limit(unsigned phys_bits)
{
	if (phys_bits < 12 || phys_bits > 63)
		phys_bits = 52;
	return 1ULL << phys_bits;
}

/* The entry as [*s, *e) below limit; false if nothing of it is left. Wrapping ends stop at limit. */
static bool clip(const struct mem_range *r, uint64_t limit, uint64_t *s, uint64_t *e)
{
	if (r->len == 0 || r->base >= limit)
		return false;
	*s = r->base;
	*e = r->len > limit - r->base ? limit : r->base + r->len;
	return true;
}

/*
 * Look at every entry once for the piece starting at cur: the strongest
 * type covering cur (0 if none) and the next boundary above cur.
 */
static unsigned scan(const struct mem_range *in, size_t n, uint64_t limit,
		     uint64_t cur, uint64_t *next)
{
	unsigned best = 0;
	uint64_t s, e;
	*next = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		if (!clip(&in[i], limit, &s, &e) || e <= cur)
			continue;
		if (s <= cur) {
			unsigned r = type_rank(in[i].type);
			best = r > best ? r : best;
			*next = e < *next ? e : *next;
		} else if (s < *next) {
			*next = s;
		}
	}
	return best;
}

/* Append [s, e) of type, merging with the last entry; drop it if out is full. */
static size_t emit(struct mem_range *out, size_t m, size_t cap, uint64_t s, uint64_t e, uint32_t type)
{
	if (m && out[m - 1].type == type && out[m - 1].base + out[m - 1].len == s) {
		out[m - 1].len = e - out[m - 1].base;
		return m;
	}
	if (m == cap)
		return m;
	out[m].base = s, out[m].len = e - s, out[m].type = type;
	return m + 1;
}

/* Shrink RAM entries to whole pages, dropping those with none; other types keep their bytes. */
static size_t trim_ram(struct mem_range *out, size_t m)
{
	size_t k = 0;
	for (size_t i = 0; i < m; i++) {
		struct mem_range r = out[i];
		if (r.type == MEM_AVAILABLE) {
			uint64_t s = (r.base + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
			uint64_t e = (r.base + r.len) & ~(PAGE_SIZE - 1);
			if (e <= s)
				continue;
			r.base = s, r.len = e - s;
		}
		out[k++] = r;
	}
	return k;
}

size_t memmap_sanitize(const struct mem_range *in, size_t n, struct mem_range *out,
		       size_t out_cap, unsigned phys_bits)
{
	uint64_t limit = phys_limit(phys_bits), cur = UINT64_MAX, s, e, next;
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (clip(&in[i], limit, &s, &e) && s < cur)
			cur = s;
	while (cur != UINT64_MAX) {
		unsigned rank = scan(in, n, limit, cur, &next);
		if (next == UINT64_MAX)
			break;
		if (rank)
			m = emit(out, m, out_cap, cur, next, rank_type[rank]);
		cur = next;
	}
	return trim_ram(out, m);
}
