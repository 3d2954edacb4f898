/*
 * export_linux.c - the C names a Linux program calls, as the shared
 * library exports them (everything else is hidden: -fvisibility=hidden).
 * glibc's manual, "Replacing malloc", lists what a replacement must
 * provide; these are those.
 */
#include <stddef.h>
#include "strata_malloc.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t n) { return sm_malloc(n); }
EXPORT void free(void *p) { sm_free(p); }
EXPORT void *calloc(size_t n, size_t size) { return sm_calloc(n, size); }
EXPORT void *realloc(void *p, size_t n) { return sm_realloc(p, n); }
EXPORT void *reallocarray(void *p, size_t n, size_t size) { return sm_reallocarray(p, n, size); }
EXPORT void *aligned_alloc(size_t align, size_t n) { return sm_aligned_alloc(align, n); }
EXPORT int posix_memalign(void **out, size_t align, size_t n) { return sm_posix_memalign(out, align, n); }
EXPORT void *memalign(size_t align, size_t n) { return sm_memalign(align, n); }
EXPORT void *valloc(size_t n) { return sm_valloc(n); }
EXPORT void *pvalloc(size_t n) { return sm_pvalloc(n); }
EXPORT size_t malloc_usable_size(void *p) { return sm_malloc_usable_size(p); }
