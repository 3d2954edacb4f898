/*
 * init.c - /init, the first process, for mode=run: a short tour of
 * processes in ring 3. Two copies of /bin/samevar use one virtual address
 * for different data, /bin/heap grows (brk, mmap, then malloc), and
 * /bin/crash touches kernel memory and is killed while the others
 * finish, and /bin/share shows memory shared between processes (a
 * copy-on-write fork, a shared page, a mapped file). /init itself takes
 * one block from the user heap.
 */
#include "strata.h"

static const char *const reasons[] = {
	[KILL_NONE] = "none",
#define REASON_TEXT_(name, num, text) [name] = text,
	STRATA_KILL_REASONS(REASON_TEXT_)
#undef REASON_TEXT_
};

struct child {
	const char *what;
	char *argv[3];
	long pid;
};

static void say_status(struct child *c, int status)
{
	int why = STRATA_KILL_REASON(status);

	if (why == 0)
		printf("init: pid %ld (%s) exited with %d\n", c->pid, c->what, STRATA_EXIT_CODE(status));
	else
		printf("init: pid %ld (%s) was killed: %s\n", c->pid, c->what,
		       why < (int)(sizeof(reasons) / sizeof(reasons[0])) && reasons[why] ? reasons[why] : "?");
}

int main(void)
{
	struct child kids[] = {
		{ "samevar", { "/bin/samevar", NULL, NULL }, 0 },
		{ "samevar", { "/bin/samevar", NULL, NULL }, 0 },
		{ "heap", { "/bin/heap", NULL, NULL }, 0 },
		{ "crash kernel", { "/bin/crash", "kernel", NULL }, 0 },
		{ "share", { "/bin/share", NULL, NULL }, 0 },
	};
	int n = sizeof(kids) / sizeof(kids[0]);

	printf("init: pid %ld, in ring 3\n", getpid());
	printf("init: each process has its own address space; the same virtual\n");
	printf("init: address holds different data in two of them, and a process\n");
	printf("init: that touches the kernel is killed while the others go on.\n");
	for (int i = 0; i < n; i++) {
		kids[i].pid = spawn(kids[i].argv[0], kids[i].argv);
		if (is_err(kids[i].pid))
			printf("init: spawn %s failed: %ld\n", kids[i].argv[0], kids[i].pid);
		else
			printf("init: spawned %s as pid %ld\n", kids[i].what, kids[i].pid);
	}
	char *note = malloc(64);                /* the user heap, user/lib/malloc/ */
	if (note) {
		snprintf(note, 64, "%d children", n);
		printf("init: malloc(64) gave %p (%lu usable), holding \"%s\"\n",
		       note, malloc_usable_size(note), note);
		free(note);
	}
	printf("init: the kernel's process table now:\n");
	ps();
	for (int i = 0; i < n; i++) {
		int status;
		if (is_err(kids[i].pid))
			continue;
		if (wait(kids[i].pid, &status) == kids[i].pid)
			say_status(&kids[i], status);
	}
	printf("init: all children reaped; done\n");
	return 0;
}
