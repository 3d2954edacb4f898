/*
 * test_misuse.c - every misuse is caught before it touches the heap:
 * double frees (small and large, at once and after other frees, and one
 * whose first free came from another thread), frees of pointers the heap
 * never handed out (inside a block, the stack, a segment's header, a
 * static array, another allocator's block), realloc of a freed block.
 * The hook takes the one line instead of the abort; each case must give
 * exactly one line naming the pointer, and the heap must work after it.
 * Last, a use-after-free write of a forged link: the heap must never hand
 * out the forged address.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "malloc_test.h"

/* Exactly one line since the reset, naming p. */
static void one_line(const char *what, const void *p)
{
	if (misuse_count != 1)
		printf("#   %s %p: %d lines\n", what, p, misuse_count);
	CHECK_EQ(misuse_count, 1);
	if (misuse_count >= 1)
		CHECK(line_names(0, p));
	if (misuse_count >= 1)
		printf("#   %s: \"%s\"\n", what, misuse_lines[0]);
	misuse_reset();
}

static int by_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * The heap still works: blocks of sizes around sz (and some others) are
 * distinct, hold their contents, and the statistics count them; no new
 * report. `live` is what the test itself holds.
 */
static void heap_works(size_t sz, uint64_t live)
{
	enum { N = 600 };
	static uintptr_t v[N], sorted[N];
	static size_t n[N];
	for (int i = 0; i < N; i++) {
		n[i] = i % 3 ? sz : (size_t)i * 97 % (80 * KIB);
		v[i] = (uintptr_t)sm_malloc(n[i]);
		REQUIRE(v[i]);
		pat_fill((void *)v[i], 0, n[i], i + 1000);
	}
	CHECK_EQ(stats().live_blocks, live + N);
	memcpy(sorted, v, sizeof(v));
	qsort(sorted, N, sizeof(sorted[0]), by_ptr);
	for (int i = 1; i < N; i++)
		CHECK(sorted[i] != sorted[i - 1]);
	for (int i = 0; i < N; i++) {
		CHECK(pat_check((void *)v[i], 0, n[i], i + 1000) == SIZE_MAX);
		sm_free((void *)v[i]);
	}
	CHECK_EQ(stats().live_blocks, live);
	CHECK_EQ(misuse_count, 0);
}

static void *free_it(void *p)
{
	sm_free(p);
	return NULL;
}

void misuse_double_free(void)
{
	size_t sizes[] = { 16, 64, 1000, SMALL_MAX, 40 * KIB, 1 * MIB };
	misuse_reset();
	uint64_t live0 = stats().live_blocks;
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t sz = sizes[k];
		/* At once. */
		void *p = sm_malloc(sz);
		REQUIRE(p);
		sm_free(p);
		sm_free(p);
		one_line("double free at once", p);
		heap_works(sz, live0);

		/* After other frees of its class: p deep in the free list. */
		void *v[8];
		for (int i = 0; i < 8; i++)
			v[i] = sm_malloc(sz);
		sm_free(v[2]);
		for (int i = 0; i < 8; i++)
			if (i != 2)
				sm_free(v[i]);
		sm_free(v[2]);
		one_line("double free after others", v[2]);
		void *w = sm_malloc(sz);            /* between, an allocation (which may reuse one) */
		void *x = v[5] != w ? v[5] : v[6];
		sm_free(x);
		one_line("double free after an allocation", x);
		sm_free(w);
		heap_works(sz, live0);

		/* First freed by another thread (on the page's thread_free list), then here. */
		pthread_t t;
		void *keep = sm_malloc(sz);         /* the page stays in use */
		p = sm_malloc(sz);
		REQUIRE(pthread_create(&t, NULL, free_it, p) == 0);
		pthread_join(t, NULL);
		CHECK_EQ(misuse_count, 0);
		sm_free(p);
		one_line("double free after a remote free", p);
		sm_free(keep);
		heap_works(sz, live0);
	}
	CHECK_EQ(stats().live_blocks, live0);
}

static char static_area[64 * KIB] __attribute__((aligned(4096)));

void misuse_invalid_free(void)
{
	char stack[256];
	misuse_reset();
	uint64_t live0 = stats().live_blocks;

	void *small = sm_malloc(48), *big = sm_malloc(100 * KIB);
	REQUIRE(small && big);
	pat_fill(small, 0, 48, 1);
	pat_fill(big, 0, 100 * KIB, 2);
	uintptr_t seg = (uintptr_t)small & ~(SEG_SIZE - 1);
	void *bad[] = {
		(char *)small + 8, (char *)small + 16, (char *)small + 47,
		(char *)big + 8, (char *)big + 4096, (char *)big - 16,  /* - 16: its segment's header */
		(void *)seg, (void *)(seg + 64), (void *)(seg + 4096),  /* a small segment's header */
		(void *)(seg + SEG_SIZE - PAGE_SIZE + 16),              /* its last page: not in use here */
		stack, stack + 16,
		static_area, static_area + 16, static_area + 4096,
	};
	const char *what[] = {
		"small+8", "small+16", "small+47", "large+8", "large+4096", "large-16",
		"segment start", "segment header+64", "segment header+4096", "unused page",
		"stack", "stack+16", "static", "static+16", "static+4096",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sm_free(bad[i]);
		one_line(what[i], bad[i]);
		CHECK_EQ(stats().live_blocks, live0 + 2);
	}
	/* Another allocator's block (ASan's malloc here). */
	char *other = malloc(256);
	REQUIRE(other);
	sm_free(other);
	one_line("another allocator's block", other);
	free(other);
	/* Through realloc too. */
	CHECK(sm_realloc((char *)small + 16, 100) == NULL);
	one_line("realloc of small+16", (char *)small + 16);
	CHECK(sm_realloc(static_area, 100) == NULL);
	one_line("realloc of static", static_area);

	CHECK(pat_check(small, 0, 48, 1) == SIZE_MAX);
	CHECK(pat_check(big, 0, 100 * KIB, 2) == SIZE_MAX);
	sm_free(small);
	sm_free(big);
	CHECK_EQ(misuse_count, 0);
	heap_works(48, live0);
	heap_works(100 * KIB, live0);
}

