/*
 * inject_test.c - out of memory at every allocation in turn: a write stops
 * short (or is -ENOMEM) and loses nothing that was there; an open that
 * cannot have its inode leaves nothing behind.
 */
#include <string.h>
#include "fs_test.h"
#include "mm/buddy/buddy.h"
#include "mm/slab/slab.h"

#define OLD   (2 * PAGE_SIZE + 300)     /* bytes in the file before the write */
#define LEN   (5 * PAGE_SIZE)
#define FAR   (520 * PAGE_SIZE)         /* past the first index page of 512 */

static uint8_t old[OLD], data[LEN], buf[FAR + LEN + PAGE_SIZE];

/* The write at off fails at each allocation in turn; counts the short counts and -ENOMEMs it saw. */
static void write_at(uint64_t off, unsigned *shorts, unsigned *nomems)
{
	bool whole = false;
	for (unsigned nth = 1; nth < 64 && !whole && !check_failed_in_test; nth++) {
		struct inode *ino = open_ok("/oom", true);
		REQUIRE(ino);
		REQUIRE(fs_write(ino, 0, old, OLD, copy_ok) == OLD);
		pmm_fail_nth(nth);
		long n = fs_write(ino, off, data, LEN, copy_ok);
		pmm_fail_nth(0);
		whole = n == (long)LEN;
		*shorts += n > 0 && !whole;
		*nomems += n == -ENOMEM;
		CHECK(n == -ENOMEM || (n > 0 && n <= (long)LEN));
		/* What came before, what was written, and nothing more. */
		uint64_t written = n > 0 ? (uint64_t)n : 0;
		uint64_t size = written && off + written > OLD ? off + written : OLD;
		CHECK_EQ(fs_size(ino), size);
		memset(buf, 0xee, sizeof(buf));
		CHECK_EQ(fs_read(ino, 0, buf, sizeof(buf), copy_ok), size);
		CHECK(!memcmp(buf, old, off < OLD ? off : OLD));
		CHECK(!memcmp(buf + off, data, written));
		if (off + written < OLD)
			CHECK(!memcmp(buf + off + written, old + off + written, OLD - off - written));
		for (uint64_t i = OLD; i < off && i < size; i++)
			if (buf[i]) {
				CHECK_EQ(i, ~0ull);     /* the hole before the write reads as zeroes */
				break;
			}
		CHECK_EQ(fs_check(), 0);
		fs_put(ino);
		CHECK_EQ(fs_unlink("/oom"), 0);
	}
	CHECK(whole);
}

static void write_out_of_frames(void)
{
	for (size_t i = 0; i < OLD; i++)
		old[i] = (uint8_t)(i % 251);
	for (size_t i = 0; i < LEN; i++)
		data[i] = (uint8_t)(i % 13 + 100);
	fs_baseline();
	unsigned shorts = 0, nomems = 0;
	write_at(PAGE_SIZE + 50, &shorts, &nomems);     /* inside the file, then past its end */
	CHECK(shorts >= 3);
	CHECK_EQ(nomems, 0);                            /* its first pages are there already */
	shorts = nomems = 0;
	write_at(OLD + 3 * PAGE_SIZE + 7, &shorts, &nomems);    /* past the end, after a hole */
	CHECK(shorts >= 4);
	CHECK_EQ(nomems, 1);
	shorts = nomems = 0;
	write_at(510 * PAGE_SIZE + 7, &shorts, &nomems);      /* a new index page on the way */
	CHECK(shorts >= 4);
	CHECK_EQ(nomems, 1);
	fs_expect_back();
}

static void open_out_of_memory(void)
{
	fs_baseline();
	struct inode *ino;
	slab_fail_nth(1);
	int e = fs_open("/no/room", true, false, &ino);
	slab_fail_nth(0);
	CHECK_EQ(e, -ENOMEM);
	CHECK_EQ(fs_open("/no/room", false, false, &ino), -ENOENT);
	CHECK_EQ(fs_check(), 0);
	fs_expect_back();
}

void inject_tests(void)
{
	RUN(write_out_of_frames);
	RUN(open_out_of_memory);
}
