/*
 * procs.c - many processes: spawned and reaped with every frame given
 * back, wait for any child and for one of several, distinct pids, and
 * what happens when the process table or memory runs out.
 */
#include "ktap.h"

static struct strata_meminfo m0, m1;

static long spawn_code(const char *code)
{
	char *argv[] = { "/bin/exitcode", (char *)code, NULL };

	return spawn(argv[0], argv);
}

static void t_hundred(void)
{
	int status = -1;
	char code[8];

	/* Warm-up: the kernel's caches grow to what one process needs. */
	long pid = spawn_code("0");
	T_EXPECT(pid > 0);
	T_EQ(wait(pid, &status), pid);
	meminfo(&m0);
	for (int i = 0; i < 100; i++) {
		snprintf(code, sizeof(code), "%d", (i * 37) % 256);
		pid = spawn_code(code);
		if (pid <= 0) {
			ktap_fail("spawn %d: %ld", i, pid);
			break;
		}
		long r = wait(pid, &status);
		if (r != pid || status != (i * 37) % 256)
			ktap_fail("child %d: wait %ld (pid %ld), status 0x%x, want %d",
				  i, r, pid, status, (i * 37) % 256);
	}
	meminfo(&m1);
	T_EQ(m1.free_kib, m0.free_kib);
	T_EQ(m1.processes, m0.processes);
	T_EQ(m1.resident_kib, m0.resident_kib);
}

static void t_processes_count(void)
{
	int status = -1;

	meminfo(&m0);
	long pid = spawn_code("5");
	meminfo(&m1);
	T_EXPECT(pid > 0);
	T_EQ(m1.processes, m0.processes + 1);    /* alive or a zombie, it counts */
	for (int i = 0; i < 10; i++)
		yield();
	meminfo(&m1);
	T_EQ(m1.processes, m0.processes + 1);    /* a zombie until reaped */
	T_EQ(wait(pid, &status), pid);
	T_EQ(status, 5);
	meminfo(&m1);
	T_EQ(m1.processes, m0.processes);
}

static void t_wait_any(void)
{
	int status = -1;
	long pid = spawn_code("17");

	T_EXPECT(pid > 0);
	T_EQ(wait(-1, &status), pid);
	T_EQ(status, 17);
	T_EQ(wait(-1, &status), -ECHILD);
}

#define NKIDS 8

static void t_many_at_once(void)
{
	long pids[NKIDS];
	int seen[NKIDS] = { 0 };
	char code[8];

	for (int i = 0; i < NKIDS; i++) {
		snprintf(code, sizeof(code), "%d", 100 + i);
		pids[i] = spawn_code(code);
		T_EXPECT(pids[i] > 0);
	}
	for (int n = 0; n < NKIDS; n++) {
		int status = -1;
		long r = wait(-1, &status);
		int k = -1;
		for (int i = 0; i < NKIDS; i++)
			if (pids[i] == r)
				k = i;
		if (k < 0) {
			ktap_fail("wait(-1) gave %ld, no child of ours", r);
			break;
		}
		if (seen[k]++)
			ktap_fail("pid %ld reaped twice", r);
		if (status != 100 + k)
			ktap_fail("pid %ld: status 0x%x, want %d", r, status, 100 + k);
	}
	T_EQ(wait(-1, &(int){ 0 }), -ECHILD);
}

static void t_wait_one_of_several(void)
{
	long a = spawn_code("1"), b = spawn_code("2"), c = spawn_code("3");
	int status = -1;

	T_EXPECT(a > 0 && b > 0 && c > 0);
	T_EQ(wait(b, &status), b);
	T_EQ(status, 2);
	T_EQ(wait(c, &status), c);
	T_EQ(status, 3);
	T_EQ(wait(b, &status), -ECHILD);
	T_EQ(wait(a, &status), a);
	T_EQ(status, 1);
}

static void t_pids_distinct(void)
{
	long pids[NKIDS];
	long me = getpid();

	for (int i = 0; i < NKIDS; i++) {
		pids[i] = spawn_code("pid");
		T_EXPECT(pids[i] > 0 && pids[i] != me);
		for (int j = 0; j < i; j++)
			if (pids[j] == pids[i])
				ktap_fail("pid %ld given twice", pids[i]);
	}
	for (int i = 0; i < NKIDS; i++) {
		int status = -1;
		T_EQ(wait(pids[i], &status), pids[i]);
		T_EQ(status, pids[i] & 0xff);            /* the child's own getpid() */
	}
}

/*
 * Spawn until the kernel refuses (a full table or no memory), then reap
 * all; returns how many ran. The refusal must be -EAGAIN or -ENOMEM.
 */
static int fill_and_reap(void)
{
	static long pids[256];
	int n = 0, status;
	long r = 0;

	while (n < ARRAY_SIZE(pids)) {
		r = spawn_code("9");
		if (r <= 0)
			break;
		pids[n++] = r;
	}
	if (n < ARRAY_SIZE(pids) && r != -EAGAIN && r != -ENOMEM)
		ktap_fail("spawn %d refused with %ld, want -EAGAIN or -ENOMEM", n, r);
	for (int i = 0; i < n; i++) {
		status = -1;
		long w = wait(pids[i], &status);
		if (w != pids[i] || status != 9)
			ktap_fail("child %d: wait %ld (pid %ld) status 0x%x", i, w, pids[i], status);
	}
	if (wait(-1, &status) != -ECHILD)
		ktap_fail("a child is left after reaping %d", n);
	return n;
}

static void t_until_refused(void)
{
	int status = -1;

	/* The first round warms the kernel's caches to this many processes. */
	int n0 = fill_and_reap();
	meminfo(&m0);
	int n1 = fill_and_reap();
	meminfo(&m1);
	/* Not n1 == n0: if memory ran out first, how many fit depends on how
	 * many children had exited (and freed their memory) meanwhile. */
	T_EXPECT(n0 > 1 && n1 > 1);
	T_EQ(m1.processes, m0.processes);
	T_EQ(m1.free_kib, m0.free_kib);
	/* And spawning works again. */
	char *argv[] = { "/bin/exitcode", "3", NULL };
	T_EXPECT(spawn_wait(argv[0], argv, &status) > 0);
	T_EQ(status, 3);
}

static const struct ktap_case cases[] = {
	{ "hundred_spawned_and_reaped", t_hundred },
	{ "processes_count_zombies", t_processes_count },
	{ "wait_any", t_wait_any },
	{ "many_children_at_once", t_many_at_once },
	{ "wait_one_of_several", t_wait_one_of_several },
	{ "pids_distinct", t_pids_distinct },
	{ "spawn_until_refused", t_until_refused },
};

int main(void)
{
	stack_touch(32);
	memset(&m0, 0, sizeof(m0));
	memset(&m1, 0, sizeof(m1));
	return ktap_run(cases, ARRAY_SIZE(cases));
}
