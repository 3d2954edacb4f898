/*
 * cache.c - object caches: their layout, creation, the alloc/free entry
 * points and destruction.
 *
 * Layout, decided once at creation:
 *
 *   on-slab (slot < 512 B, or slack       off-slab (slot >= 512 B)
 *            that holds the descriptor)
 *   +-----+-----+-----+-- ... --+------+   +----------+----------+---+
 *   | obj | obj | obj |         | desc |   |   obj    |   obj    |   |
 *   +-----+-----+-----+-- ... --+------+   +----------+----------+---+
 *                                 ^ end of the slab            desc: from
 *                                                              the descriptor cache
 *
 * The slab (1..8 pages, not only powers of two) is the smallest that
 * wastes at most 1/8 of itself, or else the least wasteful (Bonwick's
 * rule). With CF_REDZONE a slot is the object, its tail up to 8 bytes,
 * and a struct trailer, rounded up to the alignment.
 */
#include "mm/slab/internal.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

struct cache *cache_list;
struct spinlock cache_list_lock = SPINLOCK_INIT("slab caches");

static size_t round_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }

static unsigned desc_bytes(unsigned nobj)
{
	unsigned words = (nobj + 63) / 64;
	return (unsigned)round_up(sizeof(struct slab) + 3 * 8 * words, SLAB_DESC_ALIGN);  /* three bitmaps */
}

/* Objects that fit a slab of bytes, the descriptor counted when on-slab. */
static unsigned fit(const struct cache *c, size_t bytes)
{
	size_t n = bytes / c->stride;

	if (n > 0xffff)
		n = 0xffff;
	while (!(c->flags & CF_OFFSLAB) && n && n * c->stride + desc_bytes((unsigned)n) > bytes)
		n--;
	return (unsigned)n;
}

/*
 * The slab size: the fewest pages (1..SLAB_MAX_PAGES, any count: the VMM
 * maps single frames) whose objects waste at most 1/8 of the slab, or
 * else the least wasteful. Small slabs matter most for big objects: a
 * class with a few live 6 KiB objects should hold 3 pages each two of
 * them, not 8 pages for five.
 */
static void choose_pages(struct cache *c)
{
	size_t best_waste = 0, best_bytes = 1;
	unsigned best = 0;

	for (unsigned np = 1; np <= SLAB_MAX_PAGES; np++) {
		size_t bytes = PAGE_SIZE * np, n = fit(c, bytes);
		size_t waste = bytes - n * c->stride;
		if (!n)
			continue;
		if (!best || waste * best_bytes < best_waste * bytes)
			best = np, best_waste = waste, best_bytes = bytes;
		if (waste * 8 <= bytes)
			break;
	}
	c->npages = best;
	c->nobj = best ? fit(c, PAGE_SIZE * best) : 0;
}

/*
 * Rounds per magazine: about SLAB_MAG_BYTES of objects, so a class of big
 * objects does not pin much memory in magazines; 1 to SLAB_MAG_MAX.
 */
static unsigned mag_size_for(size_t stride)
{
	size_t n = SLAB_MAG_BYTES / stride;
	return n < 1 ? 1 : n > SLAB_MAG_MAX ? SLAB_MAG_MAX : (unsigned)n;
}

/*
 * Fill in c (zeroed here) for objects of size bytes. Returns 0, or -1 if
 * the size or alignment cannot be served.
 */
int cache_setup(struct cache *c, const char *name, size_t size, size_t align,
		void (*ctor)(void *), unsigned flags)
{
	if (!align)
		align = SLAB_MIN_ALIGN;
	if (align & (align - 1) || align > PAGE_SIZE || !size || size > SLAB_MAX_OBJECT)
		return -1;
	align = align < SLAB_MIN_ALIGN ? SLAB_MIN_ALIGN : align;
	memset(c, 0, sizeof(*c));
	if (!(flags & CF_INTERNAL) && (slab_debug & (SLAB_DEBUG_REDZONE | SLAB_DEBUG_TRACK)))
		flags |= CF_REDZONE;
	c->name = name, c->ctor = ctor, c->align = align;
	c->size = round_up(size, align);
	c->stride = c->size;
	if (flags & CF_REDZONE)
		c->stride = round_up(round_up(c->size, 8) + sizeof(struct trailer), align);
	if (c->stride >= PAGE_SIZE / 8)
		flags |= CF_OFFSLAB;
	c->flags = flags;
	choose_pages(c);
	if (!c->npages)
		return -1;
	/* Off the slab only if the descriptor would cost an object: slack that holds it is free. */
	if ((c->flags & CF_OFFSLAB) && PAGE_SIZE * c->npages - (size_t)c->nobj * c->stride >= desc_bytes(c->nobj))
		c->flags &= ~CF_OFFSLAB;
	c->words = (c->nobj + 63) / 64;
	c->desc_size = desc_bytes(c->nobj);
	c->recip = (uint32_t)(((1ULL << 32) + c->stride - 1) / c->stride);
	c->mag_size = mag_size_for(c->stride);
	c->lock = (struct spinlock)SPINLOCK_INIT(name);
	return 0;
}

