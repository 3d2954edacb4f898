/* The buddy layer's host tests: see fixture.h for what each file covers. */
#include "fixture.h"

int main(void)
{
	fake_ram_init(1 << 20);
	RUN(test_sanitize_cases);
	RUN(test_sanitize_thousands);
	RUN(test_sanitize_truncates);
	RUN(test_sanitize_fuzz);
	RUN(test_init_small);
	RUN(test_init_seabios_4g);
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
	RUN(test_pcp);
	RUN(test_trace);
	RUN(test_pcp_drain_on_failure);
	RUN(test_pcp_fast_and_full);
	RUN(test_pcp_drain_for_order);
	RUN(test_pcp_drain_other_cpus);
	RUN(test_pcp_windows_merge);
	RUN(test_freemap_model);
	RUN(test_report);
	RUN(test_hotadd);
	RUN(test_hotadd_seam);
	RUN(test_model);
	RUN(test_write_after_free_harmless);
	RUN(test_panic_map_lost_block);
	RUN(test_panic_buddy_disagrees);
	RUN(test_panic_cached_twice);
	RUN(test_panic_list_record);
	RUN(test_error_str);
	RUN(test_init_fuzz);
	fake_ram_free();
	return check_finish();
}
