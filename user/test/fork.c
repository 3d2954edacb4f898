/*
 * fork.c - fork with copy-on-write, as a program sees it: it returns twice;
 * parent and child each see only their own writes; the child starts out
 * sharing every page and a write copies exactly the page written; a chain
 * of forks gives every frame back; the process table, not a crash, stops
 * a fork bomb (-EAGAIN).
 */
#include "ktap.h"

#define PAGE 4096UL
#define BUF_PAGES 16

static volatile int global = 7;
static volatile char *buf;              /* BUF_PAGES pages, each written before the forks */
/* meminfo results, in one page of their own so that writing them copies one page only. */
static struct strata_meminfo m[4] __attribute__((aligned(4096)));

/* Wait for pid; its exit code, or -1 if it did not exit normally. */
static int reap(long pid)
{
	int status = -1;
	if (wait(pid, &status) != pid || STRATA_KILL_REASON(status))
		return -1;
	return STRATA_EXIT_CODE(status);
}

static void t_returns_twice(void)
{
	long me = getpid();
	long pid = fork();
	if (pid == 0)
		exit(getpid() != me ? 42 : 1);
	T_EXPECT(pid > 0 && pid != me);
	T_EQ(reap(pid), 42);
}

static void t_own_writes(void)
{
	global = 7;
	buf[3 * PAGE] = 'p';
	long pid = fork();
	if (pid == 0) {
		int ok = global == 7 && buf[3 * PAGE] == 'p';
		global = 99;
		buf[3 * PAGE] = 'c';
		for (int i = 0; i < 20; i++)
			yield();        /* the parent writes meanwhile */
		ok = ok && global == 99 && buf[3 * PAGE] == 'c' && buf[5 * PAGE] == 0;
		exit(ok ? 0 : 1);
	}
	T_EXPECT(pid > 0);
	yield();
	buf[5 * PAGE] = 'P';            /* the child must not see this */
	T_EQ(reap(pid), 0);
	T_EQ(global, 7);                /* nor the parent the child's */
	T_EQ(buf[3 * PAGE], 'p');
}

/*
 * Right after fork the child shares everything: each of its resident pages
 * is shared, or one it has copied since (its stack, the meminfo page).
 * Then one write to a buffer page copies exactly one page.
 */
static void t_shares_then_copies_one(void)
{
	meminfo(&m[0]);
	long pid = fork();
	if (pid == 0) {
		meminfo(&m[1]);         /* its write copies m's page, after the counts were read: */
		meminfo(&m[1]);         /* so again, to count that copy too */
		/*
		 * Every resident page shared, or copied or taken back since; at
		 * most two more that the parent copied first (its stack, before
		 * it waits), which the child reads as its own then.
		 */
		unsigned long own = 4 * (m[1].cow_copied + m[1].cow_reused);
		int ok = m[1].shared_kib + own <= m[1].resident_kib &&
			 m[1].shared_kib + own + 8 >= m[1].resident_kib &&
			 m[1].cow_copied <= 4 && m[1].shared_kib > 4 * BUF_PAGES &&
			 m[1].resident_kib == m[0].resident_kib;
		buf[7 * PAGE + 1] = 'x';
		meminfo(&m[2]);
		ok = ok && m[2].cow_copied == m[1].cow_copied + 1 && m[2].shared_kib == m[1].shared_kib - 4 &&
		     m[2].resident_kib == m[1].resident_kib;
		exit(ok ? 0 : 1 + (m[1].resident_kib != m[0].resident_kib) * 2 +
			     (m[2].cow_copied != m[1].cow_copied + 1) * 4);
	}
	T_EXPECT(pid > 0);
	T_EQ(reap(pid), 0);
	meminfo(&m[3]);
	T_EQ(m[3].shared_kib, 0);       /* the child is gone: nothing shared any more */
}

/* A chain of forks, each waiting for the next: every frame back at the end. */
static int chain(int depth)
{
	if (!depth)
		return 0;
	buf[(unsigned)depth * PAGE] = (char)depth;      /* each link copies a page */
	long pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		exit(chain(depth - 1));
	return reap(pid) == 0 ? 0 : 1;
}

static void t_chain_returns_frames(void)
{
	meminfo(&m[0]);
	T_EQ(chain(6), 0);
	meminfo(&m[1]);
	T_EQ(m[1].free_kib, m[0].free_kib);
	T_EQ(m[1].processes, m[0].processes);
}

/* Children that exit at once stay zombies until waited for: the table fills, and fork says so. */
static void t_bomb_stopped(void)
{
	long pids[128];
	int n = 0;
	long r = 0;
	meminfo(&m[0]);
	while (n < 128) {
		r = fork();
		if (r == 0)
			exit(5);
		if (r < 0)
			break;
		pids[n++] = r;
	}
	/*
	 * The table's limit, where memory allows it: each child holds a kernel
	 * stack, a space and its tables (well under 64 KiB); on a machine too
	 * small for a full table, running out of memory first is the clean end.
	 */
	if (m[0].free_kib > 64 * 64 * 2)
		T_EQ(r, -EAGAIN);
	else
		T_EXPECT(r == -EAGAIN || r == -ENOMEM);
	T_EXPECT(n > 4);
	int bad = 0;
	for (int i = 0; i < n; i++)
		bad += reap(pids[i]) != 5;
	T_EQ(bad, 0);
	meminfo(&m[1]);
	T_EQ(m[1].processes, m[0].processes);
	T_EQ(m[1].free_kib, m[0].free_kib);
	/* And fork works again. */
	r = fork();
	if (r == 0)
		exit(6);
	T_EQ(reap(r), 6);
}

static const struct ktap_case cases[] = {
	{ "fork_returns_twice", t_returns_twice },
	{ "parent_and_child_see_own_writes", t_own_writes },
	{ "child_shares_then_a_write_copies_one_page", t_shares_then_copies_one },
	{ "chain_of_forks_returns_every_frame", t_chain_returns_frames },
	{ "fork_bomb_stopped_with_eagain", t_bomb_stopped },
};

int main(void)
{
	stack_touch(32);
	buf = mmap(0, BUF_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err((long)buf))
		return 1;
	for (unsigned i = 0; i < BUF_PAGES; i++)
		buf[i * PAGE] = 0;
	memset(m, 0, sizeof(m));
	return ktap_run(cases, ARRAY_SIZE(cases));
}