void cache_link(struct cache *c)
{
	uint64_t irq = spin_lock_irqsave(&cache_list_lock);
	c->next = cache_list;
	cache_list = c;
	spin_unlock_irqrestore(&cache_list_lock, irq);
}

static void cache_unlink(struct cache *c)
{
	uint64_t irq = spin_lock_irqsave(&cache_list_lock);
	for (struct cache **pp = &cache_list; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	spin_unlock_irqrestore(&cache_list_lock, irq);
}

/* cache_create: see slab.h. The struct cache itself comes from cache_cache. */
struct cache *cache_create(const char *name, size_t size, size_t align, void (*ctor)(void *obj))
{
	struct cache tmp, *c;

	if (cache_setup(&tmp, name, size, align, ctor, 0))
		return NULL;
	c = cache_alloc_caller(cache_cache, NULL, sizeof(*c));
	if (!c)
		return NULL;
	cache_setup(c, name, size, align, ctor, 0);
	cache_link(c);
	return c;
}

/* Magazines stand aside while debugging, so every object's state is kept on its slab. */
bool cache_bypass_mags(const struct cache *c)
{
	return (c->flags & (CF_NOMAG | CF_REDZONE)) || slab_debug;
}

/* The allocation path behind cache_alloc and kmalloc, after failure injection. */
void *cache_alloc_caller(struct cache *c, void *caller, size_t asked)
{
	void *obj = NULL;

	if (!cache_bypass_mags(c))
		return mag_alloc(c);
	slab_alloc_bulk(c, &obj, 1, caller, asked);
	return obj;
}

/* cache_alloc: see slab.h. */
void *cache_alloc(struct cache *c)
{
	if (__builtin_expect(c && !slab_slowpath && !(c->flags & (CF_NOMAG | CF_REDZONE)), 1)) {
		void *obj;
		if (mag_pop(c, arch_cpu_index(), &obj))
			return obj;
	}
	if (!c || fail_injected())
		return NULL;
	return cache_alloc_caller(c, __builtin_return_address(0), c->size);
}

/*
 * cache_free_checked: obj is checked to be one of c's objects (or, with c
 * NULL, any heap object) and freed; misuse is reported and ignored.
 */
void cache_free_checked(struct cache *c, void *obj, const char *who)
{
	unsigned idx;
	struct slab *s = slab_of(c, obj, &idx, who);

	if (!s)
		return;
	if (s->cache == &large_cache) {
		large_free(s);
		return;
	}
	c = s->cache;
	if (cache_bypass_mags(c)) {
		slab_free_one(c, s, idx, obj);  /* checks under the lock */
		return;
	}
	/* Only a live object may go back: not in its slab, not parked in a magazine. */
	if (obj_state(s, idx) != ST_USED) {
		slab_error(SLAB_E_DOUBLE_FREE, c, obj, obj_state(s, idx) ?
			   "object is in a magazine: freed already" : "object is not allocated");
		return;
	}
	if (!mag_free(c, s, idx, obj))
		slab_free_one(c, s, idx, obj);
}

/* cache_free: see slab.h. */
void cache_free(struct cache *c, void *obj)
{
	if (!obj)
		return;
	if (!c) {
		slab_error(SLAB_E_WRONG_CACHE, NULL, obj, "cache_free with no cache");
		return;
	}
	if (free_fast(c, obj))
		return;
	cache_free_checked(c, obj, "cache_free");
}

/* cache_shrink: see slab.h. */
void cache_shrink(struct cache *c)
{
	mag_flush_all(c);
	slab_trim(c, 0);
}

/* Print every object of c still out; their count. Lock held. */
static uint64_t report_live(struct cache *c)
{
	uint64_t n = 0;
	struct slab_list *lists[2] = { &c->partial, &c->full };

	for (int l = 0; l < 2; l++) {
		struct slab *s = lists[l]->head;
		for (uint64_t k = 0; k < lists[l]->nr; k++, s = s->next)
			for (unsigned i = 0; i < s->nobj; i++) {
				if (!(obj_state(s, i) & ST_USED))
					continue;
				void *obj = slab_obj(c, s, i);
				void *caller = c->flags & CF_REDZONE ? obj_trailer(c, obj)->caller : NULL;
				kprintf("slab:   %s: live object %p, allocated by %p\n", c->name, obj, caller);
				n++;
			}
	}
	return n;
}

uint64_t cache_report_live(struct cache *c)
{
	uint64_t irq, n;

	mag_flush_all(c);
	irq = spin_lock_irqsave(&c->lock);
	n = report_live(c);
	spin_unlock_irqrestore(&c->lock, irq);
	return n;
}

/* cache_destroy: see slab.h. */
int cache_destroy(struct cache *c)
{
	if (!c)
		return -1;
	if (c->flags & CF_STATIC) {
		slab_error(SLAB_E_WRONG_CACHE, c, c, "cache_destroy of a built-in cache");
		return -1;
	}
	mag_flush_all(c);
	if (c->out) {
		slab_error(SLAB_E_LIVE_OBJECTS, c, c, "cache_destroy with objects still live");
		cache_report_live(c);
		return -1;
	}
	slab_trim(c, 0);
	cache_unlink(c);
	cache_free_checked(cache_cache, c, "cache_destroy");
	return 0;
}
