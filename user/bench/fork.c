/*
 * fork.c - /bench/fork: fork with copy-on-write as a program sees it,
 * timed from ring 3 with the TSC. One BENCH line each:
 *   proc_fork_wait_<n>m    fork() of a process with an n MiB buffer written,
 *                          the child exiting at once, and wait() for it:
 *                          one op is the pair (with the FORK and PROC
 *                          lines the kernel prints for them)
 *   proc_fork_copy_fault   a child writing every page of a 16 MiB buffer:
 *                          one copy-on-write copy a page, per page
 *   proc_fork_reuse_fault  the parent's writes after that child exited:
 *                          each frame its alone again, no copy, per page
 *   proc_fork_zero_fault   the first touch of demand-zero pages, the same
 *                          count, for scale
 * A process may hold PROC_LIMIT_KIB (32 MiB), program and stack included,
 * so a 64 MiB buffer does not fit: the largest case is the whole MiBs
 * that do, and the output says so. Under TCG with -icount the cycles are
 * guest instructions (see proc.c).
 */
#include "strata.h"

#define PAGE 4096UL
#define MIB (1UL << 20)
#define FAULT_MIB 16

static unsigned long khz;

/* bench.c's line with "key=value" pairs after it: the kernel's format (bench/bench.h). */
static void report(const char *name, unsigned long ops, unsigned long cycles, const char *extra)
{
	unsigned long c100 = cycles * 100 / ops;
	unsigned long ns100 = khz ? c100 * 1000000 / khz : 0;
	printf("BENCH name=%s ops=%lu ns_per_op=%lu.%02lu cycles_per_op=%lu.%02lu %s\n",
	       name, ops, ns100 / 100, ns100 % 100, c100 / 100, c100 % 100, extra);
}

/* A buffer of mib MiB with every page written, or NULL. */
static volatile char *buffer(unsigned long mib)
{
	volatile char *p = mmap(0, mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err((long)p))
		return 0;
	for (unsigned long i = 0; i < mib * MIB; i += PAGE)
		p[i] = 1;
	return p;
}

/* Cycles to write each page of n bytes from p. */
static unsigned long write_pages(volatile char *p, unsigned long n)
{
	unsigned long t = bench_rdtsc();
	for (unsigned long i = 0; i < n; i += PAGE)
		p[i] = 2;
	return bench_rdtsc() - t;
}

/* 0 if pid exits with 0. */
static int reap(long pid)
{
	int st = -1;
	return pid < 0 || wait(pid, &st) != pid || st;
}

static int bench_fork_wait(unsigned long mib, unsigned long runs)
{
	volatile char *p = buffer(mib);
	struct strata_meminfo m0, m1, m2;
	if (!p)
		return 1;
	/* One fork untimed, read right after it returns: what the two share. */
	long pid = fork();
	if (pid == 0)
		exit(0);
	meminfo(&m0);
	if (reap(pid))
		return 1;
	meminfo(&m1);
	unsigned long c = 0;
	for (unsigned long i = 0; i < runs; i++) {
		unsigned long t = bench_rdtsc();
		pid = fork();
		if (pid == 0)
			exit(0);
		if (reap(pid))
			return 1;
		c += bench_rdtsc() - t;
	}
	meminfo(&m2);
	char name[32], extra[160];
	snprintf(name, sizeof(name), "proc_fork_wait_%lum", mib);
	snprintf(extra, sizeof(extra), "buffer_kib=%lu resident_kib=%lu shared_kib_after_fork=%lu "
		 "cow_copied=%lu cow_reused=%lu", mib * 1024, m1.resident_kib, m0.shared_kib,
		 m2.cow_copied - m1.cow_copied, m2.cow_reused - m1.cow_reused);
	report(name, runs, c, extra);
	return munmap((void *)p, mib * MIB) != 0;
}

/* The child writes every page of a shared buffer, then the parent: copy, then take back. */
static int bench_first_write(void)
{
	const unsigned long n = FAULT_MIB * MIB, pages = n / PAGE;
	volatile char *p = buffer(FAULT_MIB);
	struct strata_meminfo m0, m1;
	char extra[96];
	if (!p)
		return 1;
	long pid = fork();
	if (pid == 0) {
		meminfo(&m0);           /* its own stack copy comes before the clock starts */
		unsigned long c = write_pages(p, n);
		meminfo(&m1);
		snprintf(extra, sizeof(extra), "cow_copied=%lu cow_reused=%lu",
			 m1.cow_copied - m0.cow_copied, m1.cow_reused - m0.cow_reused);
		report("proc_fork_copy_fault", pages, c, extra);
		exit(0);
	}
	if (reap(pid))
		return 1;
	meminfo(&m0);
	unsigned long c = write_pages(p, n);
	meminfo(&m1);
	snprintf(extra, sizeof(extra), "cow_copied=%lu cow_reused=%lu",
		 m1.cow_copied - m0.cow_copied, m1.cow_reused - m0.cow_reused);
	report("proc_fork_reuse_fault", pages, c, extra);
	if (munmap((void *)p, n))
		return 1;
	p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err((long)p))
		return 1;
	meminfo(&m0);
	c = write_pages(p, n);
	meminfo(&m1);
	snprintf(extra, sizeof(extra), "faults=%lu", m1.faults - m0.faults);
	report("proc_fork_zero_fault", pages, c, extra);
	return munmap((void *)p, n) != 0;
}

int main(void)
{
	struct strata_meminfo m;
	if (meminfo(&m))
		return 1;
	khz = m.tsc_khz;
	/* Whole MiBs under the limit, a MiB kept for the stack and what the heap may take. */
	unsigned long fit = (m.limit_kib - m.committed_kib) / 1024 - 1;
	unsigned long big = fit < 64 ? fit : 64;
	if (big < 64)
		printf("bench: fork: 64 MiB does not fit the %lu KiB limit (%lu KiB committed): "
		       "the largest case is %lu MiB\n", m.limit_kib, m.committed_kib, big);
	if (bench_fork_wait(1, 5) || bench_fork_wait(16, 3) || bench_fork_wait(big, 3))
		return 1;
	return bench_first_write();
}
