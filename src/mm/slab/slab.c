/*
 * slab.c - one cache's slabs: made, carved, emptied, given back.
 *
 * A slab is 1..8 pages and a descriptor. The descriptor's bitmap says
 * which objects are out; taking an object sets a bit, putting it back
 * clears it, and the slab moves between the cache's three lists:
 *
 *   empty (inuse 0) <-> partial (0 < inuse < nobj) <-> full (inuse nobj)
 *
 * Allocation prefers partial slabs, so empty ones stay empty and can go
 * back. Each empty slab kept is memory idle at the heap's peak; each one
 * given back is a round trip to the layer below when the class grows
 * again. So a cache keeps the empty slabs of its working set, as its depot
 * keeps magazines (cache.c): the fewest empty slabs it had over an
 * interval of SLAB_INTERVAL slab transactions were never needed, and go
 * back at the interval's end (cache_unlock); beyond empty_max (its share
 * of RAM) they go back at once. bench/slab.c measures both sides
 * (docs/slab.md has the numbers).
 */
#include "mm/slab/slab_private.h"
#include "mm/trace.h"
#include "lib/kstring.h"

/*
 * The invariants checked on every move are cheap (a few loads): a slab's
 * links agree with its neighbours', its count with its bitmap. A failure
 * is the heap's own state gone wrong, so it stops (mm/failure.h).
 */

struct slab_list *list_of(struct cache *c, uint8_t which)
{
	return which == LIST_PARTIAL ? &c->partial : which == LIST_EMPTY ? &c->empty : &c->full;
}

static void list_add(struct slab_list *l, struct slab *s, uint8_t which)
{
	if (!l->head) {
		s->next = s->prev = s;
		l->head = s;
	} else {
		s->next = l->head, s->prev = l->head->prev;
		s->prev->next = s, l->head->prev = s;
		l->head = s;            /* most recently used first */
	}
	s->list = which;
	l->nr++;
}

static void list_del(struct cache *c, struct slab *s)
{
	struct slab_list *l = list_of(c, s->list);

	MM_ASSERT("slab", s->list != LIST_NONE && l->nr && s->next->prev == s && s->prev->next == s,
		  "cache %s: slab %p's list links are corrupt (next %p, prev %p)", c->name, (void *)s,
		  (void *)s->next, (void *)s->prev);

	if (s->next == s)
		l->head = NULL;
	else {
		s->prev->next = s->next, s->next->prev = s->prev;
		if (l->head == s)
			l->head = s->next;
	}
	s->next = s->prev = NULL;
	s->list = LIST_NONE;
	l->nr--;
}

static void list_move(struct cache *c, struct slab *s, uint8_t which)
{
	list_del(c, s);
	list_add(list_of(c, which), s, which);
}

static uint8_t list_for(const struct slab *s)
{
	return s->inuse == 0 ? LIST_EMPTY : s->inuse == s->nobj ? LIST_FULL : LIST_PARTIAL;
}

/* The descriptor: at the end of the slab, or from the descriptor cache. */
static struct slab *desc_place(struct cache *c, uintptr_t base, size_t bytes)
{
	if (!(c->flags & CF_OFFSLAB))
		return (struct slab *)((base + bytes - c->desc_size) & ~(uintptr_t)(SLAB_DESC_ALIGN - 1));
	void *d = NULL;
	if (!slab_alloc_bulk(&kheap.desc_cache, &d, NULL, 1, NULL, 0))
		return NULL;
	return d;
}

/*
 * A new slab for c, on no list, every object free and constructed, or
 * NULL if the pages or an off-slab descriptor could not be had.
 */
static struct slab *slab_create(struct cache *c)
{
	size_t npages = c->npages;
	void *va = pages_alloc(npages, false);
	struct slab *s;

