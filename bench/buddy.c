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
 *   buddy_order9_fail           pmm_alloc(9, 0) with every page taken but a
 *                               scattered few (no order-9 block), per attempt
 *   buddy_pair_order_<k>        pmm_alloc(k, 0) + pmm_free(.., k), k = 0..10, per pair
 * and, over exactly the pages buddy_alloc_all took, right after the buddy's
 * own loops (so the same memory and the same machine noise):
 *   ref_freelist_pair_hot       a plain singly linked free list of pages (the
 *                               link stored in the free page): pop + push
 *   ref_freelist_alloc_all      pop every page, per page
 *   ref_freelist_free_all_random  push them back in the very order
 *                               buddy_free_all_random freed them, per page
 *   ref_stack_alloc_all         the same with a pointer stack (an array of
 *   ref_stack_free_all_random   page addresses, nothing written to the pages)
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

/* Every free page through pmm_alloc(0, 0), after emptying the cache into the free maps. */
static uint64_t take_all_raw(struct pages *p)
{
	uint64_t pa, t0;

	pmm_drain_cache();
	t0 = bench_cycles();
	p->n = 0;
	while (p->n < p->cap && (pa = pmm_alloc(0, 0)) != PMM_NO_FRAME)
		p->pa[p->n++] = pa;
	return bench_cycles() - t0;
}

/*
 * The reference allocators: as plain as page allocators get. Out of line,
 * as the buddy's entry points are, so each side pays a call.
 */
struct ref_list { uint64_t head; };              /* pa of the first free page */
struct ref_stack { uint64_t *slot; uint64_t top; };

static __attribute__((noinline)) uint64_t ref_list_pop(struct ref_list *l)
{
	uint64_t pa = l->head;
	if (pa != PMM_NO_FRAME)
		l->head = *(uint64_t *)phys_to_virt(pa);   /* the link lives in the free page */
	return pa;
}

static __attribute__((noinline)) void ref_list_push(struct ref_list *l, uint64_t pa)
{
	*(uint64_t *)phys_to_virt(pa) = l->head;
	l->head = pa;
}

static __attribute__((noinline)) uint64_t ref_stack_pop(struct ref_stack *s)
{
	return s->top ? s->slot[--s->top] : PMM_NO_FRAME;
}

static __attribute__((noinline)) void ref_stack_push(struct ref_stack *s, uint64_t pa)
{
	s->slot[s->top++] = pa;
}

/* A fingerprint of an order of pages: the references must free in the buddy's order. */
static uint64_t order_print(const uint64_t *a, uint64_t n)
{
	uint64_t h = 0;
	for (uint64_t i = 0; i < n; i++)
		h = (h ^ a[i]) * 0x100000001b3ULL;
	return h;
}

static void copy_pages(uint64_t *to, const uint64_t *from, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		to[i] = from[i];
}

/*
 * The buddy takes every free page (order A) and frees them in a shuffled
 * order S; then the pages go from the buddy to a free list and to a stack
 * that each hand them out in order A and take them back in order S (the
 * same shuffle of the same array: same seed, same count), and back to the
 * buddy at the end.
 */
