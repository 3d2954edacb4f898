/*
 * test_fork.c - fork while the heap is in use: many threads make the
 * process's first allocations at once (the heap's one-time setup races),
 * then the process forks, and the child allocates. A hang (the heap's
 * lock taken twice by its fork handlers, or left held in the child) is
 * caught by an alarm: not a timing assertion, a guard against waiting
 * forever. Runs in fresh children: the setup must not have run yet.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "malloc_test.h"


#define NTHREADS 8
#define TRIES    20

static pthread_barrier_t start;

static void *first_alloc(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	void *p = sm_malloc(16);
	sm_free(p);
	return NULL;
}

/* One fresh process: threads race to the first allocation, then fork; 0 if all went well. */
static int race_then_fork(void)
{
	pthread_t t[NTHREADS];
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, first_alloc, NULL);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	alarm(5);               /* fork and a child's malloc take milliseconds */
	pid_t pid = fork();
	if (pid == 0) {
		void *p = sm_malloc(100);
		sm_free(p);
		_exit(p ? 0 : 1);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

void fork_after_racing_setup(void)
{
	int hung = 0, failed = 0;
	for (int i = 0; i < TRIES; i++) {
		fflush(stdout);
		pid_t pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0)
			_exit(race_then_fork());
		int status;
		REQUIRE(waitpid(pid, &status, 0) == pid);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
			hung++;
			break;          /* one is enough to know, and each costs the alarm's wait */
		}
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	printf("#   up to %d fresh processes: %d hung in fork, %d failed\n", TRIES, hung, failed);
	CHECK(hung == 0);
	CHECK_EQ(failed, 0);
}
