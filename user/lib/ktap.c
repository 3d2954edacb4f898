/* ktap.c - KTAP results: numbered lines after a plan, and the exit code. */
#include "ktap.h"

static int ktap_n;              /* results printed so far */
static int ktap_bad;            /* results that were "not ok" */
static char reason[160];        /* the current case's first failure */
static int failed, skipped;
static char skip_why[96];

void ktap_plan(int n)
{
	printf("KTAP version 1\n1..%d\n", n);
}

void ktap_result(int ok, const char *name, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	ktap_n++;
	if (ok) {
		printf("ok %d %s\n", ktap_n, name);
		return;
	}
	ktap_bad++;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	printf("not ok %d %s # %s\n", ktap_n, name, why);
}

void ktap_skip(const char *name, const char *why)
{
	printf("ok %d %s # SKIP %s\n", ++ktap_n, name, why);
}

int ktap_done(void)
{
	return ktap_bad ? 1 : 0;
}

void ktap_fail(const char *fmt, ...)
{
	va_list ap;

	if (failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
}

void ktap_skip_case(const char *why)
{
	skipped = 1;
	snprintf(skip_why, sizeof(skip_why), "%s", why);
}

int ktap_failed(void)
{
	return failed;
}

int ktap_run(const struct ktap_case *cases, int n)
{
	ktap_plan(n);
	for (int i = 0; i < n; i++) {
		failed = skipped = 0;
		cases[i].run();
		if (failed)
			ktap_result(0, cases[i].name, "%s", reason);
		else if (skipped)
			ktap_skip(cases[i].name, skip_why);
		else
			ktap_result(1, cases[i].name, "%s", "");
	}
	return ktap_done();
}
