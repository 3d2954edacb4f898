/*
 * grade.c - the buddy layer's own host tests that any PMM behind buddy.h
 * must pass, run against exercises/bitmap_pmm/ (make exercise-bitmap-pmm).
 * Left out, because they test the buddy's insides or its exact numbers:
 * the free maps (freemap_test.c), the per-CPU caches (pcp_test.c,
 * test_pcp, test_trace), the records (invariant_test.c), hot-add
 * (hotadd_test.c), the metadata sizes (test_init_small,
 * test_init_seabios_4g, test_report), the fuzzed boots (test_init_fuzz) and the error strings (test_error_str,
 * in invariant_test.c with the record tests).
 *
 * test_misuse frees an order-2 block a with order 3: where a sits decides
 * the answer (not order-3 aligned: PMM_E_MISALIGNED, as the buddy's
 * 0x5004000; aligned, as a first-fit PMM's 16 MiB: PMM_E_WRONG_ORDER),
 * and the test expects what buddy.h says for where a is.
 */
#include "fixture.h"

int main(void)
{
	fake_ram_init(1 << 20);
	RUN(test_sanitize_cases);
	RUN(test_sanitize_thousands);
	RUN(test_sanitize_truncates);
	RUN(test_sanitize_fuzz);
	RUN(test_init_no_ram);
	RUN(test_init_too_little);
	RUN(test_misuse);
	RUN(test_zero);
	RUN(test_refcount);
	RUN(test_free_shared);
	RUN(test_fail_nth);
	RUN(test_aligned);
	RUN(test_zone_flags);
	RUN(test_exhaust);
	RUN(test_release);
	RUN(test_model);
	fake_ram_free();
	return check_finish();
}
