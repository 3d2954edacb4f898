/*
 * cache.c - object caches: bringing the heap up (slab_init), their layout,
 * creation, the alloc/free entry points, destruction, and in front of
 * each, the per-CPU magazines and the depot.
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
#include "mm/slab/slab_private.h"
#include "mm/trace.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

struct kheap kheap = {
	.slowpath = 1,          /* until slab_init has run */
	.debug = SLAB_DEBUG,
	.debugged = SLAB_DEBUG != 0,
	.caches_lock = SPINLOCK_INIT("slab caches"),
	.large_cache = { .name = "large" },     /* nobj 0: see struct kheap */
	.large_lock = SPINLOCK_INIT("slab large"),
};

static void mag_warm(void);
static uint32_t depot_limit(const struct cache *c);
static uint64_t depot_bytes(void);

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
	if (!(flags & CF_INTERNAL) && (kheap.debug & (SLAB_DEBUG_REDZONE | SLAB_DEBUG_TRACK)))
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
	c->depot_max = depot_limit(c);
	c->empty_max = (uint32_t)(kheap.depot_bytes / ((uint64_t)c->npages << PAGE_SHIFT));
	c->empty_max = c->empty_max < SLAB_EMPTY_KEEP ? SLAB_EMPTY_KEEP : c->empty_max;
	/* One lock class for every cache (no code holds two): the checker's 64 classes stay free. */
	c->lock = (struct spinlock)SPINLOCK_INIT("slab cache");
	return 0;
}

void cache_link(struct cache *c)
{
	uint64_t irq = spin_lock_irqsave(&kheap.caches_lock);
	c->next = kheap.caches;
	kheap.caches = c;
	spin_unlock_irqrestore(&kheap.caches_lock, irq);
}

