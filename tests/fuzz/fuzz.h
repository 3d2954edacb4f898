/*
 * fuzz.h - what the libFuzzer targets share: a reader over the fuzzer's
 * bytes (zeros once they run out) and a check that stops the run.
 *
 * Each target is one LLVMFuzzerTestOneInput over code from src/, built
 * with clang -fsanitize=fuzzer,address,undefined (Makefile, "fuzz"). A
 * broken property calls FUZZ_CHECK, which prints it and aborts: libFuzzer
 * saves the input as a crash file, and the input goes into the corpus
 * (tests/fuzz/corpus/<target>/) so every later run replays it.
 */
#ifndef STRATA_TESTS_FUZZ_H
#define STRATA_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t fuzz_bytes(struct fuzz_in *in, unsigned k)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < k; i++) {
		v |= (uint64_t)(in->n ? *in->p : 0) << (8 * i);
		if (in->n)
			in->p++, in->n--;
	}
	return v;
}

#define fuzz_u8(in)  ((uint8_t)fuzz_bytes(in, 1))
#define fuzz_u16(in) ((uint16_t)fuzz_bytes(in, 2))
#define fuzz_u32(in) ((uint32_t)fuzz_bytes(in, 4))
#define fuzz_u64(in) fuzz_bytes(in, 8)

#define FUZZ_CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "FUZZ_CHECK failed: %s:%d: %s\n", __FILE__, __LINE__, #c); \
	abort(); } } while (0)

#endif
