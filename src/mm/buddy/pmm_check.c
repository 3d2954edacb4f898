/*
 * pmm_check.c - pmm_check(): every invariant of the layer, verified the slow way.
 *
 *  1. Each free map's set bits are blocks whose head record says FREE with
 *     the map's order, inside one zone; its summary levels agree with its
 *     leaves and its count with its bits; each section lies in one zone.
 *  2. No free block has a free buddy of its order in its section (the
 *     maps are fully merged: the free frames have exactly one shape).
 *  3. Walking each section, every frame is a RESERVED or CACHED frame, or
 *     the head of a free or allocated block followed by its TAIL frames.
 *  4. Every excluded frame (first MiB, protected, records) is RESERVED.
 *  5. The counters agree with the walk: free + allocated + reserved = total.
 */
#include "mm/buddy/pmm_state.h"
#include "lib/kprintf.h"

struct tally {
	uint64_t free_pages, free_heads, alloc_pages, reserved, cached;
};

static unsigned problem(const char *what, pfn_t pfn, uint64_t detail)
{
	kprintf("pmm: check: %s at 0x%llx (%llu)\n", what,
		(unsigned long long)pfn_to_pa(pfn), (unsigned long long)detail);
	return 1;
}

static struct tally *mapped;    /* where check_block counts: pmm_check runs under every lock */

/* One set bit of s's order-o map: the block at pfn. */
static unsigned check_block(const struct section *s, unsigned o, pfn_t pfn)
{
	struct frame *f = section_frame(s, pfn), *bf;
	pfn_t last = pfn + (1ULL << o) - 1;

	if (!f || !section_frame(s, last))
		return problem("free map holds a block outside its section", pfn, o);
	if (f->state != FRAME_FREE || f->order != o)
		return problem("free map holds a block whose record disagrees", pfn, f->state);
	bf = o < PMM_MAX_ORDER ? section_frame(s, pfn ^ (1ULL << o)) : NULL;
	if (bf && bf->state == FRAME_FREE && bf->order == o)
		return problem("free block and its buddy both free: not merged", pfn, o);
	mapped->free_pages += 1ULL << o;
	mapped->free_heads++;
	return 0;
}

/* Every map of s, and its zone. */
static unsigned check_maps(const struct section *s, struct tally *t)
{
	pfn_t last = s->base_pfn + s->npages - 1;

	if (pfn_zone(s->base_pfn) != s->zone || pfn_zone(last) != s->zone)
		return problem("section crosses a zone's edge", s->base_pfn, s->zone);
	mapped = t;
	return freemap_check(s, check_block, problem);
}

/* A block's head at pfn in section s: its frames after the head must be TAILs. */
static unsigned check_tails(const struct section *s, pfn_t pfn, const struct frame *f)
{
	uint64_t n = 1ULL << f->order;

	if ((pfn & (n - 1)) || pfn + n > s->base_pfn + s->npages)
		return problem("block misaligned or past its section", pfn, f->order);
	for (uint64_t i = 1; i < n; i++)
		if (s->frames[pfn - s->base_pfn + i].state != FRAME_TAIL)
			return problem("frame inside a block is not a tail", pfn + i, f->order);
	return 0;
}

static unsigned walk_section(const struct section *s, struct tally *t)
{
	unsigned bad = 0;

	for (pfn_t p = s->base_pfn; p < s->base_pfn + s->npages; ) {
		const struct frame *f = &s->frames[p - s->base_pfn];
		switch (f->state) {
		case FRAME_RESERVED: t->reserved++, p++; break;
		case FRAME_CACHED:   t->cached++, p++; break;
		case FRAME_FREE:
		case FRAME_ALLOCATED:
			if (check_tails(s, p, f))
				return bad + 1;
			if (f->state == FRAME_ALLOCATED)
				t->alloc_pages += 1ULL << f->order;
			else if (!freemap_test(s, f->order, p))
				return bad + problem("free block missing from its free map", p, f->order);
			else
				t->free_pages += 1ULL << f->order, t->free_heads++;
			p += 1ULL << f->order;
			break;
		default:
			bad += problem("tail frame outside any block", p, f->state);
			p++;
		}
	}
	return bad;
}

