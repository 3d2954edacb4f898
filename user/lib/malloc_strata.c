/*
 * malloc_strata.c - the C names of the heap for Strata's programs: each
 * is the library's sm_ function (user/lib/malloc/, docs/user_heap.md),
 * as export_linux.c is on Linux. Kept apart from the library so that its
 * sources, and the host tests that call sm_ by name, never see malloc.
 */
#include "strata.h"
#include "malloc/strata_malloc.h"

void *malloc(size_t n) { return sm_malloc(n); }
void free(void *p) { sm_free(p); }
void *calloc(size_t n, size_t size) { return sm_calloc(n, size); }
void *realloc(void *p, size_t n) { return sm_realloc(p, n); }
void *reallocarray(void *p, size_t n, size_t size) { return sm_reallocarray(p, n, size); }
void *aligned_alloc(size_t align, size_t n) { return sm_aligned_alloc(align, n); }
int posix_memalign(void **out, size_t align, size_t n) { return sm_posix_memalign(out, align, n); }
void *memalign(size_t align, size_t n) { return sm_memalign(align, n); }
void *valloc(size_t n) { return sm_valloc(n); }
void *pvalloc(size_t n) { return sm_pvalloc(n); }
size_t malloc_usable_size(void *p) { return sm_malloc_usable_size(p); }
