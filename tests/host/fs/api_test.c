/*
 * api_test.c - the calls one at a time: path rules, the file limit, holes,
 * unlink while open, a mapping that outlives its file, copies that fail.
 */
#include <stdlib.h>
#include <string.h>
#include "fs_test.h"
#include "mm/slab/slab.h"

static void bad_paths_refused(void)
{
	static const char *bad[] = {
		"", "a", "a/b", "/", "//", "//a", "/a/", "/a//b", "/./a", "/a/./b", "/a/.",
		"/.", "/..", "/../a", "/a/../b", "/a/..", "/a/b/",
	};
	static const char *good[] = { "/a", "/a/b", "/.a", "/a.", "/..a", "/a..", "/a/.b", "/...", "/a b" };
	struct inode *ino;
	fs_baseline();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int e = fs_open(bad[i], true, false, &ino);
		if (e != -EINVAL)
			printf("#   \"%s\": %d\n", bad[i], e);
		CHECK_EQ(e, -EINVAL);
		CHECK_EQ(fs_unlink(bad[i]), -EINVAL);
	}
	CHECK_EQ(fs_open(NULL, true, false, &ino), -EINVAL);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ino = open_ok(good[i], true);
		if (ino)
			fs_put(ino);
		CHECK_EQ(fs_unlink(good[i]), 0);
	}

	/* The longest path is FS_PATH_MAX - 1 bytes; one more is too long. */
	char p[FS_PATH_MAX + 1];
	memset(p, 'x', sizeof(p));
	p[0] = '/';
	p[FS_PATH_MAX] = 0;
	CHECK_EQ(fs_open(p, true, false, &ino), -ENAMETOOLONG);
	CHECK_EQ(fs_unlink(p), -ENAMETOOLONG);
	p[FS_PATH_MAX - 1] = 0;
	ino = open_ok(p, true);
	if (ino)
		fs_put(ino);
	CHECK_EQ(fs_unlink(p), 0);
	fs_expect_back();
}

static void open_create_excl(void)
{
	struct inode *a, *b;
	fs_baseline();
	CHECK_EQ(fs_open("/f", false, false, &a), -ENOENT);
	CHECK_EQ(fs_unlink("/f"), -ENOENT);
	REQUIRE(fs_open("/f", true, true, &a) == 0);
	CHECK_EQ(fs_size(a), 0);
	CHECK_EQ(fs_open("/f", true, true, &b), -EEXIST);
	REQUIRE(fs_open("/f", false, false, &b) == 0);
	CHECK(a == b);
	CHECK(fs_object(a) == fs_object(b));
	fs_put(b);
	fs_get(a);
	fs_put(a);
	/* "/f/g" is another file: a directory is only a shared prefix. */
	b = open_ok("/f/g", true);
	CHECK(a != b);
	struct fs_stats st;
	fs_stats(&st);
	CHECK_EQ(st.files, 2);
	CHECK_EQ(st.unlinked, 0);
	fs_put(a);
	fs_put(b);
	CHECK_EQ(fs_unlink("/f"), 0);
	CHECK_EQ(fs_unlink("/f"), -ENOENT);
	CHECK_EQ(fs_unlink("/f/g"), 0);
	fs_expect_back();
}

