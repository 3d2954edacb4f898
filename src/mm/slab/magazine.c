/*
 * magazine.c - per-CPU magazines and the depot (Bonwick and Adams, 2001).
 *
 * A magazine is a stack of up to mag_size free objects. Each CPU holds two
 * per cache, loaded and prev: no lock, no line another CPU writes. The
 * common pop and push are inlined into kmalloc and kfree (internal.h,
 * mag_pop/mag_push: a busy word instead of masking interrupts); this file
 * is the rest, run with interrupts off. A busy word found set here means
 * an interrupt landed inside the inlined path: leave the magazines alone.
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
 * there can pin a slab of several pages. The depot
 * keeps at most DEPOT_FULL_MAX full magazines and one empty one per cache;
 * more go back to the slabs and to the magazine cache, so a burst of frees
 * does not pin memory in magazines.
 */
#include "mm/slab/internal.h"
#include "lib/kprintf.h"

#define DEPOT_FULL_MAX 1

static void swap(struct cpu_mags *m)
{
	struct magazine *t = m->loaded;
	m->loaded = m->prev, m->prev = t;
}

/* An empty magazine from the depot, or a new one; NULL if none can be had. */
static struct magazine *empty_mag(struct cache *c)
{
	uint64_t irq = spin_lock_irqsave(&c->lock);
	struct magazine *e = c->depot_empty;
	void *obj = NULL;

	if (e)
		c->depot_empty = e->next;
	spin_unlock_irqrestore(&c->lock, irq);
	if (e)
		return e;
	if (!slab_alloc_bulk(mag_cache, &obj, 1, NULL, 0))
		return NULL;
	e = obj;
	e->rounds = 0, e->next = NULL;
	return e;
}

static void mag_release(struct magazine *mag)
{
	cache_free_checked(mag_cache, mag, "magazine");
}

/* Trade prev for a full magazine of the depot. Interrupts off. */
static bool depot_take_full(struct cache *c, struct cpu_mags *m)
{
	uint64_t irq = spin_lock_irqsave(&c->lock);
	struct magazine *f = c->depot_full, *spare = NULL;

	if (f) {
		c->depot_full = f->next;
		c->depot_rounds -= f->rounds;
		if (m->prev && c->depot_empty)
			spare = m->prev;        /* one empty in the depot is enough */
		else if (m->prev) {
			m->prev->next = c->depot_empty;
			c->depot_empty = m->prev;
		}
		m->prev = m->loaded;
		m->loaded = f;
	}
	spin_unlock_irqrestore(&c->lock, irq);
	if (spare)
		mag_release(spare);
	return f != NULL;
}

/* Fill loaded (getting one if needed) halfway from the slabs. Interrupts off. */
static bool refill_from_slabs(struct cache *c, struct cpu_mags *m)
{
	if (!m->loaded && !(m->loaded = empty_mag(c)))
		return false;
	if (slab_tracing)
		kprintf("  mag:    cache %s: CPU %u's magazines and the depot are empty: refill from the slabs\n",
			c->name, arch_cpu_index());
	slab_alloc_parked(c, m->loaded, c->mag_size / 2 + 1);
	return m->loaded->rounds > 0;
}

static void *mag_alloc_slow(struct cache *c, struct cpu_mags *m)
{
	if (m->prev && m->prev->rounds)
		swap(m);
	else if (!depot_take_full(c, m) && !refill_from_slabs(c, m)) {
		void *obj = NULL;       /* no magazine to be had: one object straight from a slab */
		slab_alloc_bulk(c, &obj, 1, NULL, c->size);
		return obj;
	}
	return mag_take(m->loaded);
}

/* An object from this CPU's magazines, or NULL if the slabs are out of memory. */
void *mag_alloc(struct cache *c)
{
	uint64_t irq = arch_irq_save();
	struct cpu_mags *m = &c->cpu[arch_cpu_index()];
	struct magazine *l = m->loaded;
	void *obj;

	if (m->busy) {          /* an interrupt inside mag_pop/mag_push: leave them be */
		arch_irq_restore(irq);
		obj = NULL;
		slab_alloc_bulk(c, &obj, 1, NULL, c->size);
		return obj;
	}
	if (__builtin_expect(l && l->rounds, 1))
		obj = mag_take(l);
	else
		obj = mag_alloc_slow(c, m);
	arch_irq_restore(irq);
	return obj;
}

/*
 * Hand a full prev to the depot (or, beyond DEPOT_FULL_MAX, its objects to
 * the slabs, keeping the magazine) and make room in loaded. Interrupts off.
 */
static bool depot_put_full(struct cache *c, struct cpu_mags *m)
{
	struct magazine *e = NULL, *f = m->prev;
	uint64_t irq;
	unsigned nfull = 0;

	if (f) {
		irq = spin_lock_irqsave(&c->lock);
		for (struct magazine *x = c->depot_full; x && nfull <= DEPOT_FULL_MAX; x = x->next)
			nfull++;
		if (nfull < DEPOT_FULL_MAX) {
			f->next = c->depot_full, c->depot_full = f;
			c->depot_rounds += f->rounds;
			f = NULL;
		}
		spin_unlock_irqrestore(&c->lock, irq);
		if (f) {
			slab_free_bulk(c, f);
			e = f;
		}
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
bool mag_free(struct cache *c, struct slab *s, unsigned idx, void *obj)
{
	uint64_t irq = arch_irq_save();
	struct cpu_mags *m = &c->cpu[arch_cpu_index()];
	struct magazine *l = m->loaded;
	uint64_t *w = parked_word(s, idx), bit = obj_bit(idx);
	bool ok = true;

	if (m->busy)            /* an interrupt inside mag_pop/mag_push: to the slab */
		ok = false;
	else if (__builtin_expect(l && l->rounds < c->mag_size, 1))
		mag_put(l, obj, w, bit);
	else
		ok = mag_free_slow(c, m, obj, w, bit);
	arch_irq_restore(irq);
	return ok;
}

static void mag_empty_out(struct cache *c, struct magazine *mag)
{
	if (!mag)
		return;
	slab_free_bulk(c, mag);
	mag_release(mag);
}

/*
 * Every magazine of c, on every CPU and in the depot, emptied into the
 * slabs and given back. Other CPUs must not be using c meanwhile (one CPU
 * runs today; SMP will send each CPU a request to flush its own).
 */
void mag_flush_all(struct cache *c)
{
	struct magazine *full, *empty;
	uint64_t irq = arch_irq_save();

	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		struct cpu_mags *m = &c->cpu[i];
		struct magazine *l = m->loaded, *p = m->prev;
		m->loaded = m->prev = NULL;
		mag_empty_out(c, l);
		mag_empty_out(c, p);
	}
	arch_irq_restore(irq);
	irq = spin_lock_irqsave(&c->lock);
	full = c->depot_full, empty = c->depot_empty;
	c->depot_full = c->depot_empty = NULL;
	c->depot_rounds = 0;
	spin_unlock_irqrestore(&c->lock, irq);
	for (struct magazine *next; full; full = next) {
		next = full->next;
		mag_empty_out(c, full);
	}
	for (struct magazine *next; empty; empty = next) {
		next = empty->next;
		mag_release(empty);
	}
}

/* Objects sitting in c's magazines (a snapshot). */
uint64_t mag_rounds(struct cache *c)
{
	uint64_t n = __atomic_load_n(&c->depot_rounds, __ATOMIC_RELAXED);

	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		struct magazine *l = c->cpu[i].loaded, *p = c->cpu[i].prev;
		n += (l ? l->rounds : 0) + (p ? p->rounds : 0);
	}
	return n;
}
