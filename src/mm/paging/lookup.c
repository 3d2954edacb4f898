/*
 * lookup.c - reading an address space: one address (pg_translate), a
 * range leaf by leaf (pg_walk), and a dump like QEMU's `info mem`
 * (pg_dump): runs of leaves with the same flags and page size and
 * contiguous addresses merged into one line.
 */
#include "mm/paging/pte.h"
#include "lib/kprintf.h"

int pg_translate(pg_root_t root, va_t va, pa_t *pa, unsigned *flags, size_t *page_size)
{
	if (!pg_va_canonical(va))
		return PG_E_CANONICAL;
	unsigned level;
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	pte_t v = *walk(root, va, 0, NULL, NULL, &level);
	spin_unlock_irqrestore(&pg.lock, irq);
	if (!pte_present(v))
		return PG_E_NOT_MAPPED;
	if (pa)
		*pa = pte_addr(v, level) + (va & (level_size(level) - 1));
	if (flags)
		*flags = pte_flags(v, level);
	if (page_size)
		*page_size = level_size(level);
	return 0;
}

struct walk_call {
	pg_walk_fn fn;
	void *arg;
};

static void walk_leaf(pte_t *e, unsigned level, va_t va, va_t end, void *arg)
{
	struct walk_call *c = arg;
	(void)end;
	c->fn(va & ~(level_size(level) - 1), pte_addr(*e, level), level_size(level),
	      pte_flags(*e, level), c->arg);
}

void pg_walk(pg_root_t root, va_t va, size_t len, pg_walk_fn fn, void *arg)
{
	if (!pg_va_canonical(va))
		return;
	va_t last = upper_half(va) ? ~0UL : lower_half_last();
	if (len && va + len - 1 >= va && va + len - 1 < last)
		last = va + len - 1;
	struct walk_call c = { fn, arg };
	struct visitor v = { .leaf = walk_leaf, .arg = &c };
	visit(root, va, last, &v);
}

/* pg_cache_name: see paging.h. */
const char *pg_cache_name(unsigned flags)
{
	static const char *const name[] = { "wb", "wt", "uc", "wc" };
	return name[(flags & PG_CACHE_MASK) >> 5];
}

struct run {
	va_t va, end;           /* [va, end) */
	pa_t pa;                /* of the first page; runs need not be contiguous in pa */
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

static void run_add(va_t va, pa_t pa, size_t size, unsigned flags, void *arg)
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

static void dump_half(pg_root_t root, va_t from, va_t last)
{
	struct run r = { 0 };
	pg_walk(root, from, last - from + 1, run_add, &r);
	run_print(&r);
}

void pg_dump(pg_root_t root, va_t from, va_t to)
{
	va_t lo_last = lower_half_last(), hi = ~lo_last;
	kprintf("paging: address space %lx (%u levels), %lx..%lx\n", root, pg.feat.levels, from, to);
	if (from <= lo_last && (to == 0 || from < to))
		dump_half(root, from, to == 0 || to - 1 > lo_last ? lo_last : to - 1);
	if (from < hi)
		from = hi;
	if (to == 0 || to > from)
		dump_half(root, from, to - 1);
}