static void holes_read_as_zeroes(void)
{
	static uint8_t buf[5 * PAGE_SIZE];
	struct fs_stats st;
	fs_baseline();
	struct inode *ino = open_ok("/hole", true);
	REQUIRE(ino);
	CHECK_EQ(fs_write(ino, 3 * PAGE_SIZE + 5, "x", 1, copy_ok), 1);
	CHECK_EQ(fs_size(ino), 3 * PAGE_SIZE + 6);
	fs_stats(&st);
	CHECK_EQ(st.pages, 1);          /* the pages before it are holes: no frame */
	memset(buf, 0xaa, sizeof(buf));
	CHECK_EQ(fs_read(ino, 0, buf, sizeof(buf), copy_ok), 3 * PAGE_SIZE + 6);
	for (size_t i = 0; i < 3 * PAGE_SIZE + 6; i++)
		if (buf[i] != (i == 3 * PAGE_SIZE + 5 ? 'x' : 0)) {
			CHECK_EQ(i, ~0ull);
			break;
		}
	CHECK_EQ(buf[3 * PAGE_SIZE + 6], 0xaa);         /* nothing copied past the end */
	fs_stats(&st);
	CHECK_EQ(st.pages, 1);          /* a read makes no page */

	/* Reads at and past the end. */
	CHECK_EQ(fs_read(ino, 3 * PAGE_SIZE + 6, buf, 10, copy_ok), 0);
	CHECK_EQ(fs_read(ino, ~0ull, buf, 10, copy_ok), 0);
	CHECK_EQ(fs_read(ino, 3 * PAGE_SIZE + 5, buf, 10, copy_ok), 1);

	/* Cut inside the page, grown again: the cut bytes read as zeroes. */
	CHECK_EQ(fs_write(ino, 3 * PAGE_SIZE + 100, "yyyy", 4, copy_ok), 4);
	CHECK_EQ(fs_truncate(ino, 3 * PAGE_SIZE + 101), 0);
	CHECK_EQ(fs_truncate(ino, 4 * PAGE_SIZE + 1), 0);
	memset(buf, 0xaa, sizeof(buf));
	CHECK_EQ(fs_read(ino, 3 * PAGE_SIZE + 100, buf, 8, copy_ok), 8);
	CHECK(!memcmp(buf, "y\0\0\0\0\0\0\0", 8));
	CHECK_EQ(fs_truncate(ino, 0), 0);
	fs_stats(&st);
	CHECK_EQ(st.pages, 0);
	CHECK_EQ(fs_truncate(ino, FS_FILE_MAX), 0);
	CHECK_EQ(fs_truncate(ino, FS_FILE_MAX + 1), -EFBIG);
	CHECK_EQ(fs_size(ino), FS_FILE_MAX);
	CHECK_EQ(fs_read(ino, FS_FILE_MAX - 3, buf, 10, copy_ok), 3);
	CHECK_EQ(fs_write(ino, FS_FILE_MAX - 3, "abcd", 4, copy_ok), -EFBIG);
	CHECK_EQ(fs_write(ino, FS_FILE_MAX - 4, "abcd", 4, copy_ok), 4);
	CHECK_EQ(fs_write(ino, ~0ull - 1, "abcd", 4, copy_ok), -EFBIG);
	CHECK_EQ(fs_read(ino, 0, buf, 1, NULL), -EINVAL);
	CHECK_EQ(fs_write(ino, 0, buf, 1, NULL), -EINVAL);
	CHECK_EQ(fs_check(), 0);
	fs_put(ino);
	CHECK_EQ(fs_unlink("/hole"), 0);
	fs_expect_back();
}

static void unlink_while_open_keeps_data(void)
{
	char buf[16];
	struct fs_stats st;
	fs_baseline();
	struct inode *a = open_ok("/u", true);
	REQUIRE(a);
	CHECK_EQ(fs_write(a, 0, "old data", 8, copy_ok), 8);
	CHECK_EQ(fs_unlink("/u"), 0);
	struct inode *b;
	CHECK_EQ(fs_open("/u", false, false, &b), -ENOENT);
	fs_stats(&st);
	CHECK_EQ(st.files, 1);
	CHECK_EQ(st.unlinked, 1);
	CHECK_EQ(st.pages, 1);
	/* A new file of the same name is another file. */
	b = open_ok("/u", true);
	REQUIRE(b);
	CHECK(a != b);
	CHECK_EQ(fs_size(b), 0);
	CHECK_EQ(fs_write(b, 0, "new", 3, copy_ok), 3);
	CHECK_EQ(fs_write(a, 8, "!", 1, copy_ok), 1);    /* still writable */
	CHECK_EQ(fs_read(a, 0, buf, sizeof(buf), copy_ok), 9);
	CHECK(!memcmp(buf, "old data!", 9));
	CHECK_EQ(fs_check(), 0);
	fs_get(a);
	fs_put(a);
	CHECK_EQ(fs_read(a, 0, buf, sizeof(buf), copy_ok), 9);
	fs_put(a);
	fs_stats(&st);
	CHECK_EQ(st.files, 1);
	CHECK_EQ(st.unlinked, 0);
	fs_put(b);
	CHECK_EQ(fs_unlink("/u"), 0);
	fs_expect_back();
}

