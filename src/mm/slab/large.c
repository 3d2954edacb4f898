/*
 * large.c - allocations above the largest size class: whole pages.
 *
 * Each gets a descriptor from the descriptor cache (cache large_cache, npages,
 * the size asked and the caller) recorded as the owner of its pages, so
 * kfree finds it like any slab. They are kept on one list for the leak
 * report.
 */
#include "mm/slab/internal.h"
#include "lib/kprintf.h"

struct cache large_cache = { .name = "large" };   /* nobj 0: see internal.h */
static struct slab *large_head;
static struct spinlock large_lock = SPINLOCK_INIT("slab large");
uint64_t large_live, large_pages;

/* size bytes of whole pages, or NULL. */
void *large_alloc(size_t size, void *caller)
{
	size_t npages;
	void *va, *d = NULL;
	struct slab *s;
	uint64_t irq;

	if (size > ((size_t)1 << 40))   /* more than any machine here has: do not overflow */
		return NULL;
	npages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
	if (!slab_alloc_bulk(desc_cache, &d, 1, NULL, 0))
		return NULL;
	if (!(va = backing_alloc(npages, true))) {
		cache_free_checked(desc_cache, d, "large_alloc");
		return NULL;
	}
	s = d;
	*s = (struct slab){ .cache = &large_cache, .base = (uintptr_t)va, .npages = (uint32_t)npages,
			    .nobj = 1, .inuse = 1, .large_size = size, .large_caller = caller };
	s->magic = slab_magic(s);
	backing_set_owner(va, npages, s);
	if (slab_tracing) {
		kprintf("  large:  %zu page(s) at %p for %zu bytes\n", npages, va, size);
		backing_explain(va, npages);
	}
	irq = spin_lock_irqsave(&large_lock);
	s->next = large_head, s->prev = NULL;
	if (large_head)
		large_head->prev = s;
	large_head = s;
	large_live++, large_pages += npages;
	spin_unlock_irqrestore(&large_lock, irq);
	return va;
}

/* Give back a large allocation found by slab_of. */
void large_free(struct slab *s)
{
	uint64_t irq = spin_lock_irqsave(&large_lock);

	if (s->prev)
		s->prev->next = s->next;
	else
		large_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	large_live--, large_pages -= s->npages;
	spin_unlock_irqrestore(&large_lock, irq);
	backing_set_owner((void *)s->base, s->npages, NULL);
	backing_free((void *)s->base, s->npages);
	s->magic = 0;
	cache_free_checked(desc_cache, s, "large_free");
}

/* Print every large allocation still live; how many. */
uint64_t large_report_live(void)
{
	uint64_t irq = spin_lock_irqsave(&large_lock), n = 0;

	for (struct slab *s = large_head; s; s = s->next, n++)
		kprintf("slab:   large: live %zu bytes at %p, allocated by %p\n", s->large_size,
			(void *)s->base, s->large_caller);
	spin_unlock_irqrestore(&large_lock, irq);
	return n;
}

/* Forget every large allocation (slab_init starts from nothing). */
void large_reset(void)
{
	large_head = NULL;
	large_live = large_pages = 0;
}
