/*
 * check.c - slab_check(): every invariant of every cache, verified.
 *
 *   - each slab on a list is sound, belongs to the cache, and is on the
 *     list its count says (empty 0, partial, full nobj);
 *   - its count equals the objects its state bits say are used, no object
 *     is parked without being used, and no bit is set past nobj;
 *   - the frames of its first and last page name it as their owner;
 *   - the slabs add up to nslabs, their counts to out; the depot's full
 *     magazines to depot_rounds; the parked objects to the magazines' rounds.
 */
#include "mm/slab/internal.h"
#include "lib/kprintf.h"

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
	if (backing_owner((void *)s->base) != s || backing_owner((void *)(slab_end(s) - 1)) != s)
		bad += problem(c, s, "its pages do not name it as their owner");
	*out += s->inuse;
	return bad;
}

static unsigned check_cache(struct cache *c)
{
	uint64_t irq = spin_lock_irqsave(&c->lock), out = 0, slabs = 0, rounds = 0, parked = 0;
	unsigned bad = 0;

	for (uint8_t which = LIST_PARTIAL; which <= LIST_FULL; which++) {
		struct slab_list *l = list_of(c, which);
		struct slab *s = l->head;
		for (uint64_t k = 0; k < l->nr; k++, s = s->next)
			bad += check_slab(c, s, which, &out, &parked);
		if (l->nr && s != l->head)
			bad += problem(c, l->head, "list does not close on its count");
		slabs += l->nr;
	}
	for (struct magazine *m = c->depot_full; m; m = m->next)
		rounds += m->rounds;
	if (slabs != c->nslabs || out != c->out || rounds != c->depot_rounds)
		bad += problem(c, c, "counters do not add up");
	if (parked != mag_rounds(c))
		bad += problem(c, c, "objects marked parked do not match the magazines' rounds");
	spin_unlock_irqrestore(&c->lock, irq);
	return bad;
}

/* slab_check: see slab.h. */
unsigned slab_check(void)
{
	unsigned bad = 0;

	for (struct cache *c = cache_list; c; c = c->next)
		bad += check_cache(c);
	return bad;
}