/*
 * A mapping's reference of the object keeps the frames and the inode's
 * memory (the object is in it) after the file is gone from the file system.
 */
static void mapping_outlives_file(void)
{
	fs_baseline();
	uint64_t objects = slab_live_objects();
	struct inode *ino = open_ok("/m", true);
	REQUIRE(ino);
	CHECK_EQ(fs_write(ino, PAGE_SIZE, "mapped", 6, copy_ok), 6);
	struct vm_object *o = fs_object(ino);
	vmo_get(o);                     /* as a VM_SHARED region does */
	fs_put(ino);
	CHECK_EQ(fs_unlink("/m"), 0);
	struct fs_stats st;
	fs_stats(&st);
	CHECK_EQ(st.files, 0);
	CHECK_EQ(slab_live_objects(), objects + 1);     /* the inode, held by its object */
	pa_t pa;
	REQUIRE(vmo_page(o, 1, false, &pa) == 0);
	CHECK(!memcmp(phys_to_virt(pa), "mapped", 6));
	vmo_page_put(pa);
	CHECK_EQ(vmo_check(o), 0);
	vmo_put(o);
	fs_expect_back();
}

static void files_max_enforced(void)
{
	static struct inode *f[FS_FILES_MAX];
	char p[32];
	struct inode *x;
	fs_baseline();
	for (unsigned i = 0; i < FS_FILES_MAX; i++) {
		snprintf(p, sizeof(p), "/n/%u", i);
		REQUIRE(fs_open(p, true, true, &f[i]) == 0);
	}
	CHECK_EQ(fs_open("/one/more", true, false, &x), -ENFILE);
	REQUIRE(fs_open("/n/7", true, false, &x) == 0);     /* an existing one still opens */
	CHECK(x == f[7]);
	fs_put(x);
	/* An unlinked file still counts while it is open, and stops counting with its last reference. */
	CHECK_EQ(fs_unlink("/n/7"), 0);
	CHECK_EQ(fs_open("/one/more", true, false, &x), -ENFILE);
	fs_put(f[7]);
	REQUIRE(fs_open("/one/more", true, false, &x) == 0);
	CHECK_EQ(fs_check(), 0);
	fs_put(x);
	CHECK_EQ(fs_unlink("/one/more"), 0);
	for (unsigned i = 0; i < FS_FILES_MAX; i++) {
		if (i == 7)
			continue;
		fs_put(f[i]);
		snprintf(p, sizeof(p), "/n/%u", i);
		CHECK_EQ(fs_unlink(p), 0);
	}
	fs_expect_back();
}

static void note_name(const char *path, uint64_t size, void *arg)
{
	char *s = arg;
	size_t n = strlen(s);
	snprintf(s + n, 128 - n, "%s=%llu ", path, (unsigned long long)size);
}

static void for_each_in_creation_order(void)
{
	char s[128] = "";
	fs_baseline();
	const char *names[] = { "/z", "/a", "/m/q" };
	for (int i = 0; i < 3; i++) {
		struct inode *ino = open_ok(names[i], true);
		REQUIRE(ino);
		CHECK_EQ(fs_write(ino, 0, "0123456789", (size_t)i + 1, copy_ok), i + 1);
		fs_put(ino);
	}
	struct inode *a = open_ok("/a", false);
	CHECK_EQ(fs_unlink("/a"), 0);   /* open, but without a name: not listed */
	fs_for_each(note_name, s);
	CHECK(!strcmp(s, "/z=1 /m/q=3 "));
	if (strcmp(s, "/z=1 /m/q=3 "))
		printf("#   listed: %s\n", s);
	fs_put(a);
	CHECK_EQ(fs_unlink("/z"), 0);
	CHECK_EQ(fs_unlink("/m/q"), 0);
	fs_expect_back();
}

