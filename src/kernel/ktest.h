/*
 * ktest.h - in-kernel self-tests, reported as KTAP on the serial port.
 *
 * A test is a function registered with KTEST(suite, name); the linker
 * gathers them in the .ktests section and mode=test runs them suite by
 * suite. A failed KT_ASSERT marks the test failed and returns from it.
 * After every test the runner checks that no frame and no heap object was
 * lost, so each test must give back what it takes.
 */
#ifndef STRATA_KERNEL_KTEST_H
#define STRATA_KERNEL_KTEST_H

#include <stdint.h>
#include "lib/kprintf.h"

struct ktest {
	const char *suite;
	const char *name;
	void (*fn)(void);
};

#define KTEST(suite_, name_) \
	static void ktest_##suite_##_##name_(void); \
	static const struct ktest ktest_rec_##suite_##_##name_ \
		__attribute__((section(".ktests"), used, aligned(8))) = \
		{ #suite_, #name_, ktest_##suite_##_##name_ }; \
	static void ktest_##suite_##_##name_(void)

void ktest_fail(const char *file, int line, const char *what);
int ktest_failed(void);

#define KT_ASSERT(c) do { if (!(c)) { ktest_fail(__FILE__, __LINE__, #c); return; } } while (0)
#define KT_EXPECT(c) do { if (!(c)) ktest_fail(__FILE__, __LINE__, #c); } while (0)

/*
 * This machine lacks what the test needs (a feature, enough RAM, a 2 MiB
 * window of RAM): end the test as "ok N name # SKIP why". Decide from what
 * the machine reports, never skip to hide a failure; a test that already
 * failed stays failed.
 */
void ktest_skip(const char *why);
#define KT_SKIP(why) do { ktest_skip(why); return; } while (0)

/*
 * Print one KTAP result line, nested (indented one level) or top-level:
 * "ok N name", "ok N name # SKIP why" or "not ok N name # why" (no " # "
 * part if why is NULL or empty). '#' and line ends are taken out of name and
 * why, and a why starting with SKIP or TODO gets "reason: " in front, so
 * no reader sees a directive that was not meant.
 */
enum { KTEST_PASS, KTEST_FAIL, KTEST_SKIP };
void ktest_report(int nested, unsigned n, const char *name, int status, const char *why);

/*
 * Run fn(arg) expecting a CPU exception. Returns 1 and fills *f if the
 * exception fn raised had the given vector; 0 if fn returned normally. A
 * fault with another vector is not caught: it is a real failure.
 */
struct fault_info {
	unsigned vector;
	uint64_t error_code;
	uint64_t cr2;
	uint64_t rip;
};
int ktest_expect_fault(unsigned vector, void (*fn)(void *), void *arg, struct fault_info *f);

/*
 * Leak accounting: each layer registers a counter of what it has handed
 * out (free frames, live heap objects); the runner compares them before
 * and after every test.
 */
struct ktest_counter {
	const char *name;
	uint64_t (*read)(void);
};
void ktest_register_counter(const char *name, uint64_t (*read)(void));

/*
 * Something outside any test that makes a mode=test run untrustworthy (a
 * command line cut or malformed, boot modules not recorded): the caller
 * says what on the console; this keeps the first reason and makes the run
 * end with one more result, "not ok N boot_problems # <what>".
 */
void ktest_problem(const char *what);

/*
 * A suite whose cases are known only at run time (the user suite: one case
 * per test program in the ramdisk). run prints the suite's nested KTAP
 * document and its top-level result line as suite number index, and
 * returns 1 if it passed. It is selected by ktest= like any other.
 */
void ktest_add_suite(const char *name, int (*run)(unsigned index));

/*
 * mode=test: every selected suite, as KTAP. Returns 1 if all passed, 0 if
 * any failed, if a problem was noted, or if no test ran at all (a ktest=
 * filter that names no suite is reported as such).
 */
int ktest_run_all(void);

#endif
