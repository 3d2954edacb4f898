/*
 * check.h - the host tests' assertions and runner.
 *
 * Each host test program is a list of RUN(test_fn) calls in main(); a test
 * fails if any CHECK in it fails. Output is TAP, like the kernel's KTAP, so
 * one parser reads both. The program exits non-zero if anything failed.
 */
#ifndef STRATA_TESTS_CHECK_H
#define STRATA_TESTS_CHECK_H

#include "lib/prng.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

extern int check_failed_in_test;
extern int check_tests_run, check_tests_failed;

#define CHECK(c) do { \
	if (!(c)) { \
		printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
		check_failed_in_test = 1; \
	} } while (0)

#define CHECK_EQ(a, b) do { \
	uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); \
	if (a_ != b_) { \
		printf("#   %s:%d: %s == %s failed: 0x%" PRIx64 " != 0x%" PRIx64 "\n", \
		       __FILE__, __LINE__, #a, #b, a_, b_); \
		check_failed_in_test = 1; \
	} } while (0)

/* Stop the current test at the first failure of a precondition. */
#define REQUIRE(c) do { CHECK(c); if (check_failed_in_test) return; } while (0)

/* Seeded pseudo-random numbers (xorshift64*): the same sequence on every run. */
static inline uint64_t rnd_next(uint64_t *state)
{
	return prng_next(state);
}

/* One shared stream of them, for tests that need no stream of their own. */
uint64_t rnd(void);
void rnd_seed(uint64_t seed);

void check_run(const char *name, void (*fn)(void));
int check_finish(void);

#define RUN(fn) check_run(#fn, fn)

#endif