	if (!va)
		return NULL;
	s = desc_place(c, (uintptr_t)va, npages << PAGE_SHIFT);
	if (!s) {
		pages_free(va, npages);
		return NULL;
	}
	memset(s, 0, c->desc_size);
	s->magic = slab_magic(s);
	s->cache = c, s->base = (uintptr_t)va, s->npages = (uint32_t)npages;
	s->nobj = (uint16_t)c->nobj;
	for (unsigned i = 0; c->ctor && i < c->nobj; i++)
		c->ctor(slab_obj(c, s, i));
	if (DEBUG_HOOKS(c))
		debug_on_create(c, s);
	pages_set_owner(va, npages, s);
	MM_TRACE("slab", "cache %s has no free object: grows by a slab of %u page(s) at %p", c->name,
		 s->npages, va);
	MM_TRACE("slab", "carved %u objects of %zu bytes (slot %zu) at %p..%p, descriptor %s at %p",
		 s->nobj, c->size, c->stride, va, (void *)(s->base + (uintptr_t)s->nobj * c->stride),
		 c->flags & CF_OFFSLAB ? "off-slab" : "on-slab", (void *)s);
	return s;
}

/* Whether any bit of the first words of m is set. */
static bool any_set(const uint64_t *m, unsigned words)
{
	for (unsigned w = 0; w < words; w++)
		if (m[w])
			return true;
	return false;
}

/*
 * Give s's pages (and off-slab descriptor) back. s is empty and on no
 * list: checked, since unmapping a slab that still holds an object (live
 * or parked) would hand its memory to someone else.
 */
static void slab_destroy(struct cache *c, struct slab *s)
{
	void *va = (void *)s->base;
	size_t npages = s->npages;

	MM_ASSERT("slab", slab_sound(s) && s->inuse == 0 && !any_set(s->map, 2 * c->words),
		  "cache %s: slab %p given back with objects in it (count %u)", c->name, (void *)s, s->inuse);

	MM_TRACE("slab", "cache %s gives back an empty slab of %zu page(s) at %p", c->name, npages, va);
	pages_set_owner(va, npages, NULL);
	s->magic = 0;
	if (c->flags & CF_OFFSLAB)
		cache_free_checked(&kheap.desc_cache, s, "slab_destroy");
	pages_free(va, npages);
}

/* The first free object of s (which has one): its bit set, lists updated. */
static void *slab_take(struct cache *c, struct slab *s, unsigned *idx)
{
	unsigned w = s->hint;

	MM_ASSERT("slab", s->inuse < s->nobj, "cache %s: slab %p is full but on a list to take from",
		  c->name, (void *)s);
	while (w < c->words && s->map[2 * w] == ~0ULL)
		w++;
	unsigned i = w < c->words ? w * 64 + (unsigned)__builtin_ctzll(~s->map[2 * w]) : s->nobj;
	MM_ASSERT("slab", i < s->nobj, "cache %s: slab %p counts %u of %u out, its bitmap all",
		  c->name, (void *)s, s->inuse, s->nobj);
	s->hint = (uint16_t)w;
	*used_word(s, i) |= obj_bit(i);
	s->inuse++;
	c->out++;
	if (list_for(s) != s->list) {
		list_move(c, s, list_for(s));
		if (c->empty.nr < c->ws_slabs_min)
			c->ws_slabs_min = c->empty.nr;  /* one fewer idle: the working set's low mark */
	}
	*idx = i;
	return slab_obj(c, s, i);
}

/*
 * A partial slab that has become sparse goes to the back of the list, so
 * allocation (from the front) fills the fuller ones and the sparse ones
 * drain and go back: a cheap form of Solaris's partial slabs sorted by use.
 */
static void sink_if_sparse(struct cache *c, struct slab *s)
{
	if (s->list != LIST_PARTIAL || s->inuse * 2 > s->nobj || c->partial.head->prev == s)
		return;
	list_del(c, s);
	list_add(&c->partial, s, LIST_PARTIAL);
	c->partial.head = s->next;      /* added at the front; the front moves past it: now last */
}

/* Object idx of s back to s: its bit cleared, lists updated. */
static void slab_put(struct cache *c, struct slab *s, unsigned idx)
{
	MM_ASSERT("slab", idx < s->nobj && obj_state(s, idx) == ST_USED && s->inuse && c->out,
		  "cache %s: slab %p: object %u goes back but its bitmap or count says it is in (count %u)",
		  c->name, (void *)s, idx, s->inuse);
	*used_word(s, idx) &= ~obj_bit(idx);
	if (idx / 64 < s->hint)
		s->hint = (uint16_t)(idx / 64);
	s->inuse--;
	c->out--;
	if (list_for(s) != s->list)
		list_move(c, s, list_for(s));
	else
		sink_if_sparse(c, s);
}

