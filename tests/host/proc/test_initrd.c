/*
 * test_initrd.c - the ustar reader (src/proc/initrd.c) against archives
 * written here, and one written by GNU tar (gnu-ustar.tar, made with
 * `tar --format=ustar -C dir .`: "./" names, directories, a path split
 * into prefix and name, an empty file).
 *
 * add() writes a header as POSIX describes it, with a correct checksum
 * unless told otherwise; the archive is copied into a heap buffer exactly
 * as long before reading, so ASan catches a read past its end.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "proc/initrd.h"
#include "test_initrd.h"
#include "ustar.h"

#define TAR_MAX (64 * 1024)

struct tar {
	uint8_t b[TAR_MAX];
	size_t len;
	uint8_t *copy;          /* the exact-length buffer last handed to the reader */
	struct initrd rd;
};

static struct tar t;

static void tar_reset(void)
{
	memset(t.b, 0, sizeof(t.b));
	t.len = 0;
}

/* Append an entry; returns its header so a test can spoil it (then call ustar_checksum or not). */
static uint8_t *add(const char *prefix, const char *name, char type, const void *data, size_t size)
{
	return ustar_add(t.b, &t.len, prefix, name, type, data, size);
}

static void add_file(const char *name, const char *text)
{
	add(NULL, name, '0', text, strlen(text));
}

/* The end as tar writes it: two zero blocks (already zero), then nothing or padding. */
static void finish(unsigned zero_blocks)
{
	t.len += 512 * zero_blocks;
}

static const struct initrd *rd_of(size_t len)
{
	free(t.copy);
	t.copy = malloc(len ? len : 1);
	memcpy(t.copy, t.b, len);
	t.rd = (struct initrd){ t.copy, len };
	return &t.rd;
}

static const struct initrd *rd(void)
{
	return rd_of(t.len);
}

static int check_count(const struct initrd *r, size_t *files)
{
	int e = initrd_check(r, files);
	if (e)
		printf("#   initrd_check: %s after %zu files\n", initrd_error_str(e), *files);
	return e;
}

static void three_files_listed_in_order(void)
{
	struct initrd_file f;
	size_t cursor = 0, n;
	tar_reset();
	add_file("init", "the first program");
	add(NULL, "bin/", '5', NULL, 0);
	add_file("bin/hello", "hello, world\n");
	char big[1300];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	add(NULL, "data/big", '\0', big, sizeof(big));   /* old-style regular file */
	finish(2);
	const struct initrd *r = rd();
	REQUIRE(initrd_next(r, &cursor, &f) == 1);
	CHECK(!strcmp(f.path, "init"));
	CHECK_EQ(f.size, 17);
	CHECK(!memcmp(f.data, "the first program", 17));
	CHECK(f.data == r->base + 512);
	REQUIRE(initrd_next(r, &cursor, &f) == 1);
	CHECK(!strcmp(f.path, "bin/hello"));
	CHECK_EQ(f.size, 13);
	CHECK(f.data == r->base + 512 * 4);
	REQUIRE(initrd_next(r, &cursor, &f) == 1);
	CHECK(!strcmp(f.path, "data/big"));
	CHECK_EQ(f.size, sizeof(big));
	CHECK(!memcmp(f.data, big, sizeof(big)));
	CHECK_EQ(initrd_next(r, &cursor, &f), 0);
	CHECK_EQ(initrd_next(r, &cursor, &f), 0);    /* the end stays the end */
	CHECK_EQ(check_count(r, &n), INITRD_OK);
	CHECK_EQ(n, 3);
}

static void find_by_path(void)
{
	struct initrd_file f;
	tar_reset();
	add_file("./init", "I");
	add_file("/abs", "A");
	add_file("bin/sh", "S");
	add_file("bin/shell", "L");
	finish(2);
	const struct initrd *r = rd();
	CHECK(initrd_find(r, "init", &f) && f.size == 1 && f.data[0] == 'I');
	CHECK(initrd_find(r, "/init", &f) && f.data[0] == 'I');
	CHECK(!strcmp(f.path, "init"));
	CHECK(initrd_find(r, "abs", &f) && f.data[0] == 'A');
	CHECK(!strcmp(f.path, "abs"));
	CHECK(initrd_find(r, "/bin/shell", &f) && f.data[0] == 'L');
	CHECK(initrd_find(r, "bin/sh", &f) && f.data[0] == 'S');
	CHECK(!initrd_find(r, "bin/s", &f));
	CHECK(!initrd_find(r, "bin", &f));
	CHECK(!initrd_find(r, "", &f));
	CHECK(!initrd_find(r, "nope", &f));
}