void misuse_realloc_freed(void)
{
	size_t sizes[] = { 32, 500, 8 * KIB, 64 * KIB };
	misuse_reset();
	uint64_t live0 = stats().live_blocks;
	for (unsigned k = 0; k < 4; k++) {
		void *keep = sm_malloc(sizes[k]);
		void *p = sm_malloc(sizes[k]);
		REQUIRE(p && keep);
		sm_free(p);
		CHECK(sm_realloc(p, sizes[k] * 2) == NULL);
		one_line("realloc of a freed block", p);
		CHECK(sm_reallocarray(p, 2, sizes[k]) == NULL);
		one_line("reallocarray of a freed block", p);
		sm_free(keep);
		heap_works(sizes[k], live0);
	}
}

static char forged[4096] __attribute__((aligned(64)));

/* Allocate many blocks of sz after a forged link in a freed one; none may be in `forged`. */
static void forge(size_t sz, uintptr_t value)
{
	enum { N = 3000 };
	static void *v[N];
	uint64_t live0 = stats().live_blocks;
	void *keep = sm_malloc(sz), *p = sm_malloc(sz);
	REQUIRE(keep && p);
	sm_free(p);
	*(volatile uintptr_t *)p = value;       /* the use-after-free write */
	int got = 0, inside = 0;
	for (int i = 0; i < N; i++) {
		v[i] = sm_malloc(sz);
		if (v[i])
			got++;
		if ((char *)v[i] >= forged - sz && (char *)v[i] < forged + sizeof(forged))
			inside++;
	}
	printf("#   link forged to %#lx in a %zu-byte block: %d of %d handed out, %d in the "
	       "static buffer, %d reports%s%s\n", (unsigned long)value, sz, got, N, inside,
	       misuse_count, misuse_count ? ": " : "", misuse_count ? misuse_lines[0] : "");
	CHECK_EQ(inside, 0);
	CHECK(got > 0);
	misuse_reset();
	for (int i = 0; i < N; i++)
		sm_free(v[i]);
	sm_free(keep);
	if (misuse_count)
		printf("#   freeing them: %d reports: %s\n", misuse_count, misuse_lines[0]);
	misuse_reset();
	CHECK_EQ(stats().live_blocks, live0);
}

void forged_link_never_handed_out(void)
{
	misuse_reset();
	forge(64, (uintptr_t)forged);
	forge(64, (uintptr_t)forged + 64);
	forge(1024, (uintptr_t)forged);
	forge(64, 0);                           /* a zeroed link is not "the end of the list" */
	heap_works(64, stats().live_blocks);
	heap_works(1024, stats().live_blocks);
}

/* ---- double frees across threads, in a child: an undetected one corrupts the heap ---- */

static void no_block_twice(size_t sz, int n)
{
	static uintptr_t v[4096];
	for (int i = 0; i < n; i++)
		v[i] = (uintptr_t)sm_malloc(sz);
	qsort(v, n, sizeof(v[0]), by_ptr);
	int twice = 0;
	for (int i = 1; i < n; i++)
		twice += v[i] == v[i - 1];
	if (twice)
		printf("#   %d blocks of %zu bytes handed out twice\n", twice, sz);
	CHECK_EQ(twice, 0);
}


static void cross_thread_double_frees(void)
{
	pthread_t t;
	void *v[2 * PAGE_SIZE / KIB];
	misuse_reset();
	/*
	 * Freed by the owner, then again by another thread. Two full pages of
	 * 1 KiB; the block is in the second, and a free in the first puts that
	 * one ahead, so the second's lists are merged before its free list is
	 * used up: the block on both lists must not come out twice.
	 */
	for (unsigned i = 0; i < 2 * PAGE_SIZE / KIB; i++)
		v[i] = sm_malloc(KIB);
	void *p = v[70];
	sm_free(p);
	REQUIRE(pthread_create(&t, NULL, free_it, p) == 0);
	pthread_join(t, NULL);
	printf("#   double free: the owner, then another thread: %d reports%s%s\n", misuse_count,
	       misuse_count ? ": " : "", misuse_count ? misuse_lines[0] : "");
	CHECK(misuse_count == 1 && line_names(0, p));
	misuse_reset();
	sm_free(v[10]);
	void *a = sm_malloc(KIB), *b = sm_malloc(KIB), *c = sm_malloc(KIB);
	printf("#   then three blocks: %p %p %p; %d reports%s%s\n", a, b, c, misuse_count,
	       misuse_count ? ": " : "", misuse_count ? misuse_lines[0] : "");
	CHECK(a != b && b != c && a != c);
	misuse_reset();

	/* Freed by two other threads. */
	void *q = sm_malloc(128), *keep2 = sm_malloc(128);
	REQUIRE(pthread_create(&t, NULL, free_it, q) == 0);
	pthread_join(t, NULL);
	REQUIRE(pthread_create(&t, NULL, free_it, q) == 0);
	pthread_join(t, NULL);
	one_line("double free: two other threads", q);
	no_block_twice(128, 2000);
	(void)keep2;
}

void misuse_cross_thread(void)
{
	run_in_child(cross_thread_double_frees);
}
