/*
 * report.c - what the heap holds: statistics, the slabinfo table, the leak
 * report, reaping, and the invariant check.
 *
 * An object is live when it is out of its slab and not in a magazine:
 * out - rounds. The heap's own caches do not count as live objects.
 */
#include "mm/slab/internal.h"
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
	for (struct cache *c = cache_list; c; c = c->next) {
		s->caches++;
		s->slab_pages += c->nslabs * c->npages;
		if (c->flags & CF_INTERNAL)
			continue;
		s->live_objects += cache_live(c);
		s->live_bytes += cache_live(c) * c->size;
	}
	s->live_objects += large_live;
	s->large_pages = large_pages;
	s->live_bytes += large_pages << PAGE_SHIFT;
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
	for (struct cache *c = cache_list; c; c = c->next) {
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
		(unsigned long long)large_live, (unsigned long long)st.large_pages);
	kprintf("SLABINFO caches=%llu objects=%llu live_kib=%llu slab_kib=%llu large_kib=%llu\n",
		(unsigned long long)st.caches, (unsigned long long)st.live_objects,
		(unsigned long long)(st.live_bytes >> 10), (unsigned long long)(st.slab_pages << 2),
		(unsigned long long)(st.large_pages << 2));
}

/* slab_reap: see slab.h. The internal caches last: emptying the others frees their objects. */
void slab_reap(void)
{
	for (struct cache *c = cache_list; c; c = c->next)
		if (!(c->flags & CF_INTERNAL))
			cache_shrink(c);
	slab_trim(mag_cache, 0);
	slab_trim(cache_cache, 0);
	slab_trim(desc_cache, 0);
	backing_trim();
}

/* slab_leak_report: see slab.h. */
size_t slab_leak_report(void)
{
	uint64_t n = 0;

	for (struct cache *c = cache_list; c; c = c->next)
		if (!(c->flags & CF_INTERNAL))
			n += cache_report_live(c);
	n += large_report_live();
	kprintf("slab: leak report: %llu live object(s)\n", (unsigned long long)n);
	return (size_t)n;
}