static void directories_and_links_skipped(void)
{
	struct initrd_file f;
	size_t cursor = 0, n;
	tar_reset();
	add(NULL, "dir/", '5', NULL, 0);
	/* A hard link says a size but stores no data (POSIX): the next header follows at once. */
	uint8_t *h = add(NULL, "link", '1', NULL, 0);
	ustar_octal(h + 124, 12, 4096);
	ustar_checksum(h);
	add(NULL, "sym", '2', NULL, 0);
	add(NULL, "fifo", '6', NULL, 0);
	add_file("dir/file", "F");
	finish(2);
	const struct initrd *r = rd();
	REQUIRE(initrd_next(r, &cursor, &f) == 1);
	CHECK(!strcmp(f.path, "dir/file"));
	CHECK(f.data == r->base + 512 * 5);
	CHECK_EQ(check_count(r, &n), INITRD_OK);
	CHECK_EQ(n, 1);
	CHECK(!initrd_find(r, "dir", &f) && !initrd_find(r, "dir/", &f) && !initrd_find(r, "link", &f));
}

static void long_names_with_prefix(void)
{
	struct initrd_file f;
	char pre[156], name[101], want[300];
	size_t n;
	memset(pre, 'p', 155), pre[155] = '\0';
	memset(name, 'n', 100), name[100] = '\0';
	tar_reset();
	add(NULL, name, '0', "1", 1);             /* a name filling its field, no NUL */
	add("usr/share", "doc.txt", '0', "2", 1);
	pre[154] = '\0';
	add(pre, name + 1, '0', "3", 1);          /* 154 + "/" + 99 = 254 bytes: fits */
	finish(2);
	const struct initrd *r = rd();
	CHECK_EQ(check_count(r, &n), INITRD_OK);
	CHECK_EQ(n, 3);
	CHECK(initrd_find(r, name, &f) && f.data[0] == '1');
	CHECK_EQ(strlen(f.path), 100);
	CHECK(initrd_find(r, "usr/share/doc.txt", &f) && f.data[0] == '2');
	snprintf(want, sizeof(want), "%s/%s", pre, name + 1);
	CHECK(initrd_find(r, want, &f) && f.data[0] == '3');
	CHECK_EQ(strlen(f.path), 254);

	/* A full prefix and a full name: 256 bytes, no room for the NUL. */
	pre[154] = 'p';
	tar_reset();
	add_file("ok", "x");
	add(pre, name, '0', "4", 1);
	finish(2);
	CHECK_EQ(check_count(rd(), &n), INITRD_E_NAME);
	CHECK_EQ(n, 1);
	/* 155 + "/" + 99 = 255 bytes: the longest that fits. */
	tar_reset();
	add(pre, name + 1, '0', "5", 1);
	finish(2);
	CHECK_EQ(check_count(rd(), &n), INITRD_OK);
	CHECK(initrd_next(rd(), &(size_t){ 0 }, &f) == 1 && strlen(f.path) == 255);
}

static void sizes_at_block_edges(void)
{
	static char data[1025];
	struct initrd_file f;
	size_t cursor = 0;
	memset(data, 'z', sizeof(data));
	tar_reset();
	add(NULL, "zero", '0', NULL, 0);
	add(NULL, "one-block", '0', data, 512);
	add(NULL, "two-and-a-bit", '0', data, 1025);
	add_file("last", "L");
	finish(2);
	const struct initrd *r = rd();
	size_t want_size[] = { 0, 512, 1025, 1 }, want_at[] = { 512, 1024, 2048, 3584 + 512 };
	for (int i = 0; i < 4; i++) {
		REQUIRE(initrd_next(r, &cursor, &f) == 1);
		CHECK_EQ(f.size, want_size[i]);
		CHECK_EQ(f.data - r->base, want_at[i]);
	}
	CHECK_EQ(initrd_next(r, &cursor, &f), 0);
}