static unsigned check_exclusions(const struct section *s)
{
	pfn_t cur = s->base_pfn, end = cur + s->npages, until;
	unsigned bad = 0;

	while (cur < end) {
		if (!pfn_excluded(cur, &until)) {
			cur = next_exclusion(cur, end);
			continue;
		}
		for (; cur < until && cur < end; cur++)
			if (s->frames[cur - s->base_pfn].state != FRAME_RESERVED)
				bad += problem("protected frame is not reserved", cur,
					       s->frames[cur - s->base_pfn].state);
	}
	return bad;
}

static unsigned check_counts(const struct tally *t, const struct tally *listed)
{
	uint64_t inmaps = 0, heads = 0, cached = 0;
	unsigned bad = 0;

	for (int z = 0; z < NR_ZONES; z++) {
		const struct zone *zn = &pmm.zones[z];
		inmaps += zn->free_pages;
		for (int o = 0; o <= PMM_MAX_ORDER; o++) {
			uint64_t in_maps = 0;
			for (size_t i = zn->sec_lo; i < zn->sec_hi; i++) {
				in_maps += pmm.sec[i].map[o].nr;
				if (!o && pmm.sec[i].zone != (enum zone_id)z)
					bad += problem("zone's range of sections holds another zone's", pmm.sec[i].base_pfn, i);
			}
			heads += zn->nr[o];
			if (in_maps != zn->nr[o] || !!(zn->orders & (1u << o)) != !!zn->nr[o])
				bad += problem("zone's count of free blocks disagrees with its maps", 0, (uint64_t)o);
		}
	}
	for (int c = 0; c < ARCH_MAX_CPUS; c++) {
		cached += pmm.pcp[c].count;
		for (unsigned i = 0; i < pmm.pcp[c].count; i++) {
			struct frame *f = pfn_frame(pmm.pcp[c].pfn[i]);
			if (!f || f->state != FRAME_CACHED)
				bad += problem("cached page is not marked cached", pmm.pcp[c].pfn[i], c);
		}
	}
	if (listed->free_pages != inmaps || listed->free_heads != heads)
		bad += problem("free counters disagree with the maps", 0, inmaps);
	if (t->free_pages != inmaps || t->free_heads != heads)
		bad += problem("free blocks in the records are not all in the maps", 0, t->free_heads);
	if (t->cached != cached)
		bad += problem("cached frames disagree with the caches", 0, cached);
	if (t->reserved != pmm.reserved_pages)
		bad += problem("reserved frames disagree with the counter", 0, t->reserved);
	if (t->free_pages + t->cached + t->alloc_pages + t->reserved != pmm.total_pages)
		bad += problem("free + allocated + reserved != total", 0, pmm.total_pages);
	return bad;
}

/* pmm_check: see buddy.h. Under every lock of the layer, so it may run while other CPUs allocate. */
unsigned pmm_check(void)
{
	uint64_t irq = pmm_lock_all();
	struct tally walked = { 0 }, listed = { 0 };
	unsigned bad = 0;

	for (size_t i = 0; i < pmm.nsec; i++) {
		if (i && pmm.sec[i].base_pfn < pmm.sec[i - 1].base_pfn + pmm.sec[i - 1].npages)
			bad += problem("sections out of order or overlapping", pmm.sec[i].base_pfn, i);
		bad += check_maps(&pmm.sec[i], &listed);
		bad += walk_section(&pmm.sec[i], &walked);
		bad += check_exclusions(&pmm.sec[i]);
	}
	bad += check_counts(&walked, &listed);
	pmm_unlock_all(irq);
	return bad;
}