/* Unlink the empty slabs beyond keep, the coldest first, into a NULL-ended chain. Lock held. */
static struct slab *detach_empties(struct cache *c, uint64_t keep)
{
	struct slab *chain = NULL;

	while (c->empty.nr > keep) {
		struct slab *s = c->empty.head->prev;   /* the coldest */
		list_del(c, s);
		c->nslabs--, c->reaps++;
		s->next = chain;
		chain = s;
	}
	return chain;
}

/* slabs_give_back: see slab_private.h. */
void slabs_give_back(struct cache *c, struct slab *s)
{
	while (s) {
		struct slab *next = s->next;
		slab_destroy(c, s);
		s = next;
	}
}

/* slabs_unhook_idle: see slab_private.h. */
struct slab *slabs_unhook_idle(struct cache *c)
{
	uint64_t idle = c->ws_slabs_min < c->empty.nr ? c->ws_slabs_min : c->empty.nr;
	struct slab *chain = detach_empties(c, c->empty.nr - idle);

	c->ws_slabs_min = c->empty.nr;
	return chain;
}

/*
 * cache_unlock: see slab_private.h. The clock ticks for every cache, so
 * a quiet cache sees the heap's time pass too, and its first transaction
 * after a quiet spell gives back what the spell left idle.
 */
void cache_unlock(struct cache *c, uint64_t irq)
{
	struct slab *chain = c->empty.nr > c->empty_max ? detach_empties(c, c->empty_max) : NULL;
	struct ws_idle idle = { 0 };
	uint64_t now = __atomic_add_fetch(&kheap.clock, 1, __ATOMIC_RELAXED);
	bool end = now - c->ws_since >= SLAB_INTERVAL;

	if (c->empty.nr < c->ws_slabs_min)
		c->ws_slabs_min = c->empty.nr;
	if (end) {
		c->ws_since = now;
		ws_interval(c, &idle);
	}
	spin_unlock_irqrestore(&c->lock, irq);
	if (chain)
		slabs_give_back(c, chain);
	if (end)
		ws_give_back(c, &idle);
}

/* slab_alloc_bulk: see slab_private.h. */
unsigned slab_alloc_bulk(struct cache *c, void **out, struct magazine *mag, unsigned n, void *caller,
			 size_t asked)
{
	unsigned got = 0, idx;
	uint64_t irq = spin_lock_irqsave(&c->lock);

	while (got < n) {
		/* Partial slabs first, so empty ones stay empty. */
		struct slab *s = c->partial.head ? c->partial.head : c->empty.head;
		if (!s) {
			/* Grow without the lock: the layers below take their own. */
			spin_unlock_irqrestore(&c->lock, irq);
			s = slab_create(c);
			if (!s && slab_reclaim())       /* idle memory of the heap's own: take it back, once */
				s = slab_create(c);
			irq = spin_lock_irqsave(&c->lock);
			if (!s)
				break;
			c->nslabs++, c->grows++;
			list_add(&c->empty, s, LIST_EMPTY);
			continue;
		}
		void *obj = slab_take(c, s, &idx);
		if (DEBUG_HOOKS(c))
			debug_on_alloc(c, s, idx, obj, caller, asked);
		if (mag)
			mag_put(mag, obj, parked_word(s, idx), obj_bit(idx));
		else
			out[got] = obj;
		got++;
	}
	cache_unlock(c, irq);
	return got;
}

/* The slab of obj, a parked object of c whose bit is at w, bit: anything else in a magazine is a heap bug. */
static struct slab *slab_of_parked(struct cache *c, const void *obj, const uint64_t *w, uint64_t bit,
				   unsigned *idx)
{
	struct slab *s = pages_owner(obj);
	long i = s && slab_sound(s) && s->cache == c ? slab_obj_index(c, s, (uintptr_t)obj) : -1;

	MM_ASSERT("slab", i >= 0 && w == parked_word(s, (unsigned)i) && bit == obj_bit((unsigned)i) &&
		  obj_state(s, (unsigned)i) == (ST_USED | ST_PARKED),
		  "cache %s: a magazine holds %p, which is no parked object of the cache", c->name, obj);
	*idx = (unsigned)i;
	return s;
}

