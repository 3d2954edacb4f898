/*
 * freemap.c - where the free blocks are: one bitmap per section and order,
 * a bit per block the section can hold, with summary levels above it.
 *
 * The free lists of a textbook buddy allocator link free blocks through
 * the blocks themselves, so every merge touches the buddy's page and both
 * of its list neighbours: three cache misses in three different pages,
 * and the links die with any write after free. Here a free block is a set
 * bit. Its order's leaf level has one bit per naturally aligned block of
 * that order in the section; above it, level l+1 has one bit per 64-bit
 * word of level l, set while that word is not zero. A section of 1 GiB
 * spends 32 KiB on its order-0 leaves, 512 bytes on the level above, and
 * about as much again for all other orders together: a free touches a few
 * lines of that and no page. The lowest free block of an order is found
 * by walking down from the top word with a count of trailing zeros, one
 * load per level: blocks are handed out lowest address first, which keeps
 * the free space together.
 *
 *   level 2                      [1 . . .]        one word: the top
 *   level 1      [0 1 0 0 ... 1 0 0 0 ...]        bit j: level 0 word j != 0
 *   level 0      [...64 bits...][...64 bits...]   bit i: block i is free
 *
 * Block i of order o in section s is the frame ((s->base_pfn >> o) + i) << o.
 * Called with pmm.lock held, or at boot, alone. The records stay the truth
 * about each frame (pmm_state.h); a bit that disagrees with its record is a
 * broken invariant, caught where it is read and by pmm_check.
 */
#include "mm/buddy/pmm_state.h"

/* Blocks of order o section s can hold, aligned ones cut by its ends included. */
static inline uint64_t map_bits(const struct section *s, unsigned o)
{
	return ((s->base_pfn + s->npages - 1) >> o) - (s->base_pfn >> o) + 1;
}

/* Words of level l over nbits leaves; level l is the top once this is 1. */
static inline uint64_t level_words(uint64_t nbits, unsigned l)
{
	return ((nbits - 1) >> (6 * (l + 1))) + 1;
}

static inline uint64_t block_index(const struct section *s, unsigned o, pfn_t pfn)
{
	return (pfn >> o) - (s->base_pfn >> o);
}

/* Words all orders' maps of a section of npages frames at base take, their table included. */
uint64_t freemap_words(pfn_t base, uint64_t npages)
{
	struct section s = { .base_pfn = base, .npages = npages };
	uint64_t words = ORDER_MAP_WORDS;

	for (unsigned o = 0; o <= PMM_MAX_ORDER; o++) {
		uint64_t nbits = map_bits(&s, o);
		for (unsigned l = 0; ; l++) {
			words += level_words(nbits, l);
			if (level_words(nbits, l) == 1)
				break;
		}
	}
	return words;
}

/*
 * Lay out s's maps in the freemap_words() zeroed words at s->bits: the
 * table of orders first, then each order's levels; s->bits moves past the
 * table.
 */
void freemap_layout(struct section *s)
{
	uint64_t off = 0;

	s->map = (struct order_map *)s->bits;
	s->bits += ORDER_MAP_WORDS;
	for (unsigned o = 0; o <= PMM_MAX_ORDER; o++) {
		uint64_t nbits = map_bits(s, o);
		s->map[o] = (struct order_map){ .off = (uint32_t)off, .nr = 0, .nbits = (uint32_t)nbits };
		for (unsigned l = 0; ; l++) {
			off += level_words(nbits, l);
			if (level_words(nbits, l) == 1)
				break;
		}
	}
}

/*
 * Mark the block at pfn free; each level above learns of a word that stops
 * being zero. Mostly the word was not zero: one load, one store.
 */
void freemap_set(struct section *s, unsigned o, pfn_t pfn)
{
	struct order_map *m = &s->map[o];
	uint64_t i = block_index(s, o, pfn), *w = s->bits + m->off;

	m->nr++;
	for (unsigned l = 0; ; l++) {
		uint64_t old = w[i >> 6], n;
		w[i >> 6] = old | 1ULL << (i & 63);
		if (old || (n = level_words(m->nbits, l)) == 1)
			return;
		w += n, i >>= 6;
	}
}

/* Mark the block at pfn taken; false if its bit was not set (the caller's record lied). */
bool freemap_clear(struct section *s, unsigned o, pfn_t pfn)
{
	struct order_map *m = &s->map[o];
	uint64_t i = block_index(s, o, pfn), *w = s->bits + m->off;
	uint64_t v = w[i >> 6];

	if (!(v & 1ULL << (i & 63)))
		return false;
	m->nr--;
	for (unsigned l = 0; ; l++) {
		uint64_t n;
		v &= ~(1ULL << (i & 63));
		w[i >> 6] = v;
		if (v || (n = level_words(m->nbits, l)) == 1)
			return true;
		w += n, i >>= 6;
		v = w[i >> 6];
	}
}

bool freemap_test(const struct section *s, unsigned o, pfn_t pfn)
{
	uint64_t i = block_index(s, o, pfn);
	return s->bits[s->map[o].off + (i >> 6)] & 1ULL << (i & 63);
}

/* The lowest free block of order o in s, or PMM_NO_FRAME if the map says none. */
pfn_t freemap_first(const struct section *s, unsigned o)
{
	const uint64_t *lvl[FREEMAP_LEVELS];
	const uint64_t *w = s->bits + s->map[o].off;
	uint64_t nbits = s->map[o].nbits, i = 0;
	unsigned l = 0;

	for (;;) {
		lvl[l] = w;
		if (level_words(nbits, l) == 1)
			break;
		w += level_words(nbits, l++);
	}
	for (;;) {
		uint64_t word = lvl[l][i];
		if (!word)
			return PMM_NO_FRAME;
		i = i * 64 + (uint64_t)__builtin_ctzll(word);
		if (l-- == 0)
			break;
	}
	return ((s->base_pfn >> o) + i) << o;
}

/*
 * pmm_check's part: every level of every map agrees with the one below,
 * and each order's count with its leaves. Calls each(s, o, pfn) for every
 * set leaf; returns the number of problems found by the walk itself.
 */
unsigned freemap_check(const struct section *s, unsigned (*each)(const struct section *, unsigned, pfn_t),
		       unsigned (*problem)(const char *, pfn_t, uint64_t))
{
	unsigned bad = 0;

	for (unsigned o = 0; o <= PMM_MAX_ORDER; o++) {
		uint64_t nbits = map_bits(s, o), set = 0;
		const uint64_t *w = s->bits + s->map[o].off;
		if (s->map[o].nbits != nbits)
			return bad + problem("free map's size disagrees with its section", s->base_pfn, o);
		for (uint64_t k = 0; k < level_words(nbits, 0); k++)
			for (uint64_t v = w[k]; v; v &= v - 1) {
				uint64_t i = k * 64 + (uint64_t)__builtin_ctzll(v);
				if (i >= nbits)
					return bad + problem("free map bit past its section's blocks", s->base_pfn, o);
				set++;
				bad += each(s, o, ((s->base_pfn >> o) + i) << o);
			}
		if (set != s->map[o].nr)
			bad += problem("free map's count disagrees with its bits", s->base_pfn, o);
		for (unsigned l = 0; level_words(nbits, l) > 1; l++) {
			const uint64_t *up = w + level_words(nbits, l);
			for (uint64_t k = 0; k < level_words(nbits, l); k++)
				if (!!w[k] != !!(up[k >> 6] & 1ULL << (k & 63)))
					return bad + problem("free map summary disagrees with the level below",
							     s->base_pfn, o);
			w = up;
		}
	}
	return bad;
}
