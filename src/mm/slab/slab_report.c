/*
 * slab_report.c - what the heap holds: statistics, the slabinfo table, the
 * leak report, reaping, the invariant check (slab_check) and the query
 * the kernel's demonstration reads (slab_class_info, slab_obj_info).
 *
 * An object is live when it is out of its slab and not in a magazine:
 * out - rounds. The heap's own caches do not count as live objects.
 */
#include "mm/slab/slab_private.h"
#include "mm/trace.h"
#include "lib/kprintf.h"

static uint64_t cache_live(struct cache *c)
{
	uint64_t out = __atomic_load_n(&c->out, __ATOMIC_RELAXED), rounds = mag_rounds(c);
	return out > rounds ? out - rounds : 0;
}

/* slab_get_stats: see slab.h. A snapshot; counters read without stopping the other CPUs. */
void slab_get_stats(struct slab_stats *s)
{
	*s = (struct slab_stats){ 0 };
	for (struct cache *c = kheap.caches; c; c = c->next) {
		s->caches++;
		s->slab_pages += c->nslabs * c->npages;
		if (c->flags & CF_INTERNAL)
			continue;
		s->live_objects += cache_live(c);
		s->live_bytes += cache_live(c) * c->size;
	}
	s->live_objects += kheap.large_live;
	s->large_pages = kheap.large_pages;
	s->live_bytes += kheap.large_pages << PAGE_SHIFT;
	s->vmm_trips = pages_trips();
}

/* slab_live_objects: see slab.h. */
uint64_t slab_live_objects(void)
{
	struct slab_stats s;
	slab_get_stats(&s);
	return s.live_objects;
}

/* slab_report: see slab.h. Caches with no slab are left out of the table. */
void slab_report(void)
{
	struct slab_stats st;
	unsigned quiet = 0;

	kprintf("slab: %-16s %7s %8s %8s %6s %6s %4s %s\n", "cache", "objsize", "active", "total",
		"slabs", "pages", "pg/s", "layout");
	for (struct cache *c = kheap.caches; c; c = c->next) {
		if (!c->nslabs) {
			quiet++;
			continue;
		}
		kprintf("slab: %-16s %7zu %8llu %8llu %6llu %6llu %4u %s%s\n", c->name, c->size,
			(unsigned long long)cache_live(c), (unsigned long long)(c->nslabs * c->nobj),
			(unsigned long long)c->nslabs, (unsigned long long)(c->nslabs * c->npages),
			c->npages, c->flags & CF_OFFSLAB ? "off-slab" : "on-slab",
			c->flags & CF_REDZONE ? ",redzone" : "");
	}
	slab_get_stats(&st);
	kprintf("slab: %u caches without slabs not shown; large allocations: %llu (%llu pages)\n", quiet,
		(unsigned long long)kheap.large_live, (unsigned long long)st.large_pages);
	kprintf("SLABINFO caches=%llu objects=%llu live_kib=%llu slab_kib=%llu large_kib=%llu\n",
		(unsigned long long)st.caches, (unsigned long long)st.live_objects,
		(unsigned long long)(st.live_bytes >> 10), (unsigned long long)(st.slab_pages << 2),
		(unsigned long long)(st.large_pages << 2));
}

/*
 * slab_reap: see slab.h. The internal caches last: emptying the others
 * frees their objects. The magazine cache keeps one empty slab, as
 * slab_init leaves it: the first refill after a reap then finds a magazine
 * without growing a cache of its own first.
 */
void slab_reap(void)
{
	for (struct cache *c = kheap.caches; c; c = c->next)
		if (!(c->flags & CF_INTERNAL))
			cache_shrink(c);
	slab_trim(&kheap.mag_cache, 1);
	slab_trim(&kheap.cache_cache, 0);
	slab_trim(&kheap.desc_cache, 0);
	pages_trim();
}

static uint64_t slabs_held(void)
{
	uint64_t n = 0;

	for (struct cache *c = kheap.caches; c; c = c->next)
		n += __atomic_load_n(&c->nslabs, __ATOMIC_RELAXED);
	return n;
}

/* slab_reclaim: see slab_private.h. The internal caches last, as in slab_reap. */
bool slab_reclaim(void)
{
	uint64_t before = slabs_held();

	for (struct cache *c = kheap.caches; c; c = c->next)
		if (!(c->flags & CF_INTERNAL)) {
			depot_drain(c);
			slab_trim(c, 0);
		}
	slab_trim(&kheap.mag_cache, 1);
	slab_trim(&kheap.desc_cache, 0);
	pages_trim();
	MM_TRACE("slab", "out of pages: gave back %llu idle slab(s)", (unsigned long long)(before - slabs_held()));
	return slabs_held() < before;
}

/* slab_leak_report: see slab.h. */
size_t slab_leak_report(void)
{
	uint64_t n = 0;

	for (struct cache *c = kheap.caches; c; c = c->next)
		if (!(c->flags & CF_INTERNAL))
			n += cache_report_live(c);
	n += large_report_live();
	kprintf("slab: leak report: %llu live object(s)\n", (unsigned long long)n);
	return (size_t)n;
}

static void cache_info(struct cache *c, struct slab_cache_info *ci)
{
	uint64_t out = __atomic_load_n(&c->out, __ATOMIC_RELAXED);

	*ci = (struct slab_cache_info){ .name = c->name, .size = c->size, .npages = c->npages,
					.nobj = c->nobj, .slabs = c->nslabs, .parked = mag_rounds(c),
					.grows = c->grows };
	ci->free = c->nslabs * c->nobj > out ? c->nslabs * c->nobj - out : 0;
}

