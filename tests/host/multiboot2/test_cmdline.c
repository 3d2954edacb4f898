/*
 * test_cmdline.c - the command-line options (src/kernel/cmdline.c, plain C)
 * on the host: what the getters see, and what cmdline_check() reports.
 */
#include <string.h>
#include "check.h"
#include "kernel/cmdline.h"
#include "test_cmdline.h"

static char reported[8][96];
static unsigned nreported;

static void report(const char *msg)
{
	if (nreported < 8)
		snprintf(reported[nreported], sizeof(reported[0]), "%s", msg);
	nreported++;
}

static unsigned check_line(const char *line)
{
	nreported = 0;
	cmdline_init(line);
	unsigned n = cmdline_check(report);
	CHECK_EQ(n, nreported);
	return n;
}

static void options_are_found(void)
{
	char buf[16];
	CHECK_EQ(check_line("  mode=test   ktest=buddy slab.debug=3 "), 0);
	CHECK(cmdline_is("mode", "test"));
	CHECK(cmdline_get("ktest", buf, sizeof(buf)) && !strcmp(buf, "buddy"));
	CHECK_EQ(cmdline_int("slab.debug", -1), 3);
	CHECK_EQ(cmdline_int("slab.trace", -1), -1);
	CHECK(!cmdline_get("nothing", buf, sizeof(buf)));
}

/* A key is a whole word before '=': no prefix of a key, no prefix of a value. */
static void keys_and_values_match_exactly(void)
{
	check_line("modex=test mode=testx ktest.fail=1");
	CHECK(!cmdline_is("mode", "test"));
	CHECK(cmdline_is("mode", "testx"));
	CHECK(!cmdline_is("mode", "testxy"));
	CHECK_EQ(cmdline_int("ktest", 7), 7);
	CHECK_EQ(cmdline_int("ktest.fail", 0), 1);
	check_line("mode=run mode=test");
	CHECK(cmdline_is("mode", "run"));     /* the first one counts */
}

/* A value longer than the buffer is cut, never a prefix match. */
static void long_value_cut_not_matched(void)
{
	char buf[4];
	check_line("ktest=pagingpagingpaging");
	CHECK(cmdline_get("ktest", buf, sizeof(buf)) && !strcmp(buf, "pag"));
	CHECK(!cmdline_is("ktest", "paging"));
	CHECK(!cmdline_is("ktest", "pag"));
}

/* There are no bare flags: a word without '=' is reported and not an option. */
static void words_without_equals_reported(void)
{
	CHECK_EQ(check_line("mode=test ktest.fail =x ktest=vmm"), 2);
	CHECK(strstr(reported[0], "'ktest.fail'") && strstr(reported[0], "not key=value"));
	CHECK(strstr(reported[1], "'=x'"));
	CHECK_EQ(cmdline_int("ktest.fail", 0), 0);
	CHECK(cmdline_is("ktest", "vmm"));
	CHECK_EQ(check_line(""), 0);
	CHECK_EQ(check_line("   "), 0);
	CHECK_EQ(check_line("a=1 b= c=="), 0);   /* empty values are values */
}

/* A long word is quoted cut, the message stays one line. */
static void long_bad_word_quoted_cut(void)
{
	static char line[300];
	memset(line, 'w', sizeof(line) - 1);
	CHECK_EQ(check_line(line), 1);
	CHECK(strlen(reported[0]) < 96);
	CHECK(strstr(reported[0], "not key=value"));
}

/* Numbers too big for a long are not numbers (no signed overflow). */
static void huge_number_is_default(void)
{
	check_line("slab.debug=99999999999999999999999 slab.trace=9223372036854775807 x=12a");
	CHECK_EQ(cmdline_int("slab.debug", -1), -1);
	CHECK_EQ(cmdline_int("slab.trace", -1), 9223372036854775807L);
	CHECK_EQ(cmdline_int("x", -1), -1);
}

void test_cmdline_all(void)
{
	RUN(options_are_found);
	RUN(keys_and_values_match_exactly);
	RUN(long_value_cut_not_matched);
	RUN(words_without_equals_reported);
	RUN(long_bad_word_quoted_cut);
	RUN(huge_number_is_default);
}
