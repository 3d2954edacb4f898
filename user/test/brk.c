/*
 * brk.c - the program break: where it starts, growing and shrinking it,
 * what new heap pages hold and what they cost in faults, and its errors.
 */
#include "ktap.h"

static char bss_var[3 * 4096];          /* the break starts above it */
static char *start;                     /* the break at main */
static struct strata_meminfo m0, m1;

static int all_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static void t_initial(void)
{
	T_EQ((unsigned long)start % PAGE_SIZE, 0);
	T_EXPECT(start >= bss_var + sizeof(bss_var));
	T_EXPECT((unsigned long)start < STRATA_MMAP_BASE);
	T_EXPECT((unsigned long)start > STRATA_TEXT_BASE);
	T_EQ(m0.brk, (unsigned long)start);
	T_EQ(brk(0), start);
}

static void t_grow(void)
{
	meminfo(&m0);
	T_EQ(brk(start + 3 * PAGE_SIZE), start + 3 * PAGE_SIZE);
	meminfo(&m1);
	T_EQ(brk(0), start + 3 * PAGE_SIZE);
	T_EQ(m1.brk, (unsigned long)start + 3 * PAGE_SIZE);
	T_EQ(m1.committed_kib - m0.committed_kib, 12);
	T_EQ(m1.resident_kib, m0.resident_kib);          /* taken on first touch */
	T_EQ(m1.faults, m0.faults);
	/* First touches are writes: one fault each. */
	start[0] = 1;
	start[PAGE_SIZE + 7] = 2;
	start[3 * PAGE_SIZE - 1] = 3;
	meminfo(&m0);
	T_EQ(m0.faults - m1.faults, 3);
	T_EQ(m0.resident_kib - m1.resident_kib, 12);
	T_EXPECT(all_zero(start + 1, PAGE_SIZE + 6));
	T_EXPECT(all_zero(start + PAGE_SIZE + 8, 2 * PAGE_SIZE - 9));
	T_EQ(start[3 * PAGE_SIZE - 1], 3);
}

static void t_shrink(void)
{
	meminfo(&m0);
	T_EQ(brk(start), start);
	meminfo(&m1);
	T_EQ(brk(0), start);
	T_EQ(m1.brk, (unsigned long)start);
	T_EQ(m0.resident_kib - m1.resident_kib, 12);
	T_EQ(m0.committed_kib - m1.committed_kib, 12);
	T_EQ(write(1, start, 1), -EFAULT);                      /* gone */
	T_EQ(write(1, start + 2 * PAGE_SIZE, 1), -EFAULT);
}

static void t_regrow_zero(void)
{
	T_EQ(brk(start + 3 * PAGE_SIZE), start + 3 * PAGE_SIZE);
	T_EXPECT(all_zero(start, 3 * PAGE_SIZE));               /* the old data is gone */
	T_EQ(brk(start + PAGE_SIZE), start + PAGE_SIZE);        /* a partial shrink */
	T_EQ(start[0], 0);
	T_EQ(write(1, start + PAGE_SIZE, 1), -EFAULT);
	T_EQ(brk(start), start);
}

static void t_past_limit(void)
{
	meminfo(&m0);
	char *want = start + m0.limit_kib * 1024 + PAGE_SIZE;
	T_EQ(brk(want), -ENOMEM);
	T_EQ(brk(0), start);
	/* Exactly what is left under the limit works; one page more does not. */
	size_t left = (m0.limit_kib - m0.committed_kib) * 1024 / PAGE_SIZE * PAGE_SIZE;
	T_EQ(brk(start + left + PAGE_SIZE), -ENOMEM);
	T_EQ(brk(start + left), start + left);
	meminfo(&m1);
	T_EXPECT(m1.committed_kib <= m1.limit_kib);
	T_EXPECT(m1.limit_kib - m1.committed_kib < PAGE_SIZE / 1024);
	T_EQ(brk(start), start);
	T_EQ(brk(0), start);
}

static void t_einval(void)
{
	T_EQ(brk(start - PAGE_SIZE), -EINVAL);
	T_EQ(brk((void *)STRATA_TEXT_BASE), -EINVAL);
	T_EQ(brk(0), start);
	/* Into the mmap area and the kernel half: refused. */
	long r = (long)brk((void *)(STRATA_MMAP_BASE + PAGE_SIZE));
	T_EXPECT(r == -EINVAL || r == -ENOMEM);
	r = (long)brk((void *)0xffff800000000000UL);
	T_EXPECT(r == -EINVAL || r == -ENOMEM);
	T_EQ(brk(0), start);
}

static const struct ktap_case cases[] = {
	{ "initial_break", t_initial },
	{ "grow_3_pages", t_grow },
	{ "shrink", t_shrink },
	{ "regrow_reads_zero", t_regrow_zero },
	{ "past_limit_enomem", t_past_limit },
	{ "below_start_einval", t_einval },
};

int main(void)
{
	stack_touch(64);
	bss_var[0] = 1;
	start = brk(0);
	meminfo(&m0);
	meminfo(&m1);
	return ktap_run(cases, ARRAY_SIZE(cases));
}