static void field_spellings_accepted(void)
{
	struct initrd_file f;
	size_t n;
	tar_reset();
	uint8_t *h = add(NULL, "spaces", '0', "abc", 3);
	memcpy(h + 124, "      3     ", 12);           /* leading spaces, space terminated */
	ustar_checksum(h);
	h = add(NULL, "twelve", '0', "abcd", 4);
	memcpy(h + 124, "000000000004", 12);           /* every byte a digit */
	ustar_checksum(h);
	h = add(NULL, "gnu", '0', "g", 1);
	memcpy(h + 257, "ustar  \0", 8);               /* GNU tar's old magic */
	ustar_checksum(h);
	h = add(NULL, "sum-spaces", '0', "s", 1);
	unsigned sum = 0;
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	char s[9];
	snprintf(s, sizeof(s), "%7o", sum);            /* leading spaces in the checksum */
	memcpy(h + 148, s, 7);
	finish(2);
	const struct initrd *r = rd();
	CHECK_EQ(check_count(r, &n), INITRD_OK);
	CHECK_EQ(n, 4);
	CHECK(initrd_find(r, "spaces", &f) && f.size == 3);
	CHECK(initrd_find(r, "twelve", &f) && f.size == 4);
	CHECK(initrd_find(r, "gnu", &f) && f.size == 1);
	CHECK(initrd_find(r, "sum-spaces", &f) && f.size == 1);
}

static void end_of_archive(void)
{
	size_t n, cursor = 0;
	struct initrd_file f;
	tar_reset();
	add_file("a", "1");
	size_t body = t.len;
	finish(2);
	CHECK_EQ(check_count(rd_of(body + 1024), &n), INITRD_OK);
	CHECK_EQ(n, 1);
	CHECK_EQ(check_count(rd_of(body + 512), &n), INITRD_OK);    /* one zero block is enough */
	CHECK_EQ(initrd_check(rd_of(body), &n), INITRD_E_NO_END);
	CHECK_EQ(n, 1);
	CHECK_EQ(initrd_check(rd_of(body + 100), &n), INITRD_E_SHORT);   /* a cut zero block */
	CHECK_EQ(initrd_check(rd_of(0), &n), INITRD_E_NO_END);
	CHECK_EQ(n, 0);
	CHECK_EQ(initrd_next(rd_of(0), &cursor, &f), -INITRD_E_NO_END);
	/* Padded to tar's 10240-byte record, with junk after the end not read. */
	t.len = 10240;
	t.b[10239] = 0xff;
	CHECK_EQ(check_count(rd(), &n), INITRD_OK);
	/* An archive of nothing but zero blocks holds no files. */
	tar_reset();
	finish(2);
	CHECK_EQ(check_count(rd(), &n), INITRD_OK);
	CHECK_EQ(n, 0);
	CHECK(!initrd_find(rd(), "a", &f));
}

/* A good file, then a header spoiled by edit(); expect err, and the cursor left at the bad header. */
static void expect_bad_second(void (*edit)(uint8_t *h), int err)
{
	size_t n, cursor = 0;
	struct initrd_file f;
	tar_reset();
	add_file("good", "G");
	uint8_t *h = add(NULL, "bad", '0', "B", 1);
	add_file("after", "A");
	finish(2);
	edit(h);
	const struct initrd *r = rd();
	int e = initrd_check(r, &n);
	if (e != err)
		printf("#   got %s, want %s\n", initrd_error_str(e), initrd_error_str(err));
	CHECK_EQ(e, err);
	CHECK_EQ(n, 1);
	CHECK_EQ(initrd_next(r, &cursor, &f), 1);
	CHECK_EQ(cursor, 1024);
	CHECK_EQ(initrd_next(r, &cursor, &f), -err);
	CHECK_EQ(cursor, 1024);
	CHECK(!initrd_find(r, "after", &f));
	CHECK(initrd_find(r, "good", &f));
}

