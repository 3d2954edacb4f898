/*
 * init_test.c - fs_init over small ustar archives written here: every
 * regular file becomes "/<path>", byte for byte; a bad archive stops with
 * -EINVAL and keeps what came before it.
 */
#include <stdlib.h>
#include <string.h>
#include "fs_test.h"
#include "ustar.h"

#define TAR_MAX (64 * 1024)

static uint8_t tar[TAR_MAX];
static size_t tar_len;

/* Append an entry of type type ('0' a file, '5' a directory); returns its header. */
static uint8_t *add(const char *name, char type, const void *data, size_t size)
{
	return ustar_add(tar, &tar_len, NULL, name, type, data, size);
}

static void expect_file(const char *path, const void *data, size_t size)
{
	static uint8_t buf[TAR_MAX];
	struct inode *ino = open_ok(path, false);
	if (!ino)
		return;
	CHECK_EQ(fs_size(ino), size);
	CHECK_EQ(fs_read(ino, 0, buf, sizeof(buf), copy_ok), size);
	CHECK(!memcmp(buf, data, size));
	fs_put(ino);
}

static void ramdisk_files_copied_in(void)
{
	static uint8_t big[10000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31);
	fs_baseline();
	memset(tar, 0, sizeof(tar));
	tar_len = 0;
	add("init", '0', "\x7f" "ELF", 4);
	add("./data/", '5', NULL, 0);
	add("./data/big", '0', big, sizeof(big));
	add("empty", '0', NULL, 0);
	tar_len += 1024;
	/* A file there already is replaced, not written over. */
	struct inode *ino = open_ok("/init", true);
	REQUIRE(ino);
	CHECK_EQ(fs_write(ino, 0, big, 2 * PAGE_SIZE, copy_ok), 2 * PAGE_SIZE);
	fs_put(ino);
	struct initrd rd = { tar, tar_len };
	CHECK_EQ(fs_init(&rd), 3);
	expect_file("/init", "\x7f" "ELF", 4);
	expect_file("/data/big", big, sizeof(big));
	expect_file("/empty", "", 0);
	CHECK_EQ(fs_open("/data", false, false, &ino), -ENOENT);  /* directories are not files */
	struct fs_stats st;
	fs_stats(&st);
	CHECK_EQ(st.files, 3);
	CHECK_EQ(st.pages, 1 + 3);
	CHECK_EQ(fs_check(), 0);
	CHECK_EQ(fs_unlink("/init"), 0);
	CHECK_EQ(fs_unlink("/data/big"), 0);
	CHECK_EQ(fs_unlink("/empty"), 0);
	fs_expect_back();
}

static void bad_archive_keeps_what_came_before(void)
{
	fs_baseline();
	memset(tar, 0, sizeof(tar));
	tar_len = 0;
	add("first", '0', "1", 1);
	uint8_t *h = add("second", '0', "2", 1);
	h[0] = 'S';                     /* the checksum no longer matches */
	tar_len += 1024;
	struct initrd rd = { tar, tar_len };
	CHECK_EQ(fs_init(&rd), -EINVAL);
	expect_file("/first", "1", 1);
	struct inode *ino;
	CHECK_EQ(fs_open("/second", false, false, &ino), -ENOENT);
	CHECK_EQ(fs_open("/Second", false, false, &ino), -ENOENT);

	/* A name that cannot be a path. */
	memset(tar, 0, sizeof(tar));
	tar_len = 0;
	add("a//b", '0', "x", 1);
	tar_len += 1024;
	rd = (struct initrd){ tar, tar_len };
	CHECK_EQ(fs_init(&rd), -EINVAL);
	struct fs_stats st;
	fs_stats(&st);
	CHECK_EQ(st.files, 1);
	CHECK_EQ(fs_unlink("/first"), 0);
	fs_expect_back();
}

void init_tests(void)
{
	RUN(ramdisk_files_copied_in);
	RUN(bad_archive_keeps_what_came_before);
}
