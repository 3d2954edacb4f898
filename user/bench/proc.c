/*
 * proc.c - /bench/proc: what processes cost, timed from ring 3 with the
 * TSC. One BENCH line each (the format of bench/bench.h):
 *   proc_syscall     getpid, a system call's round trip
 *   proc_fault       the first touch of a demand-zero page
 *   proc_mmap_1m     mmap 1 MiB, touch each page, munmap
 *   proc_switch      one switch between two processes that yield in turn
 *   proc_spawn_exit  spawn /bench/yielder 0, wait for it
 * Under TCG with -icount the TSC counts guest instructions, so the cycles
 * are instructions; under this host's KVM (kvm-pvm) ring 3 runs natively
 * and every ring-0 instruction is emulated: the harness says which mode.
 */
#include "strata.h"

#define PAGE 4096UL

static void bench_syscall(void)
{
	const unsigned long n = 2000;
	getpid();
	unsigned long t = bench_rdtsc();
	for (unsigned long i = 0; i < n; i++)
		getpid();
	bench_report("proc_syscall", n, bench_rdtsc() - t);
}

static int bench_fault(void)
{
	const unsigned long pages = 256;
	volatile char *p = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err((long)p))
		return 1;
	unsigned long t = bench_rdtsc();
	for (unsigned long i = 0; i < pages; i++)
		p[i * PAGE] = 1;
	bench_report("proc_fault", pages, bench_rdtsc() - t);
	return munmap((void *)p, pages * PAGE) != 0;
}

static int bench_mmap(void)
{
	const unsigned long n = 16, len = 1UL << 20;
	unsigned long t = bench_rdtsc();
	for (unsigned long k = 0; k < n; k++) {
		volatile char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (is_err((long)p))
			return 1;
		for (unsigned long i = 0; i < len; i += PAGE)
			p[i] = 1;
		if (munmap((void *)p, len))
			return 1;
	}
	bench_report("proc_mmap_1m", n, bench_rdtsc() - t);
	return 0;
}

/* Two processes yielding in turn: each yield is a switch away and one back. */
static int bench_switch(void)
{
	const unsigned long n = 500;
	char count[16];
	snprintf(count, sizeof(count), "%lu", n + 10);
	char *argv[] = { "/bench/yielder", count, 0 };
	long pid = spawn(argv[0], argv);
	if (pid < 0)
		return 1;
	yield();
	unsigned long t = bench_rdtsc();
	for (unsigned long i = 0; i < n; i++)
		yield();
	unsigned long c = bench_rdtsc() - t;
	int st;
	if (wait(pid, &st) != pid || st)
		return 1;
	bench_report("proc_switch", 2 * n, c);
	return 0;
}

static int bench_spawn(void)
{
	const unsigned long n = 50;
	char *argv[] = { "/bench/yielder", "0", 0 };
	unsigned long t = bench_rdtsc();
	for (unsigned long i = 0; i < n; i++) {
		int st;
		long pid = spawn(argv[0], argv);
		if (pid < 0 || wait(pid, &st) != pid || st)
			return 1;
	}
	bench_report("proc_spawn_exit", n, bench_rdtsc() - t);
	return 0;
}

int main(void)
{
	struct strata_meminfo m;
	if (meminfo(&m))
		return 1;
	bench_set_khz(m.tsc_khz);
	bench_syscall();
	return bench_fault() | bench_mmap() | bench_switch() | bench_spawn();
}
