/*
 * test_debug.c - the options, each in a fresh process (test_malloc.c
 * forks before the first allocation): debug mode fills blocks with 0xa5
 * when handed out and 0x6b when freed, and a write into the 16 bytes
 * after a request is reported when the block is freed; guard mode puts an
 * unmapped page right after each large block, so a write just past it
 * faults (in a grandchild, which catches the SIGSEGV).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "malloc_test.h"

static void one_line(const char *what, const void *p)
{
	if (misuse_count != 1)
		printf("#   %s %p: %d lines\n", what, p, misuse_count);
	CHECK_EQ(misuse_count, 1);
	if (misuse_count >= 1) {
		CHECK(line_names(0, p));
		printf("#   %s: \"%s\"\n", what, misuse_lines[0]);
	}
	misuse_reset();
}

void debug_mode_poisons_and_redzones(void)
{
	size_t sizes[] = { 1, 24, 100, 1000, 4000, SMALL_MAX - 16, 100 * KIB };
	sm_set_options(SM_OPT_DEBUG);
	sm_set_misuse_hook(misuse_capture);
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		uint8_t *keep = sm_malloc(n);      /* its page stays in use: p's frames stay */
		uint8_t *p = sm_malloc(n);
		REQUIRE(p && keep);
		CHECK(sm_malloc_usable_size(p) >= n);
		size_t at = bytes_not(p, 0, n, 0xa5);
		if (at != SIZE_MAX)
			printf("#   malloc(%zu): byte %zu is %#x, not 0xa5\n", n, at, p[at]);
		CHECK(at == SIZE_MAX);
		memset(p, 0x11, n);
		sm_free(p);
		if (n + 32 <= SMALL_MAX) {         /* with its redzone still a small block */
			/* The block's first 16 bytes may hold its link; the rest is poison. */
			at = bytes_not(p, 16, n, 0x6b);
			if (at != SIZE_MAX)
				printf("#   free(%zu): byte %zu is %#x, not 0x6b\n", n, at, p[at]);
			CHECK(at == SIZE_MAX);
		}
		/* calloc still zeroes; realloc keeps the contents. */
		p = sm_calloc(1, n);
		REQUIRE(p);
		CHECK(bytes_not(p, 0, n, 0) == SIZE_MAX);
		pat_fill(p, 0, n, k);
		p = sm_realloc(p, n + 50);
		REQUIRE(p);
		CHECK(pat_check(p, 0, n, k) == SIZE_MAX);
		sm_free(p);
		CHECK_EQ(misuse_count, 0);
		misuse_reset();

		/* A write just past the request, and one at the redzone's last byte. */
		p = sm_malloc(n);
		REQUIRE(p);
		p[n] = 0;
		sm_free(p);
		one_line("write at p[n], then free", p);
		p = sm_malloc(n);
		REQUIRE(p);
		p[n + 15] ^= 0xff;
		sm_free(p);
		one_line("write at p[n+15], then free", p);
		/* Writes inside the request are fine. */
		p = sm_malloc(n);
		REQUIRE(p);
		memset(p, 0, n);
		sm_free(p);
		sm_free(keep);
		CHECK_EQ(misuse_count, 0);
	}
	struct sm_stats s = stats();
	printf("#   debug mode: %lu live after (the two reported frees of each size were not done)\n",
	       (unsigned long)s.live_blocks);
}

static void on_segv(int sig)
{
	(void)sig;
	_exit(42);
}

/* In a grandchild: write one byte at p; return how it ended (42: SIGSEGV caught, 0: no fault). */
static int poke(volatile uint8_t *p)
{
	int status;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_segv;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		*p = 1;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGSEGV ? 42 : -WTERMSIG(status);
	return WEXITSTATUS(status);
}

void guard_mode_faults_past_large_end(void)
{
	size_t sizes[] = { 40 * KIB, 100000, 300 * KIB };
	sm_set_options(SM_OPT_GUARD);
	sm_set_misuse_hook(misuse_capture);
	for (unsigned k = 0; k < 3; k++) {
		size_t n = sizes[k];
		uint8_t *p = sm_malloc(n);
		REQUIRE(p);
		size_t u = sm_malloc_usable_size(p);
		CHECK(u >= n);
		memset(p, 0x5a, u);                     /* all of it is there */
		int r = poke(p + u);
		printf("#   guard: malloc(%zu), usable %zu: write at p+usable -> %s\n", n, u,
		       r == 42 ? "SIGSEGV" : r == 0 ? "no fault" : "other");
		CHECK_EQ(r, 42);
		CHECK_EQ(poke(p + u - 1), 0);
		sm_free(p);
	}
	/* An aligned large block has its guard too. */
	uint8_t *p = sm_aligned_alloc(64 * KIB, 70 * KIB);
	REQUIRE(p);
	CHECK((uintptr_t)p % (64 * KIB) == 0);
	CHECK_EQ(poke(p + sm_malloc_usable_size(p)), 42);
	sm_free(p);
	CHECK_EQ(misuse_count, 0);
	CHECK_EQ(stats().live_blocks, 0);
}
