/*
 * test_os.c - what goes back to the OS and when: 50 MiB of small blocks
 * freed leave at most the one segment a heap keeps, sm_trim gives back
 * the rest, and the frames really leave (the resident size falls); a
 * loop that allocates and frees makes no OS call per turn (hysteresis:
 * the one empty page a class keeps).
 */
#include <stdio.h>
#include <stdlib.h>
#include "malloc_test.h"

#define NBLK (50 * MIB / KIB)

static void show(const char *when, const struct sm_stats *s)
{
	printf("#   %s: %lu segments, %lu KiB reserved, %lu KiB committed, %lu live; "
	       "OS reserve %lu release %lu decommit %lu\n", when, (unsigned long)s->segments,
	       (unsigned long)(s->reserved_bytes / KIB), (unsigned long)(s->committed_bytes / KIB),
	       (unsigned long)s->live_blocks, (unsigned long)s->os_reserves,
	       (unsigned long)s->os_releases, (unsigned long)s->os_decommits);
}

void memory_returns_to_os(void)
{
	void **v = calloc(NBLK, sizeof(*v));
	REQUIRE(v);
	sm_trim();
	struct sm_stats s0 = stats();
	size_t rss0 = rss_bytes();
	REQUIRE(s0.live_blocks == 0);

	for (size_t i = 0; i < NBLK; i++) {
		v[i] = sm_malloc(KIB);
		REQUIRE(v[i]);
		((uint64_t *)v[i])[i % 128] = i;        /* touch it: the frame is really there */
	}
	struct sm_stats s1 = stats();
	size_t rss1 = rss_bytes();
	show("50 MiB of 1 KiB", &s1);
	CHECK_EQ(s1.live_blocks, NBLK);
	CHECK_EQ(s1.live_bytes, 50 * MIB);
	CHECK(s1.committed_bytes >= 50 * MIB);
	CHECK(s1.committed_bytes <= 50 * MIB + 51 * MIB / 10);      /* pages hold only 1 KiB blocks */
	CHECK(s1.reserved_bytes >= s1.committed_bytes);
	CHECK(rss1 >= rss0 + 45 * MIB);

	for (size_t i = 0; i < NBLK; i++) {
		CHECK(((uint64_t *)v[i])[i % 128] == i);
		sm_free(v[i]);
	}
	struct sm_stats s2 = stats();
	show("all freed", &s2);
	CHECK_EQ(s2.live_blocks, 0);
	CHECK_EQ(s2.live_bytes, 0);
	/*
	 * Empty segments go back but one spare; the heap keeps a few empty
	 * pages (8 on Linux), which may sit in two more segments.
	 */
	CHECK(s2.segments <= 3 && s2.committed_bytes <= 16 * PAGE_SIZE);
	CHECK(s2.os_releases >= s1.os_releases + 10);

	sm_trim();
	struct sm_stats s3 = stats();
	size_t rss3 = rss_bytes();
	show("after sm_trim", &s3);
	printf("#   resident: %zu KiB before, %zu KiB full, %zu KiB after trim\n",
	       rss0 / KIB, rss1 / KIB, rss3 / KIB);
	CHECK(s3.segments <= 1);
	CHECK(s3.reserved_bytes <= SEG_SIZE);
	CHECK(s3.committed_bytes <= 4 * PAGE_SIZE);
	CHECK(rss3 + 40 * MIB <= rss1);                 /* the frames left the process */
	free(v);
}

/* n turns of allocating and freeing one block of size sz (after `pinned` blocks of it) */
static uint64_t loop_calls(size_t sz, int pinned, int n)
{
	void *pin[128];
	for (int i = 0; i < pinned; i++)
		pin[i] = sm_malloc(sz);
	struct sm_stats s0 = stats();
	for (int i = 0; i < n; i++) {
		void *p = sm_malloc(sz);
		if (!p)
			return UINT64_MAX;
		*(volatile char *)p = 1;
		sm_free(p);
	}
	struct sm_stats s1 = stats();
	for (int i = 0; i < pinned; i++)
		sm_free(pin[i]);
	return os_calls(&s1) - os_calls(&s0);
}

void alloc_free_loop_no_thrash(void)
{
	size_t sizes[] = { 0, 16, 100, 1024, 4000, 16 * KIB, SMALL_MAX };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		sm_trim();      /* the worst start: nothing kept */
		uint64_t c = loop_calls(sizes[i], 0, 100000);
		if (c > 4)
			printf("#   malloc/free(%zu) x 100000: %lu OS calls\n", sizes[i], (unsigned long)c);
		CHECK(c <= 4);
	}
	/* One page of the class full, the block in the loop needs a second one, which empties each turn. */
	sm_trim();
	uint64_t c = loop_calls(KIB, PAGE_SIZE / KIB, 100000);
	printf("#   a page full, then malloc/free(1024) x 100000: %lu OS calls\n", (unsigned long)c);
	CHECK(c <= 4);

	/* A batch one block over a page, allocated and freed: measured, not judged. */
	sm_trim();
	void *batch[PAGE_SIZE / KIB + 1];
	struct sm_stats b0 = stats();
	for (int turn = 0; turn < 1000; turn++) {
		for (unsigned i = 0; i < PAGE_SIZE / KIB + 1; i++)
			batch[i] = sm_malloc(KIB);
		for (unsigned i = 0; i < PAGE_SIZE / KIB + 1; i++)
			sm_free(batch[i]);
	}
	struct sm_stats b1 = stats();
	printf("#   65 x malloc(1024) then 65 x free, x 1000: %lu OS calls\n",
	       (unsigned long)(os_calls(&b1) - os_calls(&b0)));

	/* Large blocks come from the OS and go back at free: measured, not judged. */
	c = loop_calls(100 * KIB, 0, 1000);
	printf("#   malloc/free(100 KiB) x 1000: %lu OS calls\n", (unsigned long)c);
	CHECK_EQ(stats().live_blocks, 0);
	CHECK_EQ(misuse_count, 0);
}
