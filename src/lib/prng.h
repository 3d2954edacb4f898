/*
 * prng.h - the one pseudo-random generator of the tree (xorshift64*,
 * Marsaglia's shifts 12/25/27 and Vigna's multiplier): seeded, so a test,
 * a benchmark or the slab's fault injection draws the same sequence on
 * every run, in the kernel and on the host. A zero state stays zero.
 */
#ifndef STRATA_LIB_PRNG_H
#define STRATA_LIB_PRNG_H

#include <stdint.h>

static inline uint64_t prng_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif
