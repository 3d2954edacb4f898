/*
 * ktest.c - runs the registered self-tests and prints KTAP version 1.
 *
 * Suites are nested KTAP documents: one top-level result per suite, one
 * indented result per test. After each test the registered counters are
 * read again; a difference is reported as a leak and fails the test.
 */
#include "kernel/ktest.h"
#include "kernel/cmdline.h"
#include "arch/x86_64/trap.h"
#include "lib/kstring.h"

extern const struct ktest ktests_start[], ktests_end[];

#define MAX_COUNTERS 8
#define MAX_SUITES 64
#define FAIL_SUITE "selftest_fail"
#define PANIC_SUITE "smp_panic"     /* ends the run with a panic on CPU 1: only when asked */

#define MAX_EXT 4
static struct { const char *name; int (*run)(unsigned index); } ext[MAX_EXT];
static unsigned next_ext;

static struct ktest_counter counters[MAX_COUNTERS];
static unsigned ncounters;
static int failed, skipped;
static char reason[160];
static unsigned nproblems;
static char problem[160];

void ktest_register_counter(const char *name, uint64_t (*read)(void))
{
	if (ncounters < MAX_COUNTERS)
		counters[ncounters++] = (struct ktest_counter){ name, read };
}

/*
 * KTAP text after " # " is free, but the readers look for directives in it:
 * kunit.py takes any " # SKIP" on a result line as a skip, TAP::Parser a
 * SKIP or TODO word after the first "#". So a reason holds no '#' (each is
 * dropped) and no line end or tab, and one that starts with skip or todo in
 * any case gets "reason: " in front. A name holds no '#' either: kunit.py reads a name up to
 * the first one.
 */
/* s starts with w, in any case (w in lower case). */
static int starts_with_ci(const char *s, const char *w)
{
	for (; *w; s++, w++)
		if ((*s | 0x20) != *w)
			return 0;
	return 1;
}

static void ktap_clean(char *s, size_t size, int is_reason)
{
	static const char prefix[] = "reason: ";
	char *d = s;
	for (const char *p = s; *p; p++)
		if (*p != '#')
			*d++ = *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p;
	*d = '\0';
	if (!is_reason)
		return;
	const char *t = s;
	while (*t == ' ')
		t++;
	if (!starts_with_ci(t, "skip") && !starts_with_ci(t, "todo"))
		return;
	size_t n = strlen(s), k = sizeof(prefix) - 1;
	if (n + k >= size)
		n = size - 1 - k;
	memmove(s + k, s, n);
	memcpy(s, prefix, k);
	s[n + k] = '\0';
}

void ktest_report(int nested, unsigned n, const char *name, int status, const char *why)
{
	char nm[64], r[sizeof(reason)];
	ksnprintf(nm, sizeof(nm), "%s", name);
	ktap_clean(nm, sizeof(nm), 0);
	ksnprintf(r, sizeof(r), "%s", why ? why : "");
	ktap_clean(r, sizeof(r), 1);
	const char *in = nested ? "    " : "";
	if (status == KTEST_SKIP)
		kprintf("%sok %u %s # SKIP %s\n", in, n, nm, r);
	else if (status == KTEST_FAIL && r[0])
		kprintf("%snot ok %u %s # %s\n", in, n, nm, r);
	else
		kprintf("%s%s %u %s\n", in, status == KTEST_FAIL ? "not ok" : "ok", n, nm);
}

void ktest_fail(const char *file, int line, const char *what)
{
	kprintf("    # %s:%d: %s\n", file, line, what);
	if (!failed)
		ksnprintf(reason, sizeof(reason), "%s:%d: %s", file, line, what);
	failed = 1;
}

int ktest_failed(void) { return failed; }

void ktest_skip(const char *why)
{
	if (!failed && !skipped)
		ksnprintf(reason, sizeof(reason), "%s", why);
	skipped = 1;
}

void ktest_problem(const char *what)
{
	if (!nproblems++)
		ksnprintf(problem, sizeof(problem), "%s", what);
}

int ktest_expect_fault(unsigned vector, void (*fn)(void *), void *arg, struct fault_info *f)
{
	struct kjmp buf;
	struct caught_fault c = { 0 };
	if (kjmp_set(&buf) == 0) {
		trap_catch_arm(vector, &buf, &c);
		fn(arg);
		trap_catch_disarm();
		return 0;
	}
	*f = (struct fault_info){ c.vector, c.error_code, c.cr2, c.rip };
	return 1;
}

/* The suite of a deliberately failing test runs only when asked for. */
static int suite_selected(const char *suite)
{
	char want[4];
	if (!strcmp(suite, FAIL_SUITE))
		return cmdline_int("ktest.fail", 0) == 1;
	if (!strcmp(suite, PANIC_SUITE))
		return cmdline_int("ktest.smp_panic", 0) == 1;
	if (cmdline_get("ktest", want, sizeof(want)))
		return cmdline_is("ktest", suite);
	return 1;
}

void ktest_add_suite(const char *name, int (*run)(unsigned index))
{
	if (next_ext < MAX_EXT)
		ext[next_ext].name = name, ext[next_ext++].run = run;
}

/*
 * The distinct suites in the order written, then those added at run time;
 * only the selected ones if `selected`.
 */
