/*
 * ktap.h - a test program's report in KTAP: the plan, then one result
 * line per case. A case is a function; T_EXPECT and T_EQ inside it keep
 * the first failure, which becomes the "not ok" line's reason.
 */
#ifndef STRATA_USER_KTAP_H
#define STRATA_USER_KTAP_H

#include "strata.h"

struct ktap_case {
	const char *name;
	void (*run)(void);
};

void ktap_plan(int n);
void ktap_result(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ktap_skip(const char *name, const char *why);
int ktap_done(void);

/* Plan, run every case and report it; returns ktap_done(). */
int ktap_run(const struct ktap_case *cases, int n);

/* Inside a case run by ktap_run: note a failure (the first one is kept), or skip. */
void ktap_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ktap_skip_case(const char *why);
int ktap_failed(void);

#define T_EXPECT(cond) do { \
	if (!(cond)) \
		ktap_fail("line %d: %s", __LINE__, #cond); \
} while (0)

/* a == b as longs; the reason shows both values. */
#define T_EQ(a, b) do { \
	long t_a_ = (long)(a), t_b_ = (long)(b); \
	if (t_a_ != t_b_) \
		ktap_fail("line %d: %s == %s: got %ld (0x%lx), want %ld (0x%lx)", \
			  __LINE__, #a, #b, t_a_, t_a_, t_b_, t_b_); \
} while (0)

#define ARRAY_SIZE(a) ((int)(sizeof(a) / sizeof((a)[0])))

#endif