/* slab_class_info: see slab.h. */
bool slab_class_info(size_t size, struct slab_cache_info *ci)
{
	struct cache *c = kmalloc_cache(size);

	if (!c)
		return false;
	cache_info(c, ci);
	return true;
}

/* slab_cache_nth: see slab.h. Under the list's lock, so no cache_destroy unlinks it mid-walk. */
bool slab_cache_nth(unsigned n, struct slab_cache_info *ci)
{
	uint64_t irq = spin_lock_irqsave(&kheap.caches_lock);
	struct cache *c = kheap.caches;

	while (c && n--)
		c = c->next;
	if (c)
		cache_info(c, ci);
	spin_unlock_irqrestore(&kheap.caches_lock, irq);
	return c != NULL;
}

/* slab_obj_info: see slab.h. */
bool slab_obj_info(const void *p, struct slab_obj_info *oi)
{
	struct slab *s = pages_owner(p);
	long i = s && slab_sound(s) ? slab_obj_index(s->cache, s, (uintptr_t)p) : -1;

	if (i < 0)                      /* large_cache has no objects: -1 too */
		return false;
	cache_info(s->cache, &oi->cache);
	oi->slab = (void *)s->base;
	oi->index = (unsigned)i;
	return true;
}

/*
 * slab_check(): every invariant of every cache, verified.
 *
 *   - each slab on a list is sound, belongs to the cache, and is on the
 *     list its count says (empty 0, partial, full nobj);
 *   - its count equals the objects its state bits say are used, no object
 *     is parked without being used, and no bit is set past nobj;
 *   - the frames of its first and last page name it as their owner;
 *   - the slabs add up to nslabs, their counts to out; the depot's full
 *     magazines to depot_rounds; the parked objects to the magazines' rounds;
 *   - the depot's lists to its counts, within depot_max, and the working
 *     set's low marks are no higher than what the depot holds.
 */
static unsigned problem(const struct cache *c, const void *where, const char *what)
{
	kprintf("slab: check: cache %s, %p: %s\n", c->name, where, what);
	return 1;
}

/*
 * Objects used and parked by s's state words; *bad counts bits set for
 * objects past nobj and objects parked but not used.
 */
static unsigned count_state(const struct cache *c, const struct slab *s, unsigned *parked, unsigned *bad)
{
	unsigned used = 0;

	*parked = *bad = 0;
	for (unsigned w = 0; w < c->words; w++) {
		uint64_t u = s->map[2 * w], p = s->map[2 * w + 1];
		used += (unsigned)__builtin_popcountll(u);
		*parked += (unsigned)__builtin_popcountll(p);
		*bad += (unsigned)__builtin_popcountll(p & ~u);
		for (unsigned b = 0; b < 64; b++)
			if (((u | p) >> b & 1) && w * 64 + b >= s->nobj)
				(*bad)++;
	}
	return used;
}

static unsigned check_slab(struct cache *c, struct slab *s, uint8_t which, uint64_t *out, uint64_t *parked)
{
	unsigned bad = 0, beyond, np;

	if (!slab_sound(s) || s->cache != c)
		return problem(c, s, "descriptor fails its check or names another cache");
	if (s->list != which || (which == LIST_EMPTY) != (s->inuse == 0) ||
	    (which == LIST_FULL) != (s->inuse == s->nobj))
		bad += problem(c, s, "on the wrong list for its count");
	if (count_state(c, s, &np, &beyond) != s->inuse || beyond)
		bad += problem(c, s, "count does not match the bitmap");
	*parked += np;
	if (pages_owner((void *)s->base) != s || pages_owner((void *)(slab_end(s) - 1)) != s)
		bad += problem(c, s, "its pages do not name it as their owner");
	*out += s->inuse;
	return bad;
}

/*
 * One cache, holding still: every CPU's magazines (their busy words, in
 * CPU order), then the cache lock, so it may run while other CPUs use c.
 */
static unsigned check_cache(struct cache *c)
{
	uint64_t irq, out = 0, slabs = 0, rounds = 0, parked = 0;
	unsigned bad = 0;

	mags_hold_all(c);
	irq = spin_lock_irqsave(&c->lock);
	for (uint8_t which = LIST_PARTIAL; which <= LIST_FULL; which++) {
		struct slab_list *l = list_of(c, which);
		struct slab *s = l->head;
		for (uint64_t k = 0; k < l->nr; k++, s = s->next)
			bad += check_slab(c, s, which, &out, &parked);
		if (l->nr && s != l->head)
			bad += problem(c, l->head, "list does not close on its count");
		slabs += l->nr;
	}
	uint64_t nfull = 0, nempty = 0;
	for (struct magazine *m = c->depot_full; m; m = m->next, nfull++)
		rounds += m->rounds;
	for (struct magazine *m = c->depot_empty; m; m = m->next)
		nempty++;
	if (slabs != c->nslabs || out != c->out || rounds != c->depot_rounds)
		bad += problem(c, c, "counters do not add up");
	if (nfull != c->depot_nfull || nempty != c->depot_nempty || nfull > c->depot_max ||
	    c->ws_full_min > nfull || c->ws_empty_min > nempty)
		bad += problem(c, c, "the depot's counts or working-set marks do not match its lists");
	if (parked != mag_rounds_held(c))
		bad += problem(c, c, "objects marked parked do not match the magazines' rounds");
	spin_unlock_irqrestore(&c->lock, irq);
	mags_release_all(c);
	return bad;
}

/* slab_check: see slab.h. */
unsigned slab_check(void)
{
	unsigned bad = 0;

	for (struct cache *c = kheap.caches; c; c = c->next)
		bad += check_cache(c);
	return bad;
}