static void no_magic(uint8_t *h) { memcpy(h + 257, "ustaR", 5); ustar_checksum(h); }
static void old_tar(uint8_t *h) { memset(h + 257, 0, 8); ustar_checksum(h); }
static void wrong_version(uint8_t *h) { memcpy(h + 263, "01", 2); ustar_checksum(h); }
static void name_changed(uint8_t *h) { h[0] = 'c'; }
static void sum_off_by_one(uint8_t *h) { h[148 + 5]++; }
static void sum_not_octal(uint8_t *h) { h[148 + 2] = '9'; }
static void sum_empty(uint8_t *h) { memset(h + 148, ' ', 8); }
static void size_nine(uint8_t *h) { h[124 + 10] = '9'; ustar_checksum(h); }
static void size_base256(uint8_t *h) { memset(h + 124, 0, 12); h[124] = 0x80; h[135] = 1; ustar_checksum(h); }
static void size_empty(uint8_t *h) { memset(h + 124, 0, 12); ustar_checksum(h); }
static void size_junk_after(uint8_t *h) { h[124 + 11] = 'x'; ustar_checksum(h); }
static void size_past_end(uint8_t *h) { ustar_octal(h + 124, 12, 4096); ustar_checksum(h); }
static void size_huge(uint8_t *h) { memcpy(h + 124, "77777777777", 11); ustar_checksum(h); }
static void name_empty(uint8_t *h) { memset(h, 0, 100); ustar_checksum(h); }
static void name_dot_slash(uint8_t *h) { memcpy(h, "./\0", 3); ustar_checksum(h); }
static void name_slashes(uint8_t *h) { memcpy(h, "//", 3); ustar_checksum(h); }
static void empty_name_dir(uint8_t *h) { memset(h, 0, 100); h[156] = '5'; ustar_checksum(h); }

static void bad_headers_refused(void)
{
	expect_bad_second(no_magic, INITRD_E_MAGIC);
	expect_bad_second(old_tar, INITRD_E_MAGIC);
	expect_bad_second(wrong_version, INITRD_E_MAGIC);
	expect_bad_second(name_changed, INITRD_E_CHECKSUM);
	expect_bad_second(sum_off_by_one, INITRD_E_CHECKSUM);
	expect_bad_second(sum_not_octal, INITRD_E_CHECKSUM);
	expect_bad_second(sum_empty, INITRD_E_CHECKSUM);
	expect_bad_second(size_nine, INITRD_E_SIZE);
	expect_bad_second(size_base256, INITRD_E_SIZE);
	expect_bad_second(size_empty, INITRD_E_SIZE);
	expect_bad_second(size_junk_after, INITRD_E_SIZE);
	expect_bad_second(size_past_end, INITRD_E_SHORT);
	expect_bad_second(size_huge, INITRD_E_SHORT);
	expect_bad_second(name_empty, INITRD_E_NAME);
	expect_bad_second(name_dot_slash, INITRD_E_NAME);
	expect_bad_second(name_slashes, INITRD_E_NAME);
	expect_bad_second(empty_name_dir, INITRD_E_NAME);
}

static void truncated_archives(void)
{
	size_t n;
	tar_reset();
	add_file("a", "1");
	add(NULL, "b", '0', "22", 2);
	finish(2);
	CHECK_EQ(initrd_check(rd_of(1024 + 511), &n), INITRD_E_SHORT);  /* b's header cut */
	CHECK_EQ(n, 1);
	CHECK_EQ(initrd_check(rd_of(1024 + 513), &n), INITRD_E_SHORT);  /* b's data cut */
	CHECK_EQ(initrd_check(rd_of(1024 + 514), &n), INITRD_E_NO_END); /* b whole, its padding cut */
	CHECK_EQ(n, 2);
	CHECK_EQ(initrd_check(rd_of(100), &n), INITRD_E_SHORT);
	CHECK_EQ(n, 0);
}

static void error_strings(void)
{
	for (int e = 0; e < INITRD_E_COUNT; e++) {
		CHECK(initrd_error_str(e)[0]);
		CHECK(initrd_error_str(-e) == initrd_error_str(e));
		for (int g = 0; g < e; g++)
			CHECK(strcmp(initrd_error_str(e), initrd_error_str(g)) != 0);
	}
	CHECK(initrd_error_str(INITRD_E_COUNT)[0]);
}

static size_t read_fixture(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(t.b, 1, sizeof(t.b), f);
	fclose(f);
	return n;
}

static void gnu_tar_archive(void)
{
	struct initrd_file f;
	size_t n, cursor = 0;
	const char *deep = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
			   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/deep.txt";
	tar_reset();
	t.len = read_fixture("tests/host/proc/gnu-ustar.tar");
	REQUIRE(t.len == 10240);
	const struct initrd *r = rd();
	CHECK_EQ(check_count(r, &n), INITRD_OK);
	CHECK_EQ(n, 4);
	const char *order[] = { deep, "bin/hello", "bin/k1000", "empty" };
	for (int i = 0; i < 4; i++) {
		REQUIRE(initrd_next(r, &cursor, &f) == 1);
		CHECK(!strcmp(f.path, order[i]));
	}
	CHECK(initrd_find(r, "/bin/hello", &f) && f.size == 6 && !memcmp(f.data, "hello\n", 6));
	CHECK(initrd_find(r, deep, &f) && f.size == 5 && !memcmp(f.data, "deep\n", 5));
	CHECK(initrd_find(r, "bin/k1000", &f) && f.size == 1000 && f.data[999] == 'x');
	CHECK(initrd_find(r, "empty", &f) && f.size == 0);
}

