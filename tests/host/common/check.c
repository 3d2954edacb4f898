#include "check.h"

int check_failed_in_test;
int check_tests_run, check_tests_failed;

void check_run(const char *name, void (*fn)(void))
{
	check_failed_in_test = 0;
	fn();
	check_tests_run++;
	if (check_failed_in_test)
		check_tests_failed++;
	printf("%s %d %s\n", check_failed_in_test ? "not ok" : "ok", check_tests_run, name);
	fflush(stdout);
}

int check_finish(void)
{
	printf("1..%d\n# %d passed, %d failed\n", check_tests_run,
	       check_tests_run - check_tests_failed, check_tests_failed);
	return check_tests_failed ? 1 : 0;
}
