/* The paging layer's host tests: see fixture.h for the shared pieces. */
#include "fixture.h"

int main(void)
{
	RUN(test_encoding);
	RUN(test_errors);
	RUN(test_errors_la57);
	RUN(test_fail_injection);
	RUN(test_split);
	RUN(test_one_page_edits);
	RUN(test_replace);
	RUN(test_swap_entries);
	RUN(test_accessed_bit);
	RUN(test_tlb);
	RUN(test_pcid);
	RUN(test_tlb_model);
	RUN(test_replace_flush);
	RUN(test_free_after_early_flush);
	RUN(test_shootdown_user);
	RUN(test_shootdown_kernel_half);
	RUN(test_shootdown_frees_after);
	RUN(test_shootdown_pcid);
	RUN(test_pcid_kernel_tables);
	RUN(test_wx);
	RUN(test_hhdm_wx);
	RUN(test_corrupt_table);
	RUN(test_walk_dump);
	RUN(test_kernel_build);
	RUN(test_kernel_build_la57);
	RUN(test_kernel_half_shared);
	RUN(test_cpu_online);
	RUN(test_model_4level);
	RUN(test_model_5level);
	RUN(test_model_no_1g_no_nx);
	fake_ram_free();
	return check_finish();
}