/* A copy that fails: on the first page nothing is done, on a later one the count is short. */
static void copy_failures(void)
{
	static uint8_t data[3 * PAGE_SIZE], buf[3 * PAGE_SIZE];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	fs_baseline();
	struct inode *ino = open_ok("/c", true);
	REQUIRE(ino);
	uint64_t off = 100;

	copy_fail_from(1);
	CHECK_EQ(fs_write(ino, off, data, sizeof(data), copy_failing), -EFAULT);
	CHECK_EQ(fs_size(ino), 0);      /* nothing written: the file as it was */
	struct fs_stats st;
	fs_stats(&st);
	CHECK_EQ(st.pages, 0);

	copy_fail_from(2);
	CHECK_EQ(fs_write(ino, off, data, sizeof(data), copy_failing), PAGE_SIZE - off);
	CHECK_EQ(fs_size(ino), PAGE_SIZE);
	copy_fail_from(3);
	CHECK_EQ(fs_write(ino, off, data, sizeof(data), copy_failing), 2 * PAGE_SIZE - off);
	CHECK_EQ(fs_size(ino), 2 * PAGE_SIZE);
	fs_stats(&st);
	CHECK_EQ(st.pages, 2);          /* the page the failed copy was for went again */
	CHECK_EQ(fs_write(ino, off, data, sizeof(data), copy_ok), sizeof(data));
	CHECK_EQ(fs_size(ino), off + sizeof(data));

	/* A failed copy into a page inside the file keeps the size. */
	copy_fail_from(2);
	CHECK_EQ(fs_write(ino, 0, data, sizeof(data), copy_failing), PAGE_SIZE);
	CHECK_EQ(fs_size(ino), off + sizeof(data));

	copy_fail_from(1);
	CHECK_EQ(fs_read(ino, off, buf, sizeof(buf), copy_failing), -EFAULT);
	copy_fail_from(2);
	CHECK_EQ(fs_read(ino, off, buf, sizeof(buf), copy_failing), PAGE_SIZE - off);
	CHECK(!memcmp(buf, data + off, PAGE_SIZE - off));    /* the last write's bytes */
	copy_fail_from(3);
	CHECK_EQ(fs_read(ino, 0, buf, sizeof(buf), copy_failing), 2 * PAGE_SIZE);
	CHECK_EQ(fs_check(), 0);
	fs_put(ino);
	CHECK_EQ(fs_unlink("/c"), 0);
	fs_expect_back();
}

/*
 * A store past the end of a file through a shared mapping (the last page is
 * mapped whole), then the file grows, by ftruncate or by a write past the
 * end: the grown part reads as zeroes, as POSIX says.
 */
static void growth_after_a_store_past_the_end_reads_zeroes(void)
{
	fs_baseline();
	struct inode *ino = open_ok("/t", true);
	REQUIRE(ino);
	CHECK_EQ(fs_write(ino, 0, "abc", 3, copy_ok), 3);
	struct vm_object *o = fs_object(ino);
	pa_t pa;
	REQUIRE(vmo_page(o, 0, true, &pa) == 0);        /* as a VM_SHARED fault does */
	((char *)phys_to_virt(pa))[100] = 'X';          /* a store past the end, in the last page */
	vmo_page_put(pa);
	CHECK_EQ(fs_truncate(ino, 200), 0);             /* grow: bytes 3..199 must read as zeroes */
	char b[1] = { 0 };
	CHECK_EQ(fs_read(ino, 100, b, 1, copy_ok), 1);
	CHECK_EQ(b[0], 0);
	b[0] = 0;
	/* and through a write past the end, on a second file */
	struct inode *w = open_ok("/w", true);
	CHECK_EQ(fs_write(w, 0, "abc", 3, copy_ok), 3);
	CHECK_EQ(vmo_page(fs_object(w), 0, true, &pa), 0);
	((char *)phys_to_virt(pa))[100] = 'Y';
	vmo_page_put(pa);
	CHECK_EQ(fs_write(w, 300, "z", 1, copy_ok), 1);
	b[0] = 0;
	CHECK_EQ(fs_read(w, 100, b, 1, copy_ok), 1);
	CHECK_EQ(b[0], 0);
	fs_put(w);
	CHECK_EQ(fs_unlink("/w"), 0);
	fs_put(ino);
	CHECK_EQ(fs_unlink("/t"), 0);
	fs_expect_back();
}

void api_tests(void)
{
	RUN(growth_after_a_store_past_the_end_reads_zeroes);
	RUN(bad_paths_refused);
	RUN(open_create_excl);
	RUN(holes_read_as_zeroes);
	RUN(unlink_while_open_keeps_data);
	RUN(mapping_outlives_file);
	RUN(files_max_enforced);
	RUN(for_each_in_creation_order);
	RUN(copy_failures);
}
