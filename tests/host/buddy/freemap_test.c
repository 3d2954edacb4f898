/*
 * freemap_test.c - the free maps alone (src/mm/buddy/freemap.c) against a
 * model: a plain array of bools per order. Random sets and clears over
 * sections of awkward sizes and offsets, deep enough for four levels;
 * after each step the lowest free block must be the model's lowest, and
 * freemap_check must find the summaries and counts right.
 */
#include <stdlib.h>
#include <string.h>
#include "fixture.h"
#include "mm/buddy/pmm_state.h"

static unsigned problems;
static unsigned count_problem(const char *what, pfn_t pfn, uint64_t d)
{
	(void)what, (void)pfn, (void)d;
	return ++problems;
}
static unsigned leaf_ok(const struct section *s, unsigned o, pfn_t pfn)
{
	(void)s, (void)o, (void)pfn;
	return 0;
}

/* The lowest block of order o the model says is free, or PMM_NO_FRAME. */
static pfn_t model_first(const bool *m, uint64_t nblocks, pfn_t base, unsigned o)
{
	for (uint64_t i = 0; i < nblocks; i++)
		if (m[i])
			return ((base >> o) + i) << o;
	return PMM_NO_FRAME;
}

static void one_section(pfn_t base, uint64_t npages, uint64_t *seed, unsigned steps)
{
	struct section s = { .base_pfn = base, .npages = npages };
	uint64_t words = freemap_words(base, npages);
	uint64_t *meta = calloc(words, 8);
	REQUIRE(meta);
	s.bits = meta;
	freemap_layout(&s);
	CHECK((uint64_t *)s.map == meta);               /* the table first, the maps after it */
	CHECK(s.bits >= (uint64_t *)(s.map + PMM_MAX_ORDER + 1));
	CHECK(s.bits + s.map[PMM_MAX_ORDER].off + 1 <= meta + words);
	for (unsigned o = 0; o <= PMM_MAX_ORDER; o += 3) {
		uint64_t nb = ((base + npages - 1) >> o) - (base >> o) + 1;
		bool *m = calloc(nb, 1);
		REQUIRE(m);
		for (unsigned k = 0; k < steps; k++) {
			uint64_t i = rnd_next(seed) % nb;
			pfn_t pfn = ((base >> o) + i) << o;
			CHECK_EQ(freemap_test(&s, o, pfn), m[i]);
			if (m[i]) {
				CHECK(freemap_clear(&s, o, pfn));
				CHECK(!freemap_clear(&s, o, pfn));      /* cleared twice: says so */
			} else
				freemap_set(&s, o, pfn);
			m[i] = !m[i];
			CHECK_EQ(freemap_first(&s, o), model_first(m, nb, base, o));
		}
		problems = 0;
		CHECK_EQ(freemap_check(&s, leaf_ok, count_problem), 0);
		CHECK_EQ(problems, 0);
		for (uint64_t i = 0; i < nb; i++)       /* empty it again, lowest first */
			if (m[i]) {
				CHECK_EQ(freemap_first(&s, o), ((base >> o) + i) << o);
				CHECK(freemap_clear(&s, o, ((base >> o) + i) << o));
			}
		CHECK_EQ(freemap_first(&s, o), PMM_NO_FRAME);
		CHECK_EQ(s.map[o].nr, 0);
		free(m);
	}
	/* A summary bit that lies is found. */
	freemap_set(&s, 0, base);
	s.bits[s.map[0].off + ((npages - 1) >> 6) + 1] ^= 2;    /* level 1, word 0, bit 1 */
	problems = 0;
	CHECK(freemap_check(&s, leaf_ok, count_problem) > 0);
	free(meta);
}

void test_freemap_model(void)
{
	uint64_t seed = 0x5eed;
	one_section(0x100, 0x2f00, &seed, 4000);            /* 1 MiB .. 48 MiB: 3 levels at order 0 */
	one_section(0x3201, 300000, &seed, 20000);          /* odd start, 4 levels */
	one_section(0x12345, 1, &seed, 10);                 /* one frame */
	one_section(1ULL << 20, 64 * 64 + 1, &seed, 3000);  /* one bit past a full level */
}