static void bench_all_pages(void)
{
	enum { SEED = 0x1234567, PAIRS = 1000000 };
	struct pages p, q;                  /* p: the pages; q: order A, then the stack's slots */
	uint64_t seed = SEED, cycles, t0, n, pa, order;
	struct ref_list list = { PMM_NO_FRAME };
	struct ref_stack stack;

	if (!pages_get(&p))
		return;
	if (!pages_get(&q)) {
		pages_put(&p);
		return;
	}
	cycles = take_all(&p);
	n = p.n;
	bench_report("buddy_alloc_all", n, cycles, NULL);
	copy_pages(q.pa, p.pa, n);
	shuffle(p.pa, n, &seed);
	order = order_print(p.pa, n);
	t0 = bench_cycles();
	for (uint64_t i = 0; i < n; i++)
		pmm_free_page(p.pa[i]);
	bench_report("buddy_free_all_random", n, bench_cycles() - t0, NULL);

	/* The same pages out of the buddy again (every free page is one of them). */
	take_all_raw(&p);
	if (p.n != n) {
		kprintf("bench: buddy: took %llu pages back, not %llu: no reference run\n",
			(unsigned long long)p.n, (unsigned long long)n);
		for (uint64_t i = 0; i < p.n; i++)
			pmm_free(p.pa[i], 0);
		goto back;
	}

	/* The free list, built so that it hands the pages out in order A. */
	for (uint64_t i = n; i-- > 0;)
		ref_list_push(&list, q.pa[i]);
	t0 = bench_cycles();
	for (p.n = 0; p.n < p.cap && (pa = ref_list_pop(&list)) != PMM_NO_FRAME;)
		p.pa[p.n++] = pa;
	bench_report("ref_freelist_alloc_all", p.n, bench_cycles() - t0, NULL);
	seed = SEED;
	shuffle(p.pa, n, &seed);
	if (order_print(p.pa, n) != order)
		kprintf("bench: buddy: ref_freelist_free_all_random frees in another order than the buddy\n");
	t0 = bench_cycles();
	for (uint64_t i = 0; i < n; i++)
		ref_list_push(&list, p.pa[i]);
	bench_report("ref_freelist_free_all_random", n, bench_cycles() - t0, NULL);
	t0 = bench_cycles();
	for (int i = 0; i < PAIRS; i++) {
		pa = ref_list_pop(&list);
		ref_list_push(&list, pa);
	}
	bench_report("ref_freelist_pair_hot", PAIRS, bench_cycles() - t0, NULL);

	/* The pointer stack over q's array, popping in order A. */
	for (uint64_t i = 0; i < n / 2; i++) {
		uint64_t t = q.pa[i];
		q.pa[i] = q.pa[n - 1 - i], q.pa[n - 1 - i] = t;
	}
	stack = (struct ref_stack){ q.pa, n };
	t0 = bench_cycles();
	for (p.n = 0; p.n < p.cap && (pa = ref_stack_pop(&stack)) != PMM_NO_FRAME;)
		p.pa[p.n++] = pa;
	bench_report("ref_stack_alloc_all", p.n, bench_cycles() - t0, NULL);
	seed = SEED;
	shuffle(p.pa, n, &seed);
	if (order_print(p.pa, n) != order)
		kprintf("bench: buddy: ref_stack_free_all_random frees in another order than the buddy\n");
	t0 = bench_cycles();
	for (uint64_t i = 0; i < n; i++)
		ref_stack_push(&stack, p.pa[i]);
	bench_report("ref_stack_free_all_random", n, bench_cycles() - t0, NULL);

	/* Every page back to the buddy (p holds each exactly once). */
	for (uint64_t i = 0; i < n; i++)
		pmm_free(p.pa[i], 0);
back:
	pages_put(&q);
	pages_put(&p);
}

/*
 * A failed pmm_alloc(9, 0): every page taken at order 0, then every 64th
 * one given back, so single pages are free but no two of them are buddies
 * and no order-9 block exists.
 */
static void bench_order9_fail(void)
{
	enum { N = 200000, STRIDE = 64 };     /* N: kept small for TCG boots */
	struct pages p;
	uint64_t ok = 0, t0, cycles, pa, spare[8];
	char extra[64];

	if (!pages_get(&p))
		return;
	take_all_raw(&p);
	for (uint64_t i = 0; i < p.n; i += STRIDE)
		pmm_free(p.pa[i], 0);
	t0 = bench_cycles();
	for (int i = 0; i < N; i++) {
		pa = pmm_alloc(9, 0);
		if (pa != PMM_NO_FRAME) {
			if (ok < sizeof(spare) / sizeof(spare[0]))
				spare[ok] = pa;
			else
				pmm_free(pa, 9);
			ok++;
		}
	}
	cycles = bench_cycles() - t0;
	ksnprintf(extra, sizeof(extra), "success=%llu", (unsigned long long)ok);
	bench_report("buddy_order9_fail", N, cycles, extra);
	if (ok)
		kprintf("bench: buddy: buddy_order9_fail: %llu order-9 allocations succeeded\n",
			(unsigned long long)ok);
	for (uint64_t i = 0; i < ok && i < sizeof(spare) / sizeof(spare[0]); i++)
		pmm_free(spare[i], 9);
	for (uint64_t i = 0; i < p.n; i++)
		if (i % STRIDE)
			pmm_free(p.pa[i], 0);
	pages_put(&p);
}

/* pmm_alloc(k, 0) + pmm_free(pa, k), hot, for every order up to 10. */
static void bench_pair_orders(void)
{
	enum { N = 200000, MAX = 10 };       /* 11 orders: N kept small for TCG boots */
	char name[32];

	for (unsigned k = 0; k <= MAX; k++) {
		uint64_t pa = pmm_alloc(k, 0), t0;

		if (pa == PMM_NO_FRAME) {
			kprintf("bench: buddy: no free order-%u block: buddy_pair_order_%u not run\n", k, k);
			continue;
		}
		pmm_free(pa, k);
		t0 = bench_cycles();
		for (int i = 0; i < N; i++) {
			pa = pmm_alloc(k, 0);
			pmm_free(pa, k);
		}
		ksnprintf(name, sizeof(name), "buddy_pair_order_%u", k);
		bench_report(name, N, bench_cycles() - t0, NULL);
	}
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

static void sift(uint64_t *a, uint64_t n, uint64_t i)
{
	for (uint64_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[i] >= a[c])
			return;
		uint64_t t = a[i];
		a[i] = a[c], a[c] = t;
	}
}

