/*
 * proc.c - processes as the kernel sees them: out of memory in a process
 * is an error or a KILL (reason=oom), never a panic; a deadline kills a
 * process that runs away; every frame comes back at reap. The buddy's
 * failure injection (pmm_fail_nth) makes the frame run out exactly where
 * the test wants. The runner checks that no frame was lost.
 */
#include "kernel/ktest.h"
#include "proc/proc.h"
#include "mm/buddy/buddy.h"

/* Spawn /ktest/toucher MODE as the kernel's child; its pid, or a negated errno. */
static int toucher(const char *mode)
{
	char path[] = "/ktest/toucher", m[16];
	for (unsigned i = 0; (m[i] = mode[i]) && i < sizeof(m) - 1; i++)
		;
	char *argv[] = { path, m, NULL };
	return proc_spawn(path, 2, argv, NULL);
}

static bool have_toucher(void)
{
	struct initrd_file f;
	return proc_initrd()->base && initrd_find(proc_initrd(), "/ktest/toucher", &f);
}

KTEST(proc, runs_and_exits)
{
	if (!have_toucher())
		KT_SKIP("no /ktest/toucher in the ramdisk");
	int pid = toucher("fault");
	KT_ASSERT(pid > 0);
	KT_EXPECT(proc_run(pid, 10 * PROC_HZ) == 0);
	KT_EXPECT(proc_by_pid(pid) == NULL);            /* reaped */
}

KTEST(proc, fault_without_frames_kills_with_oom)
{
	if (!have_toucher())
		KT_SKIP("no /ktest/toucher in the ramdisk");
	int pid = toucher("fault");
	KT_ASSERT(pid > 0);
	pmm_fail_nth(3);        /* a few frames into its 64 touches */
	int st = proc_run(pid, 10 * PROC_HZ);
	pmm_fail_nth(0);
	KT_EXPECT(STRATA_KILL_REASON(st) == KILL_OOM);
}

KTEST(proc, populate_without_frames_is_enomem)
{
	if (!have_toucher())
		KT_SKIP("no /ktest/toucher in the ramdisk");
	int pid = toucher("populate");
	KT_ASSERT(pid > 0);
	pmm_fail_nth(2);
	int st = proc_run(pid, 10 * PROC_HZ);
	pmm_fail_nth(0);
	KT_EXPECT(st == 3);
}

KTEST(proc, spawn_without_frames_leaves_nothing)
{
	if (!have_toucher())
		KT_SKIP("no /ktest/toucher in the ramdisk");
	unsigned procs = proc_count(), failed = 0;
	/* Fail each of spawn's allocations in turn until one spawn gets through. */
	for (unsigned n = 1; n < 64; n++) {
		pmm_fail_nth(n);
		int pid = toucher("populate");
		pmm_fail_nth(0);
		if (pid > 0) {
			KT_EXPECT(proc_run(pid, 10 * PROC_HZ) == 0);
			break;
		}
		KT_EXPECT(pid == -ENOMEM);
		KT_EXPECT(proc_count() == procs);
		failed++;
	}
	KT_EXPECT(failed > 3);          /* spawn takes several frames: each failure was met */
}

/*
 * fork with the buddy failing at each allocation in turn (the program's own
 * touches first, then fork's, then the child's copies): each ends as an
 * -ENOMEM from fork (exit 3), a KILL (oom), or a success; never a panic,
 * and the runner finds every frame back.
 */
KTEST(proc, fork_without_frames_leaves_nothing)
{
	if (!have_toucher())
		KT_SKIP("no /ktest/toucher in the ramdisk");
	unsigned procs = proc_count(), refused = 0, killed = 0, done = 0;
	for (unsigned n = 1; n < 96 && !done; n++) {
		int pid = toucher("fork");
		KT_ASSERT(pid > 0);
		pmm_fail_nth(n);
		int st = proc_run(pid, 10 * PROC_HZ);
		pmm_fail_nth(0);
		if (st == 3)
			refused++;
		else if (STRATA_KILL_REASON(st) == KILL_OOM)
			killed++;
		else if (st == 0)
			done++;
		else
			KT_EXPECT(!"toucher fork: an exit status other than 0, 3 or a KILL for oom");
		KT_EXPECT(proc_count() == procs);
	}
	KT_EXPECT(refused >= 3);        /* fork takes several frames: each failure was met */
	KT_EXPECT(killed >= 1);
	KT_EXPECT(done == 1);
}

KTEST(proc, deadline_kills_a_runaway)
{
	if (!have_toucher())
		KT_SKIP("no /ktest/toucher in the ramdisk");
	int pid = toucher("spin");
	KT_ASSERT(pid > 0);
	uint64_t t0 = proc_ticks();
	int st = proc_run(pid, PROC_HZ / 5);
	KT_EXPECT(STRATA_KILL_REASON(st) == KILL_TIMEOUT);
	KT_EXPECT(proc_ticks() - t0 >= PROC_HZ / 5);
}