/* slab_free_bulk: see slab_private.h. Each object is checked: a magazine holds only parked objects of c. */
void slab_free_bulk(struct cache *c, struct magazine *m)
{
	uint64_t irq = spin_lock_irqsave(&c->lock);
	unsigned idx;

	for (unsigned k = 0; k < m->rounds; k++) {
		struct slab *s = slab_of_parked(c, m->obj[k], m->word[k], m->bit[k], &idx);
		__atomic_fetch_and(m->word[k], ~m->bit[k], __ATOMIC_RELAXED);       /* other CPUs park in this word */
		slab_put(c, s, idx);
	}
	m->rounds = 0;
	cache_unlock(c, irq);
}

/*
 * slab_free_one: see slab_private.h. The object's bits are the truth about it:
 * not used, or parked, means it is free already, whatever the caller thinks.
 */
void slab_free_one(struct cache *c, struct slab *s, unsigned idx, void *obj)
{
	uint64_t irq = spin_lock_irqsave(&c->lock);
	bool twice = obj_state(s, idx) != ST_USED;

	if (!twice) {
		if (DEBUG_HOOKS(c))
			debug_on_free(c, s, idx, obj);
		slab_put(c, s, idx);
	}
	cache_unlock(c, irq);
	if (twice)
		slab_error(SLAB_E_DOUBLE_FREE, c, obj, "object is already free");
}

/* slab_trim: see slab_private.h. */
void slab_trim(struct cache *c, uint64_t keep)
{
	uint64_t irq = spin_lock_irqsave(&c->lock);
	struct slab *chain = detach_empties(c, keep);

	if (c->empty.nr < c->ws_slabs_min)
		c->ws_slabs_min = c->empty.nr;
	spin_unlock_irqrestore(&c->lock, irq);
	slabs_give_back(c, chain);
}

/*
 * slab_of: see slab_private.h. expect NULL accepts any cache but the heap's
 * own, and large allocations (large_cache; idx 0 then).
 *
 * What the caller's pointer selects is the caller's business: a page no
 * slab holds, the middle of an object, another cache's object are misuse.
 * What the heap's own tables say about it is the heap's: a slot naming a
 * descriptor that is not mapped, fails its check or does not cover the
 * page is corruption, and stops before anything of it is followed. (A
 * descriptor's page is mapped exactly when the owner table names an owner
 * for it: on-slab, its own slab; off-slab, a slab of the descriptor cache.)
 */
struct slab *slab_of(struct cache *expect, const void *obj, unsigned *idx, const char *who)
{
	struct slab *s = pages_owner(obj);
	long i;

	if (!s) {
		slab_error(SLAB_E_FOREIGN, expect, obj, who);
		return NULL;
	}
	MM_ASSERT("slab", pages_owner(s) != NULL,
		  "owner table: the page of %p names descriptor %p, which is not heap memory", obj, (void *)s);
	MM_ASSERT("slab", slab_sound(s), "descriptor %p of the page of %p fails its check (overwritten?)",
		  (void *)s, obj);
	MM_ASSERT("slab", (uintptr_t)obj - s->base < ((uintptr_t)s->npages << PAGE_SHIFT),
		  "owner table: the page of %p names descriptor %p of %lx..%lx", obj, (void *)s,
		  (unsigned long)s->base, (unsigned long)slab_end(s));
	if (s->cache == &kheap.large_cache) {
		if (expect || (uintptr_t)obj != s->base) {
			slab_error(expect ? SLAB_E_WRONG_CACHE : SLAB_E_FOREIGN, expect, obj, who);
			return NULL;
		}
		*idx = 0;
		return s;
	}
	if (!expect && (s->cache->flags & CF_INTERNAL)) {
		slab_error(SLAB_E_FOREIGN, NULL, obj, "an object of the heap's own, not one kmalloc returned");
		return NULL;
	}
	if (expect && s->cache != expect) {
		slab_error(SLAB_E_WRONG_CACHE, expect, obj, who);
		return NULL;
	}
	i = slab_obj_index(s->cache, s, (uintptr_t)obj);
	if (i < 0) {
		slab_error(SLAB_E_FOREIGN, s->cache, obj, "not the start of an object");
		return NULL;
	}
	*idx = (unsigned)i;
	return s;
}
