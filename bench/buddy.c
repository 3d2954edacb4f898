/*
 * buddy.c - benchmarks of the physical memory manager, the same code in
 * the kernel (mode=bench) and on the host (bench/host/buddy_main.c).
 *
 * Each runs on the allocator as it finds it and gives back everything it
 * took. Lines printed (see bench.h):
 *   buddy_page_pair_hot         pmm_alloc_page + pmm_free_page, per pair
 *   buddy_raw_pair_hot          pmm_alloc(0) + pmm_free(.., 0), per pair
 *   buddy_alloc_all             every free page through pmm_alloc_page, per page
 *   buddy_free_all_random       all of them back in random order, per page
 *   buddy_order9_after_free50   order-9 allocations after freeing a random
 *   buddy_order9_after_free90   50 % / 90 % of all pages, per attempt, with
 *                               the success rate
 * Start-up time per GiB is measured by the host driver only: the kernel
 * cannot run pmm_init again under itself.
 */
#include "bench/bench.h"
#include "mm/buddy/buddy.h"
#include "mm/arch.h"
#include "lib/kprintf.h"

static void bench_page_pair(void)
{
	enum { N = 1000000 };
	uint64_t pa = pmm_alloc_page(0), t0;

	if (pa == PMM_NO_FRAME)
		return;
	pmm_free_page(pa);
	t0 = bench_cycles();
	for (int i = 0; i < N; i++) {
		pa = pmm_alloc_page(0);
		pmm_free_page(pa);
	}
	bench_report("buddy_page_pair_hot", N, bench_cycles() - t0, NULL);
}

static void bench_raw_pair(void)
{
	enum { N = 1000000 };
	uint64_t pa, t0 = bench_cycles();

	for (int i = 0; i < N; i++) {
		pa = pmm_alloc(0, 0);
		pmm_free(pa, 0);
	}
	bench_report("buddy_raw_pair_hot", N, bench_cycles() - t0, NULL);
}

/* An array of page addresses big enough for every free page, taken from the PMM itself. */
struct pages {
	uint64_t *pa;
	uint64_t cap, n;
	uint64_t array_pa;
	size_t array_pages;
};

static bool pages_get(struct pages *p)
{
	uint64_t free = pmm_free_count();
	p->array_pages = (free * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE;
	p->array_pa = pmm_alloc_aligned(p->array_pages, 0, 0);
	if (p->array_pa == PMM_NO_FRAME) {
		kprintf("bench: buddy: no room for an array of %llu pages\n", (unsigned long long)free);
		return false;
	}
	p->pa = phys_to_virt(p->array_pa);
	p->cap = free, p->n = 0;
	return true;
}

static void pages_put(struct pages *p)
{
	pmm_free_aligned(p->array_pa, p->array_pages);
}

/* Take every free page; returns the cycles it took. */
static uint64_t take_all(struct pages *p)
{
	uint64_t pa, t0 = bench_cycles();
	p->n = 0;
	while (p->n < p->cap && (pa = pmm_alloc_page(0)) != PMM_NO_FRAME)
		p->pa[p->n++] = pa;
	return bench_cycles() - t0;
}

static void shuffle(uint64_t *a, uint64_t n, uint64_t *seed)
{
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = bench_rand(seed) % i, t = a[i - 1];
		a[i - 1] = a[j], a[j] = t;
	}
}

static void bench_all_pages(void)
{
	struct pages p;
	uint64_t seed = 0x1234567, cycles;

	if (!pages_get(&p))
		return;
	cycles = take_all(&p);
	bench_report("buddy_alloc_all", p.n, cycles, NULL);
	shuffle(p.pa, p.n, &seed);
	uint64_t t0 = bench_cycles();
	for (uint64_t i = 0; i < p.n; i++)
		pmm_free_page(p.pa[i]);
	bench_report("buddy_free_all_random", p.n, bench_cycles() - t0, NULL);
	pages_put(&p);
}

/* Free pct % of all pages at random, then ask for order-9 blocks: how many come, how fast. */
static void bench_order9_after(unsigned pct, const char *name)
{
	struct pages p;
	uint64_t seed = 0xabcdef + pct, freed, attempts, ok = 0, t0, cycles;
	char extra[96];

	if (!pages_get(&p))
		return;
	take_all(&p);
	shuffle(p.pa, p.n, &seed);
	freed = p.n * pct / 100;
	for (uint64_t i = 0; i < freed; i++)
		pmm_free(p.pa[i], 0);
	pmm_drain_cache();
	attempts = freed / 512 ? freed / 512 : 1;
	t0 = bench_cycles();
	for (uint64_t i = 0; i < attempts; i++) {
		uint64_t pa = pmm_alloc(9, 0);
		if (pa != PMM_NO_FRAME)
			p.pa[ok++] = pa;       /* slots of freed pages are spare now */
	}
	cycles = bench_cycles() - t0;
	ksnprintf(extra, sizeof(extra), "success=%llu attempts=%llu rate_pct=%llu",
		  (unsigned long long)ok, (unsigned long long)attempts,
		  (unsigned long long)(ok * 100 / attempts));
	bench_report(name, attempts, cycles, extra);
	for (uint64_t i = 0; i < ok; i++)
		pmm_free(p.pa[i], 9);
	for (uint64_t i = freed; i < p.n; i++)
		pmm_free(p.pa[i], 0);
	pages_put(&p);
}

void bench_buddy(void)
{
	uint64_t before = pmm_free_count();

	bench_page_pair();
	bench_raw_pair();
	bench_all_pages();
	bench_order9_after(50, "buddy_order9_after_free50");
	bench_order9_after(90, "buddy_order9_after_free90");
	pmm_drain_cache();
	if (pmm_free_count() != before)
		kprintf("bench: buddy: free pages %llu, were %llu\n",
			(unsigned long long)pmm_free_count(), (unsigned long long)before);
}
