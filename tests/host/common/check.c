#include "check.h"
#include "fake_arch.h"

int check_failed_in_test;

static uint64_t rnd_state = 1;

uint64_t rnd(void) { return rnd_next(&rnd_state); }
void rnd_seed(uint64_t seed) { rnd_state = seed * 0x9E3779B97F4A7C15ULL | 1; }
int check_tests_run, check_tests_failed;

void check_run(const char *name, void (*fn)(void))
{
	check_failed_in_test = 0;
	fn();
	check_tests_run++;
	if (check_failed_in_test)
		check_tests_failed++;
	fake_console_end_line();
	printf("%s %d %s\n", check_failed_in_test ? "not ok" : "ok", check_tests_run, name);
	fflush(stdout);
}

int check_finish(void)
{
	fake_console_end_line();
	printf("1..%d\n# %d passed, %d failed\n", check_tests_run,
	       check_tests_run - check_tests_failed, check_tests_failed);
	return check_tests_failed ? 1 : 0;
}
