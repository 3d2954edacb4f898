/*
 * swap.c - a working set larger than RAM, through swap: this process and
 * a child each write a distinct pattern into as much memory as the two
 * together need for about three times the free RAM (each within the
 * per-process limit), then read it all back and check every byte. With
 * too little RAM for both, the reclaimer must write pages out and the
 * faults read them back: meminfo's swap counters prove it. After the
 * child exits and the parent frees its memory, no slot is left in use.
 * And with RAM and swap together too small, the out-of-memory path kills
 * the largest process, not a bystander. Each case runs where the machine
 * allows it (a swap at least twice the free RAM, or too small for what a
 * process may take), and skips elsewhere: the harness's two swap boots
 * give one machine of each (docs/swap.md).
 */
#include "ktap.h"

#define MIB (1024UL * 1024)

static struct strata_meminfo m0, m1;

static void t_working_set_larger_than_ram(void)
{
	meminfo(&m0);
	if (!m0.swap_kib) {
		ktap_skip_case("no swap area on this machine (the harness's swap boot has one)");
		return;
	}
	if (m0.swap_kib < 2 * m0.free_kib) {
		ktap_skip_case("swap smaller than twice the free RAM: the working set would not fit");
		return;
	}
	/* Each of the two takes half of three times the free RAM, within the limit and the swap. */
	unsigned long want = m0.free_kib * 3 / 2 * 1024;
	unsigned long room = (m0.limit_kib - m0.committed_kib) * 1024 - 2 * MIB;
	unsigned long each = want < room ? want : room;
	if (each > m0.swap_kib * 1024 / 2)
		each = m0.swap_kib * 1024 / 2;
	each &= ~(PAGE_SIZE - 1);
	printf("# working set: 2 x %lu KiB, free RAM %lu KiB, swap %lu KiB\n", each / 1024, m0.free_kib,
	       m0.swap_kib);
	T_EXPECT(2 * each > m0.free_kib * 1024);        /* more than RAM: swap must be used */
	volatile unsigned long *p = mmap(0, each, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	long pid = fork();
	if (pid == 0)
		exit(workset_churn(p, each, 2) ? 1 : 0);
	T_EXPECT(pid > 0);
	T_EQ(workset_churn(p, each, 1), 0);
	ps();                   /* the process table's swapped column: pages of these two in swap now */
	int status = -1;
	T_EQ(wait(pid, &status), pid);
	T_EQ(status, 0);                                 /* the child's every word right too */
	meminfo(&m1);
	printf("# swap out %lu, in %lu pages\n", m1.swap_out - m0.swap_out, m1.swap_in - m0.swap_in);
	T_EXPECT(m1.swap_out > m0.swap_out);
	T_EXPECT(m1.swap_in > m0.swap_in);
	T_EQ(munmap((void *)p, each), 0);
	meminfo(&m1);
	T_EQ(m1.swapped_kib, 0);
	T_EQ(m1.swap_used_kib - m1.swap_kept_kib, m0.swap_used_kib - m0.swap_kept_kib);        /* every slot back */
}

/*
 * RAM and swap together too small: a child far larger than its parent
 * fills both, and the out-of-memory path kills the process with the
 * largest resident set, the child (reason=oom); the parent's memory comes
 * through intact, and every slot and frame comes back.
 */
static void t_full_swap_kills_the_largest(void)
{
	meminfo(&m0);
	if (!m0.swap_kib) {
		ktap_skip_case("no swap area on this machine (the harness's swap boot has one)");
		return;
	}
	unsigned long room = (m0.limit_kib - m0.committed_kib) * 1024 - 2 * MIB;
	unsigned long small = 2 * MIB, big = room & ~(PAGE_SIZE - 1);
	if ((m0.free_kib + m0.swap_kib) * 1024 > small + big) {
		ktap_skip_case("RAM and swap hold what a process may take: nothing can run out");
		return;
	}
	printf("# parent %lu KiB, child %lu KiB, free RAM %lu KiB, swap %lu KiB\n", small / 1024, big / 1024,
	       m0.free_kib, m0.swap_kib);
	volatile unsigned long *p = workset_map(small, 1);
	T_EXPECT(p != 0);
	if (!p)
		return;
	long pid = fork();
	if (pid == 0) {
		volatile unsigned long *q = mmap(0, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		exit(is_err((long)q) || workset_churn(q, big, 2) ? 1 : 0);     /* killed long before the end */
	}
	int status = -1;
	T_EQ(wait(pid, &status), pid);
	T_EQ(STRATA_KILL_REASON(status), KILL_OOM);
	T_EQ(workset_wrong(p, small, 1), 0);
	T_EQ(munmap((void *)p, small), 0);
	meminfo(&m1);
	T_EQ(m1.swap_used_kib - m1.swap_kept_kib, m0.swap_used_kib - m0.swap_kept_kib);
}

static const struct ktap_case cases[] = {
	{ "working_set_larger_than_ram", t_working_set_larger_than_ram },
	{ "full_swap_kills_the_largest", t_full_swap_kills_the_largest },
};

int main(void)
{
	return ktap_run(cases, ARRAY_SIZE(cases));
}
