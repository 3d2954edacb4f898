/*
 * swapio.c - a swap-in the disk fails kills only the process that needed
 * the page: a child whose working set is larger than RAM faults its pages
 * back from swap until one read fails (the harness's swapio boot says
 * swap.fail_read=N: the Nth page read from the disk fails), and dies with
 * reason=swap-io, never running on with wrong data; its parent (its
 * pages in RAM or in swap, as reclaim left them) reads every word back right, every
 * slot comes back, and a second child then swaps through the same disk
 * and finishes correct. Without a disk it skips; with one but no failed
 * read (no swap.fail_read), it says so and skips (docs/swap.md).
 */
#include "ktap.h"

#define MIB (1024UL * 1024)

static struct strata_meminfo m0, m1;

/* A child that writes and checks bytes of its own set: its wait status. */
static int child_churn(unsigned long bytes, unsigned long who)
{
	long pid = fork();
	if (pid == 0) {
		volatile unsigned long *q = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		exit(is_err((long)q) || workset_churn(q, bytes, who) ? 1 : 0);
	}
	int status = -1;
	if (pid < 0 || wait(pid, &status) != pid)
		return -1;
	return status;
}

static void t_read_error_kills_only_the_faulter(void)
{
	meminfo(&m0);
	if (!m0.swap_kib) {
		ktap_skip_case("no swap area on this machine (the harness's swapio boot has one)");
		return;
	}
	unsigned long small = 2 * MIB;
	unsigned long room = (m0.limit_kib - m0.committed_kib) * 1024 - small - 2 * MIB;
	unsigned long big = m0.free_kib * 3 / 2 * 1024;
	if (big > room)
		big = room;
	if (big > m0.swap_kib * 1024 / 2)
		big = m0.swap_kib * 1024 / 2;
	big &= ~(PAGE_SIZE - 1);
	if (big <= m0.free_kib * 1024) {
		ktap_skip_case("swap or the process limit too small for a set larger than RAM");
		return;
	}
	printf("# parent %lu KiB, child %lu KiB, free RAM %lu KiB, swap %lu KiB\n", small / 1024, big / 1024,
	       m0.free_kib, m0.swap_kib);
	volatile unsigned long *p = workset_map(small, 1);
	T_EXPECT(p != 0);
	if (!p)
		return;

	int status = child_churn(big, 2);
	meminfo(&m1);
	if (status == 0 && m1.swap_errors == m0.swap_errors) {
		ktap_skip_case("no swap read failed (the harness's swapio boot sets swap.fail_read)");
		munmap((void *)p, small);
		return;
	}
	T_EQ(STRATA_KILL_REASON(status), KILL_SWAP_IO);
	T_EQ(m1.swap_errors - m0.swap_errors, 1);
	printf("# the child died with reason=swap-io; %lu page(s) of the parent in swap\n", m1.swapped_kib / 4);

	T_EQ(workset_wrong(p, small, 1), 0);                                   /* the parent's pages came back right */
	T_EQ(munmap((void *)p, small), 0);
	meminfo(&m1);
	T_EQ(m1.swap_used_kib - m1.swap_kept_kib, m0.swap_used_kib - m0.swap_kept_kib);       /* the dead child's slots too */

	/* The kernel and the disk go on: the same working set again, through swap, all right. */
	T_EQ(child_churn(big, 3), 0);
	struct strata_meminfo m2;
	meminfo(&m2);
	printf("# a second child: %lu pages out, %lu in\n", m2.swap_out - m1.swap_out, m2.swap_in - m1.swap_in);
	T_EXPECT(m2.swap_in > m1.swap_in);
	T_EQ(m2.swap_used_kib - m2.swap_kept_kib, m0.swap_used_kib - m0.swap_kept_kib);
	T_EQ(m2.swap_errors, m1.swap_errors);
}

static const struct ktap_case cases[] = {
	{ "read_error_kills_only_the_faulter", t_read_error_kills_only_the_faulter },
};

int main(void)
{
	return ktap_run(cases, ARRAY_SIZE(cases));
}
