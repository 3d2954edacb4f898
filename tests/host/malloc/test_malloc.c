/*
 * test_malloc.c - the user heap (user/lib/malloc/) on the host, called
 * by its internal names since ASan owns the real malloc here: the
 * runner and the helpers every test file shares.
 *
 * The debug and guard tests run first, each in a forked child, since the
 * options must be set before the process's first allocation: the parent
 * has not allocated from the heap yet when they fork.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "malloc_test.h"

size_t design_class(size_t n, size_t align)
{
	size_t c = n ? n : 1;
	if (align < 16)
		align = 16;
	for (;;) {
		size_t step;
		if (c <= 128)
			step = 16;
		else {
			size_t b = 128;
			while (b * 2 < c)
				b *= 2;
			step = b / 4;           /* each power of two cut in four */
		}
		c = (c + step - 1) / step * step;
		if (c > SMALL_MAX)
			return 0;
		if (c % align == 0)
			return c;
		c++;                    /* the next class up */
	}
}

int design_classes(size_t *out, int max)
{
	int k = 0;
	for (size_t c = design_class(1, 16); c && k < max; c = design_class(c + 1, 16))
		out[k++] = c;
	return k;
}

static inline uint64_t pat_word(uint64_t id, size_t k)
{
	uint64_t x = (id + 1) * 0x9E3779B97F4A7C15ULL ^ (k + 1) * 0xD1B54A32D192ED03ULL;
	return x ^ x >> 29;
}

static inline uint8_t pat_byte(uint64_t id, size_t i)
{
	return (uint8_t)(pat_word(id, i >> 3) >> (i & 7) * 8);
}

void pat_fill(void *p, size_t from, size_t to, uint64_t id)
{
	uint8_t *b = p;
	size_t i = from;
	for (; i < to && (i & 7); i++)
		b[i] = pat_byte(id, i);
	for (; i + 8 <= to; i += 8)
		*(uint64_t *)(b + i) = pat_word(id, i >> 3);
	for (; i < to; i++)
		b[i] = pat_byte(id, i);
}

size_t pat_check(const void *p, size_t from, size_t to, uint64_t id)
{
	const uint8_t *b = p;
	size_t i = from;
	for (; i < to && (i & 7); i++)
		if (b[i] != pat_byte(id, i))
			return i;
	for (; i + 8 <= to; i += 8)
		if (*(const uint64_t *)(b + i) != pat_word(id, i >> 3))
			break;
	for (; i < to; i++)
		if (b[i] != pat_byte(id, i))
			return i;
	return SIZE_MAX;
}

size_t bytes_not(const void *p, size_t from, size_t to, uint8_t v)
{
	const uint8_t *b = p;
	for (size_t i = from; i < to; i++)
		if (b[i] != v)
			return i;
	return SIZE_MAX;
}

char misuse_lines[MAX_LINES][256];
int misuse_count;

void misuse_capture(const char *line)
{
	if (misuse_count < MAX_LINES)
		snprintf(misuse_lines[misuse_count], sizeof(misuse_lines[0]), "%s", line);
	misuse_count++;
}

void misuse_reset(void)
{
	misuse_count = 0;
}

int line_names(int i, const void *p)
{
	char hex[32];
	const char *at;
	if (i >= misuse_count || i >= MAX_LINES)
		return 0;
	snprintf(hex, sizeof(hex), "0x%" PRIxPTR, (uintptr_t)p);
	for (at = misuse_lines[i]; (at = strstr(at, hex)); at++) {
		char next = at[strlen(hex)];
		if (!((next >= '0' && next <= '9') || (next >= 'a' && next <= 'f')))
			return 1;
	}
	printf("#   line '%s' does not name %s\n", misuse_lines[i], hex);
	return 0;
}

struct sm_stats stats(void)
{
	struct sm_stats s;
	memset(&s, 0xff, sizeof(s));
	sm_stats(&s);
	return s;
}

uint64_t os_calls(const struct sm_stats *s)
{
	return s->os_reserves + s->os_releases + s->os_decommits;
}

size_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

void run_in_child(void (*fn)(void))
{
	int status = 0;
	fflush(stdout);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		check_failed_in_test = 0;
		fn();
		fflush(stdout);
		_exit(check_failed_in_test ? 1 : 0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status))
		printf("#   child ended by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void debug_mode(void) { run_in_child(debug_mode_poisons_and_redzones); }
static void guard_mode(void) { run_in_child(guard_mode_faults_past_large_end); }

int main(void)
{
	RUN(debug_mode);        /* first: no allocation before these forks */
	RUN(guard_mode);
	RUN(fork_after_racing_setup);
	sm_set_misuse_hook(misuse_capture);
	RUN(classes_follow_design);
	RUN(interface_edges);
	RUN(random_against_model);
	RUN(memory_returns_to_os);
	RUN(alloc_free_loop_no_thrash);
	RUN(misuse_double_free);
	RUN(misuse_invalid_free);
	RUN(misuse_realloc_freed);
	RUN(forged_link_never_handed_out);
	RUN(misuse_cross_thread);
	RUN(abandoned_pages_trimmed);
	RUN(producer_consumer);
	RUN(threads_cross_free_and_abandon);
	return check_finish();
}