/* The archive make builds (tests/fuzz/corpus/initrd/user-initrd.tar): /init and /data/. */
static void make_built_archive(void)
{
	struct initrd_file f;
	size_t n;
	static uint8_t elf[1 << 16];
	FILE *e = fopen("tests/fuzz/corpus/elf/user-init", "rb");
	REQUIRE(e != NULL);
	size_t elen = fread(elf, 1, sizeof(elf), e);
	fclose(e);
	tar_reset();
	t.len = read_fixture("tests/fuzz/corpus/initrd/user-initrd.tar");
	REQUIRE(t.len > 0);
	const struct initrd *r = rd();
	CHECK_EQ(check_count(r, &n), INITRD_OK);
	REQUIRE(initrd_find(r, "/init", &f));
	CHECK_EQ(f.size, elen);
	CHECK(!memcmp(f.data, elf, elen));
	/* make packs user/data/ as /data/: the bad programs are there as they are. */
	e = fopen("user/data/bad_wx.elf", "rb");
	REQUIRE(e != NULL);
	elen = fread(elf, 1, sizeof(elf), e);
	fclose(e);
	REQUIRE(initrd_find(r, "data/bad_wx.elf", &f));
	CHECK_EQ(f.size, elen);
	CHECK(!memcmp(f.data, elf, elen));
	CHECK_EQ(n, 5);
}

/* Random damage to a good archive: refused, or every file lies inside it with a clean path. */
static void mutations_stay_inside(void)
{
	unsigned ok = 0, bad = 0;
	rnd_seed(7);
	tar_reset();
	add_file("init", "the first program");
	add(NULL, "bin/", '5', NULL, 0);
	add("usr/share", "doc", '0', "docs", 4);
	add_file("./x", "xx");
	finish(2);
	size_t len = t.len;
	uint8_t orig[8192];
	memcpy(orig, t.b, len);
	for (unsigned it = 0; it < 20000; it++) {
		memcpy(t.b, orig, len);
		unsigned edits = 1 + rnd() % 4;
		for (unsigned k = 0; k < edits; k++)
			t.b[rnd() % len] = (uint8_t)(rnd() % 4 ? '0' + rnd() % 10 : rnd());
		size_t l = rnd() % 4 ? len : rnd() % (len + 1);
		/* Repair the checksums half the time, so damage gets past them. */
		for (size_t at = 0; rnd() % 2 && at + 512 <= l; at += 512)
			if (!memcmp(t.b + at + 257, "ustar", 5))
				ustar_checksum(t.b + at);
		const struct initrd *r = rd_of(l);
		struct initrd_file f;
		size_t cursor = 0;
		int e;
		while ((e = initrd_next(r, &cursor, &f)) == 1) {
			size_t pl = strnlen(f.path, INITRD_NAME_MAX);
			CHECK(pl > 0 && pl < INITRD_NAME_MAX);
			CHECK(f.path[0] != '/' && strncmp(f.path, "./", 2));
			CHECK(f.data >= r->base + 512 && f.data <= r->base + l);
			CHECK(f.size <= (size_t)(r->base + l - f.data));
			volatile uint8_t sink = 0;
			for (size_t i = 0; i < f.size; i++)
				sink ^= f.data[i];
			(void)sink;
		}
		CHECK(e <= 0 && e > -INITRD_E_COUNT);
		if (e < 0)
			bad++;
		else
			ok++;
		if (check_failed_in_test)
			break;
	}
	printf("#   %u read to the end, %u refused\n", ok, bad);
	CHECK(ok > 1000 && bad > 1000);
}

void test_initrd_all(void)
{
	RUN(three_files_listed_in_order);
	RUN(find_by_path);
	RUN(directories_and_links_skipped);
	RUN(long_names_with_prefix);
	RUN(sizes_at_block_edges);
	RUN(field_spellings_accepted);
	RUN(end_of_archive);
	RUN(bad_headers_refused);
	RUN(truncated_archives);
	RUN(error_strings);
	RUN(gnu_tar_archive);
	RUN(make_built_archive);
	RUN(mutations_stay_inside);
	free(t.copy);
	t.copy = NULL;
}
