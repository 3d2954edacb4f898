/*
 * toucher.c - /ktest/toucher MODE: the program the kernel's own proc
 * self-tests (tests/kernel/proc.c) run while they make the buddy fail.
 *   fault:    map 64 pages on demand and touch each (a failed frame is a KILL, reason=oom)
 *   populate: mmap 16 pages with MAP_POPULATE; exit 3 if it says -ENOMEM
 *   spin:     loop forever (to be killed by a deadline)
 *   fork:     touch 16 pages, fork, the child touches them too; exit 3 if fork says -ENOMEM
 * Exit 0: all went well; 1: a call failed unexpectedly; 98: no such mode.
 */
#include "strata.h"

#define PAGE 4096UL

static int is(const char *a, const char *b) { return !strcmp(a, b); }

int main(int argc, char **argv)
{
	if (argc != 2)
		return 98;
	if (is(argv[1], "fault")) {
		volatile char *p = mmap(0, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (is_err((long)p))
			return 1;
		for (unsigned long i = 0; i < 64; i++)
			p[i * PAGE] = 1;
		return 0;
	}
	if (is(argv[1], "populate")) {
		void *p = mmap(0, 16 * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		return (long)p == -ENOMEM ? 3 : is_err((long)p) ? 1 : 0;
	}
	if (is(argv[1], "spin"))
		for (;;)
			;
	if (is(argv[1], "fork")) {
		volatile char *p = mmap(0, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (is_err((long)p))
			return 1;
		for (unsigned long i = 0; i < 16; i++)
			p[i * PAGE] = 1;
		long pid = fork();
		if (pid == -ENOMEM)
			return 3;
		if (pid < 0)
			return 1;
		if (pid == 0) {
			for (unsigned long i = 0; i < 16; i++)
				p[i * PAGE] = 2;        /* copy-on-write: may be killed (oom) */
			exit(0);
		}
		int st = -1;
		return wait(pid, &st) == pid ? 0 : 1;
	}
	return 98;
}
