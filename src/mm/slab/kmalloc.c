/*
 * kmalloc.c - allocations by size, over 40 size classes.
 *
 * Classes go by 8 bytes up to 64, then four to each doubling (64, 80, 96,
 * 112, 128, 160, ...): a request wastes at most a fifth of its object
 * (about a tenth on average), where powers of two alone waste up to half.
 * Above 16 KiB a request takes whole pages (large_alloc, at the end).
 * docs/slab.md has the table with each class's waste.
 *
 * The class of a size is one look-up in a table of 4 KiB. kmalloc and
 * kfree inline the magazine fast path (slab_private.h): a table look-up,
 * a pop or a push, no lock, no interrupt masking, no call but the CPU
 * index and, in kfree, the owner look-up (pages_owner).
 */
#include "mm/slab/slab_private.h"
#include "mm/trace.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

#define RET_ADDR __builtin_return_address(0)

static const uint16_t class_size[] = {
	8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256,
	320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048,
	2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
	10240, 12288, 14336, 16384,
};
#define NCLASSES   (sizeof(class_size) / sizeof(class_size[0]))
#define MAG_CLASS_MAX 8192       /* classes above have no magazines: see kmalloc_init */
_Static_assert(NCLASSES == KMALLOC_CLASSES, "struct kheap has a cache for each class");
_Static_assert(sizeof(kheap.classes) <= 65536, "class offsets fit 16 bits");

static void *large_alloc(size_t size, void *caller);

/* The largest power of two dividing the class size: each object lands on it. */
static size_t class_align(size_t sz)
{
	size_t a = sz & -sz;
	return a > PAGE_SIZE ? PAGE_SIZE : a;
}

/* kmalloc's caches, with the debug flags in force now. */
void kmalloc_init(void)
{
	unsigned k = 0;

	for (unsigned i = 0; i < NCLASSES; i++) {
		ksnprintf(kheap.names[i], sizeof(kheap.names[i]), "kmalloc-%u", class_size[i]);
		/*
		 * Above 8 KiB an object parked in a magazine would pin pages
		 * for little gain: those classes go straight to their slabs.
		 */
		cache_setup(&kheap.classes[i], kheap.names[i], class_size[i], class_align(class_size[i]), NULL,
			    CF_STATIC | (class_size[i] > MAG_CLASS_MAX ? CF_NOMAG : 0));
	}
	for (unsigned i = NCLASSES; i-- > 0;)
		cache_link(&kheap.classes[i]);
	for (unsigned s = 0; s <= KMALLOC_MAX / 8; s++) {
		while (class_size[k] < s * 8)
			k++;
		kheap.class_off[s] = (uint16_t)(k * sizeof(struct cache));
	}
}

/* The class cache for size (1..KMALLOC_MAX): one table look-up. */
static inline struct cache *class_for(size_t size)
{
	return (struct cache *)((char *)kheap.classes + kheap.class_off[(size + 7) >> 3]);
}

struct cache *kmalloc_cache(size_t size)
{
	return size && size <= KMALLOC_MAX ? class_for(size) : NULL;
}

/* Out of line, so the fast paths that fall back to it save no register for it. */
static __attribute__((noinline)) void *kmalloc_caller(size_t size, void *caller)
{
	void *p;

	if (!size || FAIL_INJECTED())
		return NULL;
	MM_TRACE("slab", "kmalloc(%zu): %s", size, size > KMALLOC_MAX ? "above the largest class: whole pages"
		 : class_for(size)->name);
	if (size > KMALLOC_MAX)
		p = large_alloc(size, caller);
	else
		p = cache_alloc_caller(class_for(size), caller, size);
	MM_TRACE("slab", "kmalloc(%zu) -> %p", size, p);
	return p;
}

/*
 * kmalloc: see slab.h. The fast path: a class size, nothing switched on
 * (kheap.slowpath), an object in this CPU's loaded magazine. Anything
 * else, including size 0, goes the full way.
 */
void *kmalloc(size_t size)
{
	if (__builtin_expect(size - 1 < kheap.fast_max, 1)) {       /* 0 while slowpath */
		unsigned cpu = arch_cpu_index();        /* first: then only size is live across the call */
		void *p;
		if (__builtin_expect(mag_fast(class_for(size), cpu, &p, NULL, 0), 1))
			return p;
	}
	return kmalloc_caller(size, RET_ADDR);
}

/* kzalloc: see slab.h. */
void *kzalloc(size_t size)
{
	void *p = kmalloc_caller(size, RET_ADDR);

	if (p)
		memset(p, 0, size);
	return p;
}

/* kcalloc: see slab.h. */
void *kcalloc(size_t n, size_t size)
{
	size_t bytes;
	void *p;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	p = kmalloc_caller(bytes, RET_ADDR);
	if (p)
		memset(p, 0, bytes);
	return p;
}