static void cache_unlink(struct cache *c)
{
	uint64_t irq = spin_lock_irqsave(&kheap.caches_lock);
	for (struct cache **pp = &kheap.caches; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	spin_unlock_irqrestore(&kheap.caches_lock, irq);
}

/* cache_create: see slab.h. The struct cache itself comes from cache_cache. */
struct cache *cache_create(const char *name, size_t size, size_t align, void (*ctor)(void *obj))
{
	struct cache tmp, *c;

	if (cache_setup(&tmp, name, size, align, ctor, 0))
		return NULL;
	c = cache_alloc_caller(&kheap.cache_cache, NULL, sizeof(*c));
	if (!c)
		return NULL;
	cache_setup(c, name, size, align, ctor, 0);
	cache_link(c);
	return c;
}

static void *mag_alloc(struct cache *c);
static bool mag_free(struct cache *c, struct slab *s, unsigned idx, void *obj);

/* The allocation path behind cache_alloc and kmalloc, after failure injection. */
void *cache_alloc_caller(struct cache *c, void *caller, size_t asked)
{
	void *obj = NULL;

	if (!BYPASS_MAGS(c))
		return mag_alloc(c);
	slab_alloc_bulk(c, &obj, NULL, 1, caller, asked);
	return obj;
}

/* cache_alloc: see slab.h. */
void *cache_alloc(struct cache *c)
{
	if (__builtin_expect(c && !kheap.slowpath && !(c->flags & (CF_NOMAG | CF_REDZONE)), 1)) {
		void *obj;
		if (mag_fast(c, arch_cpu_index(), &obj, NULL, 0))
			return obj;
	}
	if (!c || FAIL_INJECTED())
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
	if (s->cache == &kheap.large_cache) {
		large_free(s);
		return;
	}
	c = s->cache;
	if (BYPASS_MAGS(c)) {
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
	cache_free_checked(&kheap.cache_cache, c, "cache_destroy");
	return 0;
}

/*
 * Bringing the heap up from nothing.
 *
 * Three internal caches come first, as static structures, because every
 * other cache needs them: slab descriptors (for off-slab slabs and large
 * allocations), magazines, and struct cache itself (for cache_create).
 * They have no magazines and are not debugged, so the heap never needs
 * itself to serve itself. Then the kmalloc classes.
 */
#define INTERNAL (CF_INTERNAL | CF_NOMAG | CF_STATIC)
#define DESC_OBJECT 128         /* an off-slab descriptor: header and three 64-bit bitmaps */

/*
 * slab_init: see slab.h. Everything but the switches (debug flags, the
 * trace, failure injection) starts over: the caches, the large
 * allocations, the error count, the owner table.
 */
void slab_init(void)
{
	uint64_t t = arch_rdtsc();

	kheap.caches = NULL;
	kheap.large_head = NULL;
	kheap.large_live = kheap.large_pages = 0;
	kheap.nerrors = 0;
	kheap.last = (struct slab_error){ 0 };
	kheap.debugged = kheap.debug != 0;
	pages_reset();
	kheap.depot_bytes = depot_bytes();
	/* Not a cryptographic secret: enough that a stray pointer rarely passes slab_sound(). */
	kheap.secret = (uint32_t)(t ^ (t >> 29) ^ 0x9e3779b9u);
	cache_setup(&kheap.desc_cache, "slab-desc", DESC_OBJECT, SLAB_DESC_ALIGN, NULL, INTERNAL);
	cache_setup(&kheap.mag_cache, "magazine", sizeof(struct magazine), 64, NULL, INTERNAL);
	cache_setup(&kheap.cache_cache, "cache", sizeof(struct cache), 64, NULL, INTERNAL);
	cache_link(&kheap.desc_cache);
	cache_link(&kheap.mag_cache);
	cache_link(&kheap.cache_cache);
	kmalloc_init();
	mag_warm();
	slowpath_update();
}

/*
 * The magazines (Bonwick and Adams, 2001). A magazine is a stack of up
 * to mag_size free objects. Each CPU holds two per cache, loaded and
 * prev, behind their busy word: a lock on a line no other CPU writes but
 * to flush them (mag_flush_all). The
 * common pop and push are inlined into kmalloc and kfree (slab_private.h,
 * mag_fast: the busy word instead of masking interrupts); what follows is
 * the rest, run with interrupts off and the busy word held. A busy word
 * found set here means an interrupt landed inside the inlined path, or
 * another CPU is flushing: leave the magazines alone, go to the slabs.
 * The algorithm:
 *
 *   alloc: pop loaded. If loaded is empty and prev is full, swap them and
 *          pop. Else trade prev for a full magazine from the depot (prev
 *          goes to the depot's empties, loaded becomes prev). Else fill a
 *          magazine halfway from the slabs in one go.
 *   free:  push loaded. If loaded is full and prev is empty, swap and push.
 *          Else hand prev (full) to the depot and take an empty magazine
 *          from it (or a new one from mag_cache). If even that fails, the
 *          object goes straight to its slab: free never fails.
 *
 * Keeping two magazines means a CPU that alternates alloc and free at a
 * magazine boundary does not go to the depot on every call. Caches of big
 * objects have magazines of one round (SLAB_MAG_BYTES): they keep just the
 * loaded one, no prev and nothing in the depot, since each object parked
 * there can pin a slab of several pages.
 *
 * The depot is sized to the working set (Bonwick and Adams, section 3.6):
 * it counts its transactions, and keeps the fewest full and the fewest
 * empty magazines it held since the interval began. Those were never
 * needed in it: at the end of the interval (SLAB_INTERVAL transactions)
 * they go back, the full ones' objects to their slabs, and the mins start
 * again from what is left. A loop that frees and allocates 4096 objects
 * in turn empties the depot once a round, so it keeps them all and never
 * reaches the slabs; a burst of frees that is not taken again drains
 * after an interval. The interval is counted in transactions rather than
 * seconds, so the heap needs no timer and the host tests see the same
 * thing every run; a cache that goes quiet keeps its depot until
 * slab_reap, or until the heap runs short of pages (slab.c, reclaim).
 * At most depot_max full magazines at any time, its share of RAM
 * (depot_limit): more go back to the slabs at once.
 */

/* Full magazines a cache's depot may hold: kheap.depot_bytes of objects (slab_init). */
static uint32_t depot_limit(const struct cache *c)
{
	return c->mag_size > 1 ? (uint32_t)(kheap.depot_bytes / ((uint64_t)c->mag_size * c->stride) + 1) : 0;
}

/* The bytes of objects one cache's depot may hold: 1/512 of RAM, 16 KiB to 4 MiB. */
static uint64_t depot_bytes(void)
{
	uint64_t b = pages_ram_bytes() / 512;

	return b < (16 << 10) ? 16 << 10 : b > (4 << 20) ? 4 << 20 : b;
}

static void swap(struct cpu_mags *m)
{
	struct magazine *t = m->loaded;
	m->loaded = m->prev, m->prev = t;
}

static void mag_release(struct magazine *mag)
{
	cache_free_checked(&kheap.mag_cache, mag, "magazine");
}

static void mag_empty_out(struct cache *c, struct magazine *mag)
{
	if (!mag)
		return;
	slab_free_bulk(c, mag);
	mag_release(mag);
}

/* Unhook the last n magazines of a list (the least recently put there): a NULL-ended chain. */
static struct magazine *unhook_tail(struct magazine **head, uint32_t keep)
{
	struct magazine **pp = head, *chain;

	while (*pp && keep--)
		pp = &(*pp)->next;
	chain = *pp;
	*pp = NULL;
	return chain;
}

/* ws_interval: see slab_private.h. The mins start again from what is left. */
void ws_interval(struct cache *c, struct ws_idle *idle)
{
	idle->full = unhook_tail(&c->depot_full, c->depot_nfull - c->ws_full_min);
	idle->empty = unhook_tail(&c->depot_empty, c->depot_nempty - c->ws_empty_min);
	for (struct magazine *m = idle->full; m; m = m->next)
		c->depot_rounds -= m->rounds;
	c->depot_nfull -= c->ws_full_min, c->depot_nempty -= c->ws_empty_min;
	c->ws_full_min = c->depot_nfull, c->ws_empty_min = c->depot_nempty;
	idle->slabs = slabs_unhook_idle(c);
}

/* Chains of full and empty magazines unhooked from c's depot, given back: no lock held. */
static void mags_give_back(struct cache *c, struct magazine *full, struct magazine *empty)
{
	struct magazine *next;

	for (; full; full = next) {
		next = full->next;
		mag_empty_out(c, full);
	}
	for (; empty; empty = next) {
		next = empty->next;
		mag_release(empty);
	}
}

/*
 * ws_give_back: see slab_private.h. The idle slabs go before the idle
 * magazines' objects reach the slabs: slabs those empty wait for the next
 * interval, so a burst decays in two steps.
 */
void ws_give_back(struct cache *c, struct ws_idle *idle)
{
	slabs_give_back(c, idle->slabs);
	mags_give_back(c, idle->full, idle->empty);
}

/* depot_drain: see slab_private.h. */
void depot_drain(struct cache *c)
{
	uint64_t irq = spin_lock_irqsave(&c->lock);
	struct magazine *full = c->depot_full, *empty = c->depot_empty;

	c->depot_full = c->depot_empty = NULL;
	c->depot_rounds = 0;
	c->depot_nfull = c->depot_nempty = c->ws_full_min = c->ws_empty_min = 0;
	spin_unlock_irqrestore(&c->lock, irq);
	mags_give_back(c, full, empty);
}

/* The depot's lists, pushed and popped under c->lock, with their counts and working-set mins. */
static void depot_push(struct cache *c, struct magazine *m)
{
	if (m->rounds) {
		m->next = c->depot_full, c->depot_full = m;
		c->depot_nfull++, c->depot_rounds += m->rounds;
	} else {
		m->next = c->depot_empty, c->depot_empty = m;
		c->depot_nempty++;
	}
}

static struct magazine *depot_pop_empty(struct cache *c)
{
	struct magazine *e = c->depot_empty;

	if (e) {
		c->depot_empty = e->next;
		if (--c->depot_nempty < c->ws_empty_min)
			c->ws_empty_min = c->depot_nempty;
	}
	return e;
}

/* An empty magazine from the depot, or a new one; NULL if none can be had. */
static struct magazine *empty_mag(struct cache *c)
{
	uint64_t irq = spin_lock_irqsave(&c->lock);
	struct magazine *e = depot_pop_empty(c);
	void *obj = NULL;

	cache_unlock(c, irq);
	if (e)
		return e;
	if (!slab_alloc_bulk(&kheap.mag_cache, &obj, NULL, 1, NULL, 0))
		return NULL;
	e = obj;
	e->rounds = 0, e->next = NULL;
	return e;
}

/* Trade prev (empty, if any) for a full magazine of the depot. Interrupts off. */
static bool depot_take_full(struct cache *c, struct cpu_mags *m)
{
	uint64_t irq = spin_lock_irqsave(&c->lock);
	struct magazine *f = c->depot_full;

	if (f) {
		c->depot_full = f->next;
		c->depot_rounds -= f->rounds;
		if (--c->depot_nfull < c->ws_full_min)
			c->ws_full_min = c->depot_nfull;
		if (m->prev)
			depot_push(c, m->prev);
		m->prev = m->loaded;
		m->loaded = f;
	}
	cache_unlock(c, irq);
	return f != NULL;
}

/* Fill loaded (getting one if needed) halfway from the slabs. Interrupts off. */
static bool refill_from_slabs(struct cache *c, struct cpu_mags *m)
{
	if (!m->loaded && !(m->loaded = empty_mag(c)))
		return false;
	MM_TRACE("slab", "cache %s: CPU %u's magazines and the depot are empty: refill from the slabs",
		 c->name, arch_cpu_index());
	m->loaded->rounds = 0;
	slab_alloc_bulk(c, NULL, m->loaded, c->mag_size / 2 + 1, NULL, c->size);
	return m->loaded->rounds > 0;
}

static void *mag_alloc_slow(struct cache *c, struct cpu_mags *m)
{
	if (m->prev && m->prev->rounds)
		swap(m);
	else if (!depot_take_full(c, m) && !refill_from_slabs(c, m)) {
		void *obj = NULL;       /* no magazine to be had: one object straight from a slab */
		slab_alloc_bulk(c, &obj, NULL, 1, NULL, c->size);
		return obj;
	}
	return mag_take(m->loaded);
}

/*
 * The try-lock of a CPU's magazines: true if we have them (see struct
 * cpu_mags), and its release. Macros, so that the traced alloc path
 * (tests/path) counts no function for them.
 */
#define MAGS_TRY(m)     (!__atomic_exchange_n(&(m)->busy, 1, __ATOMIC_ACQUIRE))
#define MAGS_RELEASE(m) __atomic_store_n(&(m)->busy, 0, __ATOMIC_RELEASE)

/* An object from this CPU's magazines, or NULL if the slabs are out of memory. */
static void *mag_alloc(struct cache *c)
{
	uint64_t irq = arch_irq_save();
	struct cpu_mags *m = &c->cpu[arch_cpu_index()];
	struct magazine *l;
	void *obj;

	if (!MAGS_TRY(m)) {     /* an interrupt inside mag_fast, or a flush: leave them be */
		arch_irq_restore(irq);
		obj = NULL;
		slab_alloc_bulk(c, &obj, NULL, 1, NULL, c->size);
		return obj;
	}
	l = m->loaded;
	if (__builtin_expect(l && l->rounds, 1))
		obj = mag_take(l);
	else
		obj = mag_alloc_slow(c, m);
	MAGS_RELEASE(m);
	arch_irq_restore(irq);
	return obj;
}

/*
 * Hand a full prev to the depot (or, beyond depot_max, its objects to the
 * slabs, keeping the magazine) and make room in loaded: one trip to the
 * depot for both. Interrupts off.
 */
static bool depot_put_full(struct cache *c, struct cpu_mags *m)
{
	struct magazine *e = NULL, *f = m->prev;
	uint64_t irq = spin_lock_irqsave(&c->lock);

	if (f && c->depot_nfull < c->depot_max) {
		depot_push(c, f);
		f = m->prev = NULL;     /* the depot's now, even if no empty one comes */
	}
	if (!f)
		e = depot_pop_empty(c);
	cache_unlock(c, irq);
	if (f) {
		slab_free_bulk(c, f);
		e = f;
	}
	if (!e && !(e = empty_mag(c)))
		return false;
	m->prev = m->loaded;
	m->loaded = e;
	return true;
}

static bool mag_free_slow(struct cache *c, struct cpu_mags *m, void *obj, uint64_t *w, uint64_t bit)
{
	if (m->prev && !m->prev->rounds)
		swap(m);
	else if (!m->loaded) {
		if (!(m->loaded = empty_mag(c)))
			return false;
	} else if (c->mag_size == 1 || !depot_put_full(c, m))
		return false;           /* one-round caches keep no prev and no depot: see above */
	mag_put(m->loaded, obj, w, bit);
	return true;
}

/*
 * Park obj, object idx of s and live, in this CPU's magazines. Returns
 * false if no magazine could take it: the caller frees it to its slab.
 */
static bool mag_free(struct cache *c, struct slab *s, unsigned idx, void *obj)
{
	uint64_t irq = arch_irq_save();
	struct cpu_mags *m = &c->cpu[arch_cpu_index()];
	struct magazine *l;
	uint64_t *w = parked_word(s, idx), bit = obj_bit(idx);
	bool ok = true;

	if (!MAGS_TRY(m)) {     /* an interrupt inside mag_fast, or a flush: to the slab */
		arch_irq_restore(irq);
		return false;
	}
	l = m->loaded;
	if (__builtin_expect(l && l->rounds < c->mag_size, 1))
		mag_put(l, obj, w, bit);
	else
		ok = mag_free_slow(c, m, obj, w, bit);
	MAGS_RELEASE(m);
	arch_irq_restore(irq);
	return ok;
}

/*
 * Another CPU's (or our own) magazines, waited for: spin on the busy word
 * with interrupts on and arch_spin_relax, so that a CPU holding it and
 * waiting for us (a TLB shootdown while it gives slab pages back) is
 * answered. Not from an interrupt handler, which may have landed inside
 * this CPU's own window and would wait for itself.
 */
static void mags_wait(struct cpu_mags *m)
{
	while (!MAGS_TRY(m))
		while (__atomic_load_n(&m->busy, __ATOMIC_RELAXED))
			arch_spin_relax();
}

/* mags_hold_all: see slab_private.h. */
void mags_hold_all(struct cache *c)
{
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		mags_wait(&c->cpu[i]);
}

void mags_release_all(struct cache *c)
{
	for (unsigned i = ARCH_MAX_CPUS; i-- > 0; )
		MAGS_RELEASE(&c->cpu[i]);
}

/*
 * Every magazine of c, on every CPU and in the depot, emptied into the
 * slabs and given back, while the other CPUs run: each CPU's pair is
 * taken under its busy word (the owner goes to the slabs meanwhile, or
 * we wait out its window) and emptied after the word is let go. What a
 * CPU parks after its turn stays parked: the result is every object
 * parked when the call began, not empty magazines.
 */
void mag_flush_all(struct cache *c)
{
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		struct cpu_mags *m = &c->cpu[i];
		struct magazine *l, *p;
		mags_wait(m);
		l = m->loaded, p = m->prev;
		m->loaded = m->prev = NULL;
		MAGS_RELEASE(m);
		mag_empty_out(c, l);
		mag_empty_out(c, p);
	}
	depot_drain(c);
}

/* The rounds in CPU m's pair; its busy word held. */
static uint64_t cpu_rounds(const struct cpu_mags *m)
{
	return (m->loaded ? m->loaded->rounds : 0) + (m->prev ? m->prev->rounds : 0);
}

/*
 * Objects sitting in c's magazines: a snapshot, each CPU's pair read
 * under its busy word (a magazine may be given back as soon as it is let
 * go), so no lock may be held: the busy words come before c->lock.
 */
uint64_t mag_rounds(struct cache *c)
{
	uint64_t n = __atomic_load_n(&c->depot_rounds, __ATOMIC_RELAXED);

	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		struct cpu_mags *m = &c->cpu[i];
		mags_wait(m);
		n += cpu_rounds(m);
		MAGS_RELEASE(m);
	}
	return n;
}

/* The same, with every busy word held already (slab_check). */
uint64_t mag_rounds_held(struct cache *c)
{
	uint64_t n = c->depot_rounds;

	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		n += cpu_rounds(&c->cpu[i]);
	return n;
}

/*
 * One empty slab of magazines, made at slab_init and kept by slab_reap, so
 * that a cold allocation takes its first magazine without growing the
 * magazine cache: the growth a reader (or the trace) follows is the
 * class's own.
 */
static void mag_warm(void)
{
	void *m = NULL;

	if (slab_alloc_bulk(&kheap.mag_cache, &m, NULL, 1, NULL, 0))
		cache_free_checked(&kheap.mag_cache, m, "mag_warm");
}
