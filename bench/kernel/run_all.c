/* run_all.c - mode=bench: every layer's benchmarks, in layer order. */
#include "kernel/kernel.h"
#include "bench/bench.h"
#include "lib/kprintf.h"
#include "proc/proc.h"
#include "kernel/cmdline.h"

/* What a benchmark loop costs with nothing in it: the floor under every number. */
static void bench_empty_loop(void)
{
	enum { N = 1000000 };
	uint64_t t0 = bench_cycles();
	for (volatile int i = 0; i < N; i++)
		;
	bench_report("empty_loop", N, bench_cycles() - t0, 0);
}

/*
 * A ring-3 benchmark program, run to its end: /bench/proc (user/bench/
 * proc.c: system calls, faults, mmap, switches and spawns as a program
 * sees them), /bench/malloc (user/bench/malloc.c: the user heap) and
 * /bench/fork (user/bench/fork.c: fork, wait and copy-on-write faults).
 */
static void bench_program(const char *name)
{
	char path[32];
	ksnprintf(path, sizeof(path), "%s", name);
	char *argv[] = { path, NULL };
	int pid = proc_spawn(path, 1, argv, NULL);
	int st = pid < 0 ? pid : proc_run(pid, 120 * PROC_HZ);
	if (st)
		kprintf("bench: %s failed (status %d)\n", path, st);
}

/*
 * bench=proc runs only the processes' benchmarks (bench=malloc only the heap's): ring-3 loops are the
 * point of a KVM boot on a host whose KVM emulates ring 0 (kvm-pvm), where
 * the kernel's own loops would take minutes. bench=fork runs only fork's:
 * bench/fork.c in the kernel, then /bench/fork and /bench/file (issue 15).
 */
void bench_run_all(void)
{
	kprintf("bench: TSC at %lu kHz\n", bench_tsc_khz());
	if (cmdline_is("bench", "proc")) {
		bench_program("/bench/proc");
		return;
	}
	if (cmdline_is("bench", "malloc")) {
		bench_program("/bench/malloc");
		return;
	}
	if (cmdline_is("bench", "fork")) {
		bench_fork();
		bench_program("/bench/fork");
		bench_program("/bench/file");
		return;
	}
	if (cmdline_is("bench", "swap")) {
		bench_program("/bench/swap");   /* a small machine with a disk: the harness's bench-swap boot */
		return;
	}
	if (cmdline_is("bench", "smp")) {
		bench_smp();
		return;
	}
	bench_empty_loop();
	bench_buddy();
	bench_paging();
	bench_vmm();
	bench_fork();
	bench_slab();
	bench_smp();
	bench_program("/bench/proc");
	bench_program("/bench/malloc");
	bench_program("/bench/fork");
	bench_program("/bench/file");
}