/* kfree: see slab.h. */
void kfree(void *p)
{
	if (__builtin_expect(free_fast(NULL, p), 1))
		return;
	if (!p)
		return;
	MM_TRACE("slab", "kfree(%p)", p);
	cache_free_checked(NULL, p, "kfree");
}

/* ksize: see slab.h. With redzones, the bytes asked for: one more is an overrun. */
size_t ksize(const void *p)
{
	unsigned idx;
	struct slab *s = p ? slab_of(NULL, p, &idx, "ksize") : NULL;

	if (!s)
		return 0;
	if (s->cache == &kheap.large_cache)
		return (size_t)s->npages << PAGE_SHIFT;
	if (s->cache->flags & CF_REDZONE)
		return obj_trailer(s->cache, (void *)p)->asked;
	return s->cache->size;
}

/* krealloc: see slab.h. Shrinking in place keeps the object; redzoned ones move to keep the size asked exact. */
void *krealloc(void *p, size_t size)
{
	size_t old;
	void *n;

	if (!p)
		return kmalloc_caller(size, RET_ADDR);
	if (!size) {
		kfree(p);
		return NULL;
	}
	old = ksize(p);
	if (!old)
		return NULL;
	if (size <= old && !(kheap.debug & SLAB_DEBUG_REDZONE) && size > old / 4)
		return p;
	n = kmalloc_caller(size, RET_ADDR);
	if (!n)
		return NULL;
	memcpy(n, p, size < old ? size : old);
	kfree(p);
	return n;
}

/* kmalloc_aligned: see slab.h. Only classes whose every object lands on align qualify. */
void *kmalloc_aligned(size_t size, size_t align)
{
	if (!align || (align & (align - 1)) || align > PAGE_SIZE)
		return NULL;
	if (!size || size > KMALLOC_MAX)
		return kmalloc_caller(size, RET_ADDR);     /* whole pages are page aligned */
	if (FAIL_INJECTED())
		return NULL;
	for (struct cache *c = class_for(size); c < kheap.classes + NCLASSES; c++)
		if (c->align >= align && c->size >= size)
			return cache_alloc_caller(c, RET_ADDR, size);
	return large_alloc(size, RET_ADDR);
}

/*
 * Allocations above the largest size class: whole pages.
 *
 * Each gets a descriptor from the descriptor cache (naming
 * kheap.large_cache, with npages, the size asked and the caller) recorded
 * as the owner of its pages, so kfree finds it like any slab. They are
 * kept on one list for the leak report.
 */
/* size bytes of whole pages, or NULL. */
static void *large_alloc(size_t size, void *caller)
{
	size_t npages;
	void *va, *d = NULL;
	struct slab *s;
	uint64_t irq;

	if (size > ((size_t)1 << 40))   /* more than any machine here has: do not overflow */
		return NULL;
	npages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
	if (!slab_alloc_bulk(&kheap.desc_cache, &d, NULL, 1, NULL, 0))
		return NULL;
	va = pages_alloc(npages, true);
	if (!va && slab_reclaim())
		va = pages_alloc(npages, true);
	if (!va) {
		cache_free_checked(&kheap.desc_cache, d, "large_alloc");
		return NULL;
	}
	s = d;
	*s = (struct slab){ .cache = &kheap.large_cache, .base = (uintptr_t)va, .npages = (uint32_t)npages,
			    .nobj = 1, .inuse = 1, .large_size = size, .large_caller = caller };
	s->magic = slab_magic(s);
	pages_set_owner(va, npages, s);
	MM_TRACE("slab", "large: %zu page(s) at %p for %zu bytes", npages, va, size);
	irq = spin_lock_irqsave(&kheap.large_lock);
	s->next = kheap.large_head, s->prev = NULL;
	if (kheap.large_head)
		kheap.large_head->prev = s;
	kheap.large_head = s;
	kheap.large_live++, kheap.large_pages += npages;
	spin_unlock_irqrestore(&kheap.large_lock, irq);
	return va;
}

/* Give back a large allocation found by slab_of. */
void large_free(struct slab *s)
{
	uint64_t irq = spin_lock_irqsave(&kheap.large_lock);

	if (s->prev)
		s->prev->next = s->next;
	else
		kheap.large_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	kheap.large_live--, kheap.large_pages -= s->npages;
	spin_unlock_irqrestore(&kheap.large_lock, irq);
	pages_set_owner((void *)s->base, s->npages, NULL);
	pages_free((void *)s->base, s->npages);
	s->magic = 0;
	cache_free_checked(&kheap.desc_cache, s, "large_free");
}

/* Print every large allocation still live; how many. */
uint64_t large_report_live(void)
{
	uint64_t irq = spin_lock_irqsave(&kheap.large_lock), n = 0;

	for (struct slab *s = kheap.large_head; s; s = s->next, n++)
		kprintf("slab:   large: live %zu bytes at %p, allocated by %p\n", s->large_size,
			(void *)s->base, s->large_caller);
	spin_unlock_irqrestore(&kheap.large_lock, irq);
	return n;
}
