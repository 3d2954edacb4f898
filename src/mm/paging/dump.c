/*
 * dump.c - pg_dump: an address space as QEMU's `info mem` shows one,
 * from our own tables: runs of leaves with the same flags and page size
 * and contiguous addresses merged into one line.
 */
#include "mm/paging/internal.h"

struct run {
	uintptr_t va, end;      /* [va, end) */
	uint64_t pa;            /* of the first page; runs need not be contiguous in pa */
	bool pa_contig;
	size_t size, count;
	unsigned flags;
};

static void size_str(char *buf, size_t n, uint64_t bytes)
{
	static const char unit[] = "KMGT";
	unsigned u = 0;
	bytes >>= 10;
	while (u < 3 && bytes >= 1024 && !(bytes & 1023))
		bytes >>= 10, u++;
	ksnprintf(buf, n, "%lu%c", bytes, unit[u]);
}

/* pg_cache_name: see paging.h. */
const char *pg_cache_name(unsigned flags)
{
	static const char *const name[] = { "wb", "wt", "uc", "wc" };
	return name[(flags & PG_CACHE_MASK) >> 5];
}

static void run_print(const struct run *r)
{
	char len[16], page[16];
	if (!r->count)
		return;
	size_str(len, sizeof(len), r->end - r->va);
	size_str(page, sizeof(page), r->size);
	kprintf("  %016lx-%016lx %6s  %c%c%c %c %c %s  %s x%lu  pa %lx%s\n", r->va, r->end, len,
		'r', r->flags & PG_WRITE ? 'w' : '-', r->flags & PG_EXEC ? 'x' : '-',
		r->flags & PG_USER ? 'u' : 'k', r->flags & PG_GLOBAL ? 'g' : '-',
		pg_cache_name(r->flags), page, r->count, r->pa,
		r->pa_contig ? "" : " (scattered)");
}

static void run_add(uintptr_t va, uint64_t pa, size_t size, unsigned flags, void *arg)
{
	struct run *r = arg;
	if (r->count && va == r->end && flags == r->flags && size == r->size) {
		r->pa_contig &= pa == r->pa + (r->end - r->va);
		r->end += size, r->count++;
		return;
	}
	run_print(r);
	*r = (struct run){ va, va + size, pa, true, size, 1, flags };
}

static void dump_half(uint64_t root, uintptr_t from, uintptr_t last)
{
	struct run r = { 0 };
	pg_walk(root, from, last - from + 1, run_add, &r);
	run_print(&r);
}

void pg_dump(uint64_t root, uintptr_t from, uintptr_t to)
{
	uintptr_t lo_last = (1UL << (pg_feat.levels == 5 ? 56 : 47)) - 1, hi = ~lo_last;
	kprintf("paging: address space %lx (%u levels), %lx..%lx\n", root, pg_feat.levels, from, to);
	if (from <= lo_last && (to == 0 || from < to))
		dump_half(root, from, to == 0 || to - 1 > lo_last ? lo_last : to - 1);
	if (from < hi)
		from = hi;
	if (to == 0 || to > from)
		dump_half(root, from, to - 1);
}
