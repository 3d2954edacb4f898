/*
 * malloc_test.h - what the user heap's host tests share: the library by
 * its internal names, a byte pattern that says which block a byte belongs
 * to and where, the misuse hook's captured lines, and the design's facts
 * the tests check against (docs/user_heap.md: classes, segment and page
 * sizes on Linux).
 */
#ifndef STRATA_TESTS_MALLOC_TEST_H
#define STRATA_TESTS_MALLOC_TEST_H

#include <stddef.h>
#include <stdint.h>
#include "check.h"
#include "user/lib/malloc/strata_malloc.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define SEG_SIZE  (4 * MIB)     /* a segment on Linux, aligned to its size */
#define PAGE_SIZE (64 * KIB)    /* a page of one class inside a segment */
#define OS_PAGE   4096
#define SMALL_MAX (32 * KIB)    /* the largest class; above, large */

/* The class a request of n bytes at alignment align gets by the design; 0 if large. */
size_t design_class(size_t n, size_t align);
/* Every class of the design, ascending; returns how many. */
int design_classes(size_t *out, int max);

/* Bytes [from, to) of block p get id's pattern; check returns the first wrong offset or SIZE_MAX. */
void pat_fill(void *p, size_t from, size_t to, uint64_t id);
size_t pat_check(const void *p, size_t from, size_t to, uint64_t id);
/* The first offset in [from, to) whose byte is not b, or SIZE_MAX. */
size_t bytes_not(const void *p, size_t from, size_t to, uint8_t b);

/* The misuse hook: lines captured instead of the abort. */
#define MAX_LINES 16
extern char misuse_lines[MAX_LINES][256];
extern int misuse_count;
void misuse_capture(const char *line);
void misuse_reset(void);
/* Line i names pointer p as 0x<hex>, with no more hex digits after it. */
int line_names(int i, const void *p);

struct sm_stats stats(void);
uint64_t os_calls(const struct sm_stats *s);
/* Resident bytes of this process (/proc/self/statm). */
size_t rss_bytes(void);

/* Run fn in a forked child (before the parent's first allocation, for options); CHECK its result. */
void run_in_child(void (*fn)(void));

/* The tests, one file each. */
void debug_mode_poisons_and_redzones(void);
void guard_mode_faults_past_large_end(void);
void fork_after_racing_setup(void);
void classes_follow_design(void);
void interface_edges(void);
void random_against_model(void);
void memory_returns_to_os(void);
void alloc_free_loop_no_thrash(void);
void threads_cross_free_and_abandon(void);
void producer_consumer(void);
void misuse_double_free(void);
void misuse_invalid_free(void);
void misuse_realloc_freed(void);
void forged_link_never_handed_out(void);
void misuse_cross_thread(void);
void abandoned_pages_trimmed(void);

#endif