/* Heapsort: no libc in the kernel, and n is every page of the machine. */
static void sort_pages(uint64_t *a, uint64_t n)
{
	for (uint64_t i = n / 2; i-- > 0; )
		sift(a, n, i);
	for (uint64_t end = n; end-- > 1; ) {
		uint64_t t = a[0];
		a[0] = a[end], a[end] = t;
		sift(a, end, 0);
	}
}

/*
 * Every page taken, then every other whole 2 MiB window freed page by page
 * in random order: each such window can be an order-9 block again, so a
 * buddy that merges fully gives one per window freed (the "every
 * possible block"). Reports ns per order-9 attempt and the share that came.
 */
static void bench_order9_after_windows(void)
{
	enum { WIN = 512 };
	struct pages p;
	uint64_t seed = 0x9e37, possible = 0, ok = 0, t0, cycles;
	char extra[96];

	if (!pages_get(&p))
		return;
	take_all(&p);
	sort_pages(p.pa, p.n);
	/* Move the pages of every other whole window to the front of the array, and free them. */
	uint64_t front = 0, whole = 0;
	for (uint64_t i = 0; i + WIN <= p.n; ) {
		bool full = (p.pa[i] & ((uint64_t)WIN * PAGE_SIZE - 1)) == 0 &&
			    p.pa[i + WIN - 1] == p.pa[i] + (uint64_t)(WIN - 1) * PAGE_SIZE;
		if (!full) {
			i++;
			continue;
		}
		if (whole++ % 2 == 0) {
			for (unsigned k = 0; k < WIN; k++) {
				uint64_t t = p.pa[front + k];
				p.pa[front + k] = p.pa[i + k], p.pa[i + k] = t;
			}
			shuffle(p.pa + front, WIN, &seed);
			for (unsigned k = 0; k < WIN; k++)
				pmm_free_page(p.pa[front + k]);
			front += WIN;
			possible++;
		}
		i += WIN;
	}
	pmm_drain_cache();
	uint64_t *blocks = p.pa;        /* the freed pages' slots are spare now */
	t0 = bench_cycles();
	for (uint64_t i = 0; i < possible; i++) {
		uint64_t pa = pmm_alloc(9, 0);
		if (pa != PMM_NO_FRAME)
			blocks[ok++] = pa;
	}
	cycles = bench_cycles() - t0;
	ksnprintf(extra, sizeof(extra), "success=%llu possible=%llu rate_pct=%llu",
		  (unsigned long long)ok, (unsigned long long)possible,
		  (unsigned long long)(possible ? ok * 100 / possible : 0));
	bench_report("buddy_order9_after_window_free", possible ? possible : 1, cycles, extra);
	for (uint64_t i = 0; i < ok; i++)
		pmm_free(blocks[i], 9);
	for (uint64_t i = front; i < p.n; i++)
		pmm_free(p.pa[i], 0);
	if (ok < possible)              /* windows the buddy did not give back as blocks: still free as pages */
		kprintf("bench: buddy: %llu of %llu freed windows did not come back as order-9 blocks\n",
			(unsigned long long)(possible - ok), (unsigned long long)possible);
	pages_put(&p);
}

/* Each bench gives back everything it took: say so if one did not. */
static void check_free(const char *what, uint64_t before)
{
	pmm_drain_cache();
	if (pmm_free_count() != before)
		kprintf("bench: buddy: after %s: free pages %llu, were %llu\n", what,
			(unsigned long long)pmm_free_count(), (unsigned long long)before);
}

void bench_buddy(void)
{
	uint64_t before;

	pmm_drain_cache();
	before = pmm_free_count();
	bench_page_pair();
	check_free("page_pair", before);
	bench_raw_pair();
	check_free("raw_pair", before);
	bench_pair_orders();
	check_free("pair_orders", before);
	bench_all_pages();
	check_free("all_pages", before);
	bench_order9_after(50, "buddy_order9_after_free50");
	check_free("order9_after_free50", before);
	bench_order9_after(90, "buddy_order9_after_free90");
	check_free("order9_after_free90", before);
	bench_order9_fail();
	check_free("order9_fail", before);
	bench_order9_after_windows();
	check_free("order9_after_window_free", before);
}