static unsigned collect_suites(const char **suites, int selected)
{
	unsigned n = 0;
	for (const struct ktest *t = ktests_start; t < ktests_end; t++) {
		unsigned i;
		for (i = 0; i < n && strcmp(suites[i], t->suite); i++)
			;
		if (i == n && n < MAX_SUITES && (!selected || suite_selected(t->suite)))
			suites[n++] = t->suite;
	}
	for (unsigned e = 0; e < next_ext; e++)
		if (n < MAX_SUITES && (!selected || suite_selected(ext[e].name)))
			suites[n++] = ext[e].name;
	return n;
}

static unsigned collect_all(const char **suites) { return collect_suites(suites, 0); }

static void check_counters(const uint64_t *before)
{
	for (unsigned i = 0; i < ncounters; i++) {
		uint64_t now = counters[i].read();
		if (now != before[i]) {
			char what[96];
			ksnprintf(what, sizeof(what), "leak check: %s was %lu, now %lu",
				  counters[i].name, before[i], now);
			ktest_fail("ktest", 0, what);
		}
	}
}

static int run_one(const struct ktest *t, unsigned n)
{
	uint64_t before[MAX_COUNTERS];
	for (unsigned i = 0; i < ncounters; i++)
		before[i] = counters[i].read();
	failed = skipped = 0;
	reason[0] = '\0';
	t->fn();
	check_counters(before);
	ktest_report(1, n, t->name, failed ? KTEST_FAIL : skipped ? KTEST_SKIP : KTEST_PASS, reason);
	return !failed;
}

static int run_suite(const char *suite, unsigned index)
{
	for (unsigned e = 0; e < next_ext; e++)
		if (!strcmp(ext[e].name, suite))
			return ext[e].run(index);
	unsigned count = 0, n = 0, passed = 0;
	char name[64];          /* as the result line will spell it: kunit.py matches the two */
	for (const struct ktest *t = ktests_start; t < ktests_end; t++)
		count += !strcmp(t->suite, suite);
	ksnprintf(name, sizeof(name), "%s", suite);
	ktap_clean(name, sizeof(name), 0);
	kprintf("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", name, count);
	for (const struct ktest *t = ktests_start; t < ktests_end; t++)
		if (!strcmp(t->suite, suite))
			passed += run_one(t, ++n);
	ktest_report(0, index, suite, passed == count ? KTEST_PASS : KTEST_FAIL, NULL);
	return passed == count;
}

/*
 * A ktest= that names no suite is a mistake in the command line: say so and
 * which suites exist. A run that selects nothing at all is a problem too.
 */
static void check_selection(unsigned n)
{
	const char *all[MAX_SUITES];
	unsigned k = collect_all(all), i;
	char want[64];

	if (cmdline_get("ktest", want, sizeof(want))) {
		for (i = 0; i < k && !cmdline_is("ktest", all[i]); i++)
			;
		if (i == k) {
			kprintf("ktest: ktest=%s names no suite; the suites are:", want);
			for (i = 0; i < k; i++)
				kprintf(" %s", all[i]);
			kprintf("\n");
			char what[96];
			ksnprintf(what, sizeof(what), "ktest=%s names no suite", want);
			ktest_problem(what);
			return;
		}
	}
	if (!n) {
		kprintf("ktest: no test selected\n");
		ktest_problem("no test selected");
	}
}

int ktest_run_all(void)
{
	const char *suites[MAX_SUITES];
	unsigned n = collect_suites(suites, 1), ok = 0;
	check_selection(n);
	kprintf("KTAP version 1\n1..%u\n", n + (nproblems > 0));
	for (unsigned i = 0; i < n; i++)
		ok += run_suite(suites[i], i + 1);
	kprintf("# ktest: %u of %u suites passed\n", ok, n);
	if (nproblems) {
		char why[sizeof(problem) + 24];
		ksnprintf(why, sizeof(why), "%s%s", problem,
			  nproblems > 1 ? " (and more: see above)" : "");
		ktest_report(0, n + 1, "boot_problems", KTEST_FAIL, why);
	}
	return ok == n && !nproblems;
}

/* What a reason and a name become on a result line (ktap_clean). */
KTEST(ktest, ktap_text_has_no_directive)
{
	char s[48];
	ksnprintf(s, sizeof(s), "x.c:1: a # SKIP b #");
	ktap_clean(s, sizeof(s), 1);
	KT_EXPECT(!strcmp(s, "x.c:1: a  SKIP b "));
	ksnprintf(s, sizeof(s), " Skip\nme");
	ktap_clean(s, sizeof(s), 1);
	KT_EXPECT(!strcmp(s, "reason:  Skip me"));
	ksnprintf(s, sizeof(s), "todo");
	ktap_clean(s, sizeof(s), 1);
	KT_EXPECT(!strcmp(s, "reason: todo"));
	ksnprintf(s, sizeof(s), "skipped_name#2");
	ktap_clean(s, sizeof(s), 0);
	KT_EXPECT(!strcmp(s, "skipped_name2"));
	char t[12] = "SKIP 123456";         /* no room: cut at the end, the prefix kept */
	ktap_clean(t, sizeof(t), 1);
	KT_EXPECT(!strcmp(t, "reason: SKI"));
}

/*
 * Built to fail like selftest_fail's other test, with a reason that would
 * read as a skip if printed as it is: the harness's selftest boot checks
 * that it still reads as a failure.
 */
KTEST(selftest_fail, reason_like_a_skip)
{
	ktest_fail("ktest", 0, "# SKIP # TODO: a failure all the same");
}
