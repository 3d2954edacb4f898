/* test_kprintf.c - the formatter, byte for byte, through ksnprintf. */
#include <string.h>
#include "check.h"
#include "lib/kprintf.h"

#define EXPECT_FMT(want, ...) do { \
	char buf_[128]; \
	int n_ = ksnprintf(buf_, sizeof(buf_), __VA_ARGS__); \
	if (strcmp(buf_, want) || n_ != (int)strlen(want)) { \
		printf("#   got \"%s\" (%d), want \"%s\"\n", buf_, n_, want); \
		CHECK(!"format mismatch"); \
	} } while (0)

static void integers(void)
{
	EXPECT_FMT("0", "%d", 0);
	EXPECT_FMT("-2147483648", "%d", (int)0x80000000);
	EXPECT_FMT("4294967295", "%u", 0xffffffffu);
	EXPECT_FMT("-9223372036854775808", "%ld", (long)0x8000000000000000UL);
	EXPECT_FMT("18446744073709551615", "%lu", ~0UL);
	EXPECT_FMT("ffffffffffffffff", "%lx", ~0UL);
	EXPECT_FMT("DEADBEEF", "%X", 0xdeadbeefu);
	EXPECT_FMT("42", "%zu", (size_t)42);
	EXPECT_FMT("7", "%llu", 7ULL);
}

static void width_and_padding(void)
{
	EXPECT_FMT("   42", "%5d", 42);
	EXPECT_FMT("00042", "%05d", 42);
	EXPECT_FMT("-0042", "%05d", -42);
	EXPECT_FMT("42   |", "%-5d|", 42);
	EXPECT_FMT("0x00000000000000ff", "0x%016lx", 0xffUL);
	EXPECT_FMT("123456", "%3d", 123456);
	EXPECT_FMT("  ab", "%4s", "ab");
	EXPECT_FMT("ab  |", "%-4s|", "ab");
}

static void strings_chars_pointers(void)
{
	const char *volatile null_string = NULL;
	EXPECT_FMT("(null)", "%s", null_string);
	EXPECT_FMT("x%y", "%c%%%c", 'x', 'y');
	EXPECT_FMT("0x1000", "%p", (void *)0x1000);
}

static void truncation(void)
{
	char buf[8];
	int n = ksnprintf(buf, sizeof(buf), "%s", "0123456789");
	CHECK_EQ(n, 10);
	CHECK(!strcmp(buf, "0123456"));
	CHECK_EQ(ksnprintf(NULL, 0, "%d", 12345), 5);
}

int main(void)
{
	RUN(integers);
	RUN(width_and_padding);
	RUN(strings_chars_pointers);
	RUN(truncation);
	return check_finish();
}
