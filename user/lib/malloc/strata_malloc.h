/*
 * strata_malloc.h - the user heap's interface, by internal names.
 *
 * The same library serves Strata's programs and Linux programs: the C
 * names (malloc, free, ...) are thin exports of these (export_linux.c on
 * Linux, user/lib on Strata), and the host tests call these directly,
 * since under ASan the real malloc is ASan's. docs/user_heap.md has the
 * design.
 */
#ifndef STRATA_MALLOC_H
#define STRATA_MALLOC_H

#include <stddef.h>
#include <stdint.h>

void *sm_malloc(size_t n);
void sm_free(void *p);
void *sm_calloc(size_t n, size_t size);
void *sm_realloc(void *p, size_t n);
void *sm_reallocarray(void *p, size_t n, size_t size);
void *sm_aligned_alloc(size_t align, size_t n);
int sm_posix_memalign(void **out, size_t align, size_t n);
void *sm_memalign(size_t align, size_t n);
void *sm_valloc(size_t n);
void *sm_pvalloc(size_t n);
size_t sm_malloc_usable_size(const void *p);

/* What the heap holds, summed over every thread's heap and the abandoned pages. */
struct sm_stats {
	uint64_t segments;              /* segments reserved from the OS now (large ones included) */
	uint64_t reserved_bytes;        /* their bytes */
	uint64_t committed_bytes;       /* bytes of pages in use or kept (what may hold frames) */
	uint64_t live_blocks;           /* blocks handed out and not freed (small and large) */
	uint64_t live_bytes;            /* their usable bytes */
	uint64_t os_reserves, os_releases, os_decommits;        /* calls to the OS, ever */
};
void sm_stats(struct sm_stats *out);

/*
 * Misuse (double free, invalid free, a broken link, a redzone overwritten)
 * is reported as one line, "strata_malloc: <what> 0x<pointer>", then the
 * process aborts. A test may replace the abort: the hook gets the line
 * (without newline); if it returns, the call that found the misuse
 * returns without touching the heap (free does nothing, realloc returns
 * NULL).
 */
typedef void (*sm_misuse_fn)(const char *line);
void sm_set_misuse_hook(sm_misuse_fn fn);

/* Options, also from the environment on Linux (STRATA_MALLOC=debug,guard). */
#define SM_OPT_DEBUG (1u << 0)          /* fill 0xa5 on alloc, 0x6b on free, 16-byte redzones */
#define SM_OPT_GUARD (1u << 1)          /* large blocks end against an unmapped page */
void sm_set_options(unsigned opts);     /* before the first allocation */

/* Give back to the OS every empty page and segment the heaps keep (tests, and memory pressure). */
void sm_trim(void);

#endif
