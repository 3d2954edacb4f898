/*
 * user_suite.c - mode=test's `user` suite: every program under /test in
 * the ramdisk is one case. The kernel spawns it, indents what it prints
 * (its own KTAP document, nested one level deeper), and counts it passed
 * if it exited with status 0 and every frame it and its children took is
 * free again once they are reaped (the kernel heap's empty slabs given
 * back first). A program
 * killed, or still running after USER_TEST_SECONDS, fails.
 */
#include "proc/proc.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "mm/buddy/buddy.h"
#include "mm/slab/slab.h"
#include "kernel/cmdline.h"
#include "kernel/ktest.h"

#define USER_TEST_SECONDS 60

/* A program under test/, or only test/NAME if the command line says user.test=NAME. */
static bool is_test(const struct initrd_file *f)
{
	char only[48];
	if (strncmp(f->path, "test/", 5))
		return false;
	return !cmdline_get("user.test", only, sizeof(only)) || !strcmp(f->path + 5, only);
}

static unsigned count_tests(const struct initrd *rd)
{
	struct initrd_file f;
	size_t cur = 0;
	unsigned n = 0;
	while (initrd_next(rd, &cur, &f) > 0)
		n += is_test(&f);
	return n;
}

/* One case: "ok N name" or "not ok N name # why". */
static int run_case(const struct initrd_file *f, unsigned n)
{
	char path[INITRD_NAME_MAX + 1], why[96] = "";
	ksnprintf(path, sizeof(path), "/%s", f->path);
	char *argv[] = { path, NULL };
	/* The heap's empty slabs go back first, both times: what a cache keeps is not a leak. */
	slab_reap();
	uint64_t before = pmm_free_count();
	int pid = proc_spawn(path, 1, argv, NULL);
	if (pid < 0) {
		ksnprintf(why, sizeof(why), "spawn failed: %d", pid);
	} else {
		proc_by_pid(pid)->nest = true;
		int st = proc_run(pid, USER_TEST_SECONDS * PROC_HZ);
		slab_reap();
		uint64_t after = pmm_free_count();
		if (STRATA_KILL_REASON(st))
			ksnprintf(why, sizeof(why), "killed: reason=%s", proc_kill_name(STRATA_KILL_REASON(st)));
		else if (STRATA_EXIT_CODE(st))
			ksnprintf(why, sizeof(why), "exit status %d", STRATA_EXIT_CODE(st));
		else if (after != before)
			ksnprintf(why, sizeof(why), "free frames were %lu before it, %lu after", before, after);
	}
	const char *name = f->path + 5;
	ktest_report(1, n, name, why[0] ? KTEST_FAIL : KTEST_PASS, why);
	return !why[0];
}

int user_suite_run(unsigned index)
{
	const struct initrd *rd = proc_initrd();
	unsigned total = rd->base ? count_tests(rd) : 0, n = 0, passed = 0;
	kprintf("    KTAP version 1\n    # Subtest: user\n");
	if (!total) {
		kprintf("    1..1\n");
		ktest_report(1, 1, "programs", KTEST_FAIL, rd->base ?
			     "the ramdisk has no program under /test" : "no boot module named initrd");
		ktest_report(0, index, "user", KTEST_FAIL, 0);
		return 0;
	}
	kprintf("    1..%u\n", total);
	struct initrd_file f;
	size_t cur = 0;
	while (initrd_next(rd, &cur, &f) > 0)
		if (is_test(&f))
			passed += run_case(&f, ++n);
	ktest_report(0, index, "user", passed == total ? KTEST_PASS : KTEST_FAIL, 0);
	return passed == total;
}

int proc_run_init(void)
{
	char path[] = "/init";
	char *argv[] = { path, NULL };
	int pid = proc_spawn(path, 1, argv, NULL);
	if (pid < 0)
		return pid;
	return proc_run(pid, 0);
}
